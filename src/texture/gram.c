/* The texture statistic of ebm_texture_gram_distance: Gram matrices
 * (Gatys et al.'s texture descriptor) of the FRAME energy's first layer —
 * the fixed Gabor bank with its thresholds — whatever model is being
 * measured, so numbers of different models and runs compare. */
#include <math.h>
#include <stdlib.h>

#include "texture/texture_internal.h"

/* The bank at h×w in t->features (rebuilt when the size changes). */
static ebm_status features_at(ebm_texture *t, int h, int w) {
  texture_net *tn = &t->features;
  if (tn->net && tn->h == h && tn->w == w) return EBM_OK;
  texture_net_free(tn);
  ebm_texture_config frame = t->cfg;
  frame.model = EBM_TEXTURE_GABOR;
  char *arch = texture_arch_json(&frame, t->c, h, w, 1);
  if (!arch) return ebm_set_error(EBM_ERR_NOMEM, "texture: out of memory");
  ebm_status st = ebm_net_new(arch, 1, &tn->net);
  free(arch);
  if (st) return st;
  texture_gabor_fill(tn->net, t->c);
  tn->h = h, tn->w = w, tn->batch = 1;
  return EBM_OK;
}

/* G = F Fᵀ / P of one image: F is the bank's structure channels, c × P
 * (the first c of its output). gram gets c² doubles. */
static ebm_status gram(ebm_texture *t, const float *x, int h, int w, double *g) {
  ebm_status st = features_at(t, h, w);
  if (st) return st;
  ebm_net *net = t->features.net;
  const int64_t *shape = ebm_net_out_shape(net);
  int64_t c = texture_gabor_structure_channels(), p = shape[1] * shape[2];
  float *f = malloc((size_t)(shape[0] * p) * sizeof *f);
  if (!f) return ebm_set_error(EBM_ERR_NOMEM, "texture: out of memory");
  if ((st = ebm_net_forward(net, x, NULL, 1, f))) goto done;
  // f is (c, p); g is (c, c)
  for (int64_t i = 0; i < c; i++)
    for (int64_t j = 0; j <= i; j++) {
      double s = 0;
      for (int64_t k = 0; k < p; k++) s += (double)f[i * p + k] * f[j * p + k];
      g[i * c + j] = g[j * c + i] = s / (double)p;
    }
done:
  free(f);
  return st;
}

ebm_status ebm_texture_gram_distance(ebm_texture *t, const float *a, int ha, int wa,
                                     const float *b, int hb, int wb, double *dist) {
  if (ha < TEXTURE_MIN_SIDE || wa < TEXTURE_MIN_SIDE || hb < TEXTURE_MIN_SIDE || wb < TEXTURE_MIN_SIDE)
    return ebm_set_error(EBM_ERR_ARG, "texture: Gram statistics need sides of at least %d, got %dx%d and %dx%d",
                         TEXTURE_MIN_SIDE, wa, ha, wb, hb);
  int64_t c = texture_gabor_structure_channels();
  double *ga = malloc((size_t)(2 * c * c) * sizeof *ga), *gb = ga + c * c;
  if (!ga) return ebm_set_error(EBM_ERR_NOMEM, "texture: out of memory");
  ebm_status st = gram(t, a, ha, wa, ga);
  if (!st) st = gram(t, b, hb, wb, gb);
  if (!st) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < c * c; i++) {
      num += (ga[i] - gb[i]) * (ga[i] - gb[i]);
      den += ga[i] * ga[i];
    }
    *dist = den > 0 ? sqrt(num / den) : sqrt(num);
  }
  free(ga);
  return st;
}

void ebm_texture_shuffle_pixels(const float *image, int c, int h, int w, uint64_t seed, float *out) {
  const int64_t hw = (int64_t)h * w;
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  /* Fisher–Yates on positions, carried out on every plane alike */
  for (int64_t p = 0; p < hw; p++)
    for (int ch = 0; ch < c; ch++) out[ch * hw + p] = image[ch * hw + p];
  for (int64_t i = hw - 1; i > 0; i--) {
    int64_t j = (int64_t)(ebm_rng_double(&rng) * (double)(i + 1));
    if (j > i) j = i;
    for (int ch = 0; ch < c; ch++) {
      float tmp = out[ch * hw + i];
      out[ch * hw + i] = out[ch * hw + j];
      out[ch * hw + j] = tmp;
    }
  }
}
