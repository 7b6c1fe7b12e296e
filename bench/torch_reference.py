#!/usr/bin/python3
"""ebm's PyTorch yardstick: the same model and training recipe as `ebm train
--arch uva-cnn --preset uva`, written in plain PyTorch, so both can be timed
and compared on one machine in one run (bench/compare.sh, `make bench`).

The model is the small convolutional energy of the widely used PyTorch MNIST
EBM tutorial (DESIGN §4, "small-machine preset"): conv 1→16 k5 s2 p4,
16→32 k3 s2 p1, 32→64 k3 s2 p1, 64→64 k3 s2 p1, each + swish, flatten,
linear 256→64 + swish, linear 64→1; its output is the energy (low = likely).
Training is persistent contrastive divergence as Du & Mordatch (IGEBM):
negatives from a replay buffer of 8192 (5 % fresh uniform noise each step),
60 Langevin steps x ← clamp(x + N(0, 0.005²)), x ← clamp(x − 10·clip(∂E/∂x,
±0.03)); loss mean E⁺ − mean E⁻ + 0.1·(mean E⁺² + mean E⁻²); Adam lr 1e-4,
β (0, 0.999), global gradient-norm clip 0.1. Data: Fashion-MNIST (Debian's
dataset-fashion-mnist) scaled to [−1, 1], positives + N(0, 0.005²).

  /usr/bin/python3 bench/torch_reference.py --iters 50 --threads 2     # time it
  /usr/bin/python3 bench/torch_reference.py --iters 2000 --out run/    # train, keep samples

Output: a JSON line every --log-every iterations ({"iter", "loss", "e_pos",
"e_neg", "sec"}) and a summary line {"iters", "threads", "batch",
"sec_per_iter", "langevin_step_ms"}. With --out: samples.npy (the first 1024
replay-buffer items, N×1×28×28 in [−1, 1]) and model.safetensors (PyTorch
parameter names, float32, metadata {"arch": "uva-cnn", "range": "-1,1"}),
which `ebm` loads as is. Needs Debian's python3-torch and python3-numpy
(scripts/install-deps.sh --torch).
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
from torch import nn

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
BUFFER_REINIT = 0.05   # fraction of each step's chains started from fresh noise
POS_NOISE = 0.005      # σ added to the positives
GRAD_NORM_CLIP = 0.1   # global clip of the parameter gradient norm


def read_idx_images(path):
    """uint8 images (N, 1, rows, cols) from an idx3 .gz file."""
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 0x803:
            raise ValueError(f"{path}: not an idx3 image file (magic {magic:#x})")
        return np.frombuffer(f.read(n * rows * cols), np.uint8).reshape(n, 1, rows, cols)


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class CNNModel(nn.Module):
    """E(x) for x of shape (N, 1, 28, 28); parameter names net.0 … net.11 are ebm's uva-cnn."""

    def __init__(self, hidden=32):
        super().__init__()
        c1, c2, c3 = hidden // 2, hidden, 2 * hidden
        self.net = nn.Sequential(
            nn.Conv2d(1, c1, 5, stride=2, padding=4), Swish(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), Swish(),
            nn.Conv2d(c2, c3, 3, stride=2, padding=1), Swish(),
            nn.Conv2d(c3, c3, 3, stride=2, padding=1), Swish(),
            nn.Flatten(),
            nn.Linear(4 * c3, c3), Swish(),
            nn.Linear(c3, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def langevin(model, x, steps=60, step_size=10.0, noise=0.005, grad_clip=0.03):
    """IGEBM Langevin in the order ebm's `langevin` sampler uses: noise and clamp, then a clipped
    gradient step and clamp. Parameters are frozen meanwhile (only ∂E/∂x is needed)."""
    for p in model.parameters():
        p.requires_grad_(False)
    x = x.detach().requires_grad_(True)
    xi = torch.empty_like(x)
    for _ in range(steps):
        xi.normal_(0, noise)
        x.data.add_(xi).clamp_(-1.0, 1.0)
        grad, = torch.autograd.grad(model(x).sum(), x)
        x.data.add_(-step_size * grad.clamp(-grad_clip, grad_clip)).clamp_(-1.0, 1.0)
    for p in model.parameters():
        p.requires_grad_(True)
    return x.detach()


def save_safetensors(path, tensors, metadata):
    """A safetensors file (8-byte little-endian header size, JSON header padded with spaces to 8
    bytes, raw little-endian float32), written atomically."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        blob = t.detach().cpu().contiguous().float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=60, help="Langevin steps per iteration")
    ap.add_argument("--buffer", type=int, default=8192, help="replay buffer size")
    ap.add_argument("--alpha", type=float, default=0.1, help="energy regulariser")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--data", default=FASHION_MNIST, help="directory with train-images-idx3-ubyte.gz")
    ap.add_argument("--out", default="", help="directory for samples.npy and model.safetensors")
    return ap.parse_args()


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    images = read_idx_images(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    data = torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)

    model = CNNModel()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.0, 0.999))
    buffer = torch.rand(a.buffer, 1, 28, 28) * 2 - 1
    fresh = int(round(a.batch * BUFFER_REINIT))

    langevin_sec = total_sec = 0.0
    for it in range(1, a.iters + 1):
        t0 = time.perf_counter()
        pos = data[torch.randint(0, len(data), (a.batch,))]
        pos = (pos + POS_NOISE * torch.randn_like(pos)).clamp(-1, 1)
        kept = torch.randint(0, a.buffer, (a.batch - fresh,))
        start = torch.cat([torch.rand(fresh, 1, 28, 28) * 2 - 1, buffer[kept]])
        t1 = time.perf_counter()
        neg = langevin(model, start, steps=a.steps)
        langevin_sec += time.perf_counter() - t1
        buffer[kept] = neg[fresh:]
        if fresh:
            buffer[torch.randint(0, a.buffer, (fresh,))] = neg[:fresh]

        energy = model(torch.cat([pos, neg]))
        e_pos, e_neg = energy[:a.batch], energy[a.batch:]
        loss = e_pos.mean() - e_neg.mean() + a.alpha * (e_pos.pow(2).mean() + e_neg.pow(2).mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), GRAD_NORM_CLIP)
        opt.step()
        total_sec += time.perf_counter() - t0
        if it % a.log_every == 0 or it == a.iters:
            print(json.dumps({"iter": it, "loss": round(loss.item(), 5), "e_pos": round(e_pos.mean().item(), 5),
                              "e_neg": round(e_neg.mean().item(), 5), "sec": round(total_sec, 3)}), flush=True)

    print(json.dumps({"iters": a.iters, "threads": a.threads, "batch": a.batch,
                      "sec_per_iter": total_sec / a.iters,
                      "langevin_step_ms": 1000 * langevin_sec / (a.iters * a.steps)}), flush=True)
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        np.save(os.path.join(a.out, "samples.npy"), buffer[:1024].numpy())
        save_safetensors(os.path.join(a.out, "model.safetensors"), dict(model.state_dict()),
                         {"arch": "uva-cnn", "range": "-1,1"})


if __name__ == "__main__":
    main()
