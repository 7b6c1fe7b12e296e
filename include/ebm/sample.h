/* ebm/sample.h — MCMC samplers on the energy interface, annealed paths and
 * the replay buffer. Include <ebm.h>.
 *
 * Every sampler moves a batch of chains x (n items) in place under an
 * ebm_energy, is seeded by an ebm_rng (same seed → same samples at any
 * thread count), allocates only in ebm_sampler_new, and reports per-step
 * diagnostics so callers can log them. */
#ifndef EBM_SAMPLE_H
#define EBM_SAMPLE_H

#include "ebm/core.h"
#include "ebm/energy.h"
#include "ebm/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Relative jitter of HMC's step size (see EBM_SAMPLER_HMC). */
#define EBM_HMC_JITTER 0.2f

typedef enum {
  /* IGEBM practical Langevin (Du & Mordatch A.11), in the order of the
   * PyTorch reference: x ← clamp(x + σξ); x ← clamp(x − λ·clip(∇E/T, c)).
   * Step size λ and noise σ are separate; T scales the gradient. */
  EBM_SAMPLER_LANGEVIN = 0,
  /* Textbook unadjusted Langevin: x ← x − (ε²/2)∇E/T + ε·ξ. */
  EBM_SAMPLER_ULA,
  /* Metropolis-adjusted Langevin: the ULA proposal + MH accept. */
  EBM_SAMPLER_MALA,
  /* Hamiltonian Monte Carlo: L leapfrog steps, unit mass, MH accept. Each
   * chain's leapfrog step is drawn per step uniformly from ε·[0.8, 1.2]
   * (EBM_HMC_JITTER; Neal 2011 §5.4.2.2), which keeps the acceptance
   * monotone in ε on Gaussian-like targets; ε is what adaptation tunes. */
  EBM_SAMPLER_HMC,
  /* Underdamped (kinetic) Langevin, BAOAB splitting, friction γ; the
   * velocity is drawn fresh at the start of each run and carried across
   * its steps. Exact in x for Gaussian targets at any stable ε. */
  EBM_SAMPLER_KINETIC,
  EBM_SAMPLER_COUNT
} ebm_sampler_kind;

const char *ebm_sampler_name(ebm_sampler_kind kind);
int ebm_sampler_from_name(const char *name); /* -1 if unknown */

typedef struct {
  ebm_sampler_kind kind;
  int steps;              /* K */
  float step_size;        /* λ for LANGEVIN; ε for ULA/MALA/HMC/KINETIC */
  float noise;            /* σ for LANGEVIN (0.005) */
  float grad_clip;        /* per-element clip of ∇E/T (0.01 LANGEVIN); 0 = off.
                             MALA/HMC stay exact: the clipped drift is used
                             in both proposal directions */
  float temperature;      /* T: samples exp(−E/T); 1 */
  int clamp;              /* respect the energy's data range (when it has
                             one): LANGEVIN/ULA clamp, KINETIC reflects
                             (velocity reversed), MALA/HMC reject proposals
                             outside it (exact for the truncated target) */
  int leapfrog_steps;     /* L for HMC */
  float friction;         /* γ for KINETIC */
  int adapt_steps;        /* MALA/HMC: warm-up steps adapting ε toward target_accept; 0 = off */
  float target_accept;    /* 0.574 MALA, 0.65 HMC */
} ebm_sampler_config;

/* Defaults for a kind (IGEBM values for LANGEVIN: 60 steps, λ 10, σ 0.005,
 * clip 0.01). */
ebm_sampler_config ebm_sampler_defaults(ebm_sampler_kind kind);

/* Per-step diagnostics, averaged over the chains. */
typedef struct {
  float mean_energy;      /* E at the state the step's gradient was taken
                             (LANGEVIN/ULA), or at the state after it */
  float grad_norm;        /* mean over chains of ‖∇E‖₂ */
  float accept_rate;      /* MALA/HMC; 1 for unadjusted samplers */
  float step_size;        /* after adaptation */
} ebm_sample_stats;

typedef struct ebm_sampler ebm_sampler;

/* Allocates every buffer for chains of up to max_n items of `en` (runs
 * never allocate). Borrows en. Bad config → EBM_ERR_ARG naming the field. */
ebm_status ebm_sampler_new(const ebm_energy *en, const ebm_sampler_config *cfg, int64_t max_n,
                           ebm_sampler **out);
void ebm_sampler_free(ebm_sampler *s);

/* Runs cfg.steps steps on x (n items, in place), conditioned on cond (labels
 * and/or noise levels, energy.h) or NULL.
 * stats, if not NULL, receives cfg.steps entries. final_energy, if not
 * NULL, receives E of the returned x (n values). MALA/HMC adapt ε by dual
 * averaging (Hoffman & Gelman 2014) in the first adapt_steps steps, one ε
 * for all chains, then keep it fixed. A non-finite mean energy stops the
 * run with EBM_ERR_NUMERIC ("diverged"). */
ebm_status ebm_sampler_run(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n, ebm_rng *rng,
                           ebm_sample_stats *stats, float *final_energy);

/* Called after every step of ebm_sampler_run_cb with the step index (0..K-1),
 * the chains x (n items, read-only) and that step's diagnostics; for chain
 * snapshots and progress bars. */
typedef void (*ebm_sample_step_fn)(void *ctx, int step, const float *x, int64_t n,
                                   const ebm_sample_stats *stats);
