/* The residual block (Du & Mordatch A.10; layout in nn_internal.h):
 *   h1 = conv1(x); h1 = gain[y]·h1 + bias[y]; a1 = act(h1);
 *   r = conv2(a1) + shortcut(x); p = avgpool2(r) if down; out = act(p or r).
 * Activations live in the block (h1, h1a, a1, r, p); the backward pass uses
 * the network's shared scratch (rb_dr, rb_da, rb_dh, rb_ds). */
#include "nn/nn_internal.h"

/* The block's state (layout of openai/ebm_code_release's smart_res_block):
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
  float *g1;               /* swish'(h1) when conv1 and its swish are fused */
} resblock;

/* conv1 → swish with nothing between runs as one fused ops call. */
static int fused_conv1(const resblock *rb) { return !rb->has_cond && rb->act == ACT_SWISH; }

static int slope_written(const layer_spec *ls) { return ls->act == ACT_LEAKY_RELU; }

static const layer_key resblock_keys[] = {
    LK_INT_REQUIRED("out", out, 1, 1 << 20),
    LK_BOOL("down", down, 0),
    {"act", KEY_ENUM, offsetof(layer_spec, act), 0, 0, ACT_SWISH, 0, NULL, act_names},
    {"slope", KEY_FLOAT, offsetof(layer_spec, slope), 0.0, 1.0, 0.2, 0, slope_written, NULL},
    LK_BOOL("spectral_norm", spectral_norm, -1),
    LK_FLOAT("conv2_init_std", conv2_init_std, 0.0, 10.0, 1e-10),
    LK_END};

static ebm_status resblock_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                                 const char *where) {
  ebm_status st = layer_need_ndim(l, 3, where, "");
  if (st) return st;
  resblock *rb = net_alloc(net, 1, sizeof *rb, where);
  if (!rb) return EBM_ERR_NOMEM;
  l->priv = rb;
  rb->c_in = l->in_shape[0], rb->h = l->in_shape[1], rb->w = l->in_shape[2];
  rb->c = ls->out;
  rb->act = (act_kind)ls->act;
  rb->slope = (float)ls->slope;
  rb->down = ls->down;
  rb->conv2_init_std = (float)ls->conv2_init_std;
  if (rb->down && (rb->h < 2 || rb->w < 2))
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: cannot down-sample a %lldx%lld input",
                         where, (long long)rb->h, (long long)rb->w);
  char prefix[NN_NAME_MAX + 16];
  snprintf(prefix, sizeof prefix, "%s.conv1", l->name);
  if ((st = conv_create(net, l, &rb->conv1, prefix, rb->c_in, rb->h, rb->w, rb->c, 3, 1, 1,
                        ls->spectral_norm, 1, sz, where)))
    return st;
  snprintf(prefix, sizeof prefix, "%s.conv2", l->name);
  if ((st = conv_create(net, l, &rb->conv2, prefix, rb->c, rb->h, rb->w, rb->c, 3, 1, 1,
                        ls->spectral_norm, 1, sz, where)))
    return st;
  /* A 1×1 conv on the shortcut only when the channel count changes. */
  rb->has_shortcut = rb->c_in != rb->c;
  if (rb->has_shortcut) {
    snprintf(prefix, sizeof prefix, "%s.shortcut", l->name);
    if ((st = conv_create(net, l, &rb->shortcut, prefix, rb->c_in, rb->h, rb->w, rb->c, 1, 1, 0,
                          ls->spectral_norm, 1, sz, where)))
      return st;
  }
  rb->has_cond = net->num_classes > 0;
  if (rb->has_cond) {
    snprintf(prefix, sizeof prefix, "%s.cond", l->name);
    if ((st = cond_create(net, &rb->cond, prefix, rb->c, rb->h * rb->w, sz))) return st;
  }
  int64_t full = rb->c * rb->h * rb->w, b = net->max_batch;
  if ((st = net_alloc_floats(net, &rb->h1, b * full, where))) return st;
  if (rb->has_cond && (st = net_alloc_floats(net, &rb->h1a, b * full, where))) return st;
  if ((st = net_alloc_floats(net, &rb->a1, b * full, where))) return st;
  if (fused_conv1(rb) && (st = net_alloc_floats(net, &rb->g1, b * full, where))) return st;
  if ((st = net_alloc_floats(net, &rb->r, b * full, where))) return st;
  if (rb->down && (st = net_alloc_floats(net, &rb->p, b * rb->c * (rb->h / 2) * (rb->w / 2), where)))
    return st;
  if (full > sz->rb_full) sz->rb_full = full;
  if (rb->c_in * rb->h * rb->w > sz->rb_in) sz->rb_in = rb->c_in * rb->h * rb->w;
  l->out_ndim = 3;
  l->out_shape[0] = rb->c;
  l->out_shape[1] = rb->down ? rb->h / 2 : rb->h;
  l->out_shape[2] = rb->down ? rb->w / 2 : rb->w;
  return EBM_OK;
}

/* Du & Mordatch A.10 (after Fixup): conv2 starts at N(0, conv2_init_std²)
 * with bias 0, so the block starts near its shortcut. */
static void resblock_init(ebm_net *net, layer *l, ebm_rng *rng) {
  resblock *rb = l->priv;
  init_wop(net, &rb->conv1, rng);
  ebm_rng_normal(rng, net_param_data(net, rb->conv2.weight), rb->conv2.out * rb->conv2.in, 0.0f,
                 rb->conv2_init_std);
  fill_floats(net_param_data(net, rb->conv2.bias), rb->conv2.out, 0.0f);
  if (rb->has_shortcut) init_wop(net, &rb->shortcut, rng);
  if (rb->has_cond) init_cond(net, &rb->cond);
}

