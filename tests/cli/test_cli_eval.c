/* `ebm eval ...` and `ebm classifier ...`: results against known answers,
 * the files they write, and every flag check a user can hit. */
#include <cjson/cJSON.h>

#include "test_util.h"

/* Exit code and, when `needle` is not NULL, a piece of stderr. */
static void expect(cli_result r, int code, const char *needle) {
  CHECK_EQ_INT(r.code, code);
  if (needle) CHECK_CONTAINS(r.err, needle);
  if (r.code != code) fprintf(stderr, "    stdout: %s\n    stderr: %s\n", r.out, r.err);
  cli_result_free(&r);
}

/* Parses a JSON file written by the CLI (REQUIREs success); cJSON_Delete it. */
static cJSON *load_json(const char *path) {
  uint8_t *buf = NULL;
  size_t size = 0;
  REQUIRE_OK(ebm_read_file(path, 1 << 24, &buf, &size));
  cJSON *j = cJSON_ParseWithLength((const char *)buf, size);
  free(buf);
  REQUIRE(j);
  return j;
}

static double json_num(const cJSON *j, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  if (!cJSON_IsNumber(v)) {
    test_fail_at(__FILE__, __LINE__, "JSON has no number '%s'", key);
    return NAN;
  }
  return v->valuedouble;
}

static void png_size(const char *path, int *w, int *h) {
  int c;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(path, w, h, &c, &px));
  free(px);
}

/* ------------------------------------------------------------- eval ais */

/* N(0, I₂) from a Gaussian base N(0, 2²): the estimate is within 3 se of
 * log Z = log 2π, and the JSON and PNG are written. */
TEST(cli_eval_ais_gaussian_log_z_is_within_3_se_of_the_exact_value) {
  const char *json = test_path("ais.json"), *png = test_path("ais.png");
  cli_result r = run_cli("eval ais --energy gaussian:2 --chains 300 --steps 100 --seed 4 --json %s --png %s", json, png);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "log Z, AIS (stochastic lower bound)");
  CHECK_CONTAINS(r.out, "log Z, exact");
  cli_result_free(&r);
  cJSON *j = load_json(json);
  double est = json_num(j, "log_z_ais"), se = json_num(j, "log_z_ais_se"), exact = json_num(j, "log_z_exact");
  CHECK_NEAR(exact, log(2.0 * 3.14159265358979323846), 1e-9);
  CHECK(se > 0.0 && se < 0.05);
  CHECK_NEAR(est, exact, 3.0 * se);
  cJSON_Delete(j);
  int w, h;
  png_size(png, &w, &h);
  CHECK(w == 560 && h == 230);
}

/* At temperature T = 0.25, exp(−E/T) of N(0, I₂) is N(0, T·I₂): log Z_T = log 2πT. */
TEST(cli_eval_ais_at_a_temperature_estimates_log_z_of_exp_minus_e_over_t) {
  const char *json = test_path("ais.json");
  cli_result r = run_cli("eval ais --energy gaussian:2 --temperature 0.25 --chains 300 --steps 100 --seed 5 --json %s", json);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "T = 0.25");
  cli_result_free(&r);
  cJSON *j = load_json(json);
  double exact = log(2.0 * 3.14159265358979323846 * 0.25);
  CHECK_NEAR(json_num(j, "log_z_exact"), exact, 1e-9);
  CHECK_NEAR(json_num(j, "log_z_ais"), exact, 3.0 * json_num(j, "log_z_ais_se"));
  CHECK(json_num(j, "log_z_ais_se") < 0.05);
  cJSON_Delete(j);
}

/* A toy with its own test data: both directions, and the log-likelihood
 * sandwich equals −mean E − log Z for each (log Z ≈ 0: ll ≈ −mean E). */
