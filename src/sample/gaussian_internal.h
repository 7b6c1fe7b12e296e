/* What gaussian.c's public entry points (log Z, conditional draws)
 * need to know about the low-rank Gaussian of gaussian_lowrank.c, so that
 * every caller of ebm_gaussian_energy_* works on either kind; and the rules
 * the full and the low-rank fit share. Not public. */
#ifndef EBM_SAMPLE_GAUSSIAN_INTERNAL_H
#define EBM_SAMPLE_GAUSSIAN_INTERNAL_H

#include "ebm/sample.h"

/* 1 when en was made by ebm_gaussian_lowrank_new. */
int gaussian_lowrank_is(const ebm_energy *en);
double gaussian_lowrank_log_z(const ebm_energy *en);
/* ebm_gaussian_energy_sample_given for a low-rank en. */
ebm_status gaussian_lowrank_sample_given(const ebm_energy *en, ebm_rng *rng, int64_t n, const float *known,
                                         const float *mask, float spread, float *x);
/* 1 when en was made by ebm_subspace_mixture_fit. */
int subspace_mixture_is(const ebm_energy *en);
/* The mixture's log density at c (its dim doubles) and, if grad is not NULL,
 * its gradient there; scratch holds K·(dim + 1) doubles. */
double gmm_log_density_grad(const struct ebm_gmm *g, const double *c, double *grad, double *scratch);
/* In-place Cholesky Σ = LLᵀ (lower triangle of the row-major D×D a).
 * Returns the failing pivot (≥ 0) if Σ is not positive definite, −1 on
 * success. */
int64_t gaussian_cholesky(double *a, int64_t D);

/* The fits' shared rules (gaussian_fit.c). Of n items, the m fitted are
 * items j·n/m, j < m: evenly spread over the set, so a sorted set is still
 * covered. */
static inline int64_t gaussian_fit_item(int64_t j, int64_t n, int64_t m) { return j * n / m; }
/* The mean of those m items (D doubles). */
void gaussian_fit_mean(const float *x, int64_t n, int64_t m, int64_t D, double *mean);
/* Values that never vary (an image's border) have zero variance: a ridge of
 * 1e-4 × the mean variance (trace/D) on Σ's diagonal keeps Σ positive
 * definite. */
double gaussian_fit_ridge(double trace, int64_t D);
/* The arguments every fit accepts, or EBM_ERR_ARG. */
ebm_status gaussian_fit_check(int64_t n, int64_t dim, int64_t max_items);

#endif
