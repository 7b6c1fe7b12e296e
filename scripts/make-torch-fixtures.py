#!/usr/bin/python3
"""PyTorch parity fixtures for ebm's networks (tests/nn/test_torch_parity.c).

  /usr/bin/python3 scripts/make-torch-fixtures.py [--out DIR]

Writes, with fixed seeds (default DIR: tests/fixtures/torch/):

  uva_cnn.safetensors      CNNModel of bench/torch_reference.py, written by
                           its own save_safetensors ({"arch": "uva-cnn"}), so
                           ebm must load exactly what the reference writes
  uva_cnn_x.npy            4 inputs (4,1,28,28) in [-1, 1]
  uva_cnn_e.npy            their energies (4,)
  uva_cnn_dx.npy           d(sum E)/dx (4,1,28,28)

  igebm.safetensors        the module below = ebm's preset igebm-mnist with
                           width 4 and 3 classes (arch in the compact form),
                           spectral norm by torch.nn.utils.spectral_norm
                           (weight_orig, weight_u, weight_v), after 5 power
                           iterations from torch's random u, v
  igebm_x.npy, igebm_y.npy 3 inputs in [0, 1] and int32 labels
  igebm_e.npy, igebm_dx.npy   energies and input gradients in eval mode
                           (W = W_orig / u^T W_orig v, no power iteration)
  igebm_de.npy, igebm_grads.safetensors
                           dL/dtheta for L = sum_i de_i E_i (eval mode)
  igebm_after.safetensors, igebm_e_after.npy
                           the state and energies after one forward in
                           training mode (one power iteration first)
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))
from torch_reference import CNNModel, save_safetensors  # noqa: E402


def swish(x):
    return x * torch.sigmoid(x)


def sn(module):
    return nn.utils.spectral_norm(module)


class ClassAffine(nn.Module):
    """Du & Mordatch A.10 class-conditional gain and bias, tables [K, C]."""

    def __init__(self, classes, channels):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(classes, channels))
        self.bias = nn.Parameter(torch.zeros(classes, channels))

    def forward(self, h, y):
        return h * self.gain[y][:, :, None, None] + self.bias[y][:, :, None, None]


class ResBlock(nn.Module):
    """ebm's resblock (src/nn/nn_internal.h)."""

    def __init__(self, c_in, c, down, classes):
        super().__init__()
        self.conv1 = sn(nn.Conv2d(c_in, c, 3, 1, 1))
        self.conv2 = sn(nn.Conv2d(c, c, 3, 1, 1))
        self.shortcut = sn(nn.Conv2d(c_in, c, 1)) if c_in != c else None
        self.cond = ClassAffine(classes, c) if classes else None
        self.down = down

    def forward(self, x, y):
        h = self.conv1(x)
        if self.cond is not None:
            h = self.cond(h, y)
        r = self.conv2(swish(h)) + (self.shortcut(x) if self.shortcut is not None else x)
        if self.down:
            r = F.avg_pool2d(r, 2)
        return swish(r)


class IGEBM(nn.Module):
    """ebm's igebm-mnist preset (src/nn/presets.c) at a given width."""

    def __init__(self, width=4, classes=3):
        super().__init__()
        self.conv_in = sn(nn.Conv2d(1, width, 3, 1, 1))
        self.blocks = nn.ModuleList([ResBlock(width, width, True, classes),
                                     ResBlock(width, 2 * width, True, classes),
                                     ResBlock(2 * width, 2 * width, False, classes)])
        self.dense = sn(nn.Linear(2 * width, 1))

    def forward(self, x, y):
        h = self.conv_in(x)
        for block in self.blocks:
            h = block(h, y)
        return self.dense(h.sum((2, 3))).squeeze(-1)


def save_npy(out, name, array):
    np.save(os.path.join(out, name), np.ascontiguousarray(array))


def energies_and_grad(model, x, *extra):
    x = x.clone().requires_grad_(True)
    e = model(x, *extra)
    g, = torch.autograd.grad(e.sum(), x)
    return e.detach(), g


def uva_cnn(out):
    torch.manual_seed(0)
    model = CNNModel()
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    e, g = energies_and_grad(model, x)
    save_safetensors(os.path.join(out, "uva_cnn.safetensors"), dict(model.state_dict()),
                     {"arch": "uva-cnn", "range": "-1,1"})
    save_npy(out, "uva_cnn_x.npy", x.numpy())
    save_npy(out, "uva_cnn_e.npy", e.numpy())
    save_npy(out, "uva_cnn_dx.npy", g.numpy())


def igebm(out):
    torch.manual_seed(1)
    model = IGEBM(width=4, classes=3)
    with torch.no_grad():  # non-trivial class tables
        for block in model.blocks:
            block.cond.gain.add_(0.3 * torch.randn_like(block.cond.gain))
            block.cond.bias.add_(0.3 * torch.randn_like(block.cond.bias))
    x = torch.rand(3, 1, 28, 28)
    y = torch.tensor([2, 0, 1])
    model.train()
    with torch.no_grad():
        for _ in range(5):
            model(x, y)
    arch = {"arch": json.dumps({"preset": "igebm-mnist", "width": 4, "classes": 3})}
    save_safetensors(os.path.join(out, "igebm.safetensors"), dict(model.state_dict()), arch)
    save_npy(out, "igebm_x.npy", x.numpy())
    save_npy(out, "igebm_y.npy", y.numpy().astype(np.int32))

    model.eval()
    e, g = energies_and_grad(model, x, y)
    save_npy(out, "igebm_e.npy", e.numpy())
    save_npy(out, "igebm_dx.npy", g.numpy())
    de = torch.tensor([1.0, -0.5, 2.0])
    model.zero_grad()
    (model(x, y) * de).sum().backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    save_npy(out, "igebm_de.npy", de.numpy())
    save_safetensors(os.path.join(out, "igebm_grads.safetensors"), grads, {})

    model.train()
    with torch.no_grad():
        e_after = model(x, y)
    save_safetensors(os.path.join(out, "igebm_after.safetensors"), dict(model.state_dict()), arch)
    save_npy(out, "igebm_e_after.npy", e_after.numpy())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "torch"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    uva_cnn(a.out)
    igebm(a.out)
    print(f"wrote PyTorch parity fixtures to {a.out}")


if __name__ == "__main__":
    main()
