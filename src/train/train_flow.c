/* The flow of a training run (train_flow.h): shared by --method flow and
 * --method fce. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_flow.h"

static void range_text(const ebm_train_config *c, char *buf, size_t size) {
  snprintf(buf, size, "%.9g,%.9g", (double)c->range_lo, (double)c->range_hi);
}

ebm_status train_flow_open(const ebm_trainer *t, const char *path, int64_t max_batch, ebm_flow **out) {
  const ebm_tensor *x = t->ds->x;
  ebm_safetensors *st = NULL;
  ebm_flow *flow = NULL;
  char flow_shape[64], data_shape[64], run_range[64];
  double lo = 0, hi = 0;
  *out = NULL;
  ebm_status s = ebm_safetensors_load(path, &st);
  if (s == EBM_OK) s = ebm_flow_from_safetensors(st, max_batch, &flow);
  if (s != EBM_OK) goto done;
  const int ndim = ebm_flow_item_ndim(flow);
  const char *range = ebm_safetensors_meta(st, TRAIN_FLOW_RANGE_META_KEY);
  range_text(&t->cfg, run_range, sizeof run_range);
  if (ndim != x->ndim - 1 || memcmp(ebm_flow_item_shape(flow), x->shape + 1, (size_t)ndim * sizeof(int64_t)))
    s = ebm_set_error(EBM_ERR_SHAPE, "%s: the noise flow takes items of shape %s, the data's (%s) are %s", path,
                      ebm_shape_str(ndim, ebm_flow_item_shape(flow), flow_shape, sizeof flow_shape), t->ds->spec,
                      ebm_shape_str(x->ndim - 1, x->shape + 1, data_shape, sizeof data_shape));
  else if (range && (sscanf(range, "%lf,%lf", &lo, &hi) != 2 || (float)lo != t->cfg.range_lo ||
                     (float)hi != t->cfg.range_hi))
    s = ebm_set_error(EBM_ERR_ARG, "%s: the flow was fitted to data in the range %s, this run's range is %s", path,
                      range, run_range);
done:
  ebm_safetensors_free(st);
  if (s == EBM_OK) *out = flow;
  else ebm_flow_free(flow);
  return s;
}

/* The trained flow of checkpoint `from` in place of a new one: its layers
 * must be the ones the run's `flow` setting (already in tf->spec_text)
 * describes, since that setting is what config.json and a resume go by. */
static ebm_status read_trained_flow(const ebm_trainer *t, const char *from, train_flow *tf) {
  char given[256];
  ebm_status st = train_flow_open(t, from, t->cfg.batch, &tf->flow);
  if (st != EBM_OK) return st;
  ebm_flow_spec_format(ebm_flow_get_spec(tf->flow), given, sizeof given);
  if (strcmp(given, tf->spec_text) != 0)
    return ebm_set_error(EBM_ERR_SHAPE, "%s: the flow has layers %s, the run's --flow is %s", from, given,
                         tf->spec_text);
  tf->pretrained = 1;
  return EBM_OK;
}

ebm_status train_flow_init(const ebm_trainer *t, const char *from, train_flow *tf) {
  const ebm_train_config *c = &t->cfg;
  const ebm_tensor *x = t->ds->x;
  ebm_flow_spec spec = ebm_flow_spec_defaults();
  memset(tf, 0, sizeof *tf);
  ebm_status st = ebm_flow_spec_parse(c->contrastive.flow, &spec);
  if (st != EBM_OK) return st;
  ebm_flow_spec_format(&spec, tf->spec_text, sizeof tf->spec_text);
  range_text(c, tf->range_text, sizeof tf->range_text);
  if (from && from[0]) {
    if ((st = read_trained_flow(t, from, tf)) != EBM_OK) return st;
  } else {
    if ((st = ebm_flow_new(&spec, x->ndim - 1, x->shape + 1, c->batch, &tf->flow)) != EBM_OK)
      return ebm_error_prefix(st, t->ds->spec);
    ebm_rng init = train_method_rng(c, TRAIN_FLOW_INIT_STREAM);
    if ((st = ebm_flow_init(tf->flow, &init)) != EBM_OK) return st;
  }
  const int L = ebm_flow_net_count(tf->flow);
  if (!(tf->adams = calloc((size_t)L, sizeof *tf->adams))) return ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  for (int l = 0; l < L; l++)
    if ((st = ebm_adam_new(ebm_flow_net(tf->flow, l), &c->adam, &tf->adams[l])) != EBM_OK) return st;
  return EBM_OK;
}

