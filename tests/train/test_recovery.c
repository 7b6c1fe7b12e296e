/* Diffusion recovery likelihood (src/sample/recovery.c, src/train/method_recovery.c):
 * the level-t conditional on a Gaussian against its closed form, the σ
 * schedule, training end to end with one and several levels, bit-exact
 * resume, sampling from noise to data, and bad input. */
#include "ebm/recovery_meta.h"
#include "train/train_internal.h"
#include "test_util.h"
#include "train/train_testutil.h"

/* A 2-D MLP whose hidden layers take the noise level. */
static const char *const sigma_mlp =
    "{\"input\": [2], \"layers\": ["
    "{\"type\": \"linear\", \"name\": \"l0\", \"out\": 16}, "
    "{\"type\": \"cond_affine\", \"name\": \"film0\", \"sigma\": true}, {\"type\": \"swish\"},"
    "{\"type\": \"linear\", \"name\": \"l1\", \"out\": 16}, "
    "{\"type\": \"cond_affine\", \"name\": \"film1\", \"sigma\": true}, {\"type\": \"swish\"},"
    "{\"type\": \"linear\", \"name\": \"l2\", \"out\": 1}]}";
static const char *const plain_mlp = "{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": 16, \"depth\": 2}";

/* E = N((0, 1), diag(1, 0.25)) and the conditional's quadratic term at y
 * with width s: p(x | y) is Gaussian with precision 1/v + 1/s² and mean
 * (m/v + y/s²)/(1/v + 1/s²) per coordinate. 4000 chains from y, 600 steps
 * at b = 0.01 (ULA's variance bias ελ/2 ≈ 0.5%, below the tolerance). */
TEST(recovery_conditional_of_a_gaussian_matches_the_closed_form) {
  enum { n = 4000, D = 2 };
  const double m[D] = {0, 1}, v[D] = {1, 0.25}, y0[D] = {1.5, -0.5}, s0 = 0.5;
  const double cov[D * D] = {v[0], 0, 0, v[1]};
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(D, m, cov, &en));
  float *x = malloc(sizeof(float) * n * D), *y = malloc(sizeof(float) * n * D), *grad = malloc(sizeof(float) * n * D),
        *z = malloc(sizeof(float) * n * D), *e = malloc(sizeof(float) * n), *s = malloc(sizeof(float) * n);
  REQUIRE(x && y && grad && z && e && s);
  for (int i = 0; i < n; i++) {
    s[i] = (float)s0;
    for (int k = 0; k < D; k++) y[i * D + k] = x[i * D + k] = (float)y0[k];
  }
  ebm_rng rng;
  ebm_rng_init(&rng, 31);
  REQUIRE_OK(ebm_recovery_conditional(en, y, s, n, 600, 0.01f, &rng, x, e, grad, z));
  for (int k = 0; k < D; k++) {
    const double lambda = 1 / v[k] + 1 / (s0 * s0), mean = (m[k] / v[k] + y0[k] / (s0 * s0)) / lambda;
    const double var = 1 / lambda;
    double mu = 0, q = 0;
    for (int i = 0; i < n; i++) mu += x[i * D + k] / n;
    for (int i = 0; i < n; i++) q += (x[i * D + k] - mu) * (x[i * D + k] - mu) / (n - 1);
    printf("    coordinate %d: mean %.4f (closed form %.4f), variance %.5f (%.5f)\n", k, mu, mean, q, var);
    CHECK_NEAR(mu, mean, 5 * sqrt(var / n));
    CHECK_NEAR(q, var, 5 * var * sqrt(2.0 / n) + 0.01 * var);
  }
  free(x);
  free(y);
  free(grad);
  free(z);
  free(e);
  free(s);
  ebm_energy_free(en);
}

TEST(recovery_sigma_schedule_grows_geometrically_from_sigma_min) {
  ebm_recovery_config r = {.levels = 3, .sigma_min = 0.1f, .sigma_max = 0.4f, .steps = 1, .step = 0.1f};
  CHECK_NEAR(ebm_recovery_sigma(&r, 1), 0.1, 1e-7);
  CHECK_NEAR(ebm_recovery_sigma(&r, 2), 0.2, 1e-7);
  CHECK_NEAR(ebm_recovery_sigma(&r, 3), 0.4, 1e-7);
  r.levels = 1;
  CHECK_NEAR(ebm_recovery_sigma(&r, 1), 0.1, 1e-7);
  r.step = 2.0f;
  CHECK(ebm_recovery_config_check(&r) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "recovery-step must be in (0, 2)") != NULL);
}

