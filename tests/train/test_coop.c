/* Cooperative networks (method_coop.c): the generator's regression loss by
 * hand, both updates' parameter gradients against finite differences with
 * the samples fixed (the energy's ML update as the coop trainer runs it,
 * the generator's regression on the revisions), resume, a tiny run whose
 * generator learns the data, and the shapes it refuses. */
#include "test_util.h"
#include "train/train_generator.h"
#include "train/train_testutil.h"

TEST(generator_regression_loss_is_the_hand_value) {
  const float x_gen[4] = {0, 1, 2, 3}, x_rev[4] = {1, 1, 2, 1};
  float dx[4];
  /* ½(1 + 0) + ½(0 + 4) = 2.5 over 2 items */
  CHECK_NEAR(train_generator_regression_loss(x_gen, x_rev, 2, 2, 1.0, dx), 1.25, 1e-12);
  const float want[4] = {-0.5f, 0, 0, 1}; /* (x_gen − x_rev)/2 */
  for (int k = 0; k < 4; k++) CHECK_NEAR(dx[k], want[k], 1e-7);
  /* the latent EBM's scale 1/σ² multiplies both */
  CHECK_NEAR(train_generator_regression_loss(x_gen, x_rev, 2, 2, 4.0, dx), 5.0, 1e-12);
  CHECK_NEAR(dx[3], 4.0, 1e-7);
  CHECK_NEAR(train_generator_regression_loss(x_gen, x_gen, 2, 2, 1.0, NULL), 0.0, 0.0);
}

enum { N = 6 };
typedef struct {
  ebm_net *generator;
  float z[N * 3], x_rev[N * 2], x_gen[N * 2], dx[N * 2];
} gen_case;

static double generator_loss(void *ctx) {
  gen_case *c = ctx;
  REQUIRE_OK(ebm_net_forward(c->generator, c->z, NULL, N, c->x_gen));
  return train_generator_regression_loss(c->x_gen, c->x_rev, N, 2, 1.0, NULL);
}

TEST(coop_generator_gradient_matches_finite_differences_with_revisions_fixed) {
  gen_case c;
  c.generator = tt_generator(3, 8, N, 21);
  ebm_rng rng;
  ebm_rng_init(&rng, 22);
  ebm_rng_normal(&rng, c.z, N * 3, 0.0f, 1.0f);
  ebm_rng_uniform(&rng, c.x_rev, N * 2, -2.0f, 2.0f);
  double loss = 0;
  REQUIRE_OK(ebm_net_forward(c.generator, c.z, NULL, N, c.x_gen));
  REQUIRE_OK(train_generator_regression_backward(c.generator, c.x_gen, c.x_rev, N, 1.0, c.dx, 1, &loss));
  CHECK_NEAR(loss, generator_loss(&c), 1e-6 * (1 + loss));
  for (int trial = 0; trial < 4; trial++) {
    double fd, analytic;
    tt_directional_fd(c.generator, generator_loss, &c, &rng, &fd, &analytic);
    CHECK_NEAR(analytic, fd, 2e-3 * (fabs(fd) + 1e-2));
  }
  ebm_net_free(c.generator);
}

static ebm_train_config coop_config(int64_t batch, int steps, int64_t iters) {
  ebm_train_config c = tt_toy_config(batch, steps, iters);
  c.method = (ebm_train_method)ebm_train_method_from_name("coop");
  c.adam.lr = 2e-3f;
  c.seed = 7;
  return c;
}

/* The energy's update as a coop trainer runs it: the ML loss on the data
 * batch against the (fixed) revised samples. */
static double energy_loss(void *ctx) {
  ebm_trainer *t = ctx;
  REQUIRE_OK(ebm_net_energy(t->net, t->x_pos, NULL, N, t->e_pos));
  REQUIRE_OK(ebm_net_energy(t->net, t->x_neg, NULL, N, t->e_neg));
  return ebm_train_loss(t->e_pos, t->e_neg, N, t->cfg.alpha);
}

TEST(coop_energy_gradient_matches_finite_differences_with_samples_fixed) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:64", -4, 4, &ds));
  ebm_net *e = tt_mlp(8, 0, N, 31);
  ebm_train_config c = coop_config(N, 3, 10);
  c.alpha = 0.3f; /* the E² term matters */
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(e, ds, &c, &t));
  ebm_rng rng;
  ebm_rng_init(&rng, 32);
  ebm_rng_uniform(&rng, t->x_pos, N * 2, -3.0f, 3.0f);
  ebm_rng_uniform(&rng, t->x_neg, N * 2, -3.0f, 3.0f);
  double e_pos = 0, e_neg = 0, loss = 0;
  REQUIRE_OK(train_contrastive_gradient(t, &e_pos, &e_neg, &loss));
  CHECK_NEAR(loss, energy_loss(t), 1e-6 * (1 + fabs(loss)));
  for (int trial = 0; trial < 4; trial++) {
    double fd, analytic;
    tt_directional_fd(e, energy_loss, t, &rng, &fd, &analytic);
    CHECK_NEAR(analytic, fd, 2e-3 * (fabs(fd) + 1e-2));
  }
  ebm_trainer_free(t);
  ebm_net_free(e);
  ebm_dataset_free(ds);
}

