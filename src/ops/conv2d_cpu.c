/* conv2d on the CPU: im2col + OpenBLAS sgemm (col2im for the input
 * gradient), PyTorch Conv2d semantics (OIHW weights, cross-correlation,
 * zero padding, dilation 1, groups 1).
 *
 * The batch is cut into s->slots contiguous pieces; each slot owns a slice
 * of the workspace (its col buffer and, for backward_weight, a partial
 * dw/db) and the pool's threads share the slots. Partial weight gradients
 * are added into dw in slot order, so every result depends on the shape
 * only, never on which thread ran which slot. */
#include <cblas.h>
#include <string.h>

#include "ebm/core.h"
#include "ops/cpu_kernels.h"

#define WS_ALIGN 16 /* floats: keep every slice 64-byte aligned */

static size_t round_up(size_t v) { return (v + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN; }
static int64_t slot_count(const ebm_conv2d_shape *s) { return s->slots > 0 ? s->slots : 1; }

/* Floats of one slot's slice: col (K×P) then partial dw (c_out×K) and db. */
static size_t slot_floats(const ebm_conv2d_shape *s) {
  size_t k = (size_t)(s->c_in * s->kh * s->kw), p = (size_t)(s->h_out * s->w_out);
  return round_up(k * p) + round_up((size_t)s->c_out * k) + round_up((size_t)s->c_out);
}

size_t ops_cpu_conv2d_workspace(const ebm_conv2d_shape *s) {
  return (size_t)slot_count(s) * slot_floats(s);
}

// x is (C_in,H_in,W_in) (one item), col is (C_in·kh·kw, H_out·W_out).
static void im2col(const ebm_conv2d_shape *s, const float *restrict x, float *restrict col) {
  const int64_t ho = s->h_out, wo = s->w_out, st = s->stride, pad = s->pad;
  for (int64_t c = 0; c < s->c_in; c++)
    for (int64_t ki = 0; ki < s->kh; ki++)
      for (int64_t kj = 0; kj < s->kw; kj++) {
        float *restrict row = col + ((c * s->kh + ki) * s->kw + kj) * ho * wo;
        for (int64_t oh = 0; oh < ho; oh++) {
          int64_t ih = oh * st - pad + ki;
          float *restrict out = row + oh * wo;
          if (ih < 0 || ih >= s->h_in) {
            memset(out, 0, (size_t)wo * sizeof *out);
            continue;
          }
          const float *restrict in = x + (c * s->h_in + ih) * s->w_in;
          for (int64_t ow = 0; ow < wo; ow++) {
            int64_t iw = ow * st - pad + kj;
            out[ow] = (iw >= 0 && iw < s->w_in) ? in[iw] : 0.0f;
          }
        }
      }
}

// col is (C_in·kh·kw, H_out·W_out); dx is (C_in,H_in,W_in), overwritten.
static void col2im(const ebm_conv2d_shape *s, const float *restrict col, float *restrict dx) {
  const int64_t ho = s->h_out, wo = s->w_out, st = s->stride, pad = s->pad;
  memset(dx, 0, (size_t)(s->c_in * s->h_in * s->w_in) * sizeof *dx);
  for (int64_t c = 0; c < s->c_in; c++)
    for (int64_t ki = 0; ki < s->kh; ki++)
      for (int64_t kj = 0; kj < s->kw; kj++) {
        const float *restrict row = col + ((c * s->kh + ki) * s->kw + kj) * ho * wo;
        for (int64_t oh = 0; oh < ho; oh++) {
          int64_t ih = oh * st - pad + ki;
          if (ih < 0 || ih >= s->h_in) continue;
          float *restrict out = dx + (c * s->h_in + ih) * s->w_in;
          const float *restrict in = row + oh * wo;
          for (int64_t ow = 0; ow < wo; ow++) {
            int64_t iw = ow * st - pad + kj;
            if (iw >= 0 && iw < s->w_in) out[iw] += in[ow];
          }
        }
      }
}

typedef struct {
  const ebm_conv2d_shape *s;
  const float *x, *w, *b, *dy;
  float *y, *dx, *ws;
} conv_job;

static void slot_items(const ebm_conv2d_shape *s, int64_t slot, int64_t *begin, int64_t *end) {
  int64_t slots = slot_count(s);
  *begin = s->n * slot / slots;
  *end = s->n * (slot + 1) / slots;
}

// x is (N,C_in,H_in,W_in), w is (C_out,C_in,kh,kw), y is (N,C_out,H_out,W_out).
static void forward_slots(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const conv_job *j = ctx;
  const ebm_conv2d_shape *s = j->s;
  const int64_t k = s->c_in * s->kh * s->kw, p = s->h_out * s->w_out;
  const int64_t in_size = s->c_in * s->h_in * s->w_in, out_size = s->c_out * p;
  for (int64_t slot = begin; slot < end; slot++) {
    float *col = j->ws + (size_t)slot * slot_floats(s);
    int64_t i0, i1;
    slot_items(s, slot, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
      float *y = j->y + i * out_size;
      im2col(s, j->x + i * in_size, col);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->c_out, (int)p, (int)k, 1.0f,
                  j->w, (int)k, col, (int)p, 0.0f, y, (int)p);
      if (j->b)
        for (int64_t co = 0; co < s->c_out; co++)
          for (int64_t q = 0; q < p; q++) y[co * p + q] += j->b[co];
    }
  }
}

