/* The latent-space EBM prior (method_latent.c, src/nn/latent_prior_energy.c):
 * the prior and posterior energies by hand and their z-gradients against
 * finite differences, both updates' parameter gradients against finite
 * differences with the samples fixed, the shapes it refuses, resume, the
 * checkpoint's parts and space, and a tiny run whose prior learns. */
#include "test_util.h"
#include "train/train_generator.h"
#include "train/train_testutil.h"

#define SIGMA 0.5f

TEST(latent_prior_and_posterior_energies_are_the_formula_and_their_gradients_match_fd) {
  enum { M = 3, D = 2 };
  ebm_net *prior = tt_mlp(8, 0, M, 11), *g = tt_generator(D, 8, M, 12);
  ebm_energy *pu = NULL, *qu = NULL;
  REQUIRE_OK(ebm_latent_prior_energy_new(prior, NULL, 0.0f, &pu));
  REQUIRE_OK(ebm_latent_prior_energy_new(prior, g, SIGMA, &qu));
  float z[M * D], x[M * 2], e_prior[M], e_post[M], grad[M * D], ez[M], gz[M * 2];
  ebm_rng rng;
  ebm_rng_init(&rng, 13);
  ebm_rng_normal(&rng, z, M * D, 0.0f, 1.0f);
  ebm_rng_uniform(&rng, x, M * 2, -2.0f, 2.0f);
  REQUIRE_OK(ebm_latent_prior_energy_set_target(qu, x, M));
  REQUIRE_OK(ebm_energy_eval(pu, z, NULL, M, e_prior, NULL));
  REQUIRE_OK(ebm_energy_eval(qu, z, NULL, M, e_post, grad));
  REQUIRE_OK(ebm_net_energy(prior, z, NULL, M, ez));
  REQUIRE_OK(ebm_net_forward(g, z, NULL, M, gz));
  for (int i = 0; i < M; i++) {
    double half = 0, sq = 0;
    for (int k = 0; k < D; k++) half += 0.5 * z[i * D + k] * z[i * D + k];
    for (int k = 0; k < 2; k++) sq += ((double)x[i * 2 + k] - gz[i * 2 + k]) * (x[i * 2 + k] - gz[i * 2 + k]);
    CHECK_NEAR(e_prior[i], ez[i] + half, 1e-5 * (1 + fabs(e_prior[i])));
    CHECK_NEAR(e_post[i], ez[i] + half + sq / (2.0 * SIGMA * SIGMA), 1e-5 * (1 + fabs(e_post[i])));
  }
  const double h = 1e-2;
  float zp[M * D], up[M], um[M];
  for (int k = 0; k < D; k++) {
    memcpy(zp, z, sizeof z);
    for (int i = 0; i < M; i++) zp[i * D + k] = z[i * D + k] + (float)h;
    REQUIRE_OK(ebm_energy_eval(qu, zp, NULL, M, up, NULL));
    for (int i = 0; i < M; i++) zp[i * D + k] = z[i * D + k] - (float)h;
    REQUIRE_OK(ebm_energy_eval(qu, zp, NULL, M, um, NULL));
    for (int i = 0; i < M; i++) {
      const double fd = ((double)up[i] - um[i]) / (2 * h);
      CHECK_NEAR(grad[i * D + k], fd, 2e-3 * (fabs(fd) + 0.1));
    }
  }
  /* chains and observations must pair up */
  CHECK(ebm_energy_eval(qu, z, NULL, M - 1, e_post, NULL) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "3 observations") && strstr(ebm_last_error(), "2 chains"));
  ebm_energy_free(pu);
  ebm_energy_free(qu);
  ebm_net_free(prior);
  ebm_net_free(g);
}

TEST(latent_posterior_refuses_a_generator_whose_input_is_not_the_prior_z) {
  ebm_net *prior = tt_mlp(8, 0, 4, 21), *g = tt_generator(3, 8, 4, 22);
  ebm_energy *qu = NULL;
  CHECK(ebm_latent_prior_energy_new(prior, g, SIGMA, &qu) == EBM_ERR_ARG);
  CHECK(qu == NULL);
  CHECK(strstr(ebm_last_error(), "input shape [3]") && strstr(ebm_last_error(), "latent shape [2]"));
  ebm_net_free(prior);
  ebm_net_free(g);
}

