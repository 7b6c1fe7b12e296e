/* conv2d on the CPU, PyTorch Conv2d semantics (OIHW weights,
 * cross-correlation, zero padding, dilation 1, groups 1): the portable path
 * — im2col + BLAS sgemm (col2im for the input gradient) — which is the
 * generic table's conv (the AVX2 / AVX-512 tables take the direct paths
 * where the shape fits: conv2d_paths.c).
 *
 * Work split. Items go through the GEMMs in groups of g (group_items): deep
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
 *                       none (fused forward with pre NULL) */
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

typedef struct {
  size_t xt, col, mat, pdw, pdb, zt, total; /* offsets in a slot's slice, and its size */
} slot_layout;

static slot_layout layout_of(const ebm_conv2d_shape *s) {
  size_t g = (size_t)group_items(s), cols = g * (size_t)conv_p(s), co = (size_t)s->c_out;
  slot_layout l;
  l.xt = 0;
  l.col = l.xt + conv_round_up((size_t)conv_f_in(s) * g);
  l.mat = l.col + conv_round_up((size_t)conv_k(s) * cols);
  l.pdw = l.mat + conv_round_up(co * cols);
  l.pdb = l.pdw + conv_round_up(co * (size_t)conv_k(s));
  l.zt = l.pdb + conv_round_up(co);
  l.total = l.zt + conv_round_up(co * cols);
  return l;
}

size_t ops_conv2d_gemm_workspace(const ebm_conv2d_shape *s) {
  return (size_t)conv_slots(s) * layout_of(s).total;
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

/* Groups of g items in the batch: the units of forward and input gradient. */
static int64_t group_count(const ebm_conv2d_shape *s) {
  int64_t g = group_items(s);
  return (s->n + g - 1) / g;
}

// x is (N,C_in,H_in,W_in), w is (C_out,C_in,kh,kw), y is (N,C_out,H_out,W_out);
// z gets conv + b and, when j->y is set, y gets swish(z). Groups [begin, end)
// in worker tid's slice.
static void forward_groups(void *ctx, int64_t begin, int64_t end, int tid) {
  const conv_job *j = ctx;
  const ebm_conv2d_shape *s = j->s;
  const int64_t k = conv_k(s), p = conv_p(s), g = group_items(s), fi = conv_f_in(s), fo = conv_f_out(s);
  const slot_layout l = layout_of(s);
  float *base = j->ws + (size_t)tid * l.total;
  float *xt = base + l.xt, *col = base + l.col, *mat = base + l.mat;
  for (int64_t a = begin * g; a < end * g && a < s->n; a += g) {
    const int64_t gn = a + g < s->n ? g : s->n - a, cols = gn * p;
    ops_transpose(gn, fi, j->x + a * fi, fi, xt, gn);
    im2col_group(s, xt, gn, col);
    /* mat (C_out × P·g) = w (C_out × K) · col (K × P·g) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->c_out, (int)cols, (int)k, 1.0f,
                j->w, (int)k, col, (int)cols, 0.0f, mat, (int)cols);
    float *z = j->pre ? j->pre + a * fo : base + l.zt; /* no pre kept: the group's own */
    ops_transpose(fo, gn, mat, gn, z, fo);
    ops_conv2d_bias_swish(s, gn, j->b, z, j->y ? j->y + a * fo : NULL,
                          j->gate ? j->gate + a * fo : NULL);
  }
}

void ops_conv2d_gemm_forward(const ebm_conv2d_shape *s, const float *x, const float *w,
                             const float *b, float *z, float *act, float *gate, float *ws) {
  conv_job j = {.s = s, .x = x, .w = w, .b = b, .pre = z, .y = act, .gate = gate, .ws = ws};
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
  const int64_t k = conv_k(s), p = conv_p(s), g = group_items(s), fi = conv_f_in(s);
  const slot_layout l = layout_of(s);
  float *base = j->ws + (size_t)tid * l.total;
  float *xt = base + l.xt, *col = base + l.col, *mat = base + l.mat;
  for (int64_t a = begin * g; a < end * g && a < s->n; a += g) {
    const int64_t gn = a + g < s->n ? g : s->n - a, cols = gn * p;
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
