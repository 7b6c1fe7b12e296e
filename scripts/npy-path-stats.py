#!/usr/bin/env python3
"""How a set of item paths moves, to set a model's paths beside the data's:

    scripts/npy-path-stats.py PATHS.npy [N] [--box LO,HI] [--side S]

PATHS is float32 P×(2T), P×T×2 or P×1×T×2: (x, y) per frame, as `ebm data make
paths:npy:VIDEOS` writes them (the centre of brightness of each frame) and a
vector model of them samples them. Over the first N paths it prints

- speed: the mean step per frame in pixels (mean over paths; quartiles);
- turn: the mean angle in degrees between consecutive steps with the sign of
  each axis dropped, (|dx|, |dy|), so a bounce off an edge is no turn — a
  straight bouncing path turns 0 (to pixel rounding), a wobbling one more;
- speed change: the mean |(|step t+1|) - (|step t|)| in pixels;
- bounces: sign changes of dx or dy between steps moving at least 0.5 px
  along that axis, per path;
- end steps: the mean length of the first step, of the middle steps (all but
  the first and last) and of the last step, in pixels — a model that holds a
  path's ends less than its middle makes the end steps long;
- on canvas: the share of paths whose every point is in [0, S-1] (S 64);
- in box: the share whose every point is in [LO, HI] (--box; e.g. the data's
  own extremes, where an item's centre can be with the whole item shown).

Standard library only (no numpy on the build machines)."""
import math
import sys

from npy_stdlib import read_npy


def main():
    args, pos = sys.argv[1:], []
    box, side = None, 64
    while args:
        a = args.pop(0)
        if a == "--box" and args:
            lo, hi = (float(x) for x in args.pop(0).split(","))
            box = (lo, hi)
        elif a == "--side" and args:
            side = int(args.pop(0))
        elif not a.startswith("-"):
            pos.append(a)
        else:
            sys.exit(__doc__)
    if len(pos) not in (1, 2):
        sys.exit(__doc__)
    path, count = pos[0], int(pos[1]) if len(pos) == 2 else None
    shape, v = read_npy(path)
    if len(shape) == 3 and shape[2] == 2:
        t = shape[1]
    elif len(shape) == 4 and shape[1] == 1 and shape[3] == 2:
        t = shape[2]
    elif len(shape) == 2 and shape[1] % 2 == 0:
        t = shape[1] // 2
    else:
        sys.exit(f"{path}: need P x 2T, P x T x 2 or P x 1 x T x 2 float32 paths, got {list(shape)}")
    n = shape[0] if count is None else min(shape[0], count)
    speeds, turns, changes, bounces, on, inbox = [], [], [], [], 0, 0
    first, middle, last = 0.0, 0.0, 0.0
    for k in range(n):
        p = [(v[(k * t + f) * 2], v[(k * t + f) * 2 + 1]) for f in range(t)]
        d = [(p[f + 1][0] - p[f][0], p[f + 1][1] - p[f][1]) for f in range(t - 1)]
        s = [math.hypot(dx, dy) for dx, dy in d]
        speeds.append(sum(s) / len(s))
        first, last = first + s[0], last + s[-1]
        middle += sum(s[1:-1]) / (len(s) - 2) if len(s) > 2 else 0.0
        tu, ch, b = [], [], 0
        for f in range(len(d) - 1):
            a, c = (abs(d[f][0]), abs(d[f][1])), (abs(d[f + 1][0]), abs(d[f + 1][1]))
            na, nc = math.hypot(*a), math.hypot(*c)
            if na > 0 and nc > 0:
                cos = max(-1.0, min(1.0, (a[0] * c[0] + a[1] * c[1]) / (na * nc)))
                tu.append(math.degrees(math.acos(cos)))
            ch.append(abs(nc - na))
            for ax in (0, 1):
                if abs(d[f][ax]) >= 0.5 and abs(d[f + 1][ax]) >= 0.5 and d[f][ax] * d[f + 1][ax] < 0:
                    b += 1
        turns.append(sum(tu) / len(tu) if tu else 0.0)
        changes.append(sum(ch) / len(ch) if ch else 0.0)
        bounces.append(b)
        on += all(0 <= x <= side - 1 and 0 <= y <= side - 1 for x, y in p)
        if box:
            inbox += all(box[0] <= x <= box[1] and box[0] <= y <= box[1] for x, y in p)
    ss = sorted(speeds)
    q = lambda p: ss[min(len(ss) - 1, int(p * len(ss)))]
    xs = [v[(k * t + f) * 2 + a] for k in range(n) for f in range(t) for a in (0, 1)]
    line = (f"{path}: {n} paths of {t} points; speed px/frame {sum(ss) / n:.2f} (quartiles {q(0.25):.2f} "
            f"{q(0.5):.2f} {q(0.75):.2f}); turn {sum(turns) / n:.1f} deg; speed change {sum(changes) / n:.2f} px; "
            f"bounces {sum(bounces) / n:.2f} per path; steps first/middle/last {first / n:.2f} {middle / n:.2f} "
            f"{last / n:.2f} px; on canvas {on / n:.3f}")
    if box:
        line += f"; in [{box[0]:g}, {box[1]:g}] {inbox / n:.3f}"
    print(line + f"; coordinates {min(xs):.1f} to {max(xs):.1f}")


if __name__ == "__main__":
    main()
