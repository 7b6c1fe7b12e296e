/* The feature classifier: softmax cross-entropy, back-propagation against
 * finite differences, checkpoints, training on a small subset beyond what
 * chance allows; conditional EBMs as classifiers and the calibration error. */
#include "eval/classifier_internal.h"
#include "test.h"

TEST(softmax_cross_entropy_matches_hand_values_and_its_gradient) {
  /* z = (0, log 3): softmax (¼, ¾); label 1 → −log ¾; label 0 → −log ¼ */
  const float z[4] = {0.0f, (float)log(3.0), 1000.0f, 1000.0f};
  const int32_t y[2] = {1, 0};
  float dz[4];
  double loss = ebm_softmax_cross_entropy(z, y, 2, 2, dz);
  CHECK_NEAR(loss, 0.5 * (-log(0.75) + log(2.0)), 1e-6); /* the second row: ½ each, stable at 1000 */
  CHECK_NEAR(dz[0], 0.25 / 2, 1e-6);
  CHECK_NEAR(dz[1], (0.75 - 1.0) / 2, 1e-6);
  CHECK_NEAR(dz[2], (0.5 - 1.0) / 2, 1e-6);
  CHECK_NEAR(dz[3], 0.5 / 2, 1e-6);
}

/* A tiny classifier (1×4×4 inputs, w 2, F 3, K 3): the analytic gradient of
 * the mean cross-entropy against central differences (in float, so a 2 %
 * relative tolerance on entries whose gradient is not tiny). */
TEST(classifier_parameter_gradients_match_finite_differences) {
  ebm_classifier_arch a = ebm_classifier_arch_for(1, 4, 4, 3, 0.0f, 1.0f);
  a.conv_width = 2;
  a.features = 3;
  ebm_classifier *c = NULL;
  REQUIRE_OK(ebm_classifier_new(&a, 5, &c));
  ebm_rng rng;
  ebm_rng_init(&rng, 4);
  REQUIRE_OK(ebm_classifier_init(c, &rng));
  for (int64_t k = 0; k < c->nparams; k++) c->params[k] *= 3.0f; /* livelier activations */
  float x[5 * 16], dz[5 * 3];
  const int32_t y[5] = {0, 1, 2, 1, 0};
  ebm_rng_uniform(&rng, x, 5 * 16, 0.0f, 1.0f);
  clf_forward(c, x, 5);
  ebm_softmax_cross_entropy(clf_logits(c), y, 5, 3, dz);
  memset(c->grads, 0, (size_t)c->nparams * sizeof(float));
  clf_backward(c, x, 5, dz);
  int checked = 0, bad = 0;
  for (int p = 0; p < CLF_NPARAMS; p++) {
    int64_t count = 1;
    for (int d = 0; d < c->p[p].ndim; d++) count *= c->p[p].shape[d];
    for (int64_t k = 0; k < count; k += 1 + count / 7) {
      float *w = c->params + c->p[p].offset + k, keep = *w;
      const float h = 1e-2f;
      *w = keep + h;
      clf_forward(c, x, 5);
      double up = ebm_softmax_cross_entropy(clf_logits(c), y, 5, 3, NULL);
      *w = keep - h;
      clf_forward(c, x, 5);
      double down = ebm_softmax_cross_entropy(clf_logits(c), y, 5, 3, NULL);
      *w = keep;
      double fd = (up - down) / (2.0 * h), an = c->grads[c->p[p].offset + k];
      if (fabs(fd) + fabs(an) < 1e-3) continue;
      checked++;
      if (fabs(fd - an) > 0.02 * fabs(fd) + 2e-4) {
        bad++;
        fprintf(stderr, "    %s[%lld]: analytic %.6g, finite difference %.6g\n", c->p[p].name, (long long)k, an, fd);
      }
    }
  }
  CHECK(checked >= 20);
  CHECK_EQ_INT(bad, 0);
  ebm_classifier_free(c);
}

