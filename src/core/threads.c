/* The process-wide thread pool: a fixed set of pthreads that run the chunks
 * of one ebm_parallel_for at a time.  OpenBLAS is pinned to one thread so
 * the pool is the only owner of the cores (no oversubscription, never two
 * runtimes spinning).
 *
 * Chunks. A job's range is cut into chunks whose boundaries depend only on
 * n and min_chunk (up to TARGET_CHUNKS of them, more than there are
 * threads), and the threads CLAIM chunks one at a time from a shared
 * counter. A thread that the OS descheduled (another busy process on the
 * machine) then holds up one small chunk, not 1/threads of the job: the
 * others take the rest. Which thread ran which chunk never changes a
 * result: every caller's chunk function computes each index the same way
 * whatever range it is given.
 *
 * The claim word. (generation << 32) | (workers − 1) << 24 | chunks << 12 |
 * next: one 64-bit atomic, so a claim is one compare-and-swap that also
 * checks the job is still the one the thread saw. A worker that wakes late
 * can never claim a chunk of a newer job it has not read, and the caller
 * waits only for claimed chunks to finish (the done count), never for a
 * worker that was not scheduled in time to claim anything.
 *
 * Hand-off. A Langevin step is a dozen parallel_for calls a few hundred µs
 * apart; waking a sleeping worker through the condition variable costs
 * 10–20 µs each time (futex wake + scheduler), milliseconds when a
 * low-priority process got the core meanwhile. So both sides first SPIN on
 * the atomics (pause, never yielding the core) for a while and only then
 * sleep on a condition variable. The
 * spin limit adapts per thread: it halves each time a spin runs out (the
 * other threads are slow to come: on a machine with more runnable threads
 * than cores they are waiting for a core, and spinning only takes the core
 * from them) and doubles back after spins that succeed, between
 * SPIN_MIN_NS and SPIN_NS. The condition variables stay as the fallback and
 * are always signalled under the lock after the atomic changed, so a
 * wake-up is never lost.
 *
 * Alone or on all threads. When the machine has more runnable threads than
 * cores, a worker the OS descheduled while it holds a chunk makes the
 * caller wait for a whole time slice; the caller measures that, tries
 * running jobs alone (the workers fall asleep and the caller gets a core to
 * itself) and keeps whichever is faster (core/pool_adapt.h; opt-in with
 * EBM_POOL_ADAPT=adapt, off by default for the reason given there). Running alone
 * is the same fn(ctx, 0, n, 0) call as a one-thread pool, so results do not
 * change. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/pool_adapt.h"
#include "core/pool_trace.h"
#include "ebm/core.h"

void openblas_set_num_threads(int num_threads); /* from libopenblas */

#define POOL_MAX_THREADS 256
/* Chunks a job is cut into, at most (fits the claim word's 12 bits). Enough
 * that a thread late by a few chunks costs little, and that the thread done
 * first waits little for the other's last chunk; few enough that a chunk's
 * fixed costs (a claim, a call) stay small. 128 since round 15 (64 before):
 * igebm-mnist's 3×3 convs then hand out one item at a time instead of two,
 * and bench/bench_pool_idle.c measured 5–12 ms of idle per Langevin step at 2
 * threads where it measured 8–23 with 64 (three rounds each, both without
 * the yield below). */
#define TARGET_CHUNKS 128
/* How long a waiting thread spins before it sleeps, at most: longer than
 * the serial gaps between the parallel calls of a training iteration (tens
 * of µs), short enough that an idle pool gives its core back at once. */
#define SPIN_NS 200000
#define SPIN_MIN_NS 2000
/* SPIN_NS, or EBM_POOL_SPIN_US from the environment (0: sleep at once, the
 * old behaviour; for machines shared with other busy processes). */
static int64_t spin_ns = SPIN_NS;

