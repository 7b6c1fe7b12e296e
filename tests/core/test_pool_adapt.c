/* The pool's choice between all threads and the caller alone
 * (core/pool_adapt.h), on made-up windows: a quiet machine never leaves
 * all threads, a busy one tries running alone and keeps the faster mode,
 * holds grow and are capped, a trial ignores each mode's slowest window;
 * then the pool itself under the forced policies (EBM_POOL_ADAPT). */
#include <stdatomic.h>
#include <stdlib.h>

#include "core/pool_adapt.h"
#include "test.h"

#define MS 1000000

/* 2 threads on a quiet machine: the worker ran half the chunks, no waits. */
static const pool_window quiet = {.wall_ns = 20 * MS, .own_ns = 9 * MS, .wait_ns = MS / 10, .own_chunks = 256,
                                  .chunks = 512};
/* A busy competitor: the worker ran 18 % of the chunks, 14 % of the time
 * went to waiting for it (what uva-cnn training measured). */
static const pool_window busy = {.wall_ns = 40 * MS, .own_ns = 30 * MS, .wait_ns = 5 * MS, .own_chunks = 420,
                                 .chunks = 512};

static pool_window took(int64_t ms) { return (pool_window){.wall_ns = ms * MS, .own_ns = ms * MS}; }

/* Feeds `busy` until a trial starts; returns the windows it took. */
static int until_trial(pool_adapt *a) {
  for (int i = 1; i <= 1000; i++)
    if (pool_adapt_next(a, &busy) == POOL_RUN_ALONE) return i;
  return -1;
}

/* Runs a whole trial whose windows alone take alone_ms and on all threads
 * all_ms; CHECKs that the windows alternate, starting alone. */
static pool_run_mode run_trial(pool_adapt *a, int64_t alone_ms, int64_t all_ms) {
  pool_run_mode m = a->mode;
  CHECK_EQ_INT(m, POOL_RUN_ALONE);
  for (int k = 0; k < 2 * POOL_TRIAL_PAIRS; k++) {
    const pool_run_mode expect = k % 2 == 0 ? POOL_RUN_ALONE : POOL_RUN_ALL;
    CHECK_EQ_INT(m, expect);
    pool_window w = took(m == POOL_RUN_ALONE ? alone_ms : all_ms);
    m = pool_adapt_next(a, &w);
  }
  return m;
}

TEST(pool_adapt_parses_the_four_policies_and_refuses_others) {
  pool_adapt_policy p = POOL_ADAPT_FLIP;
  CHECK_EQ_INT(pool_adapt_parse(NULL, &p), 0);
  CHECK_EQ_INT(p, POOL_ADAPT_ALL); /* off by default */
  const char *names[] = {"adapt", "all", "alone", "flip"};
  for (int i = 0; i < 4; i++) {
    CHECK_EQ_INT(pool_adapt_parse(names[i], &p), 0);
    CHECK_EQ_INT(p, i);
  }
  CHECK_EQ_INT(pool_adapt_parse("fast", &p), -1);
  CHECK_EQ_INT(pool_adapt_parse("", &p), 0);
  CHECK_EQ_INT(p, POOL_ADAPT_ALL);
}

TEST(pool_adapt_help_is_the_others_chunks_at_the_callers_rate_minus_its_waits) {
  /* quiet: 256 chunks of the worker at 9 ms / 256 = 9 ms saved, 0.1 ms waited, of 20 ms */
  CHECK_NEAR(pool_adapt_help(&quiet), (9.0 - 0.1) / 20.0, 1e-12);
  /* busy: 92 chunks at 30 / 420 ms saved, 5 ms waited, of 40 */
  CHECK_NEAR(pool_adapt_help(&busy), (30.0 * 92 / 420 - 5.0) / 40.0, 1e-12);
  CHECK(pool_adapt_help(&busy) < POOL_HELP_MIN && pool_adapt_help(&quiet) > POOL_HELP_MIN);
  pool_window w = {.wall_ns = 10, .own_chunks = 0, .chunks = 4}; /* the others ran everything */
  CHECK_NEAR(pool_adapt_help(&w), 1.0, 0);
  w.chunks = 0;
  CHECK_NEAR(pool_adapt_help(&w), 0.0, 0);
  w = (pool_window){0};
  CHECK_NEAR(pool_adapt_help(&w), 1.0, 0); /* nothing measured */
}