TEST(cli_eval_ais_toy_with_data_prints_the_likelihood_sandwich) {
  const char *json = test_path("ais.json");
  cli_result r = run_cli("eval ais --energy toy:rings --data toy:rings:test --base uniform --chains 400 --steps 100 "
                         "--reverse 200 --seed 2 --json %s", json);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "log Z, reverse AIS from 200 data items");
  CHECK_CONTAINS(r.out, "log-likelihood (nats)");
  CHECK_CONTAINS(r.out, "bits/dim");
  cli_result_free(&r);
  cJSON *j = load_json(json);
  double mean_e = json_num(j, "mean_energy_over_t");
  double fwd = json_num(j, "log_z_ais"), rev = json_num(j, "log_z_reverse");
  CHECK_NEAR(fwd, 0.0, 0.1);
  CHECK_NEAR(rev, 0.0, 0.1);
  CHECK_NEAR(json_num(j, "ll_upper_nats"), -mean_e - fwd, 1e-9);
  CHECK_NEAR(json_num(j, "ll_lower_nats"), -mean_e - rev, 1e-9);
  CHECK_NEAR(json_num(j, "bpd_lower"), (mean_e + fwd) / (2.0 * log(2.0)), 1e-9);
  cJSON_Delete(j);
}

/* An untrained network is nearly flat on its box: from the uniform base,
 * log Z = D·log(hi − lo) − E to within the tiny spread of its energy. */
TEST(cli_eval_ais_on_a_checkpoint_matches_a_flat_network) {
  const char *m = test_path("m.safetensors"), *json = test_path("ais.json");
  expect(run_cli("init --arch mlp --in-dim 2 --width 8 --depth 1 --seed 1 --out %s", m), 0, NULL);
  cli_result r = run_cli("eval ais --ckpt %s --base uniform --chains 200 --steps 50 --json %s", m, json);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "uniform base on [-4, 4]^2");
  cli_result_free(&r);
  cJSON *j = load_json(json);
  double est = json_num(j, "log_z_ais"), se = json_num(j, "log_z_ais_se");
  CHECK_NEAR(json_num(j, "log_z_base"), 2.0 * log(8.0), 1e-9);
  CHECK(se < 0.05);
  cJSON_Delete(j);
  /* the brute-force answer: log of the mean of exp(−E) over a 200² grid of the box, times 64 */
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_load(m, 1000, &net));
  float xy[2000], e[1000];
  double acc = 0.0;
  for (int row = 0; row < 200; row++) {
    for (int c = 0; c < 200; c++) {
      int k = (row * 200 + c) % 1000;
      xy[2 * k] = -4.0f + 8.0f * ((float)c + 0.5f) / 200.0f;
      xy[2 * k + 1] = -4.0f + 8.0f * ((float)row + 0.5f) / 200.0f;
      if (k == 999) {
        REQUIRE_OK(ebm_net_energy(net, xy, NULL, 1000, e));
        for (int i = 0; i < 1000; i++) acc += exp(-(double)e[i]);
      }
    }
  }
  ebm_net_free(net);
  double grid = log(64.0 * acc / 40000.0);
  CHECK_NEAR(est, grid, 3.0 * se + 1e-3);
}

TEST(cli_eval_ais_checks_its_flags) {
  expect(run_cli("eval ais --energy gaussian:2 --chains 0"), 2, "--chains must be in 1..");
  expect(run_cli("eval ais --energy gaussian:2 --steps -3"), 2, "--steps must be in 1..");
  expect(run_cli("eval ais --energy gaussian:2 --sampler langevin"), 2, "--sampler must be mala or hmc");
  expect(run_cli("eval ais --energy gaussian:2 --base flat"), 2, "--base must be uniform or gaussian");
  expect(run_cli("eval ais --energy gaussian:2 --schedule cosine"), 2, "--schedule must be sigmoid or linear");
  expect(run_cli("eval ais --energy gaussian:2 --coords polar"), 2, "--coords must be logit or x");
  expect(run_cli("eval ais --energy gaussian:2 --temperature 0"), 2, "--temperature must be > 0");
  expect(run_cli("eval ais --energy gaussian:2 --step-size -1"), 2, "--step-size must be >= 0");
  expect(run_cli("eval ais --energy gaussian:2 --target-accept 1.5"), 2, "--target-accept must be in [0, 1)");
  expect(run_cli("eval ais --energy gaussian:2 --reverse 10"), 2, "--reverse needs --data");
  expect(run_cli("eval ais --energy gaussian:0"), 2, "gaussian:D needs a dimension");
  expect(run_cli("eval ais --energy toy:checkerboard"), 2, "checkerboard toy has no usable energy");
  expect(run_cli("eval ais"), 2, "exactly one of --ckpt CKPT or --energy SPEC");
  expect(run_cli("eval ais --energy toy:rings --data nonsense:1"), 2, "--data");
  expect(run_cli("eval ais --energy gaussian:3 --data toy:rings"), 1, "items are [2], but gaussian:3 takes [3]");
  expect(run_cli("eval ais --ckpt %s", test_path("missing.safetensors")), 1, "missing.safetensors");
}

