/* Kernels of the generator and classifier layers: per-channel bias,
 * nearest up-sampling, 2-D batch normalisation, and the two energy heads
 * over K outputs (−logsumexp, −f_y). Plain loops in memory order; every
 * reduction is summed in double, serially, in a fixed order, so results do
 * not depend on the thread count. */
#include <math.h>

#include "ops/cpu_kernels.h"

// y is (N,C,HW), updated in place; b is (C)
void ops_cpu_channel_bias_forward(int64_t n, int64_t c, int64_t hw, const float *b, float *y) {
  for (int64_t p = 0; p < n * c; p++) {
    const float bias = b[p % c];
    float *restrict out = y + p * hw;
    for (int64_t q = 0; q < hw; q++) out[q] += bias;
  }
}

// dy is (N,C,HW); db (C) accumulates Σ_{n,hw} dy
void ops_cpu_channel_bias_backward(int64_t n, int64_t c, int64_t hw, const float *dy, float *db) {
  for (int64_t ch = 0; ch < c; ch++) {
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++) acc += ops_cpu_sum(hw, dy + (i * c + ch) * hw);
    db[ch] += (float)acc;
  }
}

// x is (N,C,H,W); y is (N,C,H·s,W·s): y[.., i, j] = x[.., i/s, j/s]
void ops_cpu_upsample_nearest_forward(int64_t n, int64_t c, int64_t h, int64_t w, int64_t s,
                                      const float *x, float *y) {
  const int64_t wo = w * s;
  for (int64_t p = 0; p < n * c; p++) {
    const float *restrict in = x + p * h * w;
    float *restrict out = y + p * h * s * wo;
    for (int64_t i = 0; i < h * s; i++)
      for (int64_t j = 0; j < wo; j++) out[i * wo + j] = in[(i / s) * w + j / s];
  }
}

// dy is (N,C,H·s,W·s); dx (N,C,H,W) gets the sum over each s×s block: the
// s×s average pooling times s² (exact for the power-of-two scales one uses)
void ops_cpu_upsample_nearest_backward(int64_t n, int64_t c, int64_t h, int64_t w, int64_t s,
                                       const float *dy, float *dx) {
  ops_cpu_avgpool2d_forward(n, c, h * s, w * s, s, dy, dx);
  ops_cpu_scale(n * c * h * w, (float)(s * s), dx, dx);
}

// x is (N,C,HW); mean, var (C): the batch mean and biased variance per channel
void ops_cpu_batchnorm2d_stats(int64_t n, int64_t c, int64_t hw, const float *x, float *mean,
                               float *var) {
  const double count = (double)(n * hw);
  for (int64_t ch = 0; ch < c; ch++) {
    double s = 0.0, ss = 0.0;
    for (int64_t i = 0; i < n; i++) s += ops_cpu_sum(hw, x + (i * c + ch) * hw);
    const double m = s / count;
    for (int64_t i = 0; i < n; i++) {
      const float *in = x + (i * c + ch) * hw;
      for (int64_t q = 0; q < hw; q++) ss += ((double)in[q] - m) * ((double)in[q] - m);
    }
    mean[ch] = (float)m;
    var[ch] = (float)(ss / count);
  }
}

// x, y are (N,C,HW); y = (x − mean[c])·invstd[c]·w[c] + b[c]
void ops_cpu_batchnorm2d_forward(int64_t n, int64_t c, int64_t hw, const float *x,
                                 const float *mean, const float *invstd, const float *w,
                                 const float *b, float *y) {
  for (int64_t p = 0; p < n * c; p++) {
    const int64_t ch = p % c;
    const float scale = invstd[ch] * w[ch], shift = b[ch] - mean[ch] * scale;
    const float *restrict in = x + p * hw;
    float *restrict out = y + p * hw;
    for (int64_t q = 0; q < hw; q++) out[q] = in[q] * scale + shift;
  }
}

/* batch_stats = 1 (train mode: mean and invstd came from this batch, so
 * they depend on x):
 *   dx = w·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)),  x̂ = (x − mean)·invstd;
 * batch_stats = 0 (eval mode): dx = w·invstd·dy. dw += Σ dy·x̂, db += Σ dy
 * (either may be NULL); dx may be NULL. */
