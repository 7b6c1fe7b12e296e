/* nn/nn_internal.h — what the files of src/nn share: the parsed
 * architecture, the layer registry (one descriptor per layer kind), the
 * network struct and the helpers layers are made of. Not a public header.
 *
 * A layer kind is one file (layer_*.c, resblock.c) that defines one
 * `layer_kind` descriptor, plus one row in registry.c. The descriptor says
 * which JSON keys the kind takes (with their checks and defaults: arch.c
 * parses and writes them generically), how it is built (output shape,
 * parameters under PyTorch names, buffers, scratch sizes), how it runs
 * (forward, backward) and what `ebm info` says about it. Nothing outside a
 * kind's file switches on the kind. */
#ifndef EBM_NN_INTERNAL_H
#define EBM_NN_INTERNAL_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ebm/nn.h"
#include "ops/conv3d.h"
#include "ops/ops.h"

typedef enum { ACT_SWISH, ACT_LEAKY_RELU } act_kind;
/* point_grid's fixed template (the points the folding MLP maps onto the
 * cloud): a square grid (2 numbers a point), the unit sphere (3), a torus
 * as (cos u, sin u, cos v, sin v) (4). */
typedef enum { TEMPLATE_SQUARE, TEMPLATE_SPHERE, TEMPLATE_TORUS } grid_template;

#define NN_NAME_MAX 64

typedef struct layer layer;
typedef struct layer_kind layer_kind;
typedef struct conv_link conv_link; /* chain.c */

/* ------------------------------------------------ parsed architecture */

/* Every field any kind reads from its JSON object; a kind's key table says
 * which of them it takes (the others stay at their zero value). */
typedef struct {
  const layer_kind *kind;
  char name[NN_NAME_MAX];  /* parameter prefix: "net.0", "blocks.1" */
  int64_t out;             /* output channels or features */
  int64_t kernel, stride, pad, output_pad;
  int64_t scale;           /* upsample factor */
  int64_t freqs;           /* cond_affine: sinusoidal frequencies of log σ */
  int64_t depth;           /* conv3d: depth D of the input, seen as C×D×H×W */
  int64_t kernel_d, stride_d, pad_d; /* conv3d along depth; 0, 0, −1: as kernel, stride, pad */
  int bias;                /* conv/linear: has a bias */
  int spectral_norm;       /* conv/linear/resblock: normalise the weights */
  int down;                /* resblock: 2×2 average pooling after the sum */
  int act;                 /* act_kind: resblock activation */
  int classes, sigma;      /* cond_affine: use the class / the noise-level embedding */
  int channels_last;       /* cond_affine: the channel is the input's last axis (point features) */
  int pool_max, pool_mean, pool_sum; /* point_pool: which reductions over the points */
  int64_t points;          /* point_grid: points of the grid (P) */
  int grid_template;       /* point_grid: grid_template */
  int64_t heads;           /* point_grid: code-only rows before the template's */
  int64_t neighbours;      /* point_edge_conv: k nearest neighbours */
  double slope;            /* leaky ReLU slope */
  double power;            /* sigma_scale: the output is σ^power × the input */
  double conv2_init_std;   /* resblock: std of conv2's initial weights */
  int shape_ndim;          /* reshape target */
  int64_t shape[3];
} layer_spec;

typedef struct {
  char preset[32];         /* "" for a custom architecture */
  int input_ndim;          /* 1 (D) or 3 (C,H,W) */
  int64_t input[3];
  int classes;             /* 0 = unconditional */
  int has_range;
  double range_lo, range_hi;
  int nlayers;
  layer_spec *layers;      /* malloc'd */
} arch_spec;

/* Parses an architecture JSON (or the compact {"preset": ...} form) into
 * *spec; arch_spec_free releases it. Every problem → EBM_ERR_ARG naming the
 * layer and the field. *canonical (may be NULL) gets the expanded JSON. */
ebm_status arch_parse(const char *json, arch_spec *spec, char **canonical);
void arch_spec_free(arch_spec *spec);
/* The canonical (expanded) JSON of a spec; malloc'd, NULL when out of memory. */
char *arch_spec_to_json(const arch_spec *spec);
/* A preset's options, the keys of the compact form: 0 (in_dim, width,
 * shape_ndim, has_range) and -1 (depth) mean "the preset's default".
 * shape / range are the data's item shape and range: the input of an
 * image energy (uva-cnn), the output of conv-generator. */
