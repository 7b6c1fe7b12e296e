/* ebm/train.h — maximum-likelihood training of an energy network with MCMC
 * negatives (DESIGN §4), and the run directory a training run lives in.
 * Include <ebm.h>.
 *
 * One training step (Du & Mordatch A.11; the loop of
 * bench/torch_reference.py):
 *   1. x⁺ = the next data batch + N(0, pos_noise²), clamped to the range;
 *   2. one spectral-norm power iteration;
 *   3. negatives x⁻ (same labels as x⁺ for a conditional model):
 *        pcd        from the replay buffer (filled with uniform noise at
 *                   the start, as bench/torch_reference.py; fraction `reinit` fresh uniform
 *                   noise), K sampler steps, written back (IGEBM);
 *        short-run  every chain from uniform noise, K steps, no buffer
 *                   (Nijkamp et al. 2019);
 *        cd         chains start at x⁺ (CD-k, Hinton 2002);
 *   4. L = mean E(x⁺) − mean E(x⁻) + α·(mean E(x⁺)² + mean E(x⁻)²), with
 *      gradients through the final energies only (x⁻ is a constant);
 *      improved CD (Du, Li, Tenenbaum, Mordatch 2021) adds
 *        kl_weight · mean E_θ̄(x⁻)  and  −entropy_weight · mean log d(x⁻, buffer),
 *      θ̄ a frozen copy of θ, differentiated through the sampler's last
 *      step (x⁻ = clamp(x − λ·clip(∇ₓE_θ(x)))), d the distance to the
 *      nearest of 100 buffer items;
 *   5. one Adam step (A.12 clipping and/or a global norm clip) at the
 *      scheduled learning rate.
 * Every random draw comes from the trainer's ebm_rng and the batcher's
 * seed, both saved in the state file, so a resumed run is bit-exact. */
#ifndef EBM_TRAIN_H
#define EBM_TRAIN_H

#include <signal.h>

#include "ebm/core.h"
#include "ebm/data.h"
#include "ebm/dist.h"
#include "ebm/nn.h"
#include "ebm/sample.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------- configuration */

/* An estimator (DESIGN §3: "an estimator is one file in train/ registered in
 * a method table"). The first three are the MCMC maximum-likelihood methods
 * above; the others are registered after them in src/train/methods.c, each
 * in its own file. ebm_train_method_count() says how many there are. */
typedef enum { EBM_TRAIN_PCD = 0, EBM_TRAIN_SHORT_RUN, EBM_TRAIN_CD } ebm_train_method;

/* The registered names ("pcd", "short-run", "cd", ...) and one line of help
 * for each; ebm_train_method_from_name gives -1 if unknown. */
int ebm_train_method_count(void);
const char *ebm_train_method_name(ebm_train_method method);
const char *ebm_train_method_summary(ebm_train_method method);
int ebm_train_method_from_name(const char *name);
/* "pcd | short-run | cd | ..." (static): for messages. */
const char *ebm_train_method_list(void);
/* 1 if the method trains a model of its own (a flow) rather than an energy
 * network from --arch (which it then does not need). */
int ebm_train_method_owns_model(ebm_train_method method);

/* Learning-rate schedule over cfg.iters steps (t = steps done so far):
 *   constant  lr
 *   step      lr · gamma^floor(t / lr_step)
 *   cosine    lr_min + (lr − lr_min)·(1 + cos(π·min(t, iters)/iters))/2 */
typedef enum { EBM_LR_CONSTANT = 0, EBM_LR_STEP, EBM_LR_COSINE } ebm_lr_decay;
const char *ebm_lr_decay_name(ebm_lr_decay decay);
int ebm_lr_decay_from_name(const char *name); /* -1 if unknown; "none" = constant */

/* ------------------------------------------- settings of other estimators */

/* Text settings (paths, architectures) live in the configuration itself,
 * so a configuration can be copied and saved as it is. */
#define EBM_TRAIN_TEXT_SIZE 256

