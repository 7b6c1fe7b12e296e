/* --method jem: a classifier trained as an energy model (Grathwohl et al.
 * 2020, "Your classifier is secretly an energy based model"). The network's
 * K logits f(x) define E(x, y) = −f(x)[y] and E(x) = −logsumexp_y f(x)[y];
 * each step maximises log p(y|x) (cross-entropy on the labelled items) and
 * log p(x) by PCD: SGLD negatives of E(x) from the replay buffer (JEM's
 * defaults: buffer 10 000, 5 % fresh noise, 20 steps of size 1, noise
 * 0.01; --px-batch N of them per step, the batch by default), and optionally log p(x|y) (--pxy) with negatives of E(·, y). The
 * objective itself is jem_loss (jem_loss.c). Two things keep the default
 * recipe from diverging (JEM at lr 1e-3 without them diverged at step 1451
 * on Fashion-MNIST): a linear warm-up of the learning rate over --warmup
 * steps (1000, JEM's --warmup_iters) and IGEBM's energy regulariser
 * --px-alpha·(E(x⁺)² + E(x⁻)²) inside the log p(x) term (0.1); the
 * regulariser only fixes the logits' common offset, which p(y|x) ignores. --labels-fraction (or
 * --labelled N per class) hides the labels of the other items
 * (semi-supervised: they enter log p(x) only); --eval-data scores held-out accuracy every --eval-every steps.
 * --continual split:K learns the classes task by task (the schedule of
 * task_schedule.h): with --pxy 1 --pxy-alpha 1 --px-weight 0 --pyx-weight 0
 * it is Du & Mordatch's continual EBM (A.7), the energy of the pair trained
 * by maximum likelihood with negatives of the current task's labels only. With
 * --px-weight 0 (and no --pxy) it is a plain softmax classifier: the
 * baseline of the same network. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "train/jem.h"
#include "train/task_schedule.h"
#include "train/train_internal.h"

typedef struct {
  jem_work work;
  ebm_sampler *sampler;     /* SGLD on the logits' energy (t->energy) */
  ebm_sample_stats *mcmc;   /* (sgld_steps) */
  float *x_neg_y;           /* (B, item) the log p(x|y) chains */
  int32_t *y_chain;         /* (B) their labels */
  int64_t *slots_y;         /* (B) their buffer slots */
  ebm_dataset view;         /* the training data with hidden labels (labels_fraction < 1, labelled) */
  int32_t *masked;          /* (N) its labels, −1 = hidden */
  jem_eval eval;            /* held-out data (eval_data) */
  task_schedule tasks;      /* --continual: the task of each step (one task otherwise) */
} jem_state;

static void jem_free(void *state) {
  jem_state *s = state;
  if (!s) return;
  jem_work_free(&s->work);
  ebm_sampler_free(s->sampler);
  ebm_free(s->mcmc);
  ebm_free(s->x_neg_y);
  ebm_free(s->y_chain);
  ebm_free(s->slots_y);
  free(s->masked);
  jem_eval_free(&s->eval);
  task_schedule_free(&s->tasks);
  free(s);
}

static ebm_status jem_check(const ebm_train_config *cfg) {
  const ebm_jem_config *j = &cfg->jem;
  if (!(j->px_weight >= 0) || !(j->pyx_weight >= 0) || !(j->pxy_weight >= 0) ||
      j->px_weight + j->pyx_weight + j->pxy_weight <= 0)
    return ebm_set_error(EBM_ERR_ARG, "px-weight, pyx-weight and pxy must be >= 0 and not all 0");
  if (j->sgld_steps < 1) return ebm_set_error(EBM_ERR_ARG, "sgld-steps must be >= 1, got %d", j->sgld_steps);
  if (!(j->sgld_step > 0)) return ebm_set_error(EBM_ERR_ARG, "sgld-step must be > 0, got %g", (double)j->sgld_step);
  if (!(j->sgld_noise >= 0)) return ebm_set_error(EBM_ERR_ARG, "sgld-noise must be >= 0, got %g", (double)j->sgld_noise);
  if (j->px_batch < 0 || j->px_batch > cfg->batch)
    return ebm_set_error(EBM_ERR_ARG, "px-batch must be in [0, batch %lld] (0 = the batch), got %lld",
                         (long long)cfg->batch, (long long)j->px_batch);
  if (!(j->labels_fraction >= 0 && j->labels_fraction <= 1))
    return ebm_set_error(EBM_ERR_ARG, "labels-fraction must be in [0, 1], got %g", (double)j->labels_fraction);
  if (j->warmup < 0) return ebm_set_error(EBM_ERR_ARG, "warmup must be >= 0, got %lld", (long long)j->warmup);
  if (!(j->px_alpha >= 0) || !isfinite(j->px_alpha))
    return ebm_set_error(EBM_ERR_ARG, "px-alpha must be >= 0, got %g", (double)j->px_alpha);
  if (j->eval_every < 1) return ebm_set_error(EBM_ERR_ARG, "eval-every must be >= 1, got %lld", (long long)j->eval_every);
  if (j->eval_items < 1) return ebm_set_error(EBM_ERR_ARG, "eval-items must be >= 1, got %lld", (long long)j->eval_items);
  if (j->labelled < 0) return ebm_set_error(EBM_ERR_ARG, "labelled must be >= 0, got %lld", (long long)j->labelled);
  if (j->labelled > 0 && j->labels_fraction < 1)
    return ebm_set_error(EBM_ERR_ARG, "give labelled (per class) or labels-fraction, not both");
  if (!(j->pxy_alpha >= 0) || !isfinite(j->pxy_alpha))
    return ebm_set_error(EBM_ERR_ARG, "pxy-alpha must be >= 0, got %g", (double)j->pxy_alpha);
  ebm_status st = task_schedule_check(j);
  if (st != EBM_OK) return st;
  if (j->continual_tasks > 0 && (j->labels_fraction < 1 || j->labelled > 0))
    return ebm_set_error(EBM_ERR_ARG, "method jem: continual learning uses every label (drop labels-fraction / labelled)");
  if (cfg->conditional)
    return ebm_set_error(EBM_ERR_ARG, "method jem: the classifier's logits are its classes; leave conditional off");
  return EBM_OK;
}

