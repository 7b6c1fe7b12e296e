/* ebm/eval.h — how good is a model (DESIGN §3 eval/): annealed importance
 * sampling for log Z and the data's log-likelihood, from both sides (AIS and
 * reverse AIS, Du & Mordatch A.3 after Neal 2001 and Burda et al. 2015);
 * out-of-distribution scores and metrics (AUROC, AUPR, FPR at 95 % TPR);
 * Fréchet distance and KID between feature sets; a small classifier whose
 * penultimate features those are computed in, and conditional EBMs scored
 * as classifiers (accuracy, calibration). Include <ebm.h>.
 *
 * Density convention. A model defines p(x) = exp(−E(x)) / Z on its data
 * range: Z = ∫ exp(−E) over the box [lo, hi]^D when the network has a range
 * (samplers never leave it), over R^D otherwise. Likelihoods are continuous
 * densities in the model's own coordinates: for images in [0, 1] no
 * dequantisation and no 1/256 bin width is added. Bits/dim is
 * −log p / (D·ln 2); a density on [0, 1]^D compares with the usual 8-bit
 * discrete figures after adding log2(256) = 8 bits/dim (the 256-level scale),
 * and with uniform dequantisation it would be a lower bound of those. */
#ifndef EBM_EVAL_H
#define EBM_EVAL_H

#include "ebm/core.h"
#include "ebm/data.h"
#include "ebm/energy.h"
#include "ebm/nn.h"
#include "ebm/sample.h"
#include "ebm/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------- AIS bases */

/* A normalised base distribution p₀ ∝ exp(−E₀) for annealing towards a model:
 * its energy, exact log Z₀ and exact samples. Built for one model (it
 * borrows nothing from it but copies its item shape and range). */
typedef struct ebm_ais_base ebm_ais_base;

/* Uniform on the box [lo, hi]^D: E₀ = 0 inside, log Z₀ = D·log(hi − lo).
 * For a model with a range the box must be that range (lo == hi means "the
 * model's range"); for a model without one the box is where AIS measures
 * the mass: the result is log ∫_box exp(−E). EBM_ERR_ARG otherwise. */
ebm_status ebm_ais_base_uniform(const ebm_energy *model, float lo, float hi, ebm_ais_base **out);

/* A diagonal Gaussian N(mean, diag(std²)) (D values each; mean NULL = 0,
 * std NULL = 1; std > 0), truncated to the model's range when it has one
 * (the means are then clamped into it, and log Z₀ includes the truncation
 * mass, computed with erf). */
ebm_status ebm_ais_base_gaussian(const ebm_energy *model, const float *mean, const float *std,
                                 ebm_ais_base **out);

/* The same Gaussian fitted to data: per-element mean and standard deviation
 * of x (n ≥ 2 items of the model's shape), std floored at min_std (> 0) so
 * constant pixels (MNIST borders) keep a proper base. */
ebm_status ebm_ais_base_gaussian_fit(const ebm_energy *model, const float *x, int64_t n,
                                     float min_std, ebm_ais_base **out);

void ebm_ais_base_free(ebm_ais_base *b);
/* log Z₀ = log ∫ exp(−E₀) (over the box when truncated). */
double ebm_ais_base_log_z(const ebm_ais_base *b);
/* E₀ as an energy (owned by the base; its range is the box, if any). */
const ebm_energy *ebm_ais_base_energy(const ebm_ais_base *b);
/* n exact draws from p₀ into x (n items). */
void ebm_ais_base_sample(const ebm_ais_base *b, ebm_rng *rng, int64_t n, float *x);

/* ------------------------------------------------------------------ AIS */

/* Annealing along E_β = (1 − β)·E₀ + β·E (the geometric path of Neal 2001)
 * on β_0 = 0 < β_1 < … < β_T = 1, with `transitions` MCMC steps of the
 * sample layer's MALA or HMC at each intermediate β. */
