/* Shared by the verbs that use a trained model (compose, inpaint, denoise,
 * translate): sampler flags, loading a checkpoint as an energy, loading
 * image arrays with shape checks, and the pictures they write. Each
 * function returns 0 or the exit code after printing the problem. */
#ifndef EBM_CLI_USE_COMMON_H
#define EBM_CLI_USE_COMMON_H

#include "cli.h"

/* The network evaluates at most this many items per pass. */
#define USE_MAX_NET_BATCH 256
#define USE_MAX_ITEMS 1000000

/* Sampler flags as text, so "not given" (NULL) means the sampler's default. */
typedef struct {
  const char *sampler, *steps, *step_size, *noise, *grad_clip;
  int leapfrog, adapt;
  float friction, temperature; /* kinetic friction and exp(-E/T): flags of `sample` only */
  const char *noise_flag; /* the Langevin noise flag's name: "noise", or
                             "sampler-noise" where --noise means something else */
} use_sampler_flags;

/* Defaults for the fields above (leapfrog 10, adapt -1 = automatic,
 * friction 1, temperature 1, noise_flag "noise"). */
void use_sampler_flags_init(use_sampler_flags *f);

/* The cli_opt entries for the flags, to put in a verb's table. */
#define USE_SAMPLER_OPTS(f)                                                                          \
  {"sampler", OPT_STRING, &(f).sampler, "NAME", "langevin | ula | mala | hmc | kinetic"},           \
  {"steps", OPT_STRING, &(f).steps, "K", "MCMC steps (default: the sampler's, 60 for langevin)"},   \
  {"step-size", OPT_STRING, &(f).step_size, "S", "λ for langevin (default 10), ε for the others"}, \
  {(f).noise_flag, OPT_STRING, &(f).noise, "SIGMA", "langevin noise std (default 0.005)"},            \
  {"grad-clip", OPT_STRING, &(f).grad_clip, "C", "per-element gradient clip, 0 = off (langevin default 0.01)"}, \
  {"leapfrog", OPT_INT, &(f).leapfrog, "L", "leapfrog steps per HMC step"},                         \
  {"adapt", OPT_INT, &(f).adapt, "A", "mala/hmc: adapt ε in the first A steps (-1: half the steps)"}

/* Builds a sampler config from the flags; `default_kind` when --sampler is
 * absent. Every bad value is a usage error naming its flag. */
int use_sampler_config(const char *verb, const use_sampler_flags *f, ebm_sampler_kind default_kind,
                       ebm_sampler_config *cfg);

/* The same over `base` (e.g. a checkpoint's recorded settings) instead of
 * the defaults: its kind unless --sampler names another (then that kind's
 * defaults); its steps, step size, noise, clip and clamp unless a flag
 * gives them. Leapfrog, friction, temperature and adapt come from the
 * flags' values as in use_sampler_config. */
int use_sampler_config_from(const char *verb, const use_sampler_flags *f, const ebm_sampler_config *base,
                            ebm_sampler_config *cfg);

/* Parses a finite number / an integer given as text; usage error naming --flag. */
int use_parse_float(const char *verb, const char *flag, const char *text, float *out);
int use_parse_int(const char *verb, const char *flag, const char *text, int *out);

/* The model of a --ckpt flag: any energy spec (below), so CKPT:class=Y and
 * the analytic energies work there too. Free with use_model_close. */
typedef ebm_energy_source use_model;
int use_model_open(const char *verb, const char *path, int64_t max_batch, use_model *m);

/* --flag TEXT: an energy spec (compose.h: CKPT[:class=Y], toy:NAME,
 * gaussian:D[:mean=..][:std=..]) parsed with `flags` and opened for batches
 * of up to max_batch (capped at USE_MAX_NET_BATCH). Syntax and class
 * problems are usage errors (exit 2), file problems runtime errors (1).
 * spec (may be NULL) receives the parsed spec (the caller frees it);
 * close src with ebm_energy_source_close whatever happens. */
int use_energy_open(const char *verb, const char *flag, const char *text, unsigned flags, int64_t max_batch,
                    ebm_energy_source *src, ebm_energy_spec *spec);
void use_model_close(use_model *m);

/* The model CKPT and the items of --flag PATH it is to work on: loads the
 * array (float32 .npy, 1..USE_MAX_ITEMS items), opens the model for that
 * many items and checks them against it: shape [N] + item shape, or
 * [N, H, W] when the items are 1×H×W; finite values. Whatever happens, the
 * caller releases *x (ebm_npy_free) and *m (use_model_close). */
int use_open_items(const char *verb, const char *ckpt, const char *flag, const char *path, ebm_npy *x,
                   use_model *m);

/* EBM_ERR_NUMERIC "--FLAG PATH: value K is nan" for the first value of
 * v[0..count) that is not finite; EBM_OK when all are. */
