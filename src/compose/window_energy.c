/* An energy of a sequence as the sum of one energy over its sliding windows
 * (compose.h, ebm_window_energy_new): a model of a few consecutive states of
 * a path — E(p_{t-1}, p_t, p_{t+1}) — scores a whole path, E'(x) = Σ_j
 * E(x[j·stride .. j·stride + d)), the way `ebm plan` sums a transition
 * energy over a plan. A product of overlapping experts: each window sees the
 * same local law, wherever it sits in the sequence.
 *
 * End weights (ends=W1,..,Wk): in a path of T points scored by windows of 3,
 * a middle step lies in two windows and the first and last steps in one, so
 * a sampler holds the ends half as much as the middle and the end steps come
 * out long. Window j < k and window count−1−j are counted W_{j+1} times:
 * E'(x) = Σ_j w_j E(window j), w_j = 1 in the middle. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/compose.h"

#define WINDOW_DEFAULT_BATCH 256

typedef struct {
  const ebm_energy *inner; /* borrowed */
  int64_t d, stride, count, dim; /* window size, step between windows, windows, values per item */
  int64_t max_batch;             /* items per eval */
  double *weight;                /* (count): each window's weight w_j, 1 but at the ends */
  float *windows, *window_grad, *window_e; /* (max_batch·count, d), same, (max_batch·count) */
  char name[192];
} window_energy;

// x is (n, dim), e is (n), grad (n, dim) or NULL; window j of item i is x[i][j·stride .. j·stride + d).
static ebm_status window_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e, float *grad) {
  window_energy *w = self;
  (void)cond; /* refused at construction: the inner energy takes no labels or levels */
  if (n > w->max_batch)
    return ebm_set_error(EBM_ERR_ARG, "%s: batch %lld exceeds %lld", w->name, (long long)n, (long long)w->max_batch);
  const int64_t d = w->d, count = w->count, dim = w->dim;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < count; j++)
      memcpy(w->windows + (i * count + j) * d, x + i * dim + j * w->stride, (size_t)d * sizeof(float));
  ebm_status st = ebm_energy_eval(w->inner, w->windows, NULL, n * count, w->window_e, grad ? w->window_grad : NULL);
  if (st != EBM_OK) return st;
  for (int64_t i = 0; i < n; i++) {
    double sum = 0.0; /* in double: the same total whatever the window count */
    for (int64_t j = 0; j < count; j++) sum += w->weight[j] * w->window_e[i * count + j];
    e[i] = (float)sum;
  }
  if (!grad) return EBM_OK;
  /* a value in several windows gets each window's gradient: ∂E'/∂x = Σ_j w_j ∂E_j/∂x */
  memset(grad, 0, (size_t)(n * dim) * sizeof *grad);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < count; j++) {
      const float *g = w->window_grad + (i * count + j) * d;
      float *out = grad + i * dim + j * w->stride;
      const float wj = (float)w->weight[j];
      for (int64_t k = 0; k < d; k++) out[k] += wj * g[k];
    }
  return EBM_OK;
}

static void window_destroy(void *self) {
  window_energy *w = self;
  if (!w) return;
  ebm_free(w->windows);
  ebm_free(w->window_grad);
  ebm_free(w->window_e);
  free(w->weight);
  free(w);
}

ebm_status ebm_window_energy_new(const ebm_energy *en, int64_t stride, int64_t count, const double *ends,
                                 int n_ends, ebm_energy **out) {
  ebm_status st = EBM_OK;
  window_energy *w = NULL;
  ebm_energy *wrapped = NULL;
  *out = NULL;
  if (!en) return ebm_set_error(EBM_ERR_ARG, "window energy: no energy given");
  if (en->item_ndim != 1)
    return ebm_set_error(EBM_ERR_ARG, "%s: window= needs an energy on vectors (D values), not on images or volumes",
                         en->name);
  if (en->num_classes > 0 || en->needs_sigma)
    return ebm_set_error(EBM_ERR_ARG, "%s: window= needs an unconditional energy (no class labels, no noise level)",
                         en->name);
  const int64_t d = en->item_shape[0];
  if (stride < 1 || stride > d)
    return ebm_set_error(EBM_ERR_ARG, "%s: window=%lld,%lld: the stride must be in 1..%lld (the energy's %lld values)",
                         en->name, (long long)stride, (long long)count, (long long)d, (long long)d);
  if (count < 1 || count > 4096)
    return ebm_set_error(EBM_ERR_ARG, "%s: window=%lld,%lld: the window count must be in 1..4096", en->name,
                         (long long)stride, (long long)count);
  if (n_ends < 0 || n_ends > EBM_WINDOW_MAX_ENDS || (n_ends > 0 && !ends))
    return ebm_set_error(EBM_ERR_ARG, "%s: ends= takes 1..%d weights", en->name, EBM_WINDOW_MAX_ENDS);
  if (2 * (int64_t)n_ends > count)
    return ebm_set_error(EBM_ERR_ARG, "%s: ends= gives %d weights at each end, more than half of the %lld windows "
                         "(window=%lld,%lld)", en->name, n_ends, (long long)count, (long long)stride,
                         (long long)count);
  for (int k = 0; k < n_ends; k++)
    if (!(ends[k] > 0.0) || !isfinite(ends[k]))
      return ebm_set_error(EBM_ERR_ARG, "%s: ends= weights must be finite and > 0, weight %d is %g", en->name, k + 1,
                           ends[k]);
  if (!(wrapped = ebm_energy_alloc())) return EBM_ERR_NOMEM;
  if (!(w = calloc(1, sizeof *w))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a window energy");
    goto fail;
  }
  w->inner = en;
  w->d = d;
  w->stride = stride;
  w->count = count;
  w->dim = d + (count - 1) * stride;
  w->max_batch = WINDOW_DEFAULT_BATCH;
  const size_t windows = (size_t)(w->max_batch * count);
  w->windows = ebm_alloc(windows * (size_t)d, sizeof *w->windows);
  w->window_grad = ebm_alloc(windows * (size_t)d, sizeof *w->window_grad);
  w->window_e = ebm_alloc(windows, sizeof *w->window_e);
  w->weight = malloc((size_t)count * sizeof *w->weight);
  if (!w->windows || !w->window_grad || !w->window_e || !w->weight) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a window energy");
    goto fail;
  }
  for (int64_t j = 0; j < count; j++) w->weight[j] = 1.0;
  char ends_text[EBM_WINDOW_MAX_ENDS * 16 + 8] = "";
  size_t used = 0;
  for (int k = 0; k < n_ends; k++) {
    w->weight[k] = w->weight[count - 1 - k] = ends[k];
    used += (size_t)snprintf(ends_text + used, sizeof ends_text - used, "%s%g", k ? "," : ",ends=", ends[k]);
  }
  snprintf(w->name, sizeof w->name, "%s[window=%lld,%lld%s]", en->name, (long long)stride, (long long)count,
           ends_text);
  ebm_energy_describe_like(wrapped, en); /* no fork: its buffers are its own, one evaluation at a time */
  wrapped->name = w->name;
  wrapped->item_shape[0] = w->dim;
  wrapped->max_batch = w->max_batch;
  wrapped->eval = window_eval;
  wrapped->destroy = window_destroy;
  wrapped->self = w;
  *out = wrapped;
  return EBM_OK;
fail:
  window_destroy(w);
  free(wrapped);
  return st;
}
