#include <zlib.h>

#include "io/io_test_util.h"

TEST(png_raw_write_read_roundtrip_is_exact_for_gray_and_rgb) {
  uint8_t gray[5 * 3], rgb[4 * 2 * 3];
  for (int i = 0; i < 15; i++) gray[i] = (uint8_t)(i * 17);
  for (int i = 0; i < 24; i++) rgb[i] = (uint8_t)(255 - i * 10);
  REQUIRE_OK(ebm_png_write(test_path("g.png"), 5, 3, 1, gray));
  REQUIRE_OK(ebm_png_write(test_path("c.png"), 4, 2, 3, rgb));
  int w, h, c;
  uint8_t *px;
  REQUIRE_OK(ebm_png_read(test_path("g.png"), &w, &h, &c, &px));
  CHECK(w == 5 && h == 3 && c == 1 && memcmp(px, gray, sizeof gray) == 0);
  free(px);
  REQUIRE_OK(ebm_png_read(test_path("c.png"), &w, &h, &c, &px));
  CHECK(w == 4 && h == 2 && c == 3 && memcmp(px, rgb, sizeof rgb) == 0);
  free(px);
  CHECK_EQ_INT(io_test_count_entries(test_tmpdir()), 2); /* no temp files */
}

TEST(png_grid_places_scales_and_pads_images) {
  /* 5 gray 2x3 images, 3 per row, pad 1, scale 2: 2 rows of cells 6 wide, 4 high. */
  ebm_tensor *t = ebm_tensor_new4(5, 1, 2, 3);
  for (int i = 0; i < 5; i++)
    for (int p = 0; p < 6; p++) t->data[i * 6 + p] = (float)(i * 6 + p) / 29.0f;
  ebm_grid_opts o = ebm_grid_defaults();
  o.ncols = 3, o.pad = 1, o.scale = 2, o.pad_value = 77;
  REQUIRE_OK(ebm_png_write_grid(test_path("grid.png"), t, &o));
  int w, h, c;
  uint8_t *px;
  REQUIRE_OK(ebm_png_read(test_path("grid.png"), &w, &h, &c, &px));
  CHECK_EQ_INT(w, 3 * 6 + 4);
  CHECK_EQ_INT(h, 2 * 4 + 3);
  CHECK_EQ_INT(c, 1);
  for (int i = 0; i < 5; i++)
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 6; x++) {
        int gx = 1 + (i % 3) * 7 + x, gy = 1 + (i / 3) * 5 + y;
        int v = (int)lroundf((float)(i * 6 + (y / 2) * 3 + x / 2) / 29.0f * 255.0f);
        if (abs(px[gy * w + gx] - v) > 0)
          test_fail_at(__FILE__, __LINE__, "image %d pixel (%d,%d) is %d, want %d", i, x, y,
                       px[gy * w + gx], v);
      }
  CHECK_EQ_INT(px[0], 77);            /* border */
  CHECK_EQ_INT(px[7], 77);            /* pad column between images 0 and 1 */
  CHECK_EQ_INT(px[5 * w + 3], 77);    /* pad row */
  CHECK_EQ_INT(px[8 * w + 17], 77);   /* the empty sixth cell */
  free(px);
  ebm_tensor_free(t);
}

TEST(png_grid_maps_range_clamps_and_handles_nan_in_rgb) {
  ebm_tensor *t = ebm_tensor_new4(1, 3, 1, 5);
  float v[5] = {-1.0f, 1.0f, 0.0f, 5.0f, NAN};
  for (int ch = 0; ch < 3; ch++)
    for (int x = 0; x < 5; x++) t->data[ch * 5 + x] = ch == 1 ? -v[x] : v[x];
  ebm_grid_opts o = {-1.0f, 1.0f, 0, 0, 1, 0};
  REQUIRE_OK(ebm_png_write_grid(test_path("rgb.png"), t, &o));
  int w, h, c;
  uint8_t *px;
  REQUIRE_OK(ebm_png_read(test_path("rgb.png"), &w, &h, &c, &px));
  CHECK(w == 5 && h == 1 && c == 3);
  const uint8_t red[5] = {0, 255, 128, 255, 0}, green[5] = {255, 0, 128, 0, 0};
  for (int x = 0; x < 5; x++) {
    CHECK_EQ_INT(px[x * 3 + 0], red[x]);
    CHECK_EQ_INT(px[x * 3 + 1], green[x]);
    CHECK_EQ_INT(px[x * 3 + 2], red[x]);
  }
  free(px);
  /* Default ncols is ceil(sqrt(N)): 10 images → 4 columns, 3 rows. */
  ebm_tensor *many = ebm_tensor_new4(10, 1, 2, 2);
  REQUIRE_OK(ebm_png_write_grid(test_path("sq.png"), many, NULL));
  REQUIRE_OK(ebm_png_read(test_path("sq.png"), &w, &h, &c, &px));
  CHECK(w == 4 * 2 + 5 * 2 && h == 3 * 2 + 4 * 2);
  free(px);
  ebm_tensor_free(many);
  ebm_tensor_free(t);
}

