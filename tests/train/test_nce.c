/* Noise-contrastive estimation (src/train/method_nce.c): the logistic loss
 * against a hand value, its parameter gradient against a double-precision
 * central difference, the recovery of a Gaussian's mean, covariance and
 * log Z within 5 standard errors, the noise Gaussian's sampler, and the
 * method end to end with its bad input. */
#include "train/mlp_ref.h"
#include "train/train_internal.h"
#include "train/train_testutil.h"

#define TWO_PI 6.283185307179586477

TEST(nce_loss_matches_a_hand_value) {
  /* data: E 1, log q −1, ν 1 → G = 0: −log σ(0) = log 2, dL/dE = 1 − σ(0) = 0.5 */
  const float e_d[1] = {1}, lq_d[1] = {-1};
  float de[1];
  CHECK_NEAR(train_nce_loss(e_d, lq_d, 1, 1, 0.0, 1, de), log(2.0), 1e-12);
  CHECK_NEAR(de[0], 0.5, 1e-7);
  /* noise: E 2, log q 0, ν 2 → G = −2 − log 2: −log(1 − σ(G)) = log(1 + e⁻²/2),
   * dL/dE = −σ(G) = −(e⁻²/2)/(1 + e⁻²/2); over 2 data items: halved */
  const float e_n[1] = {2}, lq_n[1] = {0};
  const double q = exp(-2.0) / 2;
  CHECK_NEAR(train_nce_loss(e_n, lq_n, 1, 0, log(2.0), 2, de), log1p(q) / 2, 1e-12);
  CHECK_NEAR(de[0], -q / (1 + q) / 2, 1e-7);
}

enum { N = 5, M = 7, D = REF_D };

/* L(θ) of the reference MLP in double. */
static double nce_loss_ref(const double *th, const double *x, const double *lq, const double *y,
                           const double *lqy, double log_nu) {
  double sum = 0;
  for (int i = 0; i < N; i++) {
    const double g = -ref_mlp_energy(th, x + i * D, NULL) - lq[i] - log_nu;
    sum += log1p(exp(-g));
  }
  for (int j = 0; j < M; j++) {
    const double g = -ref_mlp_energy(th, y + j * D, NULL) - lqy[j] - log_nu;
    sum += log1p(exp(g));
  }
  return sum / N;
}

TEST(nce_parameter_gradient_matches_a_double_central_difference) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(ref_mlp_json, 4, &net)); /* chunks of 4: both kinds span two chunks */
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  REQUIRE_OK(ebm_net_init(net, &rng));
  float x[N * D], y[M * D], lq[N], lqy[M], e[4], de[4];
  ebm_rng_normal(&rng, x, N * D, 0.0f, 1.0f);
  ebm_rng_normal(&rng, y, M * D, 0.0f, 2.0f);
  ebm_rng_uniform(&rng, lq, N, -4.0f, -2.0f);
  ebm_rng_uniform(&rng, lqy, M, -4.0f, -2.0f);
  const double log_nu = log((double)M / N);
  double loss = 0, e_sum = 0;
  ebm_net_zero_grad(net);
  REQUIRE_OK(train_nce_gradient(net, x, lq, N, D, 4, 1, log_nu, N, e, de, &loss, &e_sum));
  REQUIRE_OK(train_nce_gradient(net, y, lqy, M, D, 4, 0, log_nu, N, e, de, &loss, &e_sum));

  double th[REF_NTHETA], xd[N * D], yd[M * D], lqd[N], lqyd[M], ref[REF_NTHETA], scale = 0;
  ref_mlp_theta(net, th);
  for (int k = 0; k < N * D; k++) xd[k] = x[k];
  for (int k = 0; k < M * D; k++) yd[k] = y[k];
  for (int k = 0; k < N; k++) lqd[k] = lq[k];
  for (int k = 0; k < M; k++) lqyd[k] = lqy[k];
  CHECK_NEAR(loss, nce_loss_ref(th, xd, lqd, yd, lqyd, log_nu), 1e-5);
  for (int j = 0; j < REF_NTHETA; j++) {
    const double h = 1e-6, keep = th[j];
    th[j] = keep + h;
    const double a = nce_loss_ref(th, xd, lqd, yd, lqyd, log_nu);
    th[j] = keep - h;
    const double b = nce_loss_ref(th, xd, lqd, yd, lqyd, log_nu);
    th[j] = keep;
    ref[j] = (a - b) / (2 * h);
    scale = fmax(scale, fabs(ref[j]));
  }
  REQUIRE(scale > 1e-3);
  const double err = ref_mlp_grad_error(net, ref) / scale;
  printf("    nce gradient: worst error %.2g of the largest component\n", err);
  CHECK(err < 1e-4);
  ebm_net_free(net);
}

