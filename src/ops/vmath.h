/* ops/vmath.h — internal: branch-free float math that gcc vectorises
 * without -ffast-math (libm's expf is a call that sets errno, which stops
 * the vectoriser). Plain multiplies and adds (no fmaf, no contraction in
 * ISO C mode), so the vector loop, its scalar tail, a fused kernel and an
 * unoptimised build all give the same bits for the same input. */
#ifndef EBM_OPS_VMATH_H
#define EBM_OPS_VMATH_H

#include <stdint.h>
#include <string.h>

/* e^x for x ≤ 0 (Cephes expf: x = n·ln2 + r, |r| ≤ ln2/2, degree-6
 * minimax polynomial for e^r, 2^n from the exponent bits); within 2 ulp
 * of libm's expf. Below −87.3 (where 2^n would be denormal) it returns 0. */
static inline float ops_exp_nonpositive(float x) {
  const float lo = -87.3f;
  float xc = x < lo ? lo : x;
  /* round(x / ln2) with the 1.5·2^23 trick (exact in ISO C: no reassociation) */
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  int32_t bits = ((int32_t)n + 127) * (1 << 23);
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return x < lo ? 0.0f : p * scale;
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
