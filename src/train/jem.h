/* JEM's objective (Grathwohl et al. 2020, "Your classifier is secretly an
 * energy based model"), separate from the method (method_jem.c) so it can
 * be checked on fixed batches (tests/train/test_jem.c). */
#ifndef EBM_TRAIN_JEM_H
#define EBM_TRAIN_JEM_H

#include "ebm.h"
#include "ebm/train.h"

typedef struct {
  float px, pyx, pxy; /* the terms' weights; a 0 weight skips its passes */
  float alpha;        /* the energy regulariser inside the px term (0 = none) */
  float alpha_y;      /* the same inside the pxy term (0 = none) */
} jem_weights;

typedef struct {
  double loss;        /* the weighted sum below */
  double xent;        /* mean CE over the labelled items (0 if none) */
  double e_pos;       /* mean E(x⁺) = −mean logsumexp f(x⁺) */
  double e_neg;       /* mean E(x⁻) (0 without negatives) */
  int64_t labelled;   /* items with a label */
  int64_t correct;    /* labelled items whose argmax is their label */
} jem_values;

/* Work arrays for batches of up to n items of K logits. */
typedef struct {
  int64_t n, k;
  float *logits, *dlogits, *dtmp; /* (n, K) */
  float *lab_logits, *lab_dlogits; /* (n, K) the labelled rows, packed */
  float *e, *de;                  /* (n) */
  int32_t *lab_y;                 /* (n) the labelled items' labels, packed */
  int64_t *lab_idx;               /* (n) their rows */
} jem_work;
ebm_status jem_work_init(jem_work *w, int64_t n, int64_t k);
void jem_work_free(jem_work *w);

/* The JEM loss on one batch, the negatives fixed (they are constants of the
 * loss; the gradient flows through the network's outputs only):
 *   L = pyx · mean_{i labelled} CE(f(x⁺ᵢ), yᵢ)                     log p(y|x)
 *     + px  · (mean_i E(x⁺ᵢ) − mean_j E(x⁻ⱼ)                       log p(x)
 *              + α·(mean_i E(x⁺ᵢ)² + mean_j E(x⁻ⱼ)²))              (bounded energies)
 *     + pxy · (mean_{i labelled} (E(x⁺ᵢ, yᵢ) − E(x⁻ʸᵢ, yᵢ))         log p(x|y)
              + α_y·(mean E(x⁺ᵢ, yᵢ)² + mean E(x⁻ʸᵢ, yᵢ)²))
 * with E(x) = −logsumexp_y f(x)[y] and E(x, y) = −f(x)[y]. x_pos: n items,
 * y: their labels (< 0 = unlabelled: only the px term sees the item);
 * x_neg: n_neg SGLD negatives of E(x) (NULL when px = 0; n_neg ≤ n); x_neg_y: one
 * negative of E(·, yᵢ) per labelled item, in order (NULL when pxy = 0).
 * want_grad = 1 ACCUMULATES dL/dθ into the parameters' gradients. One
 * forward pass per batch given. Labels must be in [0, K) or negative. */
ebm_status jem_loss(ebm_net *net, const float *x_pos, const int32_t *y, const float *x_neg,
                    int64_t n_neg, const float *x_neg_y, int64_t n, jem_weights w, int want_grad, jem_work *work,
                    jem_values *v);

/* The learning rate of a jem step after `done` steps: the run's schedule
 * (ebm_train_lr) times the warm-up ramp min(1, (done + 1) / warmup), so the
 * first step already moves (lr / warmup) and step `warmup` is at the full
 * rate (JEM's --warmup_iters; it keeps the first steps, whose SGLD negatives
 * are still noise, from throwing the energies far). warmup 0 = no ramp. */
float jem_lr(const ebm_train_config *cfg, int64_t done);

/* Accuracy of the network's argmax on the first n items of ds (n ≤ its
 * size), in passes of the network's batch; logits: (max_batch, K). */
ebm_status jem_accuracy(ebm_net *net, const ebm_dataset *ds, int64_t n, float *logits, double *accuracy);

/* ------------------------------------------- the data of the classifier methods
 * (jem_data.c: shared by jem and ebc) */

/* The network must be a classifier whose K logits are ds's classes:
 * EBM_ERR_ARG "<what>method <method> needs labels, and <spec> has none" and
 * the like otherwise. */
ebm_status jem_check_classifier(const ebm_net *net, const ebm_dataset *ds, const char *method, const char *what);

/* Held-out labelled data (the eval-data setting) for the trainer's
 * classifier: loaded in the training range, checked against the network,
 * the first eval-items of it scored, with logits work for one network
 * batch. */
typedef struct {
  ebm_dataset *ds; /* NULL when eval-data is "" */
  int64_t n;       /* items scored */
  float *logits;   /* (max_batch, K) */
} jem_eval;
ebm_status jem_eval_load(const ebm_trainer *t, jem_eval *e);
void jem_eval_free(jem_eval *e);

/* Which labels a semi-supervised run keeps, into kept (n; −1 = hidden):
 * per_class > 0 keeps that many items of each class, drawn uniformly
 * without replacement by the stream `rng` (a class with fewer items is
 * EBM_ERR_ARG naming it and `spec`); otherwise the first
 * round(fraction·n_c) items of each class c in the data's order. */
ebm_status jem_keep_labels(const int32_t *labels, int64_t n, int classes, double fraction, int64_t per_class,
                           ebm_rng *rng, const char *spec, int32_t *kept);

#endif