/* Hides the labels a semi-supervised run does not use (jem_keep_labels:
 * labelled per class drawn by stream 3 of the seed, or the first share
 * labels_fraction of each class) and batches from that view. */
static ebm_status hide_labels(ebm_trainer *t, jem_state *s) {
  const ebm_dataset *ds = t->ds;
  const int64_t N = ds->x->shape[0];
  if (!(s->masked = malloc((size_t)N * sizeof *s->masked)))
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory hiding labels of %s", ds->spec);
  ebm_rng rng = train_method_rng(&t->cfg, 3);
  ebm_status st = jem_keep_labels(ds->labels, N, ds->num_classes, t->cfg.jem.labels_fraction, t->cfg.jem.labelled,
                                  &rng, ds->spec, s->masked);
  if (st != EBM_OK) return st;
  s->view = *ds;
  s->view.labels = s->masked;
  return train_use_data(t, &s->view);
}

static ebm_status jem_init(ebm_trainer *t, void **state) {
  const ebm_jem_config *j = &t->cfg.jem;
  const int64_t B = t->cfg.batch;
  ebm_status st = jem_check_classifier(t->net, t->ds, "jem", "");
  if (st != EBM_OK) return st;
  jem_state *s = calloc(1, sizeof *s);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for method jem");
  *state = s;
  if ((st = jem_work_init(&s->work, B, ebm_net_out_size(t->net))) != EBM_OK) return st;
  if (!(t->energy = ebm_net_as_energy(t->net))) return ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  t->energy->range_lo = t->cfg.range_lo;
  t->energy->range_hi = t->cfg.range_hi;
  /* JEM's SGLD: x ← x + λ·∇ₓ log p(x) + σ·ξ, no gradient clip, clamped to the range */
  ebm_sampler_config sgld = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  sgld.steps = j->sgld_steps;
  sgld.step_size = j->sgld_step;
  sgld.noise = j->sgld_noise;
  sgld.grad_clip = 0;
  if ((st = ebm_sampler_new(t->energy, &sgld, B, &s->sampler)) != EBM_OK) return st;
  t->cfg.sampler = sgld; /* what the checkpoint records: `ebm sample --ckpt` starts from it */
  s->mcmc = ebm_alloc((size_t)j->sgld_steps, sizeof *s->mcmc);
  s->x_neg_y = ebm_alloc((size_t)(B * t->item), sizeof(float));
  s->y_chain = ebm_alloc((size_t)B, sizeof(int32_t));
  s->slots_y = ebm_alloc((size_t)B, sizeof(int64_t));
  if (!s->mcmc || !s->x_neg_y || !s->y_chain || !s->slots_y)
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for method jem");
  if ((j->labels_fraction < 1 || j->labelled > 0) && (st = hide_labels(t, s)) != EBM_OK) return st;
  if ((st = task_schedule_init(&s->tasks, t, ebm_net_out_size(t->net))) != EBM_OK) return st;
  return jem_eval_load(t, &s->eval);
}

/* n chains from the buffer (5 % fresh noise), K SGLD steps on E(x) or, with
 * labels, E(x, y), written back. */
