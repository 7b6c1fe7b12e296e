/* CLI: ebm init / info / energy / bench langevin, including hostile
 * checkpoints and bad inputs (exit codes and the messages users see). */
#include "test.h"

/* Copies the PyTorch uva-cnn fixture to `path` with one edit (see
 * tests/nn/test_checkpoint.c for the library-level version). */
static void write_edited_fixture(const char *path, const char *skip, const char *reshape,
                                 const char *nan, const char *extra) {
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(test_fixture("torch/uva_cnn.safetensors"), &st));
  ebm_st_writer *w = ebm_st_writer_new();
  for (int i = 0; i < ebm_safetensors_count(st); i++) {
    const ebm_st_tensor *t = ebm_safetensors_at(st, i);
    if (skip && strcmp(t->name, skip) == 0) continue;
    int64_t count = (int64_t)(t->nbytes / 4);
    float *data = malloc(t->nbytes);
    REQUIRE(data);
    memcpy(data, t->data, t->nbytes);
    if (nan && strcmp(t->name, nan) == 0) data[0] = NAN;
    int flat = reshape && strcmp(t->name, reshape) == 0;
    REQUIRE_OK(ebm_st_writer_add_f32(w, t->name, flat ? 1 : t->ndim, flat ? &count : t->shape, data));
    free(data);
  }
  if (extra) {
    float v = 0;
    int64_t one = 1;
    REQUIRE_OK(ebm_st_writer_add_f32(w, extra, 1, &one, &v));
  }
  REQUIRE_OK(ebm_st_writer_meta(w, "arch", "uva-cnn"));
  REQUIRE_OK(ebm_st_writer_save(w, path));
  ebm_st_writer_free(w);
  ebm_safetensors_free(st);
}

static void expect(cli_result r, int code, const char *err_part) {
  CHECK_EQ_INT(r.code, code);
  if (err_part) CHECK_CONTAINS(r.err, err_part);
  cli_result_free(&r);
}

TEST(cli_init_writes_a_model_that_info_describes) {
  const char *m = test_path("m.safetensors");
  cli_result r = run_cli("init --arch igebm-mnist --classes 10 --seed 7 --out %s", m);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "153473 parameters");
  cli_result_free(&r);
  r = run_cli("info %s", m);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "igebm-mnist, input 1x28x28, output 1, 10 classes, range [0, 1]");
  CHECK_CONTAINS(r.out, "blocks.1           resblock         64x7x7");
  CHECK_CONTAINS(r.out, "down swish 1x1-shortcut cond sn");
  CHECK_CONTAINS(r.out, "parameters: 153473");
  CHECK_CONTAINS(r.out, "step: 0");
  CHECK_CONTAINS(r.out, "seed: 7");
  cli_result_free(&r);
  /* Same seed, same file; the mlp knobs reach the preset. */
  const char *a = test_path("a.safetensors"), *b = test_path("b.safetensors");
  expect(run_cli("init --arch mlp --in-dim 3 --width 16 --depth 1 --seed 1 --out %s", a), 0, NULL);
  expect(run_cli("init --arch mlp --in-dim 3 --width 16 --depth 1 --seed 1 --out %s", b), 0, NULL);
  uint8_t *da = NULL, *db = NULL;
  size_t na = 0, nb = 0;
  REQUIRE_OK(ebm_read_file(a, 1 << 20, &da, &na));
  REQUIRE_OK(ebm_read_file(b, 1 << 20, &db, &nb));
  CHECK(na == nb && memcmp(da, db, na) == 0);
  free(da);
  free(db);
  r = run_cli("info %s", a);
  CHECK_CONTAINS(r.out, "3->16");
  CHECK_CONTAINS(r.out, "parameters: 81"); /* 3·16 + 16 + 16 + 1 */
  cli_result_free(&r);
}

