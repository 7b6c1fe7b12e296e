/* Chain starts by name: "uniform", or "gaussian:SPEC", the Gaussian fitted
 * to data set SPEC, and the name a checkpoint records when its model was
 * trained from such starts, so that sampling it later starts the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/data.h"
#include "ebm/sample.h"
#include "sample/sampler_internal.h"

static ebm_status copy_text(const char *text, const char *path, void *out) {
  char *buf = out; /* EBM_CHAIN_START_TEXT_MAX bytes */
  if (strlen(text) >= EBM_CHAIN_START_TEXT_MAX)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: chain start \"%.40s...\" is longer than %d bytes", path, text,
                         EBM_CHAIN_START_TEXT_MAX - 1);
  snprintf(buf, EBM_CHAIN_START_TEXT_MAX, "%s", text);
  return EBM_OK;
}

ebm_status ebm_chain_start_from_checkpoint(const char *path, char text[EBM_CHAIN_START_TEXT_MAX], int *found) {
  return sample_checkpoint_meta(path, EBM_CHAIN_START_META_KEY, copy_text, text, found);
}

ebm_status ebm_chain_start_open(const char *text, float lo, float hi, int64_t item, ebm_energy **out) {
  *out = NULL;
  if (strcmp(text, "uniform") == 0) return EBM_OK;
  if (ebm_chain_start_is_per_class(text))
    return ebm_set_error(EBM_ERR_ARG, "chain start %s is one start per class: only a class-conditional model's "
                         "chains, each with its class, can start there", text);
  const char *spec = NULL;
  long components = 0;
  const int items = strncmp(text, EBM_CHAIN_START_ITEMS, strlen(EBM_CHAIN_START_ITEMS)) == 0;
  if (items) spec = text + strlen(EBM_CHAIN_START_ITEMS);
  if (strncmp(text, "gaussian:", 9) == 0) spec = text + 9;
  if (strncmp(text, "mixture:", 8) == 0) {
    char *end = NULL;
    components = strtol(text + 8, &end, 10);
    if (end != text + 8 && *end == ':' && components >= 1 && components <= EBM_CHAIN_START_MAX_COMPONENTS)
      spec = end + 1;
  }
  if (!spec || !*spec)
    return ebm_set_error(EBM_ERR_ARG, "chain start must be uniform, items:SPEC, gaussian:SPEC or mixture:K:SPEC "
                         "(K in 1..%d), got '%s'", EBM_CHAIN_START_MAX_COMPONENTS, text);
  ebm_dataset *ds = NULL;
  ebm_status st = ebm_dataset_load(spec, lo, hi, &ds);
  if (st != EBM_OK && items) st = ebm_error_prefix(st, text);
  if (st == EBM_OK && ebm_tensor_row_size(ds->x) != item)
    st = ebm_set_error(EBM_ERR_SHAPE, "chain start %s: the data's items have %lld values, the chains %lld", text,
                       (long long)ebm_tensor_row_size(ds->x), (long long)item);
  if (st == EBM_OK && items && (st = ebm_items_start_new(ds->x->data, ds->x->shape[0], item, out)) != EBM_OK)
    st = ebm_error_prefix(st, text);
  else if (st == EBM_OK && !items)
    st = ebm_chain_start_fit(ds->x->data, ds->x->shape[0], item, (int)components, out);
  ebm_dataset_free(ds);
  return st;
}

ebm_status ebm_chain_start_fit(const float *x, int64_t n, int64_t item, int components, ebm_energy **out) {
  *out = NULL;
  /* Said here in the user's terms: the mixture fit's own check names its
   * internal limits (subspace dimension, EM settings), not the fix. */
  if (components > 0 && n < 2 * (int64_t)components)
    return ebm_set_error(EBM_ERR_ARG, "a mixture start of %d components needs at least %lld items (2 per component), "
                         "there are %lld: use mixture:K with K <= %lld, or gaussian", components,
                         2 * (long long)components, (long long)n, (long long)(n / 2));
  if (components > 0)
    return ebm_subspace_mixture_fit(x, n, item, EBM_CHAIN_START_FIT_ITEMS, EBM_SUBSPACE_MIXTURE_RANK, components,
                                    out);
  return ebm_gaussian_energy_fit(x, n, item, EBM_CHAIN_START_FIT_ITEMS, out);
}

