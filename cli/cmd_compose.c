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

/* Progress bar per step (counted across annealing phases). */
static void on_step(void *ctx, int step, const float *x, int64_t n, const ebm_sample_stats *st) {
  (void)x;
  (void)n;
  char metric[64];
  snprintf(metric, sizeof metric, "E %.4g acc %.3f", (double)st->mean_energy, (double)st->accept_rate);
  ebm_progress_update(ctx, step + 1, metric);
}

typedef struct {
  const char *terms[MAX_TERMS], *nots[MAX_TERMS], *out, *png;
  int nterms, nnots, or_flag;
  double alpha, anneal;
  int64_t n, seed;
  use_sampler_flags sf;
} compose_flags;

/* Every flag, each term parsed into the store and the sampler config: 0,
 * -1 after --help, or an exit code. `rest` has room for argc + 1. */
static int parse_flags(int argc, char **argv, char **rest, compose_flags *f, term_store *store,
                       ebm_sampler_config *cfg) {
  const char *dummy = NULL;
  int nrest, rc;
  cli_opt opts[] = {
      {"term", OPT_STRING, &dummy, "SPEC", "a term (repeat): CKPT | toy:NAME | gaussian:D, then [:class=Y][:weight=W][:temp=T][:range=LO,HI] (gaussian: [:mean=M][:std=S])"},
      {"or", OPT_FLAG, &f->or_flag, NULL, "combine the terms by OR (mixture, -logsumexp) instead of AND (sum)"},
      {"not", OPT_STRING, &dummy, "SPEC", "a term to negate (repeat): E - alpha * E_not"},
      {"alpha", OPT_DOUBLE, &f->alpha, "A", "weight of the --not terms"},
      USE_SAMPLER_OPTS(f->sf),
      {"anneal", OPT_DOUBLE, &f->anneal, "T0", "start hot: 4 phases from T0 down to 1 (langevin: noise ×√T, others exp(-E/T)); 1 = off"},
      {"n", OPT_INT64, &f->n, "N", "chains"},
      {"seed", OPT_INT64, &f->seed, "S", "random seed"},
      {"out", OPT_PATH_OUT, &f->out, "OUT.npy", "where to write the samples (required)"},
      {"png", OPT_PATH_OUT, &f->png, "FILE.png", "an image grid, or for 2-D the composed density with the samples"},
  };
  if ((rc = split_repeated(argc, argv, rest, &nrest, f->terms, &f->nterms, f->nots, &f->nnots))) return rc;
  rest[nrest] = NULL;
  if ((rc = cli_parse(VERB, opts, CLI_NOPTS(opts), nrest, rest, NULL, 0, NULL))) return rc;
  if (f->nterms < 1) return cli_usage_error(VERB, "give at least one --term");
  if (!f->out || !f->out[0]) return cli_usage_error(VERB, "--out OUT.npy is required");
  if (f->n < 1 || f->n > USE_MAX_ITEMS)
    return cli_usage_error(VERB, "--n must be in 1..%d, got %lld", USE_MAX_ITEMS, (long long)f->n);
  if (!(f->anneal >= 1.0 && f->anneal <= 1e6))
    return cli_usage_error(VERB, "--anneal must be in [1, 1e6] (1 = off), got %g", f->anneal);
  if (!(f->alpha >= 0.0)) return cli_usage_error(VERB, "--alpha must be >= 0, got %g", f->alpha);
  int any_ckpt = 0;
  cli_path term_files[2 * MAX_TERMS];
  for (int i = 0; i < f->nterms + f->nnots; i++) {
    const char *flag = i < f->nterms ? "term" : "not", *arg = i < f->nterms ? f->terms[i] : f->nots[i - f->nterms];
    if ((rc = parse_term(flag, arg, store))) return rc;
    any_ckpt |= store->specs[i].kind == EBM_SOURCE_CKPT;
    term_files[i] = (cli_path){flag, arg, OPT_ENERGY_IN};
  }
  if ((rc = cli_check_paths(VERB, opts, CLI_NOPTS(opts), term_files, f->nterms + f->nnots))) return rc;
  return use_sampler_config(VERB, &f->sf, any_ckpt ? EBM_SAMPLER_LANGEVIN : EBM_SAMPLER_MALA, cfg);
}

/* A failed composition: a usage error unless out of memory. */
static int composition_error(ebm_status st) {
  return st == EBM_ERR_NOMEM ? cli_runtime_error(st) : cli_usage_error(VERB, "%s", ebm_last_error());
}

/* The composition: (t1 AND t2 ...) or (t1 OR t2 ...), then AND NOT each
 * --not. The store owns what is built. */
