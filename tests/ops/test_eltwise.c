/* Activations, channel affine and element-wise helpers vs double
 * references and central finite differences. */
#include "ops/ops.h"
#include "ops/swish_simd.h"
#include "ops/vmath.h"
#include "ops_testutil.h"

static double swish_d(double x) { return x / (1.0 + exp(-x)); }
static double leaky_d(double x, double slope) { return x > 0 ? x : slope * x; }

/* Values in [-8, 8] plus the far tails (where a naive σ over/underflows). */
static float *activation_inputs(int64_t count, uint64_t seed) {
  float *x = rand_floats(count, seed, -8, 8);
  x[0] = -100.0f, x[1] = 100.0f, x[2] = 0.0f, x[3] = -88.0f, x[4] = 1e-8f;
  return x;
}

TEST(swish_forward_and_backward_match_double_reference_and_finite_differences) {
  const ebm_ops *ops = ebm_ops_cpu();
  const int64_t count = 1003;
  float *x = activation_inputs(count, 1), *dy = rand_floats(count, 2, -1, 1);
  float *y = nan_floats(count), *dx = nan_floats(count);
  ops->swish_forward(count, x, y);
  ops->swish_backward(count, x, dy, dx);
  for (int64_t i = 0; i < count; i++) {
    double xi = x[i], h = 1e-5 * (1 + fabs(xi));
    double fd = (swish_d(xi + h) - swish_d(xi - h)) / (2 * h);
    CHECK_NEAR(y[i], swish_d(xi), 1e-6 * (1 + fabs(swish_d(xi))));
    CHECK_NEAR(dx[i], dy[i] * fd, 1e-5);
  }
  float *inplace = copy_floats(count, dy);
  ops->swish_backward(count, x, inplace, inplace); /* dx may alias dy */
  CHECK(memcmp(inplace, dx, (size_t)count * sizeof(float)) == 0);
  free(x), free(dy), free(y), free(dx), free(inplace);
}

TEST(leaky_relu_forward_and_backward_match_reference_with_slope_at_zero) {
  const ebm_ops *ops = ebm_ops_cpu();
  const int64_t count = 517;
  const float slope = 0.2f;
  float *x = activation_inputs(count, 3), *dy = rand_floats(count, 4, -1, 1);
  float *y = nan_floats(count), *dx = nan_floats(count);
  ops->leaky_relu_forward(count, slope, x, y);
  ops->leaky_relu_backward(count, slope, x, dy, dx);
  for (int64_t i = 0; i < count; i++) {
    CHECK(y[i] == (float)leaky_d(x[i], slope));
    if (x[i] != 0.0f && fabsf(x[i]) > 1e-3f) {
      double h = 1e-4, fd = (leaky_d(x[i] + h, slope) - leaky_d(x[i] - h, slope)) / (2 * h);
      CHECK_NEAR(dx[i], dy[i] * fd, 1e-6);
    }
  }
  CHECK(dx[2] == slope * dy[2]); /* x = 0: PyTorch applies the slope */
  float *inplace = copy_floats(count, dy);
  ops->leaky_relu_backward(count, slope, x, inplace, inplace);
  CHECK(memcmp(inplace, dx, (size_t)count * sizeof(float)) == 0);
  free(x), free(dy), free(y), free(dx), free(inplace);
}

TEST(channel_affine_matches_finite_differences_per_item_and_channel) {
  const ebm_ops *ops = ebm_ops_cpu();
  const int64_t n = 3, c = 4, hw = 29, nx = n * c * hw;
  float *x = rand_floats(nx, 5, -1, 1), *g = rand_floats(n * c, 6, 0.5f, 1.5f);
  float *b = rand_floats(n * c, 7, -1, 1), *r = rand_floats(nx, 8, -1, 1);
  float *y = nan_floats(nx), *dx = nan_floats(nx), *dg = nan_floats(n * c), *db = nan_floats(n * c);
  ops->channel_affine_forward(n, c, hw, x, g, b, y);
  ops->channel_affine_backward(n, c, hw, x, g, r, dx, dg, db);
  for (int64_t q = 0; q < nx; q++) {
    int64_t p = q / hw;
    CHECK_NEAR(y[q], (double)x[q] * g[p] + b[p], 1e-6);
    CHECK_NEAR(dx[q], (double)r[q] * g[p], 1e-6); /* L = Σ r ⊙ y is linear in x */
  }
  for (int64_t p = 0; p < n * c; p++) {
    double sg = 0, sb = 0;
    for (int64_t q = 0; q < hw; q++) sg += (double)r[p * hw + q] * x[p * hw + q], sb += r[p * hw + q];
    CHECK_NEAR(dg[p], sg, 1e-5);
    CHECK_NEAR(db[p], sb, 1e-5);
  }
  float *nob = nan_floats(nx);
  ops->channel_affine_forward(n, c, hw, x, g, NULL, nob); /* no bias */
  CHECK_NEAR(nob[hw + 3], (double)x[hw + 3] * g[1], 1e-6);
  float *inplace = copy_floats(nx, r);
  ops->channel_affine_backward(n, c, hw, x, g, inplace, inplace, NULL, NULL);
  CHECK(memcmp(inplace, dx, (size_t)nx * sizeof(float)) == 0);
  free(x), free(g), free(b), free(r), free(y), free(dx), free(dg), free(db), free(nob), free(inplace);
}

