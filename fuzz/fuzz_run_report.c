/* libFuzzer: any bytes as the files of a run directory that `ebm report`
 * reads (ebm_report_write): the input is cut at NUL bytes, which JSON text
 * never holds, into metrics.jsonl, events.jsonl, config.json and
 * eval.json, in that order; a part not given is a file not there. A report
 * is either written or refused with a message, never a crash. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"

static const char *const files[] = {"metrics.jsonl", "events.jsonl", "config.json", "eval.json"};
enum { NFILES = sizeof files / sizeof *files };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char run[64];
  char path[160];
  if (!run[0]) { /* one run folder per fuzzing process */
    snprintf(run, sizeof run, "/tmp/fuzz_run_report.%d", (int)getpid());
    mkdir(run, 0700);
  }
  size_t pos = 0;
  for (int i = 0; i < NFILES; i++) {
    snprintf(path, sizeof path, "%s/%s", run, files[i]);
    if (pos > size) { /* the input ended before this part */
      unlink(path);
      continue;
    }
    const uint8_t *end = memchr(data + pos, 0, size - pos);
    size_t len = end ? (size_t)(end - (data + pos)) : size - pos;
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data + pos, 1, len, f);
    fclose(f);
    pos = end ? pos + len + 1 : size + 1;
  }
  fuzz_check_message(ebm_report_write(run, NULL));
  return 0;
}
