/* The low-rank Gaussian (probabilistic PCA) for items too large for a D×D
 * covariance: the fit recovers a known low-rank covariance and equals the
 * full fit when nothing is left out; energy, gradient and log Z match the
 * dense Gaussian of the same Σ; draws have its moments; a voxel-sized fit
 * gives exact eigenpairs; the fit is picked by size; draws given known
 * values match the dense Gaussian's. */
#include <cblas.h>

#include "ebm/data_volumes.h"
#include "test.h"

/* k orthonormal columns of a d×k row-major matrix: Gram–Schmidt on normals. */
static void random_orthonormal(int64_t d, int64_t k, uint64_t seed, double *u) {
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  float z;
  for (int64_t c = 0; c < k; c++) {
    for (int64_t r = 0; r < d; r++) {
      ebm_rng_normal(&rng, &z, 1, 0.0f, 1.0f);
      u[r * k + c] = z;
    }
    for (int pass = 0; pass < 2; pass++) /* twice: orthogonal to rounding */
      for (int64_t p = 0; p < c; p++) {
        double dot = 0.0;
        for (int64_t r = 0; r < d; r++) dot += u[r * k + c] * u[r * k + p];
        for (int64_t r = 0; r < d; r++) u[r * k + c] -= dot * u[r * k + p];
      }
    double norm = 0.0;
    for (int64_t r = 0; r < d; r++) norm += u[r * k + c] * u[r * k + c];
    for (int64_t r = 0; r < d; r++) u[r * k + c] /= sqrt(norm);
  }
}

/* Σ = U·diag(λ)·Uᵀ + σ²(I − UUᵀ) as a dense d×d matrix. */
static void dense_sigma(int64_t d, int64_t k, const double *u, const double *lambda, double sigma2, double *cov) {
  for (int64_t r = 0; r < d; r++)
    for (int64_t c = 0; c < d; c++) {
      double s = r == c ? sigma2 : 0.0;
      for (int64_t j = 0; j < k; j++) s += u[r * k + j] * u[c * k + j] * (lambda[j] - sigma2);
      cov[r * d + c] = s;
    }
}

/* n items x = μ + U·diag(√(λ − σ²))·z + σε: covariance exactly dense_sigma's. */
static float *low_rank_items(int64_t n, int64_t d, int64_t k, const double *mu, const double *u, const double *lambda,
                             double sigma2, uint64_t seed) {
  float *x = malloc((size_t)(n * d) * sizeof *x), *z = malloc((size_t)(k + d) * sizeof *z);
  REQUIRE(x && z);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  for (int64_t i = 0; i < n; i++) {
    ebm_rng_normal(&rng, z, k + d, 0.0f, 1.0f);
    for (int64_t r = 0; r < d; r++) {
      double v = mu[r] + sqrt(sigma2) * z[k + r];
      for (int64_t j = 0; j < k; j++) v += u[r * k + j] * sqrt(lambda[j] - sigma2) * z[j];
      x[i * d + r] = (float)v;
    }
  }
  free(z);
  return x;
}

/* a and b give the same energies and gradients at the n points x (n×dim,
 * relative 1e-5) and the same log Z (relative 1e-9). */
static void check_same_gaussian(const ebm_energy *a, const ebm_energy *b, const float *x, int n, int dim) {
  float *ea = malloc(sizeof(float) * (size_t)n), *eb = malloc(sizeof(float) * (size_t)n);
  float *ga = malloc(sizeof(float) * (size_t)(n * dim)), *gb = malloc(sizeof(float) * (size_t)(n * dim));
  REQUIRE(ea && eb && ga && gb);
  REQUIRE_OK(ebm_energy_eval(a, x, NULL, n, ea, ga));
  REQUIRE_OK(ebm_energy_eval(b, x, NULL, n, eb, gb));
  for (int i = 0; i < n; i++) CHECK_NEAR(eb[i], ea[i], 1e-5 * (1 + fabs(ea[i])));
  for (int k = 0; k < n * dim; k++) CHECK_NEAR(gb[k], ga[k], 1e-5 * (1 + fabs(ga[k])));
  double za, zb;
  REQUIRE_OK(ebm_gaussian_energy_log_z(a, &za));
  REQUIRE_OK(ebm_gaussian_energy_log_z(b, &zb));
  CHECK_NEAR(zb, za, 1e-9 * fabs(za));
  free(ea);
  free(eb);
  free(ga);
  free(gb);
}

