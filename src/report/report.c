/* ebm_report_write (ebm/report.h): reads a run directory's metrics,
 * events, sample pictures, config and evaluation results, and writes one
 * self-contained HTML page. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "ebm/io.h"
#include "ebm/train.h" /* the run clock: a run directory is what train writes */
#include "report/report_internal.h"

#define PATH_SIZE 4096
#define MAX_TEXT_BYTES ((size_t)1 << 32)
#define MAX_STRIP 16 /* sample pictures shown, evenly spaced over the run */

/* The metrics a report plots, in the order of the page. Each plot draws up
 * to two keys of metrics.jsonl. */
static const struct {
  const char *title;
  const char *keys[2];
  const char *labels[2];
} plots[] = {
    {"loss", {"loss", NULL}, {"loss", NULL}},
    {"mean energies", {"e_pos", "e_neg"}, {"e_pos (data)", "e_neg (samples)"}},
    {"parameter gradient norm (before clipping)", {"grad_norm", NULL}, {"grad_norm", NULL}},
    {"learning rate", {"lr", NULL}, {"lr", NULL}},
    {"sampler acceptance", {"mcmc_accept", NULL}, {"acceptance", NULL}},
    {"sampler step size", {"step_size", NULL}, {"step size", NULL}},
    {"sampler energy at its last step", {"mcmc_energy", NULL}, {"energy", NULL}},
    {"sampler gradient norm at its last step", {"mcmc_grad_norm", NULL}, {"|grad E|", NULL}},
    {"seconds per step", {"step_seconds", NULL}, {"seconds", NULL}},
};
#define NPLOTS ((int)(sizeof plots / sizeof plots[0]))
#define NKEYS (2 * NPLOTS)
static const char *const colors[2] = {"#1f77b4", "#9467bd"};

typedef struct {
  int64_t n, cap;
  double *step;
  double *col[NKEYS]; /* plots[k / 2].keys[k % 2]; NaN where absent */
  report_event *events;
  int nevents;
  cJSON *config;
} run_data;

static void run_data_free(run_data *r) {
  free(r->step);
  for (int k = 0; k < NKEYS; k++) free(r->col[k]);
  for (int i = 0; i < r->nevents; i++) {
    free(r->events[i].event);
    free(r->events[i].detail);
  }
  free(r->events);
  cJSON_Delete(r->config);
}

static int file_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* Reads a text file; *text NULL (and EBM_OK) when it does not exist. */
static ebm_status read_optional(const char *path, char **text, size_t *size) {
  *text = NULL;
  *size = 0;
  if (!file_exists(path)) return EBM_OK;
  return ebm_read_file(path, MAX_TEXT_BYTES, (uint8_t **)text, size);
}

/* Calls fn on every complete line of `text`: a last line without its
 * newline is being written right now and is left for the next refresh. */
typedef ebm_status (*line_fn)(run_data *r, const cJSON *obj, const char *path, int line);
static ebm_status each_json_line(run_data *r, const char *path, const char *text, size_t size, line_fn fn) {
  int line = 0;
  for (size_t pos = 0; pos < size;) {
    const char *start = text + pos, *nl = memchr(start, '\n', size - pos);
    if (!nl) break;
    line++;
    pos = (size_t)(nl - text) + 1;
    if (nl == start) continue;
    cJSON *obj = cJSON_ParseWithLength(start, (size_t)(nl - start));
    ebm_status st = cJSON_IsObject(obj) ? fn(r, obj, path, line)
                                        : ebm_set_error(EBM_ERR_FORMAT, "%s:%d: not a JSON object", path, line);
    cJSON_Delete(obj);
    if (st != EBM_OK) return st;
  }
  return EBM_OK;
}

