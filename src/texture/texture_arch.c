/* The two texture energies as architecture JSON (src/nn builds them), and
 * FRAME's fixed Gabor bank.
 *
 * convnet  conv 5×5 s1 → W, swish, conv 3×3 s2 → 2W, swish, conv 3×3 s2 →
 *          2W, swish, conv 3×3 s2 → 2W, swish, conv 1×1 → 1, global sum:
 *          every convolution "valid" (no padding), so each local term sees
 *          only real pixels and the energy of a larger image is a sum of
 *          more of the same terms. The first layer has stride 1: with
 *          stride 2 (measured on checks) the energy was blind to pixel
 *          patterns that alias away, so the chains kept their initial
 *          speckle, and longer learning made it worse.
 * gabor    conv 9×9 with the fixed bank below and fixed biases −t (the
 *          thresholds), relu, conv 1×1 → 1 without bias (the learned λ),
 *          global sum: E = Σ_k λ_k Σ_p max(0, r_k(p) − t_k). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "texture/texture_internal.h"

#define GABOR_K 9
#define GABOR_ORIENTATIONS 4
#define GABOR_SCALES 2
#define GABOR_PHASES 2 /* cos and sin */
#define GABOR_FILTERS (GABOR_ORIENTATIONS * GABOR_SCALES * GABOR_PHASES)
#define THRESHOLDS 4
#define PI 3.14159265358979323846

/* Gabor responses (unit L1 norm, zero mean) of [0, 1] images mostly lie
 * in ±0.2; grey levels in [0, 1]. Four cuts each: a piecewise-linear
 * function of the response with these knots, i.e. a soft histogram. */
static const float gabor_cuts[THRESHOLDS] = {-0.15f, -0.05f, 0.05f, 0.15f};
static const float level_cuts[THRESHOLDS] = {0.0f, 0.25f, 0.5f, 0.75f};
static const double wavelengths[GABOR_SCALES] = {4.0, 8.0};
static const double sigmas[GABOR_SCALES] = {1.5, 2.5};

static int gabor_channels(int c) { return (GABOR_FILTERS + c) * THRESHOLDS; }

int texture_gabor_structure_channels(void) { return GABOR_FILTERS * THRESHOLDS; }

char *texture_arch_json(const ebm_texture_config *cfg, int c, int h, int w, int features) {
  char layers[1024];
  int wd = cfg->width;
  if (cfg->model == EBM_TEXTURE_GABOR)
    snprintf(layers, sizeof layers,
             "{\"type\":\"conv2d\",\"name\":\"gabor\",\"out\":%d,\"kernel\":%d},{\"type\":\"relu\"}%s",
             gabor_channels(c), GABOR_K,
             features ? "" : ",{\"type\":\"conv2d\",\"name\":\"lambda\",\"out\":1,\"kernel\":1,"
                             "\"bias\":false},{\"type\":\"global_sum_pool\"}");
  else if (features)
    snprintf(layers, sizeof layers,
             "{\"type\":\"conv2d\",\"name\":\"net.0\",\"out\":%d,\"kernel\":5},"
             "{\"type\":\"swish\"}", wd);
  else
    snprintf(layers, sizeof layers,
             "{\"type\":\"conv2d\",\"name\":\"net.0\",\"out\":%d,\"kernel\":5},{\"type\":\"swish\"},"
             "{\"type\":\"conv2d\",\"name\":\"net.2\",\"out\":%d,\"kernel\":3,\"stride\":2},{\"type\":\"swish\"},"
             "{\"type\":\"conv2d\",\"name\":\"net.4\",\"out\":%d,\"kernel\":3,\"stride\":2},{\"type\":\"swish\"},"
             "{\"type\":\"conv2d\",\"name\":\"net.6\",\"out\":%d,\"kernel\":3,\"stride\":2},{\"type\":\"swish\"},"
             "{\"type\":\"conv2d\",\"name\":\"net.8\",\"out\":1,\"kernel\":1},{\"type\":\"global_sum_pool\"}",
             wd, 2 * wd, 2 * wd, 2 * wd);
  size_t size = strlen(layers) + 160;
  char *json = malloc(size);
  if (json)
    snprintf(json, size, "{\"input\":[%d,%d,%d],\"range\":[0,1],\"spectral_norm\":false,\"layers\":[%s]}",
             c, h, w, layers);
  return json;
}

int texture_frozen_params(const ebm_texture_config *cfg) {
  return cfg->model == EBM_TEXTURE_GABOR ? 2 : 0; /* gabor.weight, gabor.bias */
}

/* One k×k Gabor filter: a Gaussian envelope of width σ times a cosine of
 * wavelength λ across orientation θ, with the mean removed (it answers
 * structure, not brightness) and unit L1 norm. */
static void gabor_filter(double theta, double lambda, double sigma, double phase, double *g) {
  int r = GABOR_K / 2;
  double mean = 0, l1 = 0;
  for (int y = -r; y <= r; y++)
    for (int x = -r; x <= r; x++) {
      double u = x * cos(theta) + y * sin(theta), v = -x * sin(theta) + y * cos(theta);
      double val = exp(-(u * u + v * v) / (2 * sigma * sigma)) * cos(2 * PI * u / lambda + phase);
      g[(y + r) * GABOR_K + (x + r)] = val;
      mean += val;
    }
  mean /= GABOR_K * GABOR_K;
  for (int i = 0; i < GABOR_K * GABOR_K; i++) l1 += fabs(g[i] -= mean);
  for (int i = 0; i < GABOR_K * GABOR_K; i++) g[i] /= l1;
}

// weight is (F, c, K, K) with F = (GABOR_FILTERS + c)·THRESHOLDS; bias is (F)
void texture_gabor_fill(ebm_net *net, int c) {
  float *wt = ebm_net_param(net, 0)->value->data, *bias = ebm_net_param(net, 1)->value->data;
  const int kk = GABOR_K * GABOR_K;
  memset(wt, 0, (size_t)gabor_channels(c) * (size_t)c * kk * sizeof *wt);
  double g[GABOR_K * GABOR_K];
  int f = 0;
  for (int o = 0; o < GABOR_ORIENTATIONS; o++)
    for (int s = 0; s < GABOR_SCALES; s++)
      for (int p = 0; p < GABOR_PHASES; p++) {
        gabor_filter(PI * o / GABOR_ORIENTATIONS, wavelengths[s], sigmas[s], p * PI / 2, g);
        for (int t = 0; t < THRESHOLDS; t++, f++) {
          /* on the grey level: the mean of the channels */
          for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < kk; i++) wt[((size_t)f * c + ch) * kk + i] = (float)(g[i] / c);
          bias[f] = -gabor_cuts[t];
        }
      }
  for (int ch = 0; ch < c; ch++)
    for (int t = 0; t < THRESHOLDS; t++, f++) {
      wt[((size_t)f * c + ch) * kk + kk / 2] = 1.0f; /* a delta at the centre: the level itself */
      bias[f] = -level_cuts[t];
    }
}