TEST(coop_trainer_refuses_a_generator_of_another_shape_naming_both) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:64", -4, 4, &ds));
  ebm_net *e = tt_mlp(8, 0, 16, 3);
  ebm_train_config c = coop_config(16, 3, 10);
  snprintf(c.generator.arch, sizeof c.generator.arch,
           "{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 3}]}");
  ebm_trainer *t = NULL;
  CHECK(ebm_trainer_new(e, ds, &c, &t) == EBM_ERR_ARG);
  CHECK(t == NULL);
  CHECK(strstr(ebm_last_error(), "output shape [3]") && strstr(ebm_last_error(), "input shape [2]"));
  CHECK(strchr(ebm_last_error(), '\n') == NULL);
  ebm_net_free(e);
  ebm_dataset_free(ds);
}

static const char *const energy_arch = "{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": 32, \"depth\": 2}";

/* Both networks, both optimisers, the sampler's noise and the z draws. */
TEST(coop_resume_is_bit_exact_and_the_checkpoint_has_both_networks) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:256", -4, 4, &ds));
  ebm_train_config c = coop_config(16, 5, 6);
  c.lr_decay = EBM_LR_CONSTANT; /* a cosine schedule's length would change with --iters */
  char ckpt[600];
  tt_check_resume_bit_exact(ds, c, energy_arch, ckpt, sizeof ckpt);
  ebm_net *g = NULL, *e = NULL;
  REQUIRE_OK(ebm_net_load_part(ckpt, "generator", 4, &g));
  REQUIRE_OK(ebm_net_load(ckpt, 4, &e));
  CHECK_EQ_INT((int)ebm_net_out_size(g), 2);
  CHECK_EQ_INT((int)ebm_net_out_size(e), 1);
  ebm_net_free(g);
  ebm_net_free(e);
  ebm_dataset_free(ds);
}

/* Grid KL against the exact 8gaussians density of S draws of G(z). */
static double generator_kl(ebm_net *g, uint64_t seed) {
  enum { S = 4000 };
  float *z = malloc(S * 2 * sizeof(float)), *x = malloc(S * 2 * sizeof(float));
  REQUIRE(z && x);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  ebm_rng_normal(&rng, z, S * 2, 0.0f, 1.0f);
  double kl = 0;
  REQUIRE_OK(ebm_net_forward(g, z, NULL, S, x));
  REQUIRE_OK(ebm_grid_sample_kl(x, S, EBM_TOY_8GAUSSIANS, 4.0, 32, &kl, NULL));
  free(z);
  free(x);
  return kl;
}

/* MCMC teaching works: after a short run the generator alone is much
 * closer to the data than the generator it started from (the same
 * initialisation, stream 3 of the seed). */
TEST(tiny_coop_on_8gaussians_teaches_its_generator) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:2000", -4, 4, &ds));
  ebm_train_config c = coop_config(64, 10, 400);
  char dir[512], ck[600];
  snprintf(dir, sizeof dir, "%s", test_path("run"));
  ebm_run_opts o = {.run_dir = dir, .arch_json = energy_arch, .save_every = 400, .log_every = 50};
  int64_t done = 0;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  ebm_net *trained = NULL, *initial = NULL;
  REQUIRE_OK(ebm_net_load_part(ebm_run_ckpt_path(dir, ck, sizeof ck), "generator", 4000, &trained));
  ebm_rng init = train_method_rng(&c, TRAIN_GENERATOR_INIT_STREAM);
  REQUIRE_OK(train_build_net("{\"preset\": \"mlp-generator\", \"in_dim\": 2}", 4000, &init, "g", &initial));
  const double kl_initial = generator_kl(initial, 5), kl_trained = generator_kl(trained, 5);
  fprintf(stderr, "grid KL of the generator: initial %.3f, after %lld coop steps %.3f\n", kl_initial,
          (long long)done, kl_trained);
  CHECK(kl_trained < 0.5 * kl_initial);
  ebm_net_free(trained);
  ebm_net_free(initial);
  ebm_dataset_free(ds);
}

