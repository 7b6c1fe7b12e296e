/* Fresh chain starts from a Gaussian fitted to data: the fit against a
 * brute-force mean and covariance, draws with the right moments inside the
 * range, the conditional (inpainting) draw against its closed form, the
 * replay buffer's fresh items, and the uniform start unchanged. */
#include "test.h"

#define DIM 3

/* A correlated Gaussian in 3-D: mean mu, Σ = L·Lᵀ. */
static const double mu[DIM] = {0.4, -0.2, 0.1};
static const double chol[DIM][DIM] = {{0.30, 0, 0}, {0.12, 0.20, 0}, {-0.05, 0.10, 0.15}};

static double sigma_at(int i, int j) {
  double s = 0;
  for (int k = 0; k < DIM; k++) s += chol[i][k] * chol[j][k];
  return s;
}

static float *correlated_points(int64_t n, uint64_t seed) {
  float *x = malloc((size_t)(n * DIM) * sizeof *x), z[DIM];
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  for (int64_t i = 0; i < n; i++) {
    ebm_rng_normal(&rng, z, DIM, 0.0f, 1.0f);
    for (int r = 0; r < DIM; r++) {
      double v = mu[r];
      for (int c = 0; c <= r; c++) v += chol[r][c] * z[c];
      x[i * DIM + r] = (float)v;
    }
  }
  return x;
}

/* E(p) = ½(p−m)ᵀC⁻¹(p−m) for the empirical m, C (+ the fit's ridge) of the
 * items j·n/count, j < count, in double: what the fit must equal. */
static double brute_energy(const float *x, int64_t n, int64_t count, const double *p) {
  double m[DIM] = {0}, C[DIM][DIM] = {{0}};
  for (int64_t j = 0; j < count; j++)
    for (int r = 0; r < DIM; r++) m[r] += x[(j * n / count) * DIM + r] / (double)count;
  for (int64_t j = 0; j < count; j++) {
    const float *xj = x + (j * n / count) * DIM;
    for (int r = 0; r < DIM; r++)
      for (int c = 0; c < DIM; c++) C[r][c] += (xj[r] - m[r]) * (xj[c] - m[c]) / (double)count;
  }
  const double ridge = 1e-4 * (C[0][0] + C[1][1] + C[2][2]) / DIM;
  for (int r = 0; r < DIM; r++) C[r][r] += ridge;
  /* solve C·v = p − m by Cramer's rule (3×3) */
  double d[DIM] = {p[0] - m[0], p[1] - m[1], p[2] - m[2]};
  const double det = C[0][0] * (C[1][1] * C[2][2] - C[1][2] * C[2][1]) -
                     C[0][1] * (C[1][0] * C[2][2] - C[1][2] * C[2][0]) +
                     C[0][2] * (C[1][0] * C[2][1] - C[1][1] * C[2][0]);
  double v[DIM];
  for (int k = 0; k < DIM; k++) {
    double M[DIM][DIM];
    memcpy(M, C, sizeof M);
    for (int r = 0; r < DIM; r++) M[r][k] = d[r];
    v[k] = (M[0][0] * (M[1][1] * M[2][2] - M[1][2] * M[2][1]) - M[0][1] * (M[1][0] * M[2][2] - M[1][2] * M[2][0]) +
            M[0][2] * (M[1][0] * M[2][1] - M[1][1] * M[2][0])) / det;
  }
  return 0.5 * (d[0] * v[0] + d[1] * v[1] + d[2] * v[2]);
}

