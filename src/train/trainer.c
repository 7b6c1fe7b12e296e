/* The training step of DESIGN §4 (Du & Mordatch A.11; bench/torch_reference.py's loop):
 * positives with a little noise, MCMC negatives (persistent, short-run or
 * CD-k), the contrastive loss with the α·E² regulariser, one Adam step.
 * Gradients flow only through the final energies: the negatives are
 * constants of the loss, so dL/dθ = Σ_i dL/dE⁺ᵢ ∇θE⁺ᵢ + Σ_i dL/dE⁻ᵢ ∇θE⁻ᵢ,
 * two ebm_net_backward_params calls with de = dL/dE per item. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

/* ------------------------------------------------------------------ loss */

double ebm_train_loss(const float *e_pos, const float *e_neg, int64_t n, float alpha) {
  double sp = 0, sn = 0, qp = 0, qn = 0;
  for (int64_t i = 0; i < n; i++) {
    sp += e_pos[i];
    sn += e_neg[i];
    qp += (double)e_pos[i] * e_pos[i];
    qn += (double)e_neg[i] * e_neg[i];
  }
  return (sp - sn) / (double)n + alpha * (qp + qn) / (double)n;
}

void ebm_train_loss_grad(const float *e_pos, const float *e_neg, int64_t n, float alpha,
                         float *de_pos, float *de_neg) {
  const double inv_n = 1.0 / (double)n;
  for (int64_t i = 0; i < n; i++) {
    de_pos[i] = (float)((1.0 + 2.0 * alpha * e_pos[i]) * inv_n);
    de_neg[i] = (float)((-1.0 + 2.0 * alpha * e_neg[i]) * inv_n);
  }
}

/* --------------------------------------------------------------- trainer */

void ebm_trainer_free(ebm_trainer *t) {
  if (!t) return;
  ebm_sampler_free(t->sampler);
  ebm_energy_free(t->energy);
  ebm_replay_free(t->replay);
  ebm_batcher_free(t->batcher);
  ebm_adam_free(t->adam);
  ebm_free(t->x_pos);
  ebm_free(t->x_neg);
  ebm_free(t->y_pos);
  ebm_free(t->y_neg);
  ebm_free(t->y_data);
  ebm_free(t->slots);
  ebm_free(t->e_pos);
  ebm_free(t->e_neg);
  ebm_free(t->de_pos);
  ebm_free(t->de_neg);
  ebm_free(t->e_tmp);
  ebm_free(t->mcmc);
  ebm_free(t->aug_tmp);
  ebm_free(t->icd_grad);
  ebm_free(t->icd_v);
  ebm_free(t->icd_u);
  ebm_free(t->icd_x);
  ebm_free(t->icd_refs);
  ebm_free(t->icd_ref_labels);
  train_slices_free(&t->sl);
  free(t);
}

