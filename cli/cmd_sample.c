/* `ebm sample`: draw samples from a trained model (--ckpt) or an analytic
 * energy (--energy toy:NAME | gaussian:D) with any sampler of sample.h,
 * write them as .npy, and on request as pictures: an image grid, chains over
 * time, or for 2-D energies the density exp(−E) with the samples on top. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERB "sample"
#define DEFAULT_CHAINS 64
#define MAX_CHAINS 1000000
#define MAX_NET_BATCH 256   /* the network evaluates the chains this many at a time */
#define CHAIN_ROWS 8        /* chains shown by --chain */
#define CHAIN_MAX_COLS 64
#define PANEL_PX 400        /* the 2-D density picture */
#define GAUSSIAN_MAX_DIM 4096

/* -------------------------------------------------------------- flags */

/* A float flag given as text (so "not given" is NULL): finite, else exit 2. */
static int parse_float(const char *flag, const char *text, float *out) {
  char *end = NULL;
  double v = strtod(text, &end);
  if (end == text || *end || !isfinite(v) || !isfinite((float)v))
    return cli_usage_error(VERB, "--%s expects a finite number, got '%s'", flag, text);
  *out = (float)v;
  return 0;
}

static int parse_int(const char *flag, const char *text, int *out) {
  char *end = NULL;
  long v = strtol(text, &end, 10);
  if (end == text || *end || v < -2147483647L || v > 2147483647L)
    return cli_usage_error(VERB, "--%s expects an integer, got '%s'", flag, text);
  *out = (int)v;
  return 0;
}

/* --------------------------------------------------------------- energy */

/* The energy to sample: a checkpoint's network or an analytic energy. */
typedef struct {
  ebm_net *net;
  ebm_energy *owned; /* toy / gaussian, or the network's view */
  const ebm_energy *en;
  float lo, hi;      /* the data range, or ±4 (the toys' box) for pictures and noise */
} target;

static void target_free(target *t) {
  ebm_energy_free(t->owned); /* before the network it may borrow */
  ebm_net_free(t->net);
}

/* Returns 0, or an exit code after printing the problem. */
static int target_open(const char *ckpt, const char *spec, int64_t n, target *t) {
  ebm_status st = EBM_OK;
  if (ckpt) {
    st = ebm_net_load(ckpt, n < MAX_NET_BATCH ? n : MAX_NET_BATCH, &t->net);
    if (st != EBM_OK) return cli_runtime_error(st);
    if (!(t->owned = ebm_net_as_energy(t->net))) return cli_runtime_error(EBM_ERR_NOMEM);
  } else if (strncmp(spec, "toy:", 4) == 0) {
    int toy = ebm_toy_from_name(spec + 4);
    if (toy < 0) return cli_usage_error(VERB, "--energy %s: unknown toy (8gaussians 2spirals rings moons pinwheel)", spec);
    st = ebm_toy_energy_new((ebm_toy)toy, &t->owned);
    if (st != EBM_OK) return cli_usage_error(VERB, "--energy %s: %s", spec, ebm_last_error());
  } else if (strncmp(spec, "gaussian:", 9) == 0) {
    char *end = NULL;
    long d = strtol(spec + 9, &end, 10);
    if (end == spec + 9 || *end || d < 1 || d > GAUSSIAN_MAX_DIM)
      return cli_usage_error(VERB, "--energy gaussian:D needs a dimension D in 1..%d, got '%s'",
                             GAUSSIAN_MAX_DIM, spec);
    if ((st = ebm_gaussian_energy_new(d, NULL, NULL, &t->owned)) != EBM_OK) return cli_runtime_error(st);
  } else {
    return cli_usage_error(VERB, "--energy expects toy:NAME or gaussian:D, got '%s'", spec);
  }
  t->en = t->owned;
  int ranged = t->en->range_lo < t->en->range_hi;
  t->lo = ranged ? t->en->range_lo : -(float)EBM_TOY_EXTENT;
  t->hi = ranged ? t->en->range_hi : (float)EBM_TOY_EXTENT;
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
    memcpy(x, a.data, (size_t)(n * item) * sizeof(float));
    ebm_npy_free(&a);
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

/* ------------------------------------------------------------- pictures */

/* White (density 0) to deep blue (the maximum): samples in red stand out. */
static void shade(double v, uint8_t *rgb) {
  v = v < 0 ? 0 : v > 1 ? 1 : sqrt(v);
  rgb[0] = (uint8_t)lround(255 - 235 * v);
  rgb[1] = (uint8_t)lround(255 - 200 * v);
  rgb[2] = (uint8_t)lround(255 - 105 * v);
}

static void put_dot(uint8_t *img, int px, int py, const uint8_t *rgb) {
  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++) {
      int xx = px + dx, yy = py + dy;
      if (xx >= 0 && xx < PANEL_PX && yy >= 0 && yy < PANEL_PX) memcpy(img + 3 * (yy * PANEL_PX + xx), rgb, 3);
    }
}

