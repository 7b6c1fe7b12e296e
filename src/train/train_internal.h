/* Internals shared by trainer.c (the step), state.c (save/restore) and
 * run.c (the run directory). */
#ifndef EBM_TRAIN_INTERNAL_H
#define EBM_TRAIN_INTERNAL_H

#include "ebm.h"
#include "ebm/train.h"
#include "train/method.h"
#include "train/slices.h"

struct ebm_trainer {
  ebm_train_config cfg;
  const train_method *method; /* the estimator (method.h) */
  void *method_state;        /* its own state (NULL for the MCMC methods) */
  ebm_net *net;              /* borrowed */
  const ebm_dataset *ds;     /* borrowed */
  ebm_energy *energy;        /* what the sampler runs on (TRAIN_ENERGY_NET: the network), range = cfg range */
  ebm_sampler *sampler;      /* TRAIN_NEEDS_SAMPLER */
  ebm_replay *replay;        /* TRAIN_NEEDS_REPLAY with one slice (more: each slice's own, slices.c) */
  ebm_energy *start;         /* fresh chains' Gaussian (cfg.chain_start gaussian), or NULL: uniform */
  ebm_energy **class_starts; /* conditional with a fitted start: class c's chains start from [c] (fitted to
                              * class c's items; NULL for a class the data lacks), and start stays NULL */
  int n_class_starts;        /* the network's classes when class_starts is set, else 0 */
  ebm_batcher *batcher;
  const ebm_dataset *batch_data; /* what the batcher draws from (ds, or a method's view: train_use_data) */
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
  train_slices sl;           /* the batch's fixed slices and this rank's share (slices.c) */
};

/* Frees n per-class starts and their array (NULL: nothing). */
void train_free_class_starts(ebm_energy **starts, int n);

/* Buffer items the entropy term compares each chain with (Du et al.'s 100). */
#define TRAIN_ENTROPY_REFS 100
/* The central difference of icd.c steps h = this × (range_hi − range_lo)
 * along the largest per-chain direction (tests/train/test_icd.c). */
#define TRAIN_ICD_FD_STEP 1e-2
/* δ of the entropy term, × (range_hi − range_lo). */
#define TRAIN_ENTROPY_DELTA 1e-3f

/* The two improved-CD losses on the final chains x_K of a batch of
 * `batch` items, of which these n (all, or one slice's: each item's terms
 * are its own, so the slices' parts add up to the batch's):
 *   kl       = kl_weight · mean_i E(x_K,i)            (e_k = E, grad_k = ∇ₓE at x_K)
 *   entropy  = −entropy_weight · mean_i ½·log(min_j ‖x_K,i − r_j‖² + δ²)
 * (means over `batch`, sums over the n; r: n_refs items; n_refs = 0 turns
 * the term off) and their gradient v = dL/dx_K (n×dim, overwritten). */
typedef struct {
  double kl, entropy;
} train_icd_values;
void train_icd_terms(const float *x_k, const float *e_k, const float *grad_k, int64_t n, int64_t batch,
                     int64_t dim, float kl_weight, float entropy_weight, const float *refs, int64_t n_refs,
                     float delta, train_icd_values *values, float *v);

/* Accumulates Σ_i v_iᵀ·∂x_K,i/∂θ into the network's parameter gradients,
 * x_K the result of the sampler step `ls` (x_k: what it returned; cond: the
 * chains' conditioning), by a central difference of step h (see icd.c).
 * Work arrays: u, x (n×dim), de, e (n). */
ebm_status train_backprop_last_step(ebm_net *net, const ebm_cond *cond, const ebm_last_step *ls,
                                    const float *x_k, const float *v, int64_t dim, double h,
                                    float *work_u, float *work_x, float *work_de, float *work_e);

/* NCE's logistic loss (method_nce.c) over n items of one kind (is_data:
 * data, else noise) with energies e and noise log-densities logq:
 *   data   −log σ(G),  noise  −log(1 − σ(G)),  G = −e − logq − log_nu,
 * summed and divided by n_data (the step's data items); de gets dL/de_i.
 * Returns the items' part of L. */
