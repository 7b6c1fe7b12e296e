/* The replay buffer's layout, shared by replay.c (get/put) and replay_io.c
 * (save/restore). Not public. */
#ifndef EBM_SAMPLE_REPLAY_INTERNAL_H
#define EBM_SAMPLE_REPLAY_INTERNAL_H

#include "ebm/sample.h"

struct ebm_replay {
  int64_t capacity;       /* total, as given to ebm_replay_new */
  int num_classes;        /* 0 = one unconditional store */
  int nbuf;               /* stores: num_classes, or 1 */
  int64_t slots;          /* per store: capacity / nbuf */
  int item_ndim;
  int64_t item_shape[3];
  int64_t item_size;      /* floats per item */
  float lo, hi;           /* fresh items lie in [lo, hi] */
  const ebm_energy *start; /* fresh items: NULL uniform, else this Gaussian (borrowed) */
  ebm_energy *const *class_starts; /* or NULL; else store b's fresh items from [b] when not NULL (borrowed) */
  ebm_replay_policy policy;
  int64_t *size;          /* items stored, per store */
  int64_t *seen;          /* items offered as new, per store (reservoir) */
  int64_t *next;          /* the oldest slot once full, per store (fifo) */
  float *data;            /* nbuf × slots × item_size */
};

/* The item in `slot` of store b. */
float *replay_slot(const ebm_replay *rb, int b, int64_t slot);

#endif
