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

/* A path known by construction: a 3×3 item (its centre of brightness at
 * (1, 1) of its box) moved along a straight line that stays whole on the
 * canvas; the tracker gives each point back to the placement's rounding. */
TEST(track_centres_gives_back_a_known_path_and_keeps_the_last_point_over_an_empty_frame) {
  const float item[9] = {0, 1, 0, 1, 2, 1, 0, 1, 0};
  float path[FRAMES * 2], back[FRAMES * 2];
  float *v = calloc(FRAMES * SIDE * SIDE, sizeof *v);
  REQUIRE(v);
  for (int t = 0; t < FRAMES; t++) path[2 * t] = 3.0f + 2.5f * (float)t, path[2 * t + 1] = 20.0f - 1.2f * (float)t;
  REQUIRE_OK(ebm_make_moving_along(item, 1, 3, 3, path, 1, FRAMES, SIDE, 1, v));
  REQUIRE_OK(ebm_track_centres(v, 1, FRAMES, SIDE, SIDE, back));
  for (int k = 0; k < FRAMES * 2; k++) CHECK(fabsf(back[k] - path[k]) <= 0.5f);
  for (int t = 0; t < FRAMES; t++) { /* whole items: the mass of one item in every frame */
    double mass = 0;
    for (int p = 0; p < SIDE * SIDE; p++) mass += v[t * SIDE * SIDE + p];
    CHECK_NEAR(mass, 6.0, 1e-6);
  }
  /* by hand: one bright pixel at (x 7, y 4), then an empty frame */
  memset(v, 0, FRAMES * SIDE * SIDE * sizeof *v);
  v[4 * SIDE + 7] = 0.5f;
  v[SIDE * SIDE + 4 * SIDE + 9] = 1.0f, v[SIDE * SIDE + 5 * SIDE + 9] = 3.0f;
  REQUIRE_OK(ebm_track_centres(v, 1, 3, SIDE, SIDE, back));
  CHECK(back[0] == 7.0f && back[1] == 4.0f);
  CHECK(back[2] == 9.0f && back[3] == 4.75f);
  CHECK(back[4] == 9.0f && back[5] == 4.75f); /* frame 2 is empty: the last point */
  free(v);
}

/* The item of video v is the one ebm_make_moving draws for v with the same
 * seed (so a path model's videos and the bouncing law's show the same
 * items), items are cut at the canvas edges, and bad points are refused
 * naming the video and frame. */
TEST(moving_along_paths_draws_moving_items_and_refuses_points_off_the_canvas) {
  float it[40], path[2 * FRAMES * 2];
  items(it);
  float *a = malloc(2 * FRAMES * SIDE * SIDE * sizeof *a), *b = malloc(2 * FRAMES * SIDE * SIDE * sizeof *b);
  REQUIRE(a && b);
  REQUIRE_OK(ebm_make_moving(it, 2, 5, 4, 2, FRAMES, SIDE, 1, 9, a));
  for (int k = 0; k < 2 * FRAMES; k++) path[2 * k] = 0.0f, path[2 * k + 1] = (float)(SIDE - 1); /* a corner */
  REQUIRE_OK(ebm_make_moving_along(it, 2, 5, 4, path, 2, FRAMES, SIDE, 9, b));
  for (int v = 0; v < 2; v++) {
    double ma = 0, mb = 0;
    for (int p = 0; p < SIDE * SIDE; p++) ma += a[v * FRAMES * SIDE * SIDE + p], mb += b[v * FRAMES * SIDE * SIDE + p];
    CHECK(mb > 0 && mb < ma); /* the same item, cut at the corner */
    const int block = fabs(ma - 20.0) < 1e-4;
    if (block) CHECK_NEAR(mb, 6.0, 1e-4); /* the solid 5x4 block, centre (1.5, 2): 2 x 3 pixels left */
  }
  path[2 * 7 + 1] = (float)SIDE; /* video 1, frame 1 */
  CHECK_FAILS_WITH(ebm_make_moving_along(it, 2, 5, 4, path, 2, FRAMES, SIDE, 9, b), EBM_ERR_ARG,
                   "path of video 1, frame 1: point (0, 24) is off the 24x24 canvas (x and y in [0, 23])");
  path[2 * 7 + 1] = NAN;
  CHECK_FAILS_WITH(ebm_make_moving_along(it, 2, 5, 4, path, 2, FRAMES, SIDE, 9, b), EBM_ERR_ARG,
                   "point (0, nan) is not a number on the 24x24 canvas");
  free(a);
  free(b);
}

/* `ebm data make paths:npy:V` writes N×32 paths, and `moving:npy:ITEMS
 * --paths npy:P` moves items along them: tracking those videos gives the
 * paths back wherever the item is whole; a file of the wrong shape or with
 * a point off the canvas is refused in one line. */