static double number_or_nan(const cJSON *obj, const char *key) {
  const cJSON *v = key ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static ebm_status add_metrics_line(run_data *r, const cJSON *obj, const char *path, int line) {
  double step = number_or_nan(obj, "step");
  if (!isfinite(step)) return ebm_set_error(EBM_ERR_FORMAT, "%s:%d: no numeric \"step\"", path, line);
  if (r->n == r->cap) {
    int64_t cap = r->cap ? 2 * r->cap : 1024;
    double *s = realloc(r->step, (size_t)cap * sizeof *s);
    if (s) r->step = s;
    for (int k = 0; k < NKEYS && s; k++) {
      double *c = realloc(r->col[k], (size_t)cap * sizeof *c);
      if (c) r->col[k] = c;
      else s = NULL;
    }
    if (!s) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
    r->cap = cap;
  }
  r->step[r->n] = step;
  for (int k = 0; k < NKEYS; k++) r->col[k][r->n] = number_or_nan(obj, plots[k / 2].keys[k % 2]);
  r->n++;
  return EBM_OK;
}

static ebm_status add_event_line(run_data *r, const cJSON *obj, const char *path, int line) {
  const cJSON *event = cJSON_GetObjectItemCaseSensitive(obj, "event");
  const cJSON *detail = cJSON_GetObjectItemCaseSensitive(obj, "detail");
  double step = number_or_nan(obj, "step");
  if (!cJSON_IsString(event) || !isfinite(step))
    return ebm_set_error(EBM_ERR_FORMAT, "%s:%d: an event needs \"step\" and \"event\"", path, line);
  if (fabs(step) > 9007199254740992.0) /* 2^53: past it a double holds no step exactly, and int64 overflows */
    return ebm_set_error(EBM_ERR_FORMAT, "%s:%d: \"step\" %g is not a step number", path, line, step);
  report_event *grown = realloc(r->events, (size_t)(r->nevents + 1) * sizeof *grown);
  if (!grown) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  r->events = grown;
  report_event *e = &r->events[r->nevents];
  e->step = (int64_t)step;
  e->event = strdup(event->valuestring);
  e->detail = cJSON_IsString(detail) ? strdup(detail->valuestring) : NULL;
  r->nevents++;
  if (!e->event || (cJSON_IsString(detail) && !e->detail)) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  return EBM_OK;
}

static ebm_status read_json_lines(run_data *r, const char *run_dir, const char *name, line_fn fn) {
  char path[PATH_SIZE], *text = NULL;
  size_t size = 0;
  snprintf(path, sizeof path, "%s/%s", run_dir, name);
  ebm_status st = read_optional(path, &text, &size);
  if (st == EBM_OK && text) st = each_json_line(r, path, text, size, fn);
  free(text);
  return st;
}

static ebm_status read_config(run_data *r, const char *run_dir) {
  char path[PATH_SIZE], *text = NULL;
  size_t size = 0;
  snprintf(path, sizeof path, "%s/config.json", run_dir);
  ebm_status st = read_optional(path, &text, &size);
  if (st == EBM_OK && text) {
    r->config = cJSON_ParseWithLength(text, size);
    if (!cJSON_IsObject(r->config)) st = ebm_set_error(EBM_ERR_FORMAT, "%s: not a JSON object", path);
  }
  free(text);
  return st;
}

/* --------------------------------------------------------------- the page */

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"refresh\" content=\"30\">\n<title>";
static const char page_style[] =
    "</title>\n<style>\n"
    "body{font-family:sans-serif;margin:16px;color:#222;background:#fff}\n"
    "h1{font-size:20px}h2{font-size:16px;margin-top:24px}\n"
    ".plots{display:flex;flex-wrap:wrap;gap:8px}\n"
    "svg.plot{background:#fff;border:1px solid #ddd}\n"
    "svg .area{fill:#fafafa;stroke:#888}svg .grid{stroke:#e4e4e4}\n"
    "svg .tick{font-size:11px;fill:#444}svg .title{font-size:13px;font-weight:bold;fill:#222}\n"
    "svg .curve{fill:none;stroke-width:1.5}\n"
    ".strip{display:flex;overflow-x:auto;gap:8px}\n"
    ".strip figure{margin:0}.strip img{height:180px;image-rendering:pixelated;border:1px solid #ddd}\n"
    ".strip figcaption{font-size:12px;text-align:center}\n"
    "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}\n"
    ".diverged{color:#d62728}.resume{color:#2ca02c}.interrupted{color:#ff7f0e}\n"
    "</style>\n</head>\n<body>\n";

/* Fills y with the config's constant step size when the metrics lack it. */
static int config_step_size(const run_data *r, double *y) {
  const cJSON *v = r->config ? cJSON_GetObjectItemCaseSensitive(r->config, "step-size") : NULL;
  if (!cJSON_IsNumber(v)) return 0;
  for (int64_t i = 0; i < r->n; i++) y[i] = v->valuedouble;
  return 1;
}

static int has_finite(const double *y, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (isfinite(y[i])) return 1;
  return 0;
}

static void write_plots(io_buf *b, run_data *r) {
  io_buf_puts(b, "<h2>Metrics</h2>\n");
  if (r->n == 0) {
    io_buf_puts(b, "<p>No metrics logged yet.</p>\n");
    return;
  }
  io_buf_puts(b, "<div class=\"plots\">\n");
  for (int p = 0; p < NPLOTS; p++) {
    report_series series[2];
    int ns = 0;
    for (int k = 0; k < 2 && plots[p].keys[k]; k++) {
      double *y = r->col[2 * p + k];
      if (!has_finite(y, r->n) && !(strcmp(plots[p].keys[k], "step_size") == 0 && config_step_size(r, y)))
        continue;
      series[ns++] = (report_series){plots[p].labels[k], colors[k], y};
    }
    if (ns) report_svg_plot(b, plots[p].title, r->step, r->n, series, ns, r->events, r->nevents);
  }
  io_buf_puts(b, "</div>\n");
}

static void write_summary(io_buf *b, const char *run_dir, const run_data *r) {
  io_buf_puts(b, "<h1>ebm run ");
  report_html_escape(b, run_dir);
  io_buf_puts(b, "</h1>\n<p>");
  if (r->n > 0) {
    const int64_t last = r->n - 1;
    io_buf_printf(b, "step %.0f", r->step[last]);
    const cJSON *iters = r->config ? cJSON_GetObjectItemCaseSensitive(r->config, "resolved_iters") : NULL;
    if (cJSON_IsNumber(iters)) io_buf_printf(b, " of %.0f", iters->valuedouble);
    static const int shown[] = {0, 2, 3}; /* columns of loss, e_pos, e_neg */
    for (int k = 0; k < 3; k++)
      io_buf_printf(b, "; %s %.4g", plots[shown[k] / 2].keys[shown[k] % 2], r->col[shown[k]][last]);
  } else {
    io_buf_puts(b, "no steps logged yet");
  }
  ebm_run_clock c; /* the run's time at its last save, over all its parts */
  if (ebm_run_clock_read(run_dir, &c) == EBM_OK) {
    io_buf_printf(b, ". Saved at step %lld after %.1f CPU-s (%.1f s wall) over %lld part%s", (long long)c.step,
                  c.cpu_seconds, c.wall_seconds, (long long)c.parts, c.parts == 1 ? "" : "s");
    if (c.since_step) io_buf_printf(b, " since step %lld (the time before it not recorded)", (long long)c.since_step);
  }
  io_buf_puts(b, ". The page reloads itself every 30 s.</p>\n");
}

static void write_events(io_buf *b, const run_data *r) {
  if (r->nevents == 0) return;
  io_buf_puts(b, "<h2>Events</h2>\n<table>\n<tr><th>step</th><th>event</th><th>detail</th></tr>\n");
  for (int i = 0; i < r->nevents; i++) {
    io_buf_puts(b, "<tr class=\"");
    report_html_escape(b, r->events[i].event);
    io_buf_printf(b, "\"><td>%lld</td><td>", (long long)r->events[i].step);
    report_html_escape(b, r->events[i].event);
    io_buf_puts(b, "</td><td>");
    report_html_escape(b, r->events[i].detail);
    io_buf_puts(b, "</td></tr>\n");
  }
  io_buf_puts(b, "</table>\n");
}

static int compare_steps(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x > y) - (x < y);
}