/* Every parameter tensor's values, in order, as one copy. */
static float *param_copy(ebm_net *net, int64_t *total) {
  int64_t n = 0;
  for (int i = 0; i < ebm_net_param_count(net); i++) n += ebm_tensor_numel(ebm_net_param(net, i)->value);
  float *copy = malloc((size_t)n * sizeof *copy);
  REQUIRE(copy);
  int64_t at = 0;
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    const ebm_tensor *v = ebm_net_param(net, i)->value;
    memcpy(copy + at, v->data, (size_t)ebm_tensor_numel(v) * sizeof *copy);
    at += ebm_tensor_numel(v);
  }
  *total = n;
  return copy;
}

/* How many of the network's parameter tensors differ from `before`. */
static int params_changed(ebm_net *net, const float *before) {
  int changed = 0;
  int64_t at = 0;
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    const ebm_tensor *v = ebm_net_param(net, i)->value;
    const int64_t n = ebm_tensor_numel(v);
    changed += memcmp(v->data, before + at, (size_t)n * sizeof *before) != 0;
    at += n;
  }
  return changed;
}

/* Videos (issue 15): 2 videos of 1×4×8×8 (a 5-D .npy, so the data keep
 * their depth 4), a conv3d energy and a conv_transpose3d generator onto the
 * same folded shape [4, 8, 8], Langevin revisions on [0, 1]. One coop step
 * runs and every
 * parameter tensor of both networks moves (α > 0, so the energy's last bias
 * has a gradient too). */
TEST(coop_step_on_tiny_videos_changes_both_networks) {
  enum { V = 2, T = 4, S = 8, ITEM = T * S * S };
  float x[V * ITEM];
  for (int k = 0; k < V * ITEM; k++) x[k] = (float)((k * 37) % 101) / 100.0f;
  const char *path = test_path("videos.npy");
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, 5, (int64_t[]){V, 1, T, S, S}, x));
  char spec[600];
  snprintf(spec, sizeof spec, "npy:%s", path);
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load(spec, 0, 1, &ds));
  CHECK_EQ_INT((int)ds->depth, T);
  ebm_train_config c = coop_config(V, 2, 1);
  c.range_lo = 0.0f;
  c.range_hi = 1.0f;
  c.sampler = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  c.sampler.steps = 2;
  c.sampler.step_size = 100.0f;
  c.sampler.clamp = 1;
  c.alpha = 0.1f;
  /* the generator as a file: its JSON is longer than the setting's text */
  const char *generator_path = test_path("video-generator.json");
  FILE *f = fopen(generator_path, "w");
  REQUIRE(f);
  fputs("{\"input\": [3], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 64}, "
        "{\"type\": \"reshape\", \"shape\": [4, 4, 4]}, {\"type\": \"swish\"}, "
        "{\"type\": \"conv_transpose3d\", \"name\": \"net.3\", \"out\": 1, \"kernel\": 4, \"stride\": 2, "
        "\"pad\": 1, \"depth\": 2}, {\"type\": \"sigmoid\"}]}",
        f);
  REQUIRE(fclose(f) == 0);
  snprintf(c.generator.arch, sizeof c.generator.arch, "@%s", generator_path);
  const char *energy_json =
      "{\"input\": [4, 8, 8], \"range\": [0, 1], \"layers\": [{\"type\": \"conv3d\", \"name\": \"net.0\", \"out\": 2, "
      "\"kernel\": 3, \"stride\": 2, \"pad\": 1, \"depth\": 4}, {\"type\": \"swish\"}, {\"type\": \"flatten\"}, "
      "{\"type\": \"linear\", \"name\": \"net.3\", \"out\": 1}]}";
  ebm_rng rng;
  ebm_rng_init(&rng, 41);
  ebm_net *e = NULL;
  REQUIRE_OK(train_build_net(energy_json, V, &rng, "energy", &e));
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(e, ds, &c, &t));
  const ebm_net *parts[4];
  const char *names[4];
  REQUIRE(t->method->parts(t->method_state, parts, names, 4) == 1);
  ebm_net *g = (ebm_net *)parts[0];
  CHECK_EQ_INT((int)ebm_net_out_size(g), ITEM);
  CHECK_EQ_INT((int)ebm_net_volume_depth(e), T);
  int64_t ne = 0, ng = 0;
  float *e_before = param_copy(e, &ne), *g_before = param_copy(g, &ng);
  ebm_train_stats stats;
  REQUIRE_OK(ebm_trainer_step(t, &stats));
  CHECK_EQ_INT((int)ebm_trainer_step_count(t), 1);
  CHECK(isfinite(stats.loss));
  CHECK_EQ_INT(params_changed(e, e_before), ebm_net_param_count(e));
  CHECK_EQ_INT(params_changed(g, g_before), ebm_net_param_count(g));
  free(e_before);
  free(g_before);
  ebm_trainer_free(t);
  ebm_net_free(e);
  ebm_dataset_free(ds);
}