/* ------------------------------------------------ a Gaussian family */

enum { G_N = 3000, G_NU = 2, G_REPS = 8 };

/* One NCE fit of E(x) = ½xᵀPx − bᵀx + c (natural parameters: the loss is
 * convex in them) to G_N draws of N(m, Σ) against noise N(0, 2²I), by
 * gradient descent on the library's loss: out = (μ0, μ1, Σ00, Σ01, Σ11, log Z)
 * with log Z = c − ½bᵀΣb (the model is normalised when it equals the
 * Gaussian's log-normaliser). */
static void nce_gaussian_fit(uint64_t seed, const double *m, const double *L, double *out) {
  const int n = G_N, k = G_N * G_NU;
  float *x = malloc(sizeof(float) * 2 * (n + k)), *lq = malloc(sizeof(float) * (n + k)),
        *e = malloc(sizeof(float) * (n + k)), *de = malloc(sizeof(float) * (n + k));
  REQUIRE(x && lq && e && de);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  const double noise_std = 2.0, log_zq = log(TWO_PI * noise_std * noise_std);
  for (int i = 0; i < n + k; i++) {
    float z[2];
    ebm_rng_normal(&rng, z, 2, 0.0f, 1.0f);
    if (i < n) {
      x[2 * i] = (float)(m[0] + L[0] * z[0]);
      x[2 * i + 1] = (float)(m[1] + L[1] * z[0] + L[2] * z[1]);
    } else {
      x[2 * i] = (float)(noise_std * z[0]);
      x[2 * i + 1] = (float)(noise_std * z[1]);
    }
    lq[i] = (float)(-(x[2 * i] * x[2 * i] + x[2 * i + 1] * x[2 * i + 1]) / (2 * noise_std * noise_std) - log_zq);
  }
  double th[6] = {1, 0, 1, 0, 0, 2}; /* P0, P1, P2, b0, b1, c */
  const double log_nu = log((double)G_NU);
  for (int it = 0; it < 25; it++) { /* Newton: the loss is a logistic regression in θ */
    for (int i = 0; i < n + k; i++) {
      const double a = x[2 * i], b = x[2 * i + 1];
      e[i] = (float)(0.5 * (th[0] * a * a + 2 * th[1] * a * b + th[2] * b * b) - th[3] * a - th[4] * b + th[5]);
    }
    train_nce_loss(e, lq, n, 1, log_nu, n, de);
    train_nce_loss(e + n, lq + n, k, 0, log_nu, n, de + n);
    double g[6] = {0}, H[36] = {0};
    for (int i = 0; i < n + k; i++) {
      const double a = x[2 * i], b = x[2 * i + 1], phi[6] = {0.5 * a * a, a * b, 0.5 * b * b, -a, -b, 1};
      /* the library's dL/dE gives σ(G): data (1 − σ)/n, noise −σ/n; d²L/dE² = σ(1 − σ)/n */
      const double s = i < n ? 1 - n * (double)de[i] : -n * (double)de[i], w = s * (1 - s) / n;
      for (int r = 0; r < 6; r++) {
        g[r] += de[i] * phi[r];
        for (int c = 0; c < 6; c++) H[r * 6 + c] += w * phi[r] * phi[c];
      }
    }
    tt_solve(H, g, 6);
    for (int j = 0; j < 6; j++) th[j] -= g[j];
  }
  const double det = th[0] * th[2] - th[1] * th[1];
  const double S0 = th[2] / det, S1 = -th[1] / det, S2 = th[0] / det;
  out[0] = S0 * th[3] + S1 * th[4];
  out[1] = S1 * th[3] + S2 * th[4];
  out[2] = S0;
  out[3] = S1;
  out[4] = S2;
  out[5] = th[5] - 0.5 * (th[3] * out[0] + th[4] * out[1]);
  free(x);
  free(lq);
  free(e);
  free(de);
}

