/* Items through a shape classifier (ebm_classify_shares, ebm_points_classify): class shares,
 * mean top-class probability and the sure fraction, on a classifier whose
 * logits are the first three coordinates of a cloud. */
#include "test.h"

enum { P = 2 };

/* E(x, y) = −x[y]: the logits are the cloud's first three floats. */
static ebm_status first_floats_energy(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                                      float *grad) {
  (void)self;
  (void)grad;
  for (int64_t i = 0; i < n; i++) e[i] = -x[i * P * 3 + cond->labels[i]];
  return EBM_OK;
}

TEST(points_classify_counts_shares_and_top_class_probabilities) {
  ebm_energy clf = {.name = "first-floats", .item_ndim = 3, .item_shape = {1, P, 3}, .num_classes = 3,
                    .eval = first_floats_energy};
  float clouds[4 * P * 3] = {0};
  clouds[0 * P * 3 + 0] = 5;  /* class 0, p = e⁵/(e⁵ + 2) */
  clouds[1 * P * 3 + 1] = 1;  /* class 1, p = e/(e + 2) */
  clouds[2 * P * 3 + 2] = 3;  /* class 2, p = e³/(e³ + 2) */
  clouds[3 * P * 3 + 2] = -1; /* a tie of classes 0 and 1: the first, p = 1/(2 + e⁻¹) */
  ebm_points_classes c;
  REQUIRE_OK(ebm_points_classify(&clf, clouds, 4, &c));
  CHECK_EQ_INT(c.n, 4);
  CHECK_EQ_INT(c.classes, 3);
  CHECK_NEAR(c.share[0], 0.5, 1e-12);
  CHECK_NEAR(c.share[1], 0.25, 1e-12);
  CHECK_NEAR(c.share[2], 0.25, 1e-12);
  const double p[4] = {exp(5.0) / (exp(5.0) + 2), exp(1.0) / (exp(1.0) + 2), exp(3.0) / (exp(3.0) + 2),
                       1 / (2 + exp(-1.0))};
  CHECK_NEAR(c.confidence, (p[0] + p[1] + p[2] + p[3]) / 4, 1e-6);
  CHECK_NEAR(c.sure, 0.5, 1e-12); /* p[0] 0.987 and p[2] 0.909 */
}

TEST(points_classify_refuses_an_unconditional_energy) {
  ebm_energy en = {.name = "plain", .item_ndim = 3, .item_shape = {1, P, 3}, .eval = first_floats_energy};
  float clouds[P * 3] = {0};
  ebm_points_classes c;
  CHECK_FAILS_WITH(ebm_points_classify(&en, clouds, 1, &c), EBM_ERR_ARG,
                   "plain has 0 classes; a shape classifier needs 2..16");
}

TEST(classify_shares_scores_the_class_each_item_was_asked_for) {
  ebm_energy clf = {.name = "first-floats", .item_ndim = 3, .item_shape = {1, P, 3}, .num_classes = 3,
                    .eval = first_floats_energy};
  float items[3 * P * 3] = {0};
  items[0 * P * 3 + 0] = 2; /* class 0 */
  items[1 * P * 3 + 2] = 2; /* class 2 */
  items[2 * P * 3 + 1] = 2; /* class 1 */
  ebm_class_shares c;
  REQUIRE_OK(ebm_classify_shares(&clf, items, 3, (const int32_t[]){0, 1, 1}, &c));
  CHECK_NEAR(c.on_asked, 2.0 / 3, 1e-12); /* items 0 and 2 land on their class, item 1 does not */
  REQUIRE_OK(ebm_classify_shares(&clf, items, 3, NULL, &c));
  CHECK(isnan(c.on_asked));
  CHECK_FAILS_WITH(ebm_classify_shares(&clf, items, 3, (const int32_t[]){0, 3, 1}, &c), EBM_ERR_ARG,
                   "item 1 was asked for class 3; first-floats has classes 0..2");
}
