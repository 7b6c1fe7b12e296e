/* ebm_sample_annealed: off (t0 = 1) it is one plain run bit for bit; on, it
 * counts steps across phases, heats LANGEVIN by its noise exactly as
 * documented, and its last phase still samples the target. */
#include "test.h"

#define CHAINS 2000

static ebm_energy *standard_gaussian(double var) {
  double cov[4] = {var, 0, 0, var};
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(2, NULL, cov, &en));
  return en;
}

TEST(anneal_off_is_one_plain_run_bit_for_bit) {
  ebm_energy *en = standard_gaussian(1.0);
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  cfg.steps = 30;
  cfg.adapt_steps = 15;
  float *xa = malloc(sizeof(float) * CHAINS * 2), *xb = malloc(sizeof(float) * CHAINS * 2);
  float ea[CHAINS], eb[CHAINS], eps_b = 0;
  REQUIRE(xa && xb);
  ebm_rng ra, rb;
  ebm_rng_init(&ra, 8);
  ebm_rng_uniform(&ra, xa, CHAINS * 2, -3.0f, 3.0f);
  memcpy(xb, xa, sizeof(float) * CHAINS * 2);
  rb = ra;
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, &cfg, CHAINS, &s));
  REQUIRE_OK(ebm_sampler_run(s, xa, NULL, CHAINS, &ra, NULL, ea));
  ebm_anneal_plan off = {1.0, 0, -1};
  REQUIRE_OK(ebm_sample_annealed(en, &cfg, &off, xb, NULL, CHAINS, &rb, eb, &eps_b, NULL, NULL));
  CHECK(memcmp(xa, xb, sizeof(float) * CHAINS * 2) == 0);
  CHECK(memcmp(ea, eb, sizeof ea) == 0);
  CHECK(eps_b == ebm_sampler_step_size(s) && eps_b != cfg.step_size);
  ebm_sampler_free(s);
  free(xa);
  free(xb);
  ebm_energy_free(en);
}

static void record_step(void *ctx, int step, const float *x, int64_t n, const ebm_sample_stats *st) {
  (void)x;
  (void)n;
  (void)st;
  int *seen = ctx;
  seen[seen[0] + 1] = step;
  seen[0]++;
}

/* On an energy this flat (Σ = 10⁸·I: λ∇E moves a chain by ~1e-8 a step) a
 * LANGEVIN chain from 0 is a sum of its noise: variance σ²·Σ_p K_p·f_p with
 * f_p = t0^(1−p/3). For t0 = 16 and 4 phases of 10 steps that is 258.7·σ²
 * (40·σ² without annealing). 4000 values: the sample variance is within
 * 5·√(2/4000) = 11 % of the truth. */
TEST(anneal_heats_langevin_by_its_noise_and_counts_steps_across_phases) {
  ebm_energy *en = standard_gaussian(1e8);
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg.steps = 40;
  float *x = calloc(CHAINS * 2, sizeof(float));
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  int seen[1 + 40 + 1] = {0};
  ebm_anneal_plan plan = {16.0, 4, -1};
  REQUIRE_OK(ebm_sample_annealed(en, &cfg, &plan, x, NULL, CHAINS, &rng, NULL, NULL, record_step, seen));
  CHECK_EQ_INT(seen[0], 40);
  for (int k = 0; k < 40; k++) CHECK_EQ_INT(seen[k + 1], k);
  double sum_f = 0;
  for (int p = 0; p < 4; p++) sum_f += 10.0 * pow(16.0, 1.0 - p / 3.0);
  double want = (double)cfg.noise * cfg.noise * sum_f, var = 0;
  for (int i = 0; i < CHAINS * 2; i++) var += (double)x[i] * x[i] / (CHAINS * 2);
  CHECK_NEAR(sum_f, 258.7, 0.1);
  CHECK_NEAR(var / want, 1.0, 0.11);
  ebm_anneal_plan bad = {0.5, 4, -1};
  CHECK_FAILS_WITH(ebm_sample_annealed(en, &cfg, &bad, x, NULL, CHAINS, &rng, NULL, NULL, NULL, NULL), EBM_ERR_ARG,
                   "t0 must be >= 1");
  free(x);
  ebm_energy_free(en);
}

/* MALA started far out (uniform over ±6) and annealed from T = 10: the last
 * phase (100 steps at T = 1, half of them adapting ε) samples N(0, I):
 * 2000 draws put the mean within 5/√2000 = 0.11 of 0 and the variance
 * within 5·√(2/2000) = 0.16 of 1, where a run left at T = 10 would have
 * variance 10. */
TEST(anneal_ends_sampling_the_target_itself) {
  ebm_energy *en = standard_gaussian(1.0);
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  cfg.steps = 400;
  float *x = malloc(sizeof(float) * CHAINS * 2);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, 21);
  ebm_rng_uniform(&rng, x, CHAINS * 2, -6.0f, 6.0f);
  ebm_anneal_plan plan = {10.0, 0, -1};
  float eps = 0;
  REQUIRE_OK(ebm_sample_annealed(en, &cfg, &plan, x, NULL, CHAINS, &rng, NULL, &eps, NULL, NULL));
  for (int d = 0; d < 2; d++) {
    double m = 0, v = 0;
    for (int i = 0; i < CHAINS; i++) m += x[2 * i + d] / (double)CHAINS;
    for (int i = 0; i < CHAINS; i++) v += (x[2 * i + d] - m) * (x[2 * i + d] - m) / (CHAINS - 1.0);
    CHECK_NEAR(m, 0.0, 0.11);
    CHECK_NEAR(v, 1.0, 0.16);
  }
  CHECK(eps > 0.3f && eps < 3.0f); /* adapted at T = 1 (ε ≈ 1.6 for MALA on N(0, I₂)) */
  free(x);
  ebm_energy_free(en);
}
