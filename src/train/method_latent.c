/* The latent-space EBM prior (Pang, Han, Nijkamp, Zhu & Wu, NeurIPS 2020;
 * the Xie & Wu tutorial seed, "Learning and Sampling Algorithm"):
 * p(z) ∝ exp(−E(z))·N(z; 0, I) with E an energy network on z (`prior`),
 * x = G(z) + N(0, σ²I) (`generator`, σ = `obs-noise`). One step:
 *   1. a data batch x;
 *   2. prior samples z⁻: K sampler steps on U(z) = E(z) + ½‖z‖² from N(0, I);
 *   3. posterior samples z⁺: K sampler steps on U(z|x) = U(z) + ‖x − G(z)‖²/(2σ²)
 *      from N(0, I) (ebm_latent_prior_energy_new);
 *   4. the prior by maximum likelihood, the seed's δ_α = E_post[∇f] − E_prior[∇f]
 *      with f = −E, as the contrastive loss of the MCMC methods on z:
 *      L_E = mean E(z⁺) − mean E(z⁻) + α·(mean E(z⁺)² + mean E(z⁻)²);
 *   5. the generator by maximum likelihood of x given z⁺ (z⁺ a constant):
 *      L_G = 1/n Σᵢ ‖xᵢ − G(z⁺ᵢ)‖²/(2σ²)   (−log p(x|z) up to a constant).
 * The model is the method's own (TRAIN_OWN_MODEL: its energy is on z, not
 * on the data): the checkpoint's part "energy" is the prior, "generator"
 * the generator, with metadata "space" = "latent" and "obs_noise" = σ so
 * the verbs know what the energy's input is. Samples: G(z⁻). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_generator.h"

/* The prior network is initialised from this stream of the seed. */
#define LATENT_PRIOR_INIT_STREAM 4

typedef struct {
  train_generator gen;
  ebm_net *prior;          /* E(z) */
  ebm_adam *prior_adam;
  ebm_energy *prior_u, *post_u;          /* U(z), U(z|x) */
  ebm_sampler *prior_sampler, *post_sampler;
  float *z_neg, *z_pos;    /* (B, latent) prior and posterior samples */
  float *x_gen, *dx_gen;   /* (B, item) G(z⁺) and dL_G/dG; the pictures' G(z⁻) */
  char sigma_text[32];     /* metadata "obs_noise" */
} latent_state;

static void latent_free(void *state) {
  latent_state *s = state;
  if (!s) return;
  ebm_sampler_free(s->prior_sampler);
  ebm_sampler_free(s->post_sampler);
  ebm_energy_free(s->prior_u);
  ebm_energy_free(s->post_u);
  ebm_adam_free(s->prior_adam);
  ebm_net_free(s->prior);
  train_generator_free(&s->gen);
  ebm_free(s->z_neg);
  ebm_free(s->z_pos);
  ebm_free(s->x_gen);
  ebm_free(s->dx_gen);
  free(s);
}

/* The prior of --prior, or an mlp on z. */
static ebm_status build_prior(ebm_trainer *t, latent_state *s) {
  char compact[96];
  const char *arch = t->cfg.generator.prior;
  if (!arch[0]) {
    snprintf(compact, sizeof compact, "{\"preset\": \"mlp\", \"in_dim\": %lld}", (long long)s->gen.latent);
    arch = compact;
  }
  ebm_rng rng = train_method_rng(&t->cfg, LATENT_PRIOR_INIT_STREAM);
  ebm_status st = train_build_net(arch, t->cfg.batch, &rng, "--prior", &s->prior);
  if (st != EBM_OK) return st;
  if (ebm_net_item_ndim(s->prior) != 1 || ebm_net_out_size(s->prior) != 1)
    return ebm_set_error(EBM_ERR_ARG, "--prior must be an energy of vectors z (one input dimension, one output)");
  /* the posterior refuses a generator whose input is not the prior's z, naming both shapes */
  if ((st = ebm_latent_prior_energy_new(s->prior, NULL, 0.0f, &s->prior_u)) != EBM_OK ||
      (st = ebm_latent_prior_energy_new(s->prior, s->gen.net, t->cfg.generator.obs_noise, &s->post_u)) != EBM_OK)
    return st;
  return ebm_adam_new(s->prior, &t->cfg.adam, &s->prior_adam);
}

