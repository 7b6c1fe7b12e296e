/* The whole log-likelihood evaluation (ebm_loglik_evaluate) on a model
 * whose answer is known: the 8-gaussians toy energy is normalised, so the
 * data's average log-likelihood is exactly −mean E; both AIS bounds must
 * land on it, bits/dim must be −ll / (D ln 2), and a seed must reproduce
 * the result bit for bit. */
#include "test.h"

static void evaluate(const ebm_energy *en, const ebm_dataset *ds, int uniform, uint64_t seed, int steps,
                     ebm_loglik_result *r) {
  ebm_loglik_config cfg = ebm_loglik_defaults();
  cfg.ais.chains = 200;
  cfg.ais.steps = steps;
  cfg.uniform_base = uniform;
  cfg.reverse = 200;
  cfg.seed = seed;
  REQUIRE_OK(ebm_loglik_evaluate(en, ds, &cfg, NULL, NULL, r));
}

TEST(loglik_of_a_normalised_toy_brackets_the_exact_average_log_likelihood) {
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_toy_energy_new(EBM_TOY_8GAUSSIANS, &en));
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:test:1000", 0.0f, 1.0f, &ds));
  double exact_mean = 0.0, se = 0.0;
  REQUIRE_OK(ebm_mean_energy(en, ds->x->data, NULL, 1000, &exact_mean, &se));
  for (int uniform = 0; uniform < 2; uniform++) {
    ebm_loglik_result r;
    evaluate(en, ds, uniform, 7, 300, &r);
    CHECK_EQ_INT(r.items, 1000);
    CHECK_NEAR(r.mean_energy, exact_mean, 1e-9);
    /* log Z = 0: both estimates within 3 se (+ a small schedule bias) */
    CHECK_NEAR(r.forward.log_z, 0.0, 3.0 * r.forward.log_z_se + 0.05);
    CHECK_NEAR(r.reverse.log_z, 0.0, 3.0 * r.reverse.log_z_se + 0.05);
    CHECK_NEAR(r.ll_upper, -exact_mean - r.forward.log_z, 1e-12);
    CHECK_NEAR(r.ll_lower, -exact_mean - r.reverse.log_z, 1e-12);
    CHECK_NEAR(r.bpd_lower, -r.ll_upper / (2.0 * log(2.0)), 1e-12);
    CHECK_NEAR(r.bpd_upper, -r.ll_lower / (2.0 * log(2.0)), 1e-12);
    CHECK_EQ_INT(r.bounds_inverted, 0);
    CHECK(strstr(r.base, uniform ? "uniform base on [-4, 4]^2" : "gaussian base fitted to 1000 items") != NULL);
    ebm_loglik_result_free(&r);
  }
  ebm_dataset_free(ds);
  ebm_energy_free(en);
}

TEST(loglik_is_reproducible_from_its_seed_and_runs_without_data) {
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_toy_energy_new(EBM_TOY_RINGS, &en));
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:rings:test:300", 0.0f, 1.0f, &ds));
  ebm_loglik_result a, b, c;
  evaluate(en, ds, 1, 11, 40, &a);
  evaluate(en, ds, 1, 11, 40, &b);
  evaluate(en, ds, 1, 12, 40, &c);
  CHECK(a.forward.log_z == b.forward.log_z && a.reverse.log_z == b.reverse.log_z);
  CHECK(memcmp(a.log_w_forward, b.log_w_forward, 200 * sizeof(double)) == 0);
  CHECK(a.forward.log_z != c.forward.log_z);
  ebm_loglik_result_free(&a);
  ebm_loglik_result_free(&b);
  ebm_loglik_result_free(&c);

  ebm_loglik_result r;
  evaluate(en, NULL, 1, 11, 300, &r);
  CHECK_EQ_INT(r.items, 0);
  CHECK_EQ_INT(r.reverse.chains, 0);
  CHECK(isnan(r.ll_upper) && isnan(r.ll_lower));
  CHECK_NEAR(r.forward.log_z, 0.0, 3.0 * r.forward.log_z_se + 0.05);
  ebm_loglik_result_free(&r);

  /* a data set of the wrong shape is named */
  ebm_energy *g = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(3, NULL, NULL, &g));
  ebm_loglik_config cfg = ebm_loglik_defaults();
  CHECK(ebm_loglik_evaluate(g, ds, &cfg, NULL, NULL, &r) == EBM_ERR_SHAPE);
  CHECK_CONTAINS(ebm_last_error(), "items are [2], but gaussian:3 takes [3]");
  ebm_loglik_result_free(&r);
  ebm_energy_free(g);
  ebm_dataset_free(ds);
  ebm_energy_free(en);
}
