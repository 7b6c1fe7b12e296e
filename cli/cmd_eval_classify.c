/* `ebm eval classify`: a class-conditional EBM used as a classifier,
 * ŷ = argmin_y E(x, y), with p(y | x) = softmax_y(−E(x, y)) for its
 * calibration (expected calibration error) and cross-entropy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERB "eval classify"
#define NET_BATCH 256

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
  float *x = NULL, *logits = NULL;
  int32_t *y = NULL;
  ebm_status st = ebm_net_load(ckpt, NET_BATCH, &net);
  if (st != EBM_OK) return cli_runtime_error(st);
  if (!(en = ebm_net_as_energy(net))) {
    st = EBM_ERR_NOMEM;
    goto done;
  }
  const int K = en->num_classes;
  if (K < 2) {
    st = ebm_set_error(EBM_ERR_ARG, "%s is unconditional (no classes): eval classify needs a model of E(x, y)", ckpt);
    goto done;
  }
  const int ranged = en->range_lo < en->range_hi;
  st = ebm_dataset_load(data, ranged ? en->range_lo : 0.0f, ranged ? en->range_hi : 1.0f, &ds);
  if (st == EBM_ERR_ARG) {
    rc = cli_usage_error(VERB, "--data: %s", ebm_last_error());
    st = EBM_OK;
    goto done;
  }
  if (st != EBM_OK) goto done;
  const int64_t item = ebm_energy_item_size(en), N = ds->x->shape[0];
  char want[64], got[64];
  if (ebm_tensor_row_size(ds->x) != item) {
    ebm_shape_str(en->item_ndim, en->item_shape, want, sizeof want);
    ebm_shape_str(ds->x->ndim - 1, ds->x->shape + 1, got, sizeof got);
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: items are %s, %s takes %s", data, got, ckpt, want);
    goto done;
  }
  if (!ds->labels) {
    rc = cli_usage_error(VERB, "--data %s has no labels", data);
    goto done;
  }
  const int64_t m = n > 0 && n < N ? n : N;
  x = malloc((size_t)(m * item) * sizeof *x);
  y = malloc((size_t)m * sizeof *y);
  logits = malloc((size_t)(m * K) * sizeof *logits);
  if (!x || !y || !logits) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld items", (long long)m);
    goto done;
  }
  ebm_rng rng;
  ebm_rng_init(&rng, (uint64_t)seed);
  for (int64_t i = 0, k = 0, need = m; i < N && need > 0; i++) /* Knuth 3.4.2 S */
    if ((double)(N - i) * ebm_rng_double(&rng) < (double)need) {
      if (ds->labels[i] < 0 || ds->labels[i] >= K) {
        st = ebm_set_error(EBM_ERR_ARG, "%s: label %d of item %lld is not a class of %s (0..%d)", data,
                           (int)ds->labels[i], (long long)i, ckpt, K - 1);
        goto done;
      }
      memcpy(x + k * item, ds->x->data + i * item, (size_t)item * sizeof(float));
      y[k++] = ds->labels[i];
      need--;
    }
  ebm_progress *bar = ebm_progress_new(stderr, VERB, 1);
  st = ebm_energy_class_logits(en, x, m, logits);
  ebm_progress_finish(bar);
  if (st != EBM_OK) goto done;
  double acc, ece;
  if ((st = ebm_calibration(logits, y, m, K, bins, &acc, &ece)) != EBM_OK) goto done;
  double nll = ebm_softmax_cross_entropy(logits, y, m, K, NULL);
  if (png && (st = ebm_reliability_png(png, logits, y, m, K, bins)) != EBM_OK) goto done;
  printf("%s: %s on %lld items of %s (%d classes)\n", VERB, ckpt, (long long)m, data, K);
  printf("accuracy of argmin_y E(x, y)   %.4f\n", acc);
  printf("expected calibration error     %.4f   (%d bins, softmax over -E)\n", ece, bins);
  printf("cross-entropy -log p(y|x)      %.4f nats\n", nll);
  if (json) {
    ebm_jsonl *j = NULL;
    if ((st = ebm_jsonl_open(json, 1, &j)) != EBM_OK) goto done;
    ebm_jsonl_begin(j);
    ebm_jsonl_str(j, "model", ckpt);
    ebm_jsonl_str(j, "data", data);
    ebm_jsonl_int(j, "n", m);
    ebm_jsonl_int(j, "classes", K);
    ebm_jsonl_num(j, "accuracy", acc);
    ebm_jsonl_num(j, "ece", ece);
    ebm_jsonl_int(j, "bins", bins);
    ebm_jsonl_num(j, "nll", nll);
    st = ebm_jsonl_end(j);
    ebm_jsonl_close(j);
  }
done:
  if (st != EBM_OK) rc = cli_runtime_error(st);
  free(x);
  free(y);
  free(logits);
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
