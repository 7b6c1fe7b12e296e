/* Element-wise kernels: plain loops over contiguous memory with restrict
 * where it is true, so gcc -O3 -march=native vectorises them. */
#include <math.h>

#include "ops/cpu_kernels.h"

/* Swish (Ramachandran et al. 2017; IGEBM's activation): y = x·σ(x). */
void ops_cpu_swish_forward(int64_t count, const float *restrict x, float *restrict y) {
  for (int64_t i = 0; i < count; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
}

/* d(x·σ(x))/dx = σ(x)·(1 + x·(1 − σ(x))). dx may alias dy. */
void ops_cpu_swish_backward(int64_t count, const float *x, const float *dy, float *dx) {
  for (int64_t i = 0; i < count; i++) {
    float s = 1.0f / (1.0f + expf(-x[i]));
    dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
  }
}

void ops_cpu_leaky_relu_forward(int64_t count, float slope, const float *restrict x,
                                float *restrict y) {
  for (int64_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
}

/* PyTorch's convention: the slope applies at x = 0. dx may alias dy. */
void ops_cpu_leaky_relu_backward(int64_t count, float slope, const float *x, const float *dy,
                                 float *dx) {
  for (int64_t i = 0; i < count; i++) dx[i] = x[i] > 0.0f ? dy[i] : slope * dy[i];
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

void ops_cpu_add(int64_t count, const float *a, const float *b, float *y) {
  for (int64_t i = 0; i < count; i++) y[i] = a[i] + b[i];
}

void ops_cpu_axpy(int64_t count, float alpha, const float *x, float *y) {
  for (int64_t i = 0; i < count; i++) y[i] += alpha * x[i];
}

void ops_cpu_scale(int64_t count, float alpha, const float *x, float *y) {
  for (int64_t i = 0; i < count; i++) y[i] = alpha * x[i];
}

/* NaN stays NaN (as torch.clamp). */
void ops_cpu_clamp(int64_t count, float lo, float hi, float *restrict x) {
  for (int64_t i = 0; i < count; i++) x[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
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
