/* A run's time budget (ebm_run_opts.budget_seconds, of wall or CPU time):
 * when to stop, and fitting the run's length to it (budget_fits_iters). */
#ifndef EBM_TRAIN_RUN_BUDGET_H
#define EBM_TRAIN_RUN_BUDGET_H

#include "ebm/train.h"

/* The share of the time left that the fitted length plans to use: the
 * rest absorbs saves, sample pictures and a machine that slows down. */
#define RUN_FIT_SHARE 0.97

/* 1 when one more step, at the mean step time of this call's `steps`,
 * would end past the budget, `spent` before this call and `elapsed` in it:
 * the run then stops within one step of its limit. */
int run_out_of_budget(double budget, double spent, double elapsed, int64_t steps);

/* The length that fits: `step` steps done, `elapsed` seconds of `budget`
 * spent, `per_step` seconds a step; at least step + 1. Every rank gets the
 * smallest of the ranks' answers, so they stop together. */
int64_t run_fitted_iters(ebm_dist *d, double budget, double elapsed, double per_step, int64_t step);

/* config.json of run_dir with "iters" (and "resolved_iters", if there)
 * set to `iters`, rewritten atomically; `config_json` is the text the run
 * started with (NULL: no config.json, nothing to do). */
ebm_status run_record_iters(const char *run_dir, const char *config_json, int64_t iters);

/* Writes run_dir/ckpt/last.clock.json (ebm_run_clock_read reads it back),
 * atomically. */
ebm_status run_clock_write(const char *run_dir, const ebm_run_clock *clock);

#endif
