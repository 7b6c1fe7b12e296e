/* ebm/nn.h — energy networks: layers with exact gradients, architectures
 * described as JSON, presets, spectral normalisation, class conditioning,
 * Adam, and checkpoints in safetensors with PyTorch names. Include <ebm.h>.
 *
 * A network is built for a maximum batch size; all activations and
 * workspaces are allocated then, so the passes below never allocate.
 * Three passes:
 *   ebm_net_energy      E[n]
 *   ebm_net_grad_input  E[n] and dE/dx (what Langevin needs; parameter
 *                       gradients untouched, parameter work skipped)
 *   ebm_net_backward_params
 *                       E[n] and grad += Σ_i dL/dE_i · dE_i/dθ (training) */
#ifndef EBM_NN_H
#define EBM_NN_H

#include "ebm/core.h"
#include "ebm/energy.h"
#include "ebm/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ebm_net ebm_net;

/* One learnable tensor. `name` follows PyTorch ("net.0.weight",
 * "blocks.1.conv1.weight_orig"); `value` and `grad` have the same shape.
 * Spectral-norm power-iteration vectors (weight_u, weight_v) are buffers,
 * not parameters: they are saved in checkpoints but not optimised. */
typedef struct {
  const char *name;
  ebm_tensor *value;
  ebm_tensor *grad;
} ebm_param;

/* ------------------------------------------------------------ building */

/* The architecture JSON of a preset: "mlp", "uva-cnn", "igebm-mnist",
 * "igebm-cifar". `num_classes` > 0 adds class conditioning (where the
 * preset supports it). `in_dim` is the vector size for "mlp" (0 = 2).
 * *json is malloc'd (free()). Unknown name → EBM_ERR_ARG listing presets. */
ebm_status ebm_arch_preset(const char *name, int num_classes, int in_dim, char **json);

/* Builds a network from an architecture JSON for batches of up to
 * max_batch items. Parameters are zero until ebm_net_init or a load.
 * The JSON (what checkpoints store as "arch"; src/nn/arch.c has the full
 * grammar) is either a layer list
 *   {"input": [C, H, W] or [D], "classes": K, "range": [lo, hi],
 *    "spectral_norm": false, "layers": [
 *      {"type": "conv2d", "name": "net.0", "out": 16, "kernel": 5, "stride": 2, "pad": 4},
 *      {"type": "swish"}, {"type": "leaky_relu", "slope": 0.2},
 *      {"type": "avgpool2d", "kernel": 2}, {"type": "global_sum_pool"}, {"type": "flatten"},
 *      {"type": "linear", "name": "fc", "out": 1},
 *      {"type": "class_affine", "name": "cond"},
 *      {"type": "resblock", "name": "blocks.0", "out": 64, "down": true, "act": "swish"}]}
 * (names are the PyTorch parameter prefixes; the last layer gives 1 value),
 * or the compact {"preset": "mlp", "in_dim": 2, "width": 128, "depth": 2,
 * "classes": 0}. Unknown keys, bad shapes, duplicate names → EBM_ERR_ARG
 * naming the layer. */
ebm_status ebm_net_new(const char *arch_json, int64_t max_batch, ebm_net **out);
void ebm_net_free(ebm_net *net);

/* PyTorch's default initialisation (kaiming-uniform weights, uniform
 * biases in ±1/sqrt(fan_in)) from `rng`; spectral-norm u, v ~ N(0,1)
 * normalised, as torch.nn.utils.spectral_norm does. */
ebm_status ebm_net_init(ebm_net *net, ebm_rng *rng);

/* The architecture JSON the network was built from (owned by net). */
const char *ebm_net_arch_json(const ebm_net *net);
/* Per-item input shape (C,H,W or D), classes (0 = unconditional), batch. */
int ebm_net_item_ndim(const ebm_net *net);
const int64_t *ebm_net_item_shape(const ebm_net *net);
int ebm_net_num_classes(const ebm_net *net);
int64_t ebm_net_max_batch(const ebm_net *net);

/* Parameters in a fixed order (the checkpoint order). */
int ebm_net_param_count(const ebm_net *net);
ebm_param *ebm_net_param(ebm_net *net, int index);
/* Total number of learnable scalars. */
int64_t ebm_net_num_scalars(const ebm_net *net);

/* Multiply-adds of one forward pass for one item (for GFLOP/s reports). */
double ebm_net_forward_flops(const ebm_net *net);

/* Non-learned arrays saved with the parameters (spectral-norm "weight_u",
 * "weight_v"), in checkpoint order. *view wraps the live data (not owned). */
int ebm_net_buffer_count(const ebm_net *net);
ebm_status ebm_net_buffer(ebm_net *net, int index, const char **name, ebm_tensor *view);

