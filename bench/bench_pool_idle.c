/* bench_pool_idle — where the pool's threads wait during a Langevin step.
 *
 * Runs the step `ebm bench langevin` times (noise, clamp, dE/dx, clipped
 * step, clamp) with the pool's trace on (core/pool_trace.h) and prints, per
 * op — a layer's pass and the chunk function of each of its parallel jobs,
 * or the caller's serial code between jobs — the wall time per step, the
 * time the threads spent inside the op's chunks (summed over threads) and
 * the idle time, T · wall − busy: what the other threads lose while the op
 * runs (a job's last chunk, a job too small for more than one thread, the
 * caller's serial code, the post and wake-up of a job), and of it the
 * time threads joined a job late (from its post to their first chunk, or
 * the whole job when they ran none) and the tail (from a thread's last
 * chunk to the end of the job; the rest is gaps between chunks), and of
 * the busy time the part on the CPU (thread CPU time; the rest the thread
 * was preempted inside a chunk, by another process). Rows in step order,
 * then the totals and each thread's busy time; process CPU per step next to
 * it shows the spinning of waiting threads (CPU, not busy).
 *
 *   build/bench_pool_idle [T [ITERS [ARCH [BATCH]]]]
 *       T threads (default 2), ITERS timed steps after one warm-up (5),
 *       ARCH a preset (igebm-mnist), BATCH items (128). EBM_ISA picks the path.
 *
 * Chunk functions are static, so their names come from the symbol table of
 * this executable (`nm`, binutils); without nm the rows show addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/pool_trace.h"
#include "ebm/core.h"
#include "ebm/energy.h"
#include "ebm/nn.h"
#include "ops/ops.h"

#define MAX_RECORDS (1 << 17)
#define MAX_ROWS 512
#define MAX_SYMS 20000

typedef struct {
  unsigned long addr;
  char name[48];
} sym;

static sym syms[MAX_SYMS];
static int nsyms;

/* The function symbols of this executable, by address (as nm prints them). */
static void load_symbols(void) {
  char exe[400], cmd[512];
  const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1); /* nm's own /proc/self is nm */
  if (len <= 0 || memchr(exe, '\'', (size_t)len)) return;
  exe[len] = 0;
  snprintf(cmd, sizeof cmd, "nm --defined-only '%s' 2>/dev/null", exe);
  FILE *p = popen(cmd, "r");
  if (!p) return;
  char line[512];
  while (nsyms < MAX_SYMS && fgets(line, sizeof line, p)) {
    unsigned long a;
    char type, name[400];
    if (sscanf(line, "%lx %c %399s", &a, &type, name) != 3 || (type != 't' && type != 'T')) continue;
    syms[nsyms].addr = a;
    snprintf(syms[nsyms].name, sizeof syms[nsyms].name, "%s", name);
    nsyms++;
  }
  pclose(p);
}

/* fn's name: nm's addresses are link-time ones, so shift by where a known
 * function (ebm_parallel_for) landed. */
static const char *fn_name(ebm_range_fn fn, char *buf, size_t size) {
  static long shift;
  static int have_shift = -1;
  if (have_shift < 0) {
    have_shift = 0;
    for (int i = 0; i < nsyms; i++)
      if (strcmp(syms[i].name, "ebm_parallel_for") == 0) {
        shift = (long)((unsigned long)(uintptr_t)ebm_parallel_for - syms[i].addr);
        have_shift = 1;
      }
  }
  const unsigned long a = (unsigned long)(uintptr_t)fn - (unsigned long)shift;
  for (int i = 0; have_shift && i < nsyms; i++)
    if (syms[i].addr == a) return syms[i].name;
  snprintf(buf, size, "%p", (void *)(uintptr_t)fn);
  return buf;
}

typedef struct {
  char label[64], pass[16], what[48];
  double calls, wall, busy, idle; /* sums over the timed steps, ns */
  double late, tail;              /* of idle: threads not yet in a job, and done before its end */
  double cpu;                     /* of busy: on the CPU (the rest preempted) */
  int workers, chunks;           /* of the last call (jobs) */
} row;

static row rows[MAX_ROWS];
static int nrows;

