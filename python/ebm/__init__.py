"""ebm — energy-based generative models (libebm) from Python.

    import ebm
    m = ebm.load("run/ckpt/last.safetensors")
    e = m.energy(x)                 # float32 (N, *m.item_shape) -> (N,)
    e, dx = m.grad(x)               # dE/dx, same shape as x
    y = m.forward(x)                # the raw output (N, *m.out_shape): logits, images, energies
    s = ebm.sample(m, 64, sampler="langevin", steps=60, seed=1)
    ebm.train(data="toy:8gaussians", arch="mlp", out="run", iters=200,
              progress=lambda stats: print(stats["step"], stats["loss"]))

Arrays go in as float32 (labels int32), C-contiguous, with the model's item
shape; anything else raises ValueError before reaching C (no silent copies:
convert with np.ascontiguousarray(x, dtype=np.float32)). A torch CPU tensor
passes as x.numpy(), which shares its memory. Library errors raise ebm.Error
with libebm's message. Calls into libebm release the GIL (ctypes). Checkpoints
are safetensors with PyTorch parameter names: torch loads them with
safetensors.torch.load_file.
"""
import ctypes
import json
import os

import numpy as np

from . import _lib
from ._lib import lib

__all__ = ["Error", "Model", "load", "sample", "train", "report", "version"]


class Error(RuntimeError):
    """A libebm call failed; the message is the library's (file, tensor or setting at fault)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _check(status):
    if status != 0:
        message = lib.ebm_last_error().decode("utf-8", "replace") or lib.ebm_strerror(status).decode()
        raise Error(status, message)


def _f32(a):
    return a.ctypes.data_as(_lib.c_float_p)


def version():
    """libebm's version, "MAJOR.MINOR.PATCH"."""
    return lib.ebm_version().decode()


def _items(x, item_shape, name="x"):
    """Validates a batch: float32, C-contiguous, shape (N, *item_shape)."""
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a numpy array (torch: tensor.numpy()), got {type(x).__name__}")
    if x.dtype != np.float32:
        raise ValueError(f"{name} must be float32, got {x.dtype}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (np.ascontiguousarray)")
    if x.ndim != 1 + len(item_shape) or tuple(x.shape[1:]) != tuple(item_shape):
        raise ValueError(f"{name} must have shape (N, {', '.join(map(str, item_shape))}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} holds NaN or Inf")
    return x.shape[0]


def _sigma(sigma, n, needs_sigma):
    """Per-item noise levels of a noise-conditioned network: float32 (N,), > 0."""
    if not needs_sigma:
        if sigma is not None:
            raise ValueError("sigma given for a network without a noise-level input")
        return None
    if not isinstance(sigma, np.ndarray) or sigma.dtype != np.float32 or sigma.shape != (n,):
        raise ValueError(f"this network is noise-conditioned: sigma must be a float32 array of shape ({n},)")
    if not sigma.flags.c_contiguous or not np.all(sigma > 0):
        raise ValueError("sigma must be C-contiguous and > 0")
    return sigma


def _labels(labels, n, num_classes):
    if num_classes == 0:
        if labels is not None:
            raise ValueError("labels given for an unconditional model")
        return None
    if labels is None:
        raise ValueError(f"this model is class-conditional ({num_classes} classes): give labels")
    if not isinstance(labels, np.ndarray) or labels.dtype != np.int32 or labels.shape != (n,):
        raise ValueError(f"labels must be an int32 array of shape ({n},)")
    if not labels.flags.c_contiguous:
        raise ValueError("labels must be C-contiguous")
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes})")
    return labels


