/* ebm/flow.h — normalising flows: an exact density q(x) with exact samples
 * (RealNVP, Dinh et al. 2017; the noise of flow-contrastive estimation,
 * Gao et al. CVPR 2020). Include <ebm.h>.
 *
 * A flow is L affine coupling layers x → z. Layer l keeps the masked part
 * of its input and moves the rest:
 *   r      = net_l(b ⊙ h)                     (an ebm_net: item → 2 × item)
 *   s      = c · tanh(r[0:D] / c)              (log-scale, soft-clamped to ±c)
 *   t      = r[D:2D]
 *   h'     = b ⊙ h + (1 − b) ⊙ (h ⊙ exp(s) + t)
 *   log|det ∂h'/∂h| = Σ_d (1 − b_d) s_d       (exact: the Jacobian is triangular)
 * with b the layer's binary mask (a checkerboard, or the first half of the
 * channels / features; the parity flips from layer to layer so every
 * coordinate moves). The base is N(0, I):
 *   log q(x) = −½‖z‖² − (D/2)·log 2π + Σ_l log|det_l|.
 * The s, t networks are ordinary ebm_nets (src/nn), built from the flow's
 * settings: an MLP for vectors, 3×3 convolutions for images; their last
 * layer starts at zero, so a new flow is the identity (q = N(0, I)).
 *
 * Glow's layers (Kingma & Dhariwal 2018) go before each coupling when on
 * (actnorm → 1×1 convolution → coupling), per channel c of C×H×W items
 * (vectors: each of the D features is a channel, H·W = 1):
 *   actnorm   y = x·exp(logs_c) + bias_c        log|det| = H·W·Σ_c logs_c
 *             (the identity until ebm_flow_data_init sets it from a batch)
 *   1×1 conv  y[:, p] = W·x[:, p], W C×C          log|det| = H·W·log|det W|
 *             (W starts as a random rotation; its log|det| and inverse
 *             come from Gauss–Jordan elimination in double: exact for
 *             any invertible W, and C is small) */
#ifndef EBM_FLOW_H
#define EBM_FLOW_H

#include "ebm/core.h"
#include "ebm/energy.h"
#include "ebm/io.h"
#include "ebm/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  EBM_FLOW_MASK_CHECKERBOARD = 0, /* (h + w) even for images, even features for vectors */
  EBM_FLOW_MASK_CHANNEL           /* the first half of the channels (images) / features (vectors) */
} ebm_flow_mask;

/* The shape of a flow's layers. Text form (ebm_flow_spec_parse / _format):
 * "couplings=8,hidden=64,depth=2,mask=checkerboard,clamp=3,actnorm=1,conv1x1=1"
 * — any subset, in any order; missing keys keep their defaults (actnorm
 * and conv1x1 are written only when 1). */
typedef struct {
  int couplings;       /* coupling layers L, 8 */
  int hidden;          /* width of the s, t networks (units or channels), 64 */
  int depth;           /* hidden layers of each s, t network, 2 */
  ebm_flow_mask mask;  /* checkerboard */
  float clamp;         /* c of s = c·tanh(r/c), 3 */
  int actnorm;         /* 1: an actnorm before each coupling, 0 */
  int conv1x1;         /* 1: an invertible 1×1 convolution before each coupling, 0 */
} ebm_flow_spec;

ebm_flow_spec ebm_flow_spec_defaults(void);
/* Parses text over *spec (starting from what *spec holds). A bad key or
 * value → EBM_ERR_ARG naming it and what is accepted. */
ebm_status ebm_flow_spec_parse(const char *text, ebm_flow_spec *spec);
/* The text that parses back to *spec (into buf). */
const char *ebm_flow_spec_format(const ebm_flow_spec *spec, char *buf, size_t size);

typedef struct ebm_flow ebm_flow;

/* A flow on items of shape item_shape (ndim 1: [D], D ≥ 2; ndim 3: [C, H, W],
 * the channel mask needing C ≥ 2) for batches of up to max_batch items.
 * Parameters are zero until ebm_flow_init or a load. */
ebm_status ebm_flow_new(const ebm_flow_spec *spec, int item_ndim, const int64_t *item_shape,
                        int64_t max_batch, ebm_flow **out);
void ebm_flow_free(ebm_flow *flow);

/* PyTorch's default initialisation of every s, t network from rng, then
 * the last layer of each set to zero (the flow starts as the identity). */
ebm_status ebm_flow_init(ebm_flow *flow, ebm_rng *rng);

const ebm_flow_spec *ebm_flow_get_spec(const ebm_flow *flow);
int ebm_flow_item_ndim(const ebm_flow *flow);
const int64_t *ebm_flow_item_shape(const ebm_flow *flow);
int64_t ebm_flow_item_size(const ebm_flow *flow);
int64_t ebm_flow_max_batch(const ebm_flow *flow);
/* The flow's networks in pass order (owned by the flow): for an optimiser,
 * for parameter access. Without Glow layers network l is coupling l's s, t
 * network; with them each coupling's is preceded by its actnorm and / or
 * 1×1 convolution network. The name is its checkpoint part ("flow_<l>",
 * "actnorm_<l>", "invconv_<l>"). */