TEST(elementwise_helpers_compute_what_they_say) {
  const ebm_ops *ops = ebm_ops_cpu();
  const int64_t count = 1001;
  float *a = rand_floats(count, 9, -2, 2), *b = rand_floats(count, 10, -2, 2);
  float *y = nan_floats(count);
  ops->add(count, a, b, y);
  for (int64_t i = 0; i < count; i++) CHECK(y[i] == a[i] + b[i]);
  float *z = copy_floats(count, b);
  ops->axpy(count, 0.5f, a, z);
  for (int64_t i = 0; i < count; i++) CHECK(z[i] == b[i] + 0.5f * a[i]);
  ops->scale(count, -3.0f, a, y);
  for (int64_t i = 0; i < count; i++) CHECK(y[i] == -3.0f * a[i]);
  ops->scale(count, 2.0f, y, y); /* in place */
  for (int64_t i = 0; i < count; i++) CHECK(y[i] == -6.0f * a[i]);
  memcpy(y, a, (size_t)count * sizeof(float));
  y[7] = NAN;
  ops->clamp(count, -1.0f, 1.0f, y);
  for (int64_t i = 0; i < count; i++)
    if (i != 7) CHECK(y[i] == (a[i] < -1 ? -1.0f : a[i] > 1 ? 1.0f : a[i]));
  CHECK(isnan(y[7])); /* NaN is not hidden by clamping */
  double dot = 0, sum = 0;
  for (int64_t i = 0; i < count; i++) dot += (double)a[i] * b[i], sum += a[i];
  CHECK_NEAR(ops->dot(count, a, b), dot, 1e-9 * (1 + fabs(dot)));
  CHECK_NEAR(ops->sum(count, a), sum, 1e-9 * (1 + fabs(sum)));
  CHECK(ops->sum(0, a) == 0.0);
  free(a), free(b), free(y), free(z);
}

TEST(vectorisable_sigmoid_is_within_a_few_ulp_of_double_precision) {
  /* σ via ops_exp_nonpositive (vmath.h): relative error ≤ 4 float ulp, or absolute ≤ 4 ulp
   * of 1e-30 in the far left tail where it flushes to 0 below e^−87.3 */
  float *x = rand_floats(20000, 11, -100, 100);
  double worst = 0;
  for (int64_t i = 0; i < 20000; i++) {
    float in = i < 10000 ? x[i] : x[i] * 0.05f; /* dense near 0 too */
    float got = ops_sigmoid(in);
    double want = 1.0 / (1.0 + exp(-(double)in));
    double rel = fabs(got - want) / (want > 1e-30 ? want : 1e-30);
    if (rel > worst) worst = rel;
  }
  CHECK(worst <= 4 * 1.19e-7);
  CHECK(ops_sigmoid(-1000.0f) == 0.0f && ops_sigmoid(1000.0f) == 1.0f);
  CHECK(ops_swish(0.0f) == 0.0f && fabsf(ops_swish_grad(0.0f) - 0.5f) < 1e-7f);
  free(x);
}

/* The table's swish kernels (AVX2 intrinsics on the avx2 path) give the
 * bits of the scalar definition for every kind of input, in the vector body
 * and the tail (NaN for NaN), on whatever path is active (the suite runs
 * under each). */
TEST(swish_kernels_equal_the_scalar_definition_bitwise) {
  const ebm_ops *ops = ebm_ops_cpu();
  enum { N = 4099 }; /* not a multiple of 8: a scalar tail */
  float *x = rand_floats(N, 77, -100.0f, 100.0f), *dy = rand_floats(N, 78, -2.0f, 2.0f);
  const float special[] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY, -87.3f, -87.29f, -87.31f,
                           87.3f, 1e-40f, -1e-40f, 88.8f, -1e30f, 1e30f, 0.5f, -0.5f};
  for (int i = 0; i < (int)(sizeof special / sizeof special[0]); i++) x[i * 7] = special[i];
  for (int i = 0; i < 512; i++) x[N - 600 + i] = -90.0f + 0.35f * (float)i; /* the exp's range */
  float *y = nan_floats(N), *dx = nan_floats(N), *y2 = nan_floats(N), *gate = nan_floats(N);
  ops->swish_forward(N, x, y);
  ops->swish_backward(N, x, dy, dx);
  ops_swish_gate_array(N, x, y2, gate); /* the fused conv's forward: both from one sigmoid */
  int same = 1;
  for (int i = 0; i < N; i++) {
    float want = ops_swish(x[i]), want_dx = dy[i] * ops_swish_grad(x[i]);
    float want_gate = ops_swish_grad(x[i]), gated = dy[i] * gate[i];
    /* a NaN's sign and payload depend on operand order, not on the formula */
    same &= (isnan(y[i]) && isnan(want)) || memcmp(&y[i], &want, sizeof want) == 0;
    same &= (isnan(dx[i]) && isnan(want_dx)) || memcmp(&dx[i], &want_dx, sizeof want) == 0;
    same &= (isnan(y2[i]) && isnan(want)) || memcmp(&y2[i], &want, sizeof want) == 0;
    same &= (isnan(gate[i]) && isnan(want_gate)) || memcmp(&gate[i], &want_gate, sizeof want) == 0;
    same &= (isnan(gated) && isnan(want_dx)) || memcmp(&gated, &want_dx, sizeof want) == 0;
  }
  CHECK(same);
  free(x), free(dy), free(y), free(dx), free(y2), free(gate);
}