/* ------------------------------------------------------------- eval ood */

/* A small image model: 1×4×4 inputs in [0, 1], conv + swish + linear. */
static const char *small_image_model(void) {
  const char *arch = test_path("arch.json"), *m = test_path("img.safetensors");
  const char *json = "{\"input\": [1, 4, 4], \"range\": [0, 1], \"layers\": ["
                     "{\"type\": \"conv2d\", \"name\": \"c\", \"out\": 4, \"kernel\": 3, \"stride\": 1, \"pad\": 1},"
                     "{\"type\": \"swish\"}, {\"type\": \"flatten\"},"
                     "{\"type\": \"linear\", \"name\": \"fc\", \"out\": 1}]}";
  test_write_file(arch, json, strlen(json));
  expect(run_cli("init --arch-json %s --seed 3 --out %s", arch, m), 0, NULL);
  return m;
}

/* 40 random 1×4×4 images in [0, 1] as npy. */
static const char *small_images(void) {
  static float px[40 * 16];
  ebm_rng rng;
  ebm_rng_init(&rng, 9);
  ebm_rng_uniform(&rng, px, 40 * 16, 0.0f, 1.0f);
  const char *path = test_path("imgs.npy");
  const int64_t shape[4] = {40, 1, 4, 4};
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, 4, shape, px));
  return path;
}

static const cJSON *result_at(const cJSON *j, int index) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "results");
  REQUIRE(cJSON_IsArray(arr));
  const cJSON *o = cJSON_GetArrayItem(arr, index);
  REQUIRE(o);
  return o;
}

/* The same set as in- and out-of-distribution gives AUROC exactly ½; the
 * inverted set's metrics equal the library's on the same items. */
TEST(cli_eval_ood_gives_half_for_the_same_set_and_matches_the_library) {
  const char *m = small_image_model(), *npy = small_images(), *json = test_path("ood.json"), *png = test_path("ood.png");
  cli_result r = run_cli("eval ood --ckpt %s --in npy:%s --ood npy:%s,invert:npy:%s,noise:uniform --n 100 --json %s --png %s",
                         m, npy, npy, npy, json, png);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "AUROC");
  CHECK_CONTAINS(r.out, "noise:uniform");
  cli_result_free(&r);
  cJSON *j = load_json(json);
  CHECK_NEAR(json_num(j, "n_in"), 40, 0);
  for (int k = 0; k < 2; k++) CHECK_NEAR(json_num(result_at(j, k), "auroc"), 0.5, 1e-12);
  CHECK_NEAR(json_num(result_at(j, 4), "n"), 100, 0); /* noise: --n items */
  /* the library on the inverted images */
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_load(m, 64, &net));
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  ebm_npy a;
  REQUIRE_OK(ebm_npy_load(npy, &a));
  float inv[40 * 16];
  for (int k = 0; k < 40 * 16; k++) inv[k] = 1.0f - ((const float *)a.data)[k];
  double se_in[40], sg_in[40], se_out[40], sg_out[40];
  REQUIRE_OK(ebm_ood_scores(en, a.data, 40, se_in, sg_in, NULL));
  REQUIRE_OK(ebm_ood_scores(en, inv, 40, se_out, sg_out, NULL));
  ebm_ood_metrics me, mg;
  REQUIRE_OK(ebm_ood_metrics_compute(se_in, 40, se_out, 40, &me));
  REQUIRE_OK(ebm_ood_metrics_compute(sg_in, 40, sg_out, 40, &mg));
  CHECK_NEAR(json_num(result_at(j, 2), "auroc"), me.auroc, 1e-12);
  CHECK_NEAR(json_num(result_at(j, 2), "fpr95"), me.fpr95, 1e-12);
  CHECK_NEAR(json_num(result_at(j, 3), "auroc"), mg.auroc, 1e-12);
  CHECK_NEAR(json_num(result_at(j, 3), "aupr_out"), mg.aupr_out, 1e-12);
  ebm_npy_free(&a);
  ebm_energy_free(en);
  ebm_net_free(net);
  cJSON_Delete(j);
  int w, h;
  png_size(png, &w, &h);
  CHECK(w == 560 && h == 6 * 230);
}

