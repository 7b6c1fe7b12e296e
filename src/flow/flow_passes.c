/* The flow's passes (ebm/flow.h): forward x → z with the exact log-det,
 * backward through it, the inverse z → x, log q and sampling. Each
 * coupling's s, t come from its ebm_net; everything else is an elementwise
 * loop over D = item floats. Actnorm and 1×1 convolutions run as their
 * networks; their log-dets and inverses are flow_glow.c's. */
#include <math.h>
#include <string.h>

#include "flow/flow_internal.h"

#define LOG_2PI 1.8378770664093453

static ebm_status check_n(const ebm_flow *f, int64_t n) {
  if (n < 1 || n > f->max_batch)
    return ebm_set_error(EBM_ERR_ARG, "flow: %lld items, the flow was built for 1..%lld", (long long)n,
                         (long long)f->max_batch);
  return EBM_OK;
}

/* masked = b ⊙ h for n items. */
static void apply_mask(const float *b, const float *h, int64_t n, int64_t D, float *masked) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t d = 0; d < D; d++) masked[i * D + d] = b[d] * h[i * D + d];
}

/* r = net_l(b ⊙ h): the coupling's raw s, t (n × 2D). */
static ebm_status coupling_net(ebm_flow *f, int l, const float *h, int64_t n, float *r) {
  apply_mask(f->masks[l], h, n, f->item, f->masked[l]);
  ebm_status st = ebm_net_forward(f->nets[l], f->masked[l], NULL, n, r);
  if (st != EBM_OK) {
    char what[32];
    snprintf(what, sizeof what, "flow coupling %d", l);
    ebm_error_prefix(st, what);
  }
  return st;
}

/* Forward of one coupling on n items (D each):
 *   out = b⊙in + (1−b)⊙(in·exp(s) + t),  s = c·tanh(r_s/c), t = r_t
 * in, out (n, D); r (n, 2D); ld (n) += Σ_d (1−b_d)·s_d. */
static void coupling_forward(const float *b, const float *in, const float *r, int64_t n, int64_t D, float c,
                             float *out, float *ld) {
  for (int64_t i = 0; i < n; i++) {
    const float *rs = r + i * 2 * D, *rt = rs + D;
    double sum = 0;
    for (int64_t d = 0; d < D; d++) {
      const float x = in[i * D + d];
      if (b[d] != 0.0f) {
        out[i * D + d] = x;
        continue;
      }
      const float s = c * tanhf(rs[d] / c);
      out[i * D + d] = x * expf(s) + rt[d];
      sum += s;
    }
    ld[i] += (float)sum;
  }
}

/* Layer l: h[l + 1] from h[l], its log-det added to f->ld. */
static ebm_status layer_forward(ebm_flow *f, int l, int64_t n) {
  ebm_status st;
  if (f->kinds[l] == FLOW_COUPLING) {
    if ((st = coupling_net(f, l, f->h[l], n, f->r[l])) != EBM_OK) return st;
    coupling_forward(f->masks[l], f->h[l], f->r[l], n, f->item, f->spec.clamp, f->h[l + 1], f->ld);
    return EBM_OK;
  }
  if ((st = ebm_net_forward(f->nets[l], f->h[l], NULL, n, f->h[l + 1])) != EBM_OK)
    return ebm_error_prefix(st, f->part_names[l]);
  return flow_glow_logdet(f, l, n, f->ld);
}

ebm_status ebm_flow_data_init(ebm_flow *f, const float *x, int64_t n) {
  ebm_status st = check_n(f, n);
  if (st != EBM_OK) return st;
  f->n = 0;
  memcpy(f->h[0], x, (size_t)(n * f->item) * sizeof(float));
  memset(f->ld, 0, (size_t)n * sizeof(float));
  for (int l = 0; l < f->nlayers && st == EBM_OK; l++) {
    if (f->kinds[l] == FLOW_ACTNORM) flow_actnorm_data_init(f, l, f->h[l], n);
    st = layer_forward(f, l, n);
  }
  return st;
}

