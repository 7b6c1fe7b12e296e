/* The feature classifier: a network of nn.h whose passes are checked
 * against finite differences, checkpoints (byte-exact round trip, the first
 * format converted), its features call, training to high accuracy on a toy
 * set and beyond chance on a small Fashion-MNIST subset; conditional EBMs
 * as classifiers and the calibration error. */
#include "io/io_test_util.h"
#include "nn/nn_testutil.h"

/* The classifier's network (1×4×4 inputs, w 2, F 3, K 3): the backward
 * pass from a K-vector output gradient — what training feeds it from the
 * cross-entropy — against finite differences in double. */
TEST(classifier_network_gradients_match_finite_differences) {
  ebm_classifier_arch a = ebm_classifier_arch_for(1, 4, 4, 3, 0.0f, 1.0f);
  a.conv_width = 2;
  a.features = 3;
  ebm_classifier *c = NULL;
  REQUIRE_OK(ebm_classifier_new(&a, 5, &c));
  ebm_rng rng;
  ebm_rng_init(&rng, 4);
  REQUIRE_OK(ebm_classifier_init(c, &rng));
  ebm_net *net = ebm_classifier_net(c);
  CHECK_EQ_INT(ebm_net_param_count(net), 8);
  CHECK(strcmp(ebm_net_param(net, 0)->name, "conv1.weight") == 0);
  CHECK(strcmp(ebm_net_param(net, 7)->name, "fc2.bias") == 0);
  nt_jitter(net, 0.3f, 7); /* livelier activations */
  nt_check_output_input_grad(net, 5, 3);
  nt_check_output_param_grad(net, 5, 3);
  ebm_classifier_free(c);
}

/* The features are the penultimate layer's output: the logits are fc2 of
 * them (recomputed here in double), and forward / run / the nn call agree. */
TEST(classifier_features_are_the_input_of_the_last_layer) {
  ebm_classifier_arch a = ebm_classifier_arch_for(2, 8, 4, 4, -1.0f, 1.0f);
  a.conv_width = 3;
  a.features = 6;
  ebm_classifier *c = NULL;
  REQUIRE_OK(ebm_classifier_new(&a, 3, &c));
  ebm_rng rng;
  ebm_rng_init(&rng, 8);
  REQUIRE_OK(ebm_classifier_init(c, &rng));
  float x[5 * 64], z[5 * 4], f[5 * 6], f2[5 * 6];
  ebm_rng_uniform(&rng, x, 5 * 64, -1.0f, 1.0f);
  REQUIRE_OK(ebm_classifier_run(c, x, 5, z, f)); /* chunks of 3 and 2 */
  ebm_net *net = ebm_classifier_net(c);
  const ebm_param *w = ebm_net_param(net, 6), *b = ebm_net_param(net, 7);
  CHECK(strcmp(w->name, "fc2.weight") == 0 && w->value->shape[0] == 4 && w->value->shape[1] == 6);
  int bad = 0;
  for (int i = 0; i < 5; i++)
    for (int k = 0; k < 4; k++) {
      double s = b->value->data[k];
      for (int j = 0; j < 6; j++) s += (double)w->value->data[k * 6 + j] * f[i * 6 + j];
      bad += fabs(s - z[i * 4 + k]) > 1e-5 * (1 + fabs(s));
    }
  CHECK_EQ_INT(bad, 0);
  /* the last chunk (items 3, 4) is what the network holds now */
  ebm_tensor view;
  REQUIRE_OK(ebm_net_layer_output(net, ebm_net_layer_count(net) - 2, &view));
  CHECK(view.ndim == 2 && view.shape[0] == 2 && view.shape[1] == 6);
  CHECK(memcmp(view.data, f + 3 * 6, 2 * 6 * sizeof(float)) == 0);
  REQUIRE_OK(ebm_classifier_forward(c, x, 3, NULL, f2));
  CHECK(memcmp(f2, f, 3 * 6 * sizeof(float)) == 0);
  CHECK_FAILS_WITH(ebm_classifier_forward(c, x, 4, z, NULL), EBM_ERR_ARG, "built for at most 3");
  ebm_classifier_free(c);
}

/* Save, load, save again: the two files are the same bytes; the loaded
 * classifier gives the same logits and features. */
