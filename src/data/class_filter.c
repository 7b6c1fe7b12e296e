/* The `:class=K[,K...]` suffix of a data set spec: keep only the items of
 * the listed classes (include/ebm/data.h). Parsed here, applied to a data
 * set ebm_dataset_load has already checked, so every spec form gets it. */
#include <stdlib.h>
#include <string.h>

#include "data/class_filter.h"

const char *ebm_class_filter_find(const char *spec) {
  const char *found = NULL;
  for (const char *p = strstr(spec, CLASS_FILTER_TAG); p; p = strstr(p + 1, CLASS_FILTER_TAG)) found = p;
  return found;
}

/* keep[k] = 1 for each class listed in `list` ("3" or "1,7,9"). */
static ebm_status parse_classes(const char *spec, const char *list, int num_classes, unsigned char *keep) {
  for (const char *p = list;; p++) { /* p: the start of a number */
    char *end;
    const long k = *p >= '0' && *p <= '9' ? strtol(p, &end, 10) : -1;
    if (k < 0 || (*end != '\0' && *end != ','))
      return ebm_set_error(EBM_ERR_ARG, "%s: expected class=K[,K...] with class numbers K, got '%s'", spec, list);
    if (k >= num_classes)
      return ebm_set_error(EBM_ERR_ARG, "%s: class %ld is not a class of this data set (it has %d: 0..%d)", spec, k,
                           num_classes, num_classes - 1);
    keep[k] = 1;
    if (*end == '\0') return EBM_OK;
    p = end;
  }
}

ebm_status ebm_class_filter_apply(ebm_dataset *ds, const char *list) {
  if (!ds->labels)
    return ebm_set_error(EBM_ERR_ARG, "%s: class= needs labels, and this data set has none", ds->spec);
  unsigned char *keep = calloc((size_t)ds->num_classes, 1);
  if (!keep) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", ds->spec);
  ebm_status st = parse_classes(ds->spec, list, ds->num_classes, keep);
  const int64_t n = ds->x->shape[0], row = ebm_tensor_row_size(ds->x);
  int64_t m = 0;
  for (int64_t i = 0; st == EBM_OK && i < n; i++) m += keep[ds->labels[i]];
  if (st == EBM_OK && m == 0) st = ebm_set_error(EBM_ERR_ARG, "%s: no item has the classes asked for", ds->spec);
  ebm_tensor *x = NULL;
  if (st == EBM_OK) {
    int64_t shape[EBM_MAX_DIMS];
    memcpy(shape, ds->x->shape, sizeof shape);
    shape[0] = m;
    if (!(x = ebm_tensor_new(ds->x->ndim, shape)))
      st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for %lld items", ds->spec, (long long)m);
  }
  if (st == EBM_OK) { /* in place for the labels: item j < i always */
    for (int64_t i = 0, j = 0; i < n; i++) {
      if (!keep[ds->labels[i]]) continue;
      memcpy(x->data + j * row, ds->x->data + i * row, (size_t)row * sizeof *x->data);
      ds->labels[j++] = ds->labels[i];
    }
    ebm_tensor_free(ds->x);
    ds->x = x; /* num_classes stays: labels keep their meaning */
  }
  free(keep);
  return st;
}
