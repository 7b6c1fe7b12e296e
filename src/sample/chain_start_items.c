/* A chain start that is a file's items: each fresh chain begins at one of
 * them, drawn uniformly at random (with replacement) from the caller's
 * stream, so the draws are the same for a seed and a resumed run (whose
 * streams are restored) continues them. For starts that some other model
 * made — an image model's item moved along a path, for a video energy
 * that should learn to refine exactly such starts (the voxels' lesson: an
 * energy does well from the start it was trained from). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/data.h"
#include "sample/sampler_internal.h"

typedef struct {
  float *x;  /* n × dim, the items */
  int64_t n, dim;
  char name[96];
} items_start;

static void items_destroy(void *self) {
  items_start *s = self;
  if (!s) return;
  free(s->x);
  free(s);
}

/* The empirical distribution has no density to evaluate: an items start
 * only draws. */
static ebm_status items_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e, float *grad) {
  (void)x, (void)cond, (void)n, (void)e, (void)grad;
  const items_start *s = self;
  return ebm_set_error(EBM_ERR_ARG, "%s is a set of chain starts, not an energy: it draws, it does not score",
                       s->name);
}

int ebm_items_start_is(const ebm_energy *en) { return en && en->destroy == items_destroy; }

/* The draw (ebm_energy.draw): n of the items, each uniformly at random. */
static ebm_status items_draw(void *self, ebm_rng *rng, int64_t n, float *x) {
  const items_start *s = self;
  for (int64_t i = 0; i < n; i++) {
    const int64_t r = (int64_t)(ebm_rng_double(rng) * (double)s->n);
    memcpy(x + i * s->dim, s->x + (r < s->n ? r : s->n - 1) * s->dim, (size_t)s->dim * sizeof *x);
  }
  return EBM_OK;
}

ebm_status ebm_items_start_new(const float *x, int64_t n, int64_t dim, ebm_energy **out) {
  *out = NULL;
  if (n < 1 || dim < 1)
    return ebm_set_error(EBM_ERR_ARG, "items start: needs at least one item of at least one value, got %lld of %lld",
                         (long long)n, (long long)dim);
  for (int64_t k = 0; k < n * dim; k++)
    if (!isfinite(x[k]))
      return ebm_set_error(EBM_ERR_ARG, "items start: item %lld has a non-finite value (%g at position %lld)",
                           (long long)(k / dim), (double)x[k], (long long)(k % dim));
  items_start *s = calloc(1, sizeof *s);
  ebm_energy *en = NULL;
  if (!s || !(s->x = malloc((size_t)(n * dim) * sizeof *s->x)) || !(en = ebm_energy_alloc())) {
    items_destroy(s);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld chain starts of %lld values", (long long)n,
                         (long long)dim);
  }
  memcpy(s->x, x, (size_t)(n * dim) * sizeof *s->x);
  s->n = n;
  s->dim = dim;
  snprintf(s->name, sizeof s->name, "items:%lldx%lld", (long long)n, (long long)dim);
  en->name = s->name;
  en->item_ndim = 1;
  en->item_shape[0] = dim;
  en->eval = items_eval;
  en->destroy = items_destroy;
  en->draw = items_draw;
  en->self = s;
  *out = en;
  return EBM_OK;
}

