/* Helpers for the verbs that use a trained model (see use_common.h). */
#include "use_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DENSITY_PX 400

void use_sampler_flags_init(use_sampler_flags *f) {
  memset(f, 0, sizeof *f);
  f->leapfrog = 10;
  f->adapt = -1;
  f->friction = 1.0f;
  f->temperature = 1.0f;
  f->noise_flag = "noise";
}

int use_parse_float(const char *verb, const char *flag, const char *text, float *out) {
  char *end = NULL;
  double v = strtod(text, &end);
  if (end == text || *end || !isfinite(v) || !isfinite((float)v))
    return cli_usage_error(verb, "--%s expects a finite number, got '%s'", flag, text);
  *out = (float)v;
  return 0;
}

int use_parse_int(const char *verb, const char *flag, const char *text, int *out) {
  char *end = NULL;
  long v = strtol(text, &end, 10);
  if (end == text || *end || v < -2147483647L || v > 2147483647L)
    return cli_usage_error(verb, "--%s expects an integer, got '%s'", flag, text);
  *out = (int)v;
  return 0;
}

int use_sampler_config(const char *verb, const use_sampler_flags *f, ebm_sampler_kind default_kind,
                       ebm_sampler_config *cfg) {
  ebm_sampler_config base = ebm_sampler_defaults(default_kind);
  return use_sampler_config_from(verb, f, &base, cfg);
}

int use_sampler_config_from(const char *verb, const use_sampler_flags *f, const ebm_sampler_config *base,
                            ebm_sampler_config *cfg) {
  int kind = f->sampler ? ebm_sampler_from_name(f->sampler) : (int)base->kind;
  if (kind < 0)
    return cli_usage_error(verb, "--sampler must be langevin, ula, mala, hmc or kinetic, got '%s'", f->sampler);
  /* a base for another kind says nothing about this one */
  *cfg = kind == (int)base->kind ? *base : ebm_sampler_defaults((ebm_sampler_kind)kind);
  int rc;
  if (f->steps && (rc = use_parse_int(verb, "steps", f->steps, &cfg->steps))) return rc;
  if (cfg->steps < 0) return cli_usage_error(verb, "--steps must be >= 0, got %d", cfg->steps);
  if (f->step_size && (rc = use_parse_float(verb, "step-size", f->step_size, &cfg->step_size))) return rc;
  if (!(cfg->step_size > 0.0f || (kind == EBM_SAMPLER_LANGEVIN && cfg->step_size == 0.0f)))
    return cli_usage_error(verb, "--step-size must be > 0, got %g", (double)cfg->step_size);
  if (f->noise && (rc = use_parse_float(verb, f->noise_flag, f->noise, &cfg->noise))) return rc;
  if (cfg->noise < 0.0f) return cli_usage_error(verb, "--%s must be >= 0, got %g", f->noise_flag, (double)cfg->noise);
  if (f->grad_clip && (rc = use_parse_float(verb, "grad-clip", f->grad_clip, &cfg->grad_clip))) return rc;
  if (cfg->grad_clip < 0.0f)
    return cli_usage_error(verb, "--grad-clip must be >= 0 (0 = off), got %g", (double)cfg->grad_clip);
  if (f->leapfrog < 1) return cli_usage_error(verb, "--leapfrog must be >= 1, got %d", f->leapfrog);
  if (!(f->friction >= 0.0f)) return cli_usage_error(verb, "--friction must be >= 0, got %g", (double)f->friction);
  if (!(f->temperature > 0.0f))
    return cli_usage_error(verb, "--temperature must be > 0, got %g", (double)f->temperature);
  int adjusted = kind == EBM_SAMPLER_MALA || kind == EBM_SAMPLER_HMC;
  int adapt = f->adapt == -1 ? (adjusted ? cfg->steps / 2 : 0) : f->adapt;
  if (adapt < 0 || adapt > cfg->steps)
    return cli_usage_error(verb, "--adapt must be in 0..steps (%d), got %d", cfg->steps, f->adapt);
  if (adapt > 0 && !adjusted) return cli_usage_error(verb, "--adapt needs --sampler mala or hmc");
  cfg->leapfrog_steps = f->leapfrog;
  cfg->friction = f->friction;
  cfg->temperature = f->temperature;
  cfg->adapt_steps = adapt;
  return 0;
}