/* Pixel of a 2-D point (row 0 at the top = hi). */
static void to_pixel(const target *t, const float *p, int *px, int *py) {
  *px = (int)floor((p[0] - t->lo) / (t->hi - t->lo) * PANEL_PX);
  *py = (int)floor((t->hi - p[1]) / (t->hi - t->lo) * PANEL_PX);
}

/* The density exp(−E/T) of a 2-D energy over its box as a heat-map, with
 * either all samples as red dots (traj == NULL) or up to CHAIN_ROWS
 * trajectories of `cols` points each (traj is rows × cols × 2). */
static ebm_status write_density_png(const char *path, const target *t, int32_t label, float temp,
                                    const float *x, int64_t n, const float *traj, int rows, int cols) {
  const int64_t np = (int64_t)PANEL_PX * PANEL_PX;
  ebm_status st = EBM_OK;
  float *grid = malloc((size_t)np * 2 * sizeof *grid), *e = malloc((size_t)np * sizeof *e);
  int32_t *y = t->en->num_classes > 0 ? malloc((size_t)np * sizeof *y) : NULL;
  uint8_t *img = malloc((size_t)np * 3);
  if (!grid || !e || !img || (t->en->num_classes > 0 && !y)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing %s", path);
    goto done;
  }
  const float cell = (t->hi - t->lo) / PANEL_PX;
  for (int64_t k = 0; k < np; k++) {
    grid[2 * k] = t->lo + ((float)(k % PANEL_PX) + 0.5f) * cell;
    grid[2 * k + 1] = t->hi - ((float)(k / PANEL_PX) + 0.5f) * cell;
    if (y) y[k] = label;
  }
  if ((st = ebm_energy_eval(t->en, grid, y, np, e, NULL)) != EBM_OK) goto done;
  float emin = INFINITY;
  for (int64_t k = 0; k < np; k++) emin = isfinite(e[k]) && e[k] < emin ? e[k] : emin;
  for (int64_t k = 0; k < np; k++) shade(isfinite(e[k]) ? exp(-(e[k] - emin) / temp) : 0.0, img + 3 * k);
  static const uint8_t colors[CHAIN_ROWS][3] = {{220, 30, 30}, {240, 140, 0}, {30, 160, 30}, {150, 40, 190},
                                                {0, 150, 170}, {200, 0, 120}, {120, 90, 20}, {0, 0, 0}};
  if (!traj) {
    for (int64_t i = 0; i < n; i++) {
      int px, py;
      to_pixel(t, x + 2 * i, &px, &py);
      put_dot(img, px, py, colors[0]);
    }
  } else {
    for (int r = 0; r < rows; r++)
      for (int c = 0; c + 1 < cols; c++) { /* a dot per pixel along each segment */
        const float *a = traj + 2 * (r * cols + c), *b = a + 2;
        int ax, ay, bx, by;
        to_pixel(t, a, &ax, &ay);
        to_pixel(t, b, &bx, &by);
        int len = abs(bx - ax) > abs(by - ay) ? abs(bx - ax) : abs(by - ay);
        len = len < 4 * PANEL_PX ? len : 4 * PANEL_PX;
        for (int k = 0; k <= len; k++)
          put_dot(img, ax + (len ? (bx - ax) * k / len : 0), ay + (len ? (by - ay) * k / len : 0), colors[r]);
      }
  }
  st = ebm_png_write(path, PANEL_PX, PANEL_PX, 3, img);
done:
  free(grid);
  free(e);
  free(y);
  free(img);
  return st;
}

