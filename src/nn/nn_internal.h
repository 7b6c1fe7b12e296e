/* nn/nn_internal.h — what the files of src/nn share: the parsed
 * architecture, the layer structs, the network struct and the helpers that
 * run one layer. Not a public header. */
#ifndef EBM_NN_INTERNAL_H
#define EBM_NN_INTERNAL_H

#include "ebm/nn.h"
#include "ops/ops.h"

typedef enum {
  LAYER_CONV2D,
  LAYER_LINEAR,
  LAYER_AVGPOOL2D,
  LAYER_GLOBAL_SUM_POOL,
  LAYER_SWISH,
  LAYER_LEAKY_RELU,
  LAYER_FLATTEN,
  LAYER_CLASS_AFFINE,
  LAYER_RESBLOCK
} layer_kind;

typedef enum { ACT_SWISH, ACT_LEAKY_RELU } act_kind;

#define NN_NAME_MAX 64

/* ------------------------------------------------ parsed architecture */

typedef struct {
  layer_kind kind;
  char name[NN_NAME_MAX];  /* parameter prefix: "net.0", "blocks.1" */
  int64_t out;             /* conv/linear/resblock output channels or features */
  int64_t kernel, stride, pad;
  int bias;                /* conv/linear: has a bias */
  int spectral_norm;       /* conv/linear/resblock: normalise the weights */
  int down;                /* resblock: 2×2 average pooling after the sum */
  act_kind act;            /* resblock activation */
  double slope;            /* leaky ReLU slope */
  double conv2_init_std;   /* resblock: std of conv2's initial weights */
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
/* Expands a preset into its full JSON (what ebm_arch_preset returns). */
ebm_status arch_preset_json(const char *name, int classes, int in_dim, int width, int depth,
                            char **json);
const char *layer_kind_name(layer_kind kind);

/* ------------------------------------------------------------- layers */

/* A spectrally normalised weight (torch.nn.utils.spectral_norm): the
 * parameter is W_orig, reshaped to (rows, cols) = (out, in·k·k); the passes
 * use W = W_orig / σ with σ = uᵀ W_orig v, u and v from power iteration. */
typedef struct {
  int64_t rows, cols;
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

/* A residual block (Du & Mordatch A.10, Figure 12; the layout of
 * openai/ebm_code_release's smart_res_block):
 *   h1 = conv1(x)                      3×3, pad 1, C_in → C
 *   h1 = gain[y]·h1 + bias[y]          class-conditional models only
 *   a1 = act(h1)
 *   r  = conv2(a1) + shortcut(x)       conv2 3×3 pad 1 C → C; shortcut is a
 *                                      1×1 conv when C_in ≠ C, else identity
 *   p  = avgpool2(r)                   "down" blocks only (A.10: average
 *                                      pooling, not strided convolutions)
 *   out = act(p or r) */
typedef struct {
  wop conv1, conv2, shortcut;
  int has_shortcut, has_cond;
  cond_op cond;
  act_kind act;
  float slope;
  int down;
  float conv2_init_std;
  int64_t c_in, c, h, w;   /* input channels, block channels, input size */
  float *h1, *h1a, *a1, *r, *p; /* activations [max_batch, ...] (h1a == h1 without cond) */
} resblock;

typedef struct {
  layer_kind kind;
  char name[NN_NAME_MAX];
  int in_ndim, out_ndim;
  int64_t in_shape[3], out_shape[3];
  int64_t in_size, out_size;  /* floats per item */
  float *out;                 /* [max_batch, out_size]; NULL for flatten */
  const float *in;            /* input of the last forward pass */
  const float *y_out;         /* output of the last forward pass */
  int fuse_swish;             /* conv2d followed by swish: the pair runs as one
                                 fused ops call in the forward pass and in the
                                 backward pass to the input (Langevin path) */
  wop op;                     /* conv2d, linear */
  int64_t pool_k;             /* avgpool2d */
  float slope;                /* leaky_relu */
  cond_op cond;               /* class_affine */
  resblock *rb;               /* resblock */
} layer;

/* A named float array saved in checkpoints: a parameter's value or a
 * spectral-norm buffer. */
typedef struct {
  char *name;
  int ndim;
  int64_t shape[EBM_MAX_DIMS];
  float *data;                /* owned (buffers) */
} nn_buffer;

struct ebm_net {
  char *arch_json;            /* canonical JSON */
  arch_spec spec;
  int64_t max_batch;
  int64_t item_shape[3];
  int item_ndim;
  int num_classes;

  int nlayers;
  layer *layers;

  int nparams, cap_params;
  ebm_param *params;
  int nbuffers, cap_buffers;
  nn_buffer *buffers;

  int nsn, cap_sn;
  sn_weight **sns;            /* every normalised weight, for the update */

  /* Scratch shared by all layers (passes run one layer at a time). */
  float *grad_a, *grad_b;     /* ping-pong dL/d(activation) [max_batch · max_size] */
  float *rb_dr, *rb_da, *rb_dh, *rb_ds; /* resblock backward scratch */
  float *ws;                  /* conv workspace (max over convs) */
  float *dw;                  /* dL/dW of one normalised weight */
  float *sn_tmp;              /* power-iteration scratch (max rows + cols) */
  float *cond_g, *cond_b, *cond_dg, *cond_db; /* gathered gains/biases [max_batch · max C] */
  float *de_one;              /* [max_batch] of 1s (grad-input pass) */
  double flops;               /* multiply-adds per item of one forward */
};

/* net.c: registration used while building. */
int net_add_param(ebm_net *net, const char *name, int ndim, const int64_t *shape);
int net_add_buffer(ebm_net *net, const char *name, int ndim, const int64_t *shape);
float *net_param_data(ebm_net *net, int index);
float *net_param_grad(ebm_net *net, int index);

/* build.c: layers from the spec (allocations, shapes, params). */
ebm_status net_build_layers(ebm_net *net);
void net_free_layers(ebm_net *net);

/* spectral.c */
ebm_status sn_create(ebm_net *net, const char *prefix, int64_t rows, int64_t cols, sn_weight **out);
void sn_update_one(ebm_net *net, const wop *op, int iterations);
/* grad_orig += dW/σ − (⟨dW, W_orig⟩/σ²)·u vᵀ, with dW in net->dw. */
void sn_backward(ebm_net *net, const wop *op);
/* The weight the passes use: W (normalised) or the parameter itself. */
const float *wop_weight(ebm_net *net, const wop *op);

/* layers.c: one layer's passes. `x` is the layer input (n items). */
void wop_forward(ebm_net *net, const wop *op, int64_t n, const float *x, float *y);
/* dx may be NULL (skip), want_params = 0 skips all weight-gradient work. */
void wop_backward(ebm_net *net, const wop *op, int64_t n, const float *x, const float *dy,
                  float *dx, int want_params);
/* Fused conv + swish (ops conv2d_forward_swish / _backward_input_swish):
 * pre = conv(x), y = swish(pre); dx = conv_backward_input(dy ⊙ swish'(pre)). */
void wop_forward_swish(ebm_net *net, const wop *op, int64_t n, const float *x, float *pre, float *y);
void wop_backward_input_swish(ebm_net *net, const wop *op, int64_t n, const float *pre,
                              const float *dy, float *dx);
void cond_forward(ebm_net *net, const cond_op *c, int64_t n, const int32_t *y, const float *x,
                  float *out);
void cond_backward(ebm_net *net, const cond_op *c, int64_t n, const int32_t *y, const float *x,
                   const float *dy, float *dx, int want_params);
void act_forward(act_kind act, float slope, int64_t count, const float *x, float *y);
void act_backward(act_kind act, float slope, int64_t count, const float *x, const float *dy,
                  float *dx);
void layer_forward(ebm_net *net, layer *l, int64_t n, const int32_t *y, const float *x);
/* dy: dL/d(output); writes dL/d(input) into dx (a buffer distinct from dy,
 * always valid; its content is unspecified when need_dx is 0) and returns
 * the pointer holding the result (dx, or dy itself for flatten). */
const float *layer_backward(ebm_net *net, layer *l, int64_t n, const int32_t *y,
                            const float *dy, float *dx, int need_dx, int want_params);

/* resblock.c */
void resblock_forward(ebm_net *net, layer *l, int64_t n, const int32_t *y, const float *x);
void resblock_backward(ebm_net *net, layer *l, int64_t n, const int32_t *y, const float *dy,
                       float *dx, int want_params);

#endif
