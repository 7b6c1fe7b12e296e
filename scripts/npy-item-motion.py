#!/usr/bin/env python3
"""How the item of each video moves: the centre of brightness of every frame,
its mean step per frame in pixels (speed) and the share of frames whose
brightness is within 25 % of the video's median (mass kept: an item that
fades out or grows from nothing keeps less). Prints the mean, quartiles and
range of the speeds over the first N videos, and the mean mass kept, so a
model's samples can be set beside the data's (moving:fashion-mnist: 1 to 3
px a frame, bouncing).

    scripts/npy-item-motion.py VIDEOS.npy [N]

VIDEOS is float32 N×C×T×H×W (or N×(C·T)×H×W, C = 1). Standard library only."""
import sys

from npy_stdlib import brightness_centre, read_videos


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    n, t, h, w, v = read_videos(sys.argv[1])
    count = min(n, int(sys.argv[2])) if len(sys.argv) == 3 else n
    speeds, kept = [], []
    for k in range(count):
        cs = [brightness_centre(v, (k * t + f) * h * w, h, w) for f in range(t)]
        steps = [((cs[f][0] - cs[f - 1][0]) ** 2 + (cs[f][1] - cs[f - 1][1]) ** 2) ** 0.5 for f in range(1, t)]
        speeds.append(sum(steps) / len(steps))
        masses = sorted(c[2] for c in cs)
        med = masses[t // 2]
        kept.append(sum(1 for c in cs if med > 0 and abs(c[2] - med) <= 0.25 * med) / t)
    s = sorted(speeds)
    q = lambda p: s[min(len(s) - 1, int(p * len(s)))]
    print(f"{sys.argv[1]}: {count} videos, speed px/frame mean {sum(s) / len(s):.2f} "
          f"(quartiles {q(0.25):.2f} {q(0.5):.2f} {q(0.75):.2f}, range {s[0]:.2f}-{s[-1]:.2f}); "
          f"frames with the median mass ±25 %: {sum(kept) / len(kept):.3f}")


if __name__ == "__main__":
    main()
