/* The pieces layers are made of: a weighted map (conv or linear, with
 * optional spectral norm), the class-conditional affine, the activations.
 * Every numeric loop is an ops kernel (ops/ops.h); this file only decides
 * which kernel runs on which buffer. Backward takes dx NULL (dL/dx not
 * wanted) and `want_params` (0 on the Langevin path: no weight-gradient
 * work at all, parameter grads untouched). */
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

// x is (n, in) or (n, c_in, h_in, w_in); y is (n, out) or (n, c_out, h_out, w_out)
void wop_forward(ebm_net *net, const wop *op, int64_t n, const float *x, float *y) {
  const ebm_ops *ops = ebm_ops_current();
  const float *w = wop_weight(net, op);
  const float *b = op->bias >= 0 ? net_param_data(net, op->bias) : NULL;
  if (op->is_conv) {
    ebm_conv2d_shape s = op->cs;
    s.n = n;
    ops->conv2d_forward(&s, x, w, b, y, net->ws);
  } else {
    ops->linear_forward(n, op->in, op->out, x, w, b, y);
  }
}

// dy is the output's shape, dx the input's; dx NULL skips the input gradient
void wop_backward(ebm_net *net, const wop *op, int64_t n, const float *x, const float *dy,
                  float *dx, int want_params) {
  const ebm_ops *ops = ebm_ops_current();
  ebm_conv2d_shape s = op->cs;
  s.n = n;
  if (want_params) {
    /* Under spectral norm the kernels accumulate dL/dW into scratch, which
     * sn_backward maps to dL/dW_orig (adding into the parameter's grad). */
    float *dw = op->sn ? net->dw : net_param_grad(net, op->weight);
    float *db = op->bias >= 0 ? net_param_grad(net, op->bias) : NULL;
    if (op->sn) memset(dw, 0, (size_t)(op->in * op->out) * sizeof(float));
    if (op->is_conv) ops->conv2d_backward_weight(&s, x, dy, dw, db, net->ws);
    else ops->linear_backward_weight(n, op->in, op->out, x, dy, dw, db);
    if (op->sn) sn_backward(net, op);
  }
  if (dx) {
    const float *w = wop_weight(net, op);
    if (op->is_conv) ops->conv2d_backward_input(&s, dy, w, dx, net->ws);
    else ops->linear_backward_input(n, op->in, op->out, dy, w, dx);
  }
}

// x is (n, c_in, h_in, w_in); pre, y and gate are (n, c_out, h_out, w_out)
void wop_forward_swish(ebm_net *net, const wop *op, int64_t n, const float *x, float *pre, float *y,
                       float *gate) {
  ebm_conv2d_shape s = op->cs;
  s.n = n;
  const float *b = op->bias >= 0 ? net_param_data(net, op->bias) : NULL;
  ebm_ops_current()->conv2d_forward_swish(&s, x, wop_weight(net, op), b, pre, y, gate, net->ws);
}

// dy is the gradient at the swish output, gate the forward's swish'; dx is (n, c_in, h_in, w_in)
void wop_backward_input_swish(ebm_net *net, const wop *op, int64_t n, const float *gate,
                              const float *dy, float *dx) {
  ebm_conv2d_shape s = op->cs;
  s.n = n;
  ebm_ops_current()->conv2d_backward_input_swish(&s, gate, dy, wop_weight(net, op), dx, net->ws);
}

/* Gathers each item's row of a [K, C] table into out[n, C]. */
void gather_rows(const float *table, int64_t c, int64_t n, const int32_t *y, float *out) {
  for (int64_t i = 0; i < n; i++) memcpy(out + i * c, table + (int64_t)y[i] * c, (size_t)c * sizeof(float));
}

/* table[y_i] += rows[i] for every item. */
void scatter_add_rows(float *table, int64_t c, int64_t n, const int32_t *y, const float *rows) {
  const ebm_ops *ops = ebm_ops_current();
  for (int64_t i = 0; i < n; i++) ops->axpy(c, 1.0f, rows + i * c, table + (int64_t)y[i] * c);
}

// x, out are (n, c, hw); gain/bias tables are (classes, c)
void cond_forward(ebm_net *net, const cond_op *c, int64_t n, const int32_t *y, const float *x,
                  float *out) {
  gather_rows(net_param_data(net, c->gain), c->c, n, y, net->cond_g);
  gather_rows(net_param_data(net, c->bias), c->c, n, y, net->cond_b);
  ebm_ops_current()->channel_affine_forward(n, c->c, c->hw, x, net->cond_g, net->cond_b, out);
}

void cond_backward(ebm_net *net, const cond_op *c, int64_t n, const int32_t *y, const float *x,
                   const float *dy, float *dx, int want_params) {
  gather_rows(net_param_data(net, c->gain), c->c, n, y, net->cond_g);
  ebm_ops_current()->channel_affine_backward(n, c->c, c->hw, x, net->cond_g, dy, dx,
                                             want_params ? net->cond_dg : NULL,
                                             want_params ? net->cond_db : NULL);
  if (want_params) {
    scatter_add_rows(net_param_grad(net, c->gain), c->c, n, y, net->cond_dg);
    scatter_add_rows(net_param_grad(net, c->bias), c->c, n, y, net->cond_db);
  }
}

void act_forward(act_kind act, float slope, int64_t count, const float *x, float *y) {
  const ebm_ops *ops = ebm_ops_current();
  if (act == ACT_SWISH) ops->swish_forward(count, x, y);
  else ops->leaky_relu_forward(count, slope, x, y);
}

void act_backward(act_kind act, float slope, int64_t count, const float *x, const float *dy,
                  float *dx) {
  const ebm_ops *ops = ebm_ops_current();
  if (act == ACT_SWISH) ops->swish_backward(count, x, dy, dx);
  else ops->leaky_relu_backward(count, slope, x, dy, dx);
}

int detail_bias_sn(const layer_spec *ls, char *buf, size_t size) {
  return snprintf(buf, size, "%s%s", ls->bias ? "" : " no-bias", ls->spectral_norm ? " sn" : "");
}

/* The passes of a layer that is one weighted map l->op (conv2d, linear). */
void layer_wop_init(ebm_net *net, layer *l, ebm_rng *rng) { init_wop(net, &l->op, rng); }

// x is (n, in) or (n, c_in, h_in, w_in); l->out is (n, out) or (n, c_out, h_out, w_out)
void layer_wop_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x) {
  (void)cond;
  wop_forward(net, &l->op, n, x, l->out);
}

const float *layer_wop_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                const float *dy, float *dx, int need_dx, int want_params) {
  (void)cond;
  wop_backward(net, &l->op, n, l->in, dy, need_dx ? dx : NULL, want_params);
  return dx;
}

int layer_per_item(const ebm_net *net, const layer *l) {
  (void)net, (void)l;
  return 1;
}

int wop_per_item(const wop *op) {
  return !op->is_conv || ebm_ops_current()->conv2d_chain_lanes(&op->cs) > 0;
}

int layer_wop_per_item(const ebm_net *net, const layer *l) {
  (void)net;
  return wop_per_item(&l->op);
}