static ebm_train_config latent_config(int64_t batch, int steps, int64_t iters) {
  ebm_train_config c = tt_toy_config(batch, steps, iters);
  c.method = (ebm_train_method)ebm_train_method_from_name("latent-ebm");
  c.adam.lr = 2e-3f;
  c.seed = 9;
  c.generator.obs_noise = SIGMA;
  c.alpha = 1.0f; /* the method's recipe (latent_recipe): E(z) stays a correction of N(0, I) */
  c.sampler.clamp = 0;
  return c;
}

/* The data's recipe tunes chains for the data's box; latent-ebm's run in z:
 * on a toy every other method keeps ULA ε 0.05 and α 0.01, latent-ebm gets
 * ε 0.1, α 1 and no clamp (README: with the toys' values it learns nothing). */
TEST(latent_ebm_recipe_runs_its_chains_in_z_not_in_the_data_box) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:64", -4, 4, &ds));
  ebm_train_config pcd, latent;
  tt_recipes(ds, "latent-ebm", "toy-2d", &pcd, &latent);
  CHECK_NEAR(pcd.sampler.step_size, 0.05, 1e-7);
  CHECK_NEAR(pcd.alpha, 0.01, 1e-7);
  CHECK(latent.sampler.kind == EBM_SAMPLER_ULA && latent.sampler.steps == 30 && latent.sampler.clamp == 0);
  CHECK_NEAR(latent.sampler.step_size, 0.1, 1e-7);
  CHECK_NEAR(latent.alpha, 1.0, 1e-7);
  CHECK_NEAR(latent.adam.lr, pcd.adam.lr, 0); /* the rest is the data's */
  CHECK_NEAR(latent.range_hi, 4.0, 0);
  ebm_dataset_free(ds);
}

enum { N = 6 };
typedef struct {
  ebm_trainer *t;
  ebm_net *prior;
  float z_pos[N * 2], z_neg[N * 2];
} prior_case;

static double prior_loss(void *ctx) {
  prior_case *c = ctx;
  REQUIRE_OK(ebm_net_energy(c->prior, c->z_pos, NULL, N, c->t->e_pos));
  REQUIRE_OK(ebm_net_energy(c->prior, c->z_neg, NULL, N, c->t->e_neg));
  return ebm_train_loss(c->t->e_pos, c->t->e_neg, N, c->t->cfg.alpha);
}

/* The prior's update as the latent-ebm trainer runs it: the ML loss on
 * posterior samples z⁺ against prior samples z⁻, both fixed. */
TEST(latent_prior_update_matches_finite_differences_with_samples_fixed) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:64", -4, 4, &ds));
  ebm_train_config cfg = latent_config(N, 3, 10);
  cfg.alpha = 0.3f;
  prior_case c;
  REQUIRE_OK(ebm_trainer_new(NULL, ds, &cfg, &c.t));
  c.prior = tt_mlp(8, 0, N, 31);
  ebm_rng rng;
  ebm_rng_init(&rng, 32);
  ebm_rng_normal(&rng, c.z_pos, N * 2, 0.0f, 1.0f);
  ebm_rng_normal(&rng, c.z_neg, N * 2, 0.0f, 1.5f);
  double e_pos = 0, e_neg = 0, loss = 0;
  REQUIRE_OK(train_contrastive_gradient_of(c.t, c.prior, c.z_pos, c.z_neg, &e_pos, &e_neg, &loss));
  CHECK_NEAR(loss, prior_loss(&c), 1e-6 * (1 + fabs(loss)));
  for (int trial = 0; trial < 4; trial++) {
    double fd, analytic;
    tt_directional_fd(c.prior, prior_loss, &c, &rng, &fd, &analytic);
    CHECK_NEAR(analytic, fd, 2e-3 * (fabs(fd) + 1e-2));
  }
  ebm_trainer_free(c.t);
  ebm_net_free(c.prior);
  ebm_dataset_free(ds);
}