/* The steps of samples/step_N.png, ascending (malloc'd; *n of them). */
static ebm_status sample_steps(const char *run_dir, long long **steps, int *n) {
  char path[PATH_SIZE];
  *steps = NULL;
  *n = 0;
  snprintf(path, sizeof path, "%s/samples", run_dir);
  DIR *dir = opendir(path);
  if (!dir) return EBM_OK;
  int cap = 0;
  ebm_status st = EBM_OK;
  for (struct dirent *e; (e = readdir(dir)) != NULL;) {
    long long step;
    char tail[8];
    if (sscanf(e->d_name, "step_%lld.%7s", &step, tail) != 2 || strcmp(tail, "png") != 0) continue;
    if (*n == cap) {
      cap = cap ? 2 * cap : 64;
      long long *grown = realloc(*steps, (size_t)cap * sizeof *grown);
      if (!grown) {
        st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
        break;
      }
      *steps = grown;
    }
    (*steps)[(*n)++] = step;
  }
  closedir(dir);
  if (*n > 1) qsort(*steps, (size_t)*n, sizeof **steps, compare_steps);
  return st;
}

static ebm_status write_strip(io_buf *b, const char *run_dir) {
  long long *steps = NULL;
  int n = 0;
  ebm_status st = sample_steps(run_dir, &steps, &n);
  if (st != EBM_OK || n == 0) goto done;
  io_buf_printf(b, "<h2>Samples over time</h2>\n<p>Negatives of the sampler (%d pictures%s).</p>\n"
                   "<div class=\"strip\">\n", n, n > MAX_STRIP ? ", evenly spaced ones shown" : "");
  int shown = n > MAX_STRIP ? MAX_STRIP : n;
  for (int i = 0; i < shown && st == EBM_OK; i++) {
    int k = shown == 1 ? n - 1 : (int)((int64_t)i * (n - 1) / (shown - 1)); /* first and last always */
    char path[PATH_SIZE];
    uint8_t *png = NULL;
    size_t size = 0;
    snprintf(path, sizeof path, "%s/samples/step_%06lld.png", run_dir, steps[k]);
    if (!file_exists(path)) continue; /* a name with other zero-padding: skip rather than guess */
    if ((st = ebm_read_file(path, MAX_TEXT_BYTES, &png, &size)) != EBM_OK) break;
    io_buf_puts(b, "<figure><img alt=\"samples at step ");
    io_buf_printf(b, "%lld\" src=\"data:image/png;base64,", steps[k]);
    report_base64(b, png, size);
    io_buf_printf(b, "\"><figcaption>step %lld</figcaption></figure>\n", steps[k]);
    free(png);
  }
  io_buf_puts(b, "</div>\n");
done:
  free(steps);
  return st;
}

