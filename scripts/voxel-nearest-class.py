#!/usr/bin/env python3
"""Which shape each voxel sample is closest to, for issue 15's voxel runs.

    scripts/voxel-nearest-class.py SAMPLES.npy REF.npy REF-LABELS.npy

Thresholds every grid at 0.5 (as `ebm eval voxels` does), finds each
sample's training grid of highest IoU and prints how many samples land on
each class (0 sphere, 1 box, 2 torus: `ebm data make shapes3d --labels`),
and, for a conditional model sampled with `ebm sample`'s default classes
(chain i gets class i mod 3), how many land on their own class. Grids are
Python ints used as bit sets, so it needs the standard library only."""
import sys

from npy_stdlib import read_npy

CLASSES = 3


def bit_sets(path):
    shape, values = read_npy(path)
    per_grid = len(values) // shape[0]
    return [int("".join("1" if v > 0.5 else "0" for v in values[i * per_grid:(i + 1) * per_grid]), 2)
            for i in range(shape[0])]


def nearest(sample, refs):
    best, best_j = -1.0, -1
    for j, ref in enumerate(refs):
        union = (sample | ref).bit_count()
        iou = (sample & ref).bit_count() / union if union else 0.0
        if iou > best:
            best, best_j = iou, j
    return best_j


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    samples, refs = bit_sets(sys.argv[1]), bit_sets(sys.argv[2])
    _, labels = read_npy(sys.argv[3], "i")
    if len(labels) != len(refs):
        sys.exit(f"{sys.argv[3]}: {len(labels)} labels for {len(refs)} reference grids")
    landed, own = [0] * CLASSES, [0] * CLASSES
    for i, sample in enumerate(samples):
        cls = labels[nearest(sample, refs)]
        landed[cls] += 1
        own[i % CLASSES] += cls == i % CLASSES
    print("nearest reference is sphere/box/torus:", "/".join(map(str, landed)))
    print("nearest reference has the chain's class (i mod 3):", "/".join(map(str, own)),
          f"of {'/'.join(str(len(range(c, len(samples), CLASSES))) for c in range(CLASSES))}")


if __name__ == "__main__":
    main()
