/* Generated items through a classifier (ebm/eval.h): the issue's
 * "classification of generated shapes by a small classifier", for point
 * clouds and voxel grids alike. Samples that are shapes get confident
 * predictions spread over the classes (and, for a conditional model, on the
 * class they were asked for); noise and blobs get unsure ones, or all fall
 * into one class. */
#include <math.h>
#include <stdlib.h>

#include "ebm/eval.h"
#include "ebm/points.h"

ebm_status ebm_classify_shares(const ebm_energy *clf, const float *items, int64_t n, const int32_t *asked,
                               ebm_class_shares *out) {
  if (!clf || !items || !out || n < 1) return ebm_set_error(EBM_ERR_ARG, "classifying items needs a classifier and n >= 1");
  const int K = clf->num_classes;
  if (K < 2 || K > EBM_SHARES_MAX_CLASSES)
    return ebm_set_error(EBM_ERR_ARG, "%s has %d classes; a shape classifier needs 2..%d", clf->name, K,
                         EBM_SHARES_MAX_CLASSES);
  for (int64_t i = 0; asked && i < n; i++)
    if (asked[i] < 0 || asked[i] >= K)
      return ebm_set_error(EBM_ERR_ARG, "item %lld was asked for class %d; %s has classes 0..%d", (long long)i,
                           (int)asked[i], clf->name, K - 1);
  float *logits = malloc((size_t)(n * K) * sizeof *logits);
  if (!logits) return ebm_set_error(EBM_ERR_NOMEM, "out of memory classifying %lld items", (long long)n);
  ebm_status st = ebm_energy_class_logits(clf, items, n, logits);
  if (st != EBM_OK) goto done;
  *out = (ebm_class_shares){.n = n, .classes = K, .on_asked = asked ? 0.0 : NAN};
  for (int64_t i = 0; i < n; i++) {
    const float *z = logits + i * K;
    int best = 0;
    for (int k = 1; k < K; k++) best = z[k] > z[best] ? k : best;
    double sum = 0; /* softmax relative to the top logit: no overflow */
    for (int k = 0; k < K; k++) sum += exp((double)z[k] - z[best]);
    const double top = 1.0 / sum;
    out->share[best] += 1.0 / (double)n;
    out->confidence += top / (double)n;
    out->sure += (top >= 0.9) / (double)n;
    if (asked) out->on_asked += (best == asked[i]) / (double)n;
  }
done:
  free(logits);
  return st;
}

ebm_status ebm_points_classify(const ebm_energy *clf, const float *clouds, int64_t n, ebm_points_classes *out) {
  return ebm_classify_shares(clf, clouds, n, NULL, out);
}