int use_model_open(const char *verb, const char *path, int64_t max_batch, use_model *m) {
  return use_energy_open(verb, "ckpt", path, 0, max_batch, m, NULL);
}

int use_energy_open(const char *verb, const char *flag, const char *text, unsigned flags, int64_t max_batch,
                    ebm_energy_source *src, ebm_energy_spec *spec) {
  ebm_energy_spec local;
  ebm_energy_spec *s = spec ? spec : &local;
  memset(src, 0, sizeof *src);
  ebm_status st = ebm_energy_spec_parse(text, flags, s);
  int rc = 0;
  if (st == EBM_ERR_ARG) rc = cli_usage_error(verb, "--%s %s", flag, ebm_last_error());
  else if (st != EBM_OK) rc = cli_runtime_error(st);
  if (!rc) {
    if (max_batch < 1) max_batch = 1;
    st = ebm_energy_source_open(s, max_batch < USE_MAX_NET_BATCH ? max_batch : USE_MAX_NET_BATCH, src);
    if (st == EBM_ERR_ARG) rc = cli_usage_error(verb, "--%s %s", flag, ebm_last_error());
    else if (st != EBM_OK) rc = cli_runtime_error(st);
  }
  if (!spec) ebm_energy_spec_free(&local);
  return rc;
}

void use_model_close(use_model *m) { ebm_energy_source_close(m); }

/* --flag PATH: float32, 1..USE_MAX_ITEMS items. */
static int load_items(const char *flag, const char *path, ebm_npy *a) {
  ebm_status st = ebm_npy_load(path, a);
  char got[64];
  if (st != EBM_OK) {
    snprintf(got, sizeof got, "--%s", flag); /* which input it was */
    return cli_runtime_error(ebm_error_prefix(st, got));
  }
  if (a->dtype != EBM_DTYPE_F32) {
    st = ebm_set_error(EBM_ERR_FORMAT, "--%s %s: dtype %s, expected float32 in the model's range", flag, path,
                       ebm_dtype_name(a->dtype));
  } else if (a->ndim < 2 || a->shape[0] < 1 || a->shape[0] > USE_MAX_ITEMS) {
    st = ebm_set_error(EBM_ERR_SHAPE, "--%s %s: shape %s, expected 1..%d items of the model's shape", flag, path,
                       ebm_shape_str(a->ndim, a->shape, got, sizeof got), USE_MAX_ITEMS);
  }
  if (st != EBM_OK) {
    ebm_npy_free(a);
    return cli_runtime_error(st);
  }
  return 0;
}

ebm_status use_check_finite(const char *flag, const char *path, const float *v, int64_t count) {
  for (int64_t k = 0; k < count; k++)
    if (!isfinite(v[k]))
      return ebm_set_error(EBM_ERR_NUMERIC, "--%s %s: value %lld is %g", flag, path, (long long)k, (double)v[k]);
  return EBM_OK;
}

