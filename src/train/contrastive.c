/* The contrastive loss E(x⁺) − E(x⁻) + α·(E(x⁺)² + E(x⁻)²) of the MCMC
 * methods (pcd / short-run / cd, one call per batch slice) and of recovery
 * likelihood (one call on the whole batch): its parameter passes over the
 * trainer's x⁺ / x⁻, and the checks on the batch's energies before the
 * Adam step. The negatives are constants of the loss, so
 * dL/dθ = Σ_i dL/dE⁺ᵢ ∇θE⁺ᵢ + Σ_i dL/dE⁻ᵢ ∇θE⁻ᵢ, and dL/dE of an item needs
 * only its own energy: each part of the batch is done on its own. The
 * same passes serve another network on other inputs (coop's energy, the
 * latent-space EBM's prior on z: train_contrastive_gradient_of). */
#include <math.h>

#include "train/train_internal.h"

ebm_status train_contrastive_passes(ebm_trainer *t, int64_t first, int64_t n, int64_t step, float *neg_grad) {
  return train_contrastive_passes_of(t, t->net, t->x_pos + first * t->item, t->x_neg + first * t->item, first, n,
                                     step, neg_grad);
}

ebm_status train_contrastive_passes_of(ebm_trainer *t, ebm_net *net, const float *x_pos, const float *x_neg,
                                       int64_t first, int64_t n, int64_t step, float *neg_grad) {
  const ebm_train_config *c = &t->cfg;
  const ebm_cond cond_pos = ebm_cond_slice(&t->cond_pos, first), cond_neg = ebm_cond_slice(&t->cond_neg, first);
  float *e_pos = t->e_pos + first, *e_neg = t->e_neg + first, *de_pos = t->de_pos + first,
        *de_neg = t->de_neg + first;
  ebm_status st;
  /* One forward and one backward per half: dL/dE⁺ needs only E⁺ (and
   * dL/dE⁻ only E⁻), so each half goes back through the activations its
   * own forward kept. Positives first, then negatives: the order the
   * parameter gradients accumulate in. */
  ebm_net_zero_grad(net);
  if ((st = ebm_net_energy(net, x_pos, &cond_pos, n, e_pos)) != EBM_OK)
    return train_divergence(st, step, "e_pos is not finite");
  train_loss_grad_part(e_pos, n, c->batch, c->alpha, 1.0, de_pos);
  if ((st = ebm_net_backward(net, de_pos, NULL, 1)) != EBM_OK) return st;
  /* improved CD needs ∇ₓE at the negatives too: a pass of its own */
  if (neg_grad && (st = ebm_net_grad_input(net, x_neg, &cond_neg, n, t->e_tmp, neg_grad)) != EBM_OK)
    return train_divergence(st, step, "e_neg is not finite");
  if ((st = ebm_net_energy(net, x_neg, &cond_neg, n, e_neg)) != EBM_OK)
    return train_divergence(st, step, "e_neg is not finite");
  train_loss_grad_part(e_neg, n, c->batch, c->alpha, -1.0, de_neg);
  return ebm_net_backward(net, de_neg, NULL, 1);
}

ebm_status train_contrastive_check(ebm_trainer *t, int64_t step, double *e_pos, double *e_neg, double *loss) {
  const ebm_train_config *c = &t->cfg;
  const int64_t B = c->batch;
  ebm_status st;
  if (c->inject_nan_at == step) t->e_neg[0] = NAN; /* the divergence test hook */
  *e_pos = train_mean(t->e_pos, B);
  *e_neg = train_mean(t->e_neg, B);
  *loss = ebm_train_loss(t->e_pos, t->e_neg, B, c->alpha);
  if ((st = train_check_finite(*e_pos, c->max_energy, step, "e_pos")) != EBM_OK ||
      (st = train_check_finite(*e_neg, c->max_energy, step, "e_neg")) != EBM_OK)
    return st;
  return train_check_finite(*loss, 0, step, "loss");
}

ebm_status train_contrastive_gradient_of(ebm_trainer *t, ebm_net *net, const float *x_pos, const float *x_neg,
                                         double *e_pos, double *e_neg, double *loss) {
  const int64_t step = t->step + 1;
  ebm_status st = train_contrastive_passes_of(t, net, x_pos, x_neg, 0, t->cfg.batch, step, NULL);
  return st != EBM_OK ? st : train_contrastive_check(t, step, e_pos, e_neg, loss);
}

ebm_status train_contrastive_gradient(ebm_trainer *t, double *e_pos, double *e_neg, double *loss) {
  return train_contrastive_gradient_of(t, t->net, t->x_pos, t->x_neg, e_pos, e_neg, loss);
}