TEST(cli_eval_ood_checks_its_flags) {
  const char *m = small_image_model();
  expect(run_cli("eval ood --in toy:rings"), 2, "--ckpt CKPT is required");
  expect(run_cli("eval ood --ckpt %s", m), 2, "--in SPEC is required");
  expect(run_cli("eval ood --ckpt %s --in noise:uniform --score mass", m), 2, "--score must be energy, grad-norm, max-prob, both or all");
  expect(run_cli("eval ood --ckpt %s --in noise:uniform --score max-prob", m), 2, "has no classes, so no max p(y|x)");
  expect(run_cli("eval ood --ckpt %s --in noise:uniform --n 0", m), 2, "--n must be in 1..");
  expect(run_cli("eval ood --ckpt %s --in noise:uniform --ood noise:pink", m), 2, "unknown OOD set 'noise:pink'");
  expect(run_cli("eval ood --ckpt %s --in toy:rings", m), 1, "items are [2], the model takes [1,4,4]");
  expect(run_cli("eval ood --ckpt %s --in noise:uniform", test_path("none.safetensors")), 1, "none.safetensors");
}

/* ------------------------------------------------ classifier, eval fid */

/* n Fashion-MNIST test images (from the front) as an npy in [lo, hi]. */
static const char *fashion_npy(const char *name, int64_t n, float lo, float hi) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("fashion-mnist:test", lo, hi, &ds));
  const int64_t shape[4] = {n, 1, 28, 28};
  const char *path = test_path(name);
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, 4, shape, ds->x->data));
  ebm_dataset_free(ds);
  return path;
}

/* The last 1000 Fashion-MNIST test images and their labels as an npy
 * spec "npy:X.npy,Y.npy" (a held-out set cheap enough for ASan). */
static const char *held_out_spec(void) {
  static char spec[1200];
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("fashion-mnist:test", 0.0f, 1.0f, &ds));
  const int64_t shape[4] = {1000, 1, 28, 28}, lshape[1] = {1000};
  const char *x = test_path("held_x.npy"), *y = test_path("held_y.npy");
  REQUIRE_OK(ebm_npy_save(x, EBM_DTYPE_F32, 4, shape, ds->x->data + 9000 * 784));
  REQUIRE_OK(ebm_npy_save(y, EBM_DTYPE_I32, 1, lshape, ds->labels + 9000));
  snprintf(spec, sizeof spec, "npy:%s,%s", x, y);
  ebm_dataset_free(ds);
  return spec;
}

/* A narrow classifier trained briefly on 500 images (enough for features). */
static const char *tiny_classifier(const char *test) {
  const char *clf = test_path("clf.safetensors");
  cli_result r = run_cli("classifier train --data fashion-mnist:train --n 500 --epochs 3 --width 4 --features 16 "
                         "--batch 25 --lr 5e-3 --test %s --out %s", test, clf);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "classifier train: 500 items of fashion-mnist:train, 3 epochs");
  CHECK_CONTAINS(r.out, ": accuracy");
  cli_result_free(&r);
  return clf;
}

