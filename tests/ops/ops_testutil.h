/* Helpers for the ops tests: random fills, exact-size buffers (so ASan
 * catches any overrun) and double-precision reference kernels. */
#ifndef EBM_TESTS_OPS_TESTUTIL_H
#define EBM_TESTS_OPS_TESTUTIL_H

#include "ops/ops.h"
#include "test.h"

/* malloc'd floats, uniform in [lo, hi) from `seed`. */
static inline float *rand_floats(int64_t count, uint64_t seed, float lo, float hi) {
  float *p = malloc((size_t)(count > 0 ? count : 1) * sizeof *p);
  REQUIRE(p != NULL);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  ebm_rng_uniform(&rng, p, count, lo, hi);
  return p;
}

/* malloc'd floats all set to NaN: outputs must be fully overwritten and
 * workspaces must not be assumed zero. */
static inline float *nan_floats(int64_t count) {
  float *p = malloc((size_t)(count > 0 ? count : 1) * sizeof *p);
  REQUIRE(p != NULL);
  for (int64_t i = 0; i < count; i++) p[i] = NAN;
  return p;
}

static inline double *to_double(int64_t count, const float *x) {
  double *d = malloc((size_t)(count > 0 ? count : 1) * sizeof *d);
  REQUIRE(d != NULL);
  for (int64_t i = 0; i < count; i++) d[i] = x[i];
  return d;
}

static inline float *copy_floats(int64_t count, const float *x) {
  float *p = malloc((size_t)(count > 0 ? count : 1) * sizeof *p);
  REQUIRE(p != NULL);
  memcpy(p, x, (size_t)count * sizeof *p);
  return p;
}

/* Largest |a − b| / (atol + rtol·|b|) over the arrays: ≤ 1 means close. */
static inline double worst_ratio(int64_t count, const float *a, const double *b, double atol,
                                 double rtol) {
  double worst = 0.0;
  for (int64_t i = 0; i < count; i++) {
    double r = fabs((double)a[i] - b[i]) / (atol + rtol * fabs(b[i]));
    if (!(r <= worst)) worst = r; /* NaN propagates as "worst" */
  }
  return worst;
}

/* Direct convolution in double: y = conv(x, w) + b (b may be NULL).
 * x is (N,C_in,H_in,W_in), w is (C_out,C_in,kh,kw), y is (N,C_out,H_out,W_out). */
static inline void ref_conv2d(const ebm_conv2d_shape *s, const double *x, const double *w,
                              const double *b, double *y) {
  for (int64_t n = 0; n < s->n; n++)
    for (int64_t co = 0; co < s->c_out; co++)
      for (int64_t oh = 0; oh < s->h_out; oh++)
        for (int64_t ow = 0; ow < s->w_out; ow++) {
          double acc = b ? b[co] : 0.0;
          for (int64_t ci = 0; ci < s->c_in; ci++)
            for (int64_t i = 0; i < s->kh; i++)
              for (int64_t j = 0; j < s->kw; j++) {
                int64_t ih = oh * s->stride - s->pad + i, iw = ow * s->stride - s->pad + j;
                if (ih < 0 || ih >= s->h_in || iw < 0 || iw >= s->w_in) continue;
                acc += x[((n * s->c_in + ci) * s->h_in + ih) * s->w_in + iw] *
                       w[((co * s->c_in + ci) * s->kh + i) * s->kw + j];
              }
          y[((n * s->c_out + co) * s->h_out + oh) * s->w_out + ow] = acc;
        }
}

static inline double dot_d(int64_t count, const double *a, const double *b) {
  double acc = 0.0;
  for (int64_t i = 0; i < count; i++) acc += a[i] * b[i];
  return acc;
}

#endif
