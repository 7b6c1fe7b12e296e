/* conv2d: nn.Conv2d (dilation 1, groups 1), square kernel; weight OIHW
 * "<name>.weight" (or weight_orig + u, v under spectral norm), "<name>.bias".
 * Also the fused conv2d + swish step that build.c puts in the run list
 * for a conv2d directly followed by a swish: both passes are one ops call
 * on the Langevin path, the same bits as the two layers. */
#include "nn/nn_internal.h"

static const layer_key conv2d_keys[] = {
    LK_OUT, LK_INT("kernel", kernel, 1, 64, 3), LK_INT("stride", stride, 1, 64, 1),
    LK_INT("pad", pad, 0, 64, 0), LK_BIAS_SN, LK_END};

static ebm_status conv2d_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                               const char *where) {
  ebm_status st = layer_need_ndim(l, 3, where, "");
  if (st) return st;
  if ((st = conv_create(net, l, &l->op, l->name, l->in_shape[0], l->in_shape[1], l->in_shape[2],
                        ls->out, ls->kernel, ls->stride, ls->pad, ls->spectral_norm, ls->bias, sz,
                        where)))
    return st;
  l->out_shape[0] = l->op.cs.c_out, l->out_shape[1] = l->op.cs.h_out, l->out_shape[2] = l->op.cs.w_out;
  return EBM_OK;
}

static void conv2d_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  const layer_spec *ls = l->spec;
  int k = snprintf(buf, size, "k%lld s%lld p%lld", (long long)ls->kernel, (long long)ls->stride,
                   (long long)ls->pad);
  if (k > 0 && (size_t)k < size) detail_bias_sn(ls, buf + k, size - (size_t)k);
}

const layer_kind layer_conv2d = {"conv2d", conv2d_keys, 1, 0, conv2d_build, layer_wop_init,
                                 layer_wop_forward, layer_wop_backward, conv2d_detail, layer_wop_per_item, NULL};

/* ---------------------------------------------- conv2d + swish, fused */

/* l is the conv2d layer, l + 1 its swish: pre = l->out, y = (l + 1)->out. */
static void conv2d_swish_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                 const float *x) {
  (void)cond;
  layer *act = l + 1;
  act->in = l->out;
  if (chain_forward(net, l, n, x)) return;
  act->y_out = act->out;
  wop_forward_swish(net, &l->op, n, x, net->drop_pre ? NULL : l->out, act->out, l->gate);
  l->y_out = act->out;
}

/* dy is the gradient at the swish output. With parameter gradients the
 * conv needs dL/d(pre) itself, so swish' goes to a temporary first (the
 * same two kernels the unfused layers run). */
static const float *conv2d_swish_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                          const float *dy, float *dx, int need_dx,
                                          int want_params) {
  (void)cond;
  if (!want_params && net->fwd_chained && l->link) return need_dx ? chain_backward(net, l, n, dy, dx) : dx;
  if (!want_params) {
    if (need_dx) wop_backward_input_swish(net, &l->op, n, l->gate, dy, dx);
    return dx;
  }
  ebm_ops_current()->swish_backward(n * l->out_size, l->out, dy, net->grad_c);
  wop_backward(net, &l->op, n, l->in, net->grad_c, need_dx ? dx : NULL, 1);
  return dx;
}

/* The pre-activation a forward pass with net->drop_pre left out: the plain
 * conv of the stored input (the fused forward's pre, bit for bit). */
static void conv2d_swish_restore(ebm_net *net, layer *l, int64_t n) {
  wop_forward(net, &l->op, n, l->in, l->out);
}

const layer_kind layer_conv2d_swish = {"conv2d+swish", conv2d_keys, 1, 0, conv2d_build,
                                       layer_wop_init, conv2d_swish_forward, conv2d_swish_backward,
                                       conv2d_detail, layer_wop_per_item, conv2d_swish_restore};
