/* Sample-quality distances between feature sets (eval.h): the Fréchet
 * distance of Gaussians fitted to them (FID, Heusel et al. 2017) with the
 * matrix square root from LAPACK's symmetric eigensolver, and the kernel
 * inception distance (KID, Bińkowski et al. 2018), an unbiased MMD² with a
 * cubic polynomial kernel, averaged over random subsets. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sym_eig.h"
#include "ebm/eval.h"

ebm_status ebm_feature_moments(const float *f, int64_t n, int64_t d, double *mean, double *cov) {
  if (n < 2 || d < 1 || !f)
    return ebm_set_error(EBM_ERR_ARG, "feature moments need at least 2 rows of >= 1 features, got %lld×%lld",
                         (long long)n, (long long)d);
  for (int64_t k = 0; k < n * d; k++)
    if (!isfinite(f[k]))
      return ebm_set_error(EBM_ERR_NUMERIC, "feature %lld of row %lld is %g", (long long)(k % d), (long long)(k / d),
                           (double)f[k]);
  double *c = malloc((size_t)(n * d) * sizeof *c);
  if (!c) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld×%lld features", (long long)n, (long long)d);
  for (int64_t j = 0; j < d; j++) mean[j] = 0.0;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < d; j++) mean[j] += f[i * d + j];
  for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < d; j++) c[i * d + j] = f[i * d + j] - mean[j];
  /* cov = Xcᵀ Xc / (n − 1), in double */
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)n, 1.0 / (double)(n - 1), c, (int)d, c,
              (int)d, 0.0, cov, (int)d);
  free(c);
  return EBM_OK;
}

ebm_status ebm_frechet_distance(const double *mu1, const double *cov1, const double *mu2,
                                const double *cov2, int64_t d, double *fd) {
  if (d < 1 || !mu1 || !cov1 || !mu2 || !cov2 || !fd)
    return ebm_set_error(EBM_ERR_ARG, "Fréchet distance: bad arguments (d = %lld)", (long long)d);
  const size_t dd = (size_t)(d * d);
  double *a = malloc(dd * sizeof *a), *b = malloc(dd * sizeof *b), *m = malloc(dd * sizeof *m);
  double *w = malloc((size_t)d * sizeof *w);
  ebm_status st = EBM_OK;
  if (!a || !b || !m || !w) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld×%lld covariances", (long long)d, (long long)d);
    goto done;
  }
  /* tr (Σ₁Σ₂)^½ = tr (Σ₁^½ Σ₂ Σ₁^½)^½, whose argument is symmetric PSD:
   * two symmetric eigen-decompositions and no non-symmetric square root. */
  memcpy(a, cov1, dd * sizeof *a);
  if ((st = sym_eig(a, d, w, 1)) != EBM_OK) goto done;
  /* Σ₁^½ = Vᵀ diag(√λ) V with V's rows the eigenvectors: scale row k by λ_k^¼, then Bᵀ B */
  for (int64_t k = 0; k < d; k++) {
    double s = w[k] > 0.0 ? sqrt(sqrt(w[k])) : 0.0;
    for (int64_t j = 0; j < d; j++) a[k * d + j] *= s;
  }
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, a, (int)d, a, (int)d, 0.0, b, (int)d);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, b, (int)d, cov2, (int)d, 0.0, m,
              (int)d);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, m, (int)d, b, (int)d, 0.0, a, (int)d);
  /* symmetrise against rounding before the second decomposition */
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = 0; j < i; j++) a[i * d + j] = a[j * d + i] = 0.5 * (a[i * d + j] + a[j * d + i]);
  if ((st = sym_eig(a, d, w, 0)) != EBM_OK) goto done;
  double tr_sqrt = 0.0, tr1 = 0.0, tr2 = 0.0, dist = 0.0;
  for (int64_t k = 0; k < d; k++) tr_sqrt += w[k] > 0.0 ? sqrt(w[k]) : 0.0; /* tiny negatives are rounding */
  for (int64_t k = 0; k < d; k++) {
    tr1 += cov1[k * d + k];
    tr2 += cov2[k * d + k];
    dist += (mu1[k] - mu2[k]) * (mu1[k] - mu2[k]);
  }
  *fd = dist + tr1 + tr2 - 2.0 * tr_sqrt;
  if (!isfinite(*fd)) st = ebm_set_error(EBM_ERR_NUMERIC, "Fréchet distance is %g (non-finite covariances?)", *fd);
done:
  free(a);
  free(b);
  free(m);
  free(w);
  return st;
}