typedef struct {
  int64_t chains;          /* M forward chains (reverse: one per data item) */
  int steps;               /* T */
  const char *schedule;    /* "sigmoid" (Grosse et al. 2013; default) or "linear" */
  ebm_sampler_kind sampler;/* EBM_SAMPLER_MALA or EBM_SAMPLER_HMC */
  int transitions;         /* MCMC steps per β (1) */
  float step_size;         /* initial ε; 0 = automatic (base scale · D^−1/6 MALA, D^−1/4 HMC) */
  int leapfrog_steps;      /* HMC: L (10) */
  float target_accept;     /* ε ← ε·exp(a − target) after each β from the chains' mean
                              acceptance a (as Wu et al. 2016 do); 0 = fixed ε.
                              Default 0.574 MALA / 0.65 HMC */
  int logit;               /* 1 (default): when the path has a box (the model's range or a
                              uniform base's), the MCMC runs on u = logit((x−lo)/(hi−lo))
                              with the Jacobian in the energy — the same law of x, no
                              walls for proposals to hit (image models keep many pixels
                              at lo). Data on a wall start 1e-6 of the range inside.
                              0: in x, proposals outside the box are rejected */
  double temperature;      /* the density is exp(−E/T) (1); Du & Mordatch A.3 report the
                              likelihood at the T that maximises it */
} ebm_ais_config;

/* Defaults: 100 chains, 1000 steps, sigmoid, MALA, 1 transition, automatic
 * ε adapted toward 0.574, L = 10, logit coordinates, T = 1. */
ebm_ais_config ebm_ais_defaults(void);

/* What one run gives. */
typedef struct {
  double log_z;        /* the estimate of log Z */
  double log_z_se;     /* its standard error over chains (delta method, below) */
  double ess;          /* effective sample size of the weights, (Σw)² / Σw² */
  int64_t chains;
  double log_z_base;   /* log Z₀ */
  double accept_rate;  /* mean MCMC acceptance over all β */
  double step_size;    /* final ε */
} ebm_ais_result;

/* Called after every β step t = 1..T (for progress bars). */
typedef void (*ebm_ais_step_fn)(void *ctx, int t, int steps, double accept_rate, double step_size);

/* Forward AIS: M chains from exact base draws, log-weights
 * log w = Σ_t (β_t − β_{t−1})·(E₀(x_{t−1}) − E(x_{t−1})) accumulated in
 * double; log Ẑ = log Z₀ + log mean w. E[Ẑ] = Z, so E[log Ẑ] ≤ log Z: a
 * stochastic LOWER bound on log Z (an upper bound on log-likelihoods).
 * log_w (M values, may be NULL) receives the log-weights. Only
 * unconditional models (EBM_ERR_UNSUPPORTED otherwise). */
ebm_status ebm_ais_forward(const ebm_energy *model, const ebm_ais_base *base,
                           const ebm_ais_config *cfg, ebm_rng *rng, double *log_w,
                           ebm_ais_result *res, ebm_ais_step_fn cb, void *cb_ctx);

/* Reverse AIS (RAISE-style, Burda et al. 2015): n chains started at x
 * (n items inside the model's range) annealed from the model back to the
 * base; log w = Σ_t (β_t − β_{t−1})·(E(x_t) − E₀(x_t)) estimates Z₀/Z, so
 * log Ẑ = log Z₀ − log mean w. When x are exact model samples
 * E[log Ẑ] ≥ log Z: a stochastic UPPER bound (a lower bound on
 * log-likelihoods). Started from data the bound holds to the extent the
 * model fits the data (the usual practice with RAISE on real data). */
ebm_status ebm_ais_reverse(const ebm_energy *model, const ebm_ais_base *base,
                           const ebm_ais_config *cfg, const float *x, int64_t n, ebm_rng *rng,
                           double *log_w, ebm_ais_result *res, ebm_ais_step_fn cb, void *cb_ctx);

/* ------------------------------------------- log-likelihood evaluation */

/* A whole evaluation of a model's log-likelihood (`ebm eval ais`): forward
 * AIS from a base (a lower bound on log Z), reverse AIS from data items (an
 * upper bound when the model fits them), and the data's average
 * log-likelihood −E[E/T] − log Z between the two, in nats and bits/dim. */
typedef struct {
  ebm_ais_config ais;
  int uniform_base;    /* 1: uniform on the box; 0 (default): a diagonal Gaussian
                          fitted to the data (up to 20 000 items, std floored at
                          5 % of the box), or N(mid, (width/4)²) without data */
  float lo, hi;        /* the box: the model's range if it has one, else this
                          (default ±4, the toys' box) */
  int64_t reverse;     /* reverse chains, each from one data item chosen at random:
                          −1 (default) min(ais.chains, N), 0 none */
  int64_t items;       /* data items whose mean energy is scored: 0 (default) all */
  uint64_t seed;       /* all draws: base samples, MCMC, item choice (0) */
} ebm_loglik_config;

