/* ebm_mask_pattern: the named regions of an image and of a vector, the
 * fraction of a random mask, and the names it refuses. */
#include "test.h"

TEST(mask_patterns_select_the_named_regions_of_every_item) {
  const int64_t img[3] = {2, 4, 6}, vec[1] = {8};
  float m[2 * 2 * 4 * 6];
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  REQUIRE_OK(ebm_mask_pattern("bottom-half", 3, img, 2, &rng, m));
  for (int k = 0; k < 2 * 2 * 4 * 6; k++) CHECK(m[k] == (float)((k % 24) / 6 >= 2)); /* rows 2, 3 of each channel */
  REQUIRE_OK(ebm_mask_pattern("right-half", 3, img, 2, &rng, m));
  for (int k = 0; k < 2 * 2 * 4 * 6; k++) CHECK(m[k] == (float)(k % 6 >= 3));
  REQUIRE_OK(ebm_mask_pattern("center", 3, img, 1, &rng, m));
  int filled = 0;
  for (int k = 0; k < 2 * 4 * 6; k++) filled += m[k] == 1.0f;
  CHECK_EQ_INT(filled, 2 * 2 * 4); /* 2 channels × rows 1..2 (H/4 = 1 up to H − H/4 = 3) × columns 1..4 */
  CHECK(m[1 * 6 + 1] == 1.0f && m[0] == 0.0f && m[2 * 6 + 5] == 0.0f);
  REQUIRE_OK(ebm_mask_pattern("center", 1, vec, 1, &rng, m));
  for (int k = 0; k < 8; k++) CHECK(m[k] == (float)(k >= 2 && k < 6));
  REQUIRE_OK(ebm_mask_pattern("bottom-half", 1, vec, 1, &rng, m));
  for (int k = 0; k < 8; k++) CHECK(m[k] == (float)(k >= 4));
}

/* random:0.3 on 20 000 values: Binomial(20 000, 0.3), sd 64.8; 5 sd bound. */
TEST(mask_pattern_random_fills_the_requested_fraction) {
  const int64_t vec[1] = {100};
  float *m = malloc(sizeof(float) * 20000);
  REQUIRE(m);
  ebm_rng rng;
  ebm_rng_init(&rng, 7);
  REQUIRE_OK(ebm_mask_pattern("random:0.3", 1, vec, 200, &rng, m));
  int filled = 0;
  for (int k = 0; k < 20000; k++) {
    CHECK(m[k] == 0.0f || m[k] == 1.0f);
    filled += m[k] == 1.0f;
  }
  CHECK_NEAR(filled, 6000, 5 * 64.8);
  CHECK_FAILS_WITH(ebm_mask_pattern("random:0", 1, vec, 1, &rng, m), EBM_ERR_ARG, "P in (0, 1], got '0'");
  CHECK_FAILS_WITH(ebm_mask_pattern("random:x", 1, vec, 1, &rng, m), EBM_ERR_ARG, "got 'x'");
  CHECK_FAILS_WITH(ebm_mask_pattern("left", 1, vec, 1, &rng, m), EBM_ERR_ARG,
                   "pattern:left: patterns are right-half, bottom-half, center, random:P");
  free(m);
}
