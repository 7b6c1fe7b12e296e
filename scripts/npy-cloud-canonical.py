#!/usr/bin/env python3
"""Clouds turned into their canonical pose, and back into random poses.

    scripts/npy-cloud-canonical.py CLOUDS.npy OUT.npy            # each cloud in its principal axes
    scripts/npy-cloud-canonical.py --rotate CLOUDS.npy OUT.npy SEED  # each cloud turned by a uniform random rotation

Canonical pose: each cloud (n, P, 3) is turned about the origin (no shift;
the shapes of `ebm data make points:shapes` are centred there) into the
frame of its tightest box: the rotation whose axis-aligned bounding box has
the least volume (searched from the principal axes and 400 random
rotations, then refined by 300 small random turns; seeded, so the output is
the same every time), its axes ordered by extent, longest along x. A box
then lies with its faces on the axes and a torus with its axis along z.
(The principal axes alone do not do it: for a box of near-equal sides the
128 points' covariance turns its axes anywhere in the plane of the equal
sides.) Each axis points where the cloud's third moment along it is
positive (a symmetric shape leaves the sign to chance, which its symmetry
makes harmless), and the third completes a right-handed frame, so the turn
is a rotation (det +1). An energy trained on canonical clouds models a
shape's form apart from its orientation; drawn samples turned by uniformly
random rotations (--rotate: Shoemake's uniform quaternions, seeded) are
then clouds in every orientation, as rotated training data are. Standard
library only (scripts/npy_stdlib.py)."""
import math
import random
import sys

from npy_stdlib import cloud_axes, read_npy, write_npy


def turn(p, rows):
    """Each point q of p (flat) → (rows[0]·q, rows[1]·q, rows[2]·q)."""
    out = []
    for j in range(len(p) // 3):
        q = p[3 * j:3 * j + 3]
        out.extend(sum(r[k] * q[k] for k in range(3)) for r in rows)
    return out


def box_volume(p, rows):
    """The volume of the bounding box of p in the frame `rows`."""
    vol = 1.0
    for r in rows:
        proj = [r[0] * p[3 * j] + r[1] * p[3 * j + 1] + r[2] * p[3 * j + 2] for j in range(len(p) // 3)]
        vol *= max(proj) - min(proj)
    return vol


def times(a, b):
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def small_turn(rng, step):
    q = [1.0] + [rng.gauss(0, step) for _ in range(3)]
    n = math.sqrt(sum(c * c for c in q))
    w, x, y, z = (c / n for c in q)
    return [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]


def canonical(p, rng):
    _, best = cloud_axes(p)
    best_vol = box_volume(p, best)
    for _ in range(400):
        rows = random_rotation(rng)
        v = box_volume(p, rows)
        if v < best_vol:
            best, best_vol = rows, v
    step = 0.1
    for k in range(300):
        rows = times(small_turn(rng, step), best)
        v = box_volume(p, rows)
        if v < best_vol:
            best, best_vol = rows, v
        if k % 100 == 99:
            step /= 3
    extent = []
    for r in best:
        proj = [r[0] * p[3 * j] + r[1] * p[3 * j + 1] + r[2] * p[3 * j + 2] for j in range(len(p) // 3)]
        extent.append(max(proj) - min(proj))
    axes = [list(best[k]) for k in sorted(range(3), key=lambda k: -extent[k])]
    m = len(p) // 3
    mean = [sum(p[3 * j + k] for j in range(m)) / m for k in range(3)]
    for a in axes[:2]:
        third = sum(sum(a[k] * (p[3 * j + k] - mean[k]) for k in range(3)) ** 3 for j in range(m))
        if third < 0:
            a[:] = [-c for c in a]
    a, b = axes[0], axes[1]
    axes[2] = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    return turn(p, axes)


def random_rotation(rng):
    u1, u2, u3 = rng.random(), rng.random(), rng.random()
    w, x = math.sqrt(1 - u1) * math.sin(2 * math.pi * u2), math.sqrt(1 - u1) * math.cos(2 * math.pi * u2)
    y, z = math.sqrt(u1) * math.sin(2 * math.pi * u3), math.sqrt(u1) * math.cos(2 * math.pi * u3)
    return [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]


def main():
    args = sys.argv[1:]
    rotate = bool(args) and args[0] == "--rotate"
    if rotate:
        args = args[1:]
    if len(args) != (3 if rotate else 2):
        sys.exit(__doc__)
    shape, x = read_npy(args[0])
    if len(shape) < 2 or shape[-1] != 3:
        sys.exit("%s: clouds are (n, P, 3) (or (n, 1, P, 3)), got %s" % (args[0], shape))
    n, per = shape[0], len(x) // shape[0]
    rng = random.Random(int(args[2]) if rotate else 1)
    out = []
    for i in range(n):
        p = list(x[i * per:(i + 1) * per])
        out.extend(turn(p, random_rotation(rng)) if rotate else canonical(p, rng))
    write_npy(args[1], shape, out)


if __name__ == "__main__":
    main()
