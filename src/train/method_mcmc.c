/* The MCMC maximum-likelihood methods of DESIGN §4 (Du & Mordatch A.11;
 * bench/torch_reference.py's loop): pcd, short-run and cd differ only in
 * where the chains start. Positives with a little noise, MCMC negatives,
 * the contrastive loss with the α·E² regulariser, improved CD's KL and
 * entropy terms when asked, one Adam step. Gradients flow only through the
 * final energies: the negatives are constants of the loss, so dL/dθ =
 * Σ_i dL/dE⁺ᵢ ∇θE⁺ᵢ + Σ_i dL/dE⁻ᵢ ∇θE⁻ᵢ. */
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

/* Labels must fit a conditional network; an unconditional run may not use
 * a network with classes (its passes would want labels). */
ebm_status train_mcmc_check_data(const ebm_trainer *t) {
  const ebm_net *net = t->net;
  const ebm_dataset *ds = t->ds;
  const int classes = ebm_net_num_classes(net);
  if (ebm_net_out_size(net) != 1)
    return ebm_set_error(EBM_ERR_ARG, "method %s trains an energy: the network must end in one output "
                         "(it gives %lld)", t->method->name, (long long)ebm_net_out_size(net));
  if (t->cfg.conditional) {
    if (classes == 0)
      return ebm_set_error(EBM_ERR_ARG, "conditional training needs a network with classes");
    if (!ds->labels) return ebm_set_error(EBM_ERR_ARG, "%s has no labels for conditional training", ds->spec);
    if (ds->num_classes > classes)
      return ebm_set_error(EBM_ERR_ARG, "%s has %d classes, the network %d", ds->spec, ds->num_classes, classes);
    for (int64_t i = 0; i < ds->x->shape[0]; i++)
      if (ds->labels[i] < 0 || ds->labels[i] >= classes)
        return ebm_set_error(EBM_ERR_ARG, "%s: label %d of item %lld is not in 0..%d", ds->spec,
                             ds->labels[i], (long long)i, classes - 1);
  } else if (classes > 0) {
    return ebm_set_error(EBM_ERR_ARG, "the network has %d classes: train it with conditional on", classes);
  }
  return EBM_OK;
}

/* The improved-CD work arrays (icd.c); refs only with the entropy term. */
static ebm_status alloc_icd(ebm_trainer *t) {
  const size_t big = (size_t)(t->cfg.batch * t->item);
  const int classes = t->y_neg ? ebm_net_num_classes(t->net) : 0;
  t->icd_grad = ebm_alloc(big, sizeof(float));
  t->icd_v = ebm_alloc(big, sizeof(float));
  t->icd_u = ebm_alloc(big, sizeof(float));
  t->icd_x = ebm_alloc(big, sizeof(float));
  int ok = t->icd_grad && t->icd_v && t->icd_u && t->icd_x;
  if (ok && t->cfg.entropy_weight > 0) {
    t->icd_n_refs = t->cfg.buffer_size < TRAIN_ENTROPY_REFS ? t->cfg.buffer_size : TRAIN_ENTROPY_REFS;
    t->icd_refs = ebm_alloc((size_t)(t->icd_n_refs * t->item), sizeof(float));
    ok = t->icd_refs != NULL;
    if (ok && classes > 0) { /* the references come from every class's store in turn */
      t->icd_ref_labels = ebm_alloc((size_t)t->icd_n_refs, sizeof(int32_t));
      ok = t->icd_ref_labels != NULL;
      for (int64_t j = 0; ok && j < t->icd_n_refs; j++) t->icd_ref_labels[j] = (int32_t)(j % classes);
    }
  }
  return ok ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory for the improved-CD terms");
}


static ebm_status mcmc_init(ebm_trainer *t, void **state) {
  *state = NULL;
  ebm_status st = train_mcmc_check_data(t);
  if (st != EBM_OK) return st;
  if (t->cfg.kl_weight > 0 || t->cfg.entropy_weight > 0) return alloc_icd(t);
  return EBM_OK;
}

/* x⁺ ← clamp(batch + σ·N(0, 1)), the noise drawn into x⁻ (still free),
 * each local slice's from its own stream (slices.h; every rank takes the
 * whole batch from the batcher, so all agree on it). */
