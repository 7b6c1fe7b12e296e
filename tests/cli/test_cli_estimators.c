/* `ebm train --method nce | dsm | ssm | recovery` from the command line:
 * each trains a toy, their bad input gets one line, and `ebm sample` of a
 * recovery-likelihood model runs its chain of levels. */
#include "test_util.h"

#define TOY "train --data toy:8gaussians:train:300 --batch 16 --iters 4 --lr-decay none --seed 3"

static int count_lines(const char *text) {
  int n = 0;
  for (; text && *text; text++) n += *text == '\n';
  return n;
}

TEST(cli_train_nce_dsm_and_ssm_train_a_toy) {
  const char *const methods[] = {"nce --noise-ratio 4", "dsm --sigma-min 0.2", "ssm"};
  for (int i = 0; i < 3; i++) {
    char run[512];
    snprintf(run, sizeof run, "%s_%d", test_path("run"), i);
    cli_result r = run_cli(TOY " --arch mlp --width 16 --method %s --out %s", methods[i], run);
    CHECK_EQ_INT(r.code, 0);
    CHECK_CONTAINS(r.out, "step 4 of 4");
    /* the recipe line: nce steps Adam at 1e-2 on points, the others at 3e-3; no cosine decay, as
     * --lr-decay none asked (the line shows the settings as they run) */
    CHECK_CONTAINS(r.err, i == 0 ? ", Adam 0.01 β1 0.9, with the flags given" : ", Adam 0.003 β1 0.9, with the flags given");
    cli_result_free(&r);
  }
}

TEST(cli_train_refuses_noise_ratio_0_and_levels_without_sigma_in_one_line) {
  cli_result r = run_cli(TOY " --arch mlp --method nce --noise-ratio 0 --out %s", test_path("run"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "ebm train: --noise-ratio must be in (0, 1024] noise samples per data item, got 0\n");
  CHECK_EQ_INT(count_lines(strstr(r.err, "noise-ratio")), 3); /* the error, then the usage and help lines */
  cli_result_free(&r);
  r = run_cli(TOY " --arch mlp --method recovery --levels 3 --out %s", test_path("run2"));
  CHECK(r.code != 0);
  CHECK_CONTAINS(r.err, "ebm: recovery with 3 levels needs a network that takes the noise level "
                        "(a cond_affine layer with \"sigma\": true)\n");
  CHECK_EQ_INT(count_lines(strstr(r.err, "recovery with")), 1); /* the last line */
  cli_result_free(&r);
}

TEST(cli_sample_of_a_recovery_model_runs_its_levels_from_noise_to_data) {
  char arch[512], run[512], out[512];
  snprintf(arch, sizeof arch, "%s", test_path("arch.json"));
  FILE *f = fopen(arch, "w");
  REQUIRE(f);
  fputs("{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"l0\", \"out\": 16},"
        "{\"type\": \"cond_affine\", \"name\": \"film0\", \"sigma\": true}, {\"type\": \"swish\"},"
        "{\"type\": \"linear\", \"name\": \"l1\", \"out\": 1}]}", f);
  fclose(f);
  snprintf(run, sizeof run, "%s", test_path("run"));
  snprintf(out, sizeof out, "%s", test_path("x.npy"));
  cli_result r = run_cli(TOY " --arch @%s --method recovery --levels 3 --sigma-min 0.2 --sigma-max 1 --steps 5 "
                             "--out %s", arch, run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  char png[512];
  snprintf(png, sizeof png, "%s", test_path("levels.png"));
  r = run_cli("sample --ckpt %s/ckpt/last.safetensors --levels 3 --sigma-min 0.2 --sigma-max 1 --steps 5 --n 16 "
              "--out %s --levels-png %s", run, out, png);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "recovery: 3 levels (sigma 0.2..1) x 5 steps on 16 chains");
  cli_result_free(&r);
  int w = 0, h = 0, ch = 0; /* a scatter panel per level, noise to data: 4 panels of 200 px, 8-px gaps */
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(png, &w, &h, &ch, &px));
  CHECK_EQ_INT(w, 4 * 208 + 8);
  CHECK_EQ_INT(h, 14 + 200 + 8);
  free(px);
  ebm_npy a;
  test_load_f32(out, &a);
  CHECK_EQ_INT(a.ndim, 2);
  CHECK_EQ_INT(a.shape[0], 16);
  CHECK_EQ_INT(a.shape[1], 2);
  for (int64_t k = 0; k < 32; k++) CHECK(isfinite(((float *)a.data)[k]));
  ebm_npy_free(&a);
  r = run_cli("sample --ckpt %s/ckpt/last.safetensors --levels 3 --sigma-min 2 --sigma-max 1 --out %s", run, out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "sigma-max must be >= sigma-min");
  cli_result_free(&r);
  r = run_cli("sample --energy toy:rings --levels-png %s --out %s", png, out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "ebm sample: --levels-png is for a model sampled by noise levels: ");
  cli_result_free(&r);
}
