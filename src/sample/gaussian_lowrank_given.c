/* Draws of a low-rank Gaussian (gaussian_lowrank.c) given known values:
 * the inpainting start of a model trained from such a Gaussian. With
 * A = diag(λ − σ²) and B = U_o·A^½ (U's rows at the known values o),
 * Σ_oo = σ²I + BBᵀ, and the push-through identity
 * Bᵀ(σ²I + BBᵀ)⁻¹ = (σ²I + BᵀB)⁻¹Bᵀ turns every D×D solve into a K×K one:
 *   E[x_m | x_o]   = μ_m + U_m·A^½·(σ²I + BᵀB)⁻¹·Bᵀ(x_o − μ_o),
 *   Cov[x_m | x_o] = σ²·(I + U_m·A^½·(σ²I + BᵀB)⁻¹·A^½·U_mᵀ),
 * drawn as the mean + spread·σ·(ε + U_m·A^½·L⁻ᵀz) with LLᵀ = σ²I + BᵀB,
 * ε ~ N(0, I) over the values to draw and z ~ N(0, I_K). One O(D·K²)
 * product and one K×K Cholesky per distinct mask; O(D·K) per item. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample/gaussian_internal.h"

typedef struct {
  int64_t dim, rank;
  const double *mean, *u, *lambda;
  double sigma2;
  double *root_a;  /* K: A^½ = √(λ − σ²) */
  double *chol;    /* K×K: L, lower triangle, for the current mask */
  double *h;       /* K: the right-hand side, then the solution */
  double *w;       /* K: the noise's direction part */
  float *noise;    /* K + D: z, then ε */
} given_work;

/* L of σ²I + BᵀB for the values where mask is 0. */
static ebm_status factor_mask(given_work *gw, const float *mask) {
  const int64_t D = gw->dim, K = gw->rank;
  double *m = gw->chol;
  memset(m, 0, (size_t)(K * K) * sizeof *m);
  for (int64_t r = 0; r < D; r++) {
    if (mask[r] != 0.0f) continue;
    const double *ur = gw->u + r * K;
    for (int64_t k = 0; k < K; k++) {
      const double bk = ur[k] * gw->root_a[k];
      for (int64_t j = 0; j <= k; j++) m[k * K + j] += bk * ur[j] * gw->root_a[j];
    }
  }
  for (int64_t k = 0; k < K; k++) m[k * K + k] += gw->sigma2;
  if (gaussian_cholesky(m, K) >= 0)
    return ebm_set_error(EBM_ERR_NUMERIC, "low-rank gaussian: the known values' K×K system is not positive definite");
  return EBM_OK;
}

/* v ← L⁻¹v (forward) or L⁻ᵀv (back), L lower-triangular K×K. */
static void solve_lower(const double *l, int64_t K, double *v) {
  for (int64_t r = 0; r < K; r++) {
    double s = v[r];
    for (int64_t k = 0; k < r; k++) s -= l[r * K + k] * v[k];
    v[r] = s / l[r * K + r];
  }
}
static void solve_lower_transposed(const double *l, int64_t K, double *v) {
  for (int64_t r = K - 1; r >= 0; r--) {
    double s = v[r];
    for (int64_t k = r + 1; k < K; k++) s -= l[k * K + r] * v[k];
    v[r] = s / l[r * K + r];
  }
}