double train_nce_loss(const float *e, const float *logq, int64_t n, int is_data, double log_nu,
                      int64_t n_data, float *de);

/* Accumulates scale·Σ_i u_iᵀ·∂(∇ₓE(x_i))/∂θ into the network's parameter
 * gradients: the derivative of ∇θE along u, as a central difference of two
 * ebm_net_backward_params passes at x ± h·u/max_i‖u_i‖ (icd.c; improved CD
 * uses it), or with per_item at x_i ± h·u_i/‖u_i‖, each item its own step
 * (score matching: its items' directions differ by σ² between levels).
 * Work arrays: x (n×dim), de, e (n). */
ebm_status train_param_grad_along(ebm_net *net, const ebm_cond *cond, const float *x, const float *u, int64_t n,
                                  int64_t dim, double h, double scale, int per_item, float *work_x, float *work_de,
                                  float *work_e);

/* Score matching (method_score.c). Work arrays for n items of dim floats:
 * g, v, x (n×dim), e, e_plus, e_minus (n), de (3n). */
typedef struct {
  float *g, *v, *x, *e, *de, *e_plus, *e_minus;
} train_score_work;
ebm_status train_score_work_alloc(train_score_work *w, int64_t n, int64_t dim);
void train_score_work_free(train_score_work *w);
/* σ of level 0..levels−1 of the noise schedule: sigma_max down to
 * sigma_min, geometric; one level is sigma_min. */
float train_sigma_at(const ebm_noise_config *nc, int level);
/* Checks levels, sigma-min, sigma-max, and that conditional is off. */
ebm_status train_check_noise_schedule(const ebm_train_config *cfg);
/* DSM: L = 1/n·Σ_i ½σ_i²‖g_i − (x̃_i − x_i)/σ_i²‖² for g = ∇ₓE(x̃); v = dL/dg. */
double train_dsm_loss(const float *g, const float *x_noisy, const float *x, const float *sigma, int64_t n,
                      int64_t dim, float *v);
/* SSM with unit directions dir_i and lengths r_i (v_i = r_i·dir_i), g = ∇ₓE(x):
 * returns 1/n·Σ ½(v_iᵀg_i)², and the dL/dE coefficients of the three points
 * x + h·dir, x, x − h·dir that give the whole loss's parameter gradient. */
double train_ssm_coefficients(const float *g, const float *dir, const float *r, int64_t n, int64_t dim, double h,
                              float *de_plus, float *de_zero, float *de_minus);
/* −1/n·Σ r_i²·(E₊ − 2E₀ + E₋)/h²: SSM's Hessian term from the three energies. */
double train_ssm_hessian_term(const float *e_plus, const float *e_zero, const float *e_minus, const float *r,
                              int64_t n, double h);
/* The losses with their parameter gradients ACCUMULATED into the network
 * (the caller zeroes them); w->e gets E at x̃ (dsm) or x (ssm). */
ebm_status train_dsm_gradient(ebm_net *net, const ebm_cond *cond, const float *x_noisy, const float *x,
                              const float *sigma, int64_t n, int64_t dim, double h, train_score_work *w,
                              double *loss);
ebm_status train_ssm_gradient(ebm_net *net, const float *x, const float *dir, const float *r, int64_t n,
                              int64_t dim, double h, train_score_work *w, double *loss);

/* The NCE loss of n items (x: n×dim, their log q) with its gradient
 * ACCUMULATED into the network's parameters: one forward and one backward
 * pass per chunk of at most `chunk` items (e, de: chunk floats of work).
 * Adds the items' part of L to *loss and their energies to *e_sum. */
ebm_status train_nce_gradient(ebm_net *net, const float *x, const float *logq, int64_t n, int64_t dim,
                              int64_t chunk, int is_data, double log_nu, int64_t n_data, float *e, float *de,
                              double *loss, double *e_sum);
