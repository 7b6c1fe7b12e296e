/* cli/bench_util.h — what the `ebm bench` verbs share: the sgemm peak they
 * measure themselves, timing statistics, and the network they build. */
#ifndef EBM_CLI_BENCH_UTIL_H
#define EBM_CLI_BENCH_UTIL_H

#include "cli.h"

/* The sgemm peak of this machine at the pool's thread count, GFLOP/s: one
 * single-threaded 1024³ OpenBLAS sgemm per pool thread, side by side (the
 * pool owns the cores; OpenBLAS is pinned to one thread), best of 5.
 * Measured once per process. */
double bench_sgemm_peak(void);

/* One round of the peak's sgemms (one per pool thread, side by side) as
 * GFLOP/s; 0 when out of memory. Run right after a timed run, it gives the
 * peak of the machine as that run found it. */
double bench_sgemm_round_gflops(void);

/* Summary of n per-run times in seconds (sorted in place). */
typedef struct {
  double mean_ms, median_ms, min_ms;
} bench_stats;
bench_stats bench_summarise(double *t, int n);

/* The times summarised, and `flop` per run as GFLOP/s (at the mean) and
 * as a share of bench_sgemm_peak (pct; 0 when the peak is unknown). */
typedef struct {
  bench_stats time;
  double gflops, peak, pct;
} bench_rate;
bench_rate bench_rate_of(double *t, int n, double flop);

/* The median over n runs of each run's GFLOP/s (flop / t[i]) as a share (%)
 * of the sgemm round run right after it (round_gflops[i]): the efficiency
 * of the run against the machine as it was at that moment, which a VM's
 * drifting speed does not skew the way one peak taken up front does. */
double bench_paired_share(const double *t, const double *round_gflops, int n, double flop);

/* A network for --arch PRESET (with --classes K) or --ckpt CKPT, built for
 * `batch` items and initialised with seed 0; exit code in *rc on failure
 * (usage error for a bad preset). */
ebm_net *bench_net(const char *verb, const char *arch, const char *ckpt, int classes, int64_t batch,
                   int *rc);

#endif