/* Defaults as above, with ebm_ais_defaults() inside. */
ebm_loglik_config ebm_loglik_defaults(void);

typedef struct {
  ebm_ais_result forward, reverse; /* reverse.chains == 0 when not run */
  double *log_w_forward;  /* forward.chains per-chain log-weights (malloc'd) */
  double *log_w_reverse;  /* reverse.chains of them, or NULL */
  float lo, hi;           /* the box used */
  char base[160];         /* what the base was, for reports */
  int64_t items;          /* data items scored (0 without data) */
  double mean_energy;     /* mean E/T of those items, and its standard error */
  double mean_energy_se;
  double ll_upper;        /* nats per item, −mean − forward.log_z (AIS: upper bound) */
  double ll_lower;        /* −mean − reverse.log_z (reverse AIS: lower bound), NaN if none */
  double bpd_lower;       /* bits/dim = −ll / (D ln 2): lower bound from ll_upper */
  double bpd_upper;       /* upper bound from ll_lower, NaN if none */
  int bounds_inverted;    /* reverse below forward by > 3 combined se: the
                             reverse chains bound nothing (data unlike the
                             model's samples, or too short a schedule) */
} ebm_loglik_result;

/* Runs the evaluation of an unconditional `model` on `data` (NULL: log Z
 * only). cb sees forward then reverse AIS (t restarts at 1). Free the result
 * with ebm_loglik_result_free (also after a failure). */
ebm_status ebm_loglik_evaluate(const ebm_energy *model, const ebm_dataset *data, const ebm_loglik_config *cfg,
                               ebm_ais_step_fn cb, void *cb_ctx, ebm_loglik_result *out);
void ebm_loglik_result_free(ebm_loglik_result *r);

/* log((1/n) Σ exp(v_i)), stable (the max is factored out); −inf for n = 0. */
double ebm_logmeanexp(const double *v, int64_t n);

/* Statistics of importance weights given as logs: log of their mean, the
 * delta-method standard error of that log, sd(w) / (√n · mean w), and the
 * effective sample size (Σw)² / Σw². Any output may be NULL. */
void ebm_log_weight_stats(const double *log_w, int64_t n, double *log_mean, double *se,
                          double *ess);

/* Mean energy of n items (and the standard error of that mean, n ≥ 2 else
 * 0); cond may be NULL. With log Z, the average log-likelihood is
 * −mean − log Z nats. */
ebm_status ebm_mean_energy(const ebm_energy *en, const float *x, const ebm_cond *cond, int64_t n,
                           double *mean, double *se);

/* ------------------------------------------------------------------ OOD */

/* Detection metrics for scores where higher means "in-distribution", with
 * the in-distribution set as the positive class. Ties are exact: AUROC is
 * the Mann–Whitney statistic with average ranks (a tie between an in and an
 * out item counts ½); precision–recall and ROC points are taken only at
 * distinct score values (a tied group enters at once). */
typedef struct {
  double auroc;        /* P(s_in > s_out) + ½ P(s_in = s_out) */
  double aupr_in;      /* average precision, in-distribution positive:
                          Σ_k (R_k − R_{k−1}) P_k over thresholds (sklearn's
                          average_precision_score) */
  double aupr_out;     /* the same with out-of-distribution positive (scores negated) */
  double fpr95;        /* FPR at the largest threshold whose TPR ≥ 0.95 */
} ebm_ood_metrics;

/* EBM_ERR_ARG on empty sets, EBM_ERR_NUMERIC on a NaN score. */
ebm_status ebm_ood_metrics_compute(const double *score_in, int64_t n_in, const double *score_out,
                                   int64_t n_out, ebm_ood_metrics *m);

/* The three scores of Grathwohl et al. (2020) for n items, higher = more
 * in-distribution: neg_energy[i] = −E(x_i) (log p(x) + log Z),
 * neg_grad_norm[i] = −‖∇ₓE(x_i)‖₂ (the "approximate mass" score) and
 * max_prob[i] = max_y p(y | x_i) = max_y softmax_y(−E(x_i, y)). For a
 * class-conditional model (a JEM classifier too) E is the marginal
 * −log Σ_y exp(−E(x, y)). Any output may be NULL; max_prob needs classes
 * (EBM_ERR_ARG otherwise). */
ebm_status ebm_ood_scores(const ebm_energy *en, const float *x, int64_t n, double *neg_energy,
                          double *neg_grad_norm, double *max_prob);

