/* eval/classifier_internal.h — the classifier wrapper's struct, shared by
 * classifier.c (network, checkpoints) and classifier_train.c (training,
 * accuracy). Not public. */
#ifndef EBM_CLASSIFIER_INTERNAL_H
#define EBM_CLASSIFIER_INTERNAL_H

#include "ebm/eval.h"

struct ebm_classifier {
  ebm_net *net;            /* input C×H×W → … → features (layer feature_layer) → K logits */
  ebm_classifier_arch arch;
  int feature_layer;       /* the penultimate layer */
};

/* A forward pass of n ≤ max_batch items; *logits points at the network's
 * output (n × K; valid until the next pass). */
ebm_status classifier_pass(ebm_classifier *c, const float *x, int64_t n, const float **logits);

#endif
