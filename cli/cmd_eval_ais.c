/* `ebm eval ais`: log Z of a model by annealed importance sampling, from
 * both sides (forward AIS from the base: a stochastic lower bound; reverse
 * AIS from data: an upper bound when the model fits the data), and with
 * --data the average log-likelihood between the two, in nats and bits/dim
 * (Du & Mordatch A.3). --energy gives analytic energies whose log Z is known,
 * to check the estimator. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "use_common.h"

#define VERB "eval ais"
#define NET_BATCH 256
#define MAX_CHAINS 1000000
#define MAX_STEPS 10000000
#define HIST_BINS 60

typedef struct {
  const char *ckpt, *energy, *data, *base, *sampler, *schedule, *png, *json, *coords;
  int64_t chains, reverse, n, seed;
  int steps, leapfrog, transitions;
  float step_size, target_accept;
  double temperature;
} ais_flags;

/* The energy evaluated (a spec of compose.h) and its exact log Z if known. */
typedef struct {
  ebm_energy_source src;
  const ebm_energy *en;
  int has_exact;
  double exact_log_z;
} ais_target;

static void target_free(ais_target *t) { ebm_energy_source_close(&t->src); }

static int target_open(const ais_flags *f, ais_target *t) {
  int rc = use_energy_open(VERB, f->ckpt ? "ckpt" : "energy", f->ckpt ? f->ckpt : f->energy, 0, NET_BATCH, &t->src,
                           NULL);
  t->en = t->src.energy;
  return rc;
}

