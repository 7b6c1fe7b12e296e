/* --method flow: a normalising flow (ebm/flow.h) fitted by maximum
 * likelihood, L = −mean_i log q(x_i), one Adam per coupling network. The
 * flow is the method's own model (TRAIN_OWN_MODEL): built here from the
 * `flow` setting for the data's item shape, initialised from stream 3,
 * saved as the checkpoint's parts "flow_<l>" (+ metadata "flow"), and
 * restored from the state file on --resume. Its energy view (−log q) is
 * t->energy, so the run's 2-D pictures show q itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

#define FLOW_INIT_STREAM 3
#define FLOW_PICTURE_STREAM 4

typedef struct {
  ebm_flow *flow;
  ebm_adam **adams;        /* [L] one per coupling network */
  char spec_text[256];     /* metadata "flow" of the checkpoint */
  float *w;                /* [B] the per-item weights of the gradient: −1/B */
  float *picture;          /* [B, D] samples for the run's pictures */
} flow_state;

static void flow_state_free(void *state) {
  flow_state *s = state;
  if (!s) return;
  for (int l = 0; s->adams && s->flow && l < ebm_flow_net_count(s->flow); l++) ebm_adam_free(s->adams[l]);
  free(s->adams);
  ebm_flow_free(s->flow);
  ebm_free(s->w);
  ebm_free(s->picture);
  free(s);
}

static ebm_status flow_check(const ebm_train_config *cfg) {
  ebm_flow_spec spec = ebm_flow_spec_defaults();
  ebm_status st = ebm_flow_spec_parse(cfg->contrastive.flow, &spec);
  if (st != EBM_OK) return st;
  if (!(cfg->contrastive.flow_dequant >= 0))
    return ebm_set_error(EBM_ERR_ARG, "flow_dequant must be >= 0, got %g", (double)cfg->contrastive.flow_dequant);
  if (cfg->conditional) return ebm_set_error(EBM_ERR_ARG, "method flow trains an unconditional flow: conditional off");
  return EBM_OK;
}

static ebm_status flow_init(ebm_trainer *t, void **state) {
  const ebm_train_config *c = &t->cfg;
  const ebm_tensor *x = t->ds->x;
  ebm_flow_spec spec = ebm_flow_spec_defaults();
  ebm_status st = ebm_flow_spec_parse(c->contrastive.flow, &spec);
  flow_state *s = st == EBM_OK ? calloc(1, sizeof *s) : NULL;
  if (st != EBM_OK) return st;
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for the flow");
  *state = s;
  ebm_flow_spec_format(&spec, s->spec_text, sizeof s->spec_text);
  if ((st = ebm_flow_new(&spec, x->ndim - 1, x->shape + 1, c->batch, &s->flow)) != EBM_OK)
    return ebm_error_prefix(st, t->ds->spec);
  ebm_rng init = train_method_rng(c, FLOW_INIT_STREAM);
  if ((st = ebm_flow_init(s->flow, &init)) != EBM_OK) return st;
  const int L = ebm_flow_net_count(s->flow);
  s->adams = calloc((size_t)L, sizeof *s->adams);
  s->w = ebm_alloc((size_t)c->batch, sizeof(float));
  s->picture = ebm_alloc((size_t)(c->batch * t->item), sizeof(float));
  if (!s->adams || !s->w || !s->picture) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for the flow");
  for (int l = 0; l < L; l++)
    if ((st = ebm_adam_new(ebm_flow_net(s->flow, l), &c->adam, &s->adams[l])) != EBM_OK) return st;
  for (int64_t i = 0; i < c->batch; i++) s->w[i] = -1.0f / (float)c->batch; /* d(−mean log q) */
  if (!(t->energy = ebm_flow_as_energy(s->flow))) return ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  return EBM_OK;
}

static ebm_status flow_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  flow_state *s = state;
  const ebm_train_config *c = &t->cfg;
  const int64_t B = c->batch, step = t->step + 1;
  ebm_batcher_next(t->batcher, t->x_pos, t->y_data);
  if (c->contrastive.flow_dequant > 0) { /* uniform dequantisation: x + U(0, width) */
    ebm_rng_uniform(&t->rng, t->x_neg, B * t->item, 0.0f, c->contrastive.flow_dequant);
    for (int64_t k = 0; k < B * t->item; k++) t->x_pos[k] += t->x_neg[k];
  }
  ebm_status st = ebm_flow_log_prob(s->flow, t->x_pos, B, t->e_pos);
  if (st != EBM_OK) return train_divergence(st, step, "log q of the data is not finite");
  double nll = 0;
  for (int64_t i = 0; i < B; i++) nll -= t->e_pos[i];
  nll /= (double)B;
  if ((st = train_check_finite(nll, 0, step, "loss")) != EBM_OK) return st;
  ebm_flow_zero_grad(s->flow);
  if ((st = ebm_flow_log_prob_backward(s->flow, s->w, NULL, 1)) != EBM_OK)
    return train_divergence(st, step, "the flow's gradient is not finite");
  double sq = 0;
  const float lr = ebm_train_lr(c, t->step);
  for (int l = 0; l < ebm_flow_net_count(s->flow); l++) {
    double gn = 0;
    if ((st = train_adam_step(s->adams[l], lr, step, "grad_norm", &gn)) != EBM_OK) return st;
    sq += gn * gn;
  }
  stats->loss = nll;
  stats->e_pos = nll; /* the energy of the data is −log q */
  stats->grad_norm = sqrt(sq);
  return EBM_OK;
}