ebm_status ebm_flow_forward(ebm_flow *f, const float *x, int64_t n, float *z, float *logdet) {
  ebm_status st = check_n(f, n);
  if (st != EBM_OK) return st;
  const int64_t D = f->item;
  f->n = 0;
  memcpy(f->h[0], x, (size_t)(n * D) * sizeof(float));
  memset(f->ld, 0, (size_t)n * sizeof(float));
  for (int l = 0; l < f->nlayers; l++) {
    if ((st = layer_forward(f, l, n)) != EBM_OK) return st;
  }
  const float *zl = f->h[f->nlayers];
  for (int64_t k = 0; k < n * D; k++)
    if (!isfinite(zl[k]))
      return ebm_set_error(EBM_ERR_NUMERIC, "flow: z of item %lld is not finite", (long long)(k / D));
  f->n = n;
  if (z) memcpy(z, zl, (size_t)(n * D) * sizeof(float));
  if (logdet) memcpy(logdet, f->ld, (size_t)n * sizeof(float));
  return EBM_OK;
}

/* Backward of one coupling: g (n, D) holds dL/d(out) and becomes the direct
 * part of dL/d(in) (the net's part is added by the caller); dld (n) is
 * dL/d(log-det) (NULL: 0); dr (n, 2D) gets dL/dr:
 *   dL/ds = (1−b)·(g·in·exp(s) + dld),  dL/dr_s = dL/ds·(1 − tanh²(r_s/c)),
 *   dL/dr_t = (1−b)·g,                   dL/din (direct) = b·g + (1−b)·g·exp(s). */
static void coupling_backward(const float *b, const float *in, const float *r, const float *dld, int64_t n,
                              int64_t D, float c, float *g, float *dr) {
  for (int64_t i = 0; i < n; i++) {
    const float *rs = r + i * 2 * D;
    float *drs = dr + i * 2 * D, *drt = drs + D;
    const float dl = dld ? dld[i] : 0.0f;
    for (int64_t d = 0; d < D; d++) {
      if (b[d] != 0.0f) {
        drs[d] = drt[d] = 0.0f;
        continue;
      }
      const float th = tanhf(rs[d] / c), es = expf(c * th), gy = g[i * D + d];
      drs[d] = (gy * in[i * D + d] * es + dl) * (1.0f - th * th);
      drt[d] = gy;
      g[i * D + d] = gy * es;
    }
  }
}

/* Backward from dL/dz already in f->g (see ebm_flow_backward). */
static ebm_status backward_from_g(ebm_flow *f, const float *dlogdet, float *dx, int want_params) {
  const int64_t n = f->n, D = f->item;
  for (int l = f->nlayers - 1; l >= 0; l--) {
    ebm_status st;
    if (f->kinds[l] != FLOW_COUPLING) { /* g ← the layer's dL/dx; the log-det's share of dθ */
      if ((st = ebm_net_backward(f->nets[l], f->g, f->dmasked, want_params)) != EBM_OK) return st;
      memcpy(f->g, f->dmasked, (size_t)(n * D) * sizeof(float));
      if (want_params && dlogdet && (st = flow_glow_logdet_backward(f, l, dlogdet, n)) != EBM_OK) return st;
      continue;
    }
    const float *b = f->masks[l];
    coupling_backward(b, f->h[l], f->r[l], dlogdet, n, D, f->spec.clamp, f->g, f->dr);
    st = ebm_net_backward(f->nets[l], f->dr, f->dmasked, want_params);
    if (st != EBM_OK) return st;
    for (int64_t i = 0; i < n; i++)
      for (int64_t d = 0; d < D; d++) f->g[i * D + d] += b[d] * f->dmasked[i * D + d];
  }
  if (dx) memcpy(dx, f->g, (size_t)(n * D) * sizeof(float));
  return EBM_OK;
}

static ebm_status check_forward(const ebm_flow *f) {
  return f->n > 0 ? EBM_OK : ebm_set_error(EBM_ERR_ARG, "flow: backward without a forward pass before it");
}