/* The items' shape and values against `en`; frees *a on failure. */
static int check_items(const char *flag, const char *path, const ebm_energy *en, ebm_npy *a) {
  ebm_status st = EBM_OK;
  char got[64], want[64];
  ebm_shape_str(en->item_ndim, en->item_shape, want, sizeof want);
  ebm_shape_str(a->ndim, a->shape, got, sizeof got);
  const int nd = en->item_ndim;
  int ok = a->ndim == nd + 1 && memcmp(a->shape + 1, en->item_shape, (size_t)nd * sizeof(int64_t)) == 0;
  /* N×H×W for one-channel images, as data sets accept */
  int hw = nd == 3 && en->item_shape[0] == 1 && a->ndim == 3 && a->shape[1] == en->item_shape[1] &&
           a->shape[2] == en->item_shape[2];
  if (!(ok || hw)) {
    st = ebm_set_error(EBM_ERR_SHAPE, "--%s %s: shape %s, expected [N]+%s for %s", flag, path, got, want, en->name);
  } else {
    st = use_check_finite(flag, path, a->data, a->shape[0] * ebm_energy_item_size(en));
  }
  if (st != EBM_OK) {
    ebm_npy_free(a);
    return cli_runtime_error(st);
  }
  return 0;
}

int use_open_items(const char *verb, const char *ckpt, const char *flag, const char *path, ebm_npy *x,
                   use_model *m) {
  int rc;
  memset(m, 0, sizeof *m);
  if ((rc = load_items(flag, path, x))) return rc;
  if ((rc = use_model_open(verb, ckpt, x->shape[0], m))) return rc;
  if ((rc = check_items(flag, path, m->energy, x))) return rc;
  const ebm_energy *en = m->energy;
  if (en->range_lo < en->range_hi) { /* the sampler clamps to the model's range */
    char what[64];
    snprintf(what, sizeof what, "--%s", flag);
    int64_t count = 1;
    for (int d = 0; d < x->ndim; d++) count *= x->shape[d];
    cli_warn_outside_range(verb, what, x->data, count, en->range_lo, en->range_hi, NULL);
  }
  return 0;
}

int use_check_png(const char *verb, const char *png, const ebm_energy *en) {
  if (png && !use_is_image(en))
    return cli_usage_error(verb, "--png draws images (1 or 3 channels); %s has other items", en->name);
  return 0;
}

void use_range(const ebm_energy *en, float lo_default, float hi_default, float *lo, float *hi) {
  int ranged = en->range_lo < en->range_hi;
  *lo = ranged ? en->range_lo : lo_default;
  *hi = ranged ? en->range_hi : hi_default;
}

int use_check_class(const char *verb, const char *flag, int y, const ebm_energy *en) {
  if (en->num_classes > 0 && y == -1)
    return cli_usage_error(verb, "%s is conditional (%d classes): give --%s Y", en->name, en->num_classes, flag);
  if (en->num_classes == 0 && y != -1)
    return cli_usage_error(verb, "--%s %d: %s is unconditional", flag, y, en->name);
  if (en->num_classes > 0 && (y < 0 || y >= en->num_classes))
    return cli_usage_error(verb, "--%s must be in 0..%d, got %d", flag, en->num_classes - 1, y);
  return 0;
}

int use_is_image(const ebm_energy *en) {
  return en->item_ndim == 3 && (en->item_shape[0] == 1 || en->item_shape[0] == 3);
}

ebm_status use_write_images(const char *path, const ebm_energy *en, float lo, float hi, const float *images,
                            int64_t n, int ncols) {
  int64_t shape[4] = {n, en->item_shape[0], en->item_shape[1], en->item_shape[2]};
  ebm_tensor view = ebm_tensor_wrap((float *)images, 4, shape);
  ebm_grid_opts opts = ebm_grid_defaults();
  opts.lo = lo;
  opts.hi = hi;
  opts.ncols = ncols;
  opts.scale = en->item_shape[1] <= 64 ? 2 : 1;
  return ebm_png_write_grid(path, &view, &opts);
}

ebm_status use_write_rows(const char *path, const ebm_energy *en, float lo, float hi,
                          const float *const *rows, int nrows, int64_t ncols) {
  const int64_t item = ebm_energy_item_size(en);
  int64_t shape[4] = {nrows * ncols, en->item_shape[0], en->item_shape[1], en->item_shape[2]};
  ebm_tensor *grid = ebm_tensor_new(4, shape);
  if (!grid) return EBM_ERR_NOMEM;
  for (int r = 0; r < nrows; r++)
    memcpy(grid->data + r * ncols * item, rows[r], (size_t)(ncols * item) * sizeof(float));
  ebm_status st = use_write_images(path, en, lo, hi, grid->data, nrows * ncols, (int)ncols);
  ebm_tensor_free(grid);
  return st;
}

