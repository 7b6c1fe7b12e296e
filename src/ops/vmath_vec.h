/* ops/vmath_vec.h — internal: vmath.h's e^x (x ≤ 0), sigmoid, swish and
 * swish' on a vector of floats at a time, written once with GCC / Clang vector
 * extensions (core/vec.h) and no intrinsics, so the same source compiles to
 * SSE2 on baseline x86-64, to AVX2 under -march=native, and to NEON on ARM.
 *
 * Why: gcc does not vectorise vmath.h's branch-free scalar code below
 * AVX-512 (it cannot if-convert the selects without mask registers), so
 * the portable path ran its swish one float at a time, slower than the
 * convolutions around it.
 *
 * Same bits: every lane performs vmath.h's sequence of IEEE operations
 * (mul, add, sub, div; the selects are bitwise and / or on the comparison
 * masks, the float → int step is a truncation as the scalar cast), and
 * vec_madd fuses exactly where OPS_MADD does — per lane fmaf when the build
 * has FP_FAST_FMAF, else an unfused mul + add (ISO C mode does not
 * contract them). So a lane gives the bits of the scalar function for every
 * input, NaN included (tests/ops/test_swish_sweep.c sweeps the float bit
 * patterns). */
#ifndef EBM_OPS_VMATH_VEC_H
#define EBM_OPS_VMATH_VEC_H

#include "core/vec.h"
#include "ops/vmath.h"

#ifdef FP_FAST_FMAF /* as OPS_MADD: gcc turns the lane loop into vector FMAs */
VEC_INLINE vec_f vec_madd(vec_f a, vec_f b, vec_f c) {
  vec_f r;
  for (int k = 0; k < VEC_LANES; k++) r[k] = fmaf(a[k], b[k], c[k]);
  return r;
}
#else
VEC_INLINE vec_f vec_madd(vec_f a, vec_f b, vec_f c) { return a * b + c; }
#endif

/* ops_exp_nonpositive, lane by lane. */
VEC_INLINE vec_f vec_exp_nonpositive(vec_f x) {
  const vec_f lo = vec_splat(-87.3f), magic = vec_splat(12582912.0f);
  const vec_i in_range = x >= lo, below = x < lo; /* a NaN is neither */
  const vec_f xc = vec_select(in_range, x, lo);
  const vec_f n = (xc * vec_splat(1.44269504088896341f) + magic) - magic;
  vec_f r = vec_madd(n, vec_splat(-0.693359375f), xc);
  r = vec_madd(n, vec_splat(2.12194440e-4f), r);
  vec_f p = vec_splat(1.9875691500e-4f);
  p = vec_madd(p, r, vec_splat(1.3981999507e-3f));
  p = vec_madd(p, r, vec_splat(8.3334519073e-3f));
  p = vec_madd(p, r, vec_splat(4.1665795894e-2f));
  p = vec_madd(p, r, vec_splat(1.6666665459e-1f));
  p = vec_madd(p, r, vec_splat(5.0000001201e-1f));
  p = vec_madd(p, r * r, r) + vec_splat(1.0f);
  const vec_i bits = (__builtin_convertvector(n, vec_i) + 127) << 23;
  const vec_f scaled = p * (vec_f)bits;
  return vec_select(in_range, scaled, vec_select(below, vec_splat(0.0f), x));
}

/* ops_sigmoid, lane by lane. */
VEC_INLINE vec_f vec_sigmoid(vec_f x) {
  const vec_i negative = x < vec_splat(0.0f);
  const vec_f t = vec_exp_nonpositive(vec_select(negative, x, -x));
  const vec_f inv = vec_splat(1.0f) / (vec_splat(1.0f) + t);
  return vec_select(negative, t * inv, inv);
}

/* ops_swish_grad from s = σ(x): s·(1 + x·(1 − s)). */
VEC_INLINE vec_f vec_swish_grad_of(vec_f x, vec_f s) {
  return s * (vec_splat(1.0f) + x * (vec_splat(1.0f) - s));
}

#endif
