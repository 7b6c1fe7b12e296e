/* An isotropic Gaussian mixture with many nodes, evaluated exactly and fast:
 * 8gaussians is one with 8 nodes; 2spirals and moons are curves blurred by
 * N(0, σ²I), whose density ∫ g(t) N(x; c(t), σ²) dt becomes one by
 * Gauss–Legendre quadrature along the curve (thousands of nodes).
 *
 * Near a curve only a few hundred nodes matter, so the nodes are bucketed
 * into a uniform grid of cells and visited in square rings of cells around
 * x until every unvisited node is provably negligible: an unvisited node is
 * at distance ≥ D (the distance from x to the visited block), so all of
 * them together contribute at most e^{−D²/(2σ²)} (weights sum to 1), and we
 * stop once that is below e^{−36} (≈ 2e-16) times what was found. The
 * result is the full sum to double precision, also far from the curve (where
 * the ring search simply grows), so energies stay exact everywhere. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/toys.h"

/* Relative size of the neglected tail: e^{-36} ≈ 2.3e-16. */
#define MIX_TAIL_LOG (-36.0)
/* Terms this far below the running maximum are below double precision. */
#define MIX_SKIP_LOG (-40.0)
/* Cells per σ: small cells keep the visited area close to the needed disc. */
#define MIX_CELL_SIGMAS 4.0
/* Grids are not worth it for a handful of nodes. */
#define MIX_MIN_GRID_NODES 64

struct gauss_mixture {
  double sigma, inv_two_var, log_norm; /* log_norm = −log(2πσ²) */
  int64_t count;
  double *cx, *cy, *logw;              /* sorted by cell */
  double logw_max;
  double x0, y0, cell;
  int nx, ny;
  int64_t *cell_start;                 /* nx·ny + 1 offsets into the nodes */
};

void gauss_mixture_free(gauss_mixture *g) {
  if (!g) return;
  free(g->cx);
  free(g->cy);
  free(g->logw);
  free(g->cell_start);
  free(g);
}

static int clamp_index(double v, int n) {
  if (!(v > 0)) return 0; /* also NaN */
  if (v >= n - 1) return n - 1;
  return (int)v;
}

static int64_t cell_of(const gauss_mixture *g, double x, double y) {
  int i = clamp_index(floor((x - g->x0) / g->cell), g->nx);
  int j = clamp_index(floor((y - g->y0) / g->cell), g->ny);
  return (int64_t)j * g->nx + i;
}

ebm_status gauss_mixture_new(int64_t n, const double *cx, const double *cy, const double *w,
                             double sigma, gauss_mixture **out) {
  *out = NULL;
  int64_t *cell_id = NULL;
  gauss_mixture *g = calloc(1, sizeof *g);
  if (!g || n <= 0) goto fail;
  g->sigma = sigma;
  g->inv_two_var = 1.0 / (2.0 * sigma * sigma);
  g->log_norm = -log(2.0 * TOY_PI * sigma * sigma);
  g->count = n;
  double lo_x = cx[0], hi_x = cx[0], lo_y = cy[0], hi_y = cy[0];
  for (int64_t j = 1; j < n; j++) {
    lo_x = fmin(lo_x, cx[j]), hi_x = fmax(hi_x, cx[j]);
    lo_y = fmin(lo_y, cy[j]), hi_y = fmax(hi_y, cy[j]);
  }
  g->x0 = lo_x, g->y0 = lo_y;
  if (n < MIX_MIN_GRID_NODES) {
    g->cell = fmax(hi_x - lo_x, hi_y - lo_y) + 1.0;
    g->nx = g->ny = 1;
  } else {
    g->cell = MIX_CELL_SIGMAS * sigma;
    g->nx = (int)floor((hi_x - lo_x) / g->cell) + 1;
    g->ny = (int)floor((hi_y - lo_y) / g->cell) + 1;
  }
  int64_t cells = (int64_t)g->nx * g->ny;
  g->cx = malloc((size_t)n * sizeof *g->cx);
  g->cy = malloc((size_t)n * sizeof *g->cy);
  g->logw = malloc((size_t)n * sizeof *g->logw);
  g->cell_start = calloc((size_t)cells + 1, sizeof *g->cell_start);
  cell_id = malloc((size_t)n * sizeof *cell_id);
  if (!g->cx || !g->cy || !g->logw || !g->cell_start || !cell_id) goto fail;
  /* Counting sort by cell. */
  for (int64_t j = 0; j < n; j++) {
    cell_id[j] = cell_of(g, cx[j], cy[j]);
    g->cell_start[cell_id[j] + 1]++;
  }
  for (int64_t c = 0; c < cells; c++) g->cell_start[c + 1] += g->cell_start[c];
  for (int64_t j = 0; j < n; j++) {
    int64_t slot = g->cell_start[cell_id[j]]++;
    g->cx[slot] = cx[j];
    g->cy[slot] = cy[j];
    g->logw[slot] = log(w[j]);
  }
  g->logw_max = -INFINITY;
  for (int64_t j = 0; j < n; j++) g->logw_max = fmax(g->logw_max, g->logw[j]);
  for (int64_t c = cells; c > 0; c--) g->cell_start[c] = g->cell_start[c - 1];
  g->cell_start[0] = 0;
  free(cell_id);
  *out = g;
  return EBM_OK;
fail:
  free(cell_id);
  gauss_mixture_free(g);
  return ebm_set_error(EBM_ERR_NOMEM, "out of memory building a %lld-node toy mixture", (long long)n);
}