TEST(lowrank_fit_recovers_a_known_low_rank_covariance) {
  enum { D = 40, K = 3, N = 1000 };
  double mu[D], u[D * K];
  const double lambda[K] = {9.0, 4.0, 1.0}, sigma2 = 0.04;
  for (int r = 0; r < D; r++) mu[r] = 0.1 * r - 1.0;
  random_orthonormal(D, K, 11, u);
  float *x = low_rank_items(N, D, K, mu, u, lambda, sigma2, 12);
  ebm_energy *g = NULL;
  REQUIRE_OK(ebm_gaussian_energy_fit_lowrank(x, N, D, N, K, &g));
  int64_t rank;
  const double *fm, *fu, *fl;
  double fs2;
  REQUIRE_OK(ebm_gaussian_lowrank_factors(g, &rank, &fm, &fu, &fl, &fs2));
  CHECK_EQ_INT(rank, K);
  for (int k = 0; k < K; k++) {
    /* a sample eigenvalue's standard error is λ√(2/N) */
    CHECK_NEAR(fl[k], lambda[k], 5 * lambda[k] * sqrt(2.0 / N));
    double dot = 0.0; /* the same direction, up to sign */
    for (int r = 0; r < D; r++) dot += fu[r * K + k] * u[r * K + k];
    CHECK(fabs(dot) > 0.99);
  }
  /* σ²: the mean of 37 eigenvalues of a 1000-item covariance */
  CHECK_NEAR(fs2, sigma2, 0.05 * sigma2);
  for (int r = 0; r < D; r++) CHECK_NEAR(fm[r], mu[r], 5 * sqrt(10.0 / N));
  ebm_energy_free(g);
  free(x);
}

/* Nothing left to pool (rank D − 1: σ² is the one remaining eigenvalue) →
 * the low-rank fit is the full fit, up to rounding. */
TEST(lowrank_fit_of_full_rank_equals_the_full_fit) {
  enum { D = 6, N = 300 };
  double mu[D] = {0.5, -0.3, 0.2, 0.0, 1.0, -1.0}, u[D * 2];
  const double lambda[2] = {2.0, 0.5};
  random_orthonormal(D, 2, 21, u);
  float *x = low_rank_items(N, D, 2, mu, u, lambda, 0.1, 22);
  ebm_energy *full = NULL, *low = NULL;
  REQUIRE_OK(ebm_gaussian_energy_fit(x, N, D, 200, &full));
  REQUIRE_OK(ebm_gaussian_energy_fit_lowrank(x, N, D, 200, D - 1, &low));
  CHECK(strstr(low->name, "rank 5") != NULL);
  check_same_gaussian(full, low, x, 4, D);
  ebm_energy_free(full);
  ebm_energy_free(low);
  free(x);
}

TEST(lowrank_energy_gradient_and_log_z_match_the_dense_gaussian_of_the_same_sigma) {
  enum { D = 12, N = 50, K = 4, P = 5 };
  double mu[D], u[D * 3];
  const double lambda[3] = {3.0, 1.0, 0.5};
  for (int r = 0; r < D; r++) mu[r] = sin(r);
  random_orthonormal(D, 3, 31, u);
  float *x = low_rank_items(N, D, 3, mu, u, lambda, 0.2, 32);
  ebm_energy *low = NULL, *dense = NULL;
  /* rank 4 of 12: the low-rank path at a size the dense one can check */
  REQUIRE_OK(ebm_gaussian_energy_fit_lowrank(x, N, D, N, K, &low));
  int64_t rank;
  const double *fm, *fu, *fl;
  double fs2, cov[D * D];
  REQUIRE_OK(ebm_gaussian_lowrank_factors(low, &rank, &fm, &fu, &fl, &fs2));
  CHECK_EQ_INT(rank, K);
  for (int k = 1; k < K; k++) CHECK(fl[k] <= fl[k - 1] && fl[k] > fs2);
  dense_sigma(D, K, fu, fl, fs2, cov);
  REQUIRE_OK(ebm_gaussian_energy_new(D, fm, cov, &dense));
  float p[P * D];
  ebm_rng rng;
  ebm_rng_init(&rng, 33);
  ebm_rng_normal(&rng, p, P * D, 0.0f, 2.0f);
  check_same_gaussian(dense, low, p, P, D);
  ebm_energy_free(low);
  ebm_energy_free(dense);
  free(x);
}

