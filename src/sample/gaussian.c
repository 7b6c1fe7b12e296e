/* An analytic Gaussian energy E(x) = ½(x−μ)ᵀΣ⁻¹(x−μ): the known answer the
 * sampler tests check against, and a base distribution for annealing.
 * Σ is factored once (Cholesky, in double); eval applies the precision
 * matrix P = Σ⁻¹ = L⁻ᵀL⁻¹ per item, in double, with no scratch memory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample/gaussian_internal.h"

#define LOG_2PI 1.8378770664093454836

typedef struct {
  int64_t dim;
  int diagonal;     /* P is diagonal: O(D) per item instead of O(D²) */
  double *mean;     /* D */
  double *prec;     /* D×D, row-major */
  double *chol;     /* D×D lower-triangular L with Σ = LLᵀ (NULL: Σ = I), for sampling */
  double log_z;     /* D/2·log 2π + ½ log det Σ */
  char name[48];
} gaussian_energy;

typedef struct {
  const gaussian_energy *g;
  const float *x;
  float *e, *grad;
} gaussian_job;

/* x is (n, D); e is (n); grad, if not NULL, is (n, D). */
static void gaussian_items(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const gaussian_job *j = ctx;
  const gaussian_energy *g = j->g;
  const int64_t D = g->dim;
  for (int64_t i = begin; i < end; i++) {
    const float *x = j->x + i * D;
    double quad = 0.0;
    for (int64_t r = 0; r < D; r++) {
      double pr;
      if (g->diagonal) {
        pr = g->prec[r * D + r] * ((double)x[r] - g->mean[r]);
      } else {
        const double *row = g->prec + r * D;
        pr = 0.0;
        for (int64_t c = 0; c < D; c++) pr += row[c] * ((double)x[c] - g->mean[c]);
      }
      quad += ((double)x[r] - g->mean[r]) * pr;
      if (j->grad) j->grad[i * D + r] = (float)pr;
    }
    j->e[i] = (float)(0.5 * quad);
  }
}

static ebm_status gaussian_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                                float *grad) {
  (void)cond;
  const gaussian_energy *g = self;
  gaussian_job job = {g, x, e, grad};
  int64_t cost = g->diagonal ? g->dim : g->dim * g->dim;
  int64_t min_chunk = cost < 65536 ? 65536 / cost : 1;
  ebm_parallel_for(n, min_chunk, gaussian_items, &job);
  return EBM_OK;
}

static void gaussian_destroy(void *self) {
  gaussian_energy *g = self;
  if (!g) return;
  free(g->mean);
  free(g->prec);
  free(g->chol);
  free(g);
}

/* The full-covariance Gaussian's draw (ebm_energy.draw). */
static ebm_status gaussian_draw(void *self, ebm_rng *rng, int64_t n, float *x) {
  const gaussian_energy *g = self;
  const int64_t D = g->dim;
  for (int64_t i = 0; i < n; i++) {
    float *xi = x + i * D;
    ebm_rng_normal(rng, xi, D, 0.0f, 1.0f); /* z, then x = μ + Lz from the last row up */
    for (int64_t r = D - 1; r >= 0; r--) {
      double v = g->mean[r];
      if (g->chol)
        for (int64_t c = 0; c <= r; c++) v += g->chol[r * D + c] * xi[c];
      else
        v += xi[r];
      xi[r] = (float)v;
    }
  }
  return EBM_OK;
}

int64_t gaussian_cholesky(double *a, int64_t D) {
  for (int64_t j = 0; j < D; j++) {
    double d = a[j * D + j];
    for (int64_t k = 0; k < j; k++) d -= a[j * D + k] * a[j * D + k];
    if (!(d > 0.0)) return j;
    double ljj = sqrt(d);
    a[j * D + j] = ljj;
    for (int64_t i = j + 1; i < D; i++) {
      double s = a[i * D + j];
      for (int64_t k = 0; k < j; k++) s -= a[i * D + k] * a[j * D + k];
      a[i * D + j] = s / ljj;
    }
  }
  return -1;
}

/* P = L⁻ᵀL⁻¹ from the Cholesky factor in the lower triangle of l.
 * linv (D×D) is scratch for L⁻¹. */
