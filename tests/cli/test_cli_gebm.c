/* `ebm train --method gebm` (coop, latent-ebm; `ebm reconstruct`) from the command line: the 2-D defaults (no
 * --arch, no --generator), the two-part checkpoint, and the one-line
 * refusals of shapes that disagree. */
#include "test_util.h"

/* The generator part of RUN's last checkpoint (REQUIREs it). */
static ebm_net *run_generator(const char *run) {
  char ckpt[600];
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  ebm_net *g = NULL;
  REQUIRE_OK(ebm_net_load_part(ckpt, "generator", 1, &g));
  return g;
}

#define GEBM_RUN "train --method gebm --data toy:8gaussians:train:300 --width 16 --batch 16 --seed 3"

TEST(cli_gebm_on_a_toy_needs_no_arch_and_saves_both_networks) {
  const char *run = test_path("run");
  cli_result r = run_cli(GEBM_RUN " --iters 3 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "trained gebm");
  cli_result_free(&r);
  ebm_net *g = run_generator(run);
  CHECK_EQ_INT((int)ebm_net_item_shape(g)[0], 2);
  CHECK_EQ_INT((int)ebm_net_out_size(g), 2);
  ebm_net_free(g);
  char ckpt[600];
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
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
  /* --latents-out: the posterior z, one row per item; ebm sample --latents fits a mixture to them */
  const char *zs = test_path("z.npy"), *fs = test_path("f.npy");
  r = run_cli("reconstruct --ckpt %s --input %s --out %s --steps 3 --latents-out %s", ckpt, in, out, zs);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  REQUIRE_OK(ebm_npy_load(zs, &a));
  CHECK(a.ndim == 2 && a.shape[0] == 4 && a.shape[1] == 2);
  ebm_npy_free(&a);
  r = run_cli("sample --ckpt %s --latents %s --n 10 --seed 2 --out %s", ckpt, zs, fs);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "latent-ebm fitted: 10 samples (G(z), z from a 1-component Gaussian mixture fitted to the 4 latents");
  cli_result_free(&r);
  REQUIRE_OK(ebm_npy_load(fs, &a));
  CHECK(a.ndim == 2 && a.shape[0] == 10 && a.shape[1] == 2);
  ebm_npy_free(&a);
  r = run_cli("sample --ckpt %s --latents %s --mixture 3 --out %s", ckpt, zs, fs);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "at least 2 items per component");
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s --latents %s --out %s", ckpt, bad, fs);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "holds [2,4]");
  CHECK_CONTAINS(r.err, "takes z of 2, so (N, 2) float32");
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s --latents %s --from-generator --out %s", ckpt, zs, fs);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--latents and --from-generator both say where z comes from");
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s --mixture 2 --out %s", ckpt, fs);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--mixture 2 needs --latents Z.npy");
  cli_result_free(&r);
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

/* `ebm sample --ckpt M` on models with a generator: each space and sampler
 * writes N items of the data's shape, --from-generator is G(z) for the same
 * seed whatever the sampler flags, and what does not fit is refused in one
 * line (a plain energy has no latent space; a latent-ebm none in x). */
TEST(cli_sample_draws_generator_models_in_each_space) {
  const char *run = test_path("run");
  cli_result r = run_cli(GEBM_RUN " --iters 2 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  char ckpt[600];
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  const char *out = test_path("s.npy"), *gen_a = test_path("g1.npy"), *gen_b = test_path("g2.npy");
  const char *const flags[] = {"", "--space latent --sampler ula --steps 4", "--space latent --sampler hmc --steps 3",
                               "--space latent --sampler kinetic --friction 0.5 --temperature 2 --steps 4",
                               "--space data --sampler mala --steps 4"};
  const char *const says[] = {"gebm latent: 9 samples (mala 100 steps", "gebm latent: 9 samples (ula 4 steps",
                              "hmc 3 steps", "kinetic 4 steps, eps 0.1, T 2", "gebm data: 9 samples (mala 4 steps"};
  for (int k = 0; k < 5; k++) {
    r = run_cli("sample --ckpt %s --n 9 --seed 4 %s --out %s", ckpt, flags[k], out);
    CHECK_EQ_INT(r.code, 0);
    CHECK_CONTAINS(r.out, says[k]);
    cli_result_free(&r);
    ebm_npy a;
    REQUIRE_OK(ebm_npy_load(out, &a));
    CHECK(a.ndim == 2 && a.shape[0] == 9 && a.shape[1] == 2);
    ebm_npy_free(&a);
  }
  r = run_cli("sample --ckpt %s --n 9 --seed 4 --from-generator --out %s", ckpt, gen_a);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "the generator alone");
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s --n 9 --seed 4 --from-generator --sampler hmc --steps 7 --out %s", ckpt, gen_b);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  CHECK(test_same_file(gen_a, gen_b));
  r = run_cli("sample --ckpt %s --space sideways --out %s", ckpt, out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--space expects latent or data, got 'sideways'");
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s --chain %s --out %s", ckpt, test_path("c.png"), out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--chain: ");
  cli_result_free(&r);
}

