/* Inpainting through the masked energy: its energy and gradient are the
 * full model's restricted to the masked values, observed values come back
 * bit-identical, and on a Gaussian "image" (whose conditional law given the
 * observed pixels is known exactly) the filled values are draws from that
 * conditional: right mean and variance, and far closer to the hidden truth
 * than the noise they start from. Also the corruptions for denoising. */
#include "test.h"
#include "train/train_testutil.h"

#define D 16
#define RHO 0.95
#define S 0.2

/* ------------------------------------------------ the AR(1) Gaussian image */

/* Σ_ij = S²·ρ^|i−j|, μ_i = 0.5 + 0.3·sin(i): a smooth 16-pixel "image"
 * whose neighbouring pixels predict each other. */
static void ar1(double *mean, double *cov) {
  for (int i = 0; i < D; i++) {
    mean[i] = 0.5 + 0.3 * sin((double)i);
    for (int j = 0; j < D; j++) cov[i * D + j] = S * S * pow(RHO, abs(i - j));
  }
}

/* Solves A·X = B in place for a k×k SPD A and k×m B (Gaussian elimination
 * without pivoting is stable for SPD matrices). */
static void solve(double *a, double *b, int k, int m) {
  for (int c = 0; c < k; c++)
    for (int r = c + 1; r < k; r++) {
      double f = a[r * k + c] / a[c * k + c];
      for (int j = c; j < k; j++) a[r * k + j] -= f * a[c * k + j];
      for (int j = 0; j < m; j++) b[r * m + j] -= f * b[c * m + j];
    }
  for (int c = k - 1; c >= 0; c--)
    for (int j = 0; j < m; j++) {
      double s = b[c * m + j];
      for (int i = c + 1; i < k; i++) s -= a[c * k + i] * b[i * m + j];
      b[c * m + j] = s / a[c * k + c];
    }
}

/* The conditional law of the masked coordinates M given the observed O:
 * mean μ_M + Σ_MO Σ_OO⁻¹ (x_O − μ_O), covariance Σ_MM − Σ_MO Σ_OO⁻¹ Σ_OM
 * (only its diagonal is needed). */
static void conditional(const double *mean, const double *cov, const float *x, const float *mask,
                        double *cmean, double *cvar) {
  int mi[D], oi[D], nm = 0, no = 0;
  for (int i = 0; i < D; i++) {
    if (mask[i] != 0.0f) mi[nm++] = i;
    else oi[no++] = i;
  }
  double soo[D * D], rhs[D * (D + 1)]; /* [x_O − μ_O | Σ_OM] */
  for (int a = 0; a < no; a++) {
    for (int b = 0; b < no; b++) soo[a * no + b] = cov[oi[a] * D + oi[b]];
    rhs[a * (nm + 1)] = x[oi[a]] - mean[oi[a]];
    for (int b = 0; b < nm; b++) rhs[a * (nm + 1) + 1 + b] = cov[oi[a] * D + mi[b]];
  }
  solve(soo, rhs, no, nm + 1);
  for (int b = 0; b < nm; b++) {
    double m = mean[mi[b]], v = cov[mi[b] * D + mi[b]];
    for (int a = 0; a < no; a++) {
      m += cov[mi[b] * D + oi[a]] * rhs[a * (nm + 1)];
      v -= cov[mi[b] * D + oi[a]] * rhs[a * (nm + 1) + 1 + b];
    }
    cmean[b] = m;
    cvar[b] = v;
  }
}

/* cov = L Lᵀ with L lower triangular (D×D, zeros above the diagonal). */
static void cholesky(const double *cov, double *l) {
  memset(l, 0, sizeof(double) * D * D);
  for (int j = 0; j < D; j++) {
    double d = cov[j * D + j];
    for (int k = 0; k < j; k++) d -= l[j * D + k] * l[j * D + k];
    l[j * D + j] = sqrt(d);
    for (int i = j + 1; i < D; i++) {
      double s = cov[i * D + j];
      for (int k = 0; k < j; k++) s -= l[i * D + k] * l[j * D + k];
      l[i * D + j] = s / l[j * D + j];
    }
  }
}

