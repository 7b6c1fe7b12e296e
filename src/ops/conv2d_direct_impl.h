/* ops/conv2d_direct_impl.h — internal: conv2d forward and input gradient
 * with register tiles, no im2col and no sgemm call ("implicit GEMM"),
 * written once for any SIMD width. conv2d_direct_avx512.c (16 lanes, 8 × 3
 * tiles in 24 of 32 zmm registers) and conv2d_direct_avx2.c (8 lanes, 4 × 3
 * tiles in 12 of 16 ymm registers) define the vector macros below and
 * include this file once each.
 *
 * Why not BLAS here: Debian's OpenBLAS 0.3.21 runs its Haswell kernels on
 * Zen CPUs (half the FMA width on AVX-512 ones) and every call packs both
 * operands. The Langevin step is nothing but the first two passes, so they
 * get a kernel of their own; the weight gradient (two passes per training
 * iteration) has one too, in the same layout.
 *
 * Layout. Items go LANES at a time (one vector register holds a value for
 * LANES items), transposed into a zero-padded CHWN buffer:
 *   xp[((c·Hp + y)·Wp + x)·LANES + t]   (Hp = H_in + 2·pad, Wp = W_in + 2·pad)
 * Every tap of every output pixel is then one LANES-float load at
 * base(p) + off(k), padding included, so the inner loop has no bounds tests:
 *   base(oh, ow) = (oh·stride·Wp + ow·stride)·LANES,
 *   off(c, i, j) = ((c·Hp + i)·Wp + j)·LANES.
 * Forward, per tile of TILE_M output channels × TILE_P pixels:
 *   acc[m][p] += w[m, k] (broadcast) · xp[base(p) + off(k)]   over k < K.
 * Input gradient, per tile of TILE_M taps k × TILE_P pixels:
 *   acc[k][p] += w[co, k] (broadcast) · dy[co, p] (LANES items)  over co,
 * then xp[base(p) + off(k)] += acc[k][p] (col2im fused in).
 * Each item's result is computed in its own lane with the same sequence of
 * operations whatever the group, worker or thread count: results are
 * bitwise identical at any thread count. Remainder groups (< LANES items)
 * run with zero lanes.
 *
 * Chained passes (ebm_conv2d_chain, ops.h): consecutive fused conv + swish
 * steps of the Langevin pass keep their activations and gradients blocked
 * by LANES items — the layout of a group's CHWN rows — so the forward
 * copies a group's input rows into its padded block (no load_padded
 * transpose) and runs swish straight over the tiles' output (no transpose
 * back), and the backward multiplies dy by the gate row by row and copies
 * the interior of its padded input gradient out as rows (no store_padded).
 * Only data movement differs from the plain passes: the same bits.
 *
 * Work split. The unit of work is one group of LANES items (fixed by n), so
 * a call has n / LANES units, handed out dynamically by the pool: a thread
 * that the OS descheduled holds up one group, not half the batch. Each
 * worker uses the scratch of its worker index (at most s->slots workers).
 *
 * Weights. A tile broadcasts TILE_M (or 4, 2, 1) weights per step of its
 * loop: consecutive output channels of one tap (forward) or consecutive taps
 * of one output channel (input gradient). Both passes first pack w so that
 * each row block of tiles reads its weights as one contiguous run
 * (pack_weights): straight from w, the steps are a row of w (forward) or a
 * whole K·4 bytes apart (input gradient), so every step touches a new
 * cache line of a weight matrix larger than L1.
 *
 * Weight gradient, per tile of TILE_M output channels × TILE_P taps k:
 *   acc[m][k] += dy[m, p] (LANES items) · xp[base(p) + off(k)]   over p,
 * where acc starts from and returns to the slot's vector partials vdw
 * (one sum per lane, over the slot's groups in item order; stored tile
 * after tile in the order the tiles run, so every group walks vdw from
 * start to end — by rows of dw, the 4 rows of a tile were a power of two
 * apart and evicted each other from L1); at the end of
 * the slot each vdw's lanes are added in lane order into its partial
 * dw[m, k], and the slots' partials in slot order (as on the sgemm path),
 * so the sums depend on the shape only. Lanes are summed once per slot,
 * not per group: deep layers have 4 pixels per item, and a horizontal sum
 * per tile and group cost more than the tile. (The sgemm path's im2col
 * and its small M = C_out, N = K products ran 3–18 % of the sgemm peak on
 * uva-cnn's first two layers.)
 *
 * Workspace (floats, parts 64-byte aligned): wp (K × C_out, the packed
 * weights, shared), then per worker xp (C_in·Hp·Wp·LANES, the
 * group's input or input gradient), mat (C_out·P·LANES, the
 * output group / output gradients in CHWN, times the swish gate in the
 * fused backward), pdw (C_out × K) and pdb (C_out), the weight gradient's
 * partial sums of the slot, vdw, vdb (the same × LANES: per lane), and zt
 * (C_out·P·LANES), the group's pre-activation in NCHW when the fused
 * forward's caller keeps none (pre NULL: it stays in L2 for the swish).
 *
 * Before including: DIRECT_TARGET (the target attribute string), LANES,
 * TILE_M (≥ 4), TILE_P (3), VEC, VZERO(), VLOAD(p), VSTORE(p, v), VSET1(f),
 * VFMA(a, b, c) = a·b + c, VADD(a, b), VMUL(a, b), and DIRECT_FN(name) (the ISA suffix);
 * optionally VKEEP(v): pins a loaded vector to a register (see the AVX2 file). */
