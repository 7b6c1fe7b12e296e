/* The direct convolution (conv2d_direct_impl.h) with AVX-512: 16 items per
 * zmm register, tiles of 8 channels × 3 pixels (24 of the 32 registers). */
#include "ops/conv2d_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define DIRECT_TARGET "avx512f"
#define DIRECT_FN(name) name##_avx512
#define LANES 16
#define TILE_M 8
#define TILE_P 3
#define VEC __m512
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VSET1(f) _mm512_set1_ps(f)
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#include "ops/conv2d_direct_impl.h"
#include "ops/conv2d_direct_run_impl.h"

#else /* not x86-64: ops_table.c never selects this path */
typedef int conv2d_direct_avx512_absent; /* ISO C: no empty translation unit */
#endif
