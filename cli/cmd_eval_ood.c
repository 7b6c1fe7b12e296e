/* `ebm eval ood`: how well a model's energy tells its data from other data
 * (Du & Mordatch §4.3; Grathwohl et al. 2020 for the gradient-norm score):
 * AUROC, AUPR and FPR at 95 % TPR per out-of-distribution set and score, a
 * table on stdout, --json, and histograms of in- vs out-of-distribution
 * scores. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERB "eval ood"
#define NET_BATCH 256
#define MAX_SETS 16
#define MAX_ITEMS 1000000
#define HIST_BINS 60
#define NSCORES 3

/* Splits the --ood list at commas; a piece that does not start a spec
 * (the labels file of "npy:X.npy,Y.npy") is glued back to the previous one. */
static int split_specs(char *list, char **specs, int max) {
  static const char *const starts[] = {"noise:", "constant", "flip:", "invert:", "fashion-mnist", "mnist", "npy:", "toy:"};
  int n = 0;
  for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
    int starts_spec = 0;
    for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++)
      starts_spec |= strncmp(tok, starts[k], strlen(starts[k])) == 0;
    if (!starts_spec && n > 0) {
      tok[-1] = ','; /* undo strtok's cut: the previous spec runs on */
      continue;
    }
    if (n == max) return -1;
    specs[n++] = tok;
  }
  return n;
}

typedef struct {
  const char *spec;
  int64_t n;
  double *s[NSCORES];      /* scores: 0 = −E, 1 = −‖∇E‖, 2 = max_y p(y|x) */
  ebm_ood_metrics m[NSCORES];
} ood_set;

static const char *const score_names[NSCORES] = {"energy", "grad-norm", "max-prob"};
/* What the pictures and means show: E, ‖∇E‖ (the scores negated back) and max p(y|x). */
static const double raw_sign[NSCORES] = {-1, -1, 1};
static const char *const raw_names[NSCORES] = {"energy e(x)", "|grad e(x)|", "max p(y|x)"};

static double mean_of(const double *v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += v[i];
  return n > 0 ? s / (double)n : NAN;
}

/* Histograms of the raw E, ‖∇E‖ and max p(y|x). */
static ebm_status write_png(const char *path, const char *in_spec, const ood_set *in, const ood_set *sets,
                            int nsets, const int *use) {
  int np = 0;
  ebm_hist_panel panels[NSCORES * MAX_SETS];
  ebm_hist_series series[NSCORES * MAX_SETS][2];
  char titles[NSCORES * MAX_SETS][160];
  double *bufs[NSCORES * MAX_SETS + NSCORES] = {0};
  int nb = 0;
  ebm_status st = EBM_OK;
  double *raw_in[NSCORES] = {NULL};
  for (int k = 0; k < NSCORES; k++) {
    if (!use[k]) continue;
    raw_in[k] = bufs[nb++] = malloc((size_t)in->n * sizeof(double));
    if (!raw_in[k]) goto nomem;
    for (int64_t i = 0; i < in->n; i++) raw_in[k][i] = raw_sign[k] * in->s[k][i];
  }
  for (int j = 0; j < nsets; j++)
    for (int k = 0; k < NSCORES; k++) {
      if (!use[k]) continue;
      double *raw = bufs[nb++] = malloc((size_t)sets[j].n * sizeof(double));
      if (!raw) goto nomem;
      for (int64_t i = 0; i < sets[j].n; i++) raw[i] = raw_sign[k] * sets[j].s[k][i];
      snprintf(titles[np], sizeof titles[np], "%s: auroc %.3f", raw_names[k], sets[j].m[k].auroc);
      series[np][0] = (ebm_hist_series){raw_in[k], in->n, in_spec, {31, 119, 180}};
      series[np][1] = (ebm_hist_series){raw, sets[j].n, sets[j].spec, {255, 127, 14}};
      panels[np] = (ebm_hist_panel){titles[np], 2, series[np], NAN};
      np++;
    }
  st = ebm_hist_png(path, np, panels, HIST_BINS);
  goto done;
nomem:
  st = ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing %s", path);
done:
  for (int i = 0; i < nb; i++) free(bufs[i]);
  return st;
}