/* Running log-sum-exp of a_j = log w_j − |x − c_j|²/(2σ²) with the
 * responsibility-weighted offsets Σ e^{a_j − m} (c_j − x) for ∇ log p. */
typedef struct {
  double m, s, gx, gy;
} lse_acc;

static void add_cell(const gauss_mixture *g, int i, int j, double x, double y, lse_acc *acc) {
  /* Skip the whole cell when even its nearest possible node is negligible
   * (this is what keeps points far from the curve cheap). */
  double lo_x = g->x0 + i * g->cell, lo_y = g->y0 + j * g->cell;
  double dx0 = fmax(0.0, fmax(lo_x - x, x - (lo_x + g->cell)));
  double dy0 = fmax(0.0, fmax(lo_y - y, y - (lo_y + g->cell)));
  if (g->logw_max - (dx0 * dx0 + dy0 * dy0) * g->inv_two_var - acc->m < MIX_SKIP_LOG) return;
  int64_t cell = (int64_t)j * g->nx + i;
  for (int64_t j = g->cell_start[cell]; j < g->cell_start[cell + 1]; j++) {
    double dx = g->cx[j] - x, dy = g->cy[j] - y;
    double a = g->logw[j] - (dx * dx + dy * dy) * g->inv_two_var;
    if (a - acc->m < MIX_SKIP_LOG) continue;
    if (a > acc->m) {
      double r = exp(acc->m - a);
      acc->s *= r, acc->gx *= r, acc->gy *= r;
      acc->m = a;
    }
    double e = exp(a - acc->m);
    acc->s += e;
    acc->gx += e * dx;
    acc->gy += e * dy;
  }
}

void gauss_mixture_eval(const gauss_mixture *g, double x, double y, double *logp, double *grad) {
  if (!isfinite(x) || !isfinite(y)) {
    *logp = NAN;
    if (grad) grad[0] = grad[1] = NAN;
    return;
  }
  lse_acc acc = {-INFINITY, 0.0, 0.0, 0.0};
  int64_t home = cell_of(g, x, y);
  int ci = (int)(home % g->nx), cj = (int)(home / g->nx);
  int max_ring = g->nx > g->ny ? g->nx : g->ny;
  for (int k = 0; k <= max_ring; k++) {
    int i0 = ci - k, i1 = ci + k, j0 = cj - k, j1 = cj + k;
    /* The cells at Chebyshev distance exactly k from the home cell. */
    for (int j = j0 > 0 ? j0 : 0; j <= j1 && j < g->ny; j++) {
      if (j == j0 || j == j1) {
        for (int i = i0 > 0 ? i0 : 0; i <= i1 && i < g->nx; i++) add_cell(g, i, j, x, y, &acc);
      } else {
        if (i0 >= 0) add_cell(g, i0, j, x, y, &acc);
        if (i1 < g->nx) add_cell(g, i1, j, x, y, &acc);
      }
    }
    /* Distance from x to the nearest cell not yet visited. */
    double d = INFINITY;
    if (i0 > 0) d = fmin(d, x - (g->x0 + i0 * g->cell));
    if (i1 < g->nx - 1) d = fmin(d, g->x0 + (i1 + 1) * g->cell - x);
    if (j0 > 0) d = fmin(d, y - (g->y0 + j0 * g->cell));
    if (j1 < g->ny - 1) d = fmin(d, g->y0 + (j1 + 1) * g->cell - y);
    if (d == INFINITY) break; /* the whole grid was visited */
    if (acc.s > 0 && d > 0 && -d * d * g->inv_two_var <= acc.m + log(acc.s) + MIX_TAIL_LOG) break;
  }
  *logp = acc.m + log(acc.s) + g->log_norm;
  if (grad) {
    /* ∇ log p = Σ r_j (c_j − x)/σ², r_j the responsibilities. */
    double k = 2.0 * g->inv_two_var / acc.s;
    grad[0] = acc.gx * k;
    grad[1] = acc.gy * k;
  }
}

