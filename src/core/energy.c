/* The energy interface's shared helpers: chunked evaluation and freeing. */
#include <stdlib.h>
#include <string.h>

#include "ebm/energy.h"

int64_t ebm_energy_item_size(const ebm_energy *en) {
  int64_t size = 1;
  for (int d = 0; d < en->item_ndim; d++) size *= en->item_shape[d];
  return size;
}

ebm_cond ebm_cond_slice(const ebm_cond *c, int64_t offset) {
  ebm_cond out = {NULL, NULL};
  if (!c) return out;
  if (c->labels) out.labels = c->labels + offset;
  if (c->sigma) out.sigma = c->sigma + offset;
  return out;
}

ebm_cond ebm_cond_labels(const int32_t *labels) {
  ebm_cond out = {labels, NULL};
  return out;
}

ebm_cond ebm_cond_for(const ebm_energy *en, const ebm_cond *c) {
  ebm_cond out = {NULL, NULL};
  if (!c) return out;
  if (en->num_classes > 0) out.labels = c->labels;
  if (en->needs_sigma) out.sigma = c->sigma;
  return out;
}

ebm_status ebm_energy_eval(const ebm_energy *en, const float *x, const ebm_cond *cond, int64_t n,
                           float *e, float *grad) {
  if (n < 0) return ebm_set_error(EBM_ERR_ARG, "%s: negative batch size %lld", en->name, (long long)n);
  if (cond && cond->labels && en->num_classes == 0)
    return ebm_set_error(EBM_ERR_ARG, "%s: labels given to an unconditional energy", en->name);
  /* A missing label is named by the energy itself (a network, a composition
   * naming its conditional term), which knows more than this wrapper. */
  if (cond && cond->sigma && !en->needs_sigma)
    return ebm_set_error(EBM_ERR_ARG, "%s: noise levels given to an energy that takes none", en->name);
  if (n > 0 && en->needs_sigma && !(cond && cond->sigma))
    return ebm_set_error(EBM_ERR_ARG, "%s: the energy is noise-conditioned; noise levels (sigma) are required",
                         en->name);
  int64_t item = ebm_energy_item_size(en);
  int64_t chunk = en->max_batch > 0 ? en->max_batch : (n > 0 ? n : 1);
  for (int64_t start = 0; start < n; start += chunk) {
    int64_t count = n - start < chunk ? n - start : chunk;
    ebm_cond part = ebm_cond_slice(cond, start);
    ebm_status st = en->eval(en->self, x + start * item, cond ? &part : NULL, count, e + start,
                             grad ? grad + start * item : NULL);
    if (st != EBM_OK) return st;
  }
  return EBM_OK;
}

void ebm_energy_describe_like(ebm_energy *en, const ebm_energy *inner) {
  en->name = inner->name;
  en->item_ndim = inner->item_ndim;
  memcpy(en->item_shape, inner->item_shape, sizeof en->item_shape);
  en->max_batch = inner->max_batch;
  en->num_classes = inner->num_classes;
  en->needs_sigma = inner->needs_sigma;
  en->range_lo = inner->range_lo;
  en->range_hi = inner->range_hi;
}

ebm_energy *ebm_energy_alloc(void) {
  ebm_energy *en = calloc(1, sizeof *en);
  if (!en) ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating an energy");
  return en;
}

void ebm_energy_free(ebm_energy *en) {
  if (!en) return;
  if (en->destroy) en->destroy(en->self);
  free(en);
}