#define CLAIM_NEXT_BITS 12
#define CLAIM_FIELD_MASK ((1u << CLAIM_NEXT_BITS) - 1)

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t work_ready;
  pthread_cond_t work_done;
  pthread_mutex_t submit; /* one parallel_for at a time */
  pthread_t workers[POOL_MAX_THREADS];
  int nthreads; /* including the caller */
  int started;
  int shutting_down;
  _Atomic uint64_t claim;        /* see above; generation 0 = no job yet */
  uint32_t start_generation;     /* generation when the workers were created */
  atomic_int done;               /* chunks of the current job finished */
  atomic_int shutting_down_flag; /* shutting_down, readable while spinning */
  /* the current job, valid to whoever holds a claimed chunk of it */
  ebm_range_fn fn;
  void *ctx;
  int64_t n, chunk_size;
  /* the caller's measurements and its choice of mode (under submit) */
  pool_adapt adapt;
  pool_window window;
  int window_jobs;
  int64_t window_start;
} thread_pool;

static thread_pool pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work_ready = PTHREAD_COND_INITIALIZER,
    .work_done = PTHREAD_COND_INITIALIZER,
    .submit = PTHREAD_MUTEX_INITIALIZER,
};
static pthread_once_t pool_default_once = PTHREAD_ONCE_INIT;
static _Thread_local int inside_parallel_region;
static _Thread_local int64_t thread_spin_ns = -1; /* this thread's adaptive limit */
/* The trace being recorded (core/pool_trace.h), NULL when off, and the
 * record of the current job, NULL when it is not traced. */
static pool_trace *trace;
static pool_trace_record *trace_job;
static atomic_long trace_sleeps; /* workers that slept until a job came (while tracing) */

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint32_t claim_generation(uint64_t w) { return (uint32_t)(w >> 32); }
static int claim_workers(uint64_t w) { return (int)((w >> 24) & 0xff) + 1; }
static int claim_chunks(uint64_t w) { return (int)((w >> CLAIM_NEXT_BITS) & CLAIM_FIELD_MASK); }
static int claim_next(uint64_t w) { return (int)(w & CLAIM_FIELD_MASK); }

/* Spins until ready() holds (1) or this thread's spin limit passed (0),
 * adapting the limit (see the top of the file). */
static int spin_until(int (*ready)(uint64_t), uint64_t arg) {
  if (thread_spin_ns < 0) thread_spin_ns = spin_ns;
  int64_t deadline = 0;
  for (unsigned i = 0;; i++) {
    if (ready(arg)) {
      if (thread_spin_ns < spin_ns) thread_spin_ns = thread_spin_ns * 2 < spin_ns ? thread_spin_ns * 2 : spin_ns;
      return 1;
    }
    if (spin_ns <= 0) return 0;
    cpu_relax();
    if ((i & 63) == 63) {
      int64_t t = now_ns();
      if (!deadline) deadline = t + thread_spin_ns;
      else if (t > deadline) {
        thread_spin_ns = thread_spin_ns / 2 > SPIN_MIN_NS ? thread_spin_ns / 2 : SPIN_MIN_NS;
        return 0;
      }
      /* No sched_yield here (there was one until issue 18's round 15): on a
       * machine with a nice-19 background run, each yield handed the core
       * to it for a time slice, so the waiting worker joined the next job
       * 1–2 ms late (bench/bench_pool_idle.c: 15–25 ms of "late" per
       * igebm-mnist step at 2 threads, 2–5 ms in two rounds of three without
       * the yield). The spin
       * limit above already bounds what spinning takes from a competitor
       * of equal priority. */
    }
  }
}

/* A job newer than generation `seen` was posted, or the pool shuts down. */
static int job_posted(uint64_t seen) {
  return claim_generation(atomic_load_explicit(&pool.claim, memory_order_acquire)) != (uint32_t)seen ||
         atomic_load_explicit(&pool.shutting_down_flag, memory_order_relaxed);
}

/* Every chunk of the current job (`chunks` of them) is finished. */
static int job_finished(uint64_t chunks) {
  return atomic_load_explicit(&pool.done, memory_order_acquire) == (int)chunks;
}

/* Adds a chunk's time to thread tid's share of the traced job rec (each
 * thread writes its own entries; the caller reads them after the done
 * count, whose release and acquire order them). */
