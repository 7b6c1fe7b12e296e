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

/* out[4·j + w] = z[w][j] for the 4 vectors z[0..3] and every lane j: four
 * vectors of lanes into VEC_LANES runs of 4 (a 4 × VEC_LANES transpose),
 * by two rounds of zips where the compiler has __builtin_shufflevector. */
VEC_INLINE void vec_store_interleaved4(float *out, const vec_f z[4]) {
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define VEC_HAVE_SHUFFLE 1
#endif
#endif
#ifdef VEC_HAVE_SHUFFLE
#if VEC_LANES == 8
#define VEC_ZIP_LO(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11)
#define VEC_ZIP_HI(a, b) __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15)
#else
#define VEC_ZIP_LO(a, b) __builtin_shufflevector(a, b, 0, 4, 1, 5)
#define VEC_ZIP_HI(a, b) __builtin_shufflevector(a, b, 2, 6, 3, 7)
#endif
  const vec_f t0 = VEC_ZIP_LO(z[0], z[2]), t1 = VEC_ZIP_HI(z[0], z[2]);
  const vec_f t2 = VEC_ZIP_LO(z[1], z[3]), t3 = VEC_ZIP_HI(z[1], z[3]);
  vec_store(out, VEC_ZIP_LO(t0, t2));                 /* lanes 0, 1 (or lane 0) */
  vec_store(out + VEC_LANES, VEC_ZIP_HI(t0, t2));
  vec_store(out + 2 * VEC_LANES, VEC_ZIP_LO(t1, t3));
  vec_store(out + 3 * VEC_LANES, VEC_ZIP_HI(t1, t3));
#undef VEC_ZIP_LO
#undef VEC_ZIP_HI
#else
  for (int w = 0; w < 4; w++)
    for (int j = 0; j < VEC_LANES; j++) out[4 * j + w] = z[w][j];
#endif
}

#endif
