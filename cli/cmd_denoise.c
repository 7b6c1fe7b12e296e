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

static int run_denoise(int argc, char **argv) {
  const char *ckpt = NULL, *input = NULL, *out = NULL, *png = NULL, *corrupt = "gaussian", *noise_text = NULL;
  const char *corrupted_out = NULL;
  int cls = -1;
  int64_t seed = 0;
  use_sampler_flags sf;
  use_sampler_flags_init(&sf);
  sf.noise_flag = "sampler-noise"; /* --noise is the corruption level here */
  cli_opt opts[] = {
      {"ckpt", OPT_ENERGY_IN, &ckpt, "CKPT", "the model (required)"},
      {"input", OPT_PATH_IN, &input, "X.npy", "clean images (float32, in the model's range) (required)"},
      {"out", OPT_PATH_OUT, &out, "Y.npy", "the denoised images (required)"},
      {"corrupt", OPT_STRING, &corrupt, "KIND", "gaussian | salt-pepper | none (the input is already noisy)"},
      {"noise", OPT_STRING, &noise_text, "LEVEL", "gaussian: sigma in data units (default 0.2 x the range width); salt-pepper: fraction of pixels (default 0.1)"},
      {"class", OPT_INT, &cls, "Y", "class label, for a conditional model"},
      USE_SAMPLER_OPTS(sf),
      {"seed", OPT_INT64, &seed, "S", "random seed"},
      {"corrupted", OPT_PATH_OUT, &corrupted_out, "C.npy", "also write the corrupted images"},
      {"png", OPT_PATH_OUT, &png, "FILE.png", "rows: input / corrupted / denoised (first 16 images)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!ckpt || !input || !out) return cli_usage_error(VERB, "--ckpt, --input and --out are required");
  int kind = strcmp(corrupt, "none") == 0 ? -2 : ebm_corruption_from_name(corrupt);
  if (kind == -1) return cli_usage_error(VERB, "--corrupt must be gaussian, salt-pepper or none, got '%s'", corrupt);
  float level = 0.0f;
  if (noise_text) {
    if (kind == -2) return cli_usage_error(VERB, "--noise needs --corrupt gaussian or salt-pepper");
    if ((rc = use_parse_float(VERB, "noise", noise_text, &level))) return rc;
    if (kind == EBM_CORRUPT_GAUSSIAN && !(level >= 0.0f))
      return cli_usage_error(VERB, "--noise (gaussian sigma) must be >= 0, got %g", (double)level);
    if (kind == EBM_CORRUPT_SALT_PEPPER && !(level >= 0.0f && level <= 1.0f))
      return cli_usage_error(VERB, "--noise (salt-pepper fraction) must be in [0, 1], got %g", (double)level);
  }
  ebm_sampler_config cfg;
  if ((rc = use_sampler_config(VERB, &sf, EBM_SAMPLER_LANGEVIN, &cfg))) return rc;

  ebm_npy x = {0};
  use_model model = {0};
  float *noisy = NULL, *result = NULL, *e = NULL;
  int32_t *y = NULL;
  ebm_status st = EBM_OK;
  if ((rc = use_open_items(VERB, ckpt, "input", input, &x, &model))) goto done;
  const int64_t n = x.shape[0];
  const ebm_energy *en = model.energy;
  if ((rc = use_check_class(VERB, "class", cls, en))) goto done;
  if ((rc = use_check_png(VERB, png, en))) goto done;
  const int64_t count = n * ebm_energy_item_size(en);
  const float *xv = x.data;
  float lo, hi;
  use_range(en, 0.0f, 1.0f, &lo, &hi);
  if (kind >= 0 && !noise_text) level = kind == EBM_CORRUPT_GAUSSIAN ? (float)(DEFAULT_SIGMA_FRACTION * (hi - lo)) : (float)DEFAULT_SALT_PEPPER;
  noisy = malloc((size_t)count * sizeof *noisy);
  result = malloc((size_t)count * sizeof *result);
  e = malloc((size_t)n * 2 * sizeof *e);
  if (en->num_classes > 0) y = malloc((size_t)n * sizeof *y);
  if (!noisy || !result || !e || (en->num_classes > 0 && !y)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld images", (long long)n);
    goto done;
  }
  for (int64_t i = 0; y && i < n; i++) y[i] = cls;
  ebm_rng rng, corrupt_rng;
  ebm_rng_init(&rng, (uint64_t)seed);
  corrupt_rng = ebm_rng_split(&rng, 1);
  memcpy(noisy, xv, (size_t)count * sizeof *noisy);
  if (kind >= 0 && (st = ebm_corrupt((ebm_corruption)kind, level, lo, hi, &corrupt_rng, noisy, count)) != EBM_OK)
    goto done;
  if (corrupted_out && (st = ebm_npy_save(corrupted_out, EBM_DTYPE_F32, x.ndim, x.shape, noisy)) != EBM_OK) goto done;

  /* Langevin from the corrupted images (all pixels move) */
  memcpy(result, noisy, (size_t)count * sizeof *result);
  ebm_sampler *s = NULL;
  if ((st = ebm_sampler_new(en, &cfg, n, &s)) != EBM_OK) goto done;
  ebm_progress *progress = ebm_progress_new(stderr, VERB, cfg.steps);
  st = ebm_sampler_run_cb(s, result, &(ebm_cond){.labels = y}, n, &rng, NULL, e + n, use_progress_step, progress);
  ebm_progress_finish(progress);
  ebm_sampler_free(s);
  if (st != EBM_OK) goto done;
  if ((st = ebm_npy_save(out, EBM_DTYPE_F32, x.ndim, x.shape, result)) != EBM_OK) goto done;
  if ((st = ebm_energy_eval(en, noisy, &(ebm_cond){.labels = y}, n, e, NULL)) != EBM_OK) goto done;
  if (png) {
    const float *rows[3] = {xv, noisy, result};
    if ((st = use_write_rows(png, en, lo, hi, rows, 3, n < PNG_MAX_COLS ? n : PNG_MAX_COLS)) != EBM_OK) goto done;
  }
  if (kind >= 0)
    printf("denoised %lld images (%s %g) with %s, %d steps: mean energy %.6g -> %.6g; MSE to --input: "
           "corrupted %.6g -> denoised %.6g -> %s\n",
           (long long)n, ebm_corruption_name((ebm_corruption)kind), (double)level, ebm_sampler_name(cfg.kind),
           cfg.steps, use_mean(e, n), use_mean(e + n, n), use_mse(noisy, xv, NULL, count),
           use_mse(result, xv, NULL, count), out);
  else
    printf("denoised %lld images with %s, %d steps: mean energy %.6g -> %.6g; MSE moved %.6g -> %s\n",
           (long long)n, ebm_sampler_name(cfg.kind), cfg.steps, use_mean(e, n), use_mean(e + n, n),
           use_mse(result, xv, NULL, count), out);
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
