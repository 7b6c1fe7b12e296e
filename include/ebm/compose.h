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
#include "ebm/nn.h"
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

/* The same energy on data stored in another range: E'(x) = E(m(x)) with m
 * the affine map of [lo, hi] onto en's own range [a, b], m(x) = a + s·(x −
 * lo), s = (b − a)/(hi − lo), and ∇E' = s·∇E(m(x)); the result's range is
 * [lo, hi]. Lets models of the same data trained in different ranges be
 * composed (a [0, 1] classifier with a [−1, 1] generator). Labels and noise
 * levels pass through. `en` (borrowed) must have a range (lo < hi), else
 * EBM_ERR_ARG; so must [lo, hi]. */
ebm_status ebm_range_energy_new(const ebm_energy *en, float lo, float hi, ebm_energy **out);

/* A sequence scored by one energy over its sliding windows: E'(x) = Σ_j
 * E(x[j·stride .. j·stride + d)) for j in [0, count), with d the values of
 * `en` and x of d + (count − 1)·stride values; ∇E' adds up each window's
 * gradient. A path of T points (x, y) scored by an energy on three
 * consecutive points (d 6) is stride 2, count T − 2: the local law of a
 * path summed over it, as `ebm plan` sums a transition energy. `en`
 * (borrowed) must be an unconditional energy on vectors; stride in 1..d,
 * count in 1..4096, else EBM_ERR_ARG naming the energy. The range is en's.
 * End weights: `ends` (n_ends values, 0..EBM_WINDOW_MAX_ENDS; NULL with 0)
 * count window j and window count−1−j ends[j] times instead of once, so the
 * first and last steps of a path, each in one window where a middle step is
 * in two, can be held as much; each weight finite and > 0, 2·n_ends ≤ count,
 * else EBM_ERR_ARG. */
#define EBM_WINDOW_MAX_ENDS 8
ebm_status ebm_window_energy_new(const ebm_energy *en, int64_t stride, int64_t count, const double *ends,
                                 int n_ends, ebm_energy **out);

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

/* The start ebm_inpaint draws (call it with a copy of the rng you give
 * ebm_inpaint): count values, x's where mask is 0, uniform in [lo, hi)
 * where it is 1 (one ebm_rng_uniform over the masked values in memory
 * order). For "before" numbers next to a fill. */
ebm_status ebm_inpaint_start(ebm_rng rng, const float *x, const float *mask, int64_t count, float lo, float hi,
                             float *start);

/* A smoother start than noise: the masked values at the mean of a
 * Gaussian energy (ebm_gaussian_energy_fit of the training data, the
 * "gaussian" chain start) conditioned on each item's known values
 * (ebm_gaussian_energy_sample_given, spread 0), clamped to [lo, hi]; known
 * values copied from x. The conditional mean already continues the visible
 * part (a shirt's top half gives a shirt's blurred bottom), so the chain
 * only has to sharpen it; a conditional draw instead would add pixel noise
 * that 60 Langevin steps do not remove (Fashion-MNIST, bottom half: class
 * kept 0.798 from the mean, 0.788 from exact draws, 500 images). n items
 * of the Gaussian's size into start. */
ebm_status ebm_inpaint_start_gaussian(const ebm_energy *gaussian, const float *x, const float *mask, int64_t n,
                                      float lo, float hi, float *start);
/* ebm_inpaint from a given start (n items: the known values where mask is
 * 0, the chains' first state where it is 1), e.g. the one above. */
ebm_status ebm_inpaint_from(const ebm_energy *en, const ebm_sampler_config *cfg, const float *start,
                            const float *mask, const ebm_cond *cond, int64_t n, ebm_rng *rng, float *out,
                            ebm_sample_step_fn cb, void *cb_ctx);
/* Mean squared difference of a and b over the values where mask is not 0
 * (every value when mask is NULL); 0 when there are none. */
double ebm_masked_mse(const float *a, const float *b, const float *mask, int64_t count);

/* Fills mask (n items of item_shape; 1 = fill, 0 = observed) with a named
 * pattern, the same for every item: "right-half", "bottom-half", "center"
 * (the central square of half the side), or "random:P" (each value 1 with
 * probability P in (0, 1], drawn from rng; rng is unused otherwise). For
 * vectors (item_ndim 1) right and bottom are the second half and center
 * the middle half. Unknown name or bad P → EBM_ERR_ARG. */
ebm_status ebm_mask_pattern(const char *name, int item_ndim, const int64_t *item_shape, int64_t n, ebm_rng *rng,
                            float *mask);

/* ------------------------------------------------- energies named by text */

