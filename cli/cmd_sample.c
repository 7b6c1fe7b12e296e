/* `ebm sample`: draw samples from a trained model (--ckpt) or an analytic
 * energy (--energy toy:NAME | gaussian:D) with any sampler of sample.h,
 * write them as .npy, and on request as pictures: an image grid, chains over
 * time, or for 2-D energies the density exp(−E) with the samples on top. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/recovery_meta.h"
#include "sample_generator.h"

#define VERB "sample"
#define DEFAULT_CHAINS 64
#define MAX_CHAINS 1000000
#define CHAIN_ROWS USE_DENSITY_CHAINS /* chains shown by --chain */
#define CHAIN_MAX_COLS 64

/* --------------------------------------------------------------- flags */

typedef struct {
  const char *ckpt, *energy, *init, *out, *png, *chain, *levels_png, *from_buffer, *data, *space, *latents;
  int cls, every, from_generator, mixture, no_denoise;
  const char *level_sampler; /* --level-sampler recovery|annealed (NULL: the checkpoint's) */
  int64_t n, seed;
  double anneal;
  use_sampler_flags sf;
  char run_ckpt[4096]; /* RUN/ckpt/last.safetensors for --from-buffer alone */
  ebm_recovery_config rec; /* --levels > 0 or a model that takes σ: recovery likelihood's chain of levels */
} sample_flags;

/* The number of items an --init npy:FILE holds: 0 or an exit code. */
static int npy_item_count(const char *init, int64_t *n) {
  ebm_npy a;
  ebm_status st = ebm_npy_load(init + 4, &a);
  if (st != EBM_OK) return cli_runtime_error(st);
  *n = a.ndim >= 1 && a.shape[0] <= MAX_CHAINS ? a.shape[0] : 0;
  ebm_npy_free(&a);
  if (*n < 1) return cli_usage_error(VERB, "--init %s: holds no items (or more than %d)", init, MAX_CHAINS);
  return 0;
}