TEST(pool_adapt_never_leaves_all_threads_on_a_quiet_machine) {
  pool_adapt a;
  pool_adapt_init(&a, POOL_ADAPT_ON);
  CHECK_EQ_INT(pool_adapt_window_jobs(&a), POOL_WINDOW_JOBS);
  for (int i = 0; i < 10000; i++) CHECK_EQ_INT(pool_adapt_next(&a, &quiet), POOL_RUN_ALL);
  /* one slow window among quiet ones (a page fault, a log line) is averaged away */
  pool_window slow = quiet;
  slow.wait_ns = 5 * MS; /* help 0.2 */
  CHECK_EQ_INT(pool_adapt_next(&a, &slow), POOL_RUN_ALL);
  CHECK_EQ_INT(pool_adapt_next(&a, &quiet), POOL_RUN_ALL);
  CHECK_EQ_INT(a.trial_left, 0);
}

TEST(pool_adapt_runs_alone_when_that_is_faster_and_holds_it_longer_each_time) {
  pool_adapt a;
  pool_adapt_init(&a, POOL_ADAPT_ON);
  const int first = until_trial(&a);
  CHECK(first >= 1 && first <= 4); /* the average falls below the threshold within a few windows */
  int expect_hold = POOL_HOLD_MIN;
  for (int round = 0; round < 5; round++) {
    CHECK_EQ_INT(run_trial(&a, 30, 40), POOL_RUN_ALONE);
    for (int i = 0; i < expect_hold - 1; i++) CHECK_EQ_INT(pool_adapt_next(&a, &busy), POOL_RUN_ALONE);
    CHECK_EQ_INT(a.trial_left, 0);
    /* the hold's last window starts the next trial (alone, as every trial) */
    CHECK_EQ_INT(pool_adapt_next(&a, &busy), POOL_RUN_ALONE);
    CHECK_EQ_INT(a.trial_left, 2 * POOL_TRIAL_PAIRS);
    expect_hold = expect_hold * 2 < POOL_HOLD_ALONE_MAX ? expect_hold * 2 : POOL_HOLD_ALONE_MAX;
  }
  CHECK_EQ_INT(expect_hold, POOL_HOLD_ALONE_MAX);
  /* the machine became quiet: the trial sees all threads faster and goes back */
  CHECK_EQ_INT(run_trial(&a, 40, 25), POOL_RUN_ALL);
  for (int i = 0; i < 1000; i++) CHECK_EQ_INT(pool_adapt_next(&a, &quiet), POOL_RUN_ALL);
}

TEST(pool_adapt_keeps_all_threads_when_the_trial_says_so_and_backs_off_its_trials) {
  pool_adapt a;
  pool_adapt_init(&a, POOL_ADAPT_ON);
  int expect_hold = POOL_HOLD_MIN;
  until_trial(&a);
  for (int round = 0; round < 6; round++) {
    /* little help, yet all threads are faster (a machine loaded by others) */
    CHECK_EQ_INT(run_trial(&a, 50, 30), POOL_RUN_ALL);
    /* no trial during the hold, one as soon as it ends (the average,
     * restarted at 1 by the trial, has fallen by then) */
    CHECK_EQ_INT(until_trial(&a), expect_hold);
    expect_hold = expect_hold * 2 < POOL_HOLD_ALL_MAX ? expect_hold * 2 : POOL_HOLD_ALL_MAX;
  }
  CHECK_EQ_INT(expect_hold, POOL_HOLD_ALL_MAX);
}

