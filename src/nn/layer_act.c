/* Element-wise activations, PyTorch semantics: swish (x·σ(x), IGEBM's),
 * leaky_relu ("slope", 0.2 by default as Du & Mordatch; PyTorch's gradient
 * convention at 0), relu (leaky_relu with slope 0: gradient 0 at 0, as
 * torch), tanh, sigmoid. Backward reads the layer's forward input. */
#include "nn/nn_internal.h"

static const layer_key no_keys[] = {LK_END};
static const layer_key leaky_relu_keys[] = {LK_FLOAT("slope", slope, 0.0, 1.0, 0.2), LK_END};

static ebm_status same_shape_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                                   const char *where) {
  (void)net, (void)l, (void)ls, (void)sz, (void)where;
  return EBM_OK;
}

// x and l->out are (n, in_size) for every activation below
static void swish_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x) {
  (void)net, (void)cond;
  ebm_ops_current()->swish_forward(n * l->in_size, x, l->out);
}

static const float *swish_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                   const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)cond, (void)want_params;
  if (need_dx) ebm_ops_current()->swish_backward(n * l->in_size, l->in, dy, dx);
  return dx;
}

const layer_kind layer_swish = {"swish", no_keys, 0, 0, same_shape_build, NULL, swish_forward,
                                swish_backward, NULL, layer_per_item, NULL};

/* relu has no "slope" key, so its spec keeps slope = 0. */
static void leaky_relu_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                               const float *x) {
  (void)net, (void)cond;
  ebm_ops_current()->leaky_relu_forward(n * l->in_size, (float)l->spec->slope, x, l->out);
}

static const float *leaky_relu_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                        const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)cond, (void)want_params;
  if (need_dx)
    ebm_ops_current()->leaky_relu_backward(n * l->in_size, (float)l->spec->slope, l->in, dy, dx);
  return dx;
}

static void leaky_relu_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  snprintf(buf, size, "slope %g", l->spec->slope);
}

const layer_kind layer_leaky_relu = {"leaky_relu", leaky_relu_keys, 0, 0, same_shape_build, NULL,
                                     leaky_relu_forward, leaky_relu_backward, leaky_relu_detail, layer_per_item, NULL};
const layer_kind layer_relu = {"relu", no_keys, 0, 0, same_shape_build, NULL,
                               leaky_relu_forward, leaky_relu_backward, NULL, layer_per_item, NULL};

static void tanh_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x) {
  (void)net, (void)cond;
  ebm_ops_current()->tanh_forward(n * l->in_size, x, l->out);
}

static const float *tanh_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                  const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)cond, (void)want_params;
  if (need_dx) ebm_ops_current()->tanh_backward(n * l->in_size, l->in, dy, dx);
  return dx;
}

const layer_kind layer_tanh = {"tanh", no_keys, 0, 0, same_shape_build, NULL, tanh_forward,
                               tanh_backward, NULL, layer_per_item, NULL};

static void sigmoid_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                            const float *x) {
  (void)net, (void)cond;
  ebm_ops_current()->sigmoid_forward(n * l->in_size, x, l->out);
}

static const float *sigmoid_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                     const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)cond, (void)want_params;
  if (need_dx) ebm_ops_current()->sigmoid_backward(n * l->in_size, l->in, dy, dx);
  return dx;
}

const layer_kind layer_sigmoid = {"sigmoid", no_keys, 0, 0, same_shape_build, NULL,
                                  sigmoid_forward, sigmoid_backward, NULL, layer_per_item, NULL};
