/* Shared helpers of the `ebm bench` verbs (bench_util.h). */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

#define PEAK_N 1024
#define PEAK_REPEATS 5

typedef struct {
  float *a, *b, *c; /* one PEAK_N² triple per thread, side by side */
} peak_job;

static void peak_run(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const peak_job *j = ctx;
  const size_t sq = (size_t)PEAK_N * PEAK_N;
  for (int64_t t = begin; t < end; t++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, PEAK_N, PEAK_N, PEAK_N, 1.0f, j->a + t * sq,
                PEAK_N, j->b + t * sq, PEAK_N, 0.0f, j->c + t * sq, PEAK_N);
}

/* The peak's matrices, made once per process and kept: a fresh allocation
 * would put page faults into the first round it times. */
static peak_job peak_matrices(void) {
  static peak_job j;
  static int made;
  if (!made) {
    made = 1;
    const size_t count = (size_t)ebm_threads_count() * PEAK_N * PEAK_N;
    j.a = ebm_alloc(count, sizeof(float));
    j.b = ebm_alloc(count, sizeof(float));
    j.c = ebm_alloc(count, sizeof(float));
    if (j.a && j.b && j.c) {
      ebm_rng rng;
      ebm_rng_init(&rng, 7);
      ebm_rng_uniform(&rng, j.a, (int64_t)count, -1.0f, 1.0f);
      ebm_rng_uniform(&rng, j.b, (int64_t)count, -1.0f, 1.0f);
    } else {
      ebm_free(j.a), ebm_free(j.b), ebm_free(j.c);
      j.a = j.b = j.c = NULL;
    }
  }
  return j;
}

double bench_sgemm_round_gflops(void) {
  peak_job j = peak_matrices();
  if (!j.a) return 0.0;
  const int threads = ebm_threads_count();
  double t0 = ebm_now_seconds();
  ebm_parallel_for(threads, 1, peak_run, &j);
  double dt = ebm_now_seconds() - t0;
  return 2.0 * PEAK_N * (double)PEAK_N * PEAK_N * threads / dt / 1e9;
}

double bench_sgemm_peak(void) {
  static double peak = -1.0;
  if (peak >= 0.0) return peak;
  peak = 0.0;
  for (int r = 0; r <= PEAK_REPEATS; r++) {
    double g = bench_sgemm_round_gflops();
    if (r > 0 && g > peak) peak = g; /* the first run warms up */
  }
  return peak;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

bench_stats bench_summarise(double *t, int n) {
  double sum = 0.0;
  for (int i = 0; i < n; i++) sum += t[i];
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  bench_stats s = {1000.0 * sum / n, 1000.0 * (n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2])),
                   1000.0 * t[0]};
  return s;
}

double bench_paired_share(const double *t, const double *round_gflops, int n, double flop) {
  double *share = malloc((size_t)n * sizeof *share);
  if (!share) return 0.0;
  int m = 0;
  for (int i = 0; i < n; i++)
    if (round_gflops[i] > 0 && t[i] > 0) share[m++] = 100.0 * flop / (t[i] * 1e9) / round_gflops[i];
  double median = 0.0;
  if (m) {
    qsort(share, (size_t)m, sizeof *share, cmp_double);
    median = m % 2 ? share[m / 2] : 0.5 * (share[m / 2 - 1] + share[m / 2]);
  }
  free(share);
  return median;
}

bench_rate bench_rate_of(double *t, int n, double flop) {
  bench_rate r;
  r.time = bench_summarise(t, n);
  r.gflops = flop / (r.time.mean_ms * 1e6);
  r.peak = bench_sgemm_peak();
  r.pct = r.peak > 0 ? 100.0 * r.gflops / r.peak : 0.0;
  return r;
}

ebm_net *bench_net(const char *verb, const char *arch, const char *ckpt, int classes, int64_t batch,
                   int *rc) {
  ebm_net *net = NULL;
  ebm_status st;
  if (ckpt) {
    st = ebm_net_load(ckpt, batch, &net);
  } else {
    char json[256];
    if (strchr(arch, '"') || strchr(arch, '\\') || strlen(arch) > 64) {
      *rc = cli_usage_error(verb, "--arch '%s' is not a preset name", arch);
      return NULL;
    }
    snprintf(json, sizeof json, "{\"preset\":\"%s\",\"classes\":%d}", arch, classes);
    st = ebm_net_new(json, batch, &net);
    if (st == EBM_ERR_ARG) {
      *rc = cli_usage_error(verb, "--arch %s: %s", arch, ebm_last_error());
      return NULL;
    }
    ebm_rng init;
    ebm_rng_init(&init, 0);
    if (!st) st = ebm_net_init(net, &init);
  }
  if (st) {
    ebm_net_free(net);
    *rc = cli_runtime_error(st);
    return NULL;
  }
  return net;
}