TEST(gaussian_fit_equals_the_brute_force_mean_and_covariance) {
  const int64_t n = 3000;
  float *x = correlated_points(n, 5);
  const int64_t caps[2] = {n, 700}; /* all items; then every (n/700)-th, spread over the set */
  for (int t = 0; t < 2; t++) {
    ebm_energy *g = NULL;
    REQUIRE_OK(ebm_gaussian_energy_fit(x, n, DIM, caps[t], &g));
    const double pts[3][DIM] = {{0.4, -0.2, 0.1}, {1.0, 0.5, -0.5}, {-0.3, 0.2, 0.6}};
    for (int k = 0; k < 3; k++) {
      float p[DIM] = {(float)pts[k][0], (float)pts[k][1], (float)pts[k][2]}, e;
      REQUIRE_OK(ebm_energy_eval(g, p, NULL, 1, &e, NULL));
      const double want = brute_energy(x, n, caps[t], pts[k]);
      CHECK_NEAR(e, want, 1e-4 * (1 + fabs(want)));
    }
    ebm_energy_free(g);
  }
  ebm_energy *g = NULL;
  CHECK_FAILS_WITH(ebm_gaussian_energy_fit(x, 1, DIM, 10, &g), EBM_ERR_ARG, "at least 2 items");
  free(x);
}

TEST(chain_start_draws_have_the_fitted_moments_and_stay_in_the_range) {
  const int64_t n = 20000;
  float *x = correlated_points(n, 6), *d = malloc((size_t)(n * DIM) * sizeof *d);
  REQUIRE(d);
  ebm_energy *g = NULL;
  REQUIRE_OK(ebm_gaussian_energy_fit(x, n, DIM, n, &g));
  ebm_rng rng;
  ebm_rng_init(&rng, 7);
  /* a range 3.3σ wide at least on every side: clamping moves almost nothing */
  REQUIRE_OK(ebm_chain_start_draw(g, &rng, n, DIM, -2.0f, 2.0f, d));
  for (int r = 0; r < DIM; r++) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < n; i++) m += d[i * DIM + r] / (double)n;
    for (int64_t i = 0; i < n; i++) v += (d[i * DIM + r] - m) * (d[i * DIM + r] - m) / (double)(n - 1);
    const double var = sigma_at(r, r);
    CHECK_NEAR(m, mu[r], 5 * sqrt(var / n) + 5 * sqrt(var / n)); /* the fit's error plus the draws' */
    CHECK_NEAR(v, var, 5 * var * sqrt(2.0 / n) * 2);
  }
  double c01 = 0; /* the correlation is drawn too, not only the variances */
  for (int64_t i = 0; i < n; i++) c01 += (d[i * DIM] - mu[0]) * (d[i * DIM + 1] - mu[1]) / (double)n;
  CHECK_NEAR(c01, sigma_at(0, 1), 0.004);
  /* a narrow range: every value is clamped into it */
  REQUIRE_OK(ebm_chain_start_draw(g, &rng, n, DIM, 0.3f, 0.5f, d));
  int inside = 1;
  for (int64_t k = 0; k < n * DIM; k++) inside &= d[k] >= 0.3f && d[k] <= 0.5f;
  CHECK(inside);
  CHECK_FAILS_WITH(ebm_chain_start_draw(g, &rng, 1, DIM + 1, 0, 1, d), EBM_ERR_SHAPE, "values per item");
  ebm_energy_free(g);
  free(d);
  free(x);
}

TEST(chain_start_without_a_gaussian_is_the_uniform_stream_unchanged) {
  float a[64], b[64];
  ebm_rng r1, r2;
  ebm_rng_init(&r1, 3);
  ebm_rng_init(&r2, 3);
  REQUIRE_OK(ebm_chain_start_draw(NULL, &r1, 16, 4, -1.0f, 1.0f, a));
  ebm_rng_uniform(&r2, b, 64, -1.0f, 1.0f);
  CHECK(memcmp(a, b, sizeof a) == 0);
}

/* x₂ | x₀, x₁ of the 3-D Gaussian: mean μ₂ + Σ₂ₒΣₒₒ⁻¹(xₒ − μₒ), variance
 * Σ₂₂ − Σ₂ₒΣₒₒ⁻¹Σₒ₂ (2×2 inverse by hand). */