TEST(pool_adapt_trial_leaves_out_each_modes_slowest_window) {
  pool_adapt a;
  pool_adapt_init(&a, POOL_ADAPT_ON);
  until_trial(&a);
  /* alone 10, 10, 10, 100 ms (a training update landed in one), all threads 20 each */
  const int64_t alone_ms[POOL_TRIAL_PAIRS] = {10, 100, 10, 10};
  pool_run_mode m = a.mode;
  for (int k = 0; k < 2 * POOL_TRIAL_PAIRS; k++) {
    pool_window w = took(m == POOL_RUN_ALONE ? alone_ms[k / 2] : 20);
    m = pool_adapt_next(&a, &w);
  }
  CHECK_EQ_INT(m, POOL_RUN_ALONE); /* 30 against 60; with every window, 130 against 80 */
}

TEST(pool_adapt_forced_policies_ignore_the_measurements) {
  pool_adapt a;
  pool_adapt_init(&a, POOL_ADAPT_ALL);
  for (int i = 0; i < 500; i++) CHECK_EQ_INT(pool_adapt_next(&a, &busy), POOL_RUN_ALL);
  pool_adapt_init(&a, POOL_ADAPT_ALONE);
  CHECK_EQ_INT(a.mode, POOL_RUN_ALONE);
  for (int i = 0; i < 500; i++) CHECK_EQ_INT(pool_adapt_next(&a, &quiet), POOL_RUN_ALONE);
  pool_adapt_init(&a, POOL_ADAPT_FLIP);
  CHECK_EQ_INT(pool_adapt_window_jobs(&a), 1);
  CHECK_EQ_INT(a.mode, POOL_RUN_ALL);
  for (int i = 0; i < 10; i++) CHECK_EQ_INT(pool_adapt_next(&a, &quiet), i % 2 == 0 ? POOL_RUN_ALONE : POOL_RUN_ALL);
}

/* ------------------------------------------------------ the pool itself */

typedef struct {
  _Atomic int hits[200];
  atomic_int calls, tids;
} job_log;

static void log_range(void *ctx, int64_t begin, int64_t end, int tid) {
  job_log *l = ctx;
  atomic_fetch_add(&l->calls, 1);
  atomic_fetch_or(&l->tids, 1 << tid);
  for (int64_t i = begin; i < end; i++) atomic_fetch_add(&l->hits[i], 1);
}

/* Runs `reps` jobs of n = 200 in chunks of at least 10 under EBM_POOL_ADAPT
 * = policy at 2 threads; CHECKs every index ran reps times. */
static void run_under(const char *policy, int reps, job_log *l) {
  REQUIRE_OK(setenv("EBM_POOL_ADAPT", policy, 1) == 0 ? EBM_OK : EBM_ERR_INTERNAL);
  ebm_threads_shutdown();
  REQUIRE_OK(ebm_threads_init(2));
  for (int i = 0; i < 200; i++) atomic_init(&l->hits[i], 0);
  atomic_init(&l->calls, 0);
  atomic_init(&l->tids, 0);
  for (int r = 0; r < reps; r++) ebm_parallel_for(200, 10, log_range, l);
  for (int i = 0; i < 200; i++) CHECK_EQ_INT(atomic_load(&l->hits[i]), reps);
  unsetenv("EBM_POOL_ADAPT");
  ebm_threads_shutdown();
}

TEST(pool_runs_every_index_once_alone_and_when_flipping_modes_every_job) {
  job_log l;
  run_under("alone", 50, &l);
  CHECK_EQ_INT(atomic_load(&l.calls), 50); /* one call per job: fn(ctx, 0, n, 0) in the caller */
  CHECK_EQ_INT(atomic_load(&l.tids), 1);
  run_under("flip", 400, &l);
  /* half the jobs alone (1 call each), half in 20 chunks */
  CHECK_EQ_INT(atomic_load(&l.calls), 200 * 1 + 200 * 20);
  run_under("all", 50, &l);
  CHECK_EQ_INT(atomic_load(&l.calls), 50 * 20);
  run_under("no-such-policy", 20, &l); /* unknown: the default, all threads */
  CHECK_EQ_INT(atomic_load(&l.calls), 20 * 20);
}
