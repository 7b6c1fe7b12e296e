/* upsample: nn.Upsample(scale_factor = scale, mode = "nearest") on C×H×W. */
#include "nn/nn_internal.h"

static const layer_key upsample_keys[] = {LK_INT("scale", scale, 1, 64, 2), LK_END};

static ebm_status upsample_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                                 const char *where) {
  (void)net, (void)sz;
  ebm_status st = layer_need_ndim(l, 3, where, "");
  if (st) return st;
  l->out_shape[1] = l->in_shape[1] * ls->scale;
  l->out_shape[2] = l->in_shape[2] * ls->scale;
  return EBM_OK;
}

// x is (n, c, h, w); l->out is (n, c, h·scale, w·scale)
static void upsample_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                             const float *x) {
  (void)net, (void)cond;
  const int64_t *s = l->in_shape;
  ebm_ops_current()->upsample_nearest_forward(n, s[0], s[1], s[2], l->spec->scale, x, l->out);
}

static const float *upsample_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                      const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)cond, (void)want_params;
  const int64_t *s = l->in_shape;
  if (need_dx)
    ebm_ops_current()->upsample_nearest_backward(n, s[0], s[1], s[2], l->spec->scale, dy, dx);
  return dx;
}

static void upsample_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  snprintf(buf, size, "x%lld nearest", (long long)l->spec->scale);
}

const layer_kind layer_upsample = {"upsample", upsample_keys, 0, 0, upsample_build, NULL,
                                   upsample_forward, upsample_backward, upsample_detail, layer_per_item, NULL};
