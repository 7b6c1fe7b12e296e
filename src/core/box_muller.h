/* core/box_muller.h — internal: the Box–Muller transform of the normal
 * fills (rng.c), in scalar C, in portable vector C (core/vec.h: the generic
 * path) and with AVX2, the same IEEE operations in the same order, so all
 * three give the same bits for every input.
 *
 * Why not libm: logf and sincosf are scalar calls, and they were ~5 % of a
 * Langevin step at 1 thread (the noise of 100 000 pixels per step). Here the
 * logarithm is Cephes' logf polynomial and the sine and cosine come from
 * the angle's integer bits: the quadrant is its top two bits, the rest is an
 * exact offset in [−π/4, π/4) for Cephes' sinf / cosf polynomials, so there
 * is no floating-point range reduction at all. Only mul, add, sub and sqrt
 * are used (no FMA: ISO C does not contract them), so the noise is the same
 * on every path and with or without -march. Accuracy: within one float
 * ulp of ln u1 and of (cos, sin)(2π·u2) (tests/core/test_box_muller.c). */
#ifndef EBM_CORE_BOX_MULLER_H
#define EBM_CORE_BOX_MULLER_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/vec.h"

#define BM_SQRT_HALF 0.70710678118654752440f
#define BM_LN2_HI 0.693359375f     /* ln 2 in two parts: e·LN2_HI is exact */
#define BM_LN2_LO -2.12194440e-4f
#define BM_ANGLE_STEP (1.57079632679489661923f / 4194304.0f) /* (π/2) / 2^22 */

/* The polynomials, written once for float and for vec_f (T; SPLAT(c)
 * makes a T of c, and the vector extensions broadcast the other scalar
 * constants), so the scalar and the portable vector paths run the same
 * operations in the same order by construction.
 * log: ln m = x + (x³·P(x) + e·LN2_LO − x²/2) + e·LN2_HI, for x = m − 1 and
 * z = x², fe = e as a float. */
#define BM_DEFINE_LOG_POLY(QUAL, T, NAME, SPLAT)                \
  QUAL T NAME(T x, T z, T fe) {                                 \
    T y = SPLAT(7.0376836292e-2f);                              \
    y = y * x + -1.1514610310e-1f;                              \
    y = y * x + 1.1676998740e-1f;                               \
    y = y * x + -1.2420140846e-1f;                              \
    y = y * x + 1.4249322787e-1f;                               \
    y = y * x + -1.6668057665e-1f;                              \
    y = y * x + 2.0000714765e-1f;                               \
    y = y * x + -2.4999993993e-1f;                              \
    y = y * x + 3.3333331174e-1f;                               \
    y = (y * x) * z;                                            \
    y = y + fe * BM_LN2_LO;                                     \
    y = y - 0.5f * z;                                           \
    x = x + y;                                                  \
    return x + fe * BM_LN2_HI;                                  \
  }
/* sin and cos of an offset x in [−π/4, π/4) (Cephes sinf / cosf), z = x². */
#define BM_DEFINE_SINCOS_POLY(QUAL, T, NAME, SPLAT)             \
  QUAL void NAME(T x, T z, T *s, T *c) {                        \
    T ps = SPLAT(-1.9515295891e-4f);                            \
    ps = ps * z + 8.3321608736e-3f;                             \
    ps = ps * z + -1.6666654611e-1f;                            \
    *s = (ps * z) * x + x;                                      \
    T pc = SPLAT(2.443315711809948e-5f);                        \
    pc = pc * z + -1.388731625493765e-3f;                       \
    pc = pc * z + 4.166664568298827e-2f;                        \
    *c = ((pc * z) * z - 0.5f * z) + 1.0f;                      \
  }
#define BM_FLOAT(c) (c)
BM_DEFINE_LOG_POLY(static inline, float, bm_log_poly, BM_FLOAT)
BM_DEFINE_SINCOS_POLY(static inline, float, bm_sincos_poly, BM_FLOAT)
BM_DEFINE_LOG_POLY(VEC_INLINE, vec_f, bm_log_poly_vec, vec_splat)
BM_DEFINE_SINCOS_POLY(VEC_INLINE, vec_f, bm_sincos_poly_vec, vec_splat)
#undef BM_FLOAT

/* ln u for a positive normal float u (Cephes logf: u = m·2^e with m in
 * [√½, √2), ln m = x − x²/2 + x³·P(x), x = m − 1). */
static inline float bm_log(float u) {
  uint32_t bits;
  memcpy(&bits, &u, sizeof bits);
  int32_t e = (int32_t)(bits >> 23) - 126; /* u = m·2^e, m in [½, 1) */
  uint32_t mbits = (bits & 0x007fffffu) | 0x3f000000u;
  float m;
  memcpy(&m, &mbits, sizeof m);
  const int small = m < BM_SQRT_HALF;
  float x = small ? (m + m) - 1.0f : m - 1.0f;
  e -= small;
  return bm_log_poly(x, x * x, (float)e);
}