/* White (density 0) to deep blue (the maximum), sqrt-scaled: samples in red stand out. */
static void shade(double v, uint8_t *rgb) {
  v = v < 0 ? 0 : v > 1 ? 1 : sqrt(v);
  rgb[0] = (uint8_t)lround(255 - 235 * v);
  rgb[1] = (uint8_t)lround(255 - 200 * v);
  rgb[2] = (uint8_t)lround(255 - 105 * v);
}

/* A 2×2 dot with its top left at pixel (px, py), clipped to the picture. */
static void put_dot(uint8_t *img, int px, int py, const uint8_t *rgb) {
  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++) {
      int xx = px + dx, yy = py + dy;
      if (xx >= 0 && xx < DENSITY_PX && yy >= 0 && yy < DENSITY_PX) memcpy(img + 3 * (yy * DENSITY_PX + xx), rgb, 3);
    }
}

/* Pixel of a 2-D point (row 0 at the top = hi). */
static void to_pixel(float lo, float hi, const float *p, int *px, int *py) {
  *px = (int)floor((p[0] - lo) / (hi - lo) * DENSITY_PX);
  *py = (int)floor((hi - p[1]) / (hi - lo) * DENSITY_PX);
}

/* The heat-map of exp(−E/T) with either the points x as red dots
 * (traj == NULL) or the trajectories traj (rows × cols × 2) as lines. */
static ebm_status write_density(const char *path, const ebm_energy *en, float lo, float hi, int32_t label,
                                float temp, const float *x, int64_t n, const float *traj, int rows, int cols) {
  const int64_t np = (int64_t)DENSITY_PX * DENSITY_PX;
  const int labelled = en->num_classes > 0 && label >= 0;
  ebm_status st = EBM_OK;
  float *grid = malloc((size_t)np * 2 * sizeof *grid), *e = malloc((size_t)np * sizeof *e);
  int32_t *y = labelled ? malloc((size_t)np * sizeof *y) : NULL;
  uint8_t *img = malloc((size_t)np * 3);
  if (!grid || !e || !img || (labelled && !y)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing %s", path);
    goto done;
  }
  const float cell = (hi - lo) / DENSITY_PX;
  for (int64_t k = 0; k < np; k++) { /* row 0 at the top (y = hi) */
    grid[2 * k] = lo + ((float)(k % DENSITY_PX) + 0.5f) * cell;
    grid[2 * k + 1] = hi - ((float)(k / DENSITY_PX) + 0.5f) * cell;
    if (y) y[k] = label;
  }
  if ((st = ebm_energy_eval(en, grid, &(ebm_cond){.labels = y}, np, e, NULL)) != EBM_OK) goto done;
  float emin = INFINITY;
  for (int64_t k = 0; k < np; k++) emin = isfinite(e[k]) && e[k] < emin ? e[k] : emin;
  for (int64_t k = 0; k < np; k++)
    shade(isfinite(e[k]) ? exp(-(double)((e[k] - emin) / temp)) : 0.0, img + 3 * k);
  static const uint8_t colors[USE_DENSITY_CHAINS][3] = {{220, 30, 30}, {240, 140, 0}, {30, 160, 30},
                                                        {150, 40, 190}, {0, 150, 170}, {200, 0, 120},
                                                        {120, 90, 20},  {0, 0, 0}};
  if (!traj) {
    for (int64_t i = 0; i < n; i++) {
      int px, py;
      to_pixel(lo, hi, x + 2 * i, &px, &py);
      put_dot(img, px, py, colors[0]);
    }
  } else {
    for (int r = 0; r < rows; r++)
      for (int c = 0; c + 1 < cols; c++) { /* a dot per pixel along each segment */
        const float *a = traj + 2 * (r * cols + c), *b = a + 2;
        int ax, ay, bx, by;
        to_pixel(lo, hi, a, &ax, &ay);
        to_pixel(lo, hi, b, &bx, &by);
        int len = abs(bx - ax) > abs(by - ay) ? abs(bx - ax) : abs(by - ay);
        len = len < 4 * DENSITY_PX ? len : 4 * DENSITY_PX;
        for (int k = 0; k <= len; k++)
          put_dot(img, ax + (len ? (bx - ax) * k / len : 0), ay + (len ? (by - ay) * k / len : 0), colors[r]);
      }
  }
  st = ebm_png_write(path, DENSITY_PX, DENSITY_PX, 3, img);
done:
  free(grid);
  free(e);
  free(y);
  free(img);
  return st;
}

