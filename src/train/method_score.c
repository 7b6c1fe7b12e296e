/* Score matching: fit ∇ₓE instead of E, with no negatives and no log Z
 * (Hyvärinen 2005; the Xie & Wu tutorial in the seeds).
 *
 * dsm — denoising score matching (Vincent 2011; at several levels, Song &
 * Ermon 2019's NCSN weighting): x̃ = x + σ·z, σ drawn per item from the
 * noise schedule (train_sigma_at), and
 *   L = 1/B·Σ_i ½σ_i²·‖∇ₓE(x̃_i) − (x̃_i − x_i)/σ_i²‖²,
 * whose minimiser is the energy of the data convolved with N(0, σ²): with
 * one small σ the model is close to the data density itself. More than one
 * level needs a network that takes σ (a cond_affine layer with "sigma").
 *
 * ssm — sliced score matching (Song, Garg, Shi, Ermon 2019, eq. 8, one
 * projection v_i ~ N(0, I) per item):
 *   L = 1/B·Σ_i [−v_iᵀ∇²ₓE(x_i)v_i + ½(v_iᵀ∇ₓE(x_i))²].
 *
 * Both losses are functions of ∇ₓE, so their parameter gradient needs the
 * mixed derivative ∂(∇ₓE)/∂θ along a direction; no layer has a
 * second-order pass, so it is a central difference of parameter gradients
 * (train_param_grad_along, shared with improved CD). SSM's Hessian term is a
 * second difference of energies along v̂ = v/‖v‖, r = ‖v‖:
 *   vᵀ∇²E v ≈ r²·[E(x + hv̂) − 2E(x) + E(x − hv̂)]/h²,
 * whose parameter gradient is exact through ebm_net_backward_params, and
 * the directional derivative in ½(vᵀ∇E)² uses the same two points, so one
 * ssm step is one input-gradient pass and three parameter passes.
 * h = TRAIN_ICD_FD_STEP × the data range's width: small next to the
 * features of the toys (0.08 in their box of 8 against modes 0.25 wide),
 * large enough that float32 keeps E₊ − 2E₀ + E₋ (tests/train/test_score.c
 * checks both gradients against a double-precision reference). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/recovery_meta.h"
#include "train/train_internal.h"

typedef struct {
  train_score_work w;
  float *x_noisy;       /* (B, D) dsm's x̃ */
  float *sigma;         /* (B) dsm's per-item σ */
  ebm_cond cond;        /* σ for a noise-conditioned network */
  char schedule[192];   /* multi-level dsm: its annealed Langevin sampler, for the checkpoint ("" otherwise) */
} score_state;

float train_sigma_at(const ebm_noise_config *nc, int level) {
  return ebm_noise_schedule(nc->levels, nc->sigma_min, nc->sigma_max, level);
}

double train_dsm_loss(const float *g, const float *x_noisy, const float *x, const float *sigma, int64_t n,
                      int64_t dim, float *v) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++) {
    const double s2 = (double)sigma[i] * sigma[i];
    double q = 0.0;
    for (int64_t k = i * dim; k < (i + 1) * dim; k++) {
      const double r = g[k] - ((double)x_noisy[k] - x[k]) / s2;
      q += r * r;
      v[k] = (float)(s2 * r / (double)n);
    }
    sum += 0.5 * s2 * q;
  }
  return sum / (double)n;
}

double train_ssm_coefficients(const float *g, const float *dir, const float *r, int64_t n, int64_t dim, double h,
                              float *de_plus, float *de_zero, float *de_minus) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++) {
    double a = 0.0; /* vᵀ∇E = r·v̂ᵀ∇E */
    for (int64_t k = i * dim; k < (i + 1) * dim; k++) a += (double)dir[k] * g[k];
    a *= r[i];
    sum += 0.5 * a * a;
    /* −r²/h²·(E₊ − 2E₀ + E₋) and a·r/(2h)·(E₊ − E₋), each over n */
    const double hess = (double)r[i] * r[i] / (h * h * (double)n), dd = a * r[i] / (2.0 * h * (double)n);
    de_plus[i] = (float)(-hess + dd);
    de_zero[i] = (float)(2.0 * hess);
    de_minus[i] = (float)(-hess - dd);
  }
  return sum / (double)n;
}

