/* Annealed paths between two energies, E_β = (1−β)E₀ + βE₁ (the geometric
 * path p_β ∝ p₀^{1−β} p₁^β of AIS, Neal 2001), and β schedules. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/sample.h"

/* When neither energy bounds its batch, the path evaluates this many items
 * at a time (its scratch is sized for it; ebm_energy_eval chunks). */
#define ANNEAL_DEFAULT_BATCH 1024

typedef struct {
  const ebm_energy *e0, *e1; /* borrowed */
  double beta;
  int64_t max_batch, dim;
  float *e1_buf;             /* max_batch */
  float *g1_buf;             /* max_batch × dim */
  char name[96];
} anneal_energy;

static ebm_status anneal_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                              float *grad) {
  anneal_energy *a = self;
  ebm_status st;
  if (n > a->max_batch)
    return ebm_set_error(EBM_ERR_ARG, "%s: batch %lld exceeds %lld", a->name, (long long)n,
                         (long long)a->max_batch);
  const ebm_cond c0 = ebm_cond_for(a->e0, cond), c1 = ebm_cond_for(a->e1, cond);
  const double beta = a->beta;
  /* The end points need one energy only (and must not mix in an inf·0). */
  if (beta == 0.0) return ebm_energy_eval(a->e0, x, &c0, n, e, grad);
  if (beta == 1.0) return ebm_energy_eval(a->e1, x, &c1, n, e, grad);
  if ((st = ebm_energy_eval(a->e0, x, &c0, n, e, grad)) != EBM_OK) return st;
  if ((st = ebm_energy_eval(a->e1, x, &c1, n, a->e1_buf, grad ? a->g1_buf : NULL)) != EBM_OK)
    return st;
  const float w0 = (float)(1.0 - beta), w1 = (float)beta;
  for (int64_t i = 0; i < n; i++) e[i] = (float)((1.0 - beta) * e[i] + beta * a->e1_buf[i]);
  if (grad)
    for (int64_t k = 0, m = n * a->dim; k < m; k++) grad[k] = w0 * grad[k] + w1 * a->g1_buf[k];
  return EBM_OK;
}

static void anneal_destroy(void *self) {
  anneal_energy *a = self;
  if (!a) return;
  ebm_free(a->e1_buf);
  ebm_free(a->g1_buf);
  free(a);
}

ebm_status ebm_anneal_energy_new(const ebm_energy *e0, const ebm_energy *e1, ebm_energy **out) {
  ebm_status st = EBM_OK;
  anneal_energy *a = NULL;
  ebm_energy *en = NULL;
  char s0[64], s1[64];
  *out = NULL;
  if (!e0 || !e1) return ebm_set_error(EBM_ERR_ARG, "anneal: both energies are required");
  if (e0->item_ndim != e1->item_ndim ||
      memcmp(e0->item_shape, e1->item_shape, (size_t)e0->item_ndim * sizeof(int64_t)) != 0)
    return ebm_set_error(EBM_ERR_SHAPE, "anneal: %s has items %s but %s has %s", e0->name,
                         ebm_shape_str(e0->item_ndim, e0->item_shape, s0, sizeof s0), e1->name,
                         ebm_shape_str(e1->item_ndim, e1->item_shape, s1, sizeof s1));
  if (e0->num_classes > 0 && e1->num_classes > 0 && e0->num_classes != e1->num_classes)
    return ebm_set_error(EBM_ERR_ARG, "anneal: %s has %d classes but %s has %d", e0->name,
                         e0->num_classes, e1->name, e1->num_classes);
  a = calloc(1, sizeof *a);
  if (!a) return ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating an annealed energy");
  a->e0 = e0;
  a->e1 = e1;
  a->dim = ebm_energy_item_size(e0);
  int64_t b0 = e0->max_batch, b1 = e1->max_batch;
  a->max_batch = b0 > 0 && b1 > 0 ? (b0 < b1 ? b0 : b1) : (b0 > 0 ? b0 : (b1 > 0 ? b1 : ANNEAL_DEFAULT_BATCH));
  a->e1_buf = ebm_alloc((size_t)a->max_batch, sizeof(float));
  a->g1_buf = ebm_alloc((size_t)(a->max_batch * a->dim), sizeof(float));
  if (!a->e1_buf || !a->g1_buf) {
    st = EBM_ERR_NOMEM;
    goto fail;
  }
  snprintf(a->name, sizeof a->name, "anneal(%s -> %s)", e0->name, e1->name);
  en = ebm_energy_alloc();
  if (!en) {
    st = EBM_ERR_NOMEM;
    goto fail;
  }
  en->name = a->name;
  en->item_ndim = e0->item_ndim;
  memcpy(en->item_shape, e0->item_shape, sizeof en->item_shape);
  en->max_batch = a->max_batch;
  en->num_classes = e0->num_classes > e1->num_classes ? e0->num_classes : e1->num_classes;
  en->needs_sigma = e0->needs_sigma || e1->needs_sigma;
  /* Samplers clamp to the target's range (E₁), else the base's. */
  const ebm_energy *ranged = e1->range_lo < e1->range_hi ? e1 : e0;
  en->range_lo = ranged->range_lo;
  en->range_hi = ranged->range_hi;
  en->eval = anneal_eval;
  en->destroy = anneal_destroy;
  en->self = a;
  *out = en;
  return EBM_OK;
fail:
  anneal_destroy(a);
  return st;
}

void ebm_anneal_energy_set_beta(ebm_energy *path, double beta) {
  if (!path || path->destroy != anneal_destroy || !isfinite(beta)) return;
  ((anneal_energy *)path->self)->beta = beta;
}

ebm_status ebm_beta_schedule(const char *kind, int T, double *betas) {
  if (T < 1) return ebm_set_error(EBM_ERR_ARG, "beta schedule: T must be >= 1, got %d", T);
  if (kind && strcmp(kind, "linear") == 0) {
    for (int t = 0; t <= T; t++) betas[t] = (double)t / T;
  } else if (kind && strcmp(kind, "sigmoid") == 0) {
    /* Grosse, Maddison & Salakhutdinov (2013): β̃_t = σ(δ(2t/T − 1)), δ = 4,
     * rescaled to run exactly from 0 to 1. Denser near both ends. */
    const double delta = 4.0;
    double lo = 1.0 / (1.0 + exp(delta)), hi = 1.0 / (1.0 + exp(-delta));
    for (int t = 0; t <= T; t++) {
      double s = 1.0 / (1.0 + exp(-delta * (2.0 * t / T - 1.0)));
      betas[t] = (s - lo) / (hi - lo);
    }
  } else {
    return ebm_set_error(EBM_ERR_ARG, "beta schedule '%s' is unknown (linear, sigmoid)",
                         kind ? kind : "(null)");
  }
  betas[0] = 0.0;
  betas[T] = 1.0;
  return EBM_OK;
}
