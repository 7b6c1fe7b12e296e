/* A Gaussian mixture in the data's principal subspace: fresh chain starts
 * for data with many modes in many places (issue 15's voxel shapes: spheres,
 * boxes and tori, each at its own place and size), where one Gaussian fitted
 * to everything draws a blurred cloud that is no shape in particular.
 *
 * The model (a mixture of probabilistic PCAs sharing one basis; Tipping &
 * Bishop 1999 fit one basis per component, here the basis is shared so the
 * mixture lives in r dimensions and stays cheap):
 *   d = x − μ,  c = Uᵀd  (U: the top r principal directions, as the
 *                         low-rank Gaussian of gaussian_fit_lowrank.c),
 *   c ~ Σ_j w_j N(m_j, S_j)  (ebm_gmm_fit on the fitted items' c, from
 *                             k-means clusters: up to 100 Lloyd steps),
 *   d − Uc ~ N(0, σ²(I − UUᵀ))  (σ² the low-rank fit's, the mean of the
 *                                 other D − r eigenvalues).
 * So E(x) = −log p(x) = −log p_mix(c) + ‖d − Uc‖²/(2σ²) + (D−r)/2·log 2πσ²
 * is normalised (log Z = 0), ∇E = (d − Uc)/σ² − U·∇_c log p_mix(c), and a
 * draw is μ + Uc + σ(ε − UUᵀε) with c from the mixture: a blurred member of
 * one cluster of the data (one kind of shape near one place), not a blur of
 * all of them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample/gaussian_internal.h"

#define LOG_2PI 1.8378770664093454836

typedef struct {
  ebm_energy *subspace; /* the low-rank Gaussian: μ, U (D×r), σ² */
  ebm_gmm *mix;         /* the mixture on c = Uᵀ(x − μ) */
  int64_t dim, rank;
  const double *mean, *u;
  double sigma2, log_norm_perp; /* (D − r)/2·log 2πσ² */
  char name[64];
} subspace_mixture;

static void subspace_mixture_destroy(void *self) {
  subspace_mixture *s = self;
  if (!s) return;
  ebm_energy_free(s->subspace);
  ebm_gmm_free(s->mix);
  free(s);
}

int subspace_mixture_is(const ebm_energy *en) { return en && en->destroy == subspace_mixture_destroy; }

/* c = Uᵀ(x − μ) in double; d (D) gets x − μ. */
static void project(const subspace_mixture *s, const float *x, double *d, double *c) {
  const int64_t D = s->dim, r = s->rank;
  memset(c, 0, (size_t)r * sizeof *c);
  for (int64_t t = 0; t < D; t++) {
    const double *ut = s->u + t * r;
    d[t] = (double)x[t] - s->mean[t];
    for (int64_t k = 0; k < r; k++) c[k] += d[t] * ut[k];
  }
}

/* Serial: a chain start's energy is evaluated rarely (tests, diagnostics);
 * its draws are what training uses. */
static ebm_status subspace_mixture_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                                        float *grad) {
  (void)cond;
  const subspace_mixture *s = self;
  const int64_t D = s->dim, r = s->rank, K = ebm_gmm_components(s->mix);
  double *d = malloc((size_t)D * sizeof *d), *c = malloc((size_t)r * sizeof *c);
  double *gc = malloc((size_t)r * sizeof *gc), *scratch = malloc((size_t)(K * (r + 1)) * sizeof *scratch);
  if (!d || !c || !gc || !scratch) {
    free(d), free(c), free(gc), free(scratch);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory evaluating %s", s->name);
  }
  for (int64_t i = 0; i < n; i++) {
    project(s, x + i * D, d, c);
    double dd = 0, cc = 0;
    for (int64_t t = 0; t < D; t++) dd += d[t] * d[t];
    for (int64_t k = 0; k < r; k++) cc += c[k] * c[k];
    const double perp = dd > cc ? dd - cc : 0.0; /* ‖d − Uc‖² = ‖d‖² − ‖c‖², U orthonormal */
    const double log_p = gmm_log_density_grad(s->mix, c, grad ? gc : NULL, scratch);
    e[i] = (float)(-log_p + 0.5 * perp / s->sigma2 + s->log_norm_perp);
    if (!grad) continue;
    float *gi = grad + i * D;
    for (int64_t t = 0; t < D; t++) { /* (d − Uc)/σ² − U·∇_c log p_mix */
      const double *ut = s->u + t * r;
      double uc = 0, ug = 0;
      for (int64_t k = 0; k < r; k++) {
        uc += ut[k] * c[k];
        ug += ut[k] * gc[k];
      }
      gi[t] = (float)((d[t] - uc) / s->sigma2 - ug);
    }
  }
  free(d), free(c), free(gc), free(scratch);
  return EBM_OK;
}

/* The draw (ebm_energy.draw): a component, its coordinates c in the
 * subspace, then x = μ + σε + U(c − σUᵀε). */
