/* The analytic Gaussian energy and the annealed path E_β = (1−β)E₀ + βE₁:
 * values and gradients against closed forms and finite differences, and
 * the β schedules. */
#include "sample/sample_util.h"
#include "test.h"

TEST(gaussian_energy_matches_the_closed_form_and_finite_differences) {
  double mean[3] = {0.5, -1.0, 2.0};
  double cov[9] = {2.0, 0.3, -0.4, 0.3, 1.0, 0.2, -0.4, 0.2, 0.5};
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(3, mean, cov, &en));
  CHECK(strcmp(en->name, "gaussian:3") == 0);
  CHECK(en->item_ndim == 1 && en->item_shape[0] == 3 && en->num_classes == 0);
  CHECK(!(en->range_lo < en->range_hi)); /* unbounded: no clamping */
  /* Σ·∇E = x − μ must hold: the gradient is Σ⁻¹(x − μ) */
  float x[6] = {1.0f, 0.0f, 1.5f, -2.0f, 0.5f, 3.0f}, e[2], g[6];
  REQUIRE_OK(ebm_energy_eval(en, x, NULL, 2, e, g));
  for (int i = 0; i < 2; i++) {
    double quad = 0.0;
    for (int r = 0; r < 3; r++) {
      double sg = 0.0;
      for (int c = 0; c < 3; c++) sg += cov[r * 3 + c] * g[i * 3 + c];
      CHECK_NEAR(sg, x[i * 3 + r] - mean[r], 1e-5);
      quad += (x[i * 3 + r] - mean[r]) * g[i * 3 + r];
    }
    CHECK_NEAR(e[i], 0.5 * quad, 1e-5);
    /* central differences in float32 (h = 1e-2 is exact for a quadratic) */
    for (int k = 0; k < 3; k++) {
      float xp[3], xm[3], ep, em;
      memcpy(xp, x + i * 3, sizeof xp);
      memcpy(xm, x + i * 3, sizeof xm);
      xp[k] += 0.01f;
      xm[k] -= 0.01f;
      REQUIRE_OK(ebm_energy_eval(en, xp, NULL, 1, &ep, NULL));
      REQUIRE_OK(ebm_energy_eval(en, xm, NULL, 1, &em, NULL));
      CHECK_NEAR((ep - em) / 0.02, g[i * 3 + k], 2e-3);
    }
  }
  /* log Z = D/2·log 2π + ½ log det Σ; det Σ by cofactors */
  double det = cov[0] * (cov[4] * cov[8] - cov[5] * cov[7]) - cov[1] * (cov[3] * cov[8] - cov[5] * cov[6]) +
               cov[2] * (cov[3] * cov[7] - cov[4] * cov[6]);
  double log_z;
  REQUIRE_OK(ebm_gaussian_energy_log_z(en, &log_z));
  CHECK_NEAR(log_z, 1.5 * log(2 * 3.14159265358979323846) + 0.5 * log(det), 1e-12);
  ebm_energy *mix = mixture_energy_new();
  CHECK_FAILS_WITH(ebm_gaussian_energy_log_z(mix, &log_z), EBM_ERR_ARG, "not a gaussian");
  ebm_energy_free(mix);
  ebm_energy_free(en);
}

TEST(gaussian_energy_defaults_to_standard_normal) {
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(2, NULL, NULL, &en));
  float x[2] = {3.0f, -4.0f}, e, g[2];
  REQUIRE_OK(ebm_energy_eval(en, x, NULL, 1, &e, g));
  CHECK_NEAR(e, 12.5, 1e-6);
  CHECK(g[0] == 3.0f && g[1] == -4.0f);
  ebm_energy_free(en);
}