class Model:
    """A network loaded from a checkpoint (ebm.load). Evaluates in chunks of max_batch items."""

    def __init__(self, handle, path):
        self._net = handle
        self.path = path
        nd = lib.ebm_net_item_ndim(handle)
        shape = lib.ebm_net_item_shape(handle)
        self.item_shape = tuple(shape[i] for i in range(nd))
        self.num_classes = lib.ebm_net_num_classes(handle)
        self.max_batch = lib.ebm_net_max_batch(handle)
        out = lib.ebm_net_out_shape(handle)
        self.out_shape = tuple(out[i] for i in range(lib.ebm_net_out_ndim(handle)))
        self.needs_sigma = bool(lib.ebm_net_needs_sigma(handle))
        self.arch = json.loads(lib.ebm_net_arch_json(handle).decode())

    def close(self):
        if self._net:
            lib.ebm_net_free(self._net)
            self._net = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _handle(self):
        if not self._net:
            raise ValueError("the model is closed")
        return self._net

    def _run(self, x, labels, sigma, mode):
        """mode "energy" -> (e, None), "grad" -> (e, dx), "forward" -> (out, None); in max_batch chunks."""
        net = self._handle()
        n = _items(x, self.item_shape)
        labels = _labels(labels, n, self.num_classes)
        sigma = _sigma(sigma, n, self.needs_sigma)
        out = np.empty((n,) + (self.out_shape if mode == "forward" else ()), dtype=np.float32)
        dx = np.empty_like(x) if mode == "grad" else None
        row, out_row = int(np.prod(self.item_shape)), int(np.prod(out.shape[1:]))
        for start in range(0, n, self.max_batch):
            b = min(self.max_batch, n - start)
            cond = _lib.Cond(labels[start:].ctypes.data_as(_lib.c_int32_p) if labels is not None else None,
                             _f32(sigma[start:]) if sigma is not None else None)
            xs, outs = _f32(x.reshape(n, row)[start:]), _f32(out.reshape(n, out_row)[start:])
            if mode == "grad":
                _check(lib.ebm_net_grad_input(net, xs, ctypes.byref(cond), b, outs, _f32(dx.reshape(n, row)[start:])))
            elif mode == "forward":
                _check(lib.ebm_net_forward(net, xs, ctypes.byref(cond), b, outs))
            else:
                _check(lib.ebm_net_energy(net, xs, ctypes.byref(cond), b, outs))
        return out, dx

    def energy(self, x, labels=None, sigma=None):
        """E(x) for a batch x (float32, (N, *item_shape)) -> float32 (N,). labels: int32 (N,) for
        class-conditional models; sigma: float32 (N,) noise levels for noise-conditioned ones."""
        return self._run(x, labels, sigma, "energy")[0]

    def grad(self, x, labels=None, sigma=None):
        """(E(x), dE/dx): energies (N,) and the gradient with x's shape."""
        return self._run(x, labels, sigma, "grad")

    def forward(self, x, labels=None, sigma=None):
        """The network's raw output, float32 (N, *out_shape): logits, images, or (N, 1) energies."""
        return self._run(x, labels, sigma, "forward")[0]


def load(path, max_batch=256):
    """Loads a checkpoint (safetensors written by ebm or by the PyTorch reference)."""
    handle = ctypes.c_void_p()
    _check(lib.ebm_net_load(os.fsencode(path), max_batch, ctypes.byref(handle)))
    return Model(handle, path)


def _set_all(setter, handle, settings):
    for key, value in settings.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        _check(setter(handle, key.replace("_", "-").encode(), text.encode()))


def sample(model, n, sampler="langevin", steps=None, seed=0, init=None, labels=None, sigma=None, **settings):
    """n samples from model by MCMC: chains start at init (float32 (n, *item_shape)) or uniform noise
    in the model's range ([-4, 4] without one), then run `steps` steps of `sampler` (langevin, ula,
    mala, hmc, kinetic). labels / sigma: per-chain class labels and noise levels (float32 (n,), > 0)
    of a conditioned model. Other settings by name: step_size, noise, grad_clip, temperature,
    leapfrog, friction, adapt, target_accept. Returns float32 (n, *item_shape)."""
    net = model._handle()
    labels = _labels(labels, n, model.num_classes)
    sigma = _sigma(sigma, n, model.needs_sigma)
    if init is not None:
        _items(init, model.item_shape, "init")
        if init.shape[0] != n:
            raise ValueError(f"init has {init.shape[0]} items, n is {n}")
    cfg = lib.ebm_sampler_config_new(sampler.encode())
    if not cfg:
        _check(-5)
    energy = sampler_handle = None
    try:
        _set_all(lib.ebm_sampler_config_set, cfg, dict(settings, steps=steps))
        energy = lib.ebm_net_as_energy(net)
        if not energy:
            _check(-1)
        rng = _lib.Rng()
        lib.ebm_rng_init(ctypes.byref(rng), seed)
        x = np.empty((n,) + model.item_shape, dtype=np.float32)
        if init is not None:
            x[...] = init
        else:
            lo, hi = energy.contents.range_lo, energy.contents.range_hi
            lo, hi = (lo, hi) if lo < hi else (-4.0, 4.0)
            lib.ebm_rng_uniform(ctypes.byref(rng), _f32(x), x.size, lo, hi)
        handle = ctypes.c_void_p()
        _check(lib.ebm_sampler_new(energy, cfg, max(n, 1), ctypes.byref(handle)))
        sampler_handle = handle
        cond = _lib.Cond(labels.ctypes.data_as(_lib.c_int32_p) if labels is not None else None,
                         _f32(sigma) if sigma is not None else None)
        _check(lib.ebm_sampler_run(sampler_handle, _f32(x), ctypes.byref(cond), n, ctypes.byref(rng), None, None))
        return x
    finally:
        if sampler_handle:
            lib.ebm_sampler_free(sampler_handle)
        if energy:
            lib.ebm_energy_free(energy)
        lib.ebm_sampler_config_free(cfg)


