/* The direct convolution (conv2d_direct_impl.h) with AVX2 + FMA: 8 items
 * per ymm register, tiles of 4 channels × 3 pixels (12 accumulators, 3
 * loaded pixels and 1 broadcast weight: all 16 registers). */
#include "ops/conv2d_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define DIRECT_TARGET "avx2,fma"
#define DIRECT_FN(name) name##_avx2
#define LANES 8
#define TILE_M 4
#define TILE_P 3
#define VEC __m256
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VSET1(f) _mm256_set1_ps(f)
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
/* With all 16 ymm registers taken, gcc folds the input-gradient tile's 3
 * output-gradient loads into its 12 FMAs (12 loads instead of 3 per step,
 * plus 4 broadcasts: the load ports, not the FMAs, set the pace). An empty
 * asm that takes the vector in a register keeps each load a separate one. */
#define VKEEP(v) __asm__("" : "+x"(v))
#include "ops/conv2d_direct_impl.h"
#include "ops/conv2d_direct_run_impl.h"

#else /* not x86-64: ops_table.c never selects this path */
typedef int conv2d_direct_avx2_absent; /* ISO C: no empty translation unit */
#endif
