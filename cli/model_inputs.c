/* What the verbs that run a model on .npy inputs share: the input array
 * checked against the model's item shape, labels and noise levels read
 * and checked against what the model takes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Labels as int32, from an int32 / int64 / uint8 .npy of shape (N). */
ebm_status cli_load_labels(const char *path, int64_t n, int num_classes, int32_t **out) {
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
ebm_status cli_check_model_input(const char *path, const ebm_npy *x, const ebm_energy *en) {
  if (x->dtype != EBM_DTYPE_F32)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: dtype %s, expected float32 (values are used as they are: "
                         "convert and scale to the model's range first)", path, ebm_dtype_name(x->dtype));
  int nd = en->item_ndim;
  const int64_t *item = en->item_shape;
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

/* Noise levels σ > 0 (finite), from a float32 .npy of shape (N). */
ebm_status cli_load_sigma(const char *path, int64_t n, float **out) {
  ebm_npy a;
  ebm_status st = ebm_npy_load(path, &a);
  if (st) return st;
  float *s = NULL;
  if (a.ndim != 1 || a.shape[0] != n || a.dtype != EBM_DTYPE_F32) {
    char buf[64];
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: noise levels are %s %s, expected float32 [%lld] (one per input)",
                       path, ebm_dtype_name(a.dtype), ebm_shape_str(a.ndim, a.shape, buf, sizeof buf),
                       (long long)n);
    goto done;
  }
  s = malloc((size_t)(n > 0 ? n : 1) * sizeof *s);
  if (!s) {
    st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
    goto done;
  }
  for (int64_t i = 0; i < n; i++) {
    s[i] = ((const float *)a.data)[i];
    if (!(s[i] > 0.0f) || !isfinite(s[i])) {
      st = ebm_set_error(EBM_ERR_ARG, "%s: noise level %g at index %lld is not a positive number", path,
                         (double)s[i], (long long)i);
      goto done;
    }
  }
done:
  ebm_npy_free(&a);
  if (st) free(s);
  else *out = s;
  return st;
}

int cli_model_inputs_load(const char *verb, const char *ckpt, const char *input, const char *labels,
                          const char *sigma, int64_t batch, cli_model_inputs *m) {
  memset(m, 0, sizeof *m);
  ebm_status st = ebm_npy_load(input, &m->x);
  if (st) return cli_runtime_error(st);
  m->n = m->x.ndim > 0 ? m->x.shape[0] : 0;
  m->item = 1;
  for (int d = 1; d < m->x.ndim; d++) m->item *= m->x.shape[d];
  if ((st = ebm_model_energy_load(ckpt, batch < m->n ? batch : (m->n > 0 ? m->n : 1), &m->net, &m->en)) ||
      (st = cli_check_model_input(input, &m->x, m->en)))
    return cli_runtime_error(st);
  int k = m->en->num_classes;
  /* a classifier's labels are optional: E(x, y) = −f(x)[y] with, E(x) without */
  const int classifier = m->net && ebm_net_is_classifier(m->net);
  if (classifier) k = (int)ebm_net_out_size(m->net);
  if (!classifier && (k > 0) != (labels != NULL))
    return labels ? cli_usage_error(verb, "--labels given, but %s is unconditional", ckpt)
                  : cli_usage_error(verb, "--labels is required: %s is class-conditional (%d classes)",
                                    ckpt, k);
  if (m->en->needs_sigma != (sigma != NULL))
    return sigma ? cli_usage_error(verb, "--sigma given, but %s takes no noise level", ckpt)
                 : cli_usage_error(verb, "--sigma is required: %s is noise-conditioned", ckpt);
  if (labels && (st = cli_load_labels(labels, m->n, k, &m->y))) return cli_runtime_error(st);
  if (sigma && (st = cli_load_sigma(sigma, m->n, &m->sigma))) return cli_runtime_error(st);
  return CLI_EXIT_OK;
}

void cli_model_inputs_free(cli_model_inputs *m) {
  free(m->y);
  free(m->sigma);
  ebm_energy_free(m->en);
  ebm_net_free(m->net);
  ebm_npy_free(&m->x);
  memset(m, 0, sizeof *m);
}

ebm_status cli_model_inputs_each_chunk(const cli_model_inputs *m, const char *label, int64_t chunk,
                                       cli_chunk_pass pass, void *ctx) {
  ebm_status st = EBM_OK;
  ebm_progress *bar = ebm_progress_new(stderr, label, m->n);
  for (int64_t start = 0; start < m->n && st == EBM_OK; start += chunk) {
    const int64_t count = m->n - start < chunk ? m->n - start : chunk;
    const ebm_cond cond = {m->y ? m->y + start : NULL, m->sigma ? m->sigma + start : NULL};
    st = pass(ctx, (const float *)m->x.data + start * m->item, &cond, start, count);
    if (st == EBM_OK) ebm_progress_update(bar, start + count, NULL);
  }
  ebm_progress_finish(bar);
  return st;
}