TEST(classifier_checkpoint_round_trips_and_rejects_other_files) {
  ebm_classifier_arch a = ebm_classifier_arch_for(1, 8, 8, 4, -1.0f, 1.0f);
  a.conv_width = 3;
  a.features = 5;
  ebm_classifier *c = NULL, *d = NULL;
  REQUIRE_OK(ebm_classifier_new(&a, 4, &c));
  ebm_rng rng;
  ebm_rng_init(&rng, 2);
  REQUIRE_OK(ebm_classifier_init(c, &rng));
  const char *path = test_path("clf.safetensors");
  const char *k[1] = {"note"}, *v[1] = {"test"};
  REQUIRE_OK(ebm_classifier_save(c, path, 1, k, v));
  REQUIRE_OK(ebm_classifier_load(path, 7, &d));
  const ebm_classifier_arch *b = ebm_classifier_get_arch(d);
  CHECK(b->channels == 1 && b->height == 8 && b->width == 8 && b->classes == 4 && b->conv_width == 3 &&
        b->features == 5 && b->range_lo == -1.0f && b->range_hi == 1.0f);
  float x[3 * 64], l1[12], l2[12], f1[15], f2[15];
  ebm_rng_uniform(&rng, x, 3 * 64, -1.0f, 1.0f);
  REQUIRE_OK(ebm_classifier_forward(c, x, 3, l1, f1));
  REQUIRE_OK(ebm_classifier_run(d, x, 3, l2, f2));
  CHECK(memcmp(l1, l2, sizeof l1) == 0);
  CHECK(memcmp(f1, f2, sizeof f1) == 0);
  CHECK_FAILS_WITH(ebm_classifier_forward(c, x, 5, l1, NULL), EBM_ERR_ARG, "built for at most 4");
  ebm_classifier_free(d);
  /* an energy network's checkpoint is not a classifier */
  char *arch = NULL;
  REQUIRE_OK(ebm_arch_preset("mlp", 0, 2, &arch));
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(arch, 1, &net));
  free(arch);
  const char *other = test_path("net.safetensors");
  REQUIRE_OK(ebm_net_save(net, other, 0, NULL, NULL));
  ebm_net_free(net);
  CHECK_FAILS_WITH(ebm_classifier_load(other, 4, &d), EBM_ERR_FORMAT, "not an ebm classifier");
  ebm_classifier_free(c);
}

/* 600 Fashion-MNIST images, 3 epochs of a narrow classifier: on 1000
 * other images chance gives 10 % ± 1 %; it must reach 50 %. */
TEST(classifier_trained_on_a_small_subset_beats_chance_by_far) {
  ebm_dataset *train = NULL, *test = NULL;
  REQUIRE_OK(ebm_dataset_load("fashion-mnist:test", 0.0f, 1.0f, &test));
  REQUIRE_OK(ebm_dataset_load("fashion-mnist:test", 0.0f, 1.0f, &train));
  /* the first 600 test images train, the last 1000 test */
  train->x->shape[0] = 600;
  ebm_tensor held;
  REQUIRE_OK(ebm_tensor_view_rows(test->x, 9000, 1000, &held));
  ebm_classifier_arch a = ebm_classifier_arch_for(1, 28, 28, 10, 0.0f, 1.0f);
  a.conv_width = 4;
  a.features = 16;
  ebm_classifier *c = NULL;
  REQUIRE_OK(ebm_classifier_new(&a, 50, &c));
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  REQUIRE_OK(ebm_classifier_init(c, &rng));
  ebm_classifier_train_config cfg = ebm_classifier_train_defaults();
  cfg.epochs = 3;
  cfg.batch = 50;
  cfg.lr = 5e-3f;
  REQUIRE_OK(ebm_classifier_train(c, train, &cfg, NULL, NULL));
  double acc, loss;
  int64_t confusion[100];
  REQUIRE_OK(ebm_classifier_evaluate(c, &held, test->labels + 9000, &acc, &loss, confusion));
  if (getenv("EBM_TEST_VERBOSE")) fprintf(stderr, "    accuracy %.3f, loss %.3f\n", acc, loss);
  CHECK(acc > 0.5);
  int64_t total = 0;
  for (int k = 0; k < 100; k++) total += confusion[k];
  CHECK_EQ_INT(total, 1000);
  ebm_classifier_free(c);
  ebm_dataset_free(train);
  ebm_dataset_free(test);
}