double train_ssm_hessian_term(const float *e_plus, const float *e_zero, const float *e_minus, const float *r,
                              int64_t n, double h) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++)
    sum -= (double)r[i] * r[i] * ((double)e_plus[i] - 2.0 * e_zero[i] + e_minus[i]) / (h * h);
  return sum / (double)n;
}

ebm_status train_dsm_gradient(ebm_net *net, const ebm_cond *cond, const float *x_noisy, const float *x,
                              const float *sigma, int64_t n, int64_t dim, double h, train_score_work *w,
                              double *loss) {
  ebm_status st = ebm_net_grad_input(net, x_noisy, cond, n, w->e, w->g);
  if (st != EBM_OK) return st;
  *loss = train_dsm_loss(w->g, x_noisy, x, sigma, n, dim, w->v);
  return train_param_grad_along(net, cond, x_noisy, w->v, n, dim, h, 1.0, 1, w->x, w->de, w->e_plus);
}

/* x ± h·v̂ into out (side +1 or −1). */
static void step_along(const float *x, const float *dir, int64_t m, double h, int side, float *out) {
  for (int64_t k = 0; k < m; k++) out[k] = (float)(x[k] + side * h * dir[k]);
}

ebm_status train_ssm_gradient(ebm_net *net, const float *x, const float *dir, const float *r, int64_t n,
                              int64_t dim, double h, train_score_work *w, double *loss) {
  ebm_status st = ebm_net_grad_input(net, x, NULL, n, w->e, w->g);
  if (st != EBM_OK) return st;
  float *de_plus = w->de, *de_zero = w->de + n, *de_minus = w->de + 2 * n;
  const double slice = train_ssm_coefficients(w->g, dir, r, n, dim, h, de_plus, de_zero, de_minus);
  step_along(x, dir, n * dim, h, 1, w->x);
  if ((st = ebm_net_backward_params(net, w->x, NULL, n, de_plus, w->e_plus)) != EBM_OK) return st;
  step_along(x, dir, n * dim, h, -1, w->x);
  if ((st = ebm_net_backward_params(net, w->x, NULL, n, de_minus, w->e_minus)) != EBM_OK) return st;
  if ((st = ebm_net_backward_params(net, x, NULL, n, de_zero, w->e)) != EBM_OK) return st;
  *loss = slice + train_ssm_hessian_term(w->e_plus, w->e, w->e_minus, r, n, h);
  return EBM_OK;
}

ebm_status train_score_work_alloc(train_score_work *w, int64_t n, int64_t dim) {
  memset(w, 0, sizeof *w);
  w->g = ebm_alloc((size_t)(n * dim), sizeof(float));
  w->v = ebm_alloc((size_t)(n * dim), sizeof(float));
  w->x = ebm_alloc((size_t)(n * dim), sizeof(float));
  w->e = ebm_alloc((size_t)n, sizeof(float));
  w->de = ebm_alloc((size_t)(3 * n), sizeof(float));
  w->e_plus = ebm_alloc((size_t)n, sizeof(float));
  w->e_minus = ebm_alloc((size_t)n, sizeof(float));
  if (w->g && w->v && w->x && w->e && w->de && w->e_plus && w->e_minus) return EBM_OK;
  return ebm_set_error(EBM_ERR_NOMEM, "out of memory for score matching's work arrays");
}

void train_score_work_free(train_score_work *w) {
  ebm_free(w->g);
  ebm_free(w->v);
  ebm_free(w->x);
  ebm_free(w->e);
  ebm_free(w->de);
  ebm_free(w->e_plus);
  ebm_free(w->e_minus);
}

/* ---------------------------------------------------------- the methods */

static void score_free(void *state) {
  score_state *s = state;
  if (!s) return;
  train_score_work_free(&s->w);
  ebm_free(s->x_noisy);
  ebm_free(s->sigma);
  free(s);
}

ebm_status train_check_noise_schedule(const ebm_train_config *cfg) {
  const ebm_noise_config *nc = &cfg->noise_levels;
  ebm_status st = ebm_noise_schedule_check(nc->levels, nc->sigma_min, nc->sigma_max);
  if (st != EBM_OK) return st;
  if (cfg->conditional)
    return ebm_set_error(EBM_ERR_ARG, "method %s fits an unconditional density: conditional must be off",
                         ebm_train_method_name(cfg->method));
  return EBM_OK;
}

