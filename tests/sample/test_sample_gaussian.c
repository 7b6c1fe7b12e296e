/* Samplers against a Gaussian with a known mean and covariance: the exact
 * samplers (MALA, HMC) and kinetic Langevin (whose BAOAB splitting is exact
 * in x for Gaussians) must recover both; ULA must show its known bias.
 * Many independent chains, few steps each: see sample_util.c for the 5-se
 * bound on every statistic. */
#include "sample/sample_util.h"
#include "test.h"

#define CHAINS 2000

/* Runs `cfg` on the ill-conditioned Gaussian from a wrong start (uniform in
 * a ±1 box around the mean, so the long axes start far too narrow) and
 * returns the number of failed moment checks. */
static int run_ill_conditioned(const ebm_sampler_config *cfg, int burn_in, int every,
                               const char *label, int report, double *accept, float *eps) {
  double mean[ILL_DIM], cov[ILL_DIM * ILL_DIM];
  ill_conditioned_gaussian(mean, cov);
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(ILL_DIM, mean, cov, &en));
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, cfg, CHAINS, &s));
  float *x = malloc(sizeof(float) * CHAINS * ILL_DIM);
  ebm_sample_stats *stats = calloc((size_t)cfg->steps, sizeof *stats);
  REQUIRE(x && stats);
  ebm_rng rng;
  ebm_rng_init(&rng, 20240601);
  ebm_rng_uniform(&rng, x, CHAINS * ILL_DIM, -1.0f, 1.0f);
  for (int64_t i = 0; i < CHAINS * ILL_DIM; i++) x[i] += (float)mean[i % ILL_DIM];
  moment_acc m;
  moment_acc_init(&m, CHAINS, ILL_DIM, mean, burn_in, every);
  REQUIRE_OK(ebm_sampler_run_cb(s, x, NULL, CHAINS, &rng, stats, NULL, moment_acc_step, &m));
  double ess, acc = 0.0;
  int failures = check_moments(&m, mean, cov, label, report, &ess);
  for (int k = burn_in; k < cfg->steps; k++) acc += stats[k].accept_rate;
  *accept = acc / (cfg->steps - burn_in);
  *eps = ebm_sampler_step_size(s);
  if (getenv("EBM_TEST_VERBOSE"))
    fprintf(stderr, "    %s: accept %.3f, step size %.4f\n", label, *accept, (double)*eps);
  moment_acc_free(&m);
  free(stats);
  free(x);
  ebm_sampler_free(s);
  ebm_energy_free(en);
  return failures;
}

TEST(mala_recovers_mean_and_covariance_of_an_ill_conditioned_gaussian) {
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  cfg.steps = 2000;
  cfg.step_size = 0.1f;
  cfg.adapt_steps = 300;
  double accept;
  float eps;
  /* relaxation time of the long axis ≈ 2σ²/(ε²·accept) ≈ 100 steps: 800
   * steps of burn-in leave a bias of e⁻⁸ of the initial one */
  CHECK_EQ_INT(run_ill_conditioned(&cfg, 800, 10, "mala", 1, &accept, &eps), 0);
  /* dual averaging reached its target (mean over 2000 chains × 1200 steps) */
  CHECK_NEAR(accept, cfg.target_accept, 0.05);
  CHECK(eps != cfg.step_size);
}

TEST(hmc_recovers_mean_and_covariance_of_an_ill_conditioned_gaussian) {
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_HMC);
  cfg.steps = 400;
  cfg.step_size = 0.05f;
  cfg.leapfrog_steps = 10;
  cfg.adapt_steps = 150;
  double accept;
  float eps;
  CHECK_EQ_INT(run_ill_conditioned(&cfg, 250, 2, "hmc", 1, &accept, &eps), 0);
  /* Near the leapfrog stability cliff (ε < 2σ_min = 0.63) the acceptance
   * falls steeply with ε, and dual averaging's averaged ε lands on the safe
   * side (as Stan's does): above the target, well below 1. The exact-target
   * check is hmc_adaptation_reaches_the_target_acceptance. */
  CHECK(accept > cfg.target_accept - 0.05 && accept < 0.9);
}

TEST(kinetic_langevin_recovers_mean_and_covariance_of_an_ill_conditioned_gaussian) {
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_KINETIC);
  cfg.steps = 1000;
  cfg.step_size = 0.3f; /* stable below 2·σ_min = 0.63 */
  cfg.friction = 1.0f;
  double accept;
  float eps;
  /* the long axis (ω = 0.32 < γ/2) relaxes at rate ≈ ω²/γ = 0.1 per unit
   * time, i.e. 33 steps: 400 steps of burn-in are plenty */
  CHECK_EQ_INT(run_ill_conditioned(&cfg, 400, 5, "kinetic", 1, &accept, &eps), 0);
  CHECK(accept == 1.0);
}

/* The same check must be able to fail: ULA at ε = 0.4 inflates the variance
 * of the stiff axis (σ² = 0.1) to 0.1/(1 − 0.4²/0.4) = 0.167. */
