/* `ebm denoise`: corrupt images (additive Gaussian or salt-and-pepper
 * noise), then run Langevin dynamics from the corrupted images under the
 * model's energy, and report the MSE to the clean input before and after
 * (Du & Mordatch's image restoration; seed 004's salt-and-pepper masks). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "use_common.h"

#define VERB "denoise"
#define PNG_MAX_COLS 16
#define DEFAULT_SIGMA_FRACTION 0.2 /* of the range width */
#define DEFAULT_SALT_PEPPER 0.1

typedef struct {
  const char *ckpt, *input, *out, *png, *corrupt, *noise_text, *corrupted_out;
  int cls, kind; /* kind: an ebm_corruption, or -2 for none */
  float level;
  int64_t seed;
  use_sampler_flags sf;
} denoise_flags;

/* --corrupt and --noise: 0 or an exit code. */
static int parse_corruption(denoise_flags *f) {
  int rc;
  f->kind = strcmp(f->corrupt, "none") == 0 ? -2 : ebm_corruption_from_name(f->corrupt);
  if (f->kind == -1)
    return cli_usage_error(VERB, "--corrupt must be gaussian, salt-pepper or none, got '%s'", f->corrupt);
  if (!f->noise_text) return 0;
  if (f->kind == -2) return cli_usage_error(VERB, "--noise needs --corrupt gaussian or salt-pepper");
  if ((rc = use_parse_float(VERB, "noise", f->noise_text, &f->level))) return rc;
  if (f->kind == EBM_CORRUPT_GAUSSIAN && !(f->level >= 0.0f))
    return cli_usage_error(VERB, "--noise (gaussian sigma) must be >= 0, got %g", (double)f->level);
  if (f->kind == EBM_CORRUPT_SALT_PEPPER && !(f->level >= 0.0f && f->level <= 1.0f))
    return cli_usage_error(VERB, "--noise (salt-pepper fraction) must be in [0, 1], got %g", (double)f->level);
  return 0;
}

