/* `ebm compose`: sample from a composition of energies — AND (sum of
 * energies, product of experts), OR (−logsumexp, mixture) and AND NOT
 * (E_a − α·E_b) of checkpoints (a class fixed per term for conditional
 * models) and analytic energies (toy:NAME, gaussian:D), so the 2-D
 * behaviour can be checked by eye against the toys. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "use_common.h"

#define VERB "compose"
#define MAX_TERMS 32
#define TERM_TEXT_MAX 1024
#define DEFAULT_CHAINS 64
#define GAUSSIAN_MAX_DIM 4096

/* Every term's parsed spec and opened source (compose.h's energy specs),
 * plus the compositions built on them, freed in reverse order. */
typedef struct {
  ebm_energy_spec specs[2 * MAX_TERMS];
  ebm_energy_source sources[2 * MAX_TERMS];
  int nspecs, nsources;
  ebm_energy *owned[MAX_TERMS + 4];
  int nowned;
} term_store;

static void store_free(term_store *s) {
  for (int i = s->nowned - 1; i >= 0; i--) ebm_energy_free(s->owned[i]);
  for (int i = s->nsources - 1; i >= 0; i--) ebm_energy_source_close(&s->sources[i]);
  for (int i = 0; i < s->nspecs; i++) ebm_energy_spec_free(&s->specs[i]);
}

static ebm_energy *keep(term_store *s, ebm_energy *en) {
  s->owned[s->nowned++] = en;
  return en;
}

static int parse_term(const char *flag, const char *arg, term_store *s) {
  ebm_status st = ebm_energy_spec_parse(arg, EBM_SPEC_TERM, &s->specs[s->nspecs++]);
  if (st == EBM_ERR_ARG) return cli_usage_error(VERB, "--%s %s", flag, ebm_last_error());
  return st != EBM_OK ? cli_runtime_error(st) : 0;
}

/* One term: its source (the class fixed by :class=), weight and temperature.
 * A conditional model must have its class fixed here: a composition's
 * chains carry no labels. */
static int make_term(const char *flag, term_store *s, int index, int64_t n, ebm_compose_term *term) {
  const ebm_energy_spec *spec = &s->specs[index];
  ebm_energy_source *src = &s->sources[s->nsources++];
  ebm_status st = ebm_energy_source_open(spec, n, src);
  if (st == EBM_ERR_ARG) return cli_usage_error(VERB, "--%s %s", flag, ebm_last_error());
  if (st != EBM_OK) return cli_runtime_error(st);
  if (src->energy->num_classes > 0)
    return cli_usage_error(VERB, "--%s %s: the model is conditional (%d classes): add :class=Y", flag,
                           src->energy->name, src->energy->num_classes);
  term->energy = src->energy;
  term->weight = spec->weight;
  term->temperature = spec->temperature;
  return 0;
}

/* Collects every --term / --not value and the remaining arguments for
 * cli_parse (which keeps the last of a repeated option). */
static int split_repeated(int argc, char **argv, char **rest, int *nrest, const char **terms, int *nterms,
                          const char **nots, int *nnots) {
  *nrest = *nterms = *nnots = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    int is_term = strncmp(a, "--term", 6) == 0 && (a[6] == '\0' || a[6] == '=');
    int is_not = strncmp(a, "--not", 5) == 0 && (a[5] == '\0' || a[5] == '=');
    if (i == 0 || strcmp(a, "--") == 0 || (!is_term && !is_not)) {
      rest[(*nrest)++] = argv[i];
      if (i > 0 && strcmp(a, "--") == 0)
        while (++i < argc) rest[(*nrest)++] = argv[i];
      continue;
    }
    const char *value = strchr(a, '=');
    if (value) value++;
    else if (i + 1 < argc) value = argv[++i];
    else return cli_usage_error(VERB, "%s needs a value", a);
    int *count = is_term ? nterms : nnots;
    if (*count >= MAX_TERMS) return cli_usage_error(VERB, "at most %d --term and %d --not", MAX_TERMS, MAX_TERMS);
    (is_term ? terms : nots)[(*count)++] = value;
  }
  return 0;
}

