/* Exact 2-D likelihoods by quadrature (see ebm/grid_nll.h): log Z of an
 * energy by the midpoint rule over a box, the test NLL of a trained model,
 * and its normalised density on a grid for pictures. The grid is evaluated
 * in chunks of CHUNK points, so memory stays small at any resolution. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"
#include "ebm/grid_nll.h"

#define CHUNK 8192
#define MAX_CELLS 8192

static ebm_status check_args(const ebm_energy *en, int32_t label, double extent, int cells) {
  if (en->item_ndim != 1 || en->item_shape[0] != 2)
    return ebm_set_error(EBM_ERR_SHAPE, "%s: exact likelihoods need a 2-D energy, this one takes %lld values",
                         en->name, (long long)ebm_energy_item_size(en));
  if (!(extent > 0) || !isfinite(extent))
    return ebm_set_error(EBM_ERR_ARG, "grid: extent must be > 0, got %g", extent);
  if (cells < 2 || cells > MAX_CELLS)
    return ebm_set_error(EBM_ERR_ARG, "grid: cells must be in 2..%d, got %d", MAX_CELLS, cells);
  if (en->num_classes > 0 && (label < -1 || label >= en->num_classes))
    return ebm_set_error(EBM_ERR_ARG, "%s: class %d is not in 0..%d", en->name, label, en->num_classes - 1);
  if (en->num_classes == 0 && label != -1)
    return ebm_set_error(EBM_ERR_ARG, "%s is unconditional: no class %d", en->name, label);
  return EBM_OK;
}

/* The centre of cell k (row-major from the top-left). */
static void cell_centre(int64_t k, int cells, double extent, float *p) {
  const double h = 2.0 * extent / cells;
  p[0] = (float)(-extent + ((double)(k % cells) + 0.5) * h);
  p[1] = (float)(extent - ((double)(k / cells) + 0.5) * h);
}

/* E(c_k, label) for every cell into e (cells² values). */
static ebm_status grid_energies(const ebm_energy *en, int32_t label, double extent, int cells, double *e) {
  const int64_t total = (int64_t)cells * cells;
  ebm_status st = EBM_OK;
  float *pts = malloc((size_t)CHUNK * 2 * sizeof *pts), *ev = malloc((size_t)CHUNK * sizeof *ev);
  int32_t *y = en->num_classes > 0 ? malloc((size_t)CHUNK * sizeof *y) : NULL;
  if (!pts || !ev || (en->num_classes > 0 && !y)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory evaluating a %dx%d grid", cells, cells);
    goto done;
  }
  for (int64_t i = 0; y && i < CHUNK; i++) y[i] = label;
  for (int64_t k0 = 0; k0 < total; k0 += CHUNK) {
    int64_t m = total - k0 < CHUNK ? total - k0 : CHUNK;
    for (int64_t i = 0; i < m; i++) cell_centre(k0 + i, cells, extent, pts + 2 * i);
    if ((st = ebm_energy_eval(en, pts, &(ebm_cond){.labels = y}, m, ev, NULL)) != EBM_OK) goto done;
    for (int64_t i = 0; i < m; i++) {
      if (!isfinite(ev[i])) {
        st = ebm_set_error(EBM_ERR_NUMERIC, "%s: energy %g at (%g, %g) is not finite", en->name,
                           (double)ev[i], (double)pts[2 * i], (double)pts[2 * i + 1]);
        goto done;
      }
      e[k0 + i] = ev[i];
    }
  }
done:
  free(pts);
  free(ev);
  free(y);
  return st;
}