/* The input of the block's first activation: after the class affine when
 * there is one. */
static float *pre_act(const resblock *rb) { return rb->has_cond ? rb->h1a : rb->h1; }

// x is (n, c_in, h, w); l->out is (n, c, h', w') with h' = h/2 when down
static void resblock_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                             const float *x) {
  const ebm_ops *ops = ebm_ops_current();
  resblock *rb = l->priv;
  const int32_t *y = cond ? cond->labels : NULL;
  int64_t count = n * rb->c * rb->h * rb->w;
  if (fused_conv1(rb)) { /* the Langevin path (drop_pre) reads g1, not h1: resblock_restore */
    wop_forward_swish(net, &rb->conv1, n, x, net->drop_pre ? NULL : rb->h1, rb->a1, rb->g1);
  } else {
    wop_forward(net, &rb->conv1, n, x, rb->h1);
    if (rb->has_cond) cond_forward(net, &rb->cond, n, y, rb->h1, rb->h1a);
    act_forward(rb->act, rb->slope, count, pre_act(rb), rb->a1);
  }
  wop_forward(net, &rb->conv2, n, rb->a1, rb->r);
  if (rb->has_shortcut) {
    float *s = net->rb_dr; /* backward scratch, free during the forward pass */
    wop_forward(net, &rb->shortcut, n, x, s);
    ops->add(count, rb->r, s, rb->r);
  } else {
    ops->add(count, rb->r, x, rb->r);
  }
  if (rb->down) {
    ops->avgpool2d_forward(n, rb->c, rb->h, rb->w, 2, rb->r, rb->p);
    act_forward(rb->act, rb->slope, n * l->out_size, rb->p, l->out);
  } else {
    act_forward(rb->act, rb->slope, count, rb->r, l->out);
  }
}

// dy is (n, c, h', w'); dx (NULL: not wanted) is (n, c_in, h, w)
static const float *resblock_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                     const float *dy, float *dx_buf, int need_dx,
                                     int want_params) {
  const ebm_ops *ops = ebm_ops_current();
  resblock *rb = l->priv;
  const int32_t *y = cond ? cond->labels : NULL;
  float *dx = need_dx ? dx_buf : NULL;
  const float *x = l->in;
  int64_t count = n * rb->c * rb->h * rb->w;
  float *dr = net->rb_dr, *da = net->rb_da;
  if (rb->down) {
    act_backward(rb->act, rb->slope, n * l->out_size, rb->p, dy, da);
    ops->avgpool2d_backward(n, rb->c, rb->h, rb->w, 2, da, dr);
  } else {
    act_backward(rb->act, rb->slope, count, rb->r, dy, dr);
  }
  /* Residual branch: dr → conv2 → act → (class affine) → conv1. */
  wop_backward(net, &rb->conv2, n, rb->a1, dr, da, want_params);
  if (!want_params && fused_conv1(rb)) {
    /* Langevin path: swish' and conv1's transpose in one fused call. */
    if (dx) wop_backward_input_swish(net, &rb->conv1, n, rb->g1, da, dx);
  } else {
    act_backward(rb->act, rb->slope, count, pre_act(rb), da, da);
    float *dh = da;
    if (rb->has_cond) {
      dh = net->rb_dh;
      cond_backward(net, &rb->cond, n, y, rb->h1, da, dh, want_params);
    }
    wop_backward(net, &rb->conv1, n, x, dh, dx, want_params);
  }
  /* Shortcut: dr → 1×1 conv (or identity), added to dx. */
  int64_t in_count = n * l->in_size;
  if (rb->has_shortcut) {
    wop_backward(net, &rb->shortcut, n, x, dr, dx ? net->rb_ds : NULL, want_params);
    if (dx) ops->add(in_count, dx, net->rb_ds, dx);
  } else if (dx) {
    ops->add(in_count, dx, dr, dx);
  }
  return dx_buf;
}

static void resblock_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  const resblock *rb = l->priv;
  snprintf(buf, size, "%s%s%s%s%s", rb->down ? "down " : "",
           rb->act == ACT_SWISH ? "swish" : "leaky_relu", rb->has_shortcut ? " 1x1-shortcut" : "",
           rb->has_cond ? " cond" : "", l->spec->spectral_norm ? " sn" : "");
}

static int resblock_per_item(const ebm_net *net, const layer *l) {
  (void)net;
  const resblock *rb = l->priv;
  return wop_per_item(&rb->conv1) && wop_per_item(&rb->conv2) && (!rb->has_shortcut || wop_per_item(&rb->shortcut));
}

/* conv1's pre-activation, which a fused forward with drop_pre left out:
 * the plain conv of the stored input (the fused forward's h1, bit for bit,
 * as for conv2d + swish). */
static void resblock_restore(ebm_net *net, layer *l, int64_t n) {
  resblock *rb = l->priv;
  if (fused_conv1(rb)) wop_forward(net, &rb->conv1, n, l->in, rb->h1);
}

const layer_kind layer_resblock = {"resblock", resblock_keys, 1, 0, resblock_build,
                                   resblock_init, resblock_forward, resblock_backward,
                                   resblock_detail, resblock_per_item, resblock_restore};