/* JEM (method_jem.c): a classifier's logits as an energy of (x, y). */
typedef struct {
  float px_weight;            /* weight of the log p(x) maximum-likelihood term, 1 */
  float pyx_weight;           /* weight of the cross-entropy of p(y|x), 1 */
  float pxy_weight;           /* weight of the log p(x|y) term (--pxy), 0 = off */
  int sgld_steps;             /* SGLD steps per training step, 20 (JEM) */
  float sgld_step;            /* SGLD step size on ∇ₓ log p(x), 1 (JEM) */
  float sgld_noise;           /* SGLD noise σ, 0.01 (JEM) */
  int64_t warmup;             /* jem: the learning rate ramps up linearly over this many steps, 1000 (JEM's
                                 --warmup_iters); 0 = none */
  int64_t px_batch;           /* jem: SGLD negatives of the log p(x) term per step, 0 = the batch; fewer
                                 make a step cheaper (the chains are most of its cost) */
  float px_alpha;             /* jem: α of the energy regulariser α·(mean E(x⁺)² + mean E(x⁻)²) added to the
                                 log p(x) term (IGEBM's; it keeps the energies bounded), 0.1; 0 = JEM's plain term */
  float pxy_alpha;            /* jem: α of the same regulariser on the log p(x|y) term, α·(mean E(x⁺, y)² +
                                 mean E(x⁻ʸ, y)²) (Du & Mordatch's Algorithm 1 for a conditional energy), 0 */
  float labels_fraction;      /* items per class whose label is used, 1 (all) */
  char eval_data[EBM_TRAIN_TEXT_SIZE]; /* held-out data spec for accuracy, "" = none */
  int64_t eval_every;         /* steps between held-out accuracies, 100 */
  int64_t eval_items;         /* held-out items scored (the first N), 1000 */
  int64_t labelled;           /* labelled items kept per class, drawn for the seed; 0 = labels_fraction */
  /* Continual learning (method_ebc.c, and method_jem.c's generative
   * variant): an energy-based classifier, E(x, y) = −f(x)[y], learns the
   * data's classes split into tasks one after another (class-incremental:
   * at test time it chooses among all classes seen so far). */
  int continual_tasks;        /* split:K → K tasks of classes/K classes in class order; 0 = none */
  int64_t iters_per_task;     /* training steps on each task, 1000 (the last task keeps the rest) */
  int ebc_negatives;          /* ebm_ebc_negatives: the classes the loss normalises over, TASK */
  float ebc_alpha;            /* weight of the energy regulariser α·mean E(x, c)² over the classes seen, 0 */
} ebm_jem_config;

/* The classes an energy-based classifier's loss contrasts the true label
 * with: the current task's (Li et al. 2020: the negatives of the energy of
 * the pair come only from the classes being learned), all classes seen so
 * far, or all the network's outputs (the softmax classifier that forgets:
 * the baseline). */
typedef enum { EBM_EBC_TASK = 0, EBM_EBC_SEEN, EBM_EBC_ALL } ebm_ebc_negatives;
/* At most this many continual tasks. */
#define EBM_TRAIN_MAX_TASKS 16

/* NCE, flow-contrastive estimation and flows (method_nce.c, method_fce.c,
 * method_flow.c). */
typedef struct {
  /* nce (method_nce.c): the noise is a Gaussian fitted to the data
   * (ebm_gaussian_energy_fit: full covariance, or low-rank for large
   * items), or a trained flow; log Z is the energy network's own output
   * offset. */
  float noise_ratio;          /* ν noise samples per data item (> 0), 1 */
  char noise_ckpt[EBM_TRAIN_TEXT_SIZE]; /* nce: a flow checkpoint as the noise (exact samples and
                                           log q; its items must be the data's); "" = the Gaussian.
                                           fce: the trained flow the run's flow starts from */
  /* flows (method_flow.c, method_fce.c) */
  char flow[EBM_TRAIN_TEXT_SIZE]; /* the flow's layers, ebm_flow_spec text (ebm/flow.h) */
  float flow_dequant;         /* width of uniform noise added to each data value (images
                                 in [0, 1]: 1/256 dequantises 8-bit pixels); 0 = none */
} ebm_contrastive_config;

/* Noise-level methods: diffusion recovery likelihood, score matching
 * (method_recovery.c, method_score.c; the recovery sampler is in sample.h). */
typedef struct {
  int levels;                 /* noise levels of recovery likelihood / multi-level DSM, 1 */
  /* The σ schedule: levels values from sigma_max down to sigma_min,
   * geometric (one level: sigma_min). dsm adds N(0, σ²) to the data;
   * recovery adds one level's σ per step of its noising chain. */
  float sigma_min;            /* 0.1 */
  float sigma_max;            /* 1 */
  float recovery_step;        /* recovery: b, each Langevin step is b·s² (steps: the sampler's K), 0.1 */
} ebm_noise_config;

