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
import math
import sys

from npy_stdlib import read_npy


def jacobi3(a):
    """Eigenvalues and eigenvectors (columns of v) of a symmetric 3×3 matrix."""
    a = [row[:] for row in a]
    v = [[1.0 if i == j else 0.0 for j in range(3)] for i in range(3)]
    for _ in range(100):
        off = max(abs(a[0][1]), abs(a[0][2]), abs(a[1][2]))
        if off < 1e-15:
            break
        for p, q in ((0, 1), (0, 2), (1, 2)):
            if abs(a[p][q]) < 1e-300:
                continue
            theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
            t = (1 if theta >= 0 else -1) / (abs(theta) + math.sqrt(theta * theta + 1))
            c = 1 / math.sqrt(t * t + 1)
            s = t * c
            for k in range(3):
                akp, akq = a[k][p], a[k][q]
                a[k][p], a[k][q] = c * akp - s * akq, s * akp + c * akq
            for k in range(3):
                apk, aqk = a[p][k], a[q][k]
                a[p][k], a[q][k] = c * apk - s * aqk, s * apk + c * aqk
            for k in range(3):
                vkp, vkq = v[k][p], v[k][q]
                v[k][p], v[k][q] = c * vkp - s * vkq, s * vkp + c * vkq
    return [a[i][i] for i in range(3)], v


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
        m = per // 3
        mean = [sum(p[3 * j + k] for j in range(m)) / m for k in range(3)]
        cov = [[sum((p[3 * j + a] - mean[a]) * (p[3 * j + b] - mean[b]) for j in range(m)) / m for b in range(3)]
               for a in range(3)]
        w, v = jacobi3(cov)
        order = sorted(range(3), key=lambda k: w[k])
        least.append([v[r][order[0]] for r in range(3)])
        largest.append([v[r][order[2]] for r in range(3)])
        ratios.append(w[order[0]] / w[order[2]] if w[order[2]] > 0 else 1.0)

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
