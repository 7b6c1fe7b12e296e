/* Surface Chamfer distance between voxel grids (ebm/data_volumes.h): the
 * issue's "nearest-neighbour Chamfer distance to the training set" for
 * voxel samples, in the point clouds' units (coordinates in [-1, 1], mean
 * squared distance to the nearest point, both ways; ebm/points.h). A grid's
 * surface is its occupied voxels with an empty 6-neighbour (outside the grid
 * counts as empty). Each grid gets the exact squared Euclidean distance
 * transform of its surface (Felzenszwalb & Huttenlocher 2012, one 1-D
 * lower-envelope pass per axis), so the Chamfer of a pair is a lookup per
 * surface voxel, |∂A| + |∂B|, instead of |∂A|·|∂B| distances. */
#include <math.h>
#include <stdlib.h>

#include "ebm.h"

#define FAR 1e20 /* "no surface voxel on this line yet": finite, so differences stay defined */

typedef struct {
  int64_t *surface; /* voxel indices of the surface, count of them */
  int64_t count;
  float *dist2;     /* per voxel: squared distance (voxel units) to the nearest surface voxel */
} grid_surface;

/* 1-D squared distance transform of f[0..n) into d: d[q] = min_p (q − p)² +
 * f[p], the lower envelope of the parabolas rooted at (p, f[p]); v holds
 * the envelope's parabolas (n), z their boundaries (n + 1). */
static void edt_line(const double *f, int64_t n, double *d, int64_t *v, double *z) {
  int64_t k = 0;
  v[0] = 0, z[0] = -INFINITY, z[1] = INFINITY;
  for (int64_t q = 1; q < n; q++) {
    double s;
    for (;;) { /* z[0] = −∞ stops the walk back at the first parabola */
      const int64_t p = v[k];
      s = ((f[q] + (double)(q * q)) - (f[p] + (double)(p * p))) / (double)(2 * q - 2 * p);
      if (s > z[k]) break;
      k--;
    }
    k++;
    v[k] = q, z[k] = s, z[k + 1] = INFINITY;
  }
  k = 0;
  for (int64_t q = 0; q < n; q++) {
    while (z[k + 1] < (double)q) k++;
    d[q] = (double)((q - v[k]) * (q - v[k])) + f[v[k]];
  }
}

static int64_t longest_side(const int64_t dims[3]) {
  const int64_t hw = dims[1] > dims[2] ? dims[1] : dims[2];
  return dims[0] > hw ? dims[0] : hw;
}

static int occupied(const float *g, const int64_t dims[3], int64_t z, int64_t y, int64_t x, float level) {
  if (z < 0 || y < 0 || x < 0 || z >= dims[0] || y >= dims[1] || x >= dims[2]) return 0;
  return g[(z * dims[1] + y) * dims[2] + x] > level;
}

/* The surface of one grid and its distance transform. */
static ebm_status surface_of(const float *g, const int64_t dims[3], float level, grid_surface *s) {
  const int64_t v = dims[0] * dims[1] * dims[2], longest = longest_side(dims);
  double *f = malloc((size_t)v * sizeof *f), *line = malloc((size_t)(2 * longest) * sizeof *line);
  double *z = malloc((size_t)(longest + 1) * sizeof *z);
  int64_t *vtx = malloc((size_t)longest * sizeof *vtx);
  s->surface = malloc((size_t)v * sizeof *s->surface);
  s->dist2 = malloc((size_t)v * sizeof *s->dist2);
  s->count = 0;
  ebm_status st = EBM_OK;
  if (!f || !line || !z || !vtx || !s->surface || !s->dist2) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for a voxel surface of %lld voxels", (long long)v);
    goto done;
  }
  for (int64_t a = 0; a < dims[0]; a++)
    for (int64_t b = 0; b < dims[1]; b++)
      for (int64_t c = 0; c < dims[2]; c++) {
        const int64_t k = (a * dims[1] + b) * dims[2] + c;
        const int in = occupied(g, dims, a, b, c, level);
        const int edge = in && !(occupied(g, dims, a - 1, b, c, level) && occupied(g, dims, a + 1, b, c, level) &&
                                 occupied(g, dims, a, b - 1, c, level) && occupied(g, dims, a, b + 1, c, level) &&
                                 occupied(g, dims, a, b, c - 1, level) && occupied(g, dims, a, b, c + 1, level));
        f[k] = edge ? 0.0 : FAR;
        if (edge) s->surface[s->count++] = k;
      }
  /* one pass per axis: axis stride, and the number of lines along it */
  const int64_t strides[3] = {dims[1] * dims[2], dims[2], 1};
  for (int axis = 0; axis < 3; axis++) {
    const int64_t n = dims[axis], stride = strides[axis];
    for (int64_t start = 0; start < v; start++) {
      if ((start / stride) % n != 0) continue; /* one start per line: its coordinate on this axis is 0 */
      for (int64_t q = 0; q < n; q++) line[q] = f[start + q * stride];
      edt_line(line, n, line + longest, vtx, z);
      for (int64_t q = 0; q < n; q++) f[start + q * stride] = line[longest + q];
    }
  }
  for (int64_t k = 0; k < v; k++) s->dist2[k] = (float)f[k];