/* What a verb's --ckpt, --energy or --term names, one grammar for all:
 *   PATH[:class=Y]                          a checkpoint (a conditional model
 *                                           with its class fixed to Y)
 *   toy:NAME                                the exact, normalised energy of a
 *                                           2-D toy (data.h; not checkerboard)
 *   gaussian:D[:mean=M|M1,...,MD][:std=S]   N(mean, S²·I) in D ≤ 4096 dims
 * and, where flags has EBM_SPEC_TERM (composition terms), [:weight=W]
 * [:temp=T] and [:range=LO,HI] (the checkpoint's energy seen on data in
 * [LO, HI] instead of its own range: ebm_range_energy_new); always
 * [:window=S,C] (an energy on D values scoring sequences of D + (C−1)·S
 * values as the sum over C windows S apart: ebm_window_energy_new) and with
 * it [:ends=W1,..,Wk] (the first and last k windows weighted W1..Wk). Options are peeled off the right end while the last ':'
 * segment is key=value, so a path may itself contain ':'. */
typedef enum { EBM_SOURCE_CKPT = 0, EBM_SOURCE_TOY, EBM_SOURCE_GAUSSIAN } ebm_source_kind;

#define EBM_SPEC_TERM 1u     /* accept :weight= and :temp= */
#define EBM_SPEC_MAX_DIM 4096 /* largest gaussian:D */

typedef struct {
  ebm_source_kind kind;
  char *path;            /* CKPT: the file (malloc'd) */
  int toy;               /* TOY: an ebm_toy */
  int64_t dim;           /* GAUSSIAN: D */
  double *mean;          /* GAUSSIAN: D values, or NULL for 0 (malloc'd) */
  double std;            /* GAUSSIAN: S (1) */
  int label;             /* class=Y; −1 when not given */
  double weight;         /* term weight W (1) */
  double temperature;    /* term temperature T (1) */
  float range_lo, range_hi; /* range=LO,HI; lo == hi when not given */
  int64_t window_stride, window_count; /* window=S,C; 0 when not given */
  double window_ends[EBM_WINDOW_MAX_ENDS]; /* ends=W1,..,Wk: the end windows' weights */
  int window_n_ends;                       /* k; 0 when not given */
  char *name;            /* what the energy is called in messages: the path,
                            "toy:NAME" or "gaussian:D[:mean=..][:std=S]" (malloc'd) */
} ebm_energy_spec;

/* Parses `text` (no file is opened). Every syntax problem is EBM_ERR_ARG
 * quoting the text and saying what is accepted. Free with
 * ebm_energy_spec_free (also after a failed parse). */
ebm_status ebm_energy_spec_parse(const char *text, unsigned flags, ebm_energy_spec *out);
void ebm_energy_spec_free(ebm_energy_spec *spec);

/* A spec made usable: owns the network (checkpoints) and every wrapper. */
typedef struct {
  ebm_energy *energy;    /* what to sample or score: the class fixed when
                            class= was given; its name is the path or spec */
  ebm_net *net;          /* a checkpoint's network, else NULL */
  ebm_source_kind kind;
  int64_t dim;           /* internal: the analytic law, for log Z */
  double std, *mean;
  ebm_energy *owned[4];  /* internal: what close frees, in reverse order */
  char *name;            /* internal */
} ebm_energy_source;

/* Opens a parsed spec: loads a checkpoint for batches of up to max_batch
 * items, builds a toy or Gaussian energy, fixes the class. A conditional
 * model without class= stays conditional (energy->num_classes > 0);
 * range= wraps the result in ebm_range_energy_new, then window= in
 * ebm_window_energy_new.
 * class= on an unconditional model or out of range → EBM_ERR_ARG; file
 * problems → the loader's error naming the file. Close with
 * ebm_energy_source_close (also after a failed open). */
ebm_status ebm_energy_source_open(const ebm_energy_spec *spec, int64_t max_batch, ebm_energy_source *out);
void ebm_energy_source_close(ebm_energy_source *src);

/* The exact log Z_T = log ∫ exp(−E(x)/T) dx of an analytic source, over R^D
 * (lo ≥ hi) or over the box [lo, hi]^D (the space of a uniform AIS base):
 * for gaussian:D a product of D truncated normal masses at std S·√T, for a
 * toy 0 at T = 1 on R² or a box holding [−4, 4]² (the toys are normalised;
 * < 1e-9 of their mass lies outside it). *known = 0 (and *log_z NaN) when it
 * is not known exactly: checkpoints, toys at T ≠ 1 or on a smaller box,
 * window= sums. */
void ebm_energy_source_log_z(const ebm_energy_source *src, double temperature, double lo, double hi, int *known,
                             double *log_z);

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
