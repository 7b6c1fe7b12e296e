/* Fréchet distance against closed forms (commuting covariances, the 2×2
 * formula for non-commuting ones), from samples, and KID's unbiasedness. */
#include "test.h"

/* FD = ‖Δμ‖² + tr Σ₁ + tr Σ₂ − 2·√(tr Σ₁Σ₂ + 2·√(det Σ₁ det Σ₂)) in 2-D,
 * since for a 2×2 matrix with eigenvalues λ₁, λ₂ ≥ 0:
 * √λ₁ + √λ₂ = √(λ₁ + λ₂ + 2√(λ₁λ₂)). */
TEST(frechet_distance_matches_the_2x2_closed_form_for_non_commuting_covariances) {
  const double mu1[2] = {1.0, -2.0}, mu2[2] = {0.5, 0.0};
  const double c1[4] = {2.0, 0.9, 0.9, 1.0}, c2[4] = {0.5, -0.3, -0.3, 3.0};
  double tr12 = c1[0] * c2[0] + c1[1] * c2[2] + c1[2] * c2[1] + c1[3] * c2[3];
  double det1 = c1[0] * c1[3] - c1[1] * c1[2], det2 = c2[0] * c2[3] - c2[1] * c2[2];
  double expect = 0.25 + 4.0 + 3.0 + 3.5 - 2.0 * sqrt(tr12 + 2.0 * sqrt(det1 * det2));
  double fd;
  REQUIRE_OK(ebm_frechet_distance(mu1, c1, mu2, c2, 2, &fd));
  CHECK_NEAR(fd, expect, 1e-12);
  double back;
  REQUIRE_OK(ebm_frechet_distance(mu2, c2, mu1, c1, 2, &back));
  CHECK_NEAR(back, fd, 1e-12);
  REQUIRE_OK(ebm_frechet_distance(mu1, c1, mu1, c1, 2, &fd));
  CHECK_NEAR(fd, 0.0, 1e-12);
}

/* Σ₁ = Q diag(γ) Qᵀ, Σ₂ = Q diag(λ) Qᵀ share eigenvectors (a random
 * orthogonal Q in 20-D), so FD = ‖Δμ‖² + Σ (√γ − √λ)². */
TEST(frechet_distance_matches_the_closed_form_for_commuting_covariances_in_20d) {
  enum { D = 20 };
  static double q[D * D], c1[D * D], c2[D * D];
  double mu1[D], mu2[D], gam[D], lam[D];
  ebm_rng rng;
  ebm_rng_init(&rng, 8);
  for (int k = 0; k < D * D; k++) q[k] = ebm_rng_gauss(&rng);
  for (int i = 0; i < D; i++) { /* Gram–Schmidt on the rows */
    for (int j = 0; j < i; j++) {
      double dot = 0;
      for (int k = 0; k < D; k++) dot += q[i * D + k] * q[j * D + k];
      for (int k = 0; k < D; k++) q[i * D + k] -= dot * q[j * D + k];
    }
    double norm = 0;
    for (int k = 0; k < D; k++) norm += q[i * D + k] * q[i * D + k];
    for (int k = 0; k < D; k++) q[i * D + k] /= sqrt(norm);
  }
  double expect = 0.0;
  for (int k = 0; k < D; k++) {
    gam[k] = 0.1 + 3.0 * ebm_rng_double(&rng);
    lam[k] = k == 0 ? 0.0 : 0.1 + 3.0 * ebm_rng_double(&rng); /* one singular direction */
    mu1[k] = ebm_rng_gauss(&rng);
    mu2[k] = ebm_rng_gauss(&rng);
    expect += (mu1[k] - mu2[k]) * (mu1[k] - mu2[k]) + (sqrt(gam[k]) - sqrt(lam[k])) * (sqrt(gam[k]) - sqrt(lam[k]));
  }
  for (int i = 0; i < D; i++)
    for (int j = 0; j < D; j++) {
      double a = 0, b = 0;
      for (int k = 0; k < D; k++) {
        a += q[k * D + i] * gam[k] * q[k * D + j];
        b += q[k * D + i] * lam[k] * q[k * D + j];
      }
      c1[i * D + j] = a;
      c2[i * D + j] = b;
    }
  double fd;
  REQUIRE_OK(ebm_frechet_distance(mu1, c1, mu2, c2, D, &fd));
  CHECK_NEAR(fd, expect, 1e-7 * expect);
  REQUIRE_OK(ebm_frechet_distance(mu2, c2, mu1, c1, D, &fd));
  CHECK_NEAR(fd, expect, 1e-7 * expect);
}

/* Draws n rows of N(μ, LLᵀ) in 3-D. */
static void gaussian_rows(ebm_rng *rng, int n, const double *mu, const double *l, float *out) {
  for (int i = 0; i < n; i++) {
    double z[3] = {ebm_rng_gauss(rng), ebm_rng_gauss(rng), ebm_rng_gauss(rng)};
    for (int r = 0; r < 3; r++) {
      double v = mu[r];
      for (int c = 0; c <= r; c++) v += l[r * 3 + c] * z[c];
      out[i * 3 + r] = (float)v;
    }
  }
}

