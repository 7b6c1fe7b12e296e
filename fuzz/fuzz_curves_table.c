/* libFuzzer: any bytes through ebm_curves_table_parse (the tables of `ebm
 * show curves`). A parse either fails with a message and nothing to free, or
 * gives 1..8 series and at least one row whose x values are numbers. */
#include <math.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ebm_curves_table t;
  ebm_status s = ebm_curves_table_parse((const char *)data, size, "fuzz.tsv", &t);
  fuzz_check_message(s);
  if (s != EBM_OK) {
    FUZZ_CHECK(t.x == NULL && t.y == NULL && t.x_label == NULL);
    return 0;
  }
  FUZZ_CHECK(t.nseries >= 1 && t.nseries <= EBM_CURVES_MAX_SERIES && t.rows >= 1);
  for (int64_t r = 0; r < t.rows; r++) FUZZ_CHECK(isnan(t.x[r]) || isfinite(t.x[r]));
  ebm_curves_table_free(&t);
  return 0;
}
