/* A class-conditional EBM scored as a classifier on a labelled data set
 * (`ebm eval classify`): a random subset, argmin_y E(x, y) against the
 * labels, calibration and cross-entropy of p(y | x) = softmax_y(−E). */
#include <stdlib.h>
#include <string.h>

#include "ebm/eval.h"
#include "eval/eval_internal.h"

ebm_status eval_draw_labelled(const ebm_dataset *ds, int K, int64_t m, ebm_rng *rng, float *x, int32_t *y) {
  const int64_t N = ds->x->shape[0], item = ebm_tensor_row_size(ds->x);
  for (int64_t i = 0, k = 0, need = m; i < N && need > 0; i++)
    if ((double)(N - i) * ebm_rng_double(rng) < (double)need) {
      if (ds->labels[i] < 0 || ds->labels[i] >= K)
        return ebm_set_error(EBM_ERR_ARG, "%s: label %d of item %lld is not a class of the model (0..%d)", ds->spec,
                             (int)ds->labels[i], (long long)i, K - 1);
      memcpy(x + k * item, ds->x->data + i * item, (size_t)item * sizeof(float));
      y[k++] = ds->labels[i];
      need--;
    }
  return EBM_OK;
}

ebm_status ebm_classify_eval(const ebm_energy *en, const ebm_dataset *ds, int64_t n, ebm_rng *rng, int bins,
                             const char *reliability_png, ebm_classify_result *out) {
  const int K = en->num_classes;
  if (K < 2) return ebm_set_error(EBM_ERR_ARG, "%s is unconditional (no classes): a classifier needs E(x, y)", en->name);
  if (!ds->labels) return ebm_set_error(EBM_ERR_ARG, "%s has no labels", ds->spec);
  const int64_t item = ebm_energy_item_size(en), N = ds->x->shape[0];
  if (ebm_tensor_row_size(ds->x) != item) {
    char want[64], got[64];
    ebm_shape_str(en->item_ndim, en->item_shape, want, sizeof want);
    ebm_shape_str(ds->x->ndim - 1, ds->x->shape + 1, got, sizeof got);
    return ebm_set_error(EBM_ERR_SHAPE, "%s: items are %s, %s takes %s", ds->spec, got, en->name, want);
  }
  const int64_t m = n > 0 && n < N ? n : N;
  float *x = malloc((size_t)(m * item) * sizeof *x), *logits = malloc((size_t)(m * K) * sizeof *logits);
  int32_t *y = malloc((size_t)m * sizeof *y);
  ebm_status st = EBM_OK;
  if (!x || !y || !logits) st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld items", (long long)m);
  if (st == EBM_OK) st = eval_draw_labelled(ds, K, m, rng, x, y);
  if (st == EBM_OK) st = ebm_energy_class_logits(en, x, m, logits);
  if (st == EBM_OK) st = ebm_calibration(logits, y, m, K, bins, &out->accuracy, &out->ece);
  if (st == EBM_OK && reliability_png) st = ebm_reliability_png(reliability_png, logits, y, m, K, bins);
  if (st == EBM_OK) {
    out->nll = ebm_softmax_xent(logits, y, m, K, 1.0f, NULL, NULL);
    out->n = m;
    out->classes = K;
  }
  free(x);
  free(y);
  free(logits);
  return st;
}