void train_make_positives(ebm_trainer *t) {
  const int64_t m = t->sl.size * t->item; /* a slice's floats */
  const float lo = t->cfg.range_lo, hi = t->cfg.range_hi;
  train_next_data(t);
  if (t->y_pos) memcpy(t->y_pos, t->y_data, (size_t)t->cfg.batch * sizeof(int32_t));
  for (int64_t s = t->sl.first; t->cfg.pos_noise > 0 && s < t->sl.end; s++) {
    float *x = t->x_pos + s * m, *noise = t->x_neg + s * m;
    ebm_rng_normal(train_slice_rng(t, s), noise, m, 0.0f, t->cfg.pos_noise);
    for (int64_t k = 0; k < m; k++) {
      float v = x[k] + noise[k];
      x[k] = v < lo ? lo : (v > hi ? hi : v);
    }
  }
}

/* Slice s's x⁻ before MCMC: buffer draws (pcd), fresh starts (short-run:
 * uniform noise or the --init Gaussian) or x⁺ (cd); with augment, the draws that restart a stored chain are
 * transformed (fresh noise is left as it is). */
static ebm_status init_negatives(ebm_trainer *t, int64_t s) {
  const int64_t B = t->sl.size, first = s * B;
  float *x_neg = t->x_neg + first * t->item;
  int32_t *y_neg = t->y_neg ? t->y_neg + first : NULL;
  int64_t *slots = t->slots + first;
  ebm_rng *rng = train_slice_rng(t, s);
  if (y_neg) memcpy(y_neg, t->y_pos + first, (size_t)B * sizeof(int32_t));
  switch (t->cfg.method) {
    case EBM_TRAIN_PCD: {
      ebm_status st = ebm_replay_get(train_slice_replay(t, s), x_neg, y_neg, B, t->cfg.reinit, rng, slots);
      for (int64_t i = 0; st == EBM_OK && t->cfg.augment && i < B; i++)
        if (slots[i] >= 0)
          ebm_augment_item(x_neg + i * t->item, ebm_net_item_ndim(t->net), ebm_net_item_shape(t->net),
                           t->cfg.augment, t->cfg.range_lo, t->cfg.range_hi, rng, t->aug_tmp);
      return st;
    }
    case EBM_TRAIN_SHORT_RUN:
      if (t->class_starts) /* each chain from its class's start */
        return ebm_chain_start_draw_classes(t->class_starts, t->n_class_starts, y_neg, rng, B, t->item,
                                            t->cfg.range_lo, t->cfg.range_hi, x_neg);
      return ebm_chain_start_draw(t->start, rng, B, t->item, t->cfg.range_lo, t->cfg.range_hi, x_neg);
    case EBM_TRAIN_CD:
      memcpy(x_neg, t->x_pos + first * t->item, (size_t)(B * t->item) * sizeof(float));
      return EBM_OK;
    default: return ebm_set_error(EBM_ERR_INTERNAL, "trainer: method %s is not an MCMC method", t->method->name);
  }
}

/* Adds the gradient of the improved-CD terms (icd.c) of items
 * [first, first + n) (a slice) to the parameter gradients: dL/dx⁻ from the
 * energies and ∇ₓE at x⁻, carried through the sampler's last step (that
 * slice's run). */
static ebm_status icd_gradient(ebm_trainer *t, int64_t first, int64_t n, train_icd_values *values) {
  const ebm_train_config *c = &t->cfg;
  const float width = c->range_hi - c->range_lo;
  const float *x_neg = t->x_neg + first * t->item;
  const ebm_cond cond_neg = ebm_cond_slice(&t->cond_neg, first);
  ebm_last_step ls;
  ebm_status st = ebm_sampler_last_step(t->sampler, &ls);
  if (st != EBM_OK) return st;
  train_icd_terms(x_neg, t->e_neg + first, t->icd_grad + first * t->item, n, c->batch, t->item, c->kl_weight,
                  c->entropy_weight, t->icd_refs, t->icd_n_refs, TRAIN_ENTROPY_DELTA * width, values, t->icd_v);
  return train_backprop_last_step(t->net, &cond_neg, &ls, x_neg, t->icd_v, t->item, TRAIN_ICD_FD_STEP * width,
                                  t->icd_u, t->icd_x, t->de_neg, t->e_tmp);
}

/* Slice s's part of a step: its negatives (MCMC from its init, back into
 * its store), then the contrastive passes on its items (contrastive.c).
 * Improved CD adds its terms on the slice's chains (references from the
 * slice's store); the slice's gradient and terms are kept for the ordered
 * sums over slices (slices.h). */
