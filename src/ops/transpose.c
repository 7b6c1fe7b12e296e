/* Matrix transpose for the conv layout changes (NCHW ↔ CHWN). A plain
 * double loop writes or reads with a large stride and runs at ~1 float per
 * cycle; 8×8 tiles transposed in AVX registers (8 loads, 24 shuffles, 8
 * stores) run ~4× faster. The AVX path is chosen at run time, so builds
 * without -march (the test build) run and test the same code. */
#include <string.h>

#include "ops/transpose.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX_PATH 1
#endif

#define TILE 32 /* cache tile (floats) for the plain loop and the edges */

/* Every transpose below moves src, or the product src·src2 element by
 * element when src2 (same layout as src) is not NULL. */
static void transpose_plain(int64_t rows, int64_t cols, const float *src, const float *src2,
                            int64_t lds, float *dst, int64_t ldd) {
  for (int64_t r0 = 0; r0 < rows; r0 += TILE)
    for (int64_t c0 = 0; c0 < cols; c0 += TILE) {
      int64_t r1 = r0 + TILE < rows ? r0 + TILE : rows, c1 = c0 + TILE < cols ? c0 + TILE : cols;
      for (int64_t r = r0; r < r1; r++)
        for (int64_t c = c0; c < c1; c++)
          dst[c * ldd + r] = src2 ? src[r * lds + c] * src2[r * lds + c] : src[r * lds + c];
    }
}

void ops_transpose_plain(int64_t rows, int64_t cols, const float *src, int64_t lds, float *dst,
                         int64_t ldd) {
  transpose_plain(rows, cols, src, NULL, lds, dst, ldd);
}

#ifdef HAVE_AVX_PATH
// r[i] (8 floats each) ← the 8×8 matrix of rows r[0..7] transposed, in registers.
__attribute__((target("avx"), always_inline)) static inline void transpose8_regs(__m256 r[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20), r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20), r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31), r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31), r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// One 8×8 tile: dst[c·ldd + r] = src[r·lds + c] (· src2[r·lds + c]) for r, c < 8.
__attribute__((target("avx"))) static inline void tile8(const float *src, const float *src2,
                                                        int64_t lds, float *dst, int64_t ldd) {
  __m256 r[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * lds);
  if (src2)
    for (int i = 0; i < 8; i++) r[i] = _mm256_mul_ps(r[i], _mm256_loadu_ps(src2 + i * lds));
  transpose8_regs(r);
  for (int i = 0; i < 8; i++) _mm256_storeu_ps(dst + i * ldd, r[i]);
}

__attribute__((target("avx"))) static void transpose_avx(int64_t rows, int64_t cols,
                                                         const float *src, const float *src2,
                                                         int64_t lds, float *dst, int64_t ldd) {
  const int64_t r8 = rows / 8 * 8, c8 = cols / 8 * 8;
  /* Walk the tiles along the longer side: the 8 rows being read (or
   * written) with the long stride are then the same 8 lines for the whole
   * strip. Stepping across the short side instead touches 16+ lines a
   * power-of-two stride apart, which share an L1 set and evict each other
   * (3 vs 15 floats/ns for a 4096 × 16 → 16 × 4096 transpose). */
#define AT(p, off) ((p) ? (p) + (off) : NULL) /* src2 at an offset, when there is one */
  if (rows <= cols) {
    for (int64_t r = 0; r < r8; r += 8)
      for (int64_t c = 0; c < c8; c += 8)
        tile8(src + r * lds + c, AT(src2, r * lds + c), lds, dst + c * ldd + r, ldd);
  } else {
    for (int64_t c = 0; c < c8; c += 8)
      for (int64_t r = 0; r < r8; r += 8)
        tile8(src + r * lds + c, AT(src2, r * lds + c), lds, dst + c * ldd + r, ldd);
  }
  if (c8 < cols) transpose_plain(r8, cols - c8, src + c8, AT(src2, c8), lds, dst + c8 * ldd, ldd);
  if (r8 < rows)
    transpose_plain(rows - r8, cols, src + r8 * lds, AT(src2, r8 * lds), lds, dst + r8, ldd);
#undef AT
}
#endif

/* A single row or column with unit stride on both sides is a copy (the
 * conv paths' groups of one item, on large images): one contiguous loop
 * instead of the tiles' element-by-element walk. */
static int transpose_is_copy(int64_t rows, int64_t cols, int64_t lds, int64_t ldd) {
  return (rows == 1 && ldd == 1) || (cols == 1 && lds == 1);
}

static void transpose_any(int64_t rows, int64_t cols, const float *src, const float *src2,
                          int64_t lds, float *dst, int64_t ldd) {
  if (transpose_is_copy(rows, cols, lds, ldd)) {
    const int64_t n = rows * cols;
    if (src2)
      for (int64_t i = 0; i < n; i++) dst[i] = src[i] * src2[i];
    else
      memcpy(dst, src, (size_t)n * sizeof *dst);
    return;
  }
#ifdef HAVE_AVX_PATH
  if (rows >= 8 && cols >= 8 && __builtin_cpu_supports("avx")) {
    transpose_avx(rows, cols, src, src2, lds, dst, ldd);
    return;
  }
#endif
  transpose_plain(rows, cols, src, src2, lds, dst, ldd);
}

