/* Annealed importance sampling (Neal 2001) for log Z of an energy, forward
 * from a normalised base and in reverse from data (RAISE-style, Burda et al.
 * 2015), as Du & Mordatch A.3 use to bound the likelihood of EBMs from both
 * sides. The MCMC transitions are the sample layer's MALA / HMC on the
 * annealed energy E_β = (1−β)E₀ + βE (ebm_anneal_energy_new); the weights
 * are accumulated in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/eval.h"
#include "eval/eval_internal.h"

/* Chains are annealed in blocks of at most this many floats (bounded
 * memory: the sampler keeps five copies of the chains, 16 MB each at most);
 * blocks are independent AIS runs whose weights are pooled. */
#define AIS_BLOCK_FLOATS ((int64_t)1 << 22)

ebm_ais_config ebm_ais_defaults(void) {
  ebm_ais_config c;
  memset(&c, 0, sizeof c);
  c.chains = 100;
  c.steps = 1000;
  c.schedule = "sigmoid";
  c.sampler = EBM_SAMPLER_MALA;
  c.transitions = 1;
  c.step_size = 0.0f;
  c.leapfrog_steps = 10;
  c.target_accept = 0.574f;
  c.logit = 1;
  c.temperature = 1.0;
  return c;
}

/* The state of one run: the β schedule, the chains of one block, the path
 * energy and its sampler, all allocated before the first step. */
typedef struct {
  const ebm_energy *model;
  const ebm_ais_base *base;
  ebm_ais_config cfg;
  int64_t dim, block;
  double *betas;           /* T + 1 */
  float *eps_sched;        /* ε used at each β (carried from block to block) */
  float *x, *e0, *e1;      /* block × dim, block, block */
  ebm_sample_stats *stats; /* transitions */
  ebm_energy *tempered;    /* E/T when T ≠ 1, else NULL */
  ebm_energy *path;
  ebm_energy *walk;        /* what the sampler moves on: path, or path in logit coordinates */
  float *u;                /* logit coordinates of x (block × dim), or NULL */
  ebm_sampler *sampler;
  double accept_sum;
  int64_t accept_count;
} ais_state;

static void ais_state_free(ais_state *s) {
  ebm_sampler_free(s->sampler);
  if (s->walk != s->path) ebm_energy_free(s->walk); /* before the path it borrows */
  ebm_energy_free(s->path);
  ebm_energy_free(s->tempered);
  ebm_free(s->u);
  free(s->betas);
  free(s->eps_sched);
  ebm_free(s->x);
  ebm_free(s->e0);
  ebm_free(s->e1);
  free(s->stats);
}

