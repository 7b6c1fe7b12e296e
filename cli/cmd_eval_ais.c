/* `ebm eval ais`: log Z of a model by annealed importance sampling, from
 * both sides (forward AIS from the base: a stochastic lower bound; reverse
 * AIS from data: an upper bound when the model fits the data), and with
 * --data the average log-likelihood between the two, in nats and bits/dim
 * (Du & Mordatch A.3). --energy gives analytic energies whose log Z is known,
 * to check the estimator. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERB "eval ais"
#define NET_BATCH 256
#define MAX_CHAINS 1000000
#define MAX_STEPS 10000000
#define GAUSSIAN_MAX_DIM 4096
#define FIT_MAX_ITEMS 20000   /* items the Gaussian base is fitted to */
#define MIN_STD_FRACTION 0.05 /* of the box: the fitted base's std floor */
#define HIST_BINS 60
#define LN2 0.69314718055994530942

typedef struct {
  const char *ckpt, *energy, *data, *base, *sampler, *schedule, *png, *json, *coords;
  int64_t chains, reverse, n, seed;
  int steps, leapfrog, transitions;
  float step_size, target_accept;
  double temperature;
} ais_flags;

/* The energy evaluated: a checkpoint's network or an analytic energy. */
typedef struct {
  ebm_net *net;
  ebm_energy *en;
  int has_exact;
  double exact_log_z;    /* over R^D (gaussian:D) or the toys' box */
  int gaussian_dim;      /* gaussian:D: D, else 0 */
} ais_target;

static void target_free(ais_target *t) {
  ebm_energy_free(t->en);
  ebm_net_free(t->net);
}

static int target_open(const ais_flags *f, ais_target *t) {
  ebm_status st;
  if (f->ckpt) {
    if ((st = ebm_net_load(f->ckpt, NET_BATCH, &t->net)) != EBM_OK) return cli_runtime_error(st);
    if (!(t->en = ebm_net_as_energy(t->net))) return cli_runtime_error(EBM_ERR_NOMEM);
    return 0;
  }
  const char *spec = f->energy;
  if (strncmp(spec, "toy:", 4) == 0) {
    int toy = ebm_toy_from_name(spec + 4);
    if (toy < 0 || toy == EBM_TOY_CHECKERBOARD)
      return cli_usage_error(VERB, "--energy %s: unknown toy (8gaussians 2spirals rings moons pinwheel)", spec);
    if ((st = ebm_toy_energy_new((ebm_toy)toy, &t->en)) != EBM_OK) return cli_runtime_error(st);
    t->has_exact = 1; /* normalised; < 1e-9 of the mass is outside [-4, 4]² */
    t->exact_log_z = 0.0;
    return 0;
  }
  if (strncmp(spec, "gaussian:", 9) == 0) {
    char *end = NULL;
    long d = strtol(spec + 9, &end, 10);
    if (end == spec + 9 || *end || d < 1 || d > GAUSSIAN_MAX_DIM)
      return cli_usage_error(VERB, "--energy gaussian:D needs a dimension D in 1..%d, got '%s'", GAUSSIAN_MAX_DIM, spec);
    if ((st = ebm_gaussian_energy_new(d, NULL, NULL, &t->en)) != EBM_OK) return cli_runtime_error(st);
    if ((st = ebm_gaussian_energy_log_z(t->en, &t->exact_log_z)) != EBM_OK) return cli_runtime_error(st);
    t->has_exact = 1;
    t->gaussian_dim = (int)d;
    return 0;
  }
  return cli_usage_error(VERB, "--energy expects toy:NAME or gaussian:D, got '%s'", spec);
}