static ebm_energy *ar1_energy(double *mean, double *cov) {
  ebm_energy *en = NULL;
  ar1(mean, cov);
  REQUIRE_OK(ebm_gaussian_energy_new(D, mean, cov, &en));
  return en;
}

/* ----------------------------------------------------------------- tests */

TEST(masked_energy_is_the_sum_of_item_energies_with_gradients_at_masked_values) {
  double mean[D], cov[D * D];
  ebm_energy *en = ar1_energy(mean, cov), *m = NULL;
  enum { N = 3 };
  float x[N * D], mask[N * D], full[N * D], e[N], g[N * D];
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  ebm_rng_uniform(&rng, x, N * D, 0.0f, 1.0f);
  for (int k = 0; k < N * D; k++) mask[k] = (float)(k % 3 == 1 || k % 7 == 0);
  REQUIRE_OK(ebm_masked_energy_new(en, x, mask, NULL, N, &m));
  const int64_t F = ebm_masked_energy_size(m);
  CHECK_EQ_INT(m->item_ndim, 1);
  CHECK_EQ_INT(m->item_shape[0], F);
  float z[N * D], zg[N * D], back[N * D], ez;
  ebm_rng_uniform(&rng, z, F, -1.0f, 2.0f);
  REQUIRE_OK(ebm_energy_eval(m, z, NULL, 1, &ez, zg));
  ebm_masked_energy_scatter(m, z, full);
  REQUIRE_OK(ebm_energy_eval(en, full, NULL, N, e, g));
  CHECK_NEAR(ez, (double)e[0] + e[1] + e[2], 1e-5 * (1 + fabs(ez)));
  int64_t f = 0;
  for (int k = 0; k < N * D; k++) {
    if (mask[k] != 0.0f) {
      CHECK(full[k] == z[f]);
      CHECK(zg[f] == g[k]);
      f++;
    } else {
      CHECK(full[k] == x[k]);
    }
  }
  CHECK_EQ_INT(f, F);
  ebm_masked_energy_gather(m, full, back);
  CHECK(memcmp(back, z, (size_t)F * sizeof(float)) == 0);
  ebm_energy_free(m);
  ebm_energy_free(en);
}

/* Observed values of any bit pattern (−0, denormals, huge) come back
 * unchanged, under a real network and IGEBM Langevin; every masked value
 * moved from where it was. */
TEST(inpaint_keeps_observed_values_bit_identical) {
  char *json = NULL;
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_arch_preset("mlp", 0, D, &json));
  REQUIRE_OK(ebm_net_new(json, 8, &net));
  free(json);
  ebm_rng rng;
  ebm_rng_init(&rng, 6);
  REQUIRE_OK(ebm_net_init(net, &rng));
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  enum { N = 5 };
  float x[N * D], mask[N * D], out[N * D];
  ebm_rng_uniform(&rng, x, N * D, 0.0f, 1.0f);
  x[0] = -0.0f, x[2] = 1e-40f, x[4] = 3e38f, x[6] = -123.456f;
  for (int k = 0; k < N * D; k++) mask[k] = (float)(k % 2 == 1);
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg.steps = 10;
  REQUIRE_OK(ebm_inpaint(en, &cfg, x, mask, NULL, N, 0.0f, 1.0f, &rng, out, NULL, NULL));
  int same_observed = 1, changed_masked = 0;
  for (int k = 0; k < N * D; k++) {
    if (mask[k] == 0.0f) same_observed &= memcmp(&out[k], &x[k], sizeof(float)) == 0;
    else changed_masked += out[k] != x[k] && isfinite(out[k]);
  }
  CHECK(same_observed);
  CHECK_EQ_INT(changed_masked, N * D / 2);
  ebm_energy_free(en);
  ebm_net_free(net);
}