TEST(classifier_training_rejects_unlabelled_data_and_bad_labels) {
  ebm_classifier_arch a = ebm_classifier_arch_for(1, 4, 4, 2, 0.0f, 1.0f);
  ebm_classifier *c = NULL;
  REQUIRE_OK(ebm_classifier_new(&a, 4, &c));
  ebm_tensor *x = ebm_tensor_new4(4, 1, 4, 4);
  int32_t labels[4] = {0, 1, 2, 0};
  ebm_dataset ds = {"fake", x, NULL, 0, 0.0f, 1.0f};
  ebm_classifier_train_config cfg = ebm_classifier_train_defaults();
  cfg.batch = 4;
  CHECK_FAILS_WITH(ebm_classifier_train(c, &ds, &cfg, NULL, NULL), EBM_ERR_ARG, "has no labels");
  ds.labels = labels;
  CHECK_FAILS_WITH(ebm_classifier_train(c, &ds, &cfg, NULL, NULL), EBM_ERR_ARG, "label 2 of item 2 is not in 0..1");
  ebm_tensor *wrong = ebm_tensor_new4(4, 1, 8, 8);
  ds.x = wrong;
  CHECK_FAILS_WITH(ebm_classifier_train(c, &ds, &cfg, NULL, NULL), EBM_ERR_SHAPE, "the classifier takes [1,4,4]");
  ebm_classifier_arch bad = ebm_classifier_arch_for(1, 6, 4, 2, 0.0f, 1.0f);
  ebm_classifier *d = NULL;
  CHECK_FAILS_WITH(ebm_classifier_new(&bad, 4, &d), EBM_ERR_ARG, "multiples of 4");
  ebm_tensor_free(x);
  ebm_tensor_free(wrong);
  ebm_classifier_free(c);
}

/* ------------------------------------------------ conditional energies */

/* 10 items at confidence 0.9 (8 right) and 10 at 0.6 (6 right), 10 bins:
 * ECE = ½·|0.8 − 0.9| + ½·|0.6 − 0.6| = 0.05; accuracy 14/20. */
TEST(calibration_error_matches_a_hand_computed_value) {
  float logits[40];
  int32_t y[20];
  for (int i = 0; i < 20; i++) {
    double p = i < 10 ? 0.9 : 0.6;
    logits[2 * i] = (float)log(p);
    logits[2 * i + 1] = (float)log(1.0 - p);
    int right = i < 10 ? i < 8 : i < 16;
    y[i] = right ? 0 : 1;
  }
  double acc, ece;
  REQUIRE_OK(ebm_calibration(logits, y, 20, 2, 10, &acc, &ece));
  CHECK_NEAR(acc, 0.7, 1e-12);
  CHECK_NEAR(ece, 0.05, 1e-6);
  /* one bin: |0.7 − 0.75| */
  REQUIRE_OK(ebm_calibration(logits, y, 20, 2, 1, &acc, &ece));
  CHECK_NEAR(ece, 0.05, 1e-6);
  CHECK_FAILS_WITH(ebm_calibration(logits, y, 0, 2, 10, &acc, &ece), EBM_ERR_ARG, "need >= 1");
}

/* E(x, y) = ½(x − m_y)² with m = (−1, 2): logits are −E per class. */
static ebm_status two_class_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e, float *g) {
  const int32_t *y = cond ? cond->labels : NULL;
  (void)self;
  (void)g;
  for (int64_t i = 0; i < n; i++) {
    double r = x[i] - (y[i] == 0 ? -1.0 : 2.0);
    e[i] = (float)(0.5 * r * r);
  }
  return EBM_OK;
}

TEST(class_logits_of_a_conditional_energy_are_minus_energies) {
  ebm_energy *en = ebm_energy_alloc();
  REQUIRE(en);
  en->name = "two-class";
  en->item_ndim = 1;
  en->item_shape[0] = 1;
  en->num_classes = 2;
  en->eval = two_class_eval;
  const float x[3] = {-1.0f, 0.4f, 3.0f};
  float z[6];
  REQUIRE_OK(ebm_energy_class_logits(en, x, 3, z));
  for (int i = 0; i < 3; i++) {
    CHECK_NEAR(z[2 * i], -0.5 * (x[i] + 1) * (x[i] + 1), 1e-6);
    CHECK_NEAR(z[2 * i + 1], -0.5 * (x[i] - 2) * (x[i] - 2), 1e-6);
  }
  en->num_classes = 0;
  CHECK_FAILS_WITH(ebm_energy_class_logits(en, x, 3, z), EBM_ERR_ARG, "unconditional");
  ebm_energy_free(en);
}