/* ebm_sampler_run with a per-step callback (cb may be NULL). */
ebm_status ebm_sampler_run_cb(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n,
                              ebm_rng *rng, ebm_sample_stats *stats, float *final_energy,
                              ebm_sample_step_fn cb, void *cb_ctx);

/* The last step of a LANGEVIN or ULA run, for losses back-propagated
 * through it (improved contrastive divergence, ebm/train.h): that step was
 *   x_K = clamp(x − λ·clip(∇E(x)·(1/T), clip) [+ ε·ξ for ULA], lo, hi)
 * and x_K is what the run returned. Arrays are n×dim, owned by the sampler,
 * valid until its next run. */
typedef struct {
  const float *x;        /* the chains where the step took its gradient
                            (LANGEVIN: after that step's noise) */
  const float *grad;     /* ∇E at x, before 1/T and the clip */
  int64_t n;
  float lambda;          /* λ (LANGEVIN) or ε²/2 (ULA) */
  float inv_temperature; /* 1/T */
  float clip;            /* the per-element clip; INFINITY when off */
  float lo, hi;          /* the clamp bounds; ±INFINITY when none */
} ebm_last_step;

/* Fills *out after a run of at least one step. EBM_ERR_ARG for other kinds
 * or before a run. */
ebm_status ebm_sampler_last_step(const ebm_sampler *s, ebm_last_step *out);

/* How a LANGEVIN run without a callback goes through its chains. STEPWISE:
 * step by step, each step's energy on the whole batch (split over the
 * thread pool conv by conv). GROUPED: the chains in groups of
 * EBM_ENERGY_FORK_ITEMS (32) items, each group through all its steps at once
 * on one thread (an ebm_energy fork per thread), the groups handed out to
 * the threads as they come free: one hand-off per run instead of several
 * per step, so a thread the OS preempts holds up only its own groups (a
 * machine with more runnable threads than cores). Items are independent
 * and the noise of each is a fixed part of each step's fill, so both give
 * the same bits. AUTO (the default; EBM_CHAINS=stepwise|grouped|auto sets
 * it for new samplers): grouped with more than one thread. An energy
 * without forks (or whose fork fails: a network with batch norm, convs off
 * the direct paths, e.g. EBM_ISA=generic), other kinds, runs with a
 * callback and items whose size is not a multiple of 4 go step by step. */
typedef enum { EBM_CHAINS_AUTO, EBM_CHAINS_STEPWISE, EBM_CHAINS_GROUPED } ebm_chain_schedule;
void ebm_sampler_set_schedule(ebm_sampler *s, ebm_chain_schedule schedule);
/* 1 when the last run went group by group, else 0. */
int ebm_sampler_ran_grouped(const ebm_sampler *s);

/* The current step size: cfg.step_size, or the adapted one once a run with
 * adapt_steps > 0 has finished its warm-up. The adapted value is kept for
 * later runs (their warm-up starts from it). */
float ebm_sampler_step_size(const ebm_sampler *s);
/* Sets the step size for later runs (ignored unless finite and > 0): for
 * drivers that adapt ε themselves between runs, e.g. AIS between β steps. */
void ebm_sampler_set_step_size(ebm_sampler *s, float step_size);

/* For language bindings: a heap copy of the defaults of sampler `kind`
 * ("langevin", "ula", "mala", "hmc", "kinetic"; NULL = langevin; NULL on an
 * unknown kind, with the message), changed by setting name and text value:
 * steps, step-size, noise, grad-clip, temperature, clamp, leapfrog,
 * friction, adapt, target-accept. Bad name or value → EBM_ERR_ARG naming it.
 * (src/train/config_keys.c, beside the training settings.) */
ebm_sampler_config *ebm_sampler_config_new(const char *kind);
void ebm_sampler_config_free(ebm_sampler_config *cfg);
ebm_status ebm_sampler_config_set(ebm_sampler_config *cfg, const char *name, const char *value);

/* ---------------------------------------------- settings in a checkpoint */

/* The checkpoint metadata key under which a training run records how its
 * model is sampled; `ebm sample --ckpt M` starts from these settings. */
#define EBM_SAMPLER_META_KEY "sampler"
/* Room for the text of any configuration. */
#define EBM_SAMPLER_JSON_MAX 512

/* Writes cfg as one JSON object into buf (size bytes, EBM_SAMPLER_JSON_MAX
 * is enough): "kind" and every setting of ebm_sampler_config_set by its
 * name, floats as the shortest text that reads back as the same value,
 * e.g. {"kind":"langevin","steps":60,"step-size":10,"noise":0.005,...}.
 * A config that fails ebm_sampler_config_check → EBM_ERR_ARG. */
ebm_status ebm_sampler_config_to_json(const ebm_sampler_config *cfg, char *buf, size_t size);
/* Parses that text into *cfg: the kind's defaults, then every member
 * (absent ones keep their default). Not an object, an unknown kind or
 * setting, or a value out of range → EBM_ERR_FORMAT naming `origin` (the
 * file; may be NULL) and the setting; *cfg is then untouched.
 * to_json(from_json(text)) == text for text that to_json wrote. */
ebm_status ebm_sampler_config_from_json(const char *json, const char *origin, ebm_sampler_config *cfg);
/* Reads the EBM_SAMPLER_META_KEY metadata of the checkpoint at path into
 * *cfg and sets *found = 1; a checkpoint without it leaves *cfg untouched
 * with *found = 0 (older runs, PyTorch files). File problems and bad
 * settings are errors naming the file. */
ebm_status ebm_sampler_config_from_checkpoint(const char *path, ebm_sampler_config *cfg, int *found);

