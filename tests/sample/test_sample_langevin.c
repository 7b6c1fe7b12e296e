/* The first-order samplers step by step: the IGEBM practical Langevin in the
 * reference's order, clipping, clamping and temperature; ULA's update; and
 * the run's bookkeeping (final energies, divergence, argument checks). */
#include "sample/sample_util.h"
#include "test.h"

/* A shallow copy of `en` with another data range (shares en->self; not to
 * be freed). */
static ebm_energy with_range(const ebm_energy *en, float lo, float hi) {
  ebm_energy r = *en;
  r.range_lo = lo;
  r.range_hi = hi;
  return r;
}

static void run_one(const ebm_energy *en, const ebm_sampler_config *cfg, float *x, int64_t n,
                    uint64_t seed) {
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, cfg, n, &s));
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  REQUIRE_OK(ebm_sampler_run(s, x, NULL, n, &rng, NULL, NULL));
  ebm_sampler_free(s);
}

/* Du & Mordatch A.11: each element of ∇E is clipped to ±0.01 before the
 * λ = 10 step; σ = 0 makes the step deterministic. E = ½‖x‖², ∇E = x. */
TEST(langevin_clips_each_gradient_element) {
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(3, NULL, NULL, &en));
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  CHECK(cfg.steps == 60 && cfg.step_size == 10.0f && cfg.noise == 0.005f && cfg.grad_clip == 0.01f);
  cfg.steps = 1;
  cfg.noise = 0.0f;
  float x[3] = {0.5f, -0.002f, -0.9f};
  run_one(en, &cfg, x, 1, 1);
  CHECK_NEAR(x[0], 0.5 - 10 * 0.01, 1e-6);
  CHECK_NEAR(x[1], -0.002 + 10 * 0.002, 1e-6); /* below the clip: the raw gradient */
  CHECK_NEAR(x[2], -0.9 + 10 * 0.01, 1e-6);
  /* clip off (0) and temperature 2: x ← x − λ·x/T */
  cfg.grad_clip = 0.0f;
  cfg.step_size = 0.1f;
  cfg.temperature = 2.0f;
  float y[3] = {0.5f, -0.002f, -0.9f};
  run_one(en, &cfg, y, 1, 1);
  CHECK_NEAR(y[0], 0.5 * (1 - 0.05), 1e-6);
  CHECK_NEAR(y[2], -0.9 * (1 - 0.05), 1e-6);
  ebm_energy_free(en);
}

/* Both halves of the step clamp to the energy's range: the noise half
 * (σ = 100 throws everything out) and the gradient half (E pulls toward
 * x = 5, outside [−1, 1]). */
TEST(langevin_clamps_both_halves_to_the_data_range) {
  double mean[2] = {5.0, 5.0};
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(2, mean, NULL, &en));
  ebm_energy ranged = with_range(en, -1.0f, 1.0f);
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg.steps = 1;
  cfg.noise = 0.0f;
  float x[2] = {0.95f, -0.5f};
  run_one(&ranged, &cfg, x, 1, 1);
  CHECK(x[0] == 1.0f);                 /* 0.95 + 10·0.01 → clamped */
  CHECK_NEAR(x[1], -0.5 + 0.1, 1e-6);
  cfg.noise = 100.0f;
  cfg.step_size = 0.0f;
  float z[200];
  memset(z, 0, sizeof z);
  run_one(&ranged, &cfg, z, 100, 2);
  int at_edge = 0;
  for (int i = 0; i < 200; i++) {
    CHECK(z[i] >= -1.0f && z[i] <= 1.0f);
    at_edge += z[i] == -1.0f || z[i] == 1.0f;
  }
  CHECK(at_edge > 190); /* |100ξ| < 1 has probability 0.008 */
  /* clamp = 0 turns it off */
  cfg.clamp = 0;
  memset(z, 0, sizeof z);
  run_one(&ranged, &cfg, z, 100, 2);
  int outside = 0;
  for (int i = 0; i < 200; i++) outside += z[i] < -1.0f || z[i] > 1.0f;
  CHECK(outside > 190);
  ebm_energy_free(en);
}

/* The reference's `langevin` adds noise first, then descends:
 * x' = a(x + σξ), a = 1 − λ/s² on N(0, s²), so the stationary variance is
 * v = a²σ²/(1 − a²) (= 1.0658 at λ = 0.1, σ = 0.5, s² = 1), while the
 * opposite order (descend, then noise) would give σ²/(1 − a²) = 1.3158.
 * 10 000 chains: se(v) ≈ 0.015/√ESS, so 5 se separate the two orders by
 * more than 15×. */
