/* The window sum (compose.h, ebm_window_energy_new): a sequence scored by one
 * energy over its sliding windows — the energy against the sum computed by
 * hand, the gradient against finite differences in double, the spec option
 * window=S,C with its end weights ends=W1,..,Wk, and every refusal in one
 * line. */
#include "test.h"
#include "test_util.h"

#include "ebm/compose.h"

/* gaussian:4 with a mean, over 3 windows 2 apart: an 8-value sequence. */
static void open_windowed(const char *text, ebm_energy_spec *spec, ebm_energy_source *src) {
  REQUIRE_OK(ebm_energy_spec_parse(text, 0, spec));
  REQUIRE_OK(ebm_energy_source_open(spec, 4, src));
}

TEST(window_energy_is_the_sum_over_the_windows) {
  ebm_energy_spec spec, inner_spec;
  ebm_energy_source src, inner;
  open_windowed("gaussian:4:mean=1,-2,0.5,3:window=2,3", &spec, &src);
  open_windowed("gaussian:4:mean=1,-2,0.5,3", &inner_spec, &inner);
  CHECK_EQ_INT(src.energy->item_ndim, 1);
  CHECK_EQ_INT(src.energy->item_shape[0], 8); /* 4 + 2·2 */
  CHECK_CONTAINS(src.energy->name, "[window=2,3]");
  float x[2][8] = {{0.3f, -1.0f, 2.0f, 0.7f, -0.4f, 1.5f, 2.5f, -3.0f}, {1, -2, 0.5f, 3, 1, -2, 0.5f, 3}};
  float e[2], g[2][8];
  REQUIRE_OK(ebm_energy_eval(src.energy, &x[0][0], NULL, 2, e, &g[0][0]));
  for (int i = 0; i < 2; i++) {
    double sum = 0.0;
    for (int j = 0; j < 3; j++) {
      float ej;
      REQUIRE_OK(ebm_energy_eval(inner.energy, &x[i][2 * j], NULL, 1, &ej, NULL));
      sum += ej;
    }
    CHECK_NEAR(e[i], sum, 1e-5);
  }
  /* the second sequence is the mean twice over, but its middle window is
   * (0.5, 3, 1, −2): not at the mean, so its energy is that window's alone */
  float mid[4] = {0.5f, 3.0f, 1.0f, -2.0f}, emid;
  REQUIRE_OK(ebm_energy_eval(inner.energy, mid, NULL, 1, &emid, NULL));
  CHECK(emid > 1.0f);
  CHECK_NEAR(e[1], emid, 1e-5);
  /* energy without a gradient gives the same energies */
  float e2[2];
  REQUIRE_OK(ebm_energy_eval(src.energy, &x[0][0], NULL, 2, e2, NULL));
  CHECK(e2[0] == e[0] && e2[1] == e[1]);
  /* d: a value in two windows gets both gradients — central differences */
  for (int k = 0; k < 8; k++) {
    const float h = 1e-2f;
    float xp[8], xm[8], ep, em;
    memcpy(xp, x[0], sizeof xp);
    memcpy(xm, x[0], sizeof xm);
    xp[k] += h;
    xm[k] -= h;
    REQUIRE_OK(ebm_energy_eval(src.energy, xp, NULL, 1, &ep, NULL));
    REQUIRE_OK(ebm_energy_eval(src.energy, xm, NULL, 1, &em, NULL));
    CHECK_NEAR(g[0][k], ((double)ep - (double)em) / (2.0 * h), 2e-3);
  }
  /* the exact log Z of the Gaussian does not hold for the sum */
  int known = 1;
  double lz = 0.0;
  ebm_energy_source_log_z(&src, 1.0, 0.0, 0.0, &known, &lz);
  CHECK_EQ_INT(known, 0);
  ebm_energy_source_close(&src);
  ebm_energy_spec_free(&spec);
  ebm_energy_source_close(&inner);
  ebm_energy_spec_free(&inner_spec);
}

/* ends=2,1.5 over 5 windows: windows 0 and 4 count twice, 1 and 3 one and a
 * half times, the middle one once — by hand, and the gradient by central
 * differences (a value in an end window gets its weight times its gradient). */
