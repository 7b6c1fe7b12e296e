/* A checkpoint of a model with a generator (ebm train --method gebm | coop |
 * latent-ebm) opened for sampling, and its samples in each space
 * (sample.h, "Sampling a checkpoint with a generator"):
 *   latent     gebm / coop: z from the latent posterior
 *              ν(z) ∝ N(z; 0, I)·exp(−E(G(z))/β) (Arbel et al. 2021 §3),
 *              x = G(z) (ebm_sample_latent); latent-ebm: z from the prior
 *              exp(−E(z)/β)·N(z; 0, I) (Pang et al. 2020), x = G(z)
 *              (ebm_sample_latent_prior)
 *   data       gebm / coop: the sampler on exp(−E(x)/T) started at G(z),
 *              the revision of CoopNets (Xie et al. 2018)
 *   generator  G(z), z ~ N(0, I), alone: the yardstick every model must beat
 * One generator path: every space draws z and pushes it through G by
 * latent_sample.c; data space then runs one more sampler on E(x). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"

static const char *const space_names[EBM_GEN_SPACE_COUNT] = {"default", "latent", "data", "generator"};

const char *ebm_gen_space_name(ebm_gen_space space) {
  return space >= 0 && space < EBM_GEN_SPACE_COUNT ? space_names[space] : "?";
}

int ebm_gen_space_from_name(const char *name) {
  for (int k = 0; k < EBM_GEN_SPACE_COUNT; k++)
    if (strcmp(name, space_names[k]) == 0) return k;
  return -1;
}

void ebm_gen_model_close(ebm_gen_model *m) {
  ebm_energy_free(m->data_energy);
  ebm_net_free(m->energy);
  ebm_net_free(m->generator);
  memset(m, 0, sizeof *m);
}

ebm_status ebm_gen_model_open(const char *path, int64_t max_batch, ebm_gen_model *out) {
  memset(out, 0, sizeof *out);
  ebm_safetensors *file = NULL;
  ebm_status st = ebm_safetensors_load(path, &file);
  if (st != EBM_OK) return st;
  const char *parts = ebm_safetensors_meta(file, "parts"), *method = ebm_safetensors_meta(file, "method");
  const char *space = ebm_safetensors_meta(file, "space");
  if (!parts || !strstr(parts, "generator")) {
    st = ebm_set_error(EBM_ERR_ARG, "%s has no generator (%s%s): sampling in latent space or from the generator "
                       "needs a model of ebm train --method gebm|coop|latent-ebm", path,
                       parts ? "its parts: " : "one network, a plain energy", parts ? parts : "");
    goto fail;
  }
  snprintf(out->method, sizeof out->method, "%s", method ? method : "gebm");
  out->latent_prior = space && strcmp(space, "latent") == 0;
  /* a part list without exactly these names is refused by the loader, naming the parts */
  if ((st = ebm_net_part_from_safetensors(file, "energy", max_batch, &out->energy)) != EBM_OK ||
      (st = ebm_net_part_from_safetensors(file, "generator", max_batch, &out->generator)) != EBM_OK)
    goto fail;
  /* the shapes are checked here, so a hostile file fails at open, naming both */
  if (out->latent_prior) {
    ebm_energy *prior = NULL;
    st = ebm_latent_prior_energy_new(out->energy, out->generator, 1.0f, &prior);
    ebm_energy_free(prior);
  } else if (!(out->data_energy = ebm_net_as_energy(out->energy))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for its energy", path);
  } else {
    ebm_energy *posterior = NULL;
    st = ebm_latent_energy_new(out->generator, out->data_energy, &posterior);
    ebm_energy_free(posterior);
  }
  if (st != EBM_OK) {
    char detail[512];
    snprintf(detail, sizeof detail, "%s", ebm_last_error());
    st = ebm_set_error(st, "%s: %s", path, detail);
    goto fail;
  }
  ebm_safetensors_free(file);
  return EBM_OK;
fail:
  ebm_safetensors_free(file);
  ebm_gen_model_close(out);
  return st;
}

int ebm_gen_model_probe(const char *path) {
  ebm_safetensors *file = NULL;
  if (ebm_safetensors_load(path, &file) != EBM_OK) return 0;
  const char *parts = ebm_safetensors_meta(file, "parts");
  const int has = parts && strstr(parts, "generator") != NULL;
  ebm_safetensors_free(file);
  return has;
}

