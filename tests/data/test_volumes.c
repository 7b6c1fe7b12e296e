/* Synthetic videos and voxel shapes (src/data/volumes.c), their pictures
 * (src/eval/volume_png.c) and `ebm data make` for them. */
#include "test_util.h"

#define SIDE 24
#define FRAMES 6

/* Two 5×4 items: a solid block and a gradient. */
static void items(float *it) {
  for (int i = 0; i < 20; i++) it[i] = 1.0f, it[20 + i] = (float)i / 20.0f;
}

TEST(moving_items_are_deterministic_for_a_seed_and_keep_their_mass) {
  float it[40], *a = malloc(3 * FRAMES * SIDE * SIDE * sizeof *a), *b = malloc(3 * FRAMES * SIDE * SIDE * sizeof *b);
  REQUIRE(a && b);
  items(it);
  REQUIRE_OK(ebm_make_moving(it, 2, 5, 4, 3, FRAMES, SIDE, 1, 9, a));
  REQUIRE_OK(ebm_make_moving(it, 2, 5, 4, 3, FRAMES, SIDE, 1, 9, b));
  CHECK(memcmp(a, b, 3 * FRAMES * SIDE * SIDE * sizeof *a) == 0);
  /* one item per video, always inside the canvas: every frame holds the
   * item's whole mass, and the item moves (1–3 px per frame) */
  for (int v = 0; v < 3; v++) {
    double first = -1;
    for (int t = 0; t < FRAMES; t++) {
      double s = 0;
      for (int p = 0; p < SIDE * SIDE; p++) s += a[(v * FRAMES + t) * SIDE * SIDE + p];
      if (t == 0) first = s;
      CHECK_NEAR(s, first, 1e-4);
      CHECK(fabs(s - 20.0) < 1e-4 || fabs(s - 9.5) < 1e-4);
    }
    CHECK(memcmp(a + v * FRAMES * SIDE * SIDE, a + (v * FRAMES + FRAMES - 1) * SIDE * SIDE,
                 SIDE * SIDE * sizeof *a) != 0);
  }
  REQUIRE_OK(ebm_make_moving(it, 2, 5, 4, 3, FRAMES, SIDE, 1, 10, b));
  CHECK(memcmp(a, b, 3 * FRAMES * SIDE * SIDE * sizeof *a) != 0);
  CHECK_FAILS_WITH(ebm_make_moving(it, 2, 5, 4, 1, FRAMES, 3, 1, 9, a), EBM_ERR_ARG, "no larger than the 3x3 canvas");
  free(a);
  free(b);
}

/* The occupied voxels' bounding box, and how many there are. */
static int64_t occupancy(const float *g, int side, int lo[3], int hi[3]) {
  int64_t count = 0;
  for (int d = 0; d < 3; d++) lo[d] = side, hi[d] = -1;
  for (int z = 0; z < side; z++)
    for (int y = 0; y < side; y++)
      for (int x = 0; x < side; x++) {
        float v = g[((int64_t)z * side + y) * side + x];
        CHECK(v == 0.0f || v == 1.0f);
        if (v == 0) continue;
        int p[3] = {x, y, z};
        for (int d = 0; d < 3; d++) lo[d] = p[d] < lo[d] ? p[d] : lo[d], hi[d] = p[d] > hi[d] ? p[d] : hi[d];
        count++;
      }
  return count;
}

