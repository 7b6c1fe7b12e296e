/* Augmentation of restarted chains (src/data/augment.c): the identity when
 * off, every transform inside the data range, flips and shifts move whole
 * pixels, and the list parser. */
#include "test.h"

enum { C = 1, HH = 9, WW = 9, M = C * HH * WW };
static const int64_t shape[3] = {C, HH, WW};

TEST(augment_off_is_the_identity_and_draws_nothing) {
  float x[M], before[M], tmp[M];
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  ebm_rng_uniform(&rng, x, M, 0.0f, 1.0f);
  memcpy(before, x, sizeof x);
  const ebm_rng saved = rng;
  ebm_augment_item(x, 3, shape, 0, 0.0f, 1.0f, &rng, tmp);
  CHECK(memcmp(x, before, sizeof x) == 0);
  CHECK(rng.counter == saved.counter);
  unsigned mask = 99;
  REQUIRE_OK(ebm_augment_parse("none", &mask));
  CHECK_EQ_INT(mask, 0);
}

/* 200 draws of each transform on images that fill the range [−1, 1] and
 * touch its ends: nothing leaves it, and something changes. */
TEST(augment_keeps_the_data_range) {
  const unsigned masks[4] = {EBM_AUGMENT_FLIP, EBM_AUGMENT_SHIFT, EBM_AUGMENT_NOISE, EBM_AUGMENT_ALL};
  ebm_rng rng;
  ebm_rng_init(&rng, 2);
  for (int m = 0; m < 4; m++) {
    int changed = 0;
    for (int trial = 0; trial < 200; trial++) {
      float x[M], before[M], tmp[M];
      ebm_rng_uniform(&rng, x, M, -1.0f, 1.0f);
      x[0] = -1.0f;
      x[M - 1] = 1.0f;
      memcpy(before, x, sizeof x);
      ebm_augment_item(x, 3, shape, masks[m], -1.0f, 1.0f, &rng, tmp);
      for (int k = 0; k < M; k++) CHECK(x[k] >= -1.0f && x[k] <= 1.0f);
      changed += memcmp(x, before, sizeof x) != 0;
    }
    CHECK(changed > 90); /* flips change half the images, the others nearly all */
  }
}

/* One bright pixel at (4, 3): a flip moves it to (4, 5), a shift by at most
 * 2 in each direction keeps it single and within 2 of where it was, and
 * the noise has σ = 0.03 of the range. */
TEST(flip_and_shift_move_whole_pixels_and_noise_has_its_scale) {
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  int flipped = 0, shifted = 0;
  for (int trial = 0; trial < 100; trial++) {
    float x[M] = {0}, tmp[M];
    x[4 * WW + 3] = 1.0f;
    ebm_augment_item(x, 3, shape, trial % 2 ? EBM_AUGMENT_FLIP : EBM_AUGMENT_SHIFT, 0.0f, 1.0f, &rng, tmp);
    int bright = 0, at = -1;
    for (int k = 0; k < M; k++)
      if (x[k] == 1.0f) bright++, at = k;
      else CHECK(x[k] == 0.0f);
    REQUIRE(bright == 1);
    int h = at / WW, w = at % WW;
    if (trial % 2) {
      CHECK(h == 4 && (w == 3 || w == 5));
      flipped += w == 5;
    } else {
      CHECK(abs(h - 4) <= 2 && abs(w - 3) <= 2);
      shifted += at != 4 * WW + 3;
    }
  }
  CHECK(flipped > 10 && flipped < 40);
  CHECK(shifted > 30);
  float x[M], tmp[M];
  double s = 0, s2 = 0;
  for (int trial = 0; trial < 100; trial++) {
    for (int k = 0; k < M; k++) x[k] = 0.5f;
    ebm_augment_item(x, 3, shape, EBM_AUGMENT_NOISE, 0.0f, 2.0f, &rng, tmp);
    for (int k = 0; k < M; k++) s += x[k] - 0.5, s2 += (x[k] - 0.5) * (x[k] - 0.5);
  }
  const double n = 100.0 * M, sd = sqrt(s2 / n);
  CHECK_NEAR(s / n, 0.0, 5 * 0.06 / sqrt(n));
  CHECK_NEAR(sd, 0.06, 0.003);
}

TEST(augment_lists_parse_and_image_transforms_need_images) {
  unsigned mask = 0;
  char text[64];
  REQUIRE_OK(ebm_augment_parse("noise,flip", &mask));
  CHECK_EQ_INT(mask, EBM_AUGMENT_FLIP | EBM_AUGMENT_NOISE);
  CHECK(strcmp(ebm_augment_text(mask, text, sizeof text), "flip,noise") == 0);
  CHECK(strcmp(ebm_augment_text(0, text, sizeof text), "none") == 0);
  REQUIRE_OK(ebm_augment_parse("flip,shift,noise", &mask));
  CHECK_EQ_INT(mask, EBM_AUGMENT_ALL);
  CHECK_FAILS_WITH(ebm_augment_parse("flip,rotate", &mask), EBM_ERR_ARG, "unknown transform 'rotate'");
  CHECK_FAILS_WITH(ebm_augment_check(EBM_AUGMENT_SHIFT, 1), EBM_ERR_ARG, "need images");
  CHECK_OK(ebm_augment_check(EBM_AUGMENT_NOISE, 1));
}
