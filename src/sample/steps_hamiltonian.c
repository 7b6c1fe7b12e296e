/* Second-order samplers with a momentum: Hamiltonian Monte Carlo (leapfrog +
 * MH accept) and underdamped (kinetic) Langevin with the BAOAB splitting.
 * Unit mass; U = E/T, so the joint target is exp(−U(x) − ½‖v‖²).
 * As in steps_langevin.c, every update touches one chain only, so the split
 * over threads never changes a result. */
#include <math.h>
#include <string.h>

#include "sample/sampler_internal.h"

/* ------------------------------------------------------------------ HMC */

/* Start of a trajectory: remember K₀ = ½‖p‖² (in log_alpha), copy x into
 * the leapfrog state, first half kick p ← p − (ε_i/2)·clip(∇U). b = 1/T.
 * x, prop, grad, mom are (n, D); ε_i = s->eps_chain[i]. */
static void hmc_begin(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  sampler_job *j = ctx;
  ebm_sampler *s = j->s;
  const int64_t D = s->dim;
  const float inv_t = (float)j->b, c = s->clip;
  for (int64_t i = begin; i < end; i++) {
    const float *restrict x = j->x + i * D, *restrict g = s->grad + i * D;
    float *restrict q = s->prop + i * D, *restrict p = s->mom + i * D;
    const float half_eps = 0.5f * s->eps_chain[i];
    double k0 = 0.0;
    for (int64_t k = 0; k < D; k++) {
      k0 += (double)p[k] * p[k];
      q[k] = x[k];
      p[k] -= half_eps * sampler_clip(g[k] * inv_t, c);
    }
    s->log_alpha[i] = 0.5 * k0;
  }
}

/* Drift q ← q + ε_i·p. */
static void hmc_drift(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  sampler_job *j = ctx;
  ebm_sampler *s = j->s;
  const int64_t D = s->dim;
  for (int64_t i = begin; i < end; i++) {
    float *restrict q = s->prop + i * D;
    const float *restrict p = s->mom + i * D;
    const float eps = s->eps_chain[i];
    for (int64_t k = 0; k < D; k++) q[k] += eps * p[k];
  }
}

/* Kick p ← p − a·ε_i·clip(∇U(q)): a = 1 inside the trajectory, ½ at its
 * end. b = 1/T. */
static void hmc_kick(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  sampler_job *j = ctx;
  ebm_sampler *s = j->s;
  const int64_t D = s->dim;
  const float inv_t = (float)j->b, c = s->clip;
  for (int64_t i = begin; i < end; i++) {
    float *restrict p = s->mom + i * D;
    const float *restrict g = s->grad_prop + i * D;
    const float h = (float)j->a * s->eps_chain[i];
    for (int64_t k = 0; k < D; k++) p[k] -= h * sampler_clip(g[k] * inv_t, c);
  }
}

/* MH test on the total energy: log α = U(x) + K₀ − U(q) − K₁ (leapfrog is
 * volume-preserving and reversible, also with a clipped force, so this is
 * exact). An end point outside the data range has zero density: rejected.
 * b = 1/T. */
static void hmc_accept(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  sampler_job *j = ctx;
  ebm_sampler *s = j->s;
  const int64_t D = s->dim;
  const double inv_t = j->b;
  const float lo = s->lo, hi = s->hi;
  for (int64_t i = begin; i < end; i++) {
    float *restrict x = j->x + i * D, *restrict g = s->grad + i * D;
    const float *restrict q = s->prop + i * D, *restrict gq = s->grad_prop + i * D;
    const float *restrict p = s->mom + i * D;
    double k1 = 0.0;
    int outside = 0;
    for (int64_t k = 0; k < D; k++) {
      k1 += (double)p[k] * p[k];
      outside |= !(q[k] >= lo && q[k] <= hi);
    }
    double la = outside ? -INFINITY
                        : ((double)s->e[i] - s->e_prop[i]) * inv_t + s->log_alpha[i] - 0.5 * k1;
    sampler_mh_accept(s, i, la, x, g, q, gq);
  }
}

/* HMC (Duane et al. 1987; Neal 2011): fresh momentum p ~ N(0, I), L leapfrog
 * steps, Metropolis accept per chain. L evaluations per step: E and ∇E at
 * the current x are carried over from the previous step. Each chain's step
 * is drawn uniformly from ε·[1 − j, 1 + j] (Neal 2011 §5.4.2.2): on
 * Gaussian-like targets the leapfrog error is periodic in εL, which makes
 * the acceptance non-monotone in ε and traps the adaptation; the jitter
 * averages the resonances out and does not affect exactness. */