static void closed_form(const float *known, double *mean, double *var) {
  const double a = sigma_at(0, 0), b = sigma_at(0, 1), d = sigma_at(1, 1), det = a * d - b * b;
  const double s0 = sigma_at(2, 0), s1 = sigma_at(2, 1);
  const double w0 = (d * s0 - b * s1) / det, w1 = (a * s1 - b * s0) / det; /* Σₒₒ⁻¹Σₒ₂ */
  *mean = mu[2] + w0 * (known[0] - mu[0]) + w1 * (known[1] - mu[1]);
  *var = sigma_at(2, 2) - (w0 * s0 + w1 * s1);
}

TEST(gaussian_draws_given_known_values_match_the_closed_form_conditional) {
  double cov[DIM * DIM];
  for (int r = 0; r < DIM; r++)
    for (int c = 0; c < DIM; c++) cov[r * DIM + c] = sigma_at(r, c);
  ebm_energy *g = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(DIM, mu, cov, &g));
  const int64_t n = 20000;
  float *known = malloc((size_t)(n * DIM) * sizeof *known), *mask = malloc((size_t)(n * DIM) * sizeof *mask);
  float *x = malloc((size_t)(n * DIM) * sizeof *x);
  REQUIRE(known && mask && x);
  for (int64_t i = 0; i < n; i++) {
    known[i * DIM] = 0.7f, known[i * DIM + 1] = -0.5f, known[i * DIM + 2] = 9.0f; /* the 9 is overwritten */
    mask[i * DIM] = mask[i * DIM + 1] = 0.0f, mask[i * DIM + 2] = 1.0f;
  }
  double want_mean, want_var;
  closed_form(known, &want_mean, &want_var);
  ebm_rng rng;
  ebm_rng_init(&rng, 11);
  REQUIRE_OK(ebm_gaussian_energy_sample_given(g, &rng, n, known, mask, 1.0f, x));
  double m = 0, v = 0;
  int kept = 1;
  for (int64_t i = 0; i < n; i++) {
    m += x[i * DIM + 2] / (double)n;
    kept &= x[i * DIM] == 0.7f && x[i * DIM + 1] == -0.5f;
  }
  for (int64_t i = 0; i < n; i++) v += (x[i * DIM + 2] - m) * (x[i * DIM + 2] - m) / (double)(n - 1);
  CHECK(kept);
  CHECK_NEAR(m, want_mean, 5 * sqrt(want_var / n));
  CHECK_NEAR(v, want_var, 5 * want_var * sqrt(2.0 / n));
  /* spread 0: exactly the conditional mean, no random draws (rng NULL) */
  REQUIRE_OK(ebm_gaussian_energy_sample_given(g, NULL, 2, known, mask, 0.0f, x));
  CHECK_NEAR(x[2], want_mean, 1e-5);
  CHECK_NEAR(x[5], want_mean, 1e-5);
  /* items with different masks: the second item knows only x₂ = 0.3, so x₀
   * is drawn at its own conditional mean μ₀ + Σ₀₂/Σ₂₂·(0.3 − μ₂) */
  float k2[2 * DIM] = {0.7f, -0.5f, 0.0f, 0.0f, 0.0f, 0.3f}, m2[2 * DIM] = {0, 0, 1, 1, 1, 0};
  REQUIRE_OK(ebm_gaussian_energy_sample_given(g, NULL, 2, k2, m2, 0.0f, x));
  CHECK_NEAR(x[2], want_mean, 1e-5);
  CHECK_NEAR(x[3], mu[0] + sigma_at(0, 2) / sigma_at(2, 2) * (0.3 - mu[2]), 1e-5);
  CHECK(x[5] == 0.3f);
  free(known);
  free(mask);
  free(x);
  ebm_energy_free(g);
}

