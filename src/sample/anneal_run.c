/* Simulated annealing of a sampler run: the chains start hot and cool down
 * to the target in a few phases, so they cross between modes that are too
 * far apart at the target temperature and then settle (the final phase
 * samples the target itself). Used by `ebm sample --anneal` and `ebm
 * compose --anneal`. */
#include <math.h>

#include "ebm/sample.h"

/* Counts a phase's steps into the whole run for the caller's callback. */
typedef struct {
  ebm_sample_step_fn cb;
  void *ctx;
  int offset;
} phase_watch;

static void phase_step(void *ctx, int step, const float *x, int64_t n, const ebm_sample_stats *st) {
  const phase_watch *w = ctx;
  if (w->cb) w->cb(w->ctx, w->offset + step, x, n, st);
}

/* The temperature factor of phase p: t0 at the start, 1 at the end. */
static double phase_factor(const ebm_anneal_plan *plan, int phases, int p) {
  return phases > 1 ? pow(plan->t0, 1.0 - (double)p / (phases - 1)) : 1.0;
}

/* Phase p's configuration. LANGEVIN sets its noise σ apart from its step λ
 * and clips the gradient after the 1/T, so dividing a large gradient by T
 * hardly changes a step: it is heated by its noise instead, σ·√factor (for
 * ULA, x − λ∇E + √(2λT)·ξ, the noise is what carries T). */
static ebm_sampler_config phase_config(const ebm_sampler_config *base, const ebm_anneal_plan *plan, int phases,
                                       int p) {
  ebm_sampler_config c = *base;
  const double factor = phase_factor(plan, phases, p);
  c.steps = base->steps / phases + (p == phases - 1 ? base->steps % phases : 0);
  if (phases == 1) return c;
  if (base->kind == EBM_SAMPLER_LANGEVIN) c.noise = (float)(base->noise * sqrt(factor));
  else c.temperature = (float)(base->temperature * factor);
  int adjusted = base->kind == EBM_SAMPLER_MALA || base->kind == EBM_SAMPLER_HMC;
  int adapt = plan->adapt == -1 ? (adjusted ? c.steps / 2 : 0) : plan->adapt;
  c.adapt_steps = adapt < c.steps ? adapt : c.steps;
  return c;
}

ebm_status ebm_sample_annealed(const ebm_energy *en, const ebm_sampler_config *cfg, const ebm_anneal_plan *plan,
                               float *x, const ebm_cond *cond, int64_t n, ebm_rng *rng, float *final_energy,
                               float *final_step_size, ebm_sample_step_fn cb, void *cb_ctx) {
  if (!(plan->t0 >= 1.0 && isfinite(plan->t0)) || plan->phases < 0 || plan->adapt < -1)
    return ebm_set_error(EBM_ERR_ARG, "anneal: t0 must be >= 1, phases >= 0 and adapt >= -1, got %g, %d, %d",
                         plan->t0, plan->phases, plan->adapt);
  const int phases = plan->t0 > 1.0 ? (plan->phases > 0 ? plan->phases : EBM_ANNEAL_PHASES) : 1;
  const int adjusted = cfg->kind == EBM_SAMPLER_MALA || cfg->kind == EBM_SAMPLER_HMC;
  ebm_status st = EBM_OK;
  float step_size = cfg->step_size;
  phase_watch w = {cb, cb_ctx, 0};
  for (int p = 0; p < phases && st == EBM_OK; p++) {
    ebm_sampler *s = NULL;
    ebm_sampler_config c = phase_config(cfg, plan, phases, p);
    c.step_size = step_size;
    if ((st = ebm_sampler_new(en, &c, n, &s)) != EBM_OK) break;
    st = ebm_sampler_run_cb(s, x, cond, n, rng, NULL, final_energy, phase_step, &w);
    w.offset += c.steps;
    step_size = ebm_sampler_step_size(s);
    /* an ε adapted at T carries over as ε·√(T_next/T): the scale of the
     * hotter density shrinks with the temperature */
    if (adjusted && p + 1 < phases)
      step_size *= (float)sqrt(phase_factor(plan, phases, p + 1) / phase_factor(plan, phases, p));
    ebm_sampler_free(s);
  }
  if (st == EBM_OK && final_step_size) *final_step_size = step_size;
  return st;
}