void ops_cpu_batchnorm2d_backward(int64_t n, int64_t c, int64_t hw, const float *x,
                                  const float *mean, const float *invstd, const float *w,
                                  const float *dy, float *dx, float *dw, float *db,
                                  int batch_stats) {
  const double count = (double)(n * hw);
  for (int64_t ch = 0; ch < c; ch++) {
    double sdy = 0.0, sdyx = 0.0;
    for (int64_t i = 0; i < n; i++) {
      const float *in = x + (i * c + ch) * hw, *d = dy + (i * c + ch) * hw;
      for (int64_t q = 0; q < hw; q++) {
        sdy += d[q];
        sdyx += (double)d[q] * ((double)in[q] - mean[ch]);
      }
    }
    const double is = invstd[ch], sdyxhat = sdyx * is;
    if (dw) dw[ch] += (float)sdyxhat;
    if (db) db[ch] += (float)sdy;
    if (!dx) continue;
    const double k = (double)w[ch] * is;
    const double mdy = batch_stats ? sdy / count : 0.0, mdyx = batch_stats ? sdyxhat / count : 0.0;
    for (int64_t i = 0; i < n; i++) {
      const float *in = x + (i * c + ch) * hw, *d = dy + (i * c + ch) * hw;
      float *out = dx + (i * c + ch) * hw;
      for (int64_t q = 0; q < hw; q++) {
        const double xhat = ((double)in[q] - mean[ch]) * is;
        out[q] = (float)(k * ((double)d[q] - mdy - xhat * mdyx));
      }
    }
  }
}

// x is (N,K); y[i] = sign·log Σ_k exp(x[i,k]) (max-shifted, in double)
void ops_cpu_logsumexp_forward(int64_t n, int64_t k, float sign, const float *x, float *y) {
  for (int64_t i = 0; i < n; i++) {
    const float *row = x + i * k;
    double m = row[0], s = 0.0;
    for (int64_t j = 1; j < k; j++) m = row[j] > m ? row[j] : m;
    for (int64_t j = 0; j < k; j++) s += exp((double)row[j] - m);
    y[i] = (float)(sign * (m + log(s)));
  }
}

// dx[i,k] = sign·dy[i]·softmax(x[i])_k
void ops_cpu_logsumexp_backward(int64_t n, int64_t k, float sign, const float *x, const float *dy,
                                float *dx) {
  for (int64_t i = 0; i < n; i++) {
    const float *row = x + i * k;
    double m = row[0], s = 0.0;
    for (int64_t j = 1; j < k; j++) m = row[j] > m ? row[j] : m;
    for (int64_t j = 0; j < k; j++) s += exp((double)row[j] - m);
    for (int64_t j = 0; j < k; j++)
      dx[i * k + j] = (float)(sign * dy[i] * exp((double)row[j] - m) / s);
  }
}

// x is (N,K); y[i] = sign·x[i, idx[i]]
void ops_cpu_select_forward(int64_t n, int64_t k, float sign, const int32_t *idx, const float *x,
                            float *y) {
  for (int64_t i = 0; i < n; i++) y[i] = sign * x[i * k + idx[i]];
}

// dx[i,k] = sign·dy[i] where k = idx[i], else 0
void ops_cpu_select_backward(int64_t n, int64_t k, float sign, const int32_t *idx, const float *dy,
                             float *dx) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < k; j++) dx[i * k + j] = j == idx[i] ? sign * dy[i] : 0.0f;
}

/* Sinusoidal features of log σ (cond_affine's noise-level embedding):
 * phi[i] = [sin(2^j·log σ_i), cos(2^j·log σ_i) for j < f], 2f values. */
void ops_cpu_sinusoidal_features(int64_t n, int64_t f, const float *sigma, float *phi) {
  for (int64_t i = 0; i < n; i++) {
    const double t = log((double)sigma[i]);
    for (int64_t j = 0; j < f; j++) {
      const double a = ldexp(t, (int)j);
      phi[i * 2 * f + 2 * j] = (float)sin(a);
      phi[i * 2 * f + 2 * j + 1] = (float)cos(a);
    }
  }
}