static int check_flags(const ais_flags *f, ebm_loglik_config *lc) {
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
  *lc = ebm_loglik_defaults();
  lc->uniform_base = strcmp(f->base, "uniform") == 0;
  lc->reverse = f->reverse;
  lc->items = f->n;
  lc->seed = (uint64_t)f->seed;
  ebm_ais_config *cfg = &lc->ais;
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

typedef struct {
  const char *label;
  ebm_progress *bar; /* made at the first step, when the total is known */
} ais_watch;

/* One bar per direction: t restarts at 1 when reverse AIS begins. */
static void on_step(void *ctx, int t, int steps, double accept, double eps) {
  ais_watch *w = ctx;
  if (w->bar && t == 1) {
    ebm_progress_finish(w->bar);
    w->bar = NULL;
    w->label = "reverse ais";
  }
  if (!w->bar) w->bar = ebm_progress_new(stderr, w->label, steps);
  char metric[64];
  snprintf(metric, sizeof metric, "accept %.3f eps %.3g", accept, eps);
  ebm_progress_update(w->bar, t, metric);
}

static void print_result(const char *label, const ebm_ais_result *r) {
  printf("%-42s %14.4f ± %.4f   ESS %.1f/%lld   accept %.3f\n", label, r->log_z, r->log_z_se, r->ess,
         (long long)r->chains, r->accept_rate);
}

static ebm_status write_png(const char *path, const ebm_loglik_result *r, double marker) {
  const ebm_ais_result *fwd = &r->forward, *rev = &r->reverse;
  const int64_t nr = rev->chains;
  ebm_status st = EBM_OK;
  /* per-chain estimates log Z₀ ± log w, on the scale of log Z */
  double *a = malloc((size_t)fwd->chains * sizeof *a), *b = nr > 0 ? malloc((size_t)nr * sizeof *b) : NULL;
  if (!a || (nr > 0 && !b)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing %s", path);
    goto done;
  }
  for (int64_t i = 0; i < fwd->chains; i++) a[i] = fwd->log_z_base + r->log_w_forward[i];
  for (int64_t i = 0; i < nr; i++) b[i] = rev->log_z_base - r->log_w_reverse[i];
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

static ebm_status write_json(const char *path, const ais_flags *f, const ais_target *t, int64_t dim,
                             const ebm_loglik_result *r) {
  const ebm_ais_result *fwd = &r->forward, *rev = &r->reverse;
  ebm_jsonl *j = NULL;
  ebm_status st = ebm_jsonl_object_begin(path, &j);
  if (st != EBM_OK) return st;
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
  if (rev->chains > 0) {
    ebm_jsonl_int(j, "reverse_chains", rev->chains);
    ebm_jsonl_num(j, "log_z_reverse", rev->log_z);
    ebm_jsonl_num(j, "log_z_reverse_se", rev->log_z_se);
    ebm_jsonl_num(j, "ess_reverse", rev->ess);
  }
  if (t->has_exact) ebm_jsonl_num(j, "log_z_exact", t->exact_log_z);
  if (r->items > 0) {
    ebm_jsonl_str(j, "data", f->data);
    ebm_jsonl_num(j, "mean_energy_over_t", r->mean_energy);
    ebm_jsonl_num(j, "mean_energy_over_t_se", r->mean_energy_se);
    ebm_jsonl_num(j, "ll_upper_nats", r->ll_upper);
    ebm_jsonl_num(j, "bpd_lower", r->bpd_lower);
    if (rev->chains > 0) {
      ebm_jsonl_num(j, "ll_lower_nats", r->ll_lower);
      ebm_jsonl_num(j, "bpd_upper", r->bpd_upper);
    }
  }
  return ebm_jsonl_object_commit(j); /* atomic: a failure keeps the previous file */
}

/* The table `ebm eval ais` prints: both log Z estimates, the exact one when
 * known, and the log-likelihood bounds of the data. */
static void print_report(const ais_flags *f, const ais_target *t, const ebm_loglik_result *r) {
  print_result("log Z, AIS (stochastic lower bound)", &r->forward);
  if (r->reverse.chains > 0) {
    char label[64];
    snprintf(label, sizeof label, "log Z, reverse AIS from %lld data items", (long long)r->reverse.chains);
    print_result(label, &r->reverse);
  }
  if (t->has_exact) printf("%-42s %14.4f\n", "log Z, exact", t->exact_log_z);
  if (r->items == 0) return;
  const int has_rev = r->reverse.chains > 0;
  printf("data %s: %lld items, mean energy %.4f ± %.4f\n", f->data, (long long)r->items,
         r->mean_energy * f->temperature, r->mean_energy_se * f->temperature);
  printf("log-likelihood (nats)   %12.4f (AIS: upper bound)", r->ll_upper);
  if (has_rev) printf("   %12.4f (reverse AIS: lower bound)", r->ll_lower);
  printf("\nbits/dim                %12.4f (AIS: lower bound)", r->bpd_lower);
  if (has_rev) printf("   %12.4f (reverse AIS: upper bound)", r->bpd_upper);
  printf("\n");
  if (r->bounds_inverted)
    printf("note: reverse AIS fell below AIS, so it bounds nothing here: the data are unlike the model's\n"
           "samples (reverse AIS is an upper bound only for chains started at model samples), or the\n"
           "schedule is too short\n");
  const ebm_energy *en = t->en;
  if (en->range_lo < en->range_hi && en->item_ndim == 3)
    printf("(a continuous density on [%g, %g]^%lld, no dequantisation; add %.4g bits/dim for the 256-level "
           "discrete scale)\n", (double)r->lo, (double)r->hi, (long long)ebm_energy_item_size(en),
           log2(256.0 / ((double)r->hi - (double)r->lo)));
}

static int run_eval_ais(int argc, char **argv) {
  ais_flags f = {.base = "gaussian", .sampler = "mala", .schedule = "sigmoid", .coords = "logit", .chains = 100, .reverse = -1,
                 .seed = 0, .steps = 1000, .leapfrog = 10, .transitions = 1, .target_accept = -1.0f,
                 .temperature = 1.0};
  cli_opt opts[] = {
      {"ckpt", OPT_ENERGY_IN, &f.ckpt, "CKPT", "the model (safetensors checkpoint)"},
      {"energy", OPT_ENERGY_IN, &f.energy, "SPEC", "an energy spec instead; toy:NAME and gaussian:D[:mean=M][:std=S] have an exact log Z"},
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
  ebm_loglik_config cfg;
  if ((rc = check_flags(&f, &cfg))) return rc;

  ais_target t = {0};
  ebm_dataset *ds = NULL;
  ebm_loglik_result r = {0};
  ebm_status st = EBM_OK;
  if ((rc = target_open(&f, &t))) goto done;
  const ebm_energy *en = t.en;
  const int64_t dim = ebm_energy_item_size(en);
  const int ranged = en->range_lo < en->range_hi;
  if (f.data) {
    st = ebm_dataset_load(f.data, ranged ? en->range_lo : 0.0f, ranged ? en->range_hi : 1.0f, &ds);
    if (st == EBM_ERR_ARG) {
      rc = cli_usage_error(VERB, "--data: %s", ebm_last_error());
      st = EBM_OK;
      goto done;
    }
    if (st != EBM_OK) goto done;
  }
  char shape[64];
  ebm_shape_str(en->item_ndim, en->item_shape, shape, sizeof shape);
  printf("%s: %s (%s, D = %lld)%s, %lld chains x %d steps (%s), %s\n", VERB, f.ckpt ? f.ckpt : f.energy, shape,
         (long long)dim, f.temperature != 1.0 ? " at temperature T" : "", (long long)f.chains, f.steps, f.schedule,
         f.sampler);
  if (f.temperature != 1.0) printf("T = %g: the density is exp(-E/T) / Z_T; log Z below is log Z_T\n", f.temperature);
  ais_watch w = {"ais", NULL};
  st = ebm_loglik_evaluate(en, ds, &cfg, on_step, &w, &r);
  ebm_progress_finish(w.bar);
  if (st != EBM_OK) goto done;
  printf("base: %s\n", r.base);
  /* a uniform base or the energy's own range confines the chains to the box */
  const int boxed = cfg.uniform_base || ranged;
  ebm_energy_source_log_z(&t.src, f.temperature, boxed ? r.lo : 0.0, boxed ? r.hi : 0.0, &t.has_exact,
                          &t.exact_log_z);
  print_report(&f, &t, &r);
  if (f.png && (st = write_png(f.png, &r, t.has_exact ? t.exact_log_z : NAN)) != EBM_OK) goto done;
  if (f.json) st = write_json(f.json, &f, &t, dim, &r);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  ebm_loglik_result_free(&r);
  ebm_dataset_free(ds);
  target_free(&t);
  return rc;
}

CLI_COMMAND(eval_ais, VERB, "(--ckpt CKPT | --energy SPEC) [--data SPEC] [options]",
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
