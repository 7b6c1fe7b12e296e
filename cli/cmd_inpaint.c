/* `ebm inpaint`: fill the masked pixels of images by Langevin dynamics on
 * those pixels only, the observed ones held bit-identical (seed 004,
 * "Energy-Based Inpainting"; the library's ebm_inpaint). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "use_common.h"

#define VERB "inpaint"
#define PNG_MAX_COLS 16

/* The mask: float32 or uint8, X's exact shape, every value 0 or 1.
 * Returns the mask as floats in *out (malloc'd) or an exit code. */
static int load_mask(const char *path, const ebm_npy *x, float **out) {
  ebm_npy m;
  ebm_status st = ebm_npy_load(path, &m);
  if (st != EBM_OK) return cli_runtime_error(ebm_error_prefix(st, "--mask"));
  char got[64], want[64];
  int64_t count = 1;
  for (int d = 0; d < x->ndim; d++) count *= x->shape[d];
  float *mask = NULL;
  if (m.dtype != EBM_DTYPE_F32 && m.dtype != EBM_DTYPE_U8) {
    st = ebm_set_error(EBM_ERR_FORMAT, "--mask %s: dtype %s, expected float32 or uint8 (1 = fill, 0 = observed)",
                       path, ebm_dtype_name(m.dtype));
  } else if (m.ndim != x->ndim || memcmp(m.shape, x->shape, (size_t)x->ndim * sizeof(int64_t)) != 0) {
    st = ebm_set_error(EBM_ERR_SHAPE, "--mask %s: shape %s, expected the input's shape %s", path,
                       ebm_shape_str(m.ndim, m.shape, got, sizeof got), ebm_shape_str(x->ndim, x->shape, want, sizeof want));
  } else if (!(mask = malloc((size_t)count * sizeof *mask))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "--mask %s: out of memory", path);
  } else {
    for (int64_t k = 0; k < count && st == EBM_OK; k++) {
      float v = m.dtype == EBM_DTYPE_F32 ? ((const float *)m.data)[k] : (float)((const uint8_t *)m.data)[k];
      if (v != 0.0f && v != 1.0f)
        st = ebm_set_error(EBM_ERR_FORMAT, "--mask %s: value %g at index %lld; expected 0 (observed) or 1 (fill)",
                           path, (double)v, (long long)k);
      mask[k] = v;
    }
  }
  ebm_npy_free(&m);
  if (st != EBM_OK) {
    free(mask);
    return cli_runtime_error(st);
  }
  *out = mask;
  return 0;
}

/* --mask pattern:NAME (ebm_mask_pattern; random:P draws from the seed's
 * stream 2) or a file. Returns 0 or an exit code. */
static int make_mask(const char *spec, const ebm_npy *x, const ebm_energy *en, uint64_t seed, float **out) {
  if (strncmp(spec, "pattern:", 8) != 0) return load_mask(spec, x, out);
  const int64_t n = x->shape[0];
  float *mask = malloc((size_t)(n * ebm_energy_item_size(en)) * sizeof *mask);
  if (!mask) return cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory for --mask"));
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  rng = ebm_rng_split(&rng, 2);
  if (ebm_mask_pattern(spec + 8, en->item_ndim, en->item_shape, n, &rng, mask) != EBM_OK) {
    free(mask);
    return cli_usage_error(VERB, "--mask %s", ebm_last_error());
  }
  *out = mask;
  return 0;
}

/* Where the noise start lives: the model's range, or the input's values
 * for a model without one. */
static void noise_range(const ebm_energy *en, const float *xv, int64_t count, float *lo, float *hi) {
  float vmin = INFINITY, vmax = -INFINITY;
  for (int64_t k = 0; k < count; k++) {
    vmin = xv[k] < vmin ? xv[k] : vmin;
    vmax = xv[k] > vmax ? xv[k] : vmax;
  }
  if (!(vmin < vmax)) vmin -= 1.0f, vmax += 1.0f;
  use_range(en, vmin, vmax, lo, hi);
}

