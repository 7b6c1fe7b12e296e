/* Glow's layers in a flow (Kingma & Dhariwal 2018, §3.1–3.2): actnorm and
 * the invertible 1×1 convolution. Each runs forward and backward as its
 * own one-layer ebm_net (so Adam, checkpoints and the state file treat it
 * like any network); what a network cannot know lives here: the
 * log-determinant and its gradient, the inverse, the initialisations.
 *
 * The 1×1 convolution keeps the plain C×C weight W (PyTorch's
 * InvConv2d.weight [C, C, 1, 1]; a Linear's weight for vectors) rather
 * than Glow's LU parametrisation: C is the channel count (1 for
 * Fashion-MNIST, 2 for the toys), so Gauss–Jordan elimination in double
 * per pass costs nothing next to the couplings, the exact log|det W| and
 * W⁻¹ come out of the same elimination, and W stays free to change the
 * sign of its determinant or its permutation during training, which the
 * LU form fixes at initialisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_internal.h"

ebm_status flow_glow_arch(flow_layer_kind kind, int ndim, const int64_t *shape, char **json) {
  char *s = malloc(512);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "flow: out of memory");
  char input[96];
  if (ndim == 1) snprintf(input, sizeof input, "[%lld]", (long long)shape[0]);
  else snprintf(input, sizeof input, "[%lld, %lld, %lld]", (long long)shape[0], (long long)shape[1], (long long)shape[2]);
  if (kind == FLOW_ACTNORM)
    snprintf(s, 512, "{\"input\": %s, \"layers\": [{\"type\": \"actnorm\", \"name\": \"actnorm\"}]}", input);
  else if (ndim == 1)
    snprintf(s, 512, "{\"input\": %s, \"layers\": [{\"type\": \"linear\", \"name\": \"invconv\", \"out\": %lld, "
             "\"bias\": false, \"spectral_norm\": false}]}", input, (long long)shape[0]);
  else
    snprintf(s, 512, "{\"input\": %s, \"layers\": [{\"type\": \"conv2d\", \"name\": \"invconv\", \"out\": %lld, "
             "\"kernel\": 1, \"stride\": 1, \"pad\": 0, \"bias\": false, \"spectral_norm\": false}]}",
             input, (long long)shape[0]);
  *json = s;
  return EBM_OK;
}

static float *param_data(ebm_flow *f, int k, int index) { return ebm_net_param(f->nets[k], index)->value->data; }
static float *param_grad(ebm_flow *f, int k, int index) { return ebm_net_param(f->nets[k], index)->grad->data; }

/* Actnorm's params: 0 bias, 1 logs (layer_actnorm.c's order). */
enum { ACTNORM_BIAS = 0, ACTNORM_LOGS = 1, INVCONV_WEIGHT = 0 };

void flow_invconv_init(ebm_flow *f, int k, ebm_rng *rng) {
  const int64_t C = f->channels;
  double *q = f->lu; /* C × C, rows orthonormalised by modified Gram–Schmidt */
  for (int64_t i = 0; i < C * C; i++) q[i] = ebm_rng_gauss(rng);
  for (int64_t r = 0; r < C; r++) {
    for (int64_t p = 0; p < r; p++) {
      double dot = 0;
      for (int64_t c = 0; c < C; c++) dot += q[r * C + c] * q[p * C + c];
      for (int64_t c = 0; c < C; c++) q[r * C + c] -= dot * q[p * C + c];
    }
    double norm = 0;
    for (int64_t c = 0; c < C; c++) norm += q[r * C + c] * q[r * C + c];
    norm = sqrt(norm);
    for (int64_t c = 0; c < C; c++) q[r * C + c] = norm > 0 ? q[r * C + c] / norm : (double)(c == r);
  }
  float *w = param_data(f, k, INVCONV_WEIGHT);
  for (int64_t i = 0; i < C * C; i++) w[i] = (float)q[i];
}

/* log|det W| and W⁻¹ (into f->winv) of layer k's weight by Gauss–Jordan
 * elimination with partial pivoting, in double. */
