/* Matrix transpose for the conv layout changes (NCHW ↔ CHWN). A plain
 * double loop writes or reads with a large stride and runs at ~1 float per
 * cycle; 8×8 tiles transposed in AVX registers (8 loads, 24 shuffles, 8
 * stores) run ~4× faster. The AVX path is chosen at run time, so builds
 * without -march (the test build) run and test the same code. */
#include "ops/transpose.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX_PATH 1
#endif

#define TILE 32 /* cache tile (floats) for the plain loop and the edges */

void ops_transpose_plain(int64_t rows, int64_t cols, const float *src, int64_t lds, float *dst,
                         int64_t ldd) {
  for (int64_t r0 = 0; r0 < rows; r0 += TILE)
    for (int64_t c0 = 0; c0 < cols; c0 += TILE) {
      int64_t r1 = r0 + TILE < rows ? r0 + TILE : rows, c1 = c0 + TILE < cols ? c0 + TILE : cols;
      for (int64_t r = r0; r < r1; r++)
        for (int64_t c = c0; c < c1; c++) dst[c * ldd + r] = src[r * lds + c];
    }
}

#ifdef HAVE_AVX_PATH
// One 8×8 tile: dst[c·ldd + r] = src[r·lds + c] for r, c < 8.
__attribute__((target("avx"))) static inline void tile8(const float *src, int64_t lds, float *dst,
                                                        int64_t ldd) {
  __m256 r0 = _mm256_loadu_ps(src + 0 * lds), r1 = _mm256_loadu_ps(src + 1 * lds);
  __m256 r2 = _mm256_loadu_ps(src + 2 * lds), r3 = _mm256_loadu_ps(src + 3 * lds);
  __m256 r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds);
  __m256 r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  r0 = _mm256_shuffle_ps(t0, t2, 0x44), r1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  r2 = _mm256_shuffle_ps(t1, t3, 0x44), r3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  r4 = _mm256_shuffle_ps(t4, t6, 0x44), r5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  r6 = _mm256_shuffle_ps(t5, t7, 0x44), r7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst + 0 * ldd, _mm256_permute2f128_ps(r0, r4, 0x20));
  _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(r1, r5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(r2, r6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(r3, r7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(r0, r4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(r1, r5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(r2, r6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(r3, r7, 0x31));
}

__attribute__((target("avx"))) static void transpose_avx(int64_t rows, int64_t cols,
                                                         const float *src, int64_t lds, float *dst,
                                                         int64_t ldd) {
  const int64_t r8 = rows / 8 * 8, c8 = cols / 8 * 8;
  /* Walk the tiles along the longer side: the 8 rows being read (or
   * written) with the long stride are then the same 8 lines for the whole
   * strip. Stepping across the short side instead touches 16+ lines a
   * power-of-two stride apart, which share an L1 set and evict each other
   * (3 vs 15 floats/ns for a 4096 × 16 → 16 × 4096 transpose). */
  if (rows <= cols) {
    for (int64_t r = 0; r < r8; r += 8)
      for (int64_t c = 0; c < c8; c += 8) tile8(src + r * lds + c, lds, dst + c * ldd + r, ldd);
  } else {
    for (int64_t c = 0; c < c8; c += 8)
      for (int64_t r = 0; r < r8; r += 8) tile8(src + r * lds + c, lds, dst + c * ldd + r, ldd);
  }
  if (c8 < cols) ops_transpose_plain(r8, cols - c8, src + c8, lds, dst + c8 * ldd, ldd);
  if (r8 < rows) ops_transpose_plain(rows - r8, cols, src + r8 * lds, lds, dst + r8, ldd);
}
#endif

void ops_transpose(int64_t rows, int64_t cols, const float *src, int64_t lds, float *dst,
                   int64_t ldd) {
#ifdef HAVE_AVX_PATH
  if (rows >= 8 && cols >= 8 && __builtin_cpu_supports("avx")) {
    transpose_avx(rows, cols, src, lds, dst, ldd);
    return;
  }
#endif
  ops_transpose_plain(rows, cols, src, lds, dst, ldd);
}
