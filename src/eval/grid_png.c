/* Density panels as one PNG (ebm_grid_png): the model next to the truth on
 * one colour scale, optionally with sample points on top. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"
#include "ebm/grid_nll.h"

#define GAP 8
#define MAX_PANELS 8

/* White (0) to deep blue (the maximum); sqrt so low-density tails show. */
static void shade(double v, uint8_t *rgb) {
  v = !(v > 0) ? 0 : v > 1 ? 1 : sqrt(v);
  rgb[0] = (uint8_t)lround(255 - 235 * v);
  rgb[1] = (uint8_t)lround(255 - 200 * v);
  rgb[2] = (uint8_t)lround(255 - 105 * v);
}

ebm_status ebm_grid_png(const char *path, int cells, int npanels, const double *const *panels,
                        double extent, const float *points, int64_t npoints) {
  if (cells < 2 || cells > 4096 || npanels < 1 || npanels > MAX_PANELS || !(extent > 0))
    return ebm_set_error(EBM_ERR_ARG, "%s: a density picture needs 2..4096 cells, 1..%d panels and extent > 0",
                         path, MAX_PANELS);
  const int width = npanels * cells + (npanels - 1) * GAP, height = cells;
  const int64_t per = (int64_t)cells * cells;
  uint8_t *img = malloc((size_t)width * height * 3);
  if (!img) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory drawing densities", path);
  memset(img, 255, (size_t)width * height * 3);
  double vmax = 0.0;
  for (int p = 0; p < npanels; p++)
    for (int64_t k = 0; k < per; k++) vmax = panels[p][k] > vmax && isfinite(panels[p][k]) ? panels[p][k] : vmax;
  for (int p = 0; p < npanels; p++)
    for (int64_t k = 0; k < per; k++) {
      int r = (int)(k / cells), c = (int)(k % cells);
      shade(vmax > 0 ? panels[p][k] / vmax : 0.0, img + 3 * ((int64_t)r * width + p * (cells + GAP) + c));
    }
  static const uint8_t red[3] = {220, 30, 30};
  for (int64_t i = 0; points && i < npoints; i++) {
    double fx = (points[2 * i] + extent) / (2 * extent) * cells, fy = (extent - points[2 * i + 1]) / (2 * extent) * cells;
    if (!(fx >= 0 && fx < cells && fy >= 0 && fy < cells)) continue;
    int px = (int)fx, py = (int)fy;
    for (int dy = 0; dy < 2; dy++)
      for (int dx = 0; dx < 2; dx++)
        if (px + dx < cells && py + dy < cells) memcpy(img + 3 * ((int64_t)(py + dy) * width + px + dx), red, 3);
  }
  ebm_status st = ebm_png_write(path, width, height, 3, img);
  free(img);
  return st;
}
