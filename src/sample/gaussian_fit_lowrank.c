/* The low-rank Gaussian (gaussian_lowrank.c) fitted to data exactly, for
 * items too large for a D×D covariance. With Xc the m×D centred items, the
 * covariance S = XcᵀXc/m has the same non-zero eigenvalues as the m×m Gram
 * matrix G = XcXcᵀ (divided by m), and its eigenvectors are u = Xcᵀv/√(m·s)
 * for G's (v, m·s): so one m×m eigen-decomposition and two BLAS products
 * give S's top K directions without ever forming S. The rest of S's
 * spectrum (the other D − K eigenvalues, most of them 0 when m < D) is
 * replaced by its mean, the maximum-likelihood σ² of probabilistic PCA
 * (Tipping & Bishop 1999); the full fit's ridge is added to every
 * eigenvalue, so Σ's top K eigenpairs are exactly those of the full fit's
 * Σ = S + ridge·I. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sym_eig.h"
#include "sample/gaussian_internal.h"

/* Columns of the centred items held at once: the products run over blocks
 * of columns so that no m×D copy of the data is made. */
#define FIT_BLOCK_COLUMNS 1024
/* Directions whose variance is below this share of the largest are left to
 * σ²: their u = Xcᵀv/√(m·s) would be rounding noise, not a unit vector. */
#define FIT_RELATIVE_TOLERANCE 1e-8

/* Columns [c0, c0 + w) of the m fitted items minus the mean, into buf (m×w). */
static void centred_columns(const float *x, int64_t n, int64_t m, int64_t D, const double *mean, int64_t c0, int64_t w,
                            double *buf) {
  for (int64_t j = 0; j < m; j++) {
    const float *xj = x + gaussian_fit_item(j, n, m) * D + c0;
    for (int64_t c = 0; c < w; c++) buf[j * w + c] = (double)xj[c] - mean[c0 + c];
  }
}

ebm_status ebm_gaussian_energy_fit_lowrank(const float *x, int64_t n, int64_t dim, int64_t max_items,
                                           int64_t max_rank, ebm_energy **out) {
  *out = NULL;
  ebm_status st = gaussian_fit_check(n, dim, max_items);
  if (st != EBM_OK) return st;
  if (dim < 2 || max_rank < 1 || max_rank > EBM_GAUSSIAN_LOWRANK_MAX_RANK)
    return ebm_set_error(EBM_ERR_ARG, "low-rank gaussian fit: needs dimension >= 2 and rank in 1..%d, got %lld and %lld",
                         EBM_GAUSSIAN_LOWRANK_MAX_RANK, (long long)dim, (long long)max_rank);
  int64_t m = n < max_items ? n : max_items;
  if (m > EBM_GAUSSIAN_LOWRANK_MAX_ITEMS) m = EBM_GAUSSIAN_LOWRANK_MAX_ITEMS;
  const int64_t D = dim, B = D < FIT_BLOCK_COLUMNS ? D : FIT_BLOCK_COLUMNS;
  double *mean = malloc((size_t)D * sizeof *mean), *gram = calloc((size_t)(m * m), sizeof *gram);
  double *w = malloc((size_t)m * sizeof *w), *buf = malloc((size_t)(m * B) * sizeof *buf);
  double *vt = NULL, *u = NULL, *lambda = NULL;
  if (!mean || !gram || !w || !buf) goto nomem;
  gaussian_fit_mean(x, n, m, D, mean);
  for (int64_t c0 = 0; c0 < D; c0 += B) { /* G = Xc·Xcᵀ, lower triangle */
    const int64_t cols = D - c0 < B ? D - c0 : B;
    centred_columns(x, n, m, D, mean, c0, cols, buf);
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)m, (int)cols, 1.0, buf, (int)cols, 1.0, gram, (int)m);
  }
  double trace = 0.0;
  for (int64_t j = 0; j < m; j++) {
    trace += gram[j * m + j] / (double)m;
    for (int64_t i = 0; i < j; i++) gram[i * m + j] = gram[j * m + i];
  }
  if ((st = sym_eig(gram, m, w, 1)) != EBM_OK) goto done;
  /* S's eigenvalues s_k = w/m, largest first: w[m − 1 − k] */
  int64_t cap = max_rank < m - 1 ? max_rank : m - 1;
  if (cap > D - 1) cap = D - 1;
  int64_t K = 0;
  while (K < cap && w[m - 1 - K] > FIT_RELATIVE_TOLERANCE * w[m - 1] && w[m - 1 - K] > 0.0) K++;
  const int64_t rank = K > 0 ? K : 1; /* all items equal: one direction at σ², i.e. isotropic */
  vt = calloc((size_t)(m * rank), sizeof *vt);
  u = calloc((size_t)(D * rank), sizeof *u);
  lambda = malloc((size_t)rank * sizeof *lambda);
  if (!vt || !u || !lambda) goto nomem;
  const double ridge = gaussian_fit_ridge(trace, D);
  double kept = 0.0;
  for (int64_t k = 0; k < K; k++) {
    const double s = w[m - 1 - k] / (double)m, scale = 1.0 / sqrt((double)m * s);
    kept += s;
    lambda[k] = s + ridge;
    for (int64_t j = 0; j < m; j++) vt[j * rank + k] = gram[(m - 1 - k) * m + j] * scale;
  }
  const double sigma2 = (trace > kept ? trace - kept : 0.0) / (double)(D - K) + ridge;
  if (K == 0) {
    lambda[0] = sigma2;
    u[0] = 1.0;
  }
  for (int64_t c0 = 0; K > 0 && c0 < D; c0 += B) { /* U = Xcᵀ·V·diag(1/√(m·s)), by row blocks */
    const int64_t cols = D - c0 < B ? D - c0 : B;
    centred_columns(x, n, m, D, mean, c0, cols, buf);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cols, (int)K, (int)m, 1.0, buf, (int)cols, vt, (int)rank,
                0.0, u + c0 * rank, (int)rank);
  }
  st = ebm_gaussian_lowrank_new(D, mean, rank, u, lambda, sigma2, out);
  goto done;
nomem:
  st = ebm_set_error(EBM_ERR_NOMEM, "out of memory fitting a low-rank gaussian to %lld items of %lld values",
                     (long long)m, (long long)D);
done:
  free(mean);
  free(gram);
  free(w);
  free(buf);
  free(vt);
  free(u);
  free(lambda);
  return st;
}
