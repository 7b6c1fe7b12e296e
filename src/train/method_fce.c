/* --method fce: flow-contrastive estimation (Gao, Nijkamp, Kingma, Xu, Dai,
 * Wu, CVPR 2020; the Xie & Wu tutorial seed). The energy E(x) (the run's
 * network) with a learned log-normaliser c, p_θ(x) = exp(−E(x) − c), and a
 * flow q_α play the min-max game of noise-contrastive estimation, the flow
 * being the noise:
 *   l(x) = log p_θ(x) − log q_α(x) = −E(x) − c − log q_α(x),   D = σ(l)
 *   V(θ, c, α) = mean_data log σ(l(x)) + mean_{x̃ ~ q_α} log σ(−l(x̃))
 * The energy and c ascend V (their loss is −V); the flow descends it. The
 * flow's samples are drawn from the flow itself, so its gradient of the
 * noise term is the score-function one, E_q[(h − b)·∇α log q] + E_q[∂h/∂log q ·
 * ∇α log q], h = log σ(−l), with the batch mean b of h as baseline (only
 * forward/backward passes of the flow, no pass back through its inverse).
 * One noise sample per data item. c is the bias of a one-output linear
 * layer on a constant zero input ("log_z.bias"), so Adam, the state file and
 * the checkpoint treat it as any parameter.
 *
 * The flow starts at random (stream 3, Glow's actnorm from the first batch)
 * or, with --noise-ckpt FLOW, as the flow of that checkpoint (a run of
 * --method flow: maximum likelihood first, as Gao et al. pretrain theirs),
 * which must have the --flow layers and the data's items and range: "the
 * noise is this flow, trained further against the energy"; c then starts
 * where the data are at chance (start_log_z). An untrained
 * flow on images falls behind the energy at once (README, "The same at 4
 * CPU-minutes each"). The checkpoint is read again on a resume, whose
 * state file then overwrites its weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_flow.h"

#define LOG_Z_ARCH "{\"input\": [1], \"layers\": [{\"type\": \"linear\", \"name\": \"log_z\", \"out\": 1}]}"

typedef struct {
  train_flow tf;
  ebm_net *log_z;          /* c: the bias of its one linear layer */
  ebm_adam *log_z_adam;
  float zero[1];           /* log_z's input */
  float *lq_pos, *lq_neg;  /* [B] log q of the data and of the noise */
  float *w_pos, *w_neg;    /* [B] the flow's weights on ∇α log q */
} fce_state;

static inline double log_sigmoid(double v) { return v >= 0 ? -log1p(exp(-v)) : v - log1p(exp(v)); }
static inline double sigmoid(double v) { return v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v)); }

double train_fce_value(const float *e_pos, const float *lq_pos, const float *e_neg, const float *lq_neg, int64_t n,
                       double c, float *de_pos, float *de_neg, double *dc, float *w_pos, float *w_neg) {
  double v = 0, mean_h = 0, sum_dc = 0;
  for (int64_t i = 0; i < n; i++) mean_h += log_sigmoid(e_neg[i] + c + lq_neg[i]) / (double)n; /* h = log σ(−l⁻) */
  for (int64_t i = 0; i < n; i++) {
    const double lp = -e_pos[i] - c - lq_pos[i], ln = -e_neg[i] - c - lq_neg[i];
    const double h = log_sigmoid(-ln), sp = sigmoid(lp), sn = sigmoid(ln);
    v += (log_sigmoid(lp) + h) / (double)n;
    /* −V: d/dE⁺ = (1 − σ(l⁺))/n, d/dE⁻ = −σ(l⁻)/n (and the same for c) */
    de_pos[i] = (float)((1 - sp) / (double)n);
    de_neg[i] = (float)(-sn / (double)n);
    sum_dc += (1 - sp - sn) / (double)n;
    /* V: d/dlog q⁺ = −(1 − σ(l⁺))/n; the noise: (h − b)/n + dh/dlog q⁻ = σ(l⁻) */
    w_pos[i] = (float)(-(1 - sp) / (double)n);
    w_neg[i] = (float)((h - mean_h + sn) / (double)n);
  }
  *dc = sum_dc;
  return v;
}

static void fce_free(void *state) {
  fce_state *s = state;
  if (!s) return;
  train_flow_free(&s->tf);
  ebm_adam_free(s->log_z_adam);
  ebm_net_free(s->log_z);
  ebm_free(s->lq_pos);
  ebm_free(s->lq_neg);
  ebm_free(s->w_pos);
  ebm_free(s->w_neg);
  free(s);
}

