/* Small statistics the evaluators share: log-mean-exp, importance-weight
 * statistics (standard error of log Ẑ, effective sample size), the mean
 * energy of a data set, and the normal quantile. */
#include <math.h>
#include <stdlib.h>

#include "ebm/eval.h"
#include "eval/eval_internal.h"

/* Items scored per call in ebm_mean_energy (bounded scratch). */
#define MEAN_ENERGY_CHUNK 1024

double ebm_logmeanexp(const double *v, int64_t n) {
  if (n <= 0) return -INFINITY;
  double m = -INFINITY;
  for (int64_t i = 0; i < n; i++) m = v[i] > m ? v[i] : m;
  if (!isfinite(m)) return m; /* all −inf, or a +inf / NaN dominates */
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += exp(v[i] - m);
  return m + log(s / (double)n);
}

/* With w̃_i = exp(log w_i − max): mean w = e^max · mean w̃, and by the delta
 * method sd(log Ẑ) ≈ sd(Ẑ)/Ẑ = sd(w̃) / (√n · mean w̃) — scale-free, so the
 * shift by the max changes nothing. */
void ebm_log_weight_stats(const double *log_w, int64_t n, double *log_mean, double *se,
                          double *ess) {
  double m = -INFINITY;
  for (int64_t i = 0; i < n; i++) m = log_w[i] > m ? log_w[i] : m;
  double s1 = 0.0, s2 = 0.0;
  if (n > 0 && isfinite(m))
    for (int64_t i = 0; i < n; i++) {
      double w = exp(log_w[i] - m);
      s1 += w;
      s2 += w * w;
    }
  double mean = n > 0 ? s1 / (double)n : 0.0;
  if (log_mean) *log_mean = n > 0 && isfinite(m) ? m + log(mean) : (n > 0 ? m : -INFINITY);
  if (se) {
    double var = n > 1 ? (s2 - (double)n * mean * mean) / (double)(n - 1) : 0.0;
    *se = n > 1 && mean > 0.0 ? sqrt(var > 0.0 ? var : 0.0) / (sqrt((double)n) * mean) : INFINITY;
  }
  if (ess) *ess = s2 > 0.0 ? s1 * s1 / s2 : 0.0;
}

ebm_status ebm_mean_energy(const ebm_energy *en, const float *x, const ebm_cond *cond, int64_t n,
                           double *mean, double *se) {
  if (n < 1) return ebm_set_error(EBM_ERR_ARG, "%s: mean energy of an empty set", en->name);
  const int64_t item = ebm_energy_item_size(en);
  float *e = malloc(MEAN_ENERGY_CHUNK * sizeof *e);
  if (!e) return ebm_set_error(EBM_ERR_NOMEM, "out of memory scoring %lld items", (long long)n);
  double s1 = 0.0, s2 = 0.0;
  ebm_status st = EBM_OK;
  for (int64_t start = 0; start < n; start += MEAN_ENERGY_CHUNK) {
    int64_t count = n - start < MEAN_ENERGY_CHUNK ? n - start : MEAN_ENERGY_CHUNK;
    const ebm_cond part = ebm_cond_slice(cond, start);
    if ((st = ebm_energy_eval(en, x + start * item, &part, count, e, NULL)) != EBM_OK)
      goto done;
    for (int64_t i = 0; i < count; i++) {
      if (!isfinite(e[i])) {
        st = ebm_set_error(EBM_ERR_NUMERIC, "%s: energy of item %lld is %g", en->name,
                           (long long)(start + i), (double)e[i]);
        goto done;
      }
      s1 += e[i];
      s2 += (double)e[i] * e[i];
    }
  }
  double m = s1 / (double)n, var = n > 1 ? (s2 - (double)n * m * m) / (double)(n - 1) : 0.0;
  if (mean) *mean = m;
  if (se) *se = n > 1 ? sqrt((var > 0.0 ? var : 0.0) / (double)n) : 0.0;
done:
  free(e);
  return st;
}

/* P. J. Acklam's rational approximation of Φ⁻¹ (relative error 1.15e-9),
 * refined by one Halley step on Φ(x) − p with Φ from erfc. */
double eval_normal_quantile(double p) {
  static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                              1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                              6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                              -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                              3.754408661907416e+00};
  const double p_low = 0.02425;
  if (!(p > 0.0)) return p == 0.0 ? -INFINITY : NAN;
  if (!(p < 1.0)) return p == 1.0 ? INFINITY : NAN;
  double x;
  if (p < p_low) {
    double q = sqrt(-2.0 * log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else if (p <= 1.0 - p_low) {
    double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    double q = sqrt(-2.0 * log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  double e = 0.5 * erfc(-x / sqrt(2.0)) - p;
  double u = e * 2.50662827463100050242 * exp(0.5 * x * x); /* e·√(2π)·e^{x²/2} */
  return x - u / (1.0 + 0.5 * x * u);
}
