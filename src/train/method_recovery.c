/* Diffusion recovery likelihood (Gao, Song, Poole, Wu, Kingma, ICLR 2021;
 * the model and its sampler are in src/sample/recovery.c). Each step:
 *   1. x_0 = a data batch; per item a level t uniform in 0..T−1;
 *      x_t = x_0 + σ̄_t·ε (σ̄_t² = Σ_{k≤t} s_k², the noising chain's
 *      marginal) and x_{t+1} = x_t + s_{t+1}·ε';
 *   2. negatives: K Langevin steps (the sampler's `steps`) on
 *      p(x_t | x_{t+1}) started at x_{t+1} (ebm_recovery_conditional, step
 *      b·s_{t+1}², b = recovery-step);
 *   3. the MCMC methods' contrastive loss E(x_t⁺) − E(x_t⁻) + α(E⁺² + E⁻²)
 *      with E = E(·, σ = s_{t+1}) (train_contrastive_passes), one Adam step.
 * The quadratic term of the conditional does not depend on θ, so the
 * gradient of the conditional log-likelihood is the energy's alone.
 * With T = 1 and a network that takes no noise level, E is the data's
 * energy itself (the level-0 marginal is the network): what `ebm eval nll`
 * scores. With T > 1 the network must take σ (a cond_affine layer with
 * "sigma"); E(x, s_1) is then the level-0 energy. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/recovery_meta.h"
#include "train/train_internal.h"

typedef struct {
  float *y;           /* (B, D) x_{t+1}, where each chain starts */
  float *s;           /* (B) s_{t+1}: the conditional's width and the energy's σ */
  float *grad, *z;    /* (B, D) Langevin work */
  float *e;           /* (B) */
  double *cum_var;    /* (T + 1) σ̄_t² */
  char schedule[256]; /* the checkpoint's EBM_RECOVERY_META_KEY: what `ebm sample` reads */
} recovery_state;

static void recovery_free(void *state) {
  recovery_state *s = state;
  if (!s) return;
  ebm_free(s->y);
  ebm_free(s->s);
  ebm_free(s->grad);
  ebm_free(s->z);
  ebm_free(s->e);
  free(s->cum_var);
  free(s);
}

/* The sampler's view of the run's settings. */
static ebm_recovery_config recovery_config(const ebm_train_config *cfg) {
  const ebm_noise_config *nc = &cfg->noise_levels;
  ebm_recovery_config r = {.levels = nc->levels, .sigma_min = nc->sigma_min, .sigma_max = nc->sigma_max,
                           .steps = cfg->sampler.steps, .step = nc->recovery_step, .range_lo = cfg->range_lo,
                           .range_hi = cfg->range_hi};
  return r;
}

static ebm_status recovery_check(const ebm_train_config *cfg) {
  ebm_recovery_config r = recovery_config(cfg);
  ebm_status st = ebm_recovery_config_check(&r);
  if (st == EBM_OK) st = train_check_noise_schedule(cfg);
  return st;
}

static ebm_status recovery_init(ebm_trainer *t, void **state) {
  ebm_status st = train_mcmc_check_data(t);
  if (st != EBM_OK) return st;
  const ebm_recovery_config r = recovery_config(&t->cfg);
  if (r.levels > 1 && !ebm_net_needs_sigma(t->net))
    return ebm_set_error(EBM_ERR_ARG, "recovery with %d levels needs a network that takes the noise level "
                         "(a cond_affine layer with \"sigma\": true)", r.levels);
  const int64_t B = t->cfg.batch, D = t->item;
  recovery_state *s = calloc(1, sizeof *s);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for the recovery state");
  *state = s;
  s->y = ebm_alloc((size_t)(B * D), sizeof(float));
  s->s = ebm_alloc((size_t)B, sizeof(float));
  s->grad = ebm_alloc((size_t)(B * D), sizeof(float));
  s->z = ebm_alloc((size_t)(B * D), sizeof(float));
  s->e = ebm_alloc((size_t)B, sizeof(float));
  s->cum_var = calloc((size_t)r.levels + 1, sizeof *s->cum_var);
  if (!s->y || !s->s || !s->grad || !s->z || !s->e || !s->cum_var)
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a recovery batch");
  for (int k = 1; k <= r.levels; k++) {
    const double sk = ebm_recovery_sigma(&r, k);
    s->cum_var[k] = s->cum_var[k - 1] + sk * sk;
  }
  if (ebm_net_needs_sigma(t->net)) t->cond_pos.sigma = t->cond_neg.sigma = s->s;
  ebm_recovery_config_format(&r, s->schedule, sizeof s->schedule);
  return EBM_OK;
}

