/* Point clouds as pictures (ebm/points.h ebm_points_png): per cloud, three
 * orthographic projections side by side, each point a dot shaded from blue
 * (far) to red (near) along the dropped axis. */
#include <stdlib.h>

#include "ebm/io.h"
#include "ebm/points.h"
#include "eval/plot_internal.h"

#define PANEL_PX 160
#define GAP_PX 8
#define HEADER_PX 14
#define MAX_CLOUDS 64

static const uint8_t frame_ink[3] = {200, 200, 200}, text_ink[3] = {40, 40, 40};

/* Pixel of value v in [lo, hi] along a panel side (flipped for rows). */
static int to_px(float v, float lo, float hi, int flip) {
  double t = ((double)v - lo) / ((double)hi - lo);
  int px = (int)(t * (PANEL_PX - 3));
  return flip ? PANEL_PX - 3 - px : px;
}

static void draw_panel(plot_canvas *c, int x0, int y0, const float *xyz, int64_t p, int ax, int ay,
                       int az, float lo, float hi) {
  plot_rect(c, x0 - 1, y0 - 1, x0 + PANEL_PX + 1, y0, frame_ink, 1.0);
  plot_rect(c, x0 - 1, y0 + PANEL_PX, x0 + PANEL_PX + 1, y0 + PANEL_PX + 1, frame_ink, 1.0);
  plot_rect(c, x0 - 1, y0, x0, y0 + PANEL_PX, frame_ink, 1.0);
  plot_rect(c, x0 + PANEL_PX, y0, x0 + PANEL_PX + 1, y0 + PANEL_PX, frame_ink, 1.0);
  for (int64_t j = 0; j < p; j++) {
    const float *v = xyz + 3 * j;
    double depth = ((double)v[az] - lo) / ((double)hi - lo);
    depth = depth < 0 ? 0 : depth > 1 ? 1 : depth;
    const uint8_t rgb[3] = {(uint8_t)(40 + 200 * depth), 60, (uint8_t)(240 - 200 * depth)};
    int px = to_px(v[ax], lo, hi, 0), py = to_px(v[ay], lo, hi, 1);
    if (px < 0 || py < 0 || px > PANEL_PX - 3 || py > PANEL_PX - 3) continue;
    plot_rect(c, x0 + px, y0 + py, x0 + px + 3, y0 + py + 3, rgb, 0.75);
  }
}

ebm_status ebm_points_png(const char *path, const float *xyz, int64_t n, int64_t p, float lo, float hi) {
  if (n < 1 || p < 1 || !(lo < hi))
    return ebm_set_error(EBM_ERR_ARG, "%s: a picture needs at least one cloud of points and lo < hi",
                         path);
  if (n > MAX_CLOUDS) n = MAX_CLOUDS;
  static const int axes[3][3] = {{0, 1, 2}, {0, 2, 1}, {1, 2, 0}};
  static const char *const titles[3] = {"x-y", "x-z", "y-z"};
  plot_canvas c = {3 * PANEL_PX + 4 * GAP_PX, HEADER_PX + (int)n * (PANEL_PX + GAP_PX) + GAP_PX, NULL};
  c.px = malloc((size_t)c.w * (size_t)c.h * 3);
  if (!c.px) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for the picture", path);
  for (size_t k = 0; k < (size_t)c.w * (size_t)c.h * 3; k++) c.px[k] = 255;
  for (int v = 0; v < 3; v++)
    plot_text(&c, GAP_PX + v * (PANEL_PX + GAP_PX) + PANEL_PX / 2 - plot_text_width(titles[v], 1) / 2, 4,
              1, titles[v], text_ink);
  for (int64_t i = 0; i < n; i++)
    for (int v = 0; v < 3; v++)
      draw_panel(&c, GAP_PX + v * (PANEL_PX + GAP_PX), HEADER_PX + (int)i * (PANEL_PX + GAP_PX) + GAP_PX / 2,
                 xyz + i * p * 3, p, axes[v][0], axes[v][1], axes[v][2], lo, hi);
  ebm_status st = ebm_png_write(path, c.w, c.h, 3, c.px);
  free(c.px);
  return st;
}