TEST(replay_fresh_items_come_from_the_start_gaussian) {
  double m[4] = {0.5, 0.5, 0.5, 0.5}, cov[16] = {0};
  for (int k = 0; k < 4; k++) cov[k * 4 + k] = 1e-4; /* σ 0.01 around 0.5: nothing uniform looks like it */
  ebm_energy *g = NULL, *wrong = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(4, m, cov, &g));
  REQUIRE_OK(ebm_gaussian_energy_new(3, NULL, NULL, &wrong));
  const int64_t shape[1] = {4};
  ebm_replay *rb = NULL;
  REQUIRE_OK(ebm_replay_new(64, 1, shape, 0, 0.0f, 1.0f, &rb));
  CHECK_FAILS_WITH(ebm_replay_set_start(rb, wrong), EBM_ERR_SHAPE, "values per item");
  REQUIRE_OK(ebm_replay_set_start(rb, g));
  float x[32 * 4];
  ebm_rng rng;
  ebm_rng_init(&rng, 2);
  REQUIRE_OK(ebm_replay_get(rb, x, NULL, 32, 1.0f, &rng, NULL));
  int near = 1;
  for (int k = 0; k < 32 * 4; k++) near &= fabsf(x[k] - 0.5f) < 0.06f;
  CHECK(near);
  REQUIRE_OK(ebm_replay_set_start(rb, NULL)); /* back to uniform: values spread over [0, 1) */
  REQUIRE_OK(ebm_replay_get(rb, x, NULL, 32, 1.0f, &rng, NULL));
  int far = 0;
  for (int k = 0; k < 32 * 4; k++) far += fabsf(x[k] - 0.5f) > 0.2f;
  CHECK(far > 32);
  ebm_replay_free(rb);
  ebm_energy_free(g);
  ebm_energy_free(wrong);
}

TEST(chain_start_by_name_fits_the_data_set_and_refuses_bad_names) {
  ebm_energy *g = NULL;
  REQUIRE_OK(ebm_chain_start_open("uniform", -4, 4, 2, &g));
  CHECK(g == NULL);
  REQUIRE_OK(ebm_chain_start_open("gaussian:toy:8gaussians:train:2000", -4, 4, 2, &g));
  REQUIRE(g != NULL);
  /* 8gaussians: mean 0, covariance ≈ (2.5²/2 + 0.25²)·I = 3.1875·I, so E(0) ≈ 0 and E((1, 0)) ≈ 1/(2·3.19) */
  float p[4] = {0, 0, 1, 0}, e[2];
  REQUIRE_OK(ebm_energy_eval(g, p, NULL, 2, e, NULL));
  CHECK_NEAR(e[0], 0.0, 0.02);
  CHECK_NEAR(e[1], 1 / (2 * 3.1875), 0.03);
  ebm_energy_free(g);
  CHECK_FAILS_WITH(ebm_chain_start_open("gaussian:toy:8gaussians", -4, 4, 3, &g), EBM_ERR_SHAPE, "the chains 3");
  CHECK_FAILS_WITH(ebm_chain_start_open("normal", -4, 4, 2, &g), EBM_ERR_ARG, "uniform, items:SPEC, gaussian:SPEC or mixture:K:SPEC");
  CHECK_FAILS_WITH(ebm_chain_start_open("gaussian:", -4, 4, 2, &g), EBM_ERR_ARG, "uniform, items:SPEC, gaussian:SPEC or mixture:K:SPEC");
}

TEST(chain_start_mixture_on_too_few_items_says_how_many_it_needs) {
  float x[2 * 7];
  for (int k = 0; k < 14; k++) x[k] = (float)(k % 5) - 2.0f;
  ebm_energy *g = NULL;
  CHECK_FAILS_WITH(ebm_chain_start_fit(x, 7, 2, 4, &g), EBM_ERR_ARG,
                   "mixture start of 4 components needs at least 8 items (2 per component), there are 7: use "
                   "mixture:K with K <= 3, or gaussian");
  CHECK(g == NULL);
  REQUIRE_OK(ebm_chain_start_fit(x, 7, 2, 3, &g)); /* 2 per component is enough */
  REQUIRE(g != NULL);
  ebm_energy_free(g);
}
