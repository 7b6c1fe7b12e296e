/* Distances between point clouds (ebm/points.h): Chamfer, exact EMD by the
 * Hungarian algorithm, nearest reference clouds. */
#include <math.h>
#include <stdlib.h>

#include "ebm/points.h"

static double sq_dist(const float *a, const float *b) {
  const double dx = (double)a[0] - b[0], dy = (double)a[1] - b[1], dz = (double)a[2] - b[2];
  return dx * dx + dy * dy + dz * dz;
}

/* Mean over a of the squared distance to the nearest point of b. */
static double one_way(const float *a, int64_t na, const float *b, int64_t nb) {
  double sum = 0;
  for (int64_t i = 0; i < na; i++) {
    double best = INFINITY;
    for (int64_t j = 0; j < nb; j++) best = fmin(best, sq_dist(a + 3 * i, b + 3 * j));
    sum += best;
  }
  return sum / (double)na;
}

double ebm_chamfer(const float *a, int64_t na, const float *b, int64_t nb) {
  return one_way(a, na, b, nb) + one_way(b, nb, a, na);
}

/* The Hungarian algorithm with potentials (Kuhn–Munkres in the O(n³) form
 * of Jonker & Volgenant): rows are added one at a time and a shortest
 * augmenting path in reduced costs reassigns columns. 1-based: row/column
 * 0 is the virtual start. cost is n×n, row-major. */
static ebm_status hungarian(const double *cost, int64_t n, double *total) {
  double *u = calloc((size_t)(n + 1), sizeof *u), *v = calloc((size_t)(n + 1), sizeof *v);
  double *minv = malloc((size_t)(n + 1) * sizeof *minv);
  int64_t *match = calloc((size_t)(n + 1), sizeof *match), *way = calloc((size_t)(n + 1), sizeof *way);
  char *used = malloc((size_t)(n + 1));
  ebm_status st = EBM_OK;
  if (!u || !v || !minv || !match || !way || !used) {
    st = ebm_set_error(EBM_ERR_NOMEM, "EMD: out of memory for %lld points", (long long)n);
    goto done;
  }
  for (int64_t i = 1; i <= n; i++) {
    match[0] = i;
    int64_t j0 = 0;
    for (int64_t j = 0; j <= n; j++) minv[j] = INFINITY, used[j] = 0;
    do {
      used[j0] = 1;
      const int64_t i0 = match[j0];
      double delta = INFINITY;
      int64_t j1 = 0;
      for (int64_t j = 1; j <= n; j++) {
        if (used[j]) continue;
        const double reduced = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
        if (reduced < minv[j]) minv[j] = reduced, way[j] = j0;
        if (minv[j] < delta) delta = minv[j], j1 = j;
      }
      for (int64_t j = 0; j <= n; j++) {
        if (used[j]) u[match[j]] += delta, v[j] -= delta;
        else minv[j] -= delta;
      }
      j0 = j1;
    } while (match[j0] != 0);
    do { /* flip the augmenting path */
      const int64_t j1 = way[j0];
      match[j0] = match[j1];
      j0 = j1;
    } while (j0);
  }
  *total = 0;
  for (int64_t j = 1; j <= n; j++) *total += cost[(match[j] - 1) * n + (j - 1)];
done:
  free(u), free(v), free(minv), free(match), free(way), free(used);
  return st;
}

ebm_status ebm_emd(const float *a, const float *b, int64_t n, double *emd) {
  if (n < 1) return ebm_set_error(EBM_ERR_ARG, "EMD: needs at least one point, got %lld", (long long)n);
  if ((double)n * (double)n * sizeof(double) > 1e9)
    return ebm_set_error(EBM_ERR_NOMEM, "EMD: %lld points need a %lld² cost matrix; use fewer points",
                         (long long)n, (long long)n);
  double *cost = malloc((size_t)(n * n) * sizeof *cost);
  if (!cost) return ebm_set_error(EBM_ERR_NOMEM, "EMD: out of memory for %lld points", (long long)n);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) cost[i * n + j] = sqrt(sq_dist(a + 3 * i, b + 3 * j));
  double total = 0;
  ebm_status st = hungarian(cost, n, &total);
  free(cost);
  if (st == EBM_OK) *emd = total / (double)n;
  return st;
}

typedef struct {
  const float *samples, *ref;
  int64_t nr, p;
  double *dist;
  int64_t *nearest;
} nearest_job;

static void nearest_range(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const nearest_job *j = ctx;
  const int64_t cloud = j->p * 3;
  for (int64_t s = begin; s < end; s++) {
    double best = INFINITY;
    int64_t arg = 0;
    for (int64_t r = 0; r < j->nr; r++) {
      const double d = ebm_chamfer(j->samples + s * cloud, j->p, j->ref + r * cloud, j->p);
      if (d < best) best = d, arg = r;
    }
    j->dist[s] = best;
    if (j->nearest) j->nearest[s] = arg;
  }
}

void ebm_points_nearest(const float *samples, int64_t ns, const float *ref, int64_t nr, int64_t p,
                        double *dist, int64_t *nearest) {
  nearest_job j = {samples, ref, nr, p, dist, nearest};
  ebm_parallel_for(ns, 1, nearest_range, &j);
}

ebm_status ebm_points_check_finite(const float *xyz, int64_t n, int64_t p, const char *what) {
  static const char axis[] = "xyz";
  for (int64_t k = 0; k < n * p * 3; k++)
    if (!isfinite(xyz[k]))
      return ebm_set_error(EBM_ERR_NUMERIC, "%s: cloud %lld, point %lld: %c is %s", what,
                           (long long)(k / (p * 3)), (long long)(k / 3 % p), axis[k % 3],
                           isnan(xyz[k]) ? "NaN" : "infinite");
  return EBM_OK;
}
