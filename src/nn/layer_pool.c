/* avgpool2d (nn.AvgPool2d(k), stride k, no padding: borders that do not
 * fill a window are dropped) and global_sum_pool (x[n,c,h,w] → y[n,c]). */
#include "nn/nn_internal.h"

static const layer_key avgpool2d_keys[] = {LK_INT("kernel", kernel, 1, 64, 2), LK_END};

static ebm_status avgpool2d_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                                  const char *where) {
  (void)net, (void)sz;
  ebm_status st = layer_need_ndim(l, 3, where, "");
  if (st) return st;
  if (l->in_shape[1] < ls->kernel || l->in_shape[2] < ls->kernel)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: window %lld is larger than the input",
                         where, (long long)ls->kernel);
  l->out_shape[1] = l->in_shape[1] / ls->kernel;
  l->out_shape[2] = l->in_shape[2] / ls->kernel;
  return EBM_OK;
}

// x is (n, c, h, w); l->out is (n, c, h/k, w/k)
static void avgpool2d_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                              const float *x) {
  (void)net, (void)cond;
  const int64_t *s = l->in_shape;
  ebm_ops_current()->avgpool2d_forward(n, s[0], s[1], s[2], l->spec->kernel, x, l->out);
}

static const float *avgpool2d_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                       const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)cond, (void)want_params;
  const int64_t *s = l->in_shape;
  if (need_dx) ebm_ops_current()->avgpool2d_backward(n, s[0], s[1], s[2], l->spec->kernel, dy, dx);
  return dx;
}

static void avgpool2d_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  snprintf(buf, size, "k%lld", (long long)l->spec->kernel);
}

const layer_kind layer_avgpool2d = {"avgpool2d", avgpool2d_keys, 0, 0, avgpool2d_build, NULL,
                                    avgpool2d_forward, avgpool2d_backward, avgpool2d_detail, layer_per_item, NULL};

static const layer_key no_keys[] = {LK_END};

static ebm_status global_sum_pool_build(ebm_net *net, layer *l, const layer_spec *ls,
                                        scratch_sizes *sz, const char *where) {
  (void)net, (void)ls, (void)sz;
  ebm_status st = layer_need_ndim(l, 3, where, "");
  l->out_ndim = 1;
  return st;
}

// x is (n, c, h, w); l->out is (n, c)
static void global_sum_pool_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                    const float *x) {
  (void)net, (void)cond;
  const int64_t *s = l->in_shape;
  ebm_ops_current()->global_sum_pool_forward(n, s[0], s[1] * s[2], x, l->out);
}

static const float *global_sum_pool_backward(ebm_net *net, layer *l, int64_t n,
                                             const ebm_cond *cond, const float *dy, float *dx,
                                             int need_dx, int want_params) {
  (void)net, (void)cond, (void)want_params;
  const int64_t *s = l->in_shape;
  if (need_dx) ebm_ops_current()->global_sum_pool_backward(n, s[0], s[1] * s[2], dy, dx);
  return dx;
}

const layer_kind layer_global_sum_pool = {"global_sum_pool", no_keys, 0, 0, global_sum_pool_build,
                                          NULL, global_sum_pool_forward, global_sum_pool_backward,
                                          NULL, layer_per_item, NULL};
