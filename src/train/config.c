/* Training configuration: the IGEBM defaults (Du & Mordatch A.11), the
 * "uva" recipe of bench/torch_reference.py, checks, and the
 * learning-rate schedule. */
#include <math.h>
#include <string.h>

#include "ebm.h"
#include "ebm/train.h"
#include "train/method.h"

#define TRAIN_PI 3.14159265358979323846

const char *ebm_lr_decay_name(ebm_lr_decay decay) {
  switch (decay) {
    case EBM_LR_CONSTANT: return "none";
    case EBM_LR_STEP: return "step";
    case EBM_LR_COSINE: return "cosine";
  }
  return "?";
}

int ebm_lr_decay_from_name(const char *name) {
  if (!name) return -1;
  if (strcmp(name, "none") == 0 || strcmp(name, "constant") == 0) return EBM_LR_CONSTANT;
  if (strcmp(name, "step") == 0) return EBM_LR_STEP;
  if (strcmp(name, "cosine") == 0) return EBM_LR_COSINE;
  return -1;
}

ebm_train_config ebm_train_defaults(void) {
  ebm_train_config c;
  memset(&c, 0, sizeof c);
  c.method = EBM_TRAIN_PCD;
  c.batch = 128;                 /* A.11: 128 positive and 128 negative samples */
  c.iters = 1000;
  c.sampler = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN); /* K 60, λ 10, σ 0.005, clip 0.01 */
  c.sampler.clamp = 1;
  c.buffer_size = 10000;         /* A.11: a replay buffer of 10000 images */
  c.reinit = 0.05f;              /* 5 % fresh uniform noise */
  c.alpha = 1.0f;                /* A.11: "the L2 loss coefficient is set to 1" */
  c.pos_noise = 0.005f;          /* as bench/torch_reference.py: positives + 0.005·N(0, 1) */
  c.range_lo = 0.0f;             /* A.11: images scaled to [0, 1] */
  c.range_hi = 1.0f;
  c.adam = ebm_adam_defaults();  /* lr 1e-4, β (0, 0.999), A.12 3σ clip */
  c.lr_decay = EBM_LR_CONSTANT;
  c.lr_gamma = 0.1f;
  c.lr_step = 0;
  c.lr_min = 0.0f;
  c.spectral_iters = 1;
  c.max_energy = 1e4f;
  c.conditional = 0;
  c.seed = 0;
  c.inject_nan_at = 0;
  c.slices = 1;
  train_apply_setting_defaults(&c); /* the methods' own settings, from their tables */
  return c;
}

ebm_train_config ebm_train_defaults_for(ebm_train_method method) {
  ebm_train_config c = ebm_train_defaults();
  const train_method *m = train_method_at((int)method);
  if (!m) return c;
  c.method = method;
  for (int i = 0; i < m->ncommon_defaults; i++) /* tests/train check that each parses */
    (void)ebm_train_config_set(&c, m->common_defaults[i].name, m->common_defaults[i].value);
  return c;
}