static ebm_status fce_init(ebm_trainer *t, void **state) {
  const int64_t B = t->cfg.batch;
  fce_state *s = calloc(1, sizeof *s);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for fce");
  *state = s;
  ebm_status st = train_mcmc_check_data(t);
  if (st == EBM_OK) st = train_flow_init(t, t->cfg.contrastive.noise_ckpt, &s->tf);
  if (st == EBM_OK) st = ebm_net_new(LOG_Z_ARCH, 1, &s->log_z); /* parameters start at 0: c = 0 */
  if (st == EBM_OK) st = ebm_adam_new(s->log_z, &t->cfg.adam, &s->log_z_adam);
  if (st != EBM_OK) return st;
  s->lq_pos = ebm_alloc((size_t)B, sizeof(float));
  s->lq_neg = ebm_alloc((size_t)B, sizeof(float));
  s->w_pos = ebm_alloc((size_t)B, sizeof(float));
  s->w_neg = ebm_alloc((size_t)B, sizeof(float));
  if (!s->lq_pos || !s->lq_neg || !s->w_pos || !s->w_neg) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for fce");
  return EBM_OK;
}

/* The energies, c and log q of both batches (x⁻ freshly drawn from the
 * flow); the flow's last forward pass is the noise's. */
static ebm_status fce_forward(ebm_trainer *t, fce_state *s, float *c) {
  const int64_t B = t->cfg.batch, step = t->step + 1;
  ebm_status st = ebm_flow_sample(s->tf.flow, &t->rng, B, 1.0f, t->x_neg);
  if (st != EBM_OK) return train_divergence(st, step, "the flow's samples are not finite");
  t->has_negatives = 1;
  if ((st = ebm_net_energy(t->net, t->x_pos, NULL, B, t->e_pos)) != EBM_OK)
    return train_divergence(st, step, "e_pos is not finite");
  if ((st = ebm_net_energy(t->net, t->x_neg, NULL, B, t->e_neg)) != EBM_OK)
    return train_divergence(st, step, "e_neg is not finite");
  if ((st = ebm_net_forward(s->log_z, s->zero, NULL, 1, c)) != EBM_OK)
    return train_divergence(st, step, "log Z is not finite");
  if ((st = ebm_flow_log_prob(s->tf.flow, t->x_pos, B, s->lq_pos)) != EBM_OK)
    return train_divergence(st, step, "log q of the data is not finite");
  if ((st = ebm_flow_log_prob(s->tf.flow, t->x_neg, B, s->lq_neg)) != EBM_OK)
    return train_divergence(st, step, "log q of the noise is not finite");
  return EBM_OK;
}

/* c's start with a trained flow: mean(−E − log q) over the first batch, so
 * that the data's l = −E − c − log q is 0 on average and the game starts at
 * chance (log q of a Fashion-MNIST image under a trained flow is hundreds
 * of nats; c from 0 at Adam's rate would leave every item deep in the
 * logistic's saturation for thousands of steps, as NCE's log Z did before
 * its own start, method_nce.c). Not with a random flow: there the flow
 * moves fast at first and the start made the toys worse at equal CPU
 * (README, "What was checked before spending the CPU"). A resume restores
 * c from the state file instead. */
static ebm_status start_log_z(const fce_state *s, const float *e_pos, int64_t n, float *c) {
  double start = 0;
  for (int64_t i = 0; i < n; i++) start += (-(double)e_pos[i] - s->lq_pos[i]) / (double)n;
  if (!isfinite(start)) return ebm_set_error(EBM_ERR_NUMERIC, "diverged at step 1: log Z's start is not finite");
  *c = (float)start; /* the bias itself is set once the step cannot fail any more */
  return EBM_OK;
}

