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
 * vectorises with AVX-512 masks, but for the swish + gate of the fused
 * conv (AVX-512 intrinsics: one division per vector instead of gcc's two). The sigmoid has no intrinsics version: it
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

#ifdef FP_FAST_FMAF
#define MADD16(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#else
#define MADD16(a, b, c) _mm512_add_ps(_mm512_mul_ps((a), (b)), (c))
#endif

/* The same operations 16 lanes at a time with AVX-512 masks, for the
 * fused conv's swish + gate on the avx512 path: gcc's vectorisation of the
 * scalar loop if-converts the sigmoid's two branches into two divisions
 * per vector; here each lane takes one (mask_blend(k, a, b) = k ? b : a). */
__attribute__((target("avx512f"))) static inline __m512 exp_nonpositive16(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-87.3f), magic = _mm512_set1_ps(12582912.0f);
  const __mmask16 below = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
  const __m512 xc = _mm512_mask_blend_ps(below, x, lo);
  const __m512 n = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)), magic), magic);
  __m512 r = MADD16(n, _mm512_set1_ps(-0.693359375f), xc);
  r = MADD16(n, _mm512_set1_ps(2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = MADD16(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = MADD16(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = MADD16(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = MADD16(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = MADD16(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_add_ps(MADD16(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mask_blend_ps(below, _mm512_mul_ps(p, _mm512_castsi512_ps(bits)), _mm512_setzero_ps());
}

__attribute__((target("avx512f"))) static inline __m512 sigmoid16(__m512 x) {
  const __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  const __m512 minus_x = _mm512_castsi512_ps(
      _mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
  const __m512 t = exp_nonpositive16(_mm512_mask_blend_ps(negative, minus_x, x));
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 inv = _mm512_div_ps(one, _mm512_add_ps(one, t));
  return _mm512_mask_blend_ps(negative, inv, _mm512_mul_ps(t, inv));
}

__attribute__((target("avx512f"))) static int64_t swish_gate_avx512(int64_t count, const float *x,
                                                                    float *y, float *gate) {
  const __m512 one = _mm512_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i), s = sigmoid16(v);
    _mm512_storeu_ps(y + i, _mm512_mul_ps(v, s));
    _mm512_storeu_ps(gate + i, _mm512_mul_ps(s, _mm512_add_ps(one, _mm512_mul_ps(v, _mm512_sub_ps(one, s)))));
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
  if (isa == EBM_ISA_AVX512) i = swish_gate_avx512(count, x, y, gate);
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