ebm_status ebm_train_preset(const char *name, ebm_train_config *cfg) {
  if (name && strcmp(name, "igebm") == 0) {
    *cfg = ebm_train_defaults();
    return EBM_OK;
  }
  if (name && strcmp(name, "uva") == 0) {
    /* bench/torch_reference.py (the PyTorch MNIST EBM tutorial): buffer 8192, Langevin
     * clip 0.03, α 0.1, data in [−1, 1], clip_grad_norm_(·, 0.1) and plain
     * Adam (no A.12 clip). */
    *cfg = ebm_train_defaults();
    cfg->buffer_size = 8192;
    cfg->sampler.grad_clip = 0.03f;
    cfg->alpha = 0.1f;
    cfg->range_lo = -1.0f;
    cfg->range_hi = 1.0f;
    cfg->adam.clip_norm = 0.1f;
    cfg->adam.clip_std = 0.0f;
    cfg->adam.clip_floor = 0.0f;
    return EBM_OK;
  }
  if (name && strcmp(name, "fresh") == 0) {
    /* The recipe measured best for samples from fresh chains (README, issue
     * 19: uva-cnn on Fashion-MNIST, one thread: FD 108.5 after 4.6
     * CPU-minutes, 14.1 after 58, 6.35 after 112): uva's settings, short-run
     * chains that start from a Gaussian fitted to the data — so the energy
     * learns to finish a blurred garment rather than to remove noise it
     * barely sees — and Adam 5e-4, which at these budgets beat uva's 1e-4. */
    ebm_status st = ebm_train_preset("uva", cfg);
    if (st != EBM_OK) return st;
    cfg->method = EBM_TRAIN_SHORT_RUN;
    cfg->chain_start = EBM_START_GAUSSIAN;
    cfg->adam.lr = 5e-4f;
    return EBM_OK;
  }
  if (name && strcmp(name, "icd") == 0) {
    /* Improved contrastive divergence (Du, Li, Tenenbaum, Mordatch 2021) on
     * the best PCD recipe measured here (uva's settings, Adam 5e-4): the KL
     * term, the nearest-neighbour entropy term and augmented restarts, with
     * IGEBM's random-replacement buffer. At 500 steps on Fashion-MNIST
     * (README, issue 19) the three together gave the best fresh FD (329
     * against 361) and buffer FD (85.3 against 91.6) of the ablation; the
     * reservoir buffer of Du et al. was worse at that length, so it is not
     * part of the preset. */
    ebm_status st = ebm_train_preset("uva", cfg);
    if (st != EBM_OK) return st;
    cfg->adam.lr = 5e-4f;
    cfg->kl_weight = 1.0f;
    cfg->entropy_weight = 0.3f;
    cfg->augment = EBM_AUGMENT_FLIP | EBM_AUGMENT_SHIFT | EBM_AUGMENT_NOISE;
    cfg->buffer_policy = EBM_REPLAY_RANDOM;
    return EBM_OK;
  }
  return ebm_set_error(EBM_ERR_ARG, "unknown training preset '%s' (presets: igebm, uva, fresh, icd)",
                       name ? name : "(null)");
}

static const char *data_recipe(const ebm_dataset *ds, ebm_train_config *cfg) {
  if (ds->x->ndim != 2) {
    const ebm_train_config d = ebm_train_defaults_for(cfg->method);
    cfg->sampler = d.sampler;
    cfg->buffer_size = d.buffer_size;
    cfg->reinit = d.reinit;
    cfg->alpha = d.alpha;
    cfg->pos_noise = d.pos_noise;
    cfg->range_lo = d.range_lo;
    cfg->range_hi = d.range_hi;
    cfg->adam = d.adam;
    cfg->lr_decay = d.lr_decay;
    return "images";
  }
  /* scripts/demo-train.sh's 2-D recipe: IGEBM's λ 10, σ 0.005 are tuned for
   * [0, 1] images; on the toys' [−4, 4]² box ULA with ε 0.05 is a proper
   * sampler, and the energy needs room (α 0.01) and a faster optimiser. */
  cfg->sampler = ebm_sampler_defaults(EBM_SAMPLER_ULA);
  cfg->sampler.steps = 30;
  cfg->sampler.step_size = 0.05f;
  cfg->sampler.clamp = 1;
  cfg->buffer_size = 2000;
  cfg->reinit = 0.05f;
  cfg->alpha = 0.01f;
  cfg->pos_noise = 0.005f;
  cfg->adam = ebm_adam_defaults();
  cfg->adam.lr = 3e-3f;
  cfg->adam.beta1 = 0.9f;
  cfg->adam.clip_std = 0.0f;
  cfg->lr_decay = EBM_LR_COSINE;
  if (strncmp(ds->spec, "toy:", 4) == 0) {
    cfg->range_lo = -4.0f;
    cfg->range_hi = 4.0f;
    return "toy-2d";
  }
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t k = 0, m = ebm_tensor_numel(ds->x); k < m; k++) {
    lo = ds->x->data[k] < lo ? ds->x->data[k] : lo;
    hi = ds->x->data[k] > hi ? ds->x->data[k] : hi;
  }
  const float pad = hi > lo ? 0.1f * (hi - lo) : 1.0f;
  cfg->range_lo = lo - pad;
  cfg->range_hi = hi + pad;
  cfg->sampler.step_size *= (cfg->range_hi - cfg->range_lo) / 8.0f; /* ε in proportion to the toys' box of 8 */
  return "vectors";
}

