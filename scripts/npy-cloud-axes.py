#!/usr/bin/env python3
"""Do the clouds come in one orientation or in many? For each cloud, the
axis of its points' least variance (the normal of a flat cloud, the axis of
a torus) and of its largest, by the eigenvectors of the 3×3 covariance;
then the mean |cos| between those axes over all pairs of clouds. Clouds in
one orientation give ≈ 1; axes drawn uniformly at random on the sphere give
0.5. Also the mean ratio of the least to the largest variance (0: flat or
a line, 1: round — a sphere, or a cube, whose axes then mean nothing).

    scripts/npy-cloud-axes.py CLOUDS.npy [FIRST_N]

Standard library only (scripts/npy_stdlib.py)."""
import sys

from npy_stdlib import cloud_axes, read_npy


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    shape, x = read_npy(sys.argv[1])
    n, per = shape[0], len(x) // shape[0]
    if len(sys.argv) == 3:
        n = min(n, int(sys.argv[2]))
    least, largest, ratios = [], [], []
    for i in range(n):
        p = x[i * per:(i + 1) * per]
        w, axes = cloud_axes(p)  # largest variance first
        least.append(axes[2])
        largest.append(axes[0])
        ratios.append(w[2] / w[0] if w[0] > 0 else 1.0)

    def agreement(axes):
        tot, cnt = 0.0, 0
        for i in range(len(axes)):
            for j in range(i + 1, len(axes)):
                tot += abs(sum(axes[i][k] * axes[j][k] for k in range(3)))
                cnt += 1
        return tot / cnt if cnt else float("nan")

    print("%d clouds: axis agreement (mean |cos| over pairs; 1 one orientation, 0.5 random) least-variance %.3f "
          "largest-variance %.3f; least/largest variance %.3f" % (n, agreement(least), agreement(largest),
                                                                 sum(ratios) / n))


if __name__ == "__main__":
    main()
