/* The residual block (Du & Mordatch A.10; layout in nn_internal.h):
 *   h1 = conv1(x); h1 = gain[y]·h1 + bias[y]; a1 = act(h1);
 *   r = conv2(a1) + shortcut(x); p = avgpool2(r) if down; out = act(p or r).
 * Activations live in the block (h1, h1a, a1, r, p); the backward pass uses
 * the network's shared scratch (rb_dr, rb_da, rb_dh, rb_ds). */
#include "nn/nn_internal.h"

/* The input of the block's first activation: after the class affine when
 * there is one. */
static float *pre_act(resblock *rb) { return rb->has_cond ? rb->h1a : rb->h1; }

/* conv1 → swish with nothing between runs as one fused ops call. */
static int fused_conv1(const resblock *rb) { return !rb->has_cond && rb->act == ACT_SWISH; }

// x is (n, c_in, h, w); l->out is (n, c, h', w') with h' = h/2 when down
void resblock_forward(ebm_net *net, layer *l, int64_t n, const int32_t *y, const float *x) {
  const ebm_ops *ops = ebm_ops_current();
  resblock *rb = l->rb;
  int64_t count = n * rb->c * rb->h * rb->w;
  if (fused_conv1(rb)) {
    wop_forward_swish(net, &rb->conv1, n, x, rb->h1, rb->a1);
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
void resblock_backward(ebm_net *net, layer *l, int64_t n, const int32_t *y, const float *dy,
                       float *dx, int want_params) {
  const ebm_ops *ops = ebm_ops_current();
  resblock *rb = l->rb;
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
    if (dx) wop_backward_input_swish(net, &rb->conv1, n, rb->h1, da, dx);
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
}
