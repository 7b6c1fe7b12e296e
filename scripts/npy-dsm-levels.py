#!/usr/bin/env python3
"""How well a noise-conditioned energy denoises, level by level.

    scripts/npy-dsm-levels.py EBM CKPT DATA.npy N LEVELS SIGMA_MIN SIGMA_MAX [SEED]

For the first N items x of DATA.npy and each σ of the geometric schedule
(SIGMA_MAX down to SIGMA_MIN, LEVELS levels, as `ebm train --method dsm`),
draws x̃ = x + σz, asks `EBM energy --ckpt CKPT --sigma --grad` for ∇E(x̃, σ)
and prints, per level: the denoising score-matching loss per coordinate
½‖σ∇E − z‖²/D (0.5 for an energy with no gradient: learned nothing; 0 for a
perfect score), and the denoiser's error ‖x̂ − x‖/‖x̃ − x‖ with Tweedie's
x̂ = x̃ − σ²∇E (1 = leaves the noise; below 1 = removes part of it; for
points on a surface the best possible keeps the noise along the surface, so
about √(2/3) for noise small next to the shape). The last two columns are
the same two numbers for a yardstick that knows no shape: the exact score
of N(m, v·I) blurred by σ, −(x̃ − m)/(v + σ²), m and v the mean and
variance of all the data's numbers (for a cloud: a round blob of the data's
spread; ½·v/(v + σ²) on average). Standard library only."""
import math
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from npy_stdlib import read_npy, write_npy  # noqa: E402


def main():
    if len(sys.argv) not in (8, 9):
        sys.exit(__doc__.strip().split("\n\n")[1].strip())
    ebm, ckpt, data = sys.argv[1], sys.argv[2], sys.argv[3]
    n, levels = int(sys.argv[4]), int(sys.argv[5])
    smin, smax = float(sys.argv[6]), float(sys.argv[7])
    rng = random.Random(int(sys.argv[8]) if len(sys.argv) == 9 else 1)
    shape, v = read_npy(data)
    n = min(n, shape[0])
    d = len(v) // shape[0]
    x = v[: n * d]
    mean = sum(v) / len(v)
    var = sum((a - mean) ** 2 for a in v) / len(v)
    item = tuple(shape[1:]) if len(shape) != 3 else (1,) + tuple(shape[1:])  # clouds as 1×P×3 items
    sigmas = [smax * (smin / smax) ** (t / (levels - 1)) if levels > 1 else smin for t in range(levels)]
    with tempfile.TemporaryDirectory() as tmp:
        xin, sin, eout, gout = (os.path.join(tmp, f) for f in ("x.npy", "s.npy", "e.npy", "g.npy"))
        print("level  sigma     dsm loss / coord   denoiser error   blob: loss  error   (0.5 and 1: learned nothing)")
        for t, s in enumerate(sigmas):
            z = [rng.gauss(0.0, 1.0) for _ in range(n * d)]
            xt = [x[k] + s * z[k] for k in range(n * d)]
            write_npy(xin, (n,) + item, xt)
            write_npy(sin, (n,), [s] * n)
            subprocess.run([ebm, "energy", "--ckpt", ckpt, "--input", xin, "--sigma", sin, "--out", eout,
                            "--grad", gout, "--threads", "1"], check=True, stdout=subprocess.DEVNULL)
            _, g = read_npy(gout)
            loss = sum((s * g[k] - z[k]) ** 2 for k in range(n * d)) / (2.0 * n * d)
            err = math.sqrt(sum((xt[k] - s * s * g[k] - x[k]) ** 2 for k in range(n * d)))
            noise = math.sqrt(sum((s * z[k]) ** 2 for k in range(n * d)))
            gb = [(xt[k] - mean) / (var + s * s) for k in range(n * d)]  # the blob's ∇E
            loss_b = sum((s * gb[k] - z[k]) ** 2 for k in range(n * d)) / (2.0 * n * d)
            err_b = math.sqrt(sum((xt[k] - s * s * gb[k] - x[k]) ** 2 for k in range(n * d)))
            print(f"{t:5d}  {s:.4f}   {loss:16.4f}   {err / noise:14.4f}   {loss_b:10.4f}  {err_b / noise:6.4f}")


if __name__ == "__main__":
    main()
