/* The shared trainer (method.h): the parts every estimator uses — the
 * network, the batcher, Adam, the training RNG, a sampler and a replay
 * buffer when the method needs them, batch-sized work arrays — and the
 * step wrapper that times the method's step and counts it. The MCMC
 * methods' step itself is in method_mcmc.c; the contrastive loss below is
 * theirs too, kept here as the public ebm_train_loss. */
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

void train_loss_grad_part(const float *e, int64_t n, int64_t batch, float alpha, double sign, float *de) {
  const double inv_batch = 1.0 / (double)batch;
  for (int64_t i = 0; i < n; i++) de[i] = (float)((sign + 2.0 * alpha * e[i]) * inv_batch);
}

void ebm_train_loss_grad(const float *e_pos, const float *e_neg, int64_t n, float alpha,
                         float *de_pos, float *de_neg) {
  train_loss_grad_part(e_pos, n, n, alpha, 1.0, de_pos);
  train_loss_grad_part(e_neg, n, n, alpha, -1.0, de_neg);
}

/* --------------------------------------------------------------- trainer */

void ebm_trainer_free(ebm_trainer *t) {
  if (!t) return;
  if (t->method && t->method->free) t->method->free(t->method_state);
  ebm_sampler_free(t->sampler);
  ebm_energy_free(t->energy);
  ebm_replay_free(t->replay);
  ebm_energy_free(t->start);
  train_free_class_starts(t->class_starts, t->n_class_starts);
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

/* The data must look like the network's input, the batch fit it. */
static ebm_status check_data(const ebm_net *net, const ebm_dataset *ds, const ebm_train_config *cfg) {
  char want[64], got[64];
  const int nd = ebm_net_item_ndim(net);
  const int64_t *shape = ebm_net_item_shape(net);
  ebm_shape_str(nd, shape, want, sizeof want);
  ebm_shape_str(ds->x->ndim - 1, ds->x->shape + 1, got, sizeof got);
  if (ds->x->ndim != nd + 1 || memcmp(ds->x->shape + 1, shape, (size_t)nd * sizeof *shape) != 0)
    return ebm_set_error(EBM_ERR_SHAPE, "%s has items %s, the network takes %s", ds->spec, got, want);
  ebm_status st = ebm_augment_check(cfg->augment, nd);
  if (st == EBM_OK) st = ebm_augment_check(cfg->data_augment, nd);
  if (st != EBM_OK) return st;
  if (ebm_net_max_batch(net) < cfg->batch)
    return ebm_set_error(EBM_ERR_ARG, "the network was built for batches of %lld, training uses %lld",
                         (long long)ebm_net_max_batch(net), (long long)cfg->batch);
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
        const ebm_energy *start = t->class_starts && t->class_starts[c] ? t->class_starts[c] : t->start;
        ebm_status st = ebm_chain_start_draw(start, rng, m, t->item, t->cfg.range_lo, t->cfg.range_hi, t->x_neg);
        for (int64_t i = 0; t->y_neg && i < m; i++) t->y_neg[i] = (int32_t)c;
        if (st == EBM_OK) st = ebm_replay_put(train_slice_replay(t, s), t->x_neg, t->y_neg, m, NULL, rng);
        if (st != EBM_OK) return st;
      }
  }
  return EBM_OK;
}

void train_free_class_starts(ebm_energy **starts, int n) {
  for (int c = 0; starts && c < n; c++) ebm_energy_free(starts[c]);
  free(starts);
}

/* A conditional run's starts: one per class of the data, each fitted to
 * that class's items only (ebm_chain_start_fit_classes), so that a chain
 * asked for class c starts near class c's items; the network's classes
 * beyond the data's get none. */
static ebm_status fit_class_starts(ebm_trainer *t, int components, ebm_energy ***out) {
  const ebm_dataset *ds = t->batch_data;
  const int classes = ebm_net_num_classes(t->net), have = ds->num_classes < classes ? ds->num_classes : classes;
  ebm_energy **starts = calloc((size_t)classes, sizeof *starts);
  if (!starts) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %d chain starts", classes);
  ebm_status st = ebm_chain_start_fit_classes(ds->x->data, ds->labels, ds->x->shape[0], t->item, have, components,
                                              starts);
  if (st != EBM_OK) {
    free(starts);
    return st;
  }
  *out = starts;
  return EBM_OK;
}

/* A replay store's fresh items: the trainer's start, or its class's. */
static ebm_status give_starts(const ebm_trainer *t, ebm_replay *rb) {
  ebm_status st = ebm_replay_set_start(rb, t->start);
  return st == EBM_OK ? ebm_replay_set_class_starts(rb, t->class_starts, t->n_class_starts) : st;
}

/* Fits the fresh chains' Gaussian to the data the batches come from, as
 * ebm_chain_start_open does for the checkpoint's recorded start (the same
 * data gives the same Gaussian, so a resumed run refits it exactly), and
 * hands it to every replay store; a conditional run fits one per class. */