static ebm_status score_init(ebm_trainer *t, void **state) {
  ebm_status st = train_mcmc_check_data(t);
  if (st != EBM_OK) return st;
  const int is_dsm = strcmp(t->method->name, "dsm") == 0, takes_sigma = ebm_net_needs_sigma(t->net);
  if (is_dsm && t->cfg.noise_levels.levels > 1 && !takes_sigma)
    return ebm_set_error(EBM_ERR_ARG, "dsm with %d levels needs a network that takes the noise level "
                         "(a cond_affine layer with \"sigma\": true)", t->cfg.noise_levels.levels);
  if (!is_dsm && takes_sigma)
    return ebm_set_error(EBM_ERR_ARG, "ssm fits one energy: the network must not take noise levels");
  const int64_t B = t->cfg.batch, D = t->item;
  score_state *s = calloc(1, sizeof *s);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for the score-matching state");
  *state = s;
  s->x_noisy = ebm_alloc((size_t)(B * D), sizeof(float));
  s->sigma = ebm_alloc((size_t)B, sizeof(float));
  if (!s->x_noisy || !s->sigma) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a dsm batch");
  if (takes_sigma) s->cond.sigma = s->sigma;
  if (is_dsm && takes_sigma) { /* sampled by annealed Langevin over the levels it was trained at */
    const ebm_noise_config *nc = &t->cfg.noise_levels;
    const ebm_recovery_config r = {.levels = nc->levels, .sigma_min = nc->sigma_min, .sigma_max = nc->sigma_max,
                                   .steps = t->cfg.sampler.steps, .step = nc->recovery_step,
                                   .kind = EBM_LEVELS_ANNEALED, .denoise = 1};
    ebm_recovery_config_format(&r, s->schedule, sizeof s->schedule);
  }
  return train_score_work_alloc(&s->w, B, D);
}

/* The common end of a step: the divergence checks, Adam, the stats. */
static ebm_status finish_step(ebm_trainer *t, double loss, const float *e, ebm_train_stats *stats) {
  const ebm_train_config *c = &t->cfg;
  const int64_t B = c->batch, step = t->step + 1;
  double e_mean = 0.0;
  for (int64_t i = 0; i < B; i++) e_mean += e[i];
  e_mean /= (double)B;
  if (c->inject_nan_at == step) loss = NAN; /* the divergence test hook */
  ebm_status st;
  if ((st = train_check_finite(e_mean, c->max_energy, step, "e_pos")) != EBM_OK ||
      (st = train_check_finite(loss, 0, step, "loss")) != EBM_OK)
    return st;
  double gnorm = 0;
  if ((st = train_adam_step(t->adam, ebm_train_lr(c, t->step), step, "grad_norm", &gnorm)) != EBM_OK) return st;
  stats->loss = loss;
  stats->e_pos = e_mean;
  stats->grad_norm = gnorm;
  return EBM_OK;
}

static double fd_step(const ebm_train_config *c) {
  return TRAIN_ICD_FD_STEP * (c->range_hi - c->range_lo);
}

static ebm_status dsm_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  score_state *s = state;
  const ebm_train_config *c = &t->cfg;
  const int64_t B = c->batch, D = t->item;
  train_next_data(t);
  ebm_rng_normal(&t->rng, s->x_noisy, B * D, 0.0f, 1.0f);
  for (int64_t i = 0; i < B; i++) {
    const int level = c->noise_levels.levels > 1 ? (int)ebm_rng_below(&t->rng, (uint32_t)c->noise_levels.levels) : 0;
    s->sigma[i] = train_sigma_at(&c->noise_levels, level);
    for (int64_t k = i * D; k < (i + 1) * D; k++) s->x_noisy[k] = t->x_pos[k] + s->sigma[i] * s->x_noisy[k];
  }
  ebm_net_spectral_update(t->net, c->spectral_iters);
  ebm_net_zero_grad(t->net);
  double loss = 0.0;
  ebm_status st = train_dsm_gradient(t->net, s->cond.sigma ? &s->cond : NULL, s->x_noisy, t->x_pos, s->sigma,
                                     B, D, fd_step(c), &s->w, &loss);
  if (st != EBM_OK) return train_divergence(st, t->step + 1, "the energy of the noisy data is not finite");
  return finish_step(t, loss, s->w.e, stats);
}