/* images is (n, C, H, W) in the target's range; ncols 0 = square grid. */
static ebm_status write_image_grid(const char *path, const target *t, const float *images, int64_t n,
                                   int ncols) {
  const ebm_energy *en = t->en;
  int64_t shape[4] = {n, en->item_shape[0], en->item_shape[1], en->item_shape[2]};
  ebm_tensor view = ebm_tensor_wrap((float *)images, 4, shape);
  ebm_grid_opts opts = ebm_grid_defaults();
  opts.lo = t->lo;
  opts.hi = t->hi;
  opts.ncols = ncols;
  opts.scale = en->item_shape[1] <= 64 ? 2 : 1;
  return ebm_png_write_grid(path, &view, &opts);
}

/* ---------------------------------------------------------------- run */

/* Per-step bookkeeping: chain snapshots for --chain and the progress bar. */
typedef struct {
  int64_t item;
  int rows, cols, every, steps, filled;
  float *snaps;            /* rows × cols × item, column-major in time per row */
  ebm_progress *progress;
  double accept_sum;
  int accept_from, accept_count;
} run_watch;

static void snapshot(run_watch *w, const float *x) {
  for (int r = 0; r < w->rows; r++)
    memcpy(w->snaps + ((int64_t)r * w->cols + w->filled) * w->item, x + r * w->item,
           (size_t)w->item * sizeof(float));
  w->filled++;
}

static void on_step(void *ctx, int step, const float *x, int64_t n, const ebm_sample_stats *st) {
  (void)n;
  run_watch *w = ctx;
  int done = step + 1;
  if (w->snaps && (done % w->every == 0 || done == w->steps)) snapshot(w, x);
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
  const char *ckpt, *energy, *sampler, *init, *out, *png, *chain;
  const char *steps, *step_size, *noise, *grad_clip;
  int leapfrog, cls, every, adapt;
  float friction, temperature;
  int64_t n, seed;
} sample_flags;

/* Builds the sampler config from the flags (sampler defaults for what was
 * not given); 0 or an exit code naming the bad flag. */
static int make_config(const sample_flags *f, ebm_sampler_config *cfg) {
  int kind = f->sampler ? ebm_sampler_from_name(f->sampler) : (f->ckpt ? EBM_SAMPLER_LANGEVIN : EBM_SAMPLER_MALA);
  if (kind < 0)
    return cli_usage_error(VERB, "--sampler must be langevin, ula, mala, hmc or kinetic, got '%s'", f->sampler);
  *cfg = ebm_sampler_defaults((ebm_sampler_kind)kind);
  int rc;
  if (f->steps && (rc = parse_int("steps", f->steps, &cfg->steps))) return rc;
  if (cfg->steps < 0) return cli_usage_error(VERB, "--steps must be >= 0, got %d", cfg->steps);
  if (f->step_size && (rc = parse_float("step-size", f->step_size, &cfg->step_size))) return rc;
  if (!(cfg->step_size > 0.0f || (kind == EBM_SAMPLER_LANGEVIN && cfg->step_size == 0.0f)))
    return cli_usage_error(VERB, "--step-size must be > 0, got %g", (double)cfg->step_size);
  if (f->noise && (rc = parse_float("noise", f->noise, &cfg->noise))) return rc;
  if (cfg->noise < 0.0f) return cli_usage_error(VERB, "--noise must be >= 0, got %g", (double)cfg->noise);
  if (f->grad_clip && (rc = parse_float("grad-clip", f->grad_clip, &cfg->grad_clip))) return rc;
  if (cfg->grad_clip < 0.0f)
    return cli_usage_error(VERB, "--grad-clip must be >= 0 (0 = off), got %g", (double)cfg->grad_clip);
  if (f->leapfrog < 1) return cli_usage_error(VERB, "--leapfrog must be >= 1, got %d", f->leapfrog);
  if (!(f->friction >= 0.0f)) return cli_usage_error(VERB, "--friction must be >= 0, got %g", (double)f->friction);
  if (!(f->temperature > 0.0f))
    return cli_usage_error(VERB, "--temperature must be > 0, got %g", (double)f->temperature);
  int adjusted = kind == EBM_SAMPLER_MALA || kind == EBM_SAMPLER_HMC;
  int adapt = f->adapt == -1 ? (adjusted ? cfg->steps / 2 : 0) : f->adapt;
  if (adapt < 0 || adapt > cfg->steps)
    return cli_usage_error(VERB, "--adapt must be in 0..steps (%d), got %d", cfg->steps, f->adapt);
  if (adapt > 0 && !adjusted) return cli_usage_error(VERB, "--adapt needs --sampler mala or hmc");
  cfg->leapfrog_steps = f->leapfrog;
  cfg->friction = f->friction;
  cfg->temperature = f->temperature;
  cfg->adapt_steps = adapt;
  return 0;
}

