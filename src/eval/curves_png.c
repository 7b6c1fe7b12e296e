/* Line charts for tables of results (eval.h ebm_curves_png): sample
 * quality against training budget, accuracy against steps — the pictures
 * the README puts next to its tables. Drawn on eval's RGB canvas with its
 * 5×7 font, so no plotting library is needed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ebm/eval.h"
#include "ebm/io.h"
#include "eval/plot_internal.h"

#define WIDTH 640
#define HEIGHT 400
#define LEFT 70
#define RIGHT 20
#define TOP 40
#define BOTTOM 50
#define PLOT_W (WIDTH - LEFT - RIGHT)
#define PLOT_H (HEIGHT - TOP - BOTTOM)

static const uint8_t ink[3] = {40, 40, 40}, grid_ink[3] = {215, 215, 215}, white[3] = {255, 255, 255};
static const uint8_t palette[EBM_CURVES_MAX_SERIES][3] = {
    {31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {255, 127, 14},
    {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127}};

typedef struct {
  double x0, x1, y0, y1; /* the axes' ranges (x in log10 when log_x) */
  int log_x;
} frame;

static int finite_point(const ebm_curve_series *s, int64_t i, int log_x) {
  return isfinite(s->x[i]) && isfinite(s->y[i]) && (!log_x || s->x[i] > 0);
}

static double px_x(const frame *f, double x) {
  const double v = f->log_x ? log10(x) : x;
  return LEFT + (v - f->x0) / (f->x1 - f->x0) * PLOT_W;
}
static double px_y(const frame *f, double y) { return TOP + PLOT_H - (y - f->y0) / (f->y1 - f->y0) * PLOT_H; }

/* Widens [lo, hi] by 5 % a side (or ±1 when it is one value). */
static void pad_range(double *lo, double *hi) {
  const double span = *hi - *lo;
  const double pad = span > 0 ? 0.05 * span : (fabs(*lo) > 0 ? 0.1 * fabs(*lo) : 1.0);
  *lo -= pad;
  *hi += pad;
}

static ebm_status frame_of(int nseries, const ebm_curve_series *series, int log_x, frame *f) {
  double xa = INFINITY, xb = -INFINITY, ya = INFINITY, yb = -INFINITY;
  for (int s = 0; s < nseries; s++)
    for (int64_t i = 0; i < series[s].n; i++) {
      if (log_x && isfinite(series[s].x[i]) && series[s].x[i] <= 0)
        return ebm_set_error(EBM_ERR_ARG, "curves: series '%s' has x = %g, which a log scale cannot show",
                             series[s].label ? series[s].label : "", series[s].x[i]);
      if (!finite_point(&series[s], i, log_x)) continue;
      const double x = log_x ? log10(series[s].x[i]) : series[s].x[i], y = series[s].y[i];
      xa = x < xa ? x : xa;
      xb = x > xb ? x : xb;
      ya = y < ya ? y : ya;
      yb = y > yb ? y : yb;
    }
  if (!(xa <= xb)) return ebm_set_error(EBM_ERR_ARG, "curves: no series has a finite point");
  pad_range(&xa, &xb);
  pad_range(&ya, &yb);
  *f = (frame){xa, xb, ya, yb, log_x};
  return EBM_OK;
}

static void tick_label(char *text, size_t size, double v) {
  snprintf(text, size, "%g", fabs(v) < 1e-12 ? 0.0 : v);
}

