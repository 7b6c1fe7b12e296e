/* Swish, sigmoid and their gradients over arrays — swish is the activation
 * of every uva-cnn and IGEBM layer, so a large share of a Langevin step. gcc does not vectorise
 * vmath.h's branch-free scalar code below AVX-512 (it can only if-convert
 * the selects with AVX-512 masks), and the scalar loop ran at ~12 ns an
 * element on a Zen 3. So the same sequence of IEEE operations runs a vector
 * at a time: on the generic path in portable vector C (vmath_vec.h: SSE2,
 * NEON or AVX2, whatever the build targets), on the avx2 path with AVX2
 * intrinsics. Both give the same bits as ops_swish / ops_swish_grad for
 * every input (tested; a NaN stays a NaN, its sign may differ), vector body
 * and tail alike. The avx512 path keeps the scalar loop, which gcc
 * vectorises with AVX-512 masks. The sigmoid has no intrinsics version: it
 * takes the portable one on the avx2 path too. */
#include "ebm/core.h"
#include "ops/swish_simd.h"
#include "ops/vmath.h"
#include "ops/vmath_vec.h"

/* The portable kernels: whole vectors of x; the callers finish the tail
 * with the scalar functions. Return the elements done. */
static int64_t swish_vec(int64_t count, const float *x, float *y) {
  int64_t i = 0;
  for (; i + VEC_LANES <= count; i += VEC_LANES) {
    const vec_f v = vec_load(x + i);
    vec_store(y + i, v * vec_sigmoid(v));
  }
  return i;
}

static int64_t swish_grad_vec(int64_t count, const float *x, const float *dy, float *dx) {
  int64_t i = 0;
  for (; i + VEC_LANES <= count; i += VEC_LANES) {
    const vec_f v = vec_load(x + i);
    vec_store(dx + i, vec_load(dy + i) * vec_swish_grad_of(v, vec_sigmoid(v)));
  }
  return i;
}

static int64_t swish_gate_vec(int64_t count, const float *x, float *y, float *gate) {
  int64_t i = 0;
  for (; i + VEC_LANES <= count; i += VEC_LANES) {
    const vec_f v = vec_load(x + i), s = vec_sigmoid(v);
    vec_store(y + i, v * s);
    vec_store(gate + i, vec_swish_grad_of(v, s));
  }
  return i;
}

static int64_t sigmoid_vec(int64_t count, const float *x, float *y) {
  int64_t i = 0;
  for (; i + VEC_LANES <= count; i += VEC_LANES) vec_store(y + i, vec_sigmoid(vec_load(x + i)));
  return i;
}

/* σ' = σ(1 − σ), multiplied in eltwise_cpu.c's order: (dy·σ)·(1 − σ). */
static int64_t sigmoid_grad_vec(int64_t count, const float *x, const float *dy, float *dx) {
  int64_t i = 0;
  for (; i + VEC_LANES <= count; i += VEC_LANES) {
    const vec_f s = vec_sigmoid(vec_load(x + i));
    vec_store(dx + i, (vec_load(dy + i) * s) * (1.0f - s));
  }
  return i;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_SWISH 1

#ifdef FP_FAST_FMAF /* as OPS_MADD: fused exactly where the scalar code fuses */
#define MADD8(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#else
#define MADD8(a, b, c) _mm256_add_ps(_mm256_mul_ps((a), (b)), (c))
#endif

/* ops_exp_nonpositive, lane by lane. */
__attribute__((target("avx2,fma"))) static inline __m256 exp_nonpositive8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.3f), magic = _mm256_set1_ps(12582912.0f);
  const __m256 below = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  const __m256 xc = _mm256_blendv_ps(x, lo, below);
  const __m256 n = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)), magic), magic);
  __m256 r = MADD8(n, _mm256_set1_ps(-0.693359375f), xc);
  r = MADD8(n, _mm256_set1_ps(2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = MADD8(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = MADD8(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = MADD8(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = MADD8(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = MADD8(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_add_ps(MADD8(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_blendv_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), _mm256_setzero_ps(), below);
}

/* ops_sigmoid, lane by lane. */
__attribute__((target("avx2,fma"))) static inline __m256 sigmoid8(__m256 x) {
  const __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
  const __m256 minus_x = _mm256_xor_ps(x, _mm256_set1_ps(-0.0f));
  const __m256 t = exp_nonpositive8(_mm256_blendv_ps(minus_x, x, negative));
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 inv = _mm256_div_ps(one, _mm256_add_ps(one, t));
  return _mm256_blendv_ps(inv, _mm256_mul_ps(t, inv), negative);
}

__attribute__((target("avx2,fma"))) static int64_t swish_avx2(int64_t count, const float *x,
                                                              float *y) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(v, sigmoid8(v)));
  }
  return i;
}

/* swish'(x) = s·(1 + x·(1 − s)) from s = σ(x), as ops_swish_grad. */
__attribute__((target("avx2,fma"))) static inline __m256 swish_grad8(__m256 x, __m256 s) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_mul_ps(s, _mm256_add_ps(one, _mm256_mul_ps(x, _mm256_sub_ps(one, s))));
}

__attribute__((target("avx2,fma"))) static int64_t swish_grad_avx2(int64_t count, const float *x,
                                                                   const float *dy, float *dx) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), swish_grad8(v, sigmoid8(v))));
  }
  return i;
}