/* Methods with a generator: generalized EBMs (KALE), cooperative networks,
 * latent-space EBM priors (method_gebm.c, method_coop.c, method_latent.c). */
typedef struct {
  char arch[EBM_TRAIN_TEXT_SIZE]; /* the generator: preset name, JSON or @FILE; "" = the data's preset */
  int latent_dim;             /* z's dimension; 0 = the generator's input size (2 for the default) */
  float lr;                   /* the generator's Adam learning rate; 0 = the energy's */
  /* latent-ebm: p(z) ∝ exp(−E(z))·N(0, I), x = G(z) + N(0, σ²) */
  char prior[EBM_TRAIN_TEXT_SIZE]; /* E on z: preset name, JSON or @FILE; "" = an mlp on z */
  float obs_noise;            /* σ, 0.3 */
} ebm_generator_config;

/* Fresh chains' starting distribution (ebm_train_config.chain_start). */
typedef enum { EBM_START_UNIFORM = 0, EBM_START_GAUSSIAN, EBM_START_MIXTURE, EBM_START_ITEMS } ebm_chain_start;

typedef struct {
  ebm_train_method method;
  int64_t batch;              /* 128 positives + 128 negatives (A.11) */
  int64_t iters;              /* the run's length (schedules, run loop) */
  ebm_sampler_config sampler; /* LANGEVIN, K 60, λ 10, σ 0.005, clip 0.01, clamp on */
  int64_t buffer_size;        /* replay capacity, 10000 (A.11) */
  float reinit;               /* fresh-noise fraction of the buffer draws, 0.05 */
  /* Where fresh chains start (the buffer's first fill and its reinit
   * draws, pcd / jem; every chain of short-run): EBM_START_UNIFORM, noise
   * over the range (IGEBM), or EBM_START_GAUSSIAN, a Gaussian fitted to
   * the training data (ebm_gaussian_energy_fit: full covariance up to
   * 4096 values per item, low-rank above; ebm_chain_start_draw), or
   * EBM_START_MIXTURE, a mixture of start_components Gaussians in the
   * data's principal subspace (ebm_subspace_mixture_fit): draws near one
   * cluster of the data each, for data of many separate modes, or
   * EBM_START_ITEMS, the items of the data set start_items (e.g.
   * "npy:FILE", --init npy:FILE), one drawn at random per chain
   * (ebm_items_start_new): starts another model made. A
   * conditional run fits a Gaussian or mixture per class instead
   * (ebm_chain_start_fit_classes): a chain asked for class c starts from
   * class c's, and the checkpoint records "per-class:..." so that
   * `ebm sample --class c` starts there too. */
  ebm_chain_start chain_start;
  int start_components;       /* EBM_START_MIXTURE's K (--init mixture:K) */
  char start_items[EBM_TRAIN_TEXT_SIZE]; /* EBM_START_ITEMS's data spec (--init npy:FILE), "" otherwise */
  int shared_start;           /* a conditional run: 1 = one fitted start for every class instead of one
                                 per class (above); how a run recorded before per-class starts resumes */
  float alpha;                /* the energy L2 coefficient α, 1 (A.11) */
  float pos_noise;            /* σ of the noise added to positives, 0.005 */
  float range_lo, range_hi;   /* data range: clamps, noise, buffer; [0, 1] */
  ebm_adam_config adam;       /* lr 1e-4, β (0, 0.999), A.12 clip 3σ */
  ebm_lr_decay lr_decay;      /* constant */
  float lr_gamma;             /* step decay factor, 0.1 */
  int64_t lr_step;            /* step decay period in steps; 0 = iters/3 */
  float lr_min;               /* cosine floor, 0 */
  int spectral_iters;         /* power iterations per step, 1 */
  float max_energy;           /* |mean E| beyond this is divergence, 1e4 */
  int conditional;            /* labels from the data, per-class buffers */
  uint64_t seed;              /* initialisation and every random stream */
  int64_t inject_nan_at;      /* test hook: E(x⁻) of this step is NaN; 0 = off */
  /* improved CD; either weight needs a langevin or ula sampler */
  float kl_weight;            /* the KL term, 0 = off */
  float entropy_weight;       /* the nearest-neighbour entropy term (pcd), 0 = off */
  unsigned augment;           /* EBM_AUGMENT_* of chains restarted from the buffer (pcd), 0 = off */
  unsigned data_augment;      /* EBM_AUGMENT_* of every data item a step draws (any method), 0 = off */
  ebm_replay_policy buffer_policy; /* how chains go back to the buffer: random (IGEBM) */
  /* Fixed slices of the batch (ebm/dist.h), each with its own random
   * stream, buffer share and gradient partial sum, so that a run gives the
   * same bytes on any number of MPI ranks up to `slices`; 1 (the default)
   * is the plain one-process trainer. batch and buffer must be multiples;
   * the MCMC methods only, without improved CD. */
  int64_t slices;
  /* The settings of the other estimators, one block per method family
   * (each documented in its method's file; their flags and defaults are
   * rows of that method's settings table). */
  ebm_jem_config jem;
  ebm_contrastive_config contrastive;
  ebm_noise_config noise_levels;
  ebm_generator_config generator;
} ebm_train_config;

