#!/usr/bin/env python3
"""Maps the values of a float32 .npy from [LO, HI] onto [0, 1] (clamped), the
range `ebm data make moving:npy:FILE` takes items in — e.g. the samples of an
image model trained on [-1, 1]:

    scripts/npy-to-unit-range.py IN.npy OUT.npy LO HI

Standard library only (no numpy on the build machines)."""
import array
import sys

from npy_stdlib import read_npy, write_npy


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    lo, hi = float(sys.argv[3]), float(sys.argv[4])
    if not hi > lo:
        sys.exit(f"LO {lo} must be below HI {hi}")
    shape, v = read_npy(sys.argv[1])
    scale = 1.0 / (hi - lo)
    out = array.array("f", (min(max((x - lo) * scale, 0.0), 1.0) for x in v))
    write_npy(sys.argv[2], shape, out)
    print(f"{sys.argv[2]}: {len(out)} values of shape {list(shape)} from [{lo:g}, {hi:g}] onto [0, 1]")


if __name__ == "__main__":
    main()
