/* Conditioning (ebm_cond) through the energy interface, the samplers, the
 * wrappers (composition, annealing, masking) and the chunked evaluation: a
 * noise-conditioned Gaussian E(x, σ) = |x|² / (2σ²) has the known law
 * N(0, σ²·I) for every chain, so a sampler that mixed up or dropped the
 * per-item noise levels shows it in the per-chain variances. */
#include "test.h"

#define DIM 2

typedef struct {
  int64_t calls;
  float first_sigma[8]; /* σ of item 0 of each call, to check the slicing */
} sigma_gauss;

// x is (n, DIM); E_i = |x_i|² / (2σ_i²), grad_i = x_i / σ_i²
static ebm_status sigma_gauss_eval(void *self, const float *x, const ebm_cond *cond, int64_t n,
                                   float *e, float *grad) {
  sigma_gauss *g = self;
  if (!cond || !cond->sigma) return ebm_set_error(EBM_ERR_ARG, "sigma_gauss: noise levels required");
  if (n > 0 && g->calls < 8) g->first_sigma[g->calls] = cond->sigma[0];
  g->calls++;
  for (int64_t i = 0; i < n; i++) {
    const double inv_var = 1.0 / ((double)cond->sigma[i] * cond->sigma[i]);
    double r2 = 0.0;
    for (int d = 0; d < DIM; d++) {
      const double v = x[i * DIM + d];
      r2 += v * v;
      if (grad) grad[i * DIM + d] = (float)(v * inv_var);
    }
    e[i] = (float)(0.5 * r2 * inv_var);
  }
  return EBM_OK;
}

static ebm_energy sigma_gauss_energy(sigma_gauss *g, int64_t max_batch) {
  ebm_energy en = {.name = "sigma-gauss", .item_ndim = 1, .item_shape = {DIM},
                   .max_batch = max_batch, .needs_sigma = 1, .eval = sigma_gauss_eval, .self = g};
  return en;
}

TEST(energy_eval_requires_refuses_and_slices_noise_levels) {
  sigma_gauss g = {0};
  ebm_energy en = sigma_gauss_energy(&g, 3);
  float x[7 * DIM] = {0}, e[7], sigma[7] = {1, 2, 3, 4, 5, 6, 7};
  CHECK(ebm_energy_eval(&en, x, NULL, 7, e, NULL) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "noise levels (sigma) are required") != NULL);
  int32_t labels[7] = {0};
  CHECK(ebm_energy_eval(&en, x, &(ebm_cond){.labels = labels, .sigma = sigma}, 7, e, NULL) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "labels given to an unconditional energy") != NULL);
  REQUIRE_OK(ebm_energy_eval(&en, x, &(ebm_cond){.sigma = sigma}, 7, e, NULL));
  /* max_batch 3: chunks start at items 0, 3, 6 */
  CHECK_EQ_INT(g.calls, 3);
  CHECK_NEAR(g.first_sigma[0], 1.0, 0);
  CHECK_NEAR(g.first_sigma[1], 4.0, 0);
  CHECK_NEAR(g.first_sigma[2], 7.0, 0);

  /* an energy without noise conditioning refuses σ rather than ignoring it */
  en.needs_sigma = 0;
  CHECK(ebm_energy_eval(&en, x, &(ebm_cond){.sigma = sigma}, 7, e, NULL) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "noise levels given to an energy that takes none") != NULL);
}

