/* A full-covariance Gaussian fitted to data, and fresh chain starts drawn
 * from it. Chains that start at such a draw already have the data's mean
 * image and its pixel correlations (a blurred garment, not salt and
 * pepper), so a short chain spends its steps on detail: JEM++'s
 * "informative initialisation" (Yang & Ji 2021) without classes. The same
 * fit is NCE's noise (method_nce.c). Items of more than
 * EBM_GAUSSIAN_FULL_MAX_DIM values get the low-rank fit instead
 * (gaussian_fit_lowrank.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample/gaussian_internal.h"

void gaussian_fit_mean(const float *x, int64_t n, int64_t m, int64_t D, double *mean) {
  memset(mean, 0, (size_t)D * sizeof *mean);
  for (int64_t j = 0; j < m; j++) {
    const float *xj = x + gaussian_fit_item(j, n, m) * D;
    for (int64_t k = 0; k < D; k++) mean[k] += xj[k];
  }
  for (int64_t k = 0; k < D; k++) mean[k] /= (double)m;
}

double gaussian_fit_ridge(double trace, int64_t D) { return trace > 0 ? 1e-4 * trace / (double)D : 1e-4; }

ebm_status gaussian_fit_check(int64_t n, int64_t dim, int64_t max_items) {
  if (n < 2 || dim < 1 || max_items < 2)
    return ebm_set_error(EBM_ERR_ARG, "gaussian fit: needs at least 2 items of dimension >= 1, got %lld of %lld",
                         (long long)n, (long long)dim);
  return EBM_OK;
}

ebm_status ebm_gaussian_energy_fit(const float *x, int64_t n, int64_t dim, int64_t max_items, ebm_energy **out) {
  *out = NULL;
  ebm_status st = gaussian_fit_check(n, dim, max_items);
  if (st != EBM_OK) return st;
  if (dim > EBM_GAUSSIAN_FULL_MAX_DIM)
    return ebm_gaussian_energy_fit_lowrank(x, n, dim, max_items, EBM_GAUSSIAN_LOWRANK_MAX_RANK, out);
  const int64_t m = n < max_items ? n : max_items, D = dim;
  double *mean = calloc((size_t)D, sizeof *mean), *cov = calloc((size_t)(D * D), sizeof *cov);
  if (!mean || !cov) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory fitting a %lld-dimensional Gaussian", (long long)D);
    goto done;
  }
  gaussian_fit_mean(x, n, m, D, mean);
  for (int64_t j = 0; j < m; j++) {
    const float *xj = x + gaussian_fit_item(j, n, m) * D;
    for (int64_t r = 0; r < D; r++) {
      const double dr = xj[r] - mean[r];
      for (int64_t c = 0; c <= r; c++) cov[r * D + c] += dr * (xj[c] - mean[c]);
    }
  }
  double trace = 0.0;
  for (int64_t r = 0; r < D; r++)
    for (int64_t c = 0; c <= r; c++) {
      cov[r * D + c] /= (double)m;
      cov[c * D + r] = cov[r * D + c];
      if (r == c) trace += cov[r * D + r];
    }
  const double ridge = gaussian_fit_ridge(trace, D);
  for (int64_t r = 0; r < D; r++) cov[r * D + r] += ridge;
  st = ebm_gaussian_energy_new(D, mean, cov, out);
done:
  free(mean);
  free(cov);
  return st;
}

ebm_status ebm_chain_start_draw(const ebm_energy *start, ebm_rng *rng, int64_t n, int64_t dim, float lo, float hi,
                                float *x) {
  if (!start) {
    ebm_rng_uniform(rng, x, n * dim, lo, hi);
    return EBM_OK;
  }
  if (ebm_energy_item_size(start) != dim)
    return ebm_set_error(EBM_ERR_SHAPE, "chain start %s has %lld values per item, the chains %lld", start->name,
                         (long long)ebm_energy_item_size(start), (long long)dim);
  if (!start->draw)
    return ebm_set_error(EBM_ERR_ARG, "chain start %s cannot be drawn from (it is not a fitted start or a set of "
                         "items)", start->name);
  ebm_status st = start->draw(start->self, rng, n, x);
  for (int64_t k = 0; st == EBM_OK && k < n * dim; k++) x[k] = x[k] < lo ? lo : (x[k] > hi ? hi : x[k]);
  return st;
}
