/* Inpainting as sampling: the energy of the pixels to fill given the
 * observed ones, p(x_M | x_¬M) ∝ exp(−E(x_M, x_¬M)) (seed 004, "Energy-Based
 * Inpainting": Langevin on the missing part with the rest fixed). The
 * sampler's state is only the masked values, so observed pixels are never
 * written — bit-identical by construction rather than by resetting them
 * after every step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/compose.h"

typedef struct {
  const ebm_energy *en;   /* borrowed */
  int64_t n, item, count; /* items, floats per item, masked values F */
  float *full;            /* n × item: x with the masked values from z */
  float *full_grad;       /* n × item */
  float *e;               /* n */
  int64_t *index;         /* F flat positions of the masked values, ascending */
  int32_t *y;             /* n labels or NULL */
  float *sigma;           /* n noise levels or NULL */
  char name[160];
} masked_energy;

// z is (1, F), e is (1), grad (1, F) or NULL: E(z) = Σ_i E(x_i(z)).
static ebm_status masked_eval(void *self, const float *z, const ebm_cond *cond, int64_t n, float *e,
                              float *grad) {
  (void)cond;
  masked_energy *m = self;
  if (n != 1 && n != 0)
    return ebm_set_error(EBM_ERR_ARG, "%s: evaluates one item (the masked values), got %lld", m->name,
                         (long long)n);
  if (n == 0) return EBM_OK;
  for (int64_t k = 0; k < m->count; k++) m->full[m->index[k]] = z[k];
  const ebm_cond items = {m->y, m->sigma};
  ebm_status st = ebm_energy_eval(m->en, m->full, &items, m->n, m->e, grad ? m->full_grad : NULL);
  if (st != EBM_OK) return st;
  double total = 0.0;
  for (int64_t i = 0; i < m->n; i++) total += m->e[i];
  e[0] = (float)total;
  if (grad)
    for (int64_t k = 0; k < m->count; k++) grad[k] = m->full_grad[m->index[k]];
  return EBM_OK;
}

static void masked_destroy(void *self) {
  masked_energy *m = self;
  if (!m) return;
  ebm_free(m->full);
  ebm_free(m->full_grad);
  free(m->e);
  free(m->index);
  free(m->y);
  free(m->sigma);
  free(m);
}

ebm_status ebm_masked_energy_new(const ebm_energy *en, const float *x, const float *mask,
                                 const ebm_cond *cond, int64_t n, ebm_energy **out) {
  const int32_t *y = cond ? cond->labels : NULL;
  const float *sigma = cond ? cond->sigma : NULL;
  ebm_status st = EBM_OK;
  masked_energy *m = NULL;
  ebm_energy *me = NULL;
  *out = NULL;
  if (!en || !x || !mask) return ebm_set_error(EBM_ERR_ARG, "masked energy: energy, x and mask are required");
  if (n < 1) return ebm_set_error(EBM_ERR_ARG, "masked energy: needs at least one item, got %lld", (long long)n);
  if (en->num_classes > 0 && !y)
    return ebm_set_error(EBM_ERR_ARG, "%s is conditional: inpainting needs a class label per item", en->name);
  if (en->num_classes == 0 && y)
    return ebm_set_error(EBM_ERR_ARG, "%s is unconditional: labels given to inpainting", en->name);
  if (en->needs_sigma && !sigma)
    return ebm_set_error(EBM_ERR_ARG, "%s is noise-conditioned: inpainting needs a noise level per item", en->name);
  if (!en->needs_sigma && sigma)
    return ebm_set_error(EBM_ERR_ARG, "%s takes no noise level: sigma given to inpainting", en->name);
  const int64_t item = ebm_energy_item_size(en), total = n * item;
  int64_t count = 0;
  for (int64_t k = 0; k < total; k++) count += mask[k] != 0.0f;
  if (count == 0) return ebm_set_error(EBM_ERR_ARG, "masked energy: the mask selects no pixel to fill");
  if (!(me = ebm_energy_alloc())) return EBM_ERR_NOMEM;
  if (!(m = calloc(1, sizeof *m))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a masked energy");
    goto fail;
  }
  m->en = en;
  m->n = n;
  m->item = item;
  m->count = count;
  m->full = ebm_alloc((size_t)total, sizeof(float));
  m->full_grad = ebm_alloc((size_t)total, sizeof(float));
  m->e = malloc((size_t)n * sizeof *m->e);
  m->index = malloc((size_t)count * sizeof *m->index);
  m->y = y ? malloc((size_t)n * sizeof *m->y) : NULL;
  m->sigma = sigma ? malloc((size_t)n * sizeof *m->sigma) : NULL;
  if (!m->full || !m->full_grad || !m->e || !m->index || (y && !m->y) || (sigma && !m->sigma)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for a masked energy over %lld items", (long long)n);
    goto fail;
  }
  memcpy(m->full, x, (size_t)total * sizeof(float));
  if (y) memcpy(m->y, y, (size_t)n * sizeof *m->y);
  if (sigma) memcpy(m->sigma, sigma, (size_t)n * sizeof *m->sigma);
  for (int64_t k = 0, f = 0; k < total; k++)
    if (mask[k] != 0.0f) m->index[f++] = k;
  snprintf(m->name, sizeof m->name, "%s[masked %lld of %lld]", en->name, (long long)count, (long long)total);
  me->name = m->name;
  me->item_ndim = 1;
  me->item_shape[0] = count;
  me->max_batch = 1;
  me->num_classes = 0;
  me->range_lo = en->range_lo;
  me->range_hi = en->range_hi;
  me->eval = masked_eval;
  me->destroy = masked_destroy;
  me->self = m;
  *out = me;
  return EBM_OK;
fail:
  masked_destroy(m);
  free(me);
  return st;
}