/* A JSON value as table rows: objects flattened with dotted keys, anything
 * else as its compact JSON text (strings without quotes). */
static void json_rows(io_buf *b, const char *prefix, const cJSON *v) {
  if (cJSON_IsObject(v) && !(prefix[0] && cJSON_GetArraySize(v) == 0)) {
    for (const cJSON *c = v->child; c; c = c->next) {
      char key[512];
      snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", c->string);
      if (strcmp(key, "arch_json") == 0 || !cJSON_IsObject(c)) {
        io_buf_puts(b, "<tr><td>");
        report_html_escape(b, key);
        io_buf_puts(b, "</td><td>");
        char *text = cJSON_IsString(c) ? NULL : cJSON_PrintUnformatted(c);
        report_html_escape(b, cJSON_IsString(c) ? c->valuestring : text);
        cJSON_free(text);
        io_buf_puts(b, "</td></tr>\n");
      } else {
        json_rows(b, key, c);
      }
    }
  }
}

static void json_table(io_buf *b, const char *heading, const cJSON *v) {
  io_buf_puts(b, "<h2>");
  report_html_escape(b, heading);
  io_buf_puts(b, "</h2>\n<table>\n");
  json_rows(b, "", v);
  io_buf_puts(b, "</table>\n");
}

/* Adds an evaluation table for `path` if it is a JSON object file. */
static ebm_status eval_table(io_buf *b, const char *path, const char *name) {
  char *text = NULL;
  size_t size = 0;
  ebm_status st = ebm_read_file(path, MAX_TEXT_BYTES, (uint8_t **)&text, &size);
  if (st != EBM_OK) return st;
  cJSON *root = cJSON_ParseWithLength(text, size);
  free(text);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return ebm_set_error(EBM_ERR_FORMAT, "%s: not a JSON object", path);
  }
  char heading[600];
  snprintf(heading, sizeof heading, "Evaluation: %s", name);
  json_table(b, heading, root);
  cJSON_Delete(root);
  return EBM_OK;
}

