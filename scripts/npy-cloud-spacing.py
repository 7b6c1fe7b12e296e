#!/usr/bin/env python3
"""The scales a noise schedule for point clouds is picked from: over the
first N clouds (60 by default) of an (n, P, 3) or (n, 1, P, 3) float32
.npy, the mean distance of a point from its cloud's centre, the standard
deviation of the coordinates about that centre, and the distance from each
point to its nearest neighbour in the same cloud (mean, median, smallest).

    scripts/npy-cloud-spacing.py CLOUDS.npy [N]

Standard library only (scripts/npy_stdlib.py)."""
import math
import sys

from npy_stdlib import read_npy


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    shape, v = read_npy(sys.argv[1])
    if len(shape) < 3 or shape[-1] != 3:
        sys.exit(f"{sys.argv[1]}: need clouds (n, P, 3) or (n, 1, P, 3), got {shape}")
    n, p = shape[0], shape[-2]
    n = min(n, int(sys.argv[2]) if len(sys.argv) == 3 else 60)
    rads, stds, nns = [], [], []
    for i in range(n):
        pts = [tuple(v[(i * p + j) * 3 + k] for k in range(3)) for j in range(p)]
        c = [sum(q[k] for q in pts) / p for k in range(3)]
        rads.append(sum(math.dist(q, c) for q in pts) / p)
        stds.append(math.sqrt(sum((q[k] - c[k]) ** 2 for q in pts for k in range(3)) / (3 * p)))
        nns += [min(math.dist(pts[j], pts[k]) for k in range(p) if k != j) for j in range(p)]
    nns.sort()
    print(f"{n} clouds of {p} points: mean distance from the centre {sum(rads) / n:.3f}, coordinate std "
          f"{sum(stds) / n:.3f}; nearest neighbour mean {sum(nns) / len(nns):.4f}, median "
          f"{nns[len(nns) // 2]:.4f}, smallest {nns[0]:.4f}")


if __name__ == "__main__":
    main()
