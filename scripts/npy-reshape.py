#!/usr/bin/env python3
"""The same float32 values with another item shape:

    scripts/npy-reshape.py IN.npy OUT.npy D1,D2,...

IN is N×(anything); OUT is N×D1×D2×... holding the same values in the same
order (D1·D2·... must equal IN's values per item). E.g. 16-point paths
x0 y0 x1 y1 ... (N×32) as 1×16×2 images for an energy that convolves over
time, and its samples back. Standard library only."""
import sys

from npy_stdlib import read_npy, write_npy


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    try:
        dims = [int(x) for x in sys.argv[3].split(",")]
    except ValueError:
        sys.exit(f"npy-reshape: {sys.argv[3]}: the item shape must be whole numbers D1,D2,...")
    shape, v = read_npy(src)
    per = len(v) // shape[0] if shape and shape[0] else 0
    want = 1
    for d in dims:
        want *= d
    if any(d < 1 for d in dims) or want != per:
        sys.exit(f"npy-reshape: {src}: items of {per} values cannot be {'x'.join(map(str, dims))} ({want} values)")
    write_npy(dst, [shape[0]] + dims, v)


if __name__ == "__main__":
    main()