typedef struct {
  int classes, in_dim, width, depth;
  int k;                   /* dgcnn: neighbours of its edge convolutions; 0 = 16 */
  int grid_template;       /* point-folding-generator: grid_template of its point_grid; -1 = not given */
  int rotate;              /* the point generators: end in point_rotate (z sets the orientation) */
  int shape_ndim;
  int64_t shape[3];
  int has_range;
  double range_lo, range_hi;
} preset_opts;

/* Expands a preset into its full JSON (what ebm_arch_preset returns). */
ebm_status arch_preset_json(const char *name, const preset_opts *opts, char **json);
/* A layer_spec of `kind` holding the kind's defaults (what an object with
 * only "type" gives); spectral_norm = default_sn where the kind takes it. */
void layer_spec_defaults(layer_spec *ls, const layer_kind *kind, int default_sn);

/* ----------------------------------------------------- the registry */

#define LK_INT(key, field, lo, hi, def) \
  {key, KEY_INT, offsetof(layer_spec, field), lo, hi, def, 0, NULL, NULL}
#define LK_INT_REQUIRED(key, field, lo, hi) \
  {key, KEY_INT, offsetof(layer_spec, field), lo, hi, 0, 1, NULL, NULL}
#define LK_BOOL(key, field, def) {key, KEY_BOOL, offsetof(layer_spec, field), 0, 1, def, 0, NULL, NULL}
#define LK_FLOAT(key, field, lo, hi, def) \
  {key, KEY_FLOAT, offsetof(layer_spec, field), lo, hi, def, 0, NULL, NULL}
#define LK_END {NULL, KEY_INT, 0, 0, 0, 0, 0, NULL, NULL}
/* "out" (required), "bias" and "spectral_norm" of a weighted map. */
#define LK_OUT LK_INT_REQUIRED("out", out, 1, 1 << 20)
#define LK_BIAS_SN LK_BOOL("bias", bias, 1), LK_BOOL("spectral_norm", spectral_norm, -1)

/* One JSON key of a layer kind: where it goes in layer_spec and its check.
 * KEY_ENUM: a string, one of `names`; the int field gets its index. */
typedef enum { KEY_INT, KEY_BOOL, KEY_FLOAT, KEY_ENUM, KEY_SHAPE } key_type;
typedef struct {
  const char *key;
  key_type type;
  size_t offset;           /* offsetof(layer_spec, field) */
  double lo, hi;           /* KEY_INT / KEY_FLOAT / KEY_SHAPE entries: accepted range */
  double def;              /* default; KEY_BOOL −1: the top-level "spectral_norm" */
  int required;            /* no default: the key must be given */
  /* Written back into the canonical JSON only when this says so (NULL:
   * always), e.g. a resblock's slope only with act = leaky_relu. */
  int (*written)(const layer_spec *ls);
  const char *const *names; /* KEY_ENUM: the accepted strings, NULL-terminated */
} layer_key;
/* The names of act_kind, for a KEY_ENUM "act". */
extern const char *const act_names[];

/* Running maxima of the scratch sizes a build collects (floats per item,
 * or absolute), so the network allocates each scratch buffer once. */
typedef struct {
  int64_t act;        /* largest activation per item */
  int64_t rb_full;    /* largest resblock tensor (c·h·w) per item */
  int64_t rb_in;      /* largest resblock input per item */
  size_t ws;          /* conv workspace */
  int64_t weight;     /* largest normalised weight */
  int64_t sn_vec;     /* largest rows + cols */
  int64_t cond_c;     /* largest conditioned channel count */
  int64_t cond_hidden;/* largest cond_affine embedding (2·C + features) */
  char act_where[NN_NAME_MAX + 48]; /* the layer with the largest activation (messages) */
} scratch_sizes;

/* The contract of a layer kind. In every pass `n` ≤ max_batch items, `cond`
 * may be NULL (then labels / sigma are NULL; the passes have validated
 * them against ebm_net_needs_* before any layer runs). No pass allocates.
 *   build     fills l->out_ndim / out_shape from l->in_*, registers
 *             parameters and buffers (net_add_param / net_add_buffer),
 *             allocates per-layer storage with net_alloc_floats, adds its
 *             multiply-adds to l->flops and raises `sz`. A bad shape →
 *             EBM_ERR_ARG naming `where`.
 *   init      PyTorch's default initialisation (NULL: nothing to draw).
 *   forward   l->in = x and l->y_out = l->out are set by the caller; writes
 *             l->out (or points l->y_out elsewhere: views such as flatten)
 *             and keeps in the layer whatever backward needs.
 *   backward  dy: dL/d(output) of the last forward. Writes dL/d(input) into
 *             dx (a buffer of the input's size distinct from dy, always
 *             valid; its content is unspecified when need_dx is 0) and
 *             returns the pointer holding it (dx, or dy for views).
 *             want_params = 0: no parameter work, grads untouched;
 *             1: ACCUMULATE into the parameters' grads.
 *   detail    one short line for `ebm info` (NULL: ""). */