#include <string.h>

#include "ebm/core.h"
#include "ops/conv2d_internal.h"

#ifndef VKEEP
#define VKEEP(v) ((void)0)
#endif
#include "ops/swish_simd.h"
#include "ops/transpose.h"

#define MAX_K 4096 /* taps per output (C_in·kh·kw): the offset table lives on the stack */

typedef struct {
  size_t wp, worker, xp, mat, pdw, pdb, vdw, vdb, zt; /* offsets: shared part, first worker, parts in a worker */
  size_t worker_size, total;
} direct_layout;

static int64_t padded_floats(const ebm_conv2d_shape *s) {
  return s->c_in * (s->h_in + 2 * s->pad) * (s->w_in + 2 * s->pad) * LANES;
}

static direct_layout direct_layout_of(const ebm_conv2d_shape *s) {
  direct_layout l;
  l.wp = 0;
  l.worker = conv_round_up((size_t)(conv_k(s) * s->c_out));
  l.xp = 0;
  l.mat = l.xp + conv_round_up((size_t)padded_floats(s));
  l.pdw = l.mat + conv_round_up((size_t)(conv_f_out(s) * LANES));
  l.pdb = l.pdw + conv_round_up((size_t)(s->c_out * conv_k(s)));
  l.vdw = l.pdb + conv_round_up((size_t)s->c_out);
  l.vdb = l.vdw + (size_t)(s->c_out * conv_k(s) * LANES);
  l.zt = l.vdb + conv_round_up((size_t)(s->c_out * LANES));
  l.worker_size = l.zt + conv_round_up((size_t)(conv_f_out(s) * LANES));
  l.total = l.worker + (size_t)conv_slots(s) * l.worker_size;
  return l;
}

int DIRECT_FN(ops_conv2d_direct_usable)(const ebm_conv2d_shape *s) {
  return conv_k(s) <= MAX_K && padded_floats(s) < INT32_MAX;
}

int64_t DIRECT_FN(ops_conv2d_direct_lanes)(const ebm_conv2d_shape *s) {
  return DIRECT_FN(ops_conv2d_direct_usable)(s) ? LANES : 0;
}

size_t DIRECT_FN(ops_conv2d_direct_workspace)(const ebm_conv2d_shape *s) {
  return DIRECT_FN(ops_conv2d_direct_usable)(s) ? direct_layout_of(s).total : 0;
}

/* off[k] for k = (c, i, j) in weight order. */
static void tap_offsets(const ebm_conv2d_shape *s, int32_t *off) {
  const int64_t hp = s->h_in + 2 * s->pad, wp = s->w_in + 2 * s->pad;
  for (int64_t c = 0, k = 0; c < s->c_in; c++)
    for (int64_t i = 0; i < s->kh; i++)
      for (int64_t j = 0; j < s->kw; j++) off[k++] = (int32_t)(((c * hp + i) * wp + j) * LANES);
}

