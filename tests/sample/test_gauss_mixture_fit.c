/* The Gaussian mixture fitted by EM (sample/gauss_mixture_fit.c): one
 * component reproduces a known Gaussian's mean and covariance within
 * statistical bounds, and its log-likelihood is the closed form; two
 * separated components are found with their weights; draws have the
 * fitted moments; fit and draws are the same for a seed; bad input gets
 * one line; and a generator model decodes the fitted latents exactly. */
#include "test_util.h"
#include "train/train_testutil.h"

#define DIM 3

static const double mu_a[DIM] = {0.4, -0.2, 0.1};
static const double chol_a[DIM][DIM] = {{0.30, 0, 0}, {0.12, 0.20, 0}, {-0.05, 0.10, 0.15}};

static double sigma_a(int r, int c) {
  double s = 0;
  for (int k = 0; k < DIM; k++) s += chol_a[r][k] * chol_a[c][k];
  return s;
}

/* n draws of N(mu + shift, scale² Σ_a) into x (n×DIM). */
static void draw_a(ebm_rng *rng, int64_t n, const double *shift, double scale, float *x) {
  float z[DIM];
  for (int64_t i = 0; i < n; i++) {
    ebm_rng_normal(rng, z, DIM, 0.0f, 1.0f);
    for (int r = 0; r < DIM; r++) {
      double v = mu_a[r] + shift[r];
      for (int c = 0; c <= r; c++) v += scale * chol_a[r][c] * z[c];
      x[i * DIM + r] = (float)v;
    }
  }
}

/* The empirical mean and covariance of x (n×DIM), in double. */
static void moments(const float *x, int64_t n, double *m, double *C) {
  memset(m, 0, DIM * sizeof *m);
  memset(C, 0, DIM * DIM * sizeof *C);
  for (int64_t i = 0; i < n; i++)
    for (int r = 0; r < DIM; r++) m[r] += x[i * DIM + r] / (double)n;
  for (int64_t i = 0; i < n; i++)
    for (int r = 0; r < DIM; r++)
      for (int c = 0; c < DIM; c++) C[r * DIM + c] += (x[i * DIM + r] - m[r]) * (x[i * DIM + c] - m[c]) / (double)n;
}

/* |mean − μ| within 5 standard errors, |C − Σ| within 5 standard errors of
 * a sample covariance of n Gaussian draws (var C_rc = (Σ_rr Σ_cc + Σ_rc²)/n),
 * plus `slack` (the ridge). */
static void check_moments(const double *m, const double *C, const double *mu, double scale, int64_t n, double slack) {
  const double s2 = scale * scale;
  for (int r = 0; r < DIM; r++) {
    CHECK_NEAR(m[r], mu[r], 5.0 * sqrt(s2 * sigma_a(r, r) / (double)n));
    for (int c = 0; c < DIM; c++) {
      const double se = s2 * sqrt((sigma_a(r, r) * sigma_a(c, c) + sigma_a(r, c) * sigma_a(r, c)) / (double)n);
      CHECK_NEAR(C[r * DIM + c], s2 * sigma_a(r, c), 5.0 * se + slack);
    }
  }
}

static ebm_gmm_config config(int k, uint64_t seed) {
  return (ebm_gmm_config){.components = k, .max_iters = 200, .reg = 1e-3f, .seed = seed};
}

