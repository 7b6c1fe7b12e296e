/* Generated clouds through a shape classifier (ebm/points.h): the issue's
 * "classification of generated shapes by a small classifier". Samples that
 * are shapes get confident predictions spread over the classes; noise and
 * blobs get unsure ones, or all fall into one class. */
#include <math.h>
#include <stdlib.h>

#include "ebm/eval.h"
#include "ebm/points.h"

ebm_status ebm_points_classify(const ebm_energy *clf, const float *clouds, int64_t n, ebm_points_classes *out) {
  if (!clf || !clouds || !out || n < 1) return ebm_set_error(EBM_ERR_ARG, "classifying clouds needs a classifier and n >= 1");
  const int K = clf->num_classes;
  if (K < 2 || K > EBM_POINTS_MAX_CLASSES)
    return ebm_set_error(EBM_ERR_ARG, "%s has %d classes; a shape classifier needs 2..%d", clf->name, K,
                         EBM_POINTS_MAX_CLASSES);
  float *logits = malloc((size_t)(n * K) * sizeof *logits);
  if (!logits) return ebm_set_error(EBM_ERR_NOMEM, "out of memory classifying %lld clouds", (long long)n);
  ebm_status st = ebm_energy_class_logits(clf, clouds, n, logits);
  if (st != EBM_OK) goto done;
  *out = (ebm_points_classes){.n = n, .classes = K};
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
  }
done:
  free(logits);
  return st;
}
