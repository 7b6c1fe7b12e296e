/* Replay-buffer policies: the reservoir keeps every item offered with the
 * same probability (statistically), fifo keeps the newest in order, and
 * both carry their counters through save/restore. */
#include "test_util.h"

/* Streams items 0..n_items−1 (item t holds the value t) into a store of
 * `slots`, in puts of `chunk`, and adds 1 to kept[t] for each item left. */
static void stream_items(ebm_replay_policy policy, int64_t slots, int n_items, int chunk, uint64_t seed,
                         int *kept) {
  const int64_t shape[1] = {1};
  ebm_replay *rb = NULL;
  REQUIRE_OK(ebm_replay_new(slots, 1, shape, 0, 0.0f, 1.0f, &rb));
  REQUIRE_OK(ebm_replay_set_policy(rb, policy));
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  float x[64], held[64];
  for (int t = 0; t < n_items; t += chunk) {
    int m = n_items - t < chunk ? n_items - t : chunk;
    for (int i = 0; i < m; i++) x[i] = (float)(t + i);
    REQUIRE_OK(ebm_replay_put(rb, x, NULL, m, NULL, &rng));
  }
  int64_t n = ebm_replay_peek(rb, -1, 64, held);
  CHECK_EQ_INT(n, slots);
  for (int64_t i = 0; i < n; i++) kept[(int)held[i]]++;
  ebm_replay_free(rb);
}

/* Over R streams of 50 items into 10 slots, item t is kept
 * Binomial(R, 10/50) times: mean 800, sd 25.3 at R = 4000. Every count
 * within 5 sd and the chi-square of all 50 (mean 50 at most: the counts sum
 * to a constant) below 50 + 5·sqrt(100). The random policy, which replaces
 * a random slot per item, keeps the last items far more often: the same
 * statistic rejects it, so the test can fail. */
static double inclusion_chi2(ebm_replay_policy policy, int *worst_sd) {
  enum { R = 4000, ITEMS = 50, SLOTS = 10 };
  int kept[ITEMS] = {0};
  for (int r = 0; r < R; r++) stream_items(policy, SLOTS, ITEMS, 1 + r % 7, 1000 + (uint64_t)r, kept);
  const double p = (double)SLOTS / ITEMS, mean = R * p, var = R * p * (1 - p);
  double chi2 = 0, worst = 0;
  for (int t = 0; t < ITEMS; t++) {
    chi2 += (kept[t] - mean) * (kept[t] - mean) / var;
    worst = fmax(worst, fabs(kept[t] - mean) / sqrt(var));
  }
  *worst_sd = (int)ceil(worst);
  return chi2;
}

TEST(reservoir_keeps_each_item_with_probability_slots_over_items_seen) {
  int worst = 0;
  const double chi2 = inclusion_chi2(EBM_REPLAY_RESERVOIR, &worst);
  CHECK(worst <= 5);
  CHECK(chi2 < 50 + 5 * sqrt(100.0));
  CHECK(inclusion_chi2(EBM_REPLAY_RANDOM, &worst) > 1000);
}

TEST(fifo_keeps_the_newest_items_and_appends_drawn_chains) {
  int kept[30] = {0};
  stream_items(EBM_REPLAY_FIFO, 8, 30, 3, 1, kept);
  for (int t = 0; t < 30; t++) CHECK_EQ_INT(kept[t], t >= 22);
  /* a chain drawn from a slot is a new item, its starting point stays */
  const int64_t shape[1] = {1};
  ebm_replay *rb = NULL;
  REQUIRE_OK(ebm_replay_new(4, 1, shape, 0, 0.0f, 1.0f, &rb));
  REQUIRE_OK(ebm_replay_set_policy(rb, EBM_REPLAY_FIFO));
  ebm_rng rng;
  ebm_rng_init(&rng, 2);
  float x[4] = {10, 11, 12, 13}, y[1] = {20}, held[4];
  REQUIRE_OK(ebm_replay_put(rb, x, NULL, 4, NULL, &rng));
  int64_t slot = 2;
  REQUIRE_OK(ebm_replay_put(rb, y, NULL, 1, &slot, &rng));
  REQUIRE(ebm_replay_peek(rb, -1, 4, held) == 4);
  CHECK(held[0] == 20 && held[1] == 11 && held[2] == 12 && held[3] == 13); /* the oldest (10) went */
  CHECK_FAILS_WITH(ebm_replay_set_policy(rb, (ebm_replay_policy)7), EBM_ERR_ARG, "random, reservoir or fifo");
  CHECK(ebm_replay_policy_from_name("reservoir") == EBM_REPLAY_RESERVOIR);
  CHECK(ebm_replay_policy_from_name("lifo") == -1);
  ebm_replay_free(rb);
}

/* Saves a, restores into a fresh buffer b of policy `into`. */
static ebm_status save_restore(const ebm_replay *a, ebm_replay_policy into, ebm_replay **b) {
  const int64_t shape[1] = {2};
  ebm_st_writer *w = ebm_st_writer_new();
  REQUIRE(w);
  REQUIRE_OK(ebm_replay_save(a, w));
  REQUIRE_OK(ebm_st_writer_save(w, test_path("policy.safetensors")));
  ebm_st_writer_free(w);
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(test_path("policy.safetensors"), &st));
  REQUIRE_OK(ebm_replay_new(12, 1, shape, 2, 0.0f, 1.0f, b));
  REQUIRE_OK(ebm_replay_set_policy(*b, into));
  ebm_status s = ebm_replay_restore(*b, st);
  ebm_safetensors_free(st);
  return s;
}

TEST(reservoir_and_fifo_counters_survive_save_and_restore) {
  for (int policy = EBM_REPLAY_RESERVOIR; policy <= EBM_REPLAY_FIFO; policy++) {
    const int64_t shape[1] = {2};
    ebm_replay *a = NULL, *b = NULL;
    REQUIRE_OK(ebm_replay_new(12, 1, shape, 2, 0.0f, 1.0f, &a)); /* 6 slots × 2 classes */
    REQUIRE_OK(ebm_replay_set_policy(a, (ebm_replay_policy)policy));
    float x[40 * 2];
    int32_t y[40];
    ebm_rng rng;
    ebm_rng_init(&rng, 3);
    ebm_rng_uniform(&rng, x, 80, 0.0f, 1.0f);
    for (int i = 0; i < 40; i++) y[i] = i % 3 == 0;
    REQUIRE_OK(ebm_replay_put(a, x, y, 25, NULL, &rng));
    REQUIRE_OK(save_restore(a, (ebm_replay_policy)policy, &b));
    /* both continue identically: same counters, same slots replaced */
    ebm_rng r2 = rng;
    REQUIRE_OK(ebm_replay_put(a, x + 50, y + 25, 15, NULL, &rng));
    REQUIRE_OK(ebm_replay_put(b, x + 50, y + 25, 15, NULL, &r2));
    float pa[12 * 2], pb[12 * 2];
    for (int c = 0; c < 2; c++) {
      int64_t na = ebm_replay_peek(a, c, 12, pa), nb = ebm_replay_peek(b, c, 12, pb);
      CHECK(na == nb && memcmp(pa, pb, (size_t)na * 2 * sizeof(float)) == 0);
    }
    ebm_replay_free(b);
    /* a buffer of another policy refuses the file */
    b = NULL;
    CHECK_FAILS_WITH(save_restore(a, EBM_REPLAY_RANDOM, &b), EBM_ERR_ARG, "policy is");
    ebm_replay_free(b);
    ebm_replay_free(a);
  }
}
