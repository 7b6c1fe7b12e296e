/* conv2d on the CPU, PyTorch Conv2d semantics (OIHW weights,
 * cross-correlation, zero padding, dilation 1, groups 1): the portable path
 * — im2col + BLAS sgemm (col2im for the input gradient) — which is the
 * generic table's conv (the AVX2 / AVX-512 tables take the direct paths
 * where the shape fits: conv2d_paths.c).
 *
 * Work split. Items go through the GEMMs in groups of g (group_items; the
 * forward and input-gradient passes of some shapes in smaller ones,
 * pass_group_items, to give the pool's threads more pieces): deep
 * layers have few output pixels per item (4 for a 4×4 → 2×2 conv), so one
 * sgemm per item would be all overhead; the g items of a group share one
 * sgemm. Forward and input gradient hand the groups out dynamically to at
 * most s->slots workers, each with its own slice of the workspace; the
 * weight gradient cuts the batch into s->slots contiguous pieces, each
 * summed into its own partial dw, added into dw in slot order. Every result
 * depends on the shape only (slots, g), never on which thread ran what:
 * bitwise identical at any thread count.
 *
 * Layout. A group is first transposed to "CHWN" (item index innermost:
 * xt[(c·H + h)·W + w][t]), so that every im2col / col2im move is a run of g
 * contiguous floats however small the image — the NCHW runs of a 2×2 output
 * are 2 floats long and loop overhead would dominate. The col matrix is
 * K × P·g with column (p, t), so the sgemm output C_out × P·g is the output
 * group in CHWN, transposed back to NCHW by the epilogue (with bias and the
 * fused swish).
 *
 * Workspace slice of one slot (floats, each part 64-byte aligned), with
 * K = C_in·kh·kw, P = H_out·W_out, F = C_in·H_in·W_in:
 *   xt   F × g          the input group in CHWN (dx's CHWN in backward)
 *   col  K × P·g        im2col of the group / its input-gradient columns
 *   mat  C_out·P × g    output group in CHWN / its output gradients
 *                       (times the swish gate in the fused backward)
 *   pdw  C_out × K      partial weight gradient (backward_weight)
 *   pdb  C_out          partial bias gradient
 *   zt   C_out·P × g    the group's pre-activation when the caller keeps
 *                       none (fused forward with pre NULL)
 * and, after the slots, one part shared by all of them:
 *   taps kh·kw × C_out × C_in  the weights one tap at a time (shifted form)
 *
 * The shifted form (stride 1, both sides of the conv at least
 * SHIFTED_MIN_CHANNELS channels). im2col writes every input pixel kh·kw
 * times, and sgemm then packs that col matrix once more. Instead the group
 * is copied once into a zero-padded CHWN buffer whose rows are Wq = W_in +
 * pad pixels apart: pad zero pixels, then the row (input pixel (h, w) at
 * ((h + pad)·Wq + pad + w)·g), so the zeros right of one row are the zeros
 * left of the next (zero rows above and below the image; a 1×1 conv without
 * padding skips the buffer, pointwise). The output is computed on the same width: output
 * pixel (oh, ow) is column (oh·Wq + ow)·g + t, and the input pixel of tap
 * (i, j) under it is the same column of the buffer shifted by (i·Wq + j)·g
 * (a column left of the row, ow + j < pad, or right of it, ow + j ≥ pad +
 * W_in, lands in a gap). So tap (i, j)'s contribution is one sgemm, out
 * (C_out × cols) += w_ij (C_out × C_in) · buffer + (i·Wq + j)·g (C_in ×
 * cols, row stride the padded plane), the kh·kw sgemms summing in tap order
 * (β = 0 for the first); sgemm's packing is the only gather. The last Wq −
 * W_out = kw − 1 − pad columns of each output row are junk (they straddle
 * two rows) and the epilogue skips them — pad of them, where a gap of 2·pad
 * per row (each row padded on its own) computed kw − 1: 811 columns
 * instead of 838 per item for a 28×28 3×3 conv, 55 instead of 61 at 7×7.
 * cols = ((H_out − 1)·Wq + W_out)·g keeps every read inside the buffer.
 * The input gradient of a stride-1 conv is itself a forward conv: with
 * w'[ci][co][kh−1−i][kw−1−j] = w[co][ci][i][j] and pad' = kh − 1 − pad,
 * dx[ci, y, x] = Σ_{co,i,j} w'[ci, co, i, j] · dy[co, y − pad' + i, x − pad'
 * + j] (zero outside), so it takes the shifted form too (transposed_shape),
 * where col2im would write and add up a K × P·g matrix. Which form a pass
 * takes depends on the shape only, so results stay the same at any thread
 * count. */
