/* `ebm energy`: energies E(x[, y]) of a batch of inputs under a checkpoint,
 * and optionally dE/dx, evaluated in chunks of the built batch. Inputs are
 * used as they are: no rescaling to the model's range. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Labels as int32, from an int32 / int64 / uint8 .npy of shape (N). */
static ebm_status load_labels(const char *path, int64_t n, int num_classes, int32_t **out) {
  ebm_npy a;
  ebm_status st = ebm_npy_load(path, &a);
  if (st) return st;
  int32_t *y = NULL;
  if (a.ndim != 1 || a.shape[0] != n) {
    char buf[64];
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: labels have shape %s, expected [%lld] (one per input)", path,
                       ebm_shape_str(a.ndim, a.shape, buf, sizeof buf), (long long)n);
    goto done;
  }
  if (a.dtype != EBM_DTYPE_I32 && a.dtype != EBM_DTYPE_I64 && a.dtype != EBM_DTYPE_U8) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: labels have dtype %s, expected integers (int32, int64 or uint8)",
                       path, ebm_dtype_name(a.dtype));
    goto done;
  }
  y = malloc((size_t)(n > 0 ? n : 1) * sizeof *y);
  if (!y) {
    st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
    goto done;
  }
  for (int64_t i = 0; i < n; i++) {
    int64_t v = a.dtype == EBM_DTYPE_I32 ? ((const int32_t *)a.data)[i]
                : a.dtype == EBM_DTYPE_I64 ? ((const int64_t *)a.data)[i]
                                           : ((const uint8_t *)a.data)[i];
    if (v < 0 || v >= num_classes) {
      st = ebm_set_error(EBM_ERR_ARG, "%s: label %lld at index %lld is not in [0, %d)", path, (long long)v,
                         (long long)i, num_classes);
      goto done;
    }
    y[i] = (int32_t)v;
  }
done:
  ebm_npy_free(&a);
  if (st) free(y);
  else *out = y;
  return st;
}

/* X must be float32 of shape (N, item shape). */
static ebm_status check_input(const char *path, const ebm_npy *x, const ebm_net *net) {
  if (x->dtype != EBM_DTYPE_F32)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: dtype %s, expected float32 (values are used as they are: "
                         "convert and scale to the model's range first)", path, ebm_dtype_name(x->dtype));
  int nd = ebm_net_item_ndim(net);
  const int64_t *item = ebm_net_item_shape(net);
  int ok = x->ndim == nd + 1;
  for (int d = 0; ok && d < nd; d++) ok = x->shape[d + 1] == item[d];
  if (!ok) {
    char got[64], want[64];
    int64_t full[4] = {-1, 0, 0, 0};
    memcpy(full + 1, item, (size_t)nd * sizeof *item);
    ebm_shape_str(x->ndim, x->shape, got, sizeof got);
    ebm_shape_str(nd + 1, full, want, sizeof want);
    return ebm_set_error(EBM_ERR_SHAPE, "%s: inputs have shape %s, the model takes %s (N = -1: any)", path,
                         got, want);
  }
  return EBM_OK;
}

