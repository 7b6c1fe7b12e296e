/* The point-cloud kernels (ops/points.h): the mean over points is the same
 * bits in any order even where a float sum is not, and close to the exact
 * mean; the per-point linear map matches nn.Linear row by row. */
#include "test.h"
#include "ops/points.h"

TEST(point_pool_mean_is_order_free_where_a_float_sum_is_not) {
  /* One feature over 6 points of wildly different sizes: summed in float
   * in two orders the results differ; the pool gives the same bits, within
   * 1e-7 of the exact mean (computed in long double). */
  const float fwd[6] = {1e8f, 1.0f, -1e8f, 3e-3f, 7.0f, -2.5e-6f};
  float rev[6], y1[2], y2[2];
  for (int j = 0; j < 6; j++) rev[j] = fwd[5 - j];
  float s1 = 0, s2 = 0;
  for (int j = 0; j < 6; j++) s1 += fwd[j], s2 += rev[j];
  CHECK(s1 != s2); /* the reason for the fixed-point sum */
  ebm_point_pool_forward(1, 6, 1, 1, 1, 0, fwd, y1);
  ebm_point_pool_forward(1, 6, 1, 1, 1, 0, rev, y2);
  CHECK(memcmp(y1, y2, sizeof y1) == 0);
  CHECK(y1[0] == 1e8f);
  long double exact = 0;
  for (int j = 0; j < 6; j++) exact += fwd[j];
  exact /= 6;
  CHECK_NEAR(y1[1], (double)exact, 1e-7 * 1e8 / 6);
  /* The backward pass: 1/P to every point from the mean, dy to the first
   * maximum from the max. */
  const float dy[2] = {2.0f, 3.0f};
  float dx[6];
  ebm_point_pool_backward(1, 6, 1, 1, 1, 0, fwd, dy, dx);
  CHECK_NEAR(dx[0], 2.0 + 0.5, 1e-7);
  for (int j = 1; j < 6; j++) CHECK_NEAR(dx[j], 0.5, 1e-7);
}

TEST(point_pool_sum_is_p_times_the_order_free_mean_and_passes_dy_undivided) {
  /* max, mean and sum together: [max | mean | sum] per feature block, the
   * sum the same bits in any order; each point gets dy_sum + dy_mean / P. */
  const float fwd[6] = {1e8f, 1.0f, -1e8f, 3e-3f, 7.0f, -2.5e-6f};
  float rev[6], y1[3], y2[3], mean_only[1];
  for (int j = 0; j < 6; j++) rev[j] = fwd[5 - j];
  ebm_point_pool_forward(1, 6, 1, 1, 1, 1, fwd, y1);
  ebm_point_pool_forward(1, 6, 1, 1, 1, 1, rev, y2);
  CHECK(memcmp(y1, y2, sizeof y1) == 0);
  ebm_point_pool_forward(1, 6, 1, 0, 1, 0, fwd, mean_only);
  CHECK(y1[0] == 1e8f && y1[1] == mean_only[0] && y1[2] == mean_only[0] * 6.0f);
  float sum_only[1];
  ebm_point_pool_forward(1, 6, 1, 0, 0, 1, rev, sum_only);
  CHECK(sum_only[0] == y1[2]);
  const float dy[3] = {2.0f, 3.0f, 5.0f};
  float dx[6];
  ebm_point_pool_backward(1, 6, 1, 1, 1, 1, fwd, dy, dx);
  CHECK_NEAR(dx[0], 2.0 + 0.5 + 5.0, 1e-6);
  for (int j = 1; j < 6; j++) CHECK_NEAR(dx[j], 0.5 + 5.0, 1e-6);
}

TEST(point_pool_of_zeros_and_ties) {
  const float x[3 * 2] = {0, 5, 0, 5, 0, 5}; /* 3 points, 2 features; a tie in feature 1 */
  float y[4], dx[6];
  ebm_point_pool_forward(1, 3, 2, 1, 1, 0, x, y);
  CHECK(y[0] == 0 && y[1] == 5 && y[2] == 0 && y[3] == 5);
  const float dy[4] = {1, 1, 0, 0};
  ebm_point_pool_backward(1, 3, 2, 1, 1, 0, x, dy, dx);
  CHECK(dx[1] == 1 && dx[3] == 0 && dx[5] == 0); /* the first maximum only */
}

TEST(point_linear_matches_nn_linear_row_by_row) {
  enum { ROWS = 70, IN = 5, OUT = 9 }; /* more rows than one block of 64 */
  float x[ROWS * IN], w[OUT * IN], b[OUT], wt[IN * OUT], y[ROWS * OUT], dy[ROWS * OUT], dx[ROWS * IN];
  ebm_rng rng;
  ebm_rng_init(&rng, 12);
  ebm_rng_uniform(&rng, x, ROWS * IN, -1, 1);
  ebm_rng_uniform(&rng, w, OUT * IN, -1, 1);
  ebm_rng_uniform(&rng, b, OUT, -1, 1);
  ebm_rng_uniform(&rng, dy, ROWS * OUT, -1, 1);
  ebm_point_linear_forward(ROWS, IN, OUT, x, w, b, wt, y);
  ebm_point_linear_backward_input(ROWS, IN, OUT, dy, w, dx);
  for (int r = 0; r < ROWS; r++) {
    for (int o = 0; o < OUT; o++) {
      double want = b[o];
      for (int k = 0; k < IN; k++) want += (double)w[o * IN + k] * x[r * IN + k];
      CHECK_NEAR(y[r * OUT + o], want, 1e-5);
    }
    for (int k = 0; k < IN; k++) {
      double want = 0;
      for (int o = 0; o < OUT; o++) want += (double)w[o * IN + k] * dy[r * OUT + o];
      CHECK_NEAR(dx[r * IN + k], want, 1e-5);
    }
  }
  /* A row gives the same bits wherever it sits. */
  float y1[OUT];
  ebm_point_linear_forward(1, IN, OUT, x + 69 * IN, w, b, wt, y1);
  CHECK(memcmp(y1, y + 69 * OUT, sizeof y1) == 0);
}
