"""libebm.so through ctypes: finding the library, the C prototypes, and the
structs the module mirrors (their sizes are checked against the library's
own at load time, so a layout change fails loudly instead of corrupting
memory). ctypes releases the GIL during every call into a CDLL."""
import ctypes
import ctypes.util
import os

_HERE = os.path.dirname(os.path.abspath(__file__))

# Where libebm.so may be, first match wins: $EBM_LIBRARY; the build tree
# (python/ebm -> build/); an installed copy (PREFIX/lib/python3/dist-packages/ebm
# -> PREFIX/lib); the linker's search path.
_CANDIDATES = [
    os.environ.get("EBM_LIBRARY"),
    os.path.join(_HERE, "..", "..", "build", "libebm.so"),
    os.path.join(_HERE, "..", "..", "..", "libebm.so.0"),
    ctypes.util.find_library("ebm"),
]


def _open():
    tried = []
    for path in _CANDIDATES:
        if not path:
            continue
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        return ctypes.CDLL(path)
    raise ImportError("ebm: libebm.so not found (build it with `make`, or set EBM_LIBRARY); looked at "
                      + ", ".join(tried))


lib = _open()

c_float_p = ctypes.POINTER(ctypes.c_float)
c_int32_p = ctypes.POINTER(ctypes.c_int32)
c_int64_p = ctypes.POINTER(ctypes.c_int64)
c_void_p = ctypes.c_void_p


class Cond(ctypes.Structure):  # ebm_cond (energy.h)
    _fields_ = [("labels", c_int32_p), ("sigma", c_float_p)]


class Rng(ctypes.Structure):  # ebm_rng (core.h)
    _fields_ = [("seed", ctypes.c_uint64), ("counter", ctypes.c_uint64)]


class Energy(ctypes.Structure):  # ebm_energy (energy.h), read-only here
    _fields_ = [("name", ctypes.c_char_p), ("item_ndim", ctypes.c_int), ("item_shape", ctypes.c_int64 * 3),
                ("max_batch", ctypes.c_int64), ("num_classes", ctypes.c_int), ("needs_sigma", ctypes.c_int),
                ("range_lo", ctypes.c_float), ("range_hi", ctypes.c_float)]


class TrainStats(ctypes.Structure):  # ebm_train_stats (train.h)
    _fields_ = [("step", ctypes.c_int64), ("loss", ctypes.c_double), ("e_pos", ctypes.c_double),
                ("e_neg", ctypes.c_double), ("grad_norm", ctypes.c_double), ("lr", ctypes.c_double),
                ("mcmc_energy", ctypes.c_double), ("mcmc_grad_norm", ctypes.c_double),
                ("mcmc_accept", ctypes.c_double), ("kl", ctypes.c_double), ("entropy", ctypes.c_double),
                ("accuracy", ctypes.c_double),
                ("seconds", ctypes.c_double), ("task", ctypes.c_int), ("tasks_scored", ctypes.c_int),
                ("task_accuracy", ctypes.c_double * 16), ("iters", ctypes.c_int64)]


ON_STEP = ctypes.CFUNCTYPE(None, c_void_p, ctypes.POINTER(TrainStats))


class RunOpts(ctypes.Structure):  # ebm_run_opts (train.h)
    _fields_ = [("run_dir", ctypes.c_char_p), ("arch_json", ctypes.c_char_p), ("init_from", ctypes.c_char_p),
                ("config_json", ctypes.c_char_p),
                ("resume", ctypes.c_int), ("force", ctypes.c_int), ("save_every", ctypes.c_int64), ("sample_every", ctypes.c_int64),
                ("log_every", ctypes.c_int64), ("sample_count", ctypes.c_int64),
                ("meta_keys", c_void_p), ("meta_values", c_void_p), ("n_meta", ctypes.c_int),
                ("stop", ctypes.POINTER(ctypes.c_int)), ("on_step", ON_STEP), ("ctx", c_void_p),
                ("budget_seconds", ctypes.c_double), ("budget_cpu", ctypes.c_int), ("budget_fits_iters", ctypes.c_int),
                ("budget_of_run", ctypes.c_int), ("dist", c_void_p)]