struct layer_kind {
  const char *name;        /* the JSON "type" */
  const layer_key *keys;   /* terminated by {NULL} */
  int named;               /* has parameters: "name" is required */
  int view;                /* output is the input's memory: no out buffer */
  ebm_status (*build)(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                      const char *where);
  void (*init)(ebm_net *net, layer *l, ebm_rng *rng);
  void (*forward)(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x);
  const float *(*backward)(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                           const float *dy, float *dx, int need_dx, int want_params);
  void (*detail)(const ebm_net *net, const layer *l, char *buf, size_t size);
  /* Whether each item's values in this layer's passes (forward, input
   * gradient) come from that item alone, by the same operations whatever
   * the batch around it (its size, the item's place in it, as long as the
   * item's block of EBM_ENERGY_FORK_ITEMS starts at the same item), on the
   * current ops table: what ebm_net_fork needs. NULL: never (batch
   * statistics, an initialisation from the data, sgemm calls whose blocks
   * of items depend on the batch size). */
  int (*per_item)(const ebm_net *net, const layer *l);
  /* What a forward pass with net->drop_pre set left out (a pre-activation
   * nothing on the Langevin path reads), recomputed for n items from the
   * layer's stored input, bit for bit as a pass without drop_pre keeps it
   * (net_restore). NULL: the layer leaves nothing out. */
  void (*restore)(ebm_net *net, layer *l, int64_t n);
};

/* registry.c: the table. NULL when unknown. */
const layer_kind *layer_kind_find(const char *name);
/* "conv2d, linear, ..." (for messages), cut to fit `size`. */
void layer_kind_list(char *buf, size_t size);
/* Whether any kind takes the JSON key (for "does not take" vs "unknown"). */
int layer_key_known(const char *key);
/* The fused conv2d + swish pair (not a JSON type: build.c rewrites the
 * layer list into it). A forward pass with net->drop_pre set does not keep
 * its pre-activation l->out; its restore recomputes it (the plain conv of
 * the stored input l->in, the same bits). */
extern const layer_kind layer_conv2d_swish;

/* ------------------------------------------------------------- helpers */

/* A spectrally normalised weight (torch.nn.utils.spectral_norm): the
 * parameter is W_orig, reshaped to (rows, cols) = (out, in·k·k); the passes
 * use W = W_orig / σ with σ = uᵀ W_orig v, u and v from power iteration. */
typedef struct {
  int64_t rows, cols;
  int weight;    /* param index of W_orig */
  int u, v;      /* buffer indices ("<layer>.weight_u", "<layer>.weight_v") */
  float *w;      /* the normalised weight used by the passes */
  float sigma;
} sn_weight;

/* A convolution or linear map with optional spectral norm. */
typedef struct {
  int is_conv;
  ebm_conv2d_shape cs;     /* conv: geometry for max_batch (n replaced per pass) */
  int64_t in, out;         /* linear: features; conv: c_in·kh·kw and c_out */
  int weight, bias;        /* param indices (bias −1 when absent) */
  sn_weight *sn;           /* NULL when not normalised */
} wop;

/* Class-conditional gain and bias (Du & Mordatch A.10): tables [K, C]
 * indexed by the label, applied per channel over hw positions. */
typedef struct {
  int gain, bias;          /* param indices */
  int64_t classes, c, hw;
} cond_op;

struct layer {
  const layer_spec *spec;     /* the JSON layer (its kind names the type) */
  const layer_kind *kind;     /* what runs: spec->kind, or layer_conv2d_swish */
  char name[NN_NAME_MAX];
  int in_ndim, out_ndim;
  int64_t in_shape[3], out_shape[3];
  int64_t in_size, out_size;  /* floats per item */
  float *out;                 /* [max_batch, out_size]; NULL for views */
  float *gate;                /* conv2d + swish step: swish'(out) of the last
                                 forward pass, [max_batch, out_size] */
  const float *in;            /* input of the last forward pass */
  const float *y_out;         /* output of the last forward pass */
  double flops;               /* multiply-adds per item of its forward */
  wop op;                     /* conv2d, linear, conv_transpose2d */
  conv_link *link;            /* conv2d + swish step chained with a neighbour
                                 in the blocked layout (chain.c), else NULL */
  void *priv;                 /* the kind's own state (net_alloc'd) */
};