/* The data must look like the network's input, and labels must fit. */
static ebm_status check_data(const ebm_net *net, const ebm_dataset *ds, const ebm_train_config *cfg) {
  char want[64], got[64];
  const int nd = ebm_net_item_ndim(net);
  const int64_t *shape = ebm_net_item_shape(net);
  ebm_shape_str(nd, shape, want, sizeof want);
  ebm_shape_str(ds->x->ndim - 1, ds->x->shape + 1, got, sizeof got);
  if (ds->x->ndim != nd + 1 || memcmp(ds->x->shape + 1, shape, (size_t)nd * sizeof *shape) != 0)
    return ebm_set_error(EBM_ERR_SHAPE, "%s has items %s, the network takes %s", ds->spec, got, want);
  ebm_status st = ebm_augment_check(cfg->augment, nd);
  if (st != EBM_OK) return st;
  if (ebm_net_max_batch(net) < cfg->batch)
    return ebm_set_error(EBM_ERR_ARG, "the network was built for batches of %lld, training uses %lld",
                         (long long)ebm_net_max_batch(net), (long long)cfg->batch);
  const int classes = ebm_net_num_classes(net);
  if (cfg->conditional) {
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

/* The buffer starts full of uniform noise, as bench/torch_reference.py's
 * `buf = torch.rand(buffer, ...) * 2 - 1`: a draw from it is then a fresh
 * chain with probability (slots never drawn) / (slots), so early training
 * sees many fresh chains, not the few first ones run over and over. With
 * classes, every class's store is filled; with slices, each local slice's
 * store from its own stream. */
static ebm_status fill_replay(ebm_trainer *t) {
  const int64_t B = t->cfg.batch, classes = t->y_neg ? ebm_net_num_classes(t->net) : 0;
  const int64_t per_store = t->cfg.buffer_size / t->sl.count / (classes > 0 ? classes : 1);
  for (int64_t s = t->sl.first; s < t->sl.end; s++) {
    ebm_rng *rng = train_slice_rng(t, s);
    for (int64_t c = 0; c < (classes > 0 ? classes : 1); c++)
      for (int64_t done = 0; done < per_store; done += B) {
        int64_t m = per_store - done < B ? per_store - done : B;
        ebm_rng_uniform(rng, t->x_neg, m * t->item, t->cfg.range_lo, t->cfg.range_hi);
        for (int64_t i = 0; t->y_neg && i < m; i++) t->y_neg[i] = (int32_t)c;
        ebm_status st = ebm_replay_put(train_slice_replay(t, s), t->x_neg, t->y_neg, m, NULL, rng);
        if (st != EBM_OK) return st;
      }
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

ebm_status ebm_trainer_new(ebm_net *net, const ebm_dataset *ds, const ebm_train_config *cfg,
                           ebm_trainer **out) {
  return ebm_trainer_new_dist(net, ds, cfg, NULL, out);
}

ebm_status ebm_trainer_new_dist(ebm_net *net, const ebm_dataset *ds, const ebm_train_config *cfg, ebm_dist *dist,
                                ebm_trainer **out) {
  *out = NULL;
  ebm_status st = ebm_train_config_check(cfg);
  if (st != EBM_OK) return st;
  if ((st = check_data(net, ds, cfg)) != EBM_OK) return st;
  ebm_trainer *t = calloc(1, sizeof *t);
  if (!t) return ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a trainer");
  t->cfg = *cfg;
  t->net = net;
  t->ds = ds;
  t->item = ebm_tensor_row_size(ds->x);
  const int64_t B = cfg->batch, D = t->item;
  const int classes = cfg->conditional ? ebm_net_num_classes(net) : 0;
  /* Every stream is a split of the seed: 0 initialises the network (run.c),
   * 1 drives training, the batcher gets its own seed from stream 2. */
  ebm_rng root;
  ebm_rng_init(&root, cfg->seed);
  t->rng = ebm_rng_split(&root, 1);
  ebm_rng bseed = ebm_rng_split(&root, 2);
  uint64_t batcher_seed = ((uint64_t)ebm_rng_u32(&bseed) << 32) | ebm_rng_u32(&bseed);

  if (!(t->energy = ebm_net_as_energy(net))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for the network's energy view");
    goto fail;
  }
  /* Samplers clamp to the training range (the images' [0, 1], the toys' box). */
  t->energy->range_lo = cfg->range_lo;
  t->energy->range_hi = cfg->range_hi;
  if ((st = ebm_sampler_new(t->energy, &cfg->sampler, B, &t->sampler)) != EBM_OK) goto fail;
  if (cfg->method == EBM_TRAIN_PCD && cfg->slices <= 1 &&
      (st = ebm_replay_new(cfg->buffer_size, ebm_net_item_ndim(net), ebm_net_item_shape(net), classes,
                           cfg->range_lo, cfg->range_hi, &t->replay)) != EBM_OK)
    goto fail;
  if (t->replay && (st = ebm_replay_set_policy(t->replay, cfg->buffer_policy)) != EBM_OK) goto fail;
  if ((st = ebm_batcher_new(ds, B, batcher_seed, &t->batcher)) != EBM_OK) goto fail;
  if ((st = ebm_adam_new(net, &cfg->adam, &t->adam)) != EBM_OK) goto fail;
  t->x_pos = ebm_alloc((size_t)(B * D), sizeof(float));
  t->x_neg = ebm_alloc((size_t)(B * D), sizeof(float));
  t->y_data = ebm_alloc((size_t)B, sizeof(int32_t));
  t->slots = ebm_alloc((size_t)B, sizeof(int64_t));
  t->e_pos = ebm_alloc((size_t)B, sizeof(float));
  t->e_neg = ebm_alloc((size_t)B, sizeof(float));
  t->de_pos = ebm_alloc((size_t)B, sizeof(float));
  t->de_neg = ebm_alloc((size_t)B, sizeof(float));
  t->e_tmp = ebm_alloc((size_t)B, sizeof(float));
  t->mcmc = ebm_alloc((size_t)(cfg->sampler.steps > 0 ? cfg->sampler.steps : 1), sizeof(ebm_sample_stats));
  t->aug_tmp = ebm_alloc((size_t)D, sizeof(float));
  if (classes > 0) {
    t->y_pos = ebm_alloc((size_t)B, sizeof(int32_t));
    t->y_neg = ebm_alloc((size_t)B, sizeof(int32_t));
    t->cond_pos = ebm_cond_labels(t->y_pos);
    t->cond_neg = ebm_cond_labels(t->y_neg);
  }
  if (!t->x_pos || !t->x_neg || !t->y_data || !t->slots || !t->e_pos || !t->e_neg || !t->de_pos ||
      !t->de_neg || !t->e_tmp || !t->mcmc || !t->aug_tmp || (classes > 0 && (!t->y_pos || !t->y_neg))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for a training batch of %lld", (long long)B);
    goto fail;
  }
  if ((cfg->kl_weight > 0 || cfg->entropy_weight > 0) && (st = alloc_icd(t)) != EBM_OK) goto fail;
  if ((st = train_slices_init(t, dist)) != EBM_OK) goto fail;
  if (cfg->method == EBM_TRAIN_PCD && (st = fill_replay(t)) != EBM_OK) goto fail;
  *out = t;
  return EBM_OK;
fail:
  ebm_trainer_free(t);
  return st;
}

int64_t ebm_trainer_step_count(const ebm_trainer *t) { return t->step; }

const float *ebm_trainer_negatives(const ebm_trainer *t, const int32_t **y, int64_t *n) {
  const int64_t first = t->sl.first * t->sl.size; /* this rank's slices only */
  if (y) *y = t->has_negatives && t->y_neg ? t->y_neg + first : NULL;
  if (n) *n = t->has_negatives ? (t->sl.end - t->sl.first) * t->sl.size : 0;
  return t->has_negatives ? t->x_neg + first * t->item : NULL;
}

const ebm_replay *ebm_trainer_replay(const ebm_trainer *t) { return t->replay; }

/* "NaN", "inf" or the value beyond the bound: why a quantity is unusable,
 * or NULL when it is fine. */
static const char *bad_value(double v, double bound, char *buf, size_t size) {
  if (isnan(v)) return "NaN";
  if (isinf(v)) return v > 0 ? "+inf" : "-inf";
  if (bound > 0 && fabs(v) > bound) {
    snprintf(buf, size, "%.4g, beyond max_energy %.4g", v, bound);
    return buf;
  }
  return NULL;
}

/* A pass that met NaN or Inf (EBM_ERR_NUMERIC: the network names the first
 * layer that produced it) is a divergence at this step; other errors pass. */
static ebm_status as_divergence(ebm_status st, int64_t step, const char *what) {
  if (st != EBM_ERR_NUMERIC) return st;
  char detail[256];
  snprintf(detail, sizeof detail, "%s", ebm_last_error());
  return ebm_set_error(EBM_ERR_NUMERIC, "diverged at step %lld: %s (%s)", (long long)step, what, detail);
}

static double mean_of(const float *v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += v[i];
  return s / (double)n;
}

/* x⁺ ← clamp(batch + σ·N(0, 1)), the noise drawn into x⁻ (still free),
 * each local slice's from its own stream (every rank takes the whole
 * batch from the batcher, so all agree on it). */
static void make_positives(ebm_trainer *t) {
  const int64_t m = t->sl.size * t->item; /* a slice's floats */
  const float lo = t->cfg.range_lo, hi = t->cfg.range_hi;
  ebm_batcher_next(t->batcher, t->x_pos, t->y_data);
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

/* Slice s's x⁻ before MCMC: buffer draws (pcd), uniform noise (short-run)
 * or x⁺ (cd); with augment, the draws that restart a stored chain are
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
      ebm_rng_uniform(rng, x_neg, B * t->item, t->cfg.range_lo, t->cfg.range_hi);
      return EBM_OK;
    case EBM_TRAIN_CD:
      memcpy(x_neg, t->x_pos + first * t->item, (size_t)(B * t->item) * sizeof(float));
      return EBM_OK;
    default: return ebm_set_error(EBM_ERR_INTERNAL, "trainer: bad method %d", (int)t->cfg.method);
  }
}

/* Adds the gradient of the improved-CD terms (icd.c) to the parameter
 * gradients: dL/dx⁻ from the energies and ∇ₓE at x⁻, carried through the
 * sampler's last step. */
static ebm_status icd_gradient(ebm_trainer *t, train_icd_values *values) {
  const ebm_train_config *c = &t->cfg;
  const float width = c->range_hi - c->range_lo;
  ebm_last_step ls;
  ebm_status st = ebm_sampler_last_step(t->sampler, &ls);
  if (st != EBM_OK) return st;
  train_icd_terms(t->x_neg, t->e_neg, t->icd_grad, c->batch, t->item, c->kl_weight, c->entropy_weight,
                  t->icd_refs, t->icd_n_refs, TRAIN_ENTROPY_DELTA * width, values, t->icd_v);
  return train_backprop_last_step(t->net, &t->cond_neg, &ls, t->x_neg, t->icd_v, t->item,
                                  TRAIN_ICD_FD_STEP * width, t->icd_u, t->icd_x, t->de_neg, t->e_tmp);
}

/* Slice s's negatives (MCMC from its init, back into its store) and the
 * energies of its positives and negatives: the energies first (dL/dE needs
 * them); improved CD needs ∇ₓE at the negatives too. */
static ebm_status slice_energies(ebm_trainer *t, int64_t s, int64_t step) {
  const int64_t n = t->sl.size, first = s * n;
  float *x_pos = t->x_pos + first * t->item, *x_neg = t->x_neg + first * t->item;
  const ebm_cond cond_pos = ebm_cond_slice(&t->cond_pos, first), cond_neg = ebm_cond_slice(&t->cond_neg, first);
  ebm_replay *replay = train_slice_replay(t, s);
  ebm_rng *rng = train_slice_rng(t, s);
  ebm_status st;
  if ((st = init_negatives(t, s)) != EBM_OK) return st;
  st = ebm_sampler_run(t->sampler, x_neg, &cond_neg, n, rng, t->mcmc, NULL);
  if (st != EBM_OK) return as_divergence(st, step, "the sampler's energy is not finite");
  t->has_negatives = 1;
  train_slices_keep_mcmc(t, s);
  /* the entropy term's references: stored items, drawn before this batch goes back */
  if (t->icd_n_refs > 0 &&
      (st = ebm_replay_get(replay, t->icd_refs, t->icd_ref_labels, t->icd_n_refs, 0.0f, rng, NULL)) != EBM_OK)
    return st;
  if (replay && (st = ebm_replay_put(replay, x_neg, cond_neg.labels, n, t->slots + first, rng)) != EBM_OK)
    return st;
  if ((st = ebm_net_energy(t->net, x_pos, &cond_pos, n, t->e_pos + first)) != EBM_OK)
    return as_divergence(st, step, "e_pos is not finite");
  st = t->icd_grad ? ebm_net_grad_input(t->net, x_neg, &cond_neg, n, t->e_neg + first, t->icd_grad)
                   : ebm_net_energy(t->net, x_neg, &cond_neg, n, t->e_neg + first);
  return st == EBM_OK ? EBM_OK : as_divergence(st, step, "e_neg is not finite");
}

/* Slice s's parameter gradient (the two passes, and the improved-CD terms,
 * which run unsliced), kept for the ordered sum over slices. */
static ebm_status slice_gradients(ebm_trainer *t, int64_t s, int64_t step, train_icd_values *icd) {
  const int64_t n = t->sl.size, first = s * n;
  const ebm_cond cond_pos = ebm_cond_slice(&t->cond_pos, first), cond_neg = ebm_cond_slice(&t->cond_neg, first);
  char why[96];
  const char *bad;
  ebm_status st;
  ebm_net_zero_grad(t->net);
  if ((st = ebm_net_backward_params(t->net, t->x_pos + first * t->item, &cond_pos, n, t->de_pos + first,
                                    t->e_tmp)) != EBM_OK)
    return as_divergence(st, step, "e_pos is not finite");
  if ((st = ebm_net_backward_params(t->net, t->x_neg + first * t->item, &cond_neg, n, t->de_neg + first,
                                    t->e_tmp)) != EBM_OK)
    return as_divergence(st, step, "e_neg is not finite");
  if (t->icd_grad) {
    if ((st = icd_gradient(t, icd)) != EBM_OK) return as_divergence(st, step, "the KL + entropy terms are not finite");
    if ((bad = bad_value(icd->kl + icd->entropy, 0, why, sizeof why)))
      return ebm_set_error(EBM_ERR_NUMERIC, "diverged at step %lld: the KL + entropy terms are %s",
                           (long long)step, bad);
  }
  train_slices_keep_grads(t, s);
  return EBM_OK;
}

ebm_status ebm_trainer_step(ebm_trainer *t, ebm_train_stats *stats) {
  const double t0 = ebm_now_seconds();
  const ebm_train_config *c = &t->cfg;
  const int64_t B = c->batch, step = t->step + 1;
  const float lr = ebm_train_lr(c, t->step);
  ebm_status st;
  char why[96];
  const char *bad;

  make_positives(t);
  ebm_net_spectral_update(t->net, c->spectral_iters);
  /* every local slice's negatives and energies; then every rank has all */
  st = EBM_OK;
  for (int64_t s = t->sl.first; st == EBM_OK && s < t->sl.end; s++) st = slice_energies(t, s, step);
  if ((st = ebm_dist_agree(t->sl.dist, st)) != EBM_OK || (st = train_slices_gather_energies(t)) != EBM_OK)
    return st;
  if (c->inject_nan_at == step) t->e_neg[0] = NAN; /* the divergence test hook */
  const double e_pos = mean_of(t->e_pos, B), e_neg = mean_of(t->e_neg, B);
  const double loss = ebm_train_loss(t->e_pos, t->e_neg, B, c->alpha);
  if ((bad = bad_value(e_pos, c->max_energy, why, sizeof why)))
    return ebm_set_error(EBM_ERR_NUMERIC, "diverged at step %lld: e_pos is %s", (long long)step, bad);
  if ((bad = bad_value(e_neg, c->max_energy, why, sizeof why)))
    return ebm_set_error(EBM_ERR_NUMERIC, "diverged at step %lld: e_neg is %s", (long long)step, bad);
  if ((bad = bad_value(loss, 0, why, sizeof why)))
    return ebm_set_error(EBM_ERR_NUMERIC, "diverged at step %lld: loss is %s", (long long)step, bad);
  ebm_train_loss_grad(t->e_pos, t->e_neg, B, c->alpha, t->de_pos, t->de_neg);
  /* every local slice's parameter gradients, summed over all in slice order */
  train_icd_values icd = {0, 0};
  for (int64_t s = t->sl.first; st == EBM_OK && s < t->sl.end; s++) st = slice_gradients(t, s, step, &icd);
  if ((st = ebm_dist_agree(t->sl.dist, st)) != EBM_OK || (st = train_slices_reduce_grads(t)) != EBM_OK)
    return st;
  double gnorm = 0;
  st = ebm_adam_step(t->adam, lr, &gnorm);
  if (st == EBM_ERR_NUMERIC)
    return ebm_set_error(EBM_ERR_NUMERIC, "diverged at step %lld: grad_norm is %s", (long long)step,
                         isnan(gnorm) ? "NaN" : "inf");
  if (st != EBM_OK) return st;
  t->step = step;

  if (stats) {
    memset(stats, 0, sizeof *stats);
    stats->step = step;
    stats->loss = loss;
    stats->e_pos = e_pos;
    stats->e_neg = e_neg;
    stats->grad_norm = gnorm;
    stats->lr = lr;
    stats->kl = icd.kl;
    stats->entropy = icd.entropy;
    const int K = c->sampler.steps;
    if (K > 0) {
      double acc = 0;
      for (int k = 0; k < K; k++) acc += t->mcmc[k].accept_rate;
      stats->mcmc_energy = t->mcmc[K - 1].mean_energy;
      stats->mcmc_grad_norm = t->mcmc[K - 1].grad_norm;
      stats->mcmc_accept = acc / K;
    }
    stats->seconds = ebm_now_seconds() - t0;
  }
  return EBM_OK;
}
