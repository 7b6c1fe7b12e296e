/* point_edge_conv: DGCNN's edge convolution (Wang et al. 2019, "Dynamic
 * Graph CNN for Learning on Point Clouds", eq. 7–8) as a layer of the
 * pointnet energies. For each point i of a cloud 1×P×C, its k nearest
 * points j in the layer's input features (the coordinates for the first
 * layer, learned features after: the dynamic graph), and
 *   y_i = max_j  W [x_i, x_j − x_i] + b        1×P×C → 1×P×out
 * PyTorch: torch.nn.Linear(2C, out) on cat(x_i.expand, x_j − x_i) of the k
 * neighbours (knn by torch.cdist, itself included), then .amax over them;
 * "<name>.weight" [out, 2C], "<name>.bias" [out], initialised as that
 * Linear. DGCNN's activation after the edge map commutes with the max when
 * it is monotone (a ReLU), so the layer stops at the max and the preset's
 * swish follows it. A point's features now say how its neighbourhood lies
 * — a face is flat, a ring bends — where point_linear sees the point alone.
 * Keys: "out", "k" (16; at most P and 64), "bias", "spectral_norm" (the
 * [out, 2C] weight normalised as a linear's). Exactly invariant to the
 * order of the points (ops/points.h: neighbours chosen by distance, then by
 * value), so pooled energies are too. */
#include "nn/nn_internal.h"
#include "ops/points.h"

static const layer_key edge_keys[] = {LK_OUT, LK_INT("k", neighbours, 1, EBM_POINT_EDGE_MAX_K, 16),
                                      LK_BIAS_SN, LK_END};

typedef struct {
  float *wt;              /* 2·C·out: the weight's halves transposed */
  float *xt;              /* (max_batch, P, C + 1): clouds transposed, distances */
  float *a, *bw, *g;      /* (max_batch, P, out) each */
  int32_t *arg, *order;   /* (max_batch, P, out) and (max_batch, P) */
} edge_state;

static ebm_status edge_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz, const char *where) {
  ebm_status st = layer_need_cloud(l, where);
  if (st) return st;
  const int64_t p = l->in_shape[1], c = l->in_shape[2], out = ls->out;
  if (ls->neighbours > p)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: k = %lld neighbours is more than the cloud's %lld points",
                         where, (long long)ls->neighbours, (long long)p);
  memset(&l->op, 0, sizeof l->op);
  l->op.in = 2 * c;
  l->op.out = out;
  if ((st = wop_create(net, l, &l->op, l->name, ls->spectral_norm, ls->bias, sz))) return st;
  /* per point: A and B (2C·out), the max over k, the distances to all P */
  l->flops = (double)p * (double)(2 * c * out + ls->neighbours * out + p * c);
  edge_state *e = net_alloc(net, 1, sizeof *e, where);
  if (!e) return EBM_ERR_NOMEM;
  const int64_t per = net->max_batch * p * out;
  float *arg = NULL, *order = NULL; /* int32 arrays in float-sized slots */
  if ((st = net_alloc_floats(net, &e->wt, 2 * c * out, where)) ||
      (st = net_alloc_floats(net, &e->xt, net->max_batch * p * (c + 1), where)) ||
      (st = net_alloc_floats(net, &e->a, per, where)) || (st = net_alloc_floats(net, &e->bw, per, where)) ||
      (st = net_alloc_floats(net, &e->g, per, where)) || (st = net_alloc_floats(net, &arg, per, where)) ||
      (st = net_alloc_floats(net, &order, net->max_batch * p, where)))
    return st;
  _Static_assert(sizeof(float) == sizeof(int32_t), "int32 arrays live in float storage");
  e->arg = (int32_t *)(void *)arg;
  e->order = (int32_t *)(void *)order;
  l->priv = e;
  l->out_shape[0] = 1;
  l->out_shape[1] = p;
  l->out_shape[2] = out;
  return EBM_OK;
}

// x is (n, 1, P, C); l->out is (n, 1, P, out)
static void edge_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x) {
  (void)cond;
  edge_state *e = l->priv;
  const float *b = l->op.bias >= 0 ? net_param_data(net, l->op.bias) : NULL;
  ebm_point_edge_forward(n, l->in_shape[1], l->in_shape[2], l->op.out, l->spec->neighbours, x,
                         wop_weight(net, &l->op), b, e->wt, e->xt, e->a, e->bw, e->arg, e->order, l->out);
}

// dy is (n, 1, P, out); dx is (n, 1, P, C)
static const float *edge_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *dy,
                                  float *dx, int need_dx, int want_params) {
  (void)cond, (void)need_dx;
  edge_state *e = l->priv;
  /* Under spectral norm dL/dW goes to scratch, which sn_backward maps to
   * dL/dW_orig (as wop_backward does). */
  float *dw = !want_params ? NULL : l->op.sn ? net->dw : net_param_grad(net, l->op.weight);
  float *db = want_params && l->op.bias >= 0 ? net_param_grad(net, l->op.bias) : NULL;
  if (dw && l->op.sn) memset(dw, 0, (size_t)(l->op.in * l->op.out) * sizeof(float));
  ebm_point_edge_backward(n, l->in_shape[1], l->in_shape[2], l->op.out, l->in, wop_weight(net, &l->op),
                          e->arg, e->order, dy, e->g, dx, dw, db);
  if (dw && l->op.sn) sn_backward(net, &l->op);
  return dx;
}

static void edge_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  int k = snprintf(buf, size, "%lld points, k %lld, [x, xj-x] %lld->%lld, max", (long long)l->in_shape[1],
                   (long long)l->spec->neighbours, (long long)(2 * l->in_shape[2]), (long long)l->spec->out);
  if (k > 0 && (size_t)k < size) detail_bias_sn(l->spec, buf + k, size - (size_t)k);
}

const layer_kind layer_point_edge_conv = {"point_edge_conv", edge_keys, 1, 0, edge_build, layer_wop_init,
                                          edge_forward, edge_backward, edge_detail, NULL, NULL};