TEST(langevin_adds_noise_before_the_gradient_step_like_the_reference) {
  const int64_t n = 10000;
  const double mu = 0.0, a = 0.9, sigma = 0.5;
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(1, NULL, NULL, &en));
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg.steps = 300;
  cfg.step_size = 0.1f;
  cfg.noise = (float)sigma;
  cfg.grad_clip = 0.0f;
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, &cfg, n, &s));
  float *x = calloc((size_t)n, sizeof *x);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, 4242);
  moment_acc m;
  moment_acc_init(&m, n, 1, &mu, 100, 5); /* a^200 = 7e-10: stationary */
  REQUIRE_OK(ebm_sampler_run_cb(s, x, NULL, n, &rng, NULL, NULL, moment_acc_step, &m));
  double v, se, theory = a * a * sigma * sigma / (1 - a * a);
  moment_acc_result(&m, 1, &v, &se);
  CHECK_NEAR(v, theory, 5 * se);
  CHECK(fabs(v - sigma * sigma / (1 - a * a)) > 50 * se);
  moment_acc_free(&m);
  free(x);
  ebm_sampler_free(s);
  ebm_energy_free(en);
}

/* One ULA step equals x − (ε²/2)·∇E/T + ε·ξ with ξ the sampler's own
 * normal fill (replayed from a copy of the generator). */
TEST(ula_step_is_the_textbook_update) {
  double cov[4] = {2.0, 0.5, 0.5, 1.0};
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(2, NULL, cov, &en));
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_ULA);
  cfg.steps = 1;
  cfg.step_size = 0.3f;
  cfg.temperature = 1.5f;
  const int64_t n = 5;
  float x[10], x0[10], xi[10], e[5], g[10];
  ebm_rng rng, replay;
  ebm_rng_init(&rng, 9);
  ebm_rng_uniform(&rng, x, 10, -2.0f, 2.0f);
  memcpy(x0, x, sizeof x);
  REQUIRE_OK(ebm_energy_eval(en, x0, NULL, n, e, g));
  replay = rng;
  ebm_rng_normal(&replay, xi, 10, 0.0f, 1.0f);
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, &cfg, n, &s));
  REQUIRE_OK(ebm_sampler_run(s, x, NULL, n, &rng, NULL, NULL));
  for (int k = 0; k < 10; k++)
    CHECK_NEAR(x[k], x0[k] - 0.5 * 0.09 * g[k] / 1.5 + 0.3 * xi[k], 1e-6);
  CHECK(rng.counter == replay.counter); /* one fill per step, nothing else drawn */
  ebm_sampler_free(s);
  ebm_energy_free(en);
}

TEST(sampler_run_reports_stats_and_final_energies) {
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(3, NULL, NULL, &en));
  for (int kind = 0; kind < EBM_SAMPLER_COUNT; kind++) {
    ebm_sampler_config cfg = ebm_sampler_defaults((ebm_sampler_kind)kind);
    cfg.steps = 4;
    cfg.step_size = kind == EBM_SAMPLER_LANGEVIN ? 1.0f : 0.2f;
    cfg.grad_clip = 0.0f;
    ebm_sampler *s = NULL;
    REQUIRE_OK(ebm_sampler_new(en, &cfg, 8, &s));
    float x[24], fe[8], check[8];
    ebm_sample_stats st[4];
    ebm_rng rng;
    ebm_rng_init(&rng, 3);
    ebm_rng_normal(&rng, x, 24, 0.0f, 2.0f);
    REQUIRE_OK(ebm_sampler_run(s, x, NULL, 8, &rng, st, fe));
    REQUIRE_OK(ebm_energy_eval(en, x, NULL, 8, check, NULL));
    for (int i = 0; i < 8; i++) CHECK_NEAR(fe[i], check[i], 1e-6);
    for (int k = 0; k < 4; k++) {
      CHECK(st[k].mean_energy > 0.0f && st[k].grad_norm > 0.0f);
      CHECK(st[k].accept_rate >= 0.0f && st[k].accept_rate <= 1.0f);
      CHECK(st[k].step_size == cfg.step_size);
    }
    /* ULA/LANGEVIN report E where the gradient was taken (before the last
     * move); the others report E at the state they return */
    if (kind >= EBM_SAMPLER_MALA) {
      double mean = 0;
      for (int i = 0; i < 8; i++) mean += check[i] / 8;
      CHECK_NEAR(st[3].mean_energy, mean, 1e-5);
    }
    ebm_sampler_free(s);
  }
  ebm_energy_free(en);
}