/* Progress bar per step, counted across annealing phases. */
typedef struct {
  ebm_progress *progress;
  int offset;
} phase_progress;

static void on_step(void *ctx, int step, const float *x, int64_t n, const ebm_sample_stats *st) {
  (void)x;
  (void)n;
  const phase_progress *pp = ctx;
  char metric[64];
  snprintf(metric, sizeof metric, "E %.4g acc %.3f", (double)st->mean_energy, (double)st->accept_rate);
  ebm_progress_update(pp->progress, pp->offset + step + 1, metric);
}

#define ANNEAL_PHASES 4

/* K steps at T = 1, or with --anneal T0 > 1 in ANNEAL_PHASES phases at
 * temperatures T0^(1 − k/(P−1)) down to 1: hot chains cross between modes
 * that are too far apart at T = 1, then settle (simulated annealing; the
 * final phase samples the composition itself). MALA/HMC adapt ε in the
 * first half of each phase (unless --adapt says otherwise) and carry it
 * over scaled by √(T_next/T). */
static ebm_status run_annealed(const ebm_energy *en, const ebm_sampler_config *base, double anneal,
                               int adapt_flag, float *x, int64_t n, ebm_rng *rng, float *fe) {
  const int phases = anneal > 1.0 ? ANNEAL_PHASES : 1;
  ebm_sampler_config cfg = *base;
  ebm_status st = EBM_OK;
  int adjusted = cfg.kind == EBM_SAMPLER_MALA || cfg.kind == EBM_SAMPLER_HMC;
  ebm_progress *progress = ebm_progress_new(stderr, VERB, base->steps);
  int done_steps = 0;
  for (int p = 0; p < phases && st == EBM_OK; p++) {
    ebm_sampler *s = NULL;
    cfg.steps = base->steps / phases + (p == phases - 1 ? base->steps % phases : 0);
    cfg.temperature = phases > 1 ? (float)pow(anneal, 1.0 - (double)p / (phases - 1)) : base->temperature;
    if (phases > 1) { /* --adapt applies per phase */
      int adapt = adapt_flag == -1 ? (adjusted ? cfg.steps / 2 : 0) : adapt_flag;
      cfg.adapt_steps = adapt < cfg.steps ? adapt : cfg.steps;
    }
    if ((st = ebm_sampler_new(en, &cfg, n, &s)) != EBM_OK) break;
    phase_progress pp = {progress, done_steps};
    st = ebm_sampler_run_cb(s, x, NULL, n, rng, NULL, fe, on_step, &pp);
    done_steps += cfg.steps;
    if (p + 1 < phases) {
      double next = pow(anneal, 1.0 - (double)(p + 1) / (phases - 1));
      if (adjusted) cfg.step_size = ebm_sampler_step_size(s) * (float)sqrt(next / cfg.temperature);
    }
    ebm_sampler_free(s);
  }
  ebm_progress_finish(progress);
  return st;
}

