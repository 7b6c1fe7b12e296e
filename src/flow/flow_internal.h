/* The flow's struct, shared by flow.c (building), flow_passes.c (the
 * passes) and flow_io.c (checkpoints, the energy view). */
#ifndef EBM_FLOW_INTERNAL_H
#define EBM_FLOW_INTERNAL_H

#include "ebm.h"

#define FLOW_MAX_COUPLINGS 64
#define FLOW_PART_NAME_SIZE 16

struct ebm_flow {
  ebm_flow_spec spec;
  int item_ndim;
  int64_t item_shape[3];
  int64_t item;                /* D: floats per item */
  int64_t max_batch;
  int ncouplings;
  ebm_net **nets;              /* [L] the s, t networks: item → 2·item */
  float **masks;               /* [L][D] b of each coupling (1 = kept) */
  char (*part_names)[FLOW_PART_NAME_SIZE]; /* [L] "flow_<l>" */
  /* what backward needs from the last forward */
  int64_t n;                   /* items of the last forward (0: none) */
  float **h;                   /* [L + 1][max_batch · D]: h[0] = x, h[L] = z */
  float **r;                   /* [L][max_batch · 2D]: the networks' raw outputs */
  float **masked;              /* [L][max_batch · D] b ⊙ h: each network's input, which it
                                  borrows until its backward */
  float *g, *dmasked;          /* [max_batch · D] backward work */
  float *dr;                   /* [max_batch · 2D] */
  float *ld, *w;               /* [max_batch] */
};

/* Builds a flow around given networks (owned by the flow from here on,
 * freed on failure too): nets[l] must take items of item_shape and give
 * 2 × item values. */
ebm_status flow_build(const ebm_flow_spec *spec, int item_ndim, const int64_t *item_shape, int64_t max_batch,
                      ebm_net **nets, ebm_flow **out);

#endif
