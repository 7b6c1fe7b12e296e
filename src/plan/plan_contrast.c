/* How strongly a transition energy marks the obstacles (ebm/plan.h): the
 * diagnosis behind a planner that picks plans through them. */
#include <math.h>
#include <stdlib.h>

#include "ebm/plan.h"

#define GRID 101
#define NEAR_LO 0.1f /* "around": this far beyond an obstacle's edge ... */
#define NEAR_HI 0.3f /* ... up to this far */

/* The distance from (x, y) to the nearest obstacle's edge (negative inside). */
static float edge_distance(const ebm_particle_world *w, float x, float y) {
  float d = INFINITY;
  for (int k = 0; k < w->nobstacles; k++) {
    const ebm_obstacle *o = &w->obstacles[k];
    d = fminf(d, hypotf(x - o->x, y - o->y) - o->r);
  }
  return d;
}

ebm_status ebm_plan_obstacle_contrast(ebm_net *transition, const ebm_particle_world *w, float step,
                                      double *inside, double *around) {
  const int64_t chunk = ebm_net_max_batch(transition);
  float *tr = malloc((size_t)GRID * GRID * 4 * sizeof *tr), *e = malloc((size_t)GRID * GRID * sizeof *e);
  signed char *where = malloc((size_t)GRID * GRID); /* 1 inside, 0 around, -1 neither */
  ebm_status st = tr && e && where ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory for the obstacle contrast");
  int64_t n = 0;
  for (int i = 0; st == EBM_OK && i < GRID; i++)
    for (int j = 0; j < GRID; j++) {
      const float x = w->lo + (w->hi - w->lo) * (float)j / (GRID - 1), y = w->lo + (w->hi - w->lo) * (float)i / (GRID - 1);
      const float d = edge_distance(w, x, y);
      const int free_end = x + step >= w->lo && x + step <= w->hi;
      where[n] = d < 0 ? 1 : d >= NEAR_LO && d <= NEAR_HI && free_end ? 0 : -1;
      float *t = tr + 4 * n++;
      t[0] = x, t[1] = y, t[2] = x + step, t[3] = y;
    }
  for (int64_t i0 = 0; st == EBM_OK && i0 < n; i0 += chunk)
    st = ebm_net_energy(transition, tr + 4 * i0, NULL, n - i0 < chunk ? n - i0 : chunk, e + i0);
  double sum[2] = {0, 0};
  int64_t count[2] = {0, 0};
  for (int64_t i = 0; st == EBM_OK && i < n; i++)
    if (where[i] >= 0) sum[where[i]] += e[i], count[where[i]]++;
  if (st == EBM_OK && (!count[0] || !count[1]))
    st = ebm_set_error(EBM_ERR_ARG, "the world has no grid points %s", count[1] ? "around its obstacles" : "inside an obstacle");
  if (st == EBM_OK) *inside = sum[1] / (double)count[1], *around = sum[0] / (double)count[0];
  free(tr);
  free(e);
  free(where);
  return st;
}
