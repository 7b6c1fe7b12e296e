/* A Gaussian mixture with full covariances fitted to a set of vectors by
 * expectation-maximisation, and exact draws from it.
 *
 * What it is for: ex-post density estimation (Ghosh, Sajjadi, Vergari,
 * Black & Schölkopf, "From variational to deterministic autoencoders",
 * ICLR 2020, §4): a generator trained on latents inferred from the data
 * (latent-ebm's posterior chains) is sampled from a density fitted to
 * those latents, not from the N(0, I) it was never trained to decode.
 *
 * The fit (Bishop, PRML §9.2.2):
 *   start   k-means++ seeding (Arthur & Vassilvitskii 2007) of the means from
 *           the seed's rng, every covariance the data's own, weights 1/K;
 *           or, with kmeans_iters > 0, that many Lloyd steps from the seeds
 *           and then one M step on the hard clusters (PRML §9.3.2: k-means
 *           is EM's usual start);
 *   E step  r_ij ∝ w_j N(x_i; μ_j, Σ_j), by log-sum-exp over j, with
 *           log N from the Cholesky factor (solve L y = x − μ);
 *   M step  N_j = Σ_i r_ij, w_j = N_j/n, μ_j = Σ_i r_ij x_i / N_j,
 *           Σ_j = Σ_i r_ij (x_i − μ_j)(x_i − μ_j)ᵀ / N_j + ρ I,
 *           ρ = reg × (the data's mean variance, trace Σ_data / D): a
 *           component with fewer points than dimensions stays positive
 *           definite, and a collapsing one cannot make the likelihood
 *           infinite. A component with N_j below one point keeps its
 *           previous mean and covariance with its tiny weight.
 *   stop    when the mean log-likelihood gains less than 1e-7 (relative)
 *           or after max_iters steps.
 * Everything is in double, in a fixed order, on one thread: the same data
 * and seed give the same mixture bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample/gaussian_internal.h"

#define LOG_2PI 1.8378770664093453

struct ebm_gmm {
  int64_t k, dim;
  double *weight;   /* (K) */
  double *mean;     /* (K, D) */
  double *chol;     /* (K, D, D) lower Cholesky factors of Σ_j */
  double *log_norm; /* (K) −D/2 log 2π − ½ log det Σ_j */
  double log_lik;   /* the fit's mean log-likelihood per item */
  int iters;        /* EM steps taken */
};

void ebm_gmm_free(ebm_gmm *g) {
  if (!g) return;
  free(g->weight);
  free(g->mean);
  free(g->chol);
  free(g->log_norm);
  free(g);
}

int64_t ebm_gmm_components(const ebm_gmm *g) { return g->k; }
int64_t ebm_gmm_dim(const ebm_gmm *g) { return g->dim; }
double ebm_gmm_log_likelihood(const ebm_gmm *g) { return g->log_lik; }
int ebm_gmm_iterations(const ebm_gmm *g) { return g->iters; }

ebm_status ebm_gmm_component(const ebm_gmm *g, int64_t j, double *weight, double *mean, double *cov) {
  if (j < 0 || j >= g->k)
    return ebm_set_error(EBM_ERR_ARG, "gaussian mixture: component %lld of %lld", (long long)j, (long long)g->k);
  const int64_t D = g->dim;
  const double *l = g->chol + j * D * D;
  if (weight) *weight = g->weight[j];
  if (mean) memcpy(mean, g->mean + j * D, (size_t)D * sizeof *mean);
  if (cov)
    for (int64_t r = 0; r < D; r++)
      for (int64_t c = 0; c < D; c++) {
        double s = 0;
        for (int64_t q = 0; q <= (r < c ? r : c); q++) s += l[r * D + q] * l[c * D + q];
        cov[r * D + c] = s;
      }
  return EBM_OK;
}

/* log N(x; μ_j, Σ_j) from the factor: −½‖L⁻¹(x − μ)‖² + log_norm. y is D scratch. */
static double component_log_density(const ebm_gmm *g, int64_t j, const float *x, double *y) {
  const int64_t D = g->dim;
  const double *l = g->chol + j * D * D, *mu = g->mean + j * D;
  double q = 0;
  for (int64_t r = 0; r < D; r++) {
    double s = (double)x[r] - mu[r];
    for (int64_t c = 0; c < r; c++) s -= l[r * D + c] * y[c];
    y[r] = s / l[r * D + r];
    q += y[r] * y[r];
  }
  return g->log_norm[j] - 0.5 * q;
}

/* Factors Σ_j (in g->chol, lower triangle; the upper is cleared) and sets
 * its log_norm; EBM_ERR_NUMERIC if it is not positive definite. */