static ebm_status ais_state_init(ais_state *s, const ebm_energy *model, const ebm_ais_base *base,
                                 const ebm_ais_config *cfg, int64_t n) {
  ebm_status st;
  memset(s, 0, sizeof *s);
  if (!model || !base || !cfg) return ebm_set_error(EBM_ERR_ARG, "AIS: model, base and config are required");
  if (model->num_classes > 0)
    return ebm_set_error(EBM_ERR_UNSUPPORTED, "AIS: %s is class-conditional; log Z of p(x, y) "
                         "is not supported", model->name);
  const ebm_energy *e0 = ebm_ais_base_energy(base);
  if (ebm_energy_item_size(e0) != ebm_energy_item_size(model))
    return ebm_set_error(EBM_ERR_SHAPE, "AIS: the base has %lld elements per item, %s has %lld",
                         (long long)ebm_energy_item_size(e0), model->name,
                         (long long)ebm_energy_item_size(model));
  if (n < 1) return ebm_set_error(EBM_ERR_ARG, "AIS: chains must be >= 1, got %lld", (long long)n);
  if (cfg->steps < 1) return ebm_set_error(EBM_ERR_ARG, "AIS: steps must be >= 1, got %d", cfg->steps);
  if (cfg->sampler != EBM_SAMPLER_MALA && cfg->sampler != EBM_SAMPLER_HMC)
    return ebm_set_error(EBM_ERR_ARG, "AIS: the sampler must be mala or hmc (exact for each "
                         "intermediate distribution), got %s", ebm_sampler_name(cfg->sampler));
  if (cfg->transitions < 1)
    return ebm_set_error(EBM_ERR_ARG, "AIS: transitions must be >= 1, got %d", cfg->transitions);
  if (!(cfg->step_size >= 0.0f) || !isfinite(cfg->step_size))
    return ebm_set_error(EBM_ERR_ARG, "AIS: step_size must be >= 0 (0 = automatic), got %g",
                         (double)cfg->step_size);
  if (!(cfg->target_accept >= 0.0f && cfg->target_accept < 1.0f))
    return ebm_set_error(EBM_ERR_ARG, "AIS: target_accept must be in [0, 1) (0 = fixed step), got %g",
                         (double)cfg->target_accept);
  if (!(cfg->temperature > 0.0) || !isfinite(cfg->temperature))
    return ebm_set_error(EBM_ERR_ARG, "AIS: temperature must be > 0, got %g", cfg->temperature);
  s->model = model;
  s->base = base;
  s->cfg = *cfg;
  s->dim = ebm_energy_item_size(model);
  const int64_t max_block = AIS_BLOCK_FLOATS / s->dim > 0 ? AIS_BLOCK_FLOATS / s->dim : 1;
  s->block = n < max_block ? n : max_block;
  const int T = cfg->steps;
  s->betas = malloc((size_t)(T + 1) * sizeof *s->betas);
  s->eps_sched = malloc((size_t)(T + 1) * sizeof *s->eps_sched);
  s->x = ebm_alloc((size_t)(s->block * s->dim), sizeof(float));
  s->e0 = ebm_alloc((size_t)s->block, sizeof(float));
  s->e1 = ebm_alloc((size_t)s->block, sizeof(float));
  s->stats = malloc((size_t)cfg->transitions * sizeof *s->stats);
  if (!s->betas || !s->eps_sched || !s->x || !s->e0 || !s->e1 || !s->stats) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for AIS with %lld chains of %lld elements",
                       (long long)s->block, (long long)s->dim);
    goto fail;
  }
  if ((st = ebm_beta_schedule(cfg->schedule ? cfg->schedule : "sigmoid", T, s->betas)) != EBM_OK) goto fail;
  if (cfg->temperature != 1.0) {
    if ((st = eval_scaled_energy_new(model, cfg->temperature, &s->tempered)) != EBM_OK) goto fail;
    s->model = s->tempered; /* weights and transitions both see E/T */
  }
  if ((st = ebm_anneal_energy_new(e0, s->model, &s->path)) != EBM_OK) goto fail;
  s->walk = s->path;
  if (cfg->logit && s->path->range_lo < s->path->range_hi) {
    if ((st = eval_logit_energy_new(s->path, s->path->range_lo, s->path->range_hi, s->block, &s->walk)) != EBM_OK)
      goto fail;
    if (!(s->u = ebm_alloc((size_t)(s->block * s->dim), sizeof(float)))) {
      st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for AIS chains");
      goto fail;
    }
  }

  float eps = cfg->step_size;
  if (eps == 0.0f) {
    /* Optimal scalings on product targets: MALA ε ∝ D^{-1/6} (Roberts &
     * Rosenthal 1998), HMC ε ∝ D^{-1/4} (Beskos et al. 2013), in units of the
     * base's spread in the sampler's coordinates (sampled here: the mean
     * per-element std of 256 draws). */
    ebm_rng probe;
    ebm_rng_init(&probe, 0x5eed);
    int64_t m = s->block < 256 ? s->block : 256;
    ebm_ais_base_sample(base, &probe, m, s->x);
    const float *v = s->x;
    if (s->u) {
      eval_x_to_logit(s->walk, s->x, m, s->u);
      v = s->u;
    }
    double spread = 0.0;
    for (int64_t k = 0; k < s->dim && m > 1; k++) {
      double a = 0, b = 0;
      for (int64_t i = 0; i < m; i++) a += v[i * s->dim + k];
      a /= (double)m;
      for (int64_t i = 0; i < m; i++) b += (v[i * s->dim + k] - a) * (v[i * s->dim + k] - a);
      spread += sqrt(b / (double)(m - 1));
    }
    spread = m > 1 && spread > 0.0 ? spread / (double)s->dim : 1.0;
    double power = cfg->sampler == EBM_SAMPLER_HMC ? -0.25 : -1.0 / 6.0;
    eps = (float)(spread * pow((double)s->dim, power));
  }
  for (int t = 0; t <= T; t++) s->eps_sched[t] = eps;

  ebm_sampler_config sc = ebm_sampler_defaults(cfg->sampler);
  sc.steps = cfg->transitions;
  sc.step_size = eps;
  sc.leapfrog_steps = cfg->leapfrog_steps;
  sc.adapt_steps = 0;
  sc.clamp = 1;
  if ((st = ebm_sampler_new(s->walk, &sc, s->block, &s->sampler)) != EBM_OK) goto fail;
  return EBM_OK;