static ebm_status invert_weight(ebm_flow *f, int k, double *logabsdet) {
  const int64_t C = f->channels, C2 = 2 * C;
  const float *w = param_data(f, k, INVCONV_WEIGHT);
  double *a = f->lu, sum = 0;
  for (int64_t r = 0; r < C; r++)
    for (int64_t c = 0; c < C2; c++) a[r * C2 + c] = c < C ? w[r * C + c] : (double)(c - C == r);
  for (int64_t c = 0; c < C; c++) {
    int64_t p = c;
    for (int64_t r = c + 1; r < C; r++)
      if (fabs(a[r * C2 + c]) > fabs(a[p * C2 + c])) p = r;
    const double pivot = a[p * C2 + c];
    if (!(fabs(pivot) > 0) || !isfinite(pivot))
      return ebm_set_error(EBM_ERR_NUMERIC, "flow: %s: the 1x1 convolution's weight is singular", f->part_names[k]);
    for (int64_t j = 0; j < C2 && p != c; j++) {
      const double t = a[c * C2 + j];
      a[c * C2 + j] = a[p * C2 + j];
      a[p * C2 + j] = t;
    }
    sum += log(fabs(pivot));
    for (int64_t j = 0; j < C2; j++) a[c * C2 + j] /= pivot;
    for (int64_t r = 0; r < C; r++) {
      const double m = a[r * C2 + c];
      if (r == c || m == 0) continue;
      for (int64_t j = 0; j < C2; j++) a[r * C2 + j] -= m * a[c * C2 + j];
    }
  }
  for (int64_t r = 0; r < C; r++)
    for (int64_t c = 0; c < C; c++) f->winv[r * C + c] = (float)a[r * C2 + C + c];
  *logabsdet = sum;
  return EBM_OK;
}

ebm_status flow_glow_logdet(ebm_flow *f, int k, int64_t n, float *ld) {
  double per_item = 0;
  if (f->kinds[k] == FLOW_ACTNORM) {
    const float *logs = param_data(f, k, ACTNORM_LOGS);
    for (int64_t c = 0; c < f->channels; c++) per_item += logs[c];
  } else {
    ebm_status st = invert_weight(f, k, &per_item);
    if (st != EBM_OK) return st;
  }
  per_item *= (double)f->hw;
  for (int64_t i = 0; i < n; i++) ld[i] = (float)(ld[i] + per_item);
  return EBM_OK;
}

ebm_status flow_glow_logdet_backward(ebm_flow *f, int k, const float *dld, int64_t n) {
  const int64_t C = f->channels;
  double total = 0;
  for (int64_t i = 0; i < n; i++) total += dld[i];
  total *= (double)f->hw;
  if (f->kinds[k] == FLOW_ACTNORM) {
    float *dlogs = param_grad(f, k, ACTNORM_LOGS);
    for (int64_t c = 0; c < C; c++) dlogs[c] = (float)(dlogs[c] + total);
    return EBM_OK;
  }
  double unused;
  ebm_status st = invert_weight(f, k, &unused);
  if (st != EBM_OK) return st;
  float *dw = param_grad(f, k, INVCONV_WEIGHT); /* ∂ log|det W| / ∂W = W⁻ᵀ */
  for (int64_t o = 0; o < C; o++)
    for (int64_t i = 0; i < C; i++) dw[o * C + i] = (float)(dw[o * C + i] + total * f->winv[i * C + o]);
  return EBM_OK;
}

ebm_status flow_glow_inverse(ebm_flow *f, int k, float *cur, int64_t n) {
  const int64_t C = f->channels, HW = f->hw, D = f->item;
  if (f->kinds[k] == FLOW_ACTNORM) { /* x = (y − bias)·exp(−logs) */
    const float *bias = param_data(f, k, ACTNORM_BIAS), *logs = param_data(f, k, ACTNORM_LOGS);
    for (int64_t i = 0; i < n; i++)
      for (int64_t c = 0; c < C; c++)
        for (int64_t p = 0; p < HW; p++) {
          float *v = &cur[(i * C + c) * HW + p];
          *v = (*v - bias[c]) * expf(-logs[c]);
        }
    return EBM_OK;
  }
  double unused;
  ebm_status st = invert_weight(f, k, &unused);
  if (st != EBM_OK) return st;
  float *y = f->dr; /* x[c, p] = Σ_o W⁻¹[c, o]·y[o, p], item by item */
  for (int64_t i = 0; i < n; i++) {
    memcpy(y, cur + i * D, (size_t)D * sizeof(float));
    for (int64_t c = 0; c < C; c++)
      for (int64_t p = 0; p < HW; p++) {
        double acc = 0;
        for (int64_t o = 0; o < C; o++) acc += (double)f->winv[c * C + o] * y[o * HW + p];
        cur[i * D + c * HW + p] = (float)acc;
      }
  }
  return EBM_OK;
}

void flow_actnorm_data_init(ebm_flow *f, int k, const float *h, int64_t n) {
  const int64_t C = f->channels, HW = f->hw;
  float *bias = param_data(f, k, ACTNORM_BIAS), *logs = param_data(f, k, ACTNORM_LOGS);
  for (int64_t c = 0; c < C; c++) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; i++)
      for (int64_t p = 0; p < HW; p++) sum += h[(i * C + c) * HW + p];
    const double mean = sum / (double)(n * HW);
    for (int64_t i = 0; i < n; i++)
      for (int64_t p = 0; p < HW; p++) {
        const double d = h[(i * C + c) * HW + p] - mean;
        sq += d * d;
      }
    const double scale = 1.0 / (sqrt(sq / (double)(n * HW)) + 1e-6);
    logs[c] = (float)log(scale);
    bias[c] = (float)(-mean * exp((double)logs[c]));
  }
}