TEST(gaussian_energy_rejects_bad_covariances) {
  ebm_energy *en = NULL;
  double not_pd[4] = {1.0, 2.0, 2.0, 1.0};
  CHECK_FAILS_WITH(ebm_gaussian_energy_new(2, NULL, not_pd, &en), EBM_ERR_ARG, "not positive definite");
  double asym[4] = {1.0, 0.5, 0.1, 1.0};
  CHECK_FAILS_WITH(ebm_gaussian_energy_new(2, NULL, asym, &en), EBM_ERR_ARG, "cov[0][1] = 0.5 is not symmetric");
  double nan_mean[2] = {0.0, NAN};
  CHECK_FAILS_WITH(ebm_gaussian_energy_new(2, nan_mean, NULL, &en), EBM_ERR_ARG, "mean[1] is not finite");
  CHECK_FAILS_WITH(ebm_gaussian_energy_new(0, NULL, NULL, &en), EBM_ERR_ARG, "dimension");
  CHECK(en == NULL);
}

TEST(anneal_energy_interpolates_energies_and_gradients) {
  double m1[2] = {2.0, -1.0}, c1[4] = {0.5, 0.1, 0.1, 0.3};
  ebm_energy *e0 = NULL, *e1 = NULL, *path = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(2, NULL, NULL, &e0));
  REQUIRE_OK(ebm_gaussian_energy_new(2, m1, c1, &e1));
  REQUIRE_OK(ebm_anneal_energy_new(e0, e1, &path));
  CHECK(path->item_ndim == 1 && path->item_shape[0] == 2);
  const int64_t n = 2000; /* more than the path's default chunk of 1024 */
  float *x = malloc(sizeof(float) * n * 2), *g = malloc(sizeof(float) * n * 2),
        *g0 = malloc(sizeof(float) * n * 2), *g1 = malloc(sizeof(float) * n * 2);
  float *e = malloc(sizeof(float) * n), *ea = malloc(sizeof(float) * n), *eb = malloc(sizeof(float) * n);
  REQUIRE(x && g && g0 && g1 && e && ea && eb);
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  ebm_rng_normal(&rng, x, n * 2, 0.0f, 2.0f);
  REQUIRE_OK(ebm_energy_eval(e0, x, NULL, n, ea, g0));
  REQUIRE_OK(ebm_energy_eval(e1, x, NULL, n, eb, g1));
  const double betas[4] = {0.0, 0.3, 0.75, 1.0};
  for (int b = 0; b < 4; b++) {
    ebm_anneal_energy_set_beta(path, betas[b]);
    REQUIRE_OK(ebm_energy_eval(path, x, NULL, n, e, g));
    for (int64_t i = 0; i < n; i++) {
      CHECK_NEAR(e[i], (1 - betas[b]) * ea[i] + betas[b] * eb[i], 1e-4 * (1 + fabs(eb[i])));
      for (int k = 0; k < 2; k++)
        CHECK_NEAR(g[i * 2 + k], (1 - betas[b]) * g0[i * 2 + k] + betas[b] * g1[i * 2 + k],
                   1e-4 * (1 + fabs(g1[i * 2 + k])));
    }
  }
  ebm_anneal_energy_set_beta(path, NAN); /* ignored */
  REQUIRE_OK(ebm_energy_eval(path, x, NULL, 1, e, NULL));
  CHECK(e[0] == eb[0]);
  free(x), free(g), free(g0), free(g1), free(e), free(ea), free(eb);
  ebm_energy_free(path);
  ebm_energy_free(e0);
  ebm_energy_free(e1);
}

/* The geometric path between N(0, 1) and N(2, 0.5²) at β is Gaussian with
 * precision (1−β)·1 + β·4 and mean β·4·2/precision: MALA on the path must
 * find it (5 se over 4000 independent chains). */