void ops_transpose(int64_t rows, int64_t cols, const float *src, int64_t lds, float *dst,
                   int64_t ldd) {
  transpose_any(rows, cols, src, NULL, lds, dst, ldd);
}

void ops_transpose_product(int64_t rows, int64_t cols, const float *a, const float *b,
                           int64_t lds, float *dst, int64_t ldd) {
  transpose_any(rows, cols, a, b, lds, dst, ldd);
}

/* --------------------------------------------- to and from a padded block */

/* Walks the interior pixels of a padded block in CHW order: off is the
 * pixel's offset, x and y its column and row. */
typedef struct {
  int64_t x, y, off;
} pixel_walk;

static pixel_walk walk_start(const ops_padded_block *b) {
  return (pixel_walk){0, 0, (b->pad * (b->w + 2 * b->pad) + b->pad) * b->lanes};
}

static inline int64_t walk_next(const ops_padded_block *b, pixel_walk *p) {
  int64_t off = p->off;
  p->off += b->lanes;
  if (++p->x == b->w) { /* the right border, then the left one of the next row */
    p->x = 0;
    p->off += 2 * b->pad * b->lanes;
    if (++p->y == b->h) { /* the bottom border, then the top one of the next channel */
      p->y = 0;
      p->off += 2 * b->pad * (b->w + 2 * b->pad) * b->lanes;
    }
  }
  return off;
}

/* Moves rows (rows ≤ 8) of flat (row stride ld, CHW order) to their lanes
 * of block's interior pixels when to_block, else back. */
#ifdef HAVE_AVX_PATH
/* 8 pixels at a time, whatever the row and channel boundaries between them:
 * one 8×8 tile transposed in registers, its 8 columns stored to (or loaded
 * from) the 8 pixels' own places. Returns the pixels done. */
__attribute__((target("avx"), always_inline)) static inline void
move8(float *flat, int64_t ld, float *const pix[8], int to_block) {
  __m256 r[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(to_block ? flat + i * ld : pix[i]);
  transpose8_regs(r);
  for (int i = 0; i < 8; i++) _mm256_storeu_ps(to_block ? pix[i] : flat + i * ld, r[i]);
}

__attribute__((target("avx"))) static int64_t move_padded_avx(const ops_padded_block *b,
                                                               pixel_walk *p, float *flat,
                                                               int64_t ld, float *block,
                                                               int to_block) {
  const int64_t q8 = b->c * b->h * b->w / 8 * 8;
  if (b->w % 8 == 0) { /* whole rows of 8 pixels: the 8 pixels of a tile are consecutive, no walk */
    const int64_t wp = b->w + 2 * b->pad, hp = b->h + 2 * b->pad;
    for (int64_t c = 0, q = 0; c < b->c; c++)
      for (int64_t y = 0; y < b->h; y++) {
        float *row = block + ((c * hp + y + b->pad) * wp + b->pad) * b->lanes;
        for (int64_t x = 0; x < b->w; x += 8, q += 8) {
          float *pix[8];
          for (int i = 0; i < 8; i++) pix[i] = row + (x + i) * b->lanes;
          move8(flat + q, ld, pix, to_block);
        }
      }
    return q8;
  }
  for (int64_t q = 0; q < q8; q += 8) {
    float *pix[8];
    for (int i = 0; i < 8; i++) pix[i] = block + walk_next(b, p);
    move8(flat + q, ld, pix, to_block);
  }
  return q8;
}
#endif

static void move_padded(const ops_padded_block *b, int64_t rows, float *flat, int64_t ld,
                        float *block, int to_block) {
  pixel_walk p = walk_start(b);
  int64_t q = 0;
#ifdef HAVE_AVX_PATH
  if (rows == 8 && __builtin_cpu_supports("avx")) q = move_padded_avx(b, &p, flat, ld, block, to_block);
#endif
  for (; q < b->c * b->h * b->w; q++) {
    float *pix = block + walk_next(b, &p);
    for (int64_t t = 0; t < rows; t++) {
      if (to_block)
        pix[t] = flat[t * ld + q];
      else
        flat[t * ld + q] = pix[t];
    }
  }
}

/* One function for both directions; to the block it only reads src. */
void ops_transpose_to_padded(const ops_padded_block *b, int64_t rows, const float *src,
                             int64_t lds, float *dst) {
  move_padded(b, rows, (float *)src, lds, dst, 1);
}

void ops_transpose_from_padded(const ops_padded_block *b, int64_t rows, const float *src,
                               float *dst, int64_t ldd) {
  move_padded(b, rows, dst, ldd, (float *)src, 0);
}

void ops_blocked_to_nchw(int64_t n, int64_t f, int64_t lanes, const float *src, float *dst) {
  for (int64_t a = 0; a < n; a += lanes, src += f * lanes)
    ops_transpose(f, n - a < lanes ? n - a : lanes, src, lanes, dst + a * f, f);
}
