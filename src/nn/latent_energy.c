/* The latent posterior of a generator-based model as an energy in z, so
 * every sampler of src/sample runs on it (Arbel, Zhou & Gretton 2021, GEBM
 * §3: samples of the model are B(z) with z ~ ν(z) ∝ η(z)·exp(−E(B(z))),
 * η = N(0, I)):
 *   U(z)  = ½‖z‖² + E(G(z))
 *   ∇U(z) = z + J_G(z)ᵀ ∇ₓE(G(z))
 * The Jacobian-transpose product is one backward pass of the generator
 * (ebm_net_backward with dx, parameters untouched). At temperature β the
 * energy alone is tempered, U(z) = ½‖z‖² + E(G(z))/β (the seed's ν at β:
 * the base η stays the generator's N(0, I)). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"

typedef struct {
  ebm_net *generator;            /* borrowed */
  const ebm_energy *data_energy; /* borrowed */
  int64_t latent, item;          /* floats per z, per x */
  float inv_beta;                /* 1/β */
  float *x, *dx;                 /* (max_batch, item) G(z) and ∇ₓE/β there */
} latent_energy;

static void latent_destroy(void *self) {
  latent_energy *le = self;
  if (!le) return;
  free(le->x);
  free(le->dx);
  free(le);
}

static ebm_status latent_eval(void *self, const float *z, const ebm_cond *cond, int64_t n, float *e,
                              float *grad) {
  (void)cond;
  latent_energy *le = self;
  ebm_status st = ebm_net_forward(le->generator, z, NULL, n, le->x);
  if (st == EBM_OK) st = ebm_energy_eval(le->data_energy, le->x, NULL, n, e, grad ? le->dx : NULL);
  if (st != EBM_OK) return st;
  if (le->inv_beta != 1.0f)
    for (int64_t k = 0; grad && k < n * le->item; k++) le->dx[k] *= le->inv_beta;
  if (grad && (st = ebm_net_backward(le->generator, le->dx, grad, 0)) != EBM_OK) return st;
  for (int64_t i = 0; i < n; i++) {
    const float *zi = z + i * le->latent;
    double half_sq = 0;
    for (int64_t k = 0; k < le->latent; k++) half_sq += 0.5 * (double)zi[k] * zi[k];
    e[i] = e[i] * le->inv_beta + (float)half_sq;
    if (grad)
      for (int64_t k = 0; k < le->latent; k++) grad[i * le->latent + k] += zi[k];
  }
  return EBM_OK;
}

/* "[2]", "[1, 28, 28]" */
static void shape_text(int ndim, const int64_t *shape, char *buf, size_t size) {
  size_t len = (size_t)snprintf(buf, size, "[");
  for (int d = 0; d < ndim && len < size; d++)
    len += (size_t)snprintf(buf + len, size - len, "%s%lld", d ? ", " : "", (long long)shape[d]);
  if (len < size) snprintf(buf + len, size - len, "]");
}

ebm_status ebm_latent_energy_new(ebm_net *generator, const ebm_energy *data_energy, ebm_energy **out) {
  *out = NULL;
  const int ndim = ebm_net_out_ndim(generator);
  const int64_t *shape = ebm_net_out_shape(generator);
  int same = ndim == data_energy->item_ndim;
  for (int d = 0; same && d < ndim; d++) same = shape[d] == data_energy->item_shape[d];
  if (!same) {
    char g[64], x[64];
    shape_text(ndim, shape, g, sizeof g);
    shape_text(data_energy->item_ndim, data_energy->item_shape, x, sizeof x);
    return ebm_set_error(EBM_ERR_ARG, "the generator's output shape %s differs from the energy's input shape %s",
                         g, x);
  }
  if (ebm_net_item_ndim(generator) != 1)
    return ebm_set_error(EBM_ERR_ARG, "the generator must take latent vectors (its input has %d dimensions)",
                         ebm_net_item_ndim(generator));
  if (ebm_net_needs_labels(generator) || ebm_net_needs_sigma(generator) || data_energy->num_classes > 0 ||
      data_energy->needs_sigma)
    return ebm_set_error(EBM_ERR_ARG, "the latent posterior takes an unconditional generator and energy");
  const int64_t max_batch = ebm_net_max_batch(generator);
  if (max_batch < 1) return ebm_set_error(EBM_ERR_ARG, "the generator was built for no batch (max_batch 0)");
  latent_energy *le = calloc(1, sizeof *le);
  ebm_energy *en = ebm_energy_alloc();
  if (le) {
    le->generator = generator;
    le->data_energy = data_energy;
    le->latent = ebm_net_item_shape(generator)[0];
    le->item = ebm_energy_item_size(data_energy);
    le->inv_beta = 1.0f;
    le->x = malloc((size_t)(max_batch * le->item) * sizeof(float));
    le->dx = malloc((size_t)(max_batch * le->item) * sizeof(float));
  }
  if (!en || !le || !le->x || !le->dx) {
    latent_destroy(le);
    ebm_energy_free(en);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for the latent posterior");
  }
  en->name = "latent posterior";
  en->item_ndim = 1;
  en->item_shape[0] = le->latent;
  en->max_batch = max_batch;
  en->eval = latent_eval;
  en->destroy = latent_destroy;
  en->self = le;
  *out = en;
  return EBM_OK;
}

ebm_status ebm_latent_energy_set_temperature(ebm_energy *en, float beta) {
  if (!(beta > 0) || !isfinite(beta))
    return ebm_set_error(EBM_ERR_ARG, "the latent posterior's temperature must be > 0 and finite, got %g",
                         (double)beta);
  ((latent_energy *)en->self)->inv_beta = 1.0f / beta;
  return EBM_OK;
}
