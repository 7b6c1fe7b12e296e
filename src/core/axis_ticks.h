/* The tick marks of a plot axis, shared by every picture the library draws
 * (eval/plot.c's histograms, eval/curves_png.c's `ebm show curves`) and by
 * the run report's SVG plots (report/svg_plot.c). Not public. */
#ifndef EBM_CORE_AXIS_TICKS_H
#define EBM_CORE_AXIS_TICKS_H

/* The most ticks an axis gets, whatever its range. */
#define AXIS_MAX_TICKS 24

/* A tick spacing of 1, 2 or 5 × 10^k giving about `target` ticks over span. */
double axis_nice_step(double span, int target);

/* The multiples of step in [lo, hi] into out (at most AXIS_MAX_TICKS), in
 * order; returns how many. Counted rather than stepped until past hi, so a
 * range that a file made absurd ends: a span of 1e308 (step not finite: no
 * ticks), or a step below the resolution of a double at the range's
 * magnitude (a loss of 1e20 moving by 1e4: the value stops advancing, and
 * the ticks stop there). */
int axis_ticks(double lo, double hi, double step, double *out);

#endif