static ebm_status fce_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  fce_state *s = state;
  const ebm_train_config *cfg = &t->cfg;
  const int64_t B = cfg->batch, step = t->step + 1;
  float c = 0, dc = 0;
  double dc_d = 0, gnorm = 0, gflow = 0, glog_z = 0;
  train_next_data(t);
  train_flow_dequantise(t, t->x_pos, B);
  ebm_status st = train_flow_first_batch(&s->tf, t, t->x_pos, B);
  if (st == EBM_OK) st = fce_forward(t, s, &c);
  const int start_c = t->step == 0 && s->tf.pretrained;
  if (st == EBM_OK && start_c) st = start_log_z(s, t->e_pos, B, &c);
  if (st != EBM_OK) return st;
  const double v = train_fce_value(t->e_pos, s->lq_pos, t->e_neg, s->lq_neg, B, c, t->de_pos, t->de_neg, &dc_d,
                                   s->w_pos, s->w_neg);
  const double e_pos = train_mean(t->e_pos, B), e_neg = train_mean(t->e_neg, B);
  if ((st = train_check_finite(e_pos, cfg->max_energy, step, "e_pos")) != EBM_OK ||
      (st = train_check_finite(e_neg, cfg->max_energy, step, "e_neg")) != EBM_OK ||
      (st = train_check_finite(v, 0, step, "loss")) != EBM_OK)
    return st;
  dc = (float)dc_d;
  /* the flow: the noise's forward pass is the last one; then the data's again */
  ebm_flow_zero_grad(s->tf.flow);
  if ((st = ebm_flow_log_prob_backward(s->tf.flow, s->w_neg, NULL, 1)) != EBM_OK ||
      (st = ebm_flow_log_prob(s->tf.flow, t->x_pos, B, s->lq_pos)) != EBM_OK ||
      (st = ebm_flow_log_prob_backward(s->tf.flow, s->w_pos, NULL, 1)) != EBM_OK)
    return train_divergence(st, step, "the flow's gradient is not finite");
  ebm_net_zero_grad(t->net);
  if ((st = ebm_net_backward_params(t->net, t->x_pos, NULL, B, t->de_pos, t->e_tmp)) != EBM_OK)
    return train_divergence(st, step, "e_pos is not finite");
  if ((st = ebm_net_backward_params(t->net, t->x_neg, NULL, B, t->de_neg, t->e_tmp)) != EBM_OK)
    return train_divergence(st, step, "e_neg is not finite");
  ebm_net_zero_grad(s->log_z);
  if ((st = ebm_net_backward(s->log_z, &dc, NULL, 1)) != EBM_OK) return st;
  if (start_c) ebm_net_param(s->log_z, ebm_net_param_count(s->log_z) - 1)->value->data[0] = c;
  const float lr = ebm_train_lr(cfg, t->step);
  if ((st = train_adam_step(t->adam, lr, step, "grad_norm", &gnorm)) != EBM_OK ||
      (st = train_adam_step(s->log_z_adam, lr, step, "log Z's gradient", &glog_z)) != EBM_OK ||
      (st = train_flow_adam_step(&s->tf, t, &gflow)) != EBM_OK)
    return st;
  stats->loss = -v; /* what the energy minimises */
  stats->e_pos = e_pos;
  stats->e_neg = e_neg;
  stats->grad_norm = gnorm;
  return EBM_OK;
}

/* State keys: the flow's ("flow_<l>", "flow_adam_<l>") and "fce_log_z",
 * "fce_log_z_adam". */
static ebm_status fce_save(const ebm_trainer *t, const void *state, ebm_st_writer *w) {
  const fce_state *s = state;
  (void)t;
  ebm_status st = train_flow_save(&s->tf, w);
  if (st == EBM_OK) st = train_save_net(w, s->log_z, "fce_log_z");
  if (st == EBM_OK) st = ebm_adam_save_as(s->log_z_adam, w, "fce_log_z_adam");
  return st;
}

static ebm_status fce_restore(ebm_trainer *t, void *state, const ebm_safetensors *st) {
  fce_state *s = state;
  (void)t;
  ebm_status e = train_check_net(st, s->log_z, "fce_log_z");
  if (e == EBM_OK) e = train_flow_restore(&s->tf, st);
  if (e == EBM_OK) e = ebm_adam_restore_as(s->log_z_adam, st, "fce_log_z_adam");
  if (e == EBM_OK) e = train_read_net(st, s->log_z, "fce_log_z");
  return e;
}

static int fce_parts(const void *state, const ebm_net **nets, const char **names, int max) {
  const fce_state *s = state;
  return train_flow_parts(&s->tf, nets, names, max);
}

static int fce_meta(const void *state, const char **keys, const char **values, int max) {
  return train_flow_meta(&((const fce_state *)state)->tf, keys, values, max);
}

const train_method train_method_fce = {
    .name = "fce",
    .summary = "flow-contrastive estimation: energy vs a flow (--flow; --noise-ckpt starts it from a trained one) in "
               "NCE's min-max game (Gao et al. 2020)",
    .needs = TRAIN_ENERGY_NET,
    .check = train_flow_check,
    .init = fce_init,
    .step = fce_step,
    .save = fce_save,
    .restore = fce_restore,
    .parts = fce_parts,
    .meta = fce_meta,
    .free = fce_free,
};
