/* eval/eval_internal.h — helpers the files of src/eval share. Not public. */
#ifndef EBM_EVAL_INTERNAL_H
#define EBM_EVAL_INTERNAL_H

#include <stdint.h>

#include "ebm/data.h"
#include "ebm/energy.h"

/* Φ⁻¹(p) for p in (0, 1), the standard normal quantile, to ~1e-15 relative
 * (Acklam's rational approximation and one Halley step); ±inf at 0 and 1. */
double eval_normal_quantile(double p);

/* ais_logit.c: an energy in u = logit((x − lo)/(hi − lo)) for an energy
 * `inner` on the box [lo, hi]^D, E_u(u) = E(x(u)) − Σ log(dx/du), so MCMC
 * on u samples the same law of x without walls. Borrows inner; batches of
 * up to max_batch. */
ebm_status eval_logit_energy_new(const ebm_energy *inner, float lo, float hi, int64_t max_batch, ebm_energy **out);
/* Coordinate maps of such an energy (n items). x → u clamps (x − lo)/(hi − lo)
 * into [EVAL_LOGIT_EDGE, 1 − EVAL_LOGIT_EDGE] (points on a wall move inside
 * by that fraction of the range). */
#define EVAL_LOGIT_EDGE 1e-6
void eval_x_to_logit(const ebm_energy *w, const float *x, int64_t n, float *u);
void eval_logit_to_x(const ebm_energy *w, const float *u, int64_t n, float *x);

/* scaled_energy.c: E/T (and its gradient) of `inner` (borrowed). */
ebm_status eval_scaled_energy_new(const ebm_energy *inner, double temperature, ebm_energy **out);

/* classify_eval.c: m items of ds in data order, chosen uniformly without
 * replacement (Knuth 3.4.2, algorithm S), and their labels, checked
 * against K classes (EBM_ERR_ARG naming the item otherwise). */
ebm_status eval_draw_labelled(const ebm_dataset *ds, int K, int64_t m, ebm_rng *rng, float *x, int32_t *y);

#endif