#include <cblas.h>
#include <string.h>

#include "ebm/core.h"
#include "ops/conv2d_internal.h"
#include "ops/cpu_kernels.h"
#include "ops/transpose.h"
#include "ops/swish_simd.h"

/* A group aims at GROUP_COLS sgemm columns (enough to amortise OpenBLAS's
 * packing) while its col matrix stays within GROUP_MAX_COL_FLOATS (half of
 * a 1 MiB L2); groups are whole multiples of GROUP_STEP items (whole 8×8
 * transpose tiles) unless the slot or the col budget is smaller. Tuned
 * with bench/bench_ops.c. */
#define GROUP_COLS 256
#define GROUP_MAX_COL_FLOATS (128 * 1024)
#define GROUP_STEP 16

static int64_t group_items(const ebm_conv2d_shape *s) {
  int64_t p = conv_p(s), k = conv_k(s), slots = conv_slots(s);
  int64_t per_slot = (s->n + slots - 1) / slots;
  int64_t g = GROUP_STEP;
  while (g * p < GROUP_COLS && (g + GROUP_STEP) * p * k <= GROUP_MAX_COL_FLOATS) g += GROUP_STEP;
  while (g > 1 && g * p * k > GROUP_MAX_COL_FLOATS) g--; /* large images: fewer items */
  if (g > per_slot) g = per_slot;
  return g > 0 ? g : 1;
}

/* Fewer channels than this on either side make the shifted form's sgemms
 * too thin (igebm-mnist's conv_in, 1 → 32, has an inner dimension of 1):
 * such shapes keep im2col / col2im. */
#define SHIFTED_MIN_CHANNELS 16

static int shifted(const ebm_conv2d_shape *s) {
  return s->stride == 1 && s->c_in >= SHIFTED_MIN_CHANNELS && s->c_out >= SHIFTED_MIN_CHANNELS;
}

/* The forward conv whose output is the input gradient of s (stride 1,
 * kh = kw, pad ≤ kh − 1): C_out → C_in channels over the H_out × W_out
 * output gradient, pad kh − 1 − pad; its output is H_in × W_in. */
static ebm_conv2d_shape transposed_shape(const ebm_conv2d_shape *s) {
  ebm_conv2d_shape t = *s;
  t.c_in = s->c_out, t.h_in = s->h_out, t.w_in = s->w_out;
  t.c_out = s->c_in, t.h_out = s->h_in, t.w_out = s->w_in;
  t.pad = s->kh - 1 - s->pad;
  return t;
}

static int shifted_input_grad(const ebm_conv2d_shape *s) {
  return shifted(s) && s->kh == s->kw && s->pad <= s->kh - 1;
}

/* Shifted form of s: the row width Wq (pixels), the padded buffer's plane
 * (floats per channel: the last pixel read is (H_in + 2·pad − 1)·Wq + W_in
 * + 2·pad − 1) and the output columns, for a group of g items. When pad >
 * kw − 1 an output row (W_in + 2·pad − kw + 1 pixels) is longer than Wq and
 * its last pixels share columns with the first of the next row; both read
 * only zeros (input columns ≥ W_in and < 0), so the shared column holds the
 * right value, 0, for both. */
static int64_t shifted_wq(const ebm_conv2d_shape *s) { return s->w_in + s->pad; }
static int64_t shifted_plane(const ebm_conv2d_shape *s, int64_t g) {
  return ((s->h_in + 2 * s->pad) * shifted_wq(s) + s->pad) * g;
}
static int64_t shifted_cols(const ebm_conv2d_shape *s, int64_t g) {
  return ((s->h_out - 1) * shifted_wq(s) + s->w_out) * g;
}
/* Floats of its padded buffer + output (both in the col part). */
static size_t shifted_floats(const ebm_conv2d_shape *s, int64_t g) {
  return conv_round_up((size_t)(s->c_in * shifted_plane(s, g))) +
         conv_round_up((size_t)(s->c_out * shifted_cols(s, g)));
}

