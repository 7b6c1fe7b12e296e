/* Out-of-distribution detection (eval.h): AUROC, AUPR and FPR at 95 % TPR
 * with exact tie handling, and the two EBM scores of Grathwohl et al.
 * (2020), −E(x) and −‖∇ₓE(x)‖ (the "approximate mass" score). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/eval.h"

/* Items scored per batch by ebm_ood_scores (times the classes, if any). */
#define OOD_CHUNK 256

typedef struct {
  double s;
  int pos; /* 1 = positive class */
} scored;

static int by_score_desc(const void *a, const void *b) {
  double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
  return (x < y) - (x > y);
}

/* v is sorted by decreasing score; returns the average precision of the
 * positives (sklearn's step-wise definition: Σ (R_k − R_{k−1}) P_k over the
 * distinct thresholds, a tied group entering at once). */
static double average_precision(const scored *v, int64_t n, int64_t npos) {
  int64_t tp = 0, fp = 0;
  double ap = 0.0, prev_recall = 0.0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    for (; j < n && v[j].s == v[i].s; j++) {
      tp += v[j].pos;
      fp += !v[j].pos;
    }
    double recall = (double)tp / (double)npos;
    if (recall > prev_recall) ap += (recall - prev_recall) * (double)tp / (double)(tp + fp);
    prev_recall = recall;
    i = j;
  }
  return ap;
}

ebm_status ebm_ood_metrics_compute(const double *score_in, int64_t n_in, const double *score_out,
                                   int64_t n_out, ebm_ood_metrics *m) {
  if (n_in < 1 || n_out < 1 || !score_in || !score_out || !m)
    return ebm_set_error(EBM_ERR_ARG, "OOD metrics need at least one in- and one out-of-distribution "
                         "score (got %lld and %lld)", (long long)n_in, (long long)n_out);
  for (int64_t i = 0; i < n_in; i++)
    if (isnan(score_in[i])) return ebm_set_error(EBM_ERR_NUMERIC, "OOD metrics: in-distribution score %lld is NaN", (long long)i);
  for (int64_t i = 0; i < n_out; i++)
    if (isnan(score_out[i])) return ebm_set_error(EBM_ERR_NUMERIC, "OOD metrics: out-of-distribution score %lld is NaN", (long long)i);
  const int64_t n = n_in + n_out;
  scored *v = malloc((size_t)n * sizeof *v);
  if (!v) return ebm_set_error(EBM_ERR_NOMEM, "out of memory sorting %lld scores", (long long)n);
  for (int64_t i = 0; i < n_in; i++) v[i] = (scored){score_in[i], 1};
  for (int64_t i = 0; i < n_out; i++) v[n_in + i] = (scored){score_out[i], 0};
  qsort(v, (size_t)n, sizeof *v, by_score_desc);

  /* AUROC = Mann–Whitney U / (n_in·n_out) with average ranks for ties
   * (ranks ascending: the item at descending position i has rank n − i). */
  double rank_sum = 0.0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i, pos = 0;
    for (; j < n && v[j].s == v[i].s; j++) pos += v[j].pos;
    double avg_rank = 0.5 * ((double)(n - i) + (double)(n - j + 1)); /* ranks n−j+1 .. n−i */
    rank_sum += avg_rank * (double)pos;
    i = j;
  }
  m->auroc = (rank_sum - 0.5 * (double)n_in * (double)(n_in + 1)) / ((double)n_in * (double)n_out);

  m->aupr_in = average_precision(v, n, n_in);

  /* FPR at the largest threshold reaching TPR ≥ 0.95 */
  int64_t tp = 0, fp = 0;
  m->fpr95 = 1.0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    for (; j < n && v[j].s == v[i].s; j++) {
      tp += v[j].pos;
      fp += !v[j].pos;
    }
    if ((double)tp >= 0.95 * (double)n_in) {
      m->fpr95 = (double)fp / (double)n_out;
      break;
    }
    i = j;
  }

  /* out-of-distribution as the positive class, scores negated: reverse the
   * order and flip the labels */
  for (int64_t i = 0, k = n - 1; i < k; i++, k--) {
    scored t = v[i];
    v[i] = v[k];
    v[k] = t;
  }
  for (int64_t i = 0; i < n; i++) {
    v[i].s = -v[i].s;
    v[i].pos = !v[i].pos;
  }
  m->aupr_out = average_precision(v, n, n_out);
  free(v);
  return EBM_OK;
}