/* State keys: "flow_<l>.<name>" (the networks), "flow_adam_<l>" (Adam). */
static ebm_status flow_save(const ebm_trainer *t, const void *state, ebm_st_writer *w) {
  const flow_state *s = state;
  (void)t;
  char prefix[32];
  ebm_status st = EBM_OK;
  for (int l = 0; l < ebm_flow_net_count(s->flow) && st == EBM_OK; l++) {
    snprintf(prefix, sizeof prefix, "flow_%d", l);
    st = train_save_net(w, ebm_flow_net(s->flow, l), prefix);
    snprintf(prefix, sizeof prefix, "flow_adam_%d", l);
    if (st == EBM_OK) st = ebm_adam_save_as(s->adams[l], w, prefix);
  }
  return st;
}

static ebm_status flow_restore(ebm_trainer *t, void *state, const ebm_safetensors *st) {
  flow_state *s = state;
  (void)t;
  char prefix[32];
  ebm_status e = EBM_OK;
  const int L = ebm_flow_net_count(s->flow);
  for (int l = 0; l < L && e == EBM_OK; l++) { /* every network first, before anything changes */
    snprintf(prefix, sizeof prefix, "flow_%d", l);
    e = train_check_net(st, ebm_flow_net(s->flow, l), prefix);
  }
  for (int l = 0; l < L && e == EBM_OK; l++) {
    snprintf(prefix, sizeof prefix, "flow_adam_%d", l);
    e = ebm_adam_restore_as(s->adams[l], st, prefix);
    snprintf(prefix, sizeof prefix, "flow_%d", l);
    if (e == EBM_OK) e = train_read_net(st, ebm_flow_net(s->flow, l), prefix);
  }
  return e;
}

static int flow_parts(const void *state, const ebm_net **nets, const char **names, int max) {
  const flow_state *s = state;
  if (max < ebm_flow_net_count(s->flow)) return 0;
  return ebm_flow_parts(s->flow, nets, names);
}

static int flow_meta(const void *state, const char **keys, const char **values, int max) {
  const flow_state *s = state;
  if (max < 1) return 0;
  keys[0] = "flow";
  values[0] = s->spec_text;
  return 1;
}

/* The pictures show the flow's samples of a fixed z (stream 4), so
 * successive pictures show the same latent points move. Drawing them runs
 * the flow's passes: the method's own buffers, not the training state. */
static const float *flow_samples(const ebm_trainer *t, const void *state, int64_t *n) {
  flow_state *s = (flow_state *)state;
  ebm_rng rng = train_method_rng(&t->cfg, FLOW_PICTURE_STREAM);
  *n = 0;
  if (ebm_flow_sample(s->flow, &rng, t->cfg.batch, 1.0f, s->picture) != EBM_OK) return NULL;
  *n = t->cfg.batch;
  return s->picture;
}

#define ROW(name_, type_, field, metavar_, help_, flags_, def_)                                    \
  {.name = name_, .type = type_, .offset = offsetof(ebm_train_config, field),                      \
   .size = sizeof(((ebm_train_config *)0)->field), .metavar = metavar_, .help = help_, .flags = flags_, \
   .def = def_}
static const ebm_train_setting flow_settings[] = {
    ROW("flow", EBM_SETTING_TEXT, contrastive.flow, "SPEC",
        "flow layers: couplings=8,hidden=64,depth=2,mask=checkerboard|channel,clamp=3 (flow, fce)",
        EBM_SETTING_IDENTITY, "couplings=8,hidden=64,depth=2,mask=checkerboard,clamp=3"),
    ROW("flow-dequant", EBM_SETTING_FLOAT, contrastive.flow_dequant, "W",
        "uniform noise U(0, W) added to the data (1/256 = 0.00390625 dequantises 8-bit images in [0, 1])", 0, "0"),
};
#undef ROW

const train_method train_method_flow = {
    .name = "flow",
    .summary = "a normalising flow (RealNVP couplings, --flow) by exact maximum likelihood; no --arch",
    .needs = TRAIN_OWN_MODEL,
    .settings = flow_settings,
    .nsettings = (int)(sizeof flow_settings / sizeof *flow_settings),
    .check = flow_check,
    .init = flow_init,
    .step = flow_step,
    .save = flow_save,
    .restore = flow_restore,
    .parts = flow_parts,
    .meta = flow_meta,
    .samples = flow_samples,
    .free = flow_state_free,
};