void train_flow_free(train_flow *tf) {
  for (int l = 0; tf->adams && tf->flow && l < ebm_flow_net_count(tf->flow); l++) ebm_adam_free(tf->adams[l]);
  free(tf->adams);
  ebm_flow_free(tf->flow);
  memset(tf, 0, sizeof *tf);
}

ebm_status train_flow_adam_step(train_flow *tf, const ebm_trainer *t, double *grad_norm) {
  const float lr = ebm_train_lr(&t->cfg, t->step);
  double sq = 0;
  for (int l = 0; l < ebm_flow_net_count(tf->flow); l++) {
    double gn = 0;
    ebm_status st = train_adam_step(tf->adams[l], lr, t->step + 1, "the flow's grad_norm", &gn);
    if (st != EBM_OK) return st;
    sq += gn * gn;
  }
  *grad_norm = sqrt(sq);
  return EBM_OK;
}

static const char *adam_prefix(int l, char *buf, size_t size) {
  snprintf(buf, size, "flow_adam_%d", l);
  return buf;
}

ebm_status train_flow_save(const train_flow *tf, ebm_st_writer *w) {
  char prefix[32];
  ebm_status st = EBM_OK;
  for (int l = 0; l < ebm_flow_net_count(tf->flow) && st == EBM_OK; l++) {
    st = train_save_net(w, ebm_flow_net(tf->flow, l), ebm_flow_net_name(tf->flow, l));
    if (st == EBM_OK) st = ebm_adam_save_as(tf->adams[l], w, adam_prefix(l, prefix, sizeof prefix));
  }
  return st;
}

ebm_status train_flow_restore(train_flow *tf, const ebm_safetensors *st) {
  char prefix[32];
  ebm_status e = EBM_OK;
  const int L = ebm_flow_net_count(tf->flow);
  for (int l = 0; l < L && e == EBM_OK; l++) /* every network first, before anything changes */
    e = train_check_net(st, ebm_flow_net(tf->flow, l), ebm_flow_net_name(tf->flow, l));
  for (int l = 0; l < L && e == EBM_OK; l++) {
    e = ebm_adam_restore_as(tf->adams[l], st, adam_prefix(l, prefix, sizeof prefix));
    if (e == EBM_OK) e = train_read_net(st, ebm_flow_net(tf->flow, l), ebm_flow_net_name(tf->flow, l));
  }
  return e;
}

int train_flow_parts(const train_flow *tf, const ebm_net **nets, const char **names, int max) {
  return max < ebm_flow_net_count(tf->flow) ? 0 : ebm_flow_parts(tf->flow, nets, names);
}

int train_flow_meta(const train_flow *tf, const char **keys, const char **values, int max) {
  if (max < 2) return 0;
  keys[0] = "flow";
  values[0] = tf->spec_text;
  keys[1] = TRAIN_FLOW_RANGE_META_KEY;
  values[1] = tf->range_text;
  return 2;
}

ebm_status train_flow_check(const ebm_train_config *cfg) {
  ebm_flow_spec spec = ebm_flow_spec_defaults();
  ebm_status st = ebm_flow_spec_parse(cfg->contrastive.flow, &spec);
  if (st != EBM_OK) return st;
  if (!(cfg->contrastive.flow_dequant >= 0))
    return ebm_set_error(EBM_ERR_ARG, "flow_dequant must be >= 0, got %g", (double)cfg->contrastive.flow_dequant);
  if (cfg->conditional)
    return ebm_set_error(EBM_ERR_ARG, "methods with a flow train unconditional models: conditional off");
  return EBM_OK;
}

ebm_status train_flow_first_batch(train_flow *tf, const ebm_trainer *t, const float *x, int64_t n) {
  /* a resumed run has its actnorm parameters already, a trained flow its own */
  if (t->step != 0 || tf->pretrained) return EBM_OK;
  ebm_status st = ebm_flow_data_init(tf->flow, x, n);
  return st == EBM_OK ? EBM_OK : train_divergence(st, 1, "the flow's data-dependent init is not finite");
}

void train_flow_dequantise(ebm_trainer *t, float *x, int64_t n) {
  const float width = t->cfg.contrastive.flow_dequant;
  if (width <= 0) return;
  ebm_rng_uniform(&t->rng, t->x_neg, n * t->item, 0.0f, width); /* x⁻ is free before the negatives */
  for (int64_t k = 0; k < n * t->item; k++) x[k] += t->x_neg[k];
}
