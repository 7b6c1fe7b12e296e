/* Noise-contrastive estimation (Gutmann & Hyvärinen 2010; the Xie & Wu
 * tutorial in the seeds, "NCE"): logistic regression of the data against
 * ν·B samples of a known noise density q, with the model's log density
 *   log p_θ(x) = −E_θ(x)
 * taken as normalised. The learned log-normaliser is therefore the energy
 * network's own output offset (its final bias): NCE's logistic loss is
 * only minimised when exp(−E_θ) integrates to 1, so no separate log Z
 * parameter is needed, and a model trained by NCE is a density whose
 * `ebm eval nll` needs no quadrature beyond the check it makes.
 *
 * The noise q: a Gaussian fitted to the data with its FULL covariance
 * (mean and covariance of up to NCE_FIT_ITEMS items spread evenly over the
 * data set, plus a ridge of 1e-4 × the mean variance on the diagonal so
 * that constant pixels keep q proper), sampled exactly through its
 * Cholesky factor (ebm_gaussian_energy_sample); above
 * EBM_GAUSSIAN_FULL_MAX_DIM values per item, the low-rank Gaussian that
 * ebm_gaussian_energy_fit picks instead. It is recomputed from the
 * data at every start, so a resume sees the same q without storing it.
 * Or a trained normalising flow (--noise-ckpt FLOW.safetensors, from
 * `ebm train --method flow`): its exact samples and exact log q replace
 * the Gaussian's and nothing else changes; it stays fixed (training the
 * flow against the energy is --method fce), and is read again from its
 * file on a resume (the setting is part of the run's identity).
 *
 * With G(u) = −E_θ(u) − log q(u) − log ν (the log-odds of "data"),
 *   L = −1/B·[Σ_i log σ(G(x_i)) + Σ_j log(1 − σ(G(y_j)))],
 * y_j the νB noise samples. Each dL/dE depends on its own item only, so
 * every chunk of items is one forward pass and one backward pass. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_flow.h"

/* The data items the noise Gaussian is fitted on (at most). */
#define NCE_FIT_ITEMS 10000
/* The largest ν (noise samples per data item). */
#define NCE_MAX_RATIO 1024.0f

typedef struct {
  ebm_flow *flow;     /* the noise flow (--noise-ckpt), or NULL: */
  ebm_energy *q;      /* the noise Gaussian: E_q = −log q − log Z_q */
  double log_zq;
  int64_t m;          /* noise samples per step: round(ν·B) */
  float *noise;       /* (m, D) */
  float *logq_noise;  /* (m) */
  float *logq_data;   /* (B) */
  float *e, *de;      /* (B) one chunk's energies and dL/dE */
} nce_state;

/* log σ(g) = −softplus(−g) without overflow. */
static double log_sigmoid(double g) { return g >= 0 ? -log1p(exp(-g)) : g - log1p(exp(g)); }

double train_nce_loss(const float *e, const float *logq, int64_t n, int is_data, double log_nu,
                      int64_t n_data, float *de) {
  double sum = 0.0;
  const double inv = 1.0 / (double)n_data;
  for (int64_t i = 0; i < n; i++) {
    const double g = -(double)e[i] - logq[i] - log_nu;
    const double s = 1.0 / (1.0 + exp(-g)); /* σ(G): the classifier's "data" probability */
    /* d(−log σ(G))/dE = 1 − σ(G); d(−log(1 − σ(G)))/dE = −σ(G) (dG/dE = −1) */
    if (is_data) {
      sum -= log_sigmoid(g);
      de[i] = (float)((1.0 - s) * inv);
    } else {
      sum -= log_sigmoid(-g);
      de[i] = (float)(-s * inv);
    }
  }
  return sum * inv;
}

