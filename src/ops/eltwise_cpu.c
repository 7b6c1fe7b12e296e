/* Element-wise kernels: plain loops over contiguous memory with restrict
 * where it is true, so gcc -O3 -march=native vectorises them. Large counts
 * are cut into fixed blocks that the pool's threads share; every element is
 * computed by the same arithmetic wherever it falls (see vmath.h), so the
 * result does not depend on the thread count. */
#include <math.h>

#include "ebm/core.h"
#include "ops/cpu_kernels.h"
#include "ops/swish_simd.h"

/* Below 4 blocks (~30–60 µs of work) a trip through the pool (~10–20 µs to
 * wake a worker) costs more than it saves. */
#define EW_BLOCK 32768
#define EW_MIN_PARALLEL (4 * EW_BLOCK)

typedef enum {
  EW_SWISH, EW_SWISH_GRAD, EW_LEAKY, EW_LEAKY_GRAD, EW_TANH, EW_TANH_GRAD, EW_SIGMOID,
  EW_SIGMOID_GRAD, EW_ADD, EW_AXPY, EW_SCALE, EW_CLAMP
} ew_op;

typedef struct {
  ew_op op;
  int64_t count;
  float alpha, beta;
  const float *a, *b;
  float *y;
} ew_job;

static void leaky_range(int64_t count, float slope, const float *restrict x, float *restrict y) {
  for (int64_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
}

/* PyTorch's convention: the slope applies at x = 0. dx may alias dy. */
static void leaky_grad_range(int64_t count, float slope, const float *restrict x, const float *dy,
                             float *dx) {
  for (int64_t i = 0; i < count; i++) dx[i] = x[i] > 0.0f ? dy[i] : slope * dy[i];
}

static void tanh_range(int64_t count, const float *restrict x, float *restrict y) {
  for (int64_t i = 0; i < count; i++) y[i] = tanhf(x[i]);
}

/* tanh' = 1 − tanh², recomputed from the input. dx may alias dy. */
static void tanh_grad_range(int64_t count, const float *restrict x, const float *dy, float *dx) {
  for (int64_t i = 0; i < count; i++) {
    const float t = tanhf(x[i]);
    dx[i] = dy[i] * (1.0f - t * t);
  }
}

/* y may alias a or b. */
static void add_range(int64_t count, const float *a, const float *b, float *y) {
  for (int64_t i = 0; i < count; i++) y[i] = a[i] + b[i];
}

static void axpy_range(int64_t count, float alpha, const float *x, float *y) {
  for (int64_t i = 0; i < count; i++) y[i] += alpha * x[i];
}

static void scale_range(int64_t count, float alpha, const float *x, float *y) {
  for (int64_t i = 0; i < count; i++) y[i] = alpha * x[i];
}

/* NaN stays NaN (as torch.clamp). */
static void clamp_range(int64_t count, float lo, float hi, float *restrict x) {
  for (int64_t i = 0; i < count; i++) x[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
}

static void ew_range(const ew_job *j, int64_t i0, int64_t i1) {
  const int64_t n = i1 - i0;
  const float *a = j->a ? j->a + i0 : NULL, *b = j->b ? j->b + i0 : NULL;
  float *y = j->y + i0;
  switch (j->op) {
  case EW_SWISH: ops_swish_array(n, a, y); break;
  case EW_SWISH_GRAD: ops_swish_grad_array(n, a, b, y); break;
  case EW_LEAKY: leaky_range(n, j->alpha, a, y); break;
  case EW_LEAKY_GRAD: leaky_grad_range(n, j->alpha, a, b, y); break;
  case EW_TANH: tanh_range(n, a, y); break;
  case EW_TANH_GRAD: tanh_grad_range(n, a, b, y); break;
  case EW_SIGMOID: ops_sigmoid_array(n, a, y); break;
  case EW_SIGMOID_GRAD: ops_sigmoid_grad_array(n, a, b, y); break;
  case EW_ADD: add_range(n, a, b, y); break;
  case EW_AXPY: axpy_range(n, j->alpha, a, y); break;
  case EW_SCALE: scale_range(n, j->alpha, a, y); break;
  case EW_CLAMP: clamp_range(n, j->alpha, j->beta, y); break;
  }
}

static void ew_blocks(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const ew_job *j = ctx;
  int64_t i1 = end * EW_BLOCK < j->count ? end * EW_BLOCK : j->count;
  ew_range(j, begin * EW_BLOCK, i1);
}

static void ew_run(ew_job j) {
  if (j.count < EW_MIN_PARALLEL) {
    ew_range(&j, 0, j.count);
    return;
  }
  ebm_parallel_for((j.count + EW_BLOCK - 1) / EW_BLOCK, 1, ew_blocks, &j);
}

void ops_cpu_swish_forward(int64_t count, const float *x, float *y) {
  ew_run((ew_job){.op = EW_SWISH, .count = count, .a = x, .y = y});
}

void ops_cpu_swish_backward(int64_t count, const float *x, const float *dy, float *dx) {
  ew_run((ew_job){.op = EW_SWISH_GRAD, .count = count, .a = x, .b = dy, .y = dx});
}

void ops_cpu_leaky_relu_forward(int64_t count, float slope, const float *x, float *y) {
  ew_run((ew_job){.op = EW_LEAKY, .count = count, .alpha = slope, .a = x, .y = y});
}

void ops_cpu_leaky_relu_backward(int64_t count, float slope, const float *x, const float *dy,
                                 float *dx) {
  ew_run((ew_job){.op = EW_LEAKY_GRAD, .count = count, .alpha = slope, .a = x, .b = dy, .y = dx});
}

void ops_cpu_tanh_forward(int64_t count, const float *x, float *y) {
  ew_run((ew_job){.op = EW_TANH, .count = count, .a = x, .y = y});
}

void ops_cpu_tanh_backward(int64_t count, const float *x, const float *dy, float *dx) {
  ew_run((ew_job){.op = EW_TANH_GRAD, .count = count, .a = x, .b = dy, .y = dx});
}

void ops_cpu_sigmoid_forward(int64_t count, const float *x, float *y) {
  ew_run((ew_job){.op = EW_SIGMOID, .count = count, .a = x, .y = y});
}

void ops_cpu_sigmoid_backward(int64_t count, const float *x, const float *dy, float *dx) {
  ew_run((ew_job){.op = EW_SIGMOID_GRAD, .count = count, .a = x, .b = dy, .y = dx});
}

void ops_cpu_add(int64_t count, const float *a, const float *b, float *y) {
  ew_run((ew_job){.op = EW_ADD, .count = count, .a = a, .b = b, .y = y});
}

void ops_cpu_axpy(int64_t count, float alpha, const float *x, float *y) {
  ew_run((ew_job){.op = EW_AXPY, .count = count, .alpha = alpha, .a = x, .y = y});
}

void ops_cpu_scale(int64_t count, float alpha, const float *x, float *y) {
  ew_run((ew_job){.op = EW_SCALE, .count = count, .alpha = alpha, .a = x, .y = y});
}

void ops_cpu_clamp(int64_t count, float lo, float hi, float *x) {
  ew_run((ew_job){.op = EW_CLAMP, .count = count, .alpha = lo, .beta = hi, .y = x});
}

// x, y are (N,C,HW); g, b are (N,C) (b may be NULL).
void ops_cpu_channel_affine_forward(int64_t n, int64_t c, int64_t hw, const float *x,
                                    const float *g, const float *b, float *y) {
  for (int64_t p = 0; p < n * c; p++) {
    const float gain = g[p], bias = b ? b[p] : 0.0f;
    const float *restrict in = x + p * hw;
    float *restrict out = y + p * hw;
    for (int64_t q = 0; q < hw; q++) out[q] = in[q] * gain + bias;
  }
}

// x, dy, dx are (N,C,HW) (dx may alias dy); g, dg, db are (N,C).
void ops_cpu_channel_affine_backward(int64_t n, int64_t c, int64_t hw, const float *x,
                                     const float *g, const float *dy, float *dx, float *dg,
                                     float *db) {
  for (int64_t p = 0; p < n * c; p++) {
    const float *in = x + p * hw, *d = dy + p * hw;
    if (dg) dg[p] = (float)ops_cpu_dot(hw, d, in);
    if (db) db[p] = (float)ops_cpu_sum(hw, d);
    const float gain = g[p];
    float *out = dx + p * hw;
    for (int64_t q = 0; q < hw; q++) out[q] = d[q] * gain;
  }
}

double ops_cpu_dot(int64_t count, const float *restrict a, const float *restrict b) {
  double acc = 0.0;
  for (int64_t i = 0; i < count; i++) acc += (double)a[i] * (double)b[i];
  return acc;
}

double ops_cpu_sum(int64_t count, const float *restrict x) {
  double acc = 0.0;
  for (int64_t i = 0; i < count; i++) acc += (double)x[i];
  return acc;
}
