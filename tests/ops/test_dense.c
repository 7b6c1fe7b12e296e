/* Linear and pooling kernels vs double references and central finite
 * differences; accumulation; thread-count invariance. */
#include "ops/ops.h"
#include "ops_testutil.h"

/* n, in, out: 37 and 70 rows cross the kernels' row blocks. */
static const int64_t linear_shapes[][3] = {{1, 1, 1}, {5, 7, 3}, {37, 19, 5}, {70, 256, 64}, {3, 64, 1}};
#define LINEAR_COUNT ((int)(sizeof linear_shapes / sizeof linear_shapes[0]))

/* y = x·wᵀ + b in double; x is (N,in), w is (out,in), y is (N,out). */
static void ref_linear(int64_t n, int64_t in, int64_t out, const double *x, const double *w,
                       const double *b, double *y) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t o = 0; o < out; o++) y[i * out + o] = (b ? b[o] : 0.0) + dot_d(in, x + i * in, w + o * in);
}

TEST(linear_forward_matches_double_reference) {
  REQUIRE_OK(ebm_threads_init(2));
  const ebm_ops *ops = ebm_ops_cpu();
  for (int t = 0; t < LINEAR_COUNT; t++) {
    int64_t n = linear_shapes[t][0], in = linear_shapes[t][1], out = linear_shapes[t][2];
    float *x = rand_floats(n * in, 1 + t, -1, 1), *w = rand_floats(out * in, 2 + t, -1, 1);
    float *b = rand_floats(out, 3 + t, -1, 1), *y = nan_floats(n * out);
    double *xd = to_double(n * in, x), *wd = to_double(out * in, w), *bd = to_double(out, b);
    double *yd = malloc((size_t)(n * out) * sizeof *yd);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
      ops->linear_forward(n, in, out, x, w, with_bias ? b : NULL, y);
      ref_linear(n, in, out, xd, wd, with_bias ? bd : NULL, yd);
      CHECK(worst_ratio(n * out, y, yd, 1e-5, 1e-5) <= 1.0);
    }
    free(x), free(w), free(b), free(y), free(xd), free(wd), free(bd), free(yd);
  }
}

TEST(linear_backward_matches_finite_differences_and_weight_grads_accumulate) {
  REQUIRE_OK(ebm_threads_init(2));
  const ebm_ops *ops = ebm_ops_cpu();
  for (int t = 0; t < LINEAR_COUNT; t++) {
    int64_t n = linear_shapes[t][0], in = linear_shapes[t][1], out = linear_shapes[t][2];
    float *x = rand_floats(n * in, 10 + t, -1, 1), *w = rand_floats(out * in, 20 + t, -1, 1);
    float *b = rand_floats(out, 30 + t, -1, 1), *r = rand_floats(n * out, 40 + t, -1, 1);
    float *dx = nan_floats(n * in), *dw0 = rand_floats(out * in, 50 + t, -1, 1);
    float *db0 = rand_floats(out, 60 + t, -1, 1);
    float *dw = copy_floats(out * in, dw0), *db = copy_floats(out, db0);
    ops->linear_backward_input(n, in, out, r, w, dx);
    ops->linear_backward_weight(n, in, out, x, r, dw, db);
    double *xd = to_double(n * in, x), *wd = to_double(out * in, w), *bd = to_double(out, b);
    double *rd = to_double(n * out, r), *yd = malloc((size_t)(n * out) * sizeof *yd);
    /* L = Σ r ⊙ y; probe each parameter array at up to 40 random places. */
    double *arrays[3] = {xd, wd, bd};
    const float *grads[3] = {dx, dw, db}, *before[3] = {NULL, dw0, db0};
    int64_t sizes[3] = {n * in, out * in, out};
    ebm_rng rng;
    ebm_rng_init(&rng, 70 + t);
    for (int a = 0; a < 3; a++)
      for (int c = 0; c < 40; c++) {
        int64_t q = ebm_rng_below(&rng, (uint32_t)sizes[a]);
        double v0 = arrays[a][q], h = 1e-3;
        arrays[a][q] = v0 + h;
        ref_linear(n, in, out, xd, wd, bd, yd);
        double lp = dot_d(n * out, rd, yd);
        arrays[a][q] = v0 - h;
        ref_linear(n, in, out, xd, wd, bd, yd);
        double lm = dot_d(n * out, rd, yd);
        arrays[a][q] = v0;
        double fd = (lp - lm) / (2 * h), got = grads[a][q] - (before[a] ? before[a][q] : 0.0f);
        CHECK_NEAR(got, fd, 1e-4 * (1 + fabs(fd)));
      }
    float *dw_nob = copy_floats(out * in, dw0);
    ops->linear_backward_weight(n, in, out, x, r, dw_nob, NULL); /* db may be NULL */
    CHECK(memcmp(dw_nob, dw, (size_t)(out * in) * sizeof(float)) == 0);
    free(x), free(w), free(b), free(r), free(dx), free(dw0), free(db0), free(dw), free(db);
    free(dw_nob), free(xd), free(wd), free(bd), free(rd), free(yd);
  }
}

