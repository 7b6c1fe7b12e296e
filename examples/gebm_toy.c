/* A model with a generator trained on a 2-D toy (`ebm train --method
 * gebm|coop|latent-ebm --data toy:NAME`) against its own generator: 20 000
 * samples of each, the generator's alone (G(z), z ~ N(0, I)) and the
 * model's, scored by the KL on a 64×64 grid of [−4, 4]² between their
 * histogram and the toy's exact density (ebm_grid_sample_kl). The model's
 * samples follow the checkpoint's "method":
 *   gebm        G(z), z by MALA (`steps`, `eps`) on the latent posterior
 *               N(z; 0, I)·exp(−E(G(z)))
 *   coop        G(z) revised by the sampler the model was trained with, on E(x)
 *   latent-ebm  G(z), z by the trained sampler on the prior exp(−E(z))·N(z; 0, I)
 *
 * With a PREFIX, PREFIX-generator.png and PREFIX-<method>.png show 2 000 of
 * each as red dots on the true density.
 *
 *   build/example_gebm_toy RUN/ckpt/last.safetensors 8gaussians [steps] [eps] [PREFIX]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"
#include "ebm/grid_nll.h"

enum { SAMPLES = 20000, CHUNK = 1000 };

/* The method a run wrote into its checkpoint ("gebm" for older ones). */
static ebm_status read_method(const char *path, char *method, size_t size) {
  ebm_safetensors *st = NULL;
  ebm_status s = ebm_safetensors_load(path, &st);
  if (s != EBM_OK) return s;
  const char *m = ebm_safetensors_meta(st, "method");
  snprintf(method, size, "%s", m ? m : "gebm");
  ebm_safetensors_free(st);
  return EBM_OK;
}

/* coop's samples: the generator's drafts revised by the energy's sampler. */
static ebm_status revise(const ebm_energy *energy, const ebm_sampler_config *cfg, float *x, ebm_rng *rng) {
  ebm_sampler *s = NULL;
  ebm_status st = ebm_sampler_new(energy, cfg, CHUNK, &s);
  for (int64_t i = 0; st == EBM_OK && i < SAMPLES; i += CHUNK) st = ebm_sampler_run(s, x + i * 2, NULL, CHUNK, rng, NULL, NULL);
  ebm_sampler_free(s);
  return st;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s CKPT TOY [steps] [step-size] [PNG-PREFIX]\n", argv[0]);
    return 2;
  }
  const int toy = ebm_toy_from_name(argv[2]);
  if (toy < 0) {
    fprintf(stderr, "%s: unknown toy '%s'\n", argv[0], argv[2]);
    return 2;
  }
  char method[32];
  ebm_net *g = NULL, *e = NULL;
  ebm_energy *energy = NULL;
  float *x = malloc(SAMPLES * 2 * sizeof(float));
  ebm_status st = x ? EBM_OK : EBM_ERR_NOMEM;
  if (st == EBM_OK) st = read_method(argv[1], method, sizeof method);
  if (st == EBM_OK) st = ebm_net_load_part(argv[1], "generator", CHUNK, &g);
  if (st == EBM_OK) st = ebm_net_load(argv[1], CHUNK, &e);
  if (st == EBM_OK && !(energy = ebm_net_as_energy(e))) st = EBM_ERR_NOMEM;
  const int is_coop = strcmp(method, "coop") == 0, is_latent = strcmp(method, "latent-ebm") == 0;
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_MALA), trained = cfg;
  cfg.steps = argc > 3 ? atoi(argv[3]) : 100;
  cfg.step_size = argc > 4 ? (float)atof(argv[4]) : 0.2f;
  cfg.grad_clip = 0;
  int found = 0;
  if (st == EBM_OK && (is_coop || is_latent)) st = ebm_sampler_config_from_checkpoint(argv[1], &trained, &found);
  if (st == EBM_OK && (is_coop || is_latent)) cfg = trained;
  if (is_coop && energy) { /* the training range, as the run's sampler clamped to it */
    energy->range_lo = -4.0f;
    energy->range_hi = 4.0f;
  }
  const char *names[2] = {"generator", method};
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  double *density = malloc(128 * 128 * sizeof *density);
  if (st == EBM_OK && !density) st = EBM_ERR_NOMEM;
  if (st == EBM_OK && argc > 5) st = ebm_grid_toy_density((ebm_toy)toy, 4.0, 128, density);
  for (int k = 0; st == EBM_OK && k < 2; k++) {
    double kl = 0;
    int64_t outside = 0;
    ebm_sampler_config c = cfg;
    if (k == 0 || is_coop) c.steps = 0; /* the generator alone (coop's revision comes after) */
    st = is_latent ? ebm_sample_latent_prior(e, g, &c, SAMPLES, &rng, NULL, x)
                   : ebm_sample_latent(g, energy, &c, SAMPLES, &rng, NULL, x);
    if (st == EBM_OK && k == 1 && is_coop) st = revise(energy, &cfg, x, &rng);
    if (st == EBM_OK) st = ebm_grid_sample_kl(x, SAMPLES, (ebm_toy)toy, 4.0, 64, &kl, &outside);
    if (st == EBM_OK && argc > 5) {
      char path[1024];
      snprintf(path, sizeof path, "%s-%s.png", argv[5], names[k]);
      const double *panels[1] = {density};
      st = ebm_grid_png(path, 128, 1, panels, 4.0, x, 2000);
    }
    if (st == EBM_OK)
      printf("%-10s grid KL %.3f (%lld of %d samples outside [-4, 4]^2; %s %d steps, eps %g%s)\n", names[k], kl,
             (long long)outside, SAMPLES, ebm_sampler_name(cfg.kind), k ? cfg.steps : 0, (double)cfg.step_size,
             is_coop ? ", in data space" : ", in latent space");
  }
  if (st != EBM_OK) fprintf(stderr, "%s: %s\n", argv[0], ebm_last_error());
  ebm_energy_free(energy);
  ebm_net_free(g);
  ebm_net_free(e);
  free(x);
  free(density);
  return st == EBM_OK ? 0 : 1;
}