static int run_sample(int argc, char **argv) {
  sample_flags f = {0};
  f.init = "uniform";
  f.leapfrog = 10;
  f.cls = -1;
  f.adapt = -1;
  f.friction = 1.0f;
  f.temperature = 1.0f;
  cli_opt opts[] = {
      {"ckpt", OPT_STRING, &f.ckpt, "CKPT", "a trained model (safetensors checkpoint)"},
      {"energy", OPT_STRING, &f.energy, "SPEC", "an analytic energy instead: toy:NAME or gaussian:D"},
      {"sampler", OPT_STRING, &f.sampler, "NAME", "langevin | ula | mala | hmc | kinetic (default: langevin with --ckpt, else mala)"},
      {"steps", OPT_STRING, &f.steps, "K", "MCMC steps (default: 60 for langevin, else 100)"},
      {"step-size", OPT_STRING, &f.step_size, "S", "λ for langevin (default 10), ε for the others (default 0.1)"},
      {"noise", OPT_STRING, &f.noise, "SIGMA", "langevin noise std (default 0.005)"},
      {"grad-clip", OPT_STRING, &f.grad_clip, "C", "per-element gradient clip, 0 = off (default: 0.01 for langevin, else 0)"},
      {"leapfrog", OPT_INT, &f.leapfrog, "L", "leapfrog steps per HMC step"},
      {"friction", OPT_FLOAT, &f.friction, "GAMMA", "kinetic Langevin friction"},
      {"temperature", OPT_FLOAT, &f.temperature, "T", "sample exp(-E/T)"},
      {"adapt", OPT_INT, &f.adapt, "A", "mala/hmc: adapt the step size toward 0.574/0.65 acceptance in the first A steps (-1: half the steps)"},
      {"n", OPT_INT64, &f.n, "N", "chains (0: 64, or every item of --init npy:FILE)"},
      {"class", OPT_INT, &f.cls, "Y", "class label for a conditional model (-1: cycle through all)"},
      {"init", OPT_STRING, &f.init, "INIT", "uniform | data:SPEC | npy:FILE"},
      {"seed", OPT_INT64, &f.seed, "S", "random seed"},
      {"out", OPT_STRING, &f.out, "OUT.npy", "where to write the samples (required)"},
      {"png", OPT_STRING, &f.png, "FILE.png", "a picture: image grid, or density + samples for 2-D"},
      {"chain", OPT_STRING, &f.chain, "FILE.png", "chains over time (at most 8 rows)"},
      {"every", OPT_INT, &f.every, "M", "--chain: one column every M steps (0: steps/10)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!f.ckpt == !f.energy) return cli_usage_error(VERB, "give exactly one of --ckpt CKPT or --energy SPEC");
  if (!f.out || !f.out[0]) return cli_usage_error(VERB, "--out OUT.npy is required");
  if (f.n < 0 || f.n > MAX_CHAINS) return cli_usage_error(VERB, "--n must be in 1..%d, got %lld", MAX_CHAINS, (long long)f.n);
  if (f.every < 0) return cli_usage_error(VERB, "--every must be >= 1 (0: automatic), got %d", f.every);
  ebm_sampler_config cfg;
  if ((rc = make_config(&f, &cfg))) return rc;
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
  int images = en->item_ndim == 3 && (en->item_shape[0] == 1 || en->item_shape[0] == 3);
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

  if ((st = ebm_sampler_new(en, &cfg, n, &s)) != EBM_OK) goto done;
  w.item = item;
  w.steps = cfg.steps;
  w.accept_from = cfg.adapt_steps;
  if (f.chain) {
    w.every = f.every > 0 ? f.every : (cfg.steps >= 10 ? cfg.steps / 10 : 1);
    w.rows = n < CHAIN_ROWS ? (int)n : CHAIN_ROWS;
    w.cols = 1 + (cfg.steps + w.every - 1) / w.every;
    if (w.cols > CHAIN_MAX_COLS) {
      rc = cli_usage_error(VERB, "--every %d gives %d columns over %d steps; at most %d (raise --every)",
                           w.every, w.cols, cfg.steps, CHAIN_MAX_COLS);
      goto done;
    }
    w.snaps = malloc((size_t)(w.rows * w.cols * item) * sizeof *w.snaps);
    if (!w.snaps) {
      rc = cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory for --chain"));
      goto done;
    }
    snapshot(&w, x);
  }
  w.progress = ebm_progress_new(stderr, VERB, cfg.steps);
  st = ebm_sampler_run_cb(s, x, y, n, &rng, NULL, fe, on_step, &w);
  ebm_progress_finish(w.progress);
  if (st != EBM_OK) goto done;

  int64_t shape[4] = {n};
  memcpy(shape + 1, en->item_shape, (size_t)en->item_ndim * sizeof *shape);
  if ((st = ebm_npy_save(f.out, EBM_DTYPE_F32, 1 + en->item_ndim, shape, x)) != EBM_OK) goto done;
  int32_t label = f.cls >= 0 ? f.cls : 0;
  if (f.png && images) st = write_image_grid(f.png, &t, x, n, 0);
  if (f.png && plane) st = write_density_png(f.png, &t, label, cfg.temperature, x, n, NULL, 0, 0);
  if (st != EBM_OK) goto done;
  if (f.chain && images) {
    /* rows = chains, columns = time: the snapshots are already row-major */
    st = write_image_grid(f.chain, &t, w.snaps, (int64_t)w.rows * w.cols, w.cols);
  } else if (f.chain) {
    st = write_density_png(f.chain, &t, label, cfg.temperature, NULL, 0, w.snaps, w.rows, w.cols);
  }
  if (st != EBM_OK) goto done;

  double mean_e = 0.0;
  for (int64_t i = 0; i < n; i++) mean_e += fe[i] / (double)n;
  char accept[64] = "";
  if (cfg.kind == EBM_SAMPLER_MALA || cfg.kind == EBM_SAMPLER_HMC)
    snprintf(accept, sizeof accept, ", acceptance %.3f, step size %.4g",
             w.accept_count ? w.accept_sum / w.accept_count : 0.0, (double)ebm_sampler_step_size(s));
  printf("%s: %d steps on %lld chains of %s, final mean energy %.6g%s -> %s\n",
         ebm_sampler_name(cfg.kind), cfg.steps, (long long)n, en->name, mean_e, accept, f.out);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  ebm_sampler_free(s);
  free(x);
  free(fe);
  free(y);
  free(w.snaps);
  target_free(&t);
  return rc;
}

CLI_COMMAND(sample, VERB,
            "(--ckpt CKPT | --energy toy:NAME | --energy gaussian:D) --out OUT.npy [options]",
            "draw samples from a model or an analytic energy by MCMC",
            "Runs N chains of MCMC on the energy and writes the final states to OUT.npy\n"
            "(N×D vectors or N×C×H×W images). Samplers: langevin (Du & Mordatch's practical\n"
            "form: noise σ, then a clipped gradient step λ, clamped to the data range),\n"
            "ula (x - ε²/2·∇E/T + ε·ξ), mala (ula + Metropolis-Hastings), hmc (L leapfrog\n"
            "steps + MH), kinetic (underdamped Langevin, BAOAB). --png writes an image\n"
            "grid, or for 2-D energies the density exp(-E/T) with the samples on it;\n"
            "--chain writes chains over time (rows = chains, columns every M steps).\n"
            "Conditional models take --class (default: chain i gets class i mod C, or\n"
            "the labels of the items drawn by --init data:SPEC).",
            run_sample)