/* 2000 copies of one Gaussian image with pixels 5..10 hidden: the copies
 * are independent chains of kinetic Langevin (exact in x for a Gaussian
 * target), so after burn-in the filled pixels are 2000 draws from the exact
 * conditional. Means within 5 standard errors, variances within 5 standard
 * errors of a sample variance (√(2/(n−1))·σ²), and the mean squared error
 * to the hidden truth about the conditional variance — far below the
 * uniform noise the chains start from. */
TEST(inpaint_gaussian_image_samples_the_exact_conditional_and_beats_the_noise_start) {
  double mean[D], cov[D * D], cmean[D], cvar[D];
  ebm_energy *en = ar1_energy(mean, cov);
  enum { N = 2000, M0 = 5, M1 = 11 };
  ebm_rng rng;
  ebm_rng_init(&rng, 7);
  /* the hidden truth: one draw x = μ + L ξ (Cholesky by the energy's own
   * definition is not exposed, so build it here) */
  double l[D * D], xi[D];
  cholesky(cov, l);
  float truth[D], mask1[D];
  for (int i = 0; i < D; i++) xi[i] = ebm_rng_gauss(&rng);
  for (int i = 0; i < D; i++) {
    double v = mean[i];
    for (int k = 0; k <= i; k++) v += l[i * D + k] * xi[k];
    truth[i] = (float)v;
    mask1[i] = (float)(i >= M0 && i < M1);
  }
  conditional(mean, cov, truth, mask1, cmean, cvar);
  float *x = malloc(sizeof(float) * N * D), *mask = malloc(sizeof(float) * N * D), *out = malloc(sizeof(float) * N * D);
  REQUIRE(x && mask && out);
  for (int c = 0; c < N; c++) {
    memcpy(x + c * D, truth, sizeof truth);
    memcpy(mask + c * D, mask1, sizeof mask1);
  }
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_KINETIC);
  cfg.steps = 400;
  cfg.step_size = 0.02f; /* below the smallest conditional sd (0.045) */
  cfg.friction = 5.0f;
  REQUIRE_OK(ebm_inpaint(en, &cfg, x, mask, NULL, N, -0.5f, 1.5f, &rng, out, NULL, NULL));
  double mse_result = 0.0, mse_noise = 0.0, mse_expected = 0.0;
  ebm_rng noise_rng;
  ebm_rng_init(&noise_rng, 8);
  float *noise = malloc(sizeof(float) * N * (M1 - M0));
  REQUIRE(noise);
  ebm_rng_uniform(&noise_rng, noise, N * (M1 - M0), -0.5f, 1.5f); /* what the chains start from */
  for (int b = 0; b < M1 - M0; b++) {
    const int i = M0 + b;
    double m = 0.0, v = 0.0;
    for (int c = 0; c < N; c++) m += out[c * D + i] / (double)N;
    for (int c = 0; c < N; c++) v += (out[c * D + i] - m) * (out[c * D + i] - m) / (N - 1.0);
    if (getenv("EBM_TEST_VERBOSE"))
      fprintf(stderr, "    pixel %d: mean %.4f (exact %.4f), var %.6f (exact %.6f), truth %.4f\n", i, m, cmean[b], v,
              cvar[b], truth[i]);
    CHECK_NEAR(m, cmean[b], 5 * sqrt(cvar[b] / N));
    CHECK_NEAR(v, cvar[b], 5 * sqrt(2.0 / (N - 1)) * cvar[b]);
    for (int c = 0; c < N; c++) {
      mse_result += pow(out[c * D + i] - truth[i], 2) / (N * (M1 - M0));
      mse_noise += pow(noise[c * (M1 - M0) + b] - truth[i], 2) / (N * (M1 - M0));
    }
    mse_expected += (cvar[b] + pow(cmean[b] - truth[i], 2)) / (M1 - M0);
  }
  if (getenv("EBM_TEST_VERBOSE"))
    fprintf(stderr, "    masked MSE: noise start %.5f, inpainted %.5f (exact expectation %.5f)\n", mse_noise,
            mse_result, mse_expected);
  CHECK_NEAR(mse_result, mse_expected, 0.15 * mse_expected);
  CHECK(mse_result < 0.1 * mse_noise);
  free(noise);
  free(x);
  free(mask);
  free(out);
  ebm_energy_free(en);
}