class _Dataset(ctypes.Structure):  # ebm_dataset (data.h), read-only here
    _fields_ = [("spec", ctypes.c_char * 256), ("x", ctypes.c_void_p), ("labels", _lib.c_int32_p),
                ("num_classes", ctypes.c_int)]


class _TensorHead(ctypes.Structure):  # the start of ebm_tensor (core.h)
    _fields_ = [("data", _lib.c_float_p), ("ndim", ctypes.c_int), ("shape", ctypes.c_int64 * 4)]


def _arch_json(arch, dataset, conditional, lo, hi, width, depth):
    """The run's architecture, as `ebm train` resolves it: a preset name (with the data's classes and
    vector size) or JSON text, built once to check it, with "range" set to the training range."""
    if arch.lstrip().startswith("{"):
        text = arch
    else:
        spec = {"preset": arch}
        if conditional:
            spec["classes"] = dataset.num_classes
        if arch == "mlp":
            head = _TensorHead.from_address(dataset.x)
            spec["in_dim"] = int(np.prod([head.shape[i] for i in range(1, head.ndim)]))
        if width:
            spec["width"] = width
        if depth is not None:
            spec["depth"] = depth
        text = json.dumps(spec)
    probe = ctypes.c_void_p()
    _check(lib.ebm_net_new(text.encode(), 1, ctypes.byref(probe)))
    try:
        resolved = json.loads(lib.ebm_net_arch_json(probe).decode())
    finally:
        lib.ebm_net_free(probe)
    resolved["range"] = [lo, hi]
    return json.dumps(resolved)


def _checkpoint_arch(path):
    """A checkpoint's architecture JSON (`ebm train --init-from` records it in config.json)."""
    probe = ctypes.c_void_p()
    _check(lib.ebm_net_load(os.fsencode(path), 0, ctypes.byref(probe)))
    try:
        return lib.ebm_net_arch_json(probe).decode()
    finally:
        lib.ebm_net_free(probe)


def _config_record(cfg):
    text = lib.ebm_train_config_json(cfg)
    if not text:
        _check(-1)
    try:
        return json.loads(ctypes.string_at(text).decode())
    finally:
        lib.ebm_train_config_json_free(text)


