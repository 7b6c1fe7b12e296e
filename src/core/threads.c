/* The process-wide thread pool: a fixed set of pthreads that run the chunks
 * of one ebm_parallel_for at a time. Workers sleep on a condition variable
 * between jobs, so an idle pool costs nothing. OpenBLAS is pinned to one
 * thread so the pool is the only owner of the cores (no oversubscription). */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "ebm/core.h"

void openblas_set_num_threads(int num_threads); /* from libopenblas */

#define POOL_MAX_THREADS 256

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t work_ready;
  pthread_cond_t work_done;
  pthread_mutex_t submit; /* one parallel_for at a time */
  pthread_t workers[POOL_MAX_THREADS];
  int nthreads;           /* including the caller */
  int started;
  int shutting_down;
  uint64_t generation;    /* bumped per job */
  uint64_t start_generation; /* generation when the workers were created */
  int pending;            /* chunks not yet finished */
  /* the current job */
  ebm_range_fn fn;
  void *ctx;
  int64_t n;
  int chunks;
} thread_pool;

static thread_pool pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work_ready = PTHREAD_COND_INITIALIZER,
    .work_done = PTHREAD_COND_INITIALIZER,
    .submit = PTHREAD_MUTEX_INITIALIZER,
};
static pthread_once_t pool_default_once = PTHREAD_ONCE_INIT;
static _Thread_local int inside_parallel_region;

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
  for (;;) {
    while (!pool.shutting_down && pool.generation == seen) pthread_cond_wait(&pool.work_ready, &pool.lock);
    if (pool.shutting_down) break;
    seen = pool.generation;
    if (tid < pool.chunks) {
      ebm_range_fn fn = pool.fn;
      void *ctx = pool.ctx;
      int64_t begin, end;
      chunk_bounds(pool.n, pool.chunks, tid, &begin, &end);
      pthread_mutex_unlock(&pool.lock);
      fn(ctx, begin, end, tid);
      pthread_mutex_lock(&pool.lock);
      if (--pool.pending == 0) pthread_cond_signal(&pool.work_done);
    }
  }
  pthread_mutex_unlock(&pool.lock);
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
  pool.nthreads = nthreads;
  pool.shutting_down = 0;
  pthread_mutex_lock(&pool.lock);
  pool.start_generation = pool.generation;
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
  pthread_mutex_lock(&pool.lock);
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  pool.chunks = chunks;
  pool.pending = chunks - 1;
  pool.generation++;
  pthread_cond_broadcast(&pool.work_ready);
  pthread_mutex_unlock(&pool.lock);

  int64_t begin, end;
  chunk_bounds(n, chunks, 0, &begin, &end);
  inside_parallel_region = 1;
  fn(ctx, begin, end, 0);
  inside_parallel_region = 0;

  pthread_mutex_lock(&pool.lock);
  while (pool.pending > 0) pthread_cond_wait(&pool.work_done, &pool.lock);
  pthread_mutex_unlock(&pool.lock);
  pthread_mutex_unlock(&pool.submit);
}