def _proto(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


status = ctypes.c_int
P = ctypes.POINTER
_proto("ebm_last_error", ctypes.c_char_p)
_proto("ebm_strerror", ctypes.c_char_p, status)
_proto("ebm_version", ctypes.c_char_p)
_proto("ebm_net_load", status, ctypes.c_char_p, ctypes.c_int64, P(c_void_p))
_proto("ebm_net_new", status, ctypes.c_char_p, ctypes.c_int64, P(c_void_p))
_proto("ebm_net_free", None, c_void_p)
_proto("ebm_net_arch_json", ctypes.c_char_p, c_void_p)
_proto("ebm_net_item_ndim", ctypes.c_int, c_void_p)
_proto("ebm_net_item_shape", c_int64_p, c_void_p)
_proto("ebm_net_num_classes", ctypes.c_int, c_void_p)
_proto("ebm_net_max_batch", ctypes.c_int64, c_void_p)
_proto("ebm_net_forward", status, c_void_p, c_float_p, P(Cond), ctypes.c_int64, c_float_p)
_proto("ebm_net_out_ndim", ctypes.c_int, c_void_p)
_proto("ebm_net_out_shape", c_int64_p, c_void_p)
_proto("ebm_net_needs_sigma", ctypes.c_int, c_void_p)
_proto("ebm_net_energy", status, c_void_p, c_float_p, P(Cond), ctypes.c_int64, c_float_p)
_proto("ebm_net_grad_input", status, c_void_p, c_float_p, P(Cond), ctypes.c_int64, c_float_p, c_float_p)
_proto("ebm_net_as_energy", P(Energy), c_void_p)
_proto("ebm_energy_free", None, P(Energy))
_proto("ebm_sampler_config_new", c_void_p, ctypes.c_char_p)
_proto("ebm_sampler_config_free", None, c_void_p)
_proto("ebm_sampler_config_set", status, c_void_p, ctypes.c_char_p, ctypes.c_char_p)
_proto("ebm_sampler_new", status, P(Energy), c_void_p, ctypes.c_int64, P(c_void_p))
_proto("ebm_sampler_free", None, c_void_p)
_proto("ebm_sampler_run", status, c_void_p, c_float_p, P(Cond), ctypes.c_int64, P(Rng), c_void_p, c_float_p)
_proto("ebm_rng_init", None, P(Rng), ctypes.c_uint64)
_proto("ebm_rng_uniform", None, P(Rng), c_float_p, ctypes.c_int64, ctypes.c_float, ctypes.c_float)
_proto("ebm_dataset_load", status, ctypes.c_char_p, ctypes.c_float, ctypes.c_float, P(c_void_p))
_proto("ebm_dataset_free", None, c_void_p)
_proto("ebm_train_config_new", c_void_p, ctypes.c_char_p)
_proto("ebm_train_recipe_for_data", ctypes.c_char_p, c_void_p, c_void_p)
_proto("ebm_train_config_free", None, c_void_p)
_proto("ebm_train_config_set", status, c_void_p, ctypes.c_char_p, ctypes.c_char_p)
_proto("ebm_train_config_check", status, c_void_p)
_proto("ebm_train_config_json", c_void_p, c_void_p)
_proto("ebm_train_config_json_free", None, c_void_p)
_proto("ebm_train_run", status, c_void_p, c_void_p, P(RunOpts), c_int64_p)
_proto("ebm_report_write", status, ctypes.c_char_p, ctypes.c_char_p)
_proto("ebm_run_opts_size", ctypes.c_size_t)
_proto("ebm_train_stats_size", ctypes.c_size_t)

for _mirror, _size in ((RunOpts, lib.ebm_run_opts_size()), (TrainStats, lib.ebm_train_stats_size())):
    if ctypes.sizeof(_mirror) != _size:
        raise ImportError(f"ebm: {_mirror.__name__} is {ctypes.sizeof(_mirror)} bytes here but {_size} in "
                          f"libebm.so: python/ebm/_lib.py is out of date with include/ebm/train.h")