TEST(mala_on_an_annealed_path_samples_the_interpolated_gaussian) {
  double m1 = 2.0, c1 = 0.25, beta = 0.4;
  ebm_energy *e0 = NULL, *e1 = NULL, *path = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(1, NULL, NULL, &e0));
  REQUIRE_OK(ebm_gaussian_energy_new(1, &m1, &c1, &e1));
  REQUIRE_OK(ebm_anneal_energy_new(e0, e1, &path));
  ebm_anneal_energy_set_beta(path, beta);
  double prec = (1 - beta) + beta / c1, mu = beta * m1 / c1 / prec;
  const int64_t n = 4000;
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  cfg.step_size = 0.6f;
  cfg.steps = 200;
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(path, &cfg, n, &s));
  float *x = calloc((size_t)n, sizeof *x);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, 12);
  moment_acc m;
  moment_acc_init(&m, n, 1, &mu, 100, 5);
  REQUIRE_OK(ebm_sampler_run_cb(s, x, NULL, n, &rng, NULL, NULL, moment_acc_step, &m));
  double cov = 1.0 / prec, ess;
  CHECK_EQ_INT(check_moments(&m, &mu, &cov, "anneal", 1, &ess), 0);
  moment_acc_free(&m);
  free(x);
  ebm_sampler_free(s);
  ebm_energy_free(path);
  ebm_energy_free(e0);
  ebm_energy_free(e1);
}

TEST(anneal_energy_checks_shapes_and_classes) {
  ebm_energy *e2 = NULL, *e3 = NULL, *path = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(2, NULL, NULL, &e2));
  REQUIRE_OK(ebm_gaussian_energy_new(3, NULL, NULL, &e3));
  CHECK_FAILS_WITH(ebm_anneal_energy_new(e2, e3, &path), EBM_ERR_SHAPE, "gaussian:2 has items [2] but gaussian:3 has [3]");
  ebm_energy c4 = *e2, c5 = *e2, ranged = *e2;
  c4.num_classes = 4;
  c5.num_classes = 5;
  CHECK_FAILS_WITH(ebm_anneal_energy_new(&c4, &c5, &path), EBM_ERR_ARG, "has 4 classes");
  CHECK(path == NULL);
  /* a conditional target: the path is conditional, labels reach E₁ only */
  ranged.range_lo = 0.0f;
  ranged.range_hi = 1.0f;
  ranged.num_classes = 4;
  REQUIRE_OK(ebm_anneal_energy_new(e2, &ranged, &path));
  CHECK(path->num_classes == 4 && path->range_lo == 0.0f && path->range_hi == 1.0f);
  float x[2] = {0.1f, 0.2f}, e;
  int32_t y = 3;
  ebm_anneal_energy_set_beta(path, 0.5);
  CHECK_OK(ebm_energy_eval(path, x, &(ebm_cond){.labels = &y}, 1, &e, NULL));
  CHECK_NEAR(e, 0.5 * (0.01 + 0.04), 1e-7);
  ebm_anneal_energy_set_beta(e2, 0.5); /* not a path: ignored, no crash */
  ebm_energy_free(path);
  ebm_energy_free(e2);
  ebm_energy_free(e3);
}

TEST(beta_schedules_run_from_zero_to_one_monotonically) {
  double lin[11], sig[101];
  REQUIRE_OK(ebm_beta_schedule("linear", 10, lin));
  for (int t = 0; t <= 10; t++) CHECK_NEAR(lin[t], t / 10.0, 1e-15);
  REQUIRE_OK(ebm_beta_schedule("sigmoid", 100, sig));
  CHECK(sig[0] == 0.0 && sig[100] == 1.0);
  for (int t = 0; t < 100; t++) CHECK(sig[t + 1] > sig[t]);
  for (int t = 0; t <= 100; t++) CHECK_NEAR(sig[t] + sig[100 - t], 1.0, 1e-12); /* symmetric */
  CHECK(sig[10] < 0.1 * 0.5); /* denser at the ends than linear */
  CHECK_NEAR(sig[50], 0.5, 1e-12);
  CHECK_FAILS_WITH(ebm_beta_schedule("cosine", 10, lin), EBM_ERR_ARG, "'cosine' is unknown");
  CHECK_FAILS_WITH(ebm_beta_schedule("linear", 0, lin), EBM_ERR_ARG, "T must be >= 1");
}