static ebm_train_config recovery_config(int levels) {
  ebm_train_config c = tt_toy_config(32, 5, 6);
  char lv[16];
  snprintf(lv, sizeof lv, "%d", levels);
  REQUIRE_OK(ebm_train_config_set(&c, "method", "recovery"));
  REQUIRE_OK(ebm_train_config_set(&c, "levels", lv));
  REQUIRE_OK(ebm_train_config_set(&c, "sigma-min", "0.3"));
  REQUIRE_OK(ebm_train_config_set(&c, "sigma-max", "1"));
  return c;
}

TEST(recovery_with_one_level_trains_a_plain_mlp_and_resumes_bit_exactly) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:256", 0, 1, &ds));
  ebm_train_config c = recovery_config(1);
  tt_check_resume_bit_exact(ds, c, plain_mlp, NULL, 0);
  ebm_dataset_free(ds);
}

TEST(recovery_with_levels_trains_a_noise_conditioned_mlp_and_resumes_bit_exactly) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:256", 0, 1, &ds));
  ebm_train_config c = recovery_config(4);
  tt_check_resume_bit_exact(ds, c, sigma_mlp, NULL, 0);
  ebm_dataset_free(ds);
}

/* Sampling from noise to data: every level is written and moved from the
 * one above, the samples are finite, and a network that takes no
 * noise level is refused more than one level. */
TEST(recovery_sampling_runs_the_levels_from_noise_to_data) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(sigma_mlp, 64, &net));
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  REQUIRE_OK(ebm_net_init(net, &rng));
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  enum { n = 100, T = 3 };
  ebm_recovery_config r = {.levels = T, .sigma_min = 0.1f, .sigma_max = 1.0f, .steps = 10, .step = 0.1f,
                           .range_lo = -4, .range_hi = 4};
  float x[n * 2], levels[(T + 1) * n * 2];
  REQUIRE_OK(ebm_recovery_sample(en, &r, NULL, &rng, n, x, levels));
  for (int k = 0; k < (T + 1) * n * 2; k++) CHECK(isfinite(levels[k]));
  for (int t = 0; t < T; t++) CHECK(memcmp(levels + t * n * 2, levels + (t + 1) * n * 2, sizeof x) != 0);
  CHECK(memcmp(x, levels, sizeof x) == 0); /* level 0 is the result */
  ebm_energy_free(en);
  ebm_net_free(net);
  ebm_net *plain = tt_mlp(8, 0, 16, 1);
  en = ebm_net_as_energy(plain);
  REQUIRE(en);
  CHECK(ebm_recovery_sample(en, &r, NULL, &rng, n, x, NULL) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "does not take a noise level") != NULL);
  ebm_energy_free(en);
  ebm_net_free(plain);
}

/* The noisiest level x_T = start + N(0, σ̄²), σ̄² = Σ_t s_t²: from the
 * data's Gaussian its mean and variance per coordinate are the data's
 * (+ σ̄²), the noisiest marginal's; from uniform noise on [−4, 4] they are
 * the box's (mean 0, variance 64/12). Within 5 standard errors on 20 000
 * chains (the variance's SE from the fourth moment of a Gaussian, √(2/n)·v,
 * and of the uniform plus Gaussian, below that bound's 2× margin). */