TEST(masked_energy_and_inpaint_reject_bad_arguments) {
  double mean[D], cov[D * D];
  ebm_energy *en = ar1_energy(mean, cov), *m = (ebm_energy *)1;
  float x[D] = {0}, zeros[D] = {0}, ones[D], out[D];
  for (int i = 0; i < D; i++) ones[i] = 1.0f;
  CHECK_FAILS_WITH(ebm_masked_energy_new(en, x, zeros, NULL, 1, &m), EBM_ERR_ARG, "selects no pixel");
  CHECK(m == NULL);
  int32_t y[1] = {0};
  CHECK_FAILS_WITH(ebm_masked_energy_new(en, x, ones, &(ebm_cond){.labels = y}, 1, &m), EBM_ERR_ARG, "unconditional");
  CHECK_FAILS_WITH(ebm_masked_energy_new(en, x, ones, NULL, 0, &m), EBM_ERR_ARG, "at least one item");
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  CHECK_FAILS_WITH(ebm_inpaint(en, &cfg, x, ones, NULL, 1, 1.0f, 1.0f, &rng, out, NULL, NULL), EBM_ERR_ARG,
                   "noise range");
  cfg.steps = -1;
  CHECK_FAILS_WITH(ebm_inpaint(en, &cfg, x, ones, NULL, 1, 0.0f, 1.0f, &rng, out, NULL, NULL), EBM_ERR_ARG, "steps");
  CHECK_EQ_INT(ebm_masked_energy_size(en), 0); /* not a masked energy */
  ebm_energy_free(en);
}

/* --------------------------------------------------------- corruptions */

TEST(corruptions_add_clamped_gaussian_noise_or_salt_and_pepper_at_the_rate_asked) {
  enum { N = 100000 };
  float *x = malloc(sizeof(float) * N), *c = malloc(sizeof(float) * N);
  REQUIRE(x && c);
  for (int k = 0; k < N; k++) x[k] = 0.5f;
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  memcpy(c, x, sizeof(float) * N);
  REQUIRE_OK(ebm_corrupt(EBM_CORRUPT_GAUSSIAN, 0.1, 0.0f, 1.0f, &rng, c, N));
  double m = 0, v = 0;
  for (int k = 0; k < N; k++) {
    m += (c[k] - 0.5) / N;
    v += (c[k] - 0.5) * (c[k] - 0.5) / N;
  }
  /* σ = 0.1 from 0.5 never reaches the clamp (5σ): mean 0 ± 5·0.1/√N, variance 0.01 ± 5·0.01·√(2/N) */
  CHECK_NEAR(m, 0.0, 5 * 0.1 / sqrt(N));
  CHECK_NEAR(v, 0.01, 5 * 0.01 * sqrt(2.0 / N));
  memcpy(c, x, sizeof(float) * N);
  REQUIRE_OK(ebm_corrupt(EBM_CORRUPT_SALT_PEPPER, 0.3, -1.0f, 1.0f, &rng, c, N));
  int lo = 0, hi = 0, same = 0;
  for (int k = 0; k < N; k++) {
    lo += c[k] == -1.0f;
    hi += c[k] == 1.0f;
    same += c[k] == 0.5f;
  }
  CHECK_EQ_INT(lo + hi + same, N);
  /* Binomial(N, 0.15) each: sd 113 */
  CHECK_NEAR(lo, 0.15 * N, 5 * 113);
  CHECK_NEAR(hi, 0.15 * N, 5 * 113);
  /* large σ clamps into the range */
  memcpy(c, x, sizeof(float) * N);
  REQUIRE_OK(ebm_corrupt(EBM_CORRUPT_GAUSSIAN, 5.0, 0.0f, 1.0f, &rng, c, N));
  int inside = 1;
  for (int k = 0; k < N; k++) inside &= c[k] >= 0.0f && c[k] <= 1.0f;
  CHECK(inside);
  CHECK_EQ_INT(ebm_corruption_from_name("salt-pepper"), EBM_CORRUPT_SALT_PEPPER);
  CHECK_EQ_INT(ebm_corruption_from_name("speckle"), -1);
  CHECK_FAILS_WITH(ebm_corrupt(EBM_CORRUPT_SALT_PEPPER, 1.5, 0.0f, 1.0f, &rng, c, N), EBM_ERR_ARG, "fraction");
  CHECK_FAILS_WITH(ebm_corrupt(EBM_CORRUPT_GAUSSIAN, -1.0, 0.0f, 1.0f, &rng, c, N), EBM_ERR_ARG, "sigma");
  CHECK_FAILS_WITH(ebm_corrupt(EBM_CORRUPT_GAUSSIAN, 0.1, 1.0f, 0.0f, &rng, c, N), EBM_ERR_ARG, "range");
  free(x);
  free(c);
}

