/* A Gaussian for items too large for a D×D covariance (a 32³ voxel grid,
 * a 16×64×64 video): probabilistic PCA (Tipping & Bishop 1999),
 *   Σ = U·diag(λ)·Uᵀ + σ²(I − UUᵀ),   U D×K with orthonormal columns,
 * i.e. K principal directions with their own variances and one shared
 * variance σ² for everything else. Its precision has the same form,
 *   Σ⁻¹ = I/σ² + U·diag(1/λ − 1/σ²)·Uᵀ,
 * so the energy, its gradient and a draw cost O(DK) per item and need only
 * μ, U, λ and σ² (8·D·(K+1) bytes), never a D×D matrix. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample/gaussian_internal.h"

#define LOG_2PI 1.8378770664093454836

typedef struct {
  int64_t dim, rank;
  double *mean;    /* D */
  double *u;       /* D×K row-major: row r holds coordinate r of every direction */
  double *lambda;  /* K */
  double sigma2;
  double *shrink;  /* K: 1/λ_k − 1/σ², the precision's correction along u_k */
  double *lift;    /* K: √λ_k − σ, a draw's extra spread along u_k */
  double log_z;    /* D/2·log 2π + ½(Σ log λ_k + (D−K) log σ²) */
  char name[64];
} lowrank_gaussian;

typedef struct {
  const lowrank_gaussian *g;
  const float *x;
  float *e, *grad;
} lowrank_job;

/* x is (n, D); e is (n); grad, if not NULL, is (n, D). With d = x − μ and
 * p = Uᵀd: E = ½(‖d‖²/σ² + Σ_k shrink_k·p_k²), ∇E = d/σ² + U·(shrink∘p).
 * Per item in double, so a result never depends on the thread count. */
static void lowrank_items(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const lowrank_job *j = ctx;
  const lowrank_gaussian *g = j->g;
  const int64_t D = g->dim, K = g->rank;
  const double inv_s2 = 1.0 / g->sigma2;
  double p[EBM_GAUSSIAN_LOWRANK_MAX_RANK];
  for (int64_t i = begin; i < end; i++) {
    const float *x = j->x + i * D;
    double sq = 0.0;
    memset(p, 0, (size_t)K * sizeof *p);
    for (int64_t r = 0; r < D; r++) {
      const double d = (double)x[r] - g->mean[r], *ur = g->u + r * K;
      sq += d * d;
      for (int64_t k = 0; k < K; k++) p[k] += d * ur[k];
    }
    double quad = sq * inv_s2;
    for (int64_t k = 0; k < K; k++) {
      quad += g->shrink[k] * p[k] * p[k];
      p[k] *= g->shrink[k];
    }
    j->e[i] = (float)(0.5 * quad);
    if (!j->grad) continue;
    float *gr = j->grad + i * D;
    for (int64_t r = 0; r < D; r++) {
      const double *ur = g->u + r * K;
      double s = ((double)x[r] - g->mean[r]) * inv_s2;
      for (int64_t k = 0; k < K; k++) s += ur[k] * p[k];
      gr[r] = (float)s;
    }
  }
}

static ebm_status lowrank_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e, float *grad) {
  (void)cond;
  const lowrank_gaussian *g = self;
  lowrank_job job = {g, x, e, grad};
  const int64_t cost = g->dim * (g->rank + 1);
  ebm_parallel_for(n, cost < 65536 ? 65536 / cost : 1, lowrank_items, &job);
  return EBM_OK;
}

static void lowrank_destroy(void *self) {
  lowrank_gaussian *g = self;
  if (!g) return;
  free(g->mean);
  free(g->u);
  free(g->lambda);
  free(g->shrink);
  free(g->lift);
  free(g);
}

int gaussian_lowrank_is(const ebm_energy *en) { return en && en->destroy == lowrank_destroy; }

/* The arguments' checks: one message naming the first bad value. */
static ebm_status check_factors(int64_t D, const double *mean, int64_t K, const double *u, const double *lambda,
                                double sigma2) {
  if (D < 2 || K < 1 || K >= D || K > EBM_GAUSSIAN_LOWRANK_MAX_RANK || !u || !lambda)
    return ebm_set_error(EBM_ERR_ARG,
                         "low-rank gaussian: needs dimension >= 2 and rank in 1..min(dimension - 1, %d) with U "
                         "and lambda given, got dimension %lld, rank %lld",
                         EBM_GAUSSIAN_LOWRANK_MAX_RANK, (long long)D, (long long)K);
  if (!(sigma2 > 0.0) || !isfinite(sigma2))
    return ebm_set_error(EBM_ERR_ARG, "low-rank gaussian: sigma2 = %g must be positive and finite", sigma2);
  for (int64_t k = 0; k < K; k++)
    if (!(lambda[k] > 0.0) || !isfinite(lambda[k]))
      return ebm_set_error(EBM_ERR_ARG, "low-rank gaussian: lambda[%lld] = %g must be positive and finite",
                           (long long)k, lambda[k]);
  for (int64_t r = 0; mean && r < D; r++)
    if (!isfinite(mean[r])) return ebm_set_error(EBM_ERR_ARG, "low-rank gaussian: mean[%lld] is not finite", (long long)r);
  /* unit columns (O(DK)); their orthogonality is the caller's, as it costs O(DK²) */
  for (int64_t k = 0; k < K; k++) {
    double norm2 = 0.0;
    for (int64_t r = 0; r < D; r++) norm2 += u[r * K + k] * u[r * K + k];
    if (!(fabs(norm2 - 1.0) < 1e-6))
      return ebm_set_error(EBM_ERR_ARG, "low-rank gaussian: column %lld of U has squared norm %g, not 1", (long long)k,
                           norm2);
  }
  return EBM_OK;
}

