/* ebm_softmax_xent against a hand-computed case and its gradient against a
 * central difference in double. */
#include "nn/nn_testutil.h"

TEST(softmax_xent_matches_the_hand_computed_value) {
  /* row 0: logits (1, 2, 3), label 2: CE = log(e + e² + e³) − 3 = 0.40760596
   * row 1: logits (0, 0, 0), label 0: CE = log 3 = 1.09861229 */
  const float z[6] = {1, 2, 3, 0, 0, 0};
  const int32_t y[2] = {2, 0};
  float d[6];
  int64_t correct = -1;
  double ce = ebm_softmax_xent(z, y, 2, 3, 1.0f, d, &correct);
  CHECK_NEAR(ce, (0.40760596 + 1.09861229) / 2, 1e-7);
  CHECK_EQ_INT(correct, 2); /* row 1 ties: argmax is the first, the label */
  /* softmax(1,2,3) = (0.09003057, 0.24472847, 0.66524096); /n = /2 */
  CHECK_NEAR(d[0], 0.09003057 / 2, 1e-7);
  CHECK_NEAR(d[2], (0.66524096 - 1) / 2, 1e-7);
  CHECK_NEAR(d[3], (1.0 / 3 - 1) / 2, 1e-7);
  /* Huge logits do not overflow. */
  const float big[2] = {1e30f, 0};
  const int32_t y0 = 1;
  CHECK_NEAR(ebm_softmax_xent(big, &y0, 1, 2, 1.0f, NULL, NULL), 1e30, 1e24);
}

TEST(softmax_xent_gradient_matches_a_central_difference) {
  enum { N = 3, K = 5 };
  float z[N * K], d[N * K];
  int32_t y[N] = {4, 0, 2};
  for (int i = 0; i < N * K; i++) z[i] = (float)sin(1.7 * i) * 2.0f;
  ebm_softmax_xent(z, y, N, K, 0.5f, d, NULL);
  for (int i = 0; i < N * K; i++) {
    const float keep = z[i], h = 1e-2f;
    z[i] = keep + h;
    double up = ebm_softmax_xent(z, y, N, K, 0.5f, NULL, NULL);
    z[i] = keep - h;
    double down = ebm_softmax_xent(z, y, N, K, 0.5f, NULL, NULL);
    z[i] = keep;
    CHECK_NEAR(d[i], 0.5 * (up - down) / (2.0 * ((double)(keep + h) - keep)), 2e-5);
  }
}
