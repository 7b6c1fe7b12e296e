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

  NAME.safetensors         for NAME in classifier-mnist, dcgan-generator,
                           noise-conditioned-energy, video-energy, voxel-decoder:
                           the network of examples/arch/NAME.json built here in
                           PyTorch (TorchNet below: nn.Conv2d, nn.Conv3d,
                           nn.ConvTranspose2d, nn.ConvTranspose3d,
                           nn.BatchNorm2d, ... under the JSON's names), with
                           non-trivial batch-norm statistics
  NAME_x.npy [NAME_sigma.npy]   4 inputs (and noise levels)
  NAME_out.npy, NAME_dout.npy, NAME_dx.npy, NAME_grads.safetensors
                           eval-mode outputs, an output gradient, d(sum
                           dout*out)/dx and the parameter gradients
  dcgan-generator_train_*  the same in training mode (batch statistics),
                           and _train_after.safetensors the state after it

  /usr/bin/python3 scripts/make-torch-fixtures.py --from-ebm DIR
loads DIR/NAME_ebm.safetensors (written by ebm: tests/nn/test_torch_parity.c)
into TorchNet with load_state_dict(strict=True) and writes, beside it, what
PyTorch computes on it (NAME_ebm_x.npy, _out, _dout, _dx, _grads), for the
test to compare with ebm's own passes.
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


# ------------------------------------------------ networks from arch JSON

JSON_NETS = ["classifier-mnist", "dcgan-generator", "noise-conditioned-energy", "video-energy", "voxel-decoder"]


class CondAffine(nn.Module):
    """ebm's cond_affine (src/nn/layer_cond_affine.c): gain and bias per
    channel from class tables and/or sinusoidal features of log sigma
    through a linear map (first C outputs add to the gain, last C to the
    bias)."""

    def __init__(self, channels, classes, by_class, by_sigma, freqs):
        super().__init__()
        self.c, self.freqs = channels, freqs
        self.by_class, self.by_sigma = by_class, by_sigma
        if by_class:
            self.gain = nn.Parameter(torch.ones(classes, channels))
            self.bias = nn.Parameter(torch.zeros(classes, channels))
        if by_sigma:
            self.sigma = nn.Linear(2 * freqs, 2 * channels)

    def forward(self, h, y, sigma):
        n = h.shape[0]
        g = self.gain[y] if self.by_class else torch.ones(n, self.c)
        b = self.bias[y] if self.by_class else torch.zeros(n, self.c)
        if self.by_sigma:
            t = torch.log(sigma.double())[:, None] * (2.0 ** torch.arange(self.freqs, dtype=torch.float64))
            phi = torch.stack([torch.sin(t), torch.cos(t)], dim=2).reshape(n, -1).float()
            e = self.sigma(phi)
            g, b = g + e[:, :self.c], b + e[:, self.c:]
        shape = (n, self.c) + (1,) * (h.dim() - 2)
        return h * g.reshape(shape) + b.reshape(shape)


class TorchNet(nn.Module):
    """An ebm architecture JSON as PyTorch modules, registered under the
    JSON's layer names ("net.0" → self.net[0]-like nesting), so the
    state_dict keys are ebm's tensor names."""

    def __init__(self, arch):
        super().__init__()
        self.ops = []
        self.depths = []  # conv3d, conv_transpose3d: the input depth of each op (None otherwise)
        shape = list(arch["input"])
        classes = arch.get("classes", 0)
        for spec in arch["layers"]:
            t = spec["type"]
            if t == "conv2d":
                m = nn.Conv2d(shape[0], spec["out"], spec.get("kernel", 3), spec.get("stride", 1),
                              spec.get("pad", 0), bias=spec.get("bias", True))
            elif t == "conv3d":
                # ebm passes a C x D x H x W volume as [C*D, H, W]
                m = nn.Conv3d(shape[0] // spec["depth"], spec["out"], spec.get("kernel", 3),
                              spec.get("stride", 1), spec.get("pad", 0), bias=spec.get("bias", True))
            elif t == "conv_transpose3d":
                m = nn.ConvTranspose3d(shape[0] // spec["depth"], spec["out"], spec.get("kernel", 3),
                                       spec.get("stride", 1), spec.get("pad", 0), spec.get("output_pad", 0),
                                       bias=spec.get("bias", True))
            elif t == "conv_transpose2d":
                m = nn.ConvTranspose2d(shape[0], spec["out"], spec.get("kernel", 3), spec.get("stride", 1),
                                       spec.get("pad", 0), spec.get("output_pad", 0),
                                       bias=spec.get("bias", True))
            elif t == "linear":
                m = nn.Linear(shape[0], spec["out"], bias=spec.get("bias", True))
            elif t == "batchnorm2d":
                m = nn.BatchNorm2d(shape[0])
            elif t == "cond_affine":
                m = CondAffine(shape[0], classes, spec.get("class", False), spec.get("sigma", True),
                               spec.get("frequencies", 8))
            elif t == "relu":
                m = nn.ReLU()
            elif t == "tanh":
                m = nn.Tanh()
            elif t == "sigmoid":
                m = nn.Sigmoid()
            elif t == "swish":
                m = nn.SiLU()
            elif t == "leaky_relu":
                m = nn.LeakyReLU(spec.get("slope", 0.2))
            elif t == "flatten":
                m = nn.Flatten()
            elif t == "reshape":
                m = nn.Unflatten(1, tuple(spec["shape"]))
            elif t == "upsample":
                m = nn.Upsample(scale_factor=spec.get("scale", 2), mode="nearest")
            elif t == "global_sum_pool":
                m = None
            else:
                raise ValueError(f"layer type {t} has no PyTorch twin here")
            if "name" in spec and m is not None and any(True for _ in m.parameters()):
                self._register(spec["name"], m)
            self.ops.append((t, m))
            self.depths.append(spec.get("depth"))
            shape = self._out_shape(t, spec, shape)

    def _register(self, name, module):
        parts = name.split(".")
        parent = self
        for p in parts[:-1]:
            if not hasattr(parent, p):
                parent.add_module(p, nn.Module())
            parent = getattr(parent, p)
        parent.add_module(parts[-1], module)

    @staticmethod
    def _out_shape(t, spec, s):
        if t == "conv2d":
            k, st, p = spec.get("kernel", 3), spec.get("stride", 1), spec.get("pad", 0)
            return [spec["out"], (s[1] + 2 * p - k) // st + 1, (s[2] + 2 * p - k) // st + 1]
        if t == "conv3d":
            k, st, p, d = spec.get("kernel", 3), spec.get("stride", 1), spec.get("pad", 0), spec["depth"]
            return [spec["out"] * ((d + 2 * p - k) // st + 1), (s[1] + 2 * p - k) // st + 1,
                    (s[2] + 2 * p - k) // st + 1]
        if t == "conv_transpose2d":
            k, st, p, op = spec.get("kernel", 3), spec.get("stride", 1), spec.get("pad", 0), spec.get("output_pad", 0)
            return [spec["out"], (s[1] - 1) * st - 2 * p + k + op, (s[2] - 1) * st - 2 * p + k + op]
        if t == "conv_transpose3d":
            k, st, p, op = spec.get("kernel", 3), spec.get("stride", 1), spec.get("pad", 0), spec.get("output_pad", 0)
            d = spec["depth"]
            return [spec["out"] * ((d - 1) * st - 2 * p + k + op), (s[1] - 1) * st - 2 * p + k + op,
                    (s[2] - 1) * st - 2 * p + k + op]
        if t == "linear":
            return [spec["out"]]
        if t == "flatten":
            return [int(np.prod(s))]
        if t == "reshape":
            return list(spec["shape"])
        if t == "upsample":
            return [s[0], s[1] * spec.get("scale", 2), s[2] * spec.get("scale", 2)]
        if t == "global_sum_pool":
            return [s[0]]
        return s

    def forward(self, x, y=None, sigma=None):
        for (t, m), depth in zip(self.ops, self.depths):
            if t in ("conv3d", "conv_transpose3d"):
                n, cd, h, w = x.shape
                x = m(x.reshape(n, cd // depth, depth, h, w))
                x = x.reshape(n, -1, x.shape[3], x.shape[4])
            elif t == "global_sum_pool":
                x = x.sum((2, 3))
            elif t == "cond_affine":
                x = m(x, y, sigma)
            else:
                x = m(x)
        return x


ST_DTYPES = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}


def save_st(path, tensors, metadata):
    """safetensors keeping int64 (num_batches_tracked) as I64."""
    header, blobs, off = {"__metadata__": metadata} if metadata else {}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        code, np_dtype = ST_DTYPES[t.dtype]
        b = t.numpy().astype(np_dtype).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))
    os.replace(path + ".tmp", path)


def load_st(path):
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    np_types = {"F32": "<f4", "I64": "<i8"}
    tensors = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        arr = np.frombuffer(data[8 + n + a:8 + n + b], dtype=np_types[h["dtype"]]).reshape(h["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


def json_inputs(arch, n, seed):
    """x in the input shape (U(-1, 1)), labels and sigma when the net takes them."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n,) + tuple(arch["input"]), generator=g) * 2 - 1
    y = torch.randint(0, max(arch.get("classes", 0), 1), (n,), generator=g) if arch.get("classes", 0) else None
    takes_sigma = any(l["type"] == "cond_affine" and l.get("sigma", True) for l in arch["layers"])
    sigma = (0.05 + 0.95 * torch.rand(n, generator=g)) if takes_sigma else None
    return x, y, sigma


def passes(model, x, y, sigma, seed):
    """out, a random dout, d(sum dout*out)/dx and the parameter gradients."""
    x = x.clone().requires_grad_(True)
    model.zero_grad()
    out = model(x, y, sigma)
    dout = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
    (out * dout).sum().backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    return out.detach(), dout, x.grad.detach(), grads


def write_passes(out_dir, prefix, x, y, sigma, res):
    out, dout, dx, grads = res
    save_npy(out_dir, prefix + "_x.npy", x.numpy())
    if y is not None:
        save_npy(out_dir, prefix + "_y.npy", y.numpy().astype(np.int32))
    if sigma is not None:
        save_npy(out_dir, prefix + "_sigma.npy", sigma.numpy().astype(np.float32))
    save_npy(out_dir, prefix + "_out.npy", out.numpy())
    save_npy(out_dir, prefix + "_dout.npy", dout.numpy())
    save_npy(out_dir, prefix + "_dx.npy", dx.numpy())
    save_st(os.path.join(out_dir, prefix + "_grads.safetensors"), grads, {})


def json_net(out, name, seed):
    with open(os.path.join(REPO, "examples", "arch", name + ".json")) as f:
        arch = json.load(f)
    torch.manual_seed(seed)
    model = TorchNet(arch)
    x, y, sigma = json_inputs(arch, 4, seed + 1)
    if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        model.train()  # running statistics away from 0 / 1, affine away from 1 / 0
        with torch.no_grad():
            for _ in range(3):
                model(torch.randn_like(x) * 2 + 0.5, y, sigma)
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.weight.add_(0.3 * torch.randn_like(m.weight))
                    m.bias.add_(0.3 * torch.randn_like(m.bias))
    meta = {"arch": json.dumps(arch)}
    save_st(os.path.join(out, name + ".safetensors"), dict(model.state_dict()), meta)
    model.eval()
    write_passes(out, name, x, y, sigma, passes(model, x, y, sigma, seed + 2))
    if name == "dcgan-generator":
        model.train()
        res = passes(model, x, y, sigma, seed + 3)
        write_passes(out, name + "_train", x, y, sigma, res)
        save_st(os.path.join(out, name + "_train_after.safetensors"), dict(model.state_dict()), meta)


def from_ebm(d):
    """ebm → PyTorch: the state ebm wrote must load with strict=True."""
    for i, name in enumerate(JSON_NETS):
        tensors, meta = load_st(os.path.join(d, name + "_ebm.safetensors"))
        arch = json.loads(meta["arch"])
        model = TorchNet(arch)
        model.load_state_dict(tensors, strict=True)
        model.eval()
        x, y, sigma = json_inputs(arch, 3, 100 + i)
        write_passes(d, name + "_ebm", x, y, sigma, passes(model, x, y, sigma, 200 + i))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "torch"))
    ap.add_argument("--from-ebm", metavar="DIR", help="run PyTorch on the checkpoints ebm wrote in DIR")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.from_ebm:
        from_ebm(a.from_ebm)
        return
    os.makedirs(a.out, exist_ok=True)
    uva_cnn(a.out)
    igebm(a.out)
    for i, name in enumerate(JSON_NETS):
        json_net(a.out, name, 10 + i)
    print(f"wrote PyTorch parity fixtures to {a.out}")


if __name__ == "__main__":
    main()
