/* The three passes over a whole network (nn.h): energy, gradient to the
 * input (the Langevin hot path: no parameter work), and gradient to the
 * parameters weighted by dL/dE_i. All buffers were sized at build time;
 * nothing here allocates. */
#include <string.h>

#include "nn/nn_internal.h"

static ebm_status check_call(const ebm_net *net, const float *x, const ebm_cond *cond, int64_t n,
                             const char *pass) {
  const int32_t *y = cond ? cond->labels : NULL;
  if (cond && cond->sigma)
    return ebm_set_error(EBM_ERR_ARG, "%s: noise levels given to a network that takes none", pass);
  if (n < 0 || n > net->max_batch)
    return ebm_set_error(EBM_ERR_ARG, "%s: batch of %lld items, the network was built for at most %lld",
                         pass, (long long)n, (long long)net->max_batch);
  if (n > 0 && !x) return ebm_set_error(EBM_ERR_ARG, "%s: no input given", pass);
  if (net->num_classes > 0 && !y && n > 0)
    return ebm_set_error(EBM_ERR_ARG, "%s: the network is class-conditional (%d classes); labels are required",
                         pass, net->num_classes);
  if (net->num_classes == 0 && y)
    return ebm_set_error(EBM_ERR_ARG, "%s: labels given to an unconditional network", pass);
  for (int64_t i = 0; y && i < n; i++)
    if (y[i] < 0 || y[i] >= net->num_classes)
      return ebm_set_error(EBM_ERR_ARG, "%s: label %d of item %lld is not in [0, %d)", pass, (int)y[i],
                           (long long)i, net->num_classes);
  return EBM_OK;
}

static void forward(ebm_net *net, const float *x, const int32_t *y, int64_t n, float *e) {
  const float *cur = x;
  for (int i = 0; i < net->nlayers; i++) {
    layer *l = &net->layers[i];
    if (l->fuse_swish) {
      /* conv + swish in one pass over the output (same bits as the two) */
      layer *act = &net->layers[++i];
      l->in = cur;
      l->y_out = act->in = l->out;
      act->y_out = act->out;
      wop_forward_swish(net, &l->op, n, cur, l->out, act->out);
    } else {
      layer_forward(net, l, n, y, cur);
    }
    cur = net->layers[i].y_out;
  }
  if (e) memcpy(e, cur, (size_t)n * sizeof(float)); /* the last layer gives one value per item */
}

/* de: dL/dE [n]. dx NULL: the first layer's input gradient is skipped. */
static void backward(ebm_net *net, const int32_t *y, int64_t n, const float *de, float *dx,
                     int want_params) {
  const float *g = de;
  for (int i = net->nlayers - 1; i >= 0; i--) {
    float *dst = (i == 0 && dx) ? dx : (g == net->grad_a ? net->grad_b : net->grad_a);
    if (!want_params && i > 0 && net->layers[i - 1].fuse_swish) {
      /* Langevin path: swish' and the conv's transpose in one fused call
       * (with parameter gradients the conv needs dL/d(pre) itself). */
      layer *conv = &net->layers[--i];
      dst = (i == 0 && dx) ? dx : dst;
      if (i > 0 || dx) {
        wop_backward_input_swish(net, &conv->op, n, conv->out, g, dst);
        g = dst;
      }
      continue;
    }
    g = layer_backward(net, &net->layers[i], n, y, g, dst, i > 0 || dx != NULL, want_params);
  }
  if (dx && g != dx) memcpy(dx, g, (size_t)(n * net->layers[0].in_size) * sizeof(float));
}

ebm_status ebm_net_energy(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n, float *e) {
  const int32_t *y = cond ? cond->labels : NULL;
  ebm_status st = check_call(net, x, cond, n, "energy");
  if (st || n == 0) return st;
  forward(net, x, y, n, e);
  return EBM_OK;
}

ebm_status ebm_net_grad_input(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n, float *e,
                              float *dx) {
  const int32_t *y = cond ? cond->labels : NULL;
  ebm_status st = check_call(net, x, cond, n, "energy gradient");
  if (st || n == 0) return st;
  forward(net, x, y, n, e);
  backward(net, y, n, net->de_one, dx, 0);
  return EBM_OK;
}

ebm_status ebm_net_backward_params(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n,
                                   const float *de, float *e) {
  const int32_t *y = cond ? cond->labels : NULL;
  ebm_status st = check_call(net, x, cond, n, "parameter gradient");
  if (st || n == 0) return st;
  if (!de) return ebm_set_error(EBM_ERR_ARG, "parameter gradient: no dL/dE given");
  forward(net, x, y, n, e);
  backward(net, y, n, de, NULL, 1);
  return EBM_OK;
}