static ebm_status slice_step(ebm_trainer *t, int64_t s, int64_t step, train_icd_values *icd) {
  const int64_t n = t->sl.size, first = s * n;
  float *x_neg = t->x_neg + first * t->item;
  const ebm_cond cond_neg = ebm_cond_slice(&t->cond_neg, first);
  ebm_replay *replay = train_slice_replay(t, s);
  ebm_rng *rng = train_slice_rng(t, s);
  ebm_status st;
  if ((st = init_negatives(t, s)) != EBM_OK) return st;
  st = ebm_sampler_run(t->sampler, x_neg, &cond_neg, n, rng, t->mcmc, NULL);
  if (st != EBM_OK) return train_divergence(st, step, "the sampler's energy is not finite");
  t->has_negatives = 1;
  train_slices_keep_mcmc(t, s);
  /* the entropy term's references: stored items, drawn before this batch goes back */
  if (t->icd_n_refs > 0 &&
      (st = ebm_replay_get(replay, t->icd_refs, t->icd_ref_labels, t->icd_n_refs, 0.0f, rng, NULL)) != EBM_OK)
    return st;
  if (replay && (st = ebm_replay_put(replay, x_neg, cond_neg.labels, n, t->slots + first, rng)) != EBM_OK)
    return st;
  float *neg_grad = t->icd_grad ? t->icd_grad + first * t->item : NULL;
  if ((st = train_contrastive_passes(t, first, n, step, neg_grad)) != EBM_OK) return st;
  if (t->icd_grad) {
    if ((st = icd_gradient(t, first, n, icd)) != EBM_OK)
      return train_divergence(st, step, "the KL + entropy terms are not finite");
    if ((st = train_check_finite(icd->kl + icd->entropy, 0, step, "the KL + entropy terms")) != EBM_OK) return st;
    train_slices_keep_icd(t, s, icd->kl, icd->entropy);
  }
  train_slices_keep_grads(t, s);
  return EBM_OK;
}

ebm_status train_mcmc_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  (void)state;
  const ebm_train_config *c = &t->cfg;
  const int64_t step = t->step + 1;
  ebm_status st = EBM_OK;

  train_make_positives(t);
  ebm_net_spectral_update(t->net, c->spectral_iters);
  /* Every local slice's part; then every rank has every energy, checks
   * them (parameters change only at the Adam step, after every check) and
   * sums the slices' gradients in slice order. */
  train_icd_values icd = {0, 0};
  for (int64_t s = t->sl.first; st == EBM_OK && s < t->sl.end; s++) st = slice_step(t, s, step, &icd);
  if ((st = ebm_dist_agree(t->sl.dist, st)) != EBM_OK || (st = train_slices_gather_energies(t)) != EBM_OK)
    return st;
  double e_pos, e_neg, loss;
  if ((st = train_contrastive_check(t, step, &e_pos, &e_neg, &loss)) != EBM_OK ||
      (st = train_slices_reduce_grads(t)) != EBM_OK || (st = train_slices_sum_icd(t, &icd.kl, &icd.entropy)) != EBM_OK)
    return st;
  double gnorm = 0;
  if ((st = train_adam_step(t->adam, ebm_train_lr(c, t->step), step, "grad_norm", &gnorm)) != EBM_OK) return st;

  stats->loss = loss;
  stats->e_pos = e_pos;
  stats->e_neg = e_neg;
  stats->grad_norm = gnorm;
  stats->kl = icd.kl;
  stats->entropy = icd.entropy;
  train_mcmc_stats(t, stats);
  return EBM_OK;
}

void train_mcmc_stats(const ebm_trainer *t, ebm_train_stats *stats) {
  const int K = t->cfg.sampler.steps;
  if (K <= 0) return;
  double acc = 0;
  for (int k = 0; k < K; k++) acc += t->mcmc[k].accept_rate;
  stats->mcmc_energy = t->mcmc[K - 1].mean_energy;
  stats->mcmc_grad_norm = t->mcmc[K - 1].grad_norm;
  stats->mcmc_accept = acc / K;
}

/* The three rows of the method table (methods.c). */
#define MCMC_NEEDS (TRAIN_NEEDS_SAMPLER | TRAIN_ENERGY_NET | TRAIN_SLICED)
const train_method train_method_pcd = {
    .name = "pcd",
    .summary = "persistent chains from a replay buffer (5% fresh noise), K MCMC steps (IGEBM)",
    .needs = MCMC_NEEDS | TRAIN_NEEDS_REPLAY,
    .init = mcmc_init,
    .step = train_mcmc_step,
};
const train_method train_method_short_run = {
    .name = "short-run",
    .summary = "every chain from uniform noise, K steps, no buffer (Nijkamp et al. 2019)",
    .needs = MCMC_NEEDS,
    .init = mcmc_init,
    .step = train_mcmc_step,
};
const train_method train_method_cd = {
    .name = "cd",
    .summary = "chains start at the data batch, K steps (CD-k, Hinton 2002)",
    .needs = MCMC_NEEDS,
    .init = mcmc_init,
    .step = train_mcmc_step,
};