TEST(linear_results_are_bitwise_identical_at_1_and_2_threads) {
  int64_t n = 70, in = 256, out = 64;
  float *x = rand_floats(n * in, 1, -1, 1), *w = rand_floats(out * in, 2, -1, 1);
  float *b = rand_floats(out, 3, -1, 1), *dy = rand_floats(n * out, 4, -1, 1);
  float *y[2], *dx[2];
  for (int t = 0; t < 2; t++) {
    REQUIRE_OK(ebm_threads_init(t + 1));
    y[t] = nan_floats(n * out), dx[t] = nan_floats(n * in);
    ebm_ops_cpu()->linear_forward(n, in, out, x, w, b, y[t]);
    ebm_ops_cpu()->linear_backward_input(n, in, out, dy, w, dx[t]);
  }
  CHECK(memcmp(y[0], y[1], (size_t)(n * out) * sizeof(float)) == 0);
  CHECK(memcmp(dx[0], dx[1], (size_t)(n * in) * sizeof(float)) == 0);
  for (int t = 0; t < 2; t++) free(y[t]), free(dx[t]);
  free(x), free(w), free(b), free(dy);
}

/* n, c, h, w, k: odd sizes drop the last row / column like PyTorch; the
 * last two are large enough to be shared by the pool's threads, in blocks of
 * 64 planes with a partial last block (205 and 200 planes). */
static const int64_t pool_shapes[][5] = {{2, 3, 4, 4, 2},     {1, 2, 5, 7, 2},     {3, 1, 9, 9, 3},
                                         {1, 1, 3, 3, 1},     {5, 41, 29, 31, 2}, {4, 50, 27, 25, 3}};
#define POOL_COUNT ((int)(sizeof pool_shapes / sizeof pool_shapes[0]))

TEST(avgpool2d_forward_and_backward_match_reference_and_finite_differences) {
  REQUIRE_OK(ebm_threads_init(2));
  const ebm_ops *ops = ebm_ops_cpu();
  for (int t = 0; t < POOL_COUNT; t++) {
    int64_t n = pool_shapes[t][0], c = pool_shapes[t][1], h = pool_shapes[t][2];
    int64_t w = pool_shapes[t][3], k = pool_shapes[t][4], ho = h / k, wo = w / k;
    int64_t nx = n * c * h * w, ny = n * c * ho * wo;
    float *x = rand_floats(nx, 80 + t, -1, 1), *y = nan_floats(ny);
    float *r = rand_floats(ny, 90 + t, -1, 1), *dx = nan_floats(nx);
    ops->avgpool2d_forward(n, c, h, w, k, x, y);
    ops->avgpool2d_backward(n, c, h, w, k, r, dx);
    double *yd = calloc((size_t)ny, sizeof *yd);
    for (int64_t p = 0; p < n * c; p++)
      for (int64_t i = 0; i < ho * k; i++)
        for (int64_t j = 0; j < wo * k; j++)
          yd[(p * ho + i / k) * wo + j / k] += (double)x[(p * h + i) * w + j] / (double)(k * k);
    CHECK(worst_ratio(ny, y, yd, 1e-6, 1e-6) <= 1.0);
    /* L = Σ r ⊙ y is linear in x: dL/dx_q = (L(x + e_q) − L(x − e_q)) / 2 exactly. */
    for (int64_t q = 0; q < nx; q++) {
      int64_t p = q / (h * w), i = q / w % h, j = q % w;
      double fd = (i < ho * k && j < wo * k) ? r[(p * ho + i / k) * wo + j / k] / (double)(k * k) : 0.0;
      CHECK_NEAR(dx[q], fd, 1e-6);
    }
    free(x), free(y), free(r), free(dx), free(yd);
  }
}