/* Checks a configuration; EBM_ERR_ARG naming the field ("step_size must be
 * > 0, got nan") when a value is out of range. ebm_sampler_new calls it. */
ebm_status ebm_sampler_config_check(const ebm_sampler_config *cfg);

/* ------------------------------------------------------------ annealing */

/* E_β(x) = (1−β)·E₀(x) + β·E₁(x), an energy whose β can be changed between
 * steps (the building block of AIS). Borrows e0 and e1. */
ebm_status ebm_anneal_energy_new(const ebm_energy *e0, const ebm_energy *e1, ebm_energy **out);
void ebm_anneal_energy_set_beta(ebm_energy *path, double beta);
/* β_t for t = 0..T on a schedule: "linear" or "sigmoid" (Neal's / the
 * sigmoidal schedule of Grosse et al.). betas has T+1 entries. */
ebm_status ebm_beta_schedule(const char *kind, int T, double *betas);

/* Simulated annealing of a run (`--anneal T0` of `ebm sample` and `ebm
 * compose`): cfg.steps steps split into phases at temperature factors
 * f_p = t0^(1 − p/(P−1)), from t0 down to 1, so hot chains cross between
 * modes and the last phase samples the target itself. ULA/MALA/HMC/KINETIC
 * sample exp(−E/(T·f_p)); LANGEVIN, whose clip makes 1/T on the gradient
 * nearly a no-op, gets the noise σ·√f_p. */
#define EBM_ANNEAL_PHASES 4
typedef struct {
  double t0;   /* the first phase's factor; 1 = off (one plain run of cfg) */
  int phases;  /* P; 0 = EBM_ANNEAL_PHASES */
  int adapt;   /* MALA/HMC warm-up steps per phase; -1 = half of each phase */
} ebm_anneal_plan;

/* Runs the plan on x (n chains, in place) like ebm_sampler_run_cb: one
 * sampler per phase (allocated here), the step index passed to cb counts
 * across phases (0..cfg.steps−1). MALA/HMC carry their adapted ε to the
 * next phase as ε·√(f_next/f). final_energy (n values) and final_step_size
 * (the last phase's ε) may be NULL. Bad plan → EBM_ERR_ARG. */
ebm_status ebm_sample_annealed(const ebm_energy *en, const ebm_sampler_config *cfg, const ebm_anneal_plan *plan,
                               float *x, const ebm_cond *cond, int64_t n, ebm_rng *rng, float *final_energy,
                               float *final_step_size, ebm_sample_step_fn cb, void *cb_ctx);

/* ------------------------------------------ models with a generator */

/* n samples of a model with a generator G and an energy E on its outputs
 * (GEBM): z ~ N(0, I), cfg's sampler on the latent posterior
 * ν(z) ∝ N(z; 0, I)·exp(−E(G(z))) (ebm_latent_energy_new, in chunks of the
 * generator's max_batch), x = G(z). cfg->steps = 0 gives the generator's
 * samples alone. z (may be NULL) gets the final latents (n × latent dim),
 * x the samples (n × G's output size). Shapes that disagree → EBM_ERR_ARG. */
struct ebm_net; /* nn.h */
ebm_status ebm_sample_latent(struct ebm_net *generator, const ebm_energy *data_energy, const ebm_sampler_config *cfg,
                             int64_t n, ebm_rng *rng, float *z, float *x);

/* n samples of a latent-space EBM (Pang et al. 2020): z from cfg's sampler
 * on the prior p(z) ∝ exp(−E(z))·N(z; 0, I) (E = `prior`, a network on z)
 * started at N(0, I), x = G(z) (the noise-free mean). cfg->steps = 0 gives
 * G(z) with z ~ N(0, I). z (may be NULL) gets the latents, x the samples.
 * A generator of another z → EBM_ERR_ARG naming both shapes. */
ebm_status ebm_sample_latent_prior(struct ebm_net *prior, struct ebm_net *generator, const ebm_sampler_config *cfg,
                                   int64_t n, ebm_rng *rng, float *z, float *x);

/* Reconstructions of n observations x (n × G's output size) by a latent-space
 * EBM: z from cfg's sampler on the posterior p(z|x) ∝ p(z)·N(x; G(z), σ²I)
 * started at N(0, I), x_out = G(z). z (may be NULL) gets the latents; mse
 * (may be NULL) the mean over every value of (x_out − x)². */
ebm_status ebm_latent_reconstruct(struct ebm_net *prior, struct ebm_net *generator, float sigma,
                                  const ebm_sampler_config *cfg, const float *x, int64_t n, ebm_rng *rng, float *z,
                                  float *x_out, double *mse);

/* Sampling a checkpoint with a generator (ebm train --method gebm | coop |
 * latent-ebm; `ebm sample --ckpt M`). Each space draws z ~ N(0, I) first;
 * `cfg->temperature` β tempers the energy network alone, never the N(0, I)
 * base:
 *   LATENT     gebm / coop: z by cfg's sampler on the latent posterior
 *              ν(z) ∝ N(z; 0, I)·exp(−E(G(z))/β), x = G(z); latent-ebm: z
 *              on the prior exp(−E(z)/β)·N(z; 0, I), x = G(z)
 *   DATA       gebm / coop: x = G(z), then cfg's sampler on exp(−E(x)/β)
 *              from there (CoopNets' revision); latent-ebm refuses it (its
 *              energy is on z)
 *   GENERATOR  x = G(z) alone (cfg's steps ignored); the same z as the
 *              other spaces draw for the same rng state
 *   DEFAULT    the model's own: LATENT for gebm and latent-ebm, DATA for coop */