/* A named float array saved in checkpoints: a parameter's value or a
 * buffer (spectral-norm u, v; batch-norm running statistics). */
typedef struct {
  char *name;
  int ndim;
  int64_t shape[EBM_MAX_DIMS];
  float *data;                /* owned (buffers) */
  int as_i64;                 /* saved as I64 (num_batches_tracked) */
} nn_buffer;

struct ebm_net {
  char *arch_json;            /* canonical JSON */
  arch_spec spec;
  int64_t max_batch;
  int64_t item_shape[3];
  int item_ndim;
  int num_classes;
  int needs_sigma;            /* a layer reads cond->sigma */
  int training;               /* batch norm: batch statistics (1) or running ones (0) */

  int nlayers;
  layer *layers;              /* one per JSON layer */
  int nrun;
  layer **run;                /* what the passes loop over: the layers with
                                 each conv2d + swish pair fused into one */

  int nparams, cap_params;
  ebm_param *params;
  int nbuffers, cap_buffers;
  nn_buffer *buffers;

  int nsn, cap_sn;
  sn_weight **sns;            /* every normalised weight, for the update */

  int nallocs, cap_allocs;
  void **allocs;              /* per-layer storage, freed with the network */

  /* Scratch shared by all layers (passes run one layer at a time). */
  float *grad_a, *grad_b;     /* ping-pong dL/d(activation) [max_batch · max_size] */
  float *grad_c;              /* a third one, for layers that need a temporary */
  float *rb_dr, *rb_da, *rb_dh, *rb_ds; /* resblock backward scratch */
  float *ws;                  /* conv workspace (max over convs) */
  float *dw;                  /* dL/dW of one normalised weight */
  float *sn_tmp;              /* power-iteration scratch (max rows + cols) */
  float *cond_g, *cond_b, *cond_dg, *cond_db; /* gathered gains/biases [max_batch · max C] */
  float *cond_h, *cond_dh;    /* cond_affine embeddings [max_batch · hidden] */
  float *de_one;              /* [max_batch] of 1s (grad-input pass) */
  double flops;               /* multiply-adds per item of one forward */

  /* Memory accounting (issue 13 item 6): every allocation is checked
   * against the limits of nn.h before it is made. A plan (plan = 1) runs
   * the same build without allocating any float array: parameters and
   * buffers get their names and shapes (data NULL), so a loader can compare
   * a file's tensors before anything is allocated. */
  int plan;
  double param_bytes;         /* values + grads, buffers, normalised weights */
  double work_bytes;          /* activations, gradients, workspaces for max_batch */

  /* The last forward pass, for ebm_net_backward. */
  int chain_links;            /* pairs of fused steps chained (chain.c) */
  int fwd_chained;            /* the last forward ran chained: what it kept
                                 is blocked until net_chain_unblock */
  int chain_runs;             /* runs of chained steps taken group by group */
  int chain_grouped;          /* take them so (1 from build; 0: step by step) */
  int fwd_grouped;            /* the last forward did: the runs' swish outputs
                                 but the last are computed by net_chain_unblock */
  int drop_pre;               /* it kept no pre-activations of fused conv2d +
                                 swish steps and resblock conv1s
                                 (ebm_net_grad_input): net_restore recomputes
                                 them before anyone reads them */
  int params_held;            /* ebm_net_hold_params: the parameters do not change,
                                 so passes may keep what they derive from them */
  const ebm_net *fork_of;     /* ebm_net_fork: the network whose parameters, buffers
                                 and normalised weights this one reads (owns none) */
  int64_t fwd_n;              /* −1: none since build */
  ebm_cond fwd_cond;
  const float *fwd_out;       /* the last layer's output */
};

