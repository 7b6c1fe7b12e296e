/* Generalized EBMs (method_gebm.c): the KALE loss and the generator's loss
 * by hand, both parameter gradients against finite differences with the
 * samples fixed, the latent posterior energy (its gradient through the
 * generator, its closed form on a linear-Gaussian model), a tiny run that
 * beats its own generator, resume, and the shapes it refuses. */
#include "test_util.h"
#include "train/train_internal.h"
#include "train/train_testutil.h"

TEST(kale_and_generator_losses_are_the_hand_values) {
  const float e_data[2] = {1.0f, 2.0f}, e_gen[2] = {0.0f, (float)log(2.0)};
  float de_data[2], de_gen[2];
  /* mean E(data) + log mean exp(−E(gen)) + α·mean E(data)² = 1.5 + log 0.75 + 0.5·2.5 */
  CHECK_NEAR(train_kale_loss(e_data, e_gen, 2, 0.5f), 1.5 + log(0.75) + 1.25, 1e-7);
  CHECK_NEAR(train_kale_loss(e_data, e_gen, 2, 0.0f), 1.5 + log(0.75), 1e-7);
  train_kale_loss_grad(e_data, e_gen, 2, 0.5f, de_data, de_gen);
  CHECK_NEAR(de_data[0], 1.0, 1e-7);  /* (1 + 2·0.5·1)/2 */
  CHECK_NEAR(de_data[1], 1.5, 1e-7);  /* (1 + 2·0.5·2)/2 */
  CHECK_NEAR(de_gen[0], -2.0 / 3, 1e-7); /* the weights 1 : 0.5 */
  CHECK_NEAR(de_gen[1], -1.0 / 3, 1e-7);
  CHECK_NEAR(train_gebm_generator_loss(e_gen, 2), -log(0.75), 1e-7);
  /* the shift keeps large energies finite: −log mean exp(−E) of {1000, 1000 + ln 2} */
  const float big[2] = {1000.0f, 1000.0f + (float)log(2.0)};
  CHECK_NEAR(train_gebm_generator_loss(big, 2), 1000.0 - log(0.75), 1e-4);
}

enum { N = 6 };
#define ALPHA 0.3f
typedef struct {
  ebm_net *energy, *generator;
  float x_data[N * 2], z[N * 2];
  float x_gen[N * 2], dx[N * 2], e_data[N], e_gen[N], de_data[N], de_gen[N];
  train_gebm_work work;
} gebm_case;

static void case_init(gebm_case *c, uint64_t seed) {
  c->energy = tt_mlp(8, 0, N, seed);
  c->generator = tt_generator(2, 8, N, seed + 1);
  ebm_rng rng;
  ebm_rng_init(&rng, seed + 2);
  ebm_rng_uniform(&rng, c->x_data, N * 2, -2.0f, 2.0f);
  ebm_rng_normal(&rng, c->z, N * 2, 0.0f, 1.0f);
  c->work = (train_gebm_work){.x_gen = c->x_gen, .dx = c->dx, .e_data = c->e_data, .e_gen = c->e_gen,
                              .de_data = c->de_data, .de_gen = c->de_gen};
  train_gebm_values v;
  REQUIRE_OK(train_gebm_gradients(c->energy, c->generator, c->x_data, c->z, N, ALPHA, &c->work, 1, 0, &v));
}

static void case_free(gebm_case *c) {
  ebm_net_free(c->energy);
  ebm_net_free(c->generator);
}

/* L_E and L_G recomputed from the networks' current parameters. */
static double losses_at(gebm_case *c, double *gen_loss) {
  REQUIRE_OK(ebm_net_forward(c->generator, c->z, NULL, N, c->x_gen));
  REQUIRE_OK(ebm_net_energy(c->energy, c->x_data, NULL, N, c->e_data));
  REQUIRE_OK(ebm_net_energy(c->energy, c->x_gen, NULL, N, c->e_gen));
  *gen_loss = train_gebm_generator_loss(c->e_gen, N);
  return train_kale_loss(c->e_data, c->e_gen, N, ALPHA);
}
static double energy_loss(void *ctx) {
  double g;
  return losses_at(ctx, &g);
}
static double generator_loss(void *ctx) {
  double g;
  (void)losses_at(ctx, &g);
  return g;
}