TEST(nce_recovers_a_gaussian_mean_covariance_and_log_z_within_5_standard_errors) {
  const double m[2] = {0.5, -1.0}, L[3] = {1.0, 0.6, 0.5}; /* Σ = LLᵀ */
  const double S0 = L[0] * L[0], S1 = L[0] * L[1], S2 = L[1] * L[1] + L[2] * L[2];
  const double truth[6] = {m[0], m[1], S0, S1, S2, log(TWO_PI) + 0.5 * log(S0 * S2 - S1 * S1)};
  static const char *const names[6] = {"mean0", "mean1", "cov00", "cov01", "cov11", "log Z"};
  double fits[G_REPS][6];
  for (int r = 0; r < G_REPS; r++) nce_gaussian_fit(100 + (uint64_t)r, m, L, fits[r]);
  for (int j = 0; j < 6; j++) {
    double mean = 0, var = 0;
    for (int r = 0; r < G_REPS; r++) mean += fits[r][j] / G_REPS;
    for (int r = 0; r < G_REPS; r++) var += (fits[r][j] - mean) * (fits[r][j] - mean) / (G_REPS - 1);
    const double se = sqrt(var / G_REPS); /* of the mean of the replicate fits */
    printf("    %s: %.4f ± %.4f (truth %.4f)\n", names[j], mean, se, truth[j]);
    CHECK(se > 0 && se < 0.05);
    CHECK(fabs(mean - truth[j]) < 5 * se);
  }
}

TEST(gaussian_energy_sample_has_the_gaussians_mean_and_covariance) {
  const double mean[2] = {1, -2}, cov[4] = {2, 0.8, 0.8, 1};
  ebm_energy *q = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(2, mean, cov, &q));
  enum { S = 20000 };
  float *x = malloc(sizeof(float) * 2 * S);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, 9);
  REQUIRE_OK(ebm_gaussian_energy_sample(q, &rng, S, x));
  double mu[2] = {0, 0}, c[3] = {0, 0, 0};
  for (int i = 0; i < S; i++)
    for (int k = 0; k < 2; k++) mu[k] += x[2 * i + k] / S;
  for (int i = 0; i < S; i++) {
    const double a = x[2 * i] - mu[0], b = x[2 * i + 1] - mu[1];
    c[0] += a * a / S;
    c[1] += a * b / S;
    c[2] += b * b / S;
  }
  /* 5 standard errors: √(Σkk/S) for the means, √((ΣiiΣjj + Σij²)/S) for the covariances */
  CHECK_NEAR(mu[0], 1, 5 * sqrt(2.0 / S));
  CHECK_NEAR(mu[1], -2, 5 * sqrt(1.0 / S));
  CHECK_NEAR(c[0], 2, 5 * sqrt(8.0 / S));
  CHECK_NEAR(c[1], 0.8, 5 * sqrt((2.0 + 0.64) / S));
  CHECK_NEAR(c[2], 1, 5 * sqrt(2.0 / S));
  free(x);
  ebm_energy_free(q);
}

/* ------------------------------------------------------------ end to end */

