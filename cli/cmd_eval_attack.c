/* `ebm eval attack`: accuracy of a classifier (a JEM model or a softmax
 * baseline) under an L∞ PGD attack for each ε of a list, optionally with
 * Langevin purification before classifying (Du & Mordatch §4.4). The attack
 * itself is ebm_attack_accuracy (src/eval/attack.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERB "eval attack"
#define NET_BATCH 256
#define MAX_EPS 16

/* "0.01,0.03,0.1" → eps[]; −1 on a bad or negative value or too many. */
static int parse_eps(const char *list, float *eps) {
  int n = 0;
  const char *p = list;
  while (*p) {
    char *end = NULL;
    double v = strtod(p, &end);
    if (end == p || !(v >= 0) || !isfinite(v) || n == MAX_EPS || (*end && *end != ',')) return -1;
    eps[n++] = (float)v;
    p = *end ? end + 1 : end;
  }
  return n;
}

static int run_eval_attack(int argc, char **argv) {
  const char *ckpt = NULL, *data = NULL, *eps_list = "0.01,0.03,0.1";
  int steps = 10, purify = 0;
  float step_size = 0, purify_step = 1.0f, purify_noise = 0.01f;
  int64_t n = 1000, seed = 0;
  cli_opt opts[] = {
      {"ckpt", OPT_PATH_IN, &ckpt, "CKPT", "a classifier (K logits: a --method jem model or a softmax baseline)"},
      {"data", OPT_SPEC_IN, &data, "SPEC", "labelled data (loaded in the model's range)"},
      {"eps", OPT_STRING, &eps_list, "E[,E...]", "radii of the L-infinity ball, in the data's units"},
      {"steps", OPT_INT, &steps, "K", "PGD steps"},
      {"step-size", OPT_FLOAT, &step_size, "A", "PGD step (0: 2.5 eps / K)"},
      {"purify", OPT_INT, &purify, "STEPS", "Langevin steps on E(x) = -logsumexp f(x) before classifying (0: none)"},
      {"purify-step", OPT_FLOAT, &purify_step, "L", "their step size"},
      {"purify-noise", OPT_FLOAT, &purify_noise, "S", "their noise"},
      {"n", OPT_INT64, &n, "N", "the first N items of the data"},
      {"seed", OPT_INT64, &seed, "S", "random seed (the attack's start, the Langevin noise)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!ckpt) return cli_usage_error(VERB, "--ckpt CKPT is required");
  if (!data) return cli_usage_error(VERB, "--data SPEC is required");
  float eps[MAX_EPS];
  const int neps = parse_eps(eps_list, eps);
  if (neps < 1) return cli_usage_error(VERB, "--eps expects up to %d numbers >= 0 separated by commas, got '%s'", MAX_EPS, eps_list);
  if (steps < 0 || purify < 0) return cli_usage_error(VERB, "--steps and --purify must be >= 0");
  if (n < 1) return cli_usage_error(VERB, "--n must be >= 1, got %lld", (long long)n);

  ebm_net *net = NULL;
  ebm_energy *en = NULL;
  ebm_dataset *ds = NULL;
  ebm_status st = ebm_net_load(ckpt, NET_BATCH, &net);
  if (st != EBM_OK) return cli_runtime_error(st);
  if (!ebm_net_is_classifier(net)) {
    st = ebm_set_error(EBM_ERR_ARG, "%s is not a classifier (it gives %lld outputs): eval attack needs K > 1 logits",
                       ckpt, (long long)ebm_net_out_size(net));
    goto done;
  }
  if (!(en = ebm_net_as_energy(net))) {
    st = EBM_ERR_NOMEM;
    goto done;
  }
  ebm_attack_config c = ebm_attack_defaults();
  if (en->range_lo < en->range_hi) c.lo = en->range_lo, c.hi = en->range_hi;
  if ((st = ebm_dataset_load(data, c.lo, c.hi, &ds)) != EBM_OK) goto done;
  c.lo = ds->range_lo; /* the data's own range (a toy keeps its box) */
  c.hi = ds->range_hi;
  if (ebm_tensor_row_size(ds->x) != ebm_energy_item_size(en) || !ds->labels) {
    st = ebm_set_error(EBM_ERR_ARG, "%s: %s", data, ds->labels ? "its items do not fit the model" : "it has no labels");
    goto done;
  }
  const int64_t m = n < ds->x->shape[0] ? n : ds->x->shape[0];
  c.steps = steps;
  c.step_size = step_size;
  c.purify_steps = purify;
  c.purify_step = purify_step;
  c.purify_noise = purify_noise;
  printf("%s: %s on the first %lld items of %s; L-inf PGD, %d steps%s\n", VERB, ckpt, (long long)m, data, steps,
         purify > 0 ? ", then Langevin purification" : "");
  ebm_progress *bar = ebm_progress_new(stderr, VERB, neps);
  for (int k = 0; k < neps && st == EBM_OK; k++) {
    ebm_rng rng;
    ebm_rng_init(&rng, (uint64_t)seed);
    c.eps = eps[k];
    double acc = 0;
    st = ebm_attack_accuracy(net, ds->x->data, ds->labels, m, &c, &rng, NULL, &acc);
    if (st == EBM_OK) printf("eps %-8g accuracy %.4f\n", (double)eps[k], acc);
    ebm_progress_update(bar, k + 1, NULL);
  }
  ebm_progress_finish(bar);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  ebm_energy_free(en);
  ebm_dataset_free(ds);
  ebm_net_free(net);
  return rc;
}

CLI_COMMAND(eval_attack, VERB, "--ckpt CKPT --data SPEC [--eps E[,E...]] [--steps K] [--purify STEPS] [options]",
            "accuracy of a classifier under an L-infinity PGD attack",
            "For each eps, attacks the first N items of SPEC with projected gradient ascent on the\n"
            "cross-entropy (Madry et al. 2018: a uniform start in the ball, K signed-gradient steps,\n"
            "every iterate clamped to the eps-ball and to the data range) and prints the accuracy\n"
            "on the attacked items. eps 0 gives the clean accuracy. --purify STEPS runs that many\n"
            "Langevin steps on E(x) = -logsumexp f(x) from each attacked item before classifying\n"
            "(Du & Mordatch's defence for energy models).",
            run_eval_attack)
