/* ebm/nn.h — energy networks: layers with exact gradients, architectures
 * described as JSON, presets, spectral normalisation, class conditioning,
 * Adam, and checkpoints in safetensors with PyTorch names. Include <ebm.h>.
 *
 * A network is built for a maximum batch size; all activations and
 * workspaces are allocated then, so the passes below never allocate.
 * ebm_net_forward / ebm_net_backward take any output shape (logits, images);
 * the three energy passes wrap them for networks that end in one number:
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
 * "igebm-cifar", "pointnet" and "dgcnn" (point-cloud energies on 1×P×3, P = in_dim or 128;
 * dgcnn's first two per-point maps are edge convolutions over each point's k nearest
 * neighbours, {"preset": "dgcnn", "k": K}, 16 by default), "video-convnet", "video-st", "voxelnet" (1×16×64×64 videos
 * and 1×32³ voxels, folded to [C·D, H, W]: see conv3d; video-st's per-frame
 * convs use conv3d's "kernel_depth": 1, then two temporal convs), and the generators "mlp-generator" (z → 2-D
 * points), "voxel-generator" (z → 1×32³ voxel grids in [0, 1]),
 * "video-generator" (z → 1×16×64×64 videos in [0, 1]), "point-generator" (z → a cloud 1×P×3 in [-1, 1]
 * by an MLP; {"preset": "point-generator", "shape": [1, P, 3]} sets P, 128 by default),
 * "point-folding-generator" (the same cloud as one shared map of z and a fixed 2-D grid point per
 * output point: FoldingNet's folded surface; "template": "sphere" | "torus" folds a closed one; on
 * both point generators "rotate": true ends in point_rotate, so z sets the orientation) and "conv-generator" (z → 1×28×28 images; the compact JSON form {"preset":
 * "conv-generator", "in_dim": D, "shape": [C, H, W], "range": [0, 1]} fits it to other
 * images, and "shape" / "range" do the same for uva-cnn's input). `num_classes` > 0 adds class
 * conditioning (where the preset supports it). `in_dim` is the vector size for "mlp" (0 = 2),
 * z's size for the generators.
 * *json is malloc'd (free()). Unknown name → EBM_ERR_ARG listing presets. */
ebm_status ebm_arch_preset(const char *name, int num_classes, int in_dim, char **json);

/* Builds a network from an architecture JSON for batches of up to
 * max_batch items (0: parameters only, no activation memory: for
 * inspecting, initialising and saving; every pass then refuses a non-empty
 * batch). Parameters are zero until ebm_net_init or a load.
 * The JSON (what checkpoints store as "arch"; src/nn/arch.c has the full
 * grammar, each layer kind's file under src/nn/ its keys) is either a layer
 * list
 *   {"input": [C, H, W] or [D], "classes": K, "range": [lo, hi],
 *    "spectral_norm": false, "layers": [
 *      {"type": "conv2d", "name": "net.0", "out": 16, "kernel": 5, "stride": 2, "pad": 4},
 *      {"type": "conv_transpose2d", "name": "up", "out": 16, "kernel": 4, "stride": 2,
 *       "pad": 1, "output_pad": 0},
 *      {"type": "linear", "name": "fc", "out": 10},
 *      {"type": "swish"}, {"type": "leaky_relu", "slope": 0.2}, {"type": "relu"},
 *      {"type": "tanh"}, {"type": "sigmoid"},
 *      {"type": "avgpool2d", "kernel": 2}, {"type": "global_sum_pool"},
 *      {"type": "upsample", "scale": 2}, {"type": "flatten"},
 *      {"type": "reshape", "shape": [32, 7, 7]},
 *      {"type": "batchnorm2d", "name": "bn"},
 *      {"type": "class_affine", "name": "cond"},
 *      {"type": "cond_affine", "name": "film", "class": false, "sigma": true,
 *       "frequencies": 8, "channels": "first"},   ("last": 1×P×C point features)
 *      {"type": "sigma_scale", "power": -2},      (× σ^power, per item)
 *      {"type": "resblock", "name": "blocks.0", "out": 64, "down": true, "act": "swish"},
 *      {"type": "logsumexp"}, {"type": "select"}]}
 * (names are the PyTorch parameter prefixes; the last layer may give any
 * shape — the energy passes need 1 value: end in linear "out": 1, or in
 * the logsumexp / select heads on K logits),
 * or the compact {"preset": "mlp", "in_dim": 2, "width": 128, "depth": 2,
 * "classes": 0}. Unknown keys, bad shapes, duplicate names → EBM_ERR_ARG
 * naming the layer. */