/* Builds an out-of-distribution set of n items shaped like the model's
 * items (item_ndim/item_shape) with values in [lo, hi]:
 *   noise:uniform    U(lo, hi) per element
 *   noise:gaussian   N((lo+hi)/2, ((hi−lo)/4)²) per element, clamped to [lo, hi]
 *   constant         every item one constant c ~ U(lo, hi)
 *   flip:SPEC        the data set SPEC's items flipped vertically (rows reversed)
 *   invert:SPEC      lo + hi − x of SPEC's items (1 − x on [0, 1])
 *   SPEC             any data set spec (data.h), loaded in [lo, hi]
 * A data set gives a random subset of n items (all when it has fewer; *out
 * then has fewer rows). Wrong item shape → EBM_ERR_SHAPE naming the spec,
 * unknown form → EBM_ERR_ARG. *out is a new tensor (n × item). */
ebm_status ebm_ood_set_make(const char *spec, int item_ndim, const int64_t *item_shape, float lo,
                            float hi, int64_t n, ebm_rng *rng, ebm_tensor **out);

/* ---------------------------------------------- Fréchet distance and KID */

/* Mean (d) and covariance (d × d, divisor n − 1) of n ≥ 2 feature rows. */
ebm_status ebm_feature_moments(const float *f, int64_t n, int64_t d, double *mean, double *cov);

/* Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂):
 * ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½, the square roots by
 * LAPACK's symmetric eigensolver (dsyevd, from OpenBLAS); eigenvalues below
 * zero from rounding are taken as 0. */
ebm_status ebm_frechet_distance(const double *mu1, const double *cov1, const double *mu2,
                                const double *cov2, int64_t d, double *fd);

/* FD between two feature sets (n1, n2 ≥ 2 rows of d features). */
ebm_status ebm_frechet_distance_features(const float *f1, int64_t n1, const float *f2, int64_t n2,
                                         int64_t d, double *fd);

/* Kernel inception distance (Bińkowski et al. 2018): the unbiased MMD² with
 * the kernel k(a, b) = (aᵀb / d + 1)³, on `subsets` pairs of random subsets
 * of `subset_size` rows of each set (drawn without replacement within a
 * subset); *mean and *std over the subsets. subset_size is capped at
 * min(n1, n2) and must be ≥ 2. */
ebm_status ebm_kid(const float *f1, int64_t n1, const float *f2, int64_t n2, int64_t d,
                   int64_t subset_size, int subsets, ebm_rng *rng, double *mean, double *std);

/* ----------------------------------------------------------- classifier */

/* The feature network of `ebm eval fid` and the accuracy reference: an
 * ordinary network of nn.h (architecture JSON, ebm_net passes, trained with
 * ebm_softmax_xent and ebm_adam), by default the small CNN
 *   conv1 3×3 C→w pad 1, swish, avgpool 2    (N, w, H/2, W/2)
 *   conv2 3×3 w→2w pad 1, swish, avgpool 2   (N, 2w, H/4, W/4)
 *   flatten, fc1 → F, swish                  (N, F)  the FEATURES
 *   fc2 F → K                                (N, K)  the logits.
 * The features are the output of the penultimate layer. Saved as an
 * ordinary network checkpoint (ebm_net_save: PyTorch names conv1.weight,
 * conv1.bias, …, fc2.bias; metadata "arch") with metadata "kind" =
 * EBM_CLASSIFIER_KIND, so `ebm info` and `ebm forward` read it too. Files of
 * the older format EBM_CLASSIFIER_FORMAT_V1 (the same tensors under an
 * "arch" of its own) are converted when loaded. Built for batches of up to
 * max_batch; passes never allocate. Not thread-safe (one pass at a time). */
#define EBM_CLASSIFIER_KIND "classifier"
#define EBM_CLASSIFIER_FORMAT_V1 "ebm-classifier-1"

typedef struct {
  int channels, height, width; /* H and W multiples of 4 */
  int classes;                 /* K ≥ 2 */
  int conv_width;              /* w (32); of a loaded network: its first layer's channels */
  int features;                /* F (128): the penultimate layer's size */
  float range_lo, range_hi;    /* the input range it is trained on */
} ebm_classifier_arch;

typedef struct ebm_classifier ebm_classifier;