typedef struct {
  size_t xt, col, mat, pdw, pdb, zt, total; /* offsets in a slot's slice, and its size */
  size_t taps;                              /* shared part after every slot's slice */
} slot_layout;

static slot_layout layout_of(const ebm_conv2d_shape *s) {
  size_t g = (size_t)group_items(s), cols = g * (size_t)conv_p(s), co = (size_t)s->c_out;
  size_t col = (size_t)conv_k(s) * cols;
  if (shifted(s) && shifted_floats(s, (int64_t)g) > col) col = shifted_floats(s, (int64_t)g);
  if (shifted_input_grad(s)) {
    ebm_conv2d_shape t = transposed_shape(s);
    if (shifted_floats(&t, (int64_t)g) > col) col = shifted_floats(&t, (int64_t)g);
  }
  slot_layout l;
  l.xt = 0;
  l.col = l.xt + conv_round_up((size_t)conv_f_in(s) * g);
  l.mat = l.col + conv_round_up(col);
  l.pdw = l.mat + conv_round_up(co * cols);
  l.pdb = l.pdw + conv_round_up(co * (size_t)conv_k(s));
  l.zt = l.pdb + conv_round_up(co);
  l.total = l.zt + conv_round_up(co * cols);
  l.taps = (size_t)conv_slots(s) * l.total;
  return l;
}

size_t ops_conv2d_gemm_workspace(const ebm_conv2d_shape *s) {
  int any = shifted(s) || shifted_input_grad(s);
  return layout_of(s).taps + (any ? conv_round_up((size_t)(conv_k(s) * s->c_out)) : 0);
}

/* taps[(tap·C_out + co)·C_in + ci] = w[co][ci][tap] with tap = i·kw + j:
 * the weights of s for its shifted form, one C_out × C_in matrix per tap.
 * Exact (data movement). */
static void pack_taps(const ebm_conv2d_shape *s, const float *restrict w, float *restrict taps) {
  const int64_t kk = s->kh * s->kw;
  for (int64_t co = 0; co < s->c_out; co++)
    for (int64_t ci = 0; ci < s->c_in; ci++)
      for (int64_t q = 0; q < kk; q++) taps[(q * s->c_out + co) * s->c_in + ci] = w[(co * s->c_in + ci) * kk + q];
}

/* The same for transposed_shape(s): taps[(tap'·C_in + ci)·C_out + co] =
 * w[co][ci][tap] with tap' = kh·kw − 1 − tap (both axes flipped). */
static void pack_taps_flipped(const ebm_conv2d_shape *s, const float *restrict w, float *restrict taps) {
  const int64_t kk = s->kh * s->kw;
  for (int64_t co = 0; co < s->c_out; co++)
    for (int64_t ci = 0; ci < s->c_in; ci++)
      for (int64_t q = 0; q < kk; q++)
        taps[((kk - 1 - q) * s->c_in + ci) * s->c_out + co] = w[(co * s->c_in + ci) * kk + q];
}

/* Groups of fewer items than this move between NCHW and the shifted form's
 * CHWN buffer row by row with plain loops (ops_transpose's 8×8 register
 * tiles do not fit them, and its plain loop, tiled for large matrices,
 * costs more than the rows it moves); larger ones go through an
 * ops_transpose of the whole group into xt first. */
#define SHIFTED_TILE_ITEMS 8

// dst[w·gn + t] = x[t·ld + w] (· gate[t·ld + w] when gate is not NULL)
// for w < len, t < gn: one row of gn NCHW items into CHWN. Inlined with gn a
// constant (rows_to_chwn) so that the compiler vectorises the interleave.
static inline __attribute__((always_inline)) void row_to_chwn(const float *restrict x,
                                                              const float *restrict gate,
                                                              int64_t ld, int64_t len, int64_t gn,
                                                              float *restrict dst) {
  for (int64_t w = 0; w < len; w++)
    for (int64_t t = 0; t < gn; t++) dst[w * gn + t] = gate ? x[t * ld + w] * gate[t * ld + w] : x[t * ld + w];
}
static void rows_to_chwn(const float *x, const float *gate, int64_t ld, int64_t len, int64_t gn,
                         float *dst) {
  switch (gn) {
  case 1: row_to_chwn(x, gate, ld, len, 1, dst); break;
  case 2: row_to_chwn(x, gate, ld, len, 2, dst); break;
  case 4: row_to_chwn(x, gate, ld, len, 4, dst); break;
  default: row_to_chwn(x, gate, ld, len, gn, dst);
  }
}

