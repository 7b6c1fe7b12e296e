/* The report's line plot: one <svg> per metric over the training step, with
 * axes, ticks, a legend and event marks. Plain SVG 1.1 that any browser
 * draws without scripts. */
#include <math.h>
#include <string.h>

#include "core/axis_ticks.h"
#include "report/report_internal.h"

enum { WIDTH = 520, HEIGHT = 220, LEFT = 64, RIGHT = 12, TOP = 28, BOTTOM = 34, MAX_POINTS = 2000 };

typedef struct {
  double x0, x1, y0, y1;
} plot_box;

static double px(const plot_box *p, double x) { return LEFT + (x - p->x0) / (p->x1 - p->x0) * (WIDTH - LEFT - RIGHT); }
static double py(const plot_box *p, double y) { return HEIGHT - BOTTOM - (y - p->y0) / (p->y1 - p->y0) * (HEIGHT - TOP - BOTTOM); }

/* Widens [*lo, *hi] when it is empty, or narrower than ticks can tell
 * apart at its magnitude (1e17 and 1e17 + 2), so that a constant curve sits
 * mid-plot between distinct ticks. */
static void widen(double *lo, double *hi) {
  if (*hi - *lo > 1e-9 * fmax(fabs(*lo), fabs(*hi))) return;
  double pad = fabs(*lo) > 0 ? fabs(*lo) * 0.1 : 1.0;
  *lo -= pad;
  *hi += pad;
}

static void axes(io_buf *b, const plot_box *p) {
  io_buf_printf(b, "<rect class=\"area\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", LEFT, TOP,
                WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
  double ys = axis_nice_step(p->y1 - p->y0, 4), xs = axis_nice_step(p->x1 - p->x0, 5), at[AXIS_MAX_TICKS];
  for (int i = 0, n = axis_ticks(p->y0, p->y1, ys, at); i < n; i++) {
    double v = at[i], y = py(p, v);
    io_buf_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", LEFT, y, WIDTH - RIGHT, y);
    io_buf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", LEFT - 4,
                  y + 4, fabs(v) < ys * 1e-9 ? 0.0 : v);
  }
  for (int i = 0, n = axis_ticks(p->x0, p->x1, xs, at); i < n; i++) {
    double v = at[i], x = px(p, v);
    io_buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, TOP, x,
                  HEIGHT - BOTTOM);
    io_buf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.6g</text>\n", x,
                  HEIGHT - BOTTOM + 14, v);
  }
  io_buf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>\n",
                (WIDTH + LEFT) / 2, HEIGHT - 4);
}

static void curve(io_buf *b, const plot_box *p, const double *x, int64_t n, const report_series *s) {
  int64_t stride = n > MAX_POINTS ? (n + MAX_POINTS - 1) / MAX_POINTS : 1;
  int pen_down = 0, points = 0;
  io_buf_printf(b, "<path class=\"curve\" stroke=\"%s\" d=\"", s->color);
  /* every stride-th point, and always the last one */
  for (int64_t i = 0; i < n; i = (i == n - 1 || i + stride < n) ? i + stride : n - 1) {
    if (!isfinite(s->y[i])) {
      pen_down = 0;
    } else {
      io_buf_printf(b, "%c%.1f %.1f ", pen_down ? 'L' : 'M', px(p, x[i]), py(p, s->y[i]));
      pen_down = 1;
      points++;
    }
  }
  io_buf_puts(b, "\"/>\n");
  if (points == 1) /* a lone point draws no line */
    for (int64_t i = 0; i < n; i++)
      if (isfinite(s->y[i]))
        io_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(p, x[i]), py(p, s->y[i]),
                      s->color);
}

static const char *event_color(const char *event) {
  if (strcmp(event, "diverged") == 0) return "#d62728";
  if (strcmp(event, "resume") == 0) return "#2ca02c";
  return "#ff7f0e";
}

static void event_marks(io_buf *b, const plot_box *p, const report_event *events, int nevents) {
  for (int i = 0; i < nevents; i++) {
    const report_event *e = &events[i];
    if (strcmp(e->event, "start") == 0) continue;
    double x = px(p, (double)e->step);
    io_buf_printf(b, "<g class=\"event\"><title>step %lld: ", (long long)e->step);
    report_html_escape(b, e->event);
    if (e->detail) {
      io_buf_puts(b, " — ");
      report_html_escape(b, e->detail);
    }
    io_buf_printf(b, "</title><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
                  "stroke-dasharray=\"4 3\" stroke-width=\"1.5\"/></g>\n",
                  x, TOP, x, HEIGHT - BOTTOM, event_color(e->event));
  }
}

void report_svg_plot(io_buf *b, const char *title, const double *x, int64_t n, const report_series *series,
                     int nseries, const report_event *events, int nevents) {
  plot_box p = {INFINITY, -INFINITY, INFINITY, -INFINITY};
  for (int64_t i = 0; i < n; i++) { /* a hand-edited file need not keep its steps in order */
    p.x0 = fmin(p.x0, x[i]);
    p.x1 = fmax(p.x1, x[i]);
  }
  for (int s = 0; s < nseries; s++)
    for (int64_t i = 0; i < n; i++)
      if (isfinite(series[s].y[i])) {
        p.y0 = fmin(p.y0, series[s].y[i]);
        p.y1 = fmax(p.y1, series[s].y[i]);
      }
  if (!(p.y0 <= p.y1)) p.y0 = p.y1 = 0;
  for (int i = 0; i < nevents; i++) /* a divergence comes after the last logged step */
    if (strcmp(events[i].event, "start") != 0) {
      p.x0 = fmin(p.x0, (double)events[i].step);
      p.x1 = fmax(p.x1, (double)events[i].step);
    }
  widen(&p.x0, &p.x1);
  widen(&p.y0, &p.y1);
  io_buf_printf(b, "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\">\n<text class=\"title\" x=\"%d\" y=\"16\">", WIDTH, HEIGHT, WIDTH, HEIGHT,
                LEFT);
  report_html_escape(b, title);
  io_buf_puts(b, "</text>\n");
  axes(b, &p);
  for (int s = 0; s < nseries; s++) curve(b, &p, x, n, &series[s]);
  event_marks(b, &p, events, nevents);
  for (int s = 0; s < nseries && nseries > 1; s++) { /* legend, top right */
    int y = 16, x0 = WIDTH - RIGHT - 118 * (nseries - s);
    io_buf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>", x0,
                  y - 4, x0 + 16, y - 4, series[s].color);
    io_buf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%d\">", x0 + 20, y);
    report_html_escape(b, series[s].label);
    io_buf_puts(b, "</text>\n");
  }
  io_buf_puts(b, "</svg>\n");
}