static void precision_from_cholesky(const double *l, int64_t D, double *linv, double *prec) {
  memset(linv, 0, (size_t)(D * D) * sizeof *linv);
  for (int64_t c = 0; c < D; c++) { /* column c of L⁻¹ by forward substitution */
    for (int64_t r = c; r < D; r++) {
      double s = r == c ? 1.0 : 0.0;
      for (int64_t k = c; k < r; k++) s -= l[r * D + k] * linv[k * D + c];
      linv[r * D + c] = s / l[r * D + r];
    }
  }
  for (int64_t r = 0; r < D; r++)
    for (int64_t c = 0; c < D; c++) {
      double s = 0.0;
      for (int64_t k = r > c ? r : c; k < D; k++) s += linv[k * D + r] * linv[k * D + c];
      prec[r * D + c] = s;
    }
}

ebm_status ebm_gaussian_energy_new(int64_t dim, const double *mean, const double *cov,
                                   ebm_energy **out) {
  ebm_status st = EBM_OK;
  gaussian_energy *g = NULL;
  double *l = NULL, *linv = NULL;
  ebm_energy *en = NULL;
  *out = NULL;
  if (dim < 1 || dim > 46340) /* D² must fit comfortably */
    return ebm_set_error(EBM_ERR_ARG, "gaussian energy: dimension must be in 1..46340, got %lld",
                         (long long)dim);
  size_t D = (size_t)dim;
  g = calloc(1, sizeof *g);
  if (!g) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a gaussian energy");
    goto fail;
  }
  g->dim = dim;
  g->mean = calloc(D, sizeof *g->mean);
  g->prec = calloc(D * D, sizeof *g->prec);
  if (!g->mean || !g->prec) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for a %zu-dimensional gaussian", D);
    goto fail;
  }
  for (size_t i = 0; i < D; i++) {
    if (mean && !isfinite(mean[i])) {
      st = ebm_set_error(EBM_ERR_ARG, "gaussian energy: mean[%zu] is not finite", i);
      goto fail;
    }
    g->mean[i] = mean ? mean[i] : 0.0;
  }
  g->diagonal = 1;
  if (!cov) {
    for (size_t i = 0; i < D; i++) g->prec[i * D + i] = 1.0;
    g->log_z = 0.5 * (double)D * LOG_2PI;
  } else {
    for (size_t r = 0; r < D; r++)
      for (size_t c = 0; c < D; c++) {
        double a = cov[r * D + c], b = cov[c * D + r];
        if (!isfinite(a) || fabs(a - b) > 1e-9 * (fabs(a) + fabs(b))) {
          st = ebm_set_error(EBM_ERR_ARG, "gaussian energy: cov[%zu][%zu] = %g is %s", r, c, a,
                             isfinite(a) ? "not symmetric" : "not finite");
          goto fail;
        }
        if (r != c && a != 0.0) g->diagonal = 0;
      }
    l = malloc(D * D * sizeof *l);
    linv = malloc(D * D * sizeof *linv);
    if (!l || !linv) {
      st = ebm_set_error(EBM_ERR_NOMEM, "out of memory factoring a %zux%zu covariance", D, D);
      goto fail;
    }
    memcpy(l, cov, D * D * sizeof *l);
    int64_t bad = gaussian_cholesky(l, dim);
    if (bad >= 0) {
      st = ebm_set_error(EBM_ERR_ARG,
                         "gaussian energy: cov is not positive definite (Cholesky pivot %lld)",
                         (long long)bad);
      goto fail;
    }
    double log_det = 0.0;
    for (size_t i = 0; i < D; i++) log_det += 2.0 * log(l[i * D + i]);
    g->log_z = 0.5 * (double)D * LOG_2PI + 0.5 * log_det;
    precision_from_cholesky(l, dim, linv, g->prec);
    for (size_t r = 0; r < D; r++) /* the upper triangle still holds Σ: L is the lower one */
      for (size_t c = r + 1; c < D; c++) l[r * D + c] = 0.0;
    g->chol = l;
    l = NULL;
  }
  snprintf(g->name, sizeof g->name, "gaussian:%lld", (long long)dim);
  en = ebm_energy_alloc();
  if (!en) {
    st = EBM_ERR_NOMEM;
    goto fail;
  }
  en->name = g->name;
  en->item_ndim = 1;
  en->item_shape[0] = dim;
  en->eval = gaussian_eval;
  en->destroy = gaussian_destroy;
  en->draw = gaussian_draw;
  en->self = g;
  *out = en;
  free(l);
  free(linv);
  return EBM_OK;
