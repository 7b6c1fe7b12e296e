/* ebm/compose.h — using trained energies: composition (AND / OR / AND NOT
 * of energies, fixed class labels) and restoration (inpainting with
 * observed pixels held fixed, corruptions for denoising). Include <ebm.h>.
 *
 * Composition follows Du, Li & Mordatch (2020) as summarised in seed 001
 * ("Compositional Energy-Based Models") and Hinton's product of experts:
 *   AND      p ∝ Π p_i^{w_i}          E = Σ w_i·E_i/T_i
 *   OR       p ∝ Σ w_i p_i             E = −log Σ w_i·exp(−E_i/T_i)
 *   AND NOT  p ∝ p_a / p_b^α           E = E_a − α·E_b
 * With normalised energies (E_i = −log p_i) and Σ w_i = 1, OR is the
 * mixture Σ w_i p_i exactly (the weights enter as log w_i, not as
 * multipliers of E). AND and AND NOT give unnormalised densities whose
 * normaliser the samplers never need; AND NOT is only a density when
 * p_a/p_b^α is integrable (E_a must grow faster than α·E_b far away, or
 * the energy must have a clamp range) — the caller's responsibility.
 *
 * Every composition is an ebm_energy, so it samples with sample.h,
 * nests (an OR of ANDs), and is evaluated exactly: the gradient of AND is
 * the weighted sum of gradients, the gradient of OR the softmax-weighted
 * sum (softmax of log w_i − E_i/T_i), computed in one pass over the terms
 * without storing them all.
 *
 * OWNERSHIP: compositions and label/mask wrappers BORROW the energies they
 * are built from. Those must outlive the wrapper; freeing the wrapper
 * (ebm_energy_free) never frees them. Free wrappers before what they wrap. */
#ifndef EBM_COMPOSE_H
#define EBM_COMPOSE_H

#include "ebm/core.h"
#include "ebm/energy.h"
#include "ebm/sample.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------- composition */

/* One term of a composition. `energy` is borrowed. */
typedef struct {
  const ebm_energy *energy;
  double weight;       /* AND: finite, any sign (negative = NOT); OR: > 0 */
  double temperature;  /* T_i > 0: the term is E_i/T_i (1 = as trained) */
} ebm_compose_term;

/* A term with weight 1 and temperature 1. */
ebm_compose_term ebm_compose_term_of(const ebm_energy *en);

/* AND (product of experts): E(x) = Σ_i w_i·E_i(x)/T_i, ∇E = Σ_i (w_i/T_i)·∇E_i.
 * All terms must have the same item shape (EBM_ERR_SHAPE naming both).
 * The result's range is the intersection of the terms' ranges (terms
 * without one do not restrict it; an empty intersection is EBM_ERR_ARG).
 * Labels given to the composition go to every conditional term (which
 * must agree on num_classes) and not to unconditional ones; fix a label
 * per term with ebm_label_energy_new instead to combine classes. Noise
 * levels go to every noise-conditioned term.
 * Bad weight/temperature → EBM_ERR_ARG naming the term. Free the result
 * with ebm_energy_free (before the terms). */
ebm_status ebm_compose_and_new(const ebm_compose_term *terms, int count, ebm_energy **out);

/* OR (mixture): E(x) = −log Σ_i w_i·exp(−E_i(x)/T_i) (weights > 0, used as
 * log-weights: normalised terms with Σ w_i = 1 give the mixture exactly);
 * ∇E = Σ_i s_i·∇E_i/T_i with s = softmax_i(log w_i − E_i/T_i). A term with
 * E_i = +inf contributes nothing; if every term is +inf, E = +inf and ∇E =
 * 0. Same shape/range/label rules as AND. */
ebm_status ebm_compose_or_new(const ebm_compose_term *terms, int count, ebm_energy **out);

/* AND NOT: E = w_a·E_a/T_a − α·w_b·E_b/T_b (α ≥ 0; Du, Li & Mordatch's
 * p(x | ¬c_b ∧ c_a) ∝ p_a / p_b^α). An AND with the weight of b negated. */
