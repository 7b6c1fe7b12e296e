/* libFuzzer: any bytes as a run's ckpt/last.clock.json through
 * ebm_run_clock_read (what --resume reads to count a run's earlier parts).
 * A read either fails with a message or gives a clock whose numbers are
 * finite, non-negative and consistent (at least one part, a count that
 * starts at or before the saved step). */
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char run[64];
  char path[128];
  if (!run[0]) { /* one run folder per fuzzing process */
    snprintf(run, sizeof run, "/tmp/fuzz_run_clock.%d", (int)getpid());
    snprintf(path, sizeof path, "%s/ckpt", run);
    mkdir(run, 0700);
    mkdir(path, 0700);
  }
  snprintf(path, sizeof path, "%s/ckpt/last.clock.json", run);
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  ebm_run_clock c;
  ebm_status s = ebm_run_clock_read(run, &c);
  fuzz_check_message(s);
  if (s != EBM_OK) return 0;
  FUZZ_CHECK(c.step >= 0 && c.parts >= 1 && c.since_step >= 0 && c.since_step <= c.step);
  FUZZ_CHECK(isfinite(c.cpu_seconds) && c.cpu_seconds >= 0 && isfinite(c.wall_seconds) && c.wall_seconds >= 0);
  return 0;
}
