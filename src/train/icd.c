/* Improved contrastive divergence (Du, Li, Tenenbaum, Mordatch, ICML 2021;
 * the lecture notes in seed 001 derive it). PCD's gradient treats the
 * negatives x⁻ as constants, which ignores that they depend on θ through
 * the sampler; the missing part of the full CD gradient is the KL term
 *   L_KL = E_θ̄(x_K),  θ̄ = stop-grad(θ), x_K = the chains after the last step,
 * differentiated through the last step only (the authors' code does the
 * same), plus an entropy term that keeps the chains apart:
 *   L_ent = −mean_i log min_j ‖x_K,i − r_j‖   (r: items of the replay buffer).
 * Both terms are functions of x_K alone; their gradient v = dL/dx_K is
 * carried to θ through the step
 *   x_K = clamp(x − λ·clip(∇ₓE_θ(x)/T, c), lo, hi)
 * as dL/dθ = −(λ/T)·∂/∂θ Σ_i u_iᵀ∇ₓE_θ(x_i), u = v where neither the clip
 * nor the clamp was active (their derivative is 0 elsewhere). The mixed
 * derivative ∂/∂θ (uᵀ∇ₓE) is the derivative of ∇θE along u, taken as a
 * central difference of two ebm_net_backward_params passes at x ± h·û: no
 * second-order pass is needed from any layer. tests/train/test_icd.c checks
 * it against a double-precision reference of the whole KL + entropy loss. */
#include <math.h>
#include <string.h>

#include "train/train_internal.h"

void train_icd_terms(const float *x_k, const float *e_k, const float *grad_k, int64_t n, int64_t batch,
                     int64_t dim, float kl_weight, float entropy_weight, const float *refs, int64_t n_refs,
                     float delta, train_icd_values *values, float *v) {
  const double inv_n = 1.0 / (double)batch; /* the batch's mean, of which these n items are a part */
  double kl = 0.0, ent = 0.0;
  memset(v, 0, (size_t)(n * dim) * sizeof *v);
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x_k + i * dim;
    float *vi = v + i * dim;
    if (kl_weight != 0.0f) {
      kl += e_k[i];
      const float a = (float)(kl_weight * inv_n);
      for (int64_t k = 0; k < dim; k++) vi[k] = a * grad_k[i * dim + k];
    }
    if (entropy_weight != 0.0f && n_refs > 0) {
      /* the nearest reference: ½·log(d² + δ²), δ keeps a chain that sits on
       * a stored item finite */
      int64_t best = 0;
      double best_d2 = INFINITY;
      for (int64_t j = 0; j < n_refs; j++) {
        const float *r = refs + j * dim;
        double d2 = 0.0;
        for (int64_t k = 0; k < dim; k++) d2 += ((double)xi[k] - r[k]) * ((double)xi[k] - r[k]);
        if (d2 < best_d2) {
          best_d2 = d2;
          best = j;
        }
      }
      const double q = best_d2 + (double)delta * delta;
      ent += 0.5 * log(q);
      const float *r = refs + best * dim;
      const double a = -entropy_weight * inv_n / q; /* d(−w·mean ½ log q)/dx = −w/n·(x − r)/q */
      for (int64_t k = 0; k < dim; k++) vi[k] += (float)(a * ((double)xi[k] - r[k]));
    }
  }
  values->kl = kl_weight * kl * inv_n;
  values->entropy = n_refs > 0 ? -entropy_weight * ent * inv_n : 0.0;
}

ebm_status train_backprop_last_step(ebm_net *net, const ebm_cond *cond, const ebm_last_step *ls,
                                    const float *x_k, const float *v, int64_t dim, double h,
                                    float *work_u, float *work_x, float *work_de, float *work_e) {
  const int64_t n = ls->n;
  /* u = v where the step was differentiable */
  for (int64_t k = 0; k < n * dim; k++) {
    const float gt = ls->grad[k] * ls->inv_temperature;
    const int live = gt >= -ls->clip && gt <= ls->clip && x_k[k] > ls->lo && x_k[k] < ls->hi;
    work_u[k] = live ? v[k] : 0.0f;
  }
  return train_param_grad_along(net, cond, ls->x, work_u, n, dim, h, -(double)ls->lambda * ls->inv_temperature, 0,
                                work_x, work_de, work_e);
}

static double item_norm(const float *u, int64_t i, int64_t dim) {
  double u2 = 0.0;
  for (int64_t k = i * dim; k < (i + 1) * dim; k++) u2 += (double)u[k] * u[k];
  return sqrt(u2);
}

ebm_status train_param_grad_along(ebm_net *net, const ebm_cond *cond, const float *x, const float *u, int64_t n,
                                  int64_t dim, double h, double scale, int per_item, float *work_x, float *work_de,
                                  float *work_e) {
  /* Item i steps h·u_i/s_i with one s = max_i ‖u_i‖ for all (every item
   * steps at most h; improved CD's directions are alike), or per_item its
   * own s_i = ‖u_i‖ (every item steps exactly h): dsm at many levels weights
   * item i's direction by σ_i², so with one s an item at σ 0.01 beside one
   * at σ 1 would step 10⁴ times less than h, into float32's last bits. */
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) {
    const double ui = item_norm(u, i, dim);
    if (isnan(ui)) return ebm_set_error(EBM_ERR_NUMERIC, "the direction of a second derivative is NaN");
    if (ui > s) s = ui;
  }
  if (s == 0.0) return EBM_OK;
  /* scale·Σ_i u_iᵀ∂(∇ₓE_i)/∂θ ≈ Σ_i scale·s_i/(2h)·[∇θE_i(x_i + h·u_i/s_i) − ∇θE_i(x_i − h·u_i/s_i)] */
  for (int side = 0; side < 2; side++) {
    const double sign = side ? -1.0 : 1.0;
    for (int64_t i = 0; i < n; i++) {
      const double si = per_item ? item_norm(u, i, dim) : s, step = si > 0.0 ? h / si : 0.0;
      work_de[i] = (float)(sign * scale * si / (2.0 * h));
      for (int64_t k = i * dim; k < (i + 1) * dim; k++) work_x[k] = (float)(x[k] + sign * step * u[k]);
    }
    ebm_status st = ebm_net_backward_params(net, work_x, cond, n, work_de, work_e);
    if (st != EBM_OK) return st;
  }
  return EBM_OK;
}