TEST(kale_energy_gradient_matches_finite_differences_with_samples_fixed) {
  gebm_case c;
  case_init(&c, 51);
  ebm_rng rng;
  ebm_rng_init(&rng, 9);
  for (int trial = 0; trial < 4; trial++) {
    double fd, analytic;
    tt_directional_fd(c.energy, energy_loss, &c, &rng, &fd, &analytic);
    CHECK_NEAR(analytic, fd, 2e-3 * (fabs(fd) + 1e-2));
  }
  case_free(&c);
}

TEST(generator_gradient_is_the_generalized_likelihood_gradient) {
  gebm_case c;
  case_init(&c, 61);
  ebm_rng rng;
  ebm_rng_init(&rng, 10);
  for (int trial = 0; trial < 4; trial++) {
    double fd, analytic;
    tt_directional_fd(c.generator, generator_loss, &c, &rng, &fd, &analytic);
    CHECK_NEAR(analytic, fd, 2e-3 * (fabs(fd) + 1e-2));
  }
  case_free(&c);
}

TEST(latent_posterior_gradient_goes_through_the_generator) {
  enum { M = 3, D = 3 };
  ebm_net *g = tt_generator(D, 8, M, 71), *e = tt_mlp(8, 0, M, 72);
  ebm_energy *data_energy = ebm_net_as_energy(e), *post = NULL;
  REQUIRE(data_energy);
  REQUIRE_OK(ebm_latent_energy_new(g, data_energy, &post));
  CHECK_EQ_INT((int)post->item_shape[0], D);
  float z[M * D], u[M], grad[M * D], zp[M * D], up[M], um[M];
  ebm_rng rng;
  ebm_rng_init(&rng, 73);
  ebm_rng_normal(&rng, z, M * D, 0.0f, 1.0f);
  REQUIRE_OK(ebm_energy_eval(post, z, NULL, M, u, grad));
  /* U(z) = ½‖z‖² + E(G(z)) */
  float x[M * 2], ex[M];
  REQUIRE_OK(ebm_net_forward(g, z, NULL, M, x));
  REQUIRE_OK(ebm_net_energy(e, x, NULL, M, ex));
  for (int i = 0; i < M; i++) {
    double half = 0;
    for (int k = 0; k < D; k++) half += 0.5 * z[i * D + k] * z[i * D + k];
    CHECK_NEAR(u[i], ex[i] + half, 1e-5 * (1 + fabs(u[i])));
  }
  const double h = 1e-2;
  for (int k = 0; k < D; k++) {
    memcpy(zp, z, sizeof z);
    for (int i = 0; i < M; i++) zp[i * D + k] = z[i * D + k] + (float)h;
    REQUIRE_OK(ebm_energy_eval(post, zp, NULL, M, up, NULL));
    for (int i = 0; i < M; i++) zp[i * D + k] = z[i * D + k] - (float)h;
    REQUIRE_OK(ebm_energy_eval(post, zp, NULL, M, um, NULL));
    for (int i = 0; i < M; i++) {
      const double fd = ((double)up[i] - um[i]) / (2 * h);
      CHECK_NEAR(grad[i * D + k], fd, 2e-3 * (fabs(fd) + 0.1));
    }
  }
  ebm_energy_free(post);
  ebm_energy_free(data_energy);
  ebm_net_free(g);
  ebm_net_free(e);
}

/* x = A z + b, z ~ N(0, I), E(x) = ½(x − m)ᵀS⁻¹(x − m): the posterior is
 * N(μ, Λ⁻¹), Λ = I + AᵀS⁻¹A, μ = Λ⁻¹AᵀS⁻¹(m − b). */