typedef enum {
  EBM_GEN_SPACE_DEFAULT = 0,
  EBM_GEN_SPACE_LATENT,
  EBM_GEN_SPACE_DATA,
  EBM_GEN_SPACE_GENERATOR,
  EBM_GEN_SPACE_COUNT
} ebm_gen_space;

/* "default", "latent", "data", "generator"; from_name gives -1 if unknown. */
const char *ebm_gen_space_name(ebm_gen_space space);
int ebm_gen_space_from_name(const char *name);

typedef struct {
  char method[32];           /* metadata "method" ("gebm" when absent) */
  int latent_prior;          /* 1: `energy` is a prior on z (latent-ebm, metadata "space" = "latent") */
  struct ebm_net *energy;    /* part "energy": E(x), or latent-ebm's prior E(z) */
  struct ebm_net *generator; /* part "generator": G(z) */
  ebm_energy *data_energy;   /* E as an energy on x (borrows `energy`); NULL for latent-ebm */
} ebm_gen_model;

/* Opens a checkpoint of parts "energy" and "generator" for batches of up to
 * max_batch items. A checkpoint without a generator (a plain energy) →
 * EBM_ERR_ARG saying so; a generator whose output (or input) disagrees with
 * the energy → EBM_ERR_ARG naming the file and both shapes. Close with
 * ebm_gen_model_close (also after a failed open). */
ebm_status ebm_gen_model_open(const char *path, int64_t max_batch, ebm_gen_model *out);
void ebm_gen_model_close(ebm_gen_model *m);
/* 1 when path is a checkpoint with a generator part (0 for anything else,
 * unreadable files included: their loader then says what is wrong). */
int ebm_gen_model_probe(const char *path);
ebm_gen_space ebm_gen_model_default_space(const ebm_gen_model *m);

/* n samples of the model in `space` into x (n × G's output size): same
 * rng state and settings → the same samples. EBM_ERR_ARG for DATA on a
 * latent-ebm model. */
ebm_status ebm_gen_model_sample(ebm_gen_model *m, ebm_gen_space space, const ebm_sampler_config *cfg, int64_t n,
                                ebm_rng *rng, float *x);

/* x = G(z) for n given latents z (n × G's input size) into x (n × G's
 * output size), in chunks of the generator's batch: the decoder half of
 * every space above, for latents drawn elsewhere (ebm_gmm_sample). */
ebm_status ebm_gen_model_decode(ebm_gen_model *m, const float *z, int64_t n, float *x);

struct ebm_gmm;
/* n samples G(z) with z drawn from a density fitted to latents (ebm_gmm_fit
 * below) instead of N(0, I); z (may be NULL) gets the latents. A density
 * of another dimension than G's input → EBM_ERR_ARG naming both. */
ebm_status ebm_gen_model_sample_fitted(ebm_gen_model *m, const struct ebm_gmm *density, int64_t n, ebm_rng *rng,
                                       float *z, float *x);

/* ------------------------------------------- a density fitted to latents */

/* A Gaussian mixture with full covariances fitted by EM (gauss_mixture_fit.c):
 * ex-post density estimation (Ghosh et al. 2020) — fitted to the latents a
 * model inferred for its training data (`ebm reconstruct --latents-out`),
 * it is a prior the generator was trained to decode, where N(0, I) may not
 * be. K-means++ start from `seed` (then kmeans_iters Lloyd steps), a ridge of reg × the data's mean
 * variance on every covariance's diagonal, at most max_iters EM steps
 * (stops earlier once the mean log-likelihood gains < 1e-7 relative).
 * The same data and config give the same mixture bit for bit. */
typedef struct {
  int components;  /* K, 1 = one full Gaussian */
  int max_iters;   /* EM steps, 200 */
  float reg;       /* relative ridge, 1e-3 */
  uint64_t seed;   /* k-means++ seeding */
  /* Lloyd (k-means) steps after the seeding, 0 = none: then the hard
   * clusters give the first weights, means and covariances, instead of
   * weights 1/K and every covariance the data's. In many dimensions with
   * few items per component the data's covariance lets distances along
   * noise directions decide the first E step, and EM stays where that
   * left it; Euclidean clusters do not. */
  int kmeans_iters;
} ebm_gmm_config;
typedef struct ebm_gmm ebm_gmm;

/* Fits cfg's mixture to n items of x (n×dim, float). n < 2K, dim outside
 * 1..4096, reg ≤ 0 or a value that is not finite → EBM_ERR_ARG naming it;
 * a covariance that loses positive definiteness → EBM_ERR_NUMERIC. The
 * caller frees *out with ebm_gmm_free (accepts NULL). */
ebm_status ebm_gmm_fit(const float *x, int64_t n, int64_t dim, const ebm_gmm_config *cfg, ebm_gmm **out);
void ebm_gmm_free(ebm_gmm *g);
/* n exact draws into x (n×dim): a component by its weight, then μ + Lε. */
ebm_status ebm_gmm_sample(const ebm_gmm *g, ebm_rng *rng, int64_t n, float *x);
int64_t ebm_gmm_components(const ebm_gmm *g);
int64_t ebm_gmm_dim(const ebm_gmm *g);
/* The fitted data's mean log-likelihood per item, and the EM steps taken. */
double ebm_gmm_log_likelihood(const ebm_gmm *g);
int ebm_gmm_iterations(const ebm_gmm *g);
/* Component j's weight, mean (dim) and covariance (dim×dim, ridge
 * included); any output may be NULL. j out of range → EBM_ERR_ARG. */
