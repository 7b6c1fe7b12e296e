/* The reliability diagram of a classifier (eval.h ebm_reliability_png; Guo
 * et al. 2017, "On calibration of modern neural networks", Fig. 1): per
 * confidence bin, the accuracy of the items in it as a bar, the gap to
 * their mean confidence in red, and the diagonal a calibrated model sits
 * on. JEM's claim (Grathwohl et al. 2020, Fig. 6) is that its bars follow
 * the diagonal where a softmax classifier's fall below it. */
#include <stdio.h>
#include <stdlib.h>

#include "ebm/eval.h"
#include "ebm/io.h"
#include "eval/plot_internal.h"

#define SIDE 320    /* the unit square, in pixels */
#define LEFT 50
#define TOP 40
#define WIDTH (LEFT + SIDE + 30)
#define HEIGHT (TOP + SIDE + 40)

static const uint8_t ink[3] = {40, 40, 40}, bar[3] = {31, 119, 180}, gap[3] = {214, 39, 40},
                     white[3] = {255, 255, 255}, grid[3] = {200, 200, 200};

/* Pixel of a value v in [0, 1] along x, and along y (0 at the bottom). */
static int px_x(double v) { return LEFT + (int)(v * SIDE + 0.5); }
static int px_y(double v) { return TOP + SIDE - (int)(v * SIDE + 0.5); }

static void draw(plot_canvas *c, int bins, const double *conf, const double *hits, const int64_t *count,
                 double accuracy, double ece) {
  char text[96];
  plot_rect(c, 0, 0, c->w, c->h, white, 1.0);
  for (int t = 1; t < 4; t++) { /* quarter grid lines */
    plot_rect(c, px_x(t / 4.0), TOP, px_x(t / 4.0) + 1, TOP + SIDE, grid, 1.0);
    plot_rect(c, LEFT, px_y(t / 4.0), LEFT + SIDE, px_y(t / 4.0) + 1, grid, 1.0);
  }
  for (int b = 0; b < bins; b++) {
    if (count[b] == 0) continue;
    const double acc = hits[b] / (double)count[b], mean_conf = conf[b] / (double)count[b];
    const int x0 = px_x((double)b / bins) + 1, x1 = px_x((double)(b + 1) / bins);
    plot_rect(c, x0, px_y(acc), x1, TOP + SIDE, bar, 0.85);
    const double lo = acc < mean_conf ? acc : mean_conf, hi = acc < mean_conf ? mean_conf : acc;
    plot_rect(c, x0, px_y(hi), x1, px_y(lo), gap, 0.35);
  }
  for (int t = 0; t <= SIDE; t++) plot_rect(c, LEFT + t, TOP + SIDE - t - 1, LEFT + t + 1, TOP + SIDE - t + 1, ink, 0.8);
  plot_rect(c, LEFT - 1, TOP, LEFT, TOP + SIDE + 1, ink, 1.0); /* axes */
  plot_rect(c, LEFT - 1, TOP + SIDE, LEFT + SIDE + 1, TOP + SIDE + 1, ink, 1.0);
  static const char *const ticks[3] = {"0", "0.5", "1"};
  for (int t = 0; t < 3; t++) {
    plot_text(c, px_x(t / 2.0) - plot_text_width(ticks[t], 1) / 2, TOP + SIDE + 6, 1, ticks[t], ink);
    plot_text(c, LEFT - 8 - plot_text_width(ticks[t], 1), px_y(t / 2.0) - 3, 1, ticks[t], ink);
  }
  plot_text(c, LEFT + SIDE / 2 - plot_text_width("confidence", 1) / 2, TOP + SIDE + 22, 1, "confidence", ink);
  plot_text(c, 4, TOP - 12, 1, "accuracy", ink);
  snprintf(text, sizeof text, "acc %.3f  ece %.3f", accuracy, ece);
  plot_text(c, LEFT, 8, 2, text, ink);
}

ebm_status ebm_reliability_png(const char *path, const float *logits, const int32_t *y, int64_t n, int k, int bins) {
  double accuracy = 0, ece = 0;
  ebm_status st = ebm_calibration(logits, y, n, k, bins, &accuracy, &ece);
  if (st != EBM_OK) return st;
  double *conf = malloc((size_t)bins * sizeof *conf), *hits = malloc((size_t)bins * sizeof *hits);
  int64_t *count = malloc((size_t)bins * sizeof *count);
  plot_canvas c = {WIDTH, HEIGHT, malloc((size_t)WIDTH * HEIGHT * 3)};
  if (!conf || !hits || !count || !c.px) st = ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing %s", path);
  if (st == EBM_OK) st = ebm_calibration_bins(logits, y, n, k, bins, conf, hits, count, NULL);
  if (st == EBM_OK) {
    draw(&c, bins, conf, hits, count, accuracy, ece);
    st = ebm_png_write(path, c.w, c.h, 3, c.px);
  }
  free(conf);
  free(hits);
  free(count);
  free(c.px);
  return st;
}