static int run_compose(int argc, char **argv) {
  const char *term_args[MAX_TERMS], *not_args[MAX_TERMS], *dummy = NULL, *out = NULL, *png = NULL;
  int nterms, nnots, or_flag = 0, nrest;
  double alpha = 1.0, anneal = 1.0;
  int64_t n = DEFAULT_CHAINS, seed = 0;
  use_sampler_flags sf;
  use_sampler_flags_init(&sf);
  char **rest = malloc((size_t)(argc + 1) * sizeof *rest);
  if (!rest) return cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory"));
  cli_opt opts[] = {
      {"term", OPT_STRING, &dummy, "SPEC", "a term (repeat): CKPT | toy:NAME | gaussian:D, then [:class=Y][:weight=W][:temp=T] (gaussian: [:mean=M][:std=S])"},
      {"or", OPT_FLAG, &or_flag, NULL, "combine the terms by OR (mixture, -logsumexp) instead of AND (sum)"},
      {"not", OPT_STRING, &dummy, "SPEC", "a term to negate (repeat): E - alpha * E_not"},
      {"alpha", OPT_DOUBLE, &alpha, "A", "weight of the --not terms"},
      USE_SAMPLER_OPTS(sf),
      {"anneal", OPT_DOUBLE, &anneal, "T0", "start hot: 4 phases at temperatures from T0 down to 1 (1 = off)"},
      {"n", OPT_INT64, &n, "N", "chains"},
      {"seed", OPT_INT64, &seed, "S", "random seed"},
      {"out", OPT_PATH_OUT, &out, "OUT.npy", "where to write the samples (required)"},
      {"png", OPT_PATH_OUT, &png, "FILE.png", "an image grid, or for 2-D the composed density with the samples"},
  };
  term_store *store = calloc(1, sizeof *store);
  float *x = NULL, *fe = NULL;
  ebm_sampler *s = NULL;
  ebm_status st = EBM_OK;
  int rc;
  if (!store) {
    rc = cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory"));
    goto done;
  }
  if ((rc = split_repeated(argc, argv, rest, &nrest, term_args, &nterms, not_args, &nnots))) goto done;
  rest[nrest] = NULL;
  rc = cli_parse(VERB, opts, CLI_NOPTS(opts), nrest, rest, NULL, 0, NULL);
  if (rc) {
    rc = rc < 0 ? CLI_EXIT_OK : rc;
    goto done;
  }
  if (nterms < 1) {
    rc = cli_usage_error(VERB, "give at least one --term");
    goto done;
  }
  if (!out || !out[0]) {
    rc = cli_usage_error(VERB, "--out OUT.npy is required");
    goto done;
  }
  if (n < 1 || n > USE_MAX_ITEMS) {
    rc = cli_usage_error(VERB, "--n must be in 1..%d, got %lld", USE_MAX_ITEMS, (long long)n);
    goto done;
  }
  if (!(anneal >= 1.0 && anneal <= 1e6)) {
    rc = cli_usage_error(VERB, "--anneal must be in [1, 1e6] (1 = off), got %g", anneal);
    goto done;
  }
  if (!(alpha >= 0.0)) {
    rc = cli_usage_error(VERB, "--alpha must be >= 0, got %g", alpha);
    goto done;
  }
  int any_ckpt = 0;
  for (int i = 0; i < nterms + nnots; i++) {
    if ((rc = parse_term(i < nterms ? "term" : "not", i < nterms ? term_args[i] : not_args[i - nterms], store)))
      goto done;
    any_ckpt |= store->specs[i].kind == EBM_SOURCE_CKPT;
  }
  cli_path term_files[2 * MAX_TERMS];
  for (int i = 0; i < nterms + nnots; i++)
    term_files[i] = (cli_path){i < nterms ? "term" : "not", i < nterms ? term_args[i] : not_args[i - nterms],
                               OPT_ENERGY_IN};
  if ((rc = cli_check_paths(VERB, opts, CLI_NOPTS(opts), term_files, nterms + nnots))) goto done;
  ebm_sampler_config cfg;
  if ((rc = use_sampler_config(VERB, &sf, any_ckpt ? EBM_SAMPLER_LANGEVIN : EBM_SAMPLER_MALA, &cfg))) goto done;

  /* the composition: (t1 AND t2 ...) or (t1 OR t2 ...), then AND NOT each --not */
  ebm_compose_term terms[MAX_TERMS], with_nots[MAX_TERMS + 1];
  for (int i = 0; i < nterms; i++)
    if ((rc = make_term("term", store, i, n, &terms[i]))) goto done;
  ebm_energy *en = NULL;
  st = or_flag ? ebm_compose_or_new(terms, nterms, &en) : ebm_compose_and_new(terms, nterms, &en);
  if (st != EBM_OK) {
    rc = st == EBM_ERR_NOMEM ? cli_runtime_error(st) : cli_usage_error(VERB, "%s", ebm_last_error());
    st = EBM_OK;
    goto done;
  }
  keep(store, en);
  if (nnots > 0) {
    with_nots[0] = ebm_compose_term_of(en);
    for (int j = 0; j < nnots; j++) {
      if ((rc = make_term("not", store, nterms + j, n, &with_nots[1 + j]))) goto done;
      with_nots[1 + j].weight *= -alpha;
    }
    if ((st = ebm_compose_and_new(with_nots, nnots + 1, &en)) != EBM_OK) {
      rc = st == EBM_ERR_NOMEM ? cli_runtime_error(st) : cli_usage_error(VERB, "%s", ebm_last_error());
      st = EBM_OK;
      goto done;
    }
    keep(store, en);
  }

  const int64_t item = ebm_energy_item_size(en);
  const int plane = en->item_ndim == 1 && en->item_shape[0] == 2;
  if (png && !use_is_image(en) && !plane) {
    rc = cli_usage_error(VERB, "--png draws images or 2-D samples; %s has items of %lld values", en->name, (long long)item);
    goto done;
  }
  float lo, hi;
  use_range(en, -(float)EBM_TOY_EXTENT, (float)EBM_TOY_EXTENT, &lo, &hi);
  x = malloc((size_t)(n * item) * sizeof *x);
  fe = malloc((size_t)n * sizeof *fe);
  if (!x || !fe) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld chains", (long long)n);
    goto done;
  }
  ebm_rng rng, init_rng;
  ebm_rng_init(&rng, (uint64_t)seed);
  init_rng = ebm_rng_split(&rng, 1);
  ebm_rng_uniform(&init_rng, x, n * item, lo, hi); /* chains start as noise over the data range */
  if ((st = run_annealed(en, &cfg, anneal, sf.adapt, x, n, &rng, fe)) != EBM_OK) goto done;
  int64_t shape[4] = {n};
  memcpy(shape + 1, en->item_shape, (size_t)en->item_ndim * sizeof *shape);
  if ((st = ebm_npy_save(out, EBM_DTYPE_F32, 1 + en->item_ndim, shape, x)) != EBM_OK) goto done;
  if (png && plane) st = use_write_density(png, en, lo, hi, -1, 1.0f, x, n);
  if (png && !plane) {
    int64_t gshape[4] = {n, en->item_shape[0], en->item_shape[1], en->item_shape[2]};
    ebm_tensor view = ebm_tensor_wrap(x, 4, gshape);
    ebm_grid_opts go = ebm_grid_defaults();
    go.lo = lo;
    go.hi = hi;
    go.scale = en->item_shape[1] <= 64 ? 2 : 1;
    st = ebm_png_write_grid(png, &view, &go);
  }
  if (st != EBM_OK) goto done;
  double mean_e = 0.0;
  for (int64_t i = 0; i < n; i++) mean_e += fe[i] / (double)n;
  printf("%s: %d steps on %lld chains of %s, final mean energy %.6g -> %s\n", ebm_sampler_name(cfg.kind),
         cfg.steps, (long long)n, en->name, mean_e, out);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  ebm_sampler_free(s);
  free(x);
  free(fe);
  if (store) store_free(store);
  free(store);
  free(rest);
  return rc;
}