ebm_status ebm_net_new(const char *arch_json, int64_t max_batch, ebm_net **out);
void ebm_net_free(ebm_net *net);

/* A second network of net's architecture for up to max_batch items that
 * computes with net's parameters, buffers and normalised weights (it reads
 * them at each pass, so it follows net's updates; free it before net) in
 * its own activations and workspaces, so the two may run passes on
 * different threads at once and give every item the same bits. Refused
 * (EBM_ERR_ARG naming the layer) when a layer mixes the items of a batch
 * (batchnorm2d, actnorm). */
ebm_status ebm_net_fork(ebm_net *net, int64_t max_batch, ebm_net **out);

/* held = 1: the caller promises not to change the parameters until it calls
 * this again with 0, so passes may keep what they derive from them (the
 * packed weights of the convs run group by group) instead of redoing it
 * each pass. Either call forgets what was kept. The same bits either way. */
void ebm_net_hold_params(ebm_net *net, int held);

/* What an architecture may make a network allocate (checked while building,
 * before each allocation; beyond a limit → EBM_ERR_NOMEM naming the layer):
 *   working memory — activations, gradients and workspaces for max_batch
 *     items (also any one layer's input or output for max_batch items):
 *     EBM_NET_MAX_WORK_BYTES;
 *   parameters — values and gradients, buffers, normalised weights:
 *     EBM_NET_MAX_PARAM_BYTES.
 * A loaded checkpoint's tensors are also compared with the architecture
 * before anything is allocated, so its parameters are bounded by the file's
 * size. */
#define EBM_NET_MAX_WORK_BYTES ((int64_t)4 << 30)
#define EBM_NET_MAX_PARAM_BYTES ((int64_t)4 << 30)

/* The bytes building `arch_json` for max_batch items would allocate, found
 * by the same build without allocating any array (what checkpoint loading
 * does first). Errors as ebm_net_new. */
typedef struct {
  double param_bytes;  /* parameters with their gradients, buffers, normalised weights */
  double work_bytes;   /* activations, gradients, workspaces */
} ebm_net_memory;
ebm_status ebm_net_plan(const char *arch_json, int64_t max_batch, ebm_net_memory *mem);

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
/* Volumes: the depth D when the network's first layer is a conv3d (its
 * C×D×H×W items travel as [C·D, H, W]), else 0. */
int64_t ebm_net_volume_depth(const ebm_net *net);
/* Point clouds: the points P when the network's first layer is a
 * point_linear on 3-D points (items 1×P×3, ebm/points.h), else 0. */
int64_t ebm_net_cloud_points(const ebm_net *net);
int64_t ebm_net_max_batch(const ebm_net *net);
/* The architecture's "range" [lo, hi] (the data range it models): 1 and
 * *lo, *hi set when it has one, 0 (and both left alone) otherwise. */
int ebm_net_range(const ebm_net *net, float *lo, float *hi);

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

/* The raw network output of n items (n ≤ max_batch): out gets n × K floats,
 * K = ebm_net_out_size (any output shape: 10 logits, a 1×28×28 image, one
 * energy). `cond` (may be NULL) must hold labels iff ebm_net_needs_labels
 * and noise levels iff ebm_net_needs_sigma. out may be NULL (only the
 * activations are kept). The network keeps what backward needs, and
 * borrows cond's arrays until the next pass. An output that holds NaN or
 * Inf → EBM_ERR_NUMERIC naming the first layer that produced one ("layer 3
 * conv2d 'net.3' produced inf (item 0)"); the same holds for the energy
 * passes below (out / e then hold whatever the pass computed). */
ebm_status ebm_net_forward(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n,
                           float *out);
/* Back through the last forward pass (no second forward): dout is dL/d(out)
 * [n, K]; dx (NULL: skipped) gets dL/dx [n, item size]; want_params = 1
 * ACCUMULATES dL/dθ into every param's grad, 0 leaves them untouched and
 * skips all parameter work. EBM_ERR_ARG when no forward pass preceded it
 * (the energy passes below count as forward passes). */
ebm_status ebm_net_backward(ebm_net *net, const float *dout, float *dx, int want_params);

