/* `ebm train --method gebm` (coop, latent-ebm; `ebm reconstruct`) from the command line: the 2-D defaults (no
 * --arch, no --generator), the two-part checkpoint, and the one-line
 * refusals of shapes that disagree. */
#include "test_util.h"

#define GEBM_RUN "train --method gebm --data toy:8gaussians:train:300 --width 16 --batch 16 --seed 3"

TEST(cli_gebm_on_a_toy_needs_no_arch_and_saves_both_networks) {
  const char *run = test_path("run");
  cli_result r = run_cli(GEBM_RUN " --iters 3 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "trained gebm");
  cli_result_free(&r);
  char ckpt[600];
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  ebm_net *g = NULL;
  REQUIRE_OK(ebm_net_load_part(ckpt, "generator", 1, &g));
  CHECK_EQ_INT((int)ebm_net_item_shape(g)[0], 2);
  CHECK_EQ_INT((int)ebm_net_out_size(g), 2);
  ebm_net_free(g);
  /* the energy part is what every other verb reads */
  r = run_cli("eval nll --ckpt %s --data toy:8gaussians:test:200 --cells 32", ckpt);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
}

TEST(cli_gebm_refuses_shapes_that_disagree_in_one_line) {
  const char *gen = test_path("gen3.json");
  const char *json = "{\"input\": [4], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 3}]}";
  test_write_file(gen, json, strlen(json));
  cli_result r = run_cli(GEBM_RUN " --iters 1 --generator @%s --out %s", gen, test_path("a"));
  CHECK(r.code != 0);
  CHECK_CONTAINS(r.err, "output shape [3]");
  CHECK_CONTAINS(r.err, "input shape [2]");
  /* both shapes on one line (the recipe's note may come before it) */
  const char *line = strstr(r.err, "output shape [3]"), *end = line ? strchr(line, '\n') : NULL;
  CHECK(line && end && strstr(line, "input shape [2]") < end);
  cli_result_free(&r);
  r = run_cli(GEBM_RUN " --iters 1 --latent-dim 5 --out %s", test_path("b"));
  CHECK(r.code == 0); /* the default generator takes --latent-dim */
  cli_result_free(&r);
  r = run_cli(GEBM_RUN " --iters 1 --latent-dim 5 --generator @%s --out %s", gen, test_path("c"));
  CHECK(r.code != 0);
  CHECK_CONTAINS(r.err, "--latent-dim 5 disagrees with the generator's input shape [4]");
  cli_result_free(&r);
}

TEST(cli_coop_on_a_toy_needs_no_arch_and_saves_both_networks) {
  const char *run = test_path("run");
  cli_result r = run_cli("train --method coop --data toy:8gaussians:train:300 --width 16 --batch 16 --seed 3 "
                         "--steps 5 --iters 3 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "trained coop");
  cli_result_free(&r);
  char ckpt[600];
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  ebm_net *g = NULL, *e = NULL;
  REQUIRE_OK(ebm_net_load_part(ckpt, "generator", 1, &g));
  REQUIRE_OK(ebm_net_load(ckpt, 1, &e));
  CHECK_EQ_INT((int)ebm_net_out_size(g), 2);
  CHECK_EQ_INT((int)ebm_net_out_size(e), 1);
  ebm_net_free(g);
  ebm_net_free(e);
}

#define LATENT_RUN "train --method latent-ebm --data toy:8gaussians:train:300 --batch 16 --seed 3 --steps 5"

/* latent-ebm trains with no --arch, and `ebm reconstruct` reads its model
 * back: the reconstructions have the input's shape, the MSE is printed,
 * and inputs of another shape are refused naming both. */
TEST(cli_latent_ebm_trains_and_reconstructs_and_refuses_other_shapes) {
  const char *run = test_path("run");
  cli_result r = run_cli(LATENT_RUN " --iters 3 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "trained latent-ebm");
  cli_result_free(&r);
  char ckpt[600];
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  const float x[8] = {0.5f, 1, -2, 0.25f, 2.5f, 0, 0, -2.5f};
  const int64_t shape[2] = {4, 2}, bad_shape[2] = {2, 4};
  const char *in = test_path("x.npy"), *bad = test_path("bad.npy"), *out = test_path("r.npy");
  REQUIRE_OK(ebm_npy_save(in, EBM_DTYPE_F32, 2, shape, x));
  REQUIRE_OK(ebm_npy_save(bad, EBM_DTYPE_F32, 2, bad_shape, x));
  r = run_cli("reconstruct --ckpt %s --input %s --out %s --steps 3", ckpt, in, out);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "4 reconstructions, MSE");
  cli_result_free(&r);
  ebm_npy a;
  REQUIRE_OK(ebm_npy_load(out, &a));
  CHECK(a.ndim == 2 && a.shape[0] == 4 && a.shape[1] == 2);
  ebm_npy_free(&a);
  r = run_cli("reconstruct --ckpt %s --input %s --out %s", ckpt, bad, out);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "items of shape [4]");
  CHECK_CONTAINS(r.err, "makes [2]");
  cli_result_free(&r);
  /* a model that is not a latent EBM */
  r = run_cli("train --method gebm --data toy:8gaussians:train:300 --width 16 --batch 16 --iters 1 --out %s",
              test_path("g"));
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", test_path("g"));
  r = run_cli("reconstruct --ckpt %s --input %s --out %s", ckpt, in, out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "is not a latent-space EBM");
  cli_result_free(&r);
}