const char *ebm_train_recipe_for_arch(const ebm_dataset *ds, const char *arch, ebm_train_config *cfg) {
  const char *name = data_recipe(ds, cfg);
  const char *preset = train_preset_recipe(arch, cfg); /* recipe_presets.c */
  if (preset) name = preset;
  const train_method *method = train_method_at((int)cfg->method);
  if (method && method->recipe) method->recipe(ds, cfg);
  return name;
}

const char *ebm_train_recipe_for_data(const ebm_dataset *ds, ebm_train_config *cfg) {
  return ebm_train_recipe_for_arch(ds, NULL, cfg);
}

ebm_status ebm_train_config_check(const ebm_train_config *c) {
  const train_method *method = train_method_at((int)c->method);
  if (!method) return ebm_set_error(EBM_ERR_ARG, "method must be %s", ebm_train_method_list());
  if (c->batch < 1) return ebm_set_error(EBM_ERR_ARG, "batch must be >= 1, got %lld", (long long)c->batch);
  if (c->iters < 0) return ebm_set_error(EBM_ERR_ARG, "iters must be >= 0, got %lld", (long long)c->iters);
  if ((method->needs & TRAIN_NEEDS_REPLAY) && c->buffer_size < c->batch)
    return ebm_set_error(EBM_ERR_ARG, "buffer must hold at least one batch (%lld), got %lld",
                         (long long)c->batch, (long long)c->buffer_size);
  if (!(c->reinit >= 0.0f && c->reinit <= 1.0f))
    return ebm_set_error(EBM_ERR_ARG, "reinit must be in [0, 1], got %g", (double)c->reinit);
  if (!(c->alpha >= 0.0f) || !isfinite(c->alpha))
    return ebm_set_error(EBM_ERR_ARG, "alpha must be >= 0, got %g", (double)c->alpha);
  if (!(c->pos_noise >= 0.0f) || !isfinite(c->pos_noise))
    return ebm_set_error(EBM_ERR_ARG, "pos-noise must be >= 0, got %g", (double)c->pos_noise);
  if (!isfinite(c->range_lo) || !isfinite(c->range_hi) || !(c->range_lo < c->range_hi))
    return ebm_set_error(EBM_ERR_ARG, "range must be lo,hi with lo < hi, got %g,%g",
                         (double)c->range_lo, (double)c->range_hi);
  /* Adam's own bounds, each named by its flag (ebm_adam_new would only
   * refuse them together, after the run directory exists). */
  const ebm_adam_config *a = &c->adam;
  if (!(a->lr > 0.0f) || !isfinite(a->lr)) return ebm_set_error(EBM_ERR_ARG, "lr must be > 0, got %g", (double)a->lr);
  if (!(a->beta1 >= 0.0f && a->beta1 < 1.0f))
    return ebm_set_error(EBM_ERR_ARG, "beta1 must be in [0, 1), got %g", (double)a->beta1);
  if (!(a->beta2 >= 0.0f && a->beta2 < 1.0f))
    return ebm_set_error(EBM_ERR_ARG, "beta2 must be in [0, 1), got %g", (double)a->beta2);
  if (!(a->eps > 0.0f)) return ebm_set_error(EBM_ERR_ARG, "adam eps must be > 0, got %g", (double)a->eps);
  if (!(a->weight_decay >= 0.0f) || !isfinite(a->weight_decay))
    return ebm_set_error(EBM_ERR_ARG, "weight-decay must be >= 0, got %g", (double)a->weight_decay);
  if (!(a->clip_std >= 0.0f) || !isfinite(a->clip_std))
    return ebm_set_error(EBM_ERR_ARG, "clip-std must be >= 0 (0 = off), got %g", (double)a->clip_std);
  if (!(a->clip_floor >= 0.0f) || !isfinite(a->clip_floor))
    return ebm_set_error(EBM_ERR_ARG, "clip-floor must be >= 0, got %g", (double)a->clip_floor);
  if (!(a->clip_norm >= 0.0f) || !isfinite(a->clip_norm))
    return ebm_set_error(EBM_ERR_ARG, "clip-norm must be >= 0 (0 = off), got %g", (double)a->clip_norm);
  if (!(c->lr_gamma > 0.0f) || !isfinite(c->lr_gamma))
    return ebm_set_error(EBM_ERR_ARG, "lr-gamma must be > 0, got %g", (double)c->lr_gamma);
  if (c->lr_step < 0) return ebm_set_error(EBM_ERR_ARG, "lr-step must be >= 0, got %lld", (long long)c->lr_step);
  if (!(c->lr_min >= 0.0f) || !(c->lr_min <= c->adam.lr))
    return ebm_set_error(EBM_ERR_ARG, "lr-min must be in [0, lr], got %g", (double)c->lr_min);
  if (c->lr_decay < EBM_LR_CONSTANT || c->lr_decay > EBM_LR_COSINE)
    return ebm_set_error(EBM_ERR_ARG, "lr-decay must be none, step or cosine");
  if (c->spectral_iters < 0 || c->spectral_iters > 100)
    return ebm_set_error(EBM_ERR_ARG, "spectral-iters must be in 0..100, got %d", c->spectral_iters);
  if (!(c->max_energy > 0.0f))
    return ebm_set_error(EBM_ERR_ARG, "max-energy must be > 0, got %g", (double)c->max_energy);
  if (c->sampler.adapt_steps != 0)
    return ebm_set_error(EBM_ERR_ARG, "sampler step-size adaptation is not used in training "
                         "(its state would not survive a resume)");
  if (c->inject_nan_at < 0)
    return ebm_set_error(EBM_ERR_ARG, "inject_nan_at must be >= 0");
  if (!(c->kl_weight >= 0.0f) || !isfinite(c->kl_weight))
    return ebm_set_error(EBM_ERR_ARG, "kl-weight must be >= 0, got %g", (double)c->kl_weight);
  if (!(c->entropy_weight >= 0.0f) || !isfinite(c->entropy_weight))
    return ebm_set_error(EBM_ERR_ARG, "entropy-weight must be >= 0, got %g", (double)c->entropy_weight);
  if ((c->kl_weight > 0.0f || c->entropy_weight > 0.0f) &&
      ((c->sampler.kind != EBM_SAMPLER_LANGEVIN && c->sampler.kind != EBM_SAMPLER_ULA) || c->sampler.steps < 1))
    return ebm_set_error(EBM_ERR_ARG, "kl-weight and entropy-weight differentiate the sampler's last step: "
                         "they need the langevin or ula sampler with steps >= 1");
  if (c->entropy_weight > 0.0f && c->method != EBM_TRAIN_PCD)
    return ebm_set_error(EBM_ERR_ARG, "entropy-weight compares chains with the replay buffer: it needs method pcd");
  if (c->augment & ~(unsigned)EBM_AUGMENT_ALL)
    return ebm_set_error(EBM_ERR_ARG, "augment has unknown bits %#x", c->augment);
  if (c->data_augment & ~(unsigned)EBM_AUGMENT_ALL)
    return ebm_set_error(EBM_ERR_ARG, "data_augment has unknown bits %#x", c->data_augment);
  if (c->augment && c->method != EBM_TRAIN_PCD)
    return ebm_set_error(EBM_ERR_ARG, "augment transforms chains restarted from the buffer: it needs method pcd");
  if (c->chain_start != EBM_START_UNIFORM && c->chain_start != EBM_START_GAUSSIAN && c->chain_start != EBM_START_MIXTURE &&
      c->chain_start != EBM_START_ITEMS)
    return ebm_set_error(EBM_ERR_ARG, "init must be uniform, gaussian, mixture:K or npy:FILE");
  if (c->chain_start == EBM_START_ITEMS && strncmp(c->start_items, "npy:", 4) != 0)
    return ebm_set_error(EBM_ERR_ARG, "init npy:FILE needs the file (start_items \"%.40s\")", c->start_items);
  if (c->chain_start == EBM_START_MIXTURE &&
      (c->start_components < 1 || c->start_components > EBM_CHAIN_START_MAX_COMPONENTS))
    return ebm_set_error(EBM_ERR_ARG, "init mixture:K needs K in 1..%d, got %d", EBM_CHAIN_START_MAX_COMPONENTS,
                         c->start_components);
  /* recovery's chains start at noisy data in training; the start it takes
   * is that of its sampler's chain of levels, which the checkpoint records */
  if (c->chain_start != EBM_START_UNIFORM && !(method->needs & TRAIN_NEEDS_REPLAY) &&
      c->method != EBM_TRAIN_SHORT_RUN && strcmp(method->name, "recovery") != 0)
    return ebm_set_error(EBM_ERR_ARG, "init gaussian, mixture or npy sets where fresh chains start: it needs a method with a replay "
                         "buffer (pcd, jem), short-run or recovery, not %s", method->name);
  if (c->buffer_policy < 0 || c->buffer_policy >= EBM_REPLAY_POLICY_COUNT)
    return ebm_set_error(EBM_ERR_ARG, "buffer-policy must be random, reservoir or fifo");
  if (c->slices < 1 || c->batch % c->slices != 0)
    return ebm_set_error(EBM_ERR_ARG, "slices must be >= 1 and divide batch %lld, got %lld", (long long)c->batch,
                         (long long)c->slices);
  if (c->slices > 1 && !(method->needs & TRAIN_SLICED))
    return ebm_set_error(EBM_ERR_ARG, "slices must be 1 with method %s (its step does not work slice by slice), "
                         "got %lld", method->name, (long long)c->slices);
  if (c->slices > 1 && (method->needs & TRAIN_NEEDS_REPLAY) && c->buffer_size % c->slices != 0)
    return ebm_set_error(EBM_ERR_ARG, "slices must divide buffer %lld (each slice keeps an equal share), got %lld",
                         (long long)c->buffer_size, (long long)c->slices);
  if (method->check) {
    ebm_status st = method->check(c);
    if (st != EBM_OK) return st;
  }
  return ebm_sampler_config_check(&c->sampler);
}

float ebm_train_lr(const ebm_train_config *c, int64_t done) {
  const double lr = c->adam.lr;
  switch (c->lr_decay) {
    case EBM_LR_CONSTANT: return (float)lr;
    case EBM_LR_STEP: {
      int64_t every = c->lr_step > 0 ? c->lr_step : (c->iters / 3 > 0 ? c->iters / 3 : 1);
      return (float)(lr * pow(c->lr_gamma, (double)(done / every)));
    }
    case EBM_LR_COSINE: {
      if (c->iters <= 0) return (float)lr;
      double t = done < c->iters ? (double)done : (double)c->iters;
      return (float)(c->lr_min + (lr - c->lr_min) * 0.5 * (1.0 + cos(TRAIN_PI * t / (double)c->iters)));
    }
  }
  return (float)lr;
}