/* The output of layer `index` (0 .. ebm_net_layer_count − 1, the layers of
 * the JSON, as `ebm info` numbers them) in the last forward pass (the
 * energy passes count): *view wraps the network's own memory, shape
 * [n, layer output shape] (not owned; valid until the next pass). The
 * penultimate layer of a classifier gives its features (`ebm eval fid`).
 * EBM_ERR_ARG for an index out of range or when no forward pass has run
 * since the network was built (or the last one failed). ebm_net_grad_input
 * keeps no pre-activation of a conv2d followed by swish (the Langevin pass
 * does not need it): the first read after it (this, or ebm_net_backward)
 * recomputes it from the conv's input — the same bits, provided the x given
 * to the pass still holds its values. */
ebm_status ebm_net_layer_output(const ebm_net *net, int index, ebm_tensor *view);

/* Per-item output shape and size K (product of the shape). */
int ebm_net_out_ndim(const ebm_net *net);
const int64_t *ebm_net_out_shape(const ebm_net *net);
int64_t ebm_net_out_size(const ebm_net *net);
/* What a pass needs in its ebm_cond: labels (a "classes" > 0 network) and
 * noise levels (a network with a noise-level embedding). */
int ebm_net_needs_labels(const ebm_net *net);
int ebm_net_needs_sigma(const ebm_net *net);

/* Train or eval mode (what nn.Module.train() / .eval() switch): only
 * batchnorm2d layers differ — train mode normalises with the batch's
 * statistics and updates the running ones on every forward pass, eval mode
 * uses the running ones. A new or loaded network is in eval mode. */
void ebm_net_set_training(ebm_net *net, int training);
int ebm_net_training(const ebm_net *net);

/* The energy passes: networks whose output is one number per item (K = 1).
 * x: n items (n ≤ max_batch); cond: the items' labels / noise levels, as
 * ebm_net_forward, or NULL (energy.h). */
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
 * out of memory. A classifier (below) gives the energy of its logits f(x):
 * num_classes = K, and labels are optional — E(x, y) = −f(x)[y] with them,
 * E(x) = −log Σ_y exp f(x)[y] without (JEM, Grathwohl et al. 2020). */
ebm_energy *ebm_net_as_energy(ebm_net *net);
/* 1 for a classifier: a network ending in K > 1 numbers (a 1-D output, the
 * logits) that takes no labels or noise levels itself. */
int ebm_net_is_classifier(const ebm_net *net);

/* The latent posterior of a model with a generator G (GEBM, Arbel et al.
 * 2021): U(z) = ½‖z‖² + E(G(z)), i.e. ν(z) ∝ N(z; 0, I)·exp(−E(G(z))), as
 * an energy in z with ∇U = z + J_Gᵀ∇ₓE(G(z)) (one generator backward), so
 * every sampler runs in latent space. Borrows both (valid while they
 * live); max_batch is the generator's; no range (z is unbounded). A
 * generator whose output shape differs from data_energy's item shape →
 * EBM_ERR_ARG naming both shapes. */
ebm_status ebm_latent_energy_new(ebm_net *generator, const ebm_energy *data_energy, ebm_energy **out);
/* Tempers the energy alone: U(z) = ½‖z‖² + E(G(z))/β, ν(z) ∝ N(z; 0, I)·
 * exp(−E(G(z))/β) (β = 1 when made). Only for energies of
 * ebm_latent_energy_new; β ≤ 0 or not finite → EBM_ERR_ARG. */
ebm_status ebm_latent_energy_set_temperature(ebm_energy *en, float beta);

/* The latent-space EBM prior (Pang et al. 2020): p(z) ∝ exp(−E(z))·N(z; 0, I)
 * with E = `prior` (an energy network on z), and x = G(z) + N(0, σ²I).
 * Without a generator (NULL): the prior, U(z) = E(z) + ½‖z‖². With one:
 * the posterior, U(z|x) = E(z) + ½‖z‖² + ‖x − G(z)‖²/(2σ²), once its
 * observations are set (until then it is the prior). Borrows both
 * networks; max_batch is the smaller of theirs; no range. A generator
 * whose input is not the prior's z → EBM_ERR_ARG naming both shapes. */
ebm_status ebm_latent_prior_energy_new(ebm_net *prior, ebm_net *generator, float sigma, ebm_energy **out);
/* The observations of the posterior (n items of G's output, borrowed until
 * the next call; NULL = none): chain i is z of x_i, so it must then be
 * evaluated on exactly n chains (EBM_ERR_ARG otherwise). Only for energies
 * made by ebm_latent_prior_energy_new; n ≤ max_batch. */
