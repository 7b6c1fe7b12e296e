/* Data-parallel training (ebm/dist.h): the global batch of B items is cut
 * into cfg.slices fixed slices of S = B / slices items. Slice s draws every
 * random number from its own stream (the split s of the trainer's stream)
 * and keeps its chains in its own replay store (buffer / slices items), and
 * every pass runs one slice at a time; the per-slice parameter gradients
 * are added in slice order (ebm_dist_sum_slices). So a step's numbers
 * depend on the slicing only, never on how many ranks share the slices:
 * `mpirun -np 2` writes the same bytes as one process with the same
 * slices. With one slice nothing changes: the trainer's own stream and
 * buffer serve it, and no gradient is copied. */
#ifndef EBM_TRAIN_SLICES_H
#define EBM_TRAIN_SLICES_H

#include "ebm.h"

struct ebm_trainer;

typedef struct {
  int64_t count;          /* slices of the global batch (cfg.slices) */
  int64_t size;           /* items per slice */
  int64_t first, end;     /* this rank's slices [first, end) */
  ebm_dist *dist;         /* borrowed; NULL: one process */
  ebm_rng *rng;           /* (count) each slice's stream; count > 1 only */
  ebm_replay **replay;    /* (count) local slices' stores (pcd, count > 1); others NULL */
  float *grads;           /* (count, n_grad) per-slice parameter gradients; count > 1 */
  int64_t n_grad;         /* scalars in all parameter gradients */
  float *mcmc;            /* (count, K × 4) per-slice sampler diagnostics; count > 1 */
  double *icd;            /* (count, 2) per-slice improved-CD terms (kl, entropy); count > 1 with them */
} train_slices;

/* Sets up t->sl for t->cfg.slices slices on `dist` (may be NULL); the
 * trainer's network, rng and config are ready. EBM_ERR_ARG when there are
 * more ranks than slices. */
ebm_status train_slices_init(struct ebm_trainer *t, ebm_dist *dist);
void train_slices_free(train_slices *sl);

/* Slice s's random stream and replay store (the trainer's own with one slice). */
ebm_rng *train_slice_rng(struct ebm_trainer *t, int64_t s);
ebm_replay *train_slice_replay(struct ebm_trainer *t, int64_t s);

/* After slice s's sampler run / parameter passes: keeps its diagnostics
 * (t->mcmc) / gradients (the network's) for the reductions below.
 * Nothing to do with one slice. */
void train_slices_keep_mcmc(struct ebm_trainer *t, int64_t s);
void train_slices_keep_grads(struct ebm_trainer *t, int64_t s);
/* After slice s's improved-CD terms: keeps their values (its part of the
 * batch's means) for train_slices_sum_icd. */
void train_slices_keep_icd(struct ebm_trainer *t, int64_t s, double kl, double entropy);

/* Collectives (every rank calls them, after ebm_dist_agree on the local
 * work): every slice's energies into t->e_pos / t->e_neg and the sampler
 * diagnostics averaged over the slices into t->mcmc; the gradients summed
 * in slice order into the network's. */
ebm_status train_slices_gather_energies(struct ebm_trainer *t);
ebm_status train_slices_reduce_grads(struct ebm_trainer *t);
/* The improved-CD terms of the whole batch into *kl, *entropy: every
 * slice's part summed in slice order (one slice: left as they are). */
ebm_status train_slices_sum_icd(struct ebm_trainer *t, double *kl, double *entropy);

/* The slices' part of the training state (count > 1): each rank writes
 * its slices' streams and stores to "<state without .safetensors>.slice-S.
 * step-N.safetensors" next to the state file (the run directory is shared
 * by the ranks), restore reads those of the restored step, and prune (rank
 * 0, once the state of step N is written) removes other steps' files. */
ebm_status train_slices_save(const struct ebm_trainer *t, const char *state_path);
ebm_status train_slices_restore(struct ebm_trainer *t, const char *state_path);
void train_slices_prune(const struct ebm_trainer *t, const char *state_path);

#endif
