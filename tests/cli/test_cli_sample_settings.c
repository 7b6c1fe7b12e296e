/* `ebm sample` with what a training run leaves: the sampler settings in the
 * checkpoint's metadata (the defaults when no flag is given), the replay
 * buffer of the run (--from-buffer), the data's energy next to the
 * samples' (--data), and annealing (--anneal). */
#include "test_util.h"

static void expect(cli_result r, int code, const char *needle) {
  if (r.code != code) test_fail_at(__FILE__, __LINE__, "exit %d, expected %d; stderr: %s", r.code, code, r.err);
  if (needle && !strstr(code == 0 ? r.out : r.err, needle))
    test_fail_at(__FILE__, __LINE__, "output lacks \"%s\": out: %s err: %s", needle, r.out, r.err);
  cli_result_free(&r);
}

/* A 2-D MLP energy saved with `sampler` metadata (NULL: none). */
static void save_mlp_with_sampler(const char *path, const char *sampler_json) {
  char *json = NULL;
  ebm_net *net = NULL;
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  REQUIRE_OK(ebm_arch_preset("mlp", 0, 2, &json));
  REQUIRE_OK(ebm_net_new(json, 8, &net));
  REQUIRE_OK(ebm_net_init(net, &rng));
  const char *keys[] = {EBM_SAMPLER_META_KEY}, *values[] = {sampler_json};
  REQUIRE_OK(ebm_net_save(net, path, sampler_json ? 1 : 0, keys, values));
  ebm_net_free(net);
  free(json);
}

TEST(cli_sample_defaults_to_the_checkpoint_sampler_settings_and_flags_override) {
  const char *with = test_path("with.safetensors"), *without = test_path("without.safetensors");
  const char *bad = test_path("bad.safetensors"), *out = test_path("s.npy");
  ebm_sampler_config c = ebm_sampler_defaults(EBM_SAMPLER_ULA);
  c.steps = 7;
  c.step_size = 0.05f;
  char text[EBM_SAMPLER_JSON_MAX];
  REQUIRE_OK(ebm_sampler_config_to_json(&c, text, sizeof text));
  save_mlp_with_sampler(with, text);
  save_mlp_with_sampler(without, NULL);
  save_mlp_with_sampler(bad, "{\"kind\":\"ula\",\"steps\":-3}");
  cli_result r = run_cli("sample --ckpt %s --n 8 --out %s", with, out);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "ula: 7 steps on 8 chains");
  CHECK_CONTAINS(r.err, "the checkpoint's sampler settings (ula, 7 steps; flags override)");
  cli_result_free(&r);
  expect(run_cli("sample --ckpt %s --n 8 --steps 3 --out %s", with, out), 0, "ula: 3 steps on 8 chains");
  /* another sampler starts from its own defaults */
  expect(run_cli("sample --ckpt %s --n 8 --sampler mala --out %s", with, out), 0, "mala: 100 steps");
  /* the same through an energy spec naming the checkpoint */
  expect(run_cli("sample --energy %s --n 8 --out %s", with, out), 0, "ula: 7 steps");
  /* no settings recorded: the IGEBM Langevin defaults, as before */
  r = run_cli("sample --ckpt %s --n 8 --out %s", without, out);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "langevin: 60 steps on 8 chains");
  CHECK(!strstr(r.err, "sampler settings"));
  cli_result_free(&r);
  expect(run_cli("sample --ckpt %s --n 8 --out %s", bad, out), 1, "bad.safetensors: sampler settings: steps must be");
}

/* --steps 0 returns the chains where they started: every sample is an item
 * of the run's replay buffer (none is fresh noise). */