done:
  free(f);
  free(line);
  free(z);
  free(vtx);
  return st;
}

static void surface_free(grid_surface *s) {
  free(s->surface);
  free(s->dist2);
}

/* Chamfer of two surfaces, in voxel units squared; NaN when either is empty. */
static double surface_chamfer(const grid_surface *a, const grid_surface *b) {
  if (!a->count || !b->count) return NAN;
  double ab = 0, ba = 0;
  for (int64_t i = 0; i < a->count; i++) ab += b->dist2[a->surface[i]];
  for (int64_t i = 0; i < b->count; i++) ba += a->dist2[b->surface[i]];
  return ab / (double)a->count + ba / (double)b->count;
}

typedef struct {
  const float *grids;
  int64_t v;
  const int64_t *dims;
  float level;
  grid_surface *out;
  ebm_status *status;
} surfaces_job;

static void surfaces_range(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const surfaces_job *j = ctx;
  for (int64_t i = begin; i < end; i++) j->status[i] = surface_of(j->grids + i * j->v, j->dims, j->level, &j->out[i]);
}

typedef struct {
  const grid_surface *samples, *refs;
  int64_t nr;
  double scale2;
  double *chamfer;
  int64_t *nearest;
} nearest_job;

static void nearest_range(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const nearest_job *j = ctx;
  for (int64_t s = begin; s < end; s++) {
    double best = NAN;
    int64_t arg = -1;
    for (int64_t r = 0; r < j->nr; r++) {
      const double c = surface_chamfer(&j->samples[s], &j->refs[r]);
      if (!isnan(c) && (isnan(best) || c < best)) best = c, arg = r;
    }
    j->chamfer[s] = best * j->scale2;
    if (j->nearest) j->nearest[s] = arg;
  }
}

ebm_status ebm_voxels_chamfer_nearest(const float *samples, int64_t ns, const float *ref, int64_t nr,
                                      const int64_t dims[3], float level, double *chamfer, int64_t *nearest) {
  if (ns < 1 || nr < 1 || dims[0] < 1 || dims[1] < 1 || dims[2] < 1)
    return ebm_set_error(EBM_ERR_ARG, "voxel Chamfer: need samples, references and grids (got %lld, %lld, "
                         "%lldx%lldx%lld)", (long long)ns, (long long)nr, (long long)dims[0], (long long)dims[1],
                         (long long)dims[2]);
  const int64_t v = dims[0] * dims[1] * dims[2], n = ns + nr;
  grid_surface *surf = calloc((size_t)n, sizeof *surf);
  ebm_status *status = calloc((size_t)n, sizeof *status);
  ebm_status st = EBM_OK;
  if (!surf || !status) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld voxel surfaces", (long long)n);
    goto done;
  }
  ebm_parallel_for(ns, 1, surfaces_range, &(surfaces_job){samples, v, dims, level, surf, status});
  ebm_parallel_for(nr, 1, surfaces_range, &(surfaces_job){ref, v, dims, level, surf + ns, status + ns});
  for (int64_t i = 0; i < n && st == EBM_OK; i++) st = status[i];
  if (st != EBM_OK) goto done;
  /* coordinates in [-1, 1] along the longest side, as ebm/points.h's clouds */
  const double scale = 2.0 / (double)longest_side(dims);
  ebm_parallel_for(ns, 1, nearest_range, &(nearest_job){surf, surf + ns, nr, scale * scale, chamfer, nearest});
done:
  for (int64_t i = 0; surf && i < n; i++) surface_free(&surf[i]);
  free(surf);
  free(status);
  return st;
}
