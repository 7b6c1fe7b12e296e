/* `ebm show curves`: a line chart of a tab-separated table of results
 * (sample quality against training time, accuracy against steps), the
 * pictures next to the README's tables. */
#include <stdlib.h>

#include "cli.h"

#define VERB "show curves"
#define MAX_TABLE_BYTES (64u << 20)

static int draw_table(const char *path, const char *out, const char *title, const char *y_label, int log_x) {
  uint8_t *text = NULL;
  size_t size = 0;
  ebm_curves_table t;
  ebm_status st = ebm_read_file(path, MAX_TABLE_BYTES, &text, &size);
  if (st == EBM_OK) st = ebm_curves_table_parse((const char *)text, size, path, &t);
  free(text);
  if (st != EBM_OK) return cli_runtime_error(st);
  ebm_curve_series series[EBM_CURVES_MAX_SERIES];
  double *columns = malloc((size_t)(t.rows * t.nseries) * sizeof *columns);
  if (!columns) st = ebm_set_error(EBM_ERR_NOMEM, "out of memory reading %s", path);
  for (int s = 0; st == EBM_OK && s < t.nseries; s++) { /* the table is row-major; a series is a column */
    for (int64_t r = 0; r < t.rows; r++) columns[s * t.rows + r] = t.y[r * t.nseries + s];
    series[s] = (ebm_curve_series){t.labels[s], t.x, columns + s * t.rows, t.rows};
  }
  if (st == EBM_OK) st = ebm_curves_png(out, title, t.x_label, y_label, t.nseries, series, log_x);
  if (st == EBM_OK)
    printf("wrote %s: %d series over %lld rows of %s\n", out, t.nseries, (long long)t.rows, path);
  free(columns);
  ebm_curves_table_free(&t);
  return st == EBM_OK ? CLI_EXIT_OK : cli_runtime_error(st);
}

static int run_show_curves(int argc, char **argv) {
  const char *table = NULL, *out = NULL, *title = NULL, *y_label = NULL;
  int log_x = 0;
  cli_opt opts[] = {
      {"table", OPT_PATH_IN, &table, "T.tsv", "tab-separated: a header 'x<TAB>series…', then rows of numbers (required)"},
      {"out", OPT_PATH_OUT, &out, "FILE.png", "where to write the chart (required)"},
      {"title", OPT_STRING, &title, "TEXT", "title above the chart"},
      {"ylabel", OPT_STRING, &y_label, "TEXT", "label of the y axis"},
      {"logx", OPT_FLAG, &log_x, NULL, "log scale on x (every x > 0)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!table) return cli_usage_error(VERB, "--table T.tsv is required");
  if (!out) return cli_usage_error(VERB, "--out FILE.png is required");
  return draw_table(table, out, title, y_label, log_x);
}

CLI_COMMAND(show_curves, "show curves", "--table T.tsv --out FILE.png [--logx] [--title TEXT] [--ylabel TEXT]",
            "draw a table of results (x, then one column per series) as a line chart",
            "Reads a tab-separated table: a header line with the x label and one label per\n"
            "series (up to 8), then one row of numbers per x; an empty cell, '-' or 'nan' is\n"
            "missing (the line joins the points around it), so series measured at different x\n"
            "share a table; lines starting with '#' are comments. Draws every series as a line\n"
            "with a marker per point, a legend and ticks (--logx: log scale on x).",
            run_show_curves)
