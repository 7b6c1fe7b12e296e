/* `ebm sample`: draw samples from a trained model (--ckpt) or an analytic
 * energy (--energy toy:NAME | gaussian:D) with any sampler of sample.h,
 * write them as .npy, and on request as pictures: an image grid, chains over
 * time, or for 2-D energies the density exp(−E) with the samples on top. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "use_common.h"

#define VERB "sample"
#define DEFAULT_CHAINS 64
#define MAX_CHAINS 1000000
#define CHAIN_ROWS USE_DENSITY_CHAINS /* chains shown by --chain */
#define CHAIN_MAX_COLS 64

/* --------------------------------------------------------------- energy */

/* The energy to sample: --ckpt or --energy, one spec grammar (compose.h). */
typedef struct {
  ebm_energy_source src;
  const ebm_energy *en;
  float lo, hi;      /* the data range, or ±4 (the toys' box) for pictures and noise */
} target;

static void target_free(target *t) { ebm_energy_source_close(&t->src); }

/* Returns 0, or an exit code after printing the problem. */
static int target_open(const char *ckpt, const char *spec, int64_t n, target *t) {
  int rc = use_energy_open(VERB, ckpt ? "ckpt" : "energy", ckpt ? ckpt : spec, 0, n, &t->src, NULL);
  if (rc) return rc;
  t->en = t->src.energy;
  use_range(t->en, -(float)EBM_TOY_EXTENT, (float)EBM_TOY_EXTENT, &t->lo, &t->hi);
  return 0;
}

/* ----------------------------------------------------------------- init */

/* Fills x (n items) and, for a conditional energy without --class, y from
 * data labels when there are any. Returns 0 or an exit code. */
