/* The sampler object: configuration defaults and checks, buffers sized once
 * in ebm_sampler_new, and the run loop with step-size adaptation during
 * warm-up. The step kernels live in steps_langevin.c / steps_hamiltonian.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample/sampler_internal.h"

static const char *const sampler_names[EBM_SAMPLER_COUNT] = {"langevin", "ula", "mala", "hmc",
                                                            "kinetic"};

const char *ebm_sampler_name(ebm_sampler_kind kind) {
  return (unsigned)kind < EBM_SAMPLER_COUNT ? sampler_names[kind] : "unknown";
}

int ebm_sampler_from_name(const char *name) {
  if (!name) return -1;
  for (int k = 0; k < EBM_SAMPLER_COUNT; k++)
    if (strcmp(name, sampler_names[k]) == 0) return k;
  return -1;
}

ebm_sampler_config ebm_sampler_defaults(ebm_sampler_kind kind) {
  ebm_sampler_config c;
  memset(&c, 0, sizeof c);
  c.kind = kind;
  c.steps = 100;
  c.step_size = 0.1f;
  c.noise = 0.005f;
  c.grad_clip = 0.0f;
  c.temperature = 1.0f;
  c.clamp = 1;
  c.leapfrog_steps = 10;
  c.friction = 1.0f;
  c.adapt_steps = 0;
  c.target_accept = 0.0f;
  switch (kind) {
    case EBM_SAMPLER_LANGEVIN:
      /* Du & Mordatch A.11: 60 steps, step size 10, noise 0.005, clip 0.01. */
      c.steps = 60;
      c.step_size = 10.0f;
      c.grad_clip = 0.01f;
      break;
    case EBM_SAMPLER_MALA:
      /* Roberts & Rosenthal (1998): the optimal MALA acceptance is 0.574. */
      c.target_accept = 0.574f;
      break;
    case EBM_SAMPLER_HMC:
      /* Beskos et al. (2013): 0.651 is optimal for HMC; Stan targets 0.65-0.8. */
      c.target_accept = 0.65f;
      break;
    default: break;
  }
  return c;
}

static int finite_at_least(float v, float min, int strict) {
  return isfinite(v) && (strict ? v > min : v >= min);
}

ebm_status ebm_sampler_config_check(const ebm_sampler_config *c) {
  if (!c) return ebm_set_error(EBM_ERR_ARG, "sampler config is NULL");
  if ((unsigned)c->kind >= EBM_SAMPLER_COUNT)
    return ebm_set_error(EBM_ERR_ARG, "sampler kind %d is not in 0..%d", (int)c->kind,
                         EBM_SAMPLER_COUNT - 1);
  if (c->steps < 0) return ebm_set_error(EBM_ERR_ARG, "steps must be >= 0, got %d", c->steps);
  /* The IGEBM form may run with λ = 0 (noise only); the others need ε > 0. */
  int strict = c->kind != EBM_SAMPLER_LANGEVIN;
  if (!finite_at_least(c->step_size, 0.0f, strict))
    return ebm_set_error(EBM_ERR_ARG, "step_size must be %s 0, got %g", strict ? ">" : ">=",
                         (double)c->step_size);
  if (!finite_at_least(c->noise, 0.0f, 0))
    return ebm_set_error(EBM_ERR_ARG, "noise must be >= 0, got %g", (double)c->noise);
  if (!finite_at_least(c->grad_clip, 0.0f, 0))
    return ebm_set_error(EBM_ERR_ARG, "grad_clip must be >= 0 (0 = off), got %g",
                         (double)c->grad_clip);
  if (!finite_at_least(c->temperature, 0.0f, 1))
    return ebm_set_error(EBM_ERR_ARG, "temperature must be > 0, got %g", (double)c->temperature);
  if (c->kind == EBM_SAMPLER_HMC && c->leapfrog_steps < 1)
    return ebm_set_error(EBM_ERR_ARG, "leapfrog_steps must be >= 1, got %d", c->leapfrog_steps);
  if (c->kind == EBM_SAMPLER_KINETIC && !finite_at_least(c->friction, 0.0f, 0))
    return ebm_set_error(EBM_ERR_ARG, "friction must be >= 0, got %g", (double)c->friction);
  if (c->adapt_steps < 0)
    return ebm_set_error(EBM_ERR_ARG, "adapt_steps must be >= 0, got %d", c->adapt_steps);
  if (c->adapt_steps > 0) {
    if (c->kind != EBM_SAMPLER_MALA && c->kind != EBM_SAMPLER_HMC)
      return ebm_set_error(EBM_ERR_ARG, "adapt_steps needs an adjusted sampler (mala, hmc), not %s",
                           ebm_sampler_name(c->kind));
    if (!(c->target_accept > 0.0f && c->target_accept < 1.0f))
      return ebm_set_error(EBM_ERR_ARG, "target_accept must be in (0, 1), got %g",
                           (double)c->target_accept);
  }
  return EBM_OK;
}

