/* eval/classifier_internal.h — the classifier's struct and passes, shared
 * by classifier.c (network, checkpoints) and classifier_train.c (loss,
 * Adam, training, accuracy). Not public. */
#ifndef EBM_CLASSIFIER_INTERNAL_H
#define EBM_CLASSIFIER_INTERNAL_H

#include "ebm/eval.h"
#include "ops/ops.h"

#define CLF_NPARAMS 8

typedef struct {
  const char *name;       /* PyTorch name: "conv1.weight" */
  int ndim;
  int64_t shape[4];
  int64_t offset;         /* into params / grads / adam_m / adam_v */
} clf_param;

struct ebm_classifier {
  ebm_classifier_arch arch;
  int64_t max_batch;
  int64_t flat;           /* 2w·(H/4)·(W/4) */
  clf_param p[CLF_NPARAMS];
  int64_t nparams;        /* floats in params (tensors padded to 16) */
  float *params, *grads, *adam_m, *adam_v;
  int64_t adam_t;
  ebm_conv2d_shape cs1, cs2;
  /* per-item offsets of each activation; layer L's block is act + max_batch·off_L */
  int64_t off_c1_pre, off_c1, off_p1, off_c2_pre, off_c2, off_p2, off_f1_pre, off_f1, off_logits, act_item;
  float *act;
  float *d_a, *d_b;       /* backward ping-pong [max_batch × largest activation] */
  float *ws;              /* conv workspace */
};

/* Forward of n ≤ max_batch items (fills every activation). */
void clf_forward(ebm_classifier *c, const float *x, int64_t n);
/* Logits (n, K) and features (n, F) of the last forward. */
float *clf_logits(ebm_classifier *c);
float *clf_features(ebm_classifier *c);
/* Accumulates dL/dθ into grads from dL/dlogits of the last forward on x. */
void clf_backward(ebm_classifier *c, const float *x, int64_t n, const float *dlogits);

#endif