TEST(cli_classifier_train_and_eval_agree_on_the_accuracy) {
  const char *test = held_out_spec(), *clf = tiny_classifier(test);
  cli_result r = run_cli("classifier eval --classifier %s --data %s --confusion", clf, test);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "on 1000 items of npy:");
  CHECK_CONTAINS(r.out, "per class: 0:");
  const char *at = r.out ? strstr(r.out, "accuracy ") : NULL;
  REQUIRE(at);
  double printed = atof(at + 9);
  cli_result_free(&r);
  /* train wrote the same held-out accuracy into the metadata */
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(clf, &st));
  const char *acc = ebm_safetensors_meta(st, "test_accuracy");
  REQUIRE(acc);
  CHECK_NEAR(atof(acc), printed, 1e-4);
  CHECK(atof(acc) > 0.4); /* 500 images, three passes: far from the 0.1 ± 0.01 of chance */
  ebm_safetensors_free(st);
  /* an ordinary network checkpoint: ebm info shows its layers */
  r = run_cli("info %s", clf);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "input 1x28x28, output 10, range [0, 1]");
  CHECK_CONTAINS(r.out, "fc1");
  CHECK_CONTAINS(r.out, "kind: classifier");
  cli_result_free(&r);
}

/* eval inpaint on a fresh uva-cnn (random energy: the numbers are only
 * checked for their form, and the floor and ceiling for their sense; the
 * library test checks a fill that restores classes): the three accuracies,
 * the JSON, the picture; bad input named before the data load. */
TEST(cli_eval_inpaint_reports_ceiling_floor_and_fill) {
  const char *clf = tiny_classifier(held_out_spec()), *m = test_path("m.safetensors");
  const char *json = test_path("inpaint.json"), *png = test_path("inpaint.png");
  expect(run_cli("init --arch uva-cnn --seed 1 --out %s", m), 0, NULL);
  cli_result r = run_cli("eval inpaint --ckpt %s --data fashion-mnist:test --classifier %s --n 40 --steps 3 --seed 2 "
                         "--json %s --png %s", m, clf, json, png);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "on 40 images of fashion-mnist:test, mask bottom-half, start uniform, langevin 3 steps");
  CHECK_CONTAINS(r.out, "class kept (");
  CHECK_CONTAINS(r.out, "masked MSE to the originals: noise start ");
  cli_result_free(&r);
  cJSON *j = load_json(json);
  CHECK_EQ_INT((int)json_num(j, "n"), 40);
  CHECK(json_num(j, "accuracy_original") > json_num(j, "accuracy_start")); /* the top half alone loses classes */
  CHECK(json_num(j, "accuracy_filled") >= 0.0 && json_num(j, "accuracy_filled") <= 1.0);
  CHECK(json_num(j, "mse_start") > 0.0);
  cJSON_Delete(j);
  int w = 0, h = 0, c = 0;
  uint8_t *pixels = NULL;
  REQUIRE_OK(ebm_png_read(png, &w, &h, &c, &pixels));
  CHECK(h > 3 * 28 && h < w); /* three rows of 16 images */
  free(pixels);
  expect(run_cli("eval inpaint --ckpt %s --data fashion-mnist:test --classifier %s --mask top-half", m, clf), 2,
         "--mask pattern:top-half: patterns are right-half, bottom-half, center, random:P");
  expect(run_cli("eval inpaint --ckpt %s --data fashion-mnist:test", m), 2, "--classifier are required");
  expect(run_cli("eval inpaint --ckpt %s --data fashion-mnist:test --classifier %s --n -1", m, clf), 2,
         "--n must be >= 0");
  expect(run_cli("eval inpaint --ckpt %s --data fashion-mnist:test --classifier %s", m, m), 1, NULL);
}

/* The reference against itself: FD 0 (to rounding) and KID ≈ 0; samples
 * given in [-1, 1] with --range -1,1 measure the same as in [0, 1]; noise
 * is far away. */
