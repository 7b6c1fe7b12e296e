/* An energy seen through an affine change of data range (compose.h,
 * ebm_range_energy_new): a model trained on [0, 1] scored on images in
 * [−1, 1], so models of the same data stored in different ranges can be
 * composed. E'(x) = E(a + s·(x − lo)) and ∇E'(x) = s·∇E(a + s·(x − lo)),
 * with [a, a + s·(hi − lo)] the model's own range. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ebm/compose.h"

#define RANGE_DEFAULT_BATCH 1024

typedef struct {
  const ebm_energy *inner; /* borrowed */
  float lo, inner_lo;      /* x − lo, scaled, + inner_lo */
  float scale;             /* (inner_hi − inner_lo) / (hi − lo) */
  int64_t max_batch, dim;
  float *mapped;           /* max_batch × dim */
  char name[192];
} range_energy;

// x is (n, dim), e is (n), grad (n, dim) or NULL.
static ebm_status range_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e, float *grad) {
  range_energy *r = self;
  if (n > r->max_batch)
    return ebm_set_error(EBM_ERR_ARG, "%s: batch %lld exceeds %lld", r->name, (long long)n, (long long)r->max_batch);
  const int64_t count = n * r->dim;
  for (int64_t k = 0; k < count; k++) r->mapped[k] = r->inner_lo + r->scale * (x[k] - r->lo);
  ebm_status st = ebm_energy_eval(r->inner, r->mapped, cond, n, e, grad);
  if (st != EBM_OK || !grad) return st;
  for (int64_t k = 0; k < count; k++) grad[k] *= r->scale; /* chain rule: dx'/dx = scale */
  return EBM_OK;
}

static void range_destroy(void *self) {
  range_energy *r = self;
  if (!r) return;
  ebm_free(r->mapped);
  free(r);
}

ebm_status ebm_range_energy_new(const ebm_energy *en, float lo, float hi, ebm_energy **out) {
  ebm_status st = EBM_OK;
  range_energy *r = NULL;
  ebm_energy *wrapped = NULL;
  *out = NULL;
  if (!en) return ebm_set_error(EBM_ERR_ARG, "range energy: no energy given");
  if (!(en->range_lo < en->range_hi))
    return ebm_set_error(EBM_ERR_ARG, "%s has no data range to map from (only checkpoints record one)", en->name);
  if (!(lo < hi) || !isfinite(lo) || !isfinite(hi))
    return ebm_set_error(EBM_ERR_ARG, "%s: range=%g,%g must be finite with lo < hi", en->name, lo, hi);
  if (!(wrapped = ebm_energy_alloc())) return EBM_ERR_NOMEM;
  if (!(r = calloc(1, sizeof *r))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a range energy");
    goto fail;
  }
  r->inner = en;
  r->lo = lo;
  r->inner_lo = en->range_lo;
  r->scale = (en->range_hi - en->range_lo) / (hi - lo);
  r->dim = ebm_energy_item_size(en);
  r->max_batch = en->max_batch > 0 ? en->max_batch : RANGE_DEFAULT_BATCH;
  if (!(r->mapped = ebm_alloc((size_t)(r->max_batch * r->dim), sizeof *r->mapped))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a range energy");
    goto fail;
  }
  snprintf(r->name, sizeof r->name, "%s[range=%g,%g]", en->name, lo, hi);
  ebm_energy_describe_like(wrapped, en);
  wrapped->name = r->name;
  wrapped->max_batch = r->max_batch;
  wrapped->range_lo = lo;
  wrapped->range_hi = hi;
  wrapped->eval = range_eval;
  wrapped->destroy = range_destroy;
  wrapped->self = r;
  *out = wrapped;
  return EBM_OK;
fail:
  range_destroy(r);
  free(wrapped);
  return st;
}