/* Every flag and the number of chains: 0, -1 after --help, or an exit code. */
static int parse_flags(int argc, char **argv, sample_flags *f, int64_t *n) {
  cli_opt opts[] = {
      {"ckpt", OPT_ENERGY_IN, &f->ckpt, "CKPT", "a trained model (safetensors checkpoint)"},
      {"energy", OPT_ENERGY_IN, &f->energy, "SPEC", "an energy spec instead: toy:NAME, gaussian:D[:mean=M][:std=S] or CKPT[:class=Y]"},
      {"sampler", OPT_STRING, &f->sf.sampler, "NAME", "langevin | ula | mala | hmc | kinetic (default: the checkpoint's, else langevin with --ckpt, else mala)"},
      {"steps", OPT_STRING, &f->sf.steps, "K", "MCMC steps (default: the checkpoint's, else 60 for langevin, else 100)"},
      {"step-size", OPT_STRING, &f->sf.step_size, "S", "λ for langevin (default 10), ε for the others (default 0.1)"},
      {"noise", OPT_STRING, &f->sf.noise, "SIGMA", "langevin noise std (default 0.005)"},
      {"grad-clip", OPT_STRING, &f->sf.grad_clip, "C", "per-element gradient clip, 0 = off (default: 0.01 for langevin, else 0)"},
      {"leapfrog", OPT_INT, &f->sf.leapfrog, "L", "leapfrog steps per HMC step"},
      {"friction", OPT_FLOAT, &f->sf.friction, "GAMMA", "kinetic Langevin friction"},
      {"temperature", OPT_FLOAT, &f->sf.temperature, "T", "sample exp(-E/T)"},
      {"adapt", OPT_INT, &f->sf.adapt, "A", "mala/hmc: adapt the step size toward 0.574/0.65 acceptance in the first A steps (-1: half the steps)"},
      {"anneal", OPT_DOUBLE, &f->anneal, "T0", "start hot: 4 phases from T0 down to 1 (langevin: noise ×√T, others exp(-E/T)); 1 = off"},
      {"n", OPT_INT64, &f->n, "N", "chains (0: 64, or every item of --init npy:FILE)"},
      {"class", OPT_INT, &f->cls, "Y", "class label for a conditional model (-1: cycle through all)"},
      {"init", OPT_SPEC_IN, &f->init, "INIT", "uniform | gaussian:SPEC (a Gaussian fitted to data SPEC) | mixture:K:SPEC (K Gaussians in SPEC's principal subspace) | per-class:gaussian:SPEC or per-class:mixture:K:SPEC (a conditional model's chains of class c from the start fitted to SPEC:class=c) | data:SPEC | npy:FILE (its first N items, in order) | items:SPEC (SPEC's items, one drawn at random per chain) (default: the checkpoint's training start, else uniform; recovery likelihood's noisiest level: uniform or gaussian:SPEC)"},
      {"from-buffer", OPT_PATH_IN, &f->from_buffer, "RUN", "start from the replay buffer of a training run (RUN/ckpt/last.state.safetensors; --ckpt defaults to the run's model)"},
      {"data", OPT_SPEC_IN, &f->data, "SPEC", "also report the mean energy of N items of this data set"},
      {"seed", OPT_INT64, &f->seed, "S", "random seed"},
      {"out", OPT_PATH_OUT, &f->out, "OUT.npy", "where to write the samples (required)"},
      {"png", OPT_PATH_OUT, &f->png, "FILE.png", "a picture: image grid, density + samples for 2-D, an animated PNG of videos, three views of voxels"},
      {"chain", OPT_PATH_OUT, &f->chain, "FILE.png", "chains over time (at most 8 rows)"},
      {"every", OPT_INT, &f->every, "M", "--chain: one column every M steps (0: steps/10)"},
      {"levels", OPT_INT, &f->rec.levels, "T", "recovery likelihood: noise levels (default: the checkpoint's schedule, else 1; a model that takes σ always samples by levels)"},
      {"sigma-min", OPT_FLOAT, &f->rec.sigma_min, "S", "recovery likelihood: the smallest level's σ (the checkpoint's, else 0.1)"},
      {"sigma-max", OPT_FLOAT, &f->rec.sigma_max, "S", "recovery likelihood: the largest level's σ (the checkpoint's, else 1)"},
      {"recovery-step", OPT_FLOAT, &f->rec.step, "B", "chain of levels: Langevin step b·s² (the checkpoint's, else 0.1)"},
      {"level-sampler", OPT_STRING, &f->level_sampler, "NAME", "chain of levels: recovery (recovery likelihood's conditionals) or annealed (annealed Langevin on E(x, s), for a dsm model; default: what the checkpoint records, else recovery)"},
      {"no-denoise", OPT_FLAG, &f->no_denoise, NULL, "annealed Langevin: end without the last denoising step x - s_min^2 * grad E"},
      {"levels-png", OPT_PATH_OUT, &f->levels_png, "FILE.png", "recovery likelihood: the samples at every level, noise to data (2-D: a scatter per level; images: a row per level)"},
      {"space", OPT_STRING, &f->space, "latent|data", "a model with a generator: sample z in latent space (then G(z)) or x from G(z) on E (default: latent for gebm / latent-ebm, data for coop)"},
      {"from-generator", OPT_FLAG, &f->from_generator, NULL, "a model with a generator: G(z), z ~ N(0, I), the generator alone"},
      {"latents", OPT_PATH_IN, &f->latents, "Z.npy", "a model with a generator: G(z), z from a Gaussian mixture fitted to these latents (N, latent dim), e.g. ebm reconstruct --latents-out"},
      {"mixture", OPT_INT, &f->mixture, "K", "--latents: the mixture's components (default 1: one full-covariance Gaussian)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (f->from_buffer && !f->ckpt && !f->energy) {
    snprintf(f->run_ckpt, sizeof f->run_ckpt, "%s/ckpt/last.safetensors", f->from_buffer);
    f->ckpt = f->run_ckpt;
  }
  if (!f->ckpt == !f->energy) return cli_usage_error(VERB, "give exactly one of --ckpt CKPT or --energy SPEC");
  if (!f->out || !f->out[0]) return cli_usage_error(VERB, "--out OUT.npy is required");
  if (f->n < 0 || f->n > MAX_CHAINS) return cli_usage_error(VERB, "--n must be in 1..%d, got %lld", MAX_CHAINS, (long long)f->n);
  if (f->every < 0) return cli_usage_error(VERB, "--every must be >= 1 (0: automatic), got %d", f->every);
  if (!(f->anneal >= 1.0 && f->anneal <= 1e6))
    return cli_usage_error(VERB, "--anneal must be in [1, 1e6] (1 = off), got %g", f->anneal);
  if (f->mixture < 0 || f->mixture > 256 || (f->mixture && !f->latents))
    return cli_usage_error(VERB, f->latents ? "--mixture must be in 1..256, got %d" : "--mixture %d needs --latents Z.npy",
                           f->mixture);
  if (f->from_buffer && f->init)
    return cli_usage_error(VERB, "--from-buffer and --init %s both say where chains start: give one", f->init);
  *n = f->n;
  if (*n == 0 && f->init && strncmp(f->init, "npy:", 4) == 0 && (rc = npy_item_count(f->init, n))) return rc;
  if (*n == 0) *n = DEFAULT_CHAINS;
  return 0;
}

/* --------------------------------------------------------------- energy */

/* The energy to sample: --ckpt or --energy, one spec grammar (compose.h). */
typedef struct {
  ebm_energy_source src;
  const ebm_energy *en;
  float lo, hi;      /* the data range, or ±4 (the toys' box) for pictures and noise */
  int from_ckpt;     /* the sampler settings came from the checkpoint's metadata */
  ebm_recovery_config rec; /* the checkpoint's recovery schedule (rec_found), else ebm train's defaults */
  int rec_found;
  char start[EBM_CHAIN_START_TEXT_MAX]; /* where chains start without --init: the checkpoint's, else uniform */
} target;

static void target_free(target *t) { ebm_energy_source_close(&t->src); }

/* The sampler: the flags over the checkpoint's recorded settings (a
 * training run records how its model is sampled), else over the defaults. */
static int sampler_for(const sample_flags *f, const ebm_energy_spec *spec, target *t, ebm_sampler_config *cfg) {
  ebm_sampler_config base = ebm_sampler_defaults(f->ckpt ? EBM_SAMPLER_LANGEVIN : EBM_SAMPLER_MALA);
  t->rec = (ebm_recovery_config){.levels = 1, .sigma_min = 0.1f, .sigma_max = 1.0f, .step = 0.1f};
  snprintf(t->start, sizeof t->start, "uniform");
  if (spec->kind == EBM_SOURCE_CKPT) {
    ebm_status st = ebm_sampler_config_from_checkpoint(spec->path, &base, &t->from_ckpt);
    if (st == EBM_OK) st = ebm_recovery_config_from_checkpoint(spec->path, &t->rec, &t->rec_found);
    int start_found = 0;
    if (st == EBM_OK) st = ebm_chain_start_from_checkpoint(spec->path, t->start, &start_found);
    if (st != EBM_OK) return cli_runtime_error(st);
    /* the recorded start draws the model's own items, a window= sum's are sequences of them */
    if (start_found && !f->init && spec->window_count > 0)
      return cli_usage_error(VERB, "--ckpt %s:window=%lld,%lld: the checkpoint's chain start (%s) draws its windows, "
                             "not whole sequences; give --init (e.g. gaussian:SPEC of the sequences)", spec->path,
                             (long long)spec->window_stride, (long long)spec->window_count, t->start);
    if (start_found && !f->init)
      fprintf(stderr, "ebm %s: chains start from %s, as in training (--init overrides)\n", VERB, t->start);
  }
  return use_sampler_config_from(VERB, &f->sf, &base, cfg);
}

/* Opens the energy, checks the picture and class flags against it and
 * builds the sampler config. Returns 0, or an exit code after printing. */
static int target_open(const sample_flags *f, int64_t n, target *t, ebm_sampler_config *cfg) {
  const ebm_energy *en;
  ebm_energy_spec spec = {0};
  int rc = use_energy_open(VERB, f->ckpt ? "ckpt" : "energy", f->ckpt ? f->ckpt : f->energy, 0, n, &t->src, &spec);
  if (!rc) rc = sampler_for(f, &spec, t, cfg);
  ebm_energy_spec_free(&spec);
  if (rc) return rc;
  t->en = en = t->src.energy;
  use_range(en, -(float)EBM_TOY_EXTENT, (float)EBM_TOY_EXTENT, &t->lo, &t->hi);
  const int volumes = t->src.net && ebm_net_volume_depth(t->src.net) > 0;
  if ((!volumes && (rc = use_check_picture(VERB, "png", f->png, en))) ||
      (rc = use_check_picture(VERB, "chain", f->chain, en)))
    return rc;
  if (f->cls >= 0 && en->num_classes == 0) return cli_usage_error(VERB, "--class %d: %s is unconditional", f->cls, en->name);
  if (f->cls < -1 || (en->num_classes > 0 && f->cls >= en->num_classes))
    return cli_usage_error(VERB, "--class must be in 0..%d (or -1 for all), got %d",
                           en->num_classes > 0 ? en->num_classes - 1 : 0, f->cls);
  return 0;
}

/* ----------------------------------------------------------------- init */

/* n items of data set `spec` drawn at random (with repetition when the set
 * is smaller) into x, and their labels into y where the model takes them;
 * *have_labels says whether it did. `what` ("--init data:SPEC") names the
 * flag in messages. */
static int draw_data(const char *what, const char *spec, const ebm_energy *en, int64_t n, ebm_rng *rng, float *x,
                     int32_t *y, int *have_labels) {
  const int64_t item = ebm_energy_item_size(en);
  char want[64], got[64];
  ebm_dataset *ds = NULL;
  int ranged = en->range_lo < en->range_hi;
  ebm_status st = ebm_dataset_load(spec, ranged ? en->range_lo : 0.0f, ranged ? en->range_hi : 1.0f, &ds);
  if (st == EBM_ERR_ARG) return cli_usage_error(VERB, "%s: %s", what, ebm_last_error());
  if (st != EBM_OK) return cli_runtime_error(st);
  const ebm_tensor *d = ds->x;
  if (d->ndim != 1 + en->item_ndim ||
      memcmp(d->shape + 1, en->item_shape, (size_t)en->item_ndim * sizeof(int64_t)) != 0) {
    ebm_shape_str(d->ndim - 1, d->shape + 1, got, sizeof got);
    ebm_shape_str(en->item_ndim, en->item_shape, want, sizeof want);
    ebm_dataset_free(ds);
    return cli_runtime_error(ebm_set_error(EBM_ERR_SHAPE, "%s has items %s, %s expects %s", what, got, en->name,
                                           want));
  }
  for (int64_t i = 0; i < n; i++) {
    int64_t k = (int64_t)ebm_rng_below(rng, (uint32_t)d->shape[0]);
    memcpy(x + i * item, d->data + k * item, (size_t)item * sizeof(float));
    if (ds->labels && en->num_classes > 0 && ds->labels[k] < en->num_classes) y[i] = ds->labels[k];
  }
  *have_labels = ds->labels && en->num_classes > 0 && ds->num_classes <= en->num_classes;
  ebm_dataset_free(ds);
  return 0;
}

/* --init npy:FILE: its first n items, which must fit the energy. */
static int load_npy_init(const char *init, const target *t, int64_t n, float *x) {
  const ebm_energy *en = t->en;
  const int64_t item = ebm_energy_item_size(en);
  char want[64], got[64];
  ebm_npy a;
  ebm_status st = ebm_npy_load(init + 4, &a);
  if (st != EBM_OK) return cli_runtime_error(st);
  int ok = a.dtype == EBM_DTYPE_F32 && a.ndim == 1 + en->item_ndim &&
           memcmp(a.shape + 1, en->item_shape, (size_t)en->item_ndim * sizeof(int64_t)) == 0;
  /* volumes as `ebm data make` writes them, N×C×D×H×W: the same floats as N×(C·D)×H×W */
  ok |= a.dtype == EBM_DTYPE_F32 && a.ndim == 5 && en->item_ndim == 3 &&
        a.shape[1] * a.shape[2] == en->item_shape[0] && a.shape[3] == en->item_shape[1] &&
        a.shape[4] == en->item_shape[2];
  if (!ok || a.shape[0] < n) {
    ebm_shape_str(a.ndim, a.shape, got, sizeof got);
    ebm_shape_str(en->item_ndim, en->item_shape, want, sizeof want);
    ebm_npy_free(&a);
    return cli_runtime_error(ebm_set_error(
        EBM_ERR_SHAPE, "%s: holds %s %s, need float32 [%lld]+%s for --init", init + 4,
        a.dtype == EBM_DTYPE_F32 ? "float32" : ebm_dtype_name(a.dtype), got, (long long)n, want));
  }
  st = use_check_finite("init", init, a.data, n * item);
  if (st == EBM_OK) memcpy(x, a.data, (size_t)(n * item) * sizeof(float));
  ebm_npy_free(&a);
  if (st != EBM_OK) return cli_runtime_error(st);
  if (t->lo < t->hi) cli_warn_outside_range(VERB, init, x, n * item, t->lo, t->hi, NULL);
  return 0;
}

/* --from-buffer RUN: n chains drawn from the run's replay buffer (of the
 * classes in y for a conditional model), none replaced by noise. A buffer
 * without classes (a JEM run's: its chains sample log p(x)) starts the
 * chains of every class from anywhere in it. */
static int load_buffer_init(const char *run, const ebm_energy *en, int64_t n, ebm_rng *rng, float *x,
                            const int32_t *y) {
  char path[4200], want[64], got[64];
  snprintf(path, sizeof path, "%s/ckpt/last.state.safetensors", run);
  ebm_safetensors *file = NULL;
  ebm_replay *rb = NULL;
  ebm_status st = ebm_safetensors_load(path, &file);
  if (st == EBM_OK) st = ebm_replay_load(file, &rb);
  int ndim = 0, classes = 0;
  int64_t shape[3] = {0};
  if (st == EBM_OK) ebm_replay_shape(rb, &ndim, shape, &classes);
  if (st == EBM_OK && (ndim != en->item_ndim || memcmp(shape, en->item_shape, (size_t)ndim * sizeof *shape) != 0 ||
                       (classes != en->num_classes && classes != 0)))
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: the replay buffer holds items %s in %d classes, %s takes %s in %d", path,
                       ebm_shape_str(ndim, shape, got, sizeof got), classes, en->name,
                       ebm_shape_str(en->item_ndim, en->item_shape, want, sizeof want), en->num_classes);
  if (st == EBM_OK) st = ebm_replay_get(rb, x, classes ? y : NULL, n, 0.0f, rng, NULL);
  ebm_replay_free(rb);
  ebm_safetensors_free(file);
  return st == EBM_OK ? 0 : cli_runtime_error(st);
}