/* The IGEBM defaults listed above. */
ebm_train_config ebm_train_defaults(void);

/* The defaults of one method: ebm_train_defaults() with `method` set and
 * the common settings the method's row sets otherwise (jem: Adam lr 1e-3,
 * β1 0.9 and no A.12 clip, JEM's optimiser; most methods: none). The
 * "images" recipe below starts from these, so `ebm train --method jem`
 * gets them unless a flag or --preset igebm|uva says otherwise. */
ebm_train_config ebm_train_defaults_for(ebm_train_method method);

/* Applies a named recipe on top of *cfg: "igebm" (the defaults), "uva"
 * (bench/torch_reference.py for uva-cnn: buffer 8192, Langevin clip 0.03, α 0.1, range
 * [−1, 1], global gradient-norm clip 0.1, no A.12 clip) or "fresh" (uva's
 * settings with short-run chains from a Gaussian fitted to the data and Adam
 * lr 5e-4: the recipe measured best for samples from fresh chains). Unknown
 * name → EBM_ERR_ARG listing the presets. */
ebm_status ebm_train_preset(const char *name, ebm_train_config *cfg);

/* The recipe that fits a data set, written over *cfg (the fields a recipe
 * sets; batch, iters, seed, conditional and the improved-CD fields stay):
 *   "toy-2d"   a toy:NAME spec: ULA ε 0.05 × 30 steps, α 0.01, Adam lr 3e-3
 *              β (0.9, 0.999) without the A.12 clip, cosine decay, buffer
 *              2000, range [−4, 4] (the demo's 2-D recipe)
 *   "vectors"  other 1-D items: the same, range = the data's min/max padded
 *              by a tenth of their span on each side, ε scaled by the
 *              range's width / 8 (the toys' box)
 *   "images"   the defaults of cfg->method (ebm_train_defaults_for: the
 *              IGEBM defaults, with the method's own for common settings)
 * then the method's own adjustment (cfg->method: set it first): latent-ebm's
 * chains run in z ~ N(0, I), not in the data's box (method_latent.c); nce
 * on toys and vectors steps Adam at 1e-2 (method_nce.c).
 * Returns the recipe's name (static). */
const char *ebm_train_recipe_for_data(const ebm_dataset *ds, ebm_train_config *cfg);

/* The same, for a network built from architecture preset `arch` (a name,
 * or JSON whose "preset" names one; NULL or a preset without a recipe of
 * its own: ebm_train_recipe_for_data). A preset whose items are not images
 * has its own recipe over the data's (when cfg->method is the default pcd
 * it becomes short-run; another method is kept, with the preset's sampler):
 *   "pointnet"  chains from uniform noise, Langevin λ 10, σ 0.005, clip
 *               0.01, 30 steps, range [-1, 1], α 0, Adam lr 1e-3
 *   "voxelnet"  short-run chains from --init mixture:30, 15 steps of λ 100,
 *               range [0, 1], α 0, Adam 1e-3, batch 16
 *   "video-st"  voxelnet's, with 10 steps and batch 8
 * then the method's adjustment as above. Returns the recipe's name (static):
 * the preset's, or the data's. */
const char *ebm_train_recipe_for_arch(const ebm_dataset *ds, const char *arch, ebm_train_config *cfg);

