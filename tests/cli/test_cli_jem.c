/* CLI on a JEM model: `ebm train --method jem` writes a checkpoint whose
 * `ebm forward` gives the K logits, `ebm energy` E(x) = −logsumexp of them
 * and `ebm energy --labels` E(x, y) = −f(x)[y]; a label ≥ K and labels
 * missing from the data are refused with one line. */
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