/* ----------------------------------------------- on a briefly trained model */

/* A width-32 mlp trained for 300 PCD steps (batch 64, 20 ULA steps of ε
 * 0.05 per negative, Adam 1e-2) on 2000 draws of the Gaussian image, then
 * asked to fill pixels 5..10 of 200 fresh draws from uniform noise (100
 * ULA steps): the observed pixels stay bit-identical, and the filled ones
 * are much closer to the hidden truth than the noise start was.
 * The noise start's MSE is about Var U(−0.5, 1.5) + (0.5 − x)² ≈ 0.4; a
 * model that learned no more than each pixel's mean and spread scores
 * about 2·S² = 0.08 (a draw from the marginal), a draw from the exact
 * conditional about 0.02. The bound, a quarter of the noise start's error,
 * is met by any model that learned the marginals; the same network
 * untrained fails it (measured: noise 0.40, trained 0.019, untrained 0.67). */
static ebm_net *train_tiny_model(const double *mean, const double *cov, int64_t iters, uint64_t seed) {
  enum { NDATA = 2000, BATCH = 64 };
  double l[D * D] = {0};
  for (int j = 0; j < D; j++) { /* Cholesky of Σ */
    double d = cov[j * D + j];
    for (int k = 0; k < j; k++) d -= l[j * D + k] * l[j * D + k];
    l[j * D + j] = sqrt(d);
    for (int i = j + 1; i < D; i++) {
      double s = cov[i * D + j];
      for (int k = 0; k < j; k++) s -= l[i * D + k] * l[j * D + k];
      l[i * D + j] = s / l[j * D + j];
    }
  }
  float *data = malloc(sizeof(float) * NDATA * D);
  REQUIRE(data);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  for (int c = 0; c < NDATA; c++) {
    double xi[D];
    for (int i = 0; i < D; i++) xi[i] = ebm_rng_gauss(&rng);
    for (int i = 0; i < D; i++) {
      double v = mean[i];
      for (int k = 0; k <= i; k++) v += l[i * D + k] * xi[k];
      data[c * D + i] = (float)v;
    }
  }
  char spec[600];
  const char *path = test_path("data.npy");
  int64_t shape[2] = {NDATA, D};
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, 2, shape, data));
  free(data);
  snprintf(spec, sizeof spec, "npy:%s", path);
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load(spec, -0.5f, 1.5f, &ds));
  char json[128];
  snprintf(json, sizeof json, "{\"preset\": \"mlp\", \"in_dim\": %d, \"width\": 32, \"depth\": 2, \"classes\": 0}", D);
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(json, 256, &net));
  REQUIRE_OK(ebm_net_init(net, &rng));
  ebm_train_config cfg = tt_toy_config(BATCH, 20, iters); /* the toys' quick recipe, on [-0.5, 1.5] */
  cfg.sampler.step_size = 0.05f;
  cfg.range_lo = -0.5f;
  cfg.range_hi = 1.5f;
  cfg.seed = seed;
  ebm_trainer *tr = NULL;
  REQUIRE_OK(ebm_trainer_new(net, ds, &cfg, &tr));
  for (int64_t s = 0; s < iters; s++) REQUIRE_OK(ebm_trainer_step(tr, NULL));
  ebm_trainer_free(tr);
  ebm_dataset_free(ds);
  return net;
}