static ebm_status latent_init(ebm_trainer *t, void **state) {
  *state = NULL;
  const int64_t B = t->cfg.batch;
  latent_state *s = calloc(1, sizeof *s);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for method %s", t->method->name);
  ebm_status st = train_generator_init(t, &s->gen);
  if (st == EBM_OK) st = build_prior(t, s);
  if (st == EBM_OK) st = ebm_sampler_new(s->prior_u, &t->cfg.sampler, B, &s->prior_sampler);
  if (st == EBM_OK) st = ebm_sampler_new(s->post_u, &t->cfg.sampler, B, &s->post_sampler);
  if (st != EBM_OK) goto fail;
  s->z_neg = ebm_alloc((size_t)(B * s->gen.latent), sizeof(float));
  s->z_pos = ebm_alloc((size_t)(B * s->gen.latent), sizeof(float));
  s->x_gen = ebm_alloc((size_t)(B * t->item), sizeof(float));
  s->dx_gen = ebm_alloc((size_t)(B * t->item), sizeof(float));
  if (!s->z_neg || !s->z_pos || !s->x_gen || !s->dx_gen) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for method %s", t->method->name);
    goto fail;
  }
  snprintf(s->sigma_text, sizeof s->sigma_text, "%.9g", (double)t->cfg.generator.obs_noise);
  *state = s;
  return EBM_OK;
fail:
  latent_free(s);
  return st;
}

static ebm_status latent_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  latent_state *s = state;
  const ebm_train_config *c = &t->cfg;
  const int64_t B = c->batch, step = t->step + 1, m = B * s->gen.latent;
  const double inv_var = 1.0 / ((double)c->generator.obs_noise * c->generator.obs_noise);
  ebm_status st;

  train_next_data(t);
  ebm_net_spectral_update(s->prior, c->spectral_iters);
  ebm_net_spectral_update(s->gen.net, c->spectral_iters);
  ebm_rng_normal(&t->rng, s->z_neg, m, 0.0f, 1.0f);
  if ((st = ebm_sampler_run(s->prior_sampler, s->z_neg, NULL, B, &t->rng, t->mcmc, NULL)) != EBM_OK)
    return train_divergence(st, step, "the prior sampler's energy is not finite");
  ebm_rng_normal(&t->rng, s->z_pos, m, 0.0f, 1.0f);
  if ((st = ebm_latent_prior_energy_set_target(s->post_u, t->x_pos, B)) != EBM_OK) return st;
  if ((st = ebm_sampler_run(s->post_sampler, s->z_pos, NULL, B, &t->rng, NULL, NULL)) != EBM_OK)
    return train_divergence(st, step, "the posterior sampler's energy is not finite");
  double e_pos = 0, e_neg = 0, loss = 0, gen_loss = 0;
  if ((st = train_contrastive_gradient_of(t, s->prior, s->z_pos, s->z_neg, &e_pos, &e_neg, &loss)) != EBM_OK)
    return st;
  if ((st = ebm_net_forward(s->gen.net, s->z_pos, NULL, B, s->x_gen)) != EBM_OK)
    return train_divergence(st, step, "the generator's output is not finite");
  if ((st = train_generator_regression_backward(s->gen.net, s->x_gen, t->x_pos, B, inv_var, s->dx_gen, step,
                                                 &gen_loss)) != EBM_OK)
    return st;
  /* Both gradients are complete before either network changes (the mcmc_*
   * fields are the prior sampler's). */
  return train_generator_pair_update(t, s->prior_adam, &s->gen, step, loss, e_pos, e_neg, stats);
}

/* G(z⁻) of the last step: the model's samples (the generator's forward
 * only touches its own activations, made again by the next step). */
static const float *latent_samples(const ebm_trainer *t, const void *state, int64_t *n) {
  const latent_state *s = state;
  *n = 0;
  if (t->step == 0 || ebm_net_forward(s->gen.net, s->z_neg, NULL, t->cfg.batch, s->x_gen) != EBM_OK) return NULL;
  *n = t->cfg.batch;
  return s->x_gen;
}

static ebm_status latent_save(const ebm_trainer *t, const void *state, ebm_st_writer *w) {
  (void)t;
  const latent_state *s = state;
  ebm_status st = train_save_net(w, s->prior, "prior");
  if (st == EBM_OK) st = ebm_adam_save_as(s->prior_adam, w, "prior_adam");
  return st != EBM_OK ? st : train_generator_save(&s->gen, w);
}

