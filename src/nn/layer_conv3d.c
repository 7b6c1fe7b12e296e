/* conv3d: nn.Conv3d(C, out, k, stride, pad) (dilation 1, groups 1) for
 * videos (C×T×H×W) and voxel grids (C×D×H×W): weight "<name>.weight"
 * [out, C, kd, k, k] and "<name>.bias" [out], as PyTorch names and lays
 * them out. The kernel is cubic unless "kernel_depth", "stride_depth" or
 * "pad_depth" give the depth (time) axis its own: nn.Conv3d(kernel_size=
 * (kd, k, k), stride=(sd, s, s), padding=(pd, p, p)). "kernel_depth": 1 is
 * a 2-D convolution of every frame with the same weights (a video energy's
 * per-frame features); a later layer with kernel_depth > 1 ties frames.
 *
 * Networks pass C×H×W items, so a volume travels as [C·D, H, W] — the same
 * floats in the same order as C×D×H×W — and the layer is told the depth:
 * "depth": D of its input (C = the first axis / D). Its output is
 * [out·D_out, H_out, W_out], D_out = (D + 2·pad − k) / stride + 1, which
 * the next conv3d takes with "depth": D_out (presets fill it in). */
#include <math.h>

#include "nn/nn_internal.h"
#include "ops/conv3d.h"

static int kernel_d_written(const layer_spec *ls) { return ls->kernel_d > 0; }
static int stride_d_written(const layer_spec *ls) { return ls->stride_d > 0; }
static int pad_d_written(const layer_spec *ls) { return ls->pad_d >= 0; }

static const layer_key conv3d_keys[] = {
    LK_OUT, LK_INT("kernel", kernel, 1, 16, 3), LK_INT("stride", stride, 1, 16, 1),
    LK_INT("pad", pad, 0, 16, 0), LK_INT_REQUIRED("depth", depth, 1, 1 << 16),
    LK_BOOL("bias", bias, 1),
    /* written only when given, so a cubic conv3d's JSON is what it was */
    {"kernel_depth", KEY_INT, offsetof(layer_spec, kernel_d), 0, 16, 0, 0, kernel_d_written, NULL},
    {"stride_depth", KEY_INT, offsetof(layer_spec, stride_d), 0, 16, 0, 0, stride_d_written, NULL},
    {"pad_depth", KEY_INT, offsetof(layer_spec, pad_d), -1, 16, -1, 0, pad_d_written, NULL},
    LK_END};

/* The depth axis's kernel, stride and padding: the given ones, or the
 * height and width's. */
static int64_t kernel_d_of(const layer_spec *ls) { return ls->kernel_d > 0 ? ls->kernel_d : ls->kernel; }
static int64_t stride_d_of(const layer_spec *ls) { return ls->stride_d > 0 ? ls->stride_d : ls->stride; }
static int64_t pad_d_of(const layer_spec *ls) { return ls->pad_d >= 0 ? ls->pad_d : ls->pad; }

typedef struct {
  ebm_conv3d_shape cs;  /* n = max_batch (replaced per pass) */
  int weight, bias;     /* param indices; bias −1 without */
} conv3d;

ebm_status conv3d_volume_input(const layer *l, const layer_spec *ls, const char *where) {
  ebm_status st = layer_need_ndim(l, 3, where, " (a volume C×D×H×W travels as [C·D, H, W])");
  if (st) return st;
  if (l->in_shape[0] % ls->depth)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: 'depth' %lld does not divide the input's "
                         "%lld planes (C·D)", where, (long long)ls->depth, (long long)l->in_shape[0]);
  return EBM_OK;
}

ebm_status conv3d_add_params(ebm_net *net, const layer *l, const layer_spec *ls, int64_t w0,
                             int64_t w1, size_t workspace, scratch_sizes *sz, int *weight,
                             int *bias) {
  if (workspace > sz->ws) sz->ws = workspace;
  char name[NN_NAME_MAX + 16];
  const int64_t k = ls->kernel, wshape[5] = {w0, w1, kernel_d_of(ls), k, k};
  snprintf(name, sizeof name, "%s.weight", l->name);
  if ((*weight = net_add_param(net, name, 5, wshape)) < 0) return EBM_ERR_NOMEM;
  *bias = -1;
  if (ls->bias) {
    snprintf(name, sizeof name, "%s.bias", l->name);
    if ((*bias = net_add_param(net, name, 1, &ls->out)) < 0) return EBM_ERR_NOMEM;
  }
  return EBM_OK;
}

