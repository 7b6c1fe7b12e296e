/* AIS against energies whose log Z is known exactly: Gaussians (D = 2 and
 * D = 784, log Z = D/2·log 2π + ½ log det Σ) and the 2-D toys (normalised
 * densities, log Z = 0). Forward AIS must land within 3 standard errors of
 * the truth (and within 0.05 nats on the toys); with a short schedule the
 * forward estimate falls below the truth and reverse AIS from exact samples
 * above it (the two sides of the sandwich). */
#include "eval/eval_internal.h"
#include "test.h"

static int verbose(void) { return getenv("EBM_TEST_VERBOSE") != NULL; }

static void report(const char *label, const ebm_ais_result *r, double truth) {
  if (verbose())
    fprintf(stderr, "    %s: log Z %.5f ± %.5f (truth %.5f, off %.2f se), ESS %.1f/%lld, accept %.3f, eps %.4g\n",
            label, r->log_z, r->log_z_se, truth, (r->log_z - truth) / r->log_z_se, r->ess,
            (long long)r->chains, r->accept_rate, r->step_size);
}

/* Draws n exact samples of N(mean, diag(std²)) in D dims. */
static void diag_gaussian_draws(ebm_rng *rng, int64_t n, int64_t D, const double *mean,
                                const double *std, float *x) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < D; k++) x[i * D + k] = (float)(mean[k] + std[k] * ebm_rng_gauss(rng));
}

TEST(ais_log_z_of_a_correlated_2d_gaussian_is_within_3_se) {
  const double mean[2] = {1.0, -0.5}, cov[4] = {1.5, 0.6, 0.6, 0.8};
  ebm_energy *target = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(2, mean, cov, &target));
  double truth;
  REQUIRE_OK(ebm_gaussian_energy_log_z(target, &truth));
  const float std[2] = {2.0f, 2.0f};
  ebm_ais_base *base = NULL;
  REQUIRE_OK(ebm_ais_base_gaussian(target, NULL, std, &base));
  CHECK_NEAR(ebm_ais_base_log_z(base), log(2.0 * 3.14159265358979323846 * 4.0), 1e-12);
  ebm_ais_config cfg = ebm_ais_defaults();
  cfg.chains = 200;
  cfg.steps = 200;
  ebm_rng rng;
  ebm_rng_init(&rng, 11);
  ebm_ais_result r;
  REQUIRE_OK(ebm_ais_forward(target, base, &cfg, &rng, NULL, &r, NULL, NULL));
  report("gaussian:2", &r, truth);
  CHECK(r.log_z_se > 0.0 && r.log_z_se < 0.05); /* a precise estimate, not a vacuous one */
  CHECK_NEAR(r.log_z, truth, 3.0 * r.log_z_se);
  CHECK(r.ess > 0.5 * cfg.chains);
  CHECK(r.accept_rate > 0.3 && r.accept_rate < 0.9);
  ebm_ais_base_free(base);
  ebm_energy_free(target);
}

/* A 784-D target N(μ, diag σ²) with μ_k = a·sin k, σ_k = 1 + b·cos k. With
 * (a, b) = (0.05, 0.1) the base N(0, I) is close to it (KL ≈ 4 nats), so a
 * short schedule suffices; (0.3, 0.3) is far (KL ≈ 50 nats). */
static ebm_energy *target_784(double a, double b, double *mean, double *std) {
  double *cov = calloc(784 * 784, sizeof *cov);
  REQUIRE(cov);
  for (int k = 0; k < 784; k++) {
    mean[k] = a * sin(k);
    std[k] = 1.0 + b * cos(k);
    cov[k * 784 + k] = std[k] * std[k];
  }
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(784, mean, cov, &en));
  free(cov);
  return en;
}