TEST(ula_with_a_step_past_stability_reports_divergence) {
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(1, NULL, NULL, &en));
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_ULA);
  cfg.step_size = 3.0f; /* |1 − ε²/2| = 3.5 > 1 */
  cfg.steps = 200;
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, &cfg, 4, &s));
  float x[4] = {1, 2, 3, 4};
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  CHECK_FAILS_WITH(ebm_sampler_run(s, x, NULL, 4, &rng, NULL, NULL), EBM_ERR_NUMERIC, "diverged");
  ebm_sampler_free(s);
  ebm_energy_free(en);
}

TEST(sampler_config_errors_name_the_field) {
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(2, NULL, NULL, &en));
  ebm_sampler *s = NULL;
  ebm_sampler_config c = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  c.steps = -1;
  CHECK_FAILS_WITH(ebm_sampler_new(en, &c, 4, &s), EBM_ERR_ARG, "steps must be >= 0");
  c = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  c.step_size = NAN;
  CHECK_FAILS_WITH(ebm_sampler_new(en, &c, 4, &s), EBM_ERR_ARG, "step_size must be > 0");
  c.step_size = 0.0f;
  CHECK_FAILS_WITH(ebm_sampler_new(en, &c, 4, &s), EBM_ERR_ARG, "step_size");
  c = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  c.noise = -1.0f;
  CHECK_FAILS_WITH(ebm_sampler_new(en, &c, 4, &s), EBM_ERR_ARG, "noise must be >= 0");
  c = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  c.grad_clip = INFINITY;
  CHECK_FAILS_WITH(ebm_sampler_new(en, &c, 4, &s), EBM_ERR_ARG, "grad_clip");
  c.grad_clip = 0.01f;
  c.temperature = 0.0f;
  CHECK_FAILS_WITH(ebm_sampler_new(en, &c, 4, &s), EBM_ERR_ARG, "temperature must be > 0");
  c = ebm_sampler_defaults(EBM_SAMPLER_HMC);
  c.leapfrog_steps = 0;
  CHECK_FAILS_WITH(ebm_sampler_new(en, &c, 4, &s), EBM_ERR_ARG, "leapfrog_steps");
  c = ebm_sampler_defaults(EBM_SAMPLER_KINETIC);
  c.friction = -0.5f;
  CHECK_FAILS_WITH(ebm_sampler_new(en, &c, 4, &s), EBM_ERR_ARG, "friction");
  c = ebm_sampler_defaults(EBM_SAMPLER_ULA);
  c.adapt_steps = 10;
  CHECK_FAILS_WITH(ebm_sampler_new(en, &c, 4, &s), EBM_ERR_ARG, "adapt_steps needs an adjusted");
  c = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  c.adapt_steps = 10;
  c.target_accept = 1.0f;
  CHECK_FAILS_WITH(ebm_sampler_new(en, &c, 4, &s), EBM_ERR_ARG, "target_accept");
  c.kind = (ebm_sampler_kind)17;
  CHECK_FAILS_WITH(ebm_sampler_new(en, &c, 4, &s), EBM_ERR_ARG, "kind 17");
  c = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  CHECK_FAILS_WITH(ebm_sampler_new(en, &c, 0, &s), EBM_ERR_ARG, "max_n");
  CHECK(s == NULL);
  /* run-time arguments */
  REQUIRE_OK(ebm_sampler_new(en, &c, 4, &s));
  float x[10] = {0};
  int32_t y[5] = {0, 1, 2, 0, 5};
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  CHECK_FAILS_WITH(ebm_sampler_run(s, x, NULL, 5, &rng, NULL, NULL), EBM_ERR_ARG, "at most 4");
  CHECK_FAILS_WITH(ebm_sampler_run(s, x, &(ebm_cond){.labels = y}, 4, &rng, NULL, NULL), EBM_ERR_ARG, "unconditional");
  ebm_sampler_free(s);
  ebm_energy conditional = *en;
  conditional.num_classes = 3;
  REQUIRE_OK(ebm_sampler_new(&conditional, &c, 5, &s));
  CHECK_FAILS_WITH(ebm_sampler_run(s, x, &(ebm_cond){.labels = y}, 5, &rng, NULL, NULL), EBM_ERR_ARG, "label 5 of chain 4");
  CHECK_OK(ebm_sampler_run(s, x, &(ebm_cond){.labels = y}, 4, &rng, NULL, NULL));
  ebm_sampler_free(s);
  ebm_energy_free(en);
  /* names */
  for (int k = 0; k < EBM_SAMPLER_COUNT; k++)
    CHECK_EQ_INT(ebm_sampler_from_name(ebm_sampler_name((ebm_sampler_kind)k)), k);
  CHECK_EQ_INT(ebm_sampler_from_name("gibbs"), -1);
  CHECK_EQ_INT(ebm_sampler_from_name(NULL), -1);
}