static ebm_status conv3d_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                               const char *where) {
  ebm_status st = conv3d_volume_input(l, ls, where);
  if (st) return st;
  conv3d *cv = net_alloc(net, 1, sizeof *cv, where);
  if (!cv) return EBM_ERR_NOMEM;
  l->priv = cv;
  cv->cs = (ebm_conv3d_shape){.n = net->max_batch, .c_in = l->in_shape[0] / ls->depth,
                              .d_in = ls->depth, .h_in = l->in_shape[1], .w_in = l->in_shape[2],
                              .c_out = ls->out, .k = ls->kernel, .stride = ls->stride, .pad = ls->pad,
                              .kd = kernel_d_of(ls), .sd = stride_d_of(ls), .pd = pad_d_of(ls)};
  if (ebm_conv3d_shape_finish(&cv->cs)) {
    if (cv->cs.kd == cv->cs.k && cv->cs.pd == cv->cs.pad)
      return ebm_set_error(EBM_ERR_ARG, "architecture: %s: kernel %lld does not fit a %lldx%lldx%lld "
                           "input with padding %lld", where, (long long)ls->kernel, (long long)ls->depth,
                           (long long)l->in_shape[1], (long long)l->in_shape[2], (long long)ls->pad);
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: kernel %lldx%lldx%lld does not fit a "
                         "%lldx%lldx%lld input with padding %lld (depth) and %lld (height, width)", where,
                         (long long)cv->cs.kd, (long long)ls->kernel, (long long)ls->kernel,
                         (long long)ls->depth, (long long)l->in_shape[1], (long long)l->in_shape[2],
                         (long long)cv->cs.pd, (long long)ls->pad);
  }
  if ((st = conv3d_add_params(net, l, ls, ls->out, cv->cs.c_in, ebm_conv3d_workspace(&cv->cs), sz,
                              &cv->weight, &cv->bias)))
    return st;
  l->out_shape[0] = cv->cs.c_out * cv->cs.d_out;
  l->out_shape[1] = cv->cs.h_out;
  l->out_shape[2] = cv->cs.w_out;
  l->flops = conv3d_flops(&cv->cs);
  return EBM_OK;
}

double conv3d_flops(const ebm_conv3d_shape *s) {
  return (double)(s->c_out * s->d_out * s->h_out * s->w_out) * (double)(s->c_in * s->kd * s->k * s->k);
}

void conv3d_init_params(ebm_net *net, int weight, int bias, int64_t fan_in, ebm_rng *rng) {
  float bound = (float)(1.0 / sqrt((double)fan_in));
  const ebm_tensor *w = net->params[weight].value;
  ebm_rng_uniform(rng, w->data, ebm_tensor_numel(w), -bound, bound);
  if (bias >= 0) {
    const ebm_tensor *b = net->params[bias].value;
    ebm_rng_uniform(rng, b->data, ebm_tensor_numel(b), -bound, bound);
  }
}

/* PyTorch's default: U(±1/√fan_in), fan_in = C·kd·k², for weight and bias. */
static void conv3d_init(ebm_net *net, layer *l, ebm_rng *rng) {
  const conv3d *cv = l->priv;
  conv3d_init_params(net, cv->weight, cv->bias, cv->cs.c_in * cv->cs.kd * cv->cs.k * cv->cs.k, rng);
}

// x is (n, c_in, d, h, w); l->out is (n, out, d_out, h_out, w_out)
static void conv3d_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x) {
  (void)cond;
  const conv3d *cv = l->priv;
  ebm_conv3d_shape s = cv->cs;
  s.n = n;
  ebm_conv3d_forward(&s, x, net_param_data(net, cv->weight),
                     cv->bias >= 0 ? net_param_data(net, cv->bias) : NULL, l->out, net->ws);
}

static const float *conv3d_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                    const float *dy, float *dx, int need_dx, int want_params) {
  (void)cond;
  const conv3d *cv = l->priv;
  ebm_conv3d_shape s = cv->cs;
  s.n = n;
  if (want_params)
    ebm_conv3d_backward_weight(&s, l->in, dy, net_param_grad(net, cv->weight),
                               cv->bias >= 0 ? net_param_grad(net, cv->bias) : NULL, net->ws);
  if (need_dx) ebm_conv3d_backward_input(&s, dy, net_param_data(net, cv->weight), dx, net->ws);
  return dx;
}

static void conv3d_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  const conv3d *cv = l->priv;
  char depth[64] = "";
  if (cv->cs.kd != cv->cs.k || cv->cs.sd != cv->cs.stride || cv->cs.pd != cv->cs.pad)
    snprintf(depth, sizeof depth, " depth k%lld s%lld p%lld", (long long)cv->cs.kd, (long long)cv->cs.sd,
             (long long)cv->cs.pd);
  snprintf(buf, size, "k%lld s%lld p%lld%s %lldx%lldx%lld->%lldx%lldx%lld%s", (long long)cv->cs.k,
           (long long)cv->cs.stride, (long long)cv->cs.pad, depth, (long long)cv->cs.d_in,
           (long long)cv->cs.h_in, (long long)cv->cs.w_in, (long long)cv->cs.d_out,
           (long long)cv->cs.h_out, (long long)cv->cs.w_out, cv->bias >= 0 ? "" : " no-bias");
}

const layer_kind layer_conv3d = {"conv3d", conv3d_keys, 1, 0, conv3d_build, conv3d_init,
                                 conv3d_forward, conv3d_backward, conv3d_detail, NULL, NULL};

int64_t ebm_net_volume_depth(const ebm_net *net) {
  if (net->nlayers < 1 || net->layers[0].spec->kind != &layer_conv3d) return 0;
  return net->layers[0].spec->depth;
}