int ebm_flow_net_count(const ebm_flow *flow);
ebm_net *ebm_flow_net(ebm_flow *flow, int l);
const char *ebm_flow_net_name(const ebm_flow *flow, int l);
/* Sets every parameter gradient of every network to 0. */
void ebm_flow_zero_grad(ebm_flow *flow);

/* ---------------------------------------------------------------- passes
 * n ≤ max_batch items of item_size floats. The flow keeps what backward
 * needs from the last forward / log_prob (inverse and sample overwrite it).
 * A NaN/Inf on the way → EBM_ERR_NUMERIC naming the coupling. */

/* Glow's data-dependent initialisation: a forward pass of x (n items) in
 * which every actnorm first sets its bias and logs so that its output on
 * this batch has zero mean and unit variance per channel. Nothing to do
 * without actnorm layers. Call it once, on the first training batch. */
ebm_status ebm_flow_data_init(ebm_flow *flow, const float *x, int64_t n);

/* x → z [n, D] and log|det ∂z/∂x| [n] (logdet may be NULL). */
ebm_status ebm_flow_forward(ebm_flow *flow, const float *x, int64_t n, float *z, float *logdet);
/* Back through the last forward: dz = dL/dz [n, D], dlogdet = dL/dlogdet
 * [n] (NULL: 0). dx (NULL: skipped) gets dL/dx; want_params = 1
 * ACCUMULATES dL/dθ into every network's param grads. */
ebm_status ebm_flow_backward(ebm_flow *flow, const float *dz, const float *dlogdet, float *dx,
                             int want_params);
/* z → x, the exact inverse of forward. */
ebm_status ebm_flow_inverse(ebm_flow *flow, const float *z, int64_t n, float *x);

/* log q(x_i) [n] (a forward pass). */
ebm_status ebm_flow_log_prob(ebm_flow *flow, const float *x, int64_t n, float *logq);
/* After ebm_flow_log_prob: the gradient of Σ_i w_i · log q(x_i): dx (NULL:
 * skipped) gets it w.r.t. the items; want_params = 1 accumulates it into the
 * param grads. */
ebm_status ebm_flow_log_prob_backward(ebm_flow *flow, const float *w, float *dx, int want_params);

/* n exact samples x = f⁻¹(z), z ~ N(0, temperature²·I) (temperature 1:
 * samples of q); any n, in chunks of max_batch. */
ebm_status ebm_flow_sample(ebm_flow *flow, ebm_rng *rng, int64_t n, float temperature, float *x);

/* The flow as an energy E(x) = −log q(x) (exact, normalised: log Z = 0),
 * so every sampler and evaluator works on it. Borrows flow; no range (set
 * range_lo/hi on it to clamp). NULL when out of memory. */
ebm_energy *ebm_flow_as_energy(ebm_flow *flow);
/* The flow behind an energy made by ebm_flow_as_energy or
 * ebm_model_energy_load, else NULL: what lets a verb sample exactly. */
ebm_flow *ebm_energy_flow(const ebm_energy *en);

/* Any model checkpoint as an energy, for batches of up to max_batch: a flow
 * model gives −log q (the energy owns the flow: ebm_energy_free frees it;
 * *net = NULL), any other the network's energy (*net gets the network, for
 * the caller to free after the energy). */
ebm_status ebm_model_energy_load(const char *path, int64_t max_batch, ebm_net **net, ebm_energy **energy);

/* ----------------------------------------------------------- checkpoints
 * A flow in a checkpoint is the parts "flow_0" … "flow_{L−1}" (one per
 * coupling, tensors "flow_<l>.<PyTorch name>": "flow_0.net.0.weight"), with
 * Glow layers "actnorm_<l>.actnorm.bias" / ".logs" [C] and
 * "invconv_<l>.invconv.weight" ([C, C, 1, 1] for images, [D, D] for
 * vectors), and metadata "flow" (ebm_flow_spec_format). The file may hold other parts
 * (an "energy" next to its flow); ebm_flow_load reads the flow's. */

/* Writes the flow alone (plus the given metadata), atomically. */
ebm_status ebm_flow_save(const ebm_flow *flow, const char *path, int n_meta, const char *const *meta_keys,
                         const char *const *meta_values);
/* Adds the flow's parts to a list for ebm_net_save_parts (nets, names: room
 * for ebm_flow_net_count entries); the "flow" metadata is
 * ebm_flow_spec_format. Returns how many it added. */
int ebm_flow_parts(const ebm_flow *flow, const ebm_net **nets, const char **names);
/* 1 if the checkpoint holds a flow (metadata "flow"). */
int ebm_safetensors_has_flow(const ebm_safetensors *st);
/* 1 if it is a flow model: a flow and no "energy" part (what `ebm train
 * --method flow` writes). A file of an energy and its flow (fce) is an
 * energy model. */
int ebm_safetensors_is_flow_model(const ebm_safetensors *st);
ebm_status ebm_flow_load(const char *path, int64_t max_batch, ebm_flow **out);
ebm_status ebm_flow_from_safetensors(const ebm_safetensors *st, int64_t max_batch, ebm_flow **out);

#ifdef __cplusplus
}
#endif
#endif
