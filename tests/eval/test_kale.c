/* KALE between sample sets (eval/kale.c): about 0 within 3 standard errors
 * for two samples of one law, clearly positive for two laws, the same
 * result for the same seed, and the inputs it refuses. */
#include "test.h"

enum { N = 1000 };

/* n points of N(mean, I) in 2-D. */
static float *gaussian_points(int64_t n, double mx, uint64_t seed) {
  float *x = malloc((size_t)(n * 2) * sizeof *x);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  ebm_rng_normal(&rng, x, n * 2, 0.0f, 1.0f);
  for (int64_t i = 0; i < n; i++) x[2 * i] += (float)mx;
  return x;
}

static ebm_kale_config quick(void) {
  ebm_kale_config c = ebm_kale_defaults();
  c.iters = 200;
  c.width = 32;
  c.seed = 5;
  return c;
}

TEST(kale_of_two_samples_of_one_law_is_zero_within_three_standard_errors) {
  float *p = gaussian_points(N, 0.0, 1), *q = gaussian_points(N, 0.0, 2);
  const ebm_kale_config c = quick();
  ebm_kale_result r, again;
  REQUIRE_OK(ebm_kale(p, N, q, N, 2, &c, &r));
  fprintf(stderr, "KALE same law: %.4f ± %.4f\n", r.kale, r.std_error);
  CHECK(r.std_error > 0);
  CHECK(fabs(r.kale) < 3 * r.std_error);
  CHECK_EQ_INT(r.n_fit_p + r.n_test_p, N);
  CHECK_EQ_INT(r.n_test_q, N / 2);
  REQUIRE_OK(ebm_kale(p, N, q, N, 2, &c, &again));
  CHECK(again.kale == r.kale && again.std_error == r.std_error); /* one seed, one result */
  free(p);
  free(q);
}

TEST(kale_of_two_laws_is_clearly_positive_and_below_their_kl) {
  /* KL(N((2,0), I) ‖ N(0, I)) = 2: KALE is a lower bound of it */
  float *p = gaussian_points(N, 2.0, 3), *q = gaussian_points(N, 0.0, 4);
  const ebm_kale_config c = quick();
  ebm_kale_result r;
  REQUIRE_OK(ebm_kale(p, N, q, N, 2, &c, &r));
  fprintf(stderr, "KALE shifted by 2: %.4f ± %.4f\n", r.kale, r.std_error);
  CHECK(r.kale > 10 * r.std_error);
  CHECK(r.kale > 0.3);
  CHECK(r.kale < 2.0 + 3 * r.std_error);
  free(p);
  free(q);
}

TEST(kale_refuses_too_few_items_and_a_bad_config) {
  float *p = gaussian_points(8, 0.0, 6);
  ebm_kale_config c = quick();
  ebm_kale_result r;
  CHECK_FAILS_WITH(ebm_kale(p, 3, p, 8, 2, &c, &r), EBM_ERR_ARG, "at least 4 items");
  c.batch = 5000;
  CHECK_FAILS_WITH(ebm_kale(p, 8, p, 8, 2, &c, &r), EBM_ERR_ARG, "batch in 1..1024");
  free(p);
}
