/* The generator network of the methods that pair an energy with one
 * (method_gebm.c, method_coop.c, method_latent.c): built from the
 * `generator` setting (or the data's preset, ebm_train_generator_presets), initialised from stream 3 of the
 * seed, with its own Adam; its share of the state file ("generator.<name>",
 * "generator_adam") and of the model checkpoint (part "generator"). */
#ifndef EBM_TRAIN_GENERATOR_H
#define EBM_TRAIN_GENERATOR_H

#include "train/train_internal.h"

/* The generator's parameters are initialised from this stream of the seed. */
#define TRAIN_GENERATOR_INIT_STREAM 3

typedef struct {
  ebm_net *net;            /* z (latent) → an item of the energy's input shape */
  ebm_adam *adam;          /* over net, at the generator's learning rate */
  int64_t latent;          /* floats per z */
} train_generator;

/* The settings' check: latent-dim in [0, 2^20], generator-lr >= 0 and finite. */
ebm_status train_generator_check(const ebm_train_config *cfg);
/* Builds the generator for the trainer's batch; refuses, naming both
 * shapes, a --latent-dim that disagrees with the generator's input or an
 * output that is not the energy network's input (t->energy; without one,
 * the data's item shape). On failure what was made stays in *g for
 * train_generator_free. */
ebm_status train_generator_init(const ebm_trainer *t, train_generator *g);
void train_generator_free(train_generator *g);
/* The generator's learning rate for the step after t->step steps: --lr's
 * schedule scaled by generator-lr / lr. */
float train_generator_lr(const ebm_trainer *t);
ebm_status train_generator_save(const train_generator *g, ebm_st_writer *w);
/* Checks the generator's arrays and its Adam before it changes anything. */
ebm_status train_generator_restore(train_generator *g, const ebm_safetensors *st);
/* The checkpoint part "generator" (max >= 1); returns 1. */
int train_generator_parts(const train_generator *g, const ebm_net **nets, const char **names, int max);

/* The generator's regression on targets (CoopNets' revised samples, the
 * latent EBM's observations), on n outputs x_gen = G(z) and targets
 * (n × dim, constants of the loss):
 *   L = scale/n · Σᵢ ½‖targetᵢ − x_genᵢ‖²,  dx = dL/dx_gen = scale·(x_gen − target)/n (may be NULL)
 * (scale 1 for CoopNets; 1/σ² for the latent EBM's −log p(x|z) up to a constant). */
double train_generator_regression_loss(const float *x_gen, const float *target, int64_t n, int64_t dim,
                                       double scale, float *dx);
/* After the generator's forward pass that made x_gen (n items): L into
 * *loss and the generator's grads ← dL/dθ (zeroed first); dx: n × item of
 * work. A non-finite loss is the divergence of step `step`. */
ebm_status train_generator_regression_backward(ebm_net *generator, const float *x_gen, const float *target,
                                               int64_t n, double scale, float *dx, int64_t step, double *loss);
/* The end of a step of coop and latent-ebm, once both gradients are
 * complete: one Adam step of the energy network (energy_adam, at --lr's
 * schedule) and one of the generator (at train_generator_lr), then the
 * step's loss, energies, the energy's grad_norm and the sampler's mcmc_*
 * fields into stats. */
ebm_status train_generator_pair_update(ebm_trainer *t, ebm_adam *energy_adam, train_generator *g, int64_t step,
                                       double loss, double e_pos, double e_neg, ebm_train_stats *stats);

#endif
