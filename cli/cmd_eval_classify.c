/* `ebm eval classify`: a class-conditional EBM used as a classifier,
 * ŷ = argmin_y E(x, y), with p(y | x) = softmax_y(−E(x, y)) for its
 * calibration (expected calibration error) and cross-entropy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERB "eval classify"
#define NET_BATCH 256

static ebm_status write_json(const char *path, const char *ckpt, const char *data, int bins,
                             const ebm_classify_result *r) {
  ebm_jsonl *j = NULL;
  ebm_status st = ebm_jsonl_object_begin(path, &j);
  if (st != EBM_OK) return st;
  ebm_jsonl_str(j, "model", ckpt);
  ebm_jsonl_str(j, "data", data);
  ebm_jsonl_int(j, "n", r->n);
  ebm_jsonl_int(j, "classes", r->classes);
  ebm_jsonl_num(j, "accuracy", r->accuracy);
  ebm_jsonl_num(j, "ece", r->ece);
  ebm_jsonl_int(j, "bins", bins);
  ebm_jsonl_num(j, "nll", r->nll);
  return ebm_jsonl_object_commit(j); /* atomic: a failure keeps the previous file */
}

/* The labelled data in the model's range: 0 or an exit code. */
static int load_labelled(const char *data, const ebm_energy *en, ebm_dataset **ds) {
  const int ranged = en->range_lo < en->range_hi;
  ebm_status st = ebm_dataset_load(data, ranged ? en->range_lo : 0.0f, ranged ? en->range_hi : 1.0f, ds);
  if (st == EBM_ERR_ARG) return cli_usage_error(VERB, "--data: %s", ebm_last_error());
  if (st != EBM_OK) return cli_runtime_error(st);
  if (!(*ds)->labels) return cli_usage_error(VERB, "--data %s has no labels", data);
  return 0;
}

static int run_eval_classify(int argc, char **argv) {
  const char *ckpt = NULL, *data = NULL, *json = NULL, *png = NULL;
  int64_t n = 0, seed = 0;
  int bins = 15;
  cli_opt opts[] = {
      {"ckpt", OPT_PATH_IN, &ckpt, "CKPT", "a class-conditional model or a classifier"},
      {"data", OPT_SPEC_IN, &data, "SPEC", "labelled data (loaded in the model's range)"},
      {"n", OPT_INT64, &n, "N", "a random subset of N items (0: all)"},
      {"bins", OPT_INT, &bins, "B", "confidence bins of the calibration error"},
      {"seed", OPT_INT64, &seed, "S", "random seed of the subset"},
      {"json", OPT_PATH_OUT, &json, "FILE", "the results as one JSON object"},
      {"png", OPT_PATH_OUT, &png, "FILE.png", "a reliability diagram (accuracy against confidence per bin)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!ckpt) return cli_usage_error(VERB, "--ckpt CKPT is required");
  if (!data) return cli_usage_error(VERB, "--data SPEC is required");
  if (n < 0) return cli_usage_error(VERB, "--n must be >= 0 (0: all), got %lld", (long long)n);
  if (bins < 1 || bins > 1000) return cli_usage_error(VERB, "--bins must be in 1..1000, got %d", bins);

  ebm_net *net = NULL;
  ebm_energy *en = NULL;
  ebm_dataset *ds = NULL;
  ebm_classify_result r;
  ebm_status st = ebm_model_energy_load(ckpt, NET_BATCH, &net, &en);
  if (st != EBM_OK) return cli_runtime_error(st);
  if (!net) {
    st = ebm_set_error(EBM_ERR_ARG, "%s is a flow (a density of x, no classes): eval classify needs a model of "
                       "E(x, y); `ebm eval ood` and `ebm eval nll` score a flow", ckpt);
    goto done;
  }
  if (en->num_classes < 2) {
    st = ebm_set_error(EBM_ERR_ARG, "%s is unconditional (no classes): eval classify needs a model of E(x, y)", ckpt);
    goto done;
  }
  if ((rc = load_labelled(data, en, &ds))) goto done;
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)seed);
  ebm_progress *bar = ebm_progress_new(stderr, VERB, 1);
  st = ebm_classify_eval(en, ds, n, &rng, bins, png, &r);
  ebm_progress_finish(bar);
  if (st != EBM_OK) goto done;
  printf("%s: %s on %lld items of %s (%d classes)\n", VERB, ckpt, (long long)r.n, data, r.classes);
  printf("accuracy of argmin_y E(x, y)   %.4f\n", r.accuracy);
  printf("expected calibration error     %.4f   (%d bins, softmax over -E)\n", r.ece, bins);
  printf("cross-entropy -log p(y|x)      %.4f nats\n", r.nll);
  if (json) st = write_json(json, ckpt, data, bins, &r);
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  ebm_dataset_free(ds);
  ebm_energy_free(en);
  ebm_net_free(net);
  return rc;
}

CLI_COMMAND(eval_classify, VERB, "--ckpt CKPT --data SPEC [--n N] [--bins B] [--json FILE] [--png FILE.png]",
            "accuracy and calibration of a conditional EBM (or a JEM classifier) as a classifier",
            "For every item evaluates E(x, y) for all classes y; the prediction is argmin_y E(x, y)\n"
            "and p(y | x) = softmax_y(-E(x, y)). Prints the accuracy, the expected calibration\n"
            "error of the top-class probability (equal-width bins, Guo et al. 2017) and the mean\n"
            "cross-entropy; --png draws the reliability diagram. A classifier's checkpoint (K\n"
            "logits f(x), e.g. --method jem) is scored with E(x, y) = -f(x)[y], i.e. its softmax.",
            run_eval_classify)
