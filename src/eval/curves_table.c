/* The tab-separated tables `ebm show curves` draws (eval.h
 * ebm_curves_table_parse): one header line of labels, then rows of
 * numbers. Parsed from memory so the fuzz target sees what the verb sees. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/eval.h"

#define MAX_LINE 4096
#define MAX_ROWS 1000000

void ebm_curves_table_free(ebm_curves_table *t) {
  if (!t) return;
  free(t->x_label);
  for (int s = 0; s < EBM_CURVES_MAX_SERIES; s++) free(t->labels[s]);
  free(t->x);
  free(t->y);
  memset(t, 0, sizeof *t);
}

/* Splits line (modified in place) at tabs into at most max cells; returns
 * the count, or max + 1 when there were more. */
static int split_cells(char *line, char **cells, int max) {
  int n = 0;
  for (char *p = line;; p++) {
    if (n == max + 1) return n;
    cells[n++] = p;
    p = strchr(p, '\t');
    if (!p) return n;
    *p = '\0';
  }
}

static char *dup_text(const char *s) {
  const size_t n = strlen(s);
  char *d = malloc(n + 1);
  if (d) memcpy(d, s, n + 1);
  return d;
}

/* A cell's value: a number, or NaN for a gap. 0 when it is neither. */
static int cell_value(const char *cell, double *v) {
  while (*cell == ' ') cell++;
  if (!*cell || strcmp(cell, "-") == 0 || strcmp(cell, "nan") == 0 || strcmp(cell, "NaN") == 0) {
    *v = NAN;
    return 1;
  }
  char *end = NULL;
  errno = 0;
  *v = strtod(cell, &end);
  while (end && *end == ' ') end++;
  return end != cell && end && *end == '\0' && errno != ERANGE && isfinite(*v);
}

static ebm_status add_row(ebm_curves_table *t, char **cells, const char *origin, int64_t line_no) {
  if (t->rows >= MAX_ROWS)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: more than %d rows", origin, MAX_ROWS);
  double *x = realloc(t->x, (size_t)(t->rows + 1) * sizeof *x);
  if (x) t->x = x;
  double *y = x ? realloc(t->y, (size_t)(t->rows + 1) * (size_t)t->nseries * sizeof *y) : NULL;
  if (y) t->y = y;
  if (!x || !y) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory at line %lld", origin, (long long)line_no);
  for (int c = 0; c <= t->nseries; c++) {
    double v;
    if (!cell_value(cells[c], &v))
      return ebm_set_error(EBM_ERR_FORMAT, "%s: line %lld: column %d ('%.40s') is not a number", origin,
                           (long long)line_no, c + 1, cells[c]);
    if (c == 0) t->x[t->rows] = v;
    else t->y[t->rows * t->nseries + c - 1] = v;
  }
  t->rows++;
  return EBM_OK;
}

static ebm_status parse_line(ebm_curves_table *t, char *line, const char *origin, int64_t line_no) {
  char *cells[EBM_CURVES_MAX_SERIES + 2];
  const int n = split_cells(line, cells, EBM_CURVES_MAX_SERIES + 1);
  if (!t->x_label) { /* the header */
    if (n < 2 || n > EBM_CURVES_MAX_SERIES + 1)
      return ebm_set_error(EBM_ERR_FORMAT, "%s: line %lld: the header needs an x label and 1..%d series labels, "
                           "tab-separated; found %d cell(s)", origin, (long long)line_no, EBM_CURVES_MAX_SERIES,
                           n > EBM_CURVES_MAX_SERIES + 1 ? n - 1 : n);
    t->nseries = n - 1;
    if (!(t->x_label = dup_text(cells[0]))) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", origin);
    for (int s = 0; s < t->nseries; s++)
      if (!(t->labels[s] = dup_text(cells[s + 1]))) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", origin);
    return EBM_OK;
  }
  if (n != t->nseries + 1)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: line %lld has %d cell(s); the header has %d", origin,
                         (long long)line_no, n, t->nseries + 1);
  return add_row(t, cells, origin, line_no);
}

ebm_status ebm_curves_table_parse(const char *text, size_t size, const char *origin, ebm_curves_table *out) {
  memset(out, 0, sizeof *out);
  char line[MAX_LINE];
  ebm_status st = EBM_OK;
  int64_t line_no = 0;
  for (size_t at = 0; at < size && st == EBM_OK;) {
    const char *nl = memchr(text + at, '\n', size - at);
    size_t len = (nl ? (size_t)(nl - (text + at)) : size - at);
    line_no++;
    if (len >= MAX_LINE) {
      st = ebm_set_error(EBM_ERR_FORMAT, "%s: line %lld is longer than %d bytes", origin, (long long)line_no,
                         MAX_LINE - 1);
      break;
    }
    memcpy(line, text + at, len);
    at += len + 1;
    if (len > 0 && line[len - 1] == '\r') len--;
    line[len] = '\0';
    if (memchr(line, '\0', len)) st = ebm_set_error(EBM_ERR_FORMAT, "%s: line %lld holds a NUL byte", origin, (long long)line_no);
    else if (len > 0 && line[0] != '#') st = parse_line(out, line, origin, line_no);
  }
  if (st == EBM_OK && !out->x_label) st = ebm_set_error(EBM_ERR_FORMAT, "%s: no header line", origin);
  if (st == EBM_OK && out->rows == 0) st = ebm_set_error(EBM_ERR_FORMAT, "%s: no rows of numbers under the header", origin);
  if (st != EBM_OK) ebm_curves_table_free(out);
  return st;
}
