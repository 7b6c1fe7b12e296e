/* Internal: the `:class=K[,K...]` suffix of a data set spec, for
 * ebm_dataset_load (src/data/dataset.c). */
#ifndef EBM_DATA_CLASS_FILTER_H
#define EBM_DATA_CLASS_FILTER_H

#include "ebm.h"

#define CLASS_FILTER_TAG ":class="

/* The last CLASS_FILTER_TAG in spec, or NULL (a spec's own path may hold
 * the tag; the filter is always the suffix). */
const char *ebm_class_filter_find(const char *spec);

/* Keeps the items of ds whose labels are listed in `list` ("3" or "1,7"),
 * in their order; num_classes is unchanged. Errors (EBM_ERR_ARG, naming
 * ds->spec): no labels, a malformed list, a class ≥ num_classes, no item
 * left. */
ebm_status ebm_class_filter_apply(ebm_dataset *ds, const char *list);

#endif
