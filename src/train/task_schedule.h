/* The task schedule of a continual-learning run, shared by the methods that
 * learn a split data set task by task (method_ebc.c, method_jem.c): which
 * task's items the batcher draws from at each step, the switch at each
 * task boundary (also on --resume, so a resume across a boundary is
 * bit-exact), and the class-incremental accuracy written to metrics.jsonl
 * at each task's end. */
#ifndef EBM_TRAIN_TASK_SCHEDULE_H
#define EBM_TRAIN_TASK_SCHEDULE_H

#include "train/jem.h"
#include "train/method.h"

typedef struct {
  ebm_dataset *split[EBM_TRAIN_MAX_TASKS]; /* the items of each task (continual runs) */
  int tasks;                               /* 1 when not continual */
  int task;                                /* the task the batcher draws from; −1 before the first */
  int per_class;                           /* classes per task */
} task_schedule;

/* The continual settings' bounds (split:K with 1 ≤ K ≤ EBM_TRAIN_MAX_TASKS,
 * iters-per-task ≥ 1), each named. */
ebm_status task_schedule_check(const ebm_jem_config *j);

/* Splits t->ds into cfg.jem.continual_tasks tasks of K / tasks classes (K
 * the network's outputs) and batches from task 0; with continual_tasks 0
 * the run is one task over all classes and the batcher is left alone. */
ebm_status task_schedule_init(task_schedule *s, ebm_trainer *t, int64_t K);
void task_schedule_free(task_schedule *s);

/* The task of the step about to run (after t->step steps), the batcher
 * switched to its items. */
ebm_status task_schedule_begin_step(task_schedule *s, ebm_trainer *t, int *task);

/* The restore hook's part: after a resume, the batcher of the task the
 * saved step trained (the run restores its position next). */
ebm_status task_schedule_restore(task_schedule *s, ebm_trainer *t, const ebm_safetensors *st);

/* After step `step` (1-based) of task k: the held-out class-incremental
 * accuracy (argmax over the classes of tasks 0..k) into stats->accuracy
 * every eval-every steps and at the run's end, and each task's accuracy
 * into stats->task_accuracy at each task's end. Nothing without held-out
 * data. */
ebm_status task_schedule_score(const task_schedule *s, ebm_trainer *t, const jem_eval *eval, int k, int64_t step,
                               ebm_train_stats *stats);

#endif
