/* `ebm eval ...` and `ebm classifier ...`: results against known answers,
 * the files they write, and every flag check a user can hit. */
#include <cjson/cJSON.h>

#include "test.h"

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
  double mean_e = json_num(j, "mean_energy");
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
  expect(run_cli("eval ais --energy gaussian:2 --step-size -1"), 2, "--step-size must be >= 0");
  expect(run_cli("eval ais --energy gaussian:2 --target-accept 1.5"), 2, "--target-accept must be in [0, 1)");
  expect(run_cli("eval ais --energy gaussian:2 --reverse 10"), 2, "--reverse needs --data");
  expect(run_cli("eval ais --energy gaussian:0"), 2, "gaussian:D needs a dimension");
  expect(run_cli("eval ais --energy toy:checkerboard"), 2, "unknown toy");
  expect(run_cli("eval ais"), 2, "exactly one of --ckpt CKPT or --energy SPEC");
  expect(run_cli("eval ais --energy toy:rings --data nonsense:1"), 2, "--data");
  expect(run_cli("eval ais --energy gaussian:3 --data toy:rings"), 1, "items are [2], but gaussian:3 takes [3]");
  expect(run_cli("eval ais --ckpt %s", test_path("missing.safetensors")), 1, "missing.safetensors");
}