static void check_linear_gaussian_posterior(ebm_sampler_kind kind, float step_size, uint64_t seed) {
  enum { CHAINS = 4000 };
  const double A[2][2] = {{1.5, -0.5}, {0.3, 0.8}}, b[2] = {0.2, -0.4}, m[2] = {1.0, 0.5};
  const double S[4] = {0.5, 0.1, 0.1, 0.3};
  ebm_net *g = NULL;
  REQUIRE_OK(ebm_net_new("{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 2}]}",
                         CHAINS, &g));
  for (int i = 0; i < ebm_net_param_count(g); i++) {
    ebm_param *p = ebm_net_param(g, i);
    for (int k = 0; k < ebm_tensor_numel(p->value); k++)
      p->value->data[k] = (float)(strstr(p->name, "weight") ? A[k / 2][k % 2] : b[k]);
  }
  ebm_energy *data_energy = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(2, m, S, &data_energy));
  /* closed form in double */
  const double det_s = S[0] * S[3] - S[1] * S[2];
  const double Si[2][2] = {{S[3] / det_s, -S[1] / det_s}, {-S[2] / det_s, S[0] / det_s}};
  double AtSi[2][2], L[2][2], r[2];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) AtSi[i][j] = A[0][i] * Si[0][j] + A[1][i] * Si[1][j];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) L[i][j] = (i == j) + AtSi[i][0] * A[0][j] + AtSi[i][1] * A[1][j];
  for (int i = 0; i < 2; i++) r[i] = AtSi[i][0] * (m[0] - b[0]) + AtSi[i][1] * (m[1] - b[1]);
  const double det_l = L[0][0] * L[1][1] - L[0][1] * L[1][0];
  const double C[2][2] = {{L[1][1] / det_l, -L[0][1] / det_l}, {-L[1][0] / det_l, L[0][0] / det_l}};
  const double mu[2] = {C[0][0] * r[0] + C[0][1] * r[1], C[1][0] * r[0] + C[1][1] * r[1]};

  ebm_sampler_config cfg = ebm_sampler_defaults(kind);
  cfg.steps = 150;
  cfg.step_size = step_size;
  cfg.grad_clip = 0;
  cfg.adapt_steps = 0;
  float *z = malloc(CHAINS * 2 * sizeof(float)), *x = malloc(CHAINS * 2 * sizeof(float));
  REQUIRE(z && x);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  REQUIRE_OK(ebm_sample_latent(g, data_energy, &cfg, CHAINS, &rng, z, x));
  for (int k = 0; k < 2; k++) {
    double s1 = 0, s2 = 0;
    for (int i = 0; i < CHAINS; i++) s1 += z[2 * i + k];
    const double mean = s1 / CHAINS;
    for (int i = 0; i < CHAINS; i++) s2 += (z[2 * i + k] - mean) * (z[2 * i + k] - mean);
    const double var = s2 / (CHAINS - 1), want = C[k][k];
    CHECK_NEAR(mean, mu[k], 5 * sqrt(want / CHAINS));
    CHECK_NEAR(var, want, 5 * want * sqrt(2.0 / CHAINS));
    /* x is G(z) */
    CHECK_NEAR(x[k], A[k][0] * z[0] + A[k][1] * z[1] + b[k], 1e-5);
  }
  free(z);
  free(x);
  ebm_energy_free(data_energy);
  ebm_net_free(g);
}

TEST(latent_posterior_of_a_linear_gaussian_generator_matches_the_closed_form_mala) {
  check_linear_gaussian_posterior(EBM_SAMPLER_MALA, 0.5f, 81);
}

TEST(latent_posterior_of_a_linear_gaussian_generator_matches_the_closed_form_hmc) {
  check_linear_gaussian_posterior(EBM_SAMPLER_HMC, 0.3f, 82);
}

TEST(latent_posterior_refuses_a_generator_of_another_output_shape) {
  ebm_net *g = NULL, *e = tt_mlp(8, 0, 4, 91);
  REQUIRE_OK(ebm_net_new("{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 3}]}", 4, &g));
  ebm_energy *data_energy = ebm_net_as_energy(e), *post = NULL;
  REQUIRE(data_energy);
  CHECK(ebm_latent_energy_new(g, data_energy, &post) == EBM_ERR_ARG);
  CHECK(post == NULL);
  const char *msg = ebm_last_error();
  CHECK(strstr(msg, "output shape [3]") != NULL);
  CHECK(strstr(msg, "input shape [2]") != NULL);
  CHECK(strchr(msg, '\n') == NULL);
  ebm_energy_free(data_energy);
  ebm_net_free(g);
  ebm_net_free(e);
}

static ebm_train_config gebm_config(int64_t iters) {
  ebm_train_config c = tt_toy_config(64, 0, iters);
  c.method = (ebm_train_method)ebm_train_method_from_name("gebm");
  c.adam.lr = 2e-3f;
  c.seed = 5;
  return c;
}