TEST(cli_init_rejects_bad_flags_with_usage_errors) {
  const char *m = test_path("m.safetensors");
  expect(run_cli("init --arch resnet --out %s", m), 2, "unknown architecture preset 'resnet'");
  expect(run_cli("init --arch uva-cnn --classes 3 --out %s", m), 2, "takes no classes");
  expect(run_cli("init --arch mlp --classes -1 --out %s", m), 2, "--classes must be >= 0");
  expect(run_cli("init --arch mlp"), 2, "--out is required");
  expect(run_cli("init --out %s", m), 2, "give --arch PRESET or --arch-json FILE");
  const char *bad = test_path("arch.json");
  test_write_file(bad, "{\"input\":[2],\"layers\":[{\"type\":\"linear\",\"out\":1}]}", 50);
  expect(run_cli("init --arch-json %s --out %s", bad, m), 1, "arch.json: architecture: layer 0 (linear) needs a 'name'");
  const char *good = test_path("good.json");
  const char *json = "{\"input\":[2],\"layers\":[{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}";
  test_write_file(good, json, strlen(json));
  expect(run_cli("init --arch-json %s --out %s", good, m), 0, NULL);
}

TEST(cli_energy_matches_pytorch_on_the_reference_model) {
  const char *e = test_path("e.npy"), *g = test_path("g.npy");
  cli_result r = run_cli("energy --ckpt %s --input %s --out %s --grad %s --batch 3",
                         test_fixture("torch/uva_cnn.safetensors"), test_fixture("torch/uva_cnn_x.npy"), e, g);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "4 energies");
  cli_result_free(&r);
  ebm_npy got, want, got_g, want_g;
  REQUIRE_OK(ebm_npy_load(e, &got));
  REQUIRE_OK(ebm_npy_load(test_fixture("torch/uva_cnn_e.npy"), &want));
  REQUIRE_OK(ebm_npy_load(g, &got_g));
  REQUIRE_OK(ebm_npy_load(test_fixture("torch/uva_cnn_dx.npy"), &want_g));
  REQUIRE(got.ndim == 1 && got.shape[0] == 4 && got_g.ndim == 4 && got_g.shape[3] == 28);
  for (int i = 0; i < 4; i++) CHECK_NEAR(((float *)got.data)[i], ((float *)want.data)[i], 1e-5);
  double maxg = 0, diff = 0;
  for (int i = 0; i < 4 * 784; i++) {
    maxg = fmax(maxg, fabs(((float *)want_g.data)[i]));
    diff = fmax(diff, fabs(((float *)got_g.data)[i] - ((float *)want_g.data)[i]));
  }
  CHECK(diff <= 1e-4 * maxg);
  ebm_npy_free(&got);
  ebm_npy_free(&want);
  ebm_npy_free(&got_g);
  ebm_npy_free(&want_g);
}

TEST(cli_energy_reports_bad_inputs_and_labels) {
  const char *ckpt = test_fixture("torch/uva_cnn.safetensors"), *e = test_path("e.npy");
  const char *x2 = test_path("x2.npy");
  float zeros[2 * 3] = {0};
  REQUIRE_OK(ebm_npy_save(x2, EBM_DTYPE_F32, 2, (int64_t[]){2, 3}, zeros));
  expect(run_cli("energy --ckpt %s --input %s --out %s", ckpt, x2, e), 1,
         "inputs have shape [2,3], the model takes [-1,1,28,28]");
  uint8_t bytes[784] = {0};
  const char *xu8 = test_path("xu8.npy");
  REQUIRE_OK(ebm_npy_save(xu8, EBM_DTYPE_U8, 4, (int64_t[]){1, 1, 28, 28}, bytes));
  expect(run_cli("energy --ckpt %s --input %s --out %s", ckpt, xu8, e), 1, "dtype U8, expected float32");
  expect(run_cli("energy --ckpt %s --input %s --out %s --labels %s", ckpt, test_fixture("torch/uva_cnn_x.npy"), e,
                 test_fixture("torch/igebm_y.npy")), 2, "is unconditional");
  expect(run_cli("energy --ckpt %s --input %s --out %s --batch 0", ckpt, xu8, e), 2, "--batch must be in");
  /* A conditional model: labels required and range-checked. */
  const char *m = test_path("c.safetensors"), *y = test_path("y.npy");
  expect(run_cli("init --arch igebm-mnist --width 4 --classes 3 --out %s", m), 0, NULL);
  const char *x = test_fixture("torch/igebm_x.npy");
  expect(run_cli("energy --ckpt %s --input %s --out %s", m, x, e), 2, "--labels is required");
  int64_t labels[3] = {0, 5, 1};
  REQUIRE_OK(ebm_npy_save(y, EBM_DTYPE_I64, 1, (int64_t[]){3}, labels));
  expect(run_cli("energy --ckpt %s --input %s --labels %s --out %s", m, x, y, e), 1,
         "label 5 at index 1 is not in [0, 3)");
  labels[1] = 2;
  REQUIRE_OK(ebm_npy_save(y, EBM_DTYPE_I64, 1, (int64_t[]){3}, labels));
  expect(run_cli("energy --ckpt %s --input %s --labels %s --out %s", m, x, y, e), 0, NULL);
}