def train(data, arch, out, iters=1000, preset="auto", progress=None, resume=False, force=False, save_every=1000,
          sample_every=500, log_every=1, sample_count=64, width=0, depth=None, report=False, init_from=None,
          **settings):
    """Trains in this process into the run directory `out` (the layout of `ebm train`: config.json,
    metrics.jsonl, samples/, ckpt/last.safetensors). data: a spec as for the CLI (toy:8gaussians,
    fashion-mnist, mnist, npy:FILE). arch: mlp | uva-cnn | igebm-mnist | igebm-cifar or JSON text.
    preset: auto (as `ebm train`: the recipe that fits the data — toy-2d, vectors or images) | igebm |
    uva, then `settings` by `ebm train` flag name (underscores for dashes): batch,
    method, sampler, steps, step_size, noise, grad_clip, lr, alpha, range, seed, conditional, ...
    progress(stats) is called after every step with a dict (step, loss, e_pos, e_neg, grad_norm, lr,
    mcmc_accept, ...); raising StopIteration in it stops the run after that step (saved; ebm.Error
    "interrupted" is not raised then). force=True lets a new run use a non-empty folder that is not
    a run. report=True rewrites out/report.html every sample_every
    steps. init_from=CKPT (with arch=None) starts a new run from that checkpoint's network, its
    architecture and weights, with a new optimiser, buffer and step count (`ebm train --init-from`).
    Returns the final step's stats (a dict)."""
    if init_from and arch is not None and not resume:
        raise Error(-5, "arch and init_from both given; the network comes from the checkpoint")
    cfg = lib.ebm_train_config_new(b"igebm" if preset == "auto" else preset.encode())
    if not cfg:
        _check(-5)
    dataset = ctypes.c_void_p()
    try:
        if "range" not in settings:  # as `ebm train`: the toys' box, else the preset's range
            settings["range"] = "-4,4" if str(data).startswith("toy:") else "-1,1" if preset == "uva" else "0,1"
        if isinstance(settings.get("range"), (tuple, list)):
            settings["range"] = ",".join(map(str, settings["range"]))
        lo, hi = (float(v) for v in settings["range"].split(","))
        _check(lib.ebm_dataset_load(str(data).encode(), lo, hi, ctypes.byref(dataset)))
        if preset == "auto":  # the data (and the method) decide, then the settings given override (as `ebm train`)
            if "method" in settings:
                _set_all(lib.ebm_train_config_set, cfg, {"method": settings["method"]})
            lib.ebm_train_recipe_for_data(dataset, cfg)
        _set_all(lib.ebm_train_config_set, cfg, dict(settings, iters=iters))
        _check(lib.ebm_train_config_check(cfg))
        ds = _Dataset.from_address(dataset.value)
        if resume:
            arch_json = None
        elif init_from:
            arch_json = _checkpoint_arch(init_from)
        else:
            arch_json = _arch_json(arch, ds, settings.get("conditional", False), lo, hi, width, depth)
        record = _config_record(cfg)  # every setting under its `ebm train` flag name
        record.update(data=str(data), arch=arch, preset=preset, iters=iters, resolved_iters=iters, width=width,
                      depth=-1 if depth is None else depth,
                      version=version())
        record["init-from"] = os.fsdecode(init_from) if init_from else None
        if arch_json:
            record["arch_json"] = json.loads(arch_json)
        stop = ctypes.c_int(0)
        last = {}
        failure = []

        def on_step(_ctx, stats_p):
            s = stats_p.contents
            last.clear()
            last.update({name: getattr(s, name) for name, _ in _lib.TrainStats._fields_})
            last["task_accuracy"] = list(s.task_accuracy)[:s.tasks_scored]  # a copy: s lives only in this call
            try:
                if progress:
                    progress(dict(last))
                if report and sample_every and (s.step % sample_every == 0 or s.step == iters):
                    lib.ebm_report_write(os.fsencode(out), None)
            except StopIteration:
                stop.value = 1
            except BaseException as exc:  # noqa: BLE001 - re-raised after the run stops cleanly
                failure.append(exc)
                stop.value = 1

        callback = _lib.ON_STEP(on_step)
        opts = _lib.RunOpts(run_dir=os.fsencode(out), arch_json=arch_json.encode() if arch_json else None,
                            init_from=os.fsencode(init_from) if init_from and not resume else None,
                            config_json=json.dumps(record, indent=2).encode(), resume=int(resume), force=int(force),
                            save_every=save_every, sample_every=sample_every, log_every=log_every,
                            sample_count=sample_count, stop=ctypes.pointer(stop), on_step=callback)
        final = ctypes.c_int64(0)
        status = lib.ebm_train_run(dataset, cfg, ctypes.byref(opts), ctypes.byref(final))
        if report:
            lib.ebm_report_write(os.fsencode(out), None)
        if failure:
            raise failure[0]
        if status == -8 and stop.value:  # EBM_ERR_INTERRUPTED: the callback asked to stop
            return last
        _check(status)
        return last
    finally:
        if dataset:
            lib.ebm_dataset_free(dataset)
        lib.ebm_train_config_free(cfg)


def report(run_dir, out=None):
    """Writes run_dir/report.html (or out): the run as one self-contained HTML page."""
    _check(lib.ebm_report_write(os.fsencode(run_dir), os.fsencode(out) if out else None))
    return out or os.path.join(run_dir, "report.html")