fail:
  ais_state_free(s);
  return st;
}

/* E₀ and E at the chains (e0, e1), every value finite. */
static ebm_status ais_energies(ais_state *s, int64_t n, double beta) {
  ebm_status st;
  if ((st = ebm_energy_eval(ebm_ais_base_energy(s->base), s->x, NULL, n, s->e0, NULL)) != EBM_OK) return st;
  if ((st = ebm_energy_eval(s->model, s->x, NULL, n, s->e1, NULL)) != EBM_OK) return st;
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(s->e0[i]) || !isfinite(s->e1[i]))
      return ebm_set_error(EBM_ERR_NUMERIC, "AIS: %s is %g at chain %lld (beta %g)",
                           isfinite(s->e1[i]) ? "the base energy" : s->model->name,
                           (double)(isfinite(s->e1[i]) ? s->e0[i] : s->e1[i]), (long long)i, beta);
  return EBM_OK;
}

/* `transitions` MCMC steps leaving p_β invariant (index t of the schedule),
 * then ε moves toward the target acceptance. The adapted ε replaces this
 * β's entry (the next block starts from it) and, when `next` ≥ 0 (the first
 * block), seeds the next β the chains move to. */
static ebm_status ais_transition(ais_state *s, int64_t n, int t, int next, ebm_rng *rng) {
  ebm_status st;
  ebm_anneal_energy_set_beta(s->path, s->betas[t]);
  ebm_sampler_set_step_size(s->sampler, s->eps_sched[t]);
  if (s->u) {
    if ((st = ebm_sampler_run(s->sampler, s->u, NULL, n, rng, s->stats, NULL)) != EBM_OK) return st;
    eval_logit_to_x(s->walk, s->u, n, s->x);
  } else if ((st = ebm_sampler_run(s->sampler, s->x, NULL, n, rng, s->stats, NULL)) != EBM_OK) {
    return st;
  }
  double a = 0.0;
  for (int k = 0; k < s->cfg.transitions; k++) a += s->stats[k].accept_rate;
  a /= s->cfg.transitions;
  s->accept_sum += a;
  s->accept_count++;
  if (s->cfg.target_accept > 0.0f) {
    /* A multiplicative Robbins–Monro step on log ε. */
    float adapted = (float)(s->eps_sched[t] * exp(a - (double)s->cfg.target_accept));
    s->eps_sched[t] = adapted;
    if (next >= 0) s->eps_sched[next] = adapted;
  }
  return EBM_OK;
}

/* One block of n chains, forward (x from the base) or reverse (x given);
 * adds its log-weights into log_w[0..n). */
static ebm_status ais_block(ais_state *s, int reverse, int first, int64_t n, ebm_rng *rng,
                            double *log_w, int64_t progress0, int64_t progress_total,
                            ebm_ais_step_fn cb, void *ctx) {
  ebm_status st;
  const int T = s->cfg.steps;
  for (int k = 0; k < T; k++) {
    /* forward: t = k+1 uses x_{t−1} ~ p_{t−1}; reverse: t = T−k uses x ~ p_t */
    int t = reverse ? T - k : k + 1;
    const double dbeta = s->betas[t] - s->betas[t - 1];
    if ((st = ais_energies(s, n, s->betas[reverse ? t : t - 1])) != EBM_OK) return st;
    for (int64_t i = 0; i < n; i++) {
      double diff = (double)s->e0[i] - (double)s->e1[i];
      log_w[i] += reverse ? -dbeta * diff : dbeta * diff;
    }
    /* forward: move to p_t (not needed after the last weight); reverse: to p_{t−1} */
    int move_to = reverse ? t - 1 : t, after = reverse ? move_to - 1 : move_to + 1;
    if ((reverse ? t > 1 : t < T) &&
        (st = ais_transition(s, n, move_to, first ? after : -1, rng)) != EBM_OK)
      return st;
    if (cb)
      cb(ctx, (int)(progress0 + k + 1), (int)progress_total,
         s->accept_count ? s->accept_sum / (double)s->accept_count : 1.0,
         ebm_sampler_step_size(s->sampler));
  }
  return EBM_OK;
}