/* Fresh chains: uniform noise on the range, or draws from the Gaussian
 * fitted to a data set (ebm_chain_start_open). */
static int start_chains(const char *init, const target *t, int64_t n, ebm_rng *rng, float *x) {
  const int64_t item = ebm_energy_item_size(t->en);
  char text[EBM_CHAIN_START_TEXT_MAX];
  ebm_energy *start = NULL;
  int rc = use_chain_start_open(VERB, NULL, init, t->lo, t->hi, item, text, &start);
  ebm_status st = rc ? EBM_OK : ebm_chain_start_draw(start, rng, n, item, t->lo, t->hi, x);
  ebm_energy_free(start);
  return rc ? rc : st == EBM_OK ? 0 : cli_runtime_error(st);
}

/* Fresh chains of a conditional model from per-class starts
 * (per-class:START, what a conditional run trained from a fitted start
 * records): chain i from the start of its class y[i], fitted to that
 * class's items; only the classes asked for are fitted. */
static int start_chains_per_class(const char *init, const target *t, int64_t n, const int32_t *y, ebm_rng *rng,
                                  float *x) {
  const ebm_energy *en = t->en;
  if (!y) return cli_usage_error(VERB, "--init %s: one start per class needs a class-conditional model; %s is not", init,
                                 en->name);
  const int64_t item = ebm_energy_item_size(en);
  ebm_energy **starts = calloc((size_t)en->num_classes, sizeof *starts);
  if (!starts) return cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory for %d chain starts", en->num_classes));
  ebm_status st = EBM_OK;
  for (int64_t i = 0; st == EBM_OK && i < n; i++)
    if (!starts[y[i]]) st = ebm_chain_start_open_class(init, y[i], t->lo, t->hi, item, &starts[y[i]]);
  if (st == EBM_OK) st = ebm_chain_start_draw_classes(starts, en->num_classes, y, rng, n, item, t->lo, t->hi, x);
  for (int c = 0; c < en->num_classes; c++) ebm_energy_free(starts[c]);
  free(starts);
  if (st == EBM_ERR_ARG) return cli_usage_error(VERB, "--init %s: %s", init, ebm_last_error());
  return st == EBM_OK ? 0 : cli_runtime_error(st);
}