ebm_status ebm_compose_and_not_new(const ebm_compose_term *a, const ebm_compose_term *b,
                                   double alpha, ebm_energy **out);

/* A conditional energy with its class fixed: E'(x) = E(x, label), an
 * unconditional energy, so E(x, y₁) + E(x, y₂) is the AND of two of these
 * over the same model. `cond` (num_classes > 0) is borrowed; label in
 * [0, num_classes) else EBM_ERR_ARG. */
ebm_status ebm_label_energy_new(const ebm_energy *cond, int32_t label, ebm_energy **out);

/* ------------------------------------------------------------ inpainting */

/* The energy of the pixels to fill. For n items x (n × item floats) and a
 * mask of the same layout (1 = fill, 0 = observed; any nonzero counts as
 * 1), this is an energy over ONE item: the vector z of the F masked values
 * of all n items, in memory order (item_shape {F}). E(z) = Σ_i E(x_i(z)),
 * where x_i(z) is x_i with its masked values taken from z; ∇E is ∂E/∂x at
 * the masked positions. The items are independent, so Langevin on z is
 * Langevin on each item's masked pixels, and the observed pixels are never
 * written: they stay bit-identical. x, mask and cond's arrays (labels /
 * noise levels for a conditional `en`; cond may be NULL) are copied; `en`
 * is borrowed. The range is
 * en's. Needs F ≥ 1 (EBM_ERR_ARG "mask selects no pixel"). */
ebm_status ebm_masked_energy_new(const ebm_energy *en, const float *x, const float *mask,
                                 const ebm_cond *cond, int64_t n, ebm_energy **out);

/* The number F of masked values of a masked energy. */
int64_t ebm_masked_energy_size(const ebm_energy *masked);

/* z → the n full items (observed values copied from x, masked from z). */
void ebm_masked_energy_scatter(const ebm_energy *masked, const float *z, float *items);

/* The n full items → z (the masked values, in memory order). */
void ebm_masked_energy_gather(const ebm_energy *masked, const float *items, float *z);

/* Inpaints n items: the masked values start uniform in [lo, hi) (the
 * data range; the first draw from rng, ebm_rng_uniform of the F masked
 * values in memory order, so a caller can reproduce the start from a copy
 * of rng), then cfg's sampler runs on them only (ebm_masked_energy);
 * out (n × item) receives the result, with every observed value copied
 * bit-for-bit from x. The sampler sees the n items as one chain, so MH
 * samplers (MALA, HMC) accept or reject all items together; prefer
 * LANGEVIN or ULA for large batches. cb (may be NULL) is called per step
 * with the masked vector. */
ebm_status ebm_inpaint(const ebm_energy *en, const ebm_sampler_config *cfg, const float *x,
                       const float *mask, const ebm_cond *cond, int64_t n, float lo, float hi,
                       ebm_rng *rng, float *out, ebm_sample_step_fn cb, void *cb_ctx);

/* ------------------------------------------------------------ corruption */

typedef enum {
  EBM_CORRUPT_GAUSSIAN = 0,  /* x + σ·ξ, clamped to [lo, hi] */
  EBM_CORRUPT_SALT_PEPPER,   /* a fraction p of values set to lo or hi (½ each) */
  EBM_CORRUPT_COUNT
} ebm_corruption;

/* "gaussian", "salt-pepper"; from_name gives -1 for an unknown name. */
const char *ebm_corruption_name(ebm_corruption kind);
int ebm_corruption_from_name(const char *name);

/* Corrupts `count` values of x in place (the image-restoration inputs of
 * Du & Mordatch and seed 004): `level` is σ ≥ 0 for GAUSSIAN, p in [0, 1]
 * for SALT_PEPPER; lo < hi is the data range. Reproducible for an rng state
 * at any thread count. Bad level/range → EBM_ERR_ARG. */
ebm_status ebm_corrupt(ebm_corruption kind, double level, float lo, float hi, ebm_rng *rng,
                       float *x, int64_t count);

#ifdef __cplusplus
}
#endif
#endif
