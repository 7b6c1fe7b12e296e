/* Plans as a picture (ebm/plan.h ebm_plan_png): the world's square with
 * its obstacles, straight lines in grey, plans in colour from a green
 * start to a red goal. */
#include <math.h>
#include <stdlib.h>

#include "ebm/io.h"
#include "ebm/plan.h"
#include "eval/plot_internal.h"

#define SIDE_PX 480
#define MARGIN_PX 10
#define MAX_PLANS 16

static const uint8_t obstacle_ink[3] = {90, 90, 90}, line_ink[3] = {170, 170, 170},
                     start_ink[3] = {0, 160, 60}, goal_ink[3] = {220, 30, 30}, frame_ink[3] = {0, 0, 0};

typedef struct {
  plot_canvas c;
  double lo, hi;
} world_canvas;

static double px_x(const world_canvas *wc, double x) { return MARGIN_PX + (x - wc->lo) / (wc->hi - wc->lo) * SIDE_PX; }
static double px_y(const world_canvas *wc, double y) { return MARGIN_PX + (wc->hi - y) / (wc->hi - wc->lo) * SIDE_PX; }

static void disk(world_canvas *wc, double x, double y, double r_px, const uint8_t rgb[3], double alpha) {
  const double cx = px_x(wc, x), cy = px_y(wc, y);
  for (int py = (int)(cy - r_px) - 1; py <= (int)(cy + r_px) + 1; py++)
    for (int px = (int)(cx - r_px) - 1; px <= (int)(cx + r_px) + 1; px++)
      if (hypot(px + 0.5 - cx, py + 0.5 - cy) <= r_px) plot_blend(&wc->c, px, py, rgb, alpha);
}

/* A line of dots every half pixel, `width` pixels wide. */
static void line(world_canvas *wc, const float *a, const float *b, double width, const uint8_t rgb[3]) {
  const double len = hypot(px_x(wc, b[0]) - px_x(wc, a[0]), px_y(wc, b[1]) - px_y(wc, a[1]));
  const int steps = (int)(2 * len) + 1;
  for (int k = 0; k <= steps; k++) {
    const double f = (double)k / steps;
    disk(wc, a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), width / 2, rgb, 1.0);
  }
}

/* A colour per plan around the hue circle. */
static void plan_colour(int64_t i, int64_t n, uint8_t rgb[3]) {
  const double h = 6.0 * (double)i / (double)(n > 1 ? n : 1);
  const double f = h - floor(h);
  const double v[6][3] = {{1, f, 0}, {1 - f, 1, 0}, {0, 1, f}, {0, 1 - f, 1}, {f, 0, 1}, {1, 0, 1 - f}};
  for (int k = 0; k < 3; k++) rgb[k] = (uint8_t)(30 + 180 * v[(int)h % 6][k]);
}

ebm_status ebm_plan_png(const char *path, const ebm_particle_world *w, const float *start,
                        const float *goal, const float *plans, const float *straight, int64_t n,
                        int horizon) {
  if (n < 1 || horizon < 1) return ebm_set_error(EBM_ERR_ARG, "%s: nothing to draw", path);
  if (n > MAX_PLANS) n = MAX_PLANS;
  world_canvas wc = {{SIDE_PX + 2 * MARGIN_PX, SIDE_PX + 2 * MARGIN_PX, NULL}, w->lo, w->hi};
  wc.c.px = malloc((size_t)wc.c.w * (size_t)wc.c.h * 3);
  if (!wc.c.px) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for the picture", path);
  for (size_t k = 0; k < (size_t)wc.c.w * (size_t)wc.c.h * 3; k++) wc.c.px[k] = 255;
  plot_rect(&wc.c, MARGIN_PX - 1, MARGIN_PX - 1, MARGIN_PX + SIDE_PX + 1, MARGIN_PX, frame_ink, 1.0);
  plot_rect(&wc.c, MARGIN_PX - 1, MARGIN_PX + SIDE_PX, MARGIN_PX + SIDE_PX + 1, MARGIN_PX + SIDE_PX + 1, frame_ink, 1.0);
  plot_rect(&wc.c, MARGIN_PX - 1, MARGIN_PX, MARGIN_PX, MARGIN_PX + SIDE_PX, frame_ink, 1.0);
  plot_rect(&wc.c, MARGIN_PX + SIDE_PX, MARGIN_PX, MARGIN_PX + SIDE_PX + 1, MARGIN_PX + SIDE_PX, frame_ink, 1.0);
  const double px_per_unit = SIDE_PX / ((double)w->hi - w->lo);
  for (int k = 0; k < w->nobstacles; k++)
    disk(&wc, w->obstacles[k].x, w->obstacles[k].y, w->obstacles[k].r * px_per_unit, obstacle_ink, 1.0);
  for (int64_t i = 0; straight && i < n; i++)
    line(&wc, start + 2 * i, goal + 2 * i, 1.0, line_ink);
  for (int64_t i = 0; i < n; i++) {
    uint8_t rgb[3];
    plan_colour(i, n, rgb);
    const float *plan = plans + i * 2 * horizon;
    for (int t = 0; t < horizon; t++) line(&wc, t == 0 ? start + 2 * i : plan + 2 * (t - 1), plan + 2 * t, 2.0, rgb);
    for (int t = 0; t < horizon; t++) disk(&wc, plan[2 * t], plan[2 * t + 1], 2.0, rgb, 1.0);
    disk(&wc, start[2 * i], start[2 * i + 1], 5.0, start_ink, 1.0);
    disk(&wc, goal[2 * i], goal[2 * i + 1], 5.0, goal_ink, 1.0);
  }
  ebm_status st = ebm_png_write(path, wc.c.w, wc.c.h, 3, wc.c.px);
  free(wc.c.px);
  return st;
}