TEST(cond_slice_and_cond_for_pass_only_what_an_energy_takes) {
  int32_t labels[4] = {0, 1, 2, 3};
  float sigma[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  ebm_cond c = {labels, sigma};
  ebm_cond s = ebm_cond_slice(&c, 2);
  CHECK(s.labels == labels + 2 && s.sigma == sigma + 2);
  s = ebm_cond_slice(NULL, 2);
  CHECK(s.labels == NULL && s.sigma == NULL);
  ebm_energy en = {.num_classes = 4};
  s = ebm_cond_for(&en, &c);
  CHECK(s.labels == labels && s.sigma == NULL);
  en.num_classes = 0;
  en.needs_sigma = 1;
  s = ebm_cond_for(&en, &c);
  CHECK(s.labels == NULL && s.sigma == sigma);
}

/* MALA on E(x, σ_i): chains with σ = 0.5 and σ = 2 interleaved; each group's
 * variance must be σ² within 5 standard errors (var of a sample variance of
 * a Gaussian: 2σ⁴/(m−1)). A sampler that used one σ for all chains, or
 * shifted them by one, misses by a factor 16. */
TEST(mala_samples_each_chain_at_its_own_noise_level) {
  enum { CHAINS = 4000, STEPS = 200 };
  sigma_gauss g = {0};
  ebm_energy en = sigma_gauss_energy(&g, 0);
  float *x = malloc(sizeof(float) * CHAINS * DIM), *sigma = malloc(sizeof(float) * CHAINS);
  REQUIRE(x && sigma);
  for (int i = 0; i < CHAINS; i++) sigma[i] = i % 2 ? 2.0f : 0.5f;
  ebm_rng rng;
  ebm_rng_init(&rng, 77);
  ebm_rng_uniform(&rng, x, CHAINS * DIM, -1.0f, 1.0f);
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  cfg.steps = STEPS;
  cfg.step_size = 0.3f;
  cfg.adapt_steps = 0;
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(&en, &cfg, CHAINS, &s));
  REQUIRE_OK(ebm_sampler_run(s, x, &(ebm_cond){.sigma = sigma}, CHAINS, &rng, NULL, NULL));
  for (int group = 0; group < 2; group++) {
    const double sd = group ? 2.0 : 0.5, var = sd * sd;
    double sum2 = 0.0;
    int64_t m = 0;
    for (int i = group; i < CHAINS; i += 2)
      for (int d = 0; d < DIM; d++, m++) sum2 += (double)x[i * DIM + d] * x[i * DIM + d];
    const double est = sum2 / (double)m, se = sqrt(2.0 * var * var / (double)(m - 1));
    CHECK_NEAR(est, var, 5.0 * se);
  }
  /* a σ that is not positive is the caller's mistake, named per chain */
  sigma[3] = 0.0f;
  CHECK(ebm_sampler_run(s, x, &(ebm_cond){.sigma = sigma}, CHAINS, &rng, NULL, NULL) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "noise level 0 of chain 3") != NULL);
  ebm_sampler_free(s);
  free(x);
  free(sigma);
}

/* Compositions and masks carry σ to noise-conditioned terms: the sum of two
 * copies is 2·E, and the masked energy of one free coordinate is E of the
 * completed item at that item's own σ. */
TEST(composition_and_masking_pass_noise_levels_through) {
  sigma_gauss g1 = {0}, g2 = {0};
  ebm_energy a = sigma_gauss_energy(&g1, 0), b = sigma_gauss_energy(&g2, 0);
  const ebm_compose_term terms[2] = {ebm_compose_term_of(&a), ebm_compose_term_of(&b)};
  ebm_energy *sum = NULL;
  REQUIRE_OK(ebm_compose_and_new(terms, 2, &sum));
  CHECK_EQ_INT(sum->needs_sigma, 1);
  float x[2 * DIM] = {1.0f, 0.0f, 0.0f, 2.0f}, sigma[2] = {1.0f, 2.0f}, e[2];
  REQUIRE_OK(ebm_energy_eval(sum, x, &(ebm_cond){.sigma = sigma}, 2, e, NULL));
  CHECK_NEAR(e[0], 2.0 * 0.5, 1e-6);       /* 2 · 1/(2·1) */
  CHECK_NEAR(e[1], 2.0 * 4.0 / 8.0, 1e-6); /* 2 · 4/(2·4) */
  ebm_energy_free(sum);

  float mask[2 * DIM] = {0, 0, 0, 1}; /* free: item 1's second coordinate */
  ebm_energy *masked = NULL;
  CHECK(ebm_masked_energy_new(&a, x, mask, NULL, 2, &masked) == EBM_ERR_ARG);
  REQUIRE_OK(ebm_masked_energy_new(&a, x, mask, &(ebm_cond){.sigma = sigma}, 2, &masked));
  sigma[1] = 100.0f; /* the masked energy keeps its own copy */
  float z = 4.0f, ez;
  REQUIRE_OK(ebm_energy_eval(masked, &z, NULL, 1, &ez, NULL));
  CHECK_NEAR(ez, 0.5 + 16.0 / 8.0, 1e-6); /* item 0 at σ 1, item 1 (0, 4) at σ 2 */
  ebm_energy_free(masked);
}
