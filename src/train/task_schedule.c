/* The task schedule of continual learning (task_schedule.h). */
#include <string.h>

#include "train/continual.h"
#include "train/task_schedule.h"
#include "train/train_internal.h"

static ebm_status use_task(task_schedule *s, ebm_trainer *t, int k) {
  if (s->tasks == 1 || k == s->task) return EBM_OK;
  ebm_status st = train_use_data(t, s->split[k]);
  if (st == EBM_OK) s->task = k;
  return st;
}

ebm_status task_schedule_check(const ebm_jem_config *j) {
  if (j->continual_tasks < 0 || j->continual_tasks > EBM_TRAIN_MAX_TASKS)
    return ebm_set_error(EBM_ERR_ARG, "continual split:K needs 1 <= K <= %d, got %d", EBM_TRAIN_MAX_TASKS,
                         j->continual_tasks);
  if (j->iters_per_task < 1)
    return ebm_set_error(EBM_ERR_ARG, "iters-per-task must be >= 1, got %lld", (long long)j->iters_per_task);
  return EBM_OK;
}

ebm_status task_schedule_init(task_schedule *s, ebm_trainer *t, int64_t K) {
  const int tasks = t->cfg.jem.continual_tasks;
  memset(s, 0, sizeof *s);
  s->tasks = tasks > 0 ? tasks : 1;
  s->per_class = (int)K / s->tasks;
  s->task = -1;
  if (tasks == 0) return EBM_OK;
  ebm_status st = continual_split(t->ds, s->tasks, s->split);
  return st == EBM_OK ? use_task(s, t, 0) : st;
}

void task_schedule_free(task_schedule *s) {
  for (int k = 0; k < EBM_TRAIN_MAX_TASKS; k++) ebm_dataset_free(s->split[k]);
  memset(s, 0, sizeof *s);
}

ebm_status task_schedule_begin_step(task_schedule *s, ebm_trainer *t, int *task) {
  *task = continual_task_of_step(t->step, t->cfg.jem.iters_per_task, s->tasks);
  return use_task(s, t, *task);
}

ebm_status task_schedule_restore(task_schedule *s, ebm_trainer *t, const ebm_safetensors *st) {
  uint64_t done = 0;
  if (s->tasks == 1) return EBM_OK;
  ebm_status status = train_meta_u64(st, "step", &done);
  if (status != EBM_OK) return status;
  const int64_t last = done > 0 ? (int64_t)done - 1 : 0;
  return use_task(s, t, continual_task_of_step(last, t->cfg.jem.iters_per_task, s->tasks));
}

ebm_status task_schedule_score(const task_schedule *s, ebm_trainer *t, const jem_eval *eval, int k, int64_t step,
                               ebm_train_stats *stats) {
  const ebm_jem_config *j = &t->cfg.jem;
  const int task_end = s->tasks > 1 && ((step % j->iters_per_task == 0 && step / j->iters_per_task <= s->tasks) ||
                                        step == t->cfg.iters);
  if (!eval->ds || !(task_end || step % j->eval_every == 0 || step == t->cfg.iters)) return EBM_OK;
  double per_task[EBM_TRAIN_MAX_TASKS];
  ebm_status st =
      ebc_task_accuracy(t->net, eval->ds, eval->n, eval->logits, s->per_class, k + 1, per_task, &stats->accuracy);
  if (st != EBM_OK) return train_divergence(st, step, "the held-out logits are not finite");
  if (task_end) {
    stats->tasks_scored = k + 1;
    memcpy(stats->task_accuracy, per_task, (size_t)(k + 1) * sizeof *per_task);
  }
  return EBM_OK;
}