TEST(gmm_one_component_reproduces_a_known_gaussians_mean_and_covariance) {
  const int64_t n = 20000;
  float *x = malloc((size_t)(n * DIM) * sizeof *x), *y = malloc((size_t)(n * DIM) * sizeof *y);
  REQUIRE(x && y);
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  const double none[DIM] = {0, 0, 0};
  draw_a(&rng, n, none, 1.0, x);
  ebm_gmm *g = NULL;
  ebm_gmm_config cfg = config(1, 1);
  REQUIRE_OK(ebm_gmm_fit(x, n, DIM, &cfg, &g));
  CHECK_EQ_INT((int)ebm_gmm_components(g), 1);
  CHECK_EQ_INT((int)ebm_gmm_dim(g), DIM);
  double w, m[DIM], C[DIM * DIM], em[DIM], eC[DIM * DIM];
  REQUIRE_OK(ebm_gmm_component(g, 0, &w, m, C));
  CHECK_NEAR(w, 1.0, 1e-12);
  /* the fit is the empirical moments (+ the ridge: 1e-3 × the mean variance) */
  moments(x, n, em, eC);
  const double ridge = 1e-3 * (eC[0] + eC[4] + eC[8]) / DIM;
  for (int r = 0; r < DIM; r++) {
    CHECK_NEAR(m[r], em[r], 1e-9);
    for (int c = 0; c < DIM; c++) CHECK_NEAR(C[r * DIM + c], eC[r * DIM + c] + (r == c ? ridge : 0), 1e-9);
  }
  check_moments(m, C, mu_a, 1.0, n, ridge);
  /* one Gaussian at the empirical moments: mean log-likelihood −D/2 log 2π − ½ log det C − ½ tr(C⁻¹Ĉ) ≈ that with D/2 */
  const double det = C[0] * (C[4] * C[8] - C[5] * C[7]) - C[1] * (C[3] * C[8] - C[5] * C[6]) +
                     C[2] * (C[3] * C[7] - C[4] * C[6]);
  CHECK_NEAR(ebm_gmm_log_likelihood(g), -0.5 * DIM * 1.8378770664093453 - 0.5 * log(det) - 0.5 * DIM, 0.01);
  /* draws have the fitted moments */
  ebm_rng_init(&rng, 9);
  REQUIRE_OK(ebm_gmm_sample(g, &rng, n, y));
  double dm[DIM], dC[DIM * DIM];
  moments(y, n, dm, dC);
  check_moments(dm, dC, m, 1.0, n, 2 * ridge + 5.0 * sqrt(sigma_a(0, 0) * sigma_a(0, 0) * 2 / (double)n));
  ebm_gmm_free(g);
  free(x);
  free(y);
}

/* 30 % of the points around one mean, 70 % around another six standard
 * deviations away, half as wide: K = 2 finds both, with their weights. */
static float *two_clusters(int64_t n, uint64_t seed) {
  float *x = malloc((size_t)(n * DIM) * sizeof *x);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  const double far[DIM] = {3.0, 1.0, 0.0}, none[DIM] = {0, 0, 0};
  for (int64_t i = 0; i < n; i++) draw_a(&rng, 1, i % 10 < 3 ? none : far, i % 10 < 3 ? 1.0 : 0.5, x + i * DIM);
  return x;
}

TEST(gmm_two_components_are_found_with_their_weights_means_and_covariances) {
  const int64_t n = 20000;
  float *x = two_clusters(n, 3);
  ebm_gmm *g1 = NULL, *g2 = NULL;
  ebm_gmm_config c1 = config(1, 1), c2 = config(2, 1);
  REQUIRE_OK(ebm_gmm_fit(x, n, DIM, &c1, &g1));
  REQUIRE_OK(ebm_gmm_fit(x, n, DIM, &c2, &g2));
  CHECK(ebm_gmm_log_likelihood(g2) > ebm_gmm_log_likelihood(g1) + 1.0);
  CHECK(ebm_gmm_iterations(g2) >= 2);
  double w[2], m[2][DIM], C[2][DIM * DIM];
  REQUIRE_OK(ebm_gmm_component(g2, 0, &w[0], m[0], C[0]));
  REQUIRE_OK(ebm_gmm_component(g2, 1, &w[1], m[1], C[1]));
  const int near = m[0][0] < m[1][0] ? 0 : 1, away = 1 - near;
  CHECK_NEAR(w[near], 0.3, 1e-3); /* every tenth group of 3 points is the near cluster: exactly 0.3 */
  const double far_mu[DIM] = {mu_a[0] + 3.0, mu_a[1] + 1.0, mu_a[2]};
  const int64_t n_near = n * 3 / 10, n_far = n - n_near;
  const double ridge_bound = 1e-3 * 2.5; /* the ridge: 1e-3 × the whole set's mean variance (< 2.5) */
  check_moments(m[near], C[near], mu_a, 1.0, n_near, ridge_bound);
  check_moments(m[away], C[away], far_mu, 0.5, n_far, ridge_bound);
  CHECK_FAILS_WITH(ebm_gmm_component(g2, 2, NULL, NULL, NULL), EBM_ERR_ARG, "component 2 of 2");
  ebm_gmm_free(g1);
  ebm_gmm_free(g2);
  free(x);
}