/* The networks a method with a generator (gebm, coop, latent-ebm) builds
 * when no --arch / --generator is given, as compact architecture JSON for
 * ds's items, at cfg's range and latent dimension (0 = the preset's):
 *   2-D points        the mlp energy and mlp-generator (z of 2)
 *   C×H×W images      uva-cnn on the data's shape and range, and
 *                     conv-generator onto that shape (z of 64; tanh for the
 *                     range [-1, 1], sigmoid for [0, 1]; H, W multiples of 4)
 *   1×32³ voxel grids  (from a 5-D .npy, ds->depth 32) voxelnet and
 *                     voxel-generator (z of 64), range [0, 1]
 *   1×16×64×64 videos (ds->depth 16) video-st and video-generator (z of
 *                     64), range [0, 1]
 *   1×P×3 point clouds (an (n, P, 3) .npy) pointnet on P points and
 *                     point-generator onto 1×P×3 (z of 64; tanh), range
 *                     [-1, 1]
 * (latent-ebm builds no energy network on the data). energy and generator
 * (either may be NULL) get the JSON; other items → EBM_ERR_ARG naming their
 * shape and asking for --generator. */
ebm_status ebm_train_generator_presets(const ebm_dataset *ds, const ebm_train_config *cfg, char *energy,
                                       size_t energy_size, char *generator, size_t generator_size);

/* The recipe the preset energy of ebm_train_generator_presets brings when
 * `ebm train --method coop|gebm` is given no --arch: "pointnet" for point
 * clouds (range [-1, 1], 30 Langevin steps of λ 10, Adam 1e-3, α 0),
 * "voxelnet" for 1×32³ grids and "video-st" for 1×16×64×64 videos (λ 100;
 * the generator's chains keep their own start), NULL for other data (the
 * data's recipe). Pass it as ebm_train_recipe_for_arch's arch. */
const char *ebm_train_generator_energy_recipe(const ebm_dataset *ds);

/* Checks every field; EBM_ERR_ARG naming it ("batch must be >= 1, got 0"). */
ebm_status ebm_train_config_check(const ebm_train_config *cfg);

/* The learning rate for the step after `done` steps. */
float ebm_train_lr(const ebm_train_config *cfg, int64_t done);

/* ------------------------------------------------------------------ loss */

/* L = mean e⁺ − mean e⁻ + α·(mean e⁺² + mean e⁻²) over n pairs (double). */
double ebm_train_loss(const float *e_pos, const float *e_neg, int64_t n, float alpha);

/* dL/dE per item: de_pos[i] = (1 + 2α e⁺ᵢ)/n, de_neg[i] = (−1 + 2α e⁻ᵢ)/n. */
void ebm_train_loss_grad(const float *e_pos, const float *e_neg, int64_t n, float alpha,
                         float *de_pos, float *de_neg);

/* ---------------------------------------------------------------- trainer */

/* What one step measured. */
typedef struct {
  int64_t step;           /* steps done, this one included */
  double loss, e_pos, e_neg;
  double grad_norm;       /* parameter gradient norm before clipping */
  double lr;
  double mcmc_energy;     /* sampler: mean energy at its last step */
  double mcmc_grad_norm;  /* sampler: mean ‖∇E‖ at its last step */
  double mcmc_accept;     /* sampler: acceptance averaged over the steps */
  double kl, entropy;     /* the improved-CD terms (0 when off) */
  double accuracy;        /* held-out accuracy measured at this step (jem's
                             --eval-every), or −1 when none was */
  double seconds;         /* wall time of the step */
  /* Continual learning (method ebc): at the last step of each task, the
   * held-out accuracy on each task learned so far, the argmax taken over
   * all classes seen (accuracy is then their mean). */
  int task;               /* the task this step trained (0-based) */
  int tasks_scored;       /* entries of task_accuracy measured at this step; 0 = none */
  double task_accuracy[EBM_TRAIN_MAX_TASKS];
  int64_t iters;          /* the run's length at this step: cfg->iters, or the
                             length a budget fitted (ebm_run_opts.budget_fits_iters) */
} ebm_train_stats;

typedef struct ebm_trainer ebm_trainer;

/* A trainer for `net` (borrowed; initialised or loaded by the caller) on
 * `ds` (borrowed). Allocates every buffer for cfg.batch now, so steps never
 * allocate. Checks that the data items match the network's input, that the
 * batch fits the network (ebm_net_max_batch >= batch) and, for a
 * conditional run, that the data have labels within the network's classes. */
ebm_status ebm_trainer_new(ebm_net *net, const ebm_dataset *ds, const ebm_train_config *cfg,
                           ebm_trainer **out);