TEST(cli_data_make_paths_round_trip_and_bad_paths_refused) {
  char items[512], v[512], p[512], w[512], q[512], bad[512];
  snprintf(items, sizeof items, "%s", test_path("items.npy"));
  snprintf(v, sizeof v, "%s", test_path("v.npy"));
  snprintf(p, sizeof p, "%s", test_path("p.npy"));
  snprintf(w, sizeof w, "%s", test_path("w.npy"));
  snprintf(q, sizeof q, "%s", test_path("q.npy"));
  snprintf(bad, sizeof bad, "%s", test_path("bad.npy"));
  static float it[2 * 100];
  for (int r = 3; r < 7; r++)
    for (int c = 2; c < 8; c++) it[r * 10 + c] = 1.0f, it[100 + r * 10 + c] = 0.5f;
  REQUIRE_OK(ebm_npy_save(items, EBM_DTYPE_F32, 4, (int64_t[]){2, 1, 10, 10}, it));
  cli_result r = run_cli("data make moving:npy:%s --n 5 --seed 4 --out %s", items, v);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("data make paths:npy:%s --out %s", v, p);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "the paths of 5 videos");
  cli_result_free(&r);
  char anim[512];
  snprintf(anim, sizeof anim, "%s", test_path("w.apng"));
  r = run_cli("data make moving:npy:%s --paths npy:%s --seed 4 --out %s --apng %s", items, p, w, anim);
  CHECK_EQ_INT(r.code, 0);
  int aw, ah, ac; /* the still frame: the 5 videos' first frames in one row, each 64 px drawn at 2x, 2 px apart */
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(anim, &aw, &ah, &ac, &px));
  CHECK_EQ_INT(aw, 5 * 128 + 6 * 2);
  CHECK_EQ_INT(ah, 128 + 2 * 2);
  free(px);
  FILE *fa = fopen(anim, "rb"); /* acTL: 16 animation frames, one per video frame */
  REQUIRE(fa);
  uint8_t head[64];
  REQUIRE(fread(head, 1, sizeof head, fa) == sizeof head);
  fclose(fa);
  const uint8_t *actl = NULL;
  for (int k = 0; k + 8 <= (int)sizeof head; k++)
    if (memcmp(head + k, "acTL", 4) == 0) actl = head + k + 4;
  REQUIRE(actl);
  CHECK_EQ_INT((actl[0] << 24) | (actl[1] << 16) | (actl[2] << 8) | actl[3], 16);
  CHECK_CONTAINS(r.out, "5 videos of 16 frames 64x64");
  cli_result_free(&r);
  r = run_cli("data make paths:npy:%s --out %s", w, q);
  cli_result_free(&r);
  ebm_npy pa, qa, va, wa;
  test_load_f32(p, &pa);
  test_load_f32(q, &qa);
  REQUIRE(pa.ndim == 2 && pa.shape[0] == 5 && pa.shape[1] == 32);
  /* these items lie wholly inside the canvas on a bouncing path: the same videos and paths */
  test_load_f32(v, &va);
  test_load_f32(w, &wa);
  CHECK(memcmp(va.data, wa.data, (size_t)(5 * 16 * 4096) * sizeof(float)) == 0);
  for (int k = 0; k < 5 * 32; k++) CHECK(fabsf(((float *)pa.data)[k] - ((float *)qa.data)[k]) <= 1e-4f);
  /* the same paths as 1 x 16 x 2 images (a path energy convolving over time samples them so): the same videos */
  const int64_t img_shape[4] = {5, 1, 16, 2};
  REQUIRE_OK(ebm_npy_save(bad, EBM_DTYPE_F32, 4, img_shape, pa.data));
  r = run_cli("data make moving:npy:%s --paths npy:%s --seed 4 --out %s", items, bad, q);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  CHECK(test_same_file(q, w));
  /* a point off the canvas, and a file of videos as paths */
  ((float *)pa.data)[3 * 32 + 5] = 70.0f;
  REQUIRE_OK(ebm_npy_save(bad, EBM_DTYPE_F32, 2, pa.shape, pa.data));
  r = run_cli("data make moving:npy:%s --paths npy:%s --out %s", items, bad, q);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "path of video 3, frame 2: point");
  CHECK_CONTAINS(r.err, "is off the 64x64 canvas");
  cli_result_free(&r);
  r = run_cli("data make moving:npy:%s --paths npy:%s --out %s", items, v, q);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "paths must be float32 P x 16 x 2 (or P x 32, P x 1 x 16 x 2)");
  cli_result_free(&r);
  r = run_cli("data make moving:npy:%s --paths npy:%s --n 9 --out %s", items, p, q);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "holds only 5 paths");
  cli_result_free(&r);
  ebm_npy_free(&pa), ebm_npy_free(&qa), ebm_npy_free(&va), ebm_npy_free(&wa);
}
