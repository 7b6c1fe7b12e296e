#!/usr/bin/env python3
"""The inputs of the cross-class mapping test (README "Using a model"), and
its conversion grid. Standard library only.

    scripts/translate-sets.py sets DIR
        DIR/xC.npy: the first 20 Fashion-MNIST test images whose label is not
        C (float32 N×1×28×28 in [0, 1]), DIR/yC.npy: 20 int32 labels C, for
        C = 0..9; DIR/src.npy: the first test image of each class (10 images,
        class order).
    scripts/translate-sets.py grid DIR OUT.npy
        OUT.npy: a 10×11 grid in reading order — each row a source image of
        DIR/src.npy followed by its translations to classes 0..9, read from
        DIR/gC.npy (src.npy translated to class C) — for
        `ebm data show npy:OUT.npy --first --cols 11 --n 110`."""
import gzip
import sys

from npy_stdlib import read_npy, write_npy

FMNIST = "/usr/share/datasets/fashion-mnist/"
SIDE = 28
ITEM = SIDE * SIDE
PER_CLASS = 20


def read_idx(name, offset):
    try:
        with gzip.open(FMNIST + name) as f:
            return f.read()[offset:]
    except OSError as e:
        sys.exit(f"{FMNIST}{name}: {e} (install dataset-fashion-mnist)")


def make_sets(out):
    pixels = read_idx("t10k-images-idx3-ubyte.gz", 16)
    labels = read_idx("t10k-labels-idx1-ubyte.gz", 8)

    def image(i):
        return [b / 255.0 for b in pixels[i * ITEM:(i + 1) * ITEM]]

    for c in range(10):
        picked = [i for i in range(len(labels)) if labels[i] != c][:PER_CLASS]
        write_npy(f"{out}/x{c}.npy", (PER_CLASS, 1, SIDE, SIDE), [v for i in picked for v in image(i)])
        write_npy(f"{out}/y{c}.npy", (PER_CLASS,), [c] * PER_CLASS, "i")
    first = [labels.index(c) for c in range(10)]
    write_npy(f"{out}/src.npy", (10, 1, SIDE, SIDE), [v for i in first for v in image(i)])


def make_grid(out, path):
    _, src = read_npy(f"{out}/src.npy")
    translated = [read_npy(f"{out}/g{c}.npy")[1] for c in range(10)]
    grid = []
    for row in range(10):
        grid.extend(src[row * ITEM:(row + 1) * ITEM])
        for c in range(10):
            grid.extend(translated[c][row * ITEM:(row + 1) * ITEM])
    write_npy(path, (110, 1, SIDE, SIDE), grid)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "sets":
        make_sets(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "grid":
        make_grid(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
