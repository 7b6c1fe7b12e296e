/* Generated clouds against a reference set, with a noise baseline
 * (ebm_points_compare), and loading clouds from .npy (ebm/points.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/io.h"
#include "ebm/points.h"

/* Mean nearest-reference Chamfer distance and mean EMD to that reference. */
static ebm_status score(const float *clouds, int64_t n, const float *ref, int64_t nr, int64_t p,
                        double *chamfer, double *emd) {
  double *dist = malloc((size_t)n * sizeof *dist);
  int64_t *nearest = malloc((size_t)n * sizeof *nearest);
  ebm_status st = EBM_OK;
  if (!dist || !nearest) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory scoring %lld clouds", (long long)n);
    goto done;
  }
  ebm_points_nearest(clouds, n, ref, nr, p, dist, nearest);
  *chamfer = 0;
  *emd = p <= EBM_EMD_MAX_POINTS ? 0 : NAN;
  for (int64_t i = 0; i < n; i++) {
    *chamfer += dist[i] / (double)n;
    if (p > EBM_EMD_MAX_POINTS) continue;
    double e = 0;
    if ((st = ebm_emd(clouds + i * p * 3, ref + nearest[i] * p * 3, p, &e))) goto done;
    *emd += e / (double)n;
  }
done:
  free(dist);
  free(nearest);
  return st;
}

void ebm_points_noise(const float *ref, int64_t nr, int64_t p, int64_t n, uint64_t seed, float *noise) {
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t k = 0; k < nr * p * 3; k++) lo = fminf(lo, ref[k]), hi = fmaxf(hi, ref[k]);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  ebm_rng_uniform(&rng, noise, n * p * 3, lo, hi > lo ? hi : lo + 1);
}

ebm_status ebm_points_compare(const float *samples, int64_t ns, const float *ref, int64_t nr,
                              int64_t p, uint64_t seed, ebm_points_scores *out) {
  if (ns < 1 || nr < 1 || p < 1)
    return ebm_set_error(EBM_ERR_ARG, "comparing clouds needs samples and references of at least one point");
  float *noise = malloc((size_t)(ns * p * 3) * sizeof *noise);
  if (!noise) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld noise clouds", (long long)ns);
  ebm_points_noise(ref, nr, p, ns, seed, noise);
  out->n = ns;
  ebm_status st = score(samples, ns, ref, nr, p, &out->chamfer, &out->emd);
  if (st == EBM_OK) st = score(noise, ns, ref, nr, p, &out->noise_chamfer, &out->noise_emd);
  free(noise);
  return st;
}

ebm_status ebm_points_load(const char *path, float **xyz, int64_t *n, int64_t *p) {
  ebm_npy a = {0};
  *xyz = NULL;
  ebm_status st = ebm_npy_load(path, &a);
  if (st) return st;
  const int four = a.ndim == 4 && a.shape[1] == 1;
  if (a.dtype != EBM_DTYPE_F32 || !(a.ndim == 3 || four) || a.shape[a.ndim - 1] != 3 ||
      a.shape[0] < 1 || a.shape[a.ndim - 2] < 1) {
    char shape[64];
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: expected float32 point clouds of shape (n, P, 3), got %s %s",
                       path, ebm_dtype_name(a.dtype), ebm_shape_str(a.ndim, a.shape, shape, sizeof shape));
    goto done;
  }
  *n = a.shape[0];
  *p = a.shape[a.ndim - 2];
  if ((st = ebm_points_check_finite(a.data, *n, *p, path))) goto done;
  if (!(*xyz = malloc((size_t)(*n * *p * 3) * sizeof **xyz))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
    goto done;
  }
  memcpy(*xyz, a.data, (size_t)(*n * *p * 3) * sizeof **xyz);
done:
  ebm_npy_free(&a);
  return st;
}