/* RUN/eval*.json and RUN/eval/ *.json, in name order. */
static ebm_status write_evals(io_buf *b, const char *run_dir) {
  static const struct { const char *sub, *prefix; } places[] = {{"", "eval"}, {"/eval", ""}};
  ebm_status st = EBM_OK;
  for (int p = 0; p < 2 && st == EBM_OK; p++) {
    char dir[PATH_SIZE], path[PATH_SIZE];
    snprintf(dir, sizeof dir, "%s%s", run_dir, places[p].sub);
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
      const char *name = names[i]->d_name;
      size_t len = strlen(name);
      if (st == EBM_OK && len > 5 && strcmp(name + len - 5, ".json") == 0 &&
          strncmp(name, places[p].prefix, strlen(places[p].prefix)) == 0) {
        snprintf(path, sizeof path, "%s/%s", dir, name);
        st = eval_table(b, path, name);
      }
      free(names[i]);
    }
    free(names);
  }
  return st;
}

ebm_status ebm_report_write(const char *run_dir, const char *out_path) {
  char metrics[PATH_SIZE], config[PATH_SIZE], out[PATH_SIZE];
  run_data r = {0};
  io_buf b = {0};
  ebm_status st;
  if (!run_dir || !run_dir[0]) return ebm_set_error(EBM_ERR_ARG, "no run directory given");
  if (strlen(run_dir) > PATH_SIZE - 64) return ebm_set_error(EBM_ERR_ARG, "%s: path too long", run_dir);
  snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", run_dir);
  snprintf(config, sizeof config, "%s/config.json", run_dir);
  snprintf(out, sizeof out, "%s/report.html", run_dir);
  if (!file_exists(metrics) && !file_exists(config))
    return ebm_set_error(EBM_ERR_IO, "%s: not a run directory (no metrics.jsonl, no config.json)", run_dir);
  if ((st = read_config(&r, run_dir)) != EBM_OK) goto done;
  if ((st = read_json_lines(&r, run_dir, "metrics.jsonl", add_metrics_line)) != EBM_OK) goto done;
  if ((st = read_json_lines(&r, run_dir, "events.jsonl", add_event_line)) != EBM_OK) goto done;

  io_buf_puts(&b, page_head);
  io_buf_puts(&b, "ebm run ");
  report_html_escape(&b, run_dir);
  io_buf_puts(&b, page_style);
  write_summary(&b, run_dir, &r);
  write_plots(&b, &r);
  write_events(&b, &r);
  if ((st = write_strip(&b, run_dir)) != EBM_OK) goto done;
  if ((st = write_evals(&b, run_dir)) != EBM_OK) goto done;
  if (r.config) json_table(&b, "Configuration (config.json)", r.config);
  io_buf_puts(&b, "</body>\n</html>\n");
  if (b.failed) {
    st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory writing the report", run_dir);
    goto done;
  }
  st = ebm_write_file_atomic(out_path ? out_path : out, b.data, b.len);
done:
  io_buf_free(&b);
  run_data_free(&r);
  return st;
}