static ebm_status ssm_step(ebm_trainer *t, void *state, ebm_train_stats *stats) {
  score_state *s = state;
  const ebm_train_config *c = &t->cfg;
  const int64_t B = c->batch, D = t->item;
  train_next_data(t);
  /* v_i ~ N(0, I) as v̂_i (into x_noisy) and r_i = ‖v_i‖ (into sigma) */
  ebm_rng_normal(&t->rng, s->x_noisy, B * D, 0.0f, 1.0f);
  for (int64_t i = 0; i < B; i++) {
    double r2 = 0.0;
    for (int64_t k = i * D; k < (i + 1) * D; k++) r2 += (double)s->x_noisy[k] * s->x_noisy[k];
    s->sigma[i] = (float)sqrt(r2);
    for (int64_t k = i * D; k < (i + 1) * D; k++) s->x_noisy[k] = (float)(s->x_noisy[k] / s->sigma[i]);
  }
  ebm_net_spectral_update(t->net, c->spectral_iters);
  ebm_net_zero_grad(t->net);
  double loss = 0.0;
  ebm_status st = train_ssm_gradient(t->net, t->x_pos, s->x_noisy, s->sigma, B, D, fd_step(c),
                                     &s->w, &loss);
  if (st != EBM_OK) return train_divergence(st, t->step + 1, "the energy near the data is not finite");
  return finish_step(t, loss, s->w.e, stats);
}

/* The pictures show the data the energy was fitted at (dsm: noisy). */
static const float *score_samples(const ebm_trainer *t, const void *state, int64_t *n) {
  const score_state *s = state;
  *n = t->cfg.batch;
  return strcmp(t->method->name, "dsm") == 0 ? s->x_noisy : t->x_pos;
}

static int score_meta(const void *state, const char **keys, const char **values, int max) {
  const score_state *s = state;
  if (max < 1 || !s->schedule[0]) return 0;
  keys[0] = EBM_ANNEALED_META_KEY;
  values[0] = s->schedule;
  return 1;
}

#define NOISE_ROW(name_, type_, field, metavar_, help_, def_)                                       \
  {.name = name_, .type = type_, .offset = offsetof(ebm_train_config, noise_levels.field),          \
   .size = sizeof(((ebm_train_config *)0)->noise_levels.field), .metavar = metavar_, .help = help_, \
   .flags = EBM_SETTING_IDENTITY, .def = def_}
/* The σ schedule of dsm and recovery (one set of rows: the names are global). */
static const ebm_train_setting noise_settings[] = {
    NOISE_ROW("levels", EBM_SETTING_INT, levels, "T", "dsm / recovery: noise levels", "1"),
    NOISE_ROW("sigma-min", EBM_SETTING_FLOAT, sigma_min, "S", "dsm / recovery: the smallest noise σ (one level: the σ)", "0.1"),
    NOISE_ROW("sigma-max", EBM_SETTING_FLOAT, sigma_max, "S", "dsm / recovery: the largest noise σ (geometric schedule)", "1"),
};
#undef NOISE_ROW

const train_method train_method_dsm = {
    .name = "dsm",
    .summary = "denoising score matching at one or several noise levels (no negatives)",
    .needs = TRAIN_ENERGY_NET,
    .settings = noise_settings,
    .nsettings = (int)(sizeof noise_settings / sizeof *noise_settings),
    .check = train_check_noise_schedule,
    .init = score_init,
    .step = dsm_step,
    .samples = score_samples,
    .meta = score_meta,
    .free = score_free,
};

const train_method train_method_ssm = {
    .name = "ssm",
    .summary = "sliced score matching, one random projection per item (no negatives)",
    .needs = TRAIN_ENERGY_NET,
    .check = train_check_noise_schedule,
    .init = score_init,
    .step = ssm_step,
    .samples = score_samples,
    .free = score_free,
};
