/* Samples of a model with a generator: chains start at z ~ η = N(0, I), a
 * sampler moves them under an energy U in z, and the samples are G(z).
 *   GEBM (Arbel et al. 2021 §3)   U = the latent posterior ½‖z‖² + E(G(z))
 *                                 (ebm_latent_energy_new)
 *   latent EBM (Pang et al. 2020) U = the prior E(z) + ½‖z‖² for samples, the
 *                                 posterior given x for reconstructions
 *                                 (ebm_latent_prior_energy_new)
 * With cfg->steps = 0 they are the generator's alone. cfg->temperature β
 * tempers the energy network alone (the energies' set_temperature), never
 * the N(0, I) base: the chains then run U at temperature 1. */
#include <stdlib.h>

#include "ebm.h"

/* The chains of n items in chunks of what both U and G take: z ~ N(0, I),
 * cfg's steps under U (already tempered; given target's items, when not
 * NULL, as the posterior's observations), x = G(z). z may be NULL. */
static ebm_status run_latent_chains(ebm_energy *u, ebm_net *generator, const ebm_sampler_config *cfg,
                                    const float *target, int64_t n, ebm_rng *rng, float *z, float *x) {
  ebm_sampler *sampler = NULL;
  float *z_work = NULL;
  ebm_status st = EBM_OK;
  int64_t chunk = ebm_net_max_batch(generator);
  if (u->max_batch > 0 && u->max_batch < chunk) chunk = u->max_batch;
  const int64_t latent = u->item_shape[0], item = ebm_net_out_size(generator);
  ebm_sampler_config untempered = *cfg;
  untempered.temperature = 1.0f;
  if (cfg->steps > 0 && (st = ebm_sampler_new(u, &untempered, chunk, &sampler)) != EBM_OK) goto done;
  if (!z && !(z_work = malloc((size_t)(chunk * latent) * sizeof(float)))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld latent chains", (long long)chunk);
    goto done;
  }
  for (int64_t i = 0; i < n; i += chunk) {
    const int64_t m = n - i < chunk ? n - i : chunk;
    float *zi = z ? z + i * latent : z_work;
    ebm_rng_normal(rng, zi, m * latent, 0.0f, 1.0f);
    if (target && (st = ebm_latent_prior_energy_set_target(u, target + i * item, m)) != EBM_OK) goto done;
    if (sampler && (st = ebm_sampler_run(sampler, zi, NULL, m, rng, NULL, NULL)) != EBM_OK) goto done;
    if ((st = ebm_net_forward(generator, zi, NULL, m, x + i * item)) != EBM_OK) goto done;
  }
done:
  free(z_work);
  ebm_sampler_free(sampler);
  return st;
}

ebm_status ebm_sample_latent(ebm_net *generator, const ebm_energy *data_energy, const ebm_sampler_config *cfg,
                             int64_t n, ebm_rng *rng, float *z, float *x) {
  ebm_energy *posterior = NULL;
  ebm_status st = ebm_latent_energy_new(generator, data_energy, &posterior);
  if (st == EBM_OK) st = ebm_latent_energy_set_temperature(posterior, cfg->temperature);
  if (st == EBM_OK) st = run_latent_chains(posterior, generator, cfg, NULL, n, rng, z, x);
  ebm_energy_free(posterior);
  return st;
}

ebm_status ebm_sample_latent_prior(ebm_net *prior, ebm_net *generator, const ebm_sampler_config *cfg, int64_t n,
                                   ebm_rng *rng, float *z, float *x) {
  ebm_energy *u = NULL;
  /* with the generator, so a generator of another z is refused; no target: the prior */
  ebm_status st = ebm_latent_prior_energy_new(prior, generator, 1.0f, &u);
  if (st == EBM_OK) st = ebm_latent_prior_energy_set_temperature(u, cfg->temperature);
  if (st == EBM_OK) st = run_latent_chains(u, generator, cfg, NULL, n, rng, z, x);
  ebm_energy_free(u);
  return st;
}

ebm_status ebm_latent_reconstruct(ebm_net *prior, ebm_net *generator, float sigma, const ebm_sampler_config *cfg,
                                  const float *x, int64_t n, ebm_rng *rng, float *z, float *x_out, double *mse) {
  ebm_energy *u = NULL;
  ebm_status st = ebm_latent_prior_energy_new(prior, generator, sigma, &u);
  if (st == EBM_OK) st = ebm_latent_prior_energy_set_temperature(u, cfg->temperature);
  if (st == EBM_OK) st = run_latent_chains(u, generator, cfg, x, n, rng, z, x_out);
  ebm_energy_free(u);
  if (st != EBM_OK || !mse) return st;
  const int64_t m = n * ebm_net_out_size(generator);
  double sum = 0;
  for (int64_t k = 0; k < m; k++) sum += ((double)x_out[k] - x[k]) * ((double)x_out[k] - x[k]);
  *mse = m > 0 ? sum / (double)m : 0.0;
  return EBM_OK;
}
