/* ebm/energy.h — the energy interface (DESIGN §3).
 *
 * Samplers and evaluators see an energy only through this struct, so they
 * work the same on a network, an analytic test energy (Gaussian, toy
 * density) and a composition of energies. Include <ebm.h>. */
#ifndef EBM_ENERGY_H
#define EBM_ENERGY_H

#include "ebm/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an energy is conditioned on, per item. Either field may be NULL;
 * a NULL ebm_cond pointer means "nothing" (an unconditional energy).
 *   labels  n class labels in [0, num_classes)  (class-conditional models)
 *   sigma   n noise levels σ_i > 0              (noise-conditioned models:
 *           recovery likelihood, score matching; DESIGN §3 batch 2)
 * The struct only borrows the arrays; item i of a batch that starts at item
 * `offset` of a larger one is ebm_cond_slice(c, offset). */
typedef struct {
  const int32_t *labels;
  const float *sigma;
} ebm_cond;

/* The conditioning of items [offset, ...) of c (c may be NULL → all NULL). */
ebm_cond ebm_cond_slice(const ebm_cond *c, int64_t offset);
/* A cond holding only labels (labels may be NULL). */
ebm_cond ebm_cond_labels(const int32_t *labels);

struct ebm_energy;
/* The part of c that `en` takes: the labels when en is class-conditional,
 * the noise levels when it is noise-conditioned (for wrappers that pass one
 * conditioning to several energies: compositions, annealing paths). */
ebm_cond ebm_cond_for(const struct ebm_energy *en, const ebm_cond *c);

/* Evaluates E(x_i[, c_i]) for i in [0, n) into e[0..n), and, when grad is not
 * NULL, dE(x_i)/dx_i into grad (same layout as x). x holds n contiguous items
 * of ebm_energy_item_size() floats each. cond (may be NULL) gives the items'
 * class labels (n in [0, num_classes), required iff num_classes > 0) and
 * noise levels (required iff needs_sigma). Must not allocate on the hot path;
 * may use the thread pool internally. Not required to be reentrant. */
typedef ebm_status (*ebm_energy_eval_fn)(void *self, const float *x, const ebm_cond *cond,
                                         int64_t n, float *e, float *grad);

typedef struct ebm_energy {
  const char *name;             /* for messages: "gaussian:2", "model.safetensors" */
  int item_ndim;                /* 1 for vectors (D), 3 for images (C,H,W) */
  int64_t item_shape[3];
  int64_t max_batch;            /* largest n accepted by eval; 0 = unlimited */
  int num_classes;              /* 0 = no class labels (cond->labels must be NULL) */
  int needs_sigma;              /* 1 = noise-conditioned: cond->sigma required */
  float range_lo, range_hi;     /* the data range samplers clamp to; lo == hi: none */
  ebm_energy_eval_fn eval;
  void (*destroy)(void *self);  /* frees self; may be NULL */
  void *self;
  /* Optional (NULL: not offered). A second energy for up to max_n items at
   * a time that may evaluate on another thread while this one and its other
   * forks do: it reads this energy's parameters (the caller must not change
   * them while it runs) and owns its buffers. Items [a, a + m) of a batch,
   * with a a multiple of EBM_ENERGY_FORK_ITEMS and m <= that, get the same
   * bits from the fork as from this energy. EBM_ERR_ARG when this energy
   * cannot promise that (a network: ebm_net_fork). Free it with
   * ebm_energy_free. A sampler runs groups of chains through forks
   * (ebm_chain_schedule, ebm/sample.h). */
  ebm_status (*fork)(void *self, int64_t max_n, struct ebm_energy **out);
  /* Optional (NULL: nothing to keep). held = 1: the caller will not change
   * the parameters until hold(self, 0), so evaluations may keep what they
   * derive from them (a network: ebm_net_hold_params). The same bits. */
  void (*hold)(void *self, int held);
  /* Optional (NULL: none). Draws n independent items exactly (no MCMC) from
   * the density this energy stands for, into x (n · item size floats),
   * from rng's stream: what a chain start offers — a fitted Gaussian, a
   * subspace mixture, a set of items (ebm_chain_start_draw, ebm/sample.h).
   * A network has none. */
  ebm_status (*draw)(void *self, ebm_rng *rng, int64_t n, float *x);
} ebm_energy;

/* The block of items a fork keeps the bits of (above): the row block of the
 * linear layers' sgemm calls, a multiple of every conv path's lanes. */
#define EBM_ENERGY_FORK_ITEMS 32

/* Floats per item: the product of item_shape. */
int64_t ebm_energy_item_size(const ebm_energy *en);

/* Calls eval in chunks of at most max_batch items, so callers may pass any n. */
ebm_status ebm_energy_eval(const ebm_energy *en, const float *x, const ebm_cond *cond, int64_t n,
                           float *e, float *grad);

/* Calls destroy and frees the struct itself (made with ebm_energy_alloc). Accepts NULL. */
void ebm_energy_free(ebm_energy *en);

/* Allocates a zeroed ebm_energy for constructors to fill in. */
ebm_energy *ebm_energy_alloc(void);

/* For an energy that wraps another: copies what describes `inner`'s items
 * (name, item shape, max_batch, num_classes, needs_sigma, range) into en,
 * and nothing of its behaviour — eval, destroy, self, fork, hold and draw
 * stay en's own (a fork or draw of inner's, called with the wrapper's self,
 * would read the wrong struct). The wrapper then sets what it changes. */
void ebm_energy_describe_like(ebm_energy *en, const ebm_energy *inner);

#ifdef __cplusplus
}
#endif
#endif