/* 0, -1 after --help, or an exit code. */
static int parse_flags(int argc, char **argv, denoise_flags *f, ebm_sampler_config *cfg) {
  cli_opt opts[] = {
      {"ckpt", OPT_ENERGY_IN, &f->ckpt, "CKPT", "the model (required)"},
      {"input", OPT_PATH_IN, &f->input, "X.npy", "clean images (float32, in the model's range) (required)"},
      {"out", OPT_PATH_OUT, &f->out, "Y.npy", "the denoised images (required)"},
      {"corrupt", OPT_STRING, &f->corrupt, "KIND", "gaussian | salt-pepper | none (the input is already noisy)"},
      {"noise", OPT_STRING, &f->noise_text, "LEVEL", "gaussian: sigma in data units (default 0.2 x the range width); salt-pepper: fraction of pixels (default 0.1)"},
      {"class", OPT_INT, &f->cls, "Y", "class label, for a conditional model"},
      USE_SAMPLER_OPTS(f->sf),
      {"seed", OPT_INT64, &f->seed, "S", "random seed"},
      {"corrupted", OPT_PATH_OUT, &f->corrupted_out, "C.npy", "also write the corrupted images"},
      {"png", OPT_PATH_OUT, &f->png, "FILE.png", "rows: input / corrupted / denoised (first 16 images)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (!f->ckpt || !f->input || !f->out) return cli_usage_error(VERB, "--ckpt, --input and --out are required");
  if ((rc = parse_corruption(f))) return rc;
  return use_sampler_config(VERB, &f->sf, EBM_SAMPLER_LANGEVIN, cfg);
}

/* Langevin from the corrupted images (all pixels move) into result;
 * e[n..2n) gets the final energies. */
static ebm_status restore(const ebm_energy *en, const ebm_sampler_config *cfg, const float *noisy, const int32_t *y,
                          int64_t n, ebm_rng *rng, float *result, float *e) {
  memcpy(result, noisy, (size_t)(n * ebm_energy_item_size(en)) * sizeof *result);
  ebm_sampler *s = NULL;
  ebm_status st = ebm_sampler_new(en, cfg, n, &s);
  if (st != EBM_OK) return st;
  ebm_progress *progress = ebm_progress_new(stderr, VERB, cfg->steps);
  st = ebm_sampler_run_cb(s, result, &(ebm_cond){.labels = y}, n, rng, NULL, e + n, use_progress_step, progress);
  ebm_progress_finish(progress);
  ebm_sampler_free(s);
  return st;
}

static void print_summary(const denoise_flags *f, const ebm_sampler_config *cfg, const float *xv, const float *noisy,
                          const float *result, const float *e, int64_t n, int64_t count) {
  if (f->kind >= 0)
    printf("denoised %lld images (%s %g) with %s, %d steps: mean energy %.6g -> %.6g; MSE to --input: "
           "corrupted %.6g -> denoised %.6g -> %s\n",
           (long long)n, ebm_corruption_name((ebm_corruption)f->kind), (double)f->level, ebm_sampler_name(cfg->kind),
           cfg->steps, use_mean(e, n), use_mean(e + n, n), ebm_masked_mse(noisy, xv, NULL, count),
           ebm_masked_mse(result, xv, NULL, count), f->out);
  else
    printf("denoised %lld images with %s, %d steps: mean energy %.6g -> %.6g; MSE moved %.6g -> %s\n",
           (long long)n, ebm_sampler_name(cfg->kind), cfg->steps, use_mean(e, n), use_mean(e + n, n),
           ebm_masked_mse(result, xv, NULL, count), f->out);
}

static int run_denoise(int argc, char **argv) {
  denoise_flags f = {.corrupt = "gaussian", .cls = -1};
  use_sampler_flags_init(&f.sf);
  f.sf.noise_flag = "sampler-noise"; /* --noise is the corruption level here */
  ebm_sampler_config cfg;
  int rc = parse_flags(argc, argv, &f, &cfg);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  ebm_npy x = {0};
  use_model model = {0};
  float *noisy = NULL, *result = NULL, *e = NULL;
  int32_t *y = NULL;
  ebm_status st = EBM_OK;
  if ((rc = use_open_items(VERB, f.ckpt, "input", f.input, &x, &model))) goto done;
  const int64_t n = x.shape[0];
  const ebm_energy *en = model.energy;
  if ((rc = use_check_class(VERB, "class", f.cls, en)) || (rc = use_check_png(VERB, f.png, en))) goto done;
  const int64_t count = n * ebm_energy_item_size(en);
  const float *xv = x.data;
  float lo, hi;
  use_range(en, 0.0f, 1.0f, &lo, &hi);
  if (f.kind >= 0 && !f.noise_text)
    f.level = f.kind == EBM_CORRUPT_GAUSSIAN ? (float)(DEFAULT_SIGMA_FRACTION * (hi - lo)) : (float)DEFAULT_SALT_PEPPER;
  noisy = malloc((size_t)count * sizeof *noisy);
  result = malloc((size_t)count * sizeof *result);
  e = malloc((size_t)n * 2 * sizeof *e);
  if (en->num_classes > 0) y = malloc((size_t)n * sizeof *y);
  if (!noisy || !result || !e || (en->num_classes > 0 && !y)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld images", (long long)n);
    goto done;
  }
  for (int64_t i = 0; y && i < n; i++) y[i] = f.cls;
  ebm_rng rng, corrupt_rng;
  ebm_rng_init(&rng, (uint64_t)f.seed);
  corrupt_rng = ebm_rng_split(&rng, 1);
  memcpy(noisy, xv, (size_t)count * sizeof *noisy);
  if (f.kind >= 0) st = ebm_corrupt((ebm_corruption)f.kind, f.level, lo, hi, &corrupt_rng, noisy, count);
  if (st == EBM_OK && f.corrupted_out) st = ebm_npy_save(f.corrupted_out, EBM_DTYPE_F32, x.ndim, x.shape, noisy);
  if (st == EBM_OK) st = restore(en, &cfg, noisy, y, n, &rng, result, e);
  if (st == EBM_OK) st = ebm_npy_save(f.out, EBM_DTYPE_F32, x.ndim, x.shape, result);
  if (st == EBM_OK) st = ebm_energy_eval(en, noisy, &(ebm_cond){.labels = y}, n, e, NULL);
  if (st == EBM_OK && f.png) {
    const float *rows[3] = {xv, noisy, result};
    st = use_write_rows(f.png, en, lo, hi, rows, 3, n < PNG_MAX_COLS ? n : PNG_MAX_COLS);
  }
  if (st == EBM_OK) print_summary(&f, &cfg, xv, noisy, result, e, n, count);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  free(noisy);
  free(result);
  free(e);
  free(y);
  use_model_close(&model);
  ebm_npy_free(&x);
  return rc;
}

CLI_COMMAND(denoise, VERB, "--ckpt CKPT --input X.npy --out Y.npy [--corrupt KIND] [--noise LEVEL] [options]",
            "corrupt images, then restore them by Langevin dynamics from the corrupted images",
            "Corrupts the clean input (--corrupt gaussian: x + sigma*N(0,1) with sigma =\n"
            "--noise, clamped to the model's range; salt-pepper: a fraction --noise of the\n"
            "pixels set to the range's ends; none: the input is already corrupted), then runs\n"
            "the sampler from the corrupted images under the model's energy (all pixels move)\n"
            "and reports the MSE to the input before and after. The Langevin noise is\n"
            "--sampler-noise here. Few steps restore; many drift toward the model's modes.",
            run_denoise)