static ebm_status subspace_mixture_draw(void *self, ebm_rng *rng, int64_t n, float *x) {
  const subspace_mixture *s = self;
  const int64_t D = s->dim, r = s->rank;
  const double sigma = sqrt(s->sigma2);
  float *c = malloc((size_t)r * sizeof *c);
  double *q = malloc((size_t)r * sizeof *q);
  ebm_status st = c && q ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing from %s", s->name);
  for (int64_t i = 0; st == EBM_OK && i < n; i++) {
    float *xi = x + i * D;
    if ((st = ebm_gmm_sample(s->mix, rng, 1, c)) != EBM_OK) break;
    ebm_rng_normal(rng, xi, D, 0.0f, 1.0f); /* ε, then x = μ + σε + U(c − σUᵀε) */
    memset(q, 0, (size_t)r * sizeof *q);
    for (int64_t t = 0; t < D; t++)
      for (int64_t k = 0; k < r; k++) q[k] += (double)xi[t] * s->u[t * r + k];
    for (int64_t k = 0; k < r; k++) q[k] = (double)c[k] - sigma * q[k];
    for (int64_t t = 0; t < D; t++) {
      const double *ut = s->u + t * r;
      double v = s->mean[t] + sigma * xi[t];
      for (int64_t k = 0; k < r; k++) v += ut[k] * q[k];
      xi[t] = (float)v;
    }
  }
  free(c);
  free(q);
  return st;
}

ebm_status ebm_subspace_mixture_fit(const float *x, int64_t n, int64_t dim, int64_t max_items, int64_t rank,
                                    int components, ebm_energy **out) {
  *out = NULL;
  if (components < 1 || rank < 1)
    return ebm_set_error(EBM_ERR_ARG, "subspace mixture: needs at least 1 component and rank >= 1, got %d and %lld",
                         components, (long long)rank);
  ebm_energy *sub = NULL, *en = NULL;
  subspace_mixture *s = NULL;
  float *coords = NULL;
  double *d = NULL, *c = NULL;
  ebm_status st = ebm_gaussian_energy_fit_lowrank(x, n, dim, max_items, rank, &sub);
  if (st != EBM_OK) return st;
  int64_t r = 0;
  const double *lambda = NULL;
  s = calloc(1, sizeof *s);
  en = ebm_energy_alloc();
  if (!s || !en) goto nomem;
  s->subspace = sub;
  sub = NULL;
  (void)ebm_gaussian_lowrank_factors(s->subspace, &r, &s->mean, &s->u, &lambda, &s->sigma2);
  s->dim = dim;
  s->rank = r;
  s->log_norm_perp = 0.5 * (double)(dim - r) * (LOG_2PI + log(s->sigma2));
  /* the same items the subspace was fitted to, in its coordinates */
  int64_t m = n < max_items ? n : max_items;
  if (m > EBM_GAUSSIAN_LOWRANK_MAX_ITEMS) m = EBM_GAUSSIAN_LOWRANK_MAX_ITEMS;
  coords = malloc((size_t)(m * r) * sizeof *coords);
  d = malloc((size_t)dim * sizeof *d);
  c = malloc((size_t)r * sizeof *c);
  if (!coords || !d || !c) goto nomem;
  for (int64_t j = 0; j < m; j++) {
    project(s, x + gaussian_fit_item(j, n, m) * dim, d, c);
    for (int64_t k = 0; k < r; k++) coords[j * r + k] = (float)c[k];
  }
  /* a fixed seed: the same data always gives the same mixture, so a
   * checkpoint's recorded start is refitted exactly when it is sampled */
  const ebm_gmm_config cfg = {.components = components, .max_iters = 200, .reg = 1e-3f, .seed = 1, .kmeans_iters = 100};
  if ((st = ebm_gmm_fit(coords, m, r, &cfg, &s->mix)) != EBM_OK) {
    st = ebm_error_prefix(st, "subspace mixture");
    goto fail;
  }
  snprintf(s->name, sizeof s->name, "mixture:%d (rank %lld)", components, (long long)r);
  en->name = s->name;
  en->item_ndim = 1;
  en->item_shape[0] = dim;
  en->eval = subspace_mixture_eval;
  en->destroy = subspace_mixture_destroy;
  en->draw = subspace_mixture_draw;
  en->self = s;
  *out = en;
  free(coords), free(d), free(c);
  return EBM_OK;
nomem:
  st = ebm_set_error(EBM_ERR_NOMEM, "out of memory fitting a %d-component subspace mixture to items of %lld values",
                     components, (long long)dim);
fail:
  ebm_energy_free(sub);
  subspace_mixture_destroy(s);
  if (en) en->destroy = NULL;
  ebm_energy_free(en);
  free(coords), free(d), free(c);
  return st;
}

ebm_status ebm_subspace_mixture_parts(const ebm_energy *en, const ebm_energy **subspace, const ebm_gmm **mixture) {
  if (!subspace_mixture_is(en))
    return ebm_set_error(EBM_ERR_ARG, "%s is not a subspace mixture", en ? en->name : "(null)");
  const subspace_mixture *s = en->self;
  *subspace = s->subspace;
  *mixture = s->mix;
  return EBM_OK;
}
