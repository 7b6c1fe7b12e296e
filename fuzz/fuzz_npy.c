/* libFuzzer: ebm_npy_parse on arbitrary bytes. Accepted arrays must
 * re-serialise (as numpy would write them) and parse back identical. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ebm_npy a;
  ebm_status s = ebm_npy_parse(data, size, "fuzz.npy", &a);
  fuzz_check_message(s);
  if (s) {
    FUZZ_CHECK(a.data == NULL);
    return 0;
  }
  size_t numel = 1;
  for (int d = 0; d < a.ndim; d++) numel *= (size_t)a.shape[d];
  size_t nbytes = numel * ebm_dtype_size(a.dtype);
  fuzz_touch(a.data, nbytes);
  uint8_t *buf;
  size_t n;
  FUZZ_CHECK(ebm_npy_serialize(a.dtype, a.ndim, a.shape, a.data, &buf, &n) == EBM_OK);
  FUZZ_CHECK(n % 64 == nbytes % 64); /* numpy's 64-byte aligned data start */
  ebm_npy b;
  FUZZ_CHECK(ebm_npy_parse(buf, n, "again.npy", &b) == EBM_OK);
  FUZZ_CHECK(a.dtype == b.dtype && a.ndim == b.ndim);
  FUZZ_CHECK(!memcmp(a.shape, b.shape, sizeof a.shape));
  FUZZ_CHECK(!nbytes || !memcmp(a.data, b.data, nbytes));
  free(buf);
  ebm_npy_free(&b);
  ebm_npy_free(&a);
  return 0;
}
