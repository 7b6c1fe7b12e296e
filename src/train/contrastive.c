/* The contrastive loss's parameter gradient on the trainer's whole batch
 * (x⁺ in t->x_pos, x⁻ in t->x_neg, no slices): what a method that makes
 * its own negatives (recovery likelihood) shares with pcd / short-run /
 * cd, and the latent-space EBM its prior. One forward and one backward per batch, positives first. */
#include <math.h>

#include "train/train_internal.h"

ebm_status train_contrastive_gradient(ebm_trainer *t, double *e_pos, double *e_neg, double *loss) {
  return train_contrastive_gradient_of(t, t->net, t->x_pos, t->x_neg, e_pos, e_neg, loss);
}

ebm_status train_contrastive_gradient_of(ebm_trainer *t, ebm_net *net, const float *x_pos, const float *x_neg,
                                         double *e_pos, double *e_neg, double *loss) {
  const ebm_train_config *c = &t->cfg;
  const int64_t B = c->batch, step = t->step + 1;
  ebm_status st;
  /* One forward and one backward per batch: dL/dE⁺ needs only E⁺ (and
   * dL/dE⁻ only E⁻), so each batch goes back through the activations its
   * own forward kept. Positives first, then negatives: the order the
   * parameter gradients accumulate in. Parameters change only at the Adam
   * step, after every check. */
  ebm_net_zero_grad(net);
  if ((st = ebm_net_energy(net, x_pos, &t->cond_pos, B, t->e_pos)) != EBM_OK)
    return train_divergence(st, step, "e_pos is not finite");
  *e_pos = train_mean(t->e_pos, B);
  if ((st = train_check_finite(*e_pos, c->max_energy, step, "e_pos")) != EBM_OK) return st;
  ebm_train_loss_grad(t->e_pos, t->e_pos, B, c->alpha, t->de_pos, t->de_neg); /* de_neg: overwritten below */
  if ((st = ebm_net_backward(net, t->de_pos, NULL, 1)) != EBM_OK) return st;
  if ((st = ebm_net_energy(net, x_neg, &t->cond_neg, B, t->e_neg)) != EBM_OK)
    return train_divergence(st, step, "e_neg is not finite");
  if (c->inject_nan_at == step) t->e_neg[0] = NAN; /* the divergence test hook */
  *e_neg = train_mean(t->e_neg, B);
  *loss = ebm_train_loss(t->e_pos, t->e_neg, B, c->alpha);
  if ((st = train_check_finite(*e_neg, c->max_energy, step, "e_neg")) != EBM_OK ||
      (st = train_check_finite(*loss, 0, step, "loss")) != EBM_OK)
    return st;
  ebm_train_loss_grad(t->e_pos, t->e_neg, B, c->alpha, t->de_pos, t->de_neg);
  if ((st = ebm_net_backward(net, t->de_neg, NULL, 1)) != EBM_OK) return st;
  return EBM_OK;
}