ebm_status sampler_step_hmc(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n, ebm_rng *rng,
                            sampler_step_result *r) {
  const int L = s->cfg.leapfrog_steps;
  sampler_job job = {s, x, 1.0, 1.0 / s->cfg.temperature};
  ebm_rng_normal(rng, s->mom, n * s->dim, 0.0f, 1.0f);
  ebm_rng_uniform(rng, s->u, n, 0.0f, 1.0f);
  ebm_rng_uniform(rng, s->eps_chain, n, s->eps * (1.0f - EBM_HMC_JITTER),
                  s->eps * (1.0f + EBM_HMC_JITTER));
  sampler_run_chains(s, n, hmc_begin, &job);
  for (int l = 1; l <= L; l++) {
    sampler_run_chains(s, n, hmc_drift, &job);
    ebm_status st = ebm_energy_eval(s->en, s->prop, cond, n, s->e_prop, s->grad_prop);
    if (st != EBM_OK) return st;
    job.a = l < L ? 1.0 : 0.5;
    sampler_run_chains(s, n, hmc_kick, &job);
  }
  sampler_run_chains(s, n, hmc_accept, &job);
  sampler_summarise(s, s->e, n, 1, r);
  return EBM_OK;
}

/* ------------------------------------------------------------- kinetic */

/* A box wall for x with velocity v: reflect the overshoot and reverse v
 * (the elastic wall of reflective HMC), then clamp in case the overshoot
 * was larger than the box. No-op when lo, hi = ∓∞. */
static inline void reflect(float *x, float *v, float lo, float hi) {
  if (*x > hi) {
    *x = 2.0f * hi - *x;
    *v = -*v;
  } else if (*x < lo) {
    *x = 2.0f * lo - *x;
    *v = -*v;
  }
  *x = sampler_clamp(*x, lo, hi);
}

/* B A O A: v ← v − (h/2)∇U(x); x ← x + (h/2)v; v ← c₁v + c₂ξ; x ← x + (h/2)v.
 * a = h, b = 1/T; c₁ = e^{−γh}, c₂ = √(1 − c₁²) come from the config. */
static void kinetic_baoa(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  sampler_job *j = ctx;
  ebm_sampler *s = j->s;
  const float half_h = (float)(0.5 * j->a), inv_t = (float)j->b, c = s->clip;
  const double c1d = exp(-(double)s->cfg.friction * j->a);
  const float c1 = (float)c1d, c2 = (float)sqrt(1.0 - c1d * c1d), lo = s->lo, hi = s->hi;
  float *restrict x = j->x + begin * s->dim, *restrict v = s->mom + begin * s->dim;
  const float *restrict g = s->grad + begin * s->dim, *restrict xi = s->noise + begin * s->dim;
  for (int64_t k = 0, m = (end - begin) * s->dim; k < m; k++) {
    float vk = v[k] - half_h * sampler_clip(g[k] * inv_t, c);
    float xk = x[k] + half_h * vk;
    reflect(&xk, &vk, lo, hi);
    vk = c1 * vk + c2 * xi[k];
    xk += half_h * vk;
    reflect(&xk, &vk, lo, hi);
    x[k] = xk;
    v[k] = vk;
  }
}

/* The closing B: v ← v − (h/2)∇U(x) at the new x; ‖∇E‖ per chain. */
static void kinetic_b(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  sampler_job *j = ctx;
  ebm_sampler *s = j->s;
  const int64_t D = s->dim;
  const float half_h = (float)(0.5 * j->a), inv_t = (float)j->b, c = s->clip;
  for (int64_t i = begin; i < end; i++) {
    float *restrict v = s->mom + i * D;
    const float *restrict g = s->grad + i * D;
    double g2 = 0.0;
    for (int64_t k = 0; k < D; k++) {
      g2 += (double)g[k] * g[k];
      v[k] -= half_h * sampler_clip(g[k] * inv_t, c);
    }
    s->gnorm[i] = sqrt(g2);
  }
}

/* Underdamped Langevin dx = v dt, dv = −∇U dt − γv dt + √(2γ) dW with the
 * BAOAB splitting (Leimkuhler & Matthews 2013): one gradient per step, and
 * for a Gaussian target the stationary law of x is exact at any stable h.
 * The velocity lives in s->mom across the steps of a run. */
ebm_status sampler_step_kinetic(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n,
                                ebm_rng *rng, sampler_step_result *r) {
  sampler_job job = {s, x, s->eps, 1.0 / s->cfg.temperature};
  ebm_rng_normal(rng, s->noise, n * s->dim, 0.0f, 1.0f);
  sampler_run_chains(s, n, kinetic_baoa, &job);
  ebm_status st = sampler_eval_current(s, x, cond, n);
  if (st != EBM_OK) return st;
  sampler_run_chains(s, n, kinetic_b, &job);
  sampler_summarise(s, s->e, n, 0, r);
  return EBM_OK;
}
