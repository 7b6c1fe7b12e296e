/* Normalised base distributions for AIS (eval.h): uniform on the model's box,
 * or a diagonal Gaussian truncated to it. Each gives its energy E₀, its exact
 * log Z₀ and exact draws, the three things AIS needs from p₀. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/eval.h"
#include "eval/eval_internal.h"

#define LOG_2PI 1.8378770664093454836
#define SQRT1_2 0.70710678118654752440
#define BASE_BATCH_FLOATS ((int64_t)1 << 20)

struct ebm_ais_base {
  int gaussian;          /* 0: uniform on the box */
  int64_t dim;
  int has_box;
  float lo, hi;
  double *mean, *inv_var;/* gaussian: D each */
  double *std;
  double *p_lo, *p_hi;   /* truncated gaussian: Φ of the standardised bounds */
  double log_z;
  ebm_energy *energy;
  char name[64];
};

/* ----------------------------------------------------------- the energy */

/* x is (n, D); e is (n); grad, if not NULL, is (n, D). Uniform: 0 (the
 * samplers keep to the box through the energy's range). */
static ebm_status base_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                            float *grad) {
  (void)cond;
  const ebm_ais_base *b = self;
  const int64_t D = b->dim;
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * D;
    double s = 0.0;
    if (b->gaussian) {
      for (int64_t k = 0; k < D; k++) {
        double r = (double)xi[k] - b->mean[k];
        s += 0.5 * r * r * b->inv_var[k];
        if (grad) grad[i * D + k] = (float)(r * b->inv_var[k]);
      }
    } else if (grad) {
      memset(grad + i * D, 0, (size_t)D * sizeof(float));
    }
    e[i] = (float)s;
  }
  return EBM_OK;
}

void ebm_ais_base_free(ebm_ais_base *b) {
  if (!b) return;
  ebm_energy_free(b->energy); /* no destroy: the energy only borrows b */
  free(b->mean);
  free(b->inv_var);
  free(b->std);
  free(b->p_lo);
  free(b->p_hi);
  free(b);
}

/* Allocates a base shaped like `model`, with its energy. */
static ebm_status base_alloc(const ebm_energy *model, int gaussian, ebm_ais_base **out) {
  *out = NULL;
  if (!model) return ebm_set_error(EBM_ERR_ARG, "AIS base: no model energy");
  ebm_ais_base *b = calloc(1, sizeof *b);
  if (!b) return ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating an AIS base");
  b->gaussian = gaussian;
  b->dim = ebm_energy_item_size(model);
  b->has_box = model->range_lo < model->range_hi;
  b->lo = model->range_lo;
  b->hi = model->range_hi;
  if (!(b->energy = ebm_energy_alloc())) goto nomem;
  if (gaussian) {
    size_t D = (size_t)b->dim;
    b->mean = calloc(D, sizeof(double));
    b->inv_var = calloc(D, sizeof(double));
    b->std = calloc(D, sizeof(double));
    b->p_lo = calloc(D, sizeof(double));
    b->p_hi = calloc(D, sizeof(double));
    if (!b->mean || !b->inv_var || !b->std || !b->p_lo || !b->p_hi) goto nomem;
  }
  ebm_energy *en = b->energy;
  snprintf(b->name, sizeof b->name, "%s base", gaussian ? "gaussian" : "uniform");
  en->name = b->name;
  en->item_ndim = model->item_ndim;
  memcpy(en->item_shape, model->item_shape, sizeof en->item_shape);
  /* Lets the annealed path evaluate big blocks of chains in one call (it
   * takes the smaller bound of its two energies, a default when neither has
   * one): per-call costs such as the quadrature toys' tables then stay low. */
  en->max_batch = BASE_BATCH_FLOATS / b->dim > 0 ? BASE_BATCH_FLOATS / b->dim : 1;
  en->eval = base_eval;
  en->self = b;
  *out = b;
  return EBM_OK;
nomem:
  ebm_ais_base_free(b);
  return ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating an AIS base of %lld dimensions",
                       (long long)ebm_energy_item_size(model));
}

static void base_set_box(ebm_ais_base *b, float lo, float hi) {
  b->has_box = 1;
  b->lo = b->energy->range_lo = lo;
  b->hi = b->energy->range_hi = hi;
}

ebm_status ebm_ais_base_uniform(const ebm_energy *model, float lo, float hi, ebm_ais_base **out) {
  ebm_status st;
  *out = NULL;
  if (!model) return ebm_set_error(EBM_ERR_ARG, "AIS base: no model energy");
  int ranged = model->range_lo < model->range_hi;
  if (lo == hi && ranged) {
    lo = model->range_lo;
    hi = model->range_hi;
  }
  if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
    return ebm_set_error(EBM_ERR_ARG, "uniform AIS base: the box [%g, %g] is not a finite interval%s",
                         (double)lo, (double)hi, ranged ? "" : " (the model has no range to take)");
  if (ranged && (lo != model->range_lo || hi != model->range_hi))
    return ebm_set_error(EBM_ERR_ARG,
                         "uniform AIS base: the box [%g, %g] differs from %s's range [%g, %g], "
                         "where its density lives",
                         (double)lo, (double)hi, model->name, (double)model->range_lo,
                         (double)model->range_hi);
  ebm_ais_base *b;
  if ((st = base_alloc(model, 0, &b)) != EBM_OK) return st;
  base_set_box(b, lo, hi);
  b->log_z = (double)b->dim * log((double)hi - (double)lo);
  *out = b;
  return EBM_OK;
}

