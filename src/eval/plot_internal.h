/* eval/plot_internal.h — the RGB canvas eval's pictures are drawn on. Not public. */
#ifndef EBM_PLOT_INTERNAL_H
#define EBM_PLOT_INTERNAL_H

#include <stdint.h>

#include "core/axis_ticks.h" /* axis_nice_step, axis_ticks: shared with the run report */

/* The 7 rows (5 bits each, bit 4 leftmost) of a character, or NULL. */
const uint8_t *plot_glyph(char ch);

#define PLOT_GLYPH_W 6 /* advance per character: 5 pixels and a space */
#define PLOT_GLYPH_H 7

typedef struct {
  int w, h;
  uint8_t *px; /* h × w × 3 */
} plot_canvas;

/* Blends rgb over pixel (x, y) with opacity alpha in [0, 1]; outside: no-op. */
void plot_blend(plot_canvas *c, int x, int y, const uint8_t rgb[3], double alpha);
/* Filled rectangle [x0, x1) × [y0, y1), clipped. */
void plot_rect(plot_canvas *c, int x0, int y0, int x1, int y1, const uint8_t rgb[3], double alpha);
/* Text with its top-left corner at (x, y), each font pixel scale×scale. */
void plot_text(plot_canvas *c, int x, int y, int scale, const char *text, const uint8_t rgb[3]);
/* Width in pixels of text at a scale. */
int plot_text_width(const char *text, int scale);

#endif