/* Fills x (n items) and the labels y of a conditional energy: --class, else
 * chain i gets class i mod C, or the labels of --init data:SPEC items. */
static int init_chains(const sample_flags *f, const target *t, int64_t n, ebm_rng *rng, float *x, int32_t *y) {
  const ebm_energy *en = t->en;
  int data_labels = 0, rc;
  char what[4200];
  for (int64_t i = 0; y && i < n; i++) y[i] = f->cls >= 0 ? f->cls : (int32_t)(i % en->num_classes);
  if (f->from_buffer) return load_buffer_init(f->from_buffer, en, n, rng, x, y);
  const char *init = f->init ? f->init : t->start;
  if (ebm_chain_start_is_per_class(init)) return start_chains_per_class(init, t, n, y, rng, x);
  if (strcmp(init, "uniform") == 0 || strncmp(init, "gaussian:", 9) == 0 || strncmp(init, "mixture:", 8) == 0 ||
      strncmp(init, EBM_CHAIN_START_ITEMS, strlen(EBM_CHAIN_START_ITEMS)) == 0)
    return start_chains(init, t, n, rng, x);
  if (strncmp(init, "npy:", 4) == 0) return load_npy_init(init, t, n, x);
  if (strncmp(init, "data:", 5) != 0)
    return cli_usage_error(VERB, "--init expects uniform, gaussian:SPEC, mixture:K:SPEC, items:SPEC, data:SPEC or npy:FILE, got '%s'",
                           init);
  snprintf(what, sizeof what, "--init %s", init);
  if ((rc = draw_data(what, init + 5, en, n, rng, x, y, &data_labels))) return rc;
  if (data_labels && f->cls >= 0)
    for (int64_t i = 0; i < n; i++) y[i] = f->cls;
  return 0;
}