/* sin and cos of 2π·v/2^24 for a 24-bit v: quadrant q = round(v / 2^22)
 * mod 4, angle offset d·(π/2)/2^22 with the integer d in [−2^21, 2^21). */
static inline void bm_sincos(uint32_t v, float *sin_out, float *cos_out) {
  const uint32_t t = v + (1u << 21), q = (t >> 22) & 3u;
  const int32_t d = (int32_t)(t & ((1u << 22) - 1u)) - (1 << 21);
  const float x = (float)d * BM_ANGLE_STEP;
  float s, c;
  bm_sincos_poly(x, x * x, &s, &c);
  /* rotate by q quarter turns: (cos, sin) = (c, s), (−s, c), (−c, −s), (s, −c) */
  float cq = (q & 1u) ? s : c, sq = (q & 1u) ? c : s;
  *cos_out = ((q + 1u) & 2u) ? -cq : cq;
  *sin_out = (q & 2u) ? -sq : sq;
}

/* Two independent standard normals from two Philox words: the radius from
 * u1 = (r1 >> 8 + 1)/2^24 in (0, 1] (safe for the log), the angle from
 * u2 = (r2 >> 8)/2^24 in [0, 1). */
static inline void bm_pair(uint32_t r1, uint32_t r2, float *z_cos, float *z_sin) {
  const float u1 = ((float)(r1 >> 8) + 1.0f) * (1.0f / 16777216.0f);
  const float radius = sqrtf(-2.0f * bm_log(u1));
  float s, c;
  bm_sincos(r2 >> 8, &s, &c);
  *z_cos = radius * c;
  *z_sin = radius * s;
}

/* bm_log, lane by lane (portable vector C). */
VEC_INLINE vec_f bm_log_vec(vec_f u) {
  const vec_u bits = (vec_u)u;
  vec_i e = (vec_i)(bits >> 23) - 126;
  const vec_f m = (vec_f)((bits & 0x007fffffu) | 0x3f000000u);
  const vec_i small = m < vec_splat(BM_SQRT_HALF);
  vec_f x = vec_select(small, (m + m) - 1.0f, m - 1.0f);
  e += small; /* the mask is −1 where small */
  return bm_log_poly_vec(x, x * x, __builtin_convertvector(e, vec_f));
}

/* bm_sincos, lane by lane (portable vector C). */
VEC_INLINE void bm_sincos_vec(vec_u v, vec_f *sin_out, vec_f *cos_out) {
  const vec_u t = v + (1u << 21), q = (t >> 22) & 3u;
  const vec_i d = (vec_i)(t & ((1u << 22) - 1u)) - (1 << 21);
  const vec_f x = __builtin_convertvector(d, vec_f) * BM_ANGLE_STEP;
  vec_f s, c;
  bm_sincos_poly_vec(x, x * x, &s, &c);
  const vec_i swap = (vec_i)((q & 1u) != 0u);
  const vec_f cq = vec_select(swap, s, c), sq = vec_select(swap, c, s);
  /* the negations as sign flips: bit 1 of q + 1 for the cosine, of q for the sine */
  *cos_out = (vec_f)((vec_u)cq ^ (((q + 1u) & 2u) << 30));
  *sin_out = (vec_f)((vec_u)sq ^ ((q & 2u) << 30));
}

/* bm_pair, lane by lane (portable vector C). sqrtf per lane: rng.c is built
 * with -fno-math-errno (CMakeLists.txt), so gcc makes it one vector square
 * root — correctly rounded, as sqrtf. */
VEC_INLINE void bm_pair_vec(vec_u r1, vec_u r2, vec_f *z_cos, vec_f *z_sin) {
  const vec_f u1 = (__builtin_convertvector((vec_i)(r1 >> 8), vec_f) + 1.0f) * (1.0f / 16777216.0f);
  const vec_f l = -2.0f * bm_log_vec(u1);
  vec_f radius;
  for (int k = 0; k < VEC_LANES; k++) radius[k] = sqrtf(l[k]);
  vec_f s, c;
  bm_sincos_vec(r2 >> 8, &s, &c);
  *z_cos = radius * c;
  *z_sin = radius * s;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* bm_log, lane by lane. */
__attribute__((target("avx2"))) static inline __m256 bm_log8(__m256 u) {
  const __m256i bits = _mm256_castps_si256(u);
  __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126));
  const __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
      _mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f000000)));
  const __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(BM_SQRT_HALF), _CMP_LT_OQ);
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 x = _mm256_blendv_ps(_mm256_sub_ps(m, one), _mm256_sub_ps(_mm256_add_ps(m, m), one), small);
  e = _mm256_add_epi32(e, _mm256_castps_si256(small)); /* the mask is −1 where small */
  const __m256 fe = _mm256_cvtepi32_ps(e), z = _mm256_mul_ps(x, x);