TEST(classifier_checkpoint_round_trips_byte_exactly) {
  ebm_classifier_arch a = ebm_classifier_arch_for(1, 8, 8, 4, -1.0f, 1.0f);
  a.conv_width = 3;
  a.features = 5;
  ebm_classifier *c = NULL, *d = NULL;
  REQUIRE_OK(ebm_classifier_new(&a, 4, &c));
  ebm_rng rng;
  ebm_rng_init(&rng, 2);
  REQUIRE_OK(ebm_classifier_init(c, &rng));
  const char *path = test_path("clf.safetensors"), *again = test_path("clf2.safetensors");
  const char *k[1] = {"note"}, *v[1] = {"test"};
  REQUIRE_OK(ebm_classifier_save(c, path, 1, k, v));
  REQUIRE_OK(ebm_classifier_load(path, 7, &d));
  REQUIRE_OK(ebm_classifier_save(d, again, 1, k, v));
  size_t n1 = 0, n2 = 0;
  uint8_t *b1 = io_test_slurp(path, &n1), *b2 = io_test_slurp(again, &n2);
  CHECK(n1 == n2 && n1 > 0 && memcmp(b1, b2, n1) == 0);
  free(b1);
  free(b2);
  const ebm_classifier_arch *b = ebm_classifier_get_arch(d);
  CHECK(b->channels == 1 && b->height == 8 && b->width == 8 && b->classes == 4 && b->conv_width == 3 &&
        b->features == 5 && b->range_lo == -1.0f && b->range_hi == 1.0f);
  CHECK_EQ_INT(ebm_classifier_max_batch(d), 7);
  float x[3 * 64], l1[12], l2[12], f1[15], f2[15];
  ebm_rng_uniform(&rng, x, 3 * 64, -1.0f, 1.0f);
  REQUIRE_OK(ebm_classifier_forward(c, x, 3, l1, f1));
  REQUIRE_OK(ebm_classifier_forward(d, x, 3, l2, f2));
  CHECK(memcmp(l1, l2, sizeof l1) == 0);
  CHECK(memcmp(f1, f2, sizeof f1) == 0);
  /* it is an ordinary network checkpoint, marked as a classifier */
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(path, &st));
  CHECK(strcmp(ebm_safetensors_meta(st, "kind"), EBM_CLASSIFIER_KIND) == 0);
  CHECK(strcmp(ebm_safetensors_meta(st, "note"), "test") == 0);
  ebm_safetensors_free(st);
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_load(path, 3, &net));
  float l3[12];
  REQUIRE_OK(ebm_net_forward(net, x, NULL, 3, l3));
  CHECK(memcmp(l1, l3, sizeof l1) == 0);
  ebm_net_free(net);
  const char *kk[1] = {"kind"};
  CHECK_FAILS_WITH(ebm_classifier_save(c, again, 1, kk, v), EBM_ERR_ARG, "'kind' is reserved");
  ebm_classifier_free(d);
  ebm_classifier_free(c);
}

TEST(classifier_load_rejects_networks_that_are_not_classifiers) {
  char *arch = NULL;
  REQUIRE_OK(ebm_arch_preset("mlp", 0, 2, &arch));
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(arch, 1, &net));
  free(arch);
  const char *other = test_path("net.safetensors");
  REQUIRE_OK(ebm_net_save(net, other, 0, NULL, NULL));
  ebm_classifier *d = NULL;
  CHECK_FAILS_WITH(ebm_classifier_load(other, 4, &d), EBM_ERR_FORMAT, "not an ebm classifier (metadata kind '(none)'");
  /* marked as a classifier, but an energy on vectors */
  const char *k[1] = {"kind"}, *v[1] = {EBM_CLASSIFIER_KIND};
  REQUIRE_OK(ebm_net_save(net, other, 1, k, v));
  CHECK_FAILS_WITH(ebm_classifier_load(other, 4, &d), EBM_ERR_FORMAT, "not a classifier network");
  ebm_net_free(net);
}

/* A file of the first classifier format (its own "arch" JSON, the same
 * tensors) loads as the network it describes, with the same outputs. */
