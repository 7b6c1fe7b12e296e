/* The sampler's state shared by sampler.c (setup, run loop, adaptation) and
 * the step kernels (steps_langevin.c, steps_hamiltonian.c). Not public. */
#ifndef EBM_SAMPLE_SAMPLER_INTERNAL_H
#define EBM_SAMPLE_SAMPLER_INTERNAL_H

#include <math.h>
#include <string.h>

#include "ebm/sample.h"

/* Chains are split across the pool in chunks of at least this many floats,
 * so small batches stay on one thread. Every update is per element or per
 * chain, so the chunking never changes a result. */
#define SAMPLER_MIN_CHUNK_FLOATS 16384

struct ebm_sampler {
  const ebm_energy *en;
  ebm_sampler_config cfg;
  int64_t max_n;
  int64_t dim;          /* floats per chain */
  int64_t min_chunk;    /* chains per parallel chunk */
  float lo, hi;         /* clamp bounds; ±INFINITY when the energy has no range or clamp = 0 */
  float clip;           /* per-element gradient clip; INFINITY when off */
  float eps;            /* the current step size (adapted in warm-up) */

  /* n×dim buffers */
  float *grad;          /* ∇E at x (cached between MALA/HMC/kinetic steps) */
  float *prop;          /* proposal / leapfrog position */
  float *grad_prop;     /* ∇E at prop */
  float *noise;         /* ξ ~ N(0, 1) (or N(0, σ²) for LANGEVIN) */
  float *mom;           /* HMC momentum, kinetic velocity */
  float *last_x;        /* LANGEVIN/ULA: where the latest step took its gradient */
  int64_t last_n;       /* chains in last_x / grad after a LANGEVIN/ULA run; 0 = none */
  int record_last;      /* set by the run loop for its final step only: the one step
                           whose starting point ebm_sampler_last_step reports */
  /* n-vectors */
  float *e;             /* E at x */
  float *e_prop;        /* E at prop */
  float *u;             /* uniforms for the MH accept */
  float *eps_chain;     /* HMC: each chain's jittered step size */
  double *log_alpha;    /* per-chain log acceptance ratio */
  double *gnorm;        /* per-chain ‖∇E‖₂ of this step */
  unsigned char *accepted;

  /* LANGEVIN chains run group by group (sampler_groups.c) */
  ebm_chain_schedule schedule;
  int nforks;           /* forks[t]: worker t's fork of en (made on first use) */
  ebm_energy **forks;
  int no_forks;         /* en offers none, or making one failed: step by step */
  int forks_isa;        /* the kernel path (ebm_isa) the forks were made on */
  int ran_grouped;      /* the last run went group by group */
  float *x_start;       /* n×dim: x when the run began, for a step-by-step rerun */
  float *steps_e;       /* steps×n: each step's energies */
  double *steps_gnorm;  /* steps×n: each step's ‖∇E‖₂ */
};