TEST(nce_trains_a_toy_and_resumes_bit_exactly) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:256", 0, 1, &ds));
  ebm_train_config c = tt_toy_config(32, 1, 6);
  REQUIRE_OK(ebm_train_config_set(&c, "method", "nce"));
  REQUIRE_OK(ebm_train_config_set(&c, "noise-ratio", "2.5")); /* 80 noise items: three chunks */
  tt_check_resume_bit_exact(ds, c, "{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": 16, \"depth\": 2}", NULL, 0);
  ebm_dataset_free(ds);
}

/* On points NCE's recipe takes Adam steps of 1e-2 (the MCMC methods keep
 * 3e-3; everything else is the data's recipe); on images it is the data's. */
TEST(nce_recipe_steps_adam_at_1e_2_on_points_only) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:checkerboard:64", -4, 4, &ds));
  ebm_train_config pcd, nce;
  tt_recipes(ds, "nce", "toy-2d", &pcd, &nce);
  CHECK_NEAR(pcd.adam.lr, 3e-3, 1e-9);
  CHECK_NEAR(nce.adam.lr, 1e-2, 1e-9);
  /* the rest is the data's */
  CHECK(nce.sampler.kind == pcd.sampler.kind && nce.sampler.steps == pcd.sampler.steps);
  CHECK(nce.sampler.step_size == pcd.sampler.step_size && nce.alpha == pcd.alpha);
  CHECK(nce.adam.beta1 == pcd.adam.beta1 && nce.lr_decay == pcd.lr_decay && nce.range_hi == pcd.range_hi);
  ebm_dataset_free(ds);
  const int64_t shape[4] = {4, 1, 4, 4};
  float img[64];
  for (int k = 0; k < 64; k++) img[k] = (float)(k % 7) / 7.0f;
  char spec[600];
  snprintf(spec, sizeof spec, "npy:%s", test_path("img.npy"));
  REQUIRE_OK(ebm_npy_save(spec + 4, EBM_DTYPE_F32, 4, shape, img));
  REQUIRE_OK(ebm_dataset_load(spec, 0, 1, &ds));
  tt_recipes(ds, "nce", "images", &pcd, &nce);
  CHECK_NEAR(nce.adam.lr, pcd.adam.lr, 0);
  ebm_dataset_free(ds);
}

TEST(nce_refuses_a_noise_ratio_of_0_and_conditional_training) {
  ebm_train_config c = ebm_train_defaults();
  REQUIRE_OK(ebm_train_config_set(&c, "method", "nce"));
  CHECK_OK(ebm_train_config_check(&c)); /* the default ν = 1 */
  REQUIRE_OK(ebm_train_config_set(&c, "noise-ratio", "0"));
  CHECK(ebm_train_config_check(&c) == EBM_ERR_ARG);
  CHECK_EQ_STR(ebm_last_error(), "noise-ratio must be in (0, 1024] noise samples per data item, got 0");
  REQUIRE_OK(ebm_train_config_set(&c, "noise-ratio", "1"));
  c.conditional = 1;
  CHECK(ebm_train_config_check(&c) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "conditional must be off") != NULL);
}

/* A step whose energies are NaN stops as a divergence naming the step. */
TEST(nce_divergence_is_reported_with_the_step) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:64", 0, 1, &ds));
  ebm_train_config c = tt_toy_config(16, 1, 4);
  REQUIRE_OK(ebm_train_config_set(&c, "method", "nce"));
  c.inject_nan_at = 2;
  ebm_net *net = tt_mlp(8, 0, 16, 1);
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(net, ds, &c, &t));
  CHECK_OK(ebm_trainer_step(t, NULL));
  CHECK(ebm_trainer_step(t, NULL) == EBM_ERR_NUMERIC);
  CHECK_EQ_STR(ebm_last_error(), "diverged at step 2: e_neg is NaN");
  ebm_trainer_free(t);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}

/* ----------------------------------------------------- a flow as the noise */

/* --noise-ckpt: the first step's loss is the logistic loss of the data
 * against the flow's own samples (drawn from the trainer's rng) with the
 * flow's exact log q; resume is bit-exact. One batch = the whole data, so
 * the batcher's order does not matter. */
