/* Energy heads on K outputs f(x) (a vector [K]), one number per item:
 *   logsumexp  E(x) = −log Σ_k exp f_k(x)   (JEM's marginal energy,
 *              Grathwohl et al. 2020: the classifier's logits as −E(x, y))
 *   select     E(x, y) = −f_y(x)            (JEM's class-conditional energy;
 *              needs "classes" = K at the top level and labels per item) */
#include "nn/nn_internal.h"

static const layer_key no_keys[] = {LK_END};

static ebm_status head_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                             const char *where) {
  (void)net, (void)ls, (void)sz;
  ebm_status st = layer_need_ndim(l, 1, where, " (the logits: end the body in a linear layer)");
  if (st) return st;
  l->out_shape[0] = 1;
  return EBM_OK;
}

// x is (n, K); l->out is (n, 1)
static void logsumexp_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                              const float *x) {
  (void)net, (void)cond;
  ebm_ops_current()->logsumexp_forward(n, l->in_size, -1.0f, x, l->out);
}

static const float *logsumexp_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                       const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)cond, (void)want_params;
  if (need_dx) ebm_ops_current()->logsumexp_backward(n, l->in_size, -1.0f, l->in, dy, dx);
  return dx;
}

static void head_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  snprintf(buf, size, "%lld logits -> energy", (long long)l->in_size);
}

const layer_kind layer_logsumexp = {"logsumexp", no_keys, 0, 0, head_build, NULL,
                                    logsumexp_forward, logsumexp_backward, head_detail, layer_per_item, NULL};

static ebm_status select_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                               const char *where) {
  ebm_status st = head_build(net, l, ls, sz, where);
  if (st) return st;
  if (net->num_classes != l->in_size)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s picks one of %lld logits by the label, so "
                         "\"classes\" must be %lld (it is %d)", where, (long long)l->in_size,
                         (long long)l->in_size, net->num_classes);
  return EBM_OK;
}

static void select_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                           const float *x) {
  (void)net;
  ebm_ops_current()->select_forward(n, l->in_size, -1.0f, cond->labels, x, l->out);
}

static const float *select_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                    const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)want_params;
  if (need_dx) ebm_ops_current()->select_backward(n, l->in_size, -1.0f, cond->labels, dy, dx);
  return dx;
}

const layer_kind layer_select = {"select", no_keys, 0, 0, select_build, NULL, select_forward,
                                 select_backward, head_detail, layer_per_item, NULL};