/* One item: x (D) from known and mask with the factor of this mask. */
static void draw_item(given_work *gw, ebm_rng *rng, const float *known, const float *mask, float spread, float *x) {
  const int64_t D = gw->dim, K = gw->rank;
  memset(gw->h, 0, (size_t)K * sizeof *gw->h);
  for (int64_t r = 0; r < D; r++) { /* h = Bᵀ(x_o − μ_o) */
    if (mask[r] != 0.0f) continue;
    const double d = (double)known[r] - gw->mean[r], *ur = gw->u + r * K;
    for (int64_t k = 0; k < K; k++) gw->h[k] += d * ur[k];
  }
  for (int64_t k = 0; k < K; k++) gw->h[k] *= gw->root_a[k];
  solve_lower(gw->chol, K, gw->h);
  solve_lower_transposed(gw->chol, K, gw->h);
  for (int64_t k = 0; k < K; k++) gw->h[k] *= gw->root_a[k];
  const double scale = spread * sqrt(gw->sigma2);
  const float *eps = gw->noise + K;
  if (spread != 0.0f) {
    int64_t holes = 0;
    for (int64_t r = 0; r < D; r++) holes += mask[r] != 0.0f;
    ebm_rng_normal(rng, gw->noise, K + holes, 0.0f, 1.0f);
    for (int64_t k = 0; k < K; k++) gw->w[k] = gw->noise[k];
    solve_lower_transposed(gw->chol, K, gw->w);
    for (int64_t k = 0; k < K; k++) gw->w[k] *= gw->root_a[k];
  }
  for (int64_t r = 0, hole = 0; r < D; r++) {
    if (mask[r] == 0.0f) {
      x[r] = known[r];
      continue;
    }
    const double *ur = gw->u + r * K;
    double v = gw->mean[r];
    for (int64_t k = 0; k < K; k++) v += ur[k] * gw->h[k];
    if (spread != 0.0f) {
      double s = eps[hole++];
      for (int64_t k = 0; k < K; k++) s += ur[k] * gw->w[k];
      v += scale * s;
    }
    x[r] = (float)v;
  }
}

ebm_status gaussian_lowrank_sample_given(const ebm_energy *en, ebm_rng *rng, int64_t n, const float *known,
                                         const float *mask, float spread, float *x) {
  given_work gw = {0};
  ebm_status st = ebm_gaussian_lowrank_factors(en, &gw.rank, &gw.mean, &gw.u, &gw.lambda, &gw.sigma2);
  if (st != EBM_OK) return st;
  const int64_t D = gw.dim = ebm_energy_item_size(en), K = gw.rank;
  gw.root_a = malloc((size_t)K * sizeof *gw.root_a);
  gw.chol = malloc((size_t)(K * K) * sizeof *gw.chol);
  gw.h = malloc((size_t)K * sizeof *gw.h);
  gw.w = malloc((size_t)K * sizeof *gw.w);
  gw.noise = malloc((size_t)(K + D) * sizeof *gw.noise);
  if (!gw.root_a || !gw.chol || !gw.h || !gw.w || !gw.noise) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory conditioning a %lld-dimensional rank-%lld gaussian", (long long)D,
                       (long long)K);
    goto done;
  }
  for (int64_t k = 0; k < K; k++) {
    if (gw.lambda[k] < gw.sigma2 * (1.0 - 1e-12)) { /* A^½ would be imaginary: fits never make this */
      st = ebm_set_error(EBM_ERR_UNSUPPORTED,
                         "%s: drawing given known values needs every lambda >= sigma2, lambda[%lld] = %g < %g", en->name,
                         (long long)k, gw.lambda[k], gw.sigma2);
      goto done;
    }
    gw.root_a[k] = gw.lambda[k] > gw.sigma2 ? sqrt(gw.lambda[k] - gw.sigma2) : 0.0;
  }
  const float *built_for = NULL; /* the mask chol was built for: items with the same mask share it */
  for (int64_t i = 0; i < n; i++) {
    const float *mi = mask + i * D;
    if (!built_for || memcmp(built_for, mi, (size_t)D * sizeof *mi) != 0) {
      if ((st = factor_mask(&gw, mi)) != EBM_OK) break;
      built_for = mi;
    }
    draw_item(&gw, rng, known + i * D, mi, spread, x + i * D);
  }
done:
  free(gw.root_a);
  free(gw.chol);
  free(gw.h);
  free(gw.w);
  free(gw.noise);
  return st;
}