TEST(ais_log_z_of_a_784d_gaussian_is_within_3_se) {
  static double mean[784], std[784];
  ebm_energy *target = target_784(0.05, 0.1, mean, std);
  double truth;
  REQUIRE_OK(ebm_gaussian_energy_log_z(target, &truth));
  ebm_ais_base *base = NULL;
  REQUIRE_OK(ebm_ais_base_gaussian(target, NULL, NULL, &base));
  ebm_ais_config cfg = ebm_ais_defaults();
  cfg.chains = 64;
  cfg.steps = 100;
  ebm_rng rng;
  ebm_rng_init(&rng, 12);
  ebm_ais_result r;
  REQUIRE_OK(ebm_ais_forward(target, base, &cfg, &rng, NULL, &r, NULL, NULL));
  report("gaussian:784", &r, truth);
  /* se well below the 4-nat KL between base and target (plain importance
   * sampling would be off by about a nat) */
  CHECK(r.log_z_se > 0.0 && r.log_z_se < 0.3);
  CHECK_NEAR(r.log_z, truth, 3.0 * r.log_z_se);
  ebm_ais_base_free(base);
  ebm_energy_free(target);
}

/* Two β steps on a far target: the log-weights spread over many nats and
 * Jensen's gap dominates the noise. Forward log Ẑ falls below log Z and
 * reverse (from exact draws of the target) above it, for every seed tried
 * (HMC transitions). With a near target and a longer schedule (MALA) the
 * sandwich closes around the truth. */
TEST(ais_forward_and_reverse_bracket_log_z_of_a_784d_gaussian) {
  static double mean[784], std[784];
  float *x = malloc(64 * 784 * sizeof *x);
  REQUIRE(x);
  ebm_energy *target = target_784(0.3, 0.3, mean, std);
  double truth;
  REQUIRE_OK(ebm_gaussian_energy_log_z(target, &truth));
  ebm_ais_base *base = NULL;
  REQUIRE_OK(ebm_ais_base_gaussian(target, NULL, NULL, &base));
  ebm_ais_result fwd, rev;
  ebm_ais_config cfg = ebm_ais_defaults();
  cfg.chains = 64;
  cfg.steps = 2;
  cfg.sampler = EBM_SAMPLER_HMC;
  cfg.leapfrog_steps = 5;
  cfg.target_accept = 0.65f;
  for (uint64_t seed = 13; seed < 16; seed++) {
    ebm_rng rng;
    ebm_rng_init(&rng, seed);
    REQUIRE_OK(ebm_ais_forward(target, base, &cfg, &rng, NULL, &fwd, NULL, NULL));
    diag_gaussian_draws(&rng, 64, 784, mean, std, x);
    REQUIRE_OK(ebm_ais_reverse(target, base, &cfg, x, 64, &rng, NULL, &rev, NULL, NULL));
    report("far target, forward, 2 steps", &fwd, truth);
    report("far target, reverse, 2 steps", &rev, truth);
    CHECK(fwd.log_z < truth - 1.0);
    CHECK(rev.log_z > truth + 1.0);
  }
  ebm_ais_base_free(base);
  ebm_energy_free(target);

  target = target_784(0.05, 0.1, mean, std);
  REQUIRE_OK(ebm_gaussian_energy_log_z(target, &truth));
  REQUIRE_OK(ebm_ais_base_gaussian(target, NULL, NULL, &base));
  cfg = ebm_ais_defaults();
  cfg.chains = 64;
  cfg.steps = 100;
  ebm_rng rng;
  ebm_rng_init(&rng, 16);
  REQUIRE_OK(ebm_ais_forward(target, base, &cfg, &rng, NULL, &fwd, NULL, NULL));
  diag_gaussian_draws(&rng, 64, 784, mean, std, x);
  REQUIRE_OK(ebm_ais_reverse(target, base, &cfg, x, 64, &rng, NULL, &rev, NULL, NULL));
  report("near target, forward, 100 steps", &fwd, truth);
  report("near target, reverse, 100 steps", &rev, truth);
  CHECK(fwd.log_z < truth + 3.0 * fwd.log_z_se);
  CHECK(rev.log_z > truth - 3.0 * rev.log_z_se);
  CHECK(fabs(rev.log_z - fwd.log_z) < 1.0);
  free(x);
  ebm_ais_base_free(base);
  ebm_energy_free(target);
}

