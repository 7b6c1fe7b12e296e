/* ebm_curves_table_parse and ebm_curves_png: the table format's rules and
 * its errors, and a chart whose series land where their values say. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
