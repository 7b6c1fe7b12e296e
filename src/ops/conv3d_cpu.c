/* 3-D convolution on the CPU (ops/conv3d.h): vol2col + BLAS sgemm, the
 * 3-D form of conv2d's portable path (conv2d_cpu.c), one item per sgemm.
 * A volume item has thousands of output positions (a 16×64×64 video's
 * first layer: 8·32·32 = 8192), enough columns to amortise the sgemm's
 * packing on its own, so items are not grouped as conv2d's small images
 * are, and stay NCHW: the sgemm writes the output item in place.
 *
 * Per item, with K = C_in·kd·k² and P = D_out·H_out·W_out:
 *   forward          y (C_out × P)  = w (C_out × K) · col (K × P)
 *   input gradient   col (K × P)    = wᵀ · dy (C_out × P), then col2vol
 *   weight gradient  dw (C_out × K) += dy · colᵀ
 *
 * Workspace slice of one slot (floats, each part 64-byte aligned):
 *   col  K × P      vol2col of the item / its input-gradient columns
 *   pdw  C_out × K  partial weight gradient (backward_weight)
 *   pdb  C_out      partial bias gradient */
#include <cblas.h>
#include <string.h>

#include "ebm/core.h"
#include "ops/conv2d_internal.h"
#include "ops/conv3d.h"

int ebm_conv3d_shape_finish(ebm_conv3d_shape *s) {
  if (s->kd == 0) s->kd = s->k, s->sd = s->stride, s->pd = s->pad;
  if (s->stride < 1 || s->k < 1 || s->pad < 0 || s->sd < 1 || s->kd < 1 || s->pd < 0) return -1;
  s->d_out = (s->d_in + 2 * s->pd - s->kd) / s->sd + 1;
  s->h_out = (s->h_in + 2 * s->pad - s->k) / s->stride + 1;
  s->w_out = (s->w_in + 2 * s->pad - s->k) / s->stride + 1;
  if (s->slots == 0) s->slots = ebm_threads_count();
  int fits = s->d_in + 2 * s->pd >= s->kd && s->h_in + 2 * s->pad >= s->k && s->w_in + 2 * s->pad >= s->k;
  return fits && s->d_out >= 1 && s->h_out >= 1 && s->w_out >= 1 ? 0 : -1;
}

static int64_t slots_of(const ebm_conv3d_shape *s) { return s->slots > 0 ? s->slots : 1; }
static int64_t k_of(const ebm_conv3d_shape *s) { return s->c_in * s->kd * s->k * s->k; }
static int64_t p_of(const ebm_conv3d_shape *s) { return s->d_out * s->h_out * s->w_out; }
static int64_t f_in(const ebm_conv3d_shape *s) { return s->c_in * s->d_in * s->h_in * s->w_in; }
static int64_t f_out(const ebm_conv3d_shape *s) { return s->c_out * p_of(s); }

typedef struct {
  size_t col, pdw, pdb, total; /* offsets in a slot's slice, and its size */
} slot_layout;

static slot_layout layout_of(const ebm_conv3d_shape *s) {
  slot_layout l;
  l.col = 0;
  l.pdw = l.col + conv_round_up((size_t)(k_of(s) * p_of(s)));
  l.pdb = l.pdw + conv_round_up((size_t)(s->c_out * k_of(s)));
  l.total = l.pdb + conv_round_up((size_t)s->c_out);
  return l;
}

size_t ebm_conv3d_workspace(const ebm_conv3d_shape *s) {
  return (size_t)slots_of(s) * layout_of(s).total;
}

/* Runs `body` for every col row (c, kd, kh, kw) and output row (od, oh),
 * with `out` the run of w_out columns in that col row, `in` the input row
 * shifted so that in[ow·stride] is the input of column ow, [ow0, ow1) the
 * columns whose input lies inside the volume, and `inside` 0 when the whole
 * output row's input is outside (depth or height in the padding). One
 * traversal serves vol2col and col2vol. */
