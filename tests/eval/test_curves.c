/* ebm_curves_table_parse and ebm_curves_png: the table format's rules and
 * its errors, and a chart whose series land where their values say. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/axis_ticks.h"
#include "ebm.h"
#include "test.h"

TEST(a_curves_table_parses_labels_numbers_gaps_and_comments) {
  const char *text = "# FD against budget\nminutes\tPCD fresh\tPCD buffer\r\n10\t454.1\t207.2\n\n60\t-\t120.5\n240\tnan\t\n";
  ebm_curves_table t;
  REQUIRE_OK(ebm_curves_table_parse(text, strlen(text), "t.tsv", &t));
  CHECK_EQ_INT(t.nseries, 2);
  CHECK_EQ_INT(t.rows, 3);
  CHECK(strcmp(t.x_label, "minutes") == 0);
  CHECK(strcmp(t.labels[1], "PCD buffer") == 0);
  CHECK_NEAR(t.x[2], 240.0, 0);
  CHECK_NEAR(t.y[0], 454.1, 1e-12);
  CHECK_NEAR(t.y[3], 120.5, 1e-12);
  CHECK(isnan(t.y[2]) && isnan(t.y[4]) && isnan(t.y[5]));
  ebm_curves_table_free(&t);
}

TEST(a_bad_curves_table_is_refused_with_its_line) {
  static const struct { const char *text, *message; } cases[] = {
      {"", "no header line"},
      {"x\ty\n", "no rows of numbers"},
      {"x\n1\n", "the header needs an x label"},
      {"x\ty\n1\t2\t3\n", "line 2 has 3 cell(s); the header has 2"},
      {"x\ty\n1\tabc\n", "line 2: column 2 ('abc') is not a number"},
      {"x\ty\n1\t1e999\n", "is not a number"},
      {"x\ta\tb\tc\td\te\tf\tg\th\ti\n1\t1\t1\t1\t1\t1\t1\t1\t1\t1\n", "1..8 series labels"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    ebm_curves_table t;
    CHECK_FAILS_WITH(ebm_curves_table_parse(cases[k].text, strlen(cases[k].text), "t.tsv", &t), EBM_ERR_FORMAT,
                     cases[k].message);
    CHECK(t.x == NULL && t.x_label == NULL); /* nothing left to free */
  }
}

/* The colour of the first series (31, 119, 180) within r pixels of (x, y). */
static int blue_near(const uint8_t *px, int w, int h, int x, int y, int r) {
  for (int j = y - r; j <= y + r; j++)
    for (int i = x - r; i <= x + r; i++)
      if (i >= 0 && j >= 0 && i < w && j < h && px[3 * (j * w + i)] == 31 && px[3 * (j * w + i) + 1] == 119 &&
          px[3 * (j * w + i) + 2] == 180)
        return 1;
  return 0;
}

TEST(a_curve_chart_puts_a_rising_line_low_left_and_high_right) {
  const double x[3] = {10, 60, 240}, y[3] = {1, 2, 3};
  const ebm_curve_series s = {"rising", x, y, 3};
  const char *png = test_path("curves.png");
  REQUIRE_OK(ebm_curves_png(png, "test", "minutes", "value", 1, &s, 1));
  int w = 0, h = 0, ch = 0;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(png, &w, &h, &ch, &px));
  CHECK_EQ_INT(w, 640);
  CHECK_EQ_INT(h, 400);
  CHECK_EQ_INT(ch, 3);
  /* plot area x 70..620, y 40..350; ranges padded by 5 % a side: the first
   * point sits 1/22 of the way in from the bottom-left, the last 1/22 from the top-right */
  CHECK(blue_near(px, w, h, 70 + 550 / 22, 350 - 310 / 22, 3));
  CHECK(blue_near(px, w, h, 620 - 550 / 22, 40 + 310 / 22, 3));
  CHECK(!blue_near(px, w, h, 70 + 550 / 22, 40 + 310 / 22, 3)); /* nothing top-left */
  free(px);
  const double bad_x[1] = {0};
  const ebm_curve_series zero = {"zero", bad_x, y, 1};
  CHECK_FAILS_WITH(ebm_curves_png(png, NULL, NULL, NULL, 1, &zero, 1), EBM_ERR_ARG, "log scale");
  const double nan_y[1] = {NAN};
  const ebm_curve_series empty = {"empty", x, nan_y, 1};
  CHECK_FAILS_WITH(ebm_curves_png(png, NULL, NULL, NULL, 1, &empty, 0), EBM_ERR_ARG, "no series has a finite point");
  CHECK_FAILS_WITH(ebm_curves_png(png, NULL, NULL, NULL, 0, &s, 0), EBM_ERR_ARG, "need 1..8 series");
}

TEST(a_missing_cell_is_left_out_and_the_line_joins_its_neighbours) {
  const double x[3] = {10, 60, 240}, y[3] = {1, NAN, 3};
  const ebm_curve_series s = {"joined", x, y, 3};
  const char *png = test_path("joined.png");
  REQUIRE_OK(ebm_curves_png(png, NULL, NULL, NULL, 1, &s, 1));
  int w = 0, h = 0, ch = 0;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(png, &w, &h, &ch, &px));
  /* the two points sit at about (95, 336) and (595, 54); halfway between them is on the line */
  CHECK(blue_near(px, w, h, 345, 195, 3));
  free(px);
}

/* Values a file can hold that no axis resolves: a curve at 1e20 that moves
 * by 1.6e4 (below one step of a double there) and a histogram of energies
 * like it. The tick loops once added a step below one ulp forever; both
 * pictures are now drawn, with at most AXIS_MAX_TICKS ticks an axis. */
TEST(pictures_of_values_a_double_cannot_step_through_are_drawn) {
  const double x[2] = {1, 2}, y[2] = {1e20, 1.00000000000000016384e20};
  const ebm_curve_series s = {"flat", x, y, 2};
  CHECK_OK(ebm_curves_png(test_path("flat.png"), NULL, NULL, NULL, 1, &s, 0));
  const double wide[2] = {-1e308, 1e308};
  const ebm_curve_series w = {"wide", x, wide, 2};
  CHECK_OK(ebm_curves_png(test_path("wide.png"), NULL, NULL, NULL, 1, &w, 0));
  const double energies[3] = {1e20, 1.00000000000000016384e20, 1e20};
  const ebm_hist_series hs = {energies, 3, "energies", {31, 119, 180}};
  const ebm_hist_panel panel = {"E", 1, &hs, NAN};
  CHECK_OK(ebm_hist_png(test_path("hist.png"), 1, &panel, 20));
}

/* The ticks themselves: multiples of the step inside the range, in order,
 * bounded, and none when the step is not a number. */
TEST(axis_ticks_are_the_steps_multiples_inside_the_range) {
  double at[AXIS_MAX_TICKS];
  CHECK_EQ_INT(axis_ticks(0.5, 3.2, 1.0, at), 3);
  CHECK(at[0] == 1.0 && at[1] == 2.0 && at[2] == 3.0);
  CHECK_EQ_INT(axis_ticks(0, 1e9, 1.0, at), AXIS_MAX_TICKS);
  CHECK_EQ_INT(axis_ticks(1e20, 1e20 + 16384, 5000.0, at), 1);
  CHECK_EQ_INT(axis_ticks(-1e308, 1e308, INFINITY, at), 0);
  CHECK_EQ_INT(axis_ticks(0, 1, NAN, at), 0);
  CHECK(axis_nice_step(10, 5) == 2.0 && axis_nice_step(0.07, 7) == 0.01);
}
