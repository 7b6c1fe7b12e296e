/* core/vec.h — internal: portable SIMD with GCC / Clang vector extensions
 * (no intrinsics): float and 32-bit integer vectors of the target's width,
 * element-wise operators, comparisons that give all-ones / zero lane masks,
 * and the few helpers below. Code written on these types compiles to SSE2
 * on baseline x86-64, AVX2 under -march=native and NEON on ARM, and every
 * lane does the IEEE operations its scalar twin does — the generic path's
 * swish (ops/vmath_vec.h) and Gaussian noise (core/box_muller.h) are
 * bit-identical to their scalar definitions that way. */
#ifndef EBM_CORE_VEC_H
#define EBM_CORE_VEC_H

#include <stdint.h>
#include <string.h>

/* The target's own vector width: 8 lanes where AVX is enabled (-march=native
 * on x86-64 since Sandy Bridge), else 4 (SSE2, NEON). A wider vector on a
 * narrower target would work but pass through memory between the helpers
 * at -O0 and change the helpers' ABI (gcc's -Wpsabi). */
#ifdef __AVX__
#define VEC_LANES 8
#else
#define VEC_LANES 4
#endif
typedef float vec_f __attribute__((vector_size(4 * VEC_LANES)));
typedef int32_t vec_i __attribute__((vector_size(4 * VEC_LANES)));
typedef uint32_t vec_u __attribute__((vector_size(4 * VEC_LANES)));

/* Always inlined: gcc left ops/vmath_vec.h's vec_sigmoid a call in one of
 * three swish loops, a third slower. */
#define VEC_INLINE static inline __attribute__((always_inline))

VEC_INLINE vec_f vec_load(const float *p) {
  vec_f v;
  memcpy(&v, p, sizeof v); /* unaligned */
  return v;
}

VEC_INLINE void vec_store(float *p, vec_f v) { memcpy(p, &v, sizeof v); }

VEC_INLINE vec_f vec_splat(float a) {
  vec_f v;
  for (int k = 0; k < VEC_LANES; k++) v[k] = a;
  return v;
}

/* mask ? a : b lane by lane, for a comparison's mask (all ones or zero). */
VEC_INLINE vec_f vec_select(vec_i mask, vec_f a, vec_f b) {
  return (vec_f)((mask & (vec_i)a) | (~mask & (vec_i)b));
}

VEC_INLINE vec_u vec_splat_u(uint32_t a) {
  vec_u v;
  for (int k = 0; k < VEC_LANES; k++) v[k] = a;
  return v;
}

#endif