/* The default architecture for C×H×W inputs and K classes (w 32, F 128). */
ebm_classifier_arch ebm_classifier_arch_for(int channels, int height, int width, int classes, float lo, float hi);
/* The network JSON of `arch` (the CNN above; *json malloc'd, free()).
 * Bad sizes → EBM_ERR_ARG naming them. */
ebm_status ebm_classifier_arch_json(const ebm_classifier_arch *arch, char **json);
ebm_status ebm_classifier_new(const ebm_classifier_arch *arch, int64_t max_batch, ebm_classifier **out);
void ebm_classifier_free(ebm_classifier *c);
/* PyTorch's default initialisation (ebm_net_init). */
ebm_status ebm_classifier_init(ebm_classifier *c, ebm_rng *rng);
const ebm_classifier_arch *ebm_classifier_get_arch(const ebm_classifier *c);
int64_t ebm_classifier_max_batch(const ebm_classifier *c);
/* The network itself (owned by c): its parameters, layers, passes. */
ebm_net *ebm_classifier_net(ebm_classifier *c);

/* n ≤ max_batch items (C×H×W each, in the classifier's range): logits
 * (n × K) and/or features (n × F); either may be NULL. */
ebm_status ebm_classifier_forward(ebm_classifier *c, const float *x, int64_t n, float *logits, float *features);
/* The same for any n (in chunks of max_batch). */
ebm_status ebm_classifier_run(ebm_classifier *c, const float *x, int64_t n, float *logits, float *features);

typedef struct {
  int epochs;         /* 5 */
  int64_t batch;      /* 64 (≤ max_batch) */
  float lr;           /* Adam's initial learning rate, 5e-3, cosine-decayed to 0 */
  float beta1, beta2; /* Adam's betas, 0.9 and 0.999 (torch.optim.Adam's) */
  uint64_t seed;      /* the batcher's shuffling */
} ebm_classifier_train_config;
ebm_classifier_train_config ebm_classifier_train_defaults(void);

/* Called after every training step with the batch's loss and accuracy. */
typedef void (*ebm_classifier_step_fn)(void *ctx, int64_t step, int64_t steps, double loss, double accuracy);

/* Trains with softmax cross-entropy (ebm_softmax_xent) and Adam (ebm_adam,
 * no gradient clipping) on a labelled image data set loaded in the
 * classifier's range. Unlabelled data, labels outside 0..K−1 → EBM_ERR_ARG;
 * other item shapes → EBM_ERR_SHAPE; a non-finite loss → EBM_ERR_NUMERIC. */
ebm_status ebm_classifier_train(ebm_classifier *c, const ebm_dataset *ds, const ebm_classifier_train_config *cfg,
                                ebm_classifier_step_fn cb, void *cb_ctx);

/* Accuracy and mean cross-entropy on N labelled items x (N×C×H×W);
 * confusion (K × K counts, row = true class; may be NULL). */
ebm_status ebm_classifier_evaluate(ebm_classifier *c, const ebm_tensor *x, const int32_t *y, double *accuracy,
                                   double *loss, int64_t *confusion);

/* Checkpoints (atomic write; extra metadata key/values may be given, not
 * "arch", "format" or "kind"). The loader reads any ebm network checkpoint
 * with "kind" = "classifier" whose network takes C×H×W items in a range and
 * gives K ≥ 2 logits (checked as ebm_net_load does: every tensor's name,
 * shape and finiteness), and converts an EBM_CLASSIFIER_FORMAT_V1 file. */
ebm_status ebm_classifier_save(const ebm_classifier *c, const char *path, int n_meta, const char *const *keys,
                               const char *const *values);
ebm_status ebm_classifier_load(const char *path, int64_t max_batch, ebm_classifier **out);
/* Same, from an already parsed file (messages name its origin). */
ebm_status ebm_classifier_from_safetensors(const ebm_safetensors *st, int64_t max_batch, ebm_classifier **out);

/* ------------------------------------------------- inpainting, scored */

/* Inpainting judged by an independent classifier (`ebm eval inpaint`):
 * does the fill give the item its class back? */
typedef struct {
  int64_t n;                /* items scored */
  double acc_original;      /* the classifier's accuracy on the items as they are: the ceiling */
  double acc_start;         /* on the masked items at the start (noise, or the conditional Gaussian): the floor */
  double acc_filled;        /* on the filled items */
  double mse_start;         /* masked-region MSE to the originals at the start */
  double mse_filled;        /* ... after the fill */
  double e_start, e_filled; /* mean energy of the items at the start and after the fill */
} ebm_inpaint_score;