TEST(recovery_sampling_starts_at_the_datas_gaussian_plus_the_summed_noise) {
  enum { n = 20000, T = 2, FIT = 5000 };
  const double mean[2] = {1.0, -2.0}, sd[2] = {0.5, 0.25};
  static float data[FIT * 2], x[n * 2], levels[(T + 1) * n * 2];
  ebm_rng rng;
  ebm_rng_init(&rng, 17);
  for (int i = 0; i < FIT * 2; i++) data[i] = (float)(mean[i % 2] + sd[i % 2] * ebm_rng_gauss(&rng));
  ebm_energy *start = NULL;
  REQUIRE_OK(ebm_gaussian_energy_fit(data, FIT, 2, FIT, &start));
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(sigma_mlp, n, &net));
  REQUIRE_OK(ebm_net_init(net, &rng));
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  ebm_recovery_config r = {.levels = T, .sigma_min = 0.3f, .sigma_max = 0.6f, .steps = 1, .step = 0.1f,
                           .range_lo = -4, .range_hi = 4};
  const double spread = 0.3 * 0.3 + 0.6 * 0.6;
  for (int from_gaussian = 0; from_gaussian < 2; from_gaussian++) {
    REQUIRE_OK(ebm_recovery_sample(en, &r, from_gaussian ? start : NULL, &rng, n, x, levels));
    const float *top = levels + (size_t)T * n * 2;
    for (int d = 0; d < 2; d++) {
      double m = 0, v = 0;
      for (int i = 0; i < n; i++) m += top[2 * i + d] / (double)n;
      for (int i = 0; i < n; i++) v += (top[2 * i + d] - m) * (top[2 * i + d] - m) / (double)(n - 1);
      const double want_m = from_gaussian ? mean[d] : 0.0;
      const double want_v = (from_gaussian ? sd[d] * sd[d] : 64.0 / 12.0) + spread;
      CHECK_NEAR(m, want_m, 5 * sqrt(want_v / n) + (from_gaussian ? 5 * sd[d] / sqrt((double)FIT) : 0));
      CHECK_NEAR(v, want_v, 5 * 2 * sqrt(2.0 / n) * want_v + (from_gaussian ? 5 * sqrt(2.0 / FIT) * sd[d] * sd[d] : 0));
    }
  }
  ebm_energy_free(en);
  ebm_net_free(net);
  ebm_energy_free(start);
}

/* --init gaussian on a recovery run: accepted, recorded in the checkpoint
 * ("gaussian:<the data>"), the run resumes bit-exactly and trains exactly
 * as from uniform noise (its chains start at noisy data: the start is the
 * sampler's alone), and `ebm sample --ckpt` starts its chain of levels
 * there (and from uniform noise when told so); a start that is no noise is
 * refused in one line. */
TEST(recovery_with_gaussian_init_records_it_and_sample_starts_its_levels_there) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:128", -4, 4, &ds));
  ebm_train_config c = recovery_config(3);
  REQUIRE_OK(ebm_train_config_set(&c, "init", "gaussian"));
  REQUIRE_OK(ebm_train_config_check(&c));
  char ckpt[600], out[600];
  tt_check_resume_bit_exact(ds, c, sigma_mlp, ckpt, sizeof ckpt);
  char text[EBM_CHAIN_START_TEXT_MAX];
  int found = 0;
  REQUIRE_OK(ebm_chain_start_from_checkpoint(ckpt, text, &found));
  CHECK(found);
  CHECK_EQ_STR(text, "gaussian:toy:8gaussians:train:128");
  char state[700], uniform_state[700], uniform_dir[512];
  ebm_run_state_path(test_path("straight"), state, sizeof state);
  snprintf(uniform_dir, sizeof uniform_dir, "%s", test_path("uniform"));
  c.chain_start = EBM_START_UNIFORM;
  c.lr_decay = EBM_LR_CONSTANT; /* as the resume check ran it */
  ebm_run_opts o = {.run_dir = uniform_dir, .arch_json = sigma_mlp, .save_every = 2, .log_every = 1};
  int64_t done = 0;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  CHECK(test_same_file(state, ebm_run_state_path(uniform_dir, uniform_state, sizeof uniform_state)));
  snprintf(out, sizeof out, "%s", test_path("g.npy"));
  cli_result res = run_cli("sample --ckpt %s --out %s --n 16", ckpt, out);
  CHECK_EQ_INT(res.code, 0);
  CHECK_CONTAINS(res.out, "recovery: 3 levels (sigma 0.3..1) x 5 steps on 16 chains of");
  CHECK_CONTAINS(res.out, "from gaussian noise");
  CHECK_CONTAINS(res.err, "chains start from gaussian:toy:8gaussians:train:128, as in training");
  cli_result_free(&res);
  res = run_cli("sample --ckpt %s --out %s --n 16 --init uniform", ckpt, out);
  CHECK_EQ_INT(res.code, 0);
  CHECK_CONTAINS(res.out, "from uniform noise");
  cli_result_free(&res);
  res = run_cli("sample --ckpt %s --out %s --n 16 --init data:toy:8gaussians:test:16", ckpt, out);
  CHECK_EQ_INT(res.code, 2);
  CHECK_CONTAINS(res.err, "--init data:toy:8gaussians:test:16: a chain of noise levels starts from "
                          "noise: --init uniform or gaussian:SPEC");
  cli_result_free(&res);
  ebm_dataset_free(ds);
}