TEST(cli_eval_fid_is_zero_for_the_reference_itself_and_large_for_noise) {
  const char *clf = tiny_classifier(held_out_spec()), *json = test_path("fid.json");
  const char *same = fashion_npy("same.npy", 500, 0.0f, 1.0f), *wide = fashion_npy("wide.npy", 500, -1.0f, 1.0f);
  cli_result r = run_cli("eval fid --samples %s --ref npy:%s --classifier %s --kid-subset-size 200 --kid-subsets 10 --json %s",
                         same, same, clf, json);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "FD ");
  CHECK_CONTAINS(r.out, "KID ");
  cli_result_free(&r);
  cJSON *j = load_json(json);
  CHECK_NEAR(json_num(j, "fd"), 0.0, 1e-6);
  double kid_std = json_num(j, "kid_std");
  CHECK_NEAR(json_num(j, "kid"), 0.0, 3.0 * kid_std + 1e-12);
  cJSON_Delete(j);
  r = run_cli("eval fid --samples %s --range -1,1 --ref npy:%s --classifier %s --kid-subsets 3 --json %s", wide, same,
              clf, json);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  j = load_json(json);
  CHECK_NEAR(json_num(j, "fd"), 0.0, 1e-4);
  cJSON_Delete(j);
  r = run_cli("eval fid --samples %s --ref noise:uniform --n 500 --classifier %s --kid-subsets 3 --json %s", same, clf, json);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  j = load_json(json);
  CHECK(json_num(j, "fd") > 0.01);
  CHECK(json_num(j, "kid") > 0.0);
  CHECK_NEAR(json_num(j, "n_ref"), 500, 0);
  cJSON_Delete(j);
}

TEST(cli_classifier_and_eval_fid_check_their_flags) {
  const char *clf = test_path("clf.safetensors"), *npy = fashion_npy("s.npy", 10, 0.0f, 1.0f);
  expect(run_cli("classifier train --data fashion-mnist:train"), 2, "--out CLF.safetensors is required");
  expect(run_cli("classifier train --out %s --epochs 0", clf), 2, "--epochs must be >= 1");
  expect(run_cli("classifier train --out %s --batch 0", clf), 2, "--batch must be in 1..");
  expect(run_cli("classifier train --out %s --lr -1", clf), 2, "--lr must be > 0");
  expect(run_cli("classifier train --out %s --beta1 1", clf), 2, "--beta1 must be in [0, 1), got 1");
  expect(run_cli("classifier train --out %s --beta2 -0.5", clf), 2, "--beta2 must be in [0, 1), got -0.5");
  expect(run_cli("classifier train --out %s --range 1,0", clf), 2, "--range expects LO,HI");
  expect(run_cli("classifier train --out %s --data toy:rings", clf), 2, "need labelled images");
  expect(run_cli("classifier eval"), 2, "--classifier CLF.safetensors is required");
  expect(run_cli("classifier eval --classifier %s", test_path("none.safetensors")), 1, "none.safetensors");
  expect(run_cli("eval fid --classifier %s", clf), 2, "--samples S.npy is required");
  expect(run_cli("eval fid --samples %s", npy), 2, "--classifier CLF.safetensors is required");
  expect(run_cli("eval fid --samples %s --classifier %s --kid-subsets 0", npy, clf), 2, "--kid-subsets must be >= 1");
  expect(run_cli("eval fid --samples %s --classifier %s --range 2", npy, clf), 2, "--range expects LO,HI");
  /* a checkpoint that is not a classifier */
  const char *m = test_path("m.safetensors");
  expect(run_cli("init --arch mlp --out %s", m), 0, NULL);
  expect(run_cli("eval fid --samples %s --classifier %s", npy, m), 1, "not an ebm classifier");
}

/* ------------------------------------------------------- eval classify */

/* An untrained conditional mlp on the 8gaussians labels: the CLI's accuracy
 * and ECE equal the library's on the same (all) items. */
