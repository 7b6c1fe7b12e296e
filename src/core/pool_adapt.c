/* The pool's choice between all threads and the caller alone: see
 * pool_adapt.h for why and how. */
#include "core/pool_adapt.h"

#include <string.h>

int pool_adapt_parse(const char *value, pool_adapt_policy *policy) {
  static const char *const names[] = {"adapt", "all", "alone", "flip"};
  if (!value || !*value) {
    *policy = POOL_ADAPT_ALL; /* off by default: see pool_adapt.h */
    return 0;
  }
  for (int i = 0; i < 4; i++)
    if (strcmp(value, names[i]) == 0) {
      *policy = (pool_adapt_policy)i;
      return 0;
    }
  return -1;
}

void pool_adapt_init(pool_adapt *a, pool_adapt_policy policy) {
  memset(a, 0, sizeof *a);
  a->policy = policy;
  a->mode = policy == POOL_ADAPT_ALONE ? POOL_RUN_ALONE : POOL_RUN_ALL;
  a->hold_all = POOL_HOLD_MIN;
  a->hold_alone = POOL_HOLD_MIN;
  a->help_avg = 1.0;
}

int pool_adapt_window_jobs(const pool_adapt *a) { return a->policy == POOL_ADAPT_FLIP ? 1 : POOL_WINDOW_JOBS; }

double pool_adapt_help(const pool_window *w) {
  const int64_t others = w->chunks - w->own_chunks;
  if (w->wall_ns <= 0) return 1.0; /* nothing measured: no reason to doubt the threads */
  if (w->own_chunks <= 0) return others > 0 ? 1.0 : 0.0;
  const double saved = (double)w->own_ns * (double)others / (double)w->own_chunks;
  return (saved - (double)w->wait_ns) / (double)w->wall_ns;
}

/* The sum of a trial's windows in one mode without the slowest one. */
static int64_t sum_but_slowest(const int64_t *ns) {
  int64_t sum = 0, slowest = ns[0];
  for (int i = 0; i < POOL_TRIAL_PAIRS; i++) {
    sum += ns[i];
    if (ns[i] > slowest) slowest = ns[i];
  }
  return sum - slowest;
}

static int doubled(int hold, int cap) { return hold * 2 < cap ? hold * 2 : cap; }

static pool_run_mode start_trial(pool_adapt *a) {
  a->trial_left = 2 * POOL_TRIAL_PAIRS;
  return a->mode = POOL_RUN_ALONE; /* windows alternate alone, all, alone, ... */
}

/* The last window of a trial ended: keep the faster mode, for a hold that
 * grows while trials keep choosing the same one. */
static pool_run_mode end_trial(pool_adapt *a) {
  a->help_avg = 1.0; /* judge the threads afresh after the hold */
  if (sum_but_slowest(a->trial_ns[POOL_RUN_ALONE]) < sum_but_slowest(a->trial_ns[POOL_RUN_ALL])) {
    a->hold_left = a->hold_alone;
    a->hold_alone = doubled(a->hold_alone, POOL_HOLD_ALONE_MAX);
    a->hold_all = POOL_HOLD_MIN;
    return a->mode = POOL_RUN_ALONE;
  }
  a->hold_left = a->hold_all;
  a->hold_all = doubled(a->hold_all, POOL_HOLD_ALL_MAX);
  a->hold_alone = POOL_HOLD_MIN;
  return a->mode = POOL_RUN_ALL;
}

pool_run_mode pool_adapt_next(pool_adapt *a, const pool_window *w) {
  switch (a->policy) {
  case POOL_ADAPT_ALL: return a->mode = POOL_RUN_ALL;
  case POOL_ADAPT_ALONE: return a->mode = POOL_RUN_ALONE;
  case POOL_ADAPT_FLIP: return a->mode = a->mode == POOL_RUN_ALL ? POOL_RUN_ALONE : POOL_RUN_ALL;
  case POOL_ADAPT_ON: break;
  }
  if (a->trial_left > 0) {
    const int k = 2 * POOL_TRIAL_PAIRS - a->trial_left; /* this window's place in the trial */
    a->trial_ns[a->mode][k / 2] = w->wall_ns;
    if (--a->trial_left == 0) return end_trial(a);
    return a->mode = a->mode == POOL_RUN_ALL ? POOL_RUN_ALONE : POOL_RUN_ALL;
  }
  if (a->mode == POOL_RUN_ALL) a->help_avg = 0.5 * a->help_avg + 0.5 * pool_adapt_help(w);
  if (a->hold_left > 0) a->hold_left--;
  if (a->hold_left > 0) return a->mode;
  if (a->mode == POOL_RUN_ALONE || a->help_avg < POOL_HELP_MIN) return start_trial(a);
  return a->mode;
}
