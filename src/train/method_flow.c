/* --method flow: a normalising flow (ebm/flow.h) fitted by maximum
 * likelihood, L = −mean_i log q(x_i), one Adam per coupling network. The
 * flow is the method's own model (TRAIN_OWN_MODEL): built here from the
 * `flow` setting for the data's item shape, initialised from stream 3,
 * saved as the checkpoint's parts "flow_<l>" (+ metadata "flow"), and
 * restored from the state file on --resume. Its energy view (−log q) is
 * t->energy, so the run's 2-D pictures show q itself. */
#include <stdlib.h>
#include <string.h>

#include "train/train_flow.h"

#define FLOW_PICTURE_STREAM 4

typedef struct {
  train_flow tf;
  float *w;                /* [B] the per-item weights of the gradient: −1/B */
  float *picture;          /* [B, D] samples for the run's pictures */
} flow_state;

static void flow_state_free(void *state) {
  flow_state *s = state;
  if (!s) return;
  train_flow_free(&s->tf);
  ebm_free(s->w);
  ebm_free(s->picture);
  free(s);
}

static ebm_status flow_init(ebm_trainer *t, void **state) {
  const ebm_train_config *c = &t->cfg;
  flow_state *s = calloc(1, sizeof *s);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for the flow");
  *state = s;
  ebm_status st = train_flow_init(t, NULL, &s->tf);
  if (st != EBM_OK) return st;
  s->w = ebm_alloc((size_t)c->batch, sizeof(float));
  s->picture = ebm_alloc((size_t)(c->batch * t->item), sizeof(float));
  if (!s->w || !s->picture) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for the flow");
  for (int64_t i = 0; i < c->batch; i++) s->w[i] = -1.0f / (float)c->batch; /* d(−mean log q) */
  if (!(t->energy = ebm_flow_as_energy(s->tf.flow))) return ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  return EBM_OK;
}

static ebm_status flow_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  flow_state *s = state;
  ebm_flow *flow = s->tf.flow;
  const int64_t B = t->cfg.batch, step = t->step + 1;
  train_next_data(t);
  train_flow_dequantise(t, t->x_pos, B);
  ebm_status st = train_flow_first_batch(&s->tf, t, t->x_pos, B);
  if (st == EBM_OK) st = ebm_flow_log_prob(flow, t->x_pos, B, t->e_pos);
  if (st != EBM_OK) return train_divergence(st, step, "log q of the data is not finite");
  double nll = 0;
  for (int64_t i = 0; i < B; i++) nll -= t->e_pos[i];
  nll /= (double)B;
  if ((st = train_check_finite(nll, 0, step, "loss")) != EBM_OK) return st;
  ebm_flow_zero_grad(flow);
  if ((st = ebm_flow_log_prob_backward(flow, s->w, NULL, 1)) != EBM_OK)
    return train_divergence(st, step, "the flow's gradient is not finite");
  double gnorm = 0;
  if ((st = train_flow_adam_step(&s->tf, t, &gnorm)) != EBM_OK) return st;
  stats->loss = nll;
  stats->e_pos = nll; /* the energy of the data is −log q */
  stats->grad_norm = gnorm;
  return EBM_OK;
}

static ebm_status flow_save(const ebm_trainer *t, const void *state, ebm_st_writer *w) {
  (void)t;
  return train_flow_save(&((const flow_state *)state)->tf, w);
}

static ebm_status flow_restore(ebm_trainer *t, void *state, const ebm_safetensors *st) {
  (void)t;
  return train_flow_restore(&((flow_state *)state)->tf, st);
}

static int flow_parts(const void *state, const ebm_net **nets, const char **names, int max) {
  return train_flow_parts(&((const flow_state *)state)->tf, nets, names, max);
}

static int flow_meta(const void *state, const char **keys, const char **values, int max) {
  return train_flow_meta(&((const flow_state *)state)->tf, keys, values, max);
}

/* The pictures show the flow's samples of a fixed z (stream 4), so
 * successive pictures show the same latent points move. Drawing them runs
 * the flow's passes: the method's own buffers, not the training state. */
static const float *flow_samples(const ebm_trainer *t, const void *state, int64_t *n) {
  flow_state *s = (flow_state *)state;
  ebm_rng rng = train_method_rng(&t->cfg, FLOW_PICTURE_STREAM);
  *n = 0;
  if (ebm_flow_sample(s->tf.flow, &rng, t->cfg.batch, 1.0f, s->picture) != EBM_OK) return NULL;
  *n = t->cfg.batch;
  return s->picture;
}

#define ROW(name_, type_, field, metavar_, help_, flags_, def_)                                    \
  {.name = name_, .type = type_, .offset = offsetof(ebm_train_config, field),                      \
   .size = sizeof(((ebm_train_config *)0)->field), .metavar = metavar_, .help = help_, .flags = flags_, \
   .def = def_}
static const ebm_train_setting flow_settings[] = {
    ROW("flow", EBM_SETTING_TEXT, contrastive.flow, "SPEC",
        "flow layers: couplings=8,hidden=64,depth=2,mask=checkerboard|channel,clamp=3, Glow's actnorm=1 and "
        "conv1x1=1 (invertible 1x1 convolution) before each coupling (flow, fce)",
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
    .check = train_flow_check,
    .init = flow_init,
    .step = flow_step,
    .save = flow_save,
    .restore = flow_restore,
    .parts = flow_parts,
    .meta = flow_meta,
    .samples = flow_samples,
    .free = flow_state_free,
};
