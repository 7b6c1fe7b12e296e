/* `ebm eval nll`: the exact test negative log-likelihood of a 2-D model,
 * log Z by quadrature on a grid (ebm/grid_nll.h), next to the toy's true
 * entropy estimated on the same points with its exact density. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ebm/recovery_meta.h"

#define VERB "eval nll"
#define MAX_BATCH 4096

/* The toy of a data spec ("toy:rings:test:500" → rings), or -1. */
static int toy_of_spec(const char *spec) {
  char name[64];
  if (!spec || strncmp(spec, "toy:", 4) != 0) return -1;
  snprintf(name, sizeof name, "%s", spec + 4);
  char *colon = strchr(name, ':');
  if (colon) *colon = '\0';
  return ebm_toy_from_name(name);
}

/* −(1/n) Σ log p(x_i) under the toy's exact density: its entropy,
 * estimated on the same points as the model's NLL. */
static ebm_status toy_entropy(int toy, const float *x, int64_t n, double *h) {
  double *logp = malloc((size_t)n * sizeof *logp), *xy = malloc((size_t)n * 2 * sizeof *xy);
  ebm_status st = EBM_OK;
  if (!logp || !xy) st = ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  for (int64_t i = 0; st == EBM_OK && i < 2 * n; i++) xy[i] = x[i];
  if (st == EBM_OK) st = ebm_toy_log_density((ebm_toy)toy, xy, n, logp);
  *h = 0.0;
  for (int64_t i = 0; st == EBM_OK && i < n; i++) *h -= logp[i] / (double)n;
  free(logp);
  free(xy);
  return st;
}

/* The model must be 2-D and the data 2-D points: 0 or an exit code. */
static int load_points(const char *ckpt, const char *data, const ebm_energy *en, ebm_dataset **ds) {
  if (en->item_ndim != 1 || en->item_shape[0] != 2)
    return cli_usage_error(VERB, "%s takes %lld values per item; exact NLL needs a 2-D model", ckpt,
                           (long long)ebm_energy_item_size(en));
  ebm_status st = ebm_dataset_load(data, -4.0f, 4.0f, ds);
  if (st != EBM_OK) return st == EBM_ERR_ARG ? cli_usage_error(VERB, "--data: %s", ebm_last_error()) : cli_runtime_error(st);
  if ((*ds)->x->ndim != 2 || (*ds)->x->shape[1] != 2) return cli_usage_error(VERB, "--data %s does not hold 2-D points", data);
  return 0;
}

/* The test NLL and log Z (of class 0 for a conditional model, whose NLL is
 * of the marginal weighted by the test labels). */
static ebm_status grid_nll(const ebm_energy *en, const ebm_dataset *ds, double extent, int cells, double *nll,
                           double *lz0) {
  const int32_t *labels = en->num_classes > 0 && ds->labels && ds->num_classes <= en->num_classes ? ds->labels : NULL;
  double *log_z = calloc((size_t)(en->num_classes > 0 ? en->num_classes : 1), sizeof *log_z);
  if (!log_z) return ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  ebm_status st = ebm_grid_nll(en, ds->x->data, labels, ds->x->shape[0], extent, cells, nll, log_z);
  *lz0 = log_z[0];
  free(log_z);
  return st;
}

/* A noise-conditioned model (recovery likelihood) is scored by its level-0
 * marginal E(x, σ = s_1), s_1 from the checkpoint's schedule: *en becomes
 * that energy (owning nothing; *inner keeps the model's). */
static ebm_status level0_of(const char *ckpt, ebm_energy **en, ebm_energy **inner, float *s1) {
  ebm_recovery_config rec = {.levels = 1, .sigma_min = 0.1f, .sigma_max = 1.0f, .step = 0.1f};
  int found = 0;
  ebm_status st = ebm_recovery_config_from_checkpoint(ckpt, &rec, &found);
  if (st != EBM_OK) return st;
  if (!found)
    return ebm_set_error(EBM_ERR_ARG, "%s is noise-conditioned but records no recovery schedule (metadata \"%s\")",
                         ckpt, EBM_RECOVERY_META_KEY);
  *inner = *en;
  *s1 = ebm_recovery_sigma(&rec, 1);
  return ebm_recovery_level0_energy(*inner, &rec, en);
}