TEST(frechet_distance_of_feature_sets_is_0_for_identical_sets_and_near_the_closed_form) {
  enum { N = 20000 };
  float *a = malloc(N * 3 * sizeof *a), *b = malloc(N * 3 * sizeof *b);
  REQUIRE(a && b);
  const double mu1[3] = {0, 0, 0}, mu2[3] = {1, 0, -0.5};
  const double l1[9] = {1, 0, 0, 0.5, 1, 0, 0, 0.3, 0.7}, l2[9] = {1.5, 0, 0, -0.4, 0.8, 0, 0.2, 0.1, 1.2};
  ebm_rng rng;
  ebm_rng_init(&rng, 6);
  gaussian_rows(&rng, N, mu1, l1, a);
  gaussian_rows(&rng, N, mu2, l2, b);
  double fd;
  REQUIRE_OK(ebm_frechet_distance_features(a, N, a, N, 3, &fd));
  CHECK_NEAR(fd, 0.0, 1e-9);
  /* the population value from the exact moments */
  double c1[9], c2[9];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      c1[i * 3 + j] = c2[i * 3 + j] = 0;
      for (int k = 0; k < 3; k++) {
        c1[i * 3 + j] += l1[i * 3 + k] * l1[j * 3 + k];
        c2[i * 3 + j] += l2[i * 3 + k] * l2[j * 3 + k];
      }
    }
  double exact;
  REQUIRE_OK(ebm_frechet_distance(mu1, c1, mu2, c2, 3, &exact));
  REQUIRE_OK(ebm_frechet_distance_features(a, N, b, N, 3, &fd));
  /* sampling error of the moments from 20000 rows: a few × 1/√N · scale */
  CHECK_NEAR(fd, exact, 0.05);
  CHECK(exact > 1.0);
  free(a);
  free(b);
}

/* Two samples of one distribution: KID's unbiased MMD² is ≈ 0 (its mean
 * within 3 subset-std of 0 and tiny); two different ones: clearly > 0. */
TEST(kid_is_near_0_for_one_distribution_and_positive_for_two) {
  enum { N = 3000 };
  float *a = malloc(N * 3 * sizeof *a), *b = malloc(N * 3 * sizeof *b), *c = malloc(N * 3 * sizeof *c);
  REQUIRE(a && b && c);
  const double mu[3] = {0.5, 0, 0}, shifted[3] = {1.0, 0, 0};
  const double l[9] = {1, 0, 0, 0.5, 1, 0, 0, 0.3, 0.7};
  ebm_rng rng;
  ebm_rng_init(&rng, 12);
  gaussian_rows(&rng, N, mu, l, a);
  gaussian_rows(&rng, N, mu, l, b);
  gaussian_rows(&rng, N, shifted, l, c);
  double mean, std, mean2, std2;
  REQUIRE_OK(ebm_kid(a, N, b, N, 3, 500, 30, &rng, &mean, &std));
  if (getenv("EBM_TEST_VERBOSE")) fprintf(stderr, "    same: %.3g ± %.3g\n", mean, std);
  CHECK(std > 0.0);
  CHECK_NEAR(mean, 0.0, 3.0 * std);
  REQUIRE_OK(ebm_kid(a, N, c, N, 3, 500, 30, &rng, &mean2, &std2));
  if (getenv("EBM_TEST_VERBOSE")) fprintf(stderr, "    shifted: %.3g ± %.3g\n", mean2, std2);
  CHECK(mean2 > 2.0 * std2); /* a single subset already tells them apart */
  CHECK(mean2 > 10.0 * fabs(mean));
  /* subsets larger than the sets are capped; too few rows fail */
  REQUIRE_OK(ebm_kid(a, 10, b, 10, 3, 1000, 2, &rng, &mean, &std));
  CHECK_FAILS_WITH(ebm_kid(a, 1, b, 10, 3, 100, 2, &rng, &mean, &std), EBM_ERR_ARG, "at least 2 rows");
  free(a);
  free(b);
  free(c);
}

TEST(feature_moments_reject_nan_and_too_few_rows) {
  const float f[6] = {1, 2, NAN, 4, 5, 6};
  double mu[2], cov[4];
  CHECK_FAILS_WITH(ebm_feature_moments(f, 3, 2, mu, cov), EBM_ERR_NUMERIC, "feature 0 of row 1 is nan");
  CHECK_FAILS_WITH(ebm_feature_moments(f, 1, 2, mu, cov), EBM_ERR_ARG, "at least 2 rows");
  const float g[6] = {1, 2, 3, 4, 5, 9};
  REQUIRE_OK(ebm_feature_moments(g, 3, 2, mu, cov));
  CHECK_NEAR(mu[0], 3.0, 1e-12);
  CHECK_NEAR(mu[1], 5.0, 1e-12);
  CHECK_NEAR(cov[0], 4.0, 1e-12);
  CHECK_NEAR(cov[1], 7.0, 1e-12);
  CHECK_NEAR(cov[3], 13.0, 1e-12);
}