static void ais_finish(const ais_state *s, const double *log_w, int64_t n, int reverse,
                       ebm_ais_result *res) {
  double lm, se, ess;
  ebm_log_weight_stats(log_w, n, &lm, &se, &ess);
  res->log_z_base = ebm_ais_base_log_z(s->base);
  res->log_z = reverse ? res->log_z_base - lm : res->log_z_base + lm;
  res->log_z_se = se;
  res->ess = ess;
  res->chains = n;
  res->accept_rate = s->accept_count ? s->accept_sum / (double)s->accept_count : 1.0;
  res->step_size = ebm_sampler_step_size(s->sampler);
}

static ebm_status ais_run(const ebm_energy *model, const ebm_ais_base *base,
                          const ebm_ais_config *cfg, const float *data, int64_t n, ebm_rng *rng,
                          double *log_w, ebm_ais_result *res, ebm_ais_step_fn cb, void *ctx) {
  ais_state s;
  ebm_status st;
  if (!rng || !res) return ebm_set_error(EBM_ERR_ARG, "AIS: rng and result are required");
  if ((st = ais_state_init(&s, model, base, cfg, n)) != EBM_OK) return st;
  double *w = log_w ? log_w : malloc((size_t)n * sizeof *w);
  if (!w) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld AIS weights", (long long)n);
    goto done;
  }
  for (int64_t i = 0; i < n; i++) w[i] = 0.0;
  const int reverse = data != NULL;
  const int64_t nblocks = (n + s.block - 1) / s.block;
  for (int64_t b = 0; b < nblocks; b++) {
    int64_t start = b * s.block, count = n - start < s.block ? n - start : s.block;
    if (reverse) memcpy(s.x, data + start * s.dim, (size_t)(count * s.dim) * sizeof(float));
    else ebm_ais_base_sample(base, rng, count, s.x);
    if (s.u) { /* the chain state is u; x = x(u) (equal to x but on the walls) */
      eval_x_to_logit(s.walk, s.x, count, s.u);
      eval_logit_to_x(s.walk, s.u, count, s.x);
    }
    if ((st = ais_block(&s, reverse, b == 0, count, rng, w + start, b * cfg->steps, nblocks * cfg->steps, cb,
                        ctx)) != EBM_OK)
      goto done;
  }
  ais_finish(&s, w, n, reverse, res);
done:
  if (w != log_w) free(w);
  ais_state_free(&s);
  return st;
}

ebm_status ebm_ais_forward(const ebm_energy *model, const ebm_ais_base *base,
                           const ebm_ais_config *cfg, ebm_rng *rng, double *log_w,
                           ebm_ais_result *res, ebm_ais_step_fn cb, void *cb_ctx) {
  if (!cfg) return ebm_set_error(EBM_ERR_ARG, "AIS: no config");
  return ais_run(model, base, cfg, NULL, cfg->chains, rng, log_w, res, cb, cb_ctx);
}

ebm_status ebm_ais_reverse(const ebm_energy *model, const ebm_ais_base *base,
                           const ebm_ais_config *cfg, const float *x, int64_t n, ebm_rng *rng,
                           double *log_w, ebm_ais_result *res, ebm_ais_step_fn cb, void *cb_ctx) {
  if (!x || n < 1) return ebm_set_error(EBM_ERR_ARG, "reverse AIS: needs at least one starting item");
  if (!base || !model) return ebm_set_error(EBM_ERR_ARG, "AIS: model, base and config are required");
  /* The chains must start where the annealed densities live. */
  const ebm_energy *e0 = ebm_ais_base_energy(base);
  const ebm_energy *ranged = model->range_lo < model->range_hi ? model : e0;
  const int has_box = ranged->range_lo < ranged->range_hi;
  const int64_t dim = ebm_energy_item_size(model);
  for (int64_t k = 0; k < n * dim; k++)
    if (!isfinite(x[k]) || (has_box && (x[k] < ranged->range_lo || x[k] > ranged->range_hi)))
      return ebm_set_error(EBM_ERR_ARG, "reverse AIS: item %lld element %lld is %g, outside [%g, %g]",
                           (long long)(k / dim), (long long)(k % dim), (double)x[k],
                           has_box ? (double)ranged->range_lo : -INFINITY,
                           has_box ? (double)ranged->range_hi : INFINITY);
  return ais_run(model, base, cfg, x, n, rng, log_w, res, cb, cb_ctx);
}
