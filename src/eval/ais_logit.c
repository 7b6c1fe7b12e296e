/* AIS transitions in logit coordinates (eval_internal.h). Image EBMs put
 * much of their mass on the walls of the box [lo, hi]^D (pixels at exactly
 * lo), where a MALA/HMC proposal that must stay inside is almost always
 * rejected: 784 pixels at the wall each leave with probability ½. Running
 * the chains on u = logit((x − lo)/(hi − lo)) instead, with the density of
 * u carrying the Jacobian,
 *   E_u(u) = E(x(u)) − Σ_d log(dx_d/du_d),  dx/du = (hi − lo)·s(1 − s), s = σ(u),
 * targets exactly the same law of x, on an unbounded space. Only the
 * coordinates of the MCMC change: the AIS weights are still computed from
 * E₀(x) and E(x), so log Z is the same quantity. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"

typedef struct {
  const ebm_energy *inner; /* borrowed: the annealed energy in x */
  int64_t dim, max_batch;
  float lo, hi;
  float *x, *gx;           /* max_batch × dim */
  char name[128];
} logit_energy;

void eval_logit_to_x(const ebm_energy *w, const float *u, int64_t n, float *x) {
  const logit_energy *l = w->self;
  const float span = l->hi - l->lo;
  for (int64_t k = 0; k < n * l->dim; k++) {
    float v = l->lo + span / (1.0f + expf(-u[k]));
    x[k] = v < l->lo ? l->lo : (v > l->hi ? l->hi : v);
  }
}

void eval_x_to_logit(const ebm_energy *w, const float *x, int64_t n, float *u) {
  const logit_energy *l = w->self;
  const double span = (double)l->hi - l->lo;
  for (int64_t k = 0; k < n * l->dim; k++) {
    double p = ((double)x[k] - l->lo) / span;
    p = p < EVAL_LOGIT_EDGE ? EVAL_LOGIT_EDGE : (p > 1.0 - EVAL_LOGIT_EDGE ? 1.0 - EVAL_LOGIT_EDGE : p);
    u[k] = (float)log(p / (1.0 - p));
  }
}

/* u is (n, D); e is (n); grad, if not NULL, is (n, D). */
static ebm_status logit_eval(void *self, const float *u, const ebm_cond *cond, int64_t n, float *e, float *grad) {
  logit_energy *l = self;
  if (n > l->max_batch)
    return ebm_set_error(EBM_ERR_ARG, "%s: batch %lld exceeds %lld", l->name, (long long)n, (long long)l->max_batch);
  const int64_t D = l->dim;
  const double span = (double)l->hi - l->lo, log_span = log(span);
  for (int64_t k = 0; k < n * D; k++) {
    double s = 1.0 / (1.0 + exp(-(double)u[k]));
    l->x[k] = (float)(l->lo + span * s);
  }
  ebm_status st = ebm_energy_eval(l->inner, l->x, cond, n, e, grad ? l->gx : NULL);
  if (st != EBM_OK) return st;
  for (int64_t i = 0; i < n; i++) {
    double log_jac = 0.0;
    for (int64_t d = 0; d < D; d++) {
      const double v = u[i * D + d], s = 1.0 / (1.0 + exp(-v));
      /* log(s(1 − s)) = −|v| − 2·log(1 + e^{−|v|}), exact in the tails */
      log_jac += log_span - fabs(v) - 2.0 * log1p(exp(-fabs(v)));
      if (grad) grad[i * D + d] = (float)(l->gx[i * D + d] * span * s * (1.0 - s) - (1.0 - 2.0 * s));
    }
    e[i] = (float)((double)e[i] - log_jac);
  }
  return EBM_OK;
}

static void logit_destroy(void *self) {
  logit_energy *l = self;
  if (!l) return;
  ebm_free(l->x);
  ebm_free(l->gx);
  free(l);
}

ebm_status eval_logit_energy_new(const ebm_energy *inner, float lo, float hi, int64_t max_batch, ebm_energy **out) {
  *out = NULL;
  logit_energy *l = calloc(1, sizeof *l);
  ebm_energy *en = NULL;
  if (!l) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a logit-space energy");
  l->inner = inner;
  l->dim = ebm_energy_item_size(inner);
  l->max_batch = max_batch;
  l->lo = lo;
  l->hi = hi;
  l->x = ebm_alloc((size_t)(max_batch * l->dim), sizeof(float));
  l->gx = ebm_alloc((size_t)(max_batch * l->dim), sizeof(float));
  if (!l->x || !l->gx || !(en = ebm_energy_alloc())) {
    logit_destroy(l);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a logit-space energy of %lld items", (long long)max_batch);
  }
  snprintf(l->name, sizeof l->name, "logit(%s)", inner->name);
  en->name = l->name;
  en->item_ndim = inner->item_ndim;
  memcpy(en->item_shape, inner->item_shape, sizeof en->item_shape);
  en->max_batch = max_batch;
  en->num_classes = inner->num_classes;
  en->needs_sigma = inner->needs_sigma;
  en->range_lo = en->range_hi = 0.0f; /* unbounded */
  en->eval = logit_eval;
  en->destroy = logit_destroy;
  en->self = l;
  *out = en;
  return EBM_OK;
}