ebm_status ebm_ood_scores(const ebm_energy *en, const float *x, int64_t n, double *neg_energy,
                          double *neg_grad_norm, double *max_prob) {
  if (!en || (n > 0 && !x)) return ebm_set_error(EBM_ERR_ARG, "OOD scores: no energy or no items");
  if (max_prob && en->num_classes < 2)
    return ebm_set_error(EBM_ERR_ARG, "%s has no classes: the max p(y|x) score needs a classifier or a "
                         "class-conditional model", en->name);
  const int64_t item = ebm_energy_item_size(en);
  const int K = en->num_classes > 0 ? en->num_classes : 1;
  const int64_t chunk = n < OOD_CHUNK ? (n > 0 ? n : 1) : OOD_CHUNK, rows = chunk * K;
  const int want_grad = neg_grad_norm != NULL;
  float *xr = K > 1 ? malloc((size_t)(rows * item) * sizeof *xr) : NULL;
  float *e = malloc((size_t)rows * sizeof *e);
  float *g = want_grad ? malloc((size_t)(rows * item) * sizeof *g) : NULL;
  int32_t *y = K > 1 ? malloc((size_t)rows * sizeof *y) : NULL;
  double *acc = want_grad && K > 1 ? malloc((size_t)item * sizeof *acc) : NULL;
  ebm_status st = EBM_OK;
  if (!e || (K > 1 && (!xr || !y)) || (want_grad && !g) || (want_grad && K > 1 && !acc)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory scoring %lld items", (long long)n);
    goto done;
  }
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t cnt = n - start < chunk ? n - start : chunk;
    const float *xc = x + start * item;
    if (K > 1) {
      /* every item once per class: rows i·K + y */
      for (int64_t i = 0; i < cnt; i++)
        for (int k = 0; k < K; k++) {
          memcpy(xr + (i * K + k) * item, xc + i * item, (size_t)item * sizeof(float));
          y[i * K + k] = k;
        }
    }
    if ((st = ebm_energy_eval(en, K > 1 ? xr : xc, &(ebm_cond){.labels = y}, cnt * K, e, g)) != EBM_OK) goto done;
    for (int64_t i = 0; i < cnt; i++) {
      const float *ei = e + i * K;
      double lo = INFINITY;
      for (int k = 0; k < K; k++) lo = ei[k] < lo ? ei[k] : lo;
      if (!isfinite(lo)) {
        st = ebm_set_error(EBM_ERR_NUMERIC, "%s: energy of item %lld is %g", en->name, (long long)(start + i), lo);
        goto done;
      }
      /* the marginal E(x) = −log Σ_y exp(−E(x, y)) (JEM); K = 1: E itself */
      double z = 0.0;
      for (int k = 0; k < K; k++) z += exp(-(ei[k] - lo));
      if (neg_energy) neg_energy[start + i] = -(lo - log(z));
      if (max_prob) max_prob[start + i] = 1.0 / z; /* the lowest E(x, y) has weight 1 in z */
      if (!want_grad) continue;
      double sq = 0.0;
      if (K == 1) {
        for (int64_t d = 0; d < item; d++) sq += (double)g[i * item + d] * g[i * item + d];
      } else {
        /* ∇ of the marginal: Σ_y softmax(−E)_y ∇E(x, y) */
        memset(acc, 0, (size_t)item * sizeof *acc);
        for (int k = 0; k < K; k++) {
          double p = exp(-(ei[k] - lo)) / z;
          const float *gk = g + (i * K + k) * item;
          for (int64_t d = 0; d < item; d++) acc[d] += p * gk[d];
        }
        for (int64_t d = 0; d < item; d++) sq += acc[d] * acc[d];
      }
      neg_grad_norm[start + i] = -sqrt(sq);
    }
  }
done:
  free(xr);
  free(e);
  free(g);
  free(y);
  free(acc);
  return st;
}