static ebm_status set_chain_start(ebm_trainer *t) {
  if (t->cfg.chain_start == EBM_START_UNIFORM) return EBM_OK;
  const ebm_dataset *ds = t->batch_data;
  ebm_energy *fitted = NULL, **per_class = NULL;
  const int mixture = t->cfg.chain_start == EBM_START_MIXTURE, components = mixture ? t->cfg.start_components : 0;
  ebm_status st;
  if (t->cfg.chain_start == EBM_START_ITEMS) { /* a file's items, the same for every class */
    char text[EBM_CHAIN_START_TEXT_MAX];
    snprintf(text, sizeof text, "%s%s", EBM_CHAIN_START_ITEMS, t->cfg.start_items);
    if ((st = ebm_chain_start_open(text, t->cfg.range_lo, t->cfg.range_hi, t->item, &fitted)) != EBM_OK)
      return ebm_error_prefix(st, "init");
  } else
    st = t->y_neg && !t->cfg.shared_start ? fit_class_starts(t, components, &per_class)
                 : ebm_chain_start_fit(ds->x->data, ds->x->shape[0], t->item, components, &fitted);
  if (st != EBM_OK) {
    char what[320];
    snprintf(what, sizeof what, "init %s%s fitted to %s", t->y_neg ? "per-class " : "", mixture ? "mixture" : "gaussian",
             ds->spec);
    return ebm_error_prefix(st, what);
  }
  ebm_energy_free(t->start);
  train_free_class_starts(t->class_starts, t->n_class_starts);
  t->start = fitted;
  t->class_starts = per_class;
  t->n_class_starts = per_class ? ebm_net_num_classes(t->net) : 0;
  if (t->replay) st = give_starts(t, t->replay);
  for (int64_t s = 0; st == EBM_OK && t->sl.count > 1 && s < t->sl.count; s++)
    if (t->sl.replay[s]) st = give_starts(t, t->sl.replay[s]);
  return st;
}

/* The batcher's seed: stream 2 of method.h. */
static uint64_t batcher_seed(const ebm_train_config *cfg) {
  ebm_rng r = train_method_rng(cfg, 2);
  return ((uint64_t)ebm_rng_u32(&r) << 32) | ebm_rng_u32(&r);
}

ebm_status train_use_data(ebm_trainer *t, const ebm_dataset *ds) {
  ebm_batcher *b = NULL;
  ebm_status st = ebm_batcher_new(ds, t->cfg.batch, batcher_seed(&t->cfg), &b);
  if (st != EBM_OK) return st;
  ebm_batcher_free(t->batcher);
  t->batcher = b;
  t->batch_data = ds;
  return t->start || t->class_starts ? set_chain_start(t) : EBM_OK; /* a switch after the trainer's own fit refits */
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
  const train_method *method = train_method_at((int)cfg->method);
  if (!net != !!(method->needs & TRAIN_OWN_MODEL)) /* a method of its own model checks the data in init */
    return ebm_set_error(EBM_ERR_ARG, "method %s %s", method->name,
                         net ? "trains a model of its own, not a given network" : "needs a network");
  if (net && (st = check_data(net, ds, cfg)) != EBM_OK) return st;
  ebm_trainer *t = calloc(1, sizeof *t);
  if (!t) return ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a trainer");
  t->cfg = *cfg;
  t->method = method;
  t->net = net;
  t->ds = ds;
  t->item = ebm_tensor_row_size(ds->x);
  const unsigned needs = t->method->needs;
  const int64_t B = cfg->batch, D = t->item;
  const int classes = cfg->conditional && net ? ebm_net_num_classes(net) : 0;
  if ((needs & TRAIN_NEEDS_LABELS) && !ds->labels) {
    st = ebm_set_error(EBM_ERR_ARG, "method %s needs labels, and %s has none", t->method->name, ds->spec);
    goto fail;
  }
  /* The streams of method.h: 1 drives training, 2 seeds the batcher. */
  t->rng = train_method_rng(cfg, 1);

  if ((needs & TRAIN_ENERGY_NET) && ebm_net_out_size(net) == 1 && !(t->energy = ebm_net_as_energy(net))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for the network's energy view");
    goto fail;
  }
  if ((needs & TRAIN_NEEDS_REPLAY) && cfg->slices <= 1 &&
      (st = ebm_replay_new(cfg->buffer_size, ebm_net_item_ndim(net), ebm_net_item_shape(net), classes,
                           cfg->range_lo, cfg->range_hi, &t->replay)) != EBM_OK)
    goto fail;
  if (t->replay && (st = ebm_replay_set_policy(t->replay, cfg->buffer_policy)) != EBM_OK) goto fail;
  if ((st = ebm_batcher_new(ds, B, batcher_seed(cfg), &t->batcher)) != EBM_OK) goto fail;
  t->batch_data = ds;
  if (net && (st = ebm_adam_new(net, &cfg->adam, &t->adam)) != EBM_OK) goto fail;
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
  if (t->method->init && (st = t->method->init(t, &t->method_state)) != EBM_OK) goto fail;
  if (t->energy) { /* samplers clamp to the training range (the images' [0, 1], the toys' box) */
    t->energy->range_lo = cfg->range_lo;
    t->energy->range_hi = cfg->range_hi;
  }
  if (needs & TRAIN_NEEDS_SAMPLER) {
    if (!t->energy) {
      st = ebm_set_error(EBM_ERR_ARG, "method %s samples an energy, and the network gives %lld outputs, not 1",
                         t->method->name, (long long)ebm_net_out_size(net));
      goto fail;
    }
    if ((st = ebm_sampler_new(t->energy, &cfg->sampler, B, &t->sampler)) != EBM_OK) goto fail;
  }
  if ((st = train_slices_init(t, dist)) != EBM_OK) goto fail;
  if ((st = set_chain_start(t)) != EBM_OK) goto fail;
  if ((needs & TRAIN_NEEDS_REPLAY) && (st = fill_replay(t)) != EBM_OK) goto fail;
  *out = t;
  return EBM_OK;
fail:
  ebm_trainer_free(t);
  return st;
}