/* ------------------------------------------------------------ per class */

int ebm_chain_start_is_per_class(const char *text) {
  return text && strncmp(text, EBM_CHAIN_START_PER_CLASS, strlen(EBM_CHAIN_START_PER_CLASS)) == 0;
}

ebm_status ebm_chain_start_open_class(const char *text, int cls, float lo, float hi, int64_t item, ebm_energy **out) {
  *out = NULL;
  if (!ebm_chain_start_is_per_class(text))
    return ebm_set_error(EBM_ERR_ARG, "chain start '%s' is not per class (%sSTART)", text, EBM_CHAIN_START_PER_CLASS);
  if (cls < 0)
    return ebm_set_error(EBM_ERR_ARG, "chain start %s: a chain of class %d has no start (classes are 0 and up)", text,
                         cls);
  char one[EBM_CHAIN_START_TEXT_MAX + 32];
  const char *inner = text + strlen(EBM_CHAIN_START_PER_CLASS);
  snprintf(one, sizeof one, "%s:class=%d", inner, cls);
  if (strncmp(inner, "gaussian:", 9) != 0 && strncmp(inner, "mixture:", 8) != 0)
    return ebm_set_error(EBM_ERR_ARG, "chain start %s: per-class starts are fitted ones, gaussian:SPEC or "
                         "mixture:K:SPEC", text);
  ebm_status st = ebm_chain_start_open(one, lo, hi, item, out);
  if (st != EBM_OK) {
    char what[64];
    snprintf(what, sizeof what, "class %d's start", cls);
    st = ebm_error_prefix(st, what);
  }
  return st;
}

ebm_status ebm_chain_start_fit_classes(const float *x, const int32_t *labels, int64_t n, int64_t item, int classes,
                                       int components, ebm_energy **starts) {
  for (int c = 0; c < classes; c++) starts[c] = NULL;
  if (!labels || classes < 1)
    return ebm_set_error(EBM_ERR_ARG, "per-class chain starts need labels and at least one class");
  float *mine = malloc((size_t)(n > 0 ? n : 1) * (size_t)item * sizeof *mine);
  if (!mine) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for the items of one class (%lld values each)",
                                  (long long)item);
  ebm_status st = EBM_OK;
  for (int c = 0; st == EBM_OK && c < classes; c++) {
    int64_t m = 0; /* class c's items, in order: what SPEC:class=c loads */
    for (int64_t i = 0; i < n; i++)
      if (labels[i] == c) memcpy(mine + (m++) * item, x + i * item, (size_t)item * sizeof *mine);
    if (m == 0) {
      st = ebm_set_error(EBM_ERR_ARG, "class %d has no items to fit its chain start to", c);
      break;
    }
    if ((st = ebm_chain_start_fit(mine, m, item, components, &starts[c])) != EBM_OK) {
      char what[64];
      snprintf(what, sizeof what, "class %d's chain start (%lld items)", c, (long long)m);
      st = ebm_error_prefix(st, what);
    }
  }
  free(mine);
  for (int c = 0; st != EBM_OK && c < classes; c++) {
    ebm_energy_free(starts[c]);
    starts[c] = NULL;
  }
  return st;
}

ebm_status ebm_chain_start_draw_classes(ebm_energy *const *starts, int classes, const int32_t *y, ebm_rng *rng,
                                        int64_t n, int64_t dim, float lo, float hi, float *x) {
  for (int64_t i = 0; i < n; i++) {
    if (y[i] < 0 || y[i] >= classes || !starts[y[i]])
      return ebm_set_error(EBM_ERR_ARG, "chain %lld asks for class %d, which has no chain start (0..%d have)",
                           (long long)i, y[i], classes - 1);
    ebm_status st = ebm_chain_start_draw(starts[y[i]], rng, 1, dim, lo, hi, x + i * dim);
    if (st != EBM_OK) return st;
  }
  return EBM_OK;
}
