/* Histogram pictures for the evaluators (eval.h ebm_hist_png): panels of
 * overlaid histograms, in- vs out-of-distribution scores or forward vs
 * reverse AIS estimates, with ticks, a legend and an optional marker line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/eval.h"
#include "ebm/io.h"
#include "eval/plot_internal.h"

#define PANEL_W 560
#define PANEL_H 230
#define MARGIN_L 20
#define MARGIN_R 20
#define MARGIN_T 26 /* title */
#define MARGIN_B 30 /* ticks and their labels */
#define FILL_ALPHA 0.35
#define MAX_BINS 512
#define MAX_PANELS 64

static const uint8_t ink[3] = {40, 40, 40}, grid_ink[3] = {200, 200, 200}, white[3] = {255, 255, 255};

void plot_blend(plot_canvas *c, int x, int y, const uint8_t rgb[3], double alpha) {
  if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
  uint8_t *p = c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x);
  for (int k = 0; k < 3; k++) p[k] = (uint8_t)lround((1.0 - alpha) * p[k] + alpha * rgb[k]);
}

void plot_rect(plot_canvas *c, int x0, int y0, int x1, int y1, const uint8_t rgb[3], double alpha) {
  for (int y = y0 < 0 ? 0 : y0; y < y1 && y < c->h; y++)
    for (int x = x0 < 0 ? 0 : x0; x < x1 && x < c->w; x++) plot_blend(c, x, y, rgb, alpha);
}

int plot_text_width(const char *text, int scale) { return (int)strlen(text) * PLOT_GLYPH_W * scale; }

void plot_text(plot_canvas *c, int x, int y, int scale, const char *text, const uint8_t rgb[3]) {
  for (const char *s = text; *s; s++, x += PLOT_GLYPH_W * scale) {
    const uint8_t *g = plot_glyph(*s);
    for (int r = 0; g && r < PLOT_GLYPH_H; r++)
      for (int b = 0; b < 5; b++)
        if (g[r] & (0x10 >> b)) plot_rect(c, x + b * scale, y + r * scale, x + (b + 1) * scale, y + (r + 1) * scale, rgb, 1.0);
  }
}

/* The finite range of every series of a panel, widened when degenerate. */
static int panel_range(const ebm_hist_panel *p, double *lo, double *hi) {
  double a = INFINITY, b = -INFINITY;
  for (int s = 0; s < p->nseries; s++)
    for (int64_t i = 0; i < p->series[s].n; i++) {
      double v = p->series[s].values[i];
      if (isfinite(v)) {
        a = v < a ? v : a;
        b = v > b ? v : b;
      }
    }
  if (isfinite(p->marker)) {
    a = p->marker < a ? p->marker : a;
    b = p->marker > b ? p->marker : b;
  }
  if (!(a <= b)) return 0;
  if (b - a < 1e-12 * (fabs(a) + 1.0)) {
    a -= 0.5 * (fabs(a) + 1.0) * 1e-3;
    b += 0.5 * (fabs(b) + 1.0) * 1e-3;
  }
  double pad = 0.02 * (b - a);
  *lo = a - pad;
  *hi = b + pad;
  return 1;
}

