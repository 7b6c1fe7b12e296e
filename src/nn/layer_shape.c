/* flatten (C×H×W → C·H·W) and reshape ("shape": [C, H, W] or [D], the same
 * number of values): NCHW is row-major, so both are views of their input's
 * memory and their gradients pass straight through. */
#include "nn/nn_internal.h"

static const layer_key flatten_keys[] = {LK_END};

static ebm_status flatten_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                                const char *where) {
  (void)net, (void)ls, (void)sz, (void)where;
  l->out_ndim = 1;
  l->out_shape[0] = l->in_size;
  l->out_shape[1] = l->out_shape[2] = 0;
  return EBM_OK;
}

static void view_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x) {
  (void)net, (void)n, (void)cond;
  l->y_out = x;
}

static const float *view_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                  const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)l, (void)n, (void)cond, (void)dx, (void)need_dx, (void)want_params;
  return dy;
}

const layer_kind layer_flatten = {"flatten", flatten_keys, 0, 1, flatten_build, NULL,
                                  view_forward, view_backward, NULL, layer_per_item, NULL};

static const layer_key reshape_keys[] = {
    {"shape", KEY_SHAPE, offsetof(layer_spec, shape), 1, 1 << 24, 0, 1, NULL, NULL}, LK_END};

static ebm_status reshape_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                                const char *where) {
  (void)net, (void)sz;
  double count = 1; /* in double: three entries up to 2^24 overflow int64 */
  for (int d = 0; d < ls->shape_ndim; d++) count *= (double)ls->shape[d];
  if (count != (double)l->in_size) {
    char a[64], b[64];
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: cannot reshape %s (%lld values) to %s",
                         where, ebm_shape_str(l->in_ndim, l->in_shape, a, sizeof a),
                         (long long)l->in_size, ebm_shape_str(ls->shape_ndim, ls->shape, b, sizeof b));
  }
  l->out_ndim = ls->shape_ndim;
  memset(l->out_shape, 0, sizeof l->out_shape);
  memcpy(l->out_shape, ls->shape, (size_t)ls->shape_ndim * sizeof *ls->shape);
  return EBM_OK;
}

const layer_kind layer_reshape = {"reshape", reshape_keys, 0, 1, reshape_build, NULL,
                                  view_forward, view_backward, NULL, layer_per_item, NULL};
