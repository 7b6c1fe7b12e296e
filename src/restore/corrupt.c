/* Corruptions for the restoration experiments: additive Gaussian noise and
 * salt-and-pepper noise (Du & Mordatch's image restoration; seed 004's
 * "50% salt and pepper masks"). Random numbers come in fixed-size blocks
 * from the caller's generator, so no scratch is allocated. */
#include <math.h>
#include <string.h>

#include "ebm/compose.h"

#define CORRUPT_BLOCK 4096

static const char *const corruption_names[EBM_CORRUPT_COUNT] = {"gaussian", "salt-pepper"};

const char *ebm_corruption_name(ebm_corruption kind) {
  return kind >= 0 && kind < EBM_CORRUPT_COUNT ? corruption_names[kind] : "unknown";
}

int ebm_corruption_from_name(const char *name) {
  for (int k = 0; name && k < EBM_CORRUPT_COUNT; k++)
    if (strcmp(name, corruption_names[k]) == 0) return k;
  return -1;
}

// x is (count) values in [lo, hi], corrupted in place.
ebm_status ebm_corrupt(ebm_corruption kind, double level, float lo, float hi, ebm_rng *rng,
                       float *x, int64_t count) {
  if (!(isfinite(lo) && isfinite(hi) && lo < hi))
    return ebm_set_error(EBM_ERR_ARG, "corrupt: the data range [%g, %g] must be finite with lo < hi",
                         (double)lo, (double)hi);
  if (kind == EBM_CORRUPT_GAUSSIAN && !(level >= 0.0 && isfinite(level)))
    return ebm_set_error(EBM_ERR_ARG, "corrupt gaussian: sigma must be finite and >= 0, got %g", level);
  if (kind == EBM_CORRUPT_SALT_PEPPER && !(level >= 0.0 && level <= 1.0))
    return ebm_set_error(EBM_ERR_ARG, "corrupt salt-pepper: the fraction must be in [0, 1], got %g", level);
  if (kind != EBM_CORRUPT_GAUSSIAN && kind != EBM_CORRUPT_SALT_PEPPER)
    return ebm_set_error(EBM_ERR_ARG, "corrupt: unknown corruption %d", (int)kind);
  float r[CORRUPT_BLOCK];
  for (int64_t start = 0; start < count; start += CORRUPT_BLOCK) {
    const int64_t m = count - start < CORRUPT_BLOCK ? count - start : CORRUPT_BLOCK;
    float *v = x + start;
    if (kind == EBM_CORRUPT_GAUSSIAN) {
      ebm_rng_normal(rng, r, m, 0.0f, (float)level);
      for (int64_t k = 0; k < m; k++) {
        float c = v[k] + r[k];
        v[k] = c < lo ? lo : c > hi ? hi : c;
      }
    } else {
      /* one uniform per value: below p/2 pepper (lo), in [p/2, p) salt (hi) */
      ebm_rng_uniform(rng, r, m, 0.0f, 1.0f);
      const float half = (float)(level / 2.0), p = (float)level;
      for (int64_t k = 0; k < m; k++)
        if (r[k] < p) v[k] = r[k] < half ? lo : hi;
    }
  }
  return EBM_OK;
}