static int check_flags(const ais_flags *f, ebm_ais_config *cfg) {
  if (!f->ckpt == !f->energy) return cli_usage_error(VERB, "give exactly one of --ckpt CKPT or --energy SPEC");
  if (f->chains < 1 || f->chains > MAX_CHAINS)
    return cli_usage_error(VERB, "--chains must be in 1..%d, got %lld", MAX_CHAINS, (long long)f->chains);
  if (f->steps < 1 || f->steps > MAX_STEPS)
    return cli_usage_error(VERB, "--steps must be in 1..%d, got %d", MAX_STEPS, f->steps);
  if (strcmp(f->base, "uniform") != 0 && strcmp(f->base, "gaussian") != 0)
    return cli_usage_error(VERB, "--base must be uniform or gaussian, got '%s'", f->base);
  int kind = ebm_sampler_from_name(f->sampler);
  if (kind != EBM_SAMPLER_MALA && kind != EBM_SAMPLER_HMC)
    return cli_usage_error(VERB, "--sampler must be mala or hmc, got '%s'", f->sampler);
  if (strcmp(f->coords, "logit") != 0 && strcmp(f->coords, "x") != 0)
    return cli_usage_error(VERB, "--coords must be logit or x, got '%s'", f->coords);
  if (strcmp(f->schedule, "sigmoid") != 0 && strcmp(f->schedule, "linear") != 0)
    return cli_usage_error(VERB, "--schedule must be sigmoid or linear, got '%s'", f->schedule);
  if (!(f->step_size >= 0.0f) || !isfinite(f->step_size))
    return cli_usage_error(VERB, "--step-size must be >= 0 (0: automatic), got %g", (double)f->step_size);
  if (!(f->target_accept >= 0.0f && f->target_accept < 1.0f))
    return cli_usage_error(VERB, "--target-accept must be in [0, 1) (0: fixed step size), got %g",
                           (double)f->target_accept);
  if (f->leapfrog < 1) return cli_usage_error(VERB, "--leapfrog must be >= 1, got %d", f->leapfrog);
  if (!(f->temperature > 0.0) || !isfinite(f->temperature))
    return cli_usage_error(VERB, "--temperature must be > 0, got %g", f->temperature);
  if (f->transitions < 1) return cli_usage_error(VERB, "--transitions must be >= 1, got %d", f->transitions);
  if (f->reverse < -1 || f->reverse > MAX_CHAINS)
    return cli_usage_error(VERB, "--reverse must be in 0..%d (-1: as many as --chains), got %lld", MAX_CHAINS,
                           (long long)f->reverse);
  if (f->n < 0) return cli_usage_error(VERB, "--n must be >= 0 (0: every item), got %lld", (long long)f->n);
  if (f->reverse > 0 && !f->data) return cli_usage_error(VERB, "--reverse needs --data (its chains start at data items)");
  *cfg = ebm_ais_defaults();
  cfg->chains = f->chains;
  cfg->steps = f->steps;
  cfg->schedule = f->schedule;
  cfg->sampler = (ebm_sampler_kind)kind;
  cfg->transitions = f->transitions;
  cfg->step_size = f->step_size;
  cfg->leapfrog_steps = f->leapfrog;
  cfg->target_accept = f->target_accept;
  cfg->logit = strcmp(f->coords, "logit") == 0;
  cfg->temperature = f->temperature;
  return 0;
}

/* Copies `count` items chosen uniformly without replacement (in index
 * order) from ds into x. */
static void pick_items(const ebm_dataset *ds, int64_t count, ebm_rng *rng, float *x) {
  const int64_t N = ds->x->shape[0], item = ebm_tensor_row_size(ds->x);
  int64_t need = count;
  for (int64_t i = 0, out = 0; i < N && need > 0; i++) /* selection sampling (Knuth 3.4.2 S) */
    if ((double)(N - i) * ebm_rng_double(rng) < (double)need) {
      memcpy(x + out * item, ds->x->data + i * item, (size_t)item * sizeof(float));
      out++;
      need--;
    }
}

typedef struct {
  const char *label;
  ebm_progress *bar; /* made at the first step, when the total is known */
} ais_watch;

static void on_step(void *ctx, int t, int steps, double accept, double eps) {
  ais_watch *w = ctx;
  if (!w->bar) w->bar = ebm_progress_new(stderr, w->label, steps);
  char metric[64];
  snprintf(metric, sizeof metric, "accept %.3f eps %.3g", accept, eps);
  ebm_progress_update(w->bar, t, metric);
}

/* Runs one direction (reverse when x is given) with a progress bar. */
static ebm_status run_direction(const ais_target *t, const ebm_ais_base *base, const ebm_ais_config *cfg,
                                const float *x, int64_t n, ebm_rng *rng, double *log_w, ebm_ais_result *r) {
  ais_watch w = {x ? "reverse ais" : "ais", NULL};
  ebm_status st = x ? ebm_ais_reverse(t->en, base, cfg, x, n, rng, log_w, r, on_step, &w)
                    : ebm_ais_forward(t->en, base, cfg, rng, log_w, r, on_step, &w);
  ebm_progress_finish(w.bar);
  return st;
}