int64_t ebm_masked_energy_size(const ebm_energy *masked) {
  return masked && masked->eval == masked_eval ? ((const masked_energy *)masked->self)->count : 0;
}

void ebm_masked_energy_scatter(const ebm_energy *masked, const float *z, float *items) {
  if (!masked || masked->eval != masked_eval) return;
  const masked_energy *m = masked->self;
  /* the observed values come from the copy of x, never from an update */
  for (int64_t k = 0, f = 0; k < m->n * m->item; k++)
    items[k] = f < m->count && m->index[f] == k ? z[f++] : m->full[k];
}

void ebm_masked_energy_gather(const ebm_energy *masked, const float *items, float *z) {
  if (!masked || masked->eval != masked_eval) return;
  const masked_energy *m = masked->self;
  for (int64_t f = 0; f < m->count; f++) z[f] = items[m->index[f]];
}

/* Langevin on the masked values only (seed 004), from z0 (the masked
 * values of `start`, memory order) or, with start NULL, from uniform noise
 * in [lo, hi) drawn from rng. */
static ebm_status inpaint_run(const ebm_energy *en, const ebm_sampler_config *cfg, const float *x, const float *start,
                              const float *mask, const ebm_cond *cond, int64_t n, float lo, float hi, ebm_rng *rng,
                              float *out, ebm_sample_step_fn cb, void *cb_ctx) {
  ebm_status st = EBM_OK;
  ebm_energy *masked = NULL;
  ebm_sampler *s = NULL;
  float *z = NULL;
  if ((st = ebm_masked_energy_new(en, x, mask, cond, n, &masked)) != EBM_OK) goto done;
  const int64_t count = ebm_masked_energy_size(masked);
  if (!(z = ebm_alloc((size_t)count, sizeof *z))) {
    st = EBM_ERR_NOMEM;
    goto done;
  }
  if ((st = ebm_sampler_new(masked, cfg, 1, &s)) != EBM_OK) goto done;
  if (start)
    for (int64_t k = 0, f = 0; k < n * ebm_energy_item_size(en); k++) {
      if (mask[k] != 0.0f) z[f++] = start[k];
    }
  else
    ebm_rng_uniform(rng, z, count, lo, hi);
  if ((st = ebm_sampler_run_cb(s, z, NULL, 1, rng, NULL, NULL, cb, cb_ctx)) != EBM_OK) goto done;
  ebm_masked_energy_scatter(masked, z, out);
done:
  ebm_sampler_free(s);
  ebm_free(z);
  ebm_energy_free(masked);
  return st;
}

ebm_status ebm_inpaint(const ebm_energy *en, const ebm_sampler_config *cfg, const float *x,
                       const float *mask, const ebm_cond *cond, int64_t n, float lo, float hi,
                       ebm_rng *rng, float *out, ebm_sample_step_fn cb, void *cb_ctx) {
  if (!(isfinite(lo) && isfinite(hi) && lo < hi))
    return ebm_set_error(EBM_ERR_ARG, "inpaint: the noise range [%g, %g] must be finite with lo < hi",
                         (double)lo, (double)hi);
  return inpaint_run(en, cfg, x, NULL, mask, cond, n, lo, hi, rng, out, cb, cb_ctx);
}

ebm_status ebm_inpaint_from(const ebm_energy *en, const ebm_sampler_config *cfg, const float *start,
                            const float *mask, const ebm_cond *cond, int64_t n, ebm_rng *rng, float *out,
                            ebm_sample_step_fn cb, void *cb_ctx) {
  return inpaint_run(en, cfg, start, start, mask, cond, n, 0.0f, 1.0f, rng, out, cb, cb_ctx);
}

ebm_status ebm_inpaint_start_gaussian(const ebm_energy *gaussian, const float *x, const float *mask, int64_t n,
                                      float lo, float hi, float *start) {
  const int64_t count = n * ebm_energy_item_size(gaussian);
  ebm_status st = ebm_gaussian_energy_sample_given(gaussian, NULL, n, x, mask, 0.0f, start);
  for (int64_t k = 0; st == EBM_OK && k < count; k++)
    if (mask[k] != 0.0f) start[k] = start[k] < lo ? lo : (start[k] > hi ? hi : start[k]);
  return st;
}

ebm_status ebm_inpaint_start(ebm_rng rng, const float *x, const float *mask, int64_t count, float lo, float hi,
                             float *start) {
  int64_t holes = 0;
  for (int64_t k = 0; k < count; k++) holes += mask[k] != 0.0f;
  float *z0 = ebm_alloc((size_t)(holes ? holes : 1), sizeof *z0);
  if (!z0) return ebm_set_error(EBM_ERR_NOMEM, "inpaint: out of memory for %lld values", (long long)holes);
  ebm_rng_uniform(&rng, z0, holes, lo, hi);
  for (int64_t k = 0, f = 0; k < count; k++) start[k] = mask[k] != 0.0f ? z0[f++] : x[k];
  ebm_free(z0);
  return EBM_OK;
}

double ebm_masked_mse(const float *a, const float *b, const float *mask, int64_t count) {
  double sum = 0.0;
  int64_t used = 0;
  for (int64_t k = 0; k < count; k++) {
    if (mask && mask[k] == 0.0f) continue;
    const double d = (double)a[k] - (double)b[k];
    sum += d * d;
    used++;
  }
  return used ? sum / (double)used : 0.0;
}