ebm_status ebm_latent_prior_energy_set_target(ebm_energy *en, const float *x, int64_t n);
/* Tempers the prior's network alone: E(z)/β in place of E(z) (β = 1 when
 * made); the N(0, I) base and the likelihood stay. Only for energies of
 * ebm_latent_prior_energy_new; β ≤ 0 or not finite → EBM_ERR_ARG. */
ebm_status ebm_latent_prior_energy_set_temperature(ebm_energy *en, float beta);

/* --------------------------------------------------------------- losses */

/* The mean softmax cross-entropy of n rows of k logits against labels in
 * 0..k−1 (PyTorch's F.cross_entropy, reduction "mean"), computed with the
 * log-sum-exp shift in double. dlogits (may be NULL; n×k) gets
 * scale · d(mean CE)/d(logits) = scale·(softmax − onehot)/n, ready for
 * ebm_net_backward. *correct (may be NULL) counts rows whose argmax (the
 * first, on ties) is the label. The caller checks the labels' range. */
double ebm_softmax_xent(const float *logits, const int32_t *labels, int64_t n, int64_t k, float scale,
                        float *dlogits, int64_t *correct);

/* --------------------------------------------------------- checkpoints */

/* Saves parameters and buffers under their PyTorch names, with metadata
 * "arch" (the JSON), "format" ("ebm-1"), plus the given extra key/values
 * (meta_keys[i] → meta_values[i]), atomically. */
ebm_status ebm_net_save(const ebm_net *net, const char *path, int n_meta,
                        const char *const *meta_keys, const char *const *meta_values);
/* Loads a checkpoint: arch from metadata "arch" (a JSON, or a preset name
 * such as "uva-cnn" as written by the PyTorch reference). Wrong shapes,
 * missing or extra tensors, NaN/Inf weights → a message naming the tensor.
 * The architecture is planned (ebm_net_plan) and every tensor's name and
 * shape compared with the file's before the network is allocated. `ebm
 * info` loads with max_batch 0 (no activation memory). */
ebm_status ebm_net_load(const char *path, int64_t max_batch, ebm_net **out);
/* Same, from an already parsed file. */
ebm_status ebm_net_from_safetensors(const ebm_safetensors *st, int64_t max_batch, ebm_net **out);
/* Same, with the architecture (JSON or preset name) given instead of read
 * from the file's metadata: for files of older formats whose tensors are
 * a network's under other metadata (an old classifier checkpoint). */
ebm_status ebm_net_from_safetensors_arch(const ebm_safetensors *st, const char *arch,
                                         int64_t max_batch, ebm_net **out);

/* Models of several networks (DESIGN §2–3: generator + energy, flow +
 * energy) are one checkpoint: metadata "parts" lists the part names
 * ("energy,generator"), "arch.<part>" holds each architecture, and each
 * tensor is named "<part>.<PyTorch name>" ("generator.net.0.weight"), so
 * a PyTorch module with submodules `energy` and `generator` loads it with
 * load_state_dict(strict=True). Part names are [A-Za-z0-9_]+. ebm_net_load
 * of such a file gives its "energy" part (the first part if none is named
 * so), so every verb that takes an energy works on these models. */
ebm_status ebm_net_save_parts(const char *path, int n_parts, const ebm_net *const *nets,
                              const char *const *names, int n_meta, const char *const *meta_keys,
                              const char *const *meta_values);
/* One part; a file without parts, or without that part → EBM_ERR_FORMAT /
 * EBM_ERR_ARG naming the parts it has. */
ebm_status ebm_net_load_part(const char *path, const char *part, int64_t max_batch, ebm_net **out);
ebm_status ebm_net_part_from_safetensors(const ebm_safetensors *st, const char *part, int64_t max_batch,
                                         ebm_net **out);

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
/* The same under another prefix ("<prefix>.m.<name>", "<prefix>_step"), for
 * a second optimiser in one state file (a generator's: "generator_adam"). */
ebm_status ebm_adam_save_as(const ebm_adam *opt, ebm_st_writer *w, const char *prefix);
ebm_status ebm_adam_restore_as(ebm_adam *opt, const ebm_safetensors *st, const char *prefix);

#ifdef __cplusplus
}
#endif
#endif
