/* Losses on a network's raw output (ebm_net_forward), for training
 * networks that are not energies by themselves: the softmax cross-entropy
 * of a classifier's logits (the evaluation classifier, JEM's log p(y|x)). */
#include <math.h>

#include "ebm.h"

double ebm_softmax_xent(const float *logits, const int32_t *labels, int64_t n, int64_t k, float scale,
                        float *dlogits, int64_t *correct) {
  double total = 0;
  int64_t hits = 0;
  for (int64_t i = 0; i < n; i++) {
    const float *z = logits + i * k;
    int64_t best = 0;
    for (int64_t j = 1; j < k; j++)
      if (z[j] > z[best]) best = j;
    /* log Σ exp(z) shifted by the max, so large logits cannot overflow */
    double sum = 0;
    for (int64_t j = 0; j < k; j++) sum += exp((double)z[j] - z[best]);
    const double lse = (double)z[best] + log(sum);
    total += lse - z[labels[i]];
    hits += best == labels[i];
    if (dlogits) {
      float *d = dlogits + i * k;
      for (int64_t j = 0; j < k; j++) {
        double p = exp((double)z[j] - lse);
        d[j] = (float)(scale * (p - (j == labels[i])) / (double)n);
      }
    }
  }
  if (correct) *correct = hits;
  return n > 0 ? total / (double)n : 0.0;
}