/* The taps of the forward tiles whose pixels lie in output rows
 * [row0, row1]: those whose kernel row i reads an input row of some pixel,
 * in increasing k = (c, i, j) order, as `count` runs of `len` consecutive
 * taps, `stride` apart from `first` (one run of K when every row is read).
 * A tap that falls in the zero padding
 * for every pixel of the tile only adds products w·0 = ±0 to its sums,
 * which leave any sum that is not −0 unchanged, and the sums start at +0
 * and can never become −0 (x + y rounds to −0 only for −0 + −0): skipping
 * those taps gives the same bits with finite weights (an infinite or NaN
 * weight would have made the product NaN) and saves the border rows'
 * multiply-adds, 8–17 % of uva-cnn's deeper layers'. Returns the count. */
typedef struct {
  int64_t first, len, stride, count;
} tap_runs;

/* The kernel rows [*lo, *hi) that read an input row for some output row in
 * [row0, row1]. */
static void kernel_rows(const ebm_conv2d_shape *s, int64_t row0, int64_t row1, int64_t *lo,
                        int64_t *hi) {
  *lo = s->pad - row1 * s->stride, *hi = s->h_in + s->pad - row0 * s->stride;
  if (*lo < 0) *lo = 0;
  if (*hi > s->kh) *hi = s->kh;
  if (*hi < *lo) *hi = *lo;
}

static tap_runs row_taps(const ebm_conv2d_shape *s, int64_t row0, int64_t row1) {
  int64_t lo, hi;
  kernel_rows(s, row0, row1, &lo, &hi);
  if (lo == 0 && hi == s->kh) return (tap_runs){0, conv_k(s), conv_k(s), 1};
  return (tap_runs){lo * s->kw, (hi - lo) * s->kw, s->kh * s->kw, s->c_in};
}

/* The input gradient takes its taps kernel row first, kk = (i·C_in + c)·kw + j:
 * k_of[kk] = (c·kh + i)·kw + j is the weight's tap, off[kk] its offset. So
 * the taps whose kernel row falls in the padding for a whole border tile are
 * one run at the start or the end, whose blocks of tiles are skipped: their
 * sums would only have gone to the padding border of the block, which is
 * never read. The order changes no bit: every sum runs over c_out as
 * before, and the sums that meet at one input pixel all have the same
 * channel c, whose taps keep their (i, j) order. */
static void row_major_taps(const ebm_conv2d_shape *s, int32_t *k_of, int32_t *off) {
  const int64_t hp = s->h_in + 2 * s->pad, wp = s->w_in + 2 * s->pad;
  for (int64_t i = 0, kk = 0; i < s->kh; i++)
    for (int64_t c = 0; c < s->c_in; c++)
      for (int64_t j = 0; j < s->kw; j++, kk++) {
        if (k_of) k_of[kk] = (int32_t)((c * s->kh + i) * s->kw + j);
        if (off) off[kk] = (int32_t)(((c * hp + i) * wp + j) * LANES);
      }
}

/* base offset of output pixel p (row-major over H_out × W_out). */
static int64_t pixel_base(const ebm_conv2d_shape *s, int64_t p) {
  const int64_t wp = s->w_in + 2 * s->pad, oh = p / s->w_out, ow = p % s->w_out;
  return (oh * s->stride * wp + ow * s->stride) * LANES;
}

// Forward tile: c[r·ldc + j·LANES ..] = Σ_k a[k·lda + r] · b[base_j + off[k] ..]
// over the taps k of the runs (tap_runs) in increasing order (+ bias[r] when bias
// is not NULL, added to the finished sum: the same bits as adding it to the
// stored output afterwards) for r < mr output channels, j < np pixels. mr, np
// are constants after inlining, so acc lives in registers.
__attribute__((target(DIRECT_TARGET), always_inline)) static inline void
forward_tile(const int mr, const int np, const tap_runs *runs, const int32_t *off,
             const float *a, int64_t lda, const float *b, const int64_t *base, const float *bias,
             float *c, int64_t ldc) {
  VEC acc[TILE_M][TILE_P];
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < np; j++) acc[r][j] = VZERO();
  const float *bj[TILE_P];
  for (int j = 0; j < np; j++) bj[j] = b + base[j];
  for (int64_t run = 0, k0 = runs->first; run < runs->count; run++, k0 += runs->stride)
  for (int64_t k = k0; k < k0 + runs->len; k++) {
    VEC bv[TILE_P];
    for (int j = 0; j < np; j++) bv[j] = VLOAD(bj[j] + off[k]);
    const float *ak = a + k * lda;
    for (int r = 0; r < mr; r++) {
      VEC av = VSET1(ak[r]);
      for (int j = 0; j < np; j++) acc[r][j] = VFMA(av, bv[j], acc[r][j]);
    }
  }
  if (bias)
    for (int r = 0; r < mr; r++) {
      VEC br = VSET1(bias[r]);
      for (int j = 0; j < np; j++) acc[r][j] = VADD(acc[r][j], br);
    }
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < np; j++) VSTORE(c + r * ldc + j * LANES, acc[r][j]);
}

