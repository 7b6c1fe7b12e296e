/* The pool's hand-off (threads.c): workers and the caller spin briefly
 * before they sleep. Jobs must run every index exactly once whether the
 * workers are spinning, asleep (after a pause longer than the spin), or
 * never spin (EBM_POOL_SPIN_US=0), and when a job uses fewer chunks than
 * the pool has threads (the idle workers must not run it). */
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "test.h"

typedef struct {
  _Atomic int hits[64];
} counts;

static void mark(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  counts *c = ctx;
  for (int64_t i = begin; i < end; i++) atomic_fetch_add(&c->hits[i], 1);
}

/* Runs `reps` jobs over n indices with min_chunk, pausing pause_us between
 * them; 1 when every index ran exactly reps times. */
static int run_jobs(int64_t n, int64_t min_chunk, int reps, long pause_us) {
  counts c;
  for (int i = 0; i < 64; i++) atomic_init(&c.hits[i], 0);
  for (int r = 0; r < reps; r++) {
    ebm_parallel_for(n, min_chunk, mark, &c);
    if (pause_us) nanosleep(&(struct timespec){0, pause_us * 1000}, NULL);
  }
  for (int64_t i = 0; i < 64; i++)
    if (atomic_load(&c.hits[i]) != (i < n ? reps : 0)) return 0;
  return 1;
}

TEST(pool_jobs_with_fewer_chunks_than_threads_run_each_index_once) {
  REQUIRE_OK(ebm_threads_init(4));
  CHECK(run_jobs(2, 1, 2000, 0));  /* 2 chunks on 4 threads: two workers sit out */
  CHECK(run_jobs(3, 1, 2000, 0));
  CHECK(run_jobs(64, 16, 2000, 0)); /* all four */
  CHECK(run_jobs(64, 1, 500, 0));
  REQUIRE_OK(ebm_threads_init(0));
}

TEST(pool_jobs_after_the_workers_fell_asleep_still_run) {
  REQUIRE_OK(ebm_threads_init(2));
  CHECK(run_jobs(40, 1, 5, 2000)); /* 2 ms pauses: longer than the 200 µs spin */
  REQUIRE_OK(ebm_threads_init(0));
}

TEST(pool_without_spinning_runs_jobs_too) {
  REQUIRE_OK(setenv("EBM_POOL_SPIN_US", "0", 1) == 0 ? EBM_OK : EBM_ERR_INTERNAL);
  ebm_threads_shutdown();
  REQUIRE_OK(ebm_threads_init(3));
  CHECK(run_jobs(33, 1, 300, 0));
  CHECK(run_jobs(2, 1, 300, 0));
  unsetenv("EBM_POOL_SPIN_US");
  ebm_threads_shutdown();
  REQUIRE_OK(ebm_threads_init(0));
}
