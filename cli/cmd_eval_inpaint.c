/* `ebm eval inpaint`: how well a model fills the missing part of images,
 * judged by an independent classifier (does the fill give each image its
 * class back?), next to the ceiling (the originals) and the floor (the
 * start: noise, or the conditional Gaussian). The library's
 * ebm_inpaint_score_run. */
#include <stdlib.h>
#include <string.h>

#include "use_common.h"

#define VERB "eval inpaint"
#define NET_BATCH 128
#define PNG_COLS 16

typedef struct {
  const char *ckpt, *data, *clf_path, *mask, *png, *json, *init;
  int64_t n, seed;
  use_sampler_flags sf;
} inpaint_eval_flags;

static ebm_status write_json(const inpaint_eval_flags *f, const ebm_sampler_config *cfg, const char *start,
                             const ebm_inpaint_score *r) {
  ebm_jsonl *j = NULL;
  ebm_status st = ebm_jsonl_object_begin(f->json, &j);
  if (st != EBM_OK) return st;
  ebm_jsonl_str(j, "model", f->ckpt);
  ebm_jsonl_str(j, "data", f->data);
  ebm_jsonl_str(j, "classifier", f->clf_path);
  ebm_jsonl_str(j, "mask", f->mask);
  ebm_jsonl_str(j, "start", start);
  ebm_jsonl_str(j, "sampler", ebm_sampler_name(cfg->kind));
  ebm_jsonl_int(j, "steps", cfg->steps);
  ebm_jsonl_int(j, "n", r->n);
  ebm_jsonl_num(j, "accuracy_original", r->acc_original);
  ebm_jsonl_num(j, "accuracy_start", r->acc_start);
  ebm_jsonl_num(j, "accuracy_filled", r->acc_filled);
  ebm_jsonl_num(j, "mse_start", r->mse_start);
  ebm_jsonl_num(j, "mse_filled", r->mse_filled);
  ebm_jsonl_num(j, "energy_start", r->e_start);
  ebm_jsonl_num(j, "energy_filled", r->e_filled);
  return ebm_jsonl_object_commit(j); /* atomic: a failure keeps the previous file */
}

/* 0, -1 after --help, or an exit code; cfg: the flags over the checkpoint's
 * recorded sampler (how its run samples it), else the Langevin defaults. */
static int parse_flags(int argc, char **argv, inpaint_eval_flags *f) {
  cli_opt opts[] = {
      {"ckpt", OPT_PATH_IN, &f->ckpt, "CKPT", "an unconditional image model (required)"},
      {"data", OPT_SPEC_IN, &f->data, "SPEC", "labelled images, e.g. fashion-mnist:test (required)"},
      {"classifier", OPT_PATH_IN, &f->clf_path, "CLF", "the judge: `ebm classifier train`'s checkpoint (required)"},
      {"mask", OPT_STRING, &f->mask, "PATTERN", "bottom-half | right-half | center | random:P"},
      {"init", OPT_SPEC_IN, &f->init, "INIT", "the holes' start: uniform | gaussian:SPEC (a Gaussian fitted to data SPEC, "
                                              "conditioned on the visible values) (default: the checkpoint's training "
                                              "start, else uniform)"},
      {"n", OPT_INT64, &f->n, "N", "a random subset of N items (0: all)"},
      USE_SAMPLER_OPTS(f->sf),
      {"seed", OPT_INT64, &f->seed, "S", "random seed (subset, mask, fill)"},
      {"png", OPT_PATH_OUT, &f->png, "FILE.png", "rows: original / masked / filled (the first 16)"},
      {"json", OPT_PATH_OUT, &f->json, "FILE", "the results as one JSON object"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (!f->ckpt || !f->data || !f->clf_path) return cli_usage_error(VERB, "--ckpt, --data and --classifier are required");
  if (f->n < 0) return cli_usage_error(VERB, "--n must be >= 0 (0: all), got %lld", (long long)f->n);
  if (strncmp(f->mask, "pattern:", 8) == 0) f->mask += 8; /* ebm inpaint's spelling */
  return 0;
}

/* Rows original / masked (holes at mid-range) / filled, the first PNG_COLS items. */
static ebm_status write_png(const inpaint_eval_flags *f, const ebm_energy *en, float lo, float hi, const float *x,
                            const float *filled, int64_t n) {
  const int64_t cols = n < PNG_COLS ? n : PNG_COLS, item = ebm_energy_item_size(en);
  float *mask = malloc((size_t)(cols * item) * sizeof *mask), *holes = malloc((size_t)(cols * item) * sizeof *holes);
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)f->seed);
  rng = ebm_rng_split(&rng, 1); /* the mask's stream, as the score drew it */
  ebm_status st = mask && holes ? ebm_mask_pattern(f->mask, en->item_ndim, en->item_shape, cols, &rng, mask)
                                : ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing %s", f->png);
  if (st == EBM_OK) {
    for (int64_t k = 0; k < cols * item; k++) holes[k] = mask[k] != 0.0f ? 0.5f * (lo + hi) : x[k];
    const float *rows[3] = {x, holes, filled};
    st = use_write_rows(f->png, en, lo, hi, rows, 3, cols);
  }
  free(mask);
  free(holes);
  return st;
}