TEST(shapes3d_are_deterministic_spheres_boxes_and_tori_inside_the_grid) {
  const int side = 32, n = 9;
  const int64_t vol = (int64_t)side * side * side;
  float *a = malloc((size_t)(n * vol) * sizeof *a), *b = malloc((size_t)(n * vol) * sizeof *b);
  int32_t labels[9];
  REQUIRE(a && b);
  REQUIRE_OK(ebm_make_shapes3d(n, side, 4, a, labels));
  REQUIRE_OK(ebm_make_shapes3d(n, side, 4, b, NULL));
  CHECK(memcmp(a, b, (size_t)(n * vol) * sizeof *a) == 0);
  REQUIRE_OK(ebm_make_shapes3d(n, side, 5, b, NULL));
  CHECK(memcmp(a, b, (size_t)(n * vol) * sizeof *a) != 0);
  for (int i = 0; i < n; i++) {
    int lo[3], hi[3];
    int64_t count = occupancy(a + i * vol, side, lo, hi);
    CHECK_EQ_INT(labels[i], i % 3);
    REQUIRE(count > 0);
    for (int d = 0; d < 3; d++) CHECK(lo[d] > 0 && hi[d] < side - 1);  /* never touches the border */
    double box = (double)(hi[0] - lo[0] + 1) * (hi[1] - lo[1] + 1) * (hi[2] - lo[2] + 1);
    double fill = (double)count / box;
    if (labels[i] == 0) CHECK(fabs(fill - 3.14159265 / 6) < 0.08);  /* a ball fills π/6 of its cube */
    if (labels[i] == 1) CHECK(fill == 1.0);                          /* a box fills its box */
    if (labels[i] == 2) {
      /* a torus: the centre of its bounding box is empty */
      int c[3] = {(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2};
      CHECK(a[i * vol + ((int64_t)c[2] * side + c[1]) * side + c[0]] == 0.0f);
    }
  }
  CHECK(strcmp(ebm_shape3d_name(2), "torus") == 0);
  CHECK_FAILS_WITH(ebm_make_shapes3d(1, 4, 1, a, NULL), EBM_ERR_ARG, "side must be in 8..1024");
  free(a);
  free(b);
}

TEST(volume_pictures_have_a_row_per_item) {
  float v[2 * 3 * 4 * 5] = {0}, g[2 * 4 * 6 * 5] = {0};
  const char *strip = test_path("strip.png"), *views = test_path("views.png");
  REQUIRE_OK(ebm_png_write_frames(strip, v, 2, 1, 3, 4, 5, 0.0f, 1.0f));
  g[0] = 1;
  REQUIRE_OK(ebm_png_write_voxels(views, g, 2, 4, 6, 5));
  int w, h, c;
  uint8_t *px;
  REQUIRE_OK(ebm_png_read(strip, &w, &h, &c, &px));
  CHECK_EQ_INT(w, 3 * 5 + 4 * 2);  /* frames left to right, pad 2 */
  CHECK_EQ_INT(h, 2 * 4 + 3 * 2);
  free(px);
  REQUIRE_OK(ebm_png_read(views, &w, &h, &c, &px));
  CHECK_EQ_INT(w, 3 * 6 * 2 + 4 * 2);  /* three views of side 6, scaled 2 */
  CHECK_EQ_INT(h, 2 * 6 * 2 + 3 * 2);
  CHECK_EQ_INT(px[2 * w + 2], 255);      /* the occupied corner, seen from above */
  free(px);
}

TEST(cli_data_make_volumes_same_seed_same_bytes_and_loadable) {
  const char *a = test_path("a.npy"), *b = test_path("b.npy"), *l = test_path("l.npy");
  cli_result r = run_cli("data make shapes3d --n 4 --seed 3 --out %s --labels %s", a, l);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "shape [4,1,32,32,32]");
  cli_result_free(&r);
  r = run_cli("data make shapes3d --n 4 --seed 3 --out %s", b);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  CHECK(test_same_file(a, b));
  /* a data set of volumes folds C×D into the first item axis */
  char spec[600];
  snprintf(spec, sizeof spec, "npy:%s,%s", a, l);
  ebm_dataset *ds;
  REQUIRE_OK(ebm_dataset_load(spec, 0.0f, 1.0f, &ds));
  CHECK_EQ_INT(ds->x->ndim, 4);
  CHECK_EQ_INT(ds->x->shape[1], 32);
  CHECK_EQ_INT(ds->num_classes, 3);
  ebm_dataset_free(ds);
  r = run_cli("data make cubes --out %s", a);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "unknown generator 'cubes'");
  cli_result_free(&r);
  r = run_cli("data make shapes3d --n -5 --out %s", a);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--n must be");
  cli_result_free(&r);
}

/* moving:npy:FILE — the motion of moving:fashion-mnist for other items
 * (an image model's samples): 3 items of 1×8×8, each a 4×4 square of its
 * own grey level. Every frame holds one whole item, the same item in all
 * 16 frames, and it moves; the same seed gives the same bytes; items of
 * another shape are refused in one line naming the file. */
TEST(cli_data_make_moving_from_npy_items_pastes_one_item_per_video) {
  static float items[3 * 64];
  for (int i = 0; i < 3; i++)
    for (int r = 2; r < 6; r++)
      for (int c = 2; c < 6; c++) items[i * 64 + r * 8 + c] = 0.25f * (float)(i + 1);
  char in[512], a[512], b[512];
  snprintf(in, sizeof in, "%s", test_path("items.npy"));
  snprintf(a, sizeof a, "%s", test_path("va.npy"));
  snprintf(b, sizeof b, "%s", test_path("vb.npy"));
  REQUIRE_OK(ebm_npy_save(in, EBM_DTYPE_F32, 4, (int64_t[]){3, 1, 8, 8}, items));
  cli_result r = run_cli("data make moving:npy:%s --n 6 --seed 2 --out %s", in, a);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "6 videos of 16 frames 64x64");
  cli_result_free(&r);
  r = run_cli("data make moving:npy:%s --n 6 --seed 2 --out %s", in, b);
  cli_result_free(&r);
  ebm_npy va, vb;
  test_load_f32(a, &va);
  test_load_f32(b, &vb);
  REQUIRE(va.ndim == 5 && va.shape[0] == 6 && va.shape[1] == 1 && va.shape[2] == 16 && va.shape[3] == 64 &&
          va.shape[4] == 64);
  CHECK(memcmp(va.data, vb.data, (size_t)(6 * 16 * 4096) * sizeof(float)) == 0);
  const float *vd = va.data;
  for (int v = 0; v < 6; v++) {
    float level = -1;
    for (int t = 0; t < 16; t++) {
      const float *frame = vd + (v * 16 + t) * 4096;
      double mass = 0;
      float top = 0;
      for (int p = 0; p < 4096; p++) mass += frame[p], top = frame[p] > top ? frame[p] : top;
      if (t == 0) level = top;
      CHECK(level == 0.25f || level == 0.5f || level == 0.75f);
      CHECK_EQ_INT((int)(top * 4), (int)(level * 4)); /* the same item throughout */
      CHECK_NEAR(mass, 16.0 * level, 1e-4);            /* all of it, inside the canvas */
    }
    CHECK(memcmp(vd + v * 16 * 4096, vd + (v * 16 + 15) * 4096, 4096 * sizeof(float)) != 0);
  }
  ebm_npy_free(&va);
  ebm_npy_free(&vb);
  r = run_cli("data make moving:npy:%s --n 2 --out %s", a, b); /* videos are not items */
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "items of shape [16,64,64]; moving items must be 1xHxW grey images of at most 64x64");
  cli_result_free(&r);
  r = run_cli("data make moving:cifar --n 2 --out %s", b);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "moving: items come from fashion-mnist, mnist or npy:FILE, got 'cifar'");
  cli_result_free(&r);
}