TEST(gebm_trainer_refuses_a_latent_dim_that_disagrees_with_the_generator) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:256", -4, 4, &ds));
  ebm_net *e = tt_mlp(8, 0, 64, 3);
  ebm_train_config c = gebm_config(10);
  snprintf(c.generator.arch, sizeof c.generator.arch, "{\"preset\": \"mlp-generator\", \"in_dim\": 4}");
  c.generator.latent_dim = 3;
  ebm_trainer *t = NULL;
  CHECK(ebm_trainer_new(e, ds, &c, &t) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "--latent-dim 3") && strstr(ebm_last_error(), "input shape [4]"));
  /* a generator of 3-D points for a 2-D energy: both shapes named */
  snprintf(c.generator.arch, sizeof c.generator.arch,
           "{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 3}]}");
  c.generator.latent_dim = 0;
  CHECK(ebm_trainer_new(e, ds, &c, &t) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "[3]") && strstr(ebm_last_error(), "[2]"));
  ebm_net_free(e);
  ebm_dataset_free(ds);
}

static const char *const energy_arch = "{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": 32, \"depth\": 2}";

static ebm_run_opts run_opts(const char *dir, int resume, int64_t save_every) {
  ebm_run_opts o = {0};
  o.run_dir = dir;
  o.arch_json = energy_arch;
  o.resume = resume;
  o.save_every = save_every;
  o.log_every = 1;
  return o;
}

/* N steps straight == N/2 then resume to N, byte for byte: both networks,
 * both optimisers and the RNG that draws z. The checkpoint holds the
 * energy and generator parts. */
TEST(gebm_resume_is_bit_exact_and_the_checkpoint_has_both_networks) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:256", -4, 4, &ds));
  ebm_train_config c = gebm_config(6);
  c.batch = 16;
  char fa[600];
  tt_check_resume_bit_exact(ds, c, energy_arch, fa, sizeof fa);
  ebm_net *g = NULL, *e = NULL;
  REQUIRE_OK(ebm_net_load_part(fa, "generator", 4, &g));
  REQUIRE_OK(ebm_net_load(fa, 4, &e));
  CHECK_EQ_INT((int)ebm_net_out_size(g), 2);
  CHECK_EQ_INT((int)ebm_net_out_size(e), 1);
  ebm_net_free(g);
  ebm_net_free(e);
  ebm_dataset_free(ds);
}

/* The paper's claim on a toy: samples of the model (the latent posterior
 * pushed through G) are closer to the data than the generator's own, by
 * the grid KL against the exact 8gaussians density. */
TEST(tiny_gebm_on_8gaussians_beats_its_own_generator) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:2000", -4, 4, &ds));
  ebm_train_config c = gebm_config(600);
  char dir[512], ck[600];
  snprintf(dir, sizeof dir, "%s", test_path("run"));
  int64_t done = 0;
  ebm_run_opts o = run_opts(dir, 0, 600);
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  ebm_run_ckpt_path(dir, ck, sizeof ck);
  enum { S = 4000 };
  ebm_net *g = NULL, *e = NULL;
  REQUIRE_OK(ebm_net_load_part(ck, "generator", S, &g));
  REQUIRE_OK(ebm_net_load(ck, S, &e));
  ebm_energy *energy = ebm_net_as_energy(e);
  REQUIRE(energy);
  float *x = malloc(S * 2 * sizeof(float));
  REQUIRE(x);
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  cfg.steps = 0;
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  double kl_gen = 0, kl_model = 0;
  REQUIRE_OK(ebm_sample_latent(g, energy, &cfg, S, &rng, NULL, x));
  REQUIRE_OK(ebm_grid_sample_kl(x, S, EBM_TOY_8GAUSSIANS, 4.0, 32, &kl_gen, NULL));
  cfg.steps = 100;
  cfg.step_size = 0.2f;
  cfg.grad_clip = 0;
  REQUIRE_OK(ebm_sample_latent(g, energy, &cfg, S, &rng, NULL, x));
  REQUIRE_OK(ebm_grid_sample_kl(x, S, EBM_TOY_8GAUSSIANS, 4.0, 32, &kl_model, NULL));
  fprintf(stderr, "grid KL: generator %.3f, gebm %.3f\n", kl_gen, kl_model);
  CHECK(kl_model < kl_gen);
  free(x);
  ebm_energy_free(energy);
  ebm_net_free(g);
  ebm_net_free(e);
  ebm_dataset_free(ds);
}