TEST(cli_sample_refuses_latent_space_on_a_plain_energy_and_data_space_on_a_latent_ebm) {
  const char *run = test_path("plain");
  cli_result r = run_cli("train --data toy:8gaussians:train:300 --arch mlp --width 16 --batch 16 --steps 2 --iters 1 "
                         "--out %s", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  char ckpt[600];
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  const char *out = test_path("s.npy");
  r = run_cli("sample --ckpt %s --space latent --out %s", ckpt, out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "has no generator (one network, a plain energy)");
  cli_result_free(&r);
  r = run_cli("sample --energy toy:8gaussians --from-generator --out %s", out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--from-generator needs a model with a generator");
  cli_result_free(&r);
  run = test_path("latent");
  r = run_cli(LATENT_RUN " --iters 2 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  r = run_cli("sample --ckpt %s --space data --out %s", ckpt, out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "its energy is a prior on z");
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s --n 5 --out %s", ckpt, out);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "latent-ebm latent: 5 samples (ula 5 steps");
  cli_result_free(&r);
}

/* n images C×H×W in [0, 1] (a smooth ramp with some variation per item) as npy:PATH. */
static const char *image_data(const char *name, int64_t n, int64_t c, int64_t h, int64_t w) {
  const char *path = test_path(name);
  const int64_t shape[4] = {n, c, h, w}, m = n * c * h * w;
  float *x = malloc((size_t)m * sizeof *x);
  REQUIRE(x);
  for (int64_t k = 0; k < m; k++) x[k] = (float)((k * 37 + k / (h * w) * 11) % 101) / 100.0f;
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, 4, shape, x));
  free(x);
  return path;
}

/* Trains method for 2 steps on the images with no --arch / --generator and
 * checks that it names the presets and that the generator makes the data's shape. */
static void two_image_steps(const char *method, const char *data, const int64_t *item) {
  char name[64];
  snprintf(name, sizeof name, "%s-%lldx%lld", method, (long long)item[0], (long long)item[1]);
  const char *run = test_path(name);
  cli_result r = run_cli("train --method %s --data npy:%s --iters 2 --batch 4 --steps 2 --seed 1 --out %s", method,
                         data, run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "presets for npy:");
  CHECK_CONTAINS(r.err, "\"conv-generator\"");
  if (strcmp(method, "latent-ebm") != 0) CHECK_CONTAINS(r.err, "energy {\"preset\": \"uva-cnn\"");
  CHECK_CONTAINS(r.out, "step 2 of 2");
  cli_result_free(&r);
  ebm_net *g = run_generator(run);
  REQUIRE(ebm_net_out_ndim(g) == 3);
  for (int d = 0; d < 3; d++) CHECK_EQ_INT((int)ebm_net_out_shape(g)[d], (int)item[d]);
  ebm_net_free(g);
}

TEST(cli_gebm_coop_latent_ebm_train_on_images_with_the_image_presets) {
  const int64_t mnist[3] = {1, 28, 28}, cifar[3] = {3, 32, 32};
  char small[512]; /* test_path's buffers rotate */
  snprintf(small, sizeof small, "%s", image_data("fm.npy", 8, 1, 28, 28));
  two_image_steps("gebm", small, mnist);
  two_image_steps("coop", small, mnist);
  two_image_steps("latent-ebm", small, mnist);
  two_image_steps("gebm", image_data("rgb.npy", 8, 3, 32, 32), cifar);
}

/* 1×32³ voxel grids (a 5-D .npy): coop picks the voxelnet energy and the
 * voxel-generator, whose output is the grid; volumes of another size have
 * no preset generator and say so. */
TEST(cli_coop_trains_on_voxel_grids_with_the_voxel_presets) {
  char data[512];
  snprintf(data, sizeof data, "%s", test_path("vox.npy"));
  cli_result r = run_cli("data make shapes3d --n 4 --out %s", data);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  const char *run = test_path("coop-vox");
  r = run_cli("train --method coop --data npy:%s --iters 2 --batch 2 --steps 1 --seed 1 --out %s", data, run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "presets for npy:");
  /* the recipe is the energy's (voxelnet's λ 100, 15 steps), not the image recipe of the placeholder */
  CHECK_CONTAINS(r.err, "recipe voxelnet for npy:");
  CHECK_CONTAINS(r.err, "(coop, langevin ε 100 x 1, α 0, Adam 0.001"); /* λ 100 the recipe's, 1 step the flag's */
  CHECK_CONTAINS(r.err, "energy {\"preset\": \"voxelnet\"}, generator {\"preset\": \"voxel-generator\", \"in_dim\": 64}");
  CHECK_CONTAINS(r.out, "step 2 of 2");
  cli_result_free(&r);
  ebm_net *g = run_generator(run);
  REQUIRE(ebm_net_out_ndim(g) == 3);
  for (int d = 0; d < 3; d++) CHECK_EQ_INT((int)ebm_net_out_shape(g)[d], 32);
  ebm_net_free(g);
  float x[2 * 512] = {0};
  REQUIRE_OK(ebm_npy_save(test_path("small.npy"), EBM_DTYPE_F32, 5, (int64_t[]){2, 1, 8, 8, 8}, x));
  r = run_cli("train --method coop --data npy:%s --iters 1 --batch 2 --out %s", test_path("small.npy"),
              test_path("run"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "no preset generator for items of shape [8,8,8] (a volume)");
  cli_result_free(&r);
}

/* 1×16×64×64 videos (a 5-D .npy): coop picks the video-st energy and the
 * video-generator, whose output is the video; a range other than [0, 1]
 * is refused in one line. */
TEST(cli_coop_trains_on_videos_with_the_video_presets) {
  enum { ITEM = 16 * 64 * 64 };
  float *x = calloc(2 * ITEM, sizeof *x);
  REQUIRE(x);
  for (int k = 0; k < 2 * ITEM; k++) x[k] = (float)(k % 7) / 7.0f;
  char data[512];
  snprintf(data, sizeof data, "%s", test_path("videos.npy"));
  REQUIRE_OK(ebm_npy_save(data, EBM_DTYPE_F32, 5, (int64_t[]){2, 1, 16, 64, 64}, x));
  free(x);
  const char *run = test_path("coop-video");
  cli_result r = run_cli("train --method coop --data npy:%s --iters 1 --batch 2 --steps 1 --seed 1 --out %s", data, run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "recipe video-st for npy:");
  CHECK_CONTAINS(r.err, "energy {\"preset\": \"video-st\"}, generator {\"preset\": \"video-generator\", \"in_dim\": 64}");
  CHECK_CONTAINS(r.out, "step 1 of 1");
  cli_result_free(&r);
  ebm_net *g = run_generator(run);
  REQUIRE(ebm_net_out_ndim(g) == 3);
  CHECK_EQ_INT((int)ebm_net_out_shape(g)[0], 16);
  CHECK_EQ_INT((int)ebm_net_out_shape(g)[1], 64);
  CHECK_EQ_INT((int)ebm_net_out_shape(g)[2], 64);
  ebm_net_free(g);
  /* `ebm sample --init npy:FILE` takes the videos as `ebm data make` writes them (N×1×D×H×W); the
   * trained energy alone (--energy), since a coop model samples from G(z) */
  const char *out = test_path("same.npy");
  r = run_cli("sample --energy %s/ckpt/last.safetensors --init npy:%s --n 2 --steps 0 --out %s", run, data, out);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  ebm_npy in, same;
  test_load_f32(data, &in);
  test_load_f32(out, &same);
  int64_t numel = 1;
  for (int d = 0; d < same.ndim; d++) numel *= same.shape[d];
  CHECK(numel == 2 * ITEM && memcmp(in.data, same.data, (size_t)(2 * ITEM) * sizeof(float)) == 0);
  ebm_npy_free(&in);
  ebm_npy_free(&same);
  r = run_cli("train --method coop --data npy:%s --range -1,1 --iters 1 --batch 2 --out %s", data, test_path("run"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "the video presets model grey levels in [0, 1], not [-1, 1]");
  cli_result_free(&r);
}

/* 1×P×3 point clouds (an (n, P, 3) .npy): coop, given no --arch, picks the
 * pointnet energy on P points, the point-generator onto 1×P×3 and the
 * pointnet recipe (range [-1, 1]); `ebm sample` draws clouds from the
 * checkpoint, revised (the default) or G(z) alone. A range other than
 * [-1, 1] is refused in one line. */
TEST(cli_coop_trains_on_point_clouds_with_the_point_presets) {
  char data[512], run[512];
  snprintf(data, sizeof data, "%s", test_path("clouds.npy"));
  snprintf(run, sizeof run, "%s", test_path("coop-points"));
  cli_result r = run_cli("data make points:shapes --n 4 --points 32 --out %s", data);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("train --method coop --data npy:%s --iters 2 --batch 2 --steps 1 --seed 1 --out %s", data, run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "recipe pointnet for npy:");
  CHECK_CONTAINS(r.err, "energy {\"preset\": \"pointnet\", \"in_dim\": 32}, generator {\"preset\": "
                        "\"point-generator\", \"in_dim\": 64, \"shape\": [1, 32, 3]}");
  CHECK_CONTAINS(r.out, "step 2 of 2");
  cli_result_free(&r);
  ebm_net *g = run_generator(run);
  REQUIRE(ebm_net_out_ndim(g) == 3);
  CHECK_EQ_INT((int)ebm_net_out_shape(g)[0], 1);
  CHECK_EQ_INT((int)ebm_net_out_shape(g)[1], 32);
  CHECK_EQ_INT((int)ebm_net_out_shape(g)[2], 3);
  ebm_net_free(g);
  for (int alone = 0; alone < 2; alone++) {
    const char *out = test_path(alone ? "g.npy" : "s.npy");
    r = run_cli("sample --ckpt %s/ckpt/last.safetensors --n 3 --seed 1 --out %s%s", run, out,
                alone ? " --from-generator" : "");
    CHECK_EQ_INT(r.code, 0);
    cli_result_free(&r);
    ebm_npy s = {0};
    REQUIRE_OK(ebm_npy_load(out, &s));
    CHECK(s.dtype == EBM_DTYPE_F32 && s.shape[0] == 3);
    int64_t numel = 1;
    for (int d = 0; d < s.ndim; d++) numel *= s.shape[d];
    CHECK(numel == 3 * 32 * 3);
    int inside = 1;
    for (int64_t k = 0; k < numel; k++) inside &= ((const float *)s.data)[k] >= -1 && ((const float *)s.data)[k] <= 1;
    CHECK(inside);
    ebm_npy_free(&s);
    r = run_cli("eval points --samples %s --ref %s", out, data);
    CHECK_EQ_INT(r.code, 0);
    CHECK_CONTAINS(r.out, "3 sample clouds of 32 points against 4 references");
    cli_result_free(&r);
  }
  r = run_cli("train --method coop --data npy:%s --range 0,1 --iters 1 --batch 2 --out %s", data, test_path("run"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "the point-cloud presets model coordinates in [-1, 1], not [0, 1]");
  cli_result_free(&r);
}

/* The neighbourhood-aware pair: --arch dgcnn (edge convolutions) brings the
 * pointnet recipe and --generator the folding generator; the checkpoint's
 * generator folds a grid into 1×32×3 clouds and ebm sample draws them. */
TEST(cli_coop_trains_on_point_clouds_with_dgcnn_and_the_folding_generator) {
  char data[512], run[512];
  snprintf(data, sizeof data, "%s", test_path("clouds.npy"));
  snprintf(run, sizeof run, "%s", test_path("coop-fold"));
  cli_result r = run_cli("data make points:shapes --n 4 --points 32 --out %s", data);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("train --method coop --data npy:%s --arch dgcnn --width 4 --generator "
              "'{\"preset\":\"point-folding-generator\",\"width\":8,\"shape\":[1,32,3]}' "
              "--iters 2 --batch 2 --steps 1 --seed 1 --out %s", data, run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "recipe dgcnn for npy:");
  CHECK_CONTAINS(r.out, "step 2 of 2");
  cli_result_free(&r);
  ebm_net *g = run_generator(run);
  ebm_layer_info info;
  REQUIRE_OK(ebm_net_layer_info(g, 2, &info));
  CHECK_EQ_STR(info.type, "point_grid");
  CHECK_EQ_INT((int)ebm_net_out_shape(g)[1], 32);
  ebm_net_free(g);
  r = run_cli("sample --ckpt %s/ckpt/last.safetensors --n 3 --seed 1 --out %s --from-generator", run,
              test_path("g.npy"));
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("eval points --samples %s --ref %s", test_path("g.npy"), data);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "3 sample clouds of 32 points against 4 references");
  cli_result_free(&r);
  r = run_cli("train --method coop --data npy:%s --arch '{\"preset\":\"dgcnn\",\"in_dim\":32,\"k\":40}' "
              "--iters 1 --batch 2 --out %s", data, test_path("run"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "preset 'dgcnn': k = 40 neighbours is more than the cloud's 32 points");
  cli_result_free(&r);
}

/* Coop with a generator whose z sets the orientation (point_rotate) over a
 * folded closed template: the checkpoint keeps the template and the head
 * rows, ebm sample draws 3 clouds from it, and a bad template is one line. */
TEST(cli_coop_trains_on_point_clouds_with_the_rotating_sphere_fold) {
  char data[512], run[512];
  snprintf(data, sizeof data, "%s", test_path("clouds.npy"));
  snprintf(run, sizeof run, "%s", test_path("coop-rot"));
  cli_result r = run_cli("data make points:shapes --n 4 --points 32 --out %s", data);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("train --method coop --data npy:%s --arch '{\"preset\":\"pointnet\",\"width\":4,\"in_dim\":32}' "
              "--generator '{\"preset\":\"point-folding-generator\",\"width\":8,\"shape\":[1,32,3],"
              "\"template\":\"sphere\",\"rotate\":true}' --iters 2 --batch 2 --steps 1 --seed 1 --out %s", data, run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "step 2 of 2");
  cli_result_free(&r);
  ebm_net *g = run_generator(run);
  CHECK_CONTAINS(ebm_net_arch_json(g), "\"template\":\"sphere\"");
  ebm_layer_info info;
  REQUIRE_OK(ebm_net_layer_info(g, 2, &info));
  CHECK_CONTAINS(info.detail, "32 points on the unit sphere, 2 head rows first");
  REQUIRE_OK(ebm_net_layer_info(g, ebm_net_layer_count(g) - 1, &info));
  CHECK_EQ_STR(info.type, "point_rotate");
  CHECK_EQ_INT((int)ebm_net_out_shape(g)[1], 32);
  ebm_net_free(g);
  r = run_cli("sample --ckpt %s/ckpt/last.safetensors --n 3 --seed 1 --out %s", run, test_path("s.npy"));
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  ebm_npy s;
  REQUIRE_OK(ebm_npy_load(test_path("s.npy"), &s));
  CHECK(s.ndim == 4 && s.shape[0] == 3 && s.shape[1] == 1 && s.shape[2] == 32 && s.shape[3] == 3);
  ebm_npy_free(&s);
  r = run_cli("train --method coop --data npy:%s --generator '{\"preset\":\"point-folding-generator\","
              "\"shape\":[1,32,3],\"template\":\"klein\"}' --iters 1 --batch 2 --out %s", data, test_path("run"));
  CHECK_EQ_INT(r.code, 1); /* as every --generator architecture error */
  CHECK_CONTAINS(r.err, "--generator: architecture: top level: 'template' must be \"square\", \"sphere\" or \"torus\"");
  cli_result_free(&r);
}

/* latent-ebm with the voxel generator; `ebm reconstruct` takes the grids as
 * `ebm data make` writes them (N×1×D×H×W) and writes that shape back. */
TEST(cli_latent_ebm_reconstructs_voxel_grids_from_a_5d_npy) {
  char data[512], run[512];
  snprintf(data, sizeof data, "%s", test_path("vox.npy"));
  snprintf(run, sizeof run, "%s", test_path("lat-vox"));
  cli_result r = run_cli("data make shapes3d --n 4 --out %s", data);
  cli_result_free(&r);
  r = run_cli("train --method latent-ebm --data npy:%s --generator '{\"preset\": \"voxel-generator\", \"width\": 2}' "
              "--iters 1 --batch 2 --steps 1 --seed 1 --out %s", data, run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  const char *out = test_path("rec.npy");
  r = run_cli("reconstruct --ckpt %s/ckpt/last.safetensors --input %s --out %s --steps 1", run, data, out);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "4 reconstructions, MSE ");
  cli_result_free(&r);
  ebm_npy a;
  test_load_f32(out, &a);
  CHECK(a.ndim == 5 && a.shape[0] == 4 && a.shape[1] == 1 && a.shape[2] == 32 && a.shape[3] == 32 && a.shape[4] == 32);
  ebm_npy_free(&a);
}

TEST(cli_gebm_refuses_data_without_a_preset_generator_in_one_line) {
  const char *path = test_path("v5.npy");
  const int64_t shape[2] = {8, 5};
  float x[40];
  for (int k = 0; k < 40; k++) x[k] = (float)k / 40.0f;
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, 2, shape, x));
  cli_result r = run_cli("train --method gebm --data npy:%s --iters 1 --batch 4 --out %s", path, test_path("run"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "no preset generator for items of shape [5]");
  CHECK_CONTAINS(r.err, "give --generator");
  cli_result_free(&r);
}

/* latent-ebm's sample picture maps G(z) from its sigmoid's range ([0, 1]
 * here), so the darkest pixel is the darkest sample value; drawn in the
 * toys' box [−4, 4] (the fallback for an energy without a range) every
 * pixel would be grey, 127 or more. */
TEST(cli_sample_draws_latent_ebm_images_in_the_generators_range) {
  const char *run = test_path("latent-img");
  cli_result r = run_cli("train --method latent-ebm --data npy:%s --iters 2 --batch 4 --steps 2 --seed 1 --out %s",
                         image_data("fm.npy", 8, 1, 28, 28), run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  char out[600], png[600];
  snprintf(out, sizeof out, "%s", test_path("s.npy"));
  snprintf(png, sizeof png, "%s", test_path("s.png"));
  r = run_cli("sample --ckpt %s/ckpt/last.safetensors --n 2 --out %s --png %s", run, out, png);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  ebm_npy x = {0};
  REQUIRE_OK(ebm_npy_load(out, &x));
  REQUIRE(x.dtype == EBM_DTYPE_F32 && x.ndim == 4 && x.shape[0] == 2);
  const float *v = x.data;
  float lo = v[0];
  for (int64_t k = 1; k < 2 * 28 * 28; k++) lo = v[k] < lo ? v[k] : lo;
  int w = 0, h = 0, c = 0;
  uint8_t *pixels = NULL;
  REQUIRE_OK(ebm_png_read(png, &w, &h, &c, &pixels));
  int darkest = 255;
  for (int64_t k = 0; k < (int64_t)w * h * c; k++) darkest = pixels[k] < darkest ? pixels[k] : darkest;
  CHECK(lo >= 0.0f && lo < 0.5f); /* a sigmoid generator's output; below 4/7, where both maps agree */
  CHECK(abs(darkest - (int)lroundf(255.0f * lo)) <= 1);
  free(pixels);
  ebm_npy_free(&x);
}