static void trace_chunk(pool_trace_record *rec, int tid, int64_t t0, int64_t t1, int64_t cpu) {
  const int k = tid < POOL_TRACE_THREADS ? tid : POOL_TRACE_THREADS - 1;
  rec->busy_ns[k] += t1 - t0;
  rec->cpu_ns[k] += cpu;
  if (!rec->ran[k]++) rec->first_ns[k] = t0;
  rec->last_ns[k] = t1;
}

/* A new record in the trace (NULL when it is full: the record is counted,
 * not kept). Under the submit lock or from the thread that started it. */
static pool_trace_record *trace_add(void) {
  pool_trace *t = trace;
  const int i = t->count++;
  if (i >= t->cap) return NULL;
  pool_trace_record *r = &t->records[i];
  *r = (pool_trace_record){0};
  return r;
}

void pool_trace_start(pool_trace *t) {
  if (t) t->count = 0;
  trace = t;
}

long pool_trace_sleeps(void) { return atomic_load(&trace_sleeps); }

int64_t pool_trace_now_ns(void) { return now_ns(); }

void pool_trace_label(const char *label, const char *pass) {
  if (!trace || inside_parallel_region) return;
  pool_trace_record *r = trace_add();
  if (!r) return;
  r->label = label, r->pass = pass;
  r->t_post = r->t_end = now_ns();
}

/* Claims and runs chunks of the job of generation gen until none is left;
 * returns how many it ran. tid: this thread's worker index (it takes part
 * only if tid < workers). */
static int run_chunks(uint32_t gen, int tid) {
  int ran = 0;
  uint64_t w = atomic_load_explicit(&pool.claim, memory_order_acquire);
  for (;;) {
    if (claim_generation(w) != gen || tid >= claim_workers(w) || claim_next(w) >= claim_chunks(w))
      return ran;
    /* acquire on success: the job fields written before the post are visible */
    if (!atomic_compare_exchange_weak_explicit(&pool.claim, &w, w + 1, memory_order_acq_rel,
                                               memory_order_acquire))
      continue;
    const int c = claim_next(w), chunks = claim_chunks(w);
    const int64_t begin = pool.chunk_size * c;
    const int64_t end = begin + pool.chunk_size < pool.n ? begin + pool.chunk_size : pool.n;
    pool_trace_record *rec = trace_job; /* read under the claim: the job's own */
    const int64_t t0 = rec ? now_ns() : 0, c0 = rec ? thread_cpu_ns() : 0;
    pool.fn(pool.ctx, begin, end, tid);
    if (rec) trace_chunk(rec, tid, t0, now_ns(), thread_cpu_ns() - c0);
    ran++;
    if (atomic_fetch_add_explicit(&pool.done, 1, memory_order_acq_rel) + 1 == chunks) {
      pthread_mutex_lock(&pool.lock);
      pthread_cond_signal(&pool.work_done);
      pthread_mutex_unlock(&pool.lock);
    }
    w = atomic_load_explicit(&pool.claim, memory_order_acquire);
  }
}

static void *worker_main(void *arg) {
  int tid = (int)(intptr_t)arg;
  inside_parallel_region = 1;
  pthread_mutex_lock(&pool.lock);
  /* Jobs posted before this worker existed (by an earlier pool) are not
   * ours: start from the generation current at creation. */
  uint32_t seen = pool.start_generation;
  pthread_mutex_unlock(&pool.lock);
  for (;;) {
    if (!spin_until(job_posted, seen)) {
      pthread_mutex_lock(&pool.lock);
      int slept = 0;
      while (!pool.shutting_down && claim_generation(atomic_load(&pool.claim)) == seen) {
        pthread_cond_wait(&pool.work_ready, &pool.lock);
        slept = 1;
      }
      pthread_mutex_unlock(&pool.lock);
      if (slept && trace) atomic_fetch_add_explicit(&trace_sleeps, 1, memory_order_relaxed);
    }
    if (atomic_load(&pool.shutting_down_flag)) break;
    seen = claim_generation(atomic_load_explicit(&pool.claim, memory_order_acquire));
    run_chunks(seen, tid);
  }
  return NULL;
}