TEST(png_grid_rejects_bad_shapes_and_options_naming_the_file) {
  ebm_tensor *t = ebm_tensor_new4(2, 2, 3, 3);
  ebm_tensor *flat = ebm_tensor_new2(4, 9);
  ebm_tensor *ok = ebm_tensor_new4(2, 1, 3, 3);
  ebm_grid_opts o = ebm_grid_defaults();
  CHECK_FAILS_WITH(ebm_png_write_grid(test_path("x.png"), t, &o), EBM_ERR_SHAPE,
                   "x.png: an image grid needs N×C×H×W with N >= 1 and C = 1 or 3, got [2,2,3,3]");
  CHECK_FAILS_WITH(ebm_png_write_grid(test_path("x.png"), flat, &o), EBM_ERR_SHAPE, "got [4,9]");
  o.hi = o.lo;
  CHECK_FAILS_WITH(ebm_png_write_grid(test_path("x.png"), ok, &o), EBM_ERR_ARG,
                   "x.png: grid value range [0, 0] is empty");
  o = ebm_grid_defaults();
  o.scale = 0;
  CHECK_FAILS_WITH(ebm_png_write_grid(test_path("x.png"), ok, &o), EBM_ERR_ARG, "scale 0 in 1..64");
  o = ebm_grid_defaults();
  o.scale = 64;
  ebm_tensor *wide = ebm_tensor_new4(1, 1, 1, 2000);
  CHECK_FAILS_WITH(ebm_png_write_grid(test_path("x.png"), wide, &o), EBM_ERR_ARG,
                   "grid of 128004x68 pixels is too large");
  ebm_tensor_free(wide);
  CHECK_FAILS_WITH(ebm_png_write(test_path("x.png"), 0, 3, 1, NULL), EBM_ERR_ARG, "out of range");
  CHECK_FAILS_WITH(ebm_png_write(test_path("x.png"), 3, 3, 4, NULL), EBM_ERR_ARG,
                   "1 (gray) or 3 (RGB) channels, not 4");
  CHECK_FAILS_WITH(ebm_png_write_grid(test_path("none/x.png"), ok, NULL), EBM_ERR_IO,
                   "none/x.png: cannot create");
  CHECK_EQ_INT(io_test_count_entries(test_tmpdir()), 0);
  ebm_tensor_free(t);
  ebm_tensor_free(flat);
  ebm_tensor_free(ok);
}

TEST(png_reader_converts_16bit_palette_and_alpha_files) {
  int w, h, c;
  uint8_t *px;
  REQUIRE_OK(ebm_png_read(test_fixture("io/gray16_3x2.png"), &w, &h, &c, &px));
  CHECK(w == 3 && h == 2 && c == 1);
  const int g16[6] = {0, 32896, 65535, 1000, 30000, 65280};
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(px[i], lround(g16[i] / 257.0));
  free(px);
  REQUIRE_OK(ebm_png_read(test_fixture("io/rgba_2x2.png"), &w, &h, &c, &px));
  CHECK(w == 2 && h == 2 && c == 3);
  const uint8_t rgb[12] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 255, 0, 1};
  CHECK(memcmp(px, rgb, 12) == 0);
  free(px);
  REQUIRE_OK(ebm_png_read(test_fixture("io/palette2_4x1.png"), &w, &h, &c, &px));
  CHECK(w == 4 && h == 1 && c == 3);
  const uint8_t pal[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 8, 7};
  CHECK(memcmp(px, pal, 12) == 0);
  free(px);
}

TEST(png_reader_rejects_truncated_and_corrupted_files_without_leaks) {
  uint8_t img[16 * 16];
  for (int i = 0; i < 256; i++) img[i] = (uint8_t)(i * 31);
  uint8_t *buf;
  size_t size;
  REQUIRE_OK(ebm_png_encode(16, 16, 1, img, &buf, &size));
  int w, h, c;
  uint8_t *px;
  REQUIRE_OK(ebm_png_decode(buf, size, "ok.png", &w, &h, &c, &px));
  CHECK(w == 16 && memcmp(px, img, sizeof img) == 0);
  free(px);
  CHECK_FAILS_WITH(ebm_png_decode(buf, 7, "t.png", &w, &h, &c, &px), EBM_ERR_FORMAT,
                   "t.png: not a PNG file");
  /* Every truncation point after the signature fails cleanly. */
  for (size_t cut = 8; cut < size; cut++) {
    ebm_status s = ebm_png_decode(buf, cut, "t.png", &w, &h, &c, &px);
    if (s != EBM_ERR_FORMAT || px != NULL) test_fail_at(__FILE__, __LINE__, "cut %zu: %d", cut, s);
  }
  CHECK_FAILS_WITH(ebm_png_decode(buf, size - 20, "t.png", &w, &h, &c, &px), EBM_ERR_FORMAT,
                   "t.png: bad PNG: ");
  buf[20] ^= 0x01; /* inside IHDR: its CRC no longer matches */
  CHECK_FAILS_WITH(ebm_png_decode(buf, size, "crc.png", &w, &h, &c, &px), EBM_ERR_FORMAT,
                   "crc.png: bad PNG: IHDR: CRC error");
  buf[20] ^= 0x01;
  /* Width 2^20 in IHDR (with a fixed CRC): over our side limit. */
  buf[16] = 0, buf[17] = 0x10, buf[18] = 0, buf[19] = 0;
  uint32_t crc = (uint32_t)crc32(0, buf + 12, 17);
  buf[29] = (uint8_t)(crc >> 24), buf[30] = (uint8_t)(crc >> 16), buf[31] = (uint8_t)(crc >> 8),
  buf[32] = (uint8_t)crc;
  CHECK_FAILS_WITH(ebm_png_decode(buf, size, "wide.png", &w, &h, &c, &px), EBM_ERR_FORMAT,
                   "wide.png: bad PNG: Invalid IHDR data");
  free(buf);
  CHECK_FAILS_WITH(ebm_png_read(test_fixture("io/f32_2x3.npy"), &w, &h, &c, &px), EBM_ERR_FORMAT,
                   "f32_2x3.npy: not a PNG file");
}