TEST(cli_eval_classify_matches_the_library_on_a_conditional_model) {
  const char *m = test_path("cond.safetensors"), *json = test_path("cls.json");
  expect(run_cli("init --arch mlp --in-dim 2 --classes 8 --width 16 --depth 1 --seed 5 --out %s", m), 0, NULL);
  cli_result r = run_cli("eval classify --ckpt %s --data toy:8gaussians:test --bins 10 --json %s", m, json);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "accuracy of argmin_y E(x, y)");
  CHECK_CONTAINS(r.out, "expected calibration error");
  cli_result_free(&r);
  cJSON *j = load_json(json);
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_load(m, 256, &net));
  ebm_energy *en = ebm_net_as_energy(net);
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:test", 0.0f, 1.0f, &ds));
  const int64_t n = ds->x->shape[0];
  float *logits = malloc((size_t)n * 8 * sizeof *logits);
  REQUIRE(logits);
  REQUIRE_OK(ebm_energy_class_logits(en, ds->x->data, n, logits));
  double acc, ece;
  REQUIRE_OK(ebm_calibration(logits, ds->labels, n, 8, 10, &acc, &ece));
  CHECK_NEAR(json_num(j, "n"), (double)n, 0);
  CHECK_NEAR(json_num(j, "accuracy"), acc, 1e-12);
  CHECK_NEAR(json_num(j, "ece"), ece, 1e-12);
  free(logits);
  ebm_dataset_free(ds);
  ebm_energy_free(en);
  ebm_net_free(net);
  cJSON_Delete(j);
}

TEST(cli_eval_classify_checks_its_flags) {
  const char *m = test_path("m.safetensors"), *c = test_path("c.safetensors");
  expect(run_cli("init --arch mlp --out %s", m), 0, NULL);
  expect(run_cli("init --arch mlp --classes 3 --out %s", c), 0, NULL);
  expect(run_cli("eval classify --data toy:rings"), 2, "--ckpt CKPT is required");
  expect(run_cli("eval classify --ckpt %s", c), 2, "--data SPEC is required");
  expect(run_cli("eval classify --ckpt %s --data toy:rings --bins 0", c), 2, "--bins must be in 1..1000");
  expect(run_cli("eval classify --ckpt %s --data toy:rings", m), 1, "is unconditional");
  expect(run_cli("eval classify --ckpt %s --data toy:rings:test", c), 1, "label 3 of item");
  expect(run_cli("eval classify --ckpt %s --data bogus", c), 2, "--data");
}

/* `ebm eval kale`: one line with the estimate and its standard error, the
 * JSON file, and two sets of other item shapes refused naming both. */
TEST(cli_eval_kale_prints_the_bound_and_refuses_mismatched_shapes) {
  enum { N = 400 };
  float *x = malloc(2 * N * 2 * sizeof *x);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  ebm_rng_normal(&rng, x, 2 * N * 2, 0.0f, 1.0f);
  const char *a = test_path("a.npy"), *b = test_path("b.npy"), *c = test_path("c.npy"), *j = test_path("k.json");
  const int64_t shape[2] = {N, 2}, other[2] = {N / 2, 4};
  REQUIRE_OK(ebm_npy_save(a, EBM_DTYPE_F32, 2, shape, x));
  REQUIRE_OK(ebm_npy_save(b, EBM_DTYPE_F32, 2, shape, x + N * 2));
  REQUIRE_OK(ebm_npy_save(c, EBM_DTYPE_F32, 2, other, x));
  cli_result r = run_cli("eval kale --samples %s --ref %s --iters 50 --json %s", a, b, j);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "KALE(ref || samples) ");
  CHECK_CONTAINS(r.out, "held out: 200 samples");
  cli_result_free(&r);
  char *json = test_read_text(j);
  REQUIRE(json);
  CHECK(strstr(json, "\"kale\":") && strstr(json, "\"std_error\":"));
  free(json);
  r = run_cli("eval kale --samples %s --ref %s", a, c);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "has shape [400,2] and ");
  CHECK_CONTAINS(r.err, "has shape [200,4]");
  cli_result_free(&r);
  r = run_cli("eval kale --samples %s", a);
  CHECK_EQ_INT(r.code, 2);
  cli_result_free(&r);
  free(x);
}
