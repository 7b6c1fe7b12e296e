/* A model with a generator trained on a 2-D toy (`ebm train --method
 * gebm|coop|latent-ebm --data toy:NAME`) against its own generator: 20 000
 * samples of each, the generator's alone (G(z), z ~ N(0, I)) and the
 * model's (ebm_gen_model_sample in the model's own space), scored by the KL
 * on a 64×64 grid of [−4, 4]² between their histogram and the toy's exact
 * density (ebm_grid_sample_kl). The model's samples:
 *   gebm        G(z), z by SAMPLER (default mala; `steps`, `eps`) on the
 *               latent posterior N(z; 0, I)·exp(−E(G(z)))
 *   coop        G(z) revised by the sampler the model was trained with, on E(x)
 *   latent-ebm  G(z), z by the trained sampler on the prior exp(−E(z))·N(z; 0, I)
 * (a SAMPLER argument replaces the trained sampler of coop / latent-ebm too).
 *
 * With a PREFIX (not "-"), PREFIX-generator.png and PREFIX-<method>.png
 * show 2 000 of each as red dots on the true density.
 *
 *   build/example_gebm_toy RUN/ckpt/last.safetensors 8gaussians [steps] [eps] [PREFIX|-] [SAMPLER]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"
#include "ebm/grid_nll.h"

enum { SAMPLES = 20000, CHUNK = 1000 };

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s CKPT TOY [steps] [step-size] [PNG-PREFIX|-] [SAMPLER]\n", argv[0]);
    return 2;
  }
  const int toy = ebm_toy_from_name(argv[2]);
  const int kind = argc > 6 ? ebm_sampler_from_name(argv[6]) : EBM_SAMPLER_MALA;
  if (toy < 0 || kind < 0) {
    fprintf(stderr, "%s: unknown %s '%s'\n", argv[0], toy < 0 ? "toy" : "sampler", toy < 0 ? argv[2] : argv[6]);
    return 2;
  }
  const char *prefix = argc > 5 && strcmp(argv[5], "-") != 0 ? argv[5] : NULL;
  ebm_gen_model m;
  float *x = malloc(SAMPLES * 2 * sizeof(float));
  double *density = malloc(128 * 128 * sizeof *density);
  ebm_status st = x && density ? EBM_OK : EBM_ERR_NOMEM;
  if (st == EBM_OK) st = ebm_gen_model_open(argv[1], CHUNK, &m);
  else memset(&m, 0, sizeof m);
  const int own = strcmp(m.method, "gebm") != 0 && argc <= 6; /* coop / latent-ebm: the trained sampler */
  ebm_sampler_config cfg = ebm_sampler_defaults((ebm_sampler_kind)kind);
  cfg.steps = argc > 3 ? atoi(argv[3]) : 100;
  cfg.step_size = argc > 4 ? (float)atof(argv[4]) : 0.2f;
  int found = 0;
  if (st == EBM_OK && own) st = ebm_sampler_config_from_checkpoint(argv[1], &cfg, &found);
  if (st == EBM_OK && prefix) st = ebm_grid_toy_density((ebm_toy)toy, 4.0, 128, density);
  const char *names[2] = {"generator", m.method};
  const ebm_gen_space spaces[2] = {EBM_GEN_SPACE_GENERATOR, EBM_GEN_SPACE_DEFAULT};
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  for (int k = 0; st == EBM_OK && k < 2; k++) {
    double kl = 0;
    int64_t outside = 0;
    st = ebm_gen_model_sample(&m, spaces[k], &cfg, SAMPLES, &rng, x);
    if (st == EBM_OK) st = ebm_grid_sample_kl(x, SAMPLES, (ebm_toy)toy, 4.0, 64, &kl, &outside);
    if (st == EBM_OK && prefix) {
      char path[1024];
      snprintf(path, sizeof path, "%s-%s.png", prefix, names[k]);
      const double *panels[1] = {density};
      st = ebm_grid_png(path, 128, 1, panels, 4.0, x, 2000);
    }
    if (st == EBM_OK)
      printf("%-10s grid KL %.3f (%lld of %d samples outside [-4, 4]^2; %s %d steps, eps %g, in %s space)\n", names[k],
             kl, (long long)outside, SAMPLES, ebm_sampler_name(cfg.kind), k ? cfg.steps : 0, (double)cfg.step_size,
             ebm_gen_space_name(k ? ebm_gen_model_default_space(&m) : EBM_GEN_SPACE_GENERATOR));
  }
  if (st != EBM_OK) fprintf(stderr, "%s: %s\n", argv[0], ebm_last_error());
  ebm_gen_model_close(&m);
  free(x);
  free(density);
  return st == EBM_OK ? 0 : 1;
}
