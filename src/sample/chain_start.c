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
  const char *spec = NULL;
  long components = 0;
  if (strncmp(text, "gaussian:", 9) == 0) spec = text + 9;
  if (strncmp(text, "mixture:", 8) == 0) {
    char *end = NULL;
    components = strtol(text + 8, &end, 10);
    if (end != text + 8 && *end == ':' && components >= 1 && components <= EBM_CHAIN_START_MAX_COMPONENTS)
      spec = end + 1;
  }
  if (!spec || !*spec)
    return ebm_set_error(EBM_ERR_ARG, "chain start must be uniform, gaussian:SPEC or mixture:K:SPEC (K in 1..%d), "
                         "got '%s'", EBM_CHAIN_START_MAX_COMPONENTS, text);
  ebm_dataset *ds = NULL;
  ebm_status st = ebm_dataset_load(spec, lo, hi, &ds);
  if (st == EBM_OK && ebm_tensor_row_size(ds->x) != item)
    st = ebm_set_error(EBM_ERR_SHAPE, "chain start %s: the data's items have %lld values, the chains %lld", text,
                       (long long)ebm_tensor_row_size(ds->x), (long long)item);
  if (st == EBM_OK) st = ebm_chain_start_fit(ds->x->data, ds->x->shape[0], item, (int)components, out);
  ebm_dataset_free(ds);
  return st;
}

ebm_status ebm_chain_start_fit(const float *x, int64_t n, int64_t item, int components, ebm_energy **out) {
  if (components > 0)
    return ebm_subspace_mixture_fit(x, n, item, EBM_CHAIN_START_FIT_ITEMS, EBM_SUBSPACE_MIXTURE_RANK, components,
                                    out);
  return ebm_gaussian_energy_fit(x, n, item, EBM_CHAIN_START_FIT_ITEMS, out);
}
