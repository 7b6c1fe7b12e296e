/* Cooperative networks, "MCMC teaching" (Xie, Lu, Gao, Zhu & Wu, TPAMI
 * 2018 and AAAI 2018; the Xie & Wu tutorial seed, "Cooperative Learning
 * via MCMC Teaching"): a generator G(z), z ~ N(0, I), writes a draft, the
 * energy revises it by K steps of its sampler, and
 *   energy     learns by maximum likelihood from the data against the
 *              revised samples x̃ = M_K(G(z)), the loss of the MCMC
 *              methods (modified contrastive divergence, the seed's
 *              KL(p_data‖π) − KL(M p_θ‖π)):
 *              L_E = mean E(x⁺) − mean E(x̃) + α·(mean E(x⁺)² + mean E(x̃)²)
 *   generator  learns from the revision with z known (the tutorial's
 *              "generator learns from EBM revision with known z"), a
 *              regression of G(z) on x̃, which is a constant of the loss:
 *              L_G = 1/n Σᵢ ½‖x̃ᵢ − G(zᵢ)‖²,  dL_G/dG(zᵢ) = (G(zᵢ) − x̃ᵢ)/n
 * One step: one generator forward (its activations kept for its one
 * backward), K sampler steps, one energy forward and backward per batch.
 * The run's negatives (and sample pictures) are the revised samples. */
#include <stdlib.h>
#include <string.h>

#include "train/train_generator.h"

typedef struct {
  train_generator gen;
  float *z;                /* (B, latent) */
  float *x_gen;            /* (B, item) G(z), the draft */
  float *dx_gen;           /* (B, item) dL_G/dG(z) */
} coop_state;

static void coop_free(void *state) {
  coop_state *s = state;
  if (!s) return;
  train_generator_free(&s->gen);
  ebm_free(s->z);
  ebm_free(s->x_gen);
  ebm_free(s->dx_gen);
  free(s);
}

static ebm_status coop_init(ebm_trainer *t, void **state) {
  *state = NULL;
  if (t->cfg.conditional || ebm_net_num_classes(t->net) > 0)
    return ebm_set_error(EBM_ERR_ARG, "method %s trains an unconditional model", t->method->name);
  ebm_status st = train_mcmc_check_data(t);
  if (st != EBM_OK) return st;
  coop_state *s = calloc(1, sizeof *s);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for method %s", t->method->name);
  if ((st = train_generator_init(t, &s->gen)) != EBM_OK) goto fail;
  const size_t big = (size_t)(t->cfg.batch * t->item);
  s->z = ebm_alloc((size_t)(t->cfg.batch * s->gen.latent), sizeof(float));
  s->x_gen = ebm_alloc(big, sizeof(float));
  s->dx_gen = ebm_alloc(big, sizeof(float));
  if (!s->z || !s->x_gen || !s->dx_gen) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for method %s", t->method->name);
    goto fail;
  }
  *state = s;
  return EBM_OK;
fail:
  coop_free(s);
  return st;
}

static ebm_status coop_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  coop_state *s = state;
  const ebm_train_config *c = &t->cfg;
  const int64_t B = c->batch, step = t->step + 1;
  ebm_status st;

  train_make_positives(t);
  ebm_net_spectral_update(t->net, c->spectral_iters);
  ebm_net_spectral_update(s->gen.net, c->spectral_iters);
  /* the draft: its forward's activations stay in the generator for its
   * backward below (the sampler runs the energy network only) */
  ebm_rng_normal(&t->rng, s->z, B * s->gen.latent, 0.0f, 1.0f);
  if ((st = ebm_net_forward(s->gen.net, s->z, NULL, B, s->x_gen)) != EBM_OK)
    return train_divergence(st, step, "the generator's output is not finite");
  memcpy(t->x_neg, s->x_gen, (size_t)(B * t->item) * sizeof(float));
  /* the revision */
  if ((st = ebm_sampler_run(t->sampler, t->x_neg, NULL, B, &t->rng, t->mcmc, NULL)) != EBM_OK)
    return train_divergence(st, step, "the sampler's energy is not finite");
  t->has_negatives = 1;
  double e_pos = 0, e_neg = 0, loss = 0;
  if ((st = train_contrastive_gradient(t, &e_pos, &e_neg, &loss)) != EBM_OK) return st;
  double gen_loss = 0;
  if ((st = train_generator_regression_backward(s->gen.net, s->x_gen, t->x_neg, B, 1.0, s->dx_gen, step,
                                                 &gen_loss)) != EBM_OK)
    return st;
  /* Both gradients are complete before either network changes. */
  return train_generator_pair_update(t, t->adam, &s->gen, step, loss, e_pos, e_neg, stats);
}

static ebm_status coop_save(const ebm_trainer *t, const void *state, ebm_st_writer *w) {
  (void)t;
  return train_generator_save(&((const coop_state *)state)->gen, w);
}

static ebm_status coop_restore(ebm_trainer *t, void *state, const ebm_safetensors *st) {
  (void)t;
  return train_generator_restore(&((coop_state *)state)->gen, st);
}

static int coop_parts(const void *state, const ebm_net **nets, const char **names, int max) {
  return train_generator_parts(&((const coop_state *)state)->gen, nets, names, max);
}

/* The generator, its latent dimension and learning rate are gebm's
 * settings rows (method_gebm.c): the same fields, one flag each. */
const train_method train_method_coop = {
    .name = "coop",
    .summary = "cooperative networks: the generator's drafts revised by K MCMC steps, energy by ML, "
               "generator regressed on the revisions (Xie et al. 2018)",
    .needs = TRAIN_ENERGY_NET | TRAIN_NEEDS_SAMPLER,
    .check = train_generator_check,
    .init = coop_init,
    .step = coop_step,
    .save = coop_save,
    .restore = coop_restore,
    .parts = coop_parts,
    .free = coop_free,
};
