/* linear: nn.Linear, weight out×in "<name>.weight" (or weight_orig + u, v
 * under spectral norm), "<name>.bias". Any "out": a network may end in it
 * with out = K (logits). Shares the weighted passes of conv2d. */
#include "nn/nn_internal.h"

static const layer_key linear_keys[] = {LK_OUT, LK_BIAS_SN, LK_END};

static ebm_status linear_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                               const char *where) {
  ebm_status st = layer_need_ndim(l, 1, where, " (add a flatten or global_sum_pool layer)");
  if (st) return st;
  memset(&l->op, 0, sizeof l->op);
  l->op.in = l->in_shape[0];
  l->op.out = ls->out;
  if ((st = wop_create(net, l, &l->op, l->name, ls->spectral_norm, ls->bias, sz))) return st;
  l->out_shape[0] = ls->out;
  return EBM_OK;
}

static void linear_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  int k = snprintf(buf, size, "%lld->%lld", (long long)l->in_size, (long long)l->spec->out);
  if (k > 0 && (size_t)k < size) detail_bias_sn(l->spec, buf + k, size - (size_t)k);
}

const layer_kind layer_linear = {"linear", linear_keys, 1, 0, linear_build, layer_wop_init,
                                 layer_wop_forward, layer_wop_backward, linear_detail, layer_wop_per_item, NULL};
