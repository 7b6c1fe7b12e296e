/* Spectral normalisation with torch.nn.utils.spectral_norm semantics
 * (Miyato et al. 2018; Du & Mordatch A.10 apply it to every weight):
 *
 *   W_mat = W_orig reshaped to (out, in·kh·kw)
 *   power iteration:  v ← normalize(W_matᵀ u),  u ← normalize(W_mat v)
 *   σ = uᵀ W_mat v,   W = W_orig / σ
 *
 * normalize(x) = x / max(‖x‖, 1e-12) as torch's F.normalize. u and v are
 * constants for the gradient (torch clones them), so
 *   dL/dW_orig = dW/σ − (⟨dW, W_orig⟩/σ²)·u vᵀ.
 * u ("<layer>.weight_u") and v ("<layer>.weight_v") are buffers saved in
 * checkpoints, so a loaded model reproduces its energies exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

ebm_status sn_create(ebm_net *net, const char *prefix, int weight, int64_t rows, int64_t cols,
                     sn_weight **out) {
  char name[NN_NAME_MAX + 16];
  ebm_status st = net_reserve_params(net, (double)rows * (double)cols, prefix);
  if (st) return st;
  sn_weight *sn = calloc(1, sizeof *sn);
  if (!sn) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for spectral norm of '%s'", prefix);
  sn->weight = weight;
  sn->rows = rows;
  sn->cols = cols;
  /* A plan only counts the normalised weight (a non-NULL stand-in). */
  sn->w = net->plan ? NULL : ebm_alloc((size_t)(rows * cols), sizeof(float));
  if (net->nsn == net->cap_sn) {
    int cap = net->cap_sn ? 2 * net->cap_sn : 16;
    sn_weight **p = realloc(net->sns, (size_t)cap * sizeof *p);
    if (p) net->sns = p, net->cap_sn = cap;
  }
  if ((!sn->w && !net->plan) || net->nsn == net->cap_sn) {
    ebm_free(sn->w);
    free(sn);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for spectral norm of '%s'", prefix);
  }
  net->sns[net->nsn++] = sn;
  snprintf(name, sizeof name, "%s.weight_u", prefix);
  if ((sn->u = net_add_buffer(net, name, 1, &rows)) < 0) return EBM_ERR_NOMEM;
  snprintf(name, sizeof name, "%s.weight_v", prefix);
  if ((sn->v = net_add_buffer(net, name, 1, &cols)) < 0) return EBM_ERR_NOMEM;
  *out = sn;
  return EBM_OK;
}

static void normalize(const ebm_ops *ops, int64_t count, float *x) {
  double norm = sqrt(ops->dot(count, x, x));
  ops->scale(count, (float)(1.0 / (norm > 1e-12 ? norm : 1e-12)), x, x);
}

/* Matrix-vector products through the ops table: a linear layer on one item
 * is W_mat v (forward) and W_matᵀ u (backward to the input). */
void sn_update_one(ebm_net *net, sn_weight *sn, int iterations) {
  const ebm_ops *ops = ebm_ops_current();
  const float *w_orig = net_param_data(net, sn->weight);
  float *u = net->buffers[sn->u].data, *v = net->buffers[sn->v].data;
  float *wv = net->sn_tmp; /* [rows] */
  int64_t rows = sn->rows, cols = sn->cols;
  for (int it = 0; it < iterations; it++) {
    ops->linear_backward_input(1, cols, rows, u, w_orig, v);
    normalize(ops, cols, v);
    ops->linear_forward(1, cols, rows, v, w_orig, NULL, u);
    normalize(ops, rows, u);
  }
  ops->linear_forward(1, cols, rows, v, w_orig, NULL, wv);
  double sigma = ops->dot(rows, u, wv);
  /* σ = 0 only for an all-zero weight (before init/load) or u, v not yet
   * set: keep W = W_orig rather than 0/0. */
  if (!(sigma != 0.0 && isfinite(sigma))) sigma = 1.0;
  sn->sigma = (float)sigma;
  ops->scale(rows * cols, (float)(1.0 / sigma), w_orig, sn->w);
}

void ebm_net_spectral_update(ebm_net *net, int iterations) {
  for (int i = 0; i < net->nsn; i++) sn_update_one(net, net->sns[i], iterations);
}

float ebm_net_spectral_sigma(ebm_net *net, const char *weight_name, int *found) {
  for (int i = 0; i < net->nsn; i++)
    if (strcmp(net->params[net->sns[i]->weight].name, weight_name) == 0) {
      if (found) *found = 1;
      return net->sns[i]->sigma;
    }
  if (found) *found = 0;
  return 0.0f;
}

const float *wop_weight(ebm_net *net, const wop *op) {
  return op->sn ? op->sn->w : net_param_data(net, op->weight);
}

void sn_backward(ebm_net *net, const wop *op) {
  const ebm_ops *ops = ebm_ops_current();
  const sn_weight *sn = op->sn;
  int64_t count = sn->rows * sn->cols;
  const float *w_orig = net_param_data(net, op->weight);
  float *grad = net_param_grad(net, op->weight);
  double sigma = sn->sigma;
  double proj = ops->dot(count, net->dw, w_orig) / (sigma * sigma);
  ops->axpy(count, (float)(1.0 / sigma), net->dw, grad);
  /* grad −= proj · u vᵀ: the outer product is a one-item linear weight
   * gradient, dW += dyᵀ x with dy = −proj·u, x = v. */
  float *scaled_u = net->sn_tmp;
  ops->scale(sn->rows, (float)-proj, net->buffers[sn->u].data, scaled_u);
  ops->linear_backward_weight(1, sn->cols, sn->rows, net->buffers[sn->v].data, scaled_u, grad, NULL);
}