/* ---------------------------------------------------------------- run */

/* Per-step bookkeeping: chain snapshots for --chain and the progress bar. */
typedef struct {
  use_trajectory traj;
  ebm_progress *progress;
  double accept_sum;
  int accept_from, accept_count;
  float step_size;
} run_watch;

static void on_step(void *ctx, int step, const float *x, int64_t n, const ebm_sample_stats *st) {
  (void)n;
  run_watch *w = ctx;
  int done = step + 1;
  use_trajectory_step(&w->traj, step, x);
  if (step >= w->accept_from) {
    w->accept_sum += st->accept_rate;
    w->accept_count++;
  }
  char metric[80];
  snprintf(metric, sizeof metric, "E %.4g acc %.3f eps %.3g", (double)st->mean_energy,
           (double)st->accept_rate, (double)st->step_size);
  ebm_progress_update(w->progress, done, metric);
}

/* Runs the chains (annealed by --anneal), snapshotting them for --chain. */
static int run_chains(const sample_flags *f, const ebm_energy *en, const ebm_sampler_config *cfg, float *x,
                      const int32_t *y, int64_t n, ebm_rng *rng, float *fe, run_watch *w) {
  use_trajectory *traj = &w->traj;
  ebm_status st;
  w->accept_from = cfg->adapt_steps;
  if (f->chain) {
    use_trajectory_plan(traj, f->every, cfg->steps, n, CHAIN_ROWS, ebm_energy_item_size(en));
    if (traj->cols > CHAIN_MAX_COLS)
      return cli_usage_error(VERB, "--every %d gives %d columns over %d steps; at most %d (raise --every)",
                             traj->every, traj->cols, cfg->steps, CHAIN_MAX_COLS);
    if ((st = use_trajectory_start(traj, "chain", x)) != EBM_OK) return cli_runtime_error(st);
  }
  ebm_anneal_plan plan = {f->anneal, EBM_ANNEAL_PHASES, f->sf.adapt};
  w->progress = ebm_progress_new(stderr, VERB, cfg->steps);
  st = ebm_sample_annealed(en, cfg, &plan, x, &(ebm_cond){.labels = y}, n, rng, fe, &w->step_size, on_step, w);
  ebm_progress_finish(w->progress);
  return st == EBM_OK ? 0 : cli_runtime_error(st);
}

/* --out, --png and --chain. */
static ebm_status write_outputs(const sample_flags *f, const target *t, float temperature, const float *x,
                                int64_t n, const use_trajectory *traj) {
  const ebm_energy *en = t->en;
  int32_t label = f->cls >= 0 ? f->cls : 0;
  ebm_status st = use_save_items(f->out, en, x, n);
  if (st == EBM_OK && f->png && t->src.net && ebm_net_volume_depth(t->src.net) > 0) {
    /* voxels as three views; videos as an animated PNG (frame 0 is the
     * still image), which replaces the frame strip written first */
    const int64_t m = n < 64 ? n : 64;
    st = ebm_png_write_volume_samples(f->png, t->src.net, x, m, t->lo, t->hi);
    if (st == EBM_OK) st = ebm_apng_write_volume_samples(f->png, t->src.net, x, m, t->lo, t->hi);
  } else if (st == EBM_OK && f->png && t->src.net && ebm_net_cloud_points(t->src.net) > 0) {
    st = ebm_points_png(f->png, x, n < 64 ? n : 64, ebm_net_cloud_points(t->src.net), t->lo, t->hi);
  } else if (st == EBM_OK) {
    st = use_write_picture(f->png, en, t->lo, t->hi, label, temperature, x, n);
  }
  if (st != EBM_OK || !f->chain) return st;
  if (use_is_plane(en))
    return use_write_density_chains(f->chain, en, t->lo, t->hi, label, temperature, traj->snaps, traj->rows,
                                    traj->cols);
  /* rows = chains, columns = time: the snapshots are already row-major */
  return use_write_images(f->chain, en, t->lo, t->hi, traj->snaps, (int64_t)traj->rows * traj->cols, traj->cols);
}

/* A flow model (ebm/flow.h): exact samples x = f⁻¹(z), z ~ N(0, I), and
 * their −log q; no MCMC, so no chains and no temperature. */
static int sample_flow(const sample_flags *f, const target *t, ebm_flow *flow, float temperature, int64_t n,
                       ebm_rng *rng, float *x, float *fe) {
  const ebm_energy *en = t->en;
  if (f->chain || temperature != 1.0f)
    return cli_usage_error(VERB, "%s: %s is a flow, sampled exactly at temperature 1 (no chains)",
                           f->chain ? "--chain" : "--temperature", en->name);
  ebm_status st = ebm_flow_sample(flow, rng, n, 1.0f, x);
  if (st == EBM_OK) st = ebm_energy_eval(en, x, NULL, n, fe, NULL);
  if (st == EBM_OK) st = use_save_items(f->out, en, x, n);
  if (st == EBM_OK) st = use_write_picture(f->png, en, t->lo, t->hi, 0, 1.0f, x, n);
  if (st != EBM_OK) return cli_runtime_error(st);
  printf("flow: %lld exact samples of %s, mean energy (-log q) %.6g -> %s\n", (long long)n, en->name,
         use_mean(fe, n), f->out);
  return 0;
}

