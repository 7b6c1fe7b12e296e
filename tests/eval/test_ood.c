/* OOD metrics against hand-computed values (with ties) and brute force,
 * the two EBM scores against analytic energies, and the synthetic OOD sets. */
#include "test.h"

TEST(ood_metrics_match_hand_computed_values_with_ties) {
  /* in {0.9, 0.8, 0.8, 0.4}, out {0.8, 0.3, 0.2}:
   * AUROC: 0.9 beats 3, each 0.8 beats 2 and ties 1 (2.5), 0.4 beats 2 → 10/12.
   * AP(in): thresholds 0.9 (R ¼, P 1), 0.8 (R ¾, P ¾), 0.4 (R 1, P ⅘)
   *         → ¼ + ½·¾ + ¼·⅘ = 0.825.
   * AP(out), scores negated: −0.2 (R ⅓, P 1), −0.3 (R ⅔, P 1), −0.4 (no new
   *         positive), −0.8 (R 1, P ½) → ⅔ + ⅙ = ⅚.
   * FPR95: TPR reaches 1 ≥ 0.95 first at 0.4, where 1 of 3 out items is above. */
  const double in[4] = {0.9, 0.8, 0.8, 0.4}, out[3] = {0.8, 0.3, 0.2};
  ebm_ood_metrics m;
  REQUIRE_OK(ebm_ood_metrics_compute(in, 4, out, 3, &m));
  CHECK_NEAR(m.auroc, 10.0 / 12.0, 1e-12);
  CHECK_NEAR(m.aupr_in, 0.825, 1e-12);
  CHECK_NEAR(m.aupr_out, 5.0 / 6.0, 1e-12);
  CHECK_NEAR(m.fpr95, 1.0 / 3.0, 1e-12);
}

TEST(ood_metrics_of_all_tied_and_separated_scores) {
  const double a[2] = {0.5, 0.5}, b[1] = {0.5};
  ebm_ood_metrics m;
  REQUIRE_OK(ebm_ood_metrics_compute(a, 2, b, 1, &m));
  CHECK_NEAR(m.auroc, 0.5, 1e-12);
  CHECK_NEAR(m.aupr_in, 2.0 / 3.0, 1e-12);  /* one threshold: R 1, P ⅔ */
  CHECK_NEAR(m.aupr_out, 1.0 / 3.0, 1e-12);
  CHECK_NEAR(m.fpr95, 1.0, 1e-12);
  const double hi[3] = {3, 4, 5}, lo[2] = {1, 2};
  REQUIRE_OK(ebm_ood_metrics_compute(hi, 3, lo, 2, &m));
  CHECK(m.auroc == 1.0 && m.aupr_in == 1.0 && m.aupr_out == 1.0 && m.fpr95 == 0.0);
  REQUIRE_OK(ebm_ood_metrics_compute(lo, 2, hi, 3, &m));
  CHECK(m.auroc == 0.0 && m.fpr95 == 1.0);
  CHECK_NEAR(m.aupr_in, 0.325, 1e-12); /* ranked last: R ½ at P ¼, R 1 at P ⅖ */
}

/* Brute force on integer scores with many ties: AUROC by counting pairs,
 * AP and FPR95 by enumerating every distinct threshold. */