static ebm_status nce_check(const ebm_train_config *cfg) {
  const float nu = cfg->contrastive.noise_ratio;
  if (!(nu > 0.0f) || !(nu <= NCE_MAX_RATIO))
    return ebm_set_error(EBM_ERR_ARG, "noise-ratio must be in (0, %g] noise samples per data item, got %g",
                         (double)NCE_MAX_RATIO, (double)nu);
  if (cfg->conditional)
    return ebm_set_error(EBM_ERR_ARG, "method %s fits an unconditional density: conditional must be off",
                         ebm_train_method_name(cfg->method));
  return EBM_OK;
}

static void nce_free(void *state) {
  nce_state *s = state;
  if (!s) return;
  ebm_energy_free(s->q);
  ebm_flow_free(s->flow);
  ebm_free(s->noise);
  ebm_free(s->logq_noise);
  ebm_free(s->logq_data);
  ebm_free(s->e);
  ebm_free(s->de);
  free(s);
}

/* The Gaussian of up to NCE_FIT_ITEMS items (ebm_gaussian_energy_fit). */
static ebm_status fit_noise(const ebm_dataset *ds, int64_t D, nce_state *s) {
  ebm_status st = ebm_gaussian_energy_fit(ds->x->data, ds->x->shape[0], D, NCE_FIT_ITEMS, &s->q);
  if (st == EBM_OK) st = ebm_gaussian_energy_log_z(s->q, &s->log_zq);
  if (st != EBM_OK) ebm_error_prefix(st, "the noise Gaussian fitted to the data");
  return st;
}

/* ν·B noise samples into s->noise, from the trainer's rng. */
static ebm_status draw_noise(ebm_trainer *t, nce_state *s) {
  if (s->flow) return ebm_flow_sample(s->flow, &t->rng, s->m, 1.0f, s->noise);
  return ebm_gaussian_energy_sample(s->q, &t->rng, s->m, s->noise);
}

/* log q of n items (logq gets n floats). */
static ebm_status noise_log_density(const nce_state *s, const float *x, int64_t n, float *logq) {
  if (s->flow) return ebm_flow_log_prob(s->flow, x, n, logq);
  ebm_status st = ebm_energy_eval(s->q, x, NULL, n, logq, NULL);
  for (int64_t i = 0; st == EBM_OK && i < n; i++) logq[i] = (float)(-(double)logq[i] - s->log_zq);
  return st;
}

/* The log-normaliser's start. The model is normalised when −E ≈ log q on
 * the data, and log q is of order D (Fashion-MNIST in [−1, 1] under the
 * fitted Gaussian: +282 nats on average over 1000 training images, +323
 * for its own samples; about −½‖x‖² − 720 under a flow that is still
 * N(0, I)). An energy network that starts near 0 puts every
 * G = −E − log q − log ν far into the logistic's saturation, where the
 * data's items pull E down by their whole weight and the noise's pull
 * nothing, until Adam has moved the network's output by hundreds of nats
 * (Fashion-MNIST from 0: e⁺ −314 after 159 steps). So the final bias —
 * the learned log Z — starts at mean(−log q − E) over the first B data
 * items, where G is 0 on average. What the start cannot remove is the
 * spread: the data's log q spans −16 000 to +659 nats (std 651) against
 * ±19 for the Gaussian's own samples, and the network has to learn that.
 * The first items, not a batch: the batcher and the rng are left alone,
 * and a resume overwrites the weights from the state file anyway. A
 * network without a one-output final bias keeps its start. */
ebm_status train_nce_start_log_normaliser(ebm_net *net, const float *x, const float *logq, int64_t n, float *e) {
  const int np = ebm_net_param_count(net);
  ebm_param *bias = np > 0 ? ebm_net_param(net, np - 1) : NULL;
  const size_t len = strlen(bias ? bias->name : "");
  if (!bias || ebm_tensor_numel(bias->value) != 1 || len < 5 || strcmp(bias->name + len - 5, ".bias") != 0)
    return EBM_OK;
  ebm_status st = ebm_net_forward(net, x, NULL, n, e);
  if (st != EBM_OK) return st;
  double shift = 0;
  for (int64_t i = 0; i < n; i++) shift += (-(double)logq[i] - e[i]) / (double)n;
  if (!isfinite(shift)) return ebm_set_error(EBM_ERR_NUMERIC, "the data's log q under the noise is not finite");
  bias->value->data[0] += (float)shift;
  return EBM_OK;
}