/* The same for one rank of a data-parallel run on `dist` (ebm/dist.h;
 * NULL: one process): the rank samples and differentiates its share of
 * cfg.slices, and ebm_trainer_step is then a collective (every rank calls
 * it; an error on one is returned by all). EBM_ERR_ARG when there are more
 * ranks than slices. */
ebm_status ebm_trainer_new_dist(ebm_net *net, const ebm_dataset *ds, const ebm_train_config *cfg, ebm_dist *dist,
                                ebm_trainer **out);
void ebm_trainer_free(ebm_trainer *t);

/* One training step. A NaN/Inf or out-of-bound energy, loss or gradient
 * stops with EBM_ERR_NUMERIC "diverged at step N: e_neg is NaN" before any
 * parameter changes. stats may be NULL. */
ebm_status ebm_trainer_step(ebm_trainer *t, ebm_train_stats *stats);

/* Steps done (restored by ebm_trainer_restore). */
int64_t ebm_trainer_step_count(const ebm_trainer *t);

/* The negatives of the last step (n items: this rank's slices) and their
 * labels (NULL when unconditional); NULL before the first step. Owned by
 * the trainer. */
const float *ebm_trainer_negatives(const ebm_trainer *t, const int32_t **y, int64_t *n);

/* The replay buffer (NULL unless pcd with one slice). */
const ebm_replay *ebm_trainer_replay(const ebm_trainer *t);

/* Everything a bit-exact resume needs, in one safetensors file written
 * atomically: the network's parameters and buffers ("model.<name>"), Adam's
 * moments, the replay buffer, the RNG state, the batcher position, the
 * step. Restore checks the layout (method, batch, slices, shapes) and
 * replaces the network's parameters too. With more than one slice, each
 * slice's stream and replay share go to "<path stem>.slice-S.step-N
 * .safetensors" instead (written before the state that names them, by the
 * rank that owns the slice; rank 0 writes the state and removes other
 * steps' slice files): saving is then a collective of the trainer's ranks. */
ebm_status ebm_trainer_save_state(const ebm_trainer *t, const char *path);
/* The state file's metadata "format" (tells it from a model checkpoint). */
#define EBM_TRAIN_STATE_FORMAT "ebm-train-state-1"
ebm_status ebm_trainer_restore(ebm_trainer *t, const char *path);

/* ----------------------------------------------------------- run directory */

/* Steps timed, after the first, before a budget fits a run's length. */
#define EBM_RUN_FIT_STEPS 10

/* A run directory:
 *   config.json                   opts.config_json, the caller's record of
 *                                 every setting (written when the run starts)
 *   metrics.jsonl                 one line per logged step
 *   samples/step_NNNNNN.png       negatives every sample_every steps
 *   ckpt/last.safetensors         the network (ebm_net_save; metadata "step")
 *   ckpt/last.state.safetensors   ebm_trainer_save_state
 *   ckpt/last.clock.json          the time the run had used at that save,
 *                                 over all its parts (ebm_run_clock)
 *   .lock                         flock'd while a run trains; holds its PID
 * The checkpoint files are rewritten atomically every save_every steps and
 * at the end, the clock last. */
