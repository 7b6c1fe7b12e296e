#include "test.h"

/* Known-answer vectors from the Random123 distribution (kat_vectors). */
TEST(philox4x32_10_matches_known_answers) {
  uint32_t r[4];
  ebm_philox4x32(0, 0, 0, r);
  CHECK(r[0] == 0x6627e8d5u && r[1] == 0xe169c58du && r[2] == 0xbc57ac4cu && r[3] == 0x9b00dbd8u);
  ebm_philox4x32(0xffffffffffffffffull, 0xffffffffffffffffull, 0xffffffffffffffffull, r);
  CHECK(r[0] == 0x408f276du && r[1] == 0x41c83b0eu && r[2] == 0xa20bc7c6u && r[3] == 0x6d5451fdu);
  ebm_philox4x32(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull, r);
  CHECK(r[0] == 0xd16cfe09u && r[1] == 0x94fdccebu && r[2] == 0x5001e420u && r[3] == 0x24126ea1u);
}

static void fill_both(int threads, float *u, float *z, int64_t n, ebm_rng *end_state) {
  REQUIRE_OK(ebm_threads_init(threads));
  ebm_rng rng;
  ebm_rng_init(&rng, 1234);
  ebm_rng_uniform(&rng, u, n, -1.0f, 1.0f);
  ebm_rng_normal(&rng, z, n, 0.0f, 1.0f);
  *end_state = rng;
}

TEST(rng_fills_are_identical_at_one_and_two_threads) {
  const int64_t n = 100003; /* odd: a partial last block */
  float *u1 = ebm_alloc(n, 4), *z1 = ebm_alloc(n, 4), *u2 = ebm_alloc(n, 4), *z2 = ebm_alloc(n, 4);
  ebm_rng s1, s2;
  fill_both(1, u1, z1, n, &s1);
  fill_both(2, u2, z2, n, &s2);
  CHECK(memcmp(u1, u2, n * 4) == 0);
  CHECK(memcmp(z1, z2, n * 4) == 0);
  CHECK(s1.counter == s2.counter);
  ebm_free(u1), ebm_free(z1), ebm_free(u2), ebm_free(z2);
}

TEST(rng_state_restores_the_same_stream) {
  ebm_rng a;
  ebm_rng_init(&a, 7);
  float first[10], again[10];
  ebm_rng_normal(&a, first, 10, 0, 1);
  ebm_rng saved = a;
  ebm_rng_normal(&a, first, 10, 0, 1);
  ebm_rng_normal(&saved, again, 10, 0, 1);
  CHECK(memcmp(first, again, sizeof first) == 0);
}

TEST(rng_normal_fill_has_mean_zero_variance_one) {
  const int64_t n = 1 << 20;
  float *z = ebm_alloc(n, 4);
  ebm_rng rng;
  ebm_rng_init(&rng, 99);
  ebm_rng_normal(&rng, z, n, 2.0f, 3.0f);
  double s = 0, s2 = 0, s4 = 0;
  for (int64_t i = 0; i < n; i++) s += z[i];
  double mean = s / n;
  for (int64_t i = 0; i < n; i++) {
    double d = z[i] - mean;
    s2 += d * d;
    s4 += d * d * d * d;
  }
  double var = s2 / n, kurt = s4 / n / (var * var);
  /* 5 standard errors: se(mean) = 3/sqrt(n), se(var) = 9*sqrt(2/n). */
  CHECK_NEAR(mean, 2.0, 5 * 3.0 / sqrt((double)n));
  CHECK_NEAR(var, 9.0, 5 * 9.0 * sqrt(2.0 / n));
  CHECK_NEAR(kurt, 3.0, 0.05);
  ebm_free(z);
}

TEST(rng_uniform_fill_is_in_range_and_flat) {
  const int64_t n = 1 << 20;
  float *u = ebm_alloc(n, 4);
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  ebm_rng_uniform(&rng, u, n, -1.0f, 1.0f);
  int64_t bins[10] = {0};
  for (int64_t i = 0; i < n; i++) {
    REQUIRE(u[i] >= -1.0f && u[i] < 1.0f);
    bins[(int)((u[i] + 1.0f) * 5.0f)]++;
  }
  double chi2 = 0, expect = n / 10.0;
  for (int b = 0; b < 10; b++) chi2 += (bins[b] - expect) * (bins[b] - expect) / expect;
  CHECK(chi2 < 27.9); /* chi-square, 9 dof, p = 0.001 */
  ebm_free(u);
}

TEST(rng_below_is_unbiased_and_in_range) {
  ebm_rng rng;
  ebm_rng_init(&rng, 11);
  int64_t counts[3] = {0};
  for (int i = 0; i < 30000; i++) {
    uint32_t v = ebm_rng_below(&rng, 3);
    REQUIRE(v < 3);
    counts[v]++;
  }
  for (int k = 0; k < 3; k++) CHECK_NEAR(counts[k], 10000, 5 * sqrt(30000 * (1 / 3.0) * (2 / 3.0)));
}

TEST(rng_split_streams_differ_from_parent_and_each_other) {
  ebm_rng a;
  ebm_rng_init(&a, 3);
  ebm_rng s1 = ebm_rng_split(&a, 1), s2 = ebm_rng_split(&a, 2);
  CHECK(s1.seed != s2.seed && s1.seed != a.seed);
  CHECK(ebm_rng_u32(&s1) != ebm_rng_u32(&s2));
}

TEST(rng_shuffle_is_a_permutation) {
  int64_t idx[100];
  for (int i = 0; i < 100; i++) idx[i] = i;
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  ebm_rng_shuffle(&rng, idx, 100);
  int seen[100] = {0}, moved = 0;
  for (int i = 0; i < 100; i++) {
    seen[idx[i]]++;
    moved += idx[i] != i;
  }
  for (int i = 0; i < 100; i++) CHECK_EQ_INT(seen[i], 1);
  CHECK(moved > 50);
}