static int default_thread_count(void) {
  const char *env = getenv("EBM_THREADS");
  if (env && *env) {
    long v = strtol(env, NULL, 10);
    if (v > 0 && v <= POOL_MAX_THREADS) return (int)v;
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 ? (int)(cores < POOL_MAX_THREADS ? cores : POOL_MAX_THREADS) : 1;
}

ebm_status ebm_threads_init(int nthreads) {
  if (nthreads < 0 || nthreads > POOL_MAX_THREADS)
    return ebm_set_error(EBM_ERR_ARG, "thread count %d is not in 0..%d", nthreads, POOL_MAX_THREADS);
  if (nthreads == 0) nthreads = default_thread_count();
  pthread_mutex_lock(&pool.submit);
  if (pool.started && pool.nthreads == nthreads) {
    pthread_mutex_unlock(&pool.submit);
    return EBM_OK;
  }
  pthread_mutex_unlock(&pool.submit);
  ebm_threads_shutdown();
  pthread_mutex_lock(&pool.submit);
  openblas_set_num_threads(1);
  const char *spin_env = getenv("EBM_POOL_SPIN_US");
  if (spin_env && *spin_env) {
    long us = strtol(spin_env, NULL, 10);
    spin_ns = us > 0 && us < 1000000 ? (int64_t)us * 1000 : us >= 1000000 ? 1000000000 : 0;
  }
  thread_spin_ns = spin_ns;
  pool_adapt_policy policy;
  if (pool_adapt_parse(getenv("EBM_POOL_ADAPT"), &policy) != 0) policy = POOL_ADAPT_ALL;
  pool_adapt_init(&pool.adapt, policy);
  pool.window = (pool_window){0};
  pool.window_jobs = 0;
  pool.nthreads = nthreads;
  pool.shutting_down = 0;
  atomic_store(&pool.shutting_down_flag, 0);
  pthread_mutex_lock(&pool.lock);
  pool.start_generation = claim_generation(atomic_load(&pool.claim));
  pthread_mutex_unlock(&pool.lock);
  int created = 1;
  for (int t = 1; t < nthreads; t++) {
    if (pthread_create(&pool.workers[t], NULL, worker_main, (void *)(intptr_t)t) != 0) break;
    created++;
  }
  pool.nthreads = created;
  pool.started = 1;
  pthread_mutex_unlock(&pool.submit);
  if (created != nthreads)
    return ebm_set_error(EBM_ERR_NOMEM, "could start only %d of %d threads", created, nthreads);
  return EBM_OK;
}

static void start_default_pool(void) {
  if (!pool.started) ebm_threads_init(0);
}

int ebm_threads_count(void) {
  pthread_once(&pool_default_once, start_default_pool);
  return pool.nthreads;
}

void ebm_threads_shutdown(void) {
  pthread_mutex_lock(&pool.submit);
  if (!pool.started) {
    pthread_mutex_unlock(&pool.submit);
    return;
  }
  pthread_mutex_lock(&pool.lock);
  pool.shutting_down = 1;
  atomic_store(&pool.shutting_down_flag, 1);
  pthread_cond_broadcast(&pool.work_ready);
  pthread_mutex_unlock(&pool.lock);
  for (int t = 1; t < pool.nthreads; t++) pthread_join(pool.workers[t], NULL);
  pool.started = 0;
  pool.nthreads = 1;
  pthread_mutex_unlock(&pool.submit);
}

/* Counts a job that could run on several threads into the current window,
 * closing the window (and letting pool_adapt choose the next mode) when it
 * is full; returns the mode for this job. Under the submit lock. */
static pool_run_mode window_add_job(int64_t t) {
  if (pool.window_jobs == pool_adapt_window_jobs(&pool.adapt)) {
    pool.window.wall_ns = t - pool.window_start;
    pool_adapt_next(&pool.adapt, &pool.window);
    pool.window = (pool_window){0};
    pool.window_jobs = 0;
  }
  if (pool.window_jobs++ == 0) pool.window_start = t;
  return pool.adapt.mode;
}

void ebm_parallel_for_workers(int64_t n, int64_t min_chunk, int max_workers, ebm_range_fn fn,
                              void *ctx) {
  if (n <= 0) return;
  if (min_chunk < 1) min_chunk = 1;
  /* The cut depends on n and min_chunk only. */
  int64_t chunk_size = (n + TARGET_CHUNKS - 1) / TARGET_CHUNKS;
  if (chunk_size < min_chunk) chunk_size = min_chunk;
  const int chunks = (int)((n + chunk_size - 1) / chunk_size);
  int workers = inside_parallel_region ? 1 : ebm_threads_count();
  if (workers > max_workers) workers = max_workers;
  if (workers > chunks) workers = chunks;
  pool_trace_record *rec = trace && !inside_parallel_region ? trace_add() : NULL;
  if (workers <= 1) {
    const int64_t t0 = rec ? now_ns() : 0, c0 = rec ? thread_cpu_ns() : 0;
    fn(ctx, 0, n, 0); /* the same results as chunk by chunk (see core.h) */
    const int64_t t1 = rec ? now_ns() : 0, c1 = rec ? thread_cpu_ns() : 0;
    if (rec) *rec = (pool_trace_record){.fn = fn, .t_post = t0, .t_end = t1, .workers = 1, .chunks = chunks,
                                        .busy_ns = {t1 - t0}, .cpu_ns = {c1 - c0}, .ran = {chunks}};
    return;
  }
  pthread_mutex_lock(&pool.submit);
  const int64_t t_post = now_ns();
  if (window_add_job(t_post) == POOL_RUN_ALONE) {
    const int64_t c0 = rec ? thread_cpu_ns() : 0;
    inside_parallel_region = 1; /* nested calls run serially, as inside a chunk */
    fn(ctx, 0, n, 0);
    inside_parallel_region = 0;
    const int64_t t_end = now_ns(), c1 = rec ? thread_cpu_ns() : 0;
    pool.window.own_ns += t_end - t_post;
    if (rec) *rec = (pool_trace_record){.fn = fn, .t_post = t_post, .t_end = t_end, .workers = 1, .chunks = chunks,
                                        .busy_ns = {t_end - t_post}, .cpu_ns = {c1 - c0}, .ran = {chunks}};
    pthread_mutex_unlock(&pool.submit);
    return;
  }
  if (rec) rec->fn = fn, rec->t_post = t_post, rec->workers = workers, rec->chunks = chunks;
  trace_job = rec;
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  pool.chunk_size = chunk_size;
  atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
  /* release: a thread that claims a chunk of the new job sees the job too */
  const uint32_t gen = claim_generation(atomic_load_explicit(&pool.claim, memory_order_relaxed)) + 1;
  atomic_store_explicit(&pool.claim,
                        (uint64_t)gen << 32 | (uint64_t)(workers - 1) << 24 |
                            (uint64_t)chunks << CLAIM_NEXT_BITS,
                        memory_order_release);
  pthread_mutex_lock(&pool.lock); /* wakes the workers that went to sleep */
  pthread_cond_broadcast(&pool.work_ready);
  pthread_mutex_unlock(&pool.lock);

  inside_parallel_region = 1;
  const int own_chunks = run_chunks(gen, 0);
  inside_parallel_region = 0;
  const int64_t t_own = now_ns();

  if (!spin_until(job_finished, (uint64_t)chunks)) {
    pthread_mutex_lock(&pool.lock);
    while (atomic_load(&pool.done) < chunks) pthread_cond_wait(&pool.work_done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
  }
  const int64_t t_end = now_ns();
  if (rec) rec->t_end = t_end;
  trace_job = NULL;
  pool.window.own_ns += t_own - t_post;
  pool.window.wait_ns += t_end - t_own;
  pool.window.own_chunks += own_chunks;
  pool.window.chunks += chunks;
  pthread_mutex_unlock(&pool.submit);
}

void ebm_parallel_for(int64_t n, int64_t min_chunk, ebm_range_fn fn, void *ctx) {
  ebm_parallel_for_workers(n, min_chunk, POOL_MAX_THREADS, fn, ctx);
}