static int build_composition(const compose_flags *f, term_store *store, ebm_energy **out) {
  ebm_compose_term terms[MAX_TERMS], with_nots[MAX_TERMS + 1];
  ebm_energy *en = NULL;
  ebm_status st;
  int rc;
  for (int i = 0; i < f->nterms; i++)
    if ((rc = make_term("term", store, i, f->n, &terms[i]))) return rc;
  st = f->or_flag ? ebm_compose_or_new(terms, f->nterms, &en) : ebm_compose_and_new(terms, f->nterms, &en);
  if (st != EBM_OK) return composition_error(st);
  keep(store, en);
  if (f->nnots > 0) {
    with_nots[0] = ebm_compose_term_of(en);
    for (int j = 0; j < f->nnots; j++) {
      if ((rc = make_term("not", store, f->nterms + j, f->n, &with_nots[1 + j]))) return rc;
      with_nots[1 + j].weight *= -f->alpha;
    }
    if ((st = ebm_compose_and_new(with_nots, f->nnots + 1, &en)) != EBM_OK) return composition_error(st);
    keep(store, en);
  }
  *out = en;
  return 0;
}

/* Chains from uniform noise over the data range, annealed by --anneal,
 * written to --out and --png. */
static ebm_status sample_and_write(const compose_flags *f, const ebm_energy *en, const ebm_sampler_config *cfg,
                                   float *x, float *fe) {
  const int64_t n = f->n;
  float lo, hi;
  use_range(en, -(float)EBM_TOY_EXTENT, (float)EBM_TOY_EXTENT, &lo, &hi);
  ebm_rng rng, init_rng;
  ebm_rng_init(&rng, (uint64_t)f->seed);
  init_rng = ebm_rng_split(&rng, 1);
  ebm_rng_uniform(&init_rng, x, n * ebm_energy_item_size(en), lo, hi);
  ebm_anneal_plan plan = {f->anneal, EBM_ANNEAL_PHASES, f->sf.adapt};
  ebm_progress *progress = ebm_progress_new(stderr, VERB, cfg->steps);
  ebm_status st = ebm_sample_annealed(en, cfg, &plan, x, NULL, n, &rng, fe, NULL, on_step, progress);
  ebm_progress_finish(progress);
  if (st == EBM_OK) st = use_save_items(f->out, en, x, n);
  if (st == EBM_OK) st = use_write_picture(f->png, en, lo, hi, -1, 1.0f, x, n);
  return st;
}

static int run_compose(int argc, char **argv) {
  compose_flags f = {.alpha = 1.0, .anneal = 1.0, .n = DEFAULT_CHAINS};
  use_sampler_flags_init(&f.sf);
  ebm_sampler_config cfg;
  ebm_energy *en = NULL;
  float *x = NULL, *fe = NULL;
  ebm_status st = EBM_OK;
  int rc;
  char **rest = malloc((size_t)(argc + 1) * sizeof *rest);
  term_store *store = calloc(1, sizeof *store);
  if (!rest || !store) {
    rc = cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory"));
    goto done;
  }
  if ((rc = parse_flags(argc, argv, rest, &f, store, &cfg))) {
    rc = rc < 0 ? CLI_EXIT_OK : rc;
    goto done;
  }
  if ((rc = build_composition(&f, store, &en)) || (rc = use_check_picture(VERB, "png", f.png, en))) goto done;
  x = malloc((size_t)(f.n * ebm_energy_item_size(en)) * sizeof *x);
  fe = malloc((size_t)f.n * sizeof *fe);
  if (!x || !fe) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld chains", (long long)f.n);
    goto done;
  }
  if ((st = sample_and_write(&f, en, &cfg, x, fe)) != EBM_OK) goto done;
  printf("%s: %d steps on %lld chains of %s, final mean energy %.6g -> %s\n", ebm_sampler_name(cfg.kind),
         cfg.steps, (long long)f.n, en->name, use_mean(fe, f.n), f.out);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
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
            ":weight=W and :temp=T (the term is W*E/T) and :range=LO,HI (a checkpoint trained\n"
            "on another data range, seen on [LO, HI] through the affine map onto its own);\n"
            "gaussian:D also takes :mean=M (one value or D comma-separated) and :std=S.\n"
            "The composition's range is the intersection of its terms'. By default the terms are ANDed:\n"
            "E = sum W*E/T, the product of the experts. --or gives the mixture\n"
            "E = -log sum W*exp(-E/T) (weights are mixture weights: normalised terms with\n"
            "weights summing to 1 give exactly sum W*p). Each --not term is subtracted:\n"
            "E - alpha*W*E_not/T, removing mass where E_not is low (Du, Li & Mordatch 2020).\n"
            "Example: ebm compose --term toy:8gaussians --term gaussian:2:mean=2.5,0 --png and.png --out s.npy",
            run_compose)