TEST(window_energy_weights_the_end_windows) {
  ebm_energy_spec spec, inner_spec;
  ebm_energy_source src, inner;
  open_windowed("gaussian:4:mean=1,-2,0.5,3:window=2,5:ends=2,1.5", &spec, &src);
  open_windowed("gaussian:4:mean=1,-2,0.5,3", &inner_spec, &inner);
  CHECK(spec.window_n_ends == 2 && spec.window_ends[0] == 2.0 && spec.window_ends[1] == 1.5);
  CHECK_EQ_INT(src.energy->item_shape[0], 12); /* 4 + 4·2 */
  CHECK_CONTAINS(src.energy->name, "[window=2,5,ends=2,1.5]");
  float x[12] = {0.3f, -1.0f, 2.0f, 0.7f, -0.4f, 1.5f, 2.5f, -3.0f, 1.0f, 0.2f, -0.6f, 2.2f}, e, g[12];
  REQUIRE_OK(ebm_energy_eval(src.energy, x, NULL, 1, &e, g));
  const double w[5] = {2.0, 1.5, 1.0, 1.5, 2.0};
  double sum = 0.0, plain = 0.0;
  for (int j = 0; j < 5; j++) {
    float ej;
    REQUIRE_OK(ebm_energy_eval(inner.energy, x + 2 * j, NULL, 1, &ej, NULL));
    CHECK(ej > 0.1f); /* every window off the mean: each weight shows */
    sum += w[j] * ej;
    plain += ej;
  }
  CHECK_NEAR(e, sum, 1e-4);
  CHECK(fabs(e - plain) > 1.0); /* not the unweighted sum */
  for (int k = 0; k < 12; k++) {
    const float h = 1e-2f;
    float xp[12], xm[12], ep, em;
    memcpy(xp, x, sizeof xp);
    memcpy(xm, x, sizeof xm);
    xp[k] += h;
    xm[k] -= h;
    REQUIRE_OK(ebm_energy_eval(src.energy, xp, NULL, 1, &ep, NULL));
    REQUIRE_OK(ebm_energy_eval(src.energy, xm, NULL, 1, &em, NULL));
    CHECK_NEAR(g[k], ((double)ep - (double)em) / (2.0 * h), 5e-3);
  }
  ebm_energy_source_close(&src);
  ebm_energy_spec_free(&spec);
  ebm_energy_source_close(&inner);
  ebm_energy_spec_free(&inner_spec);
}

/* Batches above the wrapper's own block go through ebm_energy_eval's chunks:
 * 600 sequences (three chunks of 256) score as each one alone. */
TEST(window_energy_scores_large_batches_as_single_items) {
  ebm_energy_spec spec;
  ebm_energy_source src;
  open_windowed("gaussian:6:window=2,14", &spec, &src);
  REQUIRE(src.energy->item_shape[0] == 32);
  enum { N = 600, D = 32 };
  float *x = malloc(sizeof(float) * N * D), *e = malloc(sizeof(float) * N);
  REQUIRE(x && e);
  for (int k = 0; k < N * D; k++) x[k] = (float)((k * 37) % 101) / 50.0f - 1.0f;
  REQUIRE_OK(ebm_energy_eval(src.energy, x, NULL, N, e, NULL));
  for (int i = 0; i < N; i += 131) {
    float one;
    REQUIRE_OK(ebm_energy_eval(src.energy, x + i * D, NULL, 1, &one, NULL));
    CHECK(one == e[i]);
  }
  free(x);
  free(e);
  ebm_energy_source_close(&src);
  ebm_energy_spec_free(&spec);
}

static void check_open_fails(const char *text, const char *needle) {
  ebm_energy_spec spec;
  ebm_energy_source src;
  REQUIRE_OK(ebm_energy_spec_parse(text, 0, &spec));
  CHECK(ebm_energy_source_open(&spec, 4, &src) == EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), needle);
  ebm_energy_source_close(&src);
  ebm_energy_spec_free(&spec);
}

