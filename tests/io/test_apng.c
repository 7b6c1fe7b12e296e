/* Animated PNG (src/io/apng.c, ebm_apng_write_videos): the file is parsed
 * here chunk by chunk — order, sequence numbers, CRCs, frame count — every
 * frame inflates back to its pixels, and libpng (no APNG support) reads
 * frame 0 as the still image. */
#include <zlib.h>

#include "io/io_test_util.h"
#include "ebm/data_volumes.h"

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walks buf's chunks and checks the APNG structure of `frames` frames of
 * w×h×c pixels (frame after frame in `want`). */
static void check_apng(const uint8_t *buf, size_t size, int w, int h, int c, int frames,
                       const uint8_t *want, int delay_ms) {
  static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  REQUIRE(size > 8 && memcmp(buf, sig, 8) == 0);
  const size_t row = (size_t)w * c, raw_size = (size_t)h * (row + 1);
  uint8_t *raw = malloc(raw_size);
  REQUIRE(raw);
  size_t at = 8;
  int index = 0, frame = 0, fctl = 0, seen_actl = 0, seen_iend = 0;
  uint32_t next_seq = 0;
  const char *last = "";
  while (at + 12 <= size) {
    const uint32_t len = be32(buf + at);
    REQUIRE(at + 12 + len <= size);
    const uint8_t *type = buf + at + 4, *data = buf + at + 8;
    CHECK_EQ_INT(be32(data + len), (uint32_t)crc32(crc32(0L, type, 4), data, len));
    if (index == 0) {
      REQUIRE(memcmp(type, "IHDR", 4) == 0);
      CHECK(be32(data) == (uint32_t)w && be32(data + 4) == (uint32_t)h);
      CHECK(data[8] == 8 && data[9] == (c == 3 ? 2 : 0));
    } else if (memcmp(type, "acTL", 4) == 0) {
      CHECK(strcmp(last, "IHDR") == 0); /* before any image data */
      CHECK_EQ_INT(be32(data), frames);
      seen_actl = 1;
    } else if (memcmp(type, "fcTL", 4) == 0) {
      CHECK_EQ_INT(be32(data), next_seq++);
      CHECK(be32(data + 4) == (uint32_t)w && be32(data + 8) == (uint32_t)h);
      CHECK(be32(data + 12) == 0 && be32(data + 16) == 0);
      CHECK(data[20] * 256 + data[21] == delay_ms && data[22] * 256 + data[23] == 1000);
      fctl++;
    } else if (memcmp(type, "IDAT", 4) == 0 || memcmp(type, "fdAT", 4) == 0) {
      const int fd = type[0] == 'f';
      CHECK(strcmp(last, "fcTL") == 0); /* every frame's control chunk comes first */
      CHECK_EQ_INT(fd, frame > 0);      /* frame 0 is the IDAT */
      if (fd) CHECK_EQ_INT(be32(data), next_seq++);
      uLongf out = raw_size;
      CHECK_EQ_INT(uncompress(raw, &out, data + 4 * fd, len - 4 * fd), Z_OK);
      CHECK_EQ_INT(out, raw_size);
      for (int y = 0; y < h; y++) {
        CHECK_EQ_INT(raw[(size_t)y * (row + 1)], 0);
        CHECK(memcmp(raw + (size_t)y * (row + 1) + 1, want + ((size_t)frame * h + y) * row, row) == 0);
      }
      frame++;
    } else if (memcmp(type, "IEND", 4) == 0) {
      CHECK_EQ_INT(len, 0);
      seen_iend = 1;
    }
    last = memcmp(type, "IHDR", 4) == 0 ? "IHDR" : memcmp(type, "fcTL", 4) == 0 ? "fcTL" : "other";
    at += 12 + len;
    index++;
  }
  CHECK_EQ_INT(at, size); /* IEND ends the file */
  CHECK(seen_actl && seen_iend);
  CHECK_EQ_INT(frame, frames);
  CHECK_EQ_INT(fctl, frames);
  CHECK_EQ_INT(next_seq, 2 * frames - 1);
  free(raw);
}