typedef struct {
  const char *run_dir;
  const char *arch_json;      /* a fresh run's architecture (ignored on resume) */
  /* A fresh run starts from this network checkpoint's weights instead of
   * a random initialisation (fine-tuning: the optimiser, buffer and step
   * start anew; arch_json is then ignored). The network's "range" must be
   * the run's. Ignored on resume; a method that builds its own model
   * (ebm_train_method_owns_model) refuses it. */
  const char *init_from;
  const char *config_json;    /* text for run_dir/config.json; NULL = leave it */
  int resume;                 /* continue from run_dir/ckpt (bit-exact) */
  int force;                  /* a new run may use a non-empty folder that is not a run */
  int64_t save_every;         /* 0 = only at the end */
  int64_t sample_every;       /* 0 = never */
  int64_t log_every;          /* metrics.jsonl period; 0 = never */
  int64_t sample_count;       /* negatives in a sample grid (64) */
  const char *const *meta_keys; /* extra checkpoint metadata (n_meta pairs) */
  const char *const *meta_values;
  int n_meta;
  /* Set (e.g. from a SIGINT handler) to stop after the current step: the
   * run saves and returns EBM_ERR_INTERRUPTED. May be NULL. */
  volatile sig_atomic_t *stop;
  /* Called after every step (may be NULL). */
  void (*on_step)(void *ctx, const ebm_train_stats *stats);
  void *ctx;
  /* Budget of this call in seconds (0 = none): the run stops after the
   * step past which one more step (at this call's mean step time) would
   * overshoot it, saves, and returns EBM_OK with *final_step below
   * cfg->iters; --resume continues it bit-exactly. Wall-clock seconds
   * unless budget_cpu. */
  double budget_seconds;
  /* 1: budget_seconds counts this process's CPU time (ebm_cpu_seconds, all
   * threads) instead of wall time, so a budget buys the same work whether
   * or not other jobs share the machine: "one hour of two cores" is 7200
   * CPU-seconds at --threads 2, or at --threads 1 on a busy machine. */
  int budget_cpu;
  /* With budget_seconds on a fresh run: the run's length is fitted to the
   * budget instead of taken from cfg->iters. After EBM_RUN_FIT_STEPS steps
   * past the first (whose time includes warm-up), the length becomes the
   * steps done plus those that fit in 97 % of the time left at the mean
   * step time, so a learning-rate schedule (--lr-decay) ends on time; the
   * first steps follow the schedule of cfg->iters. config.json records the
   * fitted length ("iters"), events.jsonl the event "budget-iters", and a
   * --resume continues to it bit-exactly. Ignored on resume. */
  int budget_fits_iters;
  /* 1: budget_seconds is the whole run's, over all its parts: a resumed run
   * stops when its earlier parts' time (ckpt/last.clock.json) plus this
   * call's reaches it, and one whose budget is already spent is EBM_ERR_ARG
   * "has used ... of its budget". So a run killed and resumed any number of
   * times with the same command gets the budget once. When the clock file
   * is missing or belongs to another step, the earlier parts count as 0
   * (events.jsonl says "clock"). */
  int budget_of_run;
  /* Data-parallel training (ebm/dist.h; NULL: one process): every rank
   * calls ebm_train_run with the same settings; rank 0 alone writes the run
   * directory (lock, config, metrics, events, samples of its slices,
   * checkpoints) but each rank writes its slices' state files into
   * ckpt/, so the directory must be shared (NFS, Lustre: as usual for MPI
   * jobs); a resume needs the same cfg.slices, on any number of ranks. */
  ebm_dist *dist;
} ebm_run_opts;

/* Trains cfg->iters steps in total (a resumed run continues from its saved
 * step; one already at cfg->iters or beyond is EBM_ERR_ARG "already at step
 * N"). Before the first step: validates the config and the checkpoint
 * metadata, takes an exclusive flock on run_dir/.lock (a second run on the
 * folder gets EBM_ERR_IO naming the PID holding it), removes temp files of
 * interrupted saves, and refuses a fresh run over an existing checkpoint or
 * in a non-empty folder that is not a run (unless opts->force). A fresh
 * run that fails before its first step removes the folder it created. On
 * divergence, returns EBM_ERR_NUMERIC "<run_dir>: diverged at step N: ..."
 * and leaves the last checkpoint untouched. *final_step (may be NULL) gets
 * the steps done (fewer than cfg->iters when opts->budget_seconds ran out;
 * events.jsonl then says "budget"). */
ebm_status ebm_train_run(const ebm_dataset *ds, const ebm_train_config *cfg,
                         const ebm_run_opts *opts, int64_t *final_step);

/* ------------------------------------------------------ settings by name */

/* Every setting of ebm_train_config has one row in one table: its name (the
 * `ebm train` flag and the config.json key), type, field, help line and
 * whether a resumed run may change it. The table drives `ebm train`'s flags
 * and --help, config.json, --resume and the language bindings; a method
 * adds its own rows in its own file (src/train/method_*.c). */
typedef enum {
  EBM_SETTING_INT, EBM_SETTING_INT64, EBM_SETTING_U64, EBM_SETTING_FLOAT, EBM_SETTING_BOOL,
  EBM_SETTING_TEXT,  /* a char[size] field (paths, architectures) */
  EBM_SETTING_SPECIAL /* parsed and printed by the row's own functions */
} ebm_setting_type;

/* A resumed run keeps this setting (the shape of the run: data, batch,
 * method, buffer, range, ...); giving another value is refused. */
#define EBM_SETTING_IDENTITY 1u