CLI_COMMAND(compose, VERB,
            "--term SPEC [--term SPEC ...] [--or] [--not SPEC [--alpha A]] --out OUT.npy [options]",
            "sample from an AND / OR / AND NOT composition of energies",
            "Combines energies and samples the result by MCMC from uniform noise over the data\n"
            "range (the toys' box [-4, 4] for analytic energies). A term is a checkpoint CKPT,\n"
            "toy:NAME or gaussian:D, followed by options :class=Y (fix the class of a\n"
            "conditional model: the same CKPT with two classes is E(x,y1) + E(x,y2)),\n"
            ":weight=W and :temp=T (the term is W*E/T); gaussian:D also takes :mean=M (one\n"
            "value or D comma-separated) and :std=S. By default the terms are ANDed:\n"
            "E = sum W*E/T, the product of the experts. --or gives the mixture\n"
            "E = -log sum W*exp(-E/T) (weights are mixture weights: normalised terms with\n"
            "weights summing to 1 give exactly sum W*p). Each --not term is subtracted:\n"
            "E - alpha*W*E_not/T, removing mass where E_not is low (Du, Li & Mordatch 2020).\n"
            "Example: ebm compose --term toy:8gaussians --term gaussian:2:mean=2.5,0 --png and.png --out s.npy",
            run_compose)