// Input-gradient tile: for r < mr taps (k0 + r) and j < np pixels,
// xp[base_j + off[r] ..] += Σ_co a[co·lda + r] · b[co·ldb + j·LANES ..].
__attribute__((target(DIRECT_TARGET), always_inline)) static inline void
backward_tile(const int mr, const int np, int64_t c_out, const float *a, int64_t lda,
              const float *b, int64_t ldb, const int32_t *off, float *xp, const int64_t *base) {
  VEC acc[TILE_M][TILE_P];
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < np; j++) acc[r][j] = VZERO();
  for (int64_t co = 0; co < c_out; co++) {
    VEC bv[TILE_P];
    for (int j = 0; j < np; j++) {
      bv[j] = VLOAD(b + co * ldb + j * LANES);
      VKEEP(bv[j]);
    }
    const float *ac = a + co * lda;
    for (int r = 0; r < mr; r++) {
      VEC av = VSET1(ac[r]);
      for (int j = 0; j < np; j++) acc[r][j] = VFMA(av, bv[j], acc[r][j]);
    }
  }
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < np; j++) {
      float *d = xp + base[j] + off[r];
      VSTORE(d, VADD(VLOAD(d), acc[r][j]));
    }
}

/* The tiles with constant sizes: TILE_M, 4, 2 or 1 rows × 1..3 pixels. */
#define TILE_CASES(call, mr)                                                                  \
  switch (np) {                                                                               \
  case 3: call(mr, 3); break;                                                                 \
  case 2: call(mr, 2); break;                                                                 \
  default: call(mr, 1); break;                                                                \
  }
#define TILE_ROWS(call, r0, count)                                                            \
  do {                                                                                        \
    for (; r0 + TILE_M <= (count); r0 += TILE_M) TILE_CASES(call, TILE_M)                     \
    if (r0 + 4 <= (count)) { TILE_CASES(call, 4) r0 += 4; }                                   \
    if (r0 + 2 <= (count)) { TILE_CASES(call, 2) r0 += 2; }                                   \
    if (r0 < (count)) { TILE_CASES(call, 1) r0 += 1; }                                        \
  } while (0)