TEST(ood_metrics_match_brute_force_on_random_tied_scores) {
  ebm_rng rng;
  ebm_rng_init(&rng, 77);
  for (int trial = 0; trial < 20; trial++) {
    int ni = 1 + (int)ebm_rng_below(&rng, 40), no = 1 + (int)ebm_rng_below(&rng, 40);
    double in[40], out[40];
    for (int i = 0; i < ni; i++) in[i] = (double)ebm_rng_below(&rng, 8) + 1.0;
    for (int i = 0; i < no; i++) out[i] = (double)ebm_rng_below(&rng, 6);
    double pairs = 0;
    for (int i = 0; i < ni; i++)
      for (int k = 0; k < no; k++) pairs += in[i] > out[k] ? 1.0 : (in[i] == out[k] ? 0.5 : 0.0);
    double ap = 0, prev_r = 0, fpr95 = 1.0;
    int found = 0;
    for (int t = 9; t >= -1; t--) { /* thresholds s ≥ t, descending */
      int tp = 0, fp = 0;
      for (int i = 0; i < ni; i++) tp += in[i] >= t;
      for (int i = 0; i < no; i++) fp += out[i] >= t;
      if (tp + fp == 0) continue;
      double r = (double)tp / ni;
      ap += (r - prev_r) * tp / (double)(tp + fp);
      prev_r = r;
      if (!found && tp >= 0.95 * ni) {
        fpr95 = (double)fp / no;
        found = 1;
      }
    }
    ebm_ood_metrics m;
    REQUIRE_OK(ebm_ood_metrics_compute(in, ni, out, no, &m));
    CHECK_NEAR(m.auroc, pairs / ((double)ni * no), 1e-12);
    CHECK_NEAR(m.aupr_in, ap, 1e-12);
    CHECK_NEAR(m.fpr95, fpr95, 1e-12);
    /* swapping the roles mirrors AUROC, and AUPR-out is AUPR-in of the swap with negated scores */
    ebm_ood_metrics sw;
    double nin[40], nout[40];
    for (int i = 0; i < ni; i++) nin[i] = -in[i];
    for (int i = 0; i < no; i++) nout[i] = -out[i];
    REQUIRE_OK(ebm_ood_metrics_compute(nout, no, nin, ni, &sw));
    CHECK_NEAR(sw.auroc, m.auroc, 1e-12);
    CHECK_NEAR(sw.aupr_in, m.aupr_out, 1e-12);
  }
}

TEST(ood_metrics_reject_empty_sets_and_nan) {
  const double a[2] = {1, NAN}, b[1] = {0};
  ebm_ood_metrics m;
  CHECK_FAILS_WITH(ebm_ood_metrics_compute(a, 0, b, 1, &m), EBM_ERR_ARG, "at least one");
  CHECK_FAILS_WITH(ebm_ood_metrics_compute(a, 2, b, 1, &m), EBM_ERR_NUMERIC, "score 1 is NaN");
}

/* −E and −‖∇E‖ of N(μ, I) at known points: E = ½‖x − μ‖², ‖∇E‖ = ‖x − μ‖. */
TEST(ood_scores_of_a_gaussian_are_minus_energy_and_minus_gradient_norm) {
  const double mean[3] = {1, 0, -1};
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(3, mean, NULL, &en));
  const float x[6] = {1, 0, -1, 4, 4, -1};
  double s_e[2], s_g[2];
  REQUIRE_OK(ebm_ood_scores(en, x, 2, s_e, s_g, NULL));
  CHECK_NEAR(s_e[0], 0.0, 1e-6);
  CHECK_NEAR(s_g[0], 0.0, 1e-6);
  CHECK_NEAR(s_e[1], -12.5, 1e-5);
  CHECK_NEAR(s_g[1], -5.0, 1e-5);
  ebm_energy_free(en);
}

/* A conditional energy E(x, y) = ½(x − m_y)² in 1-D with m = (−1, 2): the
 * score uses the marginal −log Σ_y exp(−E(x, y)), and its gradient norm
 * matches a central difference of that marginal. */
static ebm_status two_class_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e, float *g) {
  const int32_t *y = cond ? cond->labels : NULL;
  (void)self;
  for (int64_t i = 0; i < n; i++) {
    double m = y[i] == 0 ? -1.0 : 2.0, r = x[i] - m;
    e[i] = (float)(0.5 * r * r);
    if (g) g[i] = (float)r;
  }
  return EBM_OK;
}

static double two_class_marginal(double x) {
  return -log(exp(-0.5 * (x + 1) * (x + 1)) + exp(-0.5 * (x - 2) * (x - 2)));
}

TEST(ood_scores_of_a_conditional_energy_use_the_marginal) {
  ebm_energy *en = ebm_energy_alloc();
  REQUIRE(en);
  en->name = "two-class";
  en->item_ndim = 1;
  en->item_shape[0] = 1;
  en->num_classes = 2;
  en->eval = two_class_eval;
  const float x[3] = {-1.0f, 0.3f, 3.5f};
  double s_e[3], s_g[3];
  REQUIRE_OK(ebm_ood_scores(en, x, 3, s_e, s_g, NULL));
  for (int i = 0; i < 3; i++) {
    double h = 1e-4, fd = (two_class_marginal(x[i] + h) - two_class_marginal(x[i] - h)) / (2 * h);
    CHECK_NEAR(s_e[i], -two_class_marginal(x[i]), 1e-5);
    CHECK_NEAR(s_g[i], -fabs(fd), 1e-5);
  }
  ebm_energy_free(en);
}