TEST(lowrank_draws_have_the_mean_and_covariance_within_5_standard_errors) {
  enum { D = 8, K = 2, N = 20000 };
  double mu[D] = {1, -1, 0.5, 0, 2, -2, 0.25, 3}, u[D * K], cov[D * D];
  const double lambda[K] = {4.0, 2.0}, sigma2 = 0.25;
  random_orthonormal(D, K, 41, u);
  dense_sigma(D, K, u, lambda, sigma2, cov);
  ebm_energy *g = NULL;
  REQUIRE_OK(ebm_gaussian_lowrank_new(D, mu, K, u, lambda, sigma2, &g));
  float *x = malloc(sizeof(float) * N * D);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, 42);
  REQUIRE_OK(ebm_chain_start_draw(g, &rng, N, D, -100.0f, 100.0f, x));
  int bad = 0;
  for (int r = 0; r < D; r++) {
    double m = 0.0;
    for (int i = 0; i < N; i++) m += x[i * D + r] / (double)N;
    bad += fabs(m - mu[r]) > 5 * sqrt(cov[r * D + r] / N);
    for (int c = 0; c <= r; c++) { /* with the true μ, E[(x_r − μ_r)(x_c − μ_c)] = Σ_rc exactly */
      double s = 0.0;
      for (int i = 0; i < N; i++) s += (x[i * D + r] - mu[r]) * (x[i * D + c] - mu[c]) / (double)N;
      const double se = sqrt((cov[r * D + r] * cov[c * D + c] + cov[r * D + c] * cov[r * D + c]) / N);
      if (fabs(s - cov[r * D + c]) > 5 * se) {
        fprintf(stderr, "    cov[%d][%d] = %g, want %g ± %g\n", r, c, s, cov[r * D + c], se);
        bad++;
      }
    }
  }
  CHECK_EQ_INT(bad, 0);
  /* the same seed gives the same bytes */
  float a[3 * D], b[3 * D];
  ebm_rng r1, r2;
  ebm_rng_init(&r1, 5);
  ebm_rng_init(&r2, 5);
  REQUIRE_OK(ebm_gaussian_energy_sample(g, &r1, 3, a));
  REQUIRE_OK(ebm_gaussian_energy_sample(g, &r2, 3, b));
  CHECK(memcmp(a, b, sizeof a) == 0);
  free(x);
  ebm_energy_free(g);
}

/* 300 grids of 32³ (the voxel set's size) through ebm_gaussian_energy_fit:
 * the low-rank kind by size, 256 orthonormal directions, and u₀ and u₂₅₅
 * eigenvectors of the data's covariance (S·u = s·u, S never formed). */