static void draw_panel(plot_canvas *c, int top, const ebm_hist_panel *p, int bins, double *counts) {
  const int x0 = MARGIN_L, x1 = PANEL_W - MARGIN_R, y0 = top + MARGIN_T, y1 = top + PANEL_H - MARGIN_B;
  const int pw = x1 - x0, ph = y1 - y0;
  if (p->title) plot_text(c, x0, top + 8, 1, p->title, ink);
  double lo, hi;
  if (!panel_range(p, &lo, &hi)) {
    plot_text(c, x0, y0 + ph / 2, 1, "no finite values", ink);
    return;
  }
  const double width = (hi - lo) / bins;
  /* densities (count / (n · bin width)) so sets of different sizes compare */
  double peak = 0.0;
  for (int s = 0; s < p->nseries; s++) {
    double *h = counts + (size_t)s * bins;
    int64_t finite = 0;
    memset(h, 0, (size_t)bins * sizeof *h);
    for (int64_t i = 0; i < p->series[s].n; i++) {
      double v = p->series[s].values[i];
      if (!isfinite(v)) continue;
      int b = (int)floor((v - lo) / width);
      h[b < 0 ? 0 : (b >= bins ? bins - 1 : b)] += 1.0;
      finite++;
    }
    for (int b = 0; b < bins && finite > 0; b++) {
      h[b] /= (double)finite * width;
      peak = h[b] > peak ? h[b] : peak;
    }
  }
  /* ticks and vertical grid lines */
  double step = axis_nice_step(hi - lo, 5), at[AXIS_MAX_TICKS];
  for (int i = 0, n = axis_ticks(lo, hi, step, at); i < n; i++) {
    const double t = at[i];
    int x = x0 + (int)lround((t - lo) / (hi - lo) * pw);
    plot_rect(c, x, y0, x + 1, y1, grid_ink, 1.0);
    plot_rect(c, x, y1, x + 1, y1 + 4, ink, 1.0);
    char label[32];
    snprintf(label, sizeof label, "%.4g", fabs(t) < 1e-9 * step ? 0.0 : t);
    int tw = plot_text_width(label, 1);
    plot_text(c, x - tw / 2, y1 + 8, 1, label, ink);
  }
  plot_rect(c, x0, y1, x1, y1 + 1, ink, 1.0);
  /* bars: translucent fill, opaque top edge */
  for (int s = 0; s < p->nseries && peak > 0.0; s++) {
    const double *h = counts + (size_t)s * bins;
    for (int b = 0; b < bins; b++) {
      int bx0 = x0 + (int)lround((double)b / bins * pw), bx1 = x0 + (int)lround((double)(b + 1) / bins * pw);
      int bh = (int)lround(h[b] / peak * (ph - 4));
      if (bh <= 0) continue;
      plot_rect(c, bx0, y1 - bh, bx1, y1, p->series[s].rgb, FILL_ALPHA);
      plot_rect(c, bx0, y1 - bh, bx1, y1 - bh + 1, p->series[s].rgb, 1.0);
    }
  }
  if (isfinite(p->marker)) {
    int x = x0 + (int)lround((p->marker - lo) / (hi - lo) * pw);
    for (int y = y0; y < y1; y += 2) plot_rect(c, x, y, x + 1, y + 1, ink, 1.0);
  }
  /* legend, top right */
  int ly = top + 8;
  for (int s = 0; s < p->nseries; s++) {
    const char *label = p->series[s].label ? p->series[s].label : "";
    int tw = plot_text_width(label, 1);
    plot_rect(c, x1 - tw - 14, ly, x1 - tw - 6, ly + 7, p->series[s].rgb, 1.0);
    plot_text(c, x1 - tw, ly, 1, label, ink);
    ly += 11;
  }
}

ebm_status ebm_hist_png(const char *path, int npanels, const ebm_hist_panel *panels, int bins) {
  if (npanels < 1 || npanels > MAX_PANELS || !panels)
    return ebm_set_error(EBM_ERR_ARG, "%s: %d histogram panels, expected 1..%d", path, npanels, MAX_PANELS);
  if (bins < 1 || bins > MAX_BINS)
    return ebm_set_error(EBM_ERR_ARG, "%s: %d bins, expected 1..%d", path, bins, MAX_BINS);
  int most = 0;
  for (int k = 0; k < npanels; k++) {
    if (panels[k].nseries < 1 || panels[k].nseries > EBM_HIST_MAX_SERIES || !panels[k].series)
      return ebm_set_error(EBM_ERR_ARG, "%s: panel %d has %d series, expected 1..%d", path, k,
                           panels[k].nseries, EBM_HIST_MAX_SERIES);
    most = panels[k].nseries > most ? panels[k].nseries : most;
  }
  plot_canvas c = {PANEL_W, PANEL_H * npanels, NULL};
  c.px = malloc((size_t)c.w * (size_t)c.h * 3);
  double *counts = malloc((size_t)most * (size_t)bins * sizeof *counts);
  ebm_status st = EBM_OK;
  if (!c.px || !counts) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing %s", path);
    goto done;
  }
  plot_rect(&c, 0, 0, c.w, c.h, white, 1.0);
  for (int k = 0; k < npanels; k++) {
    draw_panel(&c, k * PANEL_H, &panels[k], bins, counts);
    if (k > 0) plot_rect(&c, 0, k * PANEL_H, c.w, k * PANEL_H + 1, grid_ink, 1.0);
  }
  st = ebm_png_write(path, c.w, c.h, 3, c.px);
done:
  free(c.px);
  free(counts);
  return st;
}