static double log_add_exp(double a, double b) {
  if (a == -INFINITY) return b;
  if (b == -INFINITY) return a;
  return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* log Σ exp(−e_k) + 2 log h, max factored out. */
static double log_z_of(const double *e, int64_t total, double extent, int cells) {
  double emin = INFINITY, s = 0.0;
  for (int64_t k = 0; k < total; k++) emin = e[k] < emin ? e[k] : emin;
  for (int64_t k = 0; k < total; k++) s += exp(-(e[k] - emin));
  return -emin + log(s) + 2.0 * log(2.0 * extent / cells);
}

ebm_status ebm_grid_log_z(const ebm_energy *en, int32_t label, double extent, int cells,
                          double *log_z) {
  ebm_status st = check_args(en, label, extent, cells);
  if (st != EBM_OK) return st;
  if (en->num_classes > 0 && label < 0)
    return ebm_set_error(EBM_ERR_ARG, "%s is conditional: log Z needs a class", en->name);
  const int64_t total = (int64_t)cells * cells;
  double *e = malloc((size_t)total * sizeof *e);
  if (!e) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a %dx%d grid", cells, cells);
  if ((st = grid_energies(en, label, extent, cells, e)) == EBM_OK) *log_z = log_z_of(e, total, extent, cells);
  free(e);
  return st;
}

ebm_status ebm_grid_nll(const ebm_energy *en, const float *x, const int32_t *y, int64_t n,
                        double extent, int cells, double *nll, double *log_z) {
  ebm_status st = check_args(en, -1 + (en->num_classes > 0), extent, cells);
  if (st != EBM_OK) return st;
  if (n < 1) return ebm_set_error(EBM_ERR_ARG, "grid NLL: no points");
  const int K = en->num_classes > 0 ? en->num_classes : 1;
  double *lz = calloc((size_t)K, sizeof *lz), *prior = calloc((size_t)K, sizeof *prior);
  double *lp = calloc((size_t)n, sizeof *lp);
  float *e = malloc((size_t)n * sizeof *e);
  int32_t *yy = en->num_classes > 0 ? malloc((size_t)n * sizeof *yy) : NULL;
  if (!lz || !prior || !lp || !e || (en->num_classes > 0 && !yy)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for the NLL of %lld points", (long long)n);
    goto done;
  }
  if (en->num_classes > 0) {
    for (int64_t i = 0; i < n; i++) {
      if (y && (y[i] < 0 || y[i] >= K)) {
        st = ebm_set_error(EBM_ERR_ARG, "grid NLL: label %d of point %lld is not in 0..%d", y[i], (long long)i, K - 1);
        goto done;
      }
      prior[y ? y[i] : 0] += 1.0 / (double)n;
    }
    if (!y)
      for (int c = 0; c < K; c++) prior[c] = 1.0 / K;
  } else {
    prior[0] = 1.0;
  }
  for (int64_t i = 0; i < n; i++) lp[i] = -INFINITY;
  for (int c = 0; c < K; c++) {
    int32_t label = en->num_classes > 0 ? c : -1;
    if (prior[c] == 0.0) continue; /* a class without test points does not count */
    if ((st = ebm_grid_log_z(en, label, extent, cells, &lz[c])) != EBM_OK) goto done;
    for (int64_t i = 0; yy && i < n; i++) yy[i] = c;
    if ((st = ebm_energy_eval(en, x, &(ebm_cond){.labels = yy}, n, e, NULL)) != EBM_OK) goto done;
    /* accumulate log Σ_c π_c exp(−E_c − log Z_c) point by point */
    for (int64_t i = 0; i < n; i++) lp[i] = log_add_exp(lp[i], log(prior[c]) - (double)e[i] - lz[c]);
  }
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) {
    int inside = fabs((double)x[2 * i]) <= extent && fabs((double)x[2 * i + 1]) <= extent;
    s += inside ? -lp[i] : INFINITY;
  }
  *nll = s / (double)n;
  if (log_z) memcpy(log_z, lz, (size_t)K * sizeof *lz);
done:
  free(lz);
  free(prior);
  free(lp);
  free(e);
  free(yy);
  return st;
}

ebm_status ebm_grid_density(const ebm_energy *en, int32_t label, double extent, int cells,
                            double *density) {
  ebm_status st = check_args(en, label, extent, cells);
  if (st != EBM_OK) return st;
  const int64_t total = (int64_t)cells * cells;
  const int marginal = en->num_classes > 0 && label < 0;
  const int first = marginal ? 0 : label, last = marginal ? en->num_classes - 1 : label;
  double *e = malloc((size_t)total * sizeof *e);
  if (!e) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a %dx%d grid", cells, cells);
  memset(density, 0, (size_t)total * sizeof *density);
  for (int c = first; c <= last; c++) {
    if ((st = grid_energies(en, c, extent, cells, e)) != EBM_OK) break;
    double lz = log_z_of(e, total, extent, cells), w = marginal ? 1.0 / en->num_classes : 1.0;
    for (int64_t k = 0; k < total; k++) density[k] += w * exp(-e[k] - lz);
  }
  free(e);
  return st;
}

ebm_status ebm_grid_toy_density(ebm_toy toy, double extent, int cells, double *density) {
  if (!(extent > 0) || cells < 2 || cells > MAX_CELLS)
    return ebm_set_error(EBM_ERR_ARG, "grid: extent must be > 0 and cells in 2..%d", MAX_CELLS);
  const int64_t total = (int64_t)cells * cells;
  double *pts = malloc((size_t)total * 2 * sizeof *pts);
  if (!pts) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a %dx%d grid", cells, cells);
  for (int64_t k = 0; k < total; k++) {
    float p[2];
    cell_centre(k, cells, extent, p);
    pts[2 * k] = p[0];
    pts[2 * k + 1] = p[1];
  }
  ebm_status st = ebm_toy_log_density(toy, pts, total, density);
  for (int64_t k = 0; st == EBM_OK && k < total; k++) density[k] = exp(density[k]);
  free(pts);
  return st;
}
