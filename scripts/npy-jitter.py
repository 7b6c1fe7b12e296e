#!/usr/bin/env python3
"""The first N clouds of a float32 .npy with Gaussian noise of std SIGMA
added to every coordinate (Python's random.gauss, seeded by SEED), written
as (N, 1, P, 3) so `ebm sample --init npy:OUT` can start chains there: a
start that still holds the shapes, to see what a trained energy does to
them.

    scripts/npy-jitter.py IN.npy OUT.npy N SIGMA SEED

Standard library only (scripts/npy_stdlib.py)."""
import random
import sys

from npy_stdlib import read_npy, write_npy


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    n, sigma, seed = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    shape, v = read_npy(sys.argv[1])
    if not 0 < n <= shape[0] or sigma < 0:
        sys.exit(f"{sys.argv[1]}: need 0 < N <= {shape[0]} clouds and SIGMA >= 0, got N {n}, SIGMA {sigma}")
    per = len(v) // shape[0]
    rng = random.Random(seed)
    out = [x + rng.gauss(0.0, sigma) for x in v[:n * per]]
    write_npy(sys.argv[2], (n, 1, per // 3, 3), out)


if __name__ == "__main__":
    main()