static ebm_status write_json(const char *path, const char *ckpt, const ood_set *in, const ood_set *sets, int nsets,
                             const int *use) {
  cJSON *root = cJSON_CreateObject(), *arr = NULL;
  ebm_status st = EBM_OK;
  char *text = NULL;
  if (!root) goto nomem;
  cJSON_AddStringToObject(root, "model", ckpt);
  cJSON_AddStringToObject(root, "in", in->spec);
  cJSON_AddNumberToObject(root, "n_in", (double)in->n);
  cJSON_AddStringToObject(root, "positive", "in-distribution; scores -E(x), -|grad_x E(x)|, max_y p(y|x), higher = in");
  if (!(arr = cJSON_AddArrayToObject(root, "results"))) goto nomem;
  for (int j = 0; j < nsets; j++)
    for (int k = 0; k < NSCORES; k++) {
      if (!use[k]) continue;
      cJSON *o = cJSON_CreateObject();
      if (!o) goto nomem;
      cJSON_AddItemToArray(arr, o);
      cJSON_AddStringToObject(o, "ood", sets[j].spec);
      cJSON_AddNumberToObject(o, "n", (double)sets[j].n);
      cJSON_AddStringToObject(o, "score", score_names[k]);
      cJSON_AddNumberToObject(o, "auroc", sets[j].m[k].auroc);
      cJSON_AddNumberToObject(o, "aupr_in", sets[j].m[k].aupr_in);
      cJSON_AddNumberToObject(o, "aupr_out", sets[j].m[k].aupr_out);
      cJSON_AddNumberToObject(o, "fpr95", sets[j].m[k].fpr95);
      cJSON_AddNumberToObject(o, "mean_in", raw_sign[k] * mean_of(in->s[k], in->n));
      cJSON_AddNumberToObject(o, "mean_out", raw_sign[k] * mean_of(sets[j].s[k], sets[j].n));
    }
  if (!(text = cJSON_Print(root))) goto nomem;
  const void *parts[2] = {text, "\n"};
  const size_t sizes[2] = {strlen(text), 1};
  st = ebm_write_file_atomic_parts(path, 2, parts, sizes);
  goto done;
nomem:
  st = ebm_set_error(EBM_ERR_NOMEM, "out of memory writing %s", path);
done:
  free(text);
  cJSON_Delete(root);
  return st;
}

typedef struct {
  const char *ckpt, *in_spec, *ood, *score, *json, *png;
  int64_t n, seed;
  int use[NSCORES];         /* which scores: energy, grad-norm, max-prob */
  char list[4096];          /* the --ood list, cut into specs */
  char *specs[MAX_SETS];
  int nsets;
} ood_flags;

