/* The process-wide thread pool: a fixed set of pthreads that run the chunks
 * of one ebm_parallel_for at a time. OpenBLAS is pinned to one thread so the
 * pool is the only owner of the cores (no oversubscription, never two
 * runtimes spinning).
 *
 * Hand-off. A Langevin step is a dozen parallel_for calls a few hundred µs
 * apart; waking a sleeping worker through the condition variable costs
 * 10–20 µs each time (futex wake + scheduler), and so does waking the caller
 * when the last chunk ends. So both sides first SPIN on an atomic (the job
 * generation, the pending count) for up to SPIN_NS, and only then sleep on
 * the condition variable: back-to-back jobs never touch the kernel, and an
 * idle pool still costs nothing after SPIN_NS. The condition variables stay
 * as the fallback and are always signalled under the lock after the atomic
 * changed, so a wake-up is never lost. The work split is unchanged, so
 * results stay independent of timing and thread count. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ebm/core.h"

void openblas_set_num_threads(int num_threads); /* from libopenblas */

#define POOL_MAX_THREADS 256
/* How long a waiting thread spins before it sleeps: longer than the serial
 * gaps between the parallel calls of a training iteration (tens of µs),
 * short enough that an idle pool gives its core back at once. */
#define SPIN_NS 200000
/* SPIN_NS, or EBM_POOL_SPIN_US from the environment (0: sleep at once, the
 * old behaviour; for machines shared with other busy processes). */
static int64_t spin_ns = SPIN_NS;

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t work_ready;
  pthread_cond_t work_done;
  pthread_mutex_t submit; /* one parallel_for at a time */
  pthread_t workers[POOL_MAX_THREADS];
  int nthreads;           /* including the caller */
  int started;
  int shutting_down;
  /* (generation << 16) | chunks, bumped per job (release: the job fields
   * are set). chunks travels in the same word so that a worker outside the
   * job never reads the other fields, which the next job may be rewriting. */
  _Atomic uint64_t generation;
  uint64_t start_generation; /* generation when the workers were created */
  atomic_int pending;     /* chunks not yet finished */
  atomic_int shutting_down_flag; /* shutting_down, readable while spinning */
  /* the current job */
  ebm_range_fn fn;
  void *ctx;
  int64_t n;
} thread_pool;

static thread_pool pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work_ready = PTHREAD_COND_INITIALIZER,
    .work_done = PTHREAD_COND_INITIALIZER,
    .submit = PTHREAD_MUTEX_INITIALIZER,
};
static pthread_once_t pool_default_once = PTHREAD_ONCE_INIT;
static _Thread_local int inside_parallel_region;

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

/* Spins until *gen differs from seen (1) or SPIN_NS passed (0). */
static int spin_for_job(uint64_t seen) {
  int64_t deadline = 0;
  for (unsigned i = 0;; i++) {
    if (atomic_load_explicit(&pool.generation, memory_order_acquire) != seen ||
        atomic_load_explicit(&pool.shutting_down_flag, memory_order_relaxed))
      return 1;
    if (spin_ns <= 0) return 0;
    cpu_relax();
    if ((i & 63) == 63) {
      /* a few µs apart: let a runnable thread of another process (or our
       * own caller) have the core; costs nothing when the core is free */
      sched_yield();
      int64_t t = now_ns();
      if (!deadline) deadline = t + spin_ns;
      else if (t > deadline) return 0;
    }
  }
}

/* Spins until every worker chunk is done (1) or SPIN_NS passed (0). */
static int spin_for_done(void) {
  int64_t deadline = 0;
  for (unsigned i = 0;; i++) {
    if (atomic_load_explicit(&pool.pending, memory_order_acquire) == 0) return 1;
    if (spin_ns <= 0) return 0;
    cpu_relax();
    if ((i & 63) == 63) {
      /* a few µs apart: let a runnable thread of another process (or our
       * own caller) have the core; costs nothing when the core is free */
      sched_yield();
      int64_t t = now_ns();
      if (!deadline) deadline = t + spin_ns;
      else if (t > deadline) return 0;
    }
  }
}

static void chunk_bounds(int64_t n, int chunks, int c, int64_t *begin, int64_t *end) {
  *begin = n * c / chunks;
  *end = n * (c + 1) / chunks;
}

static void *worker_main(void *arg) {
  int tid = (int)(intptr_t)arg;
  inside_parallel_region = 1;
  pthread_mutex_lock(&pool.lock);
  /* Jobs posted before this worker existed (by an earlier pool) are not
   * ours: start from the generation current at creation. */
  uint64_t seen = pool.start_generation;
  pthread_mutex_unlock(&pool.lock);
  for (;;) {
    if (!spin_for_job(seen)) {
      pthread_mutex_lock(&pool.lock);
      while (!pool.shutting_down && atomic_load(&pool.generation) == seen)
        pthread_cond_wait(&pool.work_ready, &pool.lock);
      pthread_mutex_unlock(&pool.lock);
    }
    if (atomic_load(&pool.shutting_down_flag)) break;
    /* The submitter waits for our chunk before it posts another job, so
     * the fields stay those of `seen` while we run it. */
    seen = atomic_load_explicit(&pool.generation, memory_order_acquire);
    const int chunks = (int)(seen & 0xffff);
    if (tid < chunks) {
      int64_t begin, end;
      chunk_bounds(pool.n, chunks, tid, &begin, &end);
      pool.fn(pool.ctx, begin, end, tid);
      if (atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_acq_rel) == 1) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_signal(&pool.work_done);
        pthread_mutex_unlock(&pool.lock);
      }
    }
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
  pool.nthreads = nthreads;
  pool.shutting_down = 0;
  atomic_store(&pool.shutting_down_flag, 0);
  pthread_mutex_lock(&pool.lock);
  pool.start_generation = atomic_load(&pool.generation);
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

void ebm_parallel_for(int64_t n, int64_t min_chunk, ebm_range_fn fn, void *ctx) {
  if (n <= 0) return;
  if (min_chunk < 1) min_chunk = 1;
  int threads = inside_parallel_region ? 1 : ebm_threads_count();
  int64_t max_chunks = (n + min_chunk - 1) / min_chunk;
  int chunks = max_chunks < threads ? (int)max_chunks : threads;
  if (chunks <= 1) {
    fn(ctx, 0, n, 0);
    return;
  }
  pthread_mutex_lock(&pool.submit);
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  atomic_store_explicit(&pool.pending, chunks - 1, memory_order_relaxed);
  /* release: a worker that sees the new generation sees the job too */
  uint64_t gen = atomic_load_explicit(&pool.generation, memory_order_relaxed) >> 16;
  atomic_store_explicit(&pool.generation, ((gen + 1) << 16) | (uint64_t)chunks, memory_order_release);
  pthread_mutex_lock(&pool.lock); /* wakes the workers that went to sleep */
  pthread_cond_broadcast(&pool.work_ready);
  pthread_mutex_unlock(&pool.lock);

  int64_t begin, end;
  chunk_bounds(n, chunks, 0, &begin, &end);
  inside_parallel_region = 1;
  fn(ctx, begin, end, 0);
  inside_parallel_region = 0;

  if (!spin_for_done()) {
    pthread_mutex_lock(&pool.lock);
    while (atomic_load(&pool.pending) > 0) pthread_cond_wait(&pool.work_done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
  }
  pthread_mutex_unlock(&pool.submit);
}