TEST(voxel_sized_fit_is_low_rank_with_exact_eigenpairs_and_deterministic) {
  enum { N = 300, SIDE = 32, D = SIDE * SIDE * SIDE };
  float *x = malloc(sizeof(float) * N * D);
  REQUIRE(x);
  REQUIRE_OK(ebm_make_shapes3d(N, SIDE, 1, x, NULL));
  ebm_energy *g = NULL, *again = NULL;
  REQUIRE_OK(ebm_gaussian_energy_fit(x, N, D, EBM_CHAIN_START_FIT_ITEMS, &g));
  int64_t K;
  const double *mu, *u, *lambda;
  double s2;
  REQUIRE_OK(ebm_gaussian_lowrank_factors(g, &K, &mu, &u, &lambda, &s2));
  CHECK_EQ_INT(K, EBM_GAUSSIAN_LOWRANK_MAX_RANK);
  double *utu = malloc(sizeof(double) * K * K), *xc = malloc(sizeof(double) * N * D), *t = malloc(sizeof(double) * N),
         *su = malloc(sizeof(double) * D);
  REQUIRE(utu && xc && t && su);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)K, D, 1.0, u, (int)K, u, (int)K, 0.0, utu, (int)K);
  double worst = 0.0;
  for (int64_t i = 0; i < K * K; i++) worst = fmax(worst, fabs(utu[i] - (i % (K + 1) == 0 ? 1.0 : 0.0)));
  CHECK(worst < 1e-8);
  double trace = 0.0;
  for (int64_t i = 0; i < (int64_t)N * D; i++) {
    xc[i] = x[i] - mu[i % D];
    trace += xc[i] * xc[i] / N;
  }
  const double ridge = 1e-4 * trace / D;
  const int64_t ks[2] = {0, K - 1};
  for (int j = 0; j < 2; j++) { /* S·u_k = Xcᵀ(Xc·u_k)/N against (λ_k − ridge)·u_k */
    const int64_t k = ks[j];
    cblas_dgemv(CblasRowMajor, CblasNoTrans, N, D, 1.0, xc, D, u + k, (int)K, 0.0, t, 1);
    cblas_dgemv(CblasRowMajor, CblasTrans, N, D, 1.0 / N, xc, D, t, 1, 0.0, su, 1);
    double res = 0.0;
    for (int64_t r = 0; r < D; r++) res += pow(su[r] - (lambda[k] - ridge) * u[r * K + k], 2);
    CHECK(sqrt(res) < 1e-8 * lambda[0]);
  }
  CHECK(lambda[K - 1] >= s2 && s2 > ridge);
  /* the same data gives the same factors, bit for bit */
  REQUIRE_OK(ebm_gaussian_energy_fit(x, N, D, EBM_CHAIN_START_FIT_ITEMS, &again));
  const double *mu2, *u2, *l2;
  double s2b;
  int64_t K2;
  REQUIRE_OK(ebm_gaussian_lowrank_factors(again, &K2, &mu2, &u2, &l2, &s2b));
  CHECK(K2 == K && s2b == s2 && memcmp(u2, u, sizeof(double) * D * K) == 0 && memcmp(l2, lambda, sizeof(double) * K) == 0);
  free(utu);
  free(xc);
  free(t);
  free(su);
  ebm_energy_free(g);
  ebm_energy_free(again);
  free(x);
}

TEST(gaussian_fit_is_full_up_to_4096_values_and_low_rank_above) {
  const int64_t n = 3;
  float *x = malloc(sizeof(float) * n * 4097);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, 51);
  ebm_rng_uniform(&rng, x, n * 4097, 0.0f, 1.0f);
  ebm_energy *g = NULL;
  int64_t rank;
  const double *m, *u, *l;
  double s2;
  REQUIRE_OK(ebm_gaussian_energy_fit(x, n, 4097, 100, &g));
  REQUIRE_OK(ebm_gaussian_lowrank_factors(g, &rank, &m, &u, &l, &s2));
  CHECK_EQ_INT(rank, n - 1); /* 3 items span 2 directions */
  ebm_energy_free(g);
  REQUIRE_OK(ebm_gaussian_energy_fit(x, 40, 16, 100, &g)); /* 40 items of 16 values: full */
  CHECK_FAILS_WITH(ebm_gaussian_lowrank_factors(g, &rank, &m, &u, &l, &s2), EBM_ERR_ARG, "not a low-rank gaussian");
  ebm_energy_free(g);
  free(x);
}

TEST(lowrank_gaussian_rejects_bad_factors) {
  double u[4] = {1, 0, 0, 2}, lambda[2] = {1, 1}; /* 2×2: rank 1 of dim 2, column 0 = (1, 0) */
  double u1[2] = {0.6, 0.8}, bad_l = -1.0;
  ebm_energy *g = NULL;
  CHECK_FAILS_WITH(ebm_gaussian_lowrank_new(2, NULL, 2, u, lambda, 1.0, &g), EBM_ERR_ARG, "rank in 1..");
  CHECK_FAILS_WITH(ebm_gaussian_lowrank_new(2, NULL, 1, u1, &bad_l, 1.0, &g), EBM_ERR_ARG, "lambda[0] = -1");
  CHECK_FAILS_WITH(ebm_gaussian_lowrank_new(2, NULL, 1, u1, lambda, 0.0, &g), EBM_ERR_ARG, "sigma2 = 0");
  double not_unit[2] = {1.0, 1.0};
  CHECK_FAILS_WITH(ebm_gaussian_lowrank_new(2, NULL, 1, not_unit, lambda, 1.0, &g), EBM_ERR_ARG,
                   "column 0 of U has squared norm 2");
  CHECK(g == NULL);
  REQUIRE_OK(ebm_gaussian_lowrank_new(2, NULL, 1, u1, lambda, 1.0, &g)); /* λ = σ² = 1: the standard normal */
  float p[2] = {3.0f, -4.0f}, e, gr[2];
  REQUIRE_OK(ebm_energy_eval(g, p, NULL, 1, &e, gr));
  CHECK_NEAR(e, 12.5, 1e-6);
  CHECK_NEAR(gr[0], 3.0, 1e-6);
  CHECK_NEAR(gr[1], -4.0, 1e-6);
  ebm_energy_free(g);
}