static ebm_status sgld_negatives(ebm_trainer *t, jem_state *s, float *x, const int32_t *y, int64_t n,
                                 int64_t *slots) {
  const ebm_cond cond = ebm_cond_labels(y);
  ebm_status st = ebm_replay_get(t->replay, x, NULL, n, t->cfg.reinit, &t->rng, slots);
  if (st == EBM_OK) st = ebm_sampler_run(s->sampler, x, y ? &cond : NULL, n, &t->rng, s->mcmc, NULL);
  if (st != EBM_OK) return train_divergence(st, t->step + 1, "the SGLD chains' energy is not finite");
  return ebm_replay_put(t->replay, x, NULL, n, slots, &t->rng);
}

static ebm_status jem_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  jem_state *s = state;
  const ebm_train_config *c = &t->cfg;
  const ebm_jem_config *j = &c->jem;
  const int64_t B = c->batch, step = t->step + 1, n_neg = j->px_batch > 0 ? j->px_batch : B;
  const jem_weights w = {j->px_weight, j->pyx_weight, j->pxy_weight, j->px_alpha, j->pxy_alpha};
  int k = 0; /* the task (continual: its items only, so the log p(x|y) chains get its labels only) */
  ebm_status st = task_schedule_begin_step(&s->tasks, t, &k);
  if (st != EBM_OK) return st;

  train_make_positives(t); /* y_data: −1 for a hidden label */
  ebm_net_spectral_update(t->net, c->spectral_iters);
  if (w.px > 0) {
    if ((st = sgld_negatives(t, s, t->x_neg, NULL, n_neg, t->slots)) != EBM_OK) return st;
    t->has_negatives = 1;
  }
  int64_t m = 0; /* the labelled items' labels, packed: one log p(x|y) chain each */
  for (int64_t i = 0; i < B; i++)
    if (t->y_data[i] >= 0) s->y_chain[m++] = t->y_data[i];
  if (w.pxy > 0 && m > 0 && (st = sgld_negatives(t, s, s->x_neg_y, s->y_chain, m, s->slots_y)) != EBM_OK)
    return st;

  jem_values v;
  ebm_net_zero_grad(t->net);
  st = jem_loss(t->net, t->x_pos, t->y_data, w.px > 0 ? t->x_neg : NULL, n_neg, w.pxy > 0 ? s->x_neg_y : NULL, B,
                w, 1, &s->work, &v);
  if (st != EBM_OK) return train_divergence(st, step, "the logits are not finite");
  if (c->inject_nan_at == step) v.e_neg = NAN; /* the divergence test hook */
  if ((st = train_check_finite(v.e_pos, c->max_energy, step, "e_pos")) != EBM_OK ||
      (st = train_check_finite(v.e_neg, c->max_energy, step, "e_neg")) != EBM_OK ||
      (st = train_check_finite(v.loss, 0, step, "loss")) != EBM_OK)
    return st;
  double gnorm = 0;
  const float lr = jem_lr(c, t->step);
  if ((st = train_adam_step(t->adam, lr, step, "grad_norm", &gnorm)) != EBM_OK) return st;

  stats->lr = lr;
  stats->loss = v.loss;
  stats->e_pos = v.e_pos;
  stats->e_neg = v.e_neg;
  stats->grad_norm = gnorm;
  if (w.px > 0 || (w.pxy > 0 && m > 0)) {
    stats->mcmc_energy = s->mcmc[j->sgld_steps - 1].mean_energy;
    stats->mcmc_grad_norm = s->mcmc[j->sgld_steps - 1].grad_norm;
    stats->mcmc_accept = 1;
  }
  if (s->tasks.tasks > 1) { /* class-incremental: the classes seen so far; each task's at its end */
    stats->task = k;
    return task_schedule_score(&s->tasks, t, &s->eval, k, step, stats);
  }
  if (s->eval.ds && (step % j->eval_every == 0 || step == c->iters) &&
      (st = jem_accuracy(t->net, s->eval.ds, s->eval.n, s->eval.logits, &stats->accuracy)) != EBM_OK)
    return train_divergence(st, step, "the held-out logits are not finite");
  return EBM_OK;
}

/* A continual run resumes with the batcher of the task the saved step
 * trained (task_schedule_restore); otherwise nothing to do. */
static ebm_status jem_restore(ebm_trainer *t, void *state, const ebm_safetensors *st) {
  jem_state *s = state;
  return task_schedule_restore(&s->tasks, t, st);
}

/* A row; _SINCE: a setting added after runs were recorded without it, which
 * resume with `legacy_` (ebm_train_setting.legacy). */
#define JEM_ROW_SINCE(name_, type_, field, metavar_, help_, def_, flags_, legacy_)                      \
  {.name = name_, .type = type_, .offset = offsetof(ebm_train_config, jem.field),                       \
   .size = sizeof(((ebm_train_config *)0)->jem.field), .metavar = metavar_, .help = help_, .def = def_, \
   .flags = flags_, .legacy = legacy_}