/* The toys are normalised densities: log Z = 0 (up to the < 1e-9 of mass
 * outside the [-4, 4]² box where the uniform base lives). Most of the
 * variance left comes from chains settling in different modes early, so it
 * falls with the number of chains more than with steps: many chains, short
 * schedules. max_se makes sure the 0.05-nat check is not vacuous. */
static void check_toy(ebm_toy toy, ebm_sampler_kind kind, int steps, int64_t chains, uint64_t seed,
                      double max_se, int logit) {
  ebm_energy *target = NULL;
  REQUIRE_OK(ebm_toy_energy_new(toy, &target));
  ebm_ais_base *base = NULL;
  REQUIRE_OK(ebm_ais_base_uniform(target, -4.0f, 4.0f, &base));
  CHECK_NEAR(ebm_ais_base_log_z(base), 2.0 * log(8.0), 1e-12);
  ebm_ais_config cfg = ebm_ais_defaults();
  cfg.chains = chains;
  cfg.steps = steps;
  cfg.sampler = kind;
  cfg.leapfrog_steps = 5;
  cfg.target_accept = kind == EBM_SAMPLER_HMC ? 0.65f : 0.574f;
  cfg.logit = logit;
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  ebm_ais_result r;
  REQUIRE_OK(ebm_ais_forward(target, base, &cfg, &rng, NULL, &r, NULL, NULL));
  report(ebm_toy_name(toy), &r, 0.0);
  CHECK(r.log_z_se < max_se);
  CHECK_NEAR(r.log_z, 0.0, 0.05);
  CHECK_NEAR(r.log_z, 0.0, 3.0 * r.log_z_se);
  ebm_ais_base_free(base);
  ebm_energy_free(target);
}

/* 3 se < 0.05 nats for these three; the chains move in logit coordinates
 * of the box (the default). */
TEST(ais_log_z_of_toy_8gaussians_is_0_within_0_05_nats) {
  check_toy(EBM_TOY_8GAUSSIANS, EBM_SAMPLER_MALA, 200, 2000, 101, 0.0167, 1);
}
TEST(ais_log_z_of_toy_rings_is_0_within_0_05_nats) {
  check_toy(EBM_TOY_RINGS, EBM_SAMPLER_MALA, 200, 2000, 102, 0.0167, 1);
}
TEST(ais_log_z_of_toy_pinwheel_is_0_within_0_05_nats) {
  check_toy(EBM_TOY_PINWHEEL, EBM_SAMPLER_HMC, 200, 4000, 103, 0.0167, 1);
}
/* The quadrature toys cost ~2 µs per point (~10× that under ASan): 1000
 * chains × 50 steps, se ≈ 0.025–0.035, so 0.05 nats is 1.5–2 se here.
 * These chains move in x (proposals leaving the box rejected). */
TEST(ais_log_z_of_toys_2spirals_and_moons_is_0_within_0_05_nats) {
  check_toy(EBM_TOY_2SPIRALS, EBM_SAMPLER_MALA, 50, 1000, 104, 0.04, 0);
  check_toy(EBM_TOY_MOONS, EBM_SAMPLER_MALA, 50, 1000, 105, 0.04, 0);
}

/* ------------------------------------------- a model with a data range */

/* E(x) = Σ_k (x_k − 0.3)² / (2·0.2²) on the box [0, 1]^3, where
 * Z = (0.2·√(2π)·(Φ(3.5) − Φ(−1.5)))³ exactly. */
static ebm_status boxed_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                             float *grad) {
  const int32_t *y = cond ? cond->labels : NULL;
  (void)self;
  (void)y;
  for (int64_t i = 0; i < n; i++) {
    double s = 0.0;
    for (int k = 0; k < 3; k++) {
      double r = x[i * 3 + k] - 0.3;
      s += r * r / (2 * 0.04);
      if (grad) grad[i * 3 + k] = (float)(r / 0.04);
    }
    e[i] = (float)s;
  }
  return EBM_OK;
}