TEST(avgpool2d_results_are_bitwise_identical_at_1_and_2_threads) {
  for (int t = POOL_COUNT - 2; t < POOL_COUNT; t++) {
    int64_t n = pool_shapes[t][0], c = pool_shapes[t][1], h = pool_shapes[t][2];
    int64_t w = pool_shapes[t][3], k = pool_shapes[t][4];
    int64_t nx = n * c * h * w, ny = n * c * (h / k) * (w / k);
    float *x = rand_floats(nx, 30 + t, -1, 1), *dy = rand_floats(ny, 40 + t, -1, 1);
    float *y[2], *dx[2];
    for (int threads = 1; threads <= 2; threads++) {
      REQUIRE_OK(ebm_threads_init(threads));
      y[threads - 1] = nan_floats(ny), dx[threads - 1] = nan_floats(nx);
      ebm_ops_cpu()->avgpool2d_forward(n, c, h, w, k, x, y[threads - 1]);
      ebm_ops_cpu()->avgpool2d_backward(n, c, h, w, k, dy, dx[threads - 1]);
    }
    CHECK(memcmp(y[0], y[1], (size_t)ny * sizeof(float)) == 0);
    CHECK(memcmp(dx[0], dx[1], (size_t)nx * sizeof(float)) == 0);
    for (int i = 0; i < 2; i++) free(y[i]), free(dx[i]);
    free(x), free(dy);
  }
}

/* The second shape is above the pool's parallel threshold (3150 planes:
 * 49 whole blocks of 64 and a part), so the threads share it. */
TEST(global_sum_pool_sums_each_channel_and_broadcasts_the_gradient_at_1_and_2_threads) {
  const ebm_ops *ops = ebm_ops_cpu();
  const int64_t shapes[][3] = {{3, 4, 37}, {50, 63, 49}};
  for (int t = 0; t < 2; t++) {
    const int64_t n = shapes[t][0], c = shapes[t][1], hw = shapes[t][2];
    float *x = rand_floats(n * c * hw, 5 + t, -1, 1), *dy = rand_floats(n * c, 6 + t, -1, 1);
    float *y[2], *dx[2];
    for (int threads = 1; threads <= 2; threads++) {
      REQUIRE_OK(ebm_threads_init(threads));
      y[threads - 1] = nan_floats(n * c), dx[threads - 1] = nan_floats(n * c * hw);
      ops->global_sum_pool_forward(n, c, hw, x, y[threads - 1]);
      ops->global_sum_pool_backward(n, c, hw, dy, dx[threads - 1]);
    }
    for (int64_t p = 0; p < n * c; p++) {
      double acc = 0;
      for (int64_t q = 0; q < hw; q++) acc += x[p * hw + q];
      CHECK_NEAR(y[1][p], acc, 1e-5);
      for (int64_t q = 0; q < hw; q++) CHECK(dx[1][p * hw + q] == dy[p]);
    }
    CHECK(memcmp(y[0], y[1], (size_t)(n * c) * sizeof(float)) == 0);
    CHECK(memcmp(dx[0], dx[1], (size_t)(n * c * hw) * sizeof(float)) == 0);
    free(x), free(dy);
    for (int i = 0; i < 2; i++) free(y[i]), free(dx[i]);
  }
}