TEST(nce_with_a_flow_noise_uses_its_samples_and_exact_log_q_and_resumes) {
  enum { B = 64 };
  const char *path = test_path("noise_flow.safetensors");
  tt_save_random_flow(path, 2, 81);
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:64", 0, 1, &ds));
  ebm_train_config c = tt_toy_config(B, 1, 6);
  REQUIRE_OK(ebm_train_config_set(&c, "method", "nce"));
  REQUIRE_OK(ebm_train_config_set(&c, "noise-ckpt", path));
  ebm_net *net = tt_mlp(8, 0, B, 1);
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(net, ds, &c, &t));
  /* what the step should see, computed beside it before it changes the net */
  ebm_flow *flow = NULL;
  REQUIRE_OK(ebm_flow_load(path, B, &flow));
  ebm_rng rng = t->rng;
  float noise[2 * B], lq_pos[B], lq_neg[B], e_pos[B], e_neg[B], de[B];
  REQUIRE_OK(ebm_flow_sample(flow, &rng, B, 1.0f, noise));
  REQUIRE_OK(ebm_flow_log_prob(flow, ds->x->data, B, lq_pos));
  REQUIRE_OK(ebm_flow_log_prob(flow, noise, B, lq_neg));
  REQUIRE_OK(ebm_net_forward(net, ds->x->data, NULL, B, e_pos));
  REQUIRE_OK(ebm_net_forward(net, noise, NULL, B, e_neg));
  const double want = train_nce_loss(e_pos, lq_pos, B, 1, 0.0, B, de) + train_nce_loss(e_neg, lq_neg, B, 0, 0.0, B, de);
  ebm_train_stats s;
  REQUIRE_OK(ebm_trainer_step(t, &s));
  CHECK_NEAR(s.loss, want, 1e-5 * fabs(want));
  int64_t shown = 0;
  const float *drawn = t->method->samples(t, t->method_state, &shown);
  CHECK_EQ_INT(shown, B);
  CHECK(memcmp(drawn, noise, sizeof noise) == 0); /* the flow's samples are the noise */
  ebm_trainer_free(t);
  ebm_net_free(net);
  ebm_flow_free(flow);
  c.batch = 16;
  tt_check_resume_bit_exact(ds, c, "{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": 8, \"depth\": 1}", NULL, 0);
  ebm_dataset_free(ds);
}

TEST(nce_refuses_a_noise_flow_whose_items_are_not_the_datas) {
  const char *path = test_path("flow3.safetensors");
  tt_save_random_flow(path, 3, 82);
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:rings:train:32", 0, 1, &ds));
  ebm_train_config c = tt_toy_config(16, 1, 2);
  REQUIRE_OK(ebm_train_config_set(&c, "method", "nce"));
  REQUIRE_OK(ebm_train_config_set(&c, "noise-ckpt", path));
  ebm_net *net = tt_mlp(8, 0, 16, 1);
  ebm_trainer *t = NULL;
  CHECK(ebm_trainer_new(net, ds, &c, &t) == EBM_ERR_SHAPE);
  char want[1200];
  snprintf(want, sizeof want, "%s: the noise flow takes items of shape [3], the data's (toy:rings:train:32) are [2]",
           path);
  CHECK_EQ_STR(ebm_last_error(), want);
  CHECK(t == NULL);
  /* a checkpoint that is no flow */
  const char *plain = test_path("plain.safetensors");
  REQUIRE_OK(ebm_net_save(net, plain, 0, NULL, NULL));
  REQUIRE_OK(ebm_train_config_set(&c, "noise-ckpt", plain));
  CHECK(ebm_trainer_new(net, ds, &c, &t) == EBM_ERR_FORMAT);
  CHECK(strstr(ebm_last_error(), "not a flow") != NULL);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}

/* ------------------------------------------------ the log-normaliser's start */

