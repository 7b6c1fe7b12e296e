#!/usr/bin/env python3
"""Two checks of moving-item videos a model made:

    scripts/npy-video-haze-cuts.py VIDEOS.npy [N]

- haze: over the first 64 videos, the share of all pixels in (0.005, 0.1)
  (faint values around an item; the data: exact 0 there), the mean of the
  pixels under 0.1, and the mean brightness of a frame;
- cut: how many of the first N (16) and of the first 64 videos show their
  item at the canvas's outermost row or column (a pixel above 0.1) in 3 or
  more frames — an item reaching the border loses what lies beyond it; a
  data item bouncing off an edge touches it in 1–2 frames.

VIDEOS is float32 N×C×T×H×W or N×T×H×W in [0, 1]. Standard library only."""
import sys

from npy_stdlib import read_videos


def border_frames(v, i, t, h, w):
    hits = 0
    for f in range(t):
        b = (i * t + f) * h * w
        edge = max(max(v[b:b + w]), max(v[b + (h - 1) * w:b + h * w]),
                   max(v[b + r * w] for r in range(h)), max(v[b + r * w + w - 1] for r in range(h)))
        hits += edge > 0.1
    return hits


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    n, t, h, w, v = read_videos(sys.argv[1])
    first = min(n, int(sys.argv[2])) if len(sys.argv) == 3 else min(n, 16)
    m = min(n, 64)
    x = v[:m * t * h * w]
    faint = sum(1 for a in x if 0.005 < a < 0.1)
    low = [a for a in x if a < 0.1]
    print(f"{sys.argv[1]}: haze {faint / len(x):.4f} of the pixels in (0.005, 0.1), mean under 0.1 "
          f"{sum(low) / max(1, len(low)):.5f}, frame mass {sum(x) / (m * t):.1f}")
    cut = [i + 1 for i in range(m) if border_frames(v, i, t, h, w) >= 3]
    print(f"cut at an edge (3+ frames): {sum(1 for i in cut if i <= first)} of the first {first} "
          f"{[i for i in cut if i <= first]}, {len(cut)} of {m}")


if __name__ == "__main__":
    main()