/* Draws n labelled items of ds (all when n ≤ 0 or n ≥ its size; uniformly
 * without replacement, kept in data order; rng's stream 0), masks each
 * with a pattern (ebm_mask_pattern: "bottom-half", …; random:P draws from
 * stream 1), fills them by ebm_inpaint under the unconditional energy en
 * with cfg's sampler (stream 2) from uniform noise, or with start_from (a
 * Gaussian energy, may be NULL) from ebm_inpaint_start_gaussian, and scores
 * the classifier's argmax against the labels on the originals, the start
 * and the fills. ds's items
 * are in [lo, hi] (en's range), mapped linearly onto the classifier's
 * range. x_out and filled_out (n × item each, may be NULL) receive the
 * items drawn and their fills. A model with classes (it would be told the
 * answer), unlabelled data, labels outside the classifier's classes, or
 * items of another shape than en's or the classifier's → EBM_ERR_ARG /
 * EBM_ERR_SHAPE naming them. */
ebm_status ebm_inpaint_score_run(const ebm_energy *en, const ebm_sampler_config *cfg, const ebm_dataset *ds,
                                 int64_t n, const char *mask_pattern, ebm_classifier *clf, float lo, float hi,
                                 const ebm_energy *start_from, ebm_rng *rng, float *x_out, float *filled_out,
                                 ebm_inpaint_score *out);

/* -------------------------------------------- conditional EBMs as classifiers */

/* logits[i·K + y] = −E(x_i, y) for every class y of a class-conditional
 * energy (K = num_classes; EBM_ERR_ARG for an unconditional one), so that
 * softmax(logits) is p(y | x) and argmax is argmin_y E(x, y). */
ebm_status ebm_energy_class_logits(const ebm_energy *en, const float *x, int64_t n, float *logits);

/* Accuracy of argmax and the expected calibration error of the top-class
 * probability of softmax(logits) (n × k) with `bins` equal-width confidence
 * bins (Guo et al. 2017): ECE = Σ_b |B_b|/n · |acc(B_b) − conf(B_b)|. */
ebm_status ebm_calibration(const float *logits, const int32_t *y, int64_t n, int k, int bins, double *accuracy,
                           double *ece);
/* The bins behind it (arrays of `bins`, overwritten): conf[b] = Σ top-class
 * probability and hits[b] = correct items among the count[b] items whose
 * confidence falls in bin b; *correct (may be NULL) = all correct items. */
ebm_status ebm_calibration_bins(const float *logits, const int32_t *y, int64_t n, int k, int bins, double *conf,
                                double *hits, int64_t *count, int64_t *correct);
/* A reliability diagram (Guo et al. 2017) as a PNG: per confidence bin the
 * accuracy (bars) against the mean confidence (the diagonal is perfect
 * calibration; red marks the gap), titled with the accuracy and the ECE.
 * Same arguments as ebm_calibration. */
ebm_status ebm_reliability_png(const char *path, const float *logits, const int32_t *y, int64_t n, int k, int bins);

/* A class-conditional energy as a classifier on a labelled data set. */
typedef struct {
  int64_t n;        /* items scored */
  int classes;      /* K */
  double accuracy;  /* of argmin_y E(x, y) */
  double ece;       /* expected calibration error of softmax(−E) (ebm_calibration) */
  double nll;       /* mean −log p(y | x), nats */
} ebm_classify_result;

/* Scores en on n items of ds (0 or more than it has: all) drawn at random
 * by rng without replacement, with `bins` calibration bins. An
 * unconditional energy, a set without labels or with a label outside
 * 0..K−1 → EBM_ERR_ARG; items of another shape → EBM_ERR_SHAPE (naming
 * the set's spec). reliability_png (may be NULL) gets the reliability
 * diagram of those items (ebm_reliability_png). */
ebm_status ebm_classify_eval(const ebm_energy *en, const ebm_dataset *ds, int64_t n, ebm_rng *rng, int bins,
                             const char *reliability_png, ebm_classify_result *out);

/* Most classes ebm_classify_shares reports. */
#define EBM_SHARES_MAX_CLASSES 16

/* How a classifier sees a batch of generated items (point clouds, voxel
 * grids): the share given to each class and how sure it is. A model's
 * samples should be spread over the classes like its data and be
 * classified as surely as real items; noise is not. */