/* Rows input / masked (holes at mid-range) / result, first PNG_MAX_COLS items. */
static ebm_status write_png(const char *png, const ebm_energy *en, float lo, float hi, const float *xv,
                            const float *mask, const float *result, int64_t n) {
  const int64_t cols = n < PNG_MAX_COLS ? n : PNG_MAX_COLS, item = ebm_energy_item_size(en);
  float *holes = malloc((size_t)(cols * item) * sizeof *holes);
  if (!holes) return ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing %s", png);
  for (int64_t k = 0; k < cols * item; k++) holes[k] = mask[k] != 0.0f ? 0.5f * (lo + hi) : xv[k];
  const float *rows[3] = {xv, holes, result};
  ebm_status st = use_write_rows(png, en, lo, hi, rows, 3, cols);
  free(holes);
  return st;
}

typedef struct {
  const char *ckpt, *input, *mask, *out, *png;
  int cls;
  int64_t seed;
  const char *init;
  use_sampler_flags sf;
} inpaint_flags;

/* 0, -1 after --help, or an exit code. */
static int parse_flags(int argc, char **argv, inpaint_flags *f, ebm_sampler_config *cfg) {
  cli_opt opts[] = {
      {"ckpt", OPT_ENERGY_IN, &f->ckpt, "CKPT", "the model (required)"},
      {"input", OPT_PATH_IN, &f->input, "X.npy", "images (float32, in the model's range) (required)"},
      {"mask", OPT_SPEC_IN, &f->mask, "M.npy", "X's shape: 1 = pixel to fill, 0 = observed; or pattern:right-half|bottom-half|center|random:P (required)"},
      {"out", OPT_PATH_OUT, &f->out, "Y.npy", "the inpainted images, X's shape (required)"},
      {"class", OPT_INT, &f->cls, "Y", "class label, for a conditional model"},
      {"init", OPT_SPEC_IN, &f->init, "INIT", "the holes' start: uniform | gaussian:SPEC (a Gaussian fitted to data SPEC, "
                                              "at its mean given the observed pixels) (default: the checkpoint's "
                                              "training start, else uniform)"},
      USE_SAMPLER_OPTS(f->sf),
      {"seed", OPT_INT64, &f->seed, "S", "random seed"},
      {"png", OPT_PATH_OUT, &f->png, "FILE.png", "rows: input / masked / result (first 16 images)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (!f->ckpt || !f->input || !f->mask || !f->out)
    return cli_usage_error(VERB, "--ckpt, --input, --mask and --out are required");
  return use_sampler_config(VERB, &f->sf, EBM_SAMPLER_LANGEVIN, cfg);
}

/* --init, else the start the checkpoint's training used (a --ckpt that is
 * a checkpoint file), else uniform noise: 0 or an exit code. */
static int open_start(const inpaint_flags *f, const use_model *model, float lo, float hi,
                      char text[EBM_CHAIN_START_TEXT_MAX], ebm_energy **gauss) {
  ebm_energy_spec spec = {0};
  const char *ckpt = NULL;
  if (!f->init && model->kind == EBM_SOURCE_CKPT && ebm_energy_spec_parse(f->ckpt, 0, &spec) == EBM_OK)
    ckpt = spec.path;
  int rc = use_chain_start_open(VERB, ckpt, f->init, lo, hi, ebm_energy_item_size(model->energy), text, gauss);
  ebm_energy_spec_free(&spec);
  return rc;
}

static int run_inpaint(int argc, char **argv) {
  inpaint_flags f = {.cls = -1};
  use_sampler_flags_init(&f.sf);
  ebm_sampler_config cfg;
  int rc = parse_flags(argc, argv, &f, &cfg);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  ebm_npy x = {0};
  use_model model = {0};
  float *mask = NULL, *result = NULL, *start = NULL, *e = NULL;
  int32_t *y = NULL;
  ebm_energy *gauss = NULL;
  char start_text[EBM_CHAIN_START_TEXT_MAX];
  ebm_status st = EBM_OK;
  if ((rc = use_open_items(VERB, f.ckpt, "input", f.input, &x, &model))) goto done;
  const int64_t n = x.shape[0];
  const ebm_energy *en = model.energy;
  if ((rc = use_check_class(VERB, "class", f.cls, en)) || (rc = make_mask(f.mask, &x, en, (uint64_t)f.seed, &mask)) ||
      (rc = use_check_png(VERB, f.png, en)))
    goto done;
  const int64_t count = n * ebm_energy_item_size(en);
  const float *xv = x.data;
  int64_t filled = 0;
  for (int64_t k = 0; k < count; k++) filled += mask[k] != 0.0f;
  if (filled == 0) {
    rc = cli_usage_error(VERB, "--mask %s selects no pixel to fill (1 = fill, 0 = observed)", f.mask);
    goto done;
  }
  float lo, hi;
  noise_range(en, xv, count, &lo, &hi);
  result = malloc((size_t)count * sizeof *result);
  start = malloc((size_t)count * sizeof *start);
  e = malloc((size_t)n * 2 * sizeof *e);
  if (en->num_classes > 0) y = malloc((size_t)n * sizeof *y);
  if (!result || !start || !e || (en->num_classes > 0 && !y)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld images", (long long)n);
    goto done;
  }
  for (int64_t i = 0; y && i < n; i++) y[i] = f.cls;
  const ebm_cond cond = {.labels = y};
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)f.seed);
  if ((rc = open_start(&f, &model, lo, hi, start_text, &gauss))) goto done;
  if (gauss)
    st = ebm_inpaint_start_gaussian(gauss, xv, mask, n, lo, hi, start);
  else
    st = ebm_inpaint_start(rng, xv, mask, count, lo, hi, start);
  if (st != EBM_OK) goto done;
  ebm_progress *progress = ebm_progress_new(stderr, VERB, cfg.steps);
  if (gauss)
    st = ebm_inpaint_from(en, &cfg, start, mask, &cond, n, &rng, result, use_progress_step, progress);
  else
    st = ebm_inpaint(en, &cfg, xv, mask, &cond, n, lo, hi, &rng, result, use_progress_step, progress);
  ebm_progress_finish(progress);
  if (st == EBM_OK) st = ebm_npy_save(f.out, EBM_DTYPE_F32, x.ndim, x.shape, result);
  if (st == EBM_OK) st = ebm_energy_eval(en, start, &cond, n, e, NULL);
  if (st == EBM_OK) st = ebm_energy_eval(en, result, &cond, n, e + n, NULL);
  if (st == EBM_OK && f.png) st = write_png(f.png, en, lo, hi, xv, mask, result, n);
  if (st != EBM_OK) goto done;
  printf("inpainted %lld images (%lld values, %.1f%%) with %s, %d steps from %s: mean energy %.6g -> %.6g; "
         "masked MSE to --input: start %.6g -> result %.6g -> %s\n",
         (long long)n, (long long)filled, 100.0 * (double)filled / (double)count, ebm_sampler_name(cfg.kind),
         cfg.steps, start_text, use_mean(e, n), use_mean(e + n, n), ebm_masked_mse(start, xv, mask, count), ebm_masked_mse(result, xv, mask, count), f.out);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  free(mask);
  free(result);
  free(start);
  free(e);
  free(y);
  ebm_energy_free(gauss);
  use_model_close(&model);
  ebm_npy_free(&x);
  return rc;
}

CLI_COMMAND(inpaint, VERB, "--ckpt CKPT --input X.npy --mask M.npy --out Y.npy [options]",
            "fill masked pixels by Langevin dynamics on them alone",
            "The pixels where the mask is 1 start as uniform noise over the model's data range\n"
            "(over the input's values for a model without one), or with --init gaussian:SPEC\n"
            "(the default for a model trained with --init gaussian) at the mean of the Gaussian\n"
            "fitted to SPEC given the observed pixels, and move by MCMC under the\n"
            "model's energy with the observed pixels (mask 0) held fixed: the result's observed\n"
            "pixels are bit-identical to the input's. The mask has the input's shape (float32\n"
            "or uint8, values 0 or 1). The summary reports the mean energy before and after,\n"
            "and the masked-region MSE to the input's own values (meaningful when the input\n"
            "holds the true pixels, as in a benchmark). --png shows input / masked / result.\n"
            "Instead of a file, --mask pattern:NAME masks every image alike: right-half,\n"
            "bottom-half, center (the central square of half the side) or random:P.",
            run_inpaint)
