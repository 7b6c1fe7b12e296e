/* The NCHW ↔ CHWN transposes (AVX tiles plus plain edges), plain and into /
 * out of a padded block, vs the definition. */
#include "ops/transpose.h"
#include "ops_testutil.h"

/* Plain, and of a product (the conv backward's output gradient times the
 * swish gate: one multiply per element, exactly). */
TEST(transpose_moves_every_element_for_odd_sizes_and_strides) {
  ebm_rng rng;
  ebm_rng_init(&rng, 7);
  for (int trial = 0; trial < 40; trial++) {
    int64_t rows = 1 + ebm_rng_below(&rng, 40), cols = 1 + ebm_rng_below(&rng, 40);
    int64_t lds = cols + ebm_rng_below(&rng, 3), ldd = rows + ebm_rng_below(&rng, 3);
    if (trial < 2) rows = 1, ldd = 1; /* a row into a unit-stride column: a copy */
    else if (trial < 4) cols = 1, lds = 1; /* and back */
    float *src = rand_floats(rows * lds, 100 + trial, -1, 1), *gate = rand_floats(rows * lds, 300 + trial, -2, 2);
    float *dst = nan_floats(cols * ldd), *prod = nan_floats(cols * ldd);
    ops_transpose(rows, cols, src, lds, dst, ldd);
    ops_transpose_product(rows, cols, src, gate, lds, prod, ldd);
    int bad = 0;
    for (int64_t r = 0; r < rows; r++)
      for (int64_t c = 0; c < cols; c++) {
        float want = src[r * lds + c] * gate[r * lds + c];
        bad += dst[c * ldd + r] != src[r * lds + c];
        bad += memcmp(&prod[c * ldd + r], &want, sizeof want) != 0;
      }
    for (int64_t c = 0; c < cols; c++) /* padding columns are left alone */
      for (int64_t r = rows; r < ldd; r++) bad += !isnan(dst[c * ldd + r]) + !isnan(prod[c * ldd + r]);
    if (bad) fprintf(stderr, "    %lldx%lld lds %lld ldd %lld\n", (long long)rows, (long long)cols,
                     (long long)lds, (long long)ldd);
    CHECK_EQ_INT(bad, 0);
    free(src), free(gate), free(dst), free(prod);
  }
}

/* Into a padded CHWN block and back: every item lands in its lane of its
 * pixel, nothing else is written, and the way back restores the rows. Sizes
 * whose pixel count is and is not a multiple of 8, widths that are (rows
 * of whole 8-pixel tiles) and are not, rows 1..8, lanes 8 and 16 (the second half of 16 lanes as the AVX-512 path uses it). */
TEST(transpose_to_and_from_a_padded_block_moves_every_item_to_its_lane) {
  ebm_rng rng;
  ebm_rng_init(&rng, 8);
  for (int trial = 0; trial < 40; trial++) {
    ops_padded_block b = {1 + ebm_rng_below(&rng, 5), 1 + ebm_rng_below(&rng, 9),
                          1 + ebm_rng_below(&rng, 30), ebm_rng_below(&rng, 3),
                          trial % 2 ? 16 : 8};
    if (trial < 4) b.w = 8 + 8 * (trial / 2); /* whole rows of 8 pixels (the path without a walk) */
    int64_t rows = trial < 8 ? 8 : 1 + ebm_rng_below(&rng, 8), lane0 = b.lanes == 16 ? 8 : 0;
    int64_t q_count = b.c * b.h * b.w, lds = q_count + ebm_rng_below(&rng, 3);
    int64_t hp = b.h + 2 * b.pad, wp = b.w + 2 * b.pad, block = b.c * hp * wp * b.lanes;
    float *src = rand_floats(rows * lds, 200 + trial, -1, 1), *xp = nan_floats(block);
    float *back = nan_floats(rows * lds);
    ops_transpose_to_padded(&b, rows, src, lds, xp + lane0);
    int bad = 0;
    for (int64_t c = 0; c < b.c; c++)
      for (int64_t y = 0; y < hp; y++)
        for (int64_t x = 0; x < wp; x++)
          for (int64_t t = 0; t < b.lanes; t++) {
            float got = xp[((c * hp + y) * wp + x) * b.lanes + t];
            int64_t iy = y - b.pad, ix = x - b.pad, item = t - lane0;
            int inside = iy >= 0 && iy < b.h && ix >= 0 && ix < b.w && item >= 0 && item < rows;
            if (inside)
              bad += got != src[item * lds + (c * b.h + iy) * b.w + ix];
            else
              bad += !isnan(got);
          }
    ops_transpose_from_padded(&b, rows, xp + lane0, back, lds);
    for (int64_t t = 0; t < rows; t++)
      for (int64_t q = 0; q < lds; q++)
        bad += q < q_count ? back[t * lds + q] != src[t * lds + q] : !isnan(back[t * lds + q]);
    if (bad)
      fprintf(stderr, "    c %lld h %lld w %lld pad %lld lanes %lld rows %lld\n", (long long)b.c,
              (long long)b.h, (long long)b.w, (long long)b.pad, (long long)b.lanes, (long long)rows);
    CHECK_EQ_INT(bad, 0);
    free(src), free(xp), free(back);
  }
}