typedef struct {
  int64_t n;                             /* items classified */
  int classes;                           /* the classifier's K */
  double share[EBM_SHARES_MAX_CLASSES];  /* fraction of items whose top class is k */
  double confidence;                     /* mean top-class probability p(ŷ | x) */
  double sure;                           /* fraction of items with p(ŷ | x) >= 0.9 */
  double on_asked;                       /* fraction whose top class is the one asked for; NaN without asked */
} ebm_class_shares;

/* Classifies n items (n·item floats, item = the classifier's input) with a
 * classifier or class-conditional energy: p(y | x) = softmax_y(−E(x, y))
 * (ebm_energy_class_logits; for `--method jem` checkpoints, the softmax of
 * the logits). asked (may be NULL) holds the class each item was sampled
 * for (a conditional model's label), scored into on_asked; a label outside
 * 0..K−1 → EBM_ERR_ARG. EBM_ERR_ARG also for an unconditional energy, more
 * than EBM_SHARES_MAX_CLASSES classes or n < 1. */
ebm_status ebm_classify_shares(const ebm_energy *clf, const float *items, int64_t n, const int32_t *asked,
                               ebm_class_shares *out);

/* ------------------------------------------------------------- pictures */

#define EBM_HIST_MAX_SERIES 4

/* One set of values in a histogram panel (non-finite values are skipped). */
typedef struct {
  const double *values;
  int64_t n;
  const char *label;     /* legend text (digits, letters, . - + : ( ) / , = _ %) */
  uint8_t rgb[3];
} ebm_hist_series;

typedef struct {
  const char *title;
  int nseries;           /* 1..EBM_HIST_MAX_SERIES */
  const ebm_hist_series *series;
  double marker;         /* a dotted vertical line there (e.g. the true log Z); NaN: none */
} ebm_hist_panel;

/* Writes panels stacked vertically (560 × 230 px each) as a PNG: each panel
 * overlays the histograms of its series as densities over their common
 * range (`bins` bins, 1..512), with x ticks, a legend and the title. */
ebm_status ebm_hist_png(const char *path, int npanels, const ebm_hist_panel *panels, int bins);

/* Columns (chains) of an image picture of ebm_levels_png. */
#define EBM_LEVELS_PNG_CHAINS 8

/* Recovery likelihood's chain of levels (ebm_recovery_sample's `levels`:
 * nlevels = T + 1 blocks of n items, block t = level t, block T the
 * noise) as one PNG, from noise to data:
 *   - 2-D points (item_ndim 1, item_shape {2}): one 200-px scatter panel of
 *     all n points per level over [lo, hi]², left to right from level T to
 *     level 0, each titled "t=<level>";
 *   - images (item_ndim 3, C×H×W with C 1 or 3): an image grid with one
 *     row per level, level T on top and level 0 at the bottom, the first
 *     min(n, EBM_LEVELS_PNG_CHAINS) chains as columns (pixels from [lo, hi];
 *     the layout of ebm_png_write_grid with pad 2, scale 2 up to 64 px).
 * Other item shapes, n < 1, nlevels < 1 or lo >= hi: EBM_ERR_ARG naming
 * the path. Written atomically. */
ebm_status ebm_levels_png(const char *path, const float *levels, int nlevels, int64_t n, int item_ndim,
                          const int64_t *item_shape, float lo, float hi);

#define EBM_CURVES_MAX_SERIES 8

/* One line of a curve picture: points (x[i], y[i]) in order of x; a point
 * whose x or y is not finite is left out (the line joins its neighbours),
 * so series measured at different x share one table. */
typedef struct {
  const char *label;     /* legend text (the characters of ebm_hist_series) */
  const double *x, *y;
  int64_t n;
} ebm_curve_series;

/* Writes a line chart (640 × 400 px) as a PNG: every series as a coloured
 * line with a marker at each point, x and y ticks, axis labels, a legend and
 * the title. log_x puts x on a log scale (every x must then be > 0, else
 * EBM_ERR_ARG). 1..EBM_CURVES_MAX_SERIES series with at least one finite
 * point in all, else EBM_ERR_ARG. For tables of results over time or budget:
 * `ebm show curves --table T.tsv`. */
ebm_status ebm_curves_png(const char *path, const char *title, const char *x_label, const char *y_label,
                          int nseries, const ebm_curve_series *series, int log_x);