static int init_chains(const char *init, const target *t, int64_t n, ebm_rng *rng, float *x,
                       int32_t *y, int *have_labels) {
  const ebm_energy *en = t->en;
  const int64_t item = ebm_energy_item_size(en);
  char want[64], got[64];
  ebm_shape_str(en->item_ndim, en->item_shape, want, sizeof want);
  *have_labels = 0;
  if (strcmp(init, "uniform") == 0) {
    ebm_rng_uniform(rng, x, n * item, t->lo, t->hi);
    return 0;
  }
  if (strncmp(init, "npy:", 4) == 0) {
    ebm_npy a;
    ebm_status st = ebm_npy_load(init + 4, &a);
    if (st != EBM_OK) return cli_runtime_error(st);
    int ok = a.dtype == EBM_DTYPE_F32 && a.ndim == 1 + en->item_ndim &&
             memcmp(a.shape + 1, en->item_shape, (size_t)en->item_ndim * sizeof(int64_t)) == 0;
    if (!ok || a.shape[0] < n) {
      ebm_shape_str(a.ndim, a.shape, got, sizeof got);
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
  if (strncmp(init, "data:", 5) == 0) {
    ebm_dataset *ds = NULL;
    int ranged = en->range_lo < en->range_hi;
    ebm_status st = ebm_dataset_load(init + 5, ranged ? en->range_lo : 0.0f, ranged ? en->range_hi : 1.0f, &ds);
    if (st == EBM_ERR_ARG) return cli_usage_error(VERB, "--init %s: %s", init, ebm_last_error());
    if (st != EBM_OK) return cli_runtime_error(st);
    const ebm_tensor *d = ds->x;
    if (d->ndim != 1 + en->item_ndim ||
        memcmp(d->shape + 1, en->item_shape, (size_t)en->item_ndim * sizeof(int64_t)) != 0) {
      ebm_shape_str(d->ndim - 1, d->shape + 1, got, sizeof got);
      ebm_dataset_free(ds);
      return cli_runtime_error(ebm_set_error(EBM_ERR_SHAPE, "--init %s has items %s, %s expects %s",
                                             init, got, en->name, want));
    }
    /* n items drawn at random (with repetition when the set is smaller) */
    for (int64_t i = 0; i < n; i++) {
      int64_t k = (int64_t)ebm_rng_below(rng, (uint32_t)d->shape[0]);
      memcpy(x + i * item, d->data + k * item, (size_t)item * sizeof(float));
      if (ds->labels && en->num_classes > 0 && ds->labels[k] < en->num_classes) y[i] = ds->labels[k];
    }
    *have_labels = ds->labels && en->num_classes > 0 && ds->num_classes <= en->num_classes;
    ebm_dataset_free(ds);
    return 0;
  }
  return cli_usage_error(VERB, "--init expects uniform, data:SPEC or npy:FILE, got '%s'", init);
}

/* ---------------------------------------------------------------- run */

/* Per-step bookkeeping: chain snapshots for --chain and the progress bar. */
typedef struct {
  use_trajectory traj;
  ebm_progress *progress;
  double accept_sum;
  int accept_from, accept_count;
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

typedef struct {
  const char *ckpt, *energy, *init, *out, *png, *chain;
  int cls, every;
  int64_t n, seed;
  use_sampler_flags sf;
} sample_flags;

static int run_sample(int argc, char **argv) {
  sample_flags f = {0};
  f.init = "uniform";
  f.cls = -1;
  use_sampler_flags_init(&f.sf);
  cli_opt opts[] = {
      {"ckpt", OPT_ENERGY_IN, &f.ckpt, "CKPT", "a trained model (safetensors checkpoint)"},
      {"energy", OPT_ENERGY_IN, &f.energy, "SPEC", "an energy spec instead: toy:NAME, gaussian:D[:mean=M][:std=S] or CKPT[:class=Y]"},
      {"sampler", OPT_STRING, &f.sf.sampler, "NAME", "langevin | ula | mala | hmc | kinetic (default: langevin with --ckpt, else mala)"},
      {"steps", OPT_STRING, &f.sf.steps, "K", "MCMC steps (default: 60 for langevin, else 100)"},
      {"step-size", OPT_STRING, &f.sf.step_size, "S", "λ for langevin (default 10), ε for the others (default 0.1)"},
      {"noise", OPT_STRING, &f.sf.noise, "SIGMA", "langevin noise std (default 0.005)"},
      {"grad-clip", OPT_STRING, &f.sf.grad_clip, "C", "per-element gradient clip, 0 = off (default: 0.01 for langevin, else 0)"},
      {"leapfrog", OPT_INT, &f.sf.leapfrog, "L", "leapfrog steps per HMC step"},
      {"friction", OPT_FLOAT, &f.sf.friction, "GAMMA", "kinetic Langevin friction"},
      {"temperature", OPT_FLOAT, &f.sf.temperature, "T", "sample exp(-E/T)"},
      {"adapt", OPT_INT, &f.sf.adapt, "A", "mala/hmc: adapt the step size toward 0.574/0.65 acceptance in the first A steps (-1: half the steps)"},
      {"n", OPT_INT64, &f.n, "N", "chains (0: 64, or every item of --init npy:FILE)"},
      {"class", OPT_INT, &f.cls, "Y", "class label for a conditional model (-1: cycle through all)"},
      {"init", OPT_SPEC_IN, &f.init, "INIT", "uniform | data:SPEC | npy:FILE"},
      {"seed", OPT_INT64, &f.seed, "S", "random seed"},
      {"out", OPT_PATH_OUT, &f.out, "OUT.npy", "where to write the samples (required)"},
      {"png", OPT_PATH_OUT, &f.png, "FILE.png", "a picture: image grid, or density + samples for 2-D"},
      {"chain", OPT_PATH_OUT, &f.chain, "FILE.png", "chains over time (at most 8 rows)"},
      {"every", OPT_INT, &f.every, "M", "--chain: one column every M steps (0: steps/10)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!f.ckpt == !f.energy) return cli_usage_error(VERB, "give exactly one of --ckpt CKPT or --energy SPEC");
  if (!f.out || !f.out[0]) return cli_usage_error(VERB, "--out OUT.npy is required");
  if (f.n < 0 || f.n > MAX_CHAINS) return cli_usage_error(VERB, "--n must be in 1..%d, got %lld", MAX_CHAINS, (long long)f.n);
  if (f.every < 0) return cli_usage_error(VERB, "--every must be >= 1 (0: automatic), got %d", f.every);
  ebm_sampler_config cfg;
  if ((rc = use_sampler_config(VERB, &f.sf, f.ckpt ? EBM_SAMPLER_LANGEVIN : EBM_SAMPLER_MALA, &cfg))) return rc;
  /* npy init without --n: every item it holds */
  int64_t n = f.n;
  if (n == 0 && strncmp(f.init, "npy:", 4) == 0) {
    ebm_npy a;
    ebm_status st = ebm_npy_load(f.init + 4, &a);
    if (st != EBM_OK) return cli_runtime_error(st);
    n = a.ndim >= 1 && a.shape[0] <= MAX_CHAINS ? a.shape[0] : 0;
    ebm_npy_free(&a);
    if (n < 1) return cli_usage_error(VERB, "--init %s: holds no items (or more than %d)", f.init, MAX_CHAINS);
  }
  if (n == 0) n = DEFAULT_CHAINS;

  target t = {0};
  ebm_sampler *s = NULL;
  float *x = NULL, *fe = NULL;
  int32_t *y = NULL;
  run_watch w = {0};
  ebm_status st = EBM_OK;
  if ((rc = target_open(f.ckpt, f.energy, n, &t))) goto done;
  const ebm_energy *en = t.en;
  const int64_t item = ebm_energy_item_size(en);
  int images = use_is_image(en);
  int plane = en->item_ndim == 1 && en->item_shape[0] == 2;
  if ((f.png || f.chain) && !images && !plane) {
    rc = cli_usage_error(VERB, "--%s draws images (1 or 3 channels) or 2-D samples; %s has items of %lld values",
                         f.png ? "png" : "chain", en->name, (long long)item);
    goto done;
  }
  if (f.cls >= 0 && en->num_classes == 0) {
    rc = cli_usage_error(VERB, "--class %d: %s is unconditional", f.cls, en->name);
    goto done;
  }
  if (f.cls < -1 || (en->num_classes > 0 && f.cls >= en->num_classes)) {
    rc = cli_usage_error(VERB, "--class must be in 0..%d (or -1 for all), got %d",
                         en->num_classes > 0 ? en->num_classes - 1 : 0, f.cls);
    goto done;
  }
  x = malloc((size_t)(n * item) * sizeof *x);
  fe = malloc((size_t)n * sizeof *fe);
  y = en->num_classes > 0 ? malloc((size_t)n * sizeof *y) : NULL;
  if (!x || !fe || (en->num_classes > 0 && !y)) {
    rc = cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld chains", (long long)n));
    goto done;
  }
  for (int64_t i = 0; y && i < n; i++) y[i] = f.cls >= 0 ? f.cls : (int32_t)(i % en->num_classes);
  ebm_rng rng, init_rng;
  ebm_rng_init(&rng, (uint64_t)f.seed);
  init_rng = ebm_rng_split(&rng, 1);
  int data_labels;
  if ((rc = init_chains(f.init, &t, n, &init_rng, x, y, &data_labels))) goto done;
  if (data_labels && f.cls >= 0)
    for (int64_t i = 0; i < n; i++) y[i] = f.cls;

  ebm_flow *flow = ebm_energy_flow(en);
  if (flow && (f.chain || cfg.temperature != 1.0f)) {
    rc = cli_usage_error(VERB, "%s: %s is a flow, sampled exactly at temperature 1 (no chains)",
                         f.chain ? "--chain" : "--temperature", en->name);
    goto done;
  }
  if (flow) { /* x = f⁻¹(z), z ~ N(0, I): exact samples, no MCMC */
    if ((st = ebm_flow_sample(flow, &rng, n, 1.0f, x)) != EBM_OK ||
        (st = ebm_energy_eval(en, x, NULL, n, fe, NULL)) != EBM_OK)
      goto done;
    cfg.steps = 0;
  } else if ((st = ebm_sampler_new(en, &cfg, n, &s)) != EBM_OK) {
    goto done;
  }
  w.accept_from = cfg.adapt_steps;
  use_trajectory *traj = &w.traj;
  if (f.chain) {
    use_trajectory_plan(traj, f.every, cfg.steps, n, CHAIN_ROWS, item);
    if (traj->cols > CHAIN_MAX_COLS) {
      rc = cli_usage_error(VERB, "--every %d gives %d columns over %d steps; at most %d (raise --every)",
                           traj->every, traj->cols, cfg.steps, CHAIN_MAX_COLS);
      goto done;
    }
    if ((st = use_trajectory_start(traj, "chain", x)) != EBM_OK) goto done;
  }
  if (s) {
    w.progress = ebm_progress_new(stderr, VERB, cfg.steps);
    st = ebm_sampler_run_cb(s, x, &(ebm_cond){.labels = y}, n, &rng, NULL, fe, on_step, &w);
    ebm_progress_finish(w.progress);
    if (st != EBM_OK) goto done;
  }

  int64_t shape[4] = {n};
  memcpy(shape + 1, en->item_shape, (size_t)en->item_ndim * sizeof *shape);
  if ((st = ebm_npy_save(f.out, EBM_DTYPE_F32, 1 + en->item_ndim, shape, x)) != EBM_OK) goto done;
  int32_t label = f.cls >= 0 ? f.cls : 0;
  if (f.png && images) st = use_write_images(f.png, en, t.lo, t.hi, x, n, 0);
  if (f.png && plane) st = use_write_density(f.png, en, t.lo, t.hi, label, cfg.temperature, x, n);
  if (st != EBM_OK) goto done;
  if (f.chain && images) {
    /* rows = chains, columns = time: the snapshots are already row-major */
    st = use_write_images(f.chain, en, t.lo, t.hi, traj->snaps, (int64_t)traj->rows * traj->cols, traj->cols);
  } else if (f.chain) {
    st = use_write_density_chains(f.chain, en, t.lo, t.hi, label, cfg.temperature, traj->snaps, traj->rows, traj->cols);
  }
  if (st != EBM_OK) goto done;

  double mean_e = 0.0;
  for (int64_t i = 0; i < n; i++) mean_e += fe[i] / (double)n;
  char accept[64] = "";
  if (cfg.kind == EBM_SAMPLER_MALA || cfg.kind == EBM_SAMPLER_HMC)
    snprintf(accept, sizeof accept, ", acceptance %.3f, step size %.4g",
             w.accept_count ? w.accept_sum / w.accept_count : 0.0, (double)ebm_sampler_step_size(s));
  if (flow)
    printf("flow: %lld exact samples of %s, mean energy (-log q) %.6g -> %s\n", (long long)n, en->name, mean_e, f.out);
  else
    printf("%s: %d steps on %lld chains of %s, final mean energy %.6g%s -> %s\n", ebm_sampler_name(cfg.kind),
           cfg.steps, (long long)n, en->name, mean_e, accept, f.out);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  ebm_sampler_free(s);
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
            "--ckpt): CKPT[:class=Y], toy:NAME, gaussian:D[:mean=M|M1,...,MD][:std=S].",
            run_sample)
