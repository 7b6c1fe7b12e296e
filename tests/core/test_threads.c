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
    if (n > 1) CHECK(c.tids_seen[1]);
    free(c.hits);
  }
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