// The inverse for output rows: dst[t·ld + x] = src[x·gn + t].
static inline __attribute__((always_inline)) void row_from_chwn(const float *restrict src,
                                                                int64_t len, int64_t gn,
                                                                float *restrict dst, int64_t ld) {
  for (int64_t x = 0; x < len; x++)
    for (int64_t t = 0; t < gn; t++) dst[t * ld + x] = src[x * gn + t];
}
static void rows_from_chwn(const float *src, int64_t len, int64_t gn, float *dst, int64_t ld) {
  switch (gn) {
  case 2: row_from_chwn(src, len, 2, dst, ld); break;
  case 4: row_from_chwn(src, len, 4, dst, ld); break;
  default: row_from_chwn(src, len, gn, dst, ld);
  }
}

// buf (C_in planes of shifted_plane floats) = the group zero-padded (top
// of the file): gn items of (C_in, H_in, W_in) at x with item stride ld,
// times gate (same layout) when gate is not NULL; xt (C_in·H_in·W_in × gn)
// is scratch.
static void shifted_fill(const ebm_conv2d_shape *s, const float *x, const float *gate, int64_t ld,
                         int64_t gn, float *restrict xt, float *restrict buf) {
  const int64_t wq = shifted_wq(s), plane = shifted_plane(s, gn), hw = s->h_in * s->w_in;
  const int64_t row = s->w_in * gn, gap = s->pad * gn;
  const int64_t first = (s->pad * wq + s->pad) * gn, end = first + (s->h_in - 1) * wq * gn + row;
  const int tiled = gn >= SHIFTED_TILE_ITEMS;
  if (tiled && gate)
    ops_transpose_product(gn, conv_f_in(s), x, gate, ld, xt, gn);
  else if (tiled)
    ops_transpose(gn, conv_f_in(s), x, ld, xt, gn);
  for (int64_t c = 0; c < s->c_in; c++) { /* the rows, each after its gap; zeros above and below */
    float *restrict plane_c = buf + c * plane;
    memset(plane_c, 0, (size_t)first * sizeof *buf);
    for (int64_t h = 0; h < s->h_in; h++) {
      float *restrict dst = plane_c + first + h * wq * gn;
      const int64_t at = c * hw + h * s->w_in; /* the row in an item */
      if (h > 0)
        for (int64_t q = 1; q <= gap; q++) dst[-q] = 0.0f;
      if (tiled)
        memcpy(dst, xt + at * gn, (size_t)row * sizeof *buf);
      else if (gate)
        rows_to_chwn(x + at, gate + at, ld, s->w_in, gn, dst);
      else if (gn == 1)
        memcpy(dst, x + at, (size_t)row * sizeof *buf);
      else
        rows_to_chwn(x + at, NULL, ld, s->w_in, gn, dst);
    }
    memset(plane_c + end, 0, (size_t)(plane - end) * sizeof *buf);
  }
}

// out (C_out × shifted_cols, the junk columns included) = the sums of every
// tap of conv s over buf, as shifted_fill left it for a group of gn items.
static void shifted_taps(const ebm_conv2d_shape *s, int64_t gn, const float *taps,
                         const float *buf, float *out) {
  const int64_t wq = shifted_wq(s), plane = shifted_plane(s, gn), cols = shifted_cols(s, gn);
  for (int64_t i = 0; i < s->kh; i++)
    for (int64_t j = 0; j < s->kw; j++) {
      const int64_t tap = i * s->kw + j;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->c_out, (int)cols, (int)s->c_in,
                  1.0f, taps + tap * s->c_out * s->c_in, (int)s->c_in, buf + (i * wq + j) * gn,
                  (int)plane, tap == 0 ? 0.0f : 1.0f, out, (int)cols);
    }
}

/* A 1×1 conv without padding needs no buffer: its one tap multiplies each
 * item's NCHW planes as they are (C_in × H·W), one sgemm per item straight
 * into the output. */
static int pointwise(const ebm_conv2d_shape *s) { return s->kh == 1 && s->kw == 1 && s->pad == 0; }

