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

typedef struct {
  const char *ckpt, *input, *out, *png, *prior;
  int to_class, every;
  int64_t seed;
  use_sampler_flags sf;
} translate_flags;

/* 0, -1 after --help, or an exit code. */
static int parse_flags(int argc, char **argv, translate_flags *f, ebm_sampler_config *cfg) {
  cli_opt opts[] = {
      {"ckpt", OPT_ENERGY_IN, &f->ckpt, "CKPT", "a conditional model (required)"},
      {"input", OPT_PATH_IN, &f->input, "X.npy", "the images to start from (float32, in the model's range) (required)"},
      {"to-class", OPT_INT, &f->to_class, "Y", "the class to map them to (required)"},
      {"prior", OPT_ENERGY_IN, &f->prior, "SPEC",
       "an unconditional model of the same data added to E(x, Y), as CKPT[:weight=W][:temp=T][:range=LO,HI]"},
      {"out", OPT_PATH_OUT, &f->out, "Y.npy", "the translated images (required)"},
      USE_SAMPLER_OPTS(f->sf),
      {"seed", OPT_INT64, &f->seed, "S", "random seed"},
      {"png", OPT_PATH_OUT, &f->png, "FILE.png", "the trajectory: rows = the first 8 images, columns = time"},
      {"every", OPT_INT, &f->every, "M", "--png: one column every M steps (0: steps/10)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (!f->ckpt || !f->input || !f->out) return cli_usage_error(VERB, "--ckpt, --input, --to-class and --out are required");
  if (f->every < 0) return cli_usage_error(VERB, "--every must be >= 1 (0: automatic), got %d", f->every);
  return use_sampler_config(VERB, &f->sf, EBM_SAMPLER_LANGEVIN, cfg);
}

/* The model must be conditional, the class one of its, --png images. */
static int check_model(const translate_flags *f, const ebm_energy *en) {
  if (en->num_classes == 0)
    return cli_usage_error(VERB, "%s is unconditional: translation needs a class-conditional model", en->name);
  int rc = use_check_class(VERB, "to-class", f->to_class, en);
  return rc ? rc : use_check_png(VERB, f->png, en);
}

/* --prior: the energy sampled is E(x, Y) + W·E_prior(x)/T (compose.h's
 * AND; labels reach the conditional model only), e.g. a generative EBM of
 * the same images that keeps the chains on images while a classifier's
 * E(x, Y) moves the class. Its range must be the model's (range= maps a
 * model trained on another); the store owns what is opened. */
typedef struct {
  ebm_energy_source source;
  ebm_energy *sum;
} prior_store;

static int add_prior(const translate_flags *f, int64_t n, const ebm_energy *model, prior_store *p,
                     const ebm_energy **out) {
  ebm_energy_spec spec;
  int rc = use_energy_open(VERB, "prior", f->prior, EBM_SPEC_TERM, n, &p->source, &spec);
  const ebm_energy *prior = p->source.energy;
  if (!rc && prior->num_classes > 0)
    rc = cli_usage_error(VERB, "--prior %s is conditional: give an unconditional model (or fix :class=Y)",
                         prior->name);
  if (!rc && (prior->range_lo != model->range_lo || prior->range_hi != model->range_hi))
    rc = cli_usage_error(VERB, "--prior %s works on [%g, %g] but %s on [%g, %g]: add :range=%g,%g", prior->name,
                         prior->range_lo, prior->range_hi, model->name, model->range_lo, model->range_hi,
                         model->range_lo, model->range_hi);
  if (!rc) {
    ebm_compose_term terms[2] = {ebm_compose_term_of(model), {prior, spec.weight, spec.temperature}};
    ebm_status st = ebm_compose_and_new(terms, 2, &p->sum);
    if (st != EBM_OK) rc = cli_runtime_error(st);
  }
  ebm_energy_spec_free(&spec);
  *out = p->sum;
  return rc;
}

/* --png: the trajectory's first snapshot (x), or nothing. 0 or an exit code. */
static int start_trajectory(const translate_flags *f, int steps, int64_t n, int64_t item, const float *x,
                            use_trajectory *traj) {
  if (!f->png) return 0;
  use_trajectory_plan(traj, f->every, steps, n, TRAJ_ROWS, item);
  if (traj->cols > TRAJ_MAX_COLS)
    return cli_usage_error(VERB, "--every %d gives %d columns over %d steps; at most %d", traj->every, traj->cols,
                           steps, TRAJ_MAX_COLS);
  ebm_status st = use_trajectory_start(traj, "png", x);
  return st == EBM_OK ? 0 : cli_runtime_error(st);
}

static ebm_status write_trajectory(const char *png, const ebm_energy *en, const use_trajectory *traj) {
  const float *rows[TRAJ_ROWS];
  float lo, hi;
  use_range(en, 0.0f, 1.0f, &lo, &hi);
  for (int r = 0; r < traj->rows; r++) rows[r] = traj->snaps + (int64_t)r * traj->cols * traj->item;
  return use_write_rows(png, en, lo, hi, rows, traj->rows, traj->cols);
}

static int run_translate(int argc, char **argv) {
  translate_flags f = {.to_class = -1};
  use_sampler_flags_init(&f.sf);
  ebm_sampler_config cfg;
  int rc = parse_flags(argc, argv, &f, &cfg);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  ebm_npy x = {0};
  use_model model = {0};
  run_watch w = {0};
  float *result = NULL, *e = NULL;
  int32_t *y = NULL;
  ebm_sampler *s = NULL;
  ebm_status st = EBM_OK;
  prior_store prior = {0};
  if ((rc = use_open_items(VERB, f.ckpt, "input", f.input, &x, &model)) || (rc = check_model(&f, model.energy)))
    goto done;
  const int64_t n = x.shape[0];
  const ebm_energy *en = model.energy;
  if (f.prior && (rc = add_prior(&f, n, model.energy, &prior, &en))) goto done;
  const int64_t item = ebm_energy_item_size(en), count = n * item;
  result = malloc((size_t)count * sizeof *result);
  e = malloc((size_t)n * 2 * sizeof *e);
  y = malloc((size_t)n * sizeof *y);
  if (!result || !e || !y) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld images", (long long)n);
    goto done;
  }
  for (int64_t i = 0; i < n; i++) y[i] = f.to_class;
  memcpy(result, x.data, (size_t)count * sizeof *result);
  if ((st = ebm_energy_eval(en, result, &(ebm_cond){.labels = y}, n, e, NULL)) != EBM_OK) goto done;
  if ((rc = start_trajectory(&f, cfg.steps, n, item, result, &w.traj))) goto done;
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)f.seed);
  if ((st = ebm_sampler_new(en, &cfg, n, &s)) != EBM_OK) goto done;
  w.progress = ebm_progress_new(stderr, VERB, cfg.steps);
  st = ebm_sampler_run_cb(s, result, &(ebm_cond){.labels = y}, n, &rng, NULL, e + n, on_step, &w);
  ebm_progress_finish(w.progress);
  if (st == EBM_OK) st = ebm_npy_save(f.out, EBM_DTYPE_F32, x.ndim, x.shape, result);
  if (st == EBM_OK && f.png) st = write_trajectory(f.png, en, &w.traj);
  if (st != EBM_OK) goto done;
  printf("translated %lld images to class %d with %s, %d steps: mean E(x, %d) %.6g -> %.6g; "
         "mean squared change %.6g -> %s\n",
         (long long)n, f.to_class, ebm_sampler_name(cfg.kind), cfg.steps, f.to_class, use_mean(e, n),
         use_mean(e + n, n), ebm_masked_mse(result, x.data, NULL, count), f.out);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  ebm_sampler_free(s);
  free(w.traj.snaps);
  free(result);
  free(e);
  free(y);
  ebm_energy_free(prior.sum);
  ebm_energy_source_close(&prior.source);
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
            "columns every M steps, the start first). Score the result with a classifier.\n"
            "A classifier read as E(x, y) = -f(x)[y] moves images by adversarial texture;\n"
            "--prior adds an unconditional generative model of the same data (E(x, Y) +\n"
            "W*E_prior(x)), whose energy keeps the chains on images while the class moves.",
            run_translate)
