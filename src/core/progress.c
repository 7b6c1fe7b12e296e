/* Progress bar on stderr: redrawn in place on a terminal, plain periodic
 * lines otherwise (logs, CI). Silent for anything that ends within a second. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ebm/core.h"

#define PROGRESS_FIRST_DRAW_SECONDS 1.0
#define PROGRESS_REDRAW_SECONDS 0.1

struct ebm_progress {
  FILE *out;
  char label[64];
  char metric[160];
  int64_t total, done;
  double start, last_draw;
  int is_tty;
  int shown;
};

double ebm_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double ebm_cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

ebm_progress *ebm_progress_new(FILE *out, const char *label, int64_t total) {
  ebm_progress *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->out = out;
  snprintf(p->label, sizeof p->label, "%s", label ? label : "");
  p->total = total;
  p->start = p->last_draw = ebm_now_seconds();
  p->is_tty = out && isatty(fileno(out));
  return p;
}

static void format_duration(double s, char *buf, size_t size) {
  if (s < 0 || s > 1e7) {
    snprintf(buf, size, "?");
    return;
  }
  long t = (long)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, size, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
}

static void draw(ebm_progress *p, double now, int final) {
  double elapsed = now - p->start;
  double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
  char eta[32] = "", el[32];
  format_duration(elapsed, el, sizeof el);
  if (p->total > 0 && rate > 0 && !final) format_duration((double)(p->total - p->done) / rate, eta, sizeof eta);
  char line[400];
  int pct = p->total > 0 ? (int)(100 * p->done / p->total) : 0;
  snprintf(line, sizeof line, "%s %lld/%lld (%d%%) %.2f/s %s%s%s%s%s", p->label,
           (long long)p->done, (long long)p->total, pct, rate, el, eta[0] ? " eta " : "", eta,
           p->metric[0] ? " | " : "", p->metric);
  if (p->is_tty)
    fprintf(p->out, "\r\033[K%s%s", line, final ? "\n" : "");
  else
    fprintf(p->out, "%s\n", line);
  fflush(p->out);
  p->last_draw = now;
  p->shown = 1;
}

void ebm_progress_update(ebm_progress *p, int64_t done, const char *metric) {
  if (!p || !p->out) return;
  p->done = done;
  if (metric) snprintf(p->metric, sizeof p->metric, "%s", metric);
  double now = ebm_now_seconds();
  if (now - p->start < PROGRESS_FIRST_DRAW_SECONDS) return;
  double every = p->is_tty ? PROGRESS_REDRAW_SECONDS : EBM_PROGRESS_PLAIN_SECONDS;
  if (!p->shown || now - p->last_draw >= every) draw(p, now, 0);
}

void ebm_progress_set_total(ebm_progress *p, int64_t total) {
  if (p) p->total = total;
}

void ebm_progress_finish(ebm_progress *p) {
  if (!p) return;
  if (p->out && p->shown) draw(p, ebm_now_seconds(), 1);
  free(p);
}