ebm_status ebm_gmm_component(const ebm_gmm *g, int64_t j, double *weight, double *mean, double *cov);

/* --------------------------------------------------------- analytic energies */

/* A Gaussian N(mean, cov) in D dimensions as an energy, E = ½(x−μ)ᵀΣ⁻¹(x−μ)
 * (unnormalised; log Z = D/2·log 2π + ½ log det Σ). mean/cov may be NULL
 * for 0 / identity. cov is D×D symmetric positive definite. */
ebm_status ebm_gaussian_energy_new(int64_t dim, const double *mean, const double *cov,
                                   ebm_energy **out);
/* log Z of an energy made by ebm_gaussian_energy_new or a low-rank one
 * below (EBM_ERR_ARG for any other energy): D/2·log 2π + ½ log det Σ, for
 * checking AIS estimates. */
ebm_status ebm_gaussian_energy_log_z(const ebm_energy *en, double *log_z);
/* n exact draws x = μ + Lz (Σ = LLᵀ, z ~ N(0, I) from rng) into x (n×D),
 * for an energy made by ebm_gaussian_energy_new; for a low-rank one,
 * x = μ + σε + U·((√λ − σ)∘Uᵀε), ε ~ N(0, I) (EBM_ERR_ARG for any other). */
ebm_status ebm_gaussian_energy_sample(const ebm_energy *en, ebm_rng *rng, int64_t n, float *x);
/* n draws conditioned on known values: x (n×D) equals `known` where
 * `mask` (n×D) is 0, and where it is not, the values are a draw of
 * x_m | x_o ~ N(μ_m + Σ_mo Σ_oo⁻¹(x_o − μ_o), spread²·(Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om)):
 * spread 1 is the exact conditional, 0 its mean (rng unused, may be NULL). The
 * factors are O(D³) per distinct mask (consecutive items with the same
 * mask share them). x may be `known`. For an energy made by
 * ebm_gaussian_energy_new, or a low-rank one (then O(D·K²) per distinct
 * mask and O(D·K) per item, through K×K solves; EBM_ERR_UNSUPPORTED if
 * some λ_k < σ², which no fit makes); EBM_ERR_ARG for any other. */
ebm_status ebm_gaussian_energy_sample_given(const ebm_energy *en, ebm_rng *rng, int64_t n, const float *known,
                                            const float *mask, float spread, float *x);

/* A Gaussian fitted to data, as an energy: the mean and the covariance of
 * up to max_items of the n items of x (n×dim; items j·n/m, spread over the
 * whole set), with a ridge of 1e-4 × the mean variance on the diagonal so
 * that constant pixels keep Σ positive definite. NCE's noise, and the
 * "gaussian" start of fresh chains below. Up to EBM_GAUSSIAN_FULL_MAX_DIM
 * values per item the covariance is full (D×D, Cholesky-factored); above,
 * it is the low-rank fit below with rank EBM_GAUSSIAN_LOWRANK_MAX_RANK,
 * since the full one needs three D×D double matrices (384 MiB at 4096) and
 * O(D³) work to factor — a 32³ voxel grid would need 24 GiB. Either kind
 * works with every ebm_gaussian_energy_* call. */
#define EBM_GAUSSIAN_FULL_MAX_DIM 4096
ebm_status ebm_gaussian_energy_fit(const float *x, int64_t n, int64_t dim, int64_t max_items, ebm_energy **out);

/* A low-rank Gaussian: probabilistic PCA (Tipping & Bishop 1999),
 *   Σ = U·diag(λ)·Uᵀ + σ²(I − UUᵀ),
 * K principal directions u_k (the columns of U, dim×rank row-major,
 * orthonormal: unit norms are checked, orthogonality is the caller's) with
 * variances λ_k > 0, and one variance σ² > 0 for every direction orthogonal
 * to them. Energy, gradient and draws cost O(D·K) per item; log Z =
 * D/2·log 2π + ½(Σ log λ_k + (D − K) log σ²). mean may be NULL (0). The
 * factors are copied; 1 <= rank < dim, rank <= EBM_GAUSSIAN_LOWRANK_MAX_RANK. */
#define EBM_GAUSSIAN_LOWRANK_MAX_RANK 256
ebm_status ebm_gaussian_lowrank_new(int64_t dim, const double *mean, int64_t rank, const double *u,
                                    const double *lambda, double sigma2, ebm_energy **out);
/* The factors of an energy made by ebm_gaussian_lowrank_new or the low-rank
 * fit (pointers into it, valid while it lives); EBM_ERR_ARG for any other. */
ebm_status ebm_gaussian_lowrank_factors(const ebm_energy *en, int64_t *rank, const double **mean, const double **u,
                                        const double **lambda, double *sigma2);
/* The low-rank Gaussian of up to min(max_items, EBM_GAUSSIAN_LOWRANK_MAX_ITEMS)
 * items (spread as above), fitted exactly: μ their mean, U and λ the top
 * K = min(max_rank, m − 1, dim − 1) eigenpairs of their covariance S (from
 * the m×m Gram matrix of the centred items: O(m²·D + m³ + m·D·K), memory
 * O(m² + D·K), never D×D; directions of variance below 1e-8 of the largest
 * are left out), σ² the mean of S's other dim − K eigenvalues; the full
 * fit's ridge is added to λ and σ², so Σ equals the full fit's Σ with its
 * smallest dim − K eigenvalues replaced by their mean. 300 voxel grids of
 * 32³ (K 256) take under 0.3 s of one core, loading included. */
