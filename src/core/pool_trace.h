/* core/pool_trace.h — internal: a record of what the thread pool did, job
 * by job, for bench/bench_pool_idle.c (which ops of a Langevin step leave a
 * thread idle, and for how long).
 *
 * Off unless a trace was started: then ebm_parallel_for_workers costs one
 * test of a global pointer per job and per chunk, and pool_trace_label one
 * test per call. On, every job run from outside the pool's chunks (a nested
 * call runs inside its caller's chunk and is counted there) gets one
 * record: when it was posted and finished on the caller's clock
 * (CLOCK_MONOTONIC), how many threads could take part, and per thread the
 * time spent inside the job's chunk function and the chunks it ran. A job
 * that ran inline (one thread, or too few chunks for more) is a record
 * with workers = 1. pool_trace_label adds a record with fn NULL: the code
 * from there on belongs to that label (a layer and its pass), so the time
 * between two records — work of the caller alone, while the other threads
 * wait — can be put on the label in force.
 *
 * Neither the chunks nor the results change with the trace on. One trace at
 * a time, started and stopped by the thread that calls the pool. */
#ifndef EBM_CORE_POOL_TRACE_H
#define EBM_CORE_POOL_TRACE_H

#include <stdint.h>

#include "ebm/core.h"

#define POOL_TRACE_THREADS 8 /* threads whose busy time is kept apart; the rest add to the last */

typedef struct {
  const char *label, *pass; /* label records: what follows (fn NULL) */
  ebm_range_fn fn;          /* the job's chunk function; NULL for a label */
  int64_t t_post, t_end;    /* ns: the job posted (or the label set) and finished */
  int workers, chunks;      /* threads that could take part; chunks of the job */
  int64_t busy_ns[POOL_TRACE_THREADS]; /* per thread: time inside fn */
  int64_t cpu_ns[POOL_TRACE_THREADS];  /* of it on the CPU (thread CPU time): the rest the
                                          thread was preempted */
  int ran[POOL_TRACE_THREADS];         /* per thread: chunks run */
  int64_t first_ns[POOL_TRACE_THREADS], last_ns[POOL_TRACE_THREADS]; /* its first chunk began, its last ended */
} pool_trace_record;

typedef struct {
  pool_trace_record *records; /* the caller's array of cap records */
  int cap, count;             /* count may exceed cap: records past cap were dropped */
} pool_trace;

/* Starts recording into t (t->count reset to 0), or stops (t NULL). */
void pool_trace_start(pool_trace *t);

/* While a trace runs: the caller's code from now on is `label` (a layer's
 * name) in `pass` ("forward", "backward", ...); both must outlive the
 * trace. No effect without a trace. */
void pool_trace_label(const char *label, const char *pass);

/* How many times a worker, waiting for a job, slept (its spin ran out)
 * and was woken, counted while a trace runs. */
long pool_trace_sleeps(void);

/* The clock of the records, in ns. */
int64_t pool_trace_now_ns(void);

#endif