/* The rows of tile block r0 of TILE_ROWS over `count` rows. */
static int64_t block_rows(int64_t r0, int64_t count) {
  int64_t left = count - r0;
  return left >= TILE_M ? TILE_M : left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

/* The weights as the tiles of TILE_ROWS over `cols` read them: for each
 * block (c0, mr), packed[c0·rows + i·mr + r] = A(i, c0 + r) for i < rows,
 * r < mr, where A(i, c) = a[i·si + c·sc]. Forward: A = wᵀ (K × C_out);
 * input gradient: A = w (C_out × K). */
static void pack_weights(int64_t rows, int64_t cols, const float *a, int64_t si, int64_t sc,
                         const int32_t *col_of, float *packed) {
  for (int64_t c0 = 0, mr; c0 < cols; c0 += mr) {
    mr = block_rows(c0, cols);
    float *dst = packed + c0 * rows;
    for (int64_t i = 0; i < rows; i++)
      for (int64_t r = 0; r < mr; r++)
        dst[i * mr + r] = a[i * si + (col_of ? col_of[c0 + r] : c0 + r) * sc];
  }
}

/* Pixels in the tile starting at p0: 3, but 2 + 2 rather than 3 + 1 at the
 * end (a 1-pixel tile runs at a third of the speed). */
static int tile_pixels(int64_t p0, int64_t p_count) {
  int64_t left = p_count - p0;
  return left == 4 ? 2 : left >= TILE_P ? TILE_P : (int)left;
}

typedef struct {
  const ebm_conv2d_shape *s;
  ebm_conv2d_chain chain; /* which operands are blocked (ops.h); all zero: none */
  const float *x, *w, *b, *dy, *gate_in;
  float *z, *act, *gate, *dx, *ws;
} direct_job;

/* Moves the interior rows of a padded block (C_in × Hp × Wp × LANES) to or
 * from a blocked group (C_in × H_in × W_in × LANES): W_in·LANES contiguous
 * floats per row, vector by vector. */
__attribute__((target(DIRECT_TARGET))) static void move_interior(const ebm_conv2d_shape *s,
                                                                 float *blocked, float *xp,
                                                                 int to_padded) {
  const int64_t hp = s->h_in + 2 * s->pad, wp = s->w_in + 2 * s->pad, row = s->w_in * LANES;
  for (int64_t c = 0; c < s->c_in; c++)
    for (int64_t y = 0; y < s->h_in; y++) {
      float *b = blocked + (c * s->h_in + y) * row, *p = xp + ((c * hp + y + s->pad) * wp + s->pad) * LANES;
      float *dst = to_padded ? p : b;
      const float *src = to_padded ? b : p;
      for (int64_t q = 0; q < row; q += LANES) VSTORE(dst + q, VLOAD(src + q));
    }
}

/* Chained backward: mat = dy ⊙ gate over the group's blocked rows, one
 * IEEE multiply per value as ops_transpose_product does. */
__attribute__((target(DIRECT_TARGET))) static void gate_times_dy(int64_t count, const float *dy,
                                                                 const float *gate, float *mat) {
  for (int64_t q = 0; q < count; q += LANES) VSTORE(mat + q, VMUL(VLOAD(dy + q), VLOAD(gate + q)));
}

/* The padded CHWN block of the conv's input (the layout above). */
static ops_padded_block input_block(const ebm_conv2d_shape *s) {
  return (ops_padded_block){s->c_in, s->h_in, s->w_in, s->pad, LANES};
}

/* Items [0, gn) of src (NCHW, F_in each) into the interior of xp, eight at
 * a time (8×8 tiles transposed in registers and stored straight to their
 * pixels' places); lanes gn..LANES-1 zero. */
static void load_padded(const ebm_conv2d_shape *s, const float *src, int64_t gn, float *xp) {
  const ops_padded_block blk = input_block(s);
  const int64_t fi = conv_f_in(s);
  if (gn < LANES) memset(xp, 0, (size_t)padded_floats(s) * sizeof *xp);
  for (int64_t t = 0; t < gn; t += 8)
    ops_transpose_to_padded(&blk, gn - t < 8 ? gn - t : 8, src + t * fi, fi, xp + t);
}

/* The inverse: the interior of xp into items [0, gn) of dst. */
static void store_padded(const ebm_conv2d_shape *s, const float *xp, int64_t gn, float *dst) {
  const ops_padded_block blk = input_block(s);
  const int64_t fi = conv_f_in(s);
  for (int64_t t = 0; t < gn; t += 8)
    ops_transpose_from_padded(&blk, gn - t < 8 ? gn - t : 8, xp + t, dst + t * fi, fi);
}

/* Groups of LANES items in the batch: the units of work. */
static int64_t group_count(const ebm_conv2d_shape *s) { return (s->n + LANES - 1) / LANES; }

/* One group's forward tiles: mat (C_out × P × LANES) = conv(xp) (+ b), from
 * the packed weights wp and the offsets of tap_offsets. */
__attribute__((target(DIRECT_TARGET))) static void forward_tiles(const ebm_conv2d_shape *s,
                                                                 const int32_t *off,
                                                                 const float *wp, const float *bias,
                                                                 const float *xp, float *mat) {
  const int64_t k_count = conv_k(s), p_count = conv_p(s), co_n = s->c_out;
  for (int64_t p0 = 0, np; p0 < p_count; p0 += np) {
    np = tile_pixels(p0, p_count);
    const tap_runs runs = row_taps(s, p0 / s->w_out, (p0 + np - 1) / s->w_out);
    int64_t base[TILE_P];
    for (int q = 0; q < np; q++) base[q] = pixel_base(s, p0 + q);
    int64_t m0 = 0;
    float *c = mat + p0 * LANES;
    const int64_t ldc = p_count * LANES;
#define FWD(mr_, np_)                                                                            \
  forward_tile(mr_, np_, &runs, off, wp + m0 * k_count, mr_, xp, base,                           \
               bias ? bias + m0 : NULL, c + m0 * ldc, ldc)
    TILE_ROWS(FWD, m0, co_n);
#undef FWD
  }
}

/* One group's input-gradient tiles: xp (padded, zeroed by the caller) +=
 * conv_transpose(mat), from the packed weights wp and the offsets of
 * row_major_taps. */
__attribute__((target(DIRECT_TARGET))) static void backward_tiles(const ebm_conv2d_shape *s,
                                                                  const int32_t *off,
                                                                  const float *wp,
                                                                  const float *mat, float *xp) {
  const int64_t k_count = conv_k(s), p_count = conv_p(s), co_n = s->c_out;
  const int64_t row_taps_count = s->c_in * s->kw; /* taps per kernel row */
  for (int64_t p0 = 0, np; p0 < p_count; p0 += np) {
    np = tile_pixels(p0, p_count);
    int64_t base[TILE_P];
    for (int q = 0; q < np; q++) base[q] = pixel_base(s, p0 + q);
    const float *b = mat + p0 * LANES;
    const int64_t ldb = p_count * LANES;
    int64_t lo, hi, k0 = 0;
    kernel_rows(s, p0 / s->w_out, (p0 + np - 1) / s->w_out, &lo, &hi);
    lo *= row_taps_count, hi *= row_taps_count; /* the taps [lo, hi) read some input */
#define BWD(mr_, np_)                                                                              \
  if (k0 + (mr_) > lo && k0 < hi)                                                                  \
  backward_tile(mr_, np_, co_n, wp + k0 * co_n, mr_, b, ldb, off + k0, xp, base)
    TILE_ROWS(BWD, k0, k_count);
#undef BWD
  }
}

// x is (N,C_in,H_in,W_in), wp is w packed (pack_weights of wᵀ), z and act are
// (N,C_out,H_out,W_out). Groups [begin, end), in worker tid's scratch.
__attribute__((target(DIRECT_TARGET))) static void forward_groups(void *ctx, int64_t begin,
                                                                  int64_t end, int tid) {
  const direct_job *j = ctx;
  const ebm_conv2d_shape *s = j->s;
  const direct_layout l = direct_layout_of(s);
  const int64_t fi = conv_f_in(s), fo = conv_f_out(s);
  const float *wp = j->ws + l.wp;
  float *scratch = j->ws + l.worker + (size_t)tid * l.worker_size;
  float *xp = scratch + l.xp, *mat = scratch + l.mat;
  int32_t off[MAX_K];
  tap_offsets(s, off);
  memset(xp, 0, (size_t)padded_floats(s) * sizeof *xp); /* the padding border */
  for (int64_t group = begin; group < end; group++) {
    const int64_t a = group * LANES, gn = a + LANES < s->n ? LANES : s->n - a;
    if (j->chain.in_blocked)
      move_interior(s, (float *)j->x + a * fi, xp, 1);
    else
      load_padded(s, j->x + a * fi, gn, xp);
    forward_tiles(s, off, wp, j->b, xp, mat);
    if (j->chain.out_blocked) { /* swish over the tiles' own layout */
      ops_swish_gate_array(fo * LANES, mat, j->act + a * fo, j->gate + a * fo);
      continue;
    }
    float *z = j->z ? j->z + a * fo : scratch + l.zt; /* no pre wanted: the group's, in L2 */
    ops_transpose(fo, gn, mat, LANES, z, fo);
    ops_conv2d_bias_swish(s, gn, NULL, z, j->act ? j->act + a * fo : NULL, /* bias: in the tiles */
                          j->gate ? j->gate + a * fo : NULL);
  }
}

void DIRECT_FN(ops_conv2d_direct_forward)(const ebm_conv2d_shape *s, const ebm_conv2d_chain *chain,
                                          const float *x, const float *w, const float *b, float *z,
                                          float *act, float *gate, float *ws) {
  pack_weights(conv_k(s), s->c_out, w, 1, conv_k(s), NULL, ws + direct_layout_of(s).wp);
  direct_job j = {.s = s, .x = x, .w = w, .b = b, .z = z, .act = act, .gate = gate, .ws = ws};
  if (chain) j.chain = *chain;
  ebm_parallel_for_workers(group_count(s), 1, (int)conv_slots(s), forward_groups, &j);
}

// dy (and gate) are (N,C_out,H_out,W_out), wp is w packed (pack_weights of w),
// dx is (N,C_in,H_in,W_in).
__attribute__((target(DIRECT_TARGET))) static void backward_input_groups(void *ctx, int64_t begin,
                                                                         int64_t end, int tid) {
  const direct_job *j = ctx;
  const ebm_conv2d_shape *s = j->s;
  const direct_layout l = direct_layout_of(s);
  const int64_t fi = conv_f_in(s), fo = conv_f_out(s);
  float *scratch = j->ws + l.worker + (size_t)tid * l.worker_size;
  float *xp = scratch + l.xp, *mat = scratch + l.mat;
  const float *wp = j->ws + l.wp;
  int32_t off[MAX_K];
  row_major_taps(s, NULL, off);
  for (int64_t group = begin; group < end; group++) {
    const int64_t a = group * LANES, gn = a + LANES < s->n ? LANES : s->n - a;
    if (j->chain.out_blocked) {
      gate_times_dy(fo * LANES, j->dy + a * fo, j->gate_in + a * fo, mat);
    } else {
      if (gn < LANES) memset(mat, 0, (size_t)(fo * LANES) * sizeof *mat);
      if (j->gate_in)
        ops_transpose_product(gn, fo, j->dy + a * fo, j->gate_in + a * fo, fo, mat, LANES);
      else
        ops_transpose(gn, fo, j->dy + a * fo, fo, mat, LANES);
    }
    memset(xp, 0, (size_t)padded_floats(s) * sizeof *xp);
    backward_tiles(s, off, wp, mat, xp);
    if (j->chain.in_blocked)
      move_interior(s, j->dx + a * fi, xp, 0);
    else
      store_padded(s, xp, gn, j->dx + a * fi);
  }
}

void DIRECT_FN(ops_conv2d_direct_backward_input)(const ebm_conv2d_shape *s,
                                                 const ebm_conv2d_chain *chain, const float *gate,
                                                 const float *dy, const float *w, float *dx,
                                                 float *ws) {
  int32_t k_of[MAX_K];
  row_major_taps(s, k_of, NULL);
  pack_weights(s->c_out, conv_k(s), w, conv_k(s), 1, k_of, ws + direct_layout_of(s).wp);
  direct_job j = {.s = s, .gate_in = gate, .dy = dy, .w = w, .dx = dx, .ws = ws};
  if (chain) j.chain = *chain;
  ebm_parallel_for_workers(group_count(s), 1, (int)conv_slots(s), backward_input_groups, &j);
}

/* The LANES floats at v added in lane order (fixed, whatever the thread). */
static inline float lane_sum(const float *v) {
  float sum = 0.0f;
  for (int i = 0; i < LANES; i++) sum += v[i];
  return sum;
}

// Weight-gradient tile: for r < mr output channels and j < nk taps,
// vdw[(r·nk + j)·LANES ..] += Σ_p dy[r·ldy + p·LANES ..] · xp[base(p) + off[j] ..],
// lane by lane. dy is the group's output gradient in CHWN (mat), xp its
// padded input.
__attribute__((target(DIRECT_TARGET), always_inline)) static inline void
weight_tile(const int mr, const int nk, const ebm_conv2d_shape *s, const float *dy, int64_t ldy,
            const float *xp, const int32_t *off, float *vdw) {
  VEC acc[TILE_M][TILE_P];
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < nk; j++) acc[r][j] = VLOAD(vdw + (r * nk + j) * LANES);
  const int64_t row_step = s->stride * (s->w_in + 2 * s->pad) * LANES, col_step = s->stride * LANES;
  const float *d = dy;
  for (int64_t oh = 0; oh < s->h_out; oh++)
    for (int64_t ow = 0; ow < s->w_out; ow++, d += LANES) {
      const float *xpix = xp + oh * row_step + ow * col_step;
      VEC xv[TILE_P];
      for (int j = 0; j < nk; j++) xv[j] = VLOAD(xpix + off[j]);
      for (int r = 0; r < mr; r++) {
        VEC dv = VLOAD(d + r * ldy);
        for (int j = 0; j < nk; j++) acc[r][j] = VFMA(dv, xv[j], acc[r][j]);
      }
    }
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < nk; j++) VSTORE(vdw + (r * nk + j) * LANES, acc[r][j]);
}

