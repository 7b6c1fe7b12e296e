/* CLI on a JEM model: `ebm train --method jem` writes a checkpoint whose
 * `ebm forward` gives the K logits, `ebm energy` E(x) = −logsumexp of them
 * and `ebm energy --labels` E(x, y) = −f(x)[y]; `ebm translate` moves
 * points into a target class of it; a label ≥ K and labels missing from
 * the data are refused with one line. */
#include <cjson/cJSON.h>

#include "test_util.h"

#define JEM_ARCH                                                                                       \
  "'{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 16}, "        \
  "{\"type\": \"swish\"}, {\"type\": \"linear\", \"name\": \"net.2\", \"out\": 8}]}'"
#define JEM_RUN                                                                                        \
  "train --data toy:8gaussians:train:300 --arch " JEM_ARCH " --method jem --batch 16 --sgld-steps 3 " \
  "--sgld-step 0.05 --seed 3"

static void expect(cli_result r, int code, const char *out_part, const char *err_part) {
  CHECK_EQ_INT(r.code, code);
  if (out_part) CHECK_CONTAINS(r.out, out_part);
  if (err_part) CHECK_CONTAINS(r.err, err_part);
  cli_result_free(&r);
}

TEST(cli_jem_checkpoint_gives_logits_marginal_and_pair_energies) {
  const char *run = test_path("jem"), *x = test_path("x.npy"), *y = test_path("y.npy"), *bad = test_path("bad.npy");
  const char *f = test_path("f.npy"), *e = test_path("e.npy"), *ey = test_path("ey.npy");
  expect(run_cli(JEM_RUN " --iters 4 --eval-data toy:8gaussians:test:50 --eval-every 2 --out %s", run), 0,
         "trained jem", NULL);
  char metrics[600];
  snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", run);
  char *text = test_read_text(metrics);
  REQUIRE(text);
  CHECK(strstr(text, "\"accuracy\":") != NULL);
  free(text);
  const float pts[6] = {2.5f, 0, 0, 2.5f, -1, -1};
  const int32_t labels[3] = {0, 2, 5}, out_of_range[3] = {0, 8, 5};
  int64_t shape[2] = {3, 2}, n = 3;
  REQUIRE_OK(ebm_npy_save(x, EBM_DTYPE_F32, 2, shape, pts));
  REQUIRE_OK(ebm_npy_save(y, EBM_DTYPE_I32, 1, &n, labels));
  REQUIRE_OK(ebm_npy_save(bad, EBM_DTYPE_I32, 1, &n, out_of_range));
  char ckpt[600];
  ebm_run_ckpt_path(run, ckpt, sizeof ckpt);
  expect(run_cli("forward --ckpt %s --input %s --out %s", ckpt, x, f), 0, "[3,8] outputs", NULL);
  expect(run_cli("energy --ckpt %s --input %s --out %s", ckpt, x, e), 0, "3 energies", NULL);
  expect(run_cli("energy --ckpt %s --input %s --labels %s --out %s", ckpt, x, y, ey), 0, "3 energies", NULL);
  expect(run_cli("energy --ckpt %s --input %s --labels %s --out %s", ckpt, x, bad, ey), 1, NULL,
         "label 8 at index 1 is not in [0, 8)");
  ebm_npy fa, ea, eya;
  test_load_f32(f, &fa);
  test_load_f32(e, &ea);
  test_load_f32(ey, &eya);
  const float *lf = fa.data, *le = ea.data, *ley = eya.data;
  for (int i = 0; i < 3; i++) {
    double m = lf[i * 8], s = 0;
    for (int k = 1; k < 8; k++) m = fmax(m, lf[i * 8 + k]);
    for (int k = 0; k < 8; k++) s += exp(lf[i * 8 + k] - m);
    CHECK_NEAR(le[i], -(m + log(s)), 1e-5);
    CHECK(ley[i] == -lf[i * 8 + labels[i]]);
  }
  ebm_npy_free(&fa);
  ebm_npy_free(&ea);
  ebm_npy_free(&eya);
  /* the three OOD scores, and the classifier's calibration */
  expect(run_cli("eval ood --ckpt %s --in toy:8gaussians:test:60 --ood noise:uniform --n 60 --score all", ckpt), 0,
         "max-prob", NULL);
  /* class-conditional samples of E(x, y) = −f(x)[y]; a class ≥ K is refused */
  const char *samples = test_path("s.npy");
  expect(run_cli("sample --ckpt %s --class 3 --n 8 --steps 5 --out %s", ckpt, samples), 0, NULL, NULL);
  expect(run_cli("sample --ckpt %s --class 8 --n 8 --steps 5 --out %s", ckpt, samples), 2, NULL,
         "--class must be in 0..7");
  /* the run's buffer has no classes: its chains start the samples of every class */
  expect(run_cli("sample --ckpt %s --from-buffer %s --n 16 --steps 5 --out %s", ckpt, run, samples), 0, NULL, NULL);
  /* PGD: eps 0 is the clean accuracy; a bad list is a usage error */
  expect(run_cli("eval attack --ckpt %s --data toy:8gaussians:test:40 --eps 0,0.5 --steps 3 --purify 2", ckpt), 0,
         "eps 0.5", NULL);
  expect(run_cli("eval attack --ckpt %s --data toy:8gaussians:test:40 --eps 0.1,x", ckpt), 2, NULL, "--eps expects");
  const char *png = test_path("reliability.png");
  expect(run_cli("eval classify --ckpt %s --data toy:8gaussians:test:60 --png %s", ckpt, png), 0,
         "expected calibration error", NULL);
  char *bytes = test_read_text(png);
  CHECK(bytes && memcmp(bytes, "\x89PNG", 4) == 0);
  free(bytes);
}

