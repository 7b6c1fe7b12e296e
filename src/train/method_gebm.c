/* Generalized energy-based models (Arbel, Zhou & Gretton, ICLR 2021; seed
 * "Generalized Energy-Based Models"): a generator G(z), z ~ η = N(0, I), is
 * the base measure Q and an energy E(x) reweights it, model ∝ exp(−E)·Q.
 *   energy     maximises the KALE lower bound of the generalised
 *              likelihood, 1 − E_P[E + c] − E_Q[exp(−E − c)], with the
 *              constant at its optimum for the batch, c* = log mean
 *              exp(−E(G(z))) (the seed: "jointly maximizing yields ... c*"),
 *              where KALE = −mean E(x⁺) − c*. Without c* the exp term's
 *              gradient is unbounded and a 2-D run diverges within 50
 *              steps; with it each generated point weighs wᵢ ≤ 1. The
 *              energy minimises −KALE + α·mean E(x⁺)² (α: the common
 *              setting; the seed's Lipschitz class is what bounds E there,
 *              this pins E on the data so E cannot drift to −∞):
 *              L_E = mean E(x⁺) + log mean exp(−E(G(z))) + α·mean E(x⁺)²
 *   generator  descends ∇K(θ) = Z⁻¹ ∫ ∇ₓE(G(z)) ∇θG(z) exp(−E(G(z))) η(z) dz
 *              (the seed's theorem), the gradient of
 *              L_G = −log mean_i exp(−E(G(zᵢ))) with E fixed: each sample
 *              moves down ∇ₓE with the self-normalised weight
 *              wᵢ = exp(−Eᵢ) / Σⱼ exp(−Eⱼ).
 * One step: one generator forward, one energy forward on each batch and one
 * backward through each; the energy's backward on the generated batch
 * (dL_E/dEᵢ = −wᵢ) gives dL_E/dθ and, with dx, −wᵢ∇ₓEᵢ = −dL_G/dxᵢ. Samples: G(z) with z from the latent posterior
 * (ebm_sample_latent); the run's negatives (and sample pictures) are the
 * generator's last batch, the base measure. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_generator.h"

typedef struct {
  train_generator gen;
  float *z;                /* (B, latent); G(z) goes to t->x_neg, the run's negatives */
  float *dx_gen;           /* (B, item) dL/dx, first E's then G's */
} gebm_state;

/* −log mean exp(−e), shifted by the smallest e so no term overflows;
 * w (may be NULL) gets the weights exp(−eᵢ) / Σⱼ exp(−eⱼ). */
static double neg_log_mean_exp(const float *e, int64_t n, float *w) {
  double lo = INFINITY, sum = 0;
  for (int64_t i = 0; i < n; i++) lo = e[i] < lo ? e[i] : lo;
  for (int64_t i = 0; i < n; i++) sum += exp(-((double)e[i] - lo));
  for (int64_t i = 0; w && i < n; i++) w[i] = (float)(exp(-((double)e[i] - lo)) / sum);
  return lo - log(sum / (double)n);
}

double train_kale_loss(const float *e_data, const float *e_gen, int64_t n, float alpha) {
  double sum = 0;
  for (int64_t i = 0; i < n; i++) sum += (double)e_data[i] + alpha * (double)e_data[i] * e_data[i];
  return sum / (double)n - neg_log_mean_exp(e_gen, n, NULL);
}

void train_kale_loss_grad(const float *e_data, const float *e_gen, int64_t n, float alpha, float *de_data,
                          float *de_gen) {
  for (int64_t i = 0; i < n; i++) de_data[i] = (float)((1.0 + 2.0 * alpha * e_data[i]) / (double)n);
  if (!e_gen) return;
  (void)neg_log_mean_exp(e_gen, n, de_gen);
  for (int64_t i = 0; i < n; i++) de_gen[i] = -de_gen[i];
}

double train_gebm_generator_loss(const float *e_gen, int64_t n) { return neg_log_mean_exp(e_gen, n, NULL); }

static void gebm_free(void *state) {
  gebm_state *s = state;
  if (!s) return;
  train_generator_free(&s->gen);
  free(s->z);
  free(s->dx_gen);
  free(s);
}

static ebm_status gebm_init(ebm_trainer *t, void **state) {
  *state = NULL;
  if (t->cfg.conditional || ebm_net_num_classes(t->net) > 0)
    return ebm_set_error(EBM_ERR_ARG, "method %s trains an unconditional model", t->method->name);
  ebm_status st = train_mcmc_check_data(t);
  if (st != EBM_OK) return st;
  gebm_state *s = calloc(1, sizeof *s);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for method %s", t->method->name);
  if ((st = train_generator_init(t, &s->gen)) != EBM_OK) goto fail;
  const size_t big = (size_t)(t->cfg.batch * t->item);
  s->z = malloc((size_t)(t->cfg.batch * s->gen.latent) * sizeof(float));
  s->dx_gen = malloc(big * sizeof(float));
  if (!s->z || !s->dx_gen) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for method %s", t->method->name);
    goto fail;
  }
  *state = s;
  return EBM_OK;
fail:
  gebm_free(s);
  return st;
}

