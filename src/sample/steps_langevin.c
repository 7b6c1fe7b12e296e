/* First-order Langevin steps: the IGEBM practical form, textbook ULA, and
 * MALA (ULA's proposal + a Metropolis–Hastings correction).
 *
 * With U = E/T the target is p(x) ∝ exp(−U(x)). Each step is: noise fill
 * (ebm_rng, thread-count independent), one energy + gradient evaluation on
 * the whole batch (the energy parallelises itself), and per-chain updates
 * split over the pool. Every update is a function of its own chain only,
 * so results do not depend on the number of threads. */
#include <math.h>
#include <string.h>

#include "sample/sampler_internal.h"

/* x ← clamp(x + σξ), the first half of a Du & Mordatch step (noise already
 * scaled by σ). x, noise are (n, D). */
void sampler_langevin_add_noise(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  sampler_job *j = ctx;
  const ebm_sampler *s = j->s;
  const float lo = s->lo, hi = s->hi;
  float *restrict x = j->x + begin * s->dim;
  const float *restrict xi = s->noise + begin * s->dim;
  for (int64_t k = 0, m = (end - begin) * s->dim; k < m; k++) x[k] = sampler_clamp(x[k] + xi[k], lo, hi);
}

/* x ← clamp(x − λ·clip(∇E/T, c)), the second half; also ‖∇E‖ per chain.
 * a = λ, b = 1/T. x, grad are (n, D). */
void sampler_langevin_descend(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  sampler_job *j = ctx;
  ebm_sampler *s = j->s;
  const int64_t D = s->dim;
  const float lambda = (float)j->a, inv_t = (float)j->b, c = s->clip, lo = s->lo, hi = s->hi;
  for (int64_t i = begin; i < end; i++) {
    float *restrict x = j->x + i * D;
    const float *restrict g = s->grad + i * D;
    double g2 = 0.0;
    for (int64_t k = 0; k < D; k++) {
      g2 += (double)g[k] * g[k];
      x[k] = sampler_clamp(x[k] - lambda * sampler_clip(g[k] * inv_t, c), lo, hi);
    }
    s->gnorm[i] = sqrt(g2);
  }
}

/* Du & Mordatch A.11, in the order of the reference's `langevin`:
 * x ← clamp(x + σξ); x ← clamp(x − λ·clip(∇E(x)/T, c)). */
ebm_status sampler_step_langevin(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n,
                                 ebm_rng *rng, sampler_step_result *r) {
  const ebm_sampler_config *c = &s->cfg;
  sampler_job job = {s, x, c->step_size, 1.0 / c->temperature};
  ebm_rng_normal(rng, s->noise, n * s->dim, 0.0f, c->noise);
  sampler_run_chains(s, n, sampler_langevin_add_noise, &job);
  if (s->record_last) memcpy(s->last_x, x, (size_t)(n * s->dim) * sizeof *x); /* ebm_sampler_last_step */
  ebm_status st = ebm_energy_eval(s->en, x, cond, n, s->e, s->grad);
  if (st != EBM_OK) return st;
  sampler_run_chains(s, n, sampler_langevin_descend, &job);
  sampler_summarise(s, s->e, n, 0, r);
  return EBM_OK;
}

/* x ← clamp(x − (ε²/2)·clip(∇E/T, c) + ε·ξ); a = ε, b = 1/T. */
static void ula_update(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  sampler_job *j = ctx;
  ebm_sampler *s = j->s;
  const int64_t D = s->dim;
  const float eps = (float)j->a, half_eps2 = (float)(0.5 * j->a * j->a), inv_t = (float)j->b;
  const float c = s->clip, lo = s->lo, hi = s->hi;
  for (int64_t i = begin; i < end; i++) {
    float *restrict x = j->x + i * D;
    const float *restrict g = s->grad + i * D, *restrict xi = s->noise + i * D;
    double g2 = 0.0;
    for (int64_t k = 0; k < D; k++) {
      g2 += (double)g[k] * g[k];
      x[k] = sampler_clamp(x[k] - half_eps2 * sampler_clip(g[k] * inv_t, c) + eps * xi[k], lo, hi);
    }
    s->gnorm[i] = sqrt(g2);
  }
}

/* Textbook unadjusted Langevin (the Euler–Maruyama step of the Langevin
 * diffusion; seed 001): x ← x − (ε²/2)∇U(x) + ε·ξ. Biased for ε > 0. */