TEST(cli_jem_refuses_unlabelled_data_and_a_bad_weight) {
  const char *x = test_path("pts.npy");
  float pts[64];
  for (int i = 0; i < 64; i++) pts[i] = (float)i / 64.0f;
  int64_t shape[2] = {32, 2};
  REQUIRE_OK(ebm_npy_save(x, EBM_DTYPE_F32, 2, shape, pts));
  expect(run_cli("train --data npy:%s --arch " JEM_ARCH " --method jem --batch 16 --iters 1 --out %s", x,
                 test_path("r1")), 1, NULL, "method jem needs labels");
  expect(run_cli(JEM_RUN " --iters 1 --px-weight -1 --out %s", test_path("r2")), 2, NULL,
         "px-weight, pyx-weight and pxy must be >= 0");
}

/* The argmax of each of the n rows of k logits in an npy file. */
static void argmax_rows(const char *path, int n, int k, int *out) {
  ebm_npy a;
  test_load_f32(path, &a);
  const float *f = a.data;
  for (int i = 0; i < n; i++) {
    out[i] = 0;
    for (int c = 1; c < k; c++)
      if (f[i * k + c] > f[i * k + out[i]]) out[i] = c;
  }
  ebm_npy_free(&a);
}

/* A classifier-EBM is a conditional energy E(x, y) = −f(x)[y]: `ebm
 * translate` runs Langevin on it from points of classes 0, 1 and 2 (the
 * 8gaussians modes at angles 0, 45° and 90°), and the classifier then puts
 * every one of them in the target class 5, where it put none before; a
 * target ≥ K is refused. */
