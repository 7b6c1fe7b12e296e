/* batchnorm2d: nn.BatchNorm2d(C) with eps 1e-5, momentum 0.1, affine and
 * running statistics: params "<name>.weight" (1) and "<name>.bias" (0);
 * buffers "<name>.running_mean" (0), "<name>.running_var" (1) and
 * "<name>.num_batches_tracked" (an int64 scalar in checkpoints, as
 * PyTorch's, so a checkpoint loads with strict=True).
 * Train mode (ebm_net_set_training(net, 1)): normalise with the batch mean
 * and biased variance, then running = 0.9·running + 0.1·batch (the
 * variance unbiased, ·M/(M−1), M = N·H·W) and count one batch; the
 * backward pass differentiates through the batch statistics. Eval mode:
 * the running statistics are constants. */
#include <math.h>

#include "nn/nn_internal.h"

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

static const layer_key batchnorm2d_keys[] = {LK_END};

typedef struct {
  int weight, bias;            /* params */
  int running_mean, running_var, tracked; /* buffers */
  float *mean, *invstd;        /* [C]: what the last forward used */
  float *batch_var;            /* [C] scratch */
  int batch_stats;             /* the last forward was in train mode */
} batchnorm2d;

static ebm_status batchnorm2d_build(ebm_net *net, layer *l, const layer_spec *ls,
                                    scratch_sizes *sz, const char *where) {
  (void)ls, (void)sz;
  ebm_status st = layer_need_ndim(l, 3, where, "");
  if (st) return st;
  batchnorm2d *bn = net_alloc(net, 1, sizeof *bn, where);
  if (!bn) return EBM_ERR_NOMEM;
  l->priv = bn;
  int64_t c = l->in_shape[0];
  char name[NN_NAME_MAX + 24];
#define REGISTER(field, adder, suffix, ndim, shape)           \
  snprintf(name, sizeof name, "%s." suffix, l->name);         \
  if ((bn->field = adder(net, name, ndim, shape)) < 0) return EBM_ERR_NOMEM;
  REGISTER(weight, net_add_param, "weight", 1, &c)
  REGISTER(bias, net_add_param, "bias", 1, &c)
  REGISTER(running_mean, net_add_buffer, "running_mean", 1, &c)
  REGISTER(running_var, net_add_buffer, "running_var", 1, &c)
  REGISTER(tracked, net_add_buffer, "num_batches_tracked", 0, &c) /* 0 dims: a scalar */
#undef REGISTER
  net->buffers[bn->tracked].as_i64 = 1;
  if (!net->plan) fill_floats(net->buffers[bn->running_var].data, c, 1.0f); /* PyTorch's state before init */
  if ((st = net_alloc_floats(net, &bn->mean, c, where))) return st;
  if ((st = net_alloc_floats(net, &bn->invstd, c, where))) return st;
  if ((st = net_alloc_floats(net, &bn->batch_var, c, where))) return st;
  return EBM_OK;
}

static void batchnorm2d_init(ebm_net *net, layer *l, ebm_rng *rng) {
  (void)rng;
  const batchnorm2d *bn = l->priv;
  int64_t c = l->in_shape[0];
  fill_floats(net_param_data(net, bn->weight), c, 1.0f);
  fill_floats(net_param_data(net, bn->bias), c, 0.0f);
  fill_floats(net->buffers[bn->running_mean].data, c, 0.0f);
  fill_floats(net->buffers[bn->running_var].data, c, 1.0f);
  net->buffers[bn->tracked].data[0] = 0.0f;
}

// x and l->out are (n, c, h, w)
static void batchnorm2d_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                const float *x) {
  (void)cond;
  const ebm_ops *ops = ebm_ops_current();
  batchnorm2d *bn = l->priv;
  const int64_t c = l->in_shape[0], hw = l->in_shape[1] * l->in_shape[2];
  float *run_mean = net->buffers[bn->running_mean].data, *run_var = net->buffers[bn->running_var].data;
  bn->batch_stats = net->training;
  if (net->training) {
    ops->batchnorm2d_stats(n, c, hw, x, bn->mean, bn->batch_var);
    const double m = (double)(n * hw), unbias = m > 1 ? m / (m - 1) : 1.0;
    for (int64_t ch = 0; ch < c; ch++) {
      bn->invstd[ch] = (float)(1.0 / sqrt((double)bn->batch_var[ch] + BN_EPS));
      run_mean[ch] = (float)((1 - BN_MOMENTUM) * run_mean[ch] + BN_MOMENTUM * bn->mean[ch]);
      run_var[ch] = (float)((1 - BN_MOMENTUM) * run_var[ch] + BN_MOMENTUM * bn->batch_var[ch] * unbias);
    }
    net->buffers[bn->tracked].data[0] += 1.0f;
  } else {
    for (int64_t ch = 0; ch < c; ch++) {
      bn->mean[ch] = run_mean[ch];
      bn->invstd[ch] = (float)(1.0 / sqrt((double)run_var[ch] + BN_EPS));
    }
  }
  ops->batchnorm2d_forward(n, c, hw, x, bn->mean, bn->invstd, net_param_data(net, bn->weight),
                           net_param_data(net, bn->bias), l->out);
}

static const float *batchnorm2d_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                         const float *dy, float *dx, int need_dx,
                                         int want_params) {
  (void)cond;
  const batchnorm2d *bn = l->priv;
  const int64_t c = l->in_shape[0], hw = l->in_shape[1] * l->in_shape[2];
  ebm_ops_current()->batchnorm2d_backward(
      n, c, hw, l->in, bn->mean, bn->invstd, net_param_data(net, bn->weight), dy,
      need_dx ? dx : NULL, want_params ? net_param_grad(net, bn->weight) : NULL,
      want_params ? net_param_grad(net, bn->bias) : NULL, bn->batch_stats);
  return dx;
}

static void batchnorm2d_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)l;
  snprintf(buf, size, "eps 1e-5 momentum 0.1 (%s mode)", net->training ? "train" : "eval");
}

const layer_kind layer_batchnorm2d = {"batchnorm2d", batchnorm2d_keys, 1, 0, batchnorm2d_build,
                                      batchnorm2d_init, batchnorm2d_forward, batchnorm2d_backward,
                                      batchnorm2d_detail, NULL, NULL};