int64_t ebm_trainer_step_count(const ebm_trainer *t) { return t->step; }

void train_next_data(ebm_trainer *t) {
  ebm_batcher_next(t->batcher, t->x_pos, t->y_data);
  if (!t->cfg.data_augment) return;
  const int nd = ebm_net_item_ndim(t->net);
  const int64_t *shape = ebm_net_item_shape(t->net);
  for (int64_t s = t->sl.first; s < t->sl.end; s++)
    for (int64_t i = s * t->sl.size; i < (s + 1) * t->sl.size; i++)
      ebm_augment_item(t->x_pos + i * t->item, nd, shape, t->cfg.data_augment, t->cfg.range_lo, t->cfg.range_hi,
                       train_slice_rng(t, s), t->aug_tmp);
}

const float *ebm_trainer_negatives(const ebm_trainer *t, const int32_t **y, int64_t *n) {
  const int64_t first = t->sl.first * t->sl.size; /* this rank's slices only */
  if (y) *y = t->has_negatives && t->y_neg ? t->y_neg + first : NULL;
  if (n) *n = t->has_negatives ? (t->sl.end - t->sl.first) * t->sl.size : 0;
  return t->has_negatives ? t->x_neg + first * t->item : NULL;
}

const ebm_replay *ebm_trainer_replay(const ebm_trainer *t) { return t->replay; }

ebm_status ebm_trainer_step(ebm_trainer *t, ebm_train_stats *stats) {
  const double t0 = ebm_now_seconds();
  ebm_train_stats s;
  memset(&s, 0, sizeof s);
  s.step = t->step + 1;
  s.iters = t->cfg.iters;
  s.lr = ebm_train_lr(&t->cfg, t->step);
  s.accuracy = -1;
  ebm_status st = t->method->step(t, t->method_state, &s);
  if (st != EBM_OK) return st;
  t->step = s.step;
  s.seconds = ebm_now_seconds() - t0;
  if (stats) *stats = s;
  return EBM_OK;
}

/* ------------------------------------------------ helpers for the methods */

ebm_rng train_method_rng(const ebm_train_config *cfg, uint64_t stream) {
  ebm_rng root;
  ebm_rng_init(&root, cfg->seed);
  return ebm_rng_split(&root, stream);
}

double train_mean(const float *v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += v[i];
  return n > 0 ? s / (double)n : 0.0;
}

ebm_status train_divergence(ebm_status st, int64_t step, const char *what) {
  if (st != EBM_ERR_NUMERIC) return st;
  char detail[256];
  snprintf(detail, sizeof detail, "%s", ebm_last_error());
  return ebm_set_error(EBM_ERR_NUMERIC, "diverged at step %lld: %s (%s)", (long long)step, what, detail);
}

ebm_status train_check_finite(double v, double bound, int64_t step, const char *what) {
  if (isnan(v)) return ebm_set_error(EBM_ERR_NUMERIC, "diverged at step %lld: %s is NaN", (long long)step, what);
  if (isinf(v))
    return ebm_set_error(EBM_ERR_NUMERIC, "diverged at step %lld: %s is %s", (long long)step, what,
                         v > 0 ? "+inf" : "-inf");
  if (bound > 0 && fabs(v) > bound)
    return ebm_set_error(EBM_ERR_NUMERIC, "diverged at step %lld: %s is %.4g, beyond max_energy %.4g",
                         (long long)step, what, v, bound);
  return EBM_OK;
}

ebm_status train_adam_step(ebm_adam *adam, float lr, int64_t step, const char *what, double *grad_norm) {
  double gnorm = 0;
  ebm_status st = ebm_adam_step(adam, lr, &gnorm);
  if (grad_norm) *grad_norm = gnorm;
  if (st == EBM_ERR_NUMERIC)
    return ebm_set_error(EBM_ERR_NUMERIC, "diverged at step %lld: %s is %s", (long long)step, what,
                         isnan(gnorm) ? "NaN" : "inf");
  return st;
}