static ebm_energy *boxed_energy(void) {
  ebm_energy *en = ebm_energy_alloc();
  REQUIRE(en);
  en->name = "boxed";
  en->item_ndim = 1;
  en->item_shape[0] = 3;
  en->range_lo = 0.0f;
  en->range_hi = 1.0f;
  en->eval = boxed_eval;
  return en;
}

static double boxed_log_z(void) {
  double mass = 0.5 * (erf(3.5 / sqrt(2.0)) - erf(-1.5 / sqrt(2.0)));
  return 3.0 * log(0.2 * sqrt(2.0 * 3.14159265358979323846) * mass);
}

TEST(ais_log_z_of_a_model_on_a_box_is_right_from_a_uniform_and_a_truncated_gaussian_base) {
  ebm_energy *model = boxed_energy();
  const double truth = boxed_log_z();
  ebm_ais_config cfg = ebm_ais_defaults();
  cfg.chains = 1000;
  cfg.steps = 100;
  ebm_rng rng;
  ebm_rng_init(&rng, 21);
  ebm_ais_result r;
  ebm_ais_base *base = NULL;
  /* lo == hi: the model's own range */
  REQUIRE_OK(ebm_ais_base_uniform(model, 0.0f, 0.0f, &base));
  CHECK_NEAR(ebm_ais_base_log_z(base), 0.0, 1e-12);
  REQUIRE_OK(ebm_ais_forward(model, base, &cfg, &rng, NULL, &r, NULL, NULL));
  report("boxed, uniform base", &r, truth);
  CHECK(r.log_z_se < 0.02);
  CHECK_NEAR(r.log_z, truth, 3.0 * r.log_z_se);
  cfg.logit = 0; /* the same in x, proposals outside the box rejected */
  REQUIRE_OK(ebm_ais_forward(model, base, &cfg, &rng, NULL, &r, NULL, NULL));
  report("boxed, uniform base, x coordinates", &r, truth);
  CHECK(r.log_z_se < 0.02);
  CHECK_NEAR(r.log_z, truth, 3.0 * r.log_z_se);
  cfg.logit = 1;
  ebm_ais_base_free(base);
  /* a Gaussian base wider than the model, centred off it: truncated to [0,1] */
  const float mean[3] = {0.6f, 0.5f, -0.2f}, std[3] = {0.5f, 0.5f, 0.5f};
  REQUIRE_OK(ebm_ais_base_gaussian(model, mean, std, &base));
  /* the −0.2 mean is clamped to 0: log Z₀ = Σ log(s√(2π)(Φ((1−m)/s) − Φ(−m/s))) */
  double expect = 0.0;
  const double m[3] = {(double)0.6f, 0.5, 0.0}; /* the float means, as the base sees them */
  for (int k = 0; k < 3; k++)
    expect += log(0.5 * sqrt(2.0 * 3.14159265358979323846) * 0.5 *
                  (erf((1.0 - m[k]) / 0.5 / sqrt(2.0)) - erf(-m[k] / 0.5 / sqrt(2.0))));
  CHECK_NEAR(ebm_ais_base_log_z(base), expect, 1e-12);
  REQUIRE_OK(ebm_ais_forward(model, base, &cfg, &rng, NULL, &r, NULL, NULL));
  report("boxed, truncated gaussian base", &r, truth);
  CHECK(r.log_z_se < 0.02);
  CHECK_NEAR(r.log_z, truth, 3.0 * r.log_z_se);
  ebm_ais_base_free(base);
  ebm_energy_free(model);
}

/* Draws of the truncated base stay in the box and have the truncated
 * normal's mean μ + s(φ(a) − φ(b))/(Φ(b) − Φ(a)) (5 se from 20000 draws). */
