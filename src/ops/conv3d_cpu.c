/* 3-D convolution on the CPU (ops/conv3d.h): direct loops. Each output
 * row is a run over w_out with a fixed input offset per kernel tap, with
 * the rows of the input outside the padded volume skipped, so the inner
 * loop is a strided multiply-add without branches. */
#include <string.h>

#include "ebm/core.h"
#include "ops/conv3d.h"

int ebm_conv3d_shape_finish(ebm_conv3d_shape *s) {
  if (s->stride < 1 || s->k < 1 || s->pad < 0) return -1;
  s->d_out = (s->d_in + 2 * s->pad - s->k) / s->stride + 1;
  s->h_out = (s->h_in + 2 * s->pad - s->k) / s->stride + 1;
  s->w_out = (s->w_in + 2 * s->pad - s->k) / s->stride + 1;
  int fits = s->d_in + 2 * s->pad >= s->k && s->h_in + 2 * s->pad >= s->k && s->w_in + 2 * s->pad >= s->k;
  return fits && s->d_out >= 1 && s->h_out >= 1 && s->w_out >= 1 ? 0 : -1;
}

/* The output columns [lo, hi) whose input column ow·stride − pad + kw lies
 * inside [0, w_in) for the tap kw. */
static void valid_cols(const ebm_conv3d_shape *s, int64_t kw, int64_t *lo, int64_t *hi) {
  int64_t off = kw - s->pad;  /* input column of output column 0 */
  *lo = off >= 0 ? 0 : (-off + s->stride - 1) / s->stride;
  int64_t last = s->w_in - 1 - off;  /* ow·stride ≤ last */
  *hi = last < 0 ? 0 : last / s->stride + 1;
  if (*hi > s->w_out) *hi = s->w_out;
  if (*lo > *hi) *lo = *hi;
}

/* Calls body(od, oh, id, ih, kd, kh) for every output row (od, oh) and tap
 * (kd, kh) whose input row (id, ih) is inside the volume. */
#define FOR_ROWS(s, ...)                                                         \
  for (int64_t od = 0; od < (s)->d_out; od++)                                    \
    for (int64_t kd = 0; kd < (s)->k; kd++) {                                    \
      int64_t id = od * (s)->stride - (s)->pad + kd;                             \
      if (id < 0 || id >= (s)->d_in) continue;                                   \
      for (int64_t oh = 0; oh < (s)->h_out; oh++)                                \
        for (int64_t kh = 0; kh < (s)->k; kh++) {                                \
          int64_t ih = oh * (s)->stride - (s)->pad + kh;                         \
          if (ih < 0 || ih >= (s)->h_in) continue;                               \
          __VA_ARGS__                                                            \
        }                                                                        \
    }

typedef struct {
  const ebm_conv3d_shape *s;
  const float *x, *w, *b, *dy;
  float *y, *dx, *dw, *db;
} conv3d_job;

// one (item, output channel) plane of y per index
static void forward_range(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const conv3d_job *j = ctx;
  const ebm_conv3d_shape *s = j->s;
  const int64_t k = s->k, in_vol = s->d_in * s->h_in * s->w_in, out_vol = s->d_out * s->h_out * s->w_out;
  for (int64_t p = begin; p < end; p++) {
    int64_t n = p / s->c_out, o = p % s->c_out;
    float *y = j->y + p * out_vol;
    float bias = j->b ? j->b[o] : 0.0f;
    for (int64_t i = 0; i < out_vol; i++) y[i] = bias;
    for (int64_t c = 0; c < s->c_in; c++) {
      const float *x = j->x + (n * s->c_in + c) * in_vol, *wc = j->w + (o * s->c_in + c) * k * k * k;
      FOR_ROWS(s, {
        float *yrow = y + (od * s->h_out + oh) * s->w_out;
        const float *xrow = x + (id * s->h_in + ih) * s->w_in;
        for (int64_t kw = 0; kw < k; kw++) {
          float wv = wc[(kd * k + kh) * k + kw];
          int64_t lo, hi;
          valid_cols(s, kw, &lo, &hi);
          const int64_t off = kw - s->pad;
          for (int64_t ow = lo; ow < hi; ow++) yrow[ow] += wv * xrow[ow * s->stride + off];
        }
      })
    }
  }
}