/* net.c: registration used while building. */
int net_add_param(ebm_net *net, const char *name, int ndim, const int64_t *shape);
int net_add_buffer(ebm_net *net, const char *name, int ndim, const int64_t *shape);
float *net_param_data(ebm_net *net, int index);
float *net_param_grad(ebm_net *net, int index);
/* Zeroed storage owned by the network (freed by ebm_net_free); NULL with the
 * error set when out of memory or beyond EBM_NET_MAX_WORK_BYTES (`what`
 * names the layer). net_alloc is for the layers' small structs (allocated
 * in a plan too); net_alloc_floats for arrays (a plan only counts them and
 * sets *p = NULL, so a build never writes into them). */
void *net_alloc(ebm_net *net, size_t count, size_t size, const char *what);
ebm_status net_alloc_floats(ebm_net *net, float **p, int64_t count, const char *what);
/* Counts `count` floats of working memory against EBM_NET_MAX_WORK_BYTES
 * before they are allocated; EBM_ERR_NOMEM naming `what` beyond it. */
ebm_status net_reserve_work(ebm_net *net, double count, const char *what);
/* The same for parameter memory (EBM_NET_MAX_PARAM_BYTES). */
ebm_status net_reserve_params(ebm_net *net, double count, const char *what);
/* Builds (plan = 0) or plans (plan = 1) a network; ebm_net_new is plan 0. */
ebm_status net_new(const char *arch_json, int64_t max_batch, int plan, ebm_net **out);

/* build.c: layers from the spec (allocations, shapes, params, the fused run
 * list). */
ebm_status net_build_layers(ebm_net *net);
void net_free_layers(ebm_net *net);
/* Makes en (filled in by ebm_net_as_energy) the logits' energy of a
 * classifier (ebm_net_is_classifier): logit_energy.c. */
ebm_status net_make_logit_energy(ebm_net *net, ebm_energy *en);
/* EBM_ERR_ARG "<where> needs a C×H×W input, got [..]<hint>" unless l->in_ndim == ndim. */
ebm_status layer_need_ndim(const layer *l, int ndim, const char *where, const char *hint);
/* The input is a point cloud 1×P×C, or EBM_ERR_ARG naming the layer. */
ebm_status layer_need_cloud(const layer *l, const char *where);
/* Per-layer helpers the kinds' build functions share (build.c): a conv or
 * linear map registered as "<prefix>.weight" (or weight_orig + u, v) and
 * "<prefix>.bias"; class tables "<prefix>.gain" / ".bias" [classes, c]. */
ebm_status wop_create(ebm_net *net, layer *l, wop *op, const char *prefix, int sn, int bias,
                      scratch_sizes *sz);
ebm_status conv_create(ebm_net *net, layer *l, wop *op, const char *prefix, int64_t c_in,
                       int64_t h, int64_t w, int64_t c_out, int64_t k, int64_t stride,
                       int64_t pad, int sn, int bias, scratch_sizes *sz, const char *where);
ebm_status cond_create(ebm_net *net, cond_op *c, const char *prefix, int64_t channels, int64_t hw,
                       scratch_sizes *sz);
/* What conv3d and conv_transpose3d share (layer_conv3d.c): the input
 * check (C·D planes with "depth" D), the parameters "<name>.weight"
 * [w0, w1, k, k, k] and "<name>.bias" [out] (indices in *weight, *bias,
 * −1 without bias; the workspace joins sz->ws), PyTorch's init
 * U(±1/√fan_in) of both, and a conv3d's multiply-adds per item. */
ebm_status conv3d_volume_input(const layer *l, const layer_spec *ls, const char *where);
ebm_status conv3d_add_params(ebm_net *net, const layer *l, const layer_spec *ls, int64_t w0,
                             int64_t w1, size_t workspace, scratch_sizes *sz, int *weight,
                             int *bias);
void conv3d_init_params(ebm_net *net, int weight, int bias, int64_t fan_in, ebm_rng *rng);
double conv3d_flops(const ebm_conv3d_shape *s);

/* spectral.c */
ebm_status sn_create(ebm_net *net, const char *prefix, int weight, int64_t rows, int64_t cols,
                     sn_weight **out);
void sn_update_one(ebm_net *net, sn_weight *sn, int iterations);
/* grad_orig += dW/σ − (⟨dW, W_orig⟩/σ²)·u vᵀ, with dW in net->dw. */
void sn_backward(ebm_net *net, const wop *op);
/* The weight the passes use: W (normalised) or the parameter itself. */
const float *wop_weight(ebm_net *net, const wop *op);

/* init.c: PyTorch's default init of a conv / linear map (U(±1/√fan_in)),
 * class tables (gain 1, bias 0). */