/* --data SPEC: ", data mean energy E" over n items drawn from it (with
 * their labels, else the chains'), into text. */
static int data_energy(const sample_flags *f, const ebm_energy *en, int64_t n, const int32_t *y, char *text,
                       size_t size) {
  const int64_t item = ebm_energy_item_size(en);
  float *xd = malloc((size_t)(n * item) * sizeof *xd), *e = malloc((size_t)n * sizeof *e);
  int32_t *yd = y ? malloc((size_t)n * sizeof *yd) : NULL;
  int rc = 0, labels;
  char what[4200];
  snprintf(what, sizeof what, "--data %s", f->data);
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)f->seed);
  rng = ebm_rng_split(&rng, 2);
  if (!xd || !e || (y && !yd)) rc = cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory for --data"));
  if (!rc && yd) memcpy(yd, y, (size_t)n * sizeof *yd);
  if (!rc) rc = draw_data(what, f->data, en, n, &rng, xd, yd, &labels);
  ebm_status st = rc ? EBM_OK : ebm_energy_eval(en, xd, &(ebm_cond){.labels = yd}, n, e, NULL);
  if (st != EBM_OK) rc = cli_runtime_error(st);
  if (!rc) snprintf(text, size, ", data mean energy %.6g", use_mean(e, n));
  free(xd);
  free(e);
  free(yd);
  return rc;
}

static void print_summary(const sample_flags *f, const ebm_sampler_config *cfg, const ebm_energy *en, int64_t n,
                          const float *fe, const run_watch *w, const char *data_text) {
  char accept[64] = "";
  if (cfg->kind == EBM_SAMPLER_MALA || cfg->kind == EBM_SAMPLER_HMC)
    snprintf(accept, sizeof accept, ", acceptance %.3f, step size %.4g",
             w->accept_count ? w->accept_sum / w->accept_count : 0.0, (double)w->step_size);
  printf("%s: %d steps on %lld chains of %s, final mean energy %.6g%s%s -> %s\n", ebm_sampler_name(cfg->kind),
         cfg->steps, (long long)n, en->name, use_mean(fe, n), data_text, accept, f->out);
}

/* A recovery-likelihood model (sample/recovery.c): the chain of levels
 * from noise to data instead of one MCMC run; --png shows the samples of
 * an image model, --chain each level (rows = chains, columns = levels from
 * the noisiest). The noise starts as --init says, else as the checkpoint
 * records (a run trained with --init gaussian: the data's Gaussian). */
