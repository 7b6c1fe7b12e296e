/* A class-conditional EBM as a classifier (eval.h): p(y | x) ∝ exp(−E(x, y))
 * (Grathwohl et al. 2020; Du & Mordatch's conditional models), its accuracy
 * and its calibration. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/eval.h"

/* Items scored per batch (times the classes). */
#define CLASSIFY_CHUNK 256

ebm_status ebm_energy_class_logits(const ebm_energy *en, const float *x, int64_t n, float *logits) {
  if (!en || (n > 0 && (!x || !logits))) return ebm_set_error(EBM_ERR_ARG, "class logits: missing arguments");
  const int K = en->num_classes;
  if (K < 1) return ebm_set_error(EBM_ERR_ARG, "%s is unconditional: no classes to score", en->name);
  const int64_t item = ebm_energy_item_size(en), chunk = CLASSIFY_CHUNK;
  float *xr = malloc((size_t)(chunk * K * item) * sizeof *xr), *e = malloc((size_t)(chunk * K) * sizeof *e);
  int32_t *y = malloc((size_t)(chunk * K) * sizeof *y);
  ebm_status st = EBM_OK;
  if (!xr || !e || !y) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory scoring %lld items", (long long)n);
    goto done;
  }
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t cnt = n - start < chunk ? n - start : chunk;
    for (int64_t i = 0; i < cnt; i++) /* row i·K + k is item i with label k */
      for (int k = 0; k < K; k++) {
        memcpy(xr + (i * K + k) * item, x + (start + i) * item, (size_t)item * sizeof(float));
        y[i * K + k] = k;
      }
    if ((st = ebm_energy_eval(en, xr, &(ebm_cond){.labels = y}, cnt * K, e, NULL)) != EBM_OK) goto done;
    for (int64_t r = 0; r < cnt * K; r++) {
      if (!isfinite(e[r])) {
        st = ebm_set_error(EBM_ERR_NUMERIC, "%s: E(x, %d) of item %lld is %g", en->name, (int)(r % K),
                           (long long)(start + r / K), (double)e[r]);
        goto done;
      }
      logits[start * K + r] = -e[r];
    }
  }
done:
  free(xr);
  free(e);
  free(y);
  return st;
}

ebm_status ebm_calibration_bins(const float *logits, const int32_t *y, int64_t n, int k, int bins, double *conf,
                                double *hits, int64_t *count, int64_t *correct) {
  if (n < 1 || k < 1 || bins < 1 || !logits || !y || !conf || !hits || !count)
    return ebm_set_error(EBM_ERR_ARG, "calibration: %lld items, %d classes, %d bins; need >= 1 each", (long long)n, k, bins);
  memset(conf, 0, (size_t)bins * sizeof *conf);
  memset(hits, 0, (size_t)bins * sizeof *hits);
  memset(count, 0, (size_t)bins * sizeof *count);
  int64_t right = 0;
  for (int64_t i = 0; i < n; i++) {
    const float *z = logits + i * k;
    int best = 0;
    for (int j = 1; j < k; j++) best = z[j] > z[best] ? j : best;
    double s = 0.0;
    for (int j = 0; j < k; j++) s += exp((double)z[j] - z[best]);
    double p = 1.0 / s; /* softmax of the top class */
    int b = (int)(p * bins);
    b = b >= bins ? bins - 1 : b; /* bins (b/B, (b+1)/B], p = 1 in the last */
    if (b > 0 && p * bins == (double)b) b--;
    conf[b] += p;
    hits[b] += best == y[i];
    count[b]++;
    right += best == y[i];
  }
  if (correct) *correct = right;
  return EBM_OK;
}

ebm_status ebm_calibration(const float *logits, const int32_t *y, int64_t n, int k, int bins, double *accuracy,
                           double *ece) {
  if (bins < 1) return ebm_calibration_bins(logits, y, n, k, bins, NULL, NULL, NULL, NULL); /* the message */
  double *conf = calloc((size_t)bins, sizeof *conf), *hits = calloc((size_t)bins, sizeof *hits);
  int64_t *count = calloc((size_t)bins, sizeof *count), right = 0;
  ebm_status st = conf && hits && count ? ebm_calibration_bins(logits, y, n, k, bins, conf, hits, count, &right)
                                        : ebm_set_error(EBM_ERR_NOMEM, "out of memory for %d bins", bins);
  if (st == EBM_OK) {
    double e = 0.0;
    for (int b = 0; b < bins; b++)
      if (count[b] > 0) e += fabs(hits[b] - conf[b]) / (double)n; /* |B|/n · |acc − conf| */
    if (accuracy) *accuracy = (double)right / (double)n;
    if (ece) *ece = e;
  }
  free(conf);
  free(hits);
  free(count);
  return st;
}
