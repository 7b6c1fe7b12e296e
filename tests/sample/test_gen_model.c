/* Sampling a checkpoint with a generator (sample/generator_model.c): every
 * space on tiny gebm and latent-ebm checkpoints made here (shape,
 * determinism for a seed, the generator's samples exactly G(z)), the
 * temperature that tempers the energy alone, and the one-line refusals. */
#include "test_util.h"
#include "train/train_testutil.h"

enum { N = 40, BATCH = 16 }; /* N > BATCH: the chunks of every space are exercised */

/* A checkpoint of parts energy + generator with the metadata a training run
 * writes; latent: the energy is a prior on z (latent-ebm). */
static const char *save_model(const char *name, const char *method, int latent, uint64_t seed) {
  const char *path = test_path(name);
  ebm_net *e = tt_mlp(8, 0, 4, seed), *g = tt_generator(2, 8, 4, seed + 1);
  const ebm_net *nets[2] = {e, g};
  const char *names[2] = {"energy", "generator"};
  const char *keys[3] = {"method", "space", "obs_noise"}, *values[3] = {method, "latent", "0.5"};
  REQUIRE_OK(ebm_net_save_parts(path, 2, nets, names, latent ? 3 : 1, keys, values));
  ebm_net_free(e);
  ebm_net_free(g);
  return path;
}

static ebm_sampler_config short_run(ebm_sampler_kind kind) {
  ebm_sampler_config c = ebm_sampler_defaults(kind);
  c.steps = 5;
  c.step_size = 0.1f;
  return c;
}

/* n samples of `space` for seed; REQUIREs success. */
static void sample(ebm_gen_model *m, ebm_gen_space space, const ebm_sampler_config *c, uint64_t seed, float *x) {
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  REQUIRE_OK(ebm_gen_model_sample(m, space, c, N, &rng, x));
}

static int all_finite(const float *x, int64_t n) {
  for (int64_t k = 0; k < n; k++)
    if (!isfinite(x[k])) return 0;
  return 1;
}

/* G(z) with z ~ N(0, I) drawn from seed the way every space draws it:
 * one ebm_rng_normal per chunk of the generator's batch. */
static void generator_alone(ebm_net *g, uint64_t seed, float *x) {
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  float z[BATCH * 2];
  for (int i = 0; i < N; i += BATCH) {
    const int m = N - i < BATCH ? N - i : BATCH;
    ebm_rng_normal(&rng, z, m * 2, 0.0f, 1.0f);
    REQUIRE_OK(ebm_net_forward(g, z, NULL, m, x + i * 2));
  }
}

TEST(gen_model_samples_every_space_of_a_gebm_reproducibly) {
  ebm_gen_model m;
  REQUIRE_OK(ebm_gen_model_open(save_model("gebm.safetensors", "gebm", 0, 11), BATCH, &m));
  CHECK_EQ_STR(m.method, "gebm");
  CHECK(!m.latent_prior && m.data_energy != NULL);
  CHECK(ebm_gen_model_default_space(&m) == EBM_GEN_SPACE_LATENT);
  float a[N * 2], b[N * 2], g[N * 2];
  generator_alone(m.generator, 7, g);
  const ebm_sampler_kind kinds[4] = {EBM_SAMPLER_ULA, EBM_SAMPLER_MALA, EBM_SAMPLER_HMC, EBM_SAMPLER_KINETIC};
  for (int k = 0; k < 4; k++)
    for (int space = EBM_GEN_SPACE_DEFAULT; space <= EBM_GEN_SPACE_GENERATOR; space++) {
      const ebm_sampler_config c = short_run(kinds[k]);
      sample(&m, (ebm_gen_space)space, &c, 7, a);
      sample(&m, (ebm_gen_space)space, &c, 7, b);
      CHECK(all_finite(a, N * 2));
      CHECK(memcmp(a, b, sizeof a) == 0); /* one seed, one result */
      /* the generator alone is G(z) exactly; every other space moved away from it */
      if (space == EBM_GEN_SPACE_GENERATOR) CHECK(memcmp(a, g, sizeof a) == 0);
      else CHECK(memcmp(a, g, sizeof a) != 0);
    }
  /* another seed, other samples */
  const ebm_sampler_config c = short_run(EBM_SAMPLER_MALA);
  sample(&m, EBM_GEN_SPACE_LATENT, &c, 7, a);
  sample(&m, EBM_GEN_SPACE_LATENT, &c, 8, b);
  CHECK(memcmp(a, b, sizeof a) != 0);
  /* zero steps in data space leave G(z) untouched */
  ebm_sampler_config none = c;
  none.steps = 0;
  sample(&m, EBM_GEN_SPACE_DATA, &none, 7, a);
  CHECK(memcmp(a, g, sizeof a) == 0);
  ebm_gen_model_close(&m);
}

