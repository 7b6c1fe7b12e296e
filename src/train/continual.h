/* Continual learning with an energy-based classifier (method_ebc.c): the
 * split of a labelled data set into tasks, the contrastive loss of the
 * energy of the pair, and class-incremental accuracy. Separate from the
 * method so each can be checked on fixed inputs (tests/train/test_ebc.c). */
#ifndef EBM_TRAIN_CONTINUAL_H
#define EBM_TRAIN_CONTINUAL_H

#include "ebm.h"

/* split:K of C classes: task k learns classes [k·C/K, (k+1)·C/K) (Du &
 * Mordatch A.7: digits 0 and 1, then 2 and 3, ...). EBM_ERR_ARG naming
 * `spec` unless 1 ≤ K ≤ EBM_TRAIN_MAX_TASKS and K divides C. */
ebm_status continual_check_split(int classes, int tasks, const char *spec);
/* The task that learns class c. */
int continual_task_of_class(int classes, int tasks, int c);
/* The task of the step after `done` steps: min(done / per_task, tasks − 1). */
int continual_task_of_step(int64_t done, int64_t per_task, int tasks);

/* The items of ds in each task, copied in the data's order (out: `tasks`
 * data sets, each freed with ebm_dataset_free; their spec says "<spec>
 * task k"). */
ebm_status continual_split(const ebm_dataset *ds, int tasks, ebm_dataset **out);

/* The energy-based classifier's loss on n rows of K logits f (Li et al.
 * 2020, "Energy-based models for continual learning"), with E(x, y) =
 * −f(x)[y] and negatives the classes [lo, hi) only:
 *   L = mean_i ( E(xᵢ, yᵢ) + log Σ_{c ∈ [lo, hi)} exp(−E(xᵢ, c)) )
 *     + α · mean_i mean_{c < seen} E(xᵢ, c)²
 * — the softmax cross-entropy over [lo, hi) only, so classes of earlier
 * tasks are not pushed up by the current one, and Du & Mordatch's energy
 * regulariser over all classes seen so far (α > 0), which pulls every
 * seen class's energies towards 0 on the current data: the contrast alone
 * fixes only differences within a task, not one task's energies against
 * another's. Labels must be in [lo, hi). dlogits (n×K, overwritten) gets
 * dL/df; work: 2·n·(hi − lo) floats, ywork: n. *e_pos = mean E(xᵢ, yᵢ),
 * *e_neg = mean −log Σ exp(−E(xᵢ, c)) (the contrast is e_pos − e_neg);
 * *correct (may be NULL) counts rows whose argmax over [lo, hi) is the
 * label. Returns L. */
double ebc_loss(const float *f, const int32_t *y, int64_t n, int64_t K, int lo, int hi, int seen, float alpha,
                float *dlogits, float *work, int32_t *ywork, double *e_pos, double *e_neg, int64_t *correct);

/* Class-incremental accuracy after learning tasks 0..seen−1 of m classes
 * each: every one of the first n items of ds whose class is in those
 * tasks is classified by the argmax of its logits over all classes seen,
 * [0, seen·m). per_task[k] (k < seen) gets the accuracy on task k's items
 * (0 when it has none), *mean their mean. logits: (max_batch, K) work. */
ebm_status ebc_task_accuracy(ebm_net *net, const ebm_dataset *ds, int64_t n, float *logits, int m, int seen,
                             double *per_task, double *mean);

#endif