static int run_energy(int argc, char **argv) {
  const char *ckpt = NULL, *input = NULL, *labels = NULL, *out = NULL, *grad = NULL;
  int64_t batch = 256;
  cli_opt opts[] = {
      {"ckpt", OPT_PATH_IN, &ckpt, "CKPT", "model checkpoint (.safetensors)"},
      {"input", OPT_PATH_IN, &input, "X.npy", "inputs, float32 (N, C, H, W) or (N, D)"},
      {"labels", OPT_PATH_IN, &labels, "Y.npy", "class labels (N) for a class-conditional model"},
      {"out", OPT_PATH_OUT, &out, "E.npy", "energies (N), float32"},
      {"grad", OPT_PATH_OUT, &grad, "G.npy", "also write dE/dx, the shape of X"},
      {"batch", OPT_INT64, &batch, "B", "items per network pass"},
  };
  int rc = cli_parse("energy", opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (!ckpt || !input || !out) return cli_usage_error("energy", "--ckpt, --input and --out are required");
  if (batch < 1 || batch > (1 << 20)) return cli_usage_error("energy", "--batch must be in [1, %d], got %lld", 1 << 20, (long long)batch);

  ebm_npy x = {0};
  ebm_net *net = NULL;
  int32_t *y = NULL;
  float *e = NULL, *g = NULL;
  ebm_progress *bar = NULL;
  ebm_status st = ebm_npy_load(input, &x);
  if (st) return cli_runtime_error(st);
  int64_t n = x.ndim > 0 ? x.shape[0] : 0;
  if ((st = ebm_net_load(ckpt, batch < n ? batch : (n > 0 ? n : 1), &net))) goto fail;
  if ((st = check_input(input, &x, net))) goto fail;
  int k = ebm_net_num_classes(net);
  if (k > 0 && !labels) {
    rc = cli_usage_error("energy", "--labels is required: %s is class-conditional (%d classes)", ckpt, k);
    goto done;
  }
  if (k == 0 && labels) {
    rc = cli_usage_error("energy", "--labels given, but %s is unconditional", ckpt);
    goto done;
  }
  if (labels && (st = load_labels(labels, n, k, &y))) goto fail;
  int64_t item = 1;
  for (int d = 1; d < x.ndim; d++) item *= x.shape[d];
  e = ebm_alloc((size_t)(n > 0 ? n : 1), sizeof *e);
  if (!e || (grad && !(g = ebm_alloc((size_t)(n * item > 0 ? n * item : 1), sizeof *g)))) {
    st = EBM_ERR_NOMEM;
    goto fail;
  }
  int64_t chunk = ebm_net_max_batch(net);
  bar = ebm_progress_new(stderr, "energy", n);
  for (int64_t start = 0; start < n; start += chunk) {
    int64_t count = n - start < chunk ? n - start : chunk;
    const float *xs = (const float *)x.data + start * item;
    const int32_t *ys = y ? y + start : NULL;
    st = g ? ebm_net_grad_input(net, xs, &(ebm_cond){.labels = ys}, count, e + start, g + start * item)
           : ebm_net_energy(net, xs, &(ebm_cond){.labels = ys}, count, e + start);
    if (st) goto fail;
    ebm_progress_update(bar, start + count, NULL);
  }
  ebm_progress_finish(bar);
  bar = NULL;
  if ((st = ebm_npy_save(out, EBM_DTYPE_F32, 1, &n, e))) goto fail;
  if (g && (st = ebm_npy_save(grad, EBM_DTYPE_F32, x.ndim, x.shape, g))) goto fail;
  double sum = 0, lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; i++) sum += e[i], lo = fmin(lo, e[i]), hi = fmax(hi, e[i]);
  printf("wrote %s: %lld energies", out, (long long)n);
  if (n > 0) printf(", mean %.6g, min %.6g, max %.6g", sum / (double)n, lo, hi);
  printf("%s%s\n", g ? "; gradients in " : "", g ? grad : "");
  rc = CLI_EXIT_OK;
  goto done;
fail:
  rc = cli_runtime_error(st);
done:
  ebm_progress_finish(bar);
  ebm_free(e);
  ebm_free(g);
  free(y);
  ebm_net_free(net);
  ebm_npy_free(&x);
  return rc;
}

CLI_COMMAND(energy, "energy", "--ckpt CKPT --input X.npy --out E.npy [--labels Y.npy] [--grad G.npy]",
            "energies (and dE/dx) of inputs under a model",
            "Evaluates E(x) (or E(x, y) with --labels) for every item of X.npy, in chunks of\n"
            "--batch items, and writes the energies (low = likely) as a float32 .npy of shape\n"
            "(N); --grad also writes dE/dx with the shape of X. X must be float32 with the\n"
            "model's item shape; values are used as they are (no rescaling).",
            run_energy)
