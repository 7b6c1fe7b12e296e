/* ebm_levels_png: recovery likelihood's levels as one picture, noise
 * (level T) first. Each level's points or images are put where the
 * picture must show them, so a wrong order or layout fails. */
#include <unistd.h>

#include "test_util.h"

/* A temporary path for a picture (the caller unlinks it). */
static void temp_png(char *path) {
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
}

/* 1 when pixel (x, y) of an RGB picture is the dots' red, 0 when white. */
static int is_red(const uint8_t *px, int w, int x, int y) {
  const uint8_t *p = px + 3 * ((size_t)y * w + x);
  return p[0] > 150 && p[1] < 100 && p[2] < 100;
}
static int is_white(const uint8_t *px, int w, int x, int y) {
  const uint8_t *p = px + 3 * ((size_t)y * w + x);
  return p[0] == 255 && p[1] == 255 && p[2] == 255;
}

TEST(levels_png_draws_one_scatter_panel_per_level_from_noise_to_data) {
  enum { T1 = 3, N = 40 }; /* levels 0, 1, 2 */
  static const float where[T1] = {-3.0f, 0.0f, 3.0f}; /* level t: every point at (where[t], where[t]) */
  float levels[T1 * N * 2];
  for (int t = 0; t < T1; t++)
    for (int k = 0; k < 2 * N; k++) levels[t * N * 2 + k] = where[t];
  const int64_t shape[1] = {2};
  char path[] = "/tmp/ebm_levels_png_XXXXXX";
  temp_png(path);
  REQUIRE_OK(ebm_levels_png(path, levels, T1, N, 1, shape, -4.0f, 4.0f));
  int w = 0, h = 0, ch = 0;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(path, &w, &h, &ch, &px));
  CHECK_EQ_INT(ch, 3);
  CHECK_EQ_INT(w, T1 * (200 + 8) + 8); /* 200-px panels, 8-px gaps */
  CHECK_EQ_INT(h, 14 + 200 + 8);       /* the title line above */
  /* Value v lands at (v + 4)/8·198 px from the panel's left (and from its
   * bottom): −3 → 24, 0 → 99, 3 → 173; rows count from the top. */
  const int at[T1] = {24, 99, 173};
  for (int k = 0; k < T1; k++) { /* panel k shows level T − k */
    const int level = T1 - 1 - k, x0 = 8 + k * 208, y0 = 14;
    for (int t = 0; t < T1; t++) {
      const int x = x0 + at[t], y = y0 + 198 - at[t];
      if (t == level) CHECK(is_red(px, w, x, y));
      else CHECK(is_white(px, w, x, y));
    }
  }
  free(px);
  unlink(path);
}

TEST(levels_png_draws_one_image_row_per_level_with_the_noise_on_top) {
  enum { T1 = 3, N = 10, C = 1, H = 4, W = 4 }; /* 10 chains: the first 8 are shown */
  float levels[T1 * N * C * H * W];
  for (int t = 0; t < T1; t++) /* level t is grey t/2; chain 9 (not shown) black */
    for (int i = 0; i < N; i++)
      for (int k = 0; k < H * W; k++) levels[(t * N + i) * H * W + k] = i == 9 ? 0.0f : 0.5f * (float)t;
  const int64_t shape[3] = {C, H, W};
  char path[] = "/tmp/ebm_levels_png_XXXXXX";
  temp_png(path);
  REQUIRE_OK(ebm_levels_png(path, levels, T1, N, 3, shape, 0.0f, 1.0f));
  int w = 0, h = 0, ch = 0;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(path, &w, &h, &ch, &px));
  CHECK_EQ_INT(ch, 1);
  CHECK_EQ_INT(w, EBM_LEVELS_PNG_CHAINS * W * 2 + (EBM_LEVELS_PNG_CHAINS + 1) * 2); /* scale 2, pad 2 */
  CHECK_EQ_INT(h, T1 * H * 2 + (T1 + 1) * 2);
  static const int grey[T1] = {255, 128, 0}; /* rows top to bottom: levels 2, 1, 0 */
  for (int r = 0; r < T1; r++)
    for (int c = 0; c < EBM_LEVELS_PNG_CHAINS; c++)
      CHECK_EQ_INT(px[(size_t)(2 + r * (2 * H + 2) + 3) * w + (2 + c * (2 * W + 2) + 3)], grey[r]);
  free(px);
  unlink(path);
}

TEST(levels_png_refuses_items_it_cannot_draw) {
  float x[6] = {0};
  const int64_t three[1] = {3}, two[1] = {2};
  CHECK_FAILS_WITH(ebm_levels_png("p.png", x, 2, 1, 1, three, -1.0f, 1.0f), EBM_ERR_ARG,
                   "p.png: levels are drawn for 2-D points or images");
  CHECK_FAILS_WITH(ebm_levels_png("p.png", x, 1, 1, 1, two, 1.0f, -1.0f), EBM_ERR_ARG, "lo < hi");
}
