/* The pool's trace (core/pool_trace.h, what bench/bench_pool_idle.c reads):
 * one record per job run from outside the pool, whose per-thread chunk
 * counts add up to the job's chunks and whose times are ordered; a label
 * record between jobs; nothing recorded once the trace is stopped; and a
 * full trace counts the records it could not keep. */
#include <stdatomic.h>

#include "core/pool_trace.h"
#include "test.h"

typedef struct {
  _Atomic long sum;
} total;

static void add_indices(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  total *t = ctx;
  long s = 0;
  for (int64_t i = begin; i < end; i++) s += (long)i;
  atomic_fetch_add(&t->sum, s);
}

/* A job inside a chunk runs inline and belongs to its chunk: not recorded. */
static void nested(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  for (int64_t i = begin; i < end; i++) ebm_parallel_for(100, 1, add_indices, ctx);
}

TEST(pool_trace_records_each_job_its_chunks_per_thread_and_labels) {
  REQUIRE_OK(ebm_threads_init(2));
  pool_trace_record recs[8];
  pool_trace t = {.records = recs, .cap = 8};
  total sum;
  atomic_init(&sum.sum, 0);
  pool_trace_start(&t);
  pool_trace_label("layer", "forward");
  ebm_parallel_for(1024, 1, add_indices, &sum); /* 128 chunks of 8 */
  ebm_parallel_for(3, 1, nested, &sum);         /* 3 chunks, 3 inline jobs inside */
  pool_trace_start(NULL);
  ebm_parallel_for(1024, 1, add_indices, &sum); /* after the stop */
  CHECK(atomic_load(&sum.sum) == 2 * 523776L + 3 * 4950L);
  CHECK(t.count == 3);
  CHECK(recs[0].fn == NULL && recs[0].label && recs[0].pass);
  for (int j = 1; j < 3 && t.count == 3; j++) {
    const pool_trace_record *r = &recs[j];
    CHECK(r->workers == 2);
    CHECK(r->chunks == (j == 1 ? 128 : 3));
    CHECK(r->ran[0] + r->ran[1] == r->chunks);
    CHECK(r->t_post >= recs[j - 1].t_end && r->t_end >= r->t_post);
    for (int k = 0; k < 2; k++)
      if (r->ran[k]) {
        CHECK(r->first_ns[k] >= r->t_post && r->last_ns[k] <= r->t_end);
        CHECK(r->busy_ns[k] >= 0 && r->busy_ns[k] <= r->last_ns[k] - r->first_ns[k]);
      }
  }
  CHECK(recs[1].fn == add_indices && recs[2].fn == nested);
}

TEST(pool_trace_counts_the_records_it_cannot_keep) {
  REQUIRE_OK(ebm_threads_init(1));
  pool_trace_record recs[2];
  pool_trace t = {.records = recs, .cap = 2};
  total sum;
  atomic_init(&sum.sum, 0);
  pool_trace_start(&t);
  for (int i = 0; i < 5; i++) ebm_parallel_for(10, 1, add_indices, &sum);
  pool_trace_start(NULL);
  CHECK(t.count == 5);
  CHECK(recs[0].workers == 1 && recs[0].ran[0] == recs[0].chunks && recs[1].fn == add_indices);
  CHECK(atomic_load(&sum.sum) == 5 * 45L);
}
