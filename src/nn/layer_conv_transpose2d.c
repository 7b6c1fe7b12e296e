/* conv_transpose2d: nn.ConvTranspose2d(C_in, out, kernel, stride, pad,
 * output_pad) (dilation 1, groups 1): weight "<name>.weight" [C_in, out,
 * k, k], "<name>.bias" [out]; H_out = (H − 1)·stride − 2·pad + k +
 * output_pad. It is the adjoint of the conv2d from out to C_in channels on
 * an H_out × W_out input with the same weight tensor (OIHW with O = C_in,
 * I = out), so its passes are that conv's passes with the roles swapped:
 *   forward           y  = conv2d_backward_input(x)   (+ bias per channel)
 *   backward input    dx = conv2d_forward(dy)
 *   backward weight   dW += conv2d_backward_weight(input = dy, grad = x)
 * and no new convolution kernel is needed. */
#include <math.h>

#include "nn/nn_internal.h"

static const layer_key conv_transpose2d_keys[] = {
    LK_INT_REQUIRED("out", out, 1, 1 << 20),
    LK_INT("kernel", kernel, 1, 64, 3),
    LK_INT("stride", stride, 1, 64, 1),
    LK_INT("pad", pad, 0, 64, 0),
    LK_INT("output_pad", output_pad, 0, 63, 0),
    LK_BOOL("bias", bias, 1),
    LK_END};

typedef struct {
  int bias; /* param index of "<name>.bias" [out], −1 without */
} conv_transpose2d;

static ebm_status conv_transpose2d_build(ebm_net *net, layer *l, const layer_spec *ls,
                                         scratch_sizes *sz, const char *where) {
  ebm_status st = layer_need_ndim(l, 3, where, "");
  if (st) return st;
  const int64_t c_in = l->in_shape[0], h = l->in_shape[1], w = l->in_shape[2];
  const int64_t k = ls->kernel, s = ls->stride, p = ls->pad, op = ls->output_pad;
  if (op >= s)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: 'output_pad' %lld must be smaller than "
                         "'stride' %lld", where, (long long)op, (long long)s);
  const int64_t h_out = (h - 1) * s - 2 * p + k + op, w_out = (w - 1) * s - 2 * p + k + op;
  if (h_out < 1 || w_out < 1)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: padding %lld leaves no output of a %lldx%lld "
                         "input", where, (long long)p, (long long)h, (long long)w);
  conv_transpose2d *ct = net_alloc(net, 1, sizeof *ct, where);
  if (!ct) return EBM_ERR_NOMEM;
  l->priv = ct;
  /* The adjoint conv: out → C_in channels on the H_out × W_out output; its
   * bias would be [C_in], so ours is registered on its own. */
  if ((st = conv_create(net, l, &l->op, l->name, ls->out, h_out, w_out, c_in, k, s, p, 0, 0, sz,
                        where)))
    return st;
  ct->bias = -1;
  if (ls->bias) {
    char name[NN_NAME_MAX + 16];
    snprintf(name, sizeof name, "%s.bias", l->name);
    if ((ct->bias = net_add_param(net, name, 1, &ls->out)) < 0) return EBM_ERR_NOMEM;
  }
  l->out_shape[0] = ls->out, l->out_shape[1] = h_out, l->out_shape[2] = w_out;
  return EBM_OK;
}

/* PyTorch's fan_in of a ConvTranspose2d weight is weight.size(1)·k·k =
 * out·k·k, which is the adjoint conv's c_in·k·k: init_wop's bound. */
static void conv_transpose2d_init(ebm_net *net, layer *l, ebm_rng *rng) {
  const conv_transpose2d *ct = l->priv;
  init_wop(net, &l->op, rng);
  float bound = (float)(1.0 / sqrt((double)l->op.in));
  if (ct->bias >= 0) ebm_rng_uniform(rng, net_param_data(net, ct->bias), l->out_shape[0], -bound, bound);
}

// x is (n, c_in, h, w); l->out is (n, out, h_out, w_out)
static void conv_transpose2d_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                     const float *x) {
  (void)cond;
  const ebm_ops *ops = ebm_ops_current();
  const conv_transpose2d *ct = l->priv;
  ebm_conv2d_shape s = l->op.cs;
  s.n = n;
  ops->conv2d_backward_input(&s, x, wop_weight(net, &l->op), l->out, net->ws);
  if (ct->bias >= 0)
    ops->channel_bias_forward(n, s.c_in, s.h_in * s.w_in, net_param_data(net, ct->bias), l->out);
}

static const float *conv_transpose2d_backward(ebm_net *net, layer *l, int64_t n,
                                              const ebm_cond *cond, const float *dy, float *dx,
                                              int need_dx, int want_params) {
  (void)cond;
  const ebm_ops *ops = ebm_ops_current();
  const conv_transpose2d *ct = l->priv;
  ebm_conv2d_shape s = l->op.cs;
  s.n = n;
  if (want_params) {
    ops->conv2d_backward_weight(&s, dy, l->in, net_param_grad(net, l->op.weight), NULL, net->ws);
    if (ct->bias >= 0)
      ops->channel_bias_backward(n, s.c_in, s.h_in * s.w_in, dy, net_param_grad(net, ct->bias));
  }
  if (need_dx) ops->conv2d_forward(&s, dy, wop_weight(net, &l->op), NULL, dx, net->ws);
  return dx;
}

static void conv_transpose2d_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  const layer_spec *ls = l->spec;
  snprintf(buf, size, "k%lld s%lld p%lld op%lld%s", (long long)ls->kernel, (long long)ls->stride,
           (long long)ls->pad, (long long)ls->output_pad, ls->bias ? "" : " no-bias");
}

const layer_kind layer_conv_transpose2d = {
    "conv_transpose2d", conv_transpose2d_keys, 1, 0, conv_transpose2d_build,
    conv_transpose2d_init, conv_transpose2d_forward, conv_transpose2d_backward,
    conv_transpose2d_detail, NULL, NULL};