static void print_result(const char *label, const ebm_ais_result *r) {
  printf("%-42s %14.4f ± %.4f   ESS %.1f/%lld   accept %.3f\n", label, r->log_z, r->log_z_se, r->ess,
         (long long)r->chains, r->accept_rate);
}

static ebm_status write_png(const char *path, const ebm_ais_result *fwd, const double *lw_f,
                            const ebm_ais_result *rev, const double *lw_r, int64_t nr, double marker) {
  ebm_status st = EBM_OK;
  /* per-chain estimates log Z₀ ± log w, on the scale of log Z */
  double *a = malloc((size_t)fwd->chains * sizeof *a), *b = nr > 0 ? malloc((size_t)nr * sizeof *b) : NULL;
  if (!a || (nr > 0 && !b)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing %s", path);
    goto done;
  }
  for (int64_t i = 0; i < fwd->chains; i++) a[i] = fwd->log_z_base + lw_f[i];
  for (int64_t i = 0; i < nr; i++) b[i] = rev->log_z_base - lw_r[i];
  ebm_hist_series s[2] = {{a, fwd->chains, "forward ais", {31, 119, 180}},
                          {b, nr, "reverse ais", {255, 127, 14}}};
  ebm_hist_panel p = {"per-chain log z estimates: forward log z0 + log w, reverse log z0 - log w", nr > 0 ? 2 : 1, s,
                      marker};
  st = ebm_hist_png(path, 1, &p, HIST_BINS);
done:
  free(a);
  free(b);
  return st;
}

static void write_json(const char *path, const ais_flags *f, const ais_target *t, int64_t dim,
                       const ebm_ais_result *fwd, const ebm_ais_result *rev, int has_rev, int has_data,
                       double mean_e, double mean_se, double bpd_scale, ebm_status *st) {
  ebm_jsonl *j = NULL;
  if ((*st = ebm_jsonl_open(path, 1, &j)) != EBM_OK) return;
  ebm_jsonl_begin(j);
  ebm_jsonl_str(j, "model", f->ckpt ? f->ckpt : f->energy);
  ebm_jsonl_int(j, "dim", dim);
  ebm_jsonl_str(j, "base", f->base);
  ebm_jsonl_str(j, "sampler", f->sampler);
  ebm_jsonl_str(j, "schedule", f->schedule);
  ebm_jsonl_int(j, "chains", fwd->chains);
  ebm_jsonl_int(j, "steps", f->steps);
  ebm_jsonl_num(j, "temperature", f->temperature);
  ebm_jsonl_num(j, "log_z_base", fwd->log_z_base);
  ebm_jsonl_num(j, "log_z_ais", fwd->log_z);
  ebm_jsonl_num(j, "log_z_ais_se", fwd->log_z_se);
  ebm_jsonl_num(j, "ess_ais", fwd->ess);
  ebm_jsonl_num(j, "accept_ais", fwd->accept_rate);
  if (has_rev) {
    ebm_jsonl_int(j, "reverse_chains", rev->chains);
    ebm_jsonl_num(j, "log_z_reverse", rev->log_z);
    ebm_jsonl_num(j, "log_z_reverse_se", rev->log_z_se);
    ebm_jsonl_num(j, "ess_reverse", rev->ess);
  }
  if (t->has_exact) ebm_jsonl_num(j, "log_z_exact", t->exact_log_z);
  if (has_data) {
    ebm_jsonl_str(j, "data", f->data);
    ebm_jsonl_num(j, "mean_energy_over_t", mean_e);
    ebm_jsonl_num(j, "mean_energy_over_t_se", mean_se);
    ebm_jsonl_num(j, "ll_upper_nats", -mean_e - fwd->log_z);
    ebm_jsonl_num(j, "bpd_lower", (mean_e + fwd->log_z) / bpd_scale);
    if (has_rev) {
      ebm_jsonl_num(j, "ll_lower_nats", -mean_e - rev->log_z);
      ebm_jsonl_num(j, "bpd_upper", (mean_e + rev->log_z) / bpd_scale);
    }
  }
  *st = ebm_jsonl_end(j);
  ebm_jsonl_close(j);
}

