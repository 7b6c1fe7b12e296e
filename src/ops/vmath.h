/* ops/vmath.h — internal: branch-free float math that gcc vectorises
 * without -ffast-math (libm's expf is a call that sets errno, which stops
 * the vectoriser). Every operation is an IEEE one (no contraction happens in
 * ISO C mode), so the vector loop, its scalar tail and a fused kernel give
 * the same bits for the same input. Where the target has fast FMA
 * (FP_FAST_FMAF, e.g. -march=native on x86-64) the polynomial uses fmaf —
 * twice as fast — so results are reproducible per build, not across builds
 * with and without FMA. */
#ifndef EBM_OPS_VMATH_H
#define EBM_OPS_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef FP_FAST_FMAF
#define OPS_MADD(a, b, c) fmaf((a), (b), (c))
#else
#define OPS_MADD(a, b, c) ((a) * (b) + (c))
#endif

/* e^x for x ≤ 0 (Cephes expf: x = n·ln2 + r, |r| ≤ ln2/2, degree-6
 * minimax polynomial for e^r, 2^n from the exponent bits); within 2 ulp
 * of libm's expf. Below −87.3 (where 2^n would be denormal) it returns 0. */
static inline float ops_exp_nonpositive(float x) {
  const float lo = -87.3f;
  /* A NaN compares false both ways: it is computed as lo (no conversion of
   * a NaN to int below) and returned as itself, so a NaN activation stays
   * NaN for the network's non-finite check to name its layer. */
  float xc = x >= lo ? x : lo;
  /* round(x / ln2) with the 1.5·2^23 trick (exact in ISO C: no reassociation) */
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = OPS_MADD(n, -0.693359375f, xc); /* ln2 in two parts: r is exact-ish */
  r = OPS_MADD(n, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = OPS_MADD(p, r, 1.3981999507e-3f);
  p = OPS_MADD(p, r, 8.3334519073e-3f);
  p = OPS_MADD(p, r, 4.1665795894e-2f);
  p = OPS_MADD(p, r, 1.6666665459e-1f);
  p = OPS_MADD(p, r, 5.0000001201e-1f);
  p = OPS_MADD(p, r * r, r) + 1.0f;
  /* n is in [−126, 0] here, so the biased exponent is positive */
  uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return x >= lo ? p * scale : (x < lo ? 0.0f : x);
}

/* σ(x) = 1 / (1 + e^−x), from e^−|x| so that neither tail overflows. */
static inline float ops_sigmoid(float x) {
  float t = ops_exp_nonpositive(x < 0.0f ? x : -x);
  float inv = 1.0f / (1.0f + t);
  return x < 0.0f ? t * inv : inv;
}

/* Swish (Ramachandran et al. 2017; IGEBM's activation): x·σ(x). */
static inline float ops_swish(float x) { return x * ops_sigmoid(x); }

/* d(x·σ(x))/dx = σ(x)·(1 + x·(1 − σ(x))). */
static inline float ops_swish_grad(float x) {
  float s = ops_sigmoid(x);
  return s * (1.0f + x * (1.0f - s));
}

#endif
