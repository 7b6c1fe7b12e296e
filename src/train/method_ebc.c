/* --method ebc: an energy-based classifier (Li et al. 2020, "Energy-based
 * models for continual learning"; Du & Mordatch A.7). The network's K
 * logits give the energy of the pair, E(x, y) = −f(x)[y]; each step lowers
 * E(x, y) of the data and raises the energies of the negative classes,
 * L = E(x, y) + log Σ_c exp(−E(x, c)) (continual.h: ebc_loss). With
 * --continual split:K the classes are learned as K tasks, one after
 * another (--iters-per-task steps each), and the negatives are the current
 * task's classes only (--ebc-negatives task): new classes then do not push
 * the old ones' energies up, which is what a softmax over all outputs
 * (--ebc-negatives all, the baseline of the same network) does and why it
 * forgets. At the end of each task metrics.jsonl gets the held-out
 * accuracy on every task seen (class-incremental: the argmax over all
 * classes seen). The task follows from the step, so a resume across a
 * task boundary is bit-exact. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/continual.h"
#include "train/jem.h"
#include "train/task_schedule.h"
#include "train/train_internal.h"

typedef struct {
  task_schedule tasks;      /* the task of each step (one task when not continual) */
  float *logits, *dlogits;  /* (B, K) */
  float *work;              /* (2B, K) ebc_loss's packed rows */
  int32_t *ywork;           /* (B) */
  jem_eval eval;
} ebc_state;

static void ebc_free(void *state) {
  ebc_state *s = state;
  if (!s) return;
  task_schedule_free(&s->tasks);
  ebm_free(s->logits);
  ebm_free(s->dlogits);
  ebm_free(s->work);
  ebm_free(s->ywork);
  jem_eval_free(&s->eval);
  free(s);
}

static ebm_status ebc_check(const ebm_train_config *cfg) {
  const ebm_jem_config *j = &cfg->jem;
  ebm_status st = task_schedule_check(j);
  if (st != EBM_OK) return st;
  if (!(j->ebc_alpha >= 0)) return ebm_set_error(EBM_ERR_ARG, "ebc-alpha must be >= 0, got %g", (double)j->ebc_alpha);
  if (j->eval_every < 1) return ebm_set_error(EBM_ERR_ARG, "eval-every must be >= 1, got %lld", (long long)j->eval_every);
  if (j->eval_items < 1) return ebm_set_error(EBM_ERR_ARG, "eval-items must be >= 1, got %lld", (long long)j->eval_items);
  if (cfg->conditional)
    return ebm_set_error(EBM_ERR_ARG, "method ebc: the classifier's logits are its classes; leave conditional off");
  return EBM_OK;
}

static ebm_status ebc_init(ebm_trainer *t, void **state) {
  const int64_t B = t->cfg.batch, K = ebm_net_out_size(t->net);
  ebm_status st = jem_check_classifier(t->net, t->ds, "ebc", "");
  if (st != EBM_OK) return st;
  ebc_state *s = calloc(1, sizeof *s);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for method ebc");
  *state = s;
  s->logits = ebm_alloc((size_t)(B * K), sizeof(float));
  s->dlogits = ebm_alloc((size_t)(B * K), sizeof(float));
  s->work = ebm_alloc((size_t)(2 * B * K), sizeof(float));
  s->ywork = ebm_alloc((size_t)B, sizeof(int32_t));
  if (!s->logits || !s->dlogits || !s->work || !s->ywork)
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for method ebc");
  if ((st = task_schedule_init(&s->tasks, t, K)) != EBM_OK) return st;
  return jem_eval_load(t, &s->eval);
}

/* The classes the loss contrasts task k's labels with: [*lo, *hi). */
static void negative_classes(const task_schedule *s, int mode, int k, int *lo, int *hi) {
  *lo = mode == EBM_EBC_TASK ? k * s->per_class : 0;
  *hi = mode == EBM_EBC_ALL ? s->per_class * s->tasks : (k + 1) * s->per_class;
}