TEST(gmm_fit_and_draws_are_the_same_for_a_seed) {
  const int64_t n = 2000, m = 500;
  float *x = two_clusters(n, 4), a[500 * DIM], b[500 * DIM];
  ebm_gmm *g = NULL, *h = NULL;
  ebm_gmm_config cfg = config(3, 7);
  REQUIRE_OK(ebm_gmm_fit(x, n, DIM, &cfg, &g));
  REQUIRE_OK(ebm_gmm_fit(x, n, DIM, &cfg, &h));
  for (int j = 0; j < 3; j++) {
    double wg, wh, mg[DIM], mh[DIM], Cg[DIM * DIM], Ch[DIM * DIM];
    REQUIRE_OK(ebm_gmm_component(g, j, &wg, mg, Cg));
    REQUIRE_OK(ebm_gmm_component(h, j, &wh, mh, Ch));
    CHECK(wg == wh && memcmp(mg, mh, sizeof mg) == 0 && memcmp(Cg, Ch, sizeof Cg) == 0);
  }
  ebm_rng r1, r2;
  ebm_rng_init(&r1, 11);
  ebm_rng_init(&r2, 11);
  REQUIRE_OK(ebm_gmm_sample(g, &r1, m, a));
  REQUIRE_OK(ebm_gmm_sample(h, &r2, m, b));
  CHECK(memcmp(a, b, sizeof a) == 0);
  ebm_rng_init(&r2, 12);
  REQUIRE_OK(ebm_gmm_sample(h, &r2, m, b));
  CHECK(memcmp(a, b, sizeof a) != 0);
  ebm_gmm_free(g);
  ebm_gmm_free(h);
  free(x);
}

TEST(gmm_fit_refuses_bad_input_in_one_line) {
  float x[40 * DIM];
  for (int i = 0; i < 40 * DIM; i++) x[i] = (float)(i % 7) * 0.1f + (float)(i % 3);
  ebm_gmm *g = NULL;
  ebm_gmm_config cfg = config(2, 1);
  x[5 * DIM + 1] = NAN;
  CHECK_FAILS_WITH(ebm_gmm_fit(x, 40, DIM, &cfg, &g), EBM_ERR_ARG, "item 5, value 1 is nan");
  CHECK(g == NULL);
  x[5 * DIM + 1] = 0.5f;
  cfg.components = 0;
  CHECK_FAILS_WITH(ebm_gmm_fit(x, 40, DIM, &cfg, &g), EBM_ERR_ARG, "got K 0, 40 items");
  cfg.components = 21;
  CHECK_FAILS_WITH(ebm_gmm_fit(x, 40, DIM, &cfg, &g), EBM_ERR_ARG, "at least 2 items per component");
  cfg.components = 2;
  cfg.reg = 0;
  CHECK_FAILS_WITH(ebm_gmm_fit(x, 40, DIM, &cfg, &g), EBM_ERR_ARG, "reg 0");
  CHECK(g == NULL);
  ebm_gmm_free(NULL);
}

/* A generator model's fitted samples are G of the mixture's draws for the
 * same rng, bit for bit, and a density of another dimension is refused. */