static ebm_status start_log_normaliser(ebm_trainer *t, nce_state *s) {
  const int64_t n = t->ds->x->shape[0] < t->cfg.batch ? t->ds->x->shape[0] : t->cfg.batch;
  ebm_status st = noise_log_density(s, t->ds->x->data, n, s->logq_data);
  if (st == EBM_OK) st = train_nce_start_log_normaliser(t->net, t->ds->x->data, s->logq_data, n, s->e);
  if (st != EBM_OK) ebm_error_prefix(st, "the log-normaliser's start");
  return st;
}

static ebm_status nce_init(ebm_trainer *t, void **state) {
  ebm_status st = train_mcmc_check_data(t);
  if (st != EBM_OK) return st;
  const int64_t B = t->cfg.batch, D = t->item;
  nce_state *s = calloc(1, sizeof *s);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for the NCE state");
  *state = s;
  s->m = (int64_t)llroundf(t->cfg.contrastive.noise_ratio * (float)B);
  if (s->m < 1) s->m = 1;
  s->noise = ebm_alloc((size_t)(s->m * D), sizeof(float));
  s->logq_noise = ebm_alloc((size_t)s->m, sizeof(float));
  s->logq_data = ebm_alloc((size_t)B, sizeof(float));
  s->e = ebm_alloc((size_t)B, sizeof(float));
  s->de = ebm_alloc((size_t)B, sizeof(float));
  if (!s->noise || !s->logq_noise || !s->logq_data || !s->e || !s->de)
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld NCE noise samples", (long long)s->m);
  const char *path = t->cfg.contrastive.noise_ckpt;
  st = path[0] ? train_flow_open(t, path, s->m > B ? s->m : B, &s->flow) : fit_noise(t->ds, D, s);
  return st == EBM_OK ? start_log_normaliser(t, s) : st;
}

ebm_status train_nce_gradient(ebm_net *net, const float *x, const float *logq, int64_t n, int64_t dim,
                              int64_t chunk, int is_data, double log_nu, int64_t n_data, float *e, float *de,
                              double *loss, double *e_sum) {
  for (int64_t at = 0; at < n; at += chunk) {
    const int64_t k = n - at < chunk ? n - at : chunk;
    ebm_status st = ebm_net_forward(net, x + at * dim, NULL, k, e);
    if (st != EBM_OK) return st;
    *loss += train_nce_loss(e, logq + at, k, is_data, log_nu, n_data, de);
    for (int64_t i = 0; i < k; i++) *e_sum += e[i];
    if ((st = ebm_net_backward(net, de, NULL, 1)) != EBM_OK) return st;
  }
  return EBM_OK;
}