#define FOR_COL_ROWS(s, col, body)                                                               \
  do {                                                                                           \
    const int64_t k_ = (s)->k, st_ = (s)->stride, pad_ = (s)->pad, p_ = p_of(s);                 \
    const int64_t kd_ = (s)->kd, sd_ = (s)->sd, pd_ = (s)->pd;                                   \
    for (int64_t c = 0; c < (s)->c_in; c++)                                                      \
      for (int64_t kd = 0; kd < kd_; kd++) {                                                     \
        int64_t od0, od1;                                                                        \
        conv_valid_range((s)->d_in, (s)->d_out, sd_, pd_, kd, &od0, &od1);                       \
        for (int64_t kh = 0; kh < k_; kh++) {                                                    \
          int64_t oh0, oh1;                                                                      \
          conv_valid_range((s)->h_in, (s)->h_out, st_, pad_, kh, &oh0, &oh1);                    \
          for (int64_t kw = 0; kw < k_; kw++) {                                                  \
            int64_t ow0, ow1;                                                                    \
            conv_valid_range((s)->w_in, (s)->w_out, st_, pad_, kw, &ow0, &ow1);                  \
            float *const row_ = (col) + (((c * kd_ + kd) * k_ + kh) * k_ + kw) * p_;             \
            for (int64_t od = 0; od < (s)->d_out; od++)                                          \
              for (int64_t oh = 0; oh < (s)->h_out; oh++) {                                      \
                float *restrict out = row_ + (od * (s)->h_out + oh) * (s)->w_out;                \
                const int inside = od >= od0 && od < od1 && oh >= oh0 && oh < oh1;               \
                const int64_t id = od * sd_ - pd_ + kd, ih = oh * st_ - pad_ + kh;               \
                const int64_t at = inside ? ((c * (s)->d_in + id) * (s)->h_in + ih) * (s)->w_in  \
                                                + kw - pad_ : 0;                                 \
                body                                                                             \
              }                                                                                  \
          }                                                                                      \
        }                                                                                        \
      }                                                                                          \
  } while (0)

// x is one item (C_in, D_in, H_in, W_in); col (K × P) is overwritten:
// col[(c,kd,kh,kw)][(od,oh,ow)] = x[c, od·sd − pd + kd, oh·s − p + kh, ow·s − p + kw], 0 outside.
static void vol2col(const ebm_conv3d_shape *s, const float *restrict x, float *restrict col) {
  FOR_COL_ROWS(s, col, {
    if (!inside) {
      memset(out, 0, (size_t)s->w_out * sizeof *out);
      continue;
    }
    const float *restrict in = x + at;
    memset(out, 0, (size_t)ow0 * sizeof *out);
    for (int64_t ow = ow0; ow < ow1; ow++) out[ow] = in[ow * st_];
    memset(out + ow1, 0, (size_t)(s->w_out - ow1) * sizeof *out);
  });
}

// col (K × P) as above (read only; not const because FOR_COL_ROWS serves both); dx, one item (C_in, D_in, H_in, W_in), is
// overwritten with the sum of every col entry at its input voxel.
static void col2vol(const ebm_conv3d_shape *s, float *restrict col, float *restrict dx) {
  memset(dx, 0, (size_t)f_in(s) * sizeof *dx);
  FOR_COL_ROWS(s, col, {
    if (!inside) continue;
    float *restrict in = dx + at;
    for (int64_t ow = ow0; ow < ow1; ow++) in[ow * st_] += out[ow];
  });
}

typedef struct {
  const ebm_conv3d_shape *s;
  const float *x, *w, *b, *dy;
  float *y, *dx, *ws;
} conv3d_job;

// x is (n, C_in, D_in, H_in, W_in), y is (n, C_out, D_out, H_out, W_out);
// items [begin, end) in worker tid's slice.
static void forward_items(void *ctx, int64_t begin, int64_t end, int tid) {
  const conv3d_job *j = ctx;
  const ebm_conv3d_shape *s = j->s;
  const int64_t k = k_of(s), p = p_of(s);
  float *col = j->ws + (size_t)tid * layout_of(s).total;
  for (int64_t a = begin; a < end; a++) {
    float *y = j->y + a * f_out(s);
    vol2col(s, j->x + a * f_in(s), col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->c_out, (int)p, (int)k, 1.0f, j->w,
                (int)k, col, (int)p, 0.0f, y, (int)p);
    if (j->b)
      for (int64_t o = 0; o < s->c_out; o++)
        for (int64_t q = 0; q < p; q++) y[o * p + q] += j->b[o];
  }
}

