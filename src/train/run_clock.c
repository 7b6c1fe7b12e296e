/* A run's clock: the CPU and wall time it had used at its last save, over
 * all its parts, kept beside the checkpoint (ckpt/last.clock.json) so that
 * a budget can be the run's and not one call's. Not in the state file: the
 * state's bytes are the proof of a bit-exact resume, and time is not. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ebm/io.h"
#include "ebm/train.h"
#include "train/run_budget.h"

#define CLOCK_FILE "ckpt/last.clock.json"
#define CLOCK_MAX_BYTES 4096

ebm_status run_clock_write(const char *run_dir, const ebm_run_clock *c) {
  char path[4096], text[256];
  snprintf(path, sizeof path, "%s/" CLOCK_FILE, run_dir);
  int n = snprintf(text, sizeof text, "{\"step\": %lld, \"cpu_seconds\": %.3f, \"wall_seconds\": %.3f, \"parts\": %lld, "
                   "\"since_step\": %lld}\n", (long long)c->step, c->cpu_seconds, c->wall_seconds, (long long)c->parts,
                   (long long)c->since_step);
  return ebm_write_file_atomic(path, text, (size_t)n);
}

/* A non-negative finite number under `key`, or -1. */
static double number(const cJSON *tree, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(tree, key);
  return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0 ? v->valuedouble : -1;
}

ebm_status ebm_run_clock_read(const char *run_dir, ebm_run_clock *clock) {
  char path[4096];
  uint8_t *data = NULL;
  size_t size = 0;
  memset(clock, 0, sizeof *clock);
  snprintf(path, sizeof path, "%s/" CLOCK_FILE, run_dir);
  ebm_status st = ebm_read_file(path, CLOCK_MAX_BYTES, &data, &size);
  if (st != EBM_OK) return st;
  cJSON *tree = cJSON_ParseWithLength((const char *)data, size);
  free(data);
  const double step = number(tree, "step"), cpu = number(tree, "cpu_seconds"), wall = number(tree, "wall_seconds"),
               parts = number(tree, "parts"), since = number(tree, "since_step");
  cJSON_Delete(tree);
  if (step < 0 || cpu < 0 || wall < 0 || parts < 1 || since < 0 || since > step || step > 9e15 || parts > 9e15)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: not a run clock (expected step, cpu_seconds, wall_seconds, parts, "
                         "since_step)", path);
  clock->step = (int64_t)step;
  clock->cpu_seconds = cpu;
  clock->wall_seconds = wall;
  clock->parts = (int64_t)parts;
  clock->since_step = (int64_t)since;
  return EBM_OK;
}
