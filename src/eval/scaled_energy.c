/* E/T as an energy (eval_internal.h): the density exp(−E/T) of a model at
 * temperature T, whose likelihood Du & Mordatch A.3 maximise over T. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"

typedef struct {
  const ebm_energy *inner; /* borrowed */
  float inv_t;
  int64_t dim;
  char name[128];
} scaled_energy;

static ebm_status scaled_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e, float *grad) {
  const scaled_energy *s = self;
  ebm_status st = ebm_energy_eval(s->inner, x, cond, n, e, grad);
  if (st != EBM_OK) return st;
  for (int64_t i = 0; i < n; i++) e[i] *= s->inv_t;
  for (int64_t k = 0; grad && k < n * s->dim; k++) grad[k] *= s->inv_t;
  return EBM_OK;
}

static void scaled_destroy(void *self) { free(self); }

ebm_status eval_scaled_energy_new(const ebm_energy *inner, double temperature, ebm_energy **out) {
  *out = NULL;
  scaled_energy *s = calloc(1, sizeof *s);
  ebm_energy *en = s ? ebm_energy_alloc() : NULL;
  if (!s || !en) {
    free(s);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a tempered energy");
  }
  s->inner = inner;
  s->inv_t = (float)(1.0 / temperature);
  s->dim = ebm_energy_item_size(inner);
  snprintf(s->name, sizeof s->name, "%s/T=%g", inner->name, temperature);
  ebm_energy_describe_like(en, inner);
  en->name = s->name;
  en->eval = scaled_eval;
  en->destroy = scaled_destroy;
  en->self = s;
  *out = en;
  return EBM_OK;
}
