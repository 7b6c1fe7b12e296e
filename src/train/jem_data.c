/* The data side of the classifier methods (jem, ebc; jem.h): that the
 * network classifies the data's classes, the held-out set scored in
 * metrics.jsonl, and the labels a semi-supervised run keeps. */
#include <math.h>
#include <stdlib.h>

#include "train/jem.h"
#include "train/train_internal.h"

ebm_status jem_check_classifier(const ebm_net *net, const ebm_dataset *ds, const char *method, const char *what) {
  const int64_t K = ebm_net_out_size(net);
  if (!ebm_net_is_classifier(net))
    return ebm_set_error(EBM_ERR_ARG, "method %s trains a classifier: the network must end in K > 1 logits "
                         "and take no labels (it gives %lld output%s%s)", method, (long long)K, K == 1 ? "" : "s",
                         ebm_net_num_classes(net) > 0 ? " and has classes" : "");
  if (!ds->labels)
    return ebm_set_error(EBM_ERR_ARG, "%smethod %s needs labels, and %s has none", what, method, ds->spec);
  if (ds->num_classes != K)
    return ebm_set_error(EBM_ERR_ARG, "%s%s has %d classes, and the network gives %lld logits", what, ds->spec,
                         ds->num_classes, (long long)K);
  return EBM_OK;
}

ebm_status jem_eval_load(const ebm_trainer *t, jem_eval *e) {
  const ebm_jem_config *j = &t->cfg.jem;
  char want[64], got[64];
  if (!j->eval_data[0]) return EBM_OK;
  ebm_status st = ebm_dataset_load(j->eval_data, t->cfg.range_lo, t->cfg.range_hi, &e->ds);
  if (st != EBM_OK) return ebm_error_prefix(st, "eval-data");
  const ebm_tensor *x = e->ds->x;
  if (ebm_tensor_row_size(x) != t->item) {
    ebm_shape_str(ebm_net_item_ndim(t->net), ebm_net_item_shape(t->net), want, sizeof want);
    ebm_shape_str(x->ndim - 1, x->shape + 1, got, sizeof got);
    return ebm_set_error(EBM_ERR_SHAPE, "eval-data: %s has items %s, the network takes %s", e->ds->spec, got,
                         want);
  }
  if ((st = jem_check_classifier(t->net, e->ds, t->method->name, "eval-data: ")) != EBM_OK) return st;
  e->n = x->shape[0] < j->eval_items ? x->shape[0] : j->eval_items;
  e->logits = ebm_alloc((size_t)(ebm_net_max_batch(t->net) * ebm_net_out_size(t->net)), sizeof(float));
  return e->logits ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory for eval-data");
}

void jem_eval_free(jem_eval *e) {
  ebm_dataset_free(e->ds);
  ebm_free(e->logits);
  e->ds = NULL;
  e->logits = NULL;
}

ebm_status jem_keep_labels(const int32_t *labels, int64_t n, int classes, double fraction, int64_t per_class,
                           ebm_rng *rng, const char *spec, int32_t *kept) {
  int64_t *count = calloc((size_t)classes, sizeof *count), *seen = calloc((size_t)classes, sizeof *seen);
  int64_t *order = per_class > 0 ? malloc((size_t)n * sizeof *order) : NULL;
  ebm_status st = EBM_OK;
  if (!count || !seen || (per_class > 0 && !order)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory choosing the labels of %s", spec);
    goto done;
  }
  for (int64_t i = 0; i < n; i++) count[labels[i]]++;
  if (per_class <= 0) {
    for (int64_t i = 0; i < n; i++) {
      const int32_t c = labels[i];
      kept[i] = seen[c]++ < llround(fraction * (double)count[c]) ? c : -1;
    }
    goto done;
  }
  for (int c = 0; c < classes; c++)
    if (count[c] < per_class) {
      st = ebm_set_error(EBM_ERR_ARG, "labelled %lld: class %d of %s has only %lld items", (long long)per_class, c,
                         spec, (long long)count[c]);
      goto done;
    }
  /* a uniform shuffle of all items (Fisher–Yates); each class keeps its
   * first per_class items in that order: a uniform draw within each class */
  for (int64_t i = 0; i < n; i++) order[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    const int64_t j = (int64_t)(((uint64_t)ebm_rng_u32(rng) << 32 | ebm_rng_u32(rng)) % (uint64_t)(i + 1));
    const int64_t tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  for (int64_t k = 0; k < n; k++) {
    const int64_t i = order[k];
    kept[i] = seen[labels[i]]++ < per_class ? labels[i] : -1;
  }
done:
  free(count);
  free(seen);
  free(order);
  return st;
}