static ebm_status nce_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  nce_state *s = state;
  const ebm_train_config *c = &t->cfg;
  const int64_t B = c->batch, step = t->step + 1;
  const double log_nu = log((double)s->m / (double)B);
  ebm_status st;

  train_next_data(t);
  if ((st = draw_noise(t, s)) != EBM_OK) return train_divergence(st, step, "the noise flow's samples are not finite");
  if ((st = noise_log_density(s, t->x_pos, B, s->logq_data)) != EBM_OK ||
      (st = noise_log_density(s, s->noise, s->m, s->logq_noise)) != EBM_OK)
    return st;
  ebm_net_spectral_update(t->net, c->spectral_iters);
  ebm_net_zero_grad(t->net);
  double loss = 0.0, e_pos = 0.0, e_neg = 0.0;
  if ((st = train_nce_gradient(t->net, t->x_pos, s->logq_data, B, t->item, B, 1, log_nu, B, s->e, s->de, &loss,
                               &e_pos)) != EBM_OK)
    return train_divergence(st, step, "e_pos is not finite");
  if ((st = train_nce_gradient(t->net, s->noise, s->logq_noise, s->m, t->item, B, 0, log_nu, B, s->e, s->de,
                               &loss, &e_neg)) != EBM_OK)
    return train_divergence(st, step, "e_neg is not finite");
  if (c->inject_nan_at == step) e_neg = NAN; /* the divergence test hook */
  e_pos /= (double)B;
  e_neg /= (double)s->m;
  if ((st = train_check_finite(e_pos, c->max_energy, step, "e_pos")) != EBM_OK ||
      (st = train_check_finite(e_neg, c->max_energy, step, "e_neg")) != EBM_OK ||
      (st = train_check_finite(loss, 0, step, "loss")) != EBM_OK)
    return st;
  double gnorm = 0;
  if ((st = train_adam_step(t->adam, ebm_train_lr(c, t->step), step, "grad_norm", &gnorm)) != EBM_OK) return st;
  t->has_negatives = 1;
  stats->loss = loss;
  stats->e_pos = e_pos;
  stats->e_neg = e_neg;
  stats->grad_norm = gnorm;
  return EBM_OK;
}

/* The pictures show the noise the energy is told apart from. */
static const float *nce_samples(const ebm_trainer *t, const void *state, int64_t *n) {
  const nce_state *s = state;
  *n = s->m < t->cfg.batch ? s->m : t->cfg.batch;
  return s->noise;
}

/* On points (the toys, other vectors) NCE takes Adam steps of 1e-2, not the
 * MCMC recipe's 3e-3: its loss is a logistic regression with no chains to
 * outrun, and the sharp edges of a density such as toy:checkerboard need
 * first-layer weights that grow faster than 3e-3 per step lets them (README,
 * "The estimators at equal CPU time": test NLL gap 0.173 → 0.103 there at
 * 30 CPU-seconds). Images keep their recipe's rate. */
#define NCE_POINTS_LR 1e-2f

static void nce_recipe(const ebm_dataset *ds, ebm_train_config *cfg) {
  if (ds->x->ndim == 2) cfg->adam.lr = NCE_POINTS_LR;
}

static const ebm_train_setting nce_settings[] = {
    {.name = "noise-ratio", .type = EBM_SETTING_FLOAT, .offset = offsetof(ebm_train_config, contrastive.noise_ratio),
     .size = sizeof(float), .metavar = "NU", .help = "nce: noise samples per data item ν (> 0)", .def = "1"},
    {.name = "noise-ckpt", .type = EBM_SETTING_TEXT, .offset = offsetof(ebm_train_config, contrastive.noise_ckpt),
     .size = sizeof(((ebm_train_config *)0)->contrastive.noise_ckpt), .metavar = "FLOW",
     .help = "nce: the noise is this trained flow (ebm train --method flow; exact samples and log q) instead of "
             "a Gaussian fitted to the data; fce: the flow starts as this trained flow (the same --flow layers) "
             "and trains on against the energy", .flags = EBM_SETTING_IDENTITY, .def = ""},
};

const train_method train_method_nce = {
    .name = "nce",
    .summary = "noise-contrastive estimation against a Gaussian fitted to the data (full covariance; "
               "low-rank above 4096 values per item), or a trained flow (--noise-ckpt)",
    .needs = TRAIN_ENERGY_NET,
    .settings = nce_settings,
    .nsettings = (int)(sizeof nce_settings / sizeof *nce_settings),
    .check = nce_check,
    .init = nce_init,
    .step = nce_step,
    .samples = nce_samples,
    .free = nce_free,
    .recipe = nce_recipe,
};