typedef struct {
  const char *name;      /* "step-size" */
  ebm_setting_type type;
  size_t offset;         /* of the field in ebm_train_config */
  size_t size;           /* EBM_SETTING_TEXT: the field's size */
  const char *metavar;   /* "L" */
  const char *help;      /* one line */
  unsigned flags;        /* EBM_SETTING_IDENTITY */
  /* EBM_SETTING_SPECIAL only: */
  ebm_status (*parse)(ebm_train_config *cfg, const char *text);
  void (*format)(const ebm_train_config *cfg, char *buf, size_t size);
  /* The default as text, applied by ebm_train_defaults (NULL: the common
   * settings, whose IGEBM defaults ebm_train_defaults documents and sets). */
  const char *def;
  /* For a setting added after runs were recorded without it: the value that
   * gives those runs their old behaviour when they resume (a config.json
   * that lacks the key); NULL: the default. */
  const char *legacy;
} ebm_train_setting;

/* The rows: the common settings first, then each method's, in method order. */
int ebm_train_setting_count(void);
const ebm_train_setting *ebm_train_setting_at(int index);
const ebm_train_setting *ebm_train_setting_find(const char *name); /* NULL if unknown */
/* A setting's value as text: the shortest text that reads back as the same
 * value ("0.005", "true", "-4,4", "langevin"). */
void ebm_train_setting_text(const ebm_train_config *cfg, const ebm_train_setting *s, char *buf,
                            size_t size);

/* A heap copy of a preset's configuration (NULL preset = "igebm"; NULL on
 * an unknown preset, with the message), for bindings that cannot mirror
 * ebm_train_config. */
ebm_train_config *ebm_train_config_new(const char *preset);
void ebm_train_config_free(ebm_train_config *cfg);
/* Changes one setting by its name and text value (the whole text must be
 * the value: no trailing junk, NaN or overflow). A bad name or value →
 * EBM_ERR_ARG naming it ("step-size expects a finite number, got 'x'");
 * ebm_train_config_check still judges the whole. Changing "sampler" to
 * another kind starts from that kind's defaults (keeping steps and the
 * clamp), as `ebm train` does. */
ebm_status ebm_train_config_set(ebm_train_config *cfg, const char *name, const char *value);
/* Every setting as one JSON object under its name (numbers as numbers,
 * booleans as booleans, the rest as strings; what `ebm train` records in
 * config.json, so `ebm train --resume` continues a run started from a
 * binding). Free with ebm_train_config_json_free; NULL when out of memory. */
char *ebm_train_config_json(const ebm_train_config *cfg);
void ebm_train_config_json_free(char *json);
/* Reads that JSON back (a run's config.json; `ebm train --resume`): the
 * defaults, then every setting in table order from its key — a key that a
 * run of an older version did not record gets the setting's legacy value,
 * so the run resumes as it was trained; keys that are not settings (the
 * verb's own flags) are ignored. A value of the wrong type or refused by
 * ebm_train_config_set → EBM_ERR_FORMAT naming `origin` (the file; may be
 * NULL) and the setting; *out is then untouched. from_json(json(cfg))
 * gives cfg's JSON again, byte for byte. */
ebm_status ebm_train_config_from_json(const char *json, const char *origin, ebm_train_config *out);

/* The sizes of the structs bindings do mirror, so they can check their
 * copy of the layout at load time. */
size_t ebm_run_opts_size(void);
size_t ebm_train_stats_size(void);

/* The time a run had used when it last saved, over all its parts (a run
 * resumed after a kill or a budget is one more part): CPU seconds of the
 * training process (rank 0's under MPI; from ebm_train_run's start, so
 * loading the data before it is not counted) and wall seconds, both summed
 * over the parts up to the saved step. The time a part spent past its
 * last save is lost with those steps, and not counted. */
typedef struct {
  int64_t step;        /* the saved step this clock belongs to */
  double cpu_seconds;
  double wall_seconds;
  int64_t parts;       /* calls of ebm_train_run that trained this run */
  /* 0, or the step the count starts at when an earlier part's time was
   * not recorded (a run saved before clocks were kept, or a clock file
   * lost): the time of the steps before it is then not in the sums. */
  int64_t since_step;
} ebm_run_clock;

/* Reads run_dir/ckpt/last.clock.json. EBM_ERR_IO when it is absent (a run
 * saved before clocks were kept), EBM_ERR_FORMAT when it is not a clock. */
ebm_status ebm_run_clock_read(const char *run_dir, ebm_run_clock *clock);

/* The checkpoint paths of a run directory (into buf). */
const char *ebm_run_ckpt_path(const char *run_dir, char *buf, size_t size);
const char *ebm_run_state_path(const char *run_dir, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