/* The draw (ebm_energy.draw): x = μ + σε + U·(lift∘Uᵀε), ε ~ N(0, I_D):
 * its covariance is σ²(I − UUᵀ) + U·diag((σ + lift)²)·Uᵀ = Σ, from D normals
 * per item. */
static ebm_status lowrank_draw(void *self, ebm_rng *rng, int64_t n, float *x) {
  const lowrank_gaussian *g = self;
  const int64_t D = g->dim, K = g->rank;
  const double sigma = sqrt(g->sigma2);
  double q[EBM_GAUSSIAN_LOWRANK_MAX_RANK];
  for (int64_t i = 0; i < n; i++) {
    float *xi = x + i * D;
    ebm_rng_normal(rng, xi, D, 0.0f, 1.0f);
    memset(q, 0, (size_t)K * sizeof *q);
    for (int64_t r = 0; r < D; r++) {
      const double *ur = g->u + r * K, eps = xi[r];
      for (int64_t k = 0; k < K; k++) q[k] += eps * ur[k];
    }
    for (int64_t k = 0; k < K; k++) q[k] *= g->lift[k];
    for (int64_t r = 0; r < D; r++) {
      const double *ur = g->u + r * K;
      double v = g->mean[r] + sigma * xi[r];
      for (int64_t k = 0; k < K; k++) v += ur[k] * q[k];
      xi[r] = (float)v;
    }
  }
  return EBM_OK;
}

ebm_status ebm_gaussian_lowrank_new(int64_t dim, const double *mean, int64_t rank, const double *u,
                                    const double *lambda, double sigma2, ebm_energy **out) {
  *out = NULL;
  ebm_status st = check_factors(dim, mean, rank, u, lambda, sigma2);
  if (st != EBM_OK) return st;
  const size_t D = (size_t)dim, K = (size_t)rank;
  lowrank_gaussian *g = calloc(1, sizeof *g);
  ebm_energy *en = ebm_energy_alloc();
  if (!g || !en || !(g->mean = calloc(D, sizeof *g->mean)) || !(g->u = malloc(D * K * sizeof *g->u)) ||
      !(g->lambda = malloc(K * sizeof *g->lambda)) || !(g->shrink = malloc(K * sizeof *g->shrink)) ||
      !(g->lift = malloc(K * sizeof *g->lift))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for a %zu-dimensional rank-%zu gaussian", D, K);
    goto fail;
  }
  g->dim = dim;
  g->rank = rank;
  g->sigma2 = sigma2;
  if (mean) memcpy(g->mean, mean, D * sizeof *g->mean);
  memcpy(g->u, u, D * K * sizeof *g->u);
  memcpy(g->lambda, lambda, K * sizeof *g->lambda);
  double log_det = (double)(D - K) * log(sigma2);
  for (size_t k = 0; k < K; k++) {
    g->shrink[k] = 1.0 / lambda[k] - 1.0 / sigma2;
    g->lift[k] = sqrt(lambda[k]) - sqrt(sigma2);
    log_det += log(lambda[k]);
  }
  g->log_z = 0.5 * (double)D * LOG_2PI + 0.5 * log_det;
  snprintf(g->name, sizeof g->name, "gaussian:%zu (rank %zu)", D, K);
  en->name = g->name;
  en->item_ndim = 1;
  en->item_shape[0] = dim;
  en->eval = lowrank_eval;
  en->destroy = lowrank_destroy;
  en->draw = lowrank_draw;
  en->self = g;
  *out = en;
  return EBM_OK;
fail:
  lowrank_destroy(g);
  ebm_energy_free(en);
  return st;
}

ebm_status ebm_gaussian_lowrank_factors(const ebm_energy *en, int64_t *rank, const double **mean, const double **u,
                                        const double **lambda, double *sigma2) {
  if (!gaussian_lowrank_is(en))
    return ebm_set_error(EBM_ERR_ARG, "%s is not a low-rank gaussian energy", en ? en->name : "(null)");
  const lowrank_gaussian *g = en->self;
  *rank = g->rank;
  *mean = g->mean;
  *u = g->u;
  *lambda = g->lambda;
  *sigma2 = g->sigma2;
  return EBM_OK;
}


double gaussian_lowrank_log_z(const ebm_energy *en) { return ((const lowrank_gaussian *)en->self)->log_z; }