// one (item, input channel) plane of dx per index
static void backward_input_range(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const conv3d_job *j = ctx;
  const ebm_conv3d_shape *s = j->s;
  const int64_t k = s->k, in_vol = s->d_in * s->h_in * s->w_in, out_vol = s->d_out * s->h_out * s->w_out;
  for (int64_t p = begin; p < end; p++) {
    int64_t n = p / s->c_in, c = p % s->c_in;
    float *dx = j->dx + p * in_vol;
    memset(dx, 0, (size_t)in_vol * sizeof *dx);
    for (int64_t o = 0; o < s->c_out; o++) {
      const float *dy = j->dy + (n * s->c_out + o) * out_vol, *wc = j->w + (o * s->c_in + c) * k * k * k;
      FOR_ROWS(s, {
        const float *dyrow = dy + (od * s->h_out + oh) * s->w_out;
        float *dxrow = dx + (id * s->h_in + ih) * s->w_in;
        for (int64_t kw = 0; kw < k; kw++) {
          float wv = wc[(kd * k + kh) * k + kw];
          int64_t lo, hi;
          valid_cols(s, kw, &lo, &hi);
          const int64_t off = kw - s->pad;
          for (int64_t ow = lo; ow < hi; ow++) dxrow[ow * s->stride + off] += wv * dyrow[ow];
        }
      })
    }
  }
}

// one output channel of dw (and db) per index, items in order
static void backward_weight_range(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const conv3d_job *j = ctx;
  const ebm_conv3d_shape *s = j->s;
  const int64_t k = s->k, in_vol = s->d_in * s->h_in * s->w_in, out_vol = s->d_out * s->h_out * s->w_out;
  for (int64_t o = begin; o < end; o++) {
    for (int64_t n = 0; n < s->n; n++) {
      const float *dy = j->dy + (n * s->c_out + o) * out_vol;
      if (j->db) {
        double sum = 0;
        for (int64_t i = 0; i < out_vol; i++) sum += dy[i];
        j->db[o] += (float)sum;
      }
      for (int64_t c = 0; c < s->c_in; c++) {
        const float *x = j->x + (n * s->c_in + c) * in_vol;
        float *dwc = j->dw + (o * s->c_in + c) * k * k * k;
        FOR_ROWS(s, {
          const float *dyrow = dy + (od * s->h_out + oh) * s->w_out;
          const float *xrow = x + (id * s->h_in + ih) * s->w_in;
          for (int64_t kw = 0; kw < k; kw++) {
            int64_t lo, hi;
            valid_cols(s, kw, &lo, &hi);
            const int64_t off = kw - s->pad;
            float acc = 0;
            for (int64_t ow = lo; ow < hi; ow++) acc += dyrow[ow] * xrow[ow * s->stride + off];
            dwc[(kd * k + kh) * k + kw] += acc;
          }
        })
      }
    }
  }
}

void ebm_conv3d_forward(const ebm_conv3d_shape *s, const float *x, const float *w, const float *b,
                        float *y) {
  conv3d_job j = {s, x, w, b, NULL, y, NULL, NULL, NULL};
  ebm_parallel_for(s->n * s->c_out, 1, forward_range, &j);
}

void ebm_conv3d_backward_input(const ebm_conv3d_shape *s, const float *dy, const float *w, float *dx) {
  conv3d_job j = {s, NULL, w, NULL, dy, NULL, dx, NULL, NULL};
  ebm_parallel_for(s->n * s->c_in, 1, backward_input_range, &j);
}

void ebm_conv3d_backward_weight(const ebm_conv3d_shape *s, const float *x, const float *dy, float *dw,
                                float *db) {
  conv3d_job j = {s, x, NULL, NULL, dy, NULL, NULL, dw, db};
  ebm_parallel_for(s->c_out, 1, backward_weight_range, &j);
}
