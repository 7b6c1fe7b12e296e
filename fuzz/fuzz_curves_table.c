/* libFuzzer: any bytes through ebm_curves_table_parse (the tables of `ebm
 * show curves`). A parse either fails with a message and nothing to free, or
 * gives 1..8 series and at least one row whose x values are numbers. A table
 * that parses is then drawn (ebm_curves_png, linear and log x), as the
 * command does: drawing either succeeds or refuses with a message, and ends
 * (its tick loop once ran forever on y values a double cannot step through). */
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "fuzz_common.h"

static void draw(const ebm_curves_table *t) {
  static char png[64];
  if (!png[0]) snprintf(png, sizeof png, "/tmp/fuzz_curves_table.%d.png", (int)getpid());
  ebm_curve_series series[EBM_CURVES_MAX_SERIES];
  double *columns = malloc((size_t)(t->rows * t->nseries) * sizeof *columns);
  if (!columns) return;
  for (int s = 0; s < t->nseries; s++) { /* row-major table, a series is a column */
    for (int64_t r = 0; r < t->rows; r++) columns[s * t->rows + r] = t->y[r * t->nseries + s];
    series[s] = (ebm_curve_series){t->labels[s], t->x, columns + s * t->rows, t->rows};
  }
  for (int log_x = 0; log_x < 2; log_x++)
    fuzz_check_message(ebm_curves_png(png, "fuzz", t->x_label, "y", t->nseries, series, log_x));
  free(columns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ebm_curves_table t;
  ebm_status s = ebm_curves_table_parse((const char *)data, size, "fuzz.tsv", &t);
  fuzz_check_message(s);
  if (s != EBM_OK) {
    FUZZ_CHECK(t.x == NULL && t.y == NULL && t.x_label == NULL);
    return 0;
  }
  FUZZ_CHECK(t.nseries >= 1 && t.nseries <= EBM_CURVES_MAX_SERIES && t.rows >= 1);
  for (int64_t r = 0; r < t.rows; r++) FUZZ_CHECK(isnan(t.x[r]) || isfinite(t.x[r]));
  draw(&t);
  ebm_curves_table_free(&t);
  return 0;
}