/* A table of results for ebm_curves_png, parsed from tab-separated text:
 * a header line "x_label<TAB>series 1<TAB>series 2…" then one line per x,
 * numbers in every column; an empty cell, "-" or "nan" is missing. Lines
 * starting with '#' and blank lines are skipped. */
typedef struct {
  char *x_label;
  int nseries;                   /* columns after the first, 1..EBM_CURVES_MAX_SERIES */
  char *labels[EBM_CURVES_MAX_SERIES];
  int64_t rows;
  double *x;                     /* rows */
  double *y;                     /* rows × nseries, row-major; NaN where a cell is a gap */
} ebm_curves_table;

/* Parses text[0..size) (not NUL-terminated) into *out (free with
 * ebm_curves_table_free). `origin` names the text in messages ("T.tsv: line
 * 3: column 2 is not a number"). */
ebm_status ebm_curves_table_parse(const char *text, size_t size, const char *origin, ebm_curves_table *out);
void ebm_curves_table_free(ebm_curves_table *t);

/* ---------------------------------------------------------- robustness */

/* An L∞ PGD attack (Madry et al. 2018) on a classifier's cross-entropy and
 * Du & Mordatch's Langevin purification (§4.4) before classifying. */
typedef struct {
  float eps;           /* the ball's radius, 0.03 */
  int steps;           /* signed-gradient steps, 10 (0: the random start only) */
  float step_size;     /* per step; 0 = 2.5·eps/steps */
  float lo, hi;        /* the data range every iterate is clamped to, [0, 1] */
  int purify_steps;    /* Langevin steps on E(x) = −logsumexp f(x) after the attack, 0 = none */
  float purify_step;   /* their step size λ, 1 */
  float purify_noise;  /* their noise σ, 0.01 */
} ebm_attack_config;
ebm_attack_config ebm_attack_defaults(void);

/* x_adv ← clamp(x_adv, max(x − eps, lo), min(x + eps, hi)) for m floats:
 * the projection every PGD iterate goes through. */
void ebm_attack_project(const float *x, float *x_adv, int64_t m, float eps, float lo, float hi);

/* Attacks n items x (labels y in [0, K)) of a classifier (ebm_net_is_classifier)
 * from a uniform start in the ball, in passes of the network's batch, and
 * gives the accuracy on the attacked (then purified) items. x_adv_out (may
 * be NULL; n × item) gets the attacked items before purification. Random
 * draws (start, Langevin noise) come from rng. */
ebm_status ebm_attack_accuracy(ebm_net *net, const float *x, const int32_t *y, int64_t n, const ebm_attack_config *c,
                               ebm_rng *rng, float *x_adv_out, double *accuracy);

/* ------------------------------------------------------------------ KALE */

/* KALE(P‖Q) = sup_E 1 − E_P[E] − E_Q[exp(−E)] between two sample sets
 * (Arbel, Zhou & Gretton 2021), E a two-hidden-layer MLP with spectral norm
 * on every weight (the seed's Lipschitz class), fitted by Adam on half of
 * each set; the bound is evaluated on the other halves. A lower bound of
 * KL(P‖Q): ≈ 0 (within its standard error) for two samples of one law. */
typedef struct {
  int width;      /* hidden units per layer (64) */
  int iters;      /* Adam steps (500) */
  int64_t batch;  /* items of each set per step, ≤ 1024 (256) */
  float lr;       /* Adam's (1e-3; β1 0.9) */
  uint64_t seed;  /* the split, the batches and E's initialisation (0) */
} ebm_kale_config;

ebm_kale_config ebm_kale_defaults(void);

typedef struct {
  double kale;       /* on the held-out halves: 1 − mean_P E − mean_Q exp(−E) */
  double std_error;  /* of that estimate: √(var_P E / n_P + var_Q exp(−E) / n_Q) */
  int64_t n_fit_p, n_fit_q, n_test_p, n_test_q;
} ebm_kale_result;

/* P = np rows of p, Q = nq rows of q, each row `dim` floats (any item shape,
 * flattened). Same inputs and config → the same result. Fewer than 4 items
 * in a set or a bad config → EBM_ERR_ARG; a non-finite estimate →
 * EBM_ERR_NUMERIC. */
ebm_status ebm_kale(const float *p, int64_t np, const float *q, int64_t nq, int64_t dim, const ebm_kale_config *cfg,
                    ebm_kale_result *out);

#ifdef __cplusplus
}
#endif
#endif