TEST(gen_model_samples_a_latent_ebm_from_its_prior_and_refuses_data_space) {
  ebm_gen_model m;
  REQUIRE_OK(ebm_gen_model_open(save_model("latent.safetensors", "latent-ebm", 1, 21), BATCH, &m));
  CHECK(m.latent_prior && m.data_energy == NULL);
  CHECK(ebm_gen_model_default_space(&m) == EBM_GEN_SPACE_LATENT);
  float a[N * 2], b[N * 2], g[N * 2];
  generator_alone(m.generator, 3, g);
  const ebm_sampler_config c = short_run(EBM_SAMPLER_ULA);
  sample(&m, EBM_GEN_SPACE_LATENT, &c, 3, a);
  sample(&m, EBM_GEN_SPACE_LATENT, &c, 3, b);
  CHECK(all_finite(a, N * 2) && memcmp(a, b, sizeof a) == 0 && memcmp(a, g, sizeof a) != 0);
  sample(&m, EBM_GEN_SPACE_GENERATOR, &c, 3, a);
  CHECK(memcmp(a, g, sizeof a) == 0);
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  CHECK_FAILS_WITH(ebm_gen_model_sample(&m, EBM_GEN_SPACE_DATA, &c, N, &rng, a), EBM_ERR_ARG, "prior on z");
  CHECK(strchr(ebm_last_error(), '\n') == NULL);
  ebm_gen_model_close(&m);
}

TEST(gen_model_refuses_a_plain_energy_and_shapes_that_disagree_in_one_line) {
  const char *plain = test_path("plain.safetensors");
  ebm_net *e = tt_mlp(8, 0, 4, 31);
  REQUIRE_OK(ebm_net_save(e, plain, 0, NULL, NULL));
  CHECK(ebm_gen_model_probe(plain) == 0);
  CHECK(ebm_gen_model_probe(test_path("missing.safetensors")) == 0);
  ebm_gen_model m;
  CHECK_FAILS_WITH(ebm_gen_model_open(plain, BATCH, &m), EBM_ERR_ARG, "has no generator");
  CHECK(strchr(ebm_last_error(), '\n') == NULL);
  CHECK(m.energy == NULL && m.generator == NULL);
  /* a generator of 3-D points beside an energy of 2-D ones: the file and both shapes */
  const char *bad = test_path("bad.safetensors");
  ebm_net *g3 = NULL;
  REQUIRE_OK(ebm_net_new("{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 3}]}", 4,
                         &g3));
  const ebm_net *nets[2] = {e, g3};
  const char *names[2] = {"energy", "generator"};
  REQUIRE_OK(ebm_net_save_parts(bad, 2, nets, names, 0, NULL, NULL));
  CHECK(ebm_gen_model_probe(bad) == 1);
  CHECK_FAILS_WITH(ebm_gen_model_open(bad, BATCH, &m), EBM_ERR_ARG, "output shape [3]");
  CHECK_CONTAINS(ebm_last_error(), "input shape [2]");
  CHECK_CONTAINS(ebm_last_error(), bad);
  CHECK(strchr(ebm_last_error(), '\n') == NULL);
  ebm_net_free(g3);
  ebm_net_free(e);
}

/* U_β(z) = ½‖z‖² + E(G(z))/β: the energy part and its gradient scale by
 * 1/β, the Gaussian part does not (for both latent energies). */
TEST(latent_energies_at_temperature_temper_the_energy_alone) {
  ebm_net *e = tt_mlp(8, 0, 4, 41), *g = tt_generator(2, 8, 4, 42), *prior = tt_mlp(8, 0, 4, 43);
  ebm_energy *data_energy = ebm_net_as_energy(e), *u[2] = {NULL, NULL};
  REQUIRE(data_energy);
  REQUIRE_OK(ebm_latent_energy_new(g, data_energy, &u[0]));
  REQUIRE_OK(ebm_latent_prior_energy_new(prior, NULL, 1.0f, &u[1]));
  const float z[8] = {0.3f, -1.2f, 1.5f, 0.2f, -0.7f, -0.4f, 2.0f, 1.0f};
  for (int k = 0; k < 2; k++) {
    float e1[4], g1[8], e3[4], g3[8];
    REQUIRE_OK(ebm_energy_eval(u[k], z, NULL, 4, e1, g1));
    REQUIRE_OK(k ? ebm_latent_prior_energy_set_temperature(u[k], 3.0f) : ebm_latent_energy_set_temperature(u[k], 3.0f));
    REQUIRE_OK(ebm_energy_eval(u[k], z, NULL, 4, e3, g3));
    for (int i = 0; i < 4; i++) {
      const double half_sq = 0.5 * ((double)z[2 * i] * z[2 * i] + (double)z[2 * i + 1] * z[2 * i + 1]);
      CHECK_NEAR(e3[i] - half_sq, (e1[i] - half_sq) / 3.0, 1e-5);
      for (int d = 0; d < 2; d++) CHECK_NEAR(g3[2 * i + d] - z[2 * i + d], (g1[2 * i + d] - z[2 * i + d]) / 3.0, 1e-5);
    }
  }
  CHECK_FAILS_WITH(ebm_latent_energy_set_temperature(u[0], 0.0f), EBM_ERR_ARG, "temperature");
  CHECK_FAILS_WITH(ebm_latent_prior_energy_set_temperature(u[1], -1.0f), EBM_ERR_ARG, "temperature");
  ebm_energy_free(u[0]);
  ebm_energy_free(u[1]);
  ebm_energy_free(data_energy);
  ebm_net_free(e);
  ebm_net_free(g);
  ebm_net_free(prior);
}
