/* The per-point linear map, max / mean pooling over the points of a cloud
 * and the per-item affine of every point (ops/points.h). */
#include <math.h>
#include <string.h>

#include "ebm/core.h"
#include "ops/points.h"

/* Rows per block handed to a thread, and the work below which one thread
 * does it all (waking a worker costs more). */
#define POINT_ROWS 64
#define POINT_PARALLEL_MACS (1 << 20)

typedef struct {
  int64_t in, out;
  const float *x, *w, *b, *dy;
  const float *wt;
  float *y, *dx;
  int64_t rows;
} point_job;

static void run_rows(point_job *j, ebm_range_fn fn) {
  int64_t blocks = (j->rows + POINT_ROWS - 1) / POINT_ROWS;
  if (j->rows * j->in * j->out < POINT_PARALLEL_MACS) fn(j, 0, blocks, 0);
  else ebm_parallel_for(blocks, 1, fn, j);
}

/* One point: y = b + W x, as Σ_k x_k · wᵀ[k, :] in k order. noinline: every
 * row runs this very code, whatever its position in the batch. */
__attribute__((noinline)) static void point_row_forward(int64_t in, int64_t out,
                                                        const float *restrict x,
                                                        const float *restrict wt,
                                                        const float *restrict b,
                                                        float *restrict y) {
  for (int64_t o = 0; o < out; o++) y[o] = b ? b[o] : 0.0f;
  for (int64_t k = 0; k < in; k++) {
    const float xk = x[k];
    const float *wk = wt + k * out;
    for (int64_t o = 0; o < out; o++) y[o] += xk * wk[o];
  }
}

/* One point: dx = Wᵀ dy, as Σ_o dy_o · W[o, :] in o order. */
__attribute__((noinline)) static void point_row_backward(int64_t in, int64_t out,
                                                         const float *restrict dy,
                                                         const float *restrict w,
                                                         float *restrict dx) {
  for (int64_t k = 0; k < in; k++) dx[k] = 0.0f;
  for (int64_t o = 0; o < out; o++) {
    const float g = dy[o];
    const float *wo = w + o * in;
    for (int64_t k = 0; k < in; k++) dx[k] += g * wo[k];
  }
}

static void forward_blocks(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const point_job *j = ctx;
  for (int64_t r = begin * POINT_ROWS; r < end * POINT_ROWS && r < j->rows; r++)
    point_row_forward(j->in, j->out, j->x + r * j->in, j->wt, j->b, j->y + r * j->out);
}

static void backward_blocks(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const point_job *j = ctx;
  for (int64_t r = begin * POINT_ROWS; r < end * POINT_ROWS && r < j->rows; r++)
    point_row_backward(j->in, j->out, j->dy + r * j->out, j->w, j->dx + r * j->in);
}

// x is (rows, in), w is (out, in), wt (in, out) is scratch, y is (rows, out)
void ebm_point_linear_forward(int64_t rows, int64_t in, int64_t out, const float *x,
                              const float *w, const float *b, float *wt, float *y) {
  for (int64_t o = 0; o < out; o++)
    for (int64_t k = 0; k < in; k++) wt[k * out + o] = w[o * in + k];
  point_job j = {.in = in, .out = out, .x = x, .wt = wt, .b = b, .y = y, .rows = rows};
  run_rows(&j, forward_blocks);
}

// dy is (rows, out), w is (out, in), dx is (rows, in)
void ebm_point_linear_backward_input(int64_t rows, int64_t in, int64_t out, const float *dy,
                                     const float *w, float *dx) {
  point_job j = {.in = in, .out = out, .dy = dy, .w = w, .dx = dx, .rows = rows};
  run_rows(&j, backward_blocks);
}

/* Largest |x[j·c]| over the p points (feature stride c). */
static float feature_absmax(const float *x, int64_t p, int64_t c) {
  float m = 0.0f;
  for (int64_t j = 0; j < p; j++) m = fmaxf(m, fabsf(x[j * c]));
  return m;
}

/* The mean of x[j·c] over j < p, order-free (see ops/points.h): each value
 * becomes an integer < 2^62 / p on a scale 2^shift fixed by the absmax, so
 * the int64 sum cannot overflow and does not depend on the order. */
static float feature_exact_mean(const float *x, int64_t p, int64_t c) {
  const float absmax = feature_absmax(x, p, c);
  if (absmax == 0.0f) return 0.0f;
  int e, log2p = 0;
  frexp(absmax, &e); /* absmax < 2^e */
  while ((INT64_C(1) << log2p) < p) log2p++;
  const int shift = 61 - log2p - e;
  int64_t sum = 0;
  for (int64_t j = 0; j < p; j++) sum += llrint(ldexp((double)x[j * c], shift));
  return (float)(ldexp((double)sum, -shift) / (double)p);
}

/* Index of the first point holding the maximum of feature x[j·c]. */
static int64_t feature_argmax(const float *x, int64_t p, int64_t c) {
  int64_t best = 0;
  for (int64_t j = 1; j < p; j++)
    if (x[j * c] > x[best * c]) best = j;
  return best;
}