#define EBM_GAUSSIAN_LOWRANK_MAX_ITEMS 2048
ebm_status ebm_gaussian_energy_fit_lowrank(const float *x, int64_t n, int64_t dim, int64_t max_items,
                                           int64_t max_rank, ebm_energy **out);

/* A Gaussian mixture in the data's principal subspace, for fresh chains of
 * data with many modes in many places (voxel shapes at every position): the
 * low-rank fit above with rank r gives μ, U and σ²; a `components`-component
 * mixture (ebm_gmm_fit, seed 1, ridge 1e-3) is fitted to the items'
 * coordinates c = Uᵀ(x − μ); the rest of x − μ is N(0, σ²) off the subspace.
 * Its energy is −log p(x) exactly (log Z 0; gradient too), and
 * ebm_gaussian_energy_sample / ebm_chain_start_draw draw from it:
 * μ + Uc + σ(ε − UUᵀε), c from one component — a blurred member of one
 * cluster of the data, where one Gaussian draws a blur of all of them.
 * The same items give the same mixture bit for bit. No draws given known
 * values (EBM_ERR_ARG). Errors: those of the two fits, named. */
#define EBM_SUBSPACE_MIXTURE_RANK 64
ebm_status ebm_subspace_mixture_fit(const float *x, int64_t n, int64_t dim, int64_t max_items, int64_t rank,
                                    int components, ebm_energy **out);
/* The fitted parts of a subspace mixture (pointers into it): the low-rank
 * Gaussian whose factors are μ, U, σ² (ebm_gaussian_lowrank_factors) and
 * the mixture on c. EBM_ERR_ARG for any other energy. */
ebm_status ebm_subspace_mixture_parts(const ebm_energy *en, const ebm_energy **subspace, const ebm_gmm **mixture);

/* n fresh chain starts (n×dim) into x. start NULL: uniform over [lo, hi)
 * per value (IGEBM, JEM). Otherwise exact draws from the Gaussian energy
 * `start` (ebm_gaussian_energy_fit on the training data), clamped to
 * [lo, hi]: chains that begin with the data's mean and pixel correlations
 * (JEM++'s informative initialisation, Yang & Ji 2021, without classes),
 * which short chains turn into recognisable samples far sooner. */
ebm_status ebm_chain_start_draw(const ebm_energy *start, ebm_rng *rng, int64_t n, int64_t dim, float lo, float hi,
                                float *x);

/* Chain starts by name (`ebm sample --init`, checkpoint metadata):
 * "uniform", "items:SPEC" (SPEC's items themselves, below), or "gaussian:SPEC", the Gaussian fitted (as above, on up to
 * EBM_CHAIN_START_FIT_ITEMS items) to data set SPEC loaded in [lo, hi], or
 * "mixture:K:SPEC", the K-component subspace mixture fitted to the same
 * items (rank EBM_SUBSPACE_MIXTURE_RANK; --init mixture:K records it).
 * A run trained with --init gaussian records "gaussian:<its data>" under
 * EBM_CHAIN_START_META_KEY, and fits the same items, so sampling its
 * checkpoint starts where training did. open gives *out NULL for
 * "uniform"; EBM_ERR_SHAPE when SPEC's items are not `item` values. */
#define EBM_CHAIN_START_META_KEY "chain_start"
#define EBM_CHAIN_START_FIT_ITEMS 10000
#define EBM_CHAIN_START_TEXT_MAX 512
#define EBM_CHAIN_START_MAX_COMPONENTS 1024
ebm_status ebm_chain_start_open(const char *text, float lo, float hi, int64_t item, ebm_energy **out);
/* The start both of those fit to n items x (n × item): components 0 the
 * Gaussian (ebm_gaussian_energy_fit), K ≥ 1 the K-component subspace
 * mixture (ebm_subspace_mixture_fit), each on up to
 * EBM_CHAIN_START_FIT_ITEMS of the items. */
ebm_status ebm_chain_start_fit(const float *x, int64_t n, int64_t item, int components, ebm_energy **out);
/* The checkpoint's recorded chain start into text; *found 0 if none. */
ebm_status ebm_chain_start_from_checkpoint(const char *path, char text[EBM_CHAIN_START_TEXT_MAX], int *found);

/* A chain start that is a set of items (n × dim, copied): each draw is one
 * of them, chosen uniformly with replacement from the caller's stream
 * (drawn by ebm_chain_start_draw through its draw hook), so draws are fixed by the seed
 * and a resumed run continues them. It has no energy to evaluate (eval
 * gives EBM_ERR_ARG). EBM_ERR_ARG for no items or a non-finite value,
 * naming the item. Text "items:SPEC" in ebm_chain_start_open loads SPEC's
 * items (`ebm train --init npy:FILE` records it, so `ebm sample --ckpt`
 * starts there too). */
#define EBM_CHAIN_START_ITEMS "items:"
ebm_status ebm_items_start_new(const float *x, int64_t n, int64_t dim, ebm_energy **out);
/* 1 if en is an items start. */
int ebm_items_start_is(const ebm_energy *en);

/* Per-class chain starts, for a class-conditional model E(x, y): chains
 * asked for class c start from the start fitted to class c's items only (a
 * mixture of boxes alone, not of every shape). Text "per-class:START"
 * (START one of the fitted forms above, e.g. per-class:mixture:30:SPEC)
 * means: class c's start is START with ":class=c" appended to its data
 * spec, so it refits exactly the items ebm_chain_start_fit_classes used.
 * A conditional run trained with --init gaussian or mixture:K records it. */