static ebm_status factor_component(ebm_gmm *g, int64_t j) {
  const int64_t D = g->dim;
  double *l = g->chol + j * D * D;
  const int64_t bad = gaussian_cholesky(l, D);
  if (bad >= 0)
    return ebm_set_error(EBM_ERR_NUMERIC, "gaussian mixture: component %lld's covariance is not positive definite "
                         "(pivot %lld); a larger reg would keep it so", (long long)j, (long long)bad);
  double log_det = 0;
  for (int64_t r = 0; r < D; r++) {
    log_det += 2.0 * log(l[r * D + r]);
    for (int64_t c = r + 1; c < D; c++) l[r * D + c] = 0.0;
  }
  g->log_norm[j] = -0.5 * (double)D * LOG_2PI - 0.5 * log_det;
  return EBM_OK;
}

/* k-means++: the first mean a uniform item, each next an item drawn with
 * probability ∝ its squared distance to the nearest mean so far. d2 is n scratch. */
static void seed_means(ebm_gmm *g, const float *x, int64_t n, ebm_rng *rng, double *d2) {
  const int64_t D = g->dim;
  for (int64_t j = 0; j < g->k; j++) {
    int64_t pick = 0;
    if (j == 0) {
      pick = (int64_t)(ebm_rng_double(rng) * (double)n);
    } else {
      double total = 0;
      for (int64_t i = 0; i < n; i++) total += d2[i];
      double u = ebm_rng_double(rng) * total, acc = 0;
      pick = n - 1;
      for (int64_t i = 0; i < n; i++) {
        acc += d2[i];
        if (u < acc) {
          pick = i;
          break;
        }
      }
    }
    if (pick >= n) pick = n - 1;
    double *mu = g->mean + j * D;
    for (int64_t c = 0; c < D; c++) mu[c] = x[pick * D + c];
    for (int64_t i = 0; i < n; i++) {
      double s = 0;
      for (int64_t c = 0; c < D; c++) s += ((double)x[i * D + c] - mu[c]) * ((double)x[i * D + c] - mu[c]);
      if (j == 0 || s < d2[i]) d2[i] = s;
    }
  }
}

/* Lloyd's k-means from the seeded means, at most `iters` steps (it stops
 * when no item changes cluster), then resp (n, K) set to the hard
 * clusters, for an M step. An emptied cluster keeps its mean. */
static void kmeans(ebm_gmm *g, const float *x, int64_t n, int iters, double *resp) {
  const int64_t K = g->k, D = g->dim;
  memset(resp, 0, (size_t)(n * K) * sizeof *resp);
  for (int it = 0; it < iters; it++) {
    int changed = 0;
    for (int64_t i = 0; i < n; i++) {
      int64_t best = 0, was = -1;
      double best_d = INFINITY;
      for (int64_t j = 0; j < K; j++) {
        if (resp[i * K + j] != 0) was = j;
        double s = 0;
        for (int64_t c = 0; c < D; c++) {
          const double d = (double)x[i * D + c] - g->mean[j * D + c];
          s += d * d;
        }
        if (s < best_d) best_d = s, best = j;
      }
      if (was != best) {
        changed = 1;
        if (was >= 0) resp[i * K + was] = 0;
        resp[i * K + best] = 1;
      }
    }
    if (!changed) break;
    for (int64_t j = 0; j < K; j++) {
      double nj = 0;
      for (int64_t i = 0; i < n; i++) nj += resp[i * K + j];
      if (nj == 0) continue;
      double *mu = g->mean + j * D;
      memset(mu, 0, (size_t)D * sizeof *mu);
      for (int64_t i = 0; i < n; i++)
        if (resp[i * K + j] != 0)
          for (int64_t c = 0; c < D; c++) mu[c] += x[i * D + c];
      for (int64_t c = 0; c < D; c++) mu[c] /= nj;
    }
  }
}

/* E step: resp (n, K) and the mean log-likelihood. y is D scratch. */
static double e_step(const ebm_gmm *g, const float *x, int64_t n, double *resp, double *y) {
  const int64_t K = g->k, D = g->dim;
  double total = 0;
  for (int64_t i = 0; i < n; i++) {
    double *r = resp + i * K, top = -INFINITY;
    for (int64_t j = 0; j < K; j++) {
      r[j] = g->weight[j] > 0 ? log(g->weight[j]) + component_log_density(g, j, x + i * D, y) : -INFINITY;
      if (r[j] > top) top = r[j];
    }
    double s = 0;
    for (int64_t j = 0; j < K; j++) s += (r[j] = exp(r[j] - top));
    for (int64_t j = 0; j < K; j++) r[j] /= s;
    total += top + log(s);
  }
  return total / (double)n;
}

