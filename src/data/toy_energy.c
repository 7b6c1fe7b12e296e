/* A toy's exact energy E(x) = −log p(x) behind the ebm_energy interface, so
 * samplers can be tested against a target whose every statistic is known. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/toys.h"

typedef struct {
  toy_model *model;
  char name[32];
  const float *x;
  float *e, *grad;
} toy_energy;

static void energy_range(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const toy_energy *te = ctx;
  for (int64_t i = begin; i < end; i++) {
    double logp, g[2];
    toy_model_eval(te->model, te->x[2 * i], te->x[2 * i + 1], &logp, te->grad ? g : NULL);
    te->e[i] = (float)-logp;
    if (te->grad) {
      te->grad[2 * i] = (float)-g[0];
      te->grad[2 * i + 1] = (float)-g[1];
    }
  }
}

/* x is (n,2), e is (n), grad is (n,2). Points are independent, so the
 * split over threads cannot change the result. */
static ebm_status toy_energy_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                                  float *grad) {
  (void)cond;
  toy_energy *te = self;
  te->x = x, te->e = e, te->grad = grad;
  ebm_parallel_for(n, 64, energy_range, te);
  return EBM_OK;
}

static void toy_energy_destroy(void *self) {
  toy_energy *te = self;
  if (!te) return;
  toy_model_free(te->model);
  free(te);
}

ebm_status ebm_toy_energy_new(ebm_toy toy, ebm_energy **out) {
  *out = NULL;
  if ((int)toy < 0 || toy >= EBM_TOY_COUNT)
    return ebm_set_error(EBM_ERR_ARG, "unknown toy id %d", (int)toy);
  if (toy == EBM_TOY_CHECKERBOARD)
    return ebm_set_error(EBM_ERR_UNSUPPORTED,
                         "toy:checkerboard has no usable energy: its density is flat on the dark "
                         "squares (zero gradient) and zero elsewhere (infinite energy)");
  toy_energy *te = calloc(1, sizeof *te);
  ebm_energy *en = ebm_energy_alloc();
  if (!te || !en) {
    free(te);
    free(en);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory creating the %s energy", ebm_toy_name(toy));
  }
  ebm_status st = toy_model_new(toy, 1, &te->model);
  if (st != EBM_OK) {
    free(te);
    free(en);
    return st;
  }
  snprintf(te->name, sizeof te->name, "toy:%s", ebm_toy_name(toy));
  en->name = te->name;
  en->item_ndim = 1;
  en->item_shape[0] = 2;
  en->max_batch = 0;
  en->num_classes = 0;
  en->range_lo = en->range_hi = 0.0f;
  en->eval = toy_energy_eval;
  en->destroy = toy_energy_destroy;
  en->self = te;
  *out = en;
  return EBM_OK;
}