TEST(cli_translate_moves_points_into_the_target_class_of_a_jem_classifier) {
  const char *run = test_path("jem_tr"), *x = test_path("modes.npy"), *out = test_path("moved.npy");
  const char *f_in = test_path("f_in.npy"), *f_out = test_path("f_out.npy");
  expect(run_cli(JEM_RUN " --iters 150 --lr 1e-2 --beta1 0.9 --clip-std 0 --warmup 0 --out %s", run), 0,
         "trained jem", NULL);
  const float r = 2.5f, d = 2.5f * 0.70710678f;
  const float pts[6] = {r, 0, d, d, 0, r};
  int64_t shape[2] = {3, 2};
  REQUIRE_OK(ebm_npy_save(x, EBM_DTYPE_F32, 2, shape, pts));
  char ckpt[600];
  ebm_run_ckpt_path(run, ckpt, sizeof ckpt);
  expect(run_cli("forward --ckpt %s --input %s --out %s", ckpt, x, f_in), 0, NULL, NULL);
  cli_result tr = run_cli("translate --ckpt %s --input %s --to-class 5 --out %s --steps 100 --seed 1", ckpt, x, out);
  CHECK_EQ_INT(tr.code, 0);
  const char *energies = strstr(tr.out, "mean E(x, 5) ");
  REQUIRE(energies);
  double before = 0, after = 0;
  REQUIRE(sscanf(energies, "mean E(x, 5) %lf -> %lf", &before, &after) == 2);
  CHECK(after < before);
  cli_result_free(&tr);
  expect(run_cli("forward --ckpt %s --input %s --out %s", ckpt, out, f_out), 0, NULL, NULL);
  int was[3], now[3];
  argmax_rows(f_in, 3, 8, was);
  argmax_rows(f_out, 3, 8, now);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ_INT(was[i], i);
    CHECK_EQ_INT(now[i], 5);
  }
  expect(run_cli("translate --ckpt %s --input %s --to-class 8 --out %s", ckpt, x, out), 2, NULL,
         "--to-class must be in 0..7");
}

/* A number of RUN/config.json, or of the last line of RUN/metrics.jsonl. */
static double run_number(const char *run, const char *file, const char *key) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", run, file);
  char *text = test_read_text(path);
  if (!text) return NAN;
  char *last = text; /* a JSON Lines file: its last line */
  for (char *p = strchr(text, '\n'); p && p[1] && strstr(file, ".jsonl"); p = strchr(p + 1, '\n')) last = p + 1;
  cJSON *root = cJSON_Parse(last);
  free(text);
  const double v = cJSON_IsNumber(cJSON_GetObjectItem(root, key)) ? cJSON_GetNumberValue(cJSON_GetObjectItem(root, key))
                                                                   : NAN;
  cJSON_Delete(root);
  return v;
}

/* Rewrites RUN/config.json with key set to the raw JSON value, or without
 * the key when raw is NULL (a run of an older version). */
static void set_config_value(const char *run, const char *key, const char *raw) {
  char path[600];
  snprintf(path, sizeof path, "%s/config.json", run);
  char *text = test_read_text(path);
  REQUIRE(text);
  cJSON *cfg = cJSON_Parse(text);
  free(text);
  REQUIRE(cfg);
  if (raw) cJSON_ReplaceItemInObject(cfg, key, cJSON_CreateRaw(raw));
  else cJSON_DeleteItemFromObject(cfg, key);
  char *out = cJSON_Print(cfg);
  cJSON_Delete(cfg);
  REQUIRE_OK(ebm_write_file_atomic(path, out, strlen(out)));
  cJSON_free(out);
}

/* A JEM run recorded before --warmup and --px-alpha existed (its
 * config.json lacks both) resumes with neither, as it was trained — not
 * with today's defaults (1000, 0.1); a run that recorded them keeps them. */
TEST(cli_jem_run_recorded_without_newer_settings_resumes_as_it_was_trained) {
  const char *run = test_path("old");
  expect(run_cli(JEM_RUN " --iters 2 --out %s", run), 0, "trained jem", NULL);
  CHECK(run_number(run, "config.json", "warmup") == 1000);
  set_config_value(run, "warmup", NULL);
  set_config_value(run, "px-alpha", NULL);
  expect(run_cli("train --out %s --resume --iters 3", run), 0, "step 3 of 3", NULL);
  CHECK(run_number(run, "config.json", "warmup") == 0);
  CHECK(run_number(run, "config.json", "px-alpha") == 0.0);
  /* a run that recorded them resumes with its own values */
  const char *now = test_path("new");
  expect(run_cli(JEM_RUN " --iters 2 --warmup 7 --out %s", now), 0, "trained jem", NULL);
  expect(run_cli("train --out %s --resume --iters 3", now), 0, "step 3 of 3", NULL);
  CHECK(run_number(now, "config.json", "warmup") == 7);
  CHECK(fabs(run_number(now, "config.json", "px-alpha") - 0.1) < 1e-7);
}