/* M step from resp; ridge ρ on every diagonal. */
static ebm_status m_step(ebm_gmm *g, const float *x, int64_t n, const double *resp, double ridge) {
  const int64_t K = g->k, D = g->dim;
  for (int64_t j = 0; j < K; j++) {
    double nj = 0;
    for (int64_t i = 0; i < n; i++) nj += resp[i * K + j];
    g->weight[j] = nj / (double)n;
    if (nj < 1.0) continue; /* an empty component keeps its shape; its weight fades */
    double *mu = g->mean + j * D, *cov = g->chol + j * D * D;
    memset(mu, 0, (size_t)D * sizeof *mu);
    for (int64_t i = 0; i < n; i++)
      for (int64_t c = 0; c < D; c++) mu[c] += resp[i * K + j] * x[i * D + c];
    for (int64_t c = 0; c < D; c++) mu[c] /= nj;
    memset(cov, 0, (size_t)(D * D) * sizeof *cov);
    for (int64_t i = 0; i < n; i++) {
      const double rij = resp[i * K + j];
      if (rij == 0) continue;
      for (int64_t r = 0; r < D; r++) {
        const double dr = rij * ((double)x[i * D + r] - mu[r]);
        for (int64_t c = 0; c <= r; c++) cov[r * D + c] += dr * ((double)x[i * D + c] - mu[c]);
      }
    }
    for (int64_t r = 0; r < D; r++) {
      for (int64_t c = 0; c <= r; c++) cov[r * D + c] /= nj;
      cov[r * D + r] += ridge;
    }
    ebm_status st = factor_component(g, j);
    if (st != EBM_OK) return st;
  }
  return EBM_OK;
}

ebm_status ebm_gmm_fit(const float *x, int64_t n, int64_t dim, const ebm_gmm_config *cfg, ebm_gmm **out) {
  *out = NULL;
  const int64_t K = cfg->components;
  if (K < 1 || dim < 1 || n < 2 * K || cfg->max_iters < 1 || !(cfg->reg > 0) || dim > 4096 || cfg->kmeans_iters < 0)
    return ebm_set_error(EBM_ERR_ARG, "gaussian mixture: needs 1 <= K, at least 2 items per component, dimension "
                         "1..4096, max_iters >= 1, reg > 0 and kmeans_iters >= 0; got K %lld, %lld items of "
                         "dimension %lld, max_iters %d, reg %g, kmeans_iters %d", (long long)K, (long long)n,
                         (long long)dim, cfg->max_iters, (double)cfg->reg, cfg->kmeans_iters);
  for (int64_t i = 0; i < n * dim; i++)
    if (!isfinite(x[i]))
      return ebm_set_error(EBM_ERR_ARG, "gaussian mixture: item %lld, value %lld is %g; the data must be finite",
                           (long long)(i / dim), (long long)(i % dim), (double)x[i]);
  const int64_t D = dim;
  ebm_status st = EBM_OK;
  ebm_gmm *g = calloc(1, sizeof *g);
  double *resp = NULL, *y = NULL, *d2 = NULL, *gmean = NULL;
  if (!g) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a gaussian mixture");
  g->k = K;
  g->dim = D;
  g->weight = calloc((size_t)K, sizeof *g->weight);
  g->mean = calloc((size_t)(K * D), sizeof *g->mean);
  g->chol = calloc((size_t)(K * D * D), sizeof *g->chol);
  g->log_norm = calloc((size_t)K, sizeof *g->log_norm);
  resp = calloc((size_t)(n * K), sizeof *resp);
  y = calloc((size_t)D, sizeof *y);
  d2 = calloc((size_t)n, sizeof *d2);
  gmean = calloc((size_t)D, sizeof *gmean);
  if (!g->weight || !g->mean || !g->chol || !g->log_norm || !resp || !y || !d2 || !gmean) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory fitting a %lld-component gaussian mixture to %lld items of %lld",
                       (long long)K, (long long)n, (long long)D);
    goto fail;
  }
  /* the data's covariance: every component's start, and the ridge's scale */
  gaussian_fit_mean(x, n, n, D, gmean);
  double *c0 = g->chol; /* component 0's slot as scratch, then copied to all */
  for (int64_t i = 0; i < n; i++)
    for (int64_t r = 0; r < D; r++) {
      const double dr = (double)x[i * D + r] - gmean[r];
      for (int64_t c = 0; c <= r; c++) c0[r * D + c] += dr * ((double)x[i * D + c] - gmean[c]);
    }
  double trace = 0;
  for (int64_t r = 0; r < D; r++) {
    for (int64_t c = 0; c <= r; c++) c0[r * D + c] /= (double)n;
    trace += c0[r * D + r];
  }
  const double ridge = cfg->reg * (trace > 0 ? trace / (double)D : 1.0);
  for (int64_t r = 0; r < D; r++) c0[r * D + r] += ridge;
  for (int64_t j = 1; j < K; j++) memcpy(g->chol + j * D * D, c0, (size_t)(D * D) * sizeof *c0);
  for (int64_t j = 0; j < K; j++) {
    g->weight[j] = 1.0 / (double)K;
    if ((st = factor_component(g, j)) != EBM_OK) goto fail;
  }
  ebm_rng rng;
  ebm_rng_init(&rng, cfg->seed);
  seed_means(g, x, n, &rng, d2);
  if (cfg->kmeans_iters > 0) {
    kmeans(g, x, n, cfg->kmeans_iters, resp);
    if ((st = m_step(g, x, n, resp, ridge)) != EBM_OK) goto fail;
  }

  double prev = -INFINITY;
  for (g->iters = 0; g->iters < cfg->max_iters; g->iters++) {
    const double ll = e_step(g, x, n, resp, y);
    g->log_lik = ll;
    if (isfinite(prev) && ll - prev <= 1e-7 * fabs(ll)) break;
    prev = ll;
    if ((st = m_step(g, x, n, resp, ridge)) != EBM_OK) goto fail;
  }
  g->log_lik = e_step(g, x, n, resp, y);
  *out = g;
  g = NULL;