/* A bad --mask is named before the data load: 0 or an exit code. */
static int check_mask(const inpaint_eval_flags *f, const ebm_energy *en) {
  float *one = malloc((size_t)ebm_energy_item_size(en) * sizeof *one);
  ebm_rng rng;
  ebm_rng_init(&rng, 0);
  ebm_status st = one ? ebm_mask_pattern(f->mask, en->item_ndim, en->item_shape, 1, &rng, one)
                      : ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  free(one);
  if (st == EBM_ERR_ARG) return cli_usage_error(VERB, "--mask %s", ebm_last_error());
  return st == EBM_OK ? 0 : cli_runtime_error(st);
}

static int run_eval_inpaint(int argc, char **argv) {
  inpaint_eval_flags f = {.mask = "bottom-half", .n = 1000};
  use_sampler_flags_init(&f.sf);
  int rc = parse_flags(argc, argv, &f);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  use_model model = {0};
  ebm_classifier *clf = NULL;
  ebm_dataset *ds = NULL;
  float *x = NULL, *filled = NULL;
  ebm_energy *start = NULL;
  char start_text[EBM_CHAIN_START_TEXT_MAX];
  ebm_status st = EBM_OK;
  ebm_sampler_config base = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN), cfg;
  int found = 0;
  if ((rc = use_model_open(VERB, f.ckpt, NET_BATCH, &model))) goto done;
  const ebm_energy *en = model.energy;
  if ((st = ebm_sampler_config_from_checkpoint(f.ckpt, &base, &found)) != EBM_OK) goto done;
  if ((rc = use_sampler_config_from(VERB, &f.sf, &base, &cfg)) || (rc = use_check_png(VERB, f.png, en))) goto done;
  if (!(en->range_lo < en->range_hi)) {
    rc = cli_usage_error(VERB, "%s has no data range: inpainting starts the holes as noise over the range", f.ckpt);
    goto done;
  }
  if ((rc = check_mask(&f, en))) goto done;
  if ((st = ebm_classifier_load(f.clf_path, NET_BATCH, &clf)) != EBM_OK) goto done;
  st = ebm_dataset_load(f.data, en->range_lo, en->range_hi, &ds);
  if (st == EBM_ERR_ARG) {
    rc = cli_usage_error(VERB, "--data: %s", ebm_last_error());
    goto done;
  }
  if (st != EBM_OK) goto done;
  const int64_t N = ds->x->shape[0], m = f.n > 0 && f.n < N ? f.n : N, item = ebm_energy_item_size(en);
  x = malloc((size_t)(m * item) * sizeof *x);
  filled = malloc((size_t)(m * item) * sizeof *filled);
  if (!x || !filled) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld images", (long long)m);
    goto done;
  }
  if ((rc = use_chain_start_open(VERB, f.ckpt, f.init, en->range_lo, en->range_hi, item, start_text, &start)))
    goto done;
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)f.seed);
  ebm_inpaint_score r;
  ebm_progress *bar = ebm_progress_new(stderr, VERB, 1);
  st = ebm_inpaint_score_run(en, &cfg, ds, m, f.mask, clf, en->range_lo, en->range_hi, start, &rng, x, filled, &r);
  ebm_progress_finish(bar);
  if (st != EBM_OK) goto done;
  const char *start_name = start ? "gaussian start" : "noise start";
  printf("%s: %s on %lld images of %s, mask %s, start %s, %s %d steps%s\n", VERB, f.ckpt, (long long)r.n, f.data,
         f.mask, start_text, ebm_sampler_name(cfg.kind), cfg.steps, found ? " (the run's sampler)" : "");
  printf("class kept (%s): originals %.4f, %s %.4f, filled %.4f\n", f.clf_path, r.acc_original, start_name,
         r.acc_start, r.acc_filled);
  printf("masked MSE to the originals: %s %.6g -> filled %.6g; mean energy %.6g -> %.6g\n", start_name,
         r.mse_start, r.mse_filled, r.e_start, r.e_filled);
  if (f.png) st = write_png(&f, en, en->range_lo, en->range_hi, x, filled, m);
  if (st == EBM_OK && f.json) st = write_json(&f, &cfg, start_text, &r);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  free(x);
  free(filled);
  ebm_dataset_free(ds);
  ebm_classifier_free(clf);
  ebm_energy_free(start);
  use_model_close(&model);
  return rc;
}

CLI_COMMAND(eval_inpaint, VERB, "--ckpt CKPT --data SPEC --classifier CLF [--mask PATTERN] [--n N] [options]",
            "inpainting judged by a classifier: does the fill restore each image's class?",
            "Draws N labelled images (default 1000), removes the --mask region (default\n"
            "bottom-half), fills it by Langevin on the missing pixels alone (as `ebm inpaint`;\n"
            "the sampler the run recorded in the checkpoint unless flags say otherwise) and asks\n"
            "the classifier for each image's class: the share it gets right on the fills, next\n"
            "to the originals (the ceiling) and the start (the floor), with the masked MSE\n"
            "and mean energy before and after. The holes start as uniform noise, or with\n"
            "--init gaussian:SPEC (the default for a model trained with --init gaussian) as a\n"
            "draw from the Gaussian fitted to SPEC conditioned on the visible pixels. The\n"
            "images are loaded in the model's range and mapped onto the classifier's.",
            run_eval_inpaint)
