/* The NCHW ↔ CHWN transpose (AVX tiles plus plain edges) vs the definition. */
#include "ops/transpose.h"
#include "ops_testutil.h"

TEST(transpose_moves_every_element_for_odd_sizes_and_strides) {
  ebm_rng rng;
  ebm_rng_init(&rng, 7);
  for (int trial = 0; trial < 40; trial++) {
    int64_t rows = 1 + ebm_rng_below(&rng, 40), cols = 1 + ebm_rng_below(&rng, 40);
    int64_t lds = cols + ebm_rng_below(&rng, 3), ldd = rows + ebm_rng_below(&rng, 3);
    float *src = rand_floats(rows * lds, 100 + trial, -1, 1);
    float *dst = nan_floats(cols * ldd);
    ops_transpose(rows, cols, src, lds, dst, ldd);
    int bad = 0;
    for (int64_t r = 0; r < rows; r++)
      for (int64_t c = 0; c < cols; c++) bad += dst[c * ldd + r] != src[r * lds + c];
    for (int64_t c = 0; c < cols; c++) /* padding columns are left alone */
      for (int64_t r = rows; r < ldd; r++) bad += !isnan(dst[c * ldd + r]);
    if (bad) fprintf(stderr, "    %lldx%lld lds %lld ldd %lld\n", (long long)rows, (long long)cols,
                     (long long)lds, (long long)ldd);
    CHECK_EQ_INT(bad, 0);
    free(src), free(dst);
  }
}