TEST(ais_truncated_gaussian_base_draws_have_the_truncated_mean) {
  ebm_energy *model = boxed_energy();
  const float mean[3] = {0.1f, 0.5f, 0.9f}, std[3] = {0.3f, 2.0f, 0.05f};
  ebm_ais_base *base = NULL;
  REQUIRE_OK(ebm_ais_base_gaussian(model, mean, std, &base));
  enum { N = 20000 };
  float *x = malloc(N * 3 * sizeof *x);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  ebm_ais_base_sample(base, &rng, N, x);
  for (int k = 0; k < 3; k++) {
    double mu = mean[k], s = std[k], a = (0.0 - mu) / s, b = (1.0 - mu) / s;
    double pa = exp(-0.5 * a * a) / sqrt(2 * 3.14159265358979323846),
           pb = exp(-0.5 * b * b) / sqrt(2 * 3.14159265358979323846);
    double mass = 0.5 * (erf(b / sqrt(2.0)) - erf(a / sqrt(2.0)));
    double tmean = mu + s * (pa - pb) / mass;
    double m = 0, v = 0, lo = 1, hi = 0;
    for (int i = 0; i < N; i++) {
      m += x[i * 3 + k] / (double)N;
      lo = x[i * 3 + k] < lo ? x[i * 3 + k] : lo;
      hi = x[i * 3 + k] > hi ? x[i * 3 + k] : hi;
    }
    for (int i = 0; i < N; i++) v += (x[i * 3 + k] - m) * (x[i * 3 + k] - m) / (N - 1.0);
    CHECK(lo >= 0.0 && hi <= 1.0);
    CHECK_NEAR(m, tmean, 5.0 * sqrt(v / N));
  }
  free(x);
  ebm_ais_base_free(base);
  ebm_energy_free(model);
}

TEST(ais_normal_quantile_inverts_phi_to_1e_12) {
  const double ps[] = {1e-300, 1e-20, 1e-5, 0.02, 0.3, 0.5, 0.7, 0.97, 1 - 1e-9};
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
    double x = eval_normal_quantile(ps[i]);
    double p = 0.5 * erfc(-x / sqrt(2.0));
    CHECK_NEAR(p / ps[i], 1.0, 1e-7 + (ps[i] > 0.5 ? 1e-12 / ps[i] : 1e-12));
  }
  CHECK(eval_normal_quantile(0.5) == 0.0 || fabs(eval_normal_quantile(0.5)) < 1e-15);
  CHECK(isinf(eval_normal_quantile(0.0)) && eval_normal_quantile(0.0) < 0);
}

TEST(ais_weight_stats_match_hand_values) {
  const double lw[4] = {log(1.0), log(2.0), log(3.0), log(6.0)};
  double lm, se, ess;
  ebm_log_weight_stats(lw, 4, &lm, &se, &ess);
  CHECK_NEAR(lm, log(3.0), 1e-12);
  /* w = 1,2,3,6: sd = √(14/3), se = sd / (2·3) */
  CHECK_NEAR(se, sqrt(14.0 / 3.0) / 6.0, 1e-12);
  CHECK_NEAR(ess, 144.0 / 50.0, 1e-12);
  CHECK_NEAR(ebm_logmeanexp(lw, 4), log(3.0), 1e-12);
  /* shifted by 1000: no overflow, same answer */
  const double big[2] = {1000.0, 1000.0 + log(3.0)};
  CHECK_NEAR(ebm_logmeanexp(big, 2), 1000.0 + log(2.0), 1e-9);
  CHECK(isinf(ebm_logmeanexp(lw, 0)));
}

