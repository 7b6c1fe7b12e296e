/* libFuzzer: ebm_idx_parse on arbitrary bytes, plain and gzip'd (the
 * fuzzer finds the 1f 8b magic from the .gz seeds). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ebm_idx a;
  ebm_status s = ebm_idx_parse(data, size, "fuzz.idx", &a);
  fuzz_check_message(s);
  if (s) {
    FUZZ_CHECK(a.data == NULL);
    return 0;
  }
  FUZZ_CHECK(a.ndim >= 1 && a.ndim <= EBM_MAX_DIMS);
  size_t numel = 1;
  for (int d = 0; d < a.ndim; d++) numel *= (size_t)a.shape[d];
  fuzz_touch(a.data, numel);
  ebm_idx_free(&a);
  return 0;
}
