/* Out-of-distribution sets for `ebm eval ood` (eval.h ebm_ood_set_make):
 * noise, constant images, and flipped or inverted versions of a data set,
 * the synthetic OOD sets of Du & Mordatch §4.3 / Grathwohl et al. §5. */
#include <stdlib.h>
#include <string.h>

#include "ebm/data.h"
#include "ebm/eval.h"

static int64_t item_size(int ndim, const int64_t *shape) {
  int64_t s = 1;
  for (int d = 0; d < ndim; d++) s *= shape[d];
  return s;
}

/* Loads `spec` and copies a random subset of at most n items (kept in data
 * set order) into a new tensor (n × item). */
static ebm_status load_subset(const char *spec, int item_ndim, const int64_t *item_shape, float lo,
                              float hi, int64_t n, ebm_rng *rng, ebm_tensor **out) {
  ebm_dataset *ds = NULL;
  ebm_status st = ebm_dataset_load(spec, lo, hi, &ds);
  if (st != EBM_OK) return st;
  const ebm_tensor *x = ds->x;
  char got[64], want[64];
  if (x->ndim - 1 != item_ndim || memcmp(x->shape + 1, item_shape, (size_t)item_ndim * sizeof(int64_t)) != 0) {
    ebm_shape_str(x->ndim - 1, x->shape + 1, got, sizeof got);
    ebm_shape_str(item_ndim, item_shape, want, sizeof want);
    ebm_dataset_free(ds);
    return ebm_set_error(EBM_ERR_SHAPE, "%s: items are %s, the model takes %s", spec, got, want);
  }
  const int64_t N = x->shape[0], item = item_size(item_ndim, item_shape), m = n < N ? n : N;
  int64_t shape[EBM_MAX_DIMS] = {m};
  memcpy(shape + 1, item_shape, (size_t)item_ndim * sizeof(int64_t));
  ebm_tensor *t = ebm_tensor_new(1 + item_ndim, shape);
  if (!t) {
    ebm_dataset_free(ds);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld items of %s", (long long)m, spec);
  }
  /* selection sampling (Knuth 3.4.2 S): each m-subset equally likely */
  for (int64_t i = 0, k = 0, need = m; i < N && need > 0; i++)
    if ((double)(N - i) * ebm_rng_double(rng) < (double)need) {
      memcpy(t->data + k * item, x->data + i * item, (size_t)item * sizeof(float));
      k++;
      need--;
    }
  ebm_dataset_free(ds);
  *out = t;
  return EBM_OK;
}

ebm_status ebm_ood_set_make(const char *spec, int item_ndim, const int64_t *item_shape, float lo,
                            float hi, int64_t n, ebm_rng *rng, ebm_tensor **out) {
  *out = NULL;
  if (!spec || !item_shape || !rng || item_ndim < 1 || item_ndim > 3)
    return ebm_set_error(EBM_ERR_ARG, "OOD set: bad arguments");
  if (n < 1) return ebm_set_error(EBM_ERR_ARG, "OOD set %s: n must be >= 1, got %lld", spec, (long long)n);
  if (!(lo < hi)) return ebm_set_error(EBM_ERR_ARG, "OOD set %s: the range [%g, %g] is empty", spec, (double)lo, (double)hi);
  const int64_t item = item_size(item_ndim, item_shape);
  int64_t shape[EBM_MAX_DIMS] = {n};
  memcpy(shape + 1, item_shape, (size_t)item_ndim * sizeof(int64_t));
  const int noise_u = strcmp(spec, "noise:uniform") == 0, noise_g = strcmp(spec, "noise:gaussian") == 0;
  const int constant = strcmp(spec, "constant") == 0;
  if (noise_u || noise_g || constant) {
    ebm_tensor *t = ebm_tensor_new(1 + item_ndim, shape);
    if (!t) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld items of %s", (long long)n, spec);
    float *x = t->data;
    if (noise_u) {
      ebm_rng_uniform(rng, x, n * item, lo, hi);
    } else if (noise_g) {
      ebm_rng_normal(rng, x, n * item, 0.5f * (lo + hi), 0.25f * (hi - lo));
      for (int64_t k = 0; k < n * item; k++) x[k] = x[k] < lo ? lo : (x[k] > hi ? hi : x[k]);
    } else {
      for (int64_t i = 0; i < n; i++) {
        float c = lo + (float)ebm_rng_double(rng) * (hi - lo);
        for (int64_t k = 0; k < item; k++) x[i * item + k] = c;
      }
    }
    *out = t;
    return EBM_OK;
  }
  const int flip = strncmp(spec, "flip:", 5) == 0, invert = strncmp(spec, "invert:", 7) == 0;
  if (!flip && !invert) {
    ebm_status st = load_subset(spec, item_ndim, item_shape, lo, hi, n, rng, out);
    if (st == EBM_ERR_ARG)
      return ebm_set_error(st, "unknown OOD set '%s': expected noise:uniform, noise:gaussian, constant, "
                           "flip:SPEC, invert:SPEC or a data set (%s)", spec, ebm_dataset_spec_forms());
    return st;
  }
  if (flip && item_ndim != 3)
    return ebm_set_error(EBM_ERR_SHAPE, "OOD set %s: flipping needs images (C,H,W), the model takes %lld values",
                         spec, (long long)item);
  ebm_tensor *t = NULL;
  ebm_status st = load_subset(spec + (flip ? 5 : 7), item_ndim, item_shape, lo, hi, n, rng, &t);
  if (st != EBM_OK) return st;
  const int64_t m = t->shape[0];
  if (invert) {
    for (int64_t k = 0; k < m * item; k++) t->data[k] = lo + hi - t->data[k];
  } else {
    /* vertical flip: row r of every channel ↔ row H−1−r */
    const int64_t C = item_shape[0], H = item_shape[1], W = item_shape[2];
    for (int64_t p = 0; p < m * C; p++) {
      float *plane = t->data + p * H * W;
      for (int64_t r = 0; r < H / 2; r++)
        for (int64_t c = 0; c < W; c++) {
          float a = plane[r * W + c];
          plane[r * W + c] = plane[(H - 1 - r) * W + c];
          plane[(H - 1 - r) * W + c] = a;
        }
    }
  }
  *out = t;
  return EBM_OK;
}
