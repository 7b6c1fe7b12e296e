#!/usr/bin/env python3
"""A denoiser that learns nothing, as a yardstick for a dsm model's
per-level table (scripts/npy-dsm-levels.py): each point of a noised cloud
(x̃ = x + σz) is projected onto the plane fitted (least squares, the
smallest principal axis) to itself and its K nearest neighbours in x̃.
Prints the same two numbers as npy-dsm-levels.py for that projection x̂,
read as a score (x̃ − x̂)/σ²: the dsm loss per coordinate and ‖x̂ − x‖/‖x̃ − x‖.

    scripts/npy-plane-denoise.py CLOUDS.npy N SIGMA K [SEED]

Standard library only (scripts/npy_stdlib.py)."""
import math
import random
import sys

from npy_stdlib import read_npy


def smallest_axis(c):
    """Unit eigenvector of the 3×3 symmetric c with the smallest eigenvalue
    (power iteration on trace·I − c)."""
    t = c[0][0] + c[1][1] + c[2][2] + 1e-12
    m = [[(t if i == j else 0.0) - c[i][j] for j in range(3)] for i in range(3)]
    v = [0.6, 0.59, 0.54]
    for _ in range(60):
        w = [sum(m[i][j] * v[j] for j in range(3)) for i in range(3)]
        norm = math.sqrt(sum(a * a for a in w)) or 1.0
        v = [a / norm for a in w]
    return v


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    n, sigma, k_near = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(int(sys.argv[5]) if len(sys.argv) == 6 else 1)
    shape, v = read_npy(sys.argv[1])
    p = shape[-2]
    n = min(n, shape[0])
    loss = err2 = noise2 = 0.0
    for i in range(n):
        x = [[v[(i * p + j) * 3 + k] for k in range(3)] for j in range(p)]
        z = [[rng.gauss(0.0, 1.0) for _ in range(3)] for _ in range(p)]
        xt = [[x[j][k] + sigma * z[j][k] for k in range(3)] for j in range(p)]
        for j in range(p):
            near = sorted(range(p), key=lambda m: sum((xt[m][k] - xt[j][k]) ** 2 for k in range(3)))[:k_near + 1]
            c = [sum(xt[m][k] for m in near) / len(near) for k in range(3)]
            cov = [[sum((xt[m][a] - c[a]) * (xt[m][b] - c[b]) for m in near) for b in range(3)] for a in range(3)]
            axis = smallest_axis(cov)
            off = sum((xt[j][k] - c[k]) * axis[k] for k in range(3))
            for k in range(3):
                xh = xt[j][k] - off * axis[k]
                loss += 0.5 * ((xt[j][k] - xh) / sigma - z[j][k]) ** 2
                err2 += (xh - x[j][k]) ** 2
                noise2 += (sigma * z[j][k]) ** 2
    print(f"sigma {sigma:g}, {k_near} neighbours: dsm loss / coord {loss / (n * p * 3):.4f}, "
          f"denoiser error {math.sqrt(err2 / noise2):.4f}")


if __name__ == "__main__":
    main()