TEST(cli_info_and_energy_name_the_tensor_of_a_hostile_checkpoint) {
  const char *p = test_path("bad.safetensors"), *e = test_path("e.npy");
  const char *x = test_fixture("torch/uva_cnn_x.npy");
  struct { const char *skip, *reshape, *nan, *extra, *message; } cases[] = {
      {"net.11.weight", NULL, NULL, NULL, "tensor 'net.11.weight' is missing"},
      {NULL, "net.6.weight", NULL, NULL, "tensor 'net.6.weight' has shape [36864], expected [64,64,3,3]"},
      {NULL, NULL, "net.0.bias", NULL, "tensor 'net.0.bias' has a non-finite value"},
      {NULL, NULL, NULL, "net.13.bias", "unexpected tensor 'net.13.bias'"}};
  for (int i = 0; i < 4; i++) {
    write_edited_fixture(p, cases[i].skip, cases[i].reshape, cases[i].nan, cases[i].extra);
    cli_result r = run_cli("info %s", p);
    CHECK_EQ_INT(r.code, 1);
    CHECK_CONTAINS(r.err, cases[i].message);
    CHECK(strchr(r.err, '\n') == r.err + strlen(r.err) - 1); /* one line */
    cli_result_free(&r);
    expect(run_cli("energy --ckpt %s --input %s --out %s", p, x, e), 1, cases[i].message);
  }
  /* Truncated. */
  uint8_t *buf = NULL;
  size_t size = 0;
  REQUIRE_OK(ebm_read_file(test_fixture("torch/uva_cnn.safetensors"), 1 << 24, &buf, &size));
  test_write_file(p, buf, size / 2);
  free(buf);
  expect(run_cli("info %s", p), 1, "bad.safetensors");
  expect(run_cli("info"), 2, "give one checkpoint");
  expect(run_cli("info %s", test_path("missing.safetensors")), 1, "missing.safetensors");
}

TEST(cli_bench_langevin_reports_time_and_gflops) {
  cli_result r = run_cli("bench langevin --arch uva-cnn --batch 2 --iters 1 --warmup 0 --json");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "\"langevin_step_ms\":");
  CHECK_CONTAINS(r.out, "\"forward_madds_per_item\":856128");
  CHECK_CONTAINS(r.out, "\"paired_peak_pct\":null"); /* no rounds without --paired-peak */
  cli_result_free(&r);
  /* --paired-peak: a share of the sgemm round after each step, a positive number */
  r = run_cli("bench langevin --arch uva-cnn --batch 2 --iters 3 --warmup 0 --paired-peak --json");
  CHECK_EQ_INT(r.code, 0);
  const char *p = strstr(r.out, "\"paired_peak_pct\":");
  CHECK(p != NULL);
  if (p) {
    double share = strtod(p + strlen("\"paired_peak_pct\":"), NULL);
    CHECK(share > 0.0 && share < 1000.0);
  }
  cli_result_free(&r);
  r = run_cli("bench langevin --arch uva-cnn --batch 2 --iters 2 --warmup 0 --paired-peak");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "against the sgemm round run right after it");
  CHECK_CONTAINS(r.out, "(median of 2)");
  cli_result_free(&r);
  expect(run_cli("bench langevin --iters 0"), 2, "--iters must be at least 1");
  expect(run_cli("bench langevin --arch nope"), 2, "unknown architecture preset 'nope'");
}
