/* Internals shared by trainer.c (the step), state.c (save/restore) and
 * run.c (the run directory). */
#ifndef EBM_TRAIN_INTERNAL_H
#define EBM_TRAIN_INTERNAL_H

#include "ebm.h"
#include "ebm/train.h"
#include "train/method.h"

struct ebm_trainer {
  ebm_train_config cfg;
  const train_method *method; /* the estimator (method.h) */
  void *method_state;        /* its own state (NULL for the MCMC methods) */
  ebm_net *net;              /* borrowed */
  const ebm_dataset *ds;     /* borrowed */
  ebm_energy *energy;        /* what the sampler runs on (TRAIN_ENERGY_NET: the network), range = cfg range */
  ebm_sampler *sampler;      /* TRAIN_NEEDS_SAMPLER */
  ebm_replay *replay;        /* TRAIN_NEEDS_REPLAY */
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
  float *aug_tmp;            /* (item) augmentation scratch */
  /* improved CD (icd.c), allocated when kl_weight or entropy_weight > 0 */
  float *icd_grad;           /* (B, item) ∇ₓE at the negatives */
  float *icd_v, *icd_u, *icd_x; /* (B, item) dL/dx_K, its live part, x ± h·u */
  float *icd_refs;           /* (refs, item) buffer items the entropy term compares with */
  int32_t *icd_ref_labels;   /* (refs) their stores; NULL when unconditional */
  int64_t icd_n_refs;        /* 0 when the entropy term is off */
};

/* Buffer items the entropy term compares each chain with (Du et al.'s 100). */
#define TRAIN_ENTROPY_REFS 100
/* The central difference of icd.c steps h = this × (range_hi − range_lo)
 * along the largest per-chain direction (tests/train/test_icd.c). */
#define TRAIN_ICD_FD_STEP 1e-2
/* δ of the entropy term, × (range_hi − range_lo). */
#define TRAIN_ENTROPY_DELTA 1e-3f

/* The two improved-CD losses on the final chains x_K (n items of dim):
 *   kl       = kl_weight · mean_i E(x_K,i)            (e_k = E, grad_k = ∇ₓE at x_K)
 *   entropy  = −entropy_weight · mean_i ½·log(min_j ‖x_K,i − r_j‖² + δ²)
 * (r: n_refs items; n_refs = 0 turns the term off) and their gradient
 * v = dL/dx_K (n×dim, overwritten). */
typedef struct {
  double kl, entropy;
} train_icd_values;
void train_icd_terms(const float *x_k, const float *e_k, const float *grad_k, int64_t n, int64_t dim,
                     float kl_weight, float entropy_weight, const float *refs, int64_t n_refs,
                     float delta, train_icd_values *values, float *v);

/* Accumulates Σ_i v_iᵀ·∂x_K,i/∂θ into the network's parameter gradients,
 * x_K the result of the sampler step `ls` (x_k: what it returned; cond: the
 * chains' conditioning), by a central difference of step h (see icd.c).
 * Work arrays: u, x (n×dim), de, e (n). */
ebm_status train_backprop_last_step(ebm_net *net, const ebm_cond *cond, const ebm_last_step *ls,
                                    const float *x_k, const float *v, int64_t dim, double h,
                                    float *work_u, float *work_x, float *work_de, float *work_e);

/* The uint64 ↔ decimal metadata helpers of state.c. */
ebm_status train_meta_u64(const ebm_safetensors *st, const char *key, uint64_t *out);
ebm_status train_put_meta_u64(ebm_st_writer *w, const char *key, uint64_t v);

/* The MCMC maximum-likelihood step of pcd, short-run and cd (method_mcmc.c). */
ebm_status train_mcmc_check_data(const ebm_trainer *t);
ebm_status train_mcmc_step(ebm_trainer *t, void *state, ebm_train_stats *stats);

/* GEBM's losses (method_gebm.c), on n energies of data (e_data) and of
 * generated points (e_gen), c* = log mean exp(−e_gen), wᵢ = the softmax of −e_gen:
 *   L_E = mean e_data + c* + α·mean e_data²   (−KALE at c*, plus α; the energy's)
 *   de_data[i] = (1 + 2α·e_data,i)/n, de_gen[i] = −wᵢ (skipped when e_gen is NULL)
 *   L_G = −c*                                 (the generator's, E fixed) */
double train_kale_loss(const float *e_data, const float *e_gen, int64_t n, float alpha);
void train_kale_loss_grad(const float *e_data, const float *e_gen, int64_t n, float alpha, float *de_data,
                          float *de_gen);
double train_gebm_generator_loss(const float *e_gen, int64_t n);

/* One GEBM gradient evaluation on n data items x_data and n latents z,
 * with the parameters fixed: x_gen = G(z); E's grads ← dL_E/dθ_E and G's
 * ← dL_G/dθ_G (both zeroed first); one forward and one backward of G and
 * of E on each batch; alpha as train_kale_loss. Work (caller's): x_gen, dx (n × item), e_data,
 * e_gen, de_data, de_gen (n). Non-finite values → the divergence errors of
 * train_check_finite for step `step` (max_energy bounds |mean E|). */
typedef struct {
  float *x_gen, *dx, *e_data, *e_gen, *de_data, *de_gen;
} train_gebm_work;
typedef struct {
  double loss, gen_loss, e_pos, e_neg; /* L_E, L_G, mean E(x_data), mean E(x_gen) */
} train_gebm_values;
ebm_status train_gebm_gradients(ebm_net *energy, ebm_net *generator, const float *x_data, const float *z,
                                int64_t n, float alpha, const train_gebm_work *w, int64_t step,
                                double max_energy, train_gebm_values *v);

#endif