static int sample_levels(sample_flags *f, const target *t, int64_t n, int steps, const ebm_recovery_config *base) {
  const ebm_energy *en = t->en;
  const char *init = f->init ? f->init : t->start;
  if (f->from_buffer || (strcmp(init, "uniform") != 0 && strncmp(init, "gaussian:", 9) != 0))
    return cli_usage_error(VERB, "%s%s: a chain of noise levels starts from noise: --init uniform or "
                           "gaussian:SPEC", f->from_buffer ? "--from-buffer " : "--init ",
                           f->from_buffer ? f->from_buffer : init);
  ebm_recovery_config r = *base; /* the checkpoint's schedule or ebm train's defaults; set flags override */
  if (f->level_sampler && strcmp(f->level_sampler, "recovery") == 0) r.kind = EBM_LEVELS_RECOVERY;
  else if (f->level_sampler && strcmp(f->level_sampler, "annealed") == 0) r.kind = EBM_LEVELS_ANNEALED, r.denoise = 1;
  else if (f->level_sampler)
    return cli_usage_error(VERB, "--level-sampler expects recovery or annealed, got '%s'", f->level_sampler);
  if (f->no_denoise && r.kind != EBM_LEVELS_ANNEALED)
    return cli_usage_error(VERB, "--no-denoise is for annealed Langevin (--level-sampler annealed or a dsm model)");
  if (f->no_denoise) r.denoise = 0;
  if (f->rec.levels > 0) r.levels = f->rec.levels;
  if (f->rec.sigma_min != 0) r.sigma_min = f->rec.sigma_min;
  if (f->rec.sigma_max != 0) r.sigma_max = f->rec.sigma_max;
  if (f->rec.step != 0) r.step = f->rec.step;
  r.steps = steps;
  r.range_lo = t->lo;
  r.range_hi = t->hi;
  if (ebm_recovery_config_check(&r) != EBM_OK) return cli_usage_error(VERB, "%s", ebm_last_error());
  const int volumes = t->src.net && ebm_net_volume_depth(t->src.net) > 0,
            clouds = t->src.net && ebm_net_cloud_points(t->src.net) > 0;
  if (f->png && !use_is_image(en) && !volumes && !clouds)
    return cli_usage_error(VERB, "--png of a model sampled by levels draws images, videos, voxels or point clouds; "
                           "%s has items of %lld values (--levels-png draws 2-D levels)", en->name,
                           (long long)ebm_energy_item_size(en));
  if (f->chain && !use_is_image(en))
    return cli_usage_error(VERB, "--chain of a model sampled by levels draws images; %s is not one", en->name);
  if (f->levels_png && !use_is_image(en) && !use_is_plane(en))
    return cli_usage_error(VERB, "--levels-png draws images or 2-D points; %s has items of %lld values", en->name,
                           (long long)ebm_energy_item_size(en));
  const int64_t item = ebm_energy_item_size(en), rows = n < CHAIN_ROWS ? n : CHAIN_ROWS;
  char start_text[EBM_CHAIN_START_TEXT_MAX];
  ebm_energy *start = NULL;
  int rc = use_chain_start_open(VERB, NULL, init, t->lo, t->hi, item, start_text, &start);
  if (rc) return rc;
  float *x = malloc(sizeof(float) * (size_t)(n * item)),
        *levels = malloc(sizeof(float) * (size_t)((r.levels + 1) * n * item)),
        *grid = malloc(sizeof(float) * (size_t)(rows * (r.levels + 1) * item));
  ebm_status st = x && levels && grid ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld chains", (long long)n);
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)f->seed);
  if (st == EBM_OK) st = ebm_recovery_sample(en, &r, start, &rng, n, x, levels);
  int64_t shape[4] = {n};
  memcpy(shape + 1, en->item_shape, (size_t)en->item_ndim * sizeof *shape);
  if (st == EBM_OK) st = ebm_npy_save(f->out, EBM_DTYPE_F32, 1 + en->item_ndim, shape, x);
  if (st == EBM_OK && f->png && volumes) { /* as write_outputs: three views, or an animated PNG of videos */
    st = ebm_png_write_volume_samples(f->png, t->src.net, x, n < 64 ? n : 64, t->lo, t->hi);
    if (st == EBM_OK) st = ebm_apng_write_volume_samples(f->png, t->src.net, x, n < 64 ? n : 64, t->lo, t->hi);
  } else if (st == EBM_OK && f->png && clouds) {
    st = ebm_points_png(f->png, x, n < 64 ? n : 64, ebm_net_cloud_points(t->src.net), t->lo, t->hi);
  } else if (st == EBM_OK && f->png) {
    st = use_write_images(f->png, en, t->lo, t->hi, x, n, 0);
  }
  for (int64_t i = 0; st == EBM_OK && f->chain && i < rows; i++)
    for (int c = 0; c <= r.levels; c++) /* column c: level T − c of chain i */
      memcpy(grid + (i * (r.levels + 1) + c) * item, levels + ((int64_t)(r.levels - c) * n + i) * item,
             sizeof(float) * (size_t)item);
  if (st == EBM_OK && f->chain) st = use_write_images(f->chain, en, t->lo, t->hi, grid, rows * (r.levels + 1), r.levels + 1);
  if (st == EBM_OK && f->levels_png)
    st = ebm_levels_png(f->levels_png, levels, r.levels + 1, n, en->item_ndim, en->item_shape, t->lo, t->hi);
  if (st == EBM_OK)
    printf("%s: %d levels (sigma %g..%g) x %d steps%s on %lld chains of %s from %s noise -> %s\n",
           r.kind == EBM_LEVELS_ANNEALED ? "annealed Langevin" : "recovery", r.levels, (double)r.sigma_min,
           (double)r.sigma_max, r.steps, r.kind == EBM_LEVELS_ANNEALED && r.denoise ? " + denoising step" : "",
           (long long)n, en->name, start ? "gaussian" : "uniform", f->out);
  ebm_energy_free(start);
  free(x);
  free(levels);
  free(grid);
  return st == EBM_OK ? 0 : cli_runtime_error(st);
}

/* A model with a generator: its samples start at G(z), so the flags that
 * say where chains start or what they draw over time do not apply. */
static int sample_generator(const sample_flags *f, int64_t n) {
  const char *clash = f->from_buffer ? "--from-buffer" : f->init ? "--init"
                      : f->chain ? "--chain" : f->anneal != 1.0 ? "--anneal" : f->cls >= 0 ? "--class"
                      : f->data ? "--data" : f->rec.levels > 0 ? "--levels" : f->levels_png ? "--levels-png" : NULL;
  if (clash) return cli_usage_error(VERB, "%s: %s is a model with a generator, whose samples start at G(z)", clash, f->ckpt);
  sample_generator_args a = {.ckpt = f->ckpt, .out = f->out, .png = f->png, .space = f->space,
                             .from_generator = f->from_generator, .sf = &f->sf, .n = n, .seed = f->seed,
                             .latents = f->latents, .mixture = f->mixture ? f->mixture : 1};
  return sample_generator_run(VERB, &a);
}

