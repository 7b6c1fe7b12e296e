/* A run's time budget (wall or CPU): stopping before it runs out, and fitting the
 * run's length to it so a learning-rate schedule ends on time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ebm/dist.h"
#include "ebm/io.h"
#include "train/run_budget.h"

int run_out_of_budget(double budget, double spent, double elapsed, int64_t steps) {
  return spent + elapsed + elapsed / (double)steps > budget;
}

int64_t run_fitted_iters(ebm_dist *d, double budget, double elapsed, double per_step, int64_t step) {
  double more = per_step > 0 ? floor(RUN_FIT_SHARE * (budget - elapsed) / per_step) : 0;
  if (!(more >= 1)) more = 1; /* NaN or past the budget: one more step, then the stop decides */
  if (more > 1e15) more = 1e15;
  int64_t mine = step + (int64_t)more;
  const int size = ebm_dist_size(d), rank = ebm_dist_rank(d);
  if (size <= 1) return mine;
  int64_t *all = calloc((size_t)size, sizeof *all);
  if (!all) return mine; /* out of memory here is out of memory everywhere soon; stop decides */
  all[rank] = mine;
  int64_t fitted = mine;
  if (ebm_dist_gather_slices(d, all, size, sizeof *all) == EBM_OK) {
    for (int r = 0; r < size; r++)
      if (all[r] < fitted) fitted = all[r];
  }
  free(all);
  return fitted;
}

/* Sets tree[key] to v (added when absent and `add`); 0 when out of memory. */
static int set_number(cJSON *tree, const char *key, double v, int add) {
  if (!cJSON_GetObjectItemCaseSensitive(tree, key) && !add) return 1;
  cJSON *n = cJSON_CreateNumber(v);
  if (n && (cJSON_GetObjectItemCaseSensitive(tree, key) ? cJSON_ReplaceItemInObjectCaseSensitive(tree, key, n)
                                                        : cJSON_AddItemToObject(tree, key, n)))
    return 1;
  cJSON_Delete(n);
  return 0;
}

ebm_status run_record_iters(const char *run_dir, const char *config_json, int64_t iters) {
  char path[4096];
  cJSON *tree = config_json ? cJSON_Parse(config_json) : NULL;
  if (!tree) return EBM_OK; /* no config.json written (a binding's run): nothing to record */
  /* "resolved_iters" is the length `ebm report` shows progress against */
  char *text = set_number(tree, "iters", (double)iters, 1) && set_number(tree, "resolved_iters", (double)iters, 0)
                   ? cJSON_Print(tree)
                   : NULL;
  cJSON_Delete(tree);
  if (!text) return ebm_set_error(EBM_ERR_NOMEM, "out of memory recording the fitted length in config.json");
  snprintf(path, sizeof path, "%s/config.json", run_dir);
  ebm_status st = ebm_write_file_atomic(path, text, strlen(text));
  cJSON_free(text);
  return st;
}