void ops_cpu_conv2d_forward(const ebm_conv2d_shape *s, const float *x, const float *w,
                            const float *b, float *y, float *ws) {
  conv_job j = {.s = s, .x = x, .w = w, .b = b, .y = y, .ws = ws};
  ebm_parallel_for(slot_count(s), 1, forward_slots, &j);
}

// dy is (N,C_out,H_out,W_out), w is (C_out,C_in,kh,kw), dx is (N,C_in,H_in,W_in).
static void backward_input_slots(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const conv_job *j = ctx;
  const ebm_conv2d_shape *s = j->s;
  const int64_t k = s->c_in * s->kh * s->kw, p = s->h_out * s->w_out;
  const int64_t in_size = s->c_in * s->h_in * s->w_in, out_size = s->c_out * p;
  for (int64_t slot = begin; slot < end; slot++) {
    float *col = j->ws + (size_t)slot * slot_floats(s);
    int64_t i0, i1;
    slot_items(s, slot, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
      /* dcol (K×P) = wᵀ (K×C_out) · dy_i (C_out×P) */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)p, (int)s->c_out, 1.0f,
                  j->w, (int)k, j->dy + i * out_size, (int)p, 0.0f, col, (int)p);
      col2im(s, col, j->dx + i * in_size);
    }
  }
}

void ops_cpu_conv2d_backward_input(const ebm_conv2d_shape *s, const float *dy, const float *w,
                                   float *dx, float *ws) {
  conv_job j = {.s = s, .dy = dy, .w = w, .dx = dx, .ws = ws};
  ebm_parallel_for(slot_count(s), 1, backward_input_slots, &j);
}

// x is (N,C_in,H_in,W_in), dy is (N,C_out,H_out,W_out); each slot leaves its
// partial dw (C_out, C_in·kh·kw) and db (C_out) in its workspace slice.
static void backward_weight_slots(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const conv_job *j = ctx;
  const ebm_conv2d_shape *s = j->s;
  const int64_t k = s->c_in * s->kh * s->kw, p = s->h_out * s->w_out;
  const int64_t in_size = s->c_in * s->h_in * s->w_in, out_size = s->c_out * p;
  for (int64_t slot = begin; slot < end; slot++) {
    float *col = j->ws + (size_t)slot * slot_floats(s);
    float *pdw = col + round_up((size_t)(k * p));
    float *pdb = pdw + round_up((size_t)(s->c_out * k));
    memset(pdw, 0, (size_t)(s->c_out * k) * sizeof *pdw);
    memset(pdb, 0, (size_t)s->c_out * sizeof *pdb);
    int64_t i0, i1;
    slot_items(s, slot, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
      const float *dy = j->dy + i * out_size;
      im2col(s, j->x + i * in_size, col);
      /* pdw (C_out×K) += dy_i (C_out×P) · colᵀ (P×K) */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->c_out, (int)k, (int)p, 1.0f, dy,
                  (int)p, col, (int)p, 1.0f, pdw, (int)k);
      for (int64_t co = 0; co < s->c_out; co++) {
        float acc = 0.0f;
        for (int64_t q = 0; q < p; q++) acc += dy[co * p + q];
        pdb[co] += acc;
      }
    }
  }
}

void ops_cpu_conv2d_backward_weight(const ebm_conv2d_shape *s, const float *x, const float *dy,
                                    float *dw, float *db, float *ws) {
  conv_job j = {.s = s, .x = x, .dy = dy, .ws = ws};
  ebm_parallel_for(slot_count(s), 1, backward_weight_slots, &j);
  const int64_t k = s->c_in * s->kh * s->kw;
  for (int64_t slot = 0; slot < slot_count(s); slot++) {
    const float *pdw = ws + (size_t)slot * slot_floats(s) + round_up((size_t)(k * s->h_out * s->w_out));
    const float *pdb = pdw + round_up((size_t)(s->c_out * k));
    for (int64_t q = 0; q < s->c_out * k; q++) dw[q] += pdw[q];
    if (db)
      for (int64_t co = 0; co < s->c_out; co++) db[co] += pdb[co];
  }
}