TEST(classifier_of_the_first_format_is_converted_on_load) {
  ebm_classifier_arch a = ebm_classifier_arch_for(1, 4, 8, 3, 0.0f, 1.0f);
  a.conv_width = 2;
  a.features = 4;
  ebm_classifier *c = NULL, *d = NULL;
  REQUIRE_OK(ebm_classifier_new(&a, 2, &c));
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  REQUIRE_OK(ebm_classifier_init(c, &rng));
  ebm_net *net = ebm_classifier_net(c);
  const char *path = test_path("old.safetensors");
  const char *archs[2] = {
      "{\"input\": [1, 4, 8], \"classes\": 3, \"conv_width\": 2, \"features\": 4, \"range\": [0, 1]}",
      "{\"input\": [1, 4], \"classes\": 3, \"conv_width\": 2, \"features\": 4, \"range\": [0, 1]}"};
  for (int t = 0; t < 2; t++) {
    ebm_st_writer *w = ebm_st_writer_new();
    REQUIRE(w);
    for (int i = 0; i < ebm_net_param_count(net); i++) {
      const ebm_param *p = ebm_net_param(net, i);
      REQUIRE_OK(ebm_st_writer_add_f32(w, p->name, p->value->ndim, p->value->shape, p->value->data));
    }
    REQUIRE_OK(ebm_st_writer_meta(w, "format", EBM_CLASSIFIER_FORMAT_V1));
    REQUIRE_OK(ebm_st_writer_meta(w, "arch", archs[t]));
    REQUIRE_OK(ebm_st_writer_save(w, path));
    ebm_st_writer_free(w);
    if (t == 1) {
      CHECK_FAILS_WITH(ebm_classifier_load(path, 2, &d), EBM_ERR_FORMAT, "'arch' (format ebm-classifier-1) is malformed");
      break;
    }
    REQUIRE_OK(ebm_classifier_load(path, 2, &d));
    float x[2 * 32], l1[6], l2[6];
    ebm_rng_uniform(&rng, x, 2 * 32, 0.0f, 1.0f);
    REQUIRE_OK(ebm_classifier_forward(c, x, 2, l1, NULL));
    REQUIRE_OK(ebm_classifier_forward(d, x, 2, l2, NULL));
    CHECK(memcmp(l1, l2, sizeof l1) == 0);
    CHECK(ebm_classifier_get_arch(d)->features == 4 && ebm_classifier_get_arch(d)->conv_width == 2);
    ebm_classifier_free(d);
  }
  ebm_classifier_free(c);
}

/* Files of both formats written by `ebm classifier train --n 64 --epochs 1
 * --width 1 --features 2 --batch 32`: the first by the hand-wired code this
 * library replaced, the second by the network library (the fuzz seeds). */
TEST(classifier_files_written_before_and_after_the_network_library_load) {
  const char *names[2] = {"first-format", "current"};
  float x[784], z[2][10];
  for (int i = 0; i < 784; i++) x[i] = (float)(i % 29) / 28.0f;
  for (int t = 0; t < 2; t++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/io/seeds/classifier/%s.safetensors", EBM_SOURCE_DIR, names[t]);
    ebm_classifier *c = NULL;
    REQUIRE_OK(ebm_classifier_load(path, 1, &c));
    const ebm_classifier_arch *a = ebm_classifier_get_arch(c);
    CHECK(a->channels == 1 && a->height == 28 && a->width == 28 && a->classes == 10 && a->conv_width == 1 &&
          a->features == 2 && a->range_lo == 0.0f && a->range_hi == 1.0f);
    REQUIRE_OK(ebm_classifier_forward(c, x, 1, z[t], NULL));
    ebm_classifier_free(c);
  }
  /* the same two training steps from the same initialisation: Adam's float
   * rounding aside, the same logits */
  for (int k = 0; k < 10; k++) CHECK_NEAR(z[0][k], z[1][k], 1e-3);
}

/* A toy labelled set: 8×8 images, class k = a bright 4×4 quadrant k on
 * U(0, 0.5) noise. 400 items, 4 epochs: on 200 fresh items chance is 25 %;
 * the library's training must get at least 95 % right. */
