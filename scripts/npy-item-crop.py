#!/usr/bin/env python3
"""Crops of every frame of a video .npy centred on the frame's item, and the
labels that make `ebm classifier eval --confusion` count, per video, which
class the classifier gives each of its frames.

    scripts/npy-item-crop.py IN.npy OUT.npy LABELS.npy [FIRST COUNT [SIDE]]

IN is float32 N×C×T×H×W (or N×(C·T)×H×W, what `ebm sample` writes for a
video model, C = 1). OUT gets the frames of videos FIRST..FIRST+COUNT−1
(default 0 and 10; COUNT at most 10) as (COUNT·T)×SIDE×SIDE (default 28, the
Fashion-MNIST classifier's input): the SIDE×SIDE square centred on the
frame's centre of brightness (moved inside the frame), so a moving item is
seen whole where a centre crop cuts it. LABELS gets each frame's video index
0..COUNT−1 as int32: with it, row v of the confusion matrix is video v's
histogram of predicted classes over its T frames — all T in one column for a
video that shows one item the classifier names the same way throughout.
Standard library only (no numpy on the build machines)."""
import array
import sys

from npy_stdlib import brightness_centre, read_videos, write_npy


def item_crop(v, base, h, w, side):
    """The side×side square of frame v[base:base+h*w] centred on its centre of brightness."""
    cy, cx, _ = brightness_centre(v, base, h, w)
    y0 = min(max(int(round(cy - (side - 1) / 2)), 0), h - side)
    x0 = min(max(int(round(cx - (side - 1) / 2)), 0), w - side)
    out = array.array("f")
    for y in range(y0, y0 + side):
        out.extend(v[base + y * w + x0:base + y * w + x0 + side])
    return out


def main():
    if len(sys.argv) not in (4, 6, 7):
        sys.exit(__doc__)
    first, count = (int(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) >= 6 else (0, 10)
    side = int(sys.argv[6]) if len(sys.argv) == 7 else 28
    n, t, h, w, v = read_videos(sys.argv[1])
    if side > h or side > w:
        sys.exit(f"{sys.argv[1]}: frames of {h}x{w} are smaller than the crop {side}")
    if not (1 <= count <= 10) or first < 0 or first + count > n:
        sys.exit(f"{sys.argv[1]}: videos {first}..{first + count - 1} are not 1 to 10 of its {n}")
    out, labels = array.array("f"), array.array("i")
    for k in range(count):
        for f in range(t):
            out.extend(item_crop(v, ((first + k) * t + f) * h * w, h, w, side))
            labels.append(k)
    write_npy(sys.argv[2], (count * t, 1, side, side), out)
    write_npy(sys.argv[3], (count * t,), labels, "i")


if __name__ == "__main__":
    main()