// Items t < gn of a pointwise s: out + t·ldo (C_out × P) = taps (C_out ×
// C_in) · (in ⊙ gate) + t·ldi (C_in × P; the product, when gate is not
// NULL, in scratch, C_in·P floats).
static void pointwise_items(const ebm_conv2d_shape *s, int64_t gn, const float *taps, const float *in,
                            const float *gate, int64_t ldi, float *restrict scratch, float *out,
                            int64_t ldo) {
  const int64_t p = conv_p(s), f = s->c_in * p;
  for (int64_t t = 0; t < gn; t++) {
    const float *b = in + t * ldi;
    if (gate) {
      const float *restrict x = b, *restrict gt = gate + t * ldi;
      for (int64_t q = 0; q < f; q++) scratch[q] = x[q] * gt[q];
      b = scratch;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->c_out, (int)p, (int)s->c_in, 1.0f,
                taps, (int)s->c_in, b, (int)p, 0.0f, out + t * ldo, (int)p);
  }
}

// dst (gn items, NCHW with item stride ld) = the valid columns of out (as
// shifted_taps left it for shape s): channel c, row y of item t.
static void shifted_to_nchw(const ebm_conv2d_shape *s, const float *out, int64_t gn, float *dst,
                            int64_t ld) {
  const int64_t wq = shifted_wq(s), cols = shifted_cols(s, gn), p = conv_p(s);
  for (int64_t c = 0; c < s->c_out; c++)
    for (int64_t y = 0; y < s->h_out; y++) {
      const float *restrict src = out + c * cols + y * wq * gn;
      float *restrict d = dst + c * p + y * s->w_out;
      if (gn == 1) /* a copy */
        memcpy(d, src, (size_t)s->w_out * sizeof *dst);
      else if (gn >= SHIFTED_TILE_ITEMS)
        ops_transpose(s->w_out, gn, src, gn, d, ld);
      else
        rows_from_chwn(src, s->w_out, gn, d, ld);
    }
}

// xt is a group of g items in CHWN (F × g); col is (C_in·kh·kw) × (P·g),
// column (p, t): col[(c,i,j)][(oh·W_out + ow)·g + t] = x_t[c, oh·s − pad + i, ow·s − pad + j].
static void im2col_group(const ebm_conv2d_shape *s, const float *restrict xt, int64_t g,
                         float *restrict col) {
  const int64_t ho = s->h_out, wo = s->w_out, st = s->stride, pad = s->pad;
  const int64_t ld = ho * wo * g;
  for (int64_t c = 0; c < s->c_in; c++)
    for (int64_t ki = 0; ki < s->kh; ki++) {
      int64_t oh0, oh1;
      conv_valid_range(s->h_in, ho, st, pad, ki, &oh0, &oh1);
      for (int64_t kj = 0; kj < s->kw; kj++) {
        int64_t ow0, ow1;
        conv_valid_range(s->w_in, wo, st, pad, kj, &ow0, &ow1);
        float *restrict row = col + ((c * s->kh + ki) * s->kw + kj) * ld;
        memset(row, 0, (size_t)(oh0 * wo * g) * sizeof *row);
        for (int64_t oh = oh0; oh < oh1; oh++) {
          float *restrict out = row + oh * wo * g;
          const float *restrict in = xt + ((c * s->h_in + oh * st - pad + ki) * s->w_in + kj - pad) * g;
          memset(out, 0, (size_t)(ow0 * g) * sizeof *out);
          if (st == 1) /* one run (one item per group on large images: a float per pixel) */
            memcpy(out + ow0 * g, in + ow0 * g, (size_t)((ow1 - ow0) * g) * sizeof *out);
          else
            for (int64_t ow = ow0; ow < ow1; ow++) {
              const float *restrict src = in + ow * st * g;
              float *restrict dst = out + ow * g;
              for (int64_t t = 0; t < g; t++) dst[t] = src[t];
            }
          memset(out + ow1 * g, 0, (size_t)((wo - ow1) * g) * sizeof *out);
        }
        memset(row + oh1 * wo * g, 0, (size_t)((ho - oh1) * wo * g) * sizeof *row);
      }
    }
}

