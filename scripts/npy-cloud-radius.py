#!/usr/bin/env python3
"""The size of point clouds: the mean over clouds of each cloud's mean and
largest distance of a point from the origin (the clouds of
`ebm data make points:shapes` are centred), for all clouds, or with a
labels file for each class in turn. Also each cloud's spread, the standard
deviation of its points' |x| over their mean (a sphere's is 0: every point
at one radius; the data's boxes 0.16, tori 0.22), averaged over the clouds,
and the share of all points with |x| in bins of 0.15 (0–0.15, ..., ≥ 1.35).

    scripts/npy-cloud-radius.py CLOUDS.npy [LABELS.npy]

Standard library only (scripts/npy_stdlib.py)."""
import math
import sys

from npy_stdlib import read_npy


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    shape, v = read_npy(sys.argv[1])
    n, per = shape[0], len(v) // shape[0]
    labels = [int(y) for y in read_npy(sys.argv[2], "i")[1]] if len(sys.argv) == 3 else [0] * n
    if len(labels) != n:
        sys.exit("%s: %d labels for %d clouds" % (sys.argv[2], len(labels), n))
    for c in sorted(set(labels)):
        means, maxes, spreads, hist = [], [], [], [0] * 10
        for i in (i for i in range(n) if labels[i] == c):
            p = v[i * per:(i + 1) * per]
            r = [math.sqrt(p[3 * k] ** 2 + p[3 * k + 1] ** 2 + p[3 * k + 2] ** 2) for k in range(per // 3)]
            means.append(sum(r) / len(r))
            maxes.append(max(r))
            spreads.append(math.sqrt(sum((x - means[-1]) ** 2 for x in r) / len(r)) / max(means[-1], 1e-12))
            for x in r:
                hist[min(9, int(x / 0.15))] += 1
        who = "class %d" % c if len(sys.argv) == 3 else "all"
        print("%s: %d clouds, mean |x| %.3f, mean largest |x| %.3f, spread %.3f" % (
            who, len(means), sum(means) / len(means), sum(maxes) / len(maxes), sum(spreads) / len(spreads)))
        total = sum(hist)
        print("  |x| in bins of 0.15: " + " ".join("%.2f" % (h / total) for h in hist))


if __name__ == "__main__":
    main()
