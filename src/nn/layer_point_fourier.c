/* point_fourier: each point's coordinates followed by their sines and
 * cosines at L octaves (NeRF's positional encoding, Mildenhall et al.
 * 2020; Tancik et al. 2020, "Fourier features let networks learn high
 * frequency functions in low dimensional domains"):
 *   1×P×C → 1×P×C(1 + 2L),  row p = [x, sin(πx), …, sin(2^{L−1}πx),
 *                                       cos(πx), …, cos(2^{L−1}πx)]
 * where each sin/cos block holds the C features (block k: frequency 2^k·π).
 * "frequencies": L (1–12, default 6). No parameters.
 *
 * Why point energies need it: an energy trained by denoising score
 * matching at a small noise level σ must turn over on the scale of σ around
 * the surface (its gradient is the offset to the surface / σ²), and an MLP
 * of the raw coordinates learns such a field very slowly (the spectral bias
 * Tancik et al. measure). On points of one fixed box at σ 0.02, a per-point
 * MLP 3→64→64→1 learned nothing in 3000 steps (dsm loss 0.505 a coordinate,
 * 0.5 = no gradient) and the same MLP on these features with L = 4 came to
 * 0.349, against ≈ 1/3 for a perfect surface (docs/points.md).
 *
 * The map is per point and per feature, so an energy built on it stays
 * exactly invariant to the order of the points. PyTorch:
 *   f = 2 ** torch.arange(L) * math.pi
 *   torch.cat([x] + [torch.sin(fk * x) for fk in f] + [torch.cos(fk * x) for fk in f], -1) */
#include <math.h>

#include "nn/nn_internal.h"

#define FOURIER_PI 3.14159265358979323846

static const layer_key point_fourier_keys[] = {LK_INT("frequencies", freqs, 1, 12, 6), LK_END};

static ebm_status point_fourier_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                                      const char *where) {
  (void)net, (void)sz;
  ebm_status st = layer_need_cloud(l, where);
  if (st) return st;
  l->out_ndim = 3;
  l->out_shape[0] = 1;
  l->out_shape[1] = l->in_shape[1];
  l->out_shape[2] = l->in_shape[2] * (1 + 2 * ls->freqs);
  return EBM_OK;
}

// x is (n·P, C) rows; l->out is (n·P, C(1 + 2L)) rows
static void point_fourier_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x) {
  (void)net, (void)cond;
  const int64_t rows = n * l->in_shape[1], C = l->in_shape[2], L = l->spec->freqs, W = C * (1 + 2 * L);
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * C;
    float *y = l->out + r * W;
    for (int64_t c = 0; c < C; c++) y[c] = xr[c];
    for (int64_t k = 0; k < L; k++) {
      const double f = ldexp(FOURIER_PI, (int)k);
      for (int64_t c = 0; c < C; c++) {
        y[C * (1 + k) + c] = (float)sin(f * xr[c]);
        y[C * (1 + L + k) + c] = (float)cos(f * xr[c]);
      }
    }
  }
}

/* dx = dy[x] + Σ_k f_k·(cos(f_k x)·dy[sin_k] − sin(f_k x)·dy[cos_k]) */
static const float *point_fourier_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                           const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)cond, (void)want_params;
  if (!need_dx) return dx;
  const int64_t rows = n * l->in_shape[1], C = l->in_shape[2], L = l->spec->freqs, W = C * (1 + 2 * L);
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = l->in + r * C, *g = dy + r * W;
    for (int64_t c = 0; c < C; c++) {
      double sum = g[c];
      for (int64_t k = 0; k < L; k++) {
        const double f = ldexp(FOURIER_PI, (int)k);
        sum += f * (cos(f * xr[c]) * g[C * (1 + k) + c] - sin(f * xr[c]) * g[C * (1 + L + k) + c]);
      }
      dx[r * C + c] = (float)sum;
    }
  }
  return dx;
}

static void point_fourier_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  snprintf(buf, size, "sin/cos at %lld octaves from pi", (long long)l->spec->freqs);
}

const layer_kind layer_point_fourier = {"point_fourier", point_fourier_keys, 0, 0, point_fourier_build, NULL,
                                        point_fourier_forward, point_fourier_backward, point_fourier_detail,
                                        layer_per_item, NULL};