/* Draws given known values (the inpainting start) against the dense
 * Gaussian of the same Σ: the conditional mean (spread 0) to rounding, for
 * items with two different masks; at spread 1 the draws' per-value mean
 * and variance match the dense draws' within 5 standard errors. */
TEST(lowrank_draws_given_known_values_match_the_dense_gaussian) {
  enum { D = 10, K = 3, N = 40, M = 20000 };
  double mu[D], u[D * K], cov[D * D];
  const double lambda[K] = {3.0, 1.5, 0.6};
  for (int r = 0; r < D; r++) mu[r] = 0.3 * r - 1.0;
  random_orthonormal(D, K, 61, u);
  float *x = low_rank_items(N, D, K, mu, u, lambda, 0.1, 62);
  ebm_energy *low = NULL, *dense = NULL;
  REQUIRE_OK(ebm_gaussian_energy_fit_lowrank(x, N, D, N, K, &low));
  int64_t rank;
  const double *fm, *fu, *fl;
  double fs2;
  REQUIRE_OK(ebm_gaussian_lowrank_factors(low, &rank, &fm, &fu, &fl, &fs2));
  dense_sigma(D, rank, fu, fl, fs2, cov);
  REQUIRE_OK(ebm_gaussian_energy_new(D, fm, cov, &dense));
  float mask[3 * D] = {0}, a[3 * D], b[3 * D];
  for (int r = 0; r < D; r++) {
    mask[r] = mask[D + r] = r >= 6; /* items 0 and 1: the last 4 values hidden */
    mask[2 * D + r] = r % 3 == 0;   /* item 2: every third */
  }
  REQUIRE_OK(ebm_gaussian_energy_sample_given(low, NULL, 3, x, mask, 0.0f, a));
  REQUIRE_OK(ebm_gaussian_energy_sample_given(dense, NULL, 3, x, mask, 0.0f, b));
  for (int k = 0; k < 3 * D; k++) {
    CHECK_NEAR(a[k], b[k], 1e-5 * (1 + fabs(b[k])));
    if (mask[k] == 0.0f) CHECK(a[k] == x[k]);
  }
  CHECK(memcmp(a + 6, x + 6, 4 * sizeof(float)) != 0); /* the holes were filled, not copied */
  float *many_mask = malloc(sizeof(float) * M * D), *known = malloc(sizeof(float) * M * D);
  float *da = malloc(sizeof(float) * M * D), *db = malloc(sizeof(float) * M * D);
  REQUIRE(many_mask && known && da && db);
  for (int i = 0; i < M; i++) {
    memcpy(many_mask + i * D, mask + 2 * D, D * sizeof(float));
    memcpy(known + i * D, x + 2 * D, D * sizeof(float));
  }
  ebm_rng r1, r2;
  ebm_rng_init(&r1, 63);
  ebm_rng_init(&r2, 64);
  REQUIRE_OK(ebm_gaussian_energy_sample_given(low, &r1, M, known, many_mask, 1.0f, da));
  REQUIRE_OK(ebm_gaussian_energy_sample_given(dense, &r2, M, known, many_mask, 1.0f, db));
  int bad = 0;
  for (int r = 0; r < D; r += 3) {
    double ma = 0, mb = 0, va = 0, vb = 0;
    for (int i = 0; i < M; i++) ma += da[i * D + r] / M, mb += db[i * D + r] / M;
    for (int i = 0; i < M; i++) va += pow(da[i * D + r] - ma, 2) / M, vb += pow(db[i * D + r] - mb, 2) / M;
    bad += fabs(ma - mb) > 5 * sqrt(2 * vb / M);
    bad += fabs(va - vb) > 5 * vb * sqrt(4.0 / M);
    bad += !(vb > 1e-3); /* the holes are drawn, not left at their mean */
  }
  CHECK_EQ_INT(bad, 0);
  free(many_mask);
  free(known);
  free(da);
  free(db);
  ebm_energy_free(low);
  ebm_energy_free(dense);
  free(x);
}