// dy is (n, C_out, D_out, H_out, W_out), dx is (n, C_in, D_in, H_in, W_in);
// items [begin, end) in worker tid's slice.
static void backward_input_items(void *ctx, int64_t begin, int64_t end, int tid) {
  const conv3d_job *j = ctx;
  const ebm_conv3d_shape *s = j->s;
  const int64_t k = k_of(s), p = p_of(s);
  float *col = j->ws + (size_t)tid * layout_of(s).total;
  for (int64_t a = begin; a < end; a++) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)p, (int)s->c_out, 1.0f, j->w,
                (int)k, j->dy + a * f_out(s), (int)p, 0.0f, col, (int)p);
    col2vol(s, col, j->dx + a * f_in(s));
  }
}

// Slots [begin, end): each sums its contiguous piece of the batch into its
// own partial dw (C_out, K) and db (C_out) in its workspace slice.
static void backward_weight_slots(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const conv3d_job *j = ctx;
  const ebm_conv3d_shape *s = j->s;
  const int64_t k = k_of(s), p = p_of(s), slots = slots_of(s);
  const slot_layout l = layout_of(s);
  for (int64_t slot = begin; slot < end; slot++) {
    float *base = j->ws + (size_t)slot * l.total;
    float *col = base + l.col, *pdw = base + l.pdw, *pdb = base + l.pdb;
    memset(pdw, 0, (size_t)(s->c_out * k) * sizeof *pdw);
    memset(pdb, 0, (size_t)s->c_out * sizeof *pdb);
    for (int64_t a = s->n * slot / slots; a < s->n * (slot + 1) / slots; a++) {
      const float *dy = j->dy + a * f_out(s);
      vol2col(s, j->x + a * f_in(s), col);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->c_out, (int)k, (int)p, 1.0f, dy,
                  (int)p, col, (int)p, 1.0f, pdw, (int)k);
      for (int64_t o = 0; o < s->c_out; o++) {
        float acc = 0.0f;
        for (int64_t q = 0; q < p; q++) acc += dy[o * p + q];
        pdb[o] += acc;
      }
    }
  }
}

void ebm_conv3d_forward(const ebm_conv3d_shape *s, const float *x, const float *w, const float *b,
                        float *y, float *ws) {
  conv3d_job j = {.s = s, .x = x, .w = w, .b = b, .y = y, .ws = ws};
  ebm_parallel_for_workers(s->n, 1, (int)slots_of(s), forward_items, &j);
}

void ebm_conv3d_backward_input(const ebm_conv3d_shape *s, const float *dy, const float *w, float *dx,
                               float *ws) {
  conv3d_job j = {.s = s, .w = w, .dy = dy, .dx = dx, .ws = ws};
  ebm_parallel_for_workers(s->n, 1, (int)slots_of(s), backward_input_items, &j);
}

void ebm_conv3d_backward_weight(const ebm_conv3d_shape *s, const float *x, const float *dy, float *dw,
                                float *db, float *ws) {
  conv3d_job j = {.s = s, .x = x, .dy = dy, .ws = ws};
  const int64_t slots = slots_of(s), k = k_of(s);
  ebm_parallel_for_workers(slots, 1, (int)slots, backward_weight_slots, &j);
  const slot_layout l = layout_of(s);
  for (int64_t slot = 0; slot < slots; slot++) {
    const float *pdw = ws + (size_t)slot * l.total + l.pdw, *pdb = ws + (size_t)slot * l.total + l.pdb;
    for (int64_t q = 0; q < s->c_out * k; q++) dw[q] += pdw[q];
    if (db)
      for (int64_t o = 0; o < s->c_out; o++) db[o] += pdb[o];
  }
}