TEST(recovery_refuses_levels_without_a_noise_conditioned_network) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:64", 0, 1, &ds));
  ebm_train_config c = recovery_config(3);
  ebm_net *net = tt_mlp(8, 0, 32, 1);
  ebm_trainer *t = NULL;
  CHECK(ebm_trainer_new(net, ds, &c, &t) == EBM_ERR_ARG);
  CHECK_EQ_STR(ebm_last_error(), "recovery with 3 levels needs a network that takes the noise level "
                                 "(a cond_affine layer with \"sigma\": true)");
  REQUIRE_OK(ebm_train_config_set(&c, "recovery-step", "0"));
  CHECK(ebm_train_config_check(&c) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "recovery-step must be in (0, 2)") != NULL);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}

/* The checkpoint records the schedule (metadata "recovery"), so `ebm
 * sample --ckpt M` runs the levels without flags, and `ebm eval nll`
 * scores the level-0 marginal E(x, σ = s_1), which equals the network at
 * σ = sigma_min. */
TEST(recovery_checkpoint_records_its_schedule_for_sample_and_eval_nll) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:128", -4, 4, &ds));
  ebm_train_config c = recovery_config(3);
  char dir[512], ckpt[600], out[600];
  snprintf(dir, sizeof dir, "%s", test_path("rec"));
  ebm_run_opts o = {.run_dir = dir, .arch_json = sigma_mlp, .log_every = 1};
  int64_t done = 0;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  ebm_run_ckpt_path(dir, ckpt, sizeof ckpt);
  ebm_recovery_config r = {.levels = 1, .range_lo = -4, .range_hi = 4};
  int found = 0;
  REQUIRE_OK(ebm_recovery_config_from_checkpoint(ckpt, &r, &found));
  CHECK_EQ_INT(found, 1);
  CHECK_EQ_INT(r.levels, 3);
  CHECK(r.sigma_min == 0.3f && r.sigma_max == 1.0f && r.step == 0.1f && r.range_lo == -4);
  CHECK_EQ_INT(r.steps, c.sampler.steps);
  /* level 0: the network at σ = s_1 = sigma_min, item for item */
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_load(ckpt, 8, &net));
  ebm_energy *model = ebm_net_as_energy(net), *level0 = NULL;
  REQUIRE(model != NULL);
  REQUIRE_OK(ebm_recovery_level0_energy(model, &r, &level0));
  CHECK_EQ_INT(level0->needs_sigma, 0);
  float e0[8], e[8], sig[8];
  for (int i = 0; i < 8; i++) sig[i] = 0.3f;
  ebm_cond cond = {.sigma = sig};
  REQUIRE_OK(ebm_energy_eval(level0, ds->x->data, NULL, 8, e0, NULL));
  REQUIRE_OK(ebm_net_forward(net, ds->x->data, &cond, 8, e));
  CHECK(memcmp(e0, e, sizeof e) == 0);
  ebm_energy_free(level0);
  /* the schedule text round-trips; a bad one is refused naming the key */
  char text[256];
  ebm_recovery_config back = {0};
  REQUIRE_OK(ebm_recovery_config_parse(ebm_recovery_config_format(&r, text, sizeof text), &back));
  CHECK(back.levels == r.levels && back.sigma_min == r.sigma_min && back.sigma_max == r.sigma_max &&
        back.steps == r.steps && back.step == r.step);
  CHECK_FAILS_WITH(ebm_recovery_config_parse("levels=x", &back), EBM_ERR_FORMAT, "levels expects a number");
  /* the verbs read it */
  snprintf(out, sizeof out, "%s", test_path("rec.npy"));
  cli_result res = run_cli("sample --ckpt %s --out %s --n 16", ckpt, out);
  CHECK_EQ_INT(res.code, 0);
  CHECK(strstr(res.out, "recovery: 3 levels (sigma 0.3..1)") != NULL);
  CHECK(strstr(res.err, "the checkpoint's recovery schedule") != NULL);
  cli_result_free(&res);
  res = run_cli("eval nll --ckpt %s --data toy:8gaussians:test:200 --cells 64", ckpt);
  CHECK_EQ_INT(res.code, 0);
  CHECK(strstr(res.out, "level-0 marginal E(x, sigma=0.3)") != NULL);
  cli_result_free(&res);
  ebm_energy_free(model);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}

/* examples/arch/noise-conditioned-uva-cnn.json, the network of the
 * Fashion-MNIST recovery run (scripts/compare-estimators.sh), is uva-cnn
 * with a noise-level affine after each convolution, so the estimators there
 * compare the same energy: every uva-cnn parameter is in it under its name
 * with its shape, it takes σ, and a recovery run on 28×28 images trains
 * with it (two levels, two steps) and samples its levels from noise. */