/* x limited to [lo, hi]; NaN stays NaN (fminf/fmaxf would hide it). */
static inline float sampler_clamp(float x, float lo, float hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

/* Du & Mordatch A.11: each gradient element limited to [-c, c]; c = ∞ is off. */
static inline float sampler_clip(float g, float c) { return g < -c ? -c : (g > c ? c : g); }

/* The Metropolis–Hastings decision for chain i with log acceptance ratio
 * la (shared by MALA and HMC): records it; on accept moves the proposal q
 * (with its gradient gq and energy) into x and g; then stores ‖g‖₂. A
 * uniform u ∈ [0, 1) has log 0 = −∞, which accepts any finite α; NaN never
 * accepts. */
static inline void sampler_mh_accept(ebm_sampler *s, int64_t i, double la, float *x, float *g,
                                     const float *q, const float *gq) {
  const int64_t D = s->dim;
  s->log_alpha[i] = la;
  int acc = log((double)s->u[i]) < la;
  s->accepted[i] = (unsigned char)acc;
  if (acc) {
    memcpy(x, q, (size_t)D * sizeof *x);
    memcpy(g, gq, (size_t)D * sizeof *g);
    s->e[i] = s->e_prop[i];
  }
  double g2 = 0.0;
  for (int64_t k = 0; k < D; k++) g2 += (double)g[k] * g[k];
  s->gnorm[i] = sqrt(g2);
}

/* The two halves of a LANGEVIN step on chains [begin, end) (ebm_range_fn,
 * ctx a sampler_job with a = λ, b = 1/T; steps_langevin.c): x ← clamp(x +
 * s->noise) and x ← clamp(x − λ·clip(s->grad/T, c)) with s->gnorm. */
void sampler_langevin_add_noise(void *ctx, int64_t begin, int64_t end, int tid);
void sampler_langevin_descend(void *ctx, int64_t begin, int64_t end, int tid);

/* Runs a LANGEVIN run's steps group by group when s's schedule, the energy
 * and n allow (sampler_groups.c): *ran = 1 with x, rng, stats (when not
 * NULL), s->e, s->grad and s->last_x as the step-by-step loop leaves them,
 * the same bits. *ran = 0 (x and rng untouched) when it did not, or when a
 * step met a non-finite value: the loop then runs and reports it. */
ebm_status sampler_run_grouped(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n, ebm_rng *rng,
                               ebm_sample_stats *stats, int *ran);
void sampler_groups_free(ebm_sampler *s);

/* A per-chain kernel's arguments: the sampler, the chains and two
 * coefficients whose meaning each kernel states. */
typedef struct {
  ebm_sampler *s;
  float *x;
  double a, b;
} sampler_job;

/* Runs fn over chains [0, n) in chunks of at least s->min_chunk chains. */
static inline void sampler_run_chains(ebm_sampler *s, int64_t n, ebm_range_fn fn, sampler_job *job) {
  ebm_parallel_for(n, s->min_chunk, fn, job);
}

/* The result of one step on n chains: the means the stats report and the
 * Rao–Blackwellised acceptance probability mean(min(1, α)) that drives the
 * step-size adaptation. */
typedef struct {
  double mean_energy, grad_norm, accept_rate, accept_prob;
} sampler_step_result;

/* Evaluates E and ∇E at x into s->e, s->grad (the state the MH samplers
 * and kinetic Langevin carry between steps). */
ebm_status sampler_eval_current(ebm_sampler *s, const float *x, const ebm_cond *cond, int64_t n);

/* One step of each kind. x (n chains) is updated in place; MALA, HMC and
 * KINETIC expect s->e / s->grad to hold E, ∇E at x and keep them current.
 * KINETIC expects s->mom to hold the velocity. */
ebm_status sampler_step_langevin(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n,
                                 ebm_rng *rng, sampler_step_result *r);
ebm_status sampler_step_ula(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n, ebm_rng *rng,
                            sampler_step_result *r);
ebm_status sampler_step_mala(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n, ebm_rng *rng,
                             sampler_step_result *r);
ebm_status sampler_step_hmc(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n, ebm_rng *rng,
                            sampler_step_result *r);
ebm_status sampler_step_kinetic(ebm_sampler *s, float *x, const ebm_cond *cond, int64_t n,
                                ebm_rng *rng, sampler_step_result *r);

/* Fills r's means from the per-chain s->e (or e), s->gnorm, s->accepted and
 * s->log_alpha (NULL accepted: an unadjusted step, rate 1). Serial, in chain
 * order, so the sums do not depend on the thread count. */
void sampler_summarise(const ebm_sampler *s, const float *e, int64_t n, int adjusted,
                       sampler_step_result *r);

/* The metadata `key` of the checkpoint at path, parsed by parse(text, path,
 * out) into out with *found = 1; a checkpoint without it → EBM_OK, *found 0
 * (sampler_meta.c; the sampler's and the recovery schedule's readers). */
ebm_status sample_checkpoint_meta(const char *path, const char *key,
                                  ebm_status (*parse)(const char *text, const char *path, void *out), void *out,
                                  int *found);

#endif