#define JEM_IMAGES                                                                                      \
  "train --data %s --arch '{\"input\": [1, 4, 4], \"layers\": [{\"type\": \"flatten\"}, "       \
  "{\"type\": \"linear\", \"name\": \"net.1\", \"out\": 2}]}' --method jem --batch 8 --sgld-steps 2 --buffer 16 " \
  "--seed 1"

/* JEM's own Adam on images (lr 1e-3, β1 0.9, no A.12 clip) when --lr and
 * the rest are absent: config.json records it and the first step runs at
 * lr/warmup; --lr given wins (the rest stay JEM's); --preset igebm takes
 * the preset's; a resume keeps the run's rate, also a run recorded with
 * IGEBM's 1e-4 before JEM had its own. */
TEST(cli_jem_uses_its_own_learning_rate_unless_lr_is_given_and_a_resume_keeps_the_runs) {
  const char *data = test_labelled_images(16, 4);
  const char *dflt = test_path("dflt"), *given = test_path("given"), *igebm = test_path("igebm");
  expect(run_cli(JEM_IMAGES " --iters 2 --out %s", data, dflt), 0, "trained jem", "Adam 0.001 β1 0.9");
  CHECK_NEAR(run_number(dflt, "config.json", "lr"), 1e-3, 1e-9);
  CHECK_NEAR(run_number(dflt, "config.json", "beta1"), 0.9, 1e-7);
  CHECK(run_number(dflt, "config.json", "clip-std") == 0.0);
  CHECK_NEAR(run_number(dflt, "metrics.jsonl", "lr"), 1e-3 * 2 / 1000, 1e-12); /* step 2 of the warm-up */
  expect(run_cli(JEM_IMAGES " --iters 2 --lr 5e-4 --out %s", data, given), 0, "trained jem", NULL);
  CHECK_NEAR(run_number(given, "config.json", "lr"), 5e-4, 1e-10);
  CHECK_NEAR(run_number(given, "config.json", "beta1"), 0.9, 1e-7);
  CHECK_NEAR(run_number(given, "metrics.jsonl", "lr"), 5e-4 * 2 / 1000, 1e-12);
  expect(run_cli(JEM_IMAGES " --iters 2 --preset igebm --out %s", data, igebm), 0, "trained jem", NULL);
  CHECK_NEAR(run_number(igebm, "config.json", "lr"), 1e-4, 1e-10);
  CHECK(run_number(igebm, "config.json", "beta1") == 0.0);
  /* resumes: the run's own rate, then an older run's 1e-4 with IGEBM's Adam */
  expect(run_cli("train --out %s --resume --iters 3", dflt), 0, "step 3 of 3", NULL);
  CHECK_NEAR(run_number(dflt, "config.json", "lr"), 1e-3, 1e-9);
  CHECK_NEAR(run_number(dflt, "metrics.jsonl", "lr"), 1e-3 * 3 / 1000, 1e-12);
  set_config_value(dflt, "lr", "0.0001");
  set_config_value(dflt, "beta1", "0");
  set_config_value(dflt, "clip-std", "3");
  expect(run_cli("train --out %s --resume --iters 4", dflt), 0, "step 4 of 4", NULL);
  CHECK_NEAR(run_number(dflt, "config.json", "lr"), 1e-4, 1e-10);
  CHECK(run_number(dflt, "config.json", "beta1") == 0.0);
  CHECK(run_number(dflt, "config.json", "clip-std") == 3.0);
  CHECK_NEAR(run_number(dflt, "metrics.jsonl", "lr"), 1e-4 * 4 / 1000, 1e-13);
}