ebm_status use_check_finite(const char *flag, const char *path, const float *v, int64_t count);

/* Where fresh chains start (ebm_chain_start_open): `init` ("uniform" |
 * "gaussian:SPEC") if given, else the start that checkpoint `ckpt` (may be
 * NULL) records from its training, else uniform. text receives the name
 * used, *start the Gaussian (NULL for uniform; the caller frees it). A bad
 * --init is a usage error naming it. */
int use_chain_start_open(const char *verb, const char *ckpt, const char *init, float lo, float hi, int64_t item,
                         char text[EBM_CHAIN_START_TEXT_MAX], ebm_energy **start);

/* --png needs an image model (C = 1 or 3): 0, or a usage error. */
int use_check_png(const char *verb, const char *png, const ebm_energy *en);

/* The energy's data range, or [lo_default, hi_default] when it has none. */
void use_range(const ebm_energy *en, float lo_default, float hi_default, float *lo, float *hi);

/* The class label flag for a conditional energy: y must be in
 * [0, num_classes) for a conditional model and -1 (absent) otherwise. */
int use_check_class(const char *verb, const char *flag, int y, const ebm_energy *en);

/* 1 when the energy's items can be drawn as images (C = 1 or 3). */
int use_is_image(const ebm_energy *en);

/* A PNG grid of n images (n×C×H×W, values mapped from [lo, hi]) with
 * ncols columns (0: a square grid). */
ebm_status use_write_images(const char *path, const ebm_energy *en, float lo, float hi, const float *images,
                            int64_t n, int ncols);

/* A PNG of image rows: rows[r] holds `ncols` items; the grid has ncols
 * columns and nrows rows, values mapped from [lo, hi]. */
ebm_status use_write_rows(const char *path, const ebm_energy *en, float lo, float hi,
                          const float *const *rows, int nrows, int64_t ncols);

/* Trajectories use_write_density_chains can tell apart (one colour each). */
#define USE_DENSITY_CHAINS 8

/* For 2-D energies: the density exp(−E/T) over [lo, hi]² as a heat-map with
 * the n points x (n×2) as red dots. `label` is the class a conditional
 * energy is drawn for (-1: none, the energy gets no labels). */
ebm_status use_write_density(const char *path, const ebm_energy *en, float lo, float hi, int32_t label,
                             float temp, const float *x, int64_t n);

/* The same heat-map with `rows` (at most USE_DENSITY_CHAINS) trajectories
 * of `cols` points each drawn as coloured lines; traj is rows×cols×2. */
ebm_status use_write_density_chains(const char *path, const ebm_energy *en, float lo, float hi, int32_t label,
                                    float temp, const float *traj, int rows, int cols);

/* A sampler step callback for the verbs that show only the mean energy:
 * ctx is the ebm_progress bar. */
void use_progress_step(void *ctx, int step, const float *x, int64_t n, const ebm_sample_stats *st);

/* Snapshots of the first `rows` chains every `every` steps, the start
 * first, for a picture of the chains over time. */
typedef struct {
  int64_t item;
  int rows, cols, every, steps, filled;
  float *snaps; /* rows × cols items, row-major (a row is one chain over time) */
} use_trajectory;

/* Plans `steps` sampler steps on n chains: every = every_flag (0: steps/10,
 * at least 1), rows = min(n, max_rows), cols = 1 + ceil(steps / every).
 * The caller checks cols against its limit. */
void use_trajectory_plan(use_trajectory *t, int every_flag, int steps, int64_t n, int max_rows, int64_t item);

/* Allocates the snapshots and takes the first, of x (EBM_ERR_NOMEM naming
 * --flag). Free t->snaps when done. */
ebm_status use_trajectory_start(use_trajectory *t, const char *flag, const float *x);

/* From a step callback: takes a snapshot of x when step (0-based) ends a
 * period or the run; nothing before use_trajectory_start. */
void use_trajectory_step(use_trajectory *t, int step, const float *x);

/* 1 when the energy's items are points of the plane (D = 2). */
int use_is_plane(const ebm_energy *en);

/* --flag PATH (may be NULL) draws images or 2-D points: 0, or a usage
 * error naming the flag and the item size. */
int use_check_picture(const char *verb, const char *flag, const char *path, const ebm_energy *en);

/* n items of en as float32 .npy, shape [n] + the item shape. */
ebm_status use_save_items(const char *path, const ebm_energy *en, const float *x, int64_t n);

/* The picture of n samples x at path (nothing when path is NULL): for 2-D
 * energies the density with the points (use_write_density; label and temp
 * as there), else an image grid (use_write_images). The caller checked it
 * with use_check_picture. */
ebm_status use_write_picture(const char *path, const ebm_energy *en, float lo, float hi, int32_t label, float temp,
                             const float *x, int64_t n);

/* The mean of v[0..n). */
double use_mean(const float *v, int64_t n);

#endif