TEST(recovery_noise_conditioned_uva_cnn_is_uva_cnn_with_sigma_layers) {
  char arch_path[600];
  snprintf(arch_path, sizeof arch_path, "%s/examples/arch/noise-conditioned-uva-cnn.json", EBM_SOURCE_DIR);
  char *json = test_read_text(arch_path), *uva_json = NULL;
  REQUIRE(json != NULL);
  REQUIRE_OK(ebm_arch_preset("uva-cnn", 0, 0, &uva_json));
  ebm_net *net = NULL, *uva = NULL;
  REQUIRE_OK(ebm_net_new(json, 4, &net));
  REQUIRE_OK(ebm_net_new(uva_json, 4, &uva));
  CHECK(ebm_net_needs_sigma(net));
  CHECK(!ebm_net_needs_sigma(uva));
  int matched = 0;
  for (int i = 0; i < ebm_net_param_count(uva); i++) {
    const ebm_param *want = ebm_net_param(uva, i);
    for (int j = 0; j < ebm_net_param_count(net); j++) {
      const ebm_param *have = ebm_net_param(net, j);
      if (strcmp(have->name, want->name) != 0) continue;
      CHECK_EQ_INT(have->value->ndim, want->value->ndim);
      for (int d = 0; d < want->value->ndim && d < have->value->ndim; d++)
        CHECK_EQ_INT(have->value->shape[d], want->value->shape[d]);
      matched++;
    }
  }
  CHECK_EQ_INT(matched, ebm_net_param_count(uva));
  ebm_net_free(uva);
  ebm_net_free(net);
  free(uva_json);

  enum { n = 8, side = 28 };
  float *img = malloc((size_t)n * side * side * sizeof *img);
  REQUIRE(img != NULL);
  ebm_rng rng;
  ebm_rng_init(&rng, 9);
  ebm_rng_uniform(&rng, img, (int64_t)n * side * side, 0.0f, 1.0f);
  const int64_t shape[4] = {n, 1, side, side};
  char npy[600], spec[620], dir[600], ckpt[700], out[700], png[700];
  snprintf(npy, sizeof npy, "%s", test_path("img.npy"));
  REQUIRE_OK(ebm_npy_save(npy, EBM_DTYPE_F32, 4, shape, img));
  free(img);
  snprintf(spec, sizeof spec, "npy:%s", npy);
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load(spec, -1, 1, &ds));
  ebm_train_config c = ebm_train_defaults();
  REQUIRE_OK(ebm_train_preset("uva", &c));
  c.batch = 4;
  c.iters = 2;
  c.sampler.steps = 2;
  REQUIRE_OK(ebm_train_config_set(&c, "method", "recovery"));
  REQUIRE_OK(ebm_train_config_set(&c, "levels", "2"));
  REQUIRE_OK(ebm_train_config_set(&c, "sigma-min", "0.05"));
  REQUIRE_OK(ebm_train_config_set(&c, "sigma-max", "0.5"));
  snprintf(dir, sizeof dir, "%s", test_path("rec-uva"));
  ebm_run_opts o = {.run_dir = dir, .arch_json = json, .log_every = 1};
  int64_t done = 0;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  CHECK_EQ_INT(done, 2);
  ebm_run_ckpt_path(dir, ckpt, sizeof ckpt);
  snprintf(out, sizeof out, "%s", test_path("rec-uva.npy"));
  snprintf(png, sizeof png, "%s", test_path("rec-uva-levels.png"));
  cli_result res = run_cli("sample --ckpt %s --out %s --n 4 --levels-png %s", ckpt, out, png);
  CHECK_EQ_INT(res.code, 0);
  CHECK(strstr(res.out, "recovery: 2 levels (sigma 0.05..0.5)") != NULL);
  cli_result_free(&res);
  char *bytes = test_read_text(png);
  CHECK(bytes && memcmp(bytes, "\x89PNG", 4) == 0);
  free(bytes);
  ebm_npy a;
  REQUIRE_OK(ebm_npy_load(out, &a));
  CHECK_EQ_INT(a.ndim, 4);
  CHECK_EQ_INT(a.shape[0], 4);
  for (int64_t k = 0; k < 4 * side * side; k++) CHECK(isfinite(((const float *)a.data)[k]));
  ebm_npy_free(&a);
  ebm_dataset_free(ds);
  free(json);
}