static row *row_of(const char *label, const char *pass, const char *what) {
  for (int i = 0; i < nrows; i++)
    if (!strcmp(rows[i].label, label) && !strcmp(rows[i].pass, pass) && !strcmp(rows[i].what, what))
      return &rows[i];
  if (nrows == MAX_ROWS) return &rows[MAX_ROWS - 1];
  row *r = &rows[nrows++];
  snprintf(r->label, sizeof r->label, "%s", label);
  snprintf(r->pass, sizeof r->pass, "%s", pass);
  snprintf(r->what, sizeof r->what, "%s", what);
  return r;
}

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_sec +
         1e-6 * (double)u.ru_stime.tv_usec;
}

static void die(const char *what) {
  fprintf(stderr, "bench_pool_idle: %s: %s\n", what, ebm_last_error());
  exit(1);
}

int main(int argc, char **argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 2, iters = argc > 2 ? atoi(argv[2]) : 5;
  const char *arch = argc > 3 ? argv[3] : "igebm-mnist";
  const int64_t batch = argc > 4 ? atoll(argv[4]) : 128;
  if (threads < 1 || iters < 1 || batch < 1 || strchr(arch, '"')) {
    fprintf(stderr, "usage: bench_pool_idle [THREADS [ITERS [ARCH [BATCH]]]]\n");
    return 2;
  }
  if (ebm_threads_init(threads)) die("threads");
  char json[160];
  snprintf(json, sizeof json, "{\"preset\":\"%s\"}", arch);
  ebm_net *net = NULL;
  ebm_rng rng;
  ebm_rng_init(&rng, 0);
  if (ebm_net_new(json, batch, &net) || ebm_net_init(net, &rng)) die(arch);
  ebm_energy *en = ebm_net_as_energy(net);
  if (!en) die("energy");
  const int64_t count = batch * ebm_energy_item_size(en);
  const float lo = en->range_lo < en->range_hi ? en->range_lo : -1.0f;
  const float hi = en->range_lo < en->range_hi ? en->range_hi : 1.0f;
  float *x = ebm_alloc((size_t)count, sizeof *x), *g = ebm_alloc((size_t)count, sizeof *g);
  float *noise = ebm_alloc((size_t)count, sizeof *noise), *e = ebm_alloc((size_t)batch, sizeof *e);
  pool_trace_record *recs = malloc(MAX_RECORDS * sizeof *recs);
  if (!x || !g || !noise || !e || !recs) die("out of memory");
  ebm_rng_init(&rng, 1);
  ebm_rng_uniform(&rng, x, count, lo, hi);
  load_symbols();

  const ebm_ops *ops = ebm_ops_current();
  pool_trace trace = {.records = recs, .cap = MAX_RECORDS};
  double step_wall = 0.0, step_cpu = 0.0, per_thread[POOL_TRACE_THREADS] = {0};
  double per_thread_cpu[POOL_TRACE_THREADS] = {0};
  long sleeps = 0;
  for (int it = 0; it < 1 + iters; it++) {
    const int timed = it >= 1;
    if (timed) pool_trace_start(&trace);
    const long sleeps0 = pool_trace_sleeps();
    const double c0 = cpu_seconds();
    const int64_t t0 = pool_trace_now_ns();
    pool_trace_label("langevin", "noise");
    ebm_rng_normal(&rng, noise, count, 0.0f, 0.005f);
    pool_trace_label("langevin", "x+noise");
    ops->add(count, x, noise, x);
    ops->clamp(count, lo, hi, x);
    pool_trace_label("energy", "checks");
    if (ebm_net_grad_input(net, x, NULL, batch, e, g)) die("grad_input");
    pool_trace_label("langevin", "update");
    ops->clamp(count, -0.03f, 0.03f, g);
    ops->axpy(count, -10.0f, g, x);
    ops->clamp(count, lo, hi, x);
    pool_trace_label("end", "");
    const int64_t t1 = pool_trace_now_ns();
    const double c1 = cpu_seconds();
    if (!timed) continue;
    pool_trace_start(NULL);
    sleeps += pool_trace_sleeps() - sleeps0;
    if (trace.count > trace.cap) {
      fprintf(stderr, "bench_pool_idle: %d records, only %d kept\n", trace.count, trace.cap);
      return 1;
    }
    step_wall += (double)(t1 - t0), step_cpu += c1 - c0;
    const char *label = "langevin", *pass = "noise";
    for (int i = 0; i < trace.count; i++) {
      const pool_trace_record *r = &recs[i];
      if (i > 0) { /* the caller alone since the last record */
        const double gap = (double)(r->t_post - recs[i - 1].t_end);
        row *s = row_of(label, pass, "(caller alone)");
        s->wall += gap, s->busy += gap, s->idle += (threads - 1) * gap;
        per_thread[0] += gap;
      }
      if (!r->fn) {
        label = r->label, pass = r->pass;
        continue;
      }
      /* the k-th job of this fn since the label: which conv of a block */
      int kth = 1;
      for (int q = i - 1; q >= 0 && recs[q].fn; q--) kth += recs[q].fn == r->fn;
      char buf[32], what[64];
      snprintf(what, sizeof what, "%s #%d", fn_name(r->fn, buf, sizeof buf), kth);
      row *j = row_of(label, pass, what);
      double busy = 0.0;
      for (int t = 0; t < POOL_TRACE_THREADS; t++) {
        busy += (double)r->busy_ns[t], per_thread[t] += (double)r->busy_ns[t];
        j->cpu += (double)r->cpu_ns[t], per_thread_cpu[t] += (double)r->cpu_ns[t];
      }
      const double wall = (double)(r->t_end - r->t_post);
      j->calls += 1, j->wall += wall, j->busy += busy, j->idle += threads * wall - busy;
      for (int t = 0; t < threads && t < POOL_TRACE_THREADS && r->workers > 1; t++) {
        j->late += (double)((r->ran[t] ? r->first_ns[t] : r->t_end) - r->t_post);
        if (r->ran[t]) j->tail += (double)(r->t_end - r->last_ns[t]);
      }
      j->workers = r->workers, j->chunks = r->chunks;
    }
  }
  const double k = 1e-6 / iters; /* ns summed over the steps → ms per step */
  printf("bench_pool_idle: %s (%s path), batch %lld, %d threads, %d steps: %.2f ms/step wall, "
         "%.2f ms/step process CPU\n",
         arch, ebm_isa_name(ebm_isa_active()), (long long)batch, threads, iters, step_wall * k,
         1e3 * step_cpu / iters);
  printf("| layer | pass | op (chunk function, or the caller alone) | calls | workers | chunks | wall ms | busy ms | of it on CPU | idle ms | of it: late | tail |\n");
  printf("|:--|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  double wall = 0.0, busy = 0.0, idle = 0.0, cpu = 0.0, late = 0.0, tail = 0.0;
  for (int i = 0; i < nrows; i++) {
    const row *r = &rows[i];
    if (r->wall * k < 0.005 && r->idle * k < 0.005) continue;
    if (r->calls > 0)
      printf("| %s | %s | %s | %.0f | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", r->label,
             r->pass, r->what, r->calls / iters, r->workers, r->chunks, r->wall * k, r->busy * k,
             r->cpu * k, r->idle * k, r->late * k, r->tail * k);
    else
      printf("| %s | %s | %s | | 1 | | %.2f | %.2f | | %.2f | | |\n", r->label, r->pass, r->what,
             r->wall * k, r->busy * k, r->idle * k);
    wall += r->wall, busy += r->busy, idle += r->idle, cpu += r->cpu, late += r->late, tail += r->tail;
  }
  printf("| all | | | | | | %.2f | %.2f | %.2f (jobs) | %.2f | %.2f | %.2f |\n", wall * k, busy * k, cpu * k,
         idle * k, late * k, tail * k);
  printf("busy ms/step per thread:");
  for (int t = 0; t < threads && t < POOL_TRACE_THREADS; t++) printf(" %.2f", per_thread[t] * k);
  printf("; of it on the CPU in jobs:");
  for (int t = 0; t < threads && t < POOL_TRACE_THREADS; t++) printf(" %.2f", per_thread_cpu[t] * k);
  printf("; a worker slept until a job came %.1f times per step\n", (double)sleeps / iters);
  free(recs);
  ebm_free(x), ebm_free(g), ebm_free(noise), ebm_free(e);
  ebm_energy_free(en);
  ebm_net_free(net);
  return 0;
}