void ebm_sampler_free(ebm_sampler *s) {
  if (!s) return;
  ebm_free(s->grad);
  ebm_free(s->prop);
  ebm_free(s->grad_prop);
  ebm_free(s->noise);
  ebm_free(s->mom);
  ebm_free(s->last_x);
  ebm_free(s->e);
  ebm_free(s->e_prop);
  ebm_free(s->u);
  ebm_free(s->eps_chain);
  ebm_free(s->log_alpha);
  ebm_free(s->gnorm);
  ebm_free(s->accepted);
  sampler_groups_free(s);
  free(s);
}

ebm_status ebm_sampler_new(const ebm_energy *en, const ebm_sampler_config *cfg, int64_t max_n,
                           ebm_sampler **out) {
  ebm_status st = EBM_OK;
  ebm_sampler *s = NULL;
  *out = NULL;
  if (!en || !en->eval) return ebm_set_error(EBM_ERR_ARG, "sampler: energy is NULL");
  if ((st = ebm_sampler_config_check(cfg)) != EBM_OK) return st;
  int64_t dim = ebm_energy_item_size(en);
  if (dim < 1) return ebm_set_error(EBM_ERR_SHAPE, "%s: items have no elements", en->name);
  if (max_n < 1 || max_n > INT64_MAX / dim / (int64_t)sizeof(float))
    return ebm_set_error(EBM_ERR_ARG, "sampler: max_n must be in 1..%lld, got %lld",
                         (long long)(INT64_MAX / dim / (int64_t)sizeof(float)), (long long)max_n);
  s = calloc(1, sizeof *s);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a sampler");
  s->en = en;
  s->cfg = *cfg;
  s->max_n = max_n;
  s->dim = dim;
  s->min_chunk = SAMPLER_MIN_CHUNK_FLOATS / dim > 0 ? SAMPLER_MIN_CHUNK_FLOATS / dim : 1;
  int has_range = en->range_lo < en->range_hi;
  s->lo = cfg->clamp && has_range ? en->range_lo : -INFINITY;
  s->hi = cfg->clamp && has_range ? en->range_hi : INFINITY;
  s->clip = cfg->grad_clip > 0.0f ? cfg->grad_clip : INFINITY;
  s->eps = cfg->step_size;
  const char *chains = getenv("EBM_CHAINS");
  s->schedule = chains && strcmp(chains, "stepwise") == 0  ? EBM_CHAINS_STEPWISE
                : chains && strcmp(chains, "grouped") == 0 ? EBM_CHAINS_GROUPED
                                                           : EBM_CHAINS_AUTO;
  size_t big = (size_t)(max_n * dim), small = (size_t)max_n;
  s->grad = ebm_alloc(big, sizeof(float));
  s->prop = ebm_alloc(big, sizeof(float));
  s->grad_prop = ebm_alloc(big, sizeof(float));
  s->noise = ebm_alloc(big, sizeof(float));
  s->mom = ebm_alloc(big, sizeof(float));
  s->last_x = ebm_alloc(big, sizeof(float));
  s->e = ebm_alloc(small, sizeof(float));
  s->e_prop = ebm_alloc(small, sizeof(float));
  s->u = ebm_alloc(small, sizeof(float));
  s->eps_chain = ebm_alloc(small, sizeof(float));
  s->log_alpha = ebm_alloc(small, sizeof(double));
  s->gnorm = ebm_alloc(small, sizeof(double));
  s->accepted = ebm_alloc(small, 1);
  if (!s->grad || !s->prop || !s->grad_prop || !s->noise || !s->mom || !s->last_x || !s->e ||
      !s->e_prop || !s->u || !s->eps_chain || !s->log_alpha || !s->gnorm || !s->accepted) {
    st = EBM_ERR_NOMEM;
    goto fail;
  }
  *out = s;
  return EBM_OK;
fail:
  ebm_sampler_free(s);
  return st;
}

float ebm_sampler_step_size(const ebm_sampler *s) { return s->eps; }

void ebm_sampler_set_step_size(ebm_sampler *s, float step_size) {
  if (s && isfinite(step_size) && step_size > 0.0f) s->eps = step_size;
}

