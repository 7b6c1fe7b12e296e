/* A GEBM trained on a 2-D toy (`ebm train --method gebm --data toy:NAME`)
 * against its own generator: 20 000 samples of each, the generator's alone
 * (z ~ N(0, I)) and the model's (MALA on the latent posterior, pushed
 * through the generator), scored by the KL on a 64×64 grid of [−4, 4]²
 * between their histogram and the toy's exact density
 * (ebm_grid_sample_kl).
 *
 * With a PREFIX, PREFIX-generator.png and PREFIX-gebm.png show 2 000 of
 * each as red dots on the true density.
 *
 *   build/example_gebm_toy RUN/ckpt/last.safetensors 8gaussians [steps] [eps] [PREFIX]
 */
#include <stdio.h>
#include <stdlib.h>

#include "ebm.h"
#include "ebm/grid_nll.h"

enum { SAMPLES = 20000, CHUNK = 1000 };

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
  ebm_net *g = NULL, *e = NULL;
  ebm_energy *energy = NULL;
  float *x = malloc(SAMPLES * 2 * sizeof(float));
  ebm_status st = x ? EBM_OK : EBM_ERR_NOMEM;
  if (st == EBM_OK) st = ebm_net_load_part(argv[1], "generator", CHUNK, &g);
  if (st == EBM_OK) st = ebm_net_load(argv[1], CHUNK, &e);
  if (st == EBM_OK && !(energy = ebm_net_as_energy(e))) st = EBM_ERR_NOMEM;
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  cfg.steps = argc > 3 ? atoi(argv[3]) : 100;
  cfg.step_size = argc > 4 ? (float)atof(argv[4]) : 0.2f;
  cfg.grad_clip = 0;
  const int steps[2] = {0, cfg.steps};
  const char *names[2] = {"generator", "gebm"};
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  double *density = malloc(128 * 128 * sizeof *density);
  if (st == EBM_OK && !density) st = EBM_ERR_NOMEM;
  if (st == EBM_OK && argc > 5) st = ebm_grid_toy_density((ebm_toy)toy, 4.0, 128, density);
  for (int k = 0; st == EBM_OK && k < 2; k++) {
    double kl = 0;
    int64_t outside = 0;
    cfg.steps = steps[k];
    st = ebm_sample_latent(g, energy, &cfg, SAMPLES, &rng, NULL, x);
    if (st == EBM_OK) st = ebm_grid_sample_kl(x, SAMPLES, (ebm_toy)toy, 4.0, 64, &kl, &outside);
    if (st == EBM_OK && argc > 5) {
      char path[1024];
      snprintf(path, sizeof path, "%s-%s.png", argv[5], names[k]);
      const double *panels[1] = {density};
      st = ebm_grid_png(path, 128, 1, panels, 4.0, x, 2000);
    }
    if (st == EBM_OK)
      printf("%-9s grid KL %.3f (%lld of %d samples outside [-4, 4]^2; MALA %d steps, eps %g)\n", names[k], kl,
             (long long)outside, SAMPLES, steps[k], (double)cfg.step_size);
  }
  if (st != EBM_OK) fprintf(stderr, "%s: %s\n", argv[0], ebm_last_error());
  ebm_energy_free(energy);
  ebm_net_free(g);
  ebm_net_free(e);
  free(x);
  free(density);
  return st == EBM_OK ? 0 : 1;
}