// col is (C_in·kh·kw) × (P·g) as above; dxt (F × g, CHWN) is overwritten
// with the sum of every column entry at its input pixel.
static void col2im_group(const ebm_conv2d_shape *s, const float *restrict col, int64_t g,
                         float *restrict dxt) {
  const int64_t ho = s->h_out, wo = s->w_out, st = s->stride, pad = s->pad;
  const int64_t ld = ho * wo * g;
  memset(dxt, 0, (size_t)(conv_f_in(s) * g) * sizeof *dxt);
  for (int64_t c = 0; c < s->c_in; c++)
    for (int64_t ki = 0; ki < s->kh; ki++) {
      int64_t oh0, oh1;
      conv_valid_range(s->h_in, ho, st, pad, ki, &oh0, &oh1);
      for (int64_t kj = 0; kj < s->kw; kj++) {
        int64_t ow0, ow1;
        conv_valid_range(s->w_in, wo, st, pad, kj, &ow0, &ow1);
        const float *restrict row = col + ((c * s->kh + ki) * s->kw + kj) * ld;
        for (int64_t oh = oh0; oh < oh1; oh++) {
          const float *restrict in = row + oh * wo * g;
          float *restrict out = dxt + ((c * s->h_in + oh * st - pad + ki) * s->w_in + kj - pad) * g;
          if (st == 1) { /* one run; each element still gets one addition per row */
            for (int64_t q = ow0 * g; q < ow1 * g; q++) out[q] += in[q];
            continue;
          }
          for (int64_t ow = ow0; ow < ow1; ow++) {
            const float *restrict src = in + ow * g;
            float *restrict dst = out + ow * st * g;
            for (int64_t t = 0; t < g; t++) dst[t] += src[t];
          }
        }
      }
    }
}

typedef struct {
  const ebm_conv2d_shape *s;
  const float *x, *w, *b, *dy, *gate_in;
  float *y, *pre, *gate, *dx, *ws;
} conv_job;

void ops_conv2d_bias_swish(const ebm_conv2d_shape *s, int64_t gn, const float *b, float *out,
                           float *act, float *gate) {
  const int64_t p = conv_p(s);
  if (b)
    for (int64_t t = 0; t < gn; t++)
      for (int64_t co = 0; co < s->c_out; co++) {
        float *restrict z = out + (t * s->c_out + co) * p;
        for (int64_t q = 0; q < p; q++) z[q] += b[co];
      }
  /* one long loop (vectorised even when a channel has 4 pixels) */
  if (act && gate) ops_swish_gate_array(gn * conv_f_out(s), out, act, gate);
  else if (act) ops_swish_array(gn * conv_f_out(s), out, act);
}

/* Forward and input gradient hand their groups to the pool's threads one
 * chunk at a time, so a pass of few groups leaves a thread idle while the
 * other runs the last one (bench/bench_pool_idle.c: igebm-mnist's conv_in,
 * 8 groups of 16 items, and blocks.1's 1×1 shortcut, 8 groups, each kept
 * one thread of two idle for about its whole time). Their groups are
 * therefore smaller than the weight gradient's (group_items, unchanged):
 * - a pointwise conv multiplies item by item anyway (pointwise_items), so
 *   its groups are single items: the same sgemms, the same bits;
 * - an im2col pass halves g, down to whole 8×8 transpose tiles and while a
 *   group keeps at least GROUP_COLS sgemm columns, until the batch makes
 *   PASS_MIN_GROUPS groups. Only how many columns one sgemm call takes
 *   changes, but OpenBLAS does not always give a column the same bits in a
 *   narrower call: this changed the generic path's bits of such convs
 *   (igebm-mnist's conv_in at batch 128).
 * Both depend on the shape only (never on the thread count). */
#define PASS_MIN_GROUPS 16
static int64_t pass_group_items(const ebm_conv2d_shape *s) {
  if (shifted(s) && pointwise(s)) return 1;
  int64_t g = group_items(s);
  if (shifted(s)) return g;
  while ((s->n + g - 1) / g < PASS_MIN_GROUPS && g / 2 >= SHIFTED_TILE_ITEMS &&
         g / 2 * conv_p(s) >= GROUP_COLS)
    g /= 2;
  return g;
}

/* Groups of pass_group_items in the batch: the units of forward and input
 * gradient. */
static int64_t group_count(const ebm_conv2d_shape *s) {
  int64_t g = pass_group_items(s);
  return (s->n + g - 1) / g;
}