ebm_status sampler_eval_current(ebm_sampler *s, const float *x, const ebm_cond *cond, int64_t n) {
  return ebm_energy_eval(s->en, x, cond, n, s->e, s->grad);
}

void sampler_summarise(const ebm_sampler *s, const float *e, int64_t n, int adjusted,
                       sampler_step_result *r) {
  double se = 0, sg = 0, sa = 0, sp = 0;
  for (int64_t i = 0; i < n; i++) {
    se += e[i];
    sg += s->gnorm[i];
    if (adjusted) {
      sa += s->accepted[i];
      /* min(1, α) with NaN (a broken proposal) counting as 0 */
      double la = s->log_alpha[i];
      sp += la >= 0.0 ? 1.0 : (la < 0.0 ? exp(la) : 0.0);
    }
  }
  double inv = n > 0 ? 1.0 / (double)n : 0.0;
  r->mean_energy = se * inv;
  r->grad_norm = sg * inv;
  r->accept_rate = adjusted ? sa * inv : 1.0;
  r->accept_prob = adjusted ? sp * inv : 1.0;
}

/* Dual averaging of log ε toward a target acceptance (Hoffman & Gelman 2014,
 * "The No-U-Turn Sampler", §3.2.1, with their γ = 0.05, t0 = 10, κ = 0.75).
 * One ε is shared by all chains and driven by their mean acceptance
 * probability, which averages out most of the noise of a single chain. */
typedef struct {
  double mu, h_bar, log_eps_bar;
  int m;
} dual_averaging;

static void dual_averaging_init(dual_averaging *da, double eps0) {
  da->mu = log(10.0 * eps0); /* bias toward larger steps, as Hoffman & Gelman */
  da->h_bar = 0.0;
  da->log_eps_bar = 0.0;
  da->m = 0;
}

/* Returns the next ε after observing acceptance probability `alpha`. */
static double dual_averaging_update(dual_averaging *da, double target, double alpha) {
  const double gamma = 0.05, t0 = 10.0, kappa = 0.75;
  da->m++;
  double m = (double)da->m, w = 1.0 / (m + t0);
  da->h_bar = (1.0 - w) * da->h_bar + w * (target - alpha);
  double log_eps = da->mu - sqrt(m) / gamma * da->h_bar;
  double mk = pow(m, -kappa);
  da->log_eps_bar = mk * log_eps + (1.0 - mk) * da->log_eps_bar;
  return exp(log_eps);
}