ebm_status ebm_frechet_distance_features(const float *f1, int64_t n1, const float *f2, int64_t n2,
                                         int64_t d, double *fd) {
  if (d < 1) return ebm_set_error(EBM_ERR_ARG, "Fréchet distance: %lld features", (long long)d);
  double *mu1 = malloc((size_t)d * sizeof *mu1), *mu2 = malloc((size_t)d * sizeof *mu2);
  double *c1 = malloc((size_t)(d * d) * sizeof *c1), *c2 = malloc((size_t)(d * d) * sizeof *c2);
  ebm_status st;
  if (!mu1 || !mu2 || !c1 || !c2) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld features", (long long)d);
    goto done;
  }
  if ((st = ebm_feature_moments(f1, n1, d, mu1, c1)) != EBM_OK) goto done;
  if ((st = ebm_feature_moments(f2, n2, d, mu2, c2)) != EBM_OK) goto done;
  st = ebm_frechet_distance(mu1, c1, mu2, c2, d, fd);
done:
  free(mu1);
  free(mu2);
  free(c1);
  free(c2);
  return st;
}

/* Draws m distinct row indices of [0, n) (partial Fisher–Yates over perm). */
static void draw_subset(ebm_rng *rng, int64_t *perm, int64_t n, int64_t m) {
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = 0; i < m; i++) {
    int64_t j = i + (int64_t)ebm_rng_below(rng, (uint32_t)(n - i));
    int64_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

/* Sum of k(a, b) = (aᵀb / d + 1)³ over the Gram matrix g (m×m), with or
 * without its diagonal. */
static double kernel_sum(const double *g, int64_t m, int64_t d, int skip_diag) {
  double s = 0.0;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < m; j++) {
      if (skip_diag && i == j) continue;
      double k = g[i * m + j] / (double)d + 1.0;
      s += k * k * k;
    }
  return s;
}

ebm_status ebm_kid(const float *f1, int64_t n1, const float *f2, int64_t n2, int64_t d,
                   int64_t subset_size, int subsets, ebm_rng *rng, double *mean, double *std) {
  if (!f1 || !f2 || !rng || d < 1 || subsets < 1)
    return ebm_set_error(EBM_ERR_ARG, "KID: bad arguments (%lld features, %d subsets)", (long long)d, subsets);
  if (n1 > UINT32_MAX || n2 > UINT32_MAX) return ebm_set_error(EBM_ERR_ARG, "KID: more than 2^32 rows");
  int64_t m = subset_size;
  m = m < n1 ? m : n1;
  m = m < n2 ? m : n2;
  if (m < 2)
    return ebm_set_error(EBM_ERR_ARG, "KID: subsets need at least 2 rows of each set (subset %lld, sets %lld and %lld)",
                         (long long)subset_size, (long long)n1, (long long)n2);
  double *x = malloc((size_t)(m * d) * sizeof *x), *y = malloc((size_t)(m * d) * sizeof *y);
  double *g = malloc((size_t)(m * m) * sizeof *g), *vals = malloc((size_t)subsets * sizeof *vals);
  int64_t *perm = malloc((size_t)(n1 > n2 ? n1 : n2) * sizeof *perm);
  ebm_status st = EBM_OK;
  if (!x || !y || !g || !vals || !perm) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for KID subsets of %lld", (long long)m);
    goto done;
  }
  for (int s = 0; s < subsets; s++) {
    draw_subset(rng, perm, n1, m);
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < d; j++) x[i * d + j] = f1[perm[i] * d + j];
    draw_subset(rng, perm, n2, m);
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < d; j++) y[i * d + j] = f2[perm[i] * d + j];
    /* unbiased MMD²: off-diagonal means within each set, minus twice the cross mean */
    const double pairs = (double)m * (double)(m - 1);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)d, 1.0, x, (int)d, x, (int)d, 0.0, g, (int)m);
    double kxx = kernel_sum(g, m, d, 1) / pairs;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)d, 1.0, y, (int)d, y, (int)d, 0.0, g, (int)m);
    double kyy = kernel_sum(g, m, d, 1) / pairs;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)d, 1.0, x, (int)d, y, (int)d, 0.0, g, (int)m);
    double kxy = kernel_sum(g, m, d, 0) / ((double)m * (double)m);
    vals[s] = kxx + kyy - 2.0 * kxy;
  }
  double s1 = 0.0, s2 = 0.0;
  for (int s = 0; s < subsets; s++) s1 += vals[s];
  s1 /= subsets;
  for (int s = 0; s < subsets; s++) s2 += (vals[s] - s1) * (vals[s] - s1);
  *mean = s1;
  *std = subsets > 1 ? sqrt(s2 / (subsets - 1)) : 0.0;
  if (!isfinite(*mean)) st = ebm_set_error(EBM_ERR_NUMERIC, "KID is %g (non-finite features?)", *mean);
done:
  free(x);
  free(y);
  free(g);
  free(vals);
  free(perm);
  return st;
}