ebm_status train_gebm_gradients(ebm_net *energy, ebm_net *generator, const float *x_data, const float *z,
                                int64_t n, float alpha, const train_gebm_work *w, int64_t step,
                                double max_energy, train_gebm_values *v) {
  const int64_t m = n * ebm_net_out_size(generator);
  ebm_status st;
  if ((st = ebm_net_forward(generator, z, NULL, n, w->x_gen)) != EBM_OK)
    return train_divergence(st, step, "the generator's output is not finite");
  ebm_net_zero_grad(energy);
  ebm_net_zero_grad(generator);
  if ((st = ebm_net_energy(energy, x_data, NULL, n, w->e_data)) != EBM_OK)
    return train_divergence(st, step, "e_pos is not finite");
  v->e_pos = train_mean(w->e_data, n);
  if ((st = train_check_finite(v->e_pos, max_energy, step, "e_pos")) != EBM_OK) return st;
  train_kale_loss_grad(w->e_data, NULL, n, alpha, w->de_data, NULL);
  if ((st = ebm_net_backward(energy, w->de_data, NULL, 1)) != EBM_OK) return st;
  if ((st = ebm_net_energy(energy, w->x_gen, NULL, n, w->e_gen)) != EBM_OK)
    return train_divergence(st, step, "e_neg is not finite");
  v->e_neg = train_mean(w->e_gen, n);
  v->loss = train_kale_loss(w->e_data, w->e_gen, n, alpha);
  v->gen_loss = train_gebm_generator_loss(w->e_gen, n);
  if ((st = train_check_finite(v->e_neg, max_energy, step, "e_neg")) != EBM_OK ||
      (st = train_check_finite(v->loss, 0, step, "loss")) != EBM_OK ||
      (st = train_check_finite(v->gen_loss, 0, step, "the generator's loss")) != EBM_OK)
    return st;
  train_kale_loss_grad(w->e_data, w->e_gen, n, alpha, w->de_data, w->de_gen);
  if ((st = ebm_net_backward(energy, w->de_gen, w->dx, 1)) != EBM_OK) return st;
  /* dx = −wᵢ∇ₓEᵢ, and dL_G/dxᵢ = wᵢ∇ₓEᵢ */
  for (int64_t k = 0; k < m; k++) w->dx[k] = -w->dx[k];
  return ebm_net_backward(generator, w->dx, NULL, 1);
}

static ebm_status gebm_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  gebm_state *s = state;
  const ebm_train_config *c = &t->cfg;
  const int64_t B = c->batch, step = t->step + 1;
  const train_gebm_work work = {.x_gen = t->x_neg, .dx = s->dx_gen, .e_data = t->e_pos, .e_gen = t->e_neg,
                                .de_data = t->de_pos, .de_gen = t->de_neg};
  train_gebm_values v;
  ebm_status st;

  train_next_data(t);
  ebm_net_spectral_update(t->net, c->spectral_iters);
  ebm_net_spectral_update(s->gen.net, c->spectral_iters);
  ebm_rng_normal(&t->rng, s->z, B * s->gen.latent, 0.0f, 1.0f);
  if ((st = train_gebm_gradients(t->net, s->gen.net, t->x_pos, s->z, B, c->alpha, &work, step, c->max_energy, &v)) !=
      EBM_OK)
    return st;
  /* Both gradients are complete before either network changes. */
  double gnorm = 0, gen_norm = 0;
  const float lr = ebm_train_lr(c, t->step);
  if ((st = train_adam_step(t->adam, lr, step, "grad_norm", &gnorm)) != EBM_OK ||
      (st = train_adam_step(s->gen.adam, train_generator_lr(t), step, "the generator's grad_norm", &gen_norm)) != EBM_OK)
    return st;
  t->has_negatives = 1;
  stats->loss = v.loss;
  stats->e_pos = v.e_pos;
  stats->e_neg = v.e_neg;
  stats->grad_norm = gnorm;
  return EBM_OK;
}

static ebm_status gebm_save(const ebm_trainer *t, const void *state, ebm_st_writer *w) {
  (void)t;
  return train_generator_save(&((const gebm_state *)state)->gen, w);
}

static ebm_status gebm_restore(ebm_trainer *t, void *state, const ebm_safetensors *st) {
  (void)t;
  return train_generator_restore(&((gebm_state *)state)->gen, st);
}

static int gebm_parts(const void *state, const ebm_net **nets, const char **names, int max) {
  return train_generator_parts(&((const gebm_state *)state)->gen, nets, names, max);
}

#define ROW(name_, type_, field, metavar_, help_, flags_, def_)                                    \
  {.name = name_, .type = type_, .offset = offsetof(ebm_train_config, field),                      \
   .size = sizeof(((ebm_train_config *)0)->field), .metavar = metavar_, .help = help_,             \
   .flags = flags_, .def = def_}
static const ebm_train_setting gebm_settings[] = {
    ROW("generator", EBM_SETTING_TEXT, generator.arch, "ARCH",
        "gebm, coop, latent-ebm: the generator (preset, JSON or @FILE); default the data's: mlp-generator "
        "for 2-D points, conv-generator for images",
        EBM_SETTING_IDENTITY, ""),
    ROW("latent-dim", EBM_SETTING_INT, generator.latent_dim, "D",
        "gebm, coop, latent-ebm: latent dimension (0: the generator's input size)", EBM_SETTING_IDENTITY, "0"),
    ROW("generator-lr", EBM_SETTING_FLOAT, generator.lr, "LR",
        "gebm, coop, latent-ebm: the generator's Adam learning rate (0: --lr; follows --lr-decay)", 0, "0"),
};
#undef ROW

const train_method train_method_gebm = {
    .name = "gebm",
    .summary = "generalized EBM: energy by KALE, generator by the generalized likelihood (Arbel et al. 2021)",
    .needs = TRAIN_ENERGY_NET,
    .settings = gebm_settings,
    .nsettings = (int)(sizeof gebm_settings / sizeof *gebm_settings),
    .check = train_generator_check,
    .init = gebm_init,
    .step = gebm_step,
    .save = gebm_save,
    .restore = gebm_restore,
    .parts = gebm_parts,
    .free = gebm_free,
};