void init_wop(ebm_net *net, const wop *op, ebm_rng *rng);
void init_cond(ebm_net *net, const cond_op *c);
void fill_floats(float *p, int64_t count, float value);

/* layers.c: layer_kind.per_item of a layer computed item by item (1), and
 * of a weighted op: a linear one computes blocks of items that start at
 * multiples of EBM_ENERGY_FORK_ITEMS (ops/dense_cpu.c), a conv one item by
 * item only on a direct path (ops conv2d_chain_lanes > 0; the im2col +
 * sgemm path groups items by the batch size). */
int layer_per_item(const ebm_net *net, const layer *l);
int wop_per_item(const wop *op);
int layer_wop_per_item(const ebm_net *net, const layer *l); /* wop_per_item of l->op */

/* layers.c: the pieces layers are made of. `x` is the layer input (n items). */
void wop_forward(ebm_net *net, const wop *op, int64_t n, const float *x, float *y);
/* dx may be NULL (skip), want_params = 0 skips all weight-gradient work. */
void wop_backward(ebm_net *net, const wop *op, int64_t n, const float *x, const float *dy,
                  float *dx, int want_params);
/* Fused conv + swish (ops conv2d_forward_swish / _backward_input_swish):
 * pre = conv(x), y = swish(pre), gate = swish'(pre);
 * dx = conv_backward_input(dy ⊙ gate). */
void wop_forward_swish(ebm_net *net, const wop *op, int64_t n, const float *x, float *pre, float *y,
                       float *gate);
void wop_backward_input_swish(ebm_net *net, const wop *op, int64_t n, const float *gate,
                              const float *dy, float *dx);
/* out[i] = table[y_i] (rows of c floats); table[y_i] += rows[i]. */
void gather_rows(const float *table, int64_t c, int64_t n, const int32_t *y, float *out);
void scatter_add_rows(float *table, int64_t c, int64_t n, const int32_t *y, const float *rows);
void cond_forward(ebm_net *net, const cond_op *c, int64_t n, const int32_t *y, const float *x,
                  float *out);
void cond_backward(ebm_net *net, const cond_op *c, int64_t n, const int32_t *y, const float *x,
                   const float *dy, float *dx, int want_params);
void act_forward(act_kind act, float slope, int64_t count, const float *x, float *y);
void act_backward(act_kind act, float slope, int64_t count, const float *x, const float *dy,
                  float *dx);
/* The kind functions of a layer that is the one map l->op. */
void layer_wop_init(ebm_net *net, layer *l, ebm_rng *rng);
void layer_wop_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x);
const float *layer_wop_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                const float *dy, float *dx, int need_dx, int want_params);
/* "%lld->%lld", " no-bias", " sn" style details of a weighted layer. */
int detail_bias_sn(const layer_spec *ls, char *buf, size_t size);

/* passes.c: the plain loops over net->run. forward leaves every layer's
 * input and output in place; backward takes dL/d(output) [n, K]. */
void net_forward(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n);
/* chain.c: consecutive fused conv2d + swish steps in the blocked layout.
 * build: links them (after the run list; allocates their blocked buffers).
 * ready: the active ops table has the chained passes the links were built
 * for. chain_forward: runs step l chained and returns 1 when
 * net->fwd_chained and l is linked, else 0 (run it plain). chain_backward:
 * its input gradient (no parameter work; dy as the next step left it),
 * returning where it is (blocked when l's input is). A run's steps go
 * in one ops call at its first step (forward and backward alike; the others
 * hand their pointers on). unblock: what the last (chained) forward kept,
 * as NCHW where the plain pass keeps it (recomputed for a run's steps). */
ebm_status net_chain_build(ebm_net *net);
int net_chain_ready(const ebm_net *net);
/* ebm_net_hold_params: sets net->params_held and forgets what the runs packed. */
void net_chain_hold(ebm_net *net, int held);
int chain_forward(ebm_net *net, layer *l, int64_t n, const float *x);
const float *chain_backward(ebm_net *net, layer *l, int64_t n, const float *dy, float *dx);
void net_chain_unblock(ebm_net *net);

/* Everything the last forward pass would have kept with drop_pre = 0 and
 * unchained (net_chain_unblock, then each layer kind's restore from the
 * stored inputs, which must still hold the pass's values: the caller's x
 * for the first layer). */
void net_restore(ebm_net *net);
void net_backward(ebm_net *net, const ebm_cond *cond, int64_t n, const float *dout, float *dx,
                  int want_params);

#endif