static int run_eval_ais(int argc, char **argv) {
  ais_flags f = {.base = "gaussian", .sampler = "mala", .schedule = "sigmoid", .coords = "logit", .chains = 100, .reverse = -1,
                 .seed = 0, .steps = 1000, .leapfrog = 10, .transitions = 1, .target_accept = -1.0f,
                 .temperature = 1.0};
  cli_opt opts[] = {
      {"ckpt", OPT_PATH_IN, &f.ckpt, "CKPT", "the model (safetensors checkpoint)"},
      {"energy", OPT_STRING, &f.energy, "SPEC", "an analytic energy with a known log Z instead: toy:NAME or gaussian:D"},
      {"data", OPT_SPEC_IN, &f.data, "SPEC", "data: average log-likelihood, reverse AIS starts, the Gaussian base's fit"},
      {"chains", OPT_INT64, &f.chains, "M", "forward AIS chains"},
      {"steps", OPT_INT, &f.steps, "T", "annealing steps (intermediate distributions)"},
      {"base", OPT_STRING, &f.base, "BASE", "uniform (on the data range) | gaussian (fitted to --data, else centred, a quarter of the range wide)"},
      {"sampler", OPT_STRING, &f.sampler, "S", "mala | hmc: the transition at each step"},
      {"schedule", OPT_STRING, &f.schedule, "K", "sigmoid | linear beta schedule"},
      {"transitions", OPT_INT, &f.transitions, "K", "MCMC steps per annealing step"},
      {"step-size", OPT_FLOAT, &f.step_size, "EPS", "initial step size (0: from the base's spread)"},
      {"target-accept", OPT_FLOAT, &f.target_accept, "A", "adapt the step size toward this acceptance (0: fixed; -1: 0.574 for mala, 0.65 for hmc)"},
      {"leapfrog", OPT_INT, &f.leapfrog, "L", "hmc: leapfrog steps"},
      {"coords", OPT_STRING, &f.coords, "C", "logit: MCMC on logit((x-lo)/(hi-lo)) inside the box (no walls); x: in x, leaving proposals rejected"},
      {"temperature", OPT_DOUBLE, &f.temperature, "T", "evaluate the density exp(-E/T)"},
      {"reverse", OPT_INT64, &f.reverse, "R", "reverse AIS chains from data items (-1: as many as --chains, 0: none)"},
      {"n", OPT_INT64, &f.n, "N", "data items for the mean energy (0: all)"},
      {"seed", OPT_INT64, &f.seed, "S", "random seed"},
      {"png", OPT_PATH_OUT, &f.png, "FILE.png", "histogram of the per-chain log Z estimates (forward and reverse)"},
      {"json", OPT_PATH_OUT, &f.json, "FILE", "the results as one JSON object"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  int hmc = f.sampler && strcmp(f.sampler, "hmc") == 0;
  if (f.target_accept < 0.0f && f.target_accept != -1.0f)
    return cli_usage_error(VERB, "--target-accept must be in [0, 1) (0: fixed step size), got %g", (double)f.target_accept);
  if (f.target_accept == -1.0f) f.target_accept = hmc ? 0.65f : 0.574f;
  ebm_ais_config cfg;
  if ((rc = check_flags(&f, &cfg))) return rc;

  ais_target t = {0};
  ebm_dataset *ds = NULL;
  ebm_ais_base *base = NULL;
  float *xr = NULL, *xd = NULL;
  double *lw_f = NULL, *lw_r = NULL;
  ebm_status st = EBM_OK;
  if ((rc = target_open(&f, &t))) goto done;
  const ebm_energy *en = t.en;
  const int64_t dim = ebm_energy_item_size(en);
  const int ranged = en->range_lo < en->range_hi;
  const float lo = ranged ? en->range_lo : -(float)EBM_TOY_EXTENT, hi = ranged ? en->range_hi : (float)EBM_TOY_EXTENT;
  char shape[64];
  ebm_shape_str(en->item_ndim, en->item_shape, shape, sizeof shape);

  ebm_rng rng, pick_rng;
  ebm_rng_init(&rng, (uint64_t)f.seed);
  pick_rng = ebm_rng_split(&rng, 1);
  int64_t n_data = 0, n_rev = 0;
  if (f.data) {
    st = ebm_dataset_load(f.data, ranged ? lo : 0.0f, ranged ? hi : 1.0f, &ds);
    if (st == EBM_ERR_ARG) {
      rc = cli_usage_error(VERB, "--data: %s", ebm_last_error());
      st = EBM_OK;
      goto done;
    }
    if (st != EBM_OK) goto done;
    char got[64];
    if (ebm_tensor_row_size(ds->x) != dim) {
      ebm_shape_str(ds->x->ndim - 1, ds->x->shape + 1, got, sizeof got);
      st = ebm_set_error(EBM_ERR_SHAPE, "%s: items are %s, but %s takes %s", f.data, got, en->name, shape);
      goto done;
    }
    const int64_t N = ds->x->shape[0];
    n_data = f.n > 0 && f.n < N ? f.n : N;
    n_rev = f.reverse < 0 ? (f.chains < N ? f.chains : N) : (f.reverse < N ? f.reverse : N);
    const int64_t n_fit = strcmp(f.base, "gaussian") == 0 ? (N < FIT_MAX_ITEMS ? N : FIT_MAX_ITEMS) : 0;
    xd = malloc((size_t)((n_data > n_fit ? n_data : n_fit) * dim) * sizeof *xd);
    xr = n_rev > 0 ? malloc((size_t)(n_rev * dim) * sizeof *xr) : NULL;
    if (!xd || (n_rev > 0 && !xr)) {
      st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld data items", (long long)n_data);
      goto done;
    }
    if (xr) pick_items(ds, n_rev, &pick_rng, xr);
  }

  char base_desc[160];
  if (strcmp(f.base, "uniform") == 0) {
    st = ebm_ais_base_uniform(en, lo, hi, &base);
    snprintf(base_desc, sizeof base_desc, "uniform base on [%g, %g]^%lld", (double)lo, (double)hi, (long long)dim);
    if (t.gaussian_dim) /* the standard normal restricted to the box [-4, 4]^D */
      t.exact_log_z = (double)dim * log(sqrt(2.0 * 3.14159265358979323846) * erf(4.0 / sqrt(2.0)));
  } else if (ds) {
    int64_t m = ds->x->shape[0] < FIT_MAX_ITEMS ? ds->x->shape[0] : FIT_MAX_ITEMS;
    pick_items(ds, m, &pick_rng, xd);
    st = ebm_ais_base_gaussian_fit(en, xd, m, (float)(MIN_STD_FRACTION * (hi - lo)), &base);
    snprintf(base_desc, sizeof base_desc, "gaussian base fitted to %lld items of %s%s", (long long)m, f.data,
             ranged ? " (truncated to the range)" : "");
  } else {
    float *mean = malloc((size_t)dim * sizeof *mean), *sd = malloc((size_t)dim * sizeof *sd);
    if (!mean || !sd) st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for the base");
    for (int64_t k = 0; st == EBM_OK && k < dim; k++) {
      mean[k] = 0.5f * (lo + hi);
      sd[k] = 0.25f * (hi - lo);
    }
    if (st == EBM_OK) st = ebm_ais_base_gaussian(en, mean, sd, &base);
    free(mean);
    free(sd);
    snprintf(base_desc, sizeof base_desc, "gaussian base N(%g, %g^2)%s", 0.5 * (lo + hi), 0.25 * (hi - lo),
             ranged ? " truncated to the range" : "");
  }
  if (st != EBM_OK) goto done;
  printf("%s: %s (%s, D = %lld)%s, %s, %lld chains x %d steps (%s), %s\n", VERB, f.ckpt ? f.ckpt : f.energy, shape,
         (long long)dim, f.temperature != 1.0 ? " at temperature T" : "", base_desc, (long long)f.chains, f.steps,
         f.schedule, f.sampler);
  if (f.temperature != 1.0) {
    printf("T = %g: the density is exp(-E/T) / Z_T; log Z below is log Z_T\n", f.temperature);
    if (t.has_exact && t.gaussian_dim && strcmp(f.base, "gaussian") == 0)
      t.exact_log_z += 0.5 * (double)dim * log(f.temperature); /* N(0, T·I) */
    else
      t.has_exact = 0;
  }

  lw_f = malloc((size_t)f.chains * sizeof *lw_f);
  lw_r = n_rev > 0 ? malloc((size_t)n_rev * sizeof *lw_r) : NULL;
  if (!lw_f || (n_rev > 0 && !lw_r)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld weights", (long long)f.chains);
    goto done;
  }
  ebm_ais_result fwd, rev;
  memset(&rev, 0, sizeof rev);
  if ((st = run_direction(&t, base, &cfg, NULL, 0, &rng, lw_f, &fwd)) != EBM_OK) goto done;
  print_result("log Z, AIS (stochastic lower bound)", &fwd);
  if (n_rev > 0) {
    if ((st = run_direction(&t, base, &cfg, xr, n_rev, &rng, lw_r, &rev)) != EBM_OK) goto done;
    char label[64];
    snprintf(label, sizeof label, "log Z, reverse AIS from %lld data items", (long long)n_rev);
    print_result(label, &rev);
  }
  if (t.has_exact) printf("%-42s %14.4f\n", "log Z, exact", t.exact_log_z);

  double mean_e = 0.0, mean_se = 0.0;
  const double bpd_scale = (double)dim * LN2;
  if (ds) {
    pick_items(ds, n_data, &pick_rng, xd);
    if ((st = ebm_mean_energy(en, xd, NULL, n_data, &mean_e, &mean_se)) != EBM_OK) goto done;
    printf("data %s: %lld items, mean energy %.4f ± %.4f\n", f.data, (long long)n_data, mean_e, mean_se);
    mean_e /= f.temperature; /* the density is exp(-E/T) / Z_T */
    mean_se /= f.temperature;
    double up = -mean_e - fwd.log_z;
    printf("log-likelihood (nats)   %12.4f (AIS: upper bound)", up);
    if (n_rev > 0) printf("   %12.4f (reverse AIS: lower bound)", -mean_e - rev.log_z);
    printf("\nbits/dim                %12.4f (AIS: lower bound)", -up / bpd_scale);
    if (n_rev > 0) printf("   %12.4f (reverse AIS: upper bound)", (mean_e + rev.log_z) / bpd_scale);
    printf("\n");
    if (n_rev > 0 && rev.log_z < fwd.log_z - 3.0 * hypot(fwd.log_z_se, rev.log_z_se))
      printf("note: reverse AIS fell below AIS, so it bounds nothing here: the data are unlike the model's\n"
             "samples (reverse AIS is an upper bound only for chains started at model samples), or the\n"
             "schedule is too short\n");
    if (ranged && en->item_ndim == 3)
      printf("(a continuous density on [%g, %g]^%lld, no dequantisation; add %.4g bits/dim for the 256-level "
             "discrete scale)\n", (double)lo, (double)hi, (long long)dim, log2(256.0 / ((double)hi - (double)lo)));
  }
  if (f.png && (st = write_png(f.png, &fwd, lw_f, &rev, lw_r, n_rev, t.has_exact ? t.exact_log_z : NAN)) != EBM_OK)
    goto done;
  if (f.json)
    write_json(f.json, &f, &t, dim, &fwd, &rev, n_rev > 0, ds != NULL, mean_e, mean_se, bpd_scale, &st);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  free(lw_f);
  free(lw_r);
  free(xr);
  free(xd);
  ebm_ais_base_free(base);
  ebm_dataset_free(ds);
  target_free(&t);
  return rc;
}

CLI_COMMAND(eval_ais, VERB, "(--ckpt CKPT | --energy toy:NAME | --energy gaussian:D) [--data SPEC] [options]",
            "log Z and log-likelihood by annealed importance sampling (both bounds)",
            "Anneals M chains from a normalised base (uniform on the data range, or a diagonal\n"
            "Gaussian fitted to --data) to the model along E_b = (1-b)E_base + b·E with one MALA\n"
            "or HMC transition per step, and estimates log Z = log Z_base + log mean(w) with its\n"
            "standard error over chains (delta method) and the effective sample size. This is a\n"
            "stochastic lower bound of log Z. With --data, reverse AIS runs chains from data items\n"
            "back to the base (RAISE-style): an upper bound when the model fits the data. The\n"
            "average log-likelihood -mean E(x) - log Z is printed between the two, in nats and\n"
            "bits/dim (-ll / (D ln 2), a continuous density in the model's coordinates: no\n"
            "dequantisation). The density lives on the model's range (on [-4, 4]^D for energies\n"
            "without one and a uniform base); inside a box the chains move in logit coordinates\n"
            "(--coords). --png: histogram of the per-chain estimates.",
            run_eval_ais)