ebm_status ebm_ais_base_gaussian(const ebm_energy *model, const float *mean, const float *std,
                                 ebm_ais_base **out) {
  ebm_status st;
  ebm_ais_base *b;
  *out = NULL;
  if ((st = base_alloc(model, 1, &b)) != EBM_OK) return st;
  if (b->has_box) base_set_box(b, model->range_lo, model->range_hi);
  double log_z = 0.0;
  for (int64_t k = 0; k < b->dim; k++) {
    double m = mean ? (double)mean[k] : 0.0, s = std ? (double)std[k] : 1.0;
    if (!isfinite(m) || !(s > 0.0) || !isfinite(s)) {
      ebm_ais_base_free(b);
      return ebm_set_error(EBM_ERR_ARG, "gaussian AIS base: element %lld has mean %g and std %g; "
                           "need a finite mean and a finite std > 0", (long long)k, m, s);
    }
    if (b->has_box) m = m < b->lo ? b->lo : (m > b->hi ? b->hi : m);
    b->mean[k] = m;
    b->std[k] = s;
    b->inv_var[k] = 1.0 / (s * s);
    log_z += log(s) + 0.5 * LOG_2PI;
    if (b->has_box) {
      /* Standardised bounds a ≤ 0 ≤ b (the mean is in the box), so the mass
       * Φ(b) − Φ(a) = ½(erf(b/√2) + erf(−a/√2)) is a sum without cancellation. */
      double za = ((double)b->lo - m) / s, zb = ((double)b->hi - m) / s;
      b->p_lo[k] = 0.5 * erfc(-za * SQRT1_2);
      b->p_hi[k] = 0.5 * erfc(-zb * SQRT1_2);
      log_z += log(0.5 * (erf(zb * SQRT1_2) + erf(-za * SQRT1_2)));
    }
  }
  b->log_z = log_z;
  if (!isfinite(log_z)) {
    ebm_ais_base_free(b);
    return ebm_set_error(EBM_ERR_NUMERIC, "gaussian AIS base: log Z0 is %g (a std too small for "
                         "the box?)", log_z);
  }
  *out = b;
  return EBM_OK;
}

ebm_status ebm_ais_base_gaussian_fit(const ebm_energy *model, const float *x, int64_t n,
                                     float min_std, ebm_ais_base **out) {
  *out = NULL;
  if (!model) return ebm_set_error(EBM_ERR_ARG, "AIS base: no model energy");
  if (n < 2 || !x)
    return ebm_set_error(EBM_ERR_ARG, "gaussian AIS base: fitting needs at least 2 items, got %lld",
                         (long long)n);
  if (!(min_std > 0.0f) || !isfinite(min_std))
    return ebm_set_error(EBM_ERR_ARG, "gaussian AIS base: min_std must be > 0, got %g", (double)min_std);
  const int64_t D = ebm_energy_item_size(model);
  float *mean = malloc((size_t)D * sizeof *mean), *std = malloc((size_t)D * sizeof *std);
  double *sum = calloc((size_t)D, sizeof *sum), *sq = calloc((size_t)D, sizeof *sq);
  ebm_status st = EBM_OK;
  if (!mean || !std || !sum || !sq) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory fitting a gaussian AIS base");
    goto done;
  }
  /* Two passes (mean, then squared deviations) for a stable variance. */
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < D; k++) sum[k] += x[i * D + k];
  for (int64_t k = 0; k < D; k++) sum[k] /= (double)n;
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < D; k++) {
      double r = x[i * D + k] - sum[k];
      sq[k] += r * r;
    }
  for (int64_t k = 0; k < D; k++) {
    double s = sqrt(sq[k] / (double)(n - 1));
    mean[k] = (float)sum[k];
    std[k] = (float)(s > min_std ? s : min_std);
  }
  st = ebm_ais_base_gaussian(model, mean, std, out);
done:
  free(mean);
  free(std);
  free(sum);
  free(sq);
  return st;
}

double ebm_ais_base_log_z(const ebm_ais_base *b) { return b->log_z; }

const ebm_energy *ebm_ais_base_energy(const ebm_ais_base *b) { return b->energy; }

void ebm_ais_base_sample(const ebm_ais_base *b, ebm_rng *rng, int64_t n, float *x) {
  const int64_t D = b->dim;
  if (!b->gaussian) {
    ebm_rng_uniform(rng, x, n * D, b->lo, b->hi);
    return;
  }
  if (!b->has_box) {
    ebm_rng_normal(rng, x, n * D, 0.0f, 1.0f);
    for (int64_t i = 0; i < n; i++)
      for (int64_t k = 0; k < D; k++)
        x[i * D + k] = (float)(b->mean[k] + b->std[k] * x[i * D + k]);
    return;
  }
  /* Truncated normal by inversion: u ~ U(Φ(a), Φ(b)), x = μ + s·Φ⁻¹(u). */
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < D; k++) {
      double u = b->p_lo[k] + ebm_rng_double(rng) * (b->p_hi[k] - b->p_lo[k]);
      double v = b->mean[k] + b->std[k] * eval_normal_quantile(u);
      float f = (float)v;
      x[i * D + k] = f < b->lo ? b->lo : (f > b->hi ? b->hi : f);
    }
}
