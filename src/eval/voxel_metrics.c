/* Generated voxel grids against the training shapes (ebm/data_volumes.h):
 * the "nearest-training-shape IoU" with a noise baseline. Grids are
 * thresholded into bit sets once, so a sample against every reference is
 * v/64 AND/OR popcounts each. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"

/* Bit k of grids[i] is voxel k of grid i, set when above level. */
static uint64_t *to_bits(const float *grids, int64_t n, int64_t v, float level, int64_t words) {
  uint64_t *bits = calloc((size_t)(n * words), sizeof *bits);
  if (!bits) return NULL;
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < v; k++)
      if (grids[i * v + k] > level) bits[i * words + k / 64] |= (uint64_t)1 << (k % 64);
  return bits;
}

static double bits_iou(const uint64_t *a, const uint64_t *b, int64_t words) {
  int64_t both = 0, either = 0;
  for (int64_t w = 0; w < words; w++) {
    both += __builtin_popcountll(a[w] & b[w]);
    either += __builtin_popcountll(a[w] | b[w]);
  }
  return either ? (double)both / (double)either : 1.0;
}

double ebm_voxel_iou(const float *a, const float *b, int64_t v, float level) {
  int64_t both = 0, either = 0;
  for (int64_t k = 0; k < v; k++) {
    const int in_a = a[k] > level, in_b = b[k] > level;
    both += in_a && in_b;
    either += in_a || in_b;
  }
  return either ? (double)both / (double)either : 1.0;
}

typedef struct {
  const uint64_t *samples, *ref;
  int64_t nr, words;
  double *iou;
  int64_t *nearest;
} nearest_job;

static void nearest_range(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const nearest_job *j = ctx;
  for (int64_t s = begin; s < end; s++) {
    double best = -1;
    int64_t arg = 0;
    for (int64_t r = 0; r < j->nr; r++) {
      const double q = bits_iou(j->samples + s * j->words, j->ref + r * j->words, j->words);
      if (q > best) best = q, arg = r;
    }
    j->iou[s] = best;
    if (j->nearest) j->nearest[s] = arg;
  }
}

ebm_status ebm_voxels_nearest(const float *samples, int64_t ns, const float *ref, int64_t nr, int64_t v,
                              float level, double *iou, int64_t *nearest) {
  if (ns < 1 || nr < 1 || v < 1)
    return ebm_set_error(EBM_ERR_ARG, "nearest voxel grids: need samples, references and voxels (got %lld, %lld, %lld)",
                         (long long)ns, (long long)nr, (long long)v);
  const int64_t words = (v + 63) / 64;
  uint64_t *sb = to_bits(samples, ns, v, level, words), *rb = to_bits(ref, nr, v, level, words);
  ebm_status st = EBM_OK;
  if (!sb || !rb) st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld voxel grids", (long long)(ns + nr));
  else ebm_parallel_for(ns, 1, nearest_range, &(nearest_job){sb, rb, nr, words, iou, nearest});
  free(sb);
  free(rb);
  return st;
}

ebm_status ebm_voxels_check_finite(const float *grids, int64_t n, int64_t v, const char *what) {
  for (int64_t k = 0; k < n * v; k++)
    if (!isfinite(grids[k]))
      return ebm_set_error(EBM_ERR_NUMERIC, "%s: grid %lld, voxel %lld is %s", what, (long long)(k / v),
                           (long long)(k % v), isnan(grids[k]) ? "NaN" : "infinite");
  return EBM_OK;
}

static double occupancy(const float *grids, int64_t n, int64_t v, float level) {
  int64_t in = 0;
  for (int64_t k = 0; k < n * v; k++) in += grids[k] > level;
  return (double)in / (double)(n * v);
}

/* The mean nearest-reference IoU of ns grids. */
static ebm_status mean_iou(const float *grids, int64_t ns, const float *ref, int64_t nr, int64_t v, float level,
                           double *mean) {
  double *iou = malloc((size_t)ns * sizeof *iou);
  if (!iou) return ebm_set_error(EBM_ERR_NOMEM, "out of memory scoring %lld grids", (long long)ns);
  ebm_status st = ebm_voxels_nearest(grids, ns, ref, nr, v, level, iou, NULL);
  double sum = 0;
  for (int64_t i = 0; st == EBM_OK && i < ns; i++) sum += iou[i];
  *mean = sum / (double)ns;
  free(iou);
  return st;
}

void ebm_voxels_noise(int64_t n, int64_t v, float lo, float hi, uint64_t seed, float *noise) {
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  ebm_rng_uniform(&rng, noise, n * v, lo, hi);
}

/* The mean nearest-reference surface Chamfer of ns grids over those with a
 * surface; *empty counts the rest. */
static ebm_status mean_chamfer(const float *grids, int64_t ns, const float *ref, int64_t nr, const int64_t dims[3],
                               float level, double *mean, int64_t *empty) {
  double *chamfer = malloc((size_t)ns * sizeof *chamfer);
  if (!chamfer) return ebm_set_error(EBM_ERR_NOMEM, "out of memory scoring %lld grids", (long long)ns);
  ebm_status st = ebm_voxels_chamfer_nearest(grids, ns, ref, nr, dims, level, chamfer, NULL);
  double sum = 0;
  *empty = 0;
  for (int64_t i = 0; st == EBM_OK && i < ns; i++) isnan(chamfer[i]) ? (void)(*empty)++ : (void)(sum += chamfer[i]);
  *mean = *empty < ns ? sum / (double)(ns - *empty) : NAN;
  free(chamfer);
  return st;
}

ebm_status ebm_voxels_compare(const float *samples, int64_t ns, const float *ref, int64_t nr, const int64_t dims[3],
                              float lo, float hi, uint64_t seed, ebm_voxel_scores *out) {
  if (!(lo < hi)) return ebm_set_error(EBM_ERR_ARG, "voxel grids: empty range [%g, %g]", (double)lo, (double)hi);
  const int64_t v = dims[0] * dims[1] * dims[2];
  ebm_status st = ebm_voxels_check_finite(samples, ns, v, "samples");
  if (st == EBM_OK) st = ebm_voxels_check_finite(ref, nr, v, "references");
  if (st != EBM_OK) return st;
  const float level = lo + 0.5f * (hi - lo);
  float *noise = malloc((size_t)(ns * v) * sizeof *noise);
  if (!noise) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld noise grids", (long long)ns);
  ebm_voxels_noise(ns, v, lo, hi, seed, noise);
  *out = (ebm_voxel_scores){.n = ns, .occupancy = occupancy(samples, ns, v, level),
                            .ref_occupancy = occupancy(ref, nr, v, level)};
  st = mean_iou(samples, ns, ref, nr, v, level, &out->iou);
  if (st == EBM_OK) st = mean_iou(noise, ns, ref, nr, v, level, &out->noise_iou);
  if (st == EBM_OK) st = mean_chamfer(samples, ns, ref, nr, dims, level, &out->chamfer, &out->empty);
  if (st == EBM_OK) st = mean_chamfer(noise, ns, ref, nr, dims, level, &out->noise_chamfer, &out->noise_empty);
  free(noise);
  return st;
}
