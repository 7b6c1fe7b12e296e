/* A flow trained inside a run (method_flow.c, method_fce.c): the flow of
 * the `flow` setting for the data's items — initialised, or read from a
 * trained flow's checkpoint — one Adam per coupling network, and its share
 * of the state file ("<part>.<name>" for each network part,
 * "flow_adam_<l>") and of the model checkpoint (parts "flow_<l>", metadata
 * "flow" and TRAIN_FLOW_RANGE_META_KEY). */
#ifndef EBM_TRAIN_FLOW_H
#define EBM_TRAIN_FLOW_H

#include "train/train_internal.h"

/* The flow's networks are initialised from this stream of the seed. */
#define TRAIN_FLOW_INIT_STREAM 3
/* The checkpoint's record of the data range the flow was fitted on
 * ("LO,HI"): a density on [0, 1] is no noise for data in [−1, 1], so a run
 * that reads a flow back (--noise-ckpt) refuses one fitted on another range.
 * Checkpoints written before it have no such key and are taken as they are. */
#define TRAIN_FLOW_RANGE_META_KEY "flow_range"

typedef struct {
  ebm_flow *flow;
  ebm_adam **adams;        /* [L] one per coupling network */
  char spec_text[256];     /* metadata "flow" of the checkpoint */
  char range_text[64];     /* metadata TRAIN_FLOW_RANGE_META_KEY */
  int pretrained;          /* read from a checkpoint: no data-dependent init */
} train_flow;

/* The settings' check of both methods: the flow's settings parse, the
 * dequantisation width is >= 0, the run is unconditional. */
ebm_status train_flow_check(const ebm_train_config *cfg);
/* x (n items) += U(0, flow_dequant) noise from the trainer's rng (drawn
 * into t->x_neg, which must be free); nothing when the width is 0. */
void train_flow_dequantise(ebm_trainer *t, float *x, int64_t n);

/* On the first step of a run (t->step 0), Glow's data-dependent actnorm
 * init from the first batch x (ebm_flow_data_init); nothing later, so a
 * resume keeps the saved parameters. */
ebm_status train_flow_first_batch(train_flow *tf, const ebm_trainer *t, const float *x, int64_t n);
/* Builds and initialises the flow for the trainer's data and batch, or,
 * when `from` names a checkpoint (not NULL or ""), reads the trained flow
 * there (train_flow_open), which must have the `flow` setting's layers
 * (EBM_ERR_SHAPE naming both otherwise). On failure, what was made stays
 * in *tf for train_flow_free. */
ebm_status train_flow_init(const ebm_trainer *t, const char *from, train_flow *tf);
/* The flow of checkpoint `path` for batches of up to max_batch items,
 * checked against the trainer's data: its items must have the data's shape
 * (EBM_ERR_SHAPE) and, when the checkpoint records it, its range must be
 * the run's (EBM_ERR_ARG); each error is one line naming the file. */
ebm_status train_flow_open(const ebm_trainer *t, const char *path, int64_t max_batch, ebm_flow **out);
void train_flow_free(train_flow *tf);
/* One Adam step on every coupling at the scheduled rate; *grad_norm gets
 * the norm over all of them. */
ebm_status train_flow_adam_step(train_flow *tf, const ebm_trainer *t, double *grad_norm);
ebm_status train_flow_save(const train_flow *tf, ebm_st_writer *w);
/* Checks every network's arrays before it changes anything. */
ebm_status train_flow_restore(train_flow *tf, const ebm_safetensors *st);
int train_flow_parts(const train_flow *tf, const ebm_net **nets, const char **names, int max);
int train_flow_meta(const train_flow *tf, const char **keys, const char **values, int max);

/* Flow-contrastive estimation's value (method_fce.c) on n data items and n
 * noise items: V = mean log σ(l⁺) + mean log σ(−l⁻), l = −E − c − log q, in
 * double; de_pos/de_neg and *dc get d(−V)/dE and d(−V)/dc (the energy's
 * loss is −V); w_pos = dV/dlog q⁺, and w_neg the flow's weights on
 * ∇α log q(x̃): (h − mean h)/n (score function, h = log σ(−l⁻)) + dV/dlog q⁻. */
double train_fce_value(const float *e_pos, const float *lq_pos, const float *e_neg, const float *lq_neg, int64_t n,
                       double c, float *de_pos, float *de_neg, double *dc, float *w_pos, float *w_neg);

#endif
