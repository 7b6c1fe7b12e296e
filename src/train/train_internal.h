/* Internals shared by trainer.c (the step), state.c (save/restore) and
 * run.c (the run directory). */
#ifndef EBM_TRAIN_INTERNAL_H
#define EBM_TRAIN_INTERNAL_H

#include "ebm.h"
#include "ebm/train.h"

struct ebm_trainer {
  ebm_train_config cfg;
  ebm_net *net;              /* borrowed */
  const ebm_dataset *ds;     /* borrowed */
  ebm_energy *energy;        /* the network as an energy, range = cfg range */
  ebm_sampler *sampler;
  ebm_replay *replay;        /* pcd only */
  ebm_batcher *batcher;
  ebm_adam *adam;
  ebm_rng rng;               /* positives' noise, buffer draws, MCMC noise */
  int64_t step;              /* steps done */
  int64_t item;              /* floats per item */
  int has_negatives;
  /* batch-sized work buffers, allocated once */
  float *x_pos, *x_neg;      /* (B, item) */
  int32_t *y_pos, *y_neg;    /* (B); NULL when unconditional */
  ebm_cond cond_pos, cond_neg; /* the conditioning the passes take (labels above) */
  int32_t *y_data;           /* (B) labels from the batcher (−1 if none) */
  int64_t *slots;            /* (B) replay slots */
  float *e_pos, *e_neg, *de_pos, *de_neg, *e_tmp; /* (B) */
  ebm_sample_stats *mcmc;    /* (K) */
};

/* The uint64 ↔ decimal metadata helpers of state.c. */
ebm_status train_meta_u64(const ebm_safetensors *st, const char *key, uint64_t *out);

#endif
