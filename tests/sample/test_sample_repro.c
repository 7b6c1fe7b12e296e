/* Same seed → bit-identical chains at 1 and 2 threads, for every sampler:
 * noise comes from ebm_rng fills (thread-count independent) and every
 * parallel update touches its own chains only. */
#include "test.h"

#define REPRO_DIM 64
#define REPRO_CHAINS 600 /* > 2 × 16384/64 chains, so the pool really splits */

static void run_kind(ebm_sampler_kind kind, int threads, float *x, ebm_sample_stats *st, float *fe,
                     ebm_rng *end) {
  REQUIRE_OK(ebm_threads_init(threads));
  /* a full covariance, so the energy's own parallel split is exercised too */
  double *cov = malloc(sizeof(double) * REPRO_DIM * REPRO_DIM);
  REQUIRE(cov);
  for (int i = 0; i < REPRO_DIM; i++)
    for (int j = 0; j < REPRO_DIM; j++) cov[i * REPRO_DIM + j] = (i == j ? 1.0 : 0.0) + 0.3 / (1 + abs(i - j));
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(REPRO_DIM, NULL, cov, &en));
  ebm_energy ranged = *en; /* a range, so clamping / rejection paths run */
  ranged.range_lo = -3.0f;
  ranged.range_hi = 3.0f;
  ebm_sampler_config cfg = ebm_sampler_defaults(kind);
  cfg.steps = 6;
  cfg.step_size = kind == EBM_SAMPLER_LANGEVIN ? 5.0f : 0.3f;
  cfg.leapfrog_steps = 3;
  if (kind == EBM_SAMPLER_MALA || kind == EBM_SAMPLER_HMC) cfg.adapt_steps = 3;
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(&ranged, &cfg, REPRO_CHAINS, &s));
  ebm_rng rng;
  ebm_rng_init(&rng, 99);
  ebm_rng_uniform(&rng, x, REPRO_CHAINS * REPRO_DIM, -2.0f, 2.0f);
  REQUIRE_OK(ebm_sampler_run(s, x, NULL, REPRO_CHAINS, &rng, st, fe));
  *end = rng;
  ebm_sampler_free(s);
  ebm_energy_free(en);
  free(cov);
}

TEST(samplers_are_bit_identical_at_one_and_two_threads) {
  const size_t nx = (size_t)REPRO_CHAINS * REPRO_DIM;
  float *x1 = malloc(nx * sizeof(float)), *x2 = malloc(nx * sizeof(float));
  float fe1[REPRO_CHAINS], fe2[REPRO_CHAINS];
  REQUIRE(x1 && x2);
  for (int kind = 0; kind < EBM_SAMPLER_COUNT; kind++) {
    ebm_sample_stats st1[6], st2[6];
    ebm_rng r1, r2;
    run_kind((ebm_sampler_kind)kind, 1, x1, st1, fe1, &r1);
    run_kind((ebm_sampler_kind)kind, 2, x2, st2, fe2, &r2);
    CHECK(ebm_threads_count() == 2);
    if (memcmp(x1, x2, nx * sizeof(float)) != 0 || memcmp(fe1, fe2, sizeof fe1) != 0 ||
        memcmp(st1, st2, sizeof st1) != 0 || r1.counter != r2.counter)
      test_fail_at(__FILE__, __LINE__, "%s differs between 1 and 2 threads",
                   ebm_sampler_name((ebm_sampler_kind)kind));
    /* and the run did something: chains moved away from the uniform start */
    CHECK(st1[5].mean_energy < st1[0].mean_energy || kind == EBM_SAMPLER_LANGEVIN);
  }
  free(x1);
  free(x2);
}

TEST(same_seed_gives_the_same_chains_and_another_seed_does_not) {
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(3, NULL, NULL, &en));
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_HMC);
  cfg.steps = 5;
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, &cfg, 10, &s));
  float a[30] = {0}, b[30] = {0}, c[30] = {0};
  ebm_rng r;
  ebm_rng_init(&r, 1);
  REQUIRE_OK(ebm_sampler_run(s, a, NULL, 10, &r, NULL, NULL));
  ebm_rng_init(&r, 1);
  REQUIRE_OK(ebm_sampler_run(s, b, NULL, 10, &r, NULL, NULL));
  ebm_rng_init(&r, 2);
  REQUIRE_OK(ebm_sampler_run(s, c, NULL, 10, &r, NULL, NULL));
  CHECK(memcmp(a, b, sizeof a) == 0);
  CHECK(memcmp(a, c, sizeof a) != 0);
  ebm_sampler_free(s);
  ebm_energy_free(en);
}