/* A 3-image npy data set, 1×4×3 each, pixel value = 0.01·(index in the file). */
static const char *write_images(void) {
  static float px[36];
  for (int k = 0; k < 36; k++) px[k] = 0.01f * (float)k;
  const char *path = test_path("imgs.npy");
  const int64_t shape[4] = {3, 1, 4, 3};
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, 4, shape, px));
  return path;
}

TEST(ood_sets_flip_and_invert_the_data_and_make_noise_in_range) {
  const char *npy = write_images();
  char spec[600];
  const int64_t shape[3] = {1, 4, 3};
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  ebm_tensor *t = NULL;
  snprintf(spec, sizeof spec, "flip:npy:%s", npy);
  REQUIRE_OK(ebm_ood_set_make(spec, 3, shape, 0.0f, 1.0f, 10, &rng, &t));
  REQUIRE(t->shape[0] == 3); /* all of a smaller set */
  for (int i = 0; i < 3; i++)
    for (int r = 0; r < 4; r++)
      for (int c = 0; c < 3; c++) CHECK_NEAR(t->data[i * 12 + r * 3 + c], 0.01f * (float)(i * 12 + (3 - r) * 3 + c), 1e-7);
  ebm_tensor_free(t);
  snprintf(spec, sizeof spec, "invert:npy:%s", npy);
  REQUIRE_OK(ebm_ood_set_make(spec, 3, shape, 0.0f, 1.0f, 2, &rng, &t));
  REQUIRE(t->shape[0] == 2); /* a subset: each item is one of the three, inverted, in order */
  int last = -1;
  for (int i = 0; i < 2; i++) {
    int which = (int)lround((1.0 - t->data[i * 12]) / 0.12);
    CHECK(which > last && which < 3);
    last = which;
    for (int k = 0; k < 12; k++) CHECK_NEAR(t->data[i * 12 + k], 1.0f - 0.01f * (float)(which * 12 + k), 1e-6);
  }
  ebm_tensor_free(t);
  REQUIRE_OK(ebm_ood_set_make("noise:gaussian", 3, shape, -1.0f, 1.0f, 500, &rng, &t));
  double mean = 0;
  for (int k = 0; k < 500 * 12; k++) {
    CHECK(t->data[k] >= -1.0f && t->data[k] <= 1.0f);
    mean += t->data[k] / 6000.0;
  }
  CHECK_NEAR(mean, 0.0, 0.03); /* sd 0.5 (clamped a little) / √6000 ≈ 0.0065 */
  ebm_tensor_free(t);
  REQUIRE_OK(ebm_ood_set_make("constant", 3, shape, 0.0f, 1.0f, 50, &rng, &t));
  for (int i = 0; i < 50; i++)
    for (int k = 1; k < 12; k++) CHECK(t->data[i * 12 + k] == t->data[i * 12]);
  CHECK(t->data[0] != t->data[12]);
  ebm_tensor_free(t);
  REQUIRE_OK(ebm_ood_set_make("noise:uniform", 3, shape, 0.0f, 1.0f, 50, &rng, &t));
  CHECK(t->shape[0] == 50 && t->ndim == 4 && t->shape[2] == 4);
  ebm_tensor_free(t);
}

TEST(ood_sets_reject_unknown_specs_and_wrong_shapes) {
  const int64_t img[3] = {1, 4, 3}, vec[1] = {2};
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  ebm_tensor *t = NULL;
  CHECK_FAILS_WITH(ebm_ood_set_make("noise:pink", 3, img, 0, 1, 5, &rng, &t), EBM_ERR_ARG, "unknown OOD set 'noise:pink'");
  CHECK_FAILS_WITH(ebm_ood_set_make("flip:toy:rings", 1, vec, 0, 1, 5, &rng, &t), EBM_ERR_SHAPE, "needs images");
  CHECK_FAILS_WITH(ebm_ood_set_make("toy:rings", 3, img, 0, 1, 5, &rng, &t), EBM_ERR_SHAPE, "items are [2], the model takes [1,4,3]");
  CHECK(t == NULL);
}