static ebm_status latent_restore(ebm_trainer *t, void *state, const ebm_safetensors *st_file) {
  (void)t;
  latent_state *s = state;
  ebm_status st = train_check_net(st_file, s->prior, "prior");
  if (st == EBM_OK) st = train_check_net(st_file, s->gen.net, "generator");
  if (st == EBM_OK) st = ebm_adam_restore_as(s->prior_adam, st_file, "prior_adam");
  if (st == EBM_OK) st = train_generator_restore(&s->gen, st_file);
  if (st == EBM_OK) st = train_read_net(st_file, s->prior, "prior");
  return st;
}

static int latent_parts(const void *state, const ebm_net **nets, const char **names, int max) {
  const latent_state *s = state;
  if (max < 2) return 0;
  nets[0] = s->prior;
  names[0] = "energy";
  return 1 + train_generator_parts(&s->gen, nets + 1, names + 1, max - 1);
}

static int latent_meta(const void *state, const char **keys, const char **values, int max) {
  const latent_state *s = state;
  if (max < 2) return 0;
  keys[0] = "space";
  values[0] = "latent";
  keys[1] = "obs_noise";
  values[1] = s->sigma_text;
  return 2;
}

/* The data's recipe tunes its chains for the data's box (the toys': ULA
 * ε 0.05, α 0.01); these chains run in z ~ N(0, I) instead. With the toys'
 * settings the posterior chains barely leave N(0, I) and the prior's
 * chains do not move at all, so the prior separates the two sets of z
 * perfectly and α 0.01 lets its energies grow to ±1/(2α) = ±50; its
 * gradient then drowns the likelihood's in the posterior, and G learns
 * from latents that say nothing about x. ULA ε 0.1 (Pang et al.'s
 * posterior step) moves both chains, and α 1 keeps E(z) a correction of
 * N(0, I) of a few nats (measured: README, "Latent-space EBM prior"). */
static void latent_recipe(const ebm_dataset *ds, ebm_train_config *cfg) {
  (void)ds;
  cfg->sampler = ebm_sampler_defaults(EBM_SAMPLER_ULA);
  cfg->sampler.steps = 30;
  cfg->sampler.step_size = 0.1f;
  cfg->sampler.clamp = 0; /* z is unbounded */
  cfg->alpha = 1.0f;
}

static ebm_status latent_check(const ebm_train_config *cfg) {
  ebm_status st = train_generator_check(cfg);
  if (st != EBM_OK) return st;
  const float sigma = cfg->generator.obs_noise;
  if (!(sigma > 0) || !isfinite(sigma))
    return ebm_set_error(EBM_ERR_ARG, "obs-noise must be > 0 and finite, got %g", (double)sigma);
  if (cfg->conditional) return ebm_set_error(EBM_ERR_ARG, "method latent-ebm trains an unconditional model");
  return EBM_OK;
}

#define ROW(name_, type_, field, metavar_, help_, flags_, def_)                                    \
  {.name = name_, .type = type_, .offset = offsetof(ebm_train_config, field),                      \
   .size = sizeof(((ebm_train_config *)0)->field), .metavar = metavar_, .help = help_,             \
   .flags = flags_, .def = def_}
static const ebm_train_setting latent_settings[] = {
    ROW("prior", EBM_SETTING_TEXT, generator.prior, "ARCH",
        "latent-ebm: the prior's energy on z (preset, JSON or @FILE); default an mlp on z", EBM_SETTING_IDENTITY, ""),
    ROW("obs-noise", EBM_SETTING_FLOAT, generator.obs_noise, "S",
        "latent-ebm: σ of x = G(z) + N(0, σ²)", EBM_SETTING_IDENTITY, "0.3"),
};
#undef ROW

const train_method train_method_latent = {
    .name = "latent-ebm",
    .summary = "latent-space EBM prior on z under a generator, posterior and prior by short-run MCMC "
               "(Pang et al. 2020); no --arch",
    .needs = TRAIN_OWN_MODEL,
    .settings = latent_settings,
    .nsettings = (int)(sizeof latent_settings / sizeof *latent_settings),
    .check = latent_check,
    .init = latent_init,
    .step = latent_step,
    .save = latent_save,
    .restore = latent_restore,
    .parts = latent_parts,
    .meta = latent_meta,
    .samples = latent_samples,
    .free = latent_free,
    .recipe = latent_recipe,
};