#define EBM_CHAIN_START_PER_CLASS "per-class:"
/* 1 if text names per-class starts. */
int ebm_chain_start_is_per_class(const char *text);
/* Class cls's start of a per-class text (EBM_ERR_ARG for cls < 0 or a text
 * that is not per-class; the data's own errors when cls is not one of its
 * classes), as ebm_chain_start_open. */
ebm_status ebm_chain_start_open_class(const char *text, int cls, float lo, float hi, int64_t item, ebm_energy **out);
/* Fits starts[c] for c in 0..classes−1 with ebm_chain_start_fit on the
 * items x (n × item) whose label is c, kept in their order. On failure
 * (EBM_ERR_ARG naming the class: no items, too few for the components) no
 * start is left allocated. The caller frees each starts[c]. */
ebm_status ebm_chain_start_fit_classes(const float *x, const int32_t *labels, int64_t n, int64_t item, int classes,
                                       int components, ebm_energy **starts);
/* n fresh starts into x: item i drawn from starts[y[i]] (ebm_chain_start_draw,
 * one item at a time, so when every y[i] is c the draws are the bits of one
 * ebm_chain_start_draw of n from starts[c]). EBM_ERR_ARG for a label outside
 * 0..classes−1 or a class without a start. */
ebm_status ebm_chain_start_draw_classes(ebm_energy *const *starts, int classes, const int32_t *y, ebm_rng *rng,
                                        int64_t n, int64_t dim, float lo, float hi, float *x);

/* ------------------------------------------ diffusion recovery likelihood */

/* Noise levels, geometric: level 0 is sigma_max, level levels−1 sigma_min
 * (one level: sigma_min). dsm draws its σ from these. */
float ebm_noise_schedule(int levels, float sigma_min, float sigma_max, int level);
/* EBM_ERR_ARG unless 1 <= levels <= 1000 and 0 < sigma_min <= sigma_max. */
ebm_status ebm_noise_schedule_check(int levels, float sigma_min, float sigma_max);

/* Recovery likelihood (Gao et al. 2021, variance exploding; src/sample/recovery.c):
 * the data x_0 are noised by x_{t+1} = x_t + s_{t+1}·ε for t = 0..T−1, with
 * s_1 = sigma_min < ... < s_T = sigma_max (ebm_noise_schedule reversed),
 * and a noise-conditioned energy E(x, σ = s_{t+1}) models level t:
 *   p(x_t | x_{t+1}) ∝ exp(−E(x_t, s_{t+1}) − ‖x_{t+1} − x_t‖²/(2s_{t+1}²)).
 * An energy without a noise level models one level (T = 1). */
/* The same chain of levels, two ways to step through a level:
 *   EBM_LEVELS_RECOVERY  the conditional above, started at x_{t+1};
 *   EBM_LEVELS_ANNEALED  annealed Langevin dynamics (Song & Ermon 2019,
 *                        NCSN's sampler) on E(x, σ) alone, for a model
 *                        trained by denoising score matching at these
 *                        levels (E(·, σ) is then the data noised by σ):
 *                        the same σ's from sigma_max down, the same step
 *                        b·σ² (b = 0.1 is NCSN's ε = 2e-5 at σ_min = 0.01),
 *                        x_T = start + N(0, sigma_max²), and with denoise
 *                        one last step x ← x − σ_min²·∇E(x, σ_min) (Tweedie's
 *                        estimate of the clean x; Jolicoeur-Martineau et
 *                        al. 2021) that takes the σ_min noise back out. */
typedef enum { EBM_LEVELS_RECOVERY = 0, EBM_LEVELS_ANNEALED = 1 } ebm_levels_kind;

typedef struct {
  int levels;                 /* T */
  float sigma_min, sigma_max; /* s_1 and s_T */
  int steps;                  /* Langevin steps per level */
  float step;                 /* b: each chain's step size is b·s², in (0, 2) */
  float range_lo, range_hi;   /* the data box x_T's start is drawn on (or clamped to) */
  ebm_levels_kind kind;       /* recovery (0, the zero value) or annealed */
  int denoise;                /* annealed: end with the Tweedie step */
} ebm_recovery_config;

/* s_t for t = 1..T. */
float ebm_recovery_sigma(const ebm_recovery_config *cfg, int t);
/* EBM_ERR_ARG naming the bad field. */
ebm_status ebm_recovery_config_check(const ebm_recovery_config *cfg);

/* `steps` unadjusted Langevin steps on the conditional of each item i,
 *   E(x, s_i) + ‖y_i − x‖²/(2s_i²),
 * at step size b·s_i² (x ← x − ε∇ + √(2ε)·ξ), moving x (n items; the
 * caller starts it, usually at y) in place. s is also the energy's noise
 * level when en->needs_sigma. y NULL drops the quadratic term: Langevin on
 * E(x, s_i) alone, annealed Langevin's level (same step b·s_i²).
 * Work arrays: e (n), grad and z (n × item). */
ebm_status ebm_recovery_conditional(const ebm_energy *en, const float *y, const float *s, int64_t n, int steps,
                                    float b, ebm_rng *rng, float *x, float *e, float *grad, float *z);