/* MSE over pixels M0..M1 of n items: the inpainted result and the noise
 * start (reproduced from a copy of the rng, as ebm_inpaint documents). */
static void inpaint_errors(ebm_net *net, const double *mean, const double *cov, double *mse_result, double *mse_noise) {
  enum { N = 200, M0 = 5, M1 = 11, F = N * (M1 - M0) };
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  float *x = malloc(sizeof(float) * N * D), *mask = malloc(sizeof(float) * N * D), *out = malloc(sizeof(float) * N * D);
  float *z0 = malloc(sizeof(float) * F);
  REQUIRE(x && mask && out && z0);
  ebm_rng rng;
  ebm_rng_init(&rng, 99);
  double l[D * D];
  cholesky(cov, l);
  for (int c = 0; c < N; c++) {
    double xi[D];
    for (int i = 0; i < D; i++) xi[i] = ebm_rng_gauss(&rng);
    for (int i = 0; i < D; i++) {
      double v = mean[i];
      for (int k = 0; k <= i; k++) v += l[i * D + k] * xi[k];
      x[c * D + i] = (float)v;
      mask[c * D + i] = (float)(i >= M0 && i < M1);
    }
  }
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_ULA);
  cfg.steps = 100;
  cfg.step_size = 0.05f;
  ebm_rng copy = rng;
  ebm_rng_uniform(&copy, z0, F, -0.5f, 1.5f);
  REQUIRE_OK(ebm_inpaint(en, &cfg, x, mask, NULL, N, -0.5f, 1.5f, &rng, out, NULL, NULL));
  *mse_result = *mse_noise = 0.0;
  int same = 1;
  for (int c = 0, f = 0; c < N; c++)
    for (int i = 0; i < D; i++) {
      const int k = c * D + i;
      if (mask[k] == 0.0f) {
        same &= memcmp(&out[k], &x[k], sizeof(float)) == 0;
        continue;
      }
      *mse_result += pow(out[k] - x[k], 2) / F;
      *mse_noise += pow(z0[f++] - x[k], 2) / F;
    }
  CHECK(same);
  free(x);
  free(mask);
  free(out);
  free(z0);
  ebm_energy_free(en);
}

TEST(inpaint_with_a_briefly_trained_model_beats_the_noise_start) {
  double mean[D], cov[D * D];
  ar1(mean, cov);
  ebm_net *trained = train_tiny_model(mean, cov, 300, 31), *untrained = train_tiny_model(mean, cov, 0, 31);
  double trained_mse, trained_noise, untrained_mse, untrained_noise;
  inpaint_errors(trained, mean, cov, &trained_mse, &trained_noise);
  inpaint_errors(untrained, mean, cov, &untrained_mse, &untrained_noise);
  if (getenv("EBM_TEST_VERBOSE"))
    fprintf(stderr, "    masked MSE: noise start %.4f, trained model %.4f, untrained model %.4f\n", trained_noise,
            trained_mse, untrained_mse);
  CHECK(trained_mse < 0.25 * trained_noise);
  CHECK(untrained_mse > 0.25 * untrained_noise); /* the bound needs training to pass */
  ebm_net_free(trained);
  ebm_net_free(untrained);
}