// x is (N,C_in,H_in,W_in), w is (C_out,C_in,kh,kw), y is (N,C_out,H_out,W_out);
// z gets conv + b and, when j->y is set, y gets swish(z). Groups [begin, end)
// in worker tid's slice.
static void forward_groups(void *ctx, int64_t begin, int64_t end, int tid) {
  const conv_job *j = ctx;
  const ebm_conv2d_shape *s = j->s;
  const int64_t k = conv_k(s), p = conv_p(s), g = pass_group_items(s), fi = conv_f_in(s), fo = conv_f_out(s);
  const slot_layout l = layout_of(s);
  float *base = j->ws + (size_t)tid * l.total;
  float *xt = base + l.xt, *col = base + l.col, *mat = base + l.mat;
  const int shift = shifted(s);
  for (int64_t a = begin * g; a < end * g && a < s->n; a += g) {
    const int64_t gn = a + g < s->n ? g : s->n - a, cols = gn * p;
    float *z = j->pre ? j->pre + a * fo : base + l.zt; /* no pre kept: the group's own */
    if (shift && pointwise(s)) {
      pointwise_items(s, gn, j->ws + l.taps, j->x + a * fi, NULL, fi, NULL, z, fo);
    } else if (shift) {
      float *out = col + conv_round_up((size_t)(s->c_in * shifted_plane(s, gn)));
      shifted_fill(s, j->x + a * fi, NULL, fi, gn, xt, col);
      shifted_taps(s, gn, j->ws + l.taps, col, out);
      shifted_to_nchw(s, out, gn, z, fo);
    } else {
      ops_transpose(gn, fi, j->x + a * fi, fi, xt, gn);
      im2col_group(s, xt, gn, col);
      /* mat (C_out × P·g) = w (C_out × K) · col (K × P·g) */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->c_out, (int)cols, (int)k, 1.0f,
                  j->w, (int)k, col, (int)cols, 0.0f, mat, (int)cols);
      ops_transpose(fo, gn, mat, gn, z, fo);
    }
    ops_conv2d_bias_swish(s, gn, j->b, z, j->y ? j->y + a * fo : NULL,
                          j->gate ? j->gate + a * fo : NULL);
  }
}

void ops_conv2d_gemm_forward(const ebm_conv2d_shape *s, const float *x, const float *w,
                             const float *b, float *z, float *act, float *gate, float *ws) {
  conv_job j = {.s = s, .x = x, .w = w, .b = b, .pre = z, .y = act, .gate = gate, .ws = ws};
  if (shifted(s)) pack_taps(s, w, ws + layout_of(s).taps);
  ebm_parallel_for_workers(group_count(s), 1, (int)conv_slots(s), forward_groups, &j);
}

/* The output gradients of items [a, a+gn) in CHWN (C_out·P × gn) in mat,
 * times the swish gate when gate is given. */
static void gather_dy(const ebm_conv2d_shape *s, const float *dy, const float *gate, int64_t a,
                      int64_t gn, float *mat) {
  const int64_t fo = conv_f_out(s);
  if (gate)
    ops_transpose_product(gn, fo, dy + a * fo, gate + a * fo, fo, mat, gn);
  else
    ops_transpose(gn, fo, dy + a * fo, fo, mat, gn);
}