static ebm_status ebc_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  ebc_state *s = state;
  const ebm_train_config *c = &t->cfg;
  const ebm_jem_config *j = &c->jem;
  const int64_t B = c->batch, K = ebm_net_out_size(t->net), step = t->step + 1;
  int k = 0;
  ebm_status st = task_schedule_begin_step(&s->tasks, t, &k);
  if (st != EBM_OK) return st;

  train_make_positives(t);
  ebm_net_spectral_update(t->net, c->spectral_iters);
  if ((st = ebm_net_forward(t->net, t->x_pos, NULL, B, s->logits)) != EBM_OK)
    return train_divergence(st, step, "the logits are not finite");
  int lo, hi;
  negative_classes(&s->tasks, j->ebc_negatives, k, &lo, &hi);
  double e_pos = 0, e_neg = 0;
  double loss = ebc_loss(s->logits, t->y_data, B, K, lo, hi, (k + 1) * s->tasks.per_class, j->ebc_alpha, s->dlogits,
                         s->work, s->ywork, &e_pos, &e_neg, NULL);
  if (c->inject_nan_at == step) loss = NAN; /* the divergence test hook */
  if ((st = train_check_finite(e_pos, c->max_energy, step, "e_pos")) != EBM_OK ||
      (st = train_check_finite(e_neg, c->max_energy, step, "e_neg")) != EBM_OK ||
      (st = train_check_finite(loss, 0, step, "loss")) != EBM_OK)
    return st;
  ebm_net_zero_grad(t->net);
  if ((st = ebm_net_backward(t->net, s->dlogits, NULL, 1)) != EBM_OK)
    return train_divergence(st, step, "the gradient is not finite");
  double gnorm = 0;
  if ((st = train_adam_step(t->adam, ebm_train_lr(c, t->step), step, "grad_norm", &gnorm)) != EBM_OK) return st;
  stats->loss = loss;
  stats->e_pos = e_pos;
  stats->e_neg = e_neg;
  stats->grad_norm = gnorm;
  stats->task = k;

  /* held-out accuracy over the classes seen; per task at each task's end */
  return task_schedule_score(&s->tasks, t, &s->eval, k, step, stats);
}

/* A resume continues with the batcher of the task the saved step trained,
 * so the next step switches tasks exactly where the uninterrupted run did. */
static ebm_status ebc_restore(ebm_trainer *t, void *state, const ebm_safetensors *st) {
  ebc_state *s = state;
  return task_schedule_restore(&s->tasks, t, st);
}

/* ---------------------------------------------------------------- settings */

static ebm_status parse_continual(ebm_train_config *c, const char *v) {
  char *end = NULL;
  if (strcmp(v, "none") == 0) {
    c->jem.continual_tasks = 0;
    return EBM_OK;
  }
  long k = strncmp(v, "split:", 6) == 0 ? strtol(v + 6, &end, 10) : 0;
  if (!end || end == v + 6 || *end || k < 1 || k > EBM_TRAIN_MAX_TASKS)
    return ebm_set_error(EBM_ERR_ARG, "continual expects none or split:K with 1 <= K <= %d, got '%s'",
                         EBM_TRAIN_MAX_TASKS, v);
  c->jem.continual_tasks = (int)k;
  return EBM_OK;
}
static void format_continual(const ebm_train_config *c, char *buf, size_t size) {
  if (c->jem.continual_tasks > 0) snprintf(buf, size, "split:%d", c->jem.continual_tasks);
  else snprintf(buf, size, "none");
}

static const char *const negatives_names[] = {"task", "seen", "all"};
static ebm_status parse_negatives(ebm_train_config *c, const char *v) {
  for (int i = 0; i < 3; i++)
    if (strcmp(v, negatives_names[i]) == 0) {
      c->jem.ebc_negatives = i;
      return EBM_OK;
    }
  return ebm_set_error(EBM_ERR_ARG, "ebc-negatives must be task, seen or all, got '%s'", v);
}
static void format_negatives(const ebm_train_config *c, char *buf, size_t size) {
  const int i = c->jem.ebc_negatives;
  snprintf(buf, size, "%s", i >= 0 && i < 3 ? negatives_names[i] : "?");
}

static const ebm_train_setting ebc_settings[] = {
    {.name = "continual", .type = EBM_SETTING_SPECIAL, .metavar = "SPLIT",
     .help = "ebc, jem: none | split:K (the classes in K tasks of classes/K, learned one after another)",
     .flags = EBM_SETTING_IDENTITY, .parse = parse_continual, .format = format_continual, .def = "none"},
    {.name = "iters-per-task", .type = EBM_SETTING_INT64, .offset = offsetof(ebm_train_config, jem.iters_per_task),
     .size = sizeof(int64_t), .metavar = "N", .help = "ebc, jem: training steps on each task (the last task keeps the rest)",
     .flags = EBM_SETTING_IDENTITY, .def = "1000"},
    {.name = "ebc-alpha", .type = EBM_SETTING_FLOAT, .offset = offsetof(ebm_train_config, jem.ebc_alpha),
     .size = sizeof(float), .metavar = "A", .help = "ebc: weight of the energy regulariser mean E(x, c)^2 over the classes seen so far",
     .def = "0"},
    {.name = "ebc-negatives", .type = EBM_SETTING_SPECIAL, .metavar = "C",
     .help = "ebc: classes the loss contrasts with: task (the current task's) | seen | all (softmax: the baseline)",
     .flags = EBM_SETTING_IDENTITY, .parse = parse_negatives, .format = format_negatives, .def = "task"},
};

const train_method train_method_ebc = {
    .name = "ebc",
    .summary = "an energy-based classifier E(x, y) = -f(x)[y]; --continual split:K learns the classes task by task",
    .needs = TRAIN_NEEDS_LABELS,
    .settings = ebc_settings,
    .nsettings = (int)(sizeof ebc_settings / sizeof *ebc_settings),
    .check = ebc_check,
    .init = ebc_init,
    .step = ebc_step,
    .restore = ebc_restore,
    .free = ebc_free,
};