/* 0, -1 after --help, or an exit code. */
static int parse_flags(int argc, char **argv, ood_flags *f) {
  cli_opt opts[] = {
      {"ckpt", OPT_PATH_IN, &f->ckpt, "CKPT", "the model (safetensors checkpoint)"},
      {"in", OPT_SPEC_IN, &f->in_spec, "SPEC", "the in-distribution data set (e.g. fashion-mnist:test)"},
      {"ood", OPT_STRING, &f->ood, "SPEC,...", "out-of-distribution sets: data set specs, noise:uniform, noise:gaussian, constant, flip:SPEC, invert:SPEC (default: the synthetic sets on --in; flip only for image models)"},
      {"score", OPT_STRING, &f->score, "S", "energy | grad-norm | max-prob | both (energy, grad-norm) | all"},
      {"n", OPT_INT64, &f->n, "N", "items per set (a random subset of larger data sets)"},
      {"seed", OPT_INT64, &f->seed, "S", "random seed (subsets, noise)"},
      {"json", OPT_PATH_OUT, &f->json, "FILE", "the results as JSON"},
      {"png", OPT_PATH_OUT, &f->png, "FILE.png", "histograms of E and |grad E|, in- vs out-of-distribution"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  if (!f->ckpt) return cli_usage_error(VERB, "--ckpt CKPT is required");
  if (!f->in_spec) return cli_usage_error(VERB, "--in SPEC is required");
  const int all = strcmp(f->score, "all") == 0, both = all || strcmp(f->score, "both") == 0;
  f->use[0] = both || strcmp(f->score, "energy") == 0;
  f->use[1] = both || strcmp(f->score, "grad-norm") == 0;
  f->use[2] = all || strcmp(f->score, "max-prob") == 0;
  if (!f->use[0] && !f->use[1] && !f->use[2])
    return cli_usage_error(VERB, "--score must be energy, grad-norm, max-prob, both or all, got '%s'", f->score);
  if (f->n < 1 || f->n > MAX_ITEMS)
    return cli_usage_error(VERB, "--n must be in 1..%d, got %lld", MAX_ITEMS, (long long)f->n);
  if (f->ood && strlen(f->ood) >= sizeof f->list) return cli_usage_error(VERB, "--ood list is too long");
  f->nsets = f->ood ? split_specs(strcpy(f->list, f->ood), f->specs, MAX_SETS) : 0;
  if (f->nsets < 0) return cli_usage_error(VERB, "--ood: at most %d sets", MAX_SETS);
  if (f->ood && f->nsets == 0) return cli_usage_error(VERB, "--ood: no set given");
  return 0;
}

/* Without --ood: the synthetic sets that fit the model (flipping needs images). */
static void default_sets(ood_flags *f, const ebm_energy *en) {
  const int img = en->item_ndim == 3;
  snprintf(f->list, sizeof f->list, "noise:uniform,noise:gaussian,constant,%s%s%sinvert:%s", img ? "flip:" : "",
           img ? f->in_spec : "", img ? "," : "", f->in_spec);
  f->nsets = split_specs(f->list, f->specs, MAX_SETS);
}

/* Set j (−1: the in-distribution set) made, scored, and compared with the
 * in-distribution scores. Returns 0, or an exit code (usage errors are
 * printed here; other failures in *st). */
static int score_set(const ood_flags *f, const ebm_energy *en, const ebm_rng *rng, int j, const ood_set *in,
                     ood_set *set, ebm_status *st) {
  const int ranged = en->range_lo < en->range_hi;
  const float lo = ranged ? en->range_lo : 0.0f, hi = ranged ? en->range_hi : 1.0f;
  ebm_rng set_rng = ebm_rng_split(rng, (uint64_t)(j + 1));
  ebm_tensor *x = NULL;
  *st = ebm_ood_set_make(set->spec, en->item_ndim, en->item_shape, lo, hi, f->n, &set_rng, &x);
  if (*st == EBM_ERR_ARG) {
    *st = EBM_OK;
    return cli_usage_error(VERB, "%s %s", j < 0 ? "--in" : "--ood", ebm_last_error());
  }
  if (*st != EBM_OK) return 0;
  set->n = x->shape[0];
  for (int k = 0; k < NSCORES; k++)
    if (f->use[k] && !(set->s[k] = malloc((size_t)set->n * sizeof(double))))
      *st = ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  if (*st == EBM_OK) *st = ebm_ood_scores(en, x->data, set->n, set->s[0], set->s[1], set->s[2]);
  ebm_tensor_free(x);
  for (int k = 0; k < NSCORES && *st == EBM_OK && j >= 0; k++)
    if (f->use[k]) *st = ebm_ood_metrics_compute(in->s[k], in->n, set->s[k], set->n, &set->m[k]);
  return 0;
}

static void print_table(const ood_flags *f, const ood_set *in, const ood_set *sets) {
  printf("%s: %s, in-distribution %s (%lld items); positive = in, scores -E, -|grad E|, max p(y|x)\n", VERB, f->ckpt,
         f->in_spec, (long long)in->n);
  printf("%-28s %6s  %-9s  %6s  %7s  %8s  %6s  %10s  %10s\n", "ood set", "n", "score", "AUROC", "AUPR-in", "AUPR-out",
         "FPR95", "mean in", "mean out");
  for (int j = 0; j < f->nsets; j++)
    for (int k = 0; k < NSCORES; k++)
      if (f->use[k])
        printf("%-28s %6lld  %-9s  %6.4f  %7.4f  %8.4f  %6.4f  %10.4g  %10.4g\n", sets[j].spec, (long long)sets[j].n,
               score_names[k], sets[j].m[k].auroc, sets[j].m[k].aupr_in, sets[j].m[k].aupr_out, sets[j].m[k].fpr95,
               raw_sign[k] * mean_of(in->s[k], in->n), raw_sign[k] * mean_of(sets[j].s[k], sets[j].n));
}

static int run_eval_ood(int argc, char **argv) {
  ood_flags f = {.score = "both", .n = 2000};
  int rc = parse_flags(argc, argv, &f);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  ebm_net *net = NULL;
  ebm_energy *en = NULL;
  ood_set in, sets[MAX_SETS];
  memset(&in, 0, sizeof in);
  in.spec = f.in_spec;
  memset(sets, 0, sizeof sets);
  ebm_status st;
  /* any model: a network's energy, or a flow's exact -log q */
  if ((st = ebm_model_energy_load(f.ckpt, NET_BATCH, &net, &en)) != EBM_OK) return cli_runtime_error(st);
  if (!f.ood) default_sets(&f, en);
  if (f.use[2] && en->num_classes < 2) {
    rc = cli_usage_error(VERB, "--score %s: %s has no classes, so no max p(y|x)", f.score, f.ckpt);
    goto done;
  }
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)f.seed);
  ebm_progress *bar = ebm_progress_new(stderr, "ood", f.nsets + 1);
  for (int j = -1; j < f.nsets && !rc && st == EBM_OK; j++) {
    ood_set *set = j < 0 ? &in : &sets[j];
    if (j >= 0) set->spec = f.specs[j];
    rc = score_set(&f, en, &rng, j, &in, set, &st);
    if (!rc && st == EBM_OK) ebm_progress_update(bar, j + 2, set->spec);
  }
  ebm_progress_finish(bar);
  if (rc || st != EBM_OK) goto done;
  print_table(&f, &in, sets);
  if (f.json && (st = write_json(f.json, f.ckpt, &in, sets, f.nsets, f.use)) != EBM_OK) goto done;
  if (f.png) st = write_png(f.png, f.in_spec, &in, sets, f.nsets, f.use);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  for (int k = 0; k < NSCORES; k++) {
    free(in.s[k]);
    for (int j = 0; j < MAX_SETS; j++) free(sets[j].s[k]);
  }
  ebm_energy_free(en);
  ebm_net_free(net);
  return rc;
}

