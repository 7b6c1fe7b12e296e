#!/usr/bin/env python3
"""Cuts paths into their windows of K consecutive points, the data of an
energy on a path's local law (three points: a step and the next one, so a
constant velocity and a bounce are what it sees):

    scripts/npy-path-windows.py PATHS.npy K OUT.npy

PATHS is float32 P×(2T) or P×T×2 ((x, y) per point, as `ebm data make
paths:npy:VIDEOS` writes them); OUT is float32 (P·(T−K+1))×(2K), path 0's
windows first. Such an energy scores a whole path as the sum over its
windows: `ebm sample --ckpt E:window=2,T-K+1`. Standard library only."""
import sys

from npy_stdlib import read_npy, write_npy


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    shape, v = read_npy(sys.argv[1])
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 2) or (len(shape) == 2 and shape[1] % 2):
        sys.exit(f"{sys.argv[1]}: need P×(2T) or P×T×2 paths, got {shape}")
    try:
        k = int(sys.argv[2])
    except ValueError:
        sys.exit(f"K: expected a whole number of points, got '{sys.argv[2]}'")
    p = shape[0]
    t = len(v) // (2 * p)
    if not 2 <= k <= t:
        sys.exit(f"K: a window of {k} points does not fit paths of {t} (need 2..{t})")
    out = []
    for i in range(p):
        for j in range(t - k + 1):
            out.extend(v[2 * (i * t + j): 2 * (i * t + j + k)])
    write_npy(sys.argv[3], (p * (t - k + 1), 2 * k), out)
    print(f"{sys.argv[3]}: {p * (t - k + 1)} windows of {k} points ({p} paths of {t})")


if __name__ == "__main__":
    main()
