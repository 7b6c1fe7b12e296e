/* The latent-space EBM prior and its posterior as energies in z (Pang,
 * Han, Nijkamp, Zhu & Wu, NeurIPS 2020; the Xie & Wu tutorial seed,
 * "Latent Space Energy-Based Prior Model"): p(z) ∝ exp(−E(z))·N(z; 0, I),
 * x = G(z) + N(0, σ²I), so
 *   prior      U(z)   = E(z) + ½‖z‖²
 *   posterior  U(z|x) = E(z) + ½‖z‖² + ‖x − G(z)‖²/(2σ²)
 *   ∇U(z|x)    = ∇E(z) + z + J_G(z)ᵀ(G(z) − x)/σ²
 * The Jacobian-transpose product is one backward pass of the generator
 * (parameters untouched). With a target, chain i belongs to observation
 * x_i, so the sampler must run exactly as many chains as there are
 * observations (refused otherwise). At temperature β the energy network
 * alone is tempered, E(z)/β: the N(0, I) base and the likelihood stay. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"

typedef struct {
  ebm_net *prior;          /* borrowed: E(z), one output */
  ebm_net *generator;      /* borrowed; NULL for the prior alone */
  double inv_var;          /* 1/σ² */
  float inv_beta;          /* 1/β */
  int64_t latent, item;    /* floats per z, per x */
  const float *target;     /* (n_target, item) borrowed observations, or NULL */
  int64_t n_target;
  float *x, *dz;           /* (max_batch, item) G(z) then (G(z) − x)/σ²; (max_batch, latent) */
} prior_energy;

static void prior_destroy(void *self) {
  prior_energy *pe = self;
  if (!pe) return;
  free(pe->x);
  free(pe->dz);
  free(pe);
}

static ebm_status prior_eval(void *self, const float *z, const ebm_cond *cond, int64_t n, float *e, float *grad) {
  (void)cond;
  prior_energy *pe = self;
  ebm_status st = grad ? ebm_net_grad_input(pe->prior, z, NULL, n, e, grad) : ebm_net_energy(pe->prior, z, NULL, n, e);
  if (st != EBM_OK) return st;
  if (pe->inv_beta != 1.0f) {
    for (int64_t i = 0; i < n; i++) e[i] *= pe->inv_beta;
    for (int64_t k = 0; grad && k < n * pe->latent; k++) grad[k] *= pe->inv_beta;
  }
  if (pe->target) {
    if (n != pe->n_target)
      return ebm_set_error(EBM_ERR_ARG, "the latent posterior of %lld observations was evaluated on %lld chains",
                           (long long)pe->n_target, (long long)n);
    if ((st = ebm_net_forward(pe->generator, z, NULL, n, pe->x)) != EBM_OK) return st;
    for (int64_t i = 0; i < n; i++) {
      double sq = 0;
      for (int64_t k = i * pe->item; k < (i + 1) * pe->item; k++) {
        const double r = (double)pe->x[k] - pe->target[k];
        sq += r * r;
        pe->x[k] = (float)(r * pe->inv_var);
      }
      e[i] += (float)(0.5 * sq * pe->inv_var);
    }
    if (grad) {
      if ((st = ebm_net_backward(pe->generator, pe->x, pe->dz, 0)) != EBM_OK) return st;
      for (int64_t k = 0; k < n * pe->latent; k++) grad[k] += pe->dz[k];
    }
  }
  for (int64_t i = 0; i < n; i++) {
    const float *zi = z + i * pe->latent;
    double half_sq = 0;
    for (int64_t k = 0; k < pe->latent; k++) half_sq += 0.5 * (double)zi[k] * zi[k];
    e[i] += (float)half_sq;
    if (grad)
      for (int64_t k = 0; k < pe->latent; k++) grad[i * pe->latent + k] += zi[k];
  }
  return EBM_OK;
}

ebm_status ebm_latent_prior_energy_new(ebm_net *prior, ebm_net *generator, float sigma, ebm_energy **out) {
  *out = NULL;
  if (ebm_net_item_ndim(prior) != 1 || ebm_net_out_size(prior) != 1 || ebm_net_needs_labels(prior) ||
      ebm_net_needs_sigma(prior))
    return ebm_set_error(EBM_ERR_ARG, "the latent prior must be an unconditional energy of vectors z");
  const int64_t latent = ebm_net_item_shape(prior)[0];
  int64_t max_batch = ebm_net_max_batch(prior), item = 0;
  if (generator) {
    if (ebm_net_item_ndim(generator) != 1 || ebm_net_item_shape(generator)[0] != latent)
      return ebm_set_error(EBM_ERR_ARG, "the generator's input shape [%lld%s] differs from the prior's latent "
                           "shape [%lld]", (long long)ebm_net_item_shape(generator)[0],
                           ebm_net_item_ndim(generator) == 1 ? "" : ", ...", (long long)latent);
    if (!(sigma > 0)) return ebm_set_error(EBM_ERR_ARG, "the observation noise σ must be > 0, got %g", (double)sigma);
    item = ebm_net_out_size(generator);
    if (ebm_net_max_batch(generator) < max_batch) max_batch = ebm_net_max_batch(generator);
  }
  prior_energy *pe = calloc(1, sizeof *pe);
  ebm_energy *en = ebm_energy_alloc();
  if (pe) {
    pe->prior = prior;
    pe->generator = generator;
    pe->inv_var = generator ? 1.0 / ((double)sigma * sigma) : 0.0;
    pe->inv_beta = 1.0f;
    pe->latent = latent;
    pe->item = item;
    pe->x = generator ? malloc((size_t)(max_batch * item) * sizeof(float)) : NULL;
    pe->dz = generator ? malloc((size_t)(max_batch * latent) * sizeof(float)) : NULL;
  }
  if (!en || !pe || (generator && (!pe->x || !pe->dz))) {
    prior_destroy(pe);
    ebm_energy_free(en);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for the latent prior energy");
  }
  en->name = generator ? "latent posterior" : "latent prior";
  en->item_ndim = 1;
  en->item_shape[0] = latent;
  en->max_batch = max_batch;
  en->eval = prior_eval;
  en->destroy = prior_destroy;
  en->self = pe;
  *out = en;
  return EBM_OK;
}

ebm_status ebm_latent_prior_energy_set_target(ebm_energy *en, const float *x, int64_t n) {
  prior_energy *pe = en->self;
  if (x && !pe->generator)
    return ebm_set_error(EBM_ERR_ARG, "the latent prior has no generator: it takes no observations");
  if (x && (n < 1 || n > en->max_batch))
    return ebm_set_error(EBM_ERR_ARG, "the latent posterior takes 1..%lld observations at once, got %lld",
                         (long long)en->max_batch, (long long)n);
  pe->target = x;
  pe->n_target = x ? n : 0;
  return EBM_OK;
}

ebm_status ebm_latent_prior_energy_set_temperature(ebm_energy *en, float beta) {
  if (!(beta > 0) || !isfinite(beta))
    return ebm_set_error(EBM_ERR_ARG, "the latent prior's temperature must be > 0 and finite, got %g", (double)beta);
  ((prior_energy *)en->self)->inv_beta = 1.0f / beta;
  return EBM_OK;
}
