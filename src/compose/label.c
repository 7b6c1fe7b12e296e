/* A conditional energy with its class fixed, E'(x) = E(x, y): the unit of
 * "E(x, y₁) + E(x, y₂)" compositions over one conditional model (Du &
 * Mordatch §4 / A.9, combining conditional models). The label array is
 * filled once at construction, so evaluation is a single call through. */
#include <stdio.h>
#include <stdlib.h>

#include "ebm/compose.h"

#define LABEL_DEFAULT_BATCH 1024

typedef struct {
  const ebm_energy *cond; /* borrowed */
  int32_t *labels;        /* max_batch copies of the label */
  int64_t max_batch;
  char name[160];
} label_energy;

// x is (n, item), e is (n), grad (n, item) or NULL.
static ebm_status label_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                             float *grad) {
  /* unconditional from the outside (ebm_energy_eval refuses labels); noise levels pass through */
  label_energy *l = self;
  if (n > l->max_batch)
    return ebm_set_error(EBM_ERR_ARG, "%s: batch %lld exceeds %lld", l->name, (long long)n,
                         (long long)l->max_batch);
  const ebm_cond fixed = {l->labels, cond ? cond->sigma : NULL};
  return ebm_energy_eval(l->cond, x, &fixed, n, e, grad);
}

static void label_destroy(void *self) {
  label_energy *l = self;
  if (!l) return;
  free(l->labels);
  free(l);
}

ebm_status ebm_label_energy_new(const ebm_energy *cond, int32_t label, ebm_energy **out) {
  ebm_status st = EBM_OK;
  label_energy *l = NULL;
  ebm_energy *en = NULL;
  *out = NULL;
  if (!cond) return ebm_set_error(EBM_ERR_ARG, "label energy: no energy given");
  if (cond->num_classes <= 0)
    return ebm_set_error(EBM_ERR_ARG, "%s is unconditional: it takes no class label", cond->name);
  if (label < 0 || label >= cond->num_classes)
    return ebm_set_error(EBM_ERR_ARG, "%s: class %d is not in 0..%d", cond->name, (int)label,
                         cond->num_classes - 1);
  if (!(en = ebm_energy_alloc())) return EBM_ERR_NOMEM;
  if (!(l = calloc(1, sizeof *l))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a label energy");
    goto fail;
  }
  l->cond = cond;
  l->max_batch = cond->max_batch > 0 ? cond->max_batch : LABEL_DEFAULT_BATCH;
  if (!(l->labels = malloc((size_t)l->max_batch * sizeof *l->labels))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a label energy");
    goto fail;
  }
  for (int64_t i = 0; i < l->max_batch; i++) l->labels[i] = label;
  snprintf(l->name, sizeof l->name, "%s[class=%d]", cond->name, (int)label);
  ebm_energy_describe_like(en, cond);
  en->name = l->name;
  en->num_classes = 0;
  en->max_batch = l->max_batch;
  en->eval = label_eval;
  en->destroy = label_destroy;
  en->self = l;
  *out = en;
  return EBM_OK;
fail:
  label_destroy(l);
  free(en);
  return st;
}