fail:
  free(l);
  free(linv);
  gaussian_destroy(g);
  return st;
}

ebm_status ebm_gaussian_energy_sample(const ebm_energy *en, ebm_rng *rng, int64_t n, float *x) {
  if (!subspace_mixture_is(en) && !gaussian_lowrank_is(en) && (!en || en->destroy != gaussian_destroy))
    return ebm_set_error(EBM_ERR_ARG, "%s is not a gaussian energy", en ? en->name : "(null)");
  return en->draw(en->self, rng, n, x);
}

ebm_status ebm_gaussian_energy_log_z(const ebm_energy *en, double *log_z) {
  if (subspace_mixture_is(en)) { /* its E is −log p itself */
    *log_z = 0.0;
    return EBM_OK;
  }
  if (gaussian_lowrank_is(en)) {
    *log_z = gaussian_lowrank_log_z(en);
    return EBM_OK;
  }
  if (!en || en->destroy != gaussian_destroy)
    return ebm_set_error(EBM_ERR_ARG, "%s is not a gaussian energy", en ? en->name : "(null)");
  *log_z = ((const gaussian_energy *)en->self)->log_z;
  return EBM_OK;
}

/* ------------------------------------------- conditioning on known values */

/* The factors of the conditional x_m | x_o for one mask (m: the values to
 * draw, o: the known ones): A = Σ_mo Σ_oo⁻¹ (nm × no) and the Cholesky
 * factor C of Σ_mm − A Σ_om (nm × nm), Σ = LLᵀ rebuilt from L. */
typedef struct {
  int64_t nm, no;
  int64_t *mi, *oi;  /* indices */
  double *a, *c;
} gaussian_given;

static void given_free(gaussian_given *gv) {
  free(gv->mi);
  free(gv->a);
  free(gv->c);
  memset(gv, 0, sizeof *gv);
}

/* Σ_ij from the Cholesky factor (lower triangular, D×D). */
static double cov_at(const gaussian_energy *g, int64_t i, int64_t j) {
  const int64_t D = g->dim, k_end = (i < j ? i : j) + 1;
  if (!g->chol) return i == j ? 1.0 : 0.0;
  double s = 0.0;
  for (int64_t k = 0; k < k_end; k++) s += g->chol[i * D + k] * g->chol[j * D + k];
  return s;
}

/* spread 0 needs the conditional mean only: C is then left unbuilt. */
static ebm_status given_build(const gaussian_energy *g, const float *mask, int need_c, gaussian_given *gv) {
  const int64_t D = g->dim;
  ebm_status st = EBM_OK;
  double *soo = NULL, *som = NULL;
  given_free(gv);
  gv->mi = malloc((size_t)D * sizeof *gv->mi);
  if (!gv->mi) return ebm_set_error(EBM_ERR_NOMEM, "out of memory conditioning a %lld-dimensional gaussian", (long long)D);
  int64_t nm = 0, no = 0; /* mi: the m indices, then oi: the o indices, in one array */
  for (int64_t k = 0; k < D; k++)
    if (mask[k] != 0.0f) gv->mi[nm++] = k;
  gv->oi = gv->mi + nm;
  for (int64_t k = 0; k < D; k++)
    if (mask[k] == 0.0f) gv->oi[no++] = k;
  gv->nm = nm;
  gv->no = no;
  gv->a = calloc((size_t)(nm * (no ? no : 1)), sizeof *gv->a);
  gv->c = calloc((size_t)(nm > 0 ? nm * nm : 1), sizeof *gv->c);
  soo = malloc((size_t)(no > 0 ? no * no : 1) * sizeof *soo);
  som = malloc((size_t)(nm * no > 0 ? nm * no : 1) * sizeof *som); /* Σ_o,mᵢ per row i: built once, used twice */
  if (!gv->a || !gv->c || !soo || !som) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory conditioning a %lld-dimensional gaussian", (long long)D);
    goto done;
  }
  for (int64_t r = 0; r < no; r++)
    for (int64_t c = 0; c <= r; c++) soo[r * no + c] = soo[c * no + r] = cov_at(g, gv->oi[r], gv->oi[c]);
  if (no > 0 && gaussian_cholesky(soo, no) >= 0) {
    st = ebm_set_error(EBM_ERR_ARG, "gaussian energy: the known values' covariance is not positive definite");
    goto done;
  }
  for (int64_t i = 0; i < nm; i++)
    for (int64_t r = 0; r < no; r++) som[i * no + r] = cov_at(g, gv->oi[r], gv->mi[i]);
  /* row i of A solves Σ_oo aᵢ = Σ_o,mᵢ: forward then back substitution */
  for (int64_t i = 0; i < nm; i++) {
    double *a = gv->a + i * no;
    for (int64_t r = 0; r < no; r++) {
      double s = som[i * no + r];
      for (int64_t k = 0; k < r; k++) s -= soo[r * no + k] * a[k];
      a[r] = s / soo[r * no + r];
    }
    for (int64_t r = no - 1; r >= 0; r--) {
      double s = a[r];
      for (int64_t k = r + 1; k < no; k++) s -= soo[k * no + r] * a[k];
      a[r] = s / soo[r * no + r];
    }
  }
  if (!need_c) goto done;
  /* Σ_mm − A Σ_om, then its Cholesky factor (lower triangle) */
  for (int64_t i = 0; i < nm; i++)
    for (int64_t j = 0; j <= i; j++) {
      double s = cov_at(g, gv->mi[i], gv->mi[j]);
      for (int64_t k = 0; k < no; k++) s -= gv->a[i * no + k] * som[j * no + k];
      gv->c[i * nm + j] = gv->c[j * nm + i] = s;
    }
  if (nm > 0 && gaussian_cholesky(gv->c, nm) >= 0)
    st = ebm_set_error(EBM_ERR_ARG, "gaussian energy: the conditional covariance is not positive definite");