ebm_gen_space ebm_gen_model_default_space(const ebm_gen_model *m) {
  return strcmp(m->method, "coop") == 0 ? EBM_GEN_SPACE_DATA : EBM_GEN_SPACE_LATENT;
}

/* Data space: x = G(z), then cfg's sampler on E(x) from there, in chunks
 * of what the energy network takes. */
static ebm_status sample_data_space(ebm_gen_model *m, const ebm_sampler_config *cfg, int64_t n, ebm_rng *rng,
                                    float *x) {
  ebm_sampler_config draft = *cfg;
  draft.steps = 0;
  ebm_status st = ebm_sample_latent(m->generator, m->data_energy, &draft, n, rng, NULL, x);
  if (st != EBM_OK || cfg->steps == 0) return st;
  const int64_t chunk = m->data_energy->max_batch, item = ebm_energy_item_size(m->data_energy);
  ebm_sampler *sampler = NULL;
  if ((st = ebm_sampler_new(m->data_energy, cfg, chunk, &sampler)) != EBM_OK) return st;
  for (int64_t i = 0; i < n && st == EBM_OK; i += chunk)
    st = ebm_sampler_run(sampler, x + i * item, NULL, n - i < chunk ? n - i : chunk, rng, NULL, NULL);
  ebm_sampler_free(sampler);
  return st;
}

ebm_status ebm_gen_model_sample(ebm_gen_model *m, ebm_gen_space space, const ebm_sampler_config *cfg, int64_t n,
                                ebm_rng *rng, float *x) {
  if (space == EBM_GEN_SPACE_DEFAULT) space = ebm_gen_model_default_space(m);
  ebm_sampler_config c = *cfg;
  if (space == EBM_GEN_SPACE_GENERATOR) c.steps = 0;
  switch (space) {
  case EBM_GEN_SPACE_GENERATOR:
  case EBM_GEN_SPACE_LATENT:
    return m->latent_prior ? ebm_sample_latent_prior(m->energy, m->generator, &c, n, rng, NULL, x)
                           : ebm_sample_latent(m->generator, m->data_energy, &c, n, rng, NULL, x);
  case EBM_GEN_SPACE_DATA:
    if (m->latent_prior)
      return ebm_set_error(EBM_ERR_ARG, "a %s model's energy is a prior on z, not on x: it samples in latent space "
                           "(or from the generator), not in data space", m->method);
    return sample_data_space(m, &c, n, rng, x);
  default:
    return ebm_set_error(EBM_ERR_ARG, "unknown sampling space %d", (int)space);
  }
}

static int64_t generator_latent(const ebm_gen_model *m) {
  int64_t latent = 1;
  for (int d = 0; d < ebm_net_item_ndim(m->generator); d++) latent *= ebm_net_item_shape(m->generator)[d];
  return latent;
}

ebm_status ebm_gen_model_decode(ebm_gen_model *m, const float *z, int64_t n, float *x) {
  const int64_t chunk = ebm_net_max_batch(m->generator), item = ebm_net_out_size(m->generator);
  const int64_t latent = generator_latent(m);
  ebm_status st = EBM_OK;
  for (int64_t i = 0; i < n && st == EBM_OK; i += chunk)
    st = ebm_net_forward(m->generator, z + i * latent, NULL, n - i < chunk ? n - i : chunk, x + i * item);
  return st;
}

ebm_status ebm_gen_model_sample_fitted(ebm_gen_model *m, const ebm_gmm *density, int64_t n, ebm_rng *rng, float *z,
                                       float *x) {
  const int64_t latent = generator_latent(m);
  if (ebm_gmm_dim(density) != latent)
    return ebm_set_error(EBM_ERR_ARG, "the fitted density is of %lld-dimensional latents, the generator takes z of %lld",
                         (long long)ebm_gmm_dim(density), (long long)latent);
  float *zw = z ? z : malloc((size_t)(n * latent) * sizeof *zw);
  if (!zw) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld latents", (long long)n);
  ebm_status st = ebm_gmm_sample(density, rng, n, zw);
  if (st == EBM_OK) st = ebm_gen_model_decode(m, zw, n, x);
  if (!z) free(zw);
  return st;
}
