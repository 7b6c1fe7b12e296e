/* class_affine: class-conditional gain and bias per channel (Du & Mordatch
 * A.10), tables "<name>.gain" / "<name>.bias" [classes, C] indexed by
 * cond->labels; over C×H×W (per channel) or D (per feature). */
#include "nn/nn_internal.h"

static const layer_key class_affine_keys[] = {LK_END};

static ebm_status class_affine_build(ebm_net *net, layer *l, const layer_spec *ls,
                                     scratch_sizes *sz, const char *where) {
  (void)ls;
  if (net->num_classes < 1)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s needs \"classes\" > 0", where);
  cond_op *c = net_alloc(net, 1, sizeof *c, where);
  if (!c) return EBM_ERR_NOMEM;
  l->priv = c;
  return cond_create(net, c, l->name, l->in_shape[0], l->in_size / l->in_shape[0], sz);
}

static void class_affine_init(ebm_net *net, layer *l, ebm_rng *rng) {
  (void)rng;
  init_cond(net, l->priv);
}

// x and l->out are (n, c, hw)
static void class_affine_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                 const float *x) {
  cond_forward(net, l->priv, n, cond->labels, x, l->out);
}

/* dx is always a valid buffer: computed even when not needed (cheap),
 * because the kernel produces dx and the table gradients together. */
static const float *class_affine_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                          const float *dy, float *dx, int need_dx,
                                          int want_params) {
  (void)need_dx;
  cond_backward(net, l->priv, n, cond->labels, l->in, dy, dx, want_params);
  return dx;
}

static void class_affine_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)l;
  snprintf(buf, size, "%d classes", net->num_classes);
}

const layer_kind layer_class_affine = {"class_affine", class_affine_keys, 1, 0,
                                       class_affine_build, class_affine_init, class_affine_forward,
                                       class_affine_backward, class_affine_detail, layer_per_item, NULL};