// x is (n, p, c); y is (n, (use_max + use_mean + use_sum)·c)
void ebm_point_pool_forward(int64_t n, int64_t p, int64_t c, int use_max, int use_mean, int use_sum,
                            const float *x, float *y) {
  const int64_t k = use_max + use_mean + use_sum, at_mean = use_max, at_sum = use_max + use_mean;
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * p * c;
    float *yi = y + i * k * c;
    for (int64_t f = 0; f < c; f++) {
      if (use_max) yi[f] = xi[feature_argmax(xi + f, p, c) * c + f];
      const float mean = use_mean || use_sum ? feature_exact_mean(xi + f, p, c) : 0.0f;
      if (use_mean) yi[at_mean * c + f] = mean;
      if (use_sum) yi[at_sum * c + f] = mean * (float)p; /* one rounding of the exact mean: still order-free */
    }
  }
}

// dy is (n, (use_max + use_mean + use_sum)·c); dx is (n, p, c)
void ebm_point_pool_backward(int64_t n, int64_t p, int64_t c, int use_max, int use_mean, int use_sum,
                             const float *x, const float *dy, float *dx) {
  const int64_t k = use_max + use_mean + use_sum, at_mean = use_max, at_sum = use_max + use_mean;
  const float inv_p = 1.0f / (float)p;
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * p * c, *dyi = dy + i * k * c;
    float *dxi = dx + i * p * c;
    for (int64_t f = 0; f < c; f++) {
      const float g_shared = (use_mean ? dyi[at_mean * c + f] * inv_p : 0.0f) + (use_sum ? dyi[at_sum * c + f] : 0.0f);
      for (int64_t j = 0; j < p; j++) dxi[j * c + f] = g_shared;
      if (use_max) dxi[feature_argmax(xi + f, p, c) * c + f] += dyi[f];
    }
  }
}

// x is (n, p, c); y is (n, p, c + k·c): each point's c features, then its item's k·c pooled ones
void ebm_point_cat_pool_forward(int64_t n, int64_t p, int64_t c, int use_max, int use_mean, int use_sum,
                                const float *x, float *y) {
  const int64_t kc = (use_max + use_mean + use_sum) * c, width = c + kc;
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * p * c;
    float *yi = y + i * p * width;
    ebm_point_pool_forward(1, p, c, use_max, use_mean, use_sum, xi, yi + c); /* point 0's tail */
    for (int64_t j = 0; j < p; j++) {
      memcpy(yi + j * width, xi + j * c, (size_t)c * sizeof *yi);
      if (j > 0) memcpy(yi + j * width + c, yi + c, (size_t)kc * sizeof *yi);
    }
  }
}

/* The pooled features reach every point, so their gradient is the sum of
 * the points' gradients: summed exactly (the mean's fixed-point sum, times
 * p), so a permutation of the points changes no bit of it. */
// dy is (n, p, c + k·c); g is k·c floats of scratch; dx is (n, p, c)
void ebm_point_cat_pool_backward(int64_t n, int64_t p, int64_t c, int use_max, int use_mean, int use_sum,
                                 const float *x, const float *dy, float *g, float *dx) {
  const int64_t kc = (use_max + use_mean + use_sum) * c, width = c + kc;
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * p * c, *dyi = dy + i * p * width;
    float *dxi = dx + i * p * c;
    for (int64_t f = 0; f < kc; f++) g[f] = feature_exact_mean(dyi + c + f, p, width) * (float)p;
    ebm_point_pool_backward(1, p, c, use_max, use_mean, use_sum, xi, g, dxi);
    for (int64_t j = 0; j < p; j++)
      for (int64_t f = 0; f < c; f++) dxi[j * c + f] += dyi[j * width + f];
  }
}

/* One point: y = g·x + b feature by feature. noinline, as point_row_forward:
 * every point runs this very code whatever its position. */
__attribute__((noinline)) static void point_row_affine(int64_t c, const float *restrict x,
                                                       const float *restrict g,
                                                       const float *restrict b,
                                                       float *restrict y) {
  for (int64_t f = 0; f < c; f++) y[f] = g[f] * x[f] + b[f];
}

// x is (n, p, c); g, b are (n, c); y is (n, p, c)
void ebm_point_affine_forward(int64_t n, int64_t p, int64_t c, const float *x, const float *g,
                              const float *b, float *y) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < p; j++)
      point_row_affine(c, x + (i * p + j) * c, g + i * c, b + i * c, y + (i * p + j) * c);
}

/* One point: dx = dy·g feature by feature. */
__attribute__((noinline)) static void point_row_scale(int64_t c, const float *restrict dy,
                                                      const float *restrict g,
                                                      float *restrict dx) {
  for (int64_t f = 0; f < c; f++) dx[f] = dy[f] * g[f];
}

// x, dy, dx are (n, p, c); g, dg, db are (n, c)
void ebm_point_affine_backward(int64_t n, int64_t p, int64_t c, const float *x, const float *g,
                               const float *dy, float *dx, float *dg, float *db) {
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * p * c, *dyi = dy + i * p * c;
    for (int64_t j = 0; j < p; j++) point_row_scale(c, dyi + j * c, g + i * c, dx + (i * p + j) * c);
    if (dg) {
      float *dgi = dg + i * c;
      for (int64_t f = 0; f < c; f++) dgi[f] = 0.0f;
      for (int64_t j = 0; j < p; j++)
        for (int64_t f = 0; f < c; f++) dgi[f] += dyi[j * c + f] * xi[j * c + f];
    }
    if (db) {
      float *dbi = db + i * c;
      for (int64_t f = 0; f < c; f++) dbi[f] = 0.0f;
      for (int64_t j = 0; j < p; j++)
        for (int64_t f = 0; f < c; f++) dbi[f] += dyi[j * c + f];
    }
  }
}