// dy is (N,C_out,H_out,W_out), w is (C_out,C_in,kh,kw), dx is (N,C_in,H_in,W_in).
// Groups [begin, end) in worker tid's slice.
static void backward_input_groups(void *ctx, int64_t begin, int64_t end, int tid) {
  const conv_job *j = ctx;
  const ebm_conv2d_shape *s = j->s;
  const int64_t k = conv_k(s), p = conv_p(s), g = pass_group_items(s), fi = conv_f_in(s);
  const slot_layout l = layout_of(s);
  float *base = j->ws + (size_t)tid * l.total;
  float *xt = base + l.xt, *col = base + l.col, *mat = base + l.mat;
  const int shift = shifted_input_grad(s);
  const ebm_conv2d_shape t = transposed_shape(s);
  for (int64_t a = begin * g; a < end * g && a < s->n; a += g) {
    const int64_t gn = a + g < s->n ? g : s->n - a, cols = gn * p;
    const int64_t fo = conv_f_out(s);
    if (shift && pointwise(s)) {
      pointwise_items(&t, gn, j->ws + l.taps, j->dy + a * fo, j->gate_in ? j->gate_in + a * fo : NULL,
                      fo, mat, j->dx + a * fi, fi);
      continue;
    }
    if (shift) { /* the forward conv of dy (⊙ gate) with the flipped weights, shifted */
      float *out = col + conv_round_up((size_t)(t.c_in * shifted_plane(&t, gn)));
      shifted_fill(&t, j->dy + a * fo, j->gate_in ? j->gate_in + a * fo : NULL, fo, gn, mat, col);
      shifted_taps(&t, gn, j->ws + l.taps, col, out);
      shifted_to_nchw(&t, out, gn, j->dx + a * fi, fi);
      continue;
    }
    gather_dy(s, j->dy, j->gate_in, a, gn, mat);
    /* dcol (K × P·g) = wᵀ (K × C_out) · mat (C_out × P·g) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)cols, (int)s->c_out, 1.0f,
                j->w, (int)k, mat, (int)cols, 0.0f, col, (int)cols);
    col2im_group(s, col, gn, xt);
    ops_transpose(fi, gn, xt, gn, j->dx + a * fi, fi);
  }
}

void ops_conv2d_gemm_backward_input(const ebm_conv2d_shape *s, const float *gate, const float *dy,
                                    const float *w, float *dx, float *ws) {
  conv_job j = {.s = s, .gate_in = gate, .dy = dy, .w = w, .dx = dx, .ws = ws};
  if (shifted_input_grad(s)) pack_taps_flipped(s, w, ws + layout_of(s).taps);
  ebm_parallel_for_workers(group_count(s), 1, (int)conv_slots(s), backward_input_groups, &j);
}

// x is (N,C_in,H_in,W_in), dy is (N,C_out,H_out,W_out); each slot leaves its
// partial dw (C_out, K) and db (C_out) in its workspace slice.
static void backward_weight_slots(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const conv_job *j = ctx;
  const ebm_conv2d_shape *s = j->s;
  const int64_t k = conv_k(s), p = conv_p(s), g = group_items(s), fi = conv_f_in(s);
  const slot_layout l = layout_of(s);
  for (int64_t slot = begin; slot < end; slot++) {
    float *base = j->ws + (size_t)slot * l.total;
    float *xt = base + l.xt, *col = base + l.col, *mat = base + l.mat;
    float *pdw = base + l.pdw, *pdb = base + l.pdb;
    memset(pdw, 0, (size_t)(s->c_out * k) * sizeof *pdw);
    memset(pdb, 0, (size_t)s->c_out * sizeof *pdb);
    int64_t i0, i1;
    conv_slot_items(s, slot, &i0, &i1);
    for (int64_t a = i0; a < i1; a += g) {
      const int64_t gn = a + g < i1 ? g : i1 - a, cols = gn * p;
      ops_transpose(gn, fi, j->x + a * fi, fi, xt, gn);
      im2col_group(s, xt, gn, col);
      gather_dy(s, j->dy, NULL, a, gn, mat);
      /* pdw (C_out × K) += mat (C_out × P·g) · colᵀ (P·g × K) */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->c_out, (int)k, (int)cols, 1.0f,
                  mat, (int)cols, col, (int)cols, 1.0f, pdw, (int)k);
      for (int64_t co = 0; co < s->c_out; co++) {
        const float *restrict row = mat + co * cols;
        float acc = 0.0f;
        for (int64_t q = 0; q < cols; q++) acc += row[q];
        pdb[co] += acc;
      }
    }
  }
}

void ops_conv2d_add_slot_partials(const ebm_conv2d_shape *s, const float *first, size_t stride,
                                  size_t pdw_at, size_t pdb_at, float *dw, float *db) {
  const int64_t k = conv_k(s);
  for (int64_t slot = 0; slot < conv_slots(s); slot++) {
    const float *pdw = first + (size_t)slot * stride + pdw_at, *pdb = first + (size_t)slot * stride + pdb_at;
    for (int64_t q = 0; q < s->c_out * k; q++) dw[q] += pdw[q];
    if (db)
      for (int64_t co = 0; co < s->c_out; co++) db[co] += pdb[co];
  }
}

void ops_conv2d_gemm_backward_weight(const ebm_conv2d_shape *s, const float *x, const float *dy,
                                     float *dw, float *db, float *ws) {
  conv_job j = {.s = s, .x = x, .dy = dy, .ws = ws};
  ebm_parallel_for_workers(conv_slots(s), 1, (int)conv_slots(s), backward_weight_slots, &j);
  const slot_layout l = layout_of(s);
  ops_conv2d_add_slot_partials(s, ws, l.total, l.pdw, l.pdb, dw, db);
}
