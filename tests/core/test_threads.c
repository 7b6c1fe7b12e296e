#include <stdatomic.h>
#include <time.h>

#include "test.h"

typedef struct {
  int64_t *hits;
  int tids_seen[8];
} count_ctx;

static void mark_range(void *ctx, int64_t begin, int64_t end, int tid) {
  count_ctx *c = ctx;
  c->tids_seen[tid] = 1;
  for (int64_t i = begin; i < end; i++) c->hits[i]++;
}

TEST(parallel_for_covers_every_index_once) {
  REQUIRE_OK(ebm_threads_init(2));
  CHECK_EQ_INT(ebm_threads_count(), 2);
  for (int64_t n = 1; n < 300; n += 37) {
    count_ctx c = {calloc((size_t)n, sizeof(int64_t)), {0}};
    for (int rep = 0; rep < 50; rep++) ebm_parallel_for(n, 1, mark_range, &c);
    for (int64_t i = 0; i < n; i++) CHECK_EQ_INT(c.hits[i], 50);
    free(c.hits);
  }
}

/* Chunks claimed dynamically: a chunk that takes a while leaves the others
 * to the worker, so both threads take part (tiny jobs may all be done by
 * the caller before a worker wakes, which is fine). */
static void mark_range_slowly(void *ctx, int64_t begin, int64_t end, int tid) {
  nanosleep(&(struct timespec){0, 2000000}, NULL);
  mark_range(ctx, begin, end, tid);
}

TEST(parallel_for_workers_take_part_in_slow_jobs) {
  REQUIRE_OK(ebm_threads_init(2));
  count_ctx c = {calloc(16, sizeof(int64_t)), {0}};
  ebm_parallel_for(16, 1, mark_range_slowly, &c); /* 16 chunks of 2 ms */
  for (int64_t i = 0; i < 16; i++) CHECK_EQ_INT(c.hits[i], 1);
  CHECK(c.tids_seen[0] && c.tids_seen[1]);
  free(c.hits);
}

typedef struct {
  _Atomic int64_t ends[64]; /* end of the chunk that began at each index */
  atomic_int tid_too_big;
} chunk_log;

static void log_chunk(void *ctx, int64_t begin, int64_t end, int tid) {
  chunk_log *l = ctx;
  atomic_store(&l->ends[begin], end);
  if (tid >= 2) atomic_store(&l->tid_too_big, 1);
  nanosleep(&(struct timespec){0, 100000}, NULL); /* let every worker try to claim */
}

TEST(parallel_for_cuts_by_n_and_min_chunk_and_caps_the_workers) {
  int64_t at[2][64];
  for (int t = 0; t < 2; t++) {
    REQUIRE_OK(ebm_threads_init(t == 0 ? 1 : 4));
    chunk_log l;
    atomic_init(&l.tid_too_big, 0);
    for (int i = 0; i < 64; i++) atomic_init(&l.ends[i], -1);
    for (int rep = 0; rep < 20; rep++) ebm_parallel_for_workers(40, 3, 2, log_chunk, &l);
    CHECK(!atomic_load(&l.tid_too_big)); /* 4 threads, but at most 2 workers */
    for (int i = 0; i < 64; i++) at[t][i] = atomic_load(&l.ends[i]);
  }
  /* at 4 threads the cut is 14 chunks of 3 (n, min_chunk), at 1 thread one call */
  CHECK_EQ_INT(at[1][0], 3);
  CHECK_EQ_INT(at[1][39], 40);
  CHECK_EQ_INT(at[0][0], 40);
}

static void nested_outer(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  count_ctx *c = ctx;
  for (int64_t i = begin; i < end; i++) {
    count_ctx inner = {c->hits + i * 10, {0}};
    ebm_parallel_for(10, 1, mark_range, &inner); /* runs serially inside */
  }
}

TEST(parallel_for_nested_runs_serially_without_deadlock) {
  REQUIRE_OK(ebm_threads_init(2));
  count_ctx c = {calloc(100, sizeof(int64_t)), {0}};
  ebm_parallel_for(10, 1, nested_outer, &c);
  for (int i = 0; i < 100; i++) CHECK_EQ_INT(c.hits[i], 1);
  free(c.hits);
}

TEST(threads_init_rejects_bad_counts_and_resizes) {
  CHECK_FAILS_WITH(ebm_threads_init(-1), EBM_ERR_ARG, "thread count -1");
  REQUIRE_OK(ebm_threads_init(1));
  CHECK_EQ_INT(ebm_threads_count(), 1);
  REQUIRE_OK(ebm_threads_init(3));
  CHECK_EQ_INT(ebm_threads_count(), 3);
}

TEST(progress_prints_nothing_for_fast_loops_and_plain_lines_otherwise) {
  FILE *f = tmpfile();
  ebm_progress *p = ebm_progress_new(f, "fast", 10);
  for (int i = 1; i <= 10; i++) ebm_progress_update(p, i, "loss 1");
  ebm_progress_finish(p);
  CHECK(ftell(f) == 0);
  p = ebm_progress_new(f, "slow", 3);
  ebm_progress_update(p, 1, NULL);
  struct timespec ts = {1, 100000000};
  nanosleep(&ts, NULL);
  ebm_progress_update(p, 2, "loss 0.5");
  ebm_progress_finish(p);
  char buf[512] = {0};
  rewind(f);
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  CHECK(got > 0);
  CHECK_CONTAINS(buf, "slow 2/3");
  CHECK_CONTAINS(buf, "loss 0.5");
  fclose(f);
}

TEST(parallel_for_after_resizing_the_pool_runs_only_the_new_job) {
  REQUIRE_OK(ebm_threads_init(2));
  count_ctx first = {calloc(4, sizeof(int64_t)), {0}};
  ebm_parallel_for(4, 1, mark_range, &first);
  free(first.hits); /* a worker replaying this stale job would write freed memory */
  REQUIRE_OK(ebm_threads_init(1));
  REQUIRE_OK(ebm_threads_init(2));
  struct timespec ts = {0, 20000000}; /* let the new worker start and look for work */
  nanosleep(&ts, NULL);
  count_ctx second = {calloc(4, sizeof(int64_t)), {0}};
  ebm_parallel_for(4, 1, mark_range, &second);
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(second.hits[i], 1);
  free(second.hits);
}