TEST(apng_chunks_parse_and_frame_0_is_the_still_image) {
  for (int c = 1; c <= 3; c += 2) {
    const int w = 7, h = 5, frames = 4;
    uint8_t *px = malloc((size_t)frames * h * w * c);
    REQUIRE(px);
    for (int i = 0; i < frames * h * w * c; i++) px[i] = (uint8_t)(i * 37 + c);
    uint8_t *buf;
    size_t size;
    REQUIRE_OK(ebm_apng_encode(w, h, c, frames, px, 125, &buf, &size));
    check_apng(buf, size, w, h, c, frames, px, 125);
    int dw, dh, dc;
    uint8_t *still;
    REQUIRE_OK(ebm_png_decode(buf, size, "apng", &dw, &dh, &dc, &still));
    CHECK(dw == w && dh == h && dc == c && memcmp(still, px, (size_t)w * h * c) == 0);
    free(still), free(buf), free(px);
  }
}

/* Videos as an animation: frame f is the grid of every video's frame f,
 * the same pixels ebm_grid_render gives for those frames; libpng reads
 * frame 0 back from the file. */
TEST(apng_of_videos_shows_frame_f_of_every_video) {
  const int n = 3, t = 4, h = 6, w = 5;
  float *v = malloc((size_t)n * t * h * w * sizeof *v);
  REQUIRE(v);
  for (int i = 0; i < n * t * h * w; i++) v[i] = (float)((i * 7) % 23) / 22.0f;
  REQUIRE_OK(ebm_apng_write_videos(test_path("v.png"), v, n, 1, t, h, w, 0.0f, 1.0f, 100));
  uint8_t *file;
  size_t size;
  REQUIRE_OK(ebm_read_file(test_path("v.png"), 1 << 20, &file, &size));
  ebm_tensor *frame = ebm_tensor_new4(n, 1, h, w);
  uint8_t *want = NULL;
  int gw = 0, gh = 0;
  for (int f = 0; f < t; f++) {
    for (int i = 0; i < n; i++) memcpy(frame->data + i * h * w, v + (i * t + f) * h * w, (size_t)h * w * sizeof(float));
    ebm_grid_opts o = ebm_grid_defaults();
    o.ncols = n, o.scale = 2;
    uint8_t *px;
    REQUIRE_OK(ebm_grid_render("test", frame, &o, &px, &gw, &gh));
    if (!want) want = malloc((size_t)gw * gh * t);
    REQUIRE(want);
    memcpy(want + (size_t)f * gw * gh, px, (size_t)gw * gh);
    free(px);
  }
  check_apng(file, size, gw, gh, 1, t, want, 100);
  int dw, dh, dc;
  uint8_t *still;
  REQUIRE_OK(ebm_png_read(test_path("v.png"), &dw, &dh, &dc, &still));
  CHECK(dw == gw && dh == gh && dc == 1 && memcmp(still, want, (size_t)gw * gh) == 0);
  free(still), free(want), free(file), free(v);
  ebm_tensor_free(frame);
}

TEST(apng_bad_sizes_are_one_clear_error) {
  uint8_t px[4] = {0};
  CHECK_FAILS_WITH(ebm_apng_write(test_path("a.png"), 2, 2, 1, 0, px, 100), EBM_ERR_ARG,
                   "a.png: apng: needs 1..65535 frames (got 0)");
  CHECK_FAILS_WITH(ebm_apng_write(test_path("a.png"), 2, 2, 2, 1, px, 100), EBM_ERR_ARG,
                   "1 (gray) or 3 (RGB) channels, not 2");
  CHECK_FAILS_WITH(ebm_apng_write_videos(test_path("a.png"), NULL, 1, 1, 0, 2, 2, 0, 1, 100), EBM_ERR_ARG,
                   "an animation needs videos");
}