static int run_eval_nll(int argc, char **argv) {
  const char *ckpt = NULL, *data = NULL;
  int cells = EBM_GRID_CELLS;
  double extent = 0.0;
  cli_opt opts[] = {
      {"ckpt", OPT_PATH_IN, &ckpt, "CKPT", "a trained 2-D model (required)"},
      {"data", OPT_SPEC_IN, &data, "SPEC", "test points, e.g. toy:8gaussians:test (required)"},
      {"cells", OPT_INT, &cells, "N", "quadrature grid cells per side"},
      {"extent", OPT_DOUBLE, &extent, "L", "integrate over [-L, L]² (0: the model's range, else 4)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!ckpt) return cli_usage_error(VERB, "--ckpt CKPT is required");
  if (!data) return cli_usage_error(VERB, "--data SPEC is required (e.g. toy:8gaussians:test)");
  if (cells < 2 || cells > 8192) return cli_usage_error(VERB, "--cells must be in 2..8192, got %d", cells);
  if (extent < 0) return cli_usage_error(VERB, "--extent must be > 0 (0: automatic), got %g", extent);

  ebm_net *net = NULL;
  ebm_energy *en = NULL, *model = NULL;
  ebm_dataset *ds = NULL;
  double nll = 0.0, lz0 = 0.0, h = 0.0;
  float s1 = 0;
  ebm_status st = ebm_model_energy_load(ckpt, MAX_BATCH, &net, &en); /* a network or a flow */
  if (st == EBM_OK && en->needs_sigma) st = level0_of(ckpt, &en, &model, &s1);
  if (st != EBM_OK) {
    rc = cli_runtime_error(st);
    goto done;
  }
  if ((rc = load_points(ckpt, data, en, &ds))) goto done;
  if (extent == 0.0)
    extent = en->range_lo < en->range_hi ? fmax(fabs((double)en->range_lo), fabs((double)en->range_hi)) : EBM_TOY_EXTENT;
  const int64_t n = ds->x->shape[0];
  if ((st = grid_nll(en, ds, extent, cells, &nll, &lz0)) != EBM_OK) {
    rc = cli_runtime_error(st == EBM_ERR_NOMEM ? st : ebm_error_prefix(st, ckpt));
    goto done;
  }
  printf("%s on %s (%lld points): test NLL %.4f nats", ckpt, data, (long long)n, nll);
  int toy = toy_of_spec(data);
  if (toy >= 0 && (st = toy_entropy(toy, ds->x->data, n, &h)) != EBM_OK) {
    rc = cli_runtime_error(st);
    goto done;
  }
  if (toy >= 0) printf(", true entropy %.4f nats (gap %.4f)", h, nll - h);
  if (model) printf(", level-0 marginal E(x, sigma=%g)", (double)s1);
  if (en->num_classes > 0) printf(", marginal over %d classes", en->num_classes);
  else printf(", log Z %.4f", lz0);
  printf(" [%dx%d grid on [-%g, %g]^2]\n", cells, cells, extent, extent);
done:
  ebm_dataset_free(ds);
  ebm_energy_free(en);
  ebm_energy_free(model);
  ebm_net_free(net);
  return rc;
}

CLI_COMMAND(eval_nll, "eval nll", "--ckpt CKPT --data toy:NAME:test [--cells N]",
            "exact test NLL of a 2-D model (log Z by quadrature)",
            "Integrates exp(-E) over a fine grid (midpoint rule, [-4, 4]^2 by default) to get log Z, and\n"
            "reports the exact negative log-likelihood of the test points in nats. For toy data it also\n"
            "prints the toy's true entropy -E_p log p on the same points: the gap is KL(p || model) plus\n"
            "sampling noise. A conditional model is scored by its marginal, weighting the classes by\n"
            "the test labels. A recovery-likelihood model (ebm train --method recovery) is scored by\n"
            "its level-0 marginal: the energy E(x, sigma = s_1) at the smallest noise level of the\n"
            "schedule its checkpoint records, normalised by the same quadrature; with one level and a\n"
            "network that takes no sigma, the network itself.",
            run_eval_nll)