/* n samples into x (n × item) by the chain of levels from noise to data:
 * x_T = a start + N(0, Σ_t s_t²), then each x_t from x_{t+1} by
 * ebm_recovery_conditional (kind EBM_LEVELS_ANNEALED: x_T = a start +
 * N(0, sigma_max²), then `steps` Langevin steps on E(x, s_{t+1}) alone,
 * and the Tweedie step after level 0 when cfg->denoise). The start is ebm_chain_start_draw's: start NULL
 * uniform on [range_lo, range_hi], else draws of that Gaussian energy (the
 * data's, ebm_chain_start_open) clamped to the box — the noisiest
 * marginal, data + N(0, σ̄_T²), has the data's mean and covariance plus
 * σ̄_T², which the Gaussian start matches and the uniform one does not.
 * levels (may be NULL; (T+1) × n × item) gets x_t at index t (x_0 = the
 * samples). */
ebm_status ebm_recovery_sample(const ebm_energy *en, const ebm_recovery_config *cfg, const ebm_energy *start,
                               ebm_rng *rng, int64_t n, float *x, float *levels);

/* -------------------------------------------------------- replay buffer */

/* A fixed-capacity store of past samples (Du & Mordatch): a batch is drawn
 * with a fraction `reinit` replaced by fresh samples from the initial
 * distribution (uniform over [lo, hi) by default), run through MCMC, and
 * written back. With num_classes > 0 there is one buffer per class, so
 * classes never mix; `capacity` is the total, each class gets
 * capacity / num_classes slots. */
typedef struct ebm_replay ebm_replay;

ebm_status ebm_replay_new(int64_t capacity, int item_ndim, const int64_t *item_shape,
                          int num_classes, float lo, float hi, ebm_replay **out);
void ebm_replay_free(ebm_replay *rb);

/* How ebm_replay_put stores sampled chains once a store is full:
 *   random     a chain drawn from a slot returns to that slot, a fresh one
 *              replaces a uniformly random slot (IGEBM; the default)
 *   reservoir  every chain is a new item; after t items were offered each
 *              of them is in the store with probability slots/t (Vitter's
 *              algorithm R; Du et al. 2021's ReservoirBuffer)
 *   fifo       every chain is a new item replacing the oldest one
 * While a store fills, new items take the next free slot. */
typedef enum {
  EBM_REPLAY_RANDOM = 0, EBM_REPLAY_RESERVOIR, EBM_REPLAY_FIFO, EBM_REPLAY_POLICY_COUNT
} ebm_replay_policy;
const char *ebm_replay_policy_name(ebm_replay_policy policy);
int ebm_replay_policy_from_name(const char *name); /* -1 if unknown */
/* Sets the policy (before the first put, or before a restore, which checks
 * that the saved buffer used the same one). */
ebm_status ebm_replay_set_policy(ebm_replay *rb, ebm_replay_policy policy);
ebm_replay_policy ebm_replay_get_policy(const ebm_replay *rb);

/* Draws n items into x (and, with classes, their labels into y, which the
 * caller chooses: y is input then). Item i is fresh noise with probability
 * `reinit`; otherwise a uniformly chosen stored item (a buffer that is still
 * empty gives noise). idx receives the slot of each item (−1 = fresh) for
 * ebm_replay_put. */
ebm_status ebm_replay_get(ebm_replay *rb, float *x, const int32_t *y, int64_t n, float reinit,
                          ebm_rng *rng, int64_t *idx);
/* Writes the n sampled items back by the buffer's policy (idx from
 * ebm_replay_get, or NULL: all new items). */
ebm_status ebm_replay_put(ebm_replay *rb, const float *x, const int32_t *y, int64_t n,
                          const int64_t *idx, ebm_rng *rng);
/* Items stored (per class: class y; −1 = all). */
int64_t ebm_replay_size(const ebm_replay *rb, int y);
/* Where ebm_replay_get's fresh items come from (ebm_chain_start_draw):
 * NULL (the default) uniform over [lo, hi), else draws from this Gaussian
 * energy, borrowed for the buffer's life. The items' size must match. */
ebm_status ebm_replay_set_start(ebm_replay *rb, const ebm_energy *start);
/* A class-conditional buffer's fresh items of class c from starts[c]
 * (ebm_chain_start_fit_classes; a NULL entry falls back to the start
 * above), borrowed for the buffer's life; starts NULL turns it off.
 * EBM_ERR_SHAPE when classes is not the buffer's or an item size differs. */
ebm_status ebm_replay_set_class_starts(ebm_replay *rb, ebm_energy *const *starts, int classes);
/* Save/restore: tensors "replay.<class>" and metadata (with the policy's
 * counters), byte-exact. */
ebm_status ebm_replay_save(const ebm_replay *rb, ebm_st_writer *w);
ebm_status ebm_replay_restore(ebm_replay *rb, const ebm_safetensors *st);
/* A new buffer holding what ebm_replay_save wrote into st (a run's
 * ckpt/last.state.safetensors), its layout and policy read from the file's
 * metadata: for drawing chains from a finished run. A file without a
 * buffer → EBM_ERR_FORMAT naming it. Free with ebm_replay_free. */
ebm_status ebm_replay_load(const ebm_safetensors *st, ebm_replay **out);
/* The buffer's item shape (item_ndim ≤ 3 dimensions) and classes (0 =
 * unconditional). */
void ebm_replay_shape(const ebm_replay *rb, int *item_ndim, int64_t item_shape[3], int *num_classes);
/* Copies up to n stored items of class y (−1: any) into x; returns count. */
int64_t ebm_replay_peek(const ebm_replay *rb, int y, int64_t n, float *x);

#ifdef __cplusplus
}
#endif
#endif
