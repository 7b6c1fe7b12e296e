#!/usr/bin/env python3
"""Every M-th item of a float32 .npy, starting at item K: one class of
`ebm data make points:shapes[-aligned]` (classes come in turn: 0 sphere,
1 box, 2 torus), so a model can be trained on one kind of shape.

    scripts/npy-every-nth.py IN.npy OUT.npy K M

OUT holds items K, K + M, K + 2M, ... of IN, the same shape otherwise.
Standard library only (scripts/npy_stdlib.py)."""
import sys

from npy_stdlib import read_npy, write_npy


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    k, m = int(sys.argv[3]), int(sys.argv[4])
    shape, v = read_npy(sys.argv[1])
    if m < 1 or not 0 <= k < m or k >= shape[0]:
        sys.exit(f"{sys.argv[1]}: need 0 <= K < M and K < {shape[0]} items, got K {k}, M {m}")
    size = len(v) // shape[0]
    out = v[0:0]
    for i in range(k, shape[0], m):
        out.extend(v[i * size:(i + 1) * size])
    write_npy(sys.argv[2], (len(out) // size,) + tuple(shape[1:]), out)


if __name__ == "__main__":
    main()