// x is (N,C_in,H_in,W_in), dy is (N,C_out,H_out,W_out); each slot leaves its
// partial dw (C_out, K) and db (C_out) in its scratch (slot = worker slice).
__attribute__((target(DIRECT_TARGET))) static void weight_slots(void *ctx, int64_t begin,
                                                                int64_t end, int tid) {
  (void)tid;
  const direct_job *j = ctx;
  const ebm_conv2d_shape *s = j->s;
  const direct_layout l = direct_layout_of(s);
  const int64_t k_count = conv_k(s), p_count = conv_p(s), co_n = s->c_out;
  const int64_t fi = conv_f_in(s), fo = conv_f_out(s), ldy = p_count * LANES;
  int32_t off[MAX_K];
  tap_offsets(s, off);
  for (int64_t slot = begin; slot < end; slot++) {
    float *scratch = j->ws + l.worker + (size_t)slot * l.worker_size;
    float *xp = scratch + l.xp, *mat = scratch + l.mat, *vdw = scratch + l.vdw, *vdb = scratch + l.vdb;
    memset(xp, 0, (size_t)padded_floats(s) * sizeof *xp); /* the padding border */
    memset(vdw, 0, (size_t)(co_n * k_count * LANES) * sizeof *vdw);
    memset(vdb, 0, (size_t)(co_n * LANES) * sizeof *vdb);
    int64_t i0, i1;
    conv_slot_items(s, slot, &i0, &i1);
    for (int64_t a = i0; a < i1; a += LANES) {
      const int64_t gn = a + LANES < i1 ? LANES : i1 - a;
      load_padded(s, j->x + a * fi, gn, xp);
      if (gn < LANES) memset(mat, 0, (size_t)(fo * LANES) * sizeof *mat);
      ops_transpose(gn, fo, j->dy + a * fo, fo, mat, LANES);
      float *v = vdw;
      for (int64_t k0 = 0, np; k0 < k_count; k0 += np) {
        np = tile_pixels(k0, k_count); /* taps per tile: 3, or 2 + 2 at the end */
        int64_t m0 = 0;
#define WGT(mr_, np_)                                                                              \
  (weight_tile(mr_, np_, s, mat + m0 * ldy, ldy, xp, off + k0, v), v += (mr_) * (np_) * LANES)
        TILE_ROWS(WGT, m0, co_n);
#undef WGT
      }
      for (int64_t co = 0; co < co_n; co++) {
        VEC sum = VLOAD(vdb + co * LANES);
        for (int64_t p = 0; p < p_count; p++) sum = VADD(sum, VLOAD(mat + co * ldy + p * LANES));
        VSTORE(vdb + co * LANES, sum);
      }
    }
    float *pdw = scratch + l.pdw, *pdb = scratch + l.pdb;
    const float *v = vdw; /* the tiles in the order above */
    for (int64_t k0 = 0, np; k0 < k_count; k0 += np) {
      np = tile_pixels(k0, k_count);
      for (int64_t m0 = 0, mr; m0 < co_n; m0 += mr) {
        mr = block_rows(m0, co_n);
        for (int64_t r = 0; r < mr; r++)
          for (int64_t t = 0; t < np; t++, v += LANES) pdw[(m0 + r) * k_count + k0 + t] = lane_sum(v);
      }
    }
    for (int64_t co = 0; co < co_n; co++) pdb[co] = lane_sum(vdb + co * LANES);
  }
}

void DIRECT_FN(ops_conv2d_direct_backward_weight)(const ebm_conv2d_shape *s, const float *x,
                                                  const float *dy, float *dw, float *db,
                                                  float *ws) {
  direct_job j = {.s = s, .x = x, .dy = dy, .ws = ws};
  ebm_parallel_for_workers(conv_slots(s), 1, (int)conv_slots(s), weight_slots, &j);
  const direct_layout l = direct_layout_of(s);
  ops_conv2d_add_slot_partials(s, ws + l.worker, l.worker_size, l.pdw, l.pdb, dw, db);
}