TEST(gen_model_sample_fitted_decodes_the_mixtures_draws) {
  enum { LATENT = 2, N = 40, BATCH = 16 };
  const char *path = test_path("lat.safetensors");
  ebm_net *e = tt_mlp(LATENT, 0, BATCH, 1), *gnet = tt_generator(LATENT, 8, BATCH, 2);
  const ebm_net *nets[2] = {e, gnet};
  const char *names[2] = {"energy", "generator"};
  const char *keys[3] = {"method", "space", "obs_noise"}, *values[3] = {"latent-ebm", "latent", "0.5"};
  REQUIRE_OK(ebm_net_save_parts(path, 2, nets, names, 3, keys, values));
  ebm_net_free(e);
  ebm_net_free(gnet);
  ebm_gen_model m;
  REQUIRE_OK(ebm_gen_model_open(path, BATCH, &m));
  const int64_t item = ebm_net_out_size(m.generator);
  float zfit[200 * LATENT];
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  ebm_rng_normal(&rng, zfit, 200 * LATENT, 1.5f, 0.7f);
  ebm_gmm *g = NULL;
  ebm_gmm_config cfg = config(2, 1);
  REQUIRE_OK(ebm_gmm_fit(zfit, 200, LATENT, &cfg, &g));
  float z[N * LATENT], x[N * 4], zd[N * LATENT], xd[N * 4];
  REQUIRE(item <= 4);
  ebm_rng_init(&rng, 21);
  REQUIRE_OK(ebm_gen_model_sample_fitted(&m, g, N, &rng, z, x));
  ebm_rng_init(&rng, 21);
  REQUIRE_OK(ebm_gmm_sample(g, &rng, N, zd));
  CHECK(memcmp(z, zd, sizeof z) == 0);
  REQUIRE_OK(ebm_gen_model_decode(&m, zd, N, xd)); /* N > BATCH: in chunks */
  CHECK(memcmp(x, xd, (size_t)(N * item) * sizeof *x) == 0);
  float one[4];
  REQUIRE_OK(ebm_net_forward(m.generator, zd + (N - 1) * LATENT, NULL, 1, one));
  CHECK(memcmp(one, xd + (N - 1) * item, (size_t)item * sizeof *one) == 0);
  ebm_gmm *g3 = NULL;
  ebm_gmm_config c3 = config(1, 1);
  REQUIRE_OK(ebm_gmm_fit(zfit, 200 * LATENT, 1, &c3, &g3)); /* a density of scalars, not of z */
  CHECK_FAILS_WITH(ebm_gen_model_sample_fitted(&m, g3, N, &rng, NULL, x), EBM_ERR_ARG,
                   "1-dimensional latents, the generator takes z of 2");
  ebm_gmm_free(g);
  ebm_gmm_free(g3);
  ebm_gen_model_close(&m);
}

/* Many dimensions, few items per component (the subspace mixture's case:
 * 64 principal coordinates): two clusters 56.6 apart on axis 0, spread
 * 0.3 on the 63 others. Started from the data's covariance, EM lets the
 * noise axes decide the first responsibilities and stays with two broad
 * components (measured with kmeans_iters 0: means −0.93 and 7.13 on axis
 * 0, weights 0.885 and 0.115);
 * from Lloyd's clusters it finds the two, with their shares. */
TEST(gmm_from_kmeans_clusters_separates_clusters_in_many_dimensions) {
  const int64_t n = 200, D = 64;
  float *x = malloc(sizeof(float) * n * D);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, 7);
  for (int64_t i = 0; i < n; i++) {
    const int a = i % 10 < 3;
    ebm_rng_normal(&rng, x + i * D, D, 0.0f, 0.3f);
    x[i * D] = (a ? -39.6f : 16.97f) + 0.1f * x[i * D];
  }
  ebm_gmm_config cfg = config(2, 1);
  cfg.kmeans_iters = 100;
  ebm_gmm *g = NULL;
  REQUIRE_OK(ebm_gmm_fit(x, n, D, &cfg, &g));
  double w[2], m[2][64];
  for (int j = 0; j < 2; j++) REQUIRE_OK(ebm_gmm_component(g, j, &w[j], m[j], NULL));
  const int ja = m[0][0] < m[1][0] ? 0 : 1;
  CHECK_NEAR(w[ja], 0.3, 1e-6);
  CHECK_NEAR(m[ja][0], -39.6, 0.05);
  CHECK_NEAR(m[1 - ja][0], 16.97, 0.05);
  ebm_gmm_free(g);
  cfg.kmeans_iters = -1;
  CHECK_FAILS_WITH(ebm_gmm_fit(x, n, D, &cfg, &g), EBM_ERR_ARG, "kmeans_iters >= 0");
  free(x);
}