ebm_status ebm_sampler_run_cb(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n,
                              ebm_rng *rng, ebm_sample_stats *stats, float *final_energy,
                              ebm_sample_step_fn cb, void *cb_ctx) {
  ebm_status st = EBM_OK;
  const ebm_sampler_config *c = &s->cfg;
  if (n < 0 || n > s->max_n)
    return ebm_set_error(EBM_ERR_ARG, "sampler: %lld chains, but it was built for at most %lld",
                         (long long)n, (long long)s->max_n);
  if (n == 0) return EBM_OK;
  if (!x || !rng) return ebm_set_error(EBM_ERR_ARG, "sampler: x and rng must not be NULL");
  const int32_t *y = cond ? cond->labels : NULL;
  if (y && s->en->num_classes == 0)
    return ebm_set_error(EBM_ERR_ARG, "%s: labels given to an unconditional energy", s->en->name);
  if (y)
    for (int64_t i = 0; i < n; i++)
      if (y[i] < 0 || y[i] >= s->en->num_classes)
        return ebm_set_error(EBM_ERR_ARG, "%s: label %d of chain %lld is not in 0..%d",
                             s->en->name, y[i], (long long)i, s->en->num_classes - 1);
  if (cond && cond->sigma)
    for (int64_t i = 0; i < n; i++)
      if (!(cond->sigma[i] > 0.0f) || !isfinite(cond->sigma[i]))
        return ebm_set_error(EBM_ERR_ARG, "%s: noise level %g of chain %lld is not a positive number",
                             s->en->name, (double)cond->sigma[i], (long long)i);
  ebm_status (*step)(ebm_sampler *, float *, const ebm_cond *, int64_t, ebm_rng *,
                     sampler_step_result *) = NULL;
  switch (c->kind) {
    case EBM_SAMPLER_LANGEVIN: step = sampler_step_langevin; break;
    case EBM_SAMPLER_ULA: step = sampler_step_ula; break;
    case EBM_SAMPLER_MALA: step = sampler_step_mala; break;
    case EBM_SAMPLER_HMC: step = sampler_step_hmc; break;
    case EBM_SAMPLER_KINETIC: step = sampler_step_kinetic; break;
    default: return ebm_set_error(EBM_ERR_INTERNAL, "sampler: bad kind %d", (int)c->kind);
  }
  int carries_state = c->kind == EBM_SAMPLER_MALA || c->kind == EBM_SAMPLER_HMC ||
                      c->kind == EBM_SAMPLER_KINETIC;
  if (carries_state && (st = sampler_eval_current(s, x, cond, n)) != EBM_OK) return st;
  if (c->kind == EBM_SAMPLER_KINETIC) /* a fresh velocity per run, carried across its steps */
    ebm_rng_normal(rng, s->mom, n * s->dim, 0.0f, 1.0f);

  s->last_n = 0;
  if (c->kind == EBM_SAMPLER_LANGEVIN && !cb) {
    int ran = 0;
    if ((st = sampler_run_grouped(s, x, cond, n, rng, stats, &ran)) != EBM_OK) return st;
    if (ran) {
      s->last_n = n;
      return final_energy ? ebm_energy_eval(s->en, x, cond, n, final_energy, NULL) : EBM_OK;
    }
  }
  int adapting = c->adapt_steps > 0;
  dual_averaging da;
  dual_averaging_init(&da, s->eps);
  for (int k = 0; k < c->steps; k++) {
    sampler_step_result r;
    s->record_last = k == c->steps - 1;
    if ((st = step(s, x, cond, n, rng, &r)) == EBM_ERR_NUMERIC) {
      /* A network energy that met NaN/Inf names the layer that produced it. */
      char detail[256];
      snprintf(detail, sizeof detail, "%s", ebm_last_error());
      return ebm_set_error(EBM_ERR_NUMERIC, "%s: %s sampler diverged at step %d (%s); lower the step size",
                           s->en->name, ebm_sampler_name(c->kind), k, detail);
    }
    if (st != EBM_OK) return st;
    if (!isfinite(r.mean_energy))
      return ebm_set_error(EBM_ERR_NUMERIC,
                           "%s: %s sampler diverged at step %d (mean energy %g); lower the step size",
                           s->en->name, ebm_sampler_name(c->kind), k, r.mean_energy);
    if (adapting && k < c->adapt_steps) {
      s->eps = (float)dual_averaging_update(&da, c->target_accept, r.accept_prob);
      if (k == c->adapt_steps - 1) s->eps = (float)exp(da.log_eps_bar); /* then fixed */
    }
    ebm_sample_stats one = {(float)r.mean_energy, (float)r.grad_norm, (float)r.accept_rate, s->eps};
    if (stats) stats[k] = one;
    if (cb) cb(cb_ctx, k, x, n, &one);
  }
  if (c->steps > 0 && (c->kind == EBM_SAMPLER_LANGEVIN || c->kind == EBM_SAMPLER_ULA)) s->last_n = n;
  if (final_energy) {
    if (carries_state) memcpy(final_energy, s->e, (size_t)n * sizeof(float));
    else if ((st = ebm_energy_eval(s->en, x, cond, n, final_energy, NULL)) != EBM_OK) return st;
  }
  return EBM_OK;
}

ebm_status ebm_sampler_last_step(const ebm_sampler *s, ebm_last_step *out) {
  memset(out, 0, sizeof *out);
  if (s->cfg.kind != EBM_SAMPLER_LANGEVIN && s->cfg.kind != EBM_SAMPLER_ULA)
    return ebm_set_error(EBM_ERR_ARG, "the last step of a %s sampler is not a gradient step (langevin, ula)",
                         ebm_sampler_name(s->cfg.kind));
  if (s->last_n == 0) return ebm_set_error(EBM_ERR_ARG, "the sampler has not run a step yet");
  out->x = s->last_x;
  out->grad = s->grad;
  out->n = s->last_n;
  /* LANGEVIN: x − λ·clip(g/T); ULA: x − (ε²/2)·clip(g/T) + ε·ξ (the noise does not depend on θ) */
  out->lambda = s->cfg.kind == EBM_SAMPLER_LANGEVIN ? s->cfg.step_size : (float)(0.5 * (double)s->eps * s->eps);
  out->inv_temperature = 1.0f / s->cfg.temperature;
  out->clip = s->clip;
  out->lo = s->lo;
  out->hi = s->hi;
  return EBM_OK;
}

ebm_status ebm_sampler_run(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n, ebm_rng *rng,
                           ebm_sample_stats *stats, float *final_energy) {
  return ebm_sampler_run_cb(s, x, cond, n, rng, stats, final_energy, NULL, NULL);
}