static int recovery_meta(const void *state, const char **keys, const char **values, int max) {
  if (max < 1) return 0;
  keys[0] = EBM_RECOVERY_META_KEY;
  values[0] = ((const recovery_state *)state)->schedule;
  return 1;
}

static ebm_status recovery_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  recovery_state *s = state;
  const ebm_train_config *c = &t->cfg;
  const ebm_recovery_config r = recovery_config(c);
  const int64_t B = c->batch, D = t->item, step = t->step + 1;
  ebm_status st;

  train_next_data(t);
  ebm_rng_normal(&t->rng, t->x_neg, B * D, 0.0f, 1.0f); /* ε, ε' (x_neg is free until the chains start) */
  ebm_rng_normal(&t->rng, s->z, B * D, 0.0f, 1.0f);
  for (int64_t i = 0; i < B; i++) {
    const int level = r.levels > 1 ? (int)ebm_rng_below(&t->rng, (uint32_t)r.levels) : 0;
    const float spread = (float)sqrt(s->cum_var[level]);
    s->s[i] = ebm_recovery_sigma(&r, level + 1);
    for (int64_t k = i * D; k < (i + 1) * D; k++) {
      t->x_pos[k] += spread * t->x_neg[k];
      s->y[k] = t->x_pos[k] + s->s[i] * s->z[k];
    }
  }
  ebm_net_spectral_update(t->net, c->spectral_iters);
  memcpy(t->x_neg, s->y, (size_t)(B * D) * sizeof(float));
  st = ebm_recovery_conditional(t->energy, s->y, s->s, B, r.steps, r.step, &t->rng, t->x_neg, s->e, s->grad, s->z);
  if (st != EBM_OK) return train_divergence(st, step, "the energy along the recovery chains is not finite");
  t->has_negatives = 1;
  double e_pos = 0, e_neg = 0, loss = 0;
  if ((st = train_contrastive_passes(t, 0, B, step, NULL)) != EBM_OK ||
      (st = train_contrastive_check(t, step, &e_pos, &e_neg, &loss)) != EBM_OK)
    return st;
  double gnorm = 0;
  if ((st = train_adam_step(t->adam, ebm_train_lr(c, t->step), step, "grad_norm", &gnorm)) != EBM_OK) return st;
  stats->loss = loss;
  stats->e_pos = e_pos;
  stats->e_neg = e_neg;
  stats->grad_norm = gnorm;
  return EBM_OK;
}

static const ebm_train_setting recovery_settings[] = {
    {.name = "recovery-step", .type = EBM_SETTING_FLOAT,
     .offset = offsetof(ebm_train_config, noise_levels.recovery_step), .size = sizeof(float), .metavar = "B",
     .help = "recovery: Langevin step size as a fraction of s² (the level's noise variance)", .def = "0.1"},
};

const train_method train_method_recovery = {
    .name = "recovery",
    .summary = "diffusion recovery likelihood: short Langevin on p(x_t | x_t+1) at each noise level",
    .needs = TRAIN_ENERGY_NET,
    .settings = recovery_settings,
    .nsettings = (int)(sizeof recovery_settings / sizeof *recovery_settings),
    .check = recovery_check,
    .init = recovery_init,
    .step = recovery_step,
    .meta = recovery_meta,
    .free = recovery_free,
};