TEST(classifier_trained_on_a_toy_set_reaches_high_accuracy) {
  const int64_t n_train = 400, n_test = 200, n = n_train + n_test;
  ebm_tensor *x = ebm_tensor_new4(n, 1, 8, 8);
  int32_t *y = malloc((size_t)n * sizeof *y);
  REQUIRE(x && y);
  ebm_rng rng;
  ebm_rng_init(&rng, 11);
  ebm_rng_uniform(&rng, x->data, n * 64, 0.0f, 0.5f);
  for (int64_t i = 0; i < n; i++) {
    y[i] = (int32_t)(ebm_rng_u32(&rng) % 4);
    for (int r = 0; r < 4; r++)
      for (int q = 0; q < 4; q++) x->data[i * 64 + (r + 4 * (y[i] / 2)) * 8 + q + 4 * (y[i] % 2)] += 0.5f;
  }
  ebm_tensor train = *x, test;
  train.shape[0] = n_train;
  REQUIRE_OK(ebm_tensor_view_rows(x, n_train, n_test, &test));
  ebm_dataset ds = {"toy quadrants", &train, y, 4, 0.0f, 1.0f, 0};
  ebm_classifier_arch a = ebm_classifier_arch_for(1, 8, 8, 4, 0.0f, 1.0f);
  a.conv_width = 4;
  a.features = 8;
  ebm_classifier *c = NULL;
  REQUIRE_OK(ebm_classifier_new(&a, 20, &c));
  REQUIRE_OK(ebm_classifier_init(c, &rng));
  double acc0, loss0, acc, loss;
  REQUIRE_OK(ebm_classifier_evaluate(c, &test, y + n_train, &acc0, &loss0, NULL));
  ebm_classifier_train_config cfg = ebm_classifier_train_defaults();
  cfg.epochs = 4;
  cfg.batch = 20;
  REQUIRE_OK(ebm_classifier_train(c, &ds, &cfg, NULL, NULL));
  int64_t confusion[16];
  REQUIRE_OK(ebm_classifier_evaluate(c, &test, y + n_train, &acc, &loss, confusion));
  if (getenv("EBM_TEST_VERBOSE")) fprintf(stderr, "    accuracy %.3f -> %.3f, loss %.3f -> %.3f\n", acc0, acc, loss0, loss);
  CHECK(acc >= 0.95);
  CHECK(loss < 0.5 * loss0);
  int64_t total = 0, diag = 0;
  for (int k = 0; k < 16; k++) total += confusion[k];
  for (int k = 0; k < 4; k++) diag += confusion[k * 5];
  CHECK_EQ_INT(total, n_test);
  CHECK_EQ_INT(diag, (int64_t)llround(acc * (double)n_test));
  ebm_classifier_free(c);
  ebm_tensor_free(x);
  free(y);
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
  REQUIRE_OK(ebm_classifier_evaluate(c, &held, test->labels + 9000, &acc, &loss, NULL));
  if (getenv("EBM_TEST_VERBOSE")) fprintf(stderr, "    accuracy %.3f, loss %.3f\n", acc, loss);
  CHECK(acc > 0.5);
  ebm_classifier_free(c);
  ebm_dataset_free(train);
  ebm_dataset_free(test);
}

TEST(classifier_training_rejects_unlabelled_data_bad_labels_and_bad_betas) {
  ebm_classifier_arch a = ebm_classifier_arch_for(1, 4, 4, 2, 0.0f, 1.0f);
  ebm_classifier *c = NULL;
  REQUIRE_OK(ebm_classifier_new(&a, 4, &c));
  ebm_tensor *x = ebm_tensor_new4(4, 1, 4, 4);
  int32_t labels[4] = {0, 1, 2, 0};
  ebm_dataset ds = {"fake", x, NULL, 0, 0.0f, 1.0f, 0};
  ebm_classifier_train_config cfg = ebm_classifier_train_defaults();
  cfg.batch = 4;
  CHECK_FAILS_WITH(ebm_classifier_train(c, &ds, &cfg, NULL, NULL), EBM_ERR_ARG, "has no labels");
  ds.labels = labels;
  CHECK_FAILS_WITH(ebm_classifier_train(c, &ds, &cfg, NULL, NULL), EBM_ERR_ARG, "label 2 of item 2 is not in 0..1");
  labels[2] = 1;
  cfg.beta2 = 1.0f;
  CHECK_FAILS_WITH(ebm_classifier_train(c, &ds, &cfg, NULL, NULL), EBM_ERR_ARG, "betas in [0, 1)");
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
