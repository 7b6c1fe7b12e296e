/* libFuzzer: ebm_png_decode (libpng behind our setjmp handling) on
 * arbitrary bytes; decoded images must re-encode and decode identically. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int w, h, c;
  uint8_t *px;
  ebm_status s = ebm_png_decode(data, size, "fuzz.png", &w, &h, &c, &px);
  fuzz_check_message(s);
  if (s) {
    FUZZ_CHECK(px == NULL);
    return 0;
  }
  FUZZ_CHECK(w >= 1 && h >= 1 && (c == 1 || c == 3));
  size_t n = (size_t)w * (size_t)h * (size_t)c;
  fuzz_touch(px, n);
  /* Re-encoding big images costs seconds per input; the property holds for small ones. */
  if (n <= 1 << 16) {
    uint8_t *buf, *px2;
    size_t bytes;
    int w2, h2, c2;
    FUZZ_CHECK(ebm_png_encode(w, h, c, px, &buf, &bytes) == EBM_OK);
    FUZZ_CHECK(ebm_png_decode(buf, bytes, "again.png", &w2, &h2, &c2, &px2) == EBM_OK);
    FUZZ_CHECK(w2 == w && h2 == h && c2 == c && !memcmp(px, px2, n));
    free(px2);
    free(buf);
  }
  free(px);
  return 0;
}
