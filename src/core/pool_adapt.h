/* The thread pool's choice between running a job on all its threads and
 * running it alone in the caller (core/threads.c), as a pure function of
 * what the caller measured: no clock, no globals, so it is unit-tested on
 * made-up windows (tests/core/test_pool_adapt.c).
 *
 * Why. With more runnable threads than cores (a 2-core machine, 2 pool
 * threads and one busy process), the OS deschedules a worker for a whole
 * time slice (~3 ms) while it holds a chunk, and the caller, having run
 * every other chunk, waits for it: measured on uva-cnn training, 14 % of
 * the wall time went to such waits while the worker ran only 18 % of the
 * chunks, so 2 threads were no faster than 1. Running alone lets the
 * worker sleep, and then the caller has a core to itself.
 *
 * How. The caller counts its parallel jobs in windows of
 * POOL_WINDOW_JOBS and reports each window: its wall time (from the
 * window's first job to the next window's first, so the serial code in
 * between counts too), the time the caller spent on chunks and waiting
 * for other threads' chunks, and who ran how many chunks.
 * - Running on all threads, the caller rates each window by the time the
 *   other threads saved it, as a share of the window's wall time (their
 *   chunks at the caller's own rate per chunk, minus its waits for them):
 *   about 0.5 with 2 threads on a quiet machine, 0.02–0.15 with a busy
 *   competitor. When the average of the last windows (halved weight per
 *   window) falls below POOL_HELP_MIN, a TRIAL starts.
 * - A trial alternates windows alone and on all threads, POOL_TRIAL_PAIRS
 *   of each, and keeps the mode whose windows took less time (each mode's
 *   slowest window left out: a training iteration's update lands in one).
 * - The mode a trial chose is held for a number of windows (POOL_HOLD_MIN,
 *   doubling while trials keep choosing it, up to a cap), then: alone, a
 *   new trial; on all threads, trials may start again.
 * Whatever the mode, a job's chunks and results are the same (core.h): only
 * who runs them changes. */
#ifndef EBM_CORE_POOL_ADAPT_H
#define EBM_CORE_POOL_ADAPT_H

#include <stdint.h>

#define POOL_WINDOW_JOBS 32
#define POOL_TRIAL_PAIRS 4
#define POOL_HOLD_MIN 16
#define POOL_HOLD_ALONE_MAX 64 /* ~2 s of uva-cnn training: how late a quiet machine is noticed */
#define POOL_HOLD_ALL_MAX 256
#define POOL_HELP_MIN 0.25

typedef enum { POOL_RUN_ALL = 0, POOL_RUN_ALONE = 1 } pool_run_mode;

/* EBM_POOL_ADAPT: all (the default: never run alone, the pool before the
 * adaptation), adapt (the trials above), alone (always; for tests and
 * comparisons), flip (alternate every job; for tests). Off by default
 * because, measured on a 2-core VM (README, Performance), adapt tied with
 * all threads against one busy loop on an idle machine (0.98x of 1 thread
 * either way) and lost to it under heavy load from other sessions (1.13x
 * against 1.32x): its trials are too noisy to beat hedging on both cores. */
typedef enum { POOL_ADAPT_ON = 0, POOL_ADAPT_ALL, POOL_ADAPT_ALONE, POOL_ADAPT_FLIP } pool_adapt_policy;

/* What the caller measured over one window of jobs. */
typedef struct {
  int64_t wall_ns;    /* first job of the window to the first of the next */
  int64_t own_ns;     /* the caller running chunks (all of them when alone) */
  int64_t wait_ns;    /* the caller waiting for chunks other threads hold */
  int64_t own_chunks; /* chunks the caller ran, of jobs run on all threads */
  int64_t chunks;     /* all chunks of those jobs */
} pool_window;

typedef struct {
  pool_adapt_policy policy;
  pool_run_mode mode; /* for the next window */
  int trial_left;     /* windows left in the current trial; 0: no trial */
  int64_t trial_ns[2][POOL_TRIAL_PAIRS]; /* per mode, the trial's windows */
  int hold_left;                         /* windows before the next trial may start */
  int hold_all, hold_alone;              /* the current hold lengths */
  double help_avg; /* pool_adapt_help of the recent windows on all threads, halved weight per window */
} pool_adapt;

/* Parses EBM_POOL_ADAPT's value (NULL or "" = all); 0, or -1 when the
 * value is none of the four names. */
int pool_adapt_parse(const char *value, pool_adapt_policy *policy);

/* A fresh state: on all threads, no trial (always alone for ALONE). */
void pool_adapt_init(pool_adapt *a, pool_adapt_policy policy);

/* Jobs per window: POOL_WINDOW_JOBS, 1 for FLIP. */
int pool_adapt_window_jobs(const pool_adapt *a);

/* Takes the window that just ended (run in a->mode) and returns the mode
 * for the next one. */
pool_run_mode pool_adapt_next(pool_adapt *a, const pool_window *w);

/* The time other threads saved the caller over a window run on all
 * threads, as a share of its wall time: their chunks at the caller's own
 * rate per chunk, minus the caller's waits (can be negative). */
double pool_adapt_help(const pool_window *w);

#endif
