#!/usr/bin/env python3
"""Centre crops of every frame of a video .npy, for `ebm eval fid`.

    scripts/npy-centre-crop.py IN.npy OUT.npy [SIDE]

IN is float32 N×C×T×H×W (or N×(C·T)×H×W, what `ebm sample` writes for a
video model, with C = 1); OUT is float32 (N·T)×SIDE×SIDE (default 28, the
Fashion-MNIST classifier's input): the SIDE×SIDE square at the centre of
each frame. Standard library only (no numpy on the build machines)."""
import array
import sys

from npy_stdlib import read_npy, write_npy


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    side = int(sys.argv[3]) if len(sys.argv) == 4 else 28
    shape, v = read_npy(sys.argv[1])
    if len(shape) < 4:
        sys.exit(f"{sys.argv[1]}: need N×C×T×H×W or N×T×H×W, got {shape}")
    h, w = shape[-2], shape[-1]
    frames = len(v) // (h * w)
    if side > h or side > w:
        sys.exit(f"{sys.argv[1]}: frames of {h}x{w} are smaller than the crop {side}")
    y0, x0 = (h - side) // 2, (w - side) // 2
    out = array.array("f")
    for f in range(frames):
        base = f * h * w
        for y in range(y0, y0 + side):
            row = base + y * w + x0
            out.extend(v[row:row + side])
    write_npy(sys.argv[2], (frames, side, side), out)


if __name__ == "__main__":
    main()
