/* Helpers for the sampler tests (see sample_util.h). */
#include "sample/sample_util.h"

#include "test.h"

void ill_conditioned_gaussian(double mean[ILL_DIM], double cov[ILL_DIM * ILL_DIM]) {
  const double lambda[ILL_DIM] = {10.0, 3.0, 0.5, 0.1};
  const double v[ILL_DIM] = {1.0, 2.0, -1.0, 0.5};
  const double mu[ILL_DIM] = {1.0, -2.0, 0.5, 3.0};
  double vv = 0.0, q[ILL_DIM * ILL_DIM];
  for (int i = 0; i < ILL_DIM; i++) vv += v[i] * v[i];
  for (int i = 0; i < ILL_DIM; i++)
    for (int j = 0; j < ILL_DIM; j++) q[i * ILL_DIM + j] = (i == j) - 2.0 * v[i] * v[j] / vv;
  for (int i = 0; i < ILL_DIM; i++) {
    mean[i] = mu[i];
    for (int j = 0; j < ILL_DIM; j++) {
      double s = 0.0;
      for (int k = 0; k < ILL_DIM; k++) s += q[i * ILL_DIM + k] * lambda[k] * q[j * ILL_DIM + k];
      cov[i * ILL_DIM + j] = s;
    }
  }
}

int moment_pair_index(int d, int i, int j) {
  int idx = d;
  for (int a = 0; a < i; a++) idx += d - a;
  return idx + (j - i);
}

void moment_acc_init(moment_acc *m, int64_t n, int d, const double *mu, int burn_in, int every) {
  m->n = n;
  m->d = d;
  m->nstats = d + d * (d + 1) / 2;
  m->mu = mu;
  m->burn_in = burn_in;
  m->every = every;
  m->snaps = 0;
  m->sum = calloc((size_t)(n * m->nstats), sizeof *m->sum);
  REQUIRE(m->sum != NULL);
}

void moment_acc_free(moment_acc *m) { free(m->sum); }

void moment_acc_step(void *ctx, int step, const float *x, int64_t n, const ebm_sample_stats *st) {
  (void)st;
  moment_acc *m = ctx;
  if (step < m->burn_in || (step - m->burn_in) % m->every != 0) return;
  m->snaps++;
  for (int64_t c = 0; c < n; c++) {
    const float *xc = x + c * m->d;
    double *s = m->sum + c * m->nstats;
    int k = 0;
    for (int i = 0; i < m->d; i++) s[k++] += xc[i];
    for (int i = 0; i < m->d; i++)
      for (int j = i; j < m->d; j++) s[k++] += (xc[i] - m->mu[i]) * (xc[j] - m->mu[j]);
  }
}

void moment_acc_result(const moment_acc *m, int s, double *estimate, double *se) {
  double sum = 0.0, sum2 = 0.0;
  for (int64_t c = 0; c < m->n; c++) {
    double a = m->sum[c * m->nstats + s] / m->snaps;
    sum += a;
    sum2 += a * a;
  }
  double mean = sum / m->n, var = (sum2 / m->n - mean * mean) * m->n / (m->n - 1);
  *estimate = mean;
  *se = sqrt(var > 0.0 ? var / m->n : 0.0);
}

/* The bound: the n per-chain averages are independent and identically
 * distributed (independent chains from the same start), so by the CLT their
 * mean is N(truth + bias, se²) with se estimated from their spread. 5 se
 * gives a false alarm of 6e-7 per statistic (14 of them here), while any
 * bias above 5 se — e.g. ULA's, or a wrong MH ratio — fails. The se of an
 * average of M stationary draws is at most that of one draw (Cauchy–
 * Schwarz), whose variance is known for a Gaussian: Σ_ii for x_i and
 * Σ_iiΣ_jj + Σ_ij² for (x_i−μ_i)(x_j−μ_j); 1.25× leaves room for the noise
 * of the se estimate itself. */
int check_moments(const moment_acc *m, const double *mean, const double *cov, const char *label,
                  int report, double *ess) {
  int failures = 0, d = m->d;
  double ess_sum = 0.0;
  for (int s = 0; s < m->nstats; s++) {
    double truth, var_one;
    char what[32];
    if (s < d) {
      truth = mean[s];
      var_one = cov[s * d + s];
      snprintf(what, sizeof what, "mean[%d]", s);
    } else {
      int i = 0, j = 0, first = d; /* pair s: row i starts at `first` */
      for (i = 0; i < d; first += d - i, i++)
        if (s < first + d - i) {
          j = i + (s - first);
          break;
        }
      truth = cov[i * d + j];
      var_one = cov[i * d + i] * cov[j * d + j] + truth * truth;
      snprintf(what, sizeof what, "cov[%d][%d]", i, j);
    }
    double est, se, se_one = sqrt(var_one / m->n);
    moment_acc_result(m, s, &est, &se);
    ess_sum += se > 0.0 ? (se_one * se_one) / (se * se) : 0.0;
    if (!(fabs(est - truth) <= 5.0 * se) || !(se <= 1.25 * se_one) || !(se > 0.0)) {
      if (report)
        fprintf(stderr, "    %s %s: %.5f vs truth %.5f (se %.5f, se of one draw %.5f)\n", label,
                what, est, truth, se, se_one);
      failures++;
    }
  }
  if (ess) *ess = ess_sum / m->nstats;
  if (getenv("EBM_TEST_VERBOSE"))
    fprintf(stderr, "    %s: %d snapshots, mean ESS per chain %.2f\n", label, m->snaps,
            ess_sum / m->nstats);
  return failures;
}

/* ----------------------------------------------------------- 1-D mixture */

static const double mix_w[2] = {0.35, 0.65}, mix_m[2] = {-1.5, 1.2}, mix_s[2] = {0.6, 0.7};

static ebm_status mixture_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                               float *grad) {
  const int32_t *y = cond ? cond->labels : NULL;
  (void)self;
  (void)y;
  for (int64_t i = 0; i < n; i++) {
    double lp[2], xi = x[i];
    for (int k = 0; k < 2; k++) {
      double z = (xi - mix_m[k]) / mix_s[k];
      lp[k] = log(mix_w[k]) - 0.5 * z * z - log(mix_s[k]) - 0.5 * log(2.0 * 3.141592653589793);
    }
    double mx = lp[0] > lp[1] ? lp[0] : lp[1];
    double lse = mx + log(exp(lp[0] - mx) + exp(lp[1] - mx));
    e[i] = (float)-lse;
    if (grad) {
      double g = 0.0;
      for (int k = 0; k < 2; k++) g += exp(lp[k] - lse) * (xi - mix_m[k]) / (mix_s[k] * mix_s[k]);
      grad[i] = (float)g;
    }
  }
  return EBM_OK;
}

ebm_energy *mixture_energy_new(void) {
  ebm_energy *en = ebm_energy_alloc();
  REQUIRE(en != NULL);
  en->name = "mixture1d";
  en->item_ndim = 1;
  en->item_shape[0] = 1;
  en->eval = mixture_eval;
  return en;
}

double mixture_cdf(double x) {
  double c = 0.0;
  for (int k = 0; k < 2; k++) c += mix_w[k] * 0.5 * erfc(-(x - mix_m[k]) / (mix_s[k] * sqrt(2.0)));
  return c;
}