/* 64 items of 16 values 0.5 + 0.01·N(0, 1) (test_path("tight.npy")): under
 * the Gaussian fitted to them log q ≈ +51 nats on average, far from any
 * fresh network's output. */
static ebm_dataset *tight_vectors(void) {
  enum { N = 64, DIM = 16 };
  static float x[N * DIM];
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  ebm_rng_normal(&rng, x, N * DIM, 0.5f, 0.01f);
  const int64_t shape[2] = {N, DIM};
  char spec[600];
  snprintf(spec, sizeof spec, "npy:%s", test_path("tight.npy"));
  REQUIRE_OK(ebm_npy_save(spec + 4, EBM_DTYPE_F32, 2, shape, x));
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load(spec, 0, 1, &ds));
  return ds;
}

#define TIGHT_MLP "{\"preset\": \"mlp\", \"in_dim\": 16, \"width\": 8, \"depth\": 1}"

/* mean over the items of −E(x) − log q(x) under the Gaussian NCE fits. */
static double mean_log_odds(ebm_net *net, const ebm_dataset *ds) {
  const int64_t n = ds->x->shape[0], dim = ds->x->shape[1];
  ebm_energy *q = NULL;
  double log_zq = 0, sum = 0;
  float e[64], eq[64];
  REQUIRE(n <= 64);
  REQUIRE_OK(ebm_gaussian_energy_fit(ds->x->data, n, dim, 10000, &q));
  REQUIRE_OK(ebm_gaussian_energy_log_z(q, &log_zq));
  REQUIRE_OK(ebm_energy_eval(q, ds->x->data, NULL, n, eq, NULL));
  REQUIRE_OK(ebm_net_forward(net, ds->x->data, NULL, n, e));
  for (int64_t i = 0; i < n; i++) sum += (-(double)e[i] + eq[i] + log_zq) / (double)n; /* log q = −E_q − log Z_q */
  ebm_energy_free(q);
  return sum;
}

/* The energy network's final bias starts where G = −E − log q is 0 on
 * average over the first batch (here all 64 items): without that start it
 * is about −51 and the logistic loss saturated. */
TEST(nce_starts_its_log_normaliser_where_the_data_are_at_chance) {
  ebm_dataset *ds = tight_vectors();
  ebm_train_config c = tt_toy_config(64, 1, 4);
  REQUIRE_OK(ebm_train_config_set(&c, "method", "nce"));
  REQUIRE_OK(ebm_train_config_set(&c, "range", "0,1"));
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(TIGHT_MLP, 64, &net));
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  REQUIRE_OK(ebm_net_init(net, &rng));
  const double before = mean_log_odds(net, ds);
  CHECK(before < -40); /* the case the start is for */
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(net, ds, &c, &t));
  const double after = mean_log_odds(net, ds);
  printf("    mean log-odds of the data: %.3f before the start, %.2g after\n", before, after);
  CHECK(fabs(after) < 1e-3);
  ebm_train_stats s;
  REQUIRE_OK(ebm_trainer_step(t, &s));
  CHECK(s.loss < 10); /* the loss no longer starts at ≈ 51 */
  ebm_trainer_free(t);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}

/* A network whose last parameter is not a one-output bias keeps its start. */
TEST(nce_log_normaliser_start_leaves_a_network_without_a_final_bias_alone) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new("{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"out\", \"out\": 3}]}", 4, &net));
  ebm_rng rng;
  ebm_rng_init(&rng, 2);
  REQUIRE_OK(ebm_net_init(net, &rng));
  ebm_tensor *b = ebm_net_param(net, ebm_net_param_count(net) - 1)->value;
  float keep[3], x[8] = {0}, lq[4] = {100, 100, 100, 100}, e[12];
  memcpy(keep, b->data, sizeof keep);
  CHECK_OK(train_nce_start_log_normaliser(net, x, lq, 4, e));
  CHECK(memcmp(keep, b->data, sizeof keep) == 0);
  ebm_net_free(net);
}