TEST(window_energy_refuses_bad_windows_and_energies_in_one_line) {
  ebm_energy_spec s;
  REQUIRE_OK(ebm_energy_spec_parse("runs/p:q/m.safetensors:window=2,14", 0, &s));
  CHECK(strcmp(s.path, "runs/p:q/m.safetensors") == 0);
  CHECK(s.window_stride == 2 && s.window_count == 14);
  ebm_energy_spec_free(&s);
  const char *bad[] = {"m.safetensors:window=2", "m.safetensors:window=0,3", "m.safetensors:window=2,0",
                       "m.safetensors:window=a,b", "m.safetensors:window=2,3x", "m.safetensors:window=2,5000"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    CHECK(ebm_energy_spec_parse(bad[k], 0, &s) == EBM_ERR_ARG);
    CHECK_CONTAINS(ebm_last_error(), "window= expects STRIDE,COUNT");
    ebm_energy_spec_free(&s);
  }
  check_open_fails("gaussian:4:window=5,2", "the stride must be in 1..4");
  const char *bad_ends[] = {"m.safetensors:window=2,14:ends=0", "m.safetensors:window=2,14:ends=-1",
                            "m.safetensors:window=2,14:ends=a", "m.safetensors:window=2,14:ends=2,",
                            "m.safetensors:window=2,14:ends=inf", "m.safetensors:window=2,14:ends=1,1,1,1,1,1,1,1,1"};
  for (size_t k = 0; k < sizeof bad_ends / sizeof bad_ends[0]; k++) {
    CHECK(ebm_energy_spec_parse(bad_ends[k], 0, &s) == EBM_ERR_ARG);
    CHECK_CONTAINS(ebm_last_error(), "ends= expects 1..8 weights > 0 for the first and last windows");
    ebm_energy_spec_free(&s);
  }
  CHECK(ebm_energy_spec_parse("m.safetensors:ends=2", 0, &s) == EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), "m.safetensors:ends=2: ends= weights the end windows of a window sum; give window=S,C");
  ebm_energy_spec_free(&s);
  check_open_fails("gaussian:4:window=2,3:ends=2,2", "ends= gives 2 weights at each end, more than half of the 3 windows");
  /* an energy on images or with labels has no windows */
  ebm_energy *img = ebm_energy_alloc(), *out = NULL;
  REQUIRE(img);
  img->name = "img";
  img->item_ndim = 3;
  img->item_shape[0] = 1, img->item_shape[1] = 4, img->item_shape[2] = 4;
  CHECK(ebm_window_energy_new(img, 1, 2, NULL, 0, &out) == EBM_ERR_ARG && !out);
  CHECK_CONTAINS(ebm_last_error(), "img: window= needs an energy on vectors");
  img->item_ndim = 1;
  img->item_shape[0] = 4;
  img->num_classes = 3;
  CHECK(ebm_window_energy_new(img, 1, 2, NULL, 0, &out) == EBM_ERR_ARG && !out);
  CHECK_CONTAINS(ebm_last_error(), "needs an unconditional energy");
  ebm_energy_free(img);
}

/* Through the CLI: a window sum samples whole sequences, and a stride beyond
 * the energy is one usage line. */
TEST(cli_sample_takes_a_window_sum) {
  const char *out = test_path("w.npy");
  cli_result r = run_cli("sample --energy gaussian:6:mean=30:std=2:window=2,14 --init uniform --n 5 --steps 3 "
                         "--seed 1 --out %s --threads 1", out);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  ebm_npy a;
  REQUIRE_OK(ebm_npy_load(out, &a));
  CHECK_EQ_INT(a.ndim, 2);
  CHECK(a.shape[0] == 5 && a.shape[1] == 32);
  ebm_npy_free(&a);
  r = run_cli("sample --energy gaussian:6:window=7,14 --out %s", out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--energy gaussian:6: window=7,14: the stride must be in 1..6");
  cli_result_free(&r);
  r = run_cli("sample --energy gaussian:6:mean=30:std=2:window=2,14:ends=2 --init uniform --n 5 --steps 3 --seed 1 "
              "--out %s --threads 1", out);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("sample --energy gaussian:6:window=2,14:ends=0.5,x --out %s", out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "ends= expects 1..8 weights > 0");
  cli_result_free(&r);
}

/* A checkpoint trained from a fitted start records it for its own items; a
 * window= sum of it asks for --init rather than failing on the sizes. */
TEST(cli_sample_window_sum_of_a_checkpoint_needs_its_own_start) {
  const char *run = test_path("run");
  cli_result r = run_cli("train --data toy:8gaussians:train:500 --arch mlp --width 8 --iters 2 --batch 16 --buffer 64 "
                         "--init gaussian --out %s --threads 1", run);
  REQUIRE(r.code == 0);
  cli_result_free(&r);
  const char *out = test_path("w.npy");
  r = run_cli("sample --ckpt %s/ckpt/last.safetensors:window=1,3 --n 4 --steps 2 --out %s --threads 1", run, out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, ":window=1,3: the checkpoint's chain start (gaussian:toy:8gaussians");
  CHECK_CONTAINS(r.err, "give --init");
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s/ckpt/last.safetensors:window=1,3 --init uniform --n 4 --steps 2 --out %s --threads 1",
              run, out);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  ebm_npy a;
  REQUIRE_OK(ebm_npy_load(out, &a));
  CHECK(a.ndim == 2 && a.shape[0] == 4 && a.shape[1] == 4); /* 2 + 2·1 values */
  ebm_npy_free(&a);
}

/* scripts/npy-path-windows.py cuts paths into the windows the sum scores:
 * the energies of its windows add up to the window sum of the whole path. */
