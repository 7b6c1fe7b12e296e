/* Helpers for the sampler tests: known Gaussians, moment accumulation over
 * many independent chains, and a 1-D mixture energy with an exact density. */
#ifndef EBM_TESTS_SAMPLE_UTIL_H
#define EBM_TESTS_SAMPLE_UTIL_H

#include "ebm.h"

/* The 4-D test Gaussian: Σ = QΛQᵀ, Λ = diag(10, 3, 0.5, 0.1) (condition
 * number 100), Q a Householder reflection that mixes every coordinate;
 * mean (1, −2, 0.5, 3). */
#define ILL_DIM 4
void ill_conditioned_gaussian(double mean[ILL_DIM], double cov[ILL_DIM * ILL_DIM]);

/* Per-chain time averages of x_i and of (x_i − μ_i)(x_j − μ_j) (i ≤ j, with
 * the true μ, so their expectation is exactly Σ_ij), taken every `every`
 * steps from step `burn_in` on. Chains are independent, so the spread of
 * the per-chain averages across chains gives an honest standard error of
 * their mean whatever the autocorrelation within a chain (the method of
 * independent replications). */
typedef struct {
  int64_t n;
  int d, nstats;
  const double *mu;
  int burn_in, every, snaps;
  double *sum; /* n × nstats */
} moment_acc;

void moment_acc_init(moment_acc *m, int64_t n, int d, const double *mu, int burn_in, int every);
void moment_acc_free(moment_acc *m);
/* An ebm_sample_step_fn that records snapshots into a moment_acc. */
void moment_acc_step(void *ctx, int step, const float *x, int64_t n, const ebm_sample_stats *st);
/* Estimate and standard error of statistic s (0..d-1: means; then the
 * pairs (0,0), (0,1), ..., (0,d-1), (1,1), ...). */
void moment_acc_result(const moment_acc *m, int s, double *estimate, double *se);
/* Index of pair (i, j), i ≤ j, among the statistics. */
int moment_pair_index(int d, int i, int j);

/* Checks every mean and covariance entry against the truth within 5
 * standard errors (see the .c for why), and that the standard errors are no
 * larger than those of one independent draw per chain (so a stuck sampler
 * cannot pass by being noisy). Returns the number of failed checks; reports
 * each with its label when `report`. `ess` receives the mean effective samples per chain. */
int check_moments(const moment_acc *m, const double *mean, const double *cov, const char *label,
                  int report, double *ess);

/* A 1-D two-component Gaussian mixture as an energy, E = −log p, with its
 * exact CDF for histogram tests: 0.35·N(−1.5, 0.6²) + 0.65·N(1.2, 0.7²). */
ebm_energy *mixture_energy_new(void);
double mixture_cdf(double x);

#endif