#define JEM_ROW(name_, type_, field, metavar_, help_, def_, flags_) \
  JEM_ROW_SINCE(name_, type_, field, metavar_, help_, def_, flags_, NULL)
static const ebm_train_setting jem_settings[] = {
    JEM_ROW("px-weight", EBM_SETTING_FLOAT, px_weight, "W", "jem: weight of log p(x) (SGLD negatives; 0 = a softmax classifier)", "1", 0),
    JEM_ROW("pyx-weight", EBM_SETTING_FLOAT, pyx_weight, "W", "jem: weight of the cross-entropy of p(y|x)", "1", 0),
    JEM_ROW("pxy", EBM_SETTING_FLOAT, pxy_weight, "W", "jem: weight of log p(x|y), negatives of E(x, y) = -f(x)[y] (0 = off)", "0", 0),
    JEM_ROW("sgld-steps", EBM_SETTING_INT, sgld_steps, "K", "jem: SGLD steps per training step", "20", 0),
    JEM_ROW("sgld-step", EBM_SETTING_FLOAT, sgld_step, "L", "jem: SGLD step size on grad log p(x)", "1", 0),
    JEM_ROW("sgld-noise", EBM_SETTING_FLOAT, sgld_noise, "S", "jem: SGLD noise sigma", "0.01", 0),
    /* added after JEM runs were recorded without them: those resume with neither (legacy "0") */
    JEM_ROW_SINCE("warmup", EBM_SETTING_INT64, warmup, "N", "jem: ramp the learning rate up linearly over the first N steps (0 = none)", "1000", 0, "0"),
    JEM_ROW_SINCE("px-batch", EBM_SETTING_INT64, px_batch, "N", "jem: SGLD negatives of log p(x) per step (0 = the batch; fewer make a step cheaper)", "0", 0, "0"),
    JEM_ROW_SINCE("px-alpha", EBM_SETTING_FLOAT, px_alpha, "A", "jem: weight of the energy regulariser A*(mean E(x+)^2 + mean E(x-)^2) in the log p(x) term (0 = JEM's plain term)", "0.1", 0, "0"),
    JEM_ROW_SINCE("pxy-alpha", EBM_SETTING_FLOAT, pxy_alpha, "A", "jem: weight of the energy regulariser A*(mean E(x+,y)^2 + mean E(x-,y)^2) in the log p(x|y) term (Du & Mordatch's for a conditional energy)", "0", 0, "0"),
    JEM_ROW("labels-fraction", EBM_SETTING_FLOAT, labels_fraction, "F", "jem: fraction of each class whose labels are used (the rest enter log p(x) only)", "1", EBM_SETTING_IDENTITY),
    JEM_ROW("labelled", EBM_SETTING_INT64, labelled, "N", "jem: keep the labels of N items per class, drawn for the seed (the rest enter log p(x) only; 0 = labels-fraction)", "0", EBM_SETTING_IDENTITY),
    JEM_ROW("eval-data", EBM_SETTING_TEXT, eval_data, "SPEC", "jem, ebc: held-out labelled data for accuracy in metrics.jsonl", "", 0),
    JEM_ROW("eval-every", EBM_SETTING_INT64, eval_every, "N", "jem, ebc: steps between held-out accuracies", "100", 0),
    JEM_ROW("eval-items", EBM_SETTING_INT64, eval_items, "N", "jem, ebc: held-out items scored (the first N)", "1000", 0),
};
#undef JEM_ROW

/* JEM's optimiser, not IGEBM's: Adam with β1 0.9 and no A.12 clip (the JEM
 * code's torch.optim.Adam), at lr 1e-3 — at the trainer's 1e-4 a
 * Fashion-MNIST run was still at chance after 481 steps, at 1e-3 (with the
 * warm-up and --px-alpha) it learns without diverging (README, "JEM"). */
static const train_common_default jem_common_defaults[] = {
    {"lr", "1e-3"},
    {"beta1", "0.9"},
    {"clip-std", "0"},
};

const train_method train_method_jem = {
    .name = "jem",
    .summary = "a classifier as an energy model: CE of p(y|x) + PCD on log p(x) = logsumexp f(x) (JEM)",
    .needs = TRAIN_NEEDS_REPLAY | TRAIN_NEEDS_LABELS,
    .settings = jem_settings,
    .nsettings = (int)(sizeof jem_settings / sizeof *jem_settings),
    .check = jem_check,
    .init = jem_init,
    .step = jem_step,
    .restore = jem_restore,
    .free = jem_free,
    .common_defaults = jem_common_defaults,
    .ncommon_defaults = (int)(sizeof jem_common_defaults / sizeof *jem_common_defaults),
};