/* NCE's start of the learned log Z: adds mean(−log q − E) over the n items
 * x (their log q; e: n floats of work) to the network's final bias, if it
 * ends in a one-output ".bias", so that G = −E − log q is 0 on average
 * there; a network without one is left alone. */
ebm_status train_nce_start_log_normaliser(ebm_net *net, const float *x, const float *logq, int64_t n, float *e);

/* The uint64 ↔ decimal metadata helpers of state.c. */
ebm_status train_meta_u64(const ebm_safetensors *st, const char *key, uint64_t *out);
ebm_status train_put_meta_u64(ebm_st_writer *w, const char *key, uint64_t v);

/* The next data batch into x_pos (labels into y_data), each item
 * transformed by cfg.data_augment with its slice's random stream (so a
 * resume and any rank count draw the same transforms); every method draws
 * its data through it (trainer.c). */
void train_next_data(ebm_trainer *t);

/* train_next_data, labels into y_pos when conditional, and N(0,
 * pos_noise²) added and clamped to the range; the noise is drawn into
 * x_neg (method_mcmc.c). */
void train_make_positives(ebm_trainer *t);

/* The MCMC maximum-likelihood step of pcd, short-run and cd (method_mcmc.c). */
ebm_status train_mcmc_check_data(const ebm_trainer *t);
ebm_status train_mcmc_step(ebm_trainer *t, void *state, ebm_train_stats *stats);
/* The contrastive loss of ebm_train_loss (contrastive.c; pcd / short-run /
 * cd per slice, recovery likelihood on the whole batch). The passes:
 * items [first, first + n) of t->x_pos / t->x_neg (conditioning sliced
 * from t->cond_pos / t->cond_neg); zeroes the parameter gradients, then
 * one forward and one backward per half, positives first; E⁺, E⁻ and
 * dL/dE (the whole batch's: scaled by 1/B) land at [first, first + n) of
 * t->e_pos / e_neg / de_pos / de_neg. neg_grad (n × item, may be NULL):
 * ∇ₓE at x⁻ into it, a pass of its own between the halves (improved CD).
 * A non-finite pass → the divergence error of `step`. The check, once
 * every item's energies are in: the test hook, the means and the loss of
 * the batch out, each checked to be finite (and the means within
 * max_energy). */
ebm_status train_contrastive_passes(ebm_trainer *t, int64_t first, int64_t n, int64_t step, float *neg_grad);
/* The same passes on another network and inputs: x_pos / x_neg point at
 * the n items themselves (already offset); first places E and dL/dE in the
 * trainer's arrays and slices the conditioning. */
ebm_status train_contrastive_passes_of(ebm_trainer *t, ebm_net *net, const float *x_pos, const float *x_neg,
                                       int64_t first, int64_t n, int64_t step, float *neg_grad);
ebm_status train_contrastive_check(ebm_trainer *t, int64_t step, double *e_pos, double *e_neg, double *loss);

/* dL/dE of ebm_train_loss for n energies of a batch of `batch`:
 * de[i] = (sign + 2α·e[i])/batch, sign +1 for positives, −1 for negatives
 * (ebm_train_loss_grad is this on both halves, batch = n). */
void train_loss_grad_part(const float *e, int64_t n, int64_t batch, float alpha, double sign, float *de);
/* The mcmc_* fields of stats from the sampler's last run (t->mcmc). */
void train_mcmc_stats(const ebm_trainer *t, ebm_train_stats *stats);
/* Passes and check on the whole batch of t->x_pos / t->x_neg (coop), or of
 * another network's inputs (x_pos, x_neg: cfg.batch items each; the
 * latent-space EBM's prior on z), for step t->step + 1. */
ebm_status train_contrastive_gradient(ebm_trainer *t, double *e_pos, double *e_neg, double *loss);
ebm_status train_contrastive_gradient_of(ebm_trainer *t, ebm_net *net, const float *x_pos, const float *x_neg,
                                         double *e_pos, double *e_neg, double *loss);

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
