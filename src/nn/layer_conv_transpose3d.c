/* conv_transpose3d: nn.ConvTranspose3d(C_in, out, kernel, stride, pad,
 * output_padding) (dilation 1, groups 1, a cubic kernel, the same stride
 * and padding on every axis): weight "<name>.weight" [C_in, out, k, k, k],
 * "<name>.bias" [out]; D_out = (D − 1)·stride − 2·pad + k + output_pad
 * (the same for H, W). Volumes travel as [C·D, H, W] (layer_conv3d.c) and
 * the layer is told its input's depth ("depth": D); its output is
 * [out·D_out, H_out, W_out].
 *
 * It is the adjoint of the conv3d from out to C_in channels on the
 * D_out × H_out × W_out volume with the same weight tensor ([C_in, out, …]
 * is that conv's [c_out, c_in, …]), so its passes are that conv's passes
 * with the roles swapped, as conv_transpose2d does with conv2d:
 *   forward           y  = conv3d_backward_input(x)   (+ bias per channel)
 *   backward input    dx = conv3d_forward(dy)
 *   backward weight   dW += conv3d_backward_weight(input = dy, grad = x) */
#include "nn/nn_internal.h"

static const layer_key conv_transpose3d_keys[] = {
    LK_OUT, LK_INT("kernel", kernel, 1, 16, 3), LK_INT("stride", stride, 1, 16, 1),
    LK_INT("pad", pad, 0, 16, 0), LK_INT("output_pad", output_pad, 0, 15, 0),
    LK_INT_REQUIRED("depth", depth, 1, 1 << 16), LK_BOOL("bias", bias, 1), LK_END};

typedef struct {
  ebm_conv3d_shape adj; /* the adjoint conv3d (out → C_in on the output volume); n = max_batch */
  int weight, bias;     /* param indices; bias −1 without */
} conv_transpose3d;

static ebm_status conv_transpose3d_build(ebm_net *net, layer *l, const layer_spec *ls,
                                         scratch_sizes *sz, const char *where) {
  ebm_status st = conv3d_volume_input(l, ls, where);
  if (st) return st;
  const int64_t k = ls->kernel, s = ls->stride, p = ls->pad, op = ls->output_pad;
  const int64_t c_in = l->in_shape[0] / ls->depth, d = ls->depth, h = l->in_shape[1], w = l->in_shape[2];
  if (op >= s)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: 'output_pad' %lld must be smaller than "
                         "'stride' %lld", where, (long long)op, (long long)s);
  const int64_t d_out = (d - 1) * s - 2 * p + k + op, h_out = (h - 1) * s - 2 * p + k + op,
                w_out = (w - 1) * s - 2 * p + k + op;
  if (d_out < 1 || h_out < 1 || w_out < 1)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: padding %lld leaves no output of a "
                         "%lldx%lldx%lld input", where, (long long)p, (long long)d, (long long)h,
                         (long long)w);
  conv_transpose3d *ct = net_alloc(net, 1, sizeof *ct, where);
  if (!ct) return EBM_ERR_NOMEM;
  l->priv = ct;
  ct->adj = (ebm_conv3d_shape){.n = net->max_batch, .c_in = ls->out, .d_in = d_out, .h_in = h_out,
                               .w_in = w_out, .c_out = c_in, .k = k, .stride = s, .pad = p};
  /* The adjoint's output is our input exactly: output_pad < stride. */
  if (ebm_conv3d_shape_finish(&ct->adj) || ct->adj.d_out != d || ct->adj.h_out != h || ct->adj.w_out != w)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: kernel %lld, stride %lld and padding %lld do "
                         "not invert to a %lldx%lldx%lld input", where, (long long)k, (long long)s,
                         (long long)p, (long long)d, (long long)h, (long long)w);
  if ((st = conv3d_add_params(net, l, ls, c_in, ls->out, ebm_conv3d_workspace(&ct->adj), sz,
                              &ct->weight, &ct->bias)))
    return st;
  l->out_shape[0] = ls->out * d_out, l->out_shape[1] = h_out, l->out_shape[2] = w_out;
  l->flops = conv3d_flops(&ct->adj);
  return EBM_OK;
}

/* PyTorch's fan_in of a ConvTranspose3d weight is weight.size(1)·k³ = out·k³. */
static void conv_transpose3d_init(ebm_net *net, layer *l, ebm_rng *rng) {
  const conv_transpose3d *ct = l->priv;
  conv3d_init_params(net, ct->weight, ct->bias, ct->adj.c_in * ct->adj.k * ct->adj.k * ct->adj.k, rng);
}

// x is (n, C_in, D, H, W); l->out is (n, out, D_out, H_out, W_out)
static void conv_transpose3d_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                     const float *x) {
  (void)cond;
  const conv_transpose3d *ct = l->priv;
  ebm_conv3d_shape s = ct->adj;
  s.n = n;
  ebm_conv3d_backward_input(&s, x, net_param_data(net, ct->weight), l->out, net->ws);
  if (ct->bias >= 0)
    ebm_ops_current()->channel_bias_forward(n, s.c_in, s.d_in * s.h_in * s.w_in,
                                            net_param_data(net, ct->bias), l->out);
}

static const float *conv_transpose3d_backward(ebm_net *net, layer *l, int64_t n,
                                              const ebm_cond *cond, const float *dy, float *dx,
                                              int need_dx, int want_params) {
  (void)cond;
  const conv_transpose3d *ct = l->priv;
  ebm_conv3d_shape s = ct->adj;
  s.n = n;
  if (want_params) {
    ebm_conv3d_backward_weight(&s, dy, l->in, net_param_grad(net, ct->weight), NULL, net->ws);
    if (ct->bias >= 0)
      ebm_ops_current()->channel_bias_backward(n, s.c_in, s.d_in * s.h_in * s.w_in, dy,
                                               net_param_grad(net, ct->bias));
  }
  if (need_dx) ebm_conv3d_forward(&s, dy, net_param_data(net, ct->weight), NULL, dx, net->ws);
  return dx;
}

static void conv_transpose3d_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  const conv_transpose3d *ct = l->priv;
  const layer_spec *ls = l->spec;
  snprintf(buf, size, "k%lld s%lld p%lld op%lld %lldx%lldx%lld->%lldx%lldx%lld%s",
           (long long)ls->kernel, (long long)ls->stride, (long long)ls->pad, (long long)ls->output_pad,
           (long long)ct->adj.d_out, (long long)ct->adj.h_out, (long long)ct->adj.w_out,
           (long long)ct->adj.d_in, (long long)ct->adj.h_in, (long long)ct->adj.w_in,
           ct->bias >= 0 ? "" : " no-bias");
}

const layer_kind layer_conv_transpose3d = {
    "conv_transpose3d", conv_transpose3d_keys, 1, 0, conv_transpose3d_build,
    conv_transpose3d_init, conv_transpose3d_forward, conv_transpose3d_backward,
    conv_transpose3d_detail, NULL, NULL};