ebm_status use_write_density(const char *path, const ebm_energy *en, float lo, float hi, int32_t label,
                             float temp, const float *x, int64_t n) {
  return write_density(path, en, lo, hi, label, temp, x, n, NULL, 0, 0);
}

ebm_status use_write_density_chains(const char *path, const ebm_energy *en, float lo, float hi, int32_t label,
                                    float temp, const float *traj, int rows, int cols) {
  return write_density(path, en, lo, hi, label, temp, NULL, 0, traj, rows, cols);
}

void use_progress_step(void *ctx, int step, const float *x, int64_t n, const ebm_sample_stats *st) {
  (void)x;
  (void)n;
  char metric[48];
  snprintf(metric, sizeof metric, "E %.6g", (double)st->mean_energy);
  ebm_progress_update(ctx, step + 1, metric);
}

void use_trajectory_plan(use_trajectory *t, int every_flag, int steps, int64_t n, int max_rows, int64_t item) {
  memset(t, 0, sizeof *t);
  t->item = item;
  t->steps = steps;
  t->every = every_flag > 0 ? every_flag : (steps >= 10 ? steps / 10 : 1);
  t->rows = n < max_rows ? (int)n : max_rows;
  t->cols = 1 + (steps + t->every - 1) / t->every;
}

static void trajectory_snapshot(use_trajectory *t, const float *x) {
  for (int r = 0; r < t->rows; r++)
    memcpy(t->snaps + ((int64_t)r * t->cols + t->filled) * t->item, x + r * t->item, (size_t)t->item * sizeof(float));
  t->filled++;
}

ebm_status use_trajectory_start(use_trajectory *t, const char *flag, const float *x) {
  if (!(t->snaps = malloc((size_t)(t->rows * t->cols * t->item) * sizeof *t->snaps)))
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for --%s", flag);
  trajectory_snapshot(t, x);
  return EBM_OK;
}

void use_trajectory_step(use_trajectory *t, int step, const float *x) {
  if (t->snaps && ((step + 1) % t->every == 0 || step + 1 == t->steps) && t->filled < t->cols)
    trajectory_snapshot(t, x);
}

double use_mean(const float *v, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += v[i] / (double)n;
  return s;
}


int use_chain_start_open(const char *verb, const char *ckpt, const char *init, float lo, float hi, int64_t item,
                         char text[EBM_CHAIN_START_TEXT_MAX], ebm_energy **start) {
  int found = 0;
  ebm_status st = EBM_OK;
  *start = NULL;
  snprintf(text, EBM_CHAIN_START_TEXT_MAX, "%s", init ? init : "uniform");
  if (!init && ckpt && (st = ebm_chain_start_from_checkpoint(ckpt, text, &found)) != EBM_OK) return cli_runtime_error(st);
  st = ebm_chain_start_open(text, lo, hi, item, start);
  if (st == EBM_ERR_ARG) return cli_usage_error(verb, "--init %s: %s", text, ebm_last_error());
  return st == EBM_OK ? 0 : cli_runtime_error(st);
}