/* 8-point Gauss–Legendre on [-1, 1]. */
static const double gl_x[4] = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267,
                               0.9602898564975363};
static const double gl_w[4] = {0.3626837833783620, 0.3137066458778873, 0.2223810344533745,
                               0.1012285362903763};
/* Segments of the polyline that measures arc length (only places panels:
 * any partition gives a valid rule). */
#define ARC_TABLE 4096
/* Each end panel is split geometrically into halves this many times: for a
 * point at distance d beyond a curve's end the integrand is a boundary
 * layer e^{−ℓd/σ²} of length σ²/d (≈ 0.004 at the box corners), much
 * shorter than a panel. */
#define END_GRADING 6

static ebm_status grow(double **a, int64_t need) {
  double *p = realloc(*a, (size_t)need * sizeof *p);
  if (!p) return ebm_set_error(EBM_ERR_NOMEM, "out of memory building toy quadrature nodes");
  *a = p;
  return EBM_OK;
}

/* Boundaries t_0 = 0 < ... < t_P = 1 of P panels of equal arc length. */
static double panel_edge(const double *cum, int64_t p, int64_t panels, int *seg) {
  if (p <= 0) return 0.0;
  if (p >= panels) return 1.0;
  double target = cum[ARC_TABLE] * (double)p / (double)panels;
  while (*seg < ARC_TABLE - 1 && cum[*seg + 1] < target) (*seg)++;
  double len = cum[*seg + 1] - cum[*seg];
  return (*seg + (len > 0 ? (target - cum[*seg]) / len : 0.0)) / ARC_TABLE;
}

static void add_panel(toy_curve_fn curve, toy_param_density_fn density, double a, double b,
                      double scale, int mirror, double *cx, double *cy, double *w, int64_t *n) {
  double mid = 0.5 * (a + b), half = 0.5 * (b - a);
  for (int q = 0; q < 8; q++) {
    double t = mid + (q < 4 ? -gl_x[q] : gl_x[q - 4]) * half;
    double wt = gl_w[q < 4 ? q : q - 4] * half * density(t) * scale, xy[2];
    curve(t, xy);
    for (int side = 0; side <= (mirror ? 1 : 0); side++) {
      double sign = side ? -1.0 : 1.0;
      cx[*n] = sign * xy[0];
      cy[*n] = sign * xy[1];
      w[*n] = wt;
      (*n)++;
    }
  }
}

ebm_status gauss_curve_nodes(toy_curve_fn curve, toy_param_density_fn density, double max_arc,
                             double scale, int mirror, double **cx, double **cy, double **w,
                             int64_t *n) {
  double *cum = malloc((ARC_TABLE + 1) * sizeof *cum);
  if (!cum) return ebm_set_error(EBM_ERR_NOMEM, "out of memory building toy quadrature nodes");
  double prev[2], cur[2];
  curve(0.0, prev);
  cum[0] = 0.0;
  for (int i = 1; i <= ARC_TABLE; i++) {
    curve((double)i / ARC_TABLE, cur);
    cum[i] = cum[i - 1] + hypot(cur[0] - prev[0], cur[1] - prev[1]);
    prev[0] = cur[0], prev[1] = cur[1];
  }
  int64_t panels = (int64_t)ceil(cum[ARC_TABLE] / max_arc);
  if (panels < 2) panels = 2;
  int64_t total = *n + (panels + 2 * END_GRADING) * 8 * (mirror ? 2 : 1);
  ebm_status st = grow(cx, total);
  if (st == EBM_OK) st = grow(cy, total);
  if (st == EBM_OK) st = grow(w, total);
  if (st != EBM_OK) {
    free(cum);
    return st;
  }
  int seg = 0;
  for (int64_t p = 0; p < panels; p++) {
    double a = panel_edge(cum, p, panels, &seg), b = panel_edge(cum, p + 1, panels, &seg);
    if (p == 0 || p == panels - 1) {
      /* Graded: [a, a+h/64], ..., [a+h/2, b] at the start, mirrored at the end. */
      double h = b - a, lo = 0.0;
      for (int level = END_GRADING; level >= 0; level--) {
        double hi = level ? h / (double)(1 << level) : h;
        if (p == 0) add_panel(curve, density, a + lo, a + hi, scale, mirror, *cx, *cy, *w, n);
        else add_panel(curve, density, b - hi, b - lo, scale, mirror, *cx, *cy, *w, n);
        lo = hi;
      }
    } else {
      add_panel(curve, density, a, b, scale, mirror, *cx, *cy, *w, n);
    }
  }
  free(cum);
  return EBM_OK;
}
