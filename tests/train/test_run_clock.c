/* A run's clock file (ckpt/last.clock.json): read back as written, bad
 * files refused in one line; and a budget's stop counting earlier parts. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "test_util.h"
#include "train/run_budget.h"

/* run/ and run/ckpt/, which may be there already */
static void make_run_dir(const char *run) {
  char path[600];
  snprintf(path, sizeof path, "%s/ckpt", run);
  mkdir(run, 0755);
  mkdir(path, 0755);
}

static void write_clock_text(const char *run, const char *text) {
  char path[600];
  make_run_dir(run);
  snprintf(path, sizeof path, "%s/ckpt/last.clock.json", run);
  test_write_file(path, text, strlen(text));
}

TEST(run_clock_reads_back_what_it_wrote) {
  const char *run = test_path("run");
  make_run_dir(run);
  const ebm_run_clock w = {.step = 1234, .cpu_seconds = 7202.125, .wall_seconds = 9000.5, .parts = 4, .since_step = 17};
  REQUIRE_OK(run_clock_write(run, &w));
  ebm_run_clock r;
  REQUIRE_OK(ebm_run_clock_read(run, &r));
  CHECK_EQ_INT(r.step, 1234);
  CHECK_EQ_INT(r.parts, 4);
  CHECK_EQ_INT(r.since_step, 17);
  CHECK(r.cpu_seconds == 7202.125 && r.wall_seconds == 9000.5);
}

TEST(run_clock_refuses_what_is_not_a_clock) {
  const char *run = test_path("bad");
  make_run_dir(run);
  ebm_run_clock c;
  CHECK_EQ_INT(ebm_run_clock_read(run, &c), EBM_ERR_IO); /* none yet */
  static const char *const bad[] = {
      "not json",
      "{\"step\": 4, \"cpu_seconds\": 1, \"wall_seconds\": 1}",                                      /* no parts */
      "{\"step\": -4, \"cpu_seconds\": 1, \"wall_seconds\": 1, \"parts\": 1, \"since_step\": 0}",    /* negative */
      "{\"step\": 4, \"cpu_seconds\": \"1\", \"wall_seconds\": 1, \"parts\": 1, \"since_step\": 0}", /* a string */
      "{\"step\": 4, \"cpu_seconds\": 1, \"wall_seconds\": 1, \"parts\": 0, \"since_step\": 0}",     /* no part */
      "{\"step\": 4, \"cpu_seconds\": 1, \"wall_seconds\": 1, \"parts\": 1, \"since_step\": 5}",     /* after step */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    write_clock_text(run, bad[i]);
    CHECK_EQ_INT(ebm_run_clock_read(run, &c), EBM_ERR_FORMAT);
    CHECK_CONTAINS(ebm_last_error(), "last.clock.json: not a run clock (expected step, cpu_seconds");
  }
}

/* The stop: one more step at this call's mean step time would pass the
 * budget, the earlier parts' time included. */
TEST(run_out_of_budget_counts_the_earlier_parts) {
  CHECK(!run_out_of_budget(10, 0, 4, 4));  /* 4 + 1 ≤ 10 */
  CHECK(!run_out_of_budget(10, 5, 4, 4));  /* 5 + 4 + 1 = 10: one more step fits */
  CHECK(run_out_of_budget(10, 5.5, 4, 4)); /* 10.5 */
  CHECK(run_out_of_budget(10, 12, 0.001, 1));
}
