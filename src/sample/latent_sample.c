/* Samples of a model with a generator (GEBM, Arbel et al. 2021 §3): chains
 * start at z ~ η = N(0, I), the sampler moves them under the latent
 * posterior ν(z) ∝ η(z)·exp(−E(G(z))) (ebm_latent_energy_new), and the
 * samples are G(z). With cfg->steps = 0 they are the generator's alone. */
#include <stdlib.h>

#include "ebm.h"

ebm_status ebm_sample_latent(ebm_net *generator, const ebm_energy *data_energy, const ebm_sampler_config *cfg,
                             int64_t n, ebm_rng *rng, float *z, float *x) {
  ebm_energy *posterior = NULL;
  ebm_sampler *sampler = NULL;
  float *z_work = NULL;
  ebm_status st = ebm_latent_energy_new(generator, data_energy, &posterior);
  if (st != EBM_OK) return st;
  const int64_t chunk = posterior->max_batch, latent = posterior->item_shape[0];
  const int64_t item = ebm_net_out_size(generator);
  if (cfg->steps > 0 && (st = ebm_sampler_new(posterior, cfg, chunk, &sampler)) != EBM_OK) goto done;
  if (!z && !(z_work = malloc((size_t)(chunk * latent) * sizeof(float)))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld latent chains", (long long)chunk);
    goto done;
  }
  for (int64_t i = 0; i < n; i += chunk) {
    const int64_t m = n - i < chunk ? n - i : chunk;
    float *zi = z ? z + i * latent : z_work;
    ebm_rng_normal(rng, zi, m * latent, 0.0f, 1.0f);
    if (sampler && (st = ebm_sampler_run(sampler, zi, NULL, m, rng, NULL, NULL)) != EBM_OK) goto done;
    if ((st = ebm_net_forward(generator, zi, NULL, m, x + i * item)) != EBM_OK) goto done;
  }
done:
  free(z_work);
  ebm_sampler_free(sampler);
  ebm_energy_free(posterior);
  return st;
}