ebm_status sampler_step_ula(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n, ebm_rng *rng,
                            sampler_step_result *r) {
  sampler_job job = {s, x, s->eps, 1.0 / s->cfg.temperature};
  ebm_rng_normal(rng, s->noise, n * s->dim, 0.0f, 1.0f);
  if (s->record_last) memcpy(s->last_x, x, (size_t)(n * s->dim) * sizeof *x); /* ebm_sampler_last_step */
  ebm_status st = ebm_energy_eval(s->en, x, cond, n, s->e, s->grad);
  if (st != EBM_OK) return st;
  sampler_run_chains(s, n, ula_update, &job);
  sampler_summarise(s, s->e, n, 0, r);
  return EBM_OK;
}

/* MALA proposal y = x − (ε²/2)·clip(∇U(x)) + ε·ξ into s->prop; a proposal
 * outside the data range has zero target density and is marked for
 * rejection with log α = −∞ (instead of clamping, which would break the
 * proposal density). a = ε, b = 1/T. */
static void mala_propose(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  sampler_job *j = ctx;
  ebm_sampler *s = j->s;
  const int64_t D = s->dim;
  const float eps = (float)j->a, half_eps2 = (float)(0.5 * j->a * j->a), inv_t = (float)j->b;
  const float c = s->clip, lo = s->lo, hi = s->hi;
  for (int64_t i = begin; i < end; i++) {
    const float *restrict x = j->x + i * D, *restrict g = s->grad + i * D;
    const float *restrict xi = s->noise + i * D;
    float *restrict p = s->prop + i * D;
    int outside = 0;
    for (int64_t k = 0; k < D; k++) {
      p[k] = x[k] - half_eps2 * sampler_clip(g[k] * inv_t, c) + eps * xi[k];
      outside |= !(p[k] >= lo && p[k] <= hi);
    }
    s->log_alpha[i] = outside ? -INFINITY : 0.0;
  }
}

/* The MH test with the exact Gaussian proposal densities:
 * log α = U(x) − U(y) + log q(x|y) − log q(y|x),
 * log q(b|a) = −‖b − a + (ε²/2)·clip(∇U(a))‖² / (2ε²) + const.
 * Accepted chains take the proposal's x, E and ∇E. a = ε, b = 1/T. */
static void mala_accept(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  sampler_job *j = ctx;
  ebm_sampler *s = j->s;
  const int64_t D = s->dim;
  const double eps = j->a, half_eps2 = 0.5 * j->a * j->a, inv_t = j->b;
  const float c = s->clip, inv_tf = (float)j->b; /* the drift exactly as mala_propose had it */
  for (int64_t i = begin; i < end; i++) {
    float *restrict x = j->x + i * D, *restrict g = s->grad + i * D;
    const float *restrict p = s->prop + i * D, *restrict gp = s->grad_prop + i * D;
    double la = s->log_alpha[i];
    if (la == 0.0) { /* inside the range */
      double fwd = 0.0, rev = 0.0;
      for (int64_t k = 0; k < D; k++) {
        double df = (double)p[k] - x[k] + half_eps2 * sampler_clip(g[k] * inv_tf, c);
        double dr = (double)x[k] - p[k] + half_eps2 * sampler_clip(gp[k] * inv_tf, c);
        fwd += df * df;
        rev += dr * dr;
      }
      la = ((double)s->e[i] - s->e_prop[i]) * inv_t - (rev - fwd) / (2.0 * eps * eps);
    }
    sampler_mh_accept(s, i, la, x, g, p, gp);
  }
}

/* Metropolis-adjusted Langevin (Roberts & Tweedie 1996): exact for any ε. */
ebm_status sampler_step_mala(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n, ebm_rng *rng,
                             sampler_step_result *r) {
  sampler_job job = {s, x, s->eps, 1.0 / s->cfg.temperature};
  ebm_rng_normal(rng, s->noise, n * s->dim, 0.0f, 1.0f);
  ebm_rng_uniform(rng, s->u, n, 0.0f, 1.0f);
  sampler_run_chains(s, n, mala_propose, &job);
  ebm_status st = ebm_energy_eval(s->en, s->prop, cond, n, s->e_prop, s->grad_prop);
  if (st != EBM_OK) return st;
  sampler_run_chains(s, n, mala_accept, &job);
  sampler_summarise(s, s->e, n, 1, r);
  return EBM_OK;
}