static void draw_axes(plot_canvas *c, const frame *f, const char *title, const char *x_label, const char *y_label) {
  char text[32];
  double at[AXIS_MAX_TICKS];
  const double ystep = axis_nice_step(f->y1 - f->y0, 6);
  for (int i = 0, n = axis_ticks(f->y0, f->y1, ystep, at); i < n; i++) {
    const double v = at[i];
    const int y = (int)lround(px_y(f, v));
    plot_rect(c, LEFT, y, LEFT + PLOT_W, y + 1, grid_ink, 1.0);
    tick_label(text, sizeof text, v);
    plot_text(c, LEFT - 6 - plot_text_width(text, 1), y - 3, 1, text, ink);
  }
  /* x ticks: 1, 2, 5 × 10^k on a log axis, nice steps on a linear one */
  for (double k = floor(f->x0) - 1; f->log_x && k <= ceil(f->x1); k++)
    for (int m = 0; m < 3; m++) {
      const double v = (m == 0 ? 1.0 : m == 1 ? 2.0 : 5.0) * pow(10.0, k);
      if (log10(v) < f->x0 || log10(v) > f->x1) continue;
      const int x = (int)lround(px_x(f, v));
      plot_rect(c, x, TOP, x + 1, TOP + PLOT_H, grid_ink, 1.0);
      tick_label(text, sizeof text, v);
      plot_text(c, x - plot_text_width(text, 1) / 2, TOP + PLOT_H + 6, 1, text, ink);
    }
  const double xstep = axis_nice_step(f->x1 - f->x0, 6);
  for (int i = 0, n = f->log_x ? 0 : axis_ticks(f->x0, f->x1, xstep, at); i < n; i++) {
    const double v = at[i];
    const int x = (int)lround(px_x(f, v));
    plot_rect(c, x, TOP, x + 1, TOP + PLOT_H, grid_ink, 1.0);
    tick_label(text, sizeof text, v);
    plot_text(c, x - plot_text_width(text, 1) / 2, TOP + PLOT_H + 6, 1, text, ink);
  }
  plot_rect(c, LEFT - 1, TOP, LEFT, TOP + PLOT_H + 1, ink, 1.0);
  plot_rect(c, LEFT - 1, TOP + PLOT_H, LEFT + PLOT_W, TOP + PLOT_H + 1, ink, 1.0);
  if (x_label) plot_text(c, LEFT + PLOT_W / 2 - plot_text_width(x_label, 1) / 2, HEIGHT - 18, 1, x_label, ink);
  if (y_label) plot_text(c, 6, TOP - 14, 1, y_label, ink);
  if (title) plot_text(c, LEFT, 8, 2, title, ink);
}

/* A line of width 2 from (xa, ya) to (xb, yb), one dot per pixel step. */
static void draw_line(plot_canvas *c, double xa, double ya, double xb, double yb, const uint8_t rgb[3]) {
  const int steps = (int)ceil(fmax(fabs(xb - xa), fabs(yb - ya))) + 1;
  for (int t = 0; t <= steps; t++) {
    const double x = xa + (xb - xa) * t / steps, y = ya + (yb - ya) * t / steps;
    plot_rect(c, (int)lround(x) - 1, (int)lround(y) - 1, (int)lround(x) + 1, (int)lround(y) + 1, rgb, 1.0);
  }
}

static void draw_series(plot_canvas *c, const frame *f, const ebm_curve_series *s, const uint8_t rgb[3]) {
  int have_prev = 0;
  double px = 0, py = 0;
  for (int64_t i = 0; i < s->n; i++) {
    if (!finite_point(s, i, f->log_x)) continue; /* a missing cell: the line joins its neighbours */
    const double x = px_x(f, s->x[i]), y = px_y(f, s->y[i]);
    if (have_prev) draw_line(c, px, py, x, y, rgb);
    plot_rect(c, (int)lround(x) - 3, (int)lround(y) - 3, (int)lround(x) + 4, (int)lround(y) + 4, rgb, 1.0);
    px = x;
    py = y;
    have_prev = 1;
  }
}

static void draw_legend(plot_canvas *c, int nseries, const ebm_curve_series *series) {
  int y = TOP + 6;
  for (int s = 0; s < nseries; s++, y += 14) {
    const char *label = series[s].label ? series[s].label : "";
    const int x = LEFT + PLOT_W - 24 - plot_text_width(label, 1);
    plot_rect(c, x - 4, y - 3, LEFT + PLOT_W - 2, y + 10, white, 0.85);
    plot_rect(c, x, y + 2, x + 14, y + 5, palette[s], 1.0);
    plot_text(c, x + 18, y, 1, label, ink);
  }
}

ebm_status ebm_curves_png(const char *path, const char *title, const char *x_label, const char *y_label,
                          int nseries, const ebm_curve_series *series, int log_x) {
  if (nseries < 1 || nseries > EBM_CURVES_MAX_SERIES || !series)
    return ebm_set_error(EBM_ERR_ARG, "curves: need 1..%d series, got %d", EBM_CURVES_MAX_SERIES, nseries);
  frame f = {0}; /* set by frame_of; zeroed so gcc -O3 sees no path without it */
  ebm_status st = frame_of(nseries, series, log_x, &f);
  if (st != EBM_OK) return st;
  plot_canvas c = {WIDTH, HEIGHT, malloc((size_t)WIDTH * HEIGHT * 3)};
  if (!c.px) return ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing %s", path);
  plot_rect(&c, 0, 0, WIDTH, HEIGHT, white, 1.0);
  draw_axes(&c, &f, title, x_label, y_label);
  for (int s = 0; s < nseries; s++) draw_series(&c, &f, &series[s], palette[s]);
  draw_legend(&c, nseries, series);
  st = ebm_png_write(path, c.w, c.h, 3, c.px);
  free(c.px);
  return st;
}