CLI_COMMAND(eval_ood, VERB, "--ckpt CKPT --in SPEC [--ood SPEC[,SPEC...]] [--score energy|grad-norm|max-prob|both|all] [options]",
            "out-of-distribution detection: AUROC, AUPR, FPR at 95% TPR",
            "Scores N items of the in-distribution set and of every out-of-distribution set with\n"
            "-E(x) and -|grad_x E(x)| (Grathwohl et al.'s approximate-mass score; for a class-\n"
            "conditional model or a classifier E is the marginal -log sum_y exp(-E(x, y)), i.e.\n"
            "log p(x) + log Z of a JEM model) and, with --score max-prob or all, max_y p(y|x)\n"
            "(models with classes), higher meaning\n"
            "in-distribution, and reports AUROC (ties count 1/2), AUPR with the in- and with the\n"
            "out-of-distribution set as positive (average precision), and the FPR at 95% TPR.\n"
            "OOD sets: any data set spec, noise:uniform (U over the data range), noise:gaussian\n"
            "(N(mid, (range/4)^2), clamped), constant (one random value per image), flip:SPEC\n"
            "(vertically flipped), invert:SPEC (lo + hi - x, i.e. 1 - x on [0, 1]). Data are loaded\n"
            "in the model's range. A flow (ebm train --method flow) is scored with its exact\n"
            "energy -log q(x).",
            run_eval_ood)
