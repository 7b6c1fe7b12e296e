/* End to end on 2-D data with exact likelihoods (DESIGN §7): training
 * lowers the exact test NLL, its MCMC samples find every mode, and a
 * conditional model puts class y in mode y. */
#include "train/train_testutil.h"

/* A few hundred PCD steps of a width-32 mlp on 8gaussians. The initial
 * model is nearly flat (NLL ≈ log 64 = 4.16 nats on the [-4, 4]² box);
 * the data's entropy is 2.14 nats. Training must remove at least half of
 * that 2-nat gap, and the replay buffer's chains must sit in all 8 modes:
 * with 2000 stored samples, a mode holding under 2 % (40) would be missing
 * by any standard (a balanced buffer gives 250 ± 15 per mode). */
TEST(pcd_on_8gaussians_lowers_the_exact_nll_and_samples_cover_all_modes) {
  ebm_dataset *train = NULL, *test = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:4000", 0, 1, &train));
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:test:1000", 0, 1, &test));
  ebm_net *net = tt_mlp(32, 0, 64, 11);
  const double nll0 = tt_test_nll(net, test);
  ebm_train_config cfg = tt_toy_config(64, 20, 400);
  cfg.seed = 5;
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(net, train, &cfg, &t));
  for (int k = 0; k < cfg.iters; k++) REQUIRE_OK(ebm_trainer_step(t, NULL));
  const double nll1 = tt_test_nll(net, test);
  CHECK(nll0 > 4.0);
  CHECK(nll1 < nll0 - 1.0);
  if (getenv("EBM_TEST_VERBOSE") || nll1 >= nll0 - 1.0) fprintf(stderr, "NLL %.4f -> %.4f\n", nll0, nll1);

  const ebm_replay *rb = ebm_trainer_replay(t);
  int64_t n = ebm_replay_size(rb, -1);
  REQUIRE(n == 2000);
  float *x = malloc((size_t)n * 2 * sizeof *x);
  REQUIRE(x);
  REQUIRE(ebm_replay_peek(rb, -1, n, x) == n);
  int count[8] = {0};
  for (int64_t i = 0; i < n; i++) {
    double d;
    int k = tt_nearest_mode(x + 2 * i, &d);
    if (d < 0.75) count[k]++;
  }
  for (int k = 0; k < 8; k++) {
    if (getenv("EBM_TEST_VERBOSE") || count[k] < 40) fprintf(stderr, "mode %d holds %d of %lld samples\n", k, count[k], (long long)n);
    CHECK(count[k] >= 40);
  }
  free(x);
  ebm_trainer_free(t);
  ebm_net_free(net);
  ebm_dataset_free(train);
  ebm_dataset_free(test);
}

/* Conditional PCD with the mode index as the label (per-class buffers);
 * then fresh chains from uniform noise under E(x, y) for each y: at least
 * 90 % must end nearest to mode y (chance is 12.5 %). */
TEST(conditional_training_on_8gaussians_samples_class_y_in_mode_y) {
  ebm_dataset *train = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:4000", 0, 1, &train));
  REQUIRE(train->labels && train->num_classes == 8);
  ebm_net *net = tt_mlp(32, 8, 64, 21);
  ebm_train_config cfg = tt_toy_config(64, 20, 300);
  cfg.conditional = 1;
  cfg.seed = 6;
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(net, train, &cfg, &t));
  for (int k = 0; k < cfg.iters; k++) REQUIRE_OK(ebm_trainer_step(t, NULL));
  ebm_trainer_free(t);

  enum { PER_CLASS = 64, N = 8 * PER_CLASS };
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  en->range_lo = -4.0f;
  en->range_hi = 4.0f;
  ebm_sampler_config sc = ebm_sampler_defaults(EBM_SAMPLER_ULA);
  sc.steps = 200;
  sc.step_size = 0.1f;
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, &sc, N, &s));
  float *x = malloc(N * 2 * sizeof *x);
  int32_t *y = malloc(N * sizeof *y);
  REQUIRE(x && y);
  ebm_rng rng;
  ebm_rng_init(&rng, 99);
  ebm_rng_uniform(&rng, x, N * 2, -4.0f, 4.0f);
  for (int i = 0; i < N; i++) y[i] = i / PER_CLASS;
  REQUIRE_OK(ebm_sampler_run(s, x, &(ebm_cond){.labels = y}, N, &rng, NULL, NULL));
  for (int c = 0; c < 8; c++) {
    int hits = 0;
    for (int i = c * PER_CLASS; i < (c + 1) * PER_CLASS; i++) hits += tt_nearest_mode(x + 2 * i, NULL) == c;
    if (getenv("EBM_TEST_VERBOSE") || hits < 0.9 * PER_CLASS) fprintf(stderr, "class %d: %d of %d samples in its mode\n", c, hits, PER_CLASS);
    CHECK(hits >= 0.9 * PER_CLASS);
  }
  free(x);
  free(y);
  ebm_sampler_free(s);
  ebm_energy_free(en);
  ebm_net_free(net);
  ebm_dataset_free(train);
}
