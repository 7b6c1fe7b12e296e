/* Pieces of the run report (ebm/report.h): HTML text helpers and the SVG
 * line plot. Not part of the public API. */
#ifndef EBM_REPORT_INTERNAL_H
#define EBM_REPORT_INTERNAL_H

#include <stdint.h>

#include "io/io_internal.h"

/* One curve of a plot: y[i] at the plot's x[i]; NaN leaves a gap. */
typedef struct {
  const char *label;
  const char *color; /* CSS colour */
  const double *y;
} report_series;

/* Something that happened to the run at a step (events.jsonl). */
typedef struct {
  int64_t step;
  char *event;  /* "start", "resume", "diverged", "interrupted", ... */
  char *detail; /* NULL or the message */
} report_event;

/* Appends `s` with &, <, >, " escaped (text and attribute values). */
void report_html_escape(io_buf *b, const char *s);

/* Appends data[0..n) as standard base64 (RFC 4648, padded). */
void report_base64(io_buf *b, const uint8_t *data, size_t n);

/* Appends an <svg> line plot of n points (x ascending) with a title, axes
 * with about five labelled ticks each, a legend, and every event except
 * "start" as a vertical mark at its step (its <title> gives the detail);
 * the step axis covers the events too (a divergence follows the last
 * logged step).
 * Curves are thinned to at most ~2000 points by taking every k-th one. */
void report_svg_plot(io_buf *b, const char *title, const double *x, int64_t n, const report_series *series,
                     int nseries, const report_event *events, int nevents);

#endif