/* Both at once from one sigmoid: the same operations as swish_avx2 and
 * swish_grad_avx2 (without the final multiply by dy). */
__attribute__((target("avx2,fma"))) static int64_t swish_gate_avx2(int64_t count, const float *x,
                                                                   float *y, float *gate) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i), s = sigmoid8(v);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(v, s));
    _mm256_storeu_ps(gate + i, swish_grad8(v, s));
  }
  return i;
}
#endif

void ops_swish_array(int64_t count, const float *x, float *y) {
  const ebm_isa isa = ebm_isa_active();
  int64_t i = isa == EBM_ISA_GENERIC ? swish_vec(count, x, y) : 0;
#ifdef HAVE_AVX2_SWISH
  if (isa == EBM_ISA_AVX2) i = swish_avx2(count, x, y);
#endif
  for (; i < count; i++) y[i] = ops_swish(x[i]);
}

void ops_swish_grad_array(int64_t count, const float *x, const float *dy, float *dx) {
  const ebm_isa isa = ebm_isa_active();
  int64_t i = isa == EBM_ISA_GENERIC ? swish_grad_vec(count, x, dy, dx) : 0;
#ifdef HAVE_AVX2_SWISH
  if (isa == EBM_ISA_AVX2) i = swish_grad_avx2(count, x, dy, dx);
#endif
  for (; i < count; i++) dx[i] = dy[i] * ops_swish_grad(x[i]);
}

static void swish_gate_isa(ebm_isa isa, int64_t count, const float *x, float *y, float *gate) {
  int64_t i = isa == EBM_ISA_GENERIC ? swish_gate_vec(count, x, y, gate) : 0;
#ifdef HAVE_AVX2_SWISH
  if (isa == EBM_ISA_AVX2) i = swish_gate_avx2(count, x, y, gate);
#endif
  for (; i < count; i++) {
    float xi = x[i]; /* y may alias x */
    y[i] = ops_swish(xi);
    gate[i] = ops_swish_grad(xi);
  }
}

void ops_swish_gate_array(int64_t count, const float *x, float *y, float *gate) {
  swish_gate_isa(ebm_isa_active(), count, x, y, gate);
}

void ops_swish_gate_rows(int64_t rows, int64_t len, const float *x, int64_t ldx, float *y,
                         int64_t ldy, float *gate, int64_t ldg) {
  const ebm_isa isa = ebm_isa_active();
  for (int64_t r = 0; r < rows; r++) swish_gate_isa(isa, len, x + r * ldx, y + r * ldy, gate + r * ldg);
}

void ops_sigmoid_array(int64_t count, const float *x, float *y) {
  int64_t i = ebm_isa_active() != EBM_ISA_AVX512 ? sigmoid_vec(count, x, y) : 0;
  for (; i < count; i++) y[i] = ops_sigmoid(x[i]);
}

void ops_sigmoid_grad_array(int64_t count, const float *x, const float *dy, float *dx) {
  int64_t i = ebm_isa_active() != EBM_ISA_AVX512 ? sigmoid_grad_vec(count, x, dy, dx) : 0;
  for (; i < count; i++) {
    const float s = ops_sigmoid(x[i]);
    dx[i] = dy[i] * s * (1.0f - s);
  }
}