fail:
  ebm_gmm_free(g);
  free(resp);
  free(y);
  free(d2);
  free(gmean);
  return st;
}

ebm_status ebm_gmm_sample(const ebm_gmm *g, ebm_rng *rng, int64_t n, float *x) {
  const int64_t K = g->k, D = g->dim;
  double *e = malloc((size_t)D * sizeof *e);
  if (!e) return ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing from a gaussian mixture");
  for (int64_t i = 0; i < n; i++) {
    /* the component by its weight (the last one takes the rounding), then μ + Lε */
    double u = ebm_rng_double(rng), acc = 0;
    int64_t j = K - 1;
    for (int64_t q = 0; q < K; q++) {
      acc += g->weight[q];
      if (u < acc) {
        j = q;
        break;
      }
    }
    const double *l = g->chol + j * D * D, *mu = g->mean + j * D;
    for (int64_t c = 0; c < D; c++) e[c] = ebm_rng_gauss(rng);
    for (int64_t r = 0; r < D; r++) {
      double s = mu[r];
      for (int64_t c = 0; c <= r; c++) s += l[r * D + c] * e[c];
      x[i * D + r] = (float)s;
    }
  }
  free(e);
  return EBM_OK;
}

/* log p(c) and ∂log p/∂c = −Σ_j r_j Σ_j⁻¹(c − μ_j), r_j the responsibilities,
 * from each component's factor: y = L⁻¹(c − μ_j) forward, then Lᵀs = y back
 * for s = Σ_j⁻¹(c − μ_j). scratch: K·(D + 1) doubles. */
double gmm_log_density_grad(const ebm_gmm *g, const double *c, double *grad, double *scratch) {
  const int64_t K = g->k, D = g->dim;
  double *logp = scratch, *solved = scratch + K, top = -INFINITY;
  for (int64_t j = 0; j < K; j++) {
    const double *l = g->chol + j * D * D, *mu = g->mean + j * D;
    double *y = solved + j * D, q = 0;
    for (int64_t r = 0; r < D; r++) {
      double s = c[r] - mu[r];
      for (int64_t t = 0; t < r; t++) s -= l[r * D + t] * y[t];
      y[r] = s / l[r * D + r];
      q += y[r] * y[r];
    }
    for (int64_t r = D - 1; grad && r >= 0; r--) { /* in place: y becomes Σ_j⁻¹(c − μ_j) */
      double s = y[r];
      for (int64_t t = r + 1; t < D; t++) s -= l[t * D + r] * y[t];
      y[r] = s / l[r * D + r];
    }
    logp[j] = g->weight[j] > 0 ? log(g->weight[j]) + g->log_norm[j] - 0.5 * q : -INFINITY;
    if (logp[j] > top) top = logp[j];
  }
  double sum = 0;
  for (int64_t j = 0; j < K; j++) sum += exp(logp[j] - top);
  const double log_p = top + log(sum);
  if (grad) {
    memset(grad, 0, (size_t)D * sizeof *grad);
    for (int64_t j = 0; j < K; j++) {
      const double r = exp(logp[j] - log_p);
      for (int64_t t = 0; t < D; t++) grad[t] -= r * solved[j * D + t];
    }
  }
  return log_p;
}