typedef struct {
  ebm_net *generator;
  float z[N * 2], x[N * 2], x_gen[N * 2], dx[N * 2];
} gen_case;

static double generator_loss(void *ctx) {
  gen_case *c = ctx;
  REQUIRE_OK(ebm_net_forward(c->generator, c->z, NULL, N, c->x_gen));
  return train_generator_regression_loss(c->x_gen, c->x, N, 2, 1.0 / (SIGMA * SIGMA), NULL);
}

/* The generator's update: −log p(x|z⁺) = ‖x − G(z⁺)‖²/(2σ²) with z⁺ fixed. */
TEST(latent_generator_update_matches_finite_differences_with_posterior_samples_fixed) {
  gen_case c;
  c.generator = tt_generator(2, 8, N, 41);
  ebm_rng rng;
  ebm_rng_init(&rng, 42);
  ebm_rng_normal(&rng, c.z, N * 2, 0.0f, 1.0f);
  ebm_rng_uniform(&rng, c.x, N * 2, -2.0f, 2.0f);
  double loss = 0;
  REQUIRE_OK(ebm_net_forward(c.generator, c.z, NULL, N, c.x_gen));
  REQUIRE_OK(train_generator_regression_backward(c.generator, c.x_gen, c.x, N, 1.0 / (SIGMA * SIGMA), c.dx, 1,
                                                 &loss));
  CHECK_NEAR(loss, generator_loss(&c), 1e-6 * (1 + loss));
  for (int trial = 0; trial < 4; trial++) {
    double fd, analytic;
    tt_directional_fd(c.generator, generator_loss, &c, &rng, &fd, &analytic);
    CHECK_NEAR(analytic, fd, 2e-3 * (fabs(fd) + 1e-2));
  }
  ebm_net_free(c.generator);
}

TEST(latent_ebm_trainer_refuses_shapes_that_disagree_naming_both) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:64", -4, 4, &ds));
  ebm_train_config c = latent_config(16, 3, 10);
  ebm_trainer *t = NULL;
  /* a prior on 3-D z under a generator of 2-D z */
  snprintf(c.generator.prior, sizeof c.generator.prior, "{\"preset\": \"mlp\", \"in_dim\": 3}");
  CHECK(ebm_trainer_new(NULL, ds, &c, &t) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "input shape [2]") && strstr(ebm_last_error(), "latent shape [3]"));
  /* a generator of 3-D points for 2-D data */
  c.generator.prior[0] = 0;
  snprintf(c.generator.arch, sizeof c.generator.arch,
           "{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 3}]}");
  CHECK(ebm_trainer_new(NULL, ds, &c, &t) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "output shape [3]") && strstr(ebm_last_error(), "item shape [2]"));
  CHECK(strchr(ebm_last_error(), '\n') == NULL);
  c.generator.arch[0] = 0;
  c.generator.obs_noise = 0;
  CHECK(ebm_trainer_new(NULL, ds, &c, &t) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "obs-noise"));
  ebm_dataset_free(ds);
}

/* Both networks, both optimisers, both samplers' noise; the checkpoint's
 * energy part is the prior on z, with the metadata that says so. */
TEST(latent_ebm_resume_is_bit_exact_and_the_checkpoint_says_its_space) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:256", -4, 4, &ds));
  ebm_train_config c = latent_config(16, 5, 6);
  c.generator.latent_dim = 3;
  c.lr_decay = EBM_LR_CONSTANT;
  char ckpt[600];
  tt_check_resume_bit_exact(ds, c, NULL, ckpt, sizeof ckpt);
  ebm_net *g = NULL, *e = NULL;
  REQUIRE_OK(ebm_net_load_part(ckpt, "generator", 4, &g));
  REQUIRE_OK(ebm_net_load(ckpt, 4, &e));
  CHECK_EQ_INT((int)ebm_net_item_shape(g)[0], 3);
  CHECK_EQ_INT((int)ebm_net_out_size(g), 2);
  CHECK_EQ_INT((int)ebm_net_item_shape(e)[0], 3); /* the prior takes z */
  CHECK_EQ_INT((int)ebm_net_out_size(e), 1);
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(ckpt, &st));
  const char *space = ebm_safetensors_meta(st, "space");
  CHECK(space && strcmp(space, "latent") == 0);
  CHECK(ebm_safetensors_meta(st, "obs_noise") != NULL);
  ebm_safetensors_free(st);
  ebm_net_free(g);
  ebm_net_free(e);
  ebm_dataset_free(ds);
}

