/* The wide Philox paths of the fills (rng.c: 16 blocks at a time with
 * AVX-512 / AVX2 and the AVX2 Box–Muller; a vector of blocks at a time in
 * portable vector C on the generic path) give exactly the numbers of the
 * scalar definition: block k of the stream is ebm_philox4x32(seed, 0, k),
 * mapped element by element (the normals by box_muller.h's scalar bm_pair)
 * — including runs that straddle a 2^32 counter boundary (the carry into
 * the high word, at and between vector lanes) and short tails that take
 * the scalar path. The suite runs this under every path (test_isa.c). */
#include <math.h>

#include "core/box_muller.h"
#include "test.h"

static float unit(uint32_t u) { return (float)(u >> 8) * (1.0f / 16777216.0f); }

/* the scalar definition, block by block, written out independently of rng.c's loops */
static void reference(uint64_t seed, uint64_t counter, int64_t n, int normal, float *out) {
  for (int64_t b = 0; b * 4 < n; b++) {
    uint32_t r[4];
    ebm_philox4x32(seed, 0, counter + (uint64_t)b, r);
    float z[4];
    bm_pair(r[0], r[1], &z[0], &z[1]);
    bm_pair(r[2], r[3], &z[2], &z[3]);
    for (int l = 0; l < 4 && b * 4 + l < n; l++)
      out[b * 4 + l] = normal ? 0.5f + 2.0f * z[l] : -1.0f + 2.0f * unit(r[l]);
  }
}

TEST(rng_fills_match_the_scalar_philox_definition_bit_for_bit) {
  const uint64_t counters[] = {0, 5, 0xfffffff8ull, 0xfffffffdull, 0x1fffffff0ull};
  const int64_t sizes[] = {1, 63, 64, 65, 1000, 70001};
  float *got = ebm_alloc(70001, 4), *want = ebm_alloc(70001, 4);
  REQUIRE(got && want);
  for (int t = 1; t <= 2; t++) {
    REQUIRE_OK(ebm_threads_init(t));
    for (size_t c = 0; c < sizeof counters / sizeof *counters; c++)
      for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (int normal = 0; normal <= 1; normal++) {
          ebm_rng rng;
          ebm_rng_init(&rng, 0x9e3779b97f4a7c15ull + c);
          rng.counter = counters[c];
          if (normal) ebm_rng_normal(&rng, got, sizes[s], 0.5f, 2.0f);
          else ebm_rng_uniform(&rng, got, sizes[s], -1.0f, 1.0f);
          reference(0x9e3779b97f4a7c15ull + c, counters[c], sizes[s], normal, want);
          CHECK(memcmp(got, want, (size_t)sizes[s] * 4) == 0);
          CHECK(rng.counter == counters[c] + (uint64_t)(sizes[s] + 3) / 4);
        }
  }
  REQUIRE_OK(ebm_threads_init(0));
  ebm_free(got);
  ebm_free(want);
}