ebm_status ebm_flow_backward(ebm_flow *f, const float *dz, const float *dlogdet, float *dx, int want_params) {
  ebm_status st = check_forward(f);
  if (st != EBM_OK) return st;
  memcpy(f->g, dz, (size_t)(f->n * f->item) * sizeof(float));
  return backward_from_g(f, dlogdet, dx, want_params);
}

ebm_status ebm_flow_inverse(ebm_flow *f, const float *z, int64_t n, float *x) {
  ebm_status st = check_n(f, n);
  if (st != EBM_OK) return st;
  const int64_t D = f->item;
  const float c = f->spec.clamp;
  float *cur = f->g; /* the running value, layer by layer from z back to x */
  f->n = 0;          /* the networks' activations no longer match a forward */
  memcpy(cur, z, (size_t)(n * D) * sizeof(float));
  for (int l = f->nlayers - 1; l >= 0; l--) {
    if (f->kinds[l] != FLOW_COUPLING) {
      if ((st = flow_glow_inverse(f, l, cur, n)) != EBM_OK) return st;
      continue;
    }
    const float *b = f->masks[l];
    /* b⊙in = b⊙out, so the coupling's s, t are computable from its output */
    if ((st = coupling_net(f, l, cur, n, f->dr)) != EBM_OK) return st;
    for (int64_t i = 0; i < n; i++) {
      const float *rs = f->dr + i * 2 * D, *rt = rs + D;
      for (int64_t d = 0; d < D; d++)
        if (b[d] == 0.0f) cur[i * D + d] = (cur[i * D + d] - rt[d]) * expf(-c * tanhf(rs[d] / c));
    }
  }
  for (int64_t k = 0; k < n * D; k++)
    if (!isfinite(cur[k]))
      return ebm_set_error(EBM_ERR_NUMERIC, "flow: the inverse of item %lld is not finite", (long long)(k / D));
  memcpy(x, cur, (size_t)(n * D) * sizeof(float));
  return EBM_OK;
}

ebm_status ebm_flow_log_prob(ebm_flow *f, const float *x, int64_t n, float *logq) {
  ebm_status st = ebm_flow_forward(f, x, n, NULL, NULL);
  if (st != EBM_OK) return st;
  const int64_t D = f->item;
  const float *z = f->h[f->nlayers];
  for (int64_t i = 0; i < n; i++) {
    double sq = 0;
    for (int64_t d = 0; d < D; d++) sq += (double)z[i * D + d] * z[i * D + d];
    logq[i] = (float)(-0.5 * sq - 0.5 * (double)D * LOG_2PI + f->ld[i]);
  }
  return EBM_OK;
}

ebm_status ebm_flow_log_prob_backward(ebm_flow *f, const float *w, float *dx, int want_params) {
  ebm_status st = check_forward(f);
  if (st != EBM_OK) return st;
  const int64_t n = f->n, D = f->item;
  /* d(w·log q)/dz = −w·z, d(w·log q)/d(log-det) = w */
  const float *z = f->h[f->nlayers];
  for (int64_t i = 0; i < n; i++) {
    f->w[i] = w[i];
    for (int64_t d = 0; d < D; d++) f->g[i * D + d] = -w[i] * z[i * D + d];
  }
  return backward_from_g(f, f->w, dx, want_params);
}

ebm_status ebm_flow_sample(ebm_flow *f, ebm_rng *rng, int64_t n, float temperature, float *x) {
  if (n < 0) return check_n(f, n);
  ebm_rng_normal(rng, x, n * f->item, 0.0f, temperature);
  for (int64_t start = 0; start < n; start += f->max_batch) { /* in chunks the flow was built for */
    const int64_t count = n - start < f->max_batch ? n - start : f->max_batch;
    ebm_status st = ebm_flow_inverse(f, x + start * f->item, count, x + start * f->item);
    if (st != EBM_OK) return st;
  }
  return EBM_OK;
}