/* One row of the layer table `ebm info` prints. Strings are owned by net. */
typedef struct {
  const char *type;        /* "conv2d", "resblock", ... */
  const char *name;        /* parameter prefix ("net.0"), "" for parameter-free layers */
  int out_ndim;
  int64_t out_shape[3];    /* per item */
  int64_t num_params;      /* learnable scalars of this layer */
  char detail[64];         /* "k3 s2 p1 sn", "down swish 1x1-shortcut cond" */
} ebm_layer_info;
int ebm_net_layer_count(const ebm_net *net);
ebm_status ebm_net_layer_info(const ebm_net *net, int index, ebm_layer_info *info);

/* The current σ of a spectrally normalised weight, by its parameter name
 * ("blocks.0.conv1.weight_orig"); *found = 0 (and 0 returned) if unknown. */
float ebm_net_spectral_sigma(ebm_net *net, const char *weight_name, int *found);

/* -------------------------------------------------------------- passes */

/* x: n items (n ≤ max_batch); cond: the items' labels (class-conditional
 * networks) or NULL (energy.h). */
ebm_status ebm_net_energy(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n, float *e);
ebm_status ebm_net_grad_input(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n,
                              float *e, float *dx);
/* de[i] = dL/dE_i. Accumulates into every param's grad; e gets E[n]. */
ebm_status ebm_net_backward_params(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n,
                                   const float *de, float *e);
/* Sets every param's grad to 0. */
void ebm_net_zero_grad(ebm_net *net);

/* One power iteration per spectrally-normalised weight (updates u, v and
 * the normalised weights used by the passes). Call once per training step,
 * before the passes; also after loading or changing parameters, with
 * iterations = 0 to only recompute W / σ from the stored u, v. */
void ebm_net_spectral_update(ebm_net *net, int iterations);

/* The network as an energy: a new ebm_energy that borrows `net` (valid
 * while net lives; free it with ebm_energy_free, which leaves the network
 * alone). Its range is the architecture's "range" (none for mlp). NULL when
 * out of memory. */
ebm_energy *ebm_net_as_energy(ebm_net *net);

/* --------------------------------------------------------- checkpoints */

/* Saves parameters and buffers under their PyTorch names, with metadata
 * "arch" (the JSON), "format" ("ebm-1"), plus the given extra key/values
 * (meta_keys[i] → meta_values[i]), atomically. */
ebm_status ebm_net_save(const ebm_net *net, const char *path, int n_meta,
                        const char *const *meta_keys, const char *const *meta_values);
/* Loads a checkpoint: arch from metadata "arch" (a JSON, or a preset name
 * such as "uva-cnn" as written by the PyTorch reference). Wrong shapes,
 * missing or extra tensors, NaN/Inf weights → a message naming the tensor. */
ebm_status ebm_net_load(const char *path, int64_t max_batch, ebm_net **out);
/* Same, from an already parsed file. */
ebm_status ebm_net_from_safetensors(const ebm_safetensors *st, int64_t max_batch, ebm_net **out);

/* ----------------------------------------------------------------- Adam */

typedef struct {
  float lr;            /* 1e-4 (IGEBM) */
  float beta1, beta2;  /* 0.0, 0.999 (IGEBM) */
  float eps;           /* 1e-8 */
  float weight_decay;  /* 0 */
  float clip_std;      /* Du & Mordatch A.12: clip each grad element to
                          ±clip_std·sqrt(v̂) of Adam's second moment; 0 = off */
  float clip_norm;     /* global L2 norm clip before the step; 0 = off */
  float clip_floor;    /* added to the A.12 bound: 0.1 as in openai/ebm_code_release's
                          custom_adam.py (the bound is clip_std·sqrt(v̂_{t−1}) + clip_floor) */
} ebm_adam_config;

/* lr 1e-4, β (0, 0.999), eps 1e-8, no weight decay, clip_std 3,
 * clip_floor 0.1, clip_norm 0 (off; the PyTorch reference uses 0.1). */
ebm_adam_config ebm_adam_defaults(void);

typedef struct ebm_adam ebm_adam;
ebm_status ebm_adam_new(ebm_net *net, const ebm_adam_config *cfg, ebm_adam **out);
void ebm_adam_free(ebm_adam *opt);
/* One update from the accumulated grads; returns the grad norm before
 * clipping in *grad_norm (may be NULL). `lr` overrides cfg.lr when > 0. */
ebm_status ebm_adam_step(ebm_adam *opt, float lr, double *grad_norm);
/* Steps taken so far (restored by ebm_adam_restore). */
int64_t ebm_adam_step_count(const ebm_adam *opt);
/* Moments and step count, for exact resume: adds tensors "adam.m.<name>",
 * "adam.v.<name>" and metadata "adam_step" to a writer; restores them. */
ebm_status ebm_adam_save(const ebm_adam *opt, ebm_st_writer *w);
ebm_status ebm_adam_restore(ebm_adam *opt, const ebm_safetensors *st);

#ifdef __cplusplus
}
#endif
#endif