static int run_sample(int argc, char **argv) {
  sample_flags f = {.init = NULL, .cls = -1, .anneal = 1.0}; /* f.rec: 0 = not given */
  use_sampler_flags_init(&f.sf);
  int64_t n = 0;
  int rc = parse_flags(argc, argv, &f, &n);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (f.ckpt && (f.space || f.from_generator || f.latents || ebm_gen_model_probe(f.ckpt))) return sample_generator(&f, n);
  if (f.space || f.from_generator || f.latents)
    return cli_usage_error(VERB, "--%s needs a model with a generator (--ckpt of ebm train --method gebm|coop|latent-ebm)",
                           f.space ? "space" : f.latents ? "latents" : "from-generator");
  target t = {0};
  ebm_sampler_config cfg;
  float *x = NULL, *fe = NULL;
  int32_t *y = NULL;
  run_watch w = {0};
  char data_text[64] = "";
  if ((rc = target_open(&f, n, &t, &cfg))) goto done;
  const ebm_energy *en = t.en;
  if (en->needs_sigma || f.rec.levels > 0 || t.rec_found || f.level_sampler) {
    if (t.rec_found) /* the steps per level are the recorded sampler's */
      fprintf(stderr, "ebm %s: the checkpoint's %s schedule (%d levels, sigma %g..%g, %d steps a level; flags override)\n",
              VERB, t.rec.kind == EBM_LEVELS_ANNEALED ? "annealed Langevin" : "recovery", t.rec.levels,
              (double)t.rec.sigma_min, (double)t.rec.sigma_max, cfg.steps);
    rc = sample_levels(&f, &t, n, cfg.steps, &t.rec);
    goto done;
  }
  if (t.from_ckpt) fprintf(stderr, "ebm %s: the checkpoint's sampler settings (%s, %d steps; flags override)\n", VERB,
                           ebm_sampler_name(cfg.kind), cfg.steps);
  if (f.levels_png || f.no_denoise) {
    rc = cli_usage_error(VERB, "--%s is for a model sampled by noise levels: %s is not one (give --levels T to sample "
                         "it by levels)", f.levels_png ? "levels-png" : "no-denoise", en->name);
    goto done;
  }
  x = malloc((size_t)(n * ebm_energy_item_size(en)) * sizeof *x);
  fe = malloc((size_t)n * sizeof *fe);
  y = en->num_classes > 0 ? malloc((size_t)n * sizeof *y) : NULL;
  if (!x || !fe || (en->num_classes > 0 && !y)) {
    rc = cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld chains", (long long)n));
    goto done;
  }
  ebm_rng rng, init_rng;
  ebm_rng_init(&rng, (uint64_t)f.seed);
  init_rng = ebm_rng_split(&rng, 1);
  ebm_flow *flow = ebm_energy_flow(en);
  if (flow) {
    rc = sample_flow(&f, &t, flow, cfg.temperature, n, &rng, x, fe);
    goto done;
  }
  if ((rc = init_chains(&f, &t, n, &init_rng, x, y)) || (rc = run_chains(&f, en, &cfg, x, y, n, &rng, fe, &w)))
    goto done;
  ebm_status st = write_outputs(&f, &t, cfg.temperature, x, n, &w.traj);
  if (st != EBM_OK) rc = cli_runtime_error(st);
  else if (!f.data || !(rc = data_energy(&f, en, n, y, data_text, sizeof data_text)))
    print_summary(&f, &cfg, en, n, fe, &w, data_text);
done:
  free(x);
  free(fe);
  free(y);
  free(w.traj.snaps);
  target_free(&t);
  return rc;
}

CLI_COMMAND(sample, VERB,
            "(--ckpt CKPT | --energy SPEC) --out OUT.npy [options]",
            "draw samples from a model or an analytic energy by MCMC",
            "Runs N chains of MCMC on the energy and writes the final states to OUT.npy\n"
            "(N×D vectors or N×C×H×W images). Samplers: langevin (Du & Mordatch's practical\n"
            "form: noise σ, then a clipped gradient step λ, clamped to the data range),\n"
            "ula (x - ε²/2·∇E/T + ε·ξ), mala (ula + Metropolis-Hastings), hmc (L leapfrog\n"
            "steps + MH), kinetic (underdamped Langevin, BAOAB). --png writes an image\n"
            "grid, or for 2-D energies the density exp(-E/T) with the samples on it;\n"
            "--chain writes chains over time (rows = chains, columns every M steps).\n"
            "Conditional models take --class (default: chain i gets class i mod C, or\n"
            "the labels of the items drawn by --init data:SPEC). Energy specs (also for\n"
            "--ckpt): CKPT[:class=Y], toy:NAME, gaussian:D[:mean=M|M1,...,MD][:std=S];\n"
            "any of them on vectors [:window=S,C]: a sequence scored as the sum of the\n"
            "energy over C windows S values apart (a path by an energy on 3 points),\n"
            "[:ends=W1,..,Wk] counting the first and last k windows W1..Wk times.\n"
            "A checkpoint that records its sampler (metadata \"sampler\", written by training)\n"
            "is sampled with those settings unless flags say otherwise. --anneal T0 runs the\n"
            "steps in 4 phases cooling from T0 to 1; --from-buffer RUN starts the chains from\n"
            "the run's replay buffer; --data SPEC reports the data's mean energy next to the\n"
            "samples'. A recovery-likelihood model (ebm train --method recovery) samples by\n"
            "its chain of levels from noise to data with the schedule its checkpoint records\n"
            "(flags override: --levels, --sigma-min, --sigma-max, --recovery-step; --steps per level);\n"
            "--chain P.png draws every level of the first chains (rows: chains, columns: levels);\n"
            "--levels-png P.png draws the samples at every level from noise to data (2-D: one\n"
            "scatter panel per level; images: one row per level, the first 8 chains).\n"
            "A model trained by denoising score matching at several levels (ebm train --method dsm\n"
            "--levels T) samples by annealed Langevin dynamics (Song & Ermon 2019) over those levels,\n"
            "--steps per level at step --recovery-step b times sigma^2, then one denoising step\n"
            "(--no-denoise: none); --level-sampler recovery|annealed picks either for any model\n"
            "that takes sigma.\n"
            "A model with a generator (ebm train --method gebm|coop|latent-ebm) samples from z ~ N(0, I):\n"
            "--space latent runs the sampler on z (gebm / coop: the latent posterior\n"
            "N(z; 0, I)·exp(-E(G(z))/T); latent-ebm: the prior exp(-E(z)/T)·N(z; 0, I)) and writes\n"
            "G(z); --space data runs it on E(x) from G(z); --from-generator writes G(z) alone.\n"
            "Default: latent for gebm (MALA, 100 steps) and latent-ebm (its trained sampler), data for coop\n"
            "(its trained sampler). --temperature T tempers the energy alone, never N(0, I).\n"
            "--latents Z.npy [--mixture K] draws z from a K-component Gaussian mixture fitted\n"
            "by EM to the latents of Z.npy instead (ex-post density estimation, Ghosh et al. 2020;\n"
            "`ebm reconstruct --latents-out Z.npy` writes a latent-ebm's posterior z of its data)\n"
            "and writes G(z).",
            run_sample)