TEST(cli_sample_from_buffer_starts_from_the_runs_replay_buffer) {
  const char *run = test_path("run"), *out = test_path("s.npy");
  expect(run_cli("train --data toy:8gaussians:train:300 --arch mlp --width 16 --batch 16 --steps 3 --sampler ula "
                 "--step-size 0.1 --iters 3 --seed 3 --out %s", run),
         0, NULL);
  expect(run_cli("sample --from-buffer %s --steps 0 --n 20 --out %s", run, out), 0, "0 steps on 20 chains");
  char state[4200];
  snprintf(state, sizeof state, "%s/ckpt/last.state.safetensors", run);
  ebm_safetensors *st = NULL;
  ebm_replay *rb = NULL;
  REQUIRE_OK(ebm_safetensors_load(state, &st));
  REQUIRE_OK(ebm_replay_load(st, &rb));
  ebm_safetensors_free(st);
  int64_t stored = ebm_replay_size(rb, -1);
  REQUIRE(stored >= 16);
  float *items = malloc(sizeof(float) * 2 * (size_t)stored);
  REQUIRE(items);
  CHECK_EQ_INT(ebm_replay_peek(rb, -1, stored, items), stored);
  ebm_npy a;
  test_load_f32(out, &a);
  REQUIRE(a.ndim == 2 && a.shape[0] == 20 && a.shape[1] == 2);
  const float *x = a.data;
  for (int i = 0; i < 20; i++) {
    int hit = 0;
    for (int64_t k = 0; k < stored && !hit; k++) hit = memcmp(x + 2 * i, items + 2 * k, 2 * sizeof(float)) == 0;
    CHECK(hit);
  }
  ebm_npy_free(&a);
  free(items);
  ebm_replay_free(rb);
  /* the model may be named too; a run without a state file is named */
  char ckpt[4200];
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  expect(run_cli("sample --from-buffer %s --ckpt %s --steps 2 --n 4 --out %s", run, ckpt, out), 0, "2 steps on 4");
  expect(run_cli("sample --from-buffer %s --ckpt %s --steps 0 --out %s", test_path("norun"), ckpt, out), 1,
         "norun/ckpt/last.state.safetensors");
  expect(run_cli("sample --from-buffer %s --init data:toy:rings --out %s", run, out), 2,
         "--from-buffer and --init data:toy:rings both say where chains start");
  /* a buffer of other items than the model's */
  expect(run_cli("sample --from-buffer %s --energy gaussian:3 --steps 0 --out %s", run, out), 1,
         "the replay buffer holds items [2] in 0 classes, gaussian:3 takes [3] in 0");
}

/* The data's mean energy under the same model, next to the samples'. */
TEST(cli_sample_reports_the_data_energy_next_to_the_samples) {
  const char *out = test_path("s.npy");
  cli_result r = run_cli("sample --energy toy:8gaussians --steps 5 --n 200 --data toy:8gaussians --out %s", out);
  CHECK_EQ_INT(r.code, 0);
  const char *p = strstr(r.out, ", data mean energy ");
  REQUIRE(p);
  /* the toy's energy is its exact −log p, so the data's mean energy
   * estimates its entropy, 2.1450 nats (README); −log p of one point has a
   * spread of about 1 nat, so 200 items are within 0.5 by far */
  double e = atof(p + strlen(", data mean energy "));
  CHECK_NEAR(e, 2.145, 0.5);
  cli_result_free(&r);
  expect(run_cli("sample --energy gaussian:3 --data toy:rings --out %s", out), 1, "--data toy:rings has items [2]");
  expect(run_cli("sample --energy gaussian:2 --data nosuch:x --out %s", out), 2, "--data nosuch:x");
}

TEST(cli_sample_anneal_runs_its_steps_and_checks_its_value) {
  const char *out = test_path("s.npy");
  expect(run_cli("sample --energy gaussian:2 --anneal 8 --steps 40 --n 16 --out %s", out), 0,
         "mala: 40 steps on 16 chains");
  expect(run_cli("sample --energy gaussian:2 --anneal 0.5 --out %s", out), 2, "--anneal must be in [1, 1e6]");
}
