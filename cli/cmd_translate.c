/* `ebm translate`: cross-class mapping — start Langevin dynamics at given
 * images under a conditional model's energy for another class, E(x, y)
 * (Du & Mordatch, Figure 3 and A.1: "We condition on a particular class but
 * initialize with an image from another class"), with a PNG of the
 * trajectory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "use_common.h"

#define VERB "translate"
#define TRAJ_ROWS 8
#define TRAJ_MAX_COLS 64

/* The trajectory for --png and the progress bar. */
typedef struct {
  use_trajectory traj;
  ebm_progress *progress;
} run_watch;

static void on_step(void *ctx, int step, const float *x, int64_t n, const ebm_sample_stats *st) {
  run_watch *w = ctx;
  use_trajectory_step(&w->traj, step, x);
  use_progress_step(w->progress, step, x, n, st);
}

static int run_translate(int argc, char **argv) {
  const char *ckpt = NULL, *input = NULL, *out = NULL, *png = NULL;
  int to_class = -1, every = 0;
  int64_t seed = 0;
  use_sampler_flags sf;
  use_sampler_flags_init(&sf);
  cli_opt opts[] = {
      {"ckpt", OPT_ENERGY_IN, &ckpt, "CKPT", "a conditional model (required)"},
      {"input", OPT_PATH_IN, &input, "X.npy", "the images to start from (float32, in the model's range) (required)"},
      {"to-class", OPT_INT, &to_class, "Y", "the class to map them to (required)"},
      {"out", OPT_PATH_OUT, &out, "Y.npy", "the translated images (required)"},
      USE_SAMPLER_OPTS(sf),
      {"seed", OPT_INT64, &seed, "S", "random seed"},
      {"png", OPT_PATH_OUT, &png, "FILE.png", "the trajectory: rows = the first 8 images, columns = time"},
      {"every", OPT_INT, &every, "M", "--png: one column every M steps (0: steps/10)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!ckpt || !input || !out) return cli_usage_error(VERB, "--ckpt, --input, --to-class and --out are required");
  if (every < 0) return cli_usage_error(VERB, "--every must be >= 1 (0: automatic), got %d", every);
  ebm_sampler_config cfg;
  if ((rc = use_sampler_config(VERB, &sf, EBM_SAMPLER_LANGEVIN, &cfg))) return rc;

  ebm_npy x = {0};
  use_model model = {0};
  run_watch w = {0};
  use_trajectory *traj = &w.traj;
  float *result = NULL, *e = NULL;
  int32_t *y = NULL;
  ebm_sampler *s = NULL;
  ebm_status st = EBM_OK;
  if ((rc = use_open_items(VERB, ckpt, "input", input, &x, &model))) goto done;
  const int64_t n = x.shape[0];
  const ebm_energy *en = model.energy;
  if (en->num_classes == 0) {
    rc = cli_usage_error(VERB, "%s is unconditional: translation needs a class-conditional model", en->name);
    goto done;
  }
  if ((rc = use_check_class(VERB, "to-class", to_class, en))) goto done;
  if ((rc = use_check_png(VERB, png, en))) goto done;
  const int64_t item = ebm_energy_item_size(en), count = n * item;
  float lo, hi;
  use_range(en, 0.0f, 1.0f, &lo, &hi);
  result = malloc((size_t)count * sizeof *result);
  e = malloc((size_t)n * 2 * sizeof *e);
  y = malloc((size_t)n * sizeof *y);
  if (!result || !e || !y) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld images", (long long)n);
    goto done;
  }
  for (int64_t i = 0; i < n; i++) y[i] = to_class;
  memcpy(result, x.data, (size_t)count * sizeof *result);
  if ((st = ebm_energy_eval(en, result, &(ebm_cond){.labels = y}, n, e, NULL)) != EBM_OK) goto done;
  if (png) {
    use_trajectory_plan(traj, every, cfg.steps, n, TRAJ_ROWS, item);
    if (traj->cols > TRAJ_MAX_COLS) {
      rc = cli_usage_error(VERB, "--every %d gives %d columns over %d steps; at most %d", traj->every, traj->cols,
                           cfg.steps, TRAJ_MAX_COLS);
      goto done;
    }
    if ((st = use_trajectory_start(traj, "png", result)) != EBM_OK) goto done;
  }
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)seed);
  if ((st = ebm_sampler_new(en, &cfg, n, &s)) != EBM_OK) goto done;
  w.progress = ebm_progress_new(stderr, VERB, cfg.steps);
  st = ebm_sampler_run_cb(s, result, &(ebm_cond){.labels = y}, n, &rng, NULL, e + n, on_step, &w);
  ebm_progress_finish(w.progress);
  if (st != EBM_OK) goto done;
  if ((st = ebm_npy_save(out, EBM_DTYPE_F32, x.ndim, x.shape, result)) != EBM_OK) goto done;
  if (png) {
    const float *rows[TRAJ_ROWS];
    for (int r = 0; r < traj->rows; r++) rows[r] = traj->snaps + (int64_t)r * traj->cols * item;
    if ((st = use_write_rows(png, en, lo, hi, rows, traj->rows, traj->cols)) != EBM_OK) goto done;
  }
  printf("translated %lld images to class %d with %s, %d steps: mean E(x, %d) %.6g -> %.6g; "
         "mean squared change %.6g -> %s\n",
         (long long)n, to_class, ebm_sampler_name(cfg.kind), cfg.steps, to_class, use_mean(e, n), use_mean(e + n, n),
         use_mse(result, x.data, NULL, count), out);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  ebm_sampler_free(s);
  free(traj->snaps);
  free(result);
  free(e);
  free(y);
  use_model_close(&model);
  ebm_npy_free(&x);
  return rc;
}

CLI_COMMAND(translate, VERB, "--ckpt COND_CKPT --input X.npy --to-class Y --out Y.npy [options]",
            "cross-class mapping: Langevin from given images under another class's energy",
            "Starts MCMC at the input images (e.g. of one class) and runs it under a\n"
            "class-conditional model's energy E(x, Y) for the target class Y (Du & Mordatch,\n"
            "cross-class mapping): the images move toward class Y while often keeping some\n"
            "attributes of the start. --png shows the trajectory (rows = the first 8 images,\n"
            "columns every M steps, the start first). Score the result with a classifier.",
            run_translate)
