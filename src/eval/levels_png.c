/* Recovery likelihood's levels as one picture (ebm/eval.h ebm_levels_png):
 * the sampler's chain from noise (level T) to data (level 0), so a reader
 * sees at which level the modes appear. 2-D points become one scatter
 * panel per level, images one grid row per level. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/eval.h"
#include "ebm/io.h"
#include "eval/plot_internal.h"

#define PANEL_PX 200
#define GAP_PX 8
#define HEADER_PX 14
#define MAX_PANELS 256 /* 256 panels are 53 000 px wide; PNG sides stop at 65 535 */

static const uint8_t frame_ink[3] = {200, 200, 200}, text_ink[3] = {40, 40, 40}, dot_ink[3] = {200, 30, 30};

/* Pixel of value v in [lo, hi] along a panel side (flipped for rows, so
 * that y grows upwards); -1 outside. */
static int to_px(float v, float lo, float hi, int flip) {
  const double t = ((double)v - lo) / ((double)hi - lo);
  if (!(t >= 0.0 && t <= 1.0)) return -1;
  const int px = (int)(t * (PANEL_PX - 2));
  return flip ? PANEL_PX - 2 - px : px;
}

/* One level's n points as 2×2 half-opaque dots (dense regions darken) in a framed panel at (x0, y0). */
static void draw_scatter(plot_canvas *c, int x0, int y0, const float *xy, int64_t n, float lo, float hi) {
  plot_rect(c, x0 - 1, y0 - 1, x0 + PANEL_PX + 1, y0, frame_ink, 1.0);
  plot_rect(c, x0 - 1, y0 + PANEL_PX, x0 + PANEL_PX + 1, y0 + PANEL_PX + 1, frame_ink, 1.0);
  plot_rect(c, x0 - 1, y0, x0, y0 + PANEL_PX, frame_ink, 1.0);
  plot_rect(c, x0 + PANEL_PX, y0, x0 + PANEL_PX + 1, y0 + PANEL_PX, frame_ink, 1.0);
  for (int64_t j = 0; j < n; j++) {
    const int px = to_px(xy[2 * j], lo, hi, 0), py = to_px(xy[2 * j + 1], lo, hi, 1);
    if (px >= 0 && py >= 0) plot_rect(c, x0 + px, y0 + py, x0 + px + 2, y0 + py + 2, dot_ink, 0.5);
  }
}

static ebm_status scatter_levels(const char *path, const float *levels, int nlevels, int64_t n, float lo, float hi) {
  if (nlevels > MAX_PANELS)
    return ebm_set_error(EBM_ERR_ARG, "%s: a picture of 2-D levels shows at most %d levels, got %d", path,
                         MAX_PANELS, nlevels);
  plot_canvas c = {nlevels * (PANEL_PX + GAP_PX) + GAP_PX, HEADER_PX + PANEL_PX + GAP_PX, NULL};
  c.px = malloc((size_t)c.w * (size_t)c.h * 3);
  if (!c.px) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for the picture", path);
  memset(c.px, 255, (size_t)c.w * (size_t)c.h * 3);
  for (int k = 0; k < nlevels; k++) { /* panel k: level T − k */
    const int level = nlevels - 1 - k, x0 = GAP_PX + k * (PANEL_PX + GAP_PX);
    char title[16];
    snprintf(title, sizeof title, "t=%d", level);
    plot_text(&c, x0 + PANEL_PX / 2 - plot_text_width(title, 1) / 2, 4, 1, title, text_ink);
    draw_scatter(&c, x0, HEADER_PX, levels + (size_t)level * (size_t)n * 2, n, lo, hi);
  }
  ebm_status st = ebm_png_write(path, c.w, c.h, 3, c.px);
  free(c.px);
  return st;
}

static ebm_status image_levels(const char *path, const float *levels, int nlevels, int64_t n,
                               const int64_t *item_shape, float lo, float hi) {
  const int64_t cols = n < EBM_LEVELS_PNG_CHAINS ? n : EBM_LEVELS_PNG_CHAINS;
  const int64_t item = item_shape[0] * item_shape[1] * item_shape[2];
  int64_t shape[4] = {nlevels * cols, item_shape[0], item_shape[1], item_shape[2]};
  ebm_tensor *grid = ebm_tensor_new(4, shape);
  if (!grid) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for the picture", path);
  for (int r = 0; r < nlevels; r++) /* row r: level T − r, its first chains */
    memcpy(grid->data + (size_t)(r * cols * item), levels + (size_t)(nlevels - 1 - r) * (size_t)(n * item),
           sizeof(float) * (size_t)(cols * item));
  ebm_grid_opts opts = ebm_grid_defaults();
  opts.lo = lo;
  opts.hi = hi;
  opts.ncols = (int)cols;
  opts.scale = item_shape[1] <= 64 ? 2 : 1;
  ebm_status st = ebm_png_write_grid(path, grid, &opts);
  ebm_tensor_free(grid);
  return st;
}

ebm_status ebm_levels_png(const char *path, const float *levels, int nlevels, int64_t n, int item_ndim,
                          const int64_t *item_shape, float lo, float hi) {
  if (n < 1 || nlevels < 1 || !(lo < hi))
    return ebm_set_error(EBM_ERR_ARG, "%s: a picture of levels needs at least one level, one chain and lo < hi",
                         path);
  if (item_ndim == 1 && item_shape[0] == 2) return scatter_levels(path, levels, nlevels, n, lo, hi);
  if (item_ndim == 3 && (item_shape[0] == 1 || item_shape[0] == 3))
    return image_levels(path, levels, nlevels, n, item_shape, lo, hi);
  return ebm_set_error(EBM_ERR_ARG, "%s: levels are drawn for 2-D points or images (1 or 3 channels), not items "
                       "of %d dimensions", path, item_ndim);
}
