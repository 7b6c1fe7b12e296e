/* ebm_classify_eval: a conditional energy scored as a classifier on a data
 * set, against accuracy and cross-entropy computed here by hand. */
#include <math.h>

#include "test.h"

/* E(x, y) = ½(x − m_y)² with m = (−1, 2): argmin_y is class 1 above x = 0.5. */
static ebm_status two_means(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e, float *g) {
  (void)self;
  (void)g;
  for (int64_t i = 0; i < n; i++) {
    double r = x[i] - (cond->labels[i] == 0 ? -1.0 : 2.0);
    e[i] = (float)(0.5 * r * r);
  }
  return EBM_OK;
}

static ebm_energy *two_means_energy(void) {
  ebm_energy *en = ebm_energy_alloc();
  REQUIRE(en);
  en->name = "two-means";
  en->item_ndim = 1;
  en->item_shape[0] = 1;
  en->num_classes = 2;
  en->eval = two_means;
  return en;
}

#define N 6
static const float xs[N] = {-1.0f, 0.0f, 1.0f, 2.0f, 3.0f, 0.4f};
static int32_t ys[N] = {0, 0, 0, 1, 1, 1}; /* items 2 and 5 sit on the other class's side */

static void make_set(ebm_dataset *ds, int64_t dim) {
  memset(ds, 0, sizeof *ds);
  snprintf(ds->spec, sizeof ds->spec, "hand:6");
  int64_t shape[2] = {N / dim, dim};
  ds->x = ebm_tensor_new(2, shape);
  REQUIRE(ds->x);
  memcpy(ds->x->data, xs, sizeof xs);
  ds->labels = ys;
  ds->num_classes = 2;
}

TEST(classify_eval_scores_accuracy_and_cross_entropy_of_argmin_energy) {
  ebm_energy *en = two_means_energy();
  ebm_dataset ds;
  make_set(&ds, 1);
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  ebm_classify_result r;
  REQUIRE_OK(ebm_classify_eval(en, &ds, 0, &rng, 5, NULL, &r));
  double nll = 0;
  for (int i = 0; i < N; i++) {
    double e0 = 0.5 * (xs[i] + 1) * (xs[i] + 1), e1 = 0.5 * (xs[i] - 2) * (xs[i] - 2);
    nll += ((ys[i] == 0 ? e0 : e1) + log(exp(-e0) + exp(-e1))) / N;
  }
  CHECK_EQ_INT(r.n, N);
  CHECK_EQ_INT(r.classes, 2);
  CHECK_NEAR(r.accuracy, 4.0 / 6.0, 1e-12);
  CHECK_NEAR(r.nll, nll, 1e-5);
  CHECK(r.ece >= 0.0 && r.ece <= 1.0);
  /* a subset: 3 of the 6 items */
  REQUIRE_OK(ebm_classify_eval(en, &ds, 3, &rng, 5, NULL, &r));
  CHECK_EQ_INT(r.n, 3);
  /* a label outside the classes, no labels, no classes, other items */
  ys[4] = 5;
  CHECK_FAILS_WITH(ebm_classify_eval(en, &ds, 0, &rng, 5, NULL, &r), EBM_ERR_ARG, "hand:6: label 5 of item 4 is not a class");
  ys[4] = 1;
  ds.labels = NULL;
  CHECK_FAILS_WITH(ebm_classify_eval(en, &ds, 0, &rng, 5, NULL, &r), EBM_ERR_ARG, "hand:6 has no labels");
  ds.labels = ys;
  en->num_classes = 0;
  CHECK_FAILS_WITH(ebm_classify_eval(en, &ds, 0, &rng, 5, NULL, &r), EBM_ERR_ARG, "two-means is unconditional");
  en->num_classes = 2;
  ebm_tensor_free(ds.x);
  make_set(&ds, 2);
  CHECK_FAILS_WITH(ebm_classify_eval(en, &ds, 0, &rng, 5, NULL, &r), EBM_ERR_SHAPE, "hand:6: items are [2], two-means takes [1]");
  ebm_tensor_free(ds.x);
  ebm_energy_free(en);
}
