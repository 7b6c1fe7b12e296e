/* actnorm: Glow's activation normalisation (Kingma & Dhariwal 2018, §3.1)
 * as in the PyTorch Glow ports: a per-channel affine map
 *   y = x·exp(logs[c]) + bias[c]
 * over C×H×W (or D features, each its own channel), params "<name>.bias"
 * and "<name>.logs" [C]. A fresh layer is the identity (both zero); the
 * data-dependent initialisation (unit variance, zero mean on a first
 * batch) belongs to whoever owns the layer (ebm_flow_data_init), and the
 * log-determinant H·W·Σ logs to the flow that uses it: the layer itself is
 * only the map. Runs on the batch-norm kernels with mean 0, invstd 1 and
 * weight exp(logs), so it has no pixel loop of its own. */
#include <math.h>

#include "nn/nn_internal.h"

static const layer_key actnorm_keys[] = {LK_END};

typedef struct {
  int bias, logs;          /* params */
  int64_t c, hw;
  float *zero, *one;       /* [C] the batch-norm kernels' mean and invstd */
  float *scale, *dscale;   /* [C] exp(logs) and dL/d(exp(logs)) of a backward */
} actnorm;

static ebm_status actnorm_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                                const char *where) {
  (void)ls, (void)sz;
  actnorm *an = net_alloc(net, 1, sizeof *an, where);
  if (!an) return EBM_ERR_NOMEM;
  l->priv = an;
  an->c = l->in_shape[0];
  an->hw = l->in_size / an->c;
  char name[NN_NAME_MAX + 8];
  snprintf(name, sizeof name, "%s.bias", l->name);
  if ((an->bias = net_add_param(net, name, 1, &an->c)) < 0) return EBM_ERR_NOMEM;
  snprintf(name, sizeof name, "%s.logs", l->name);
  if ((an->logs = net_add_param(net, name, 1, &an->c)) < 0) return EBM_ERR_NOMEM;
  ebm_status st;
  if ((st = net_alloc_floats(net, &an->zero, an->c, where))) return st;
  if ((st = net_alloc_floats(net, &an->one, an->c, where))) return st;
  if ((st = net_alloc_floats(net, &an->scale, an->c, where))) return st;
  if ((st = net_alloc_floats(net, &an->dscale, an->c, where))) return st;
  if (!net->plan) fill_floats(an->one, an->c, 1.0f);
  return EBM_OK;
}

/* The identity: bias 0, logs 0. */
static void actnorm_init(ebm_net *net, layer *l, ebm_rng *rng) {
  (void)rng;
  const actnorm *an = l->priv;
  fill_floats(net_param_data(net, an->bias), an->c, 0.0f);
  fill_floats(net_param_data(net, an->logs), an->c, 0.0f);
}

static void refresh_scale(ebm_net *net, const actnorm *an) {
  const float *logs = net_param_data(net, an->logs);
  for (int64_t ch = 0; ch < an->c; ch++) an->scale[ch] = expf(logs[ch]);
}

// x and l->out are (n, c, hw)
static void actnorm_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x) {
  (void)cond;
  const actnorm *an = l->priv;
  refresh_scale(net, an);
  ebm_ops_current()->batchnorm2d_forward(n, an->c, an->hw, x, an->zero, an->one, an->scale,
                                         net_param_data(net, an->bias), l->out);
}

/* dx = dy·exp(logs); dbias += Σ dy; dlogs += Σ dy·x·exp(logs). */
static const float *actnorm_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *dy,
                                     float *dx, int need_dx, int want_params) {
  (void)cond;
  const actnorm *an = l->priv;
  refresh_scale(net, an);
  if (want_params) fill_floats(an->dscale, an->c, 0.0f);
  ebm_ops_current()->batchnorm2d_backward(n, an->c, an->hw, l->in, an->zero, an->one, an->scale, dy,
                                          need_dx ? dx : NULL, want_params ? an->dscale : NULL,
                                          want_params ? net_param_grad(net, an->bias) : NULL, 0);
  if (want_params) {
    float *dlogs = net_param_grad(net, an->logs);
    for (int64_t ch = 0; ch < an->c; ch++) dlogs[ch] += an->dscale[ch] * an->scale[ch];
  }
  return dx;
}

static void actnorm_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  snprintf(buf, size, "%lld channels", (long long)((const actnorm *)l->priv)->c);
}

const layer_kind layer_actnorm = {"actnorm", actnorm_keys, 1, 0, actnorm_build, actnorm_init,
                                  actnorm_forward, actnorm_backward, actnorm_detail, NULL, NULL};
