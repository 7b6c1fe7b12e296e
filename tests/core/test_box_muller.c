/* The Box–Muller transform of the normal fills (core/box_muller.h): its
 * scalar log and sine / cosine are within one float ulp of the exact values
 * (0.68 and 0.76 ulp at worst when written), and the portable vector and
 * AVX2 versions give the scalar one's bits lane by lane. */
#include <math.h>

#include "core/box_muller.h"
#include "test.h"

#define ULP_1 (1.0 / 8388608.0) /* 2^-23: one float ulp at 1 */

TEST(box_muller_log_is_within_one_ulp_of_ln_on_every_unit_input) {
  /* every u1 = k/2^24 the fill can draw, k in [1, 2^24] */
  double worst = 0;
  for (uint32_t k = 1; k <= (1u << 24); k++) {
    const float u = (float)k * (1.0f / 16777216.0f);
    const double want = log((double)u), got = bm_log(u);
    /* ulp of the result, never below the ulp of a value near 2^-24 */
    const double ulp = fmax(fabs(want), 1.0 / 16777216.0) * ULP_1;
    const double err = fabs(got - want) / ulp;
    if (err > worst) worst = err;
  }
  printf("    worst log error %.2f ulp\n", worst);
  CHECK(worst <= 1.0);
  CHECK(bm_log(1.0f) == 0.0f);
}

TEST(box_muller_sincos_is_within_one_ulp_of_the_exact_angle) {
  double worst = 0;
  for (uint32_t v = 0; v < (1u << 24); v += 3) {
    float s, c;
    bm_sincos(v, &s, &c);
    const double angle = 6.283185307179586476925 * (double)v / 16777216.0;
    /* absolute error in units of an ulp at 1 (sin and cos are ≤ 1) */
    const double err = fmax(fabs(s - sin(angle)), fabs(c - cos(angle))) / ULP_1;
    if (err > worst) worst = err;
  }
  printf("    worst sin/cos error %.2f ulp of 1\n", worst);
  CHECK(worst <= 1.0);
  float s, c;
  bm_sincos(0, &s, &c); /* exact at the quarter turns */
  CHECK(s == 0.0f && c == 1.0f);
  bm_sincos(1u << 22, &s, &c);
  CHECK(s == 1.0f && c == 0.0f);
  bm_sincos(3u << 22, &s, &c);
  CHECK(s == -1.0f && c == 0.0f);
}

/* 8 pairs through a vector bm_pair, into z_cos[8], z_sin[8]. */
typedef void pair8_fn(const uint32_t *r1, const uint32_t *r2, float *z_cos, float *z_sin);

/* Lanes whose bm_pair bits differ from the scalar one's: the ends of both
 * ranges and the quadrant boundaries, then Philox words, 40 000 × 8 pairs. */
static int64_t pair8_mismatches(pair8_fn *pair8) {
  const uint32_t edges[] = {0u, 0xffu, 0x100u, 0xffffff00u, 0xffffffffu, (1u << 29) - 256u,
                            1u << 29, (1u << 29) + 256u, 0x3fffff00u, 0x40000000u, 0x7fffffffu,
                            0x80000000u, 0xbfffff00u, 0xc0000000u, 0xdfffff00u, 0xe0000000u};
  int64_t mismatches = 0;
  for (uint64_t blk = 0; blk < 40000; blk++) {
    uint32_t r1[8], r2[8];
    for (int lane = 0; lane < 8; lane += 4) {
      uint32_t r[4];
      ebm_philox4x32(42, 0, blk * 2 + (uint64_t)lane / 4, r);
      for (int w = 0; w < 4; w++) {
        r1[lane + w] = blk < 16 ? edges[(blk + (uint64_t)(lane + w)) % 16] : r[w];
        r2[lane + w] = blk < 16 ? edges[(blk * 3 + (uint64_t)(lane + w)) % 16] : r[3 - w];
      }
    }
    float vc[8], vs[8];
    pair8(r1, r2, vc, vs);
    for (int lane = 0; lane < 8; lane++) {
      float c, s;
      bm_pair(r1[lane], r2[lane], &c, &s);
      mismatches += memcmp(&c, &vc[lane], 4) != 0 || memcmp(&s, &vs[lane], 4) != 0;
    }
  }
  return mismatches;
}

/* The generic path's portable vector version (core/vec.h), 8 lanes whatever
 * the target's width. */
static void pair8_vec(const uint32_t *r1, const uint32_t *r2, float *z_cos, float *z_sin) {
  for (int at = 0; at < 8; at += VEC_LANES) {
    vec_u a, b;
    memcpy(&a, r1 + at, sizeof a);
    memcpy(&b, r2 + at, sizeof b);
    vec_f c, s;
    bm_pair_vec(a, b, &c, &s);
    vec_store(z_cos + at, c);
    vec_store(z_sin + at, s);
  }
}

TEST(box_muller_portable_vector_lanes_give_the_scalar_bits) {
  CHECK(pair8_mismatches(pair8_vec) == 0);
  /* every 24-bit radius input and every 24-bit angle (the bits the fill uses), in pairs */
  int64_t mismatches = 0;
  for (uint32_t k = 0; k < (1u << 24); k += 8) {
    uint32_t r1[8], r2[8];
    for (uint32_t lane = 0; lane < 8; lane++) {
      r1[lane] = (k + lane) << 8 | (lane * 37u & 0xffu); /* the low 8 bits are dropped */
      r2[lane] = ((k + lane) * 2654435761u & 0xffffffu) << 8;
    }
    float vc[8], vs[8];
    pair8_vec(r1, r2, vc, vs);
    for (int lane = 0; lane < 8; lane++) {
      float c, s;
      bm_pair(r1[lane], r2[lane], &c, &s);
      mismatches += memcmp(&c, &vc[lane], 4) != 0 || memcmp(&s, &vs[lane], 4) != 0;
    }
  }
  CHECK(mismatches == 0);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void pair8_avx2(const uint32_t *r1, const uint32_t *r2,
                                                       float *z_cos, float *z_sin) {
  __m256 c, s;
  bm_pair8(_mm256_loadu_si256((const __m256i *)r1), _mm256_loadu_si256((const __m256i *)r2), &c, &s);
  _mm256_storeu_ps(z_cos, c);
  _mm256_storeu_ps(z_sin, s);
}

TEST(box_muller_avx2_lanes_give_the_scalar_bits) {
  if (!ebm_isa_supported(EBM_ISA_AVX2)) {
    printf("    this CPU has no AVX2: skipped\n");
    return;
  }
  CHECK(pair8_mismatches(pair8_avx2) == 0);
}
#endif