TEST(moment_check_rejects_biased_ula_on_the_ill_conditioned_gaussian) {
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_ULA);
  cfg.steps = 1200;
  cfg.step_size = 0.4f;
  double accept;
  float eps;
  CHECK(run_ill_conditioned(&cfg, 600, 10, "ula", 0, &accept, &eps) > 0);
}

/* ULA on N(0, σ²): x' = a·x + εξ with a = 1 − ε²/(2σ²), so the stationary
 * variance solves v = a²v + ε²: v = ε²/(1 − a²) = σ²/(1 − ε²/(4σ²)). The
 * measured variance must follow that curve and approach σ² as ε → 0. */
TEST(ula_variance_bias_on_a_1d_gaussian_matches_theory_and_shrinks_with_step) {
  const int64_t n = 10000;
  const double var0 = 2.0, mu = 0.0;
  const float steps[3] = {1.5f, 0.75f, 0.3f};
  double cov = var0, measured[3];
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(1, NULL, &cov, &en));
  float *x = malloc(sizeof(float) * n);
  REQUIRE(x);
  for (int k = 0; k < 3; k++) {
    double eps = steps[k], theory = var0 / (1.0 - eps * eps / (4.0 * var0));
    ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_ULA);
    cfg.step_size = steps[k];
    cfg.steps = 600;
    ebm_sampler *s = NULL;
    REQUIRE_OK(ebm_sampler_new(en, &cfg, n, &s));
    ebm_rng rng;
    ebm_rng_init(&rng, 77 + (uint64_t)k);
    memset(x, 0, sizeof(float) * n);
    moment_acc m;
    /* a² ≥ 1 − ε²/σ² = 0.955 at ε = 0.3: the variance is within e⁻¹³ of
     * stationary after 300 steps */
    moment_acc_init(&m, n, 1, &mu, 300, 5);
    REQUIRE_OK(ebm_sampler_run_cb(s, x, NULL, n, &rng, NULL, NULL, moment_acc_step, &m));
    double est, se;
    moment_acc_result(&m, 1, &est, &se);
    measured[k] = est;
    CHECK_NEAR(est, theory, 5.0 * se);
    if (k == 0) CHECK(fabs(est - var0) > 5.0 * se); /* the bias is really there */
    if (getenv("EBM_TEST_VERBOSE"))
      fprintf(stderr, "    ula eps %.2f: var %.4f (se %.4f), theory %.4f, target %.1f\n", eps, est,
              se, theory, var0);
    moment_acc_free(&m);
    ebm_sampler_free(s);
  }
  CHECK(measured[0] > measured[1] && measured[1] > measured[2]);
  free(x);
  ebm_energy_free(en);
}

/* Dual averaging during warm-up, then a fixed ε: on a smooth target (50-D
 * standard Gaussian) the post-warm-up acceptance lands on the target. The
 * ±0.04 band is the measured adaptation error (≤ 0.02 at these settings)
 * with margin; the acceptance estimate itself has se ≈ 0.003 (500 chains ×
 * 150 steps). */
static double adapted_acceptance(ebm_sampler_kind kind, float *eps) {
  const int64_t n = 500, d = 50;
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(d, NULL, NULL, &en));
  ebm_sampler_config cfg = ebm_sampler_defaults(kind);
  cfg.steps = 400;
  cfg.adapt_steps = 250;
  cfg.step_size = 0.05f;
  cfg.leapfrog_steps = 5;
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, &cfg, n, &s));
  float *x = malloc(sizeof(float) * n * d);
  ebm_sample_stats *st = calloc((size_t)cfg.steps, sizeof *st);
  REQUIRE(x && st);
  ebm_rng rng;
  ebm_rng_init(&rng, 5150);
  ebm_rng_normal(&rng, x, n * d, 0.0f, 1.0f);
  REQUIRE_OK(ebm_sampler_run(s, x, NULL, n, &rng, st, NULL));
  double acc = 0.0;
  for (int k = cfg.adapt_steps; k < cfg.steps; k++) {
    acc += st[k].accept_rate;
    CHECK(st[k].step_size == st[cfg.adapt_steps].step_size); /* fixed after warm-up */
  }
  acc /= cfg.steps - cfg.adapt_steps;
  *eps = ebm_sampler_step_size(s);
  CHECK(*eps == st[cfg.steps - 1].step_size);
  if (getenv("EBM_TEST_VERBOSE"))
    fprintf(stderr, "    %s adapted: eps %.4f accept %.3f\n", ebm_sampler_name(kind), (double)*eps, acc);
  free(st);
  free(x);
  ebm_sampler_free(s);
  ebm_energy_free(en);
  return acc;
}

TEST(mala_adaptation_reaches_the_target_acceptance) {
  float eps;
  CHECK_NEAR(adapted_acceptance(EBM_SAMPLER_MALA, &eps), 0.574, 0.04);
  CHECK(eps > 0.05f * 4); /* it really moved from the start value */
}

TEST(hmc_adaptation_reaches_the_target_acceptance) {
  float eps;
  CHECK_NEAR(adapted_acceptance(EBM_SAMPLER_HMC, &eps), 0.65, 0.04);
  CHECK(eps > 0.05f * 4);
}