TEST(ais_rejects_bad_arguments_with_messages) {
  ebm_energy *model = boxed_energy();
  ebm_ais_base *base = NULL;
  CHECK_FAILS_WITH(ebm_ais_base_uniform(model, -1.0f, 1.0f, &base), EBM_ERR_ARG, "differs from boxed's range");
  REQUIRE_OK(ebm_ais_base_uniform(model, 0.0f, 1.0f, &base));
  ebm_ais_config cfg = ebm_ais_defaults();
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  ebm_ais_result r;
  cfg.sampler = EBM_SAMPLER_LANGEVIN;
  CHECK_FAILS_WITH(ebm_ais_forward(model, base, &cfg, &rng, NULL, &r, NULL, NULL), EBM_ERR_ARG, "mala or hmc");
  cfg = ebm_ais_defaults();
  cfg.steps = 0;
  CHECK_FAILS_WITH(ebm_ais_forward(model, base, &cfg, &rng, NULL, &r, NULL, NULL), EBM_ERR_ARG, "steps must be >= 1");
  cfg = ebm_ais_defaults();
  cfg.schedule = "cosine";
  CHECK_FAILS_WITH(ebm_ais_forward(model, base, &cfg, &rng, NULL, &r, NULL, NULL), EBM_ERR_ARG, "cosine");
  cfg = ebm_ais_defaults();
  const float outside[6] = {0.5f, 0.5f, 0.5f, 0.5f, 1.5f, 0.5f};
  CHECK_FAILS_WITH(ebm_ais_reverse(model, base, &cfg, outside, 2, &rng, NULL, &r, NULL, NULL), EBM_ERR_ARG,
                   "item 1 element 1 is 1.5");
  const float sd0[3] = {1.0f, 0.0f, 1.0f};
  ebm_ais_base *g = NULL;
  CHECK_FAILS_WITH(ebm_ais_base_gaussian(model, NULL, sd0, &g), EBM_ERR_ARG, "element 1");
  CHECK(g == NULL);
  model->num_classes = 3;
  CHECK_FAILS_WITH(ebm_ais_forward(model, base, &cfg, &rng, NULL, &r, NULL, NULL), EBM_ERR_UNSUPPORTED,
                   "class-conditional");
  ebm_ais_base_free(base);
  ebm_energy_free(model);
}

/* The logit-space energy: E_u(u) = E(x(u)) − Σ log(dx/du), its gradient
 * against central differences (in double of the float energy). */
TEST(ais_logit_energy_has_the_jacobian_and_a_matching_gradient) {
  ebm_energy *model = boxed_energy();
  ebm_energy *w = NULL;
  REQUIRE_OK(eval_logit_energy_new(model, 0.0f, 1.0f, 4, &w));
  CHECK(!(w->range_lo < w->range_hi)); /* unbounded */
  const float u[6] = {-2.0f, 0.3f, 1.5f, 4.0f, -0.7f, 0.0f};
  float e[2], g[6], x[6], back[6];
  REQUIRE_OK(ebm_energy_eval(w, u, NULL, 2, e, g));
  eval_logit_to_x(w, u, 2, x);
  eval_x_to_logit(w, x, 2, back);
  for (int i = 0; i < 2; i++) {
    double ex = 0.0, jac = 0.0;
    for (int k = 0; k < 3; k++) {
      double s = 1.0 / (1.0 + exp(-(double)u[i * 3 + k]));
      CHECK_NEAR(x[i * 3 + k], s, 1e-6);
      CHECK_NEAR(back[i * 3 + k], u[i * 3 + k], 1e-4);
      ex += (s - 0.3) * (s - 0.3) / 0.08;
      jac += log(s * (1.0 - s));
    }
    CHECK_NEAR(e[i], ex - jac, 1e-4);
  }
  for (int k = 0; k < 6; k++) {
    float up[6], dn[6], eu[2], ed[2];
    memcpy(up, u, sizeof up);
    memcpy(dn, u, sizeof dn);
    up[k] += 1e-2f;
    dn[k] -= 1e-2f;
    REQUIRE_OK(ebm_energy_eval(w, up, NULL, 2, eu, NULL));
    REQUIRE_OK(ebm_energy_eval(w, dn, NULL, 2, ed, NULL));
    double fd = ((double)eu[k / 3] - ed[k / 3]) / 2e-2;
    CHECK_NEAR(g[k], fd, 2e-3 * (1.0 + fabs(fd)));
  }
  /* a point on a wall moves 1e-6 of the range inside */
  const float wall[3] = {0.0f, 1.0f, 0.5f};
  float uw[3], xw[3];
  eval_x_to_logit(w, wall, 1, uw);
  eval_logit_to_x(w, uw, 1, xw);
  CHECK(isfinite(uw[0]) && isfinite(uw[1]));
  CHECK_NEAR(xw[0], 0.0, 2e-6);
  CHECK_NEAR(xw[1], 1.0, 2e-6);
  ebm_energy_free(w);
  ebm_energy_free(model);
}