done:
  free(soo);
  free(som);
  if (st != EBM_OK) given_free(gv);
  return st;
}

ebm_status ebm_gaussian_energy_sample_given(const ebm_energy *en, ebm_rng *rng, int64_t n, const float *known,
                                            const float *mask, float spread, float *x) {
  if (gaussian_lowrank_is(en)) return gaussian_lowrank_sample_given(en, rng, n, known, mask, spread, x);
  if (subspace_mixture_is(en))
    return ebm_set_error(EBM_ERR_ARG, "%s has no draws given known values; start the holes another way (--init "
                         "uniform or gaussian:SPEC)", en->name);
  if (!en || en->destroy != gaussian_destroy)
    return ebm_set_error(EBM_ERR_ARG, "%s is not a gaussian energy", en ? en->name : "(null)");
  const gaussian_energy *g = en->self;
  const int64_t D = g->dim;
  gaussian_given gv = {0};
  const float *built_for = NULL; /* the mask gv was built for: items with the same mask share it */
  double *z = malloc((size_t)D * sizeof *z);
  float *xi_noise = malloc((size_t)D * sizeof *xi_noise);
  ebm_status st = z && xi_noise ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory for a gaussian draw");
  for (int64_t i = 0; st == EBM_OK && i < n; i++) {
    const float *mi = mask + i * D, *ki = known + i * D;
    float *xi = x + i * D;
    if (!built_for || memcmp(built_for, mi, (size_t)D * sizeof *mi) != 0) {
      if ((st = given_build(g, mi, spread != 0.0f, &gv)) != EBM_OK) break;
      built_for = mi;
    }
    memmove(xi, ki, (size_t)D * sizeof *xi);
    if (spread != 0.0f) ebm_rng_normal(rng, xi_noise, gv.nm, 0.0f, spread);
    for (int64_t r = 0; r < gv.nm; r++) { /* μ_m + A(x_o − μ_o) + Cξ */
      double v = g->mean[gv.mi[r]];
      for (int64_t k = 0; k < gv.no; k++) v += gv.a[r * gv.no + k] * ((double)ki[gv.oi[k]] - g->mean[gv.oi[k]]);
      for (int64_t k = 0; spread != 0.0f && k <= r; k++) v += gv.c[r * gv.nm + k] * xi_noise[k];
      z[r] = v;
    }
    for (int64_t r = 0; r < gv.nm; r++) xi[gv.mi[r]] = (float)z[r];
  }
  given_free(&gv);
  free(z);
  free(xi_noise);
  return st;
}