#define BM_STEP(y, c) _mm256_add_ps(_mm256_mul_ps((y), x), _mm256_set1_ps(c))
  __m256 y = _mm256_set1_ps(7.0376836292e-2f);
  y = BM_STEP(y, -1.1514610310e-1f);
  y = BM_STEP(y, 1.1676998740e-1f);
  y = BM_STEP(y, -1.2420140846e-1f);
  y = BM_STEP(y, 1.4249322787e-1f);
  y = BM_STEP(y, -1.6668057665e-1f);
  y = BM_STEP(y, 2.0000714765e-1f);
  y = BM_STEP(y, -2.4999993993e-1f);
  y = BM_STEP(y, 3.3333331174e-1f);
#undef BM_STEP
  y = _mm256_mul_ps(_mm256_mul_ps(y, x), z);
  y = _mm256_add_ps(y, _mm256_mul_ps(fe, _mm256_set1_ps(BM_LN2_LO)));
  y = _mm256_sub_ps(y, _mm256_mul_ps(_mm256_set1_ps(0.5f), z));
  x = _mm256_add_ps(x, y);
  return _mm256_add_ps(x, _mm256_mul_ps(fe, _mm256_set1_ps(BM_LN2_HI)));
}

/* bm_sincos, lane by lane. */
__attribute__((target("avx2"))) static inline void bm_sincos8(__m256i v, __m256 *sin_out,
                                                            __m256 *cos_out) {
  const __m256i t = _mm256_add_epi32(v, _mm256_set1_epi32(1 << 21));
  const __m256i q = _mm256_and_si256(_mm256_srli_epi32(t, 22), _mm256_set1_epi32(3));
  const __m256i d = _mm256_sub_epi32(_mm256_and_si256(t, _mm256_set1_epi32((1 << 22) - 1)),
                                     _mm256_set1_epi32(1 << 21));
  const __m256 x = _mm256_mul_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(BM_ANGLE_STEP));
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 ps = _mm256_set1_ps(-1.9515295891e-4f);
  ps = _mm256_add_ps(_mm256_mul_ps(ps, z), _mm256_set1_ps(8.3321608736e-3f));
  ps = _mm256_add_ps(_mm256_mul_ps(ps, z), _mm256_set1_ps(-1.6666654611e-1f));
  const __m256 s = _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(ps, z), x), x);
  __m256 pc = _mm256_set1_ps(2.443315711809948e-5f);
  pc = _mm256_add_ps(_mm256_mul_ps(pc, z), _mm256_set1_ps(-1.388731625493765e-3f));
  pc = _mm256_add_ps(_mm256_mul_ps(pc, z), _mm256_set1_ps(4.166664568298827e-2f));
  const __m256 c = _mm256_add_ps(
      _mm256_sub_ps(_mm256_mul_ps(_mm256_mul_ps(pc, z), z), _mm256_mul_ps(_mm256_set1_ps(0.5f), z)),
      _mm256_set1_ps(1.0f));
  const __m256i one = _mm256_set1_epi32(1), two = _mm256_set1_epi32(2);
  const __m256 swap = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(q, one), one));
  const __m256 cq = _mm256_blendv_ps(c, s, swap), sq = _mm256_blendv_ps(s, c, swap);
  /* sign bits: bit 1 of q + 1 for the cosine, bit 1 of q for the sine, moved to bit 31 */
  const __m256i cos_sign = _mm256_slli_epi32(_mm256_and_si256(_mm256_add_epi32(q, one), two), 30);
  const __m256i sin_sign = _mm256_slli_epi32(_mm256_and_si256(q, two), 30);
  *cos_out = _mm256_xor_ps(cq, _mm256_castsi256_ps(cos_sign));
  *sin_out = _mm256_xor_ps(sq, _mm256_castsi256_ps(sin_sign));
}

/* bm_pair, lane by lane. */
__attribute__((target("avx2"))) static inline void bm_pair8(__m256i r1, __m256i r2, __m256 *z_cos,
                                                          __m256 *z_sin) {
  const __m256 u1 = _mm256_mul_ps(
      _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(r1, 8)), _mm256_set1_ps(1.0f)),
      _mm256_set1_ps(1.0f / 16777216.0f));
  const __m256 radius = _mm256_sqrt_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f), bm_log8(u1)));
  __m256 s, c;
  bm_sincos8(_mm256_srli_epi32(r2, 8), &s, &c);
  *z_cos = _mm256_mul_ps(radius, c);
  *z_sin = _mm256_mul_ps(radius, s);
}
#endif

#endif