TEST(path_windows_script_cuts_the_windows_the_sum_scores) {
  const float paths[2][10] = {{10, 20, 12, 21, 14, 22, 16, 23, 18, 24}, {50, 50, 48, 47, 46, 44, 44, 41, 42, 38}};
  const int64_t shape[2] = {2, 10};
  const char *in = test_path("p.npy"), *out = test_path("w.npy");
  REQUIRE_OK(ebm_npy_save(in, EBM_DTYPE_F32, 2, shape, paths));
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "python3 '%s/scripts/npy-path-windows.py' '%s' 3 '%s' >/dev/null", EBM_SOURCE_DIR, in, out);
  REQUIRE(system(cmd) == 0);
  ebm_npy w;
  REQUIRE_OK(ebm_npy_load(out, &w));
  REQUIRE(w.ndim == 2 && w.shape[0] == 6 && w.shape[1] == 6); /* 2 paths × 3 windows of 3 points */
  const float *v = (const float *)w.data;
  CHECK(v[0] == 10 && v[5] == 22);               /* path 0, window 0: points 0..2 */
  CHECK(v[6] == 12 && v[11] == 23);              /* window 1 starts one point later */
  CHECK(v[3 * 6] == 50 && v[5 * 6 + 5] == 38);   /* path 1, first and last value */
  ebm_energy_spec spec, inner_spec;
  ebm_energy_source src, inner;
  open_windowed("gaussian:6:mean=30:std=5:window=2,3", &spec, &src);
  open_windowed("gaussian:6:mean=30:std=5", &inner_spec, &inner);
  float e_paths[2], e_windows[6];
  REQUIRE_OK(ebm_energy_eval(src.energy, &paths[0][0], NULL, 2, e_paths, NULL));
  REQUIRE_OK(ebm_energy_eval(inner.energy, v, NULL, 6, e_windows, NULL));
  for (int i = 0; i < 2; i++)
    CHECK_NEAR(e_paths[i], e_windows[3 * i] + e_windows[3 * i + 1] + e_windows[3 * i + 2], 1e-4);
  ebm_npy_free(&w);
  ebm_energy_source_close(&src);
  ebm_energy_spec_free(&spec);
  ebm_energy_source_close(&inner);
  ebm_energy_spec_free(&inner_spec);
  /* a window longer than the paths is one line */
  snprintf(cmd, sizeof cmd, "python3 '%s/scripts/npy-path-windows.py' '%s' 6 '%s' 2>&1 | grep -q 'does not fit paths of 5'",
           EBM_SOURCE_DIR, in, out);
  CHECK(system(cmd) == 0);
}

/* scripts/npy-path-stats.py's end steps: a path whose first step is 5 px, its
 * middle ones 1 px and its last 2 px reads back as 5.00 1.00 2.00 — also as
 * a 1x5x2 image made by scripts/npy-reshape.py (a path energy convolving over
 * time samples such); a shape of other size is one line. */
TEST(path_stats_script_reports_end_and_middle_steps) {
  const float paths[1][10] = {{10, 20, 13, 24, 14, 24, 15, 24, 15, 26}};
  const int64_t shape[2] = {1, 10};
  const char *in = test_path("p.npy"), *log = test_path("stats.txt");
  REQUIRE_OK(ebm_npy_save(in, EBM_DTYPE_F32, 2, shape, paths));
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "python3 '%s/scripts/npy-path-stats.py' '%s' > '%s'", EBM_SOURCE_DIR, in, log);
  REQUIRE(system(cmd) == 0);
  char *text = test_read_text(log);
  REQUIRE(text);
  CHECK_CONTAINS(text, "steps first/middle/last 5.00 1.00 2.00 px");
  free(text);
  const char *img = test_path("p-img.npy");
  snprintf(cmd, sizeof cmd, "python3 '%s/scripts/npy-reshape.py' '%s' '%s' 1,5,2 && python3 '%s/scripts/npy-path-stats.py' "
           "'%s' > '%s'", EBM_SOURCE_DIR, in, img, EBM_SOURCE_DIR, img, log);
  REQUIRE(system(cmd) == 0);
  ebm_npy a;
  REQUIRE_OK(ebm_npy_load(img, &a));
  CHECK(a.ndim == 4 && a.shape[1] == 1 && a.shape[2] == 5 && a.shape[3] == 2);
  CHECK(memcmp(a.data, paths, sizeof paths) == 0);
  ebm_npy_free(&a);
  text = test_read_text(log);
  REQUIRE(text);
  CHECK_CONTAINS(text, "steps first/middle/last 5.00 1.00 2.00 px");
  free(text);
  snprintf(cmd, sizeof cmd, "python3 '%s/scripts/npy-reshape.py' '%s' '%s' 1,16,2 2>&1 | grep -q 'items of 10 values "
           "cannot be 1x16x2'", EBM_SOURCE_DIR, in, img);
  CHECK(system(cmd) == 0);
}