/* The networks a latent-ebm run of cfg starts from (streams 3 and 4). */
static void initial_networks(const ebm_train_config *c, int64_t batch, ebm_net **prior, ebm_net **g) {
  ebm_rng r = train_method_rng(c, TRAIN_GENERATOR_INIT_STREAM);
  REQUIRE_OK(train_build_net("{\"preset\": \"mlp-generator\", \"in_dim\": 2}", batch, &r, "g", g));
  r = train_method_rng(c, 4);
  REQUIRE_OK(train_build_net("{\"preset\": \"mlp\", \"in_dim\": 2}", batch, &r, "p", prior));
}

/* A tiny run moves toward the data: its posterior reconstructs held-out
 * points better than the networks it started from. Only a little in a
 * test-sized run (100 steps of 5 MCMC steps: MSE 3.195 against 3.209; the
 * grid KL of its samples does not improve yet, 46.0 against 45.9): with z⁺
 * nearly independent of x at the start, G first learns the data's mean. */
TEST(tiny_latent_ebm_on_8gaussians_moves_its_reconstructions_toward_the_data) {
  enum { S = 1000 };
  ebm_dataset *ds = NULL, *test = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:2000", -4, 4, &ds));
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:test:200", -4, 4, &test));
  ebm_train_config c = latent_config(32, 5, 100);
  char dir[512], ck[600];
  snprintf(dir, sizeof dir, "%s", test_path("run"));
  ebm_run_opts o = {.run_dir = dir, .save_every = 100, .log_every = 50};
  int64_t done = 0;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  ebm_run_ckpt_path(dir, ck, sizeof ck);
  ebm_net *prior = NULL, *g = NULL, *prior0 = NULL, *g0 = NULL;
  REQUIRE_OK(ebm_net_load(ck, S, &prior));
  REQUIRE_OK(ebm_net_load_part(ck, "generator", S, &g));
  initial_networks(&c, S, &prior0, &g0);
  float *x = malloc(S * 2 * sizeof(float));
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, 6);
  double mse = 0, mse0 = 0, kl = 0, kl0 = 0;
  const int64_t n_test = test->x->shape[0];
  REQUIRE_OK(ebm_latent_reconstruct(prior, g, SIGMA, &c.sampler, test->x->data, n_test, &rng, NULL, x, &mse));
  REQUIRE_OK(ebm_latent_reconstruct(prior0, g0, SIGMA, &c.sampler, test->x->data, n_test, &rng, NULL, x, &mse0));
  REQUIRE_OK(ebm_sample_latent_prior(prior, g, &c.sampler, S, &rng, NULL, x));
  REQUIRE_OK(ebm_grid_sample_kl(x, S, EBM_TOY_8GAUSSIANS, 4.0, 32, &kl, NULL));
  ebm_sampler_config none = c.sampler;
  none.steps = 0;
  REQUIRE_OK(ebm_sample_latent_prior(prior0, g0, &none, S, &rng, NULL, x));
  REQUIRE_OK(ebm_grid_sample_kl(x, S, EBM_TOY_8GAUSSIANS, 4.0, 32, &kl0, NULL));
  fprintf(stderr, "reconstruction MSE %.4f (initial %.4f); grid KL of samples %.3f (initial generator %.3f)\n", mse,
          mse0, kl, kl0);
  CHECK(mse < mse0);
  free(x);
  ebm_net_free(prior);
  ebm_net_free(g);
  ebm_net_free(prior0);
  ebm_net_free(g0);
  ebm_dataset_free(test);
  ebm_dataset_free(ds);
}
