/* Per-class chain starts (a class-conditional model's fresh chains): each
 * class's start, fitted to that class's items only, draws near that class
 * and nowhere else, where one start fitted to every item draws the asked
 * class no more often than chance; a chain's start depends only on its
 * class; the text a checkpoint records refits the same starts; what cannot
 * be a per-class start is refused in one line. */
#include "test_util.h"

enum { SIDE = 6, DIM = SIDE * SIDE * SIDE, CLASSES = 3, PER_CLASS = 40, N = CLASSES * PER_CLASS };

/* Tiny synthetic grids (6³) of three classes in turn (item i has class
 * i mod 3): class c fills a 3×3×3 block in corner c of the grid, at one of
 * two places one voxel apart (two modes per class, so a mixture has
 * something to find), plus N(0, 0.05²) noise. */
static void class_grids(float *x, int32_t *labels, uint64_t seed) {
  static const int corner[CLASSES][3] = {{0, 0, 0}, {3, 3, 0}, {0, 3, 3}};
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  for (int64_t i = 0; i < N; i++) {
    const int c = (int)(i % CLASSES), shift = (int)((i / CLASSES) % 2);
    float *g = x + i * DIM;
    ebm_rng_normal(&rng, g, DIM, 0.0f, 0.05f);
    for (int d = 0; d < 3; d++)
      for (int h = 0; h < 3; h++)
        for (int w = 0; w < 3; w++) {
          const int z = corner[c][0] + d, y = corner[c][1] + h, xx = (corner[c][2] + w + shift) % SIDE;
          g[(z * SIDE + y) * SIDE + xx] += 1.0f;
        }
    labels[i] = c;
  }
}

/* The class whose items' mean is nearest to g (squared distance). */
static int nearest_class(const float *g, const float *x, const int32_t *labels) {
  double best = INFINITY;
  int arg = -1;
  for (int c = 0; c < CLASSES; c++) {
    double mean[DIM] = {0}, d2 = 0;
    for (int64_t i = 0; i < N; i++)
      for (int t = 0; labels[i] == c && t < DIM; t++) mean[t] += x[i * DIM + t] / (double)PER_CLASS;
    for (int t = 0; t < DIM; t++) d2 += (g[t] - mean[t]) * (g[t] - mean[t]);
    if (d2 < best) best = d2, arg = c;
  }
  return arg;
}

/* 300 chains asked for classes 0, 1, 2 in turn: from the per-class starts
 * (two-component mixtures) every one lies nearest its own class; from one
 * mixture fitted to all 120 items (six components) the asked class is hit
 * about a third of the time (within 5 standard errors of 1/3), so the
 * first count is the per-class starts' doing, not the data's. */
TEST(per_class_starts_draw_near_the_class_asked_for_and_one_start_does_not) {
  float *x = malloc(sizeof(float) * N * DIM), *draws = malloc(sizeof(float) * 300 * DIM);
  int32_t labels[N], y[300];
  REQUIRE(x && draws);
  class_grids(x, labels, 3);
  for (int i = 0; i < 300; i++) y[i] = i % CLASSES;
  ebm_energy *starts[CLASSES], *pooled = NULL;
  REQUIRE_OK(ebm_chain_start_fit_classes(x, labels, N, DIM, CLASSES, 2, starts));
  ebm_rng rng;
  ebm_rng_init(&rng, 11);
  REQUIRE_OK(ebm_chain_start_draw_classes(starts, CLASSES, y, &rng, 300, DIM, -1.0f, 2.0f, draws));
  int own = 0;
  for (int i = 0; i < 300; i++) own += nearest_class(draws + i * DIM, x, labels) == y[i];
  CHECK_EQ_INT(own, 300);

  REQUIRE_OK(ebm_chain_start_fit(x, N, DIM, 6, &pooled));
  REQUIRE_OK(ebm_chain_start_draw(pooled, &rng, 300, DIM, -1.0f, 2.0f, draws));
  int hit = 0;
  for (int i = 0; i < 300; i++) hit += nearest_class(draws + i * DIM, x, labels) == y[i];
  const double se = sqrt(300.0 * (1.0 / 3) * (2.0 / 3));
  CHECK(fabs(hit - 100.0) < 5 * se);
  for (int c = 0; c < CLASSES; c++) ebm_energy_free(starts[c]);
  ebm_energy_free(pooled);
  free(x);
  free(draws);
}

/* Chains all of class c get exactly the bits of one draw of n from class
 * c's start, whatever the other starts are; a label without a start, or
 * outside the classes, is refused naming the chain. */
TEST(per_class_draws_of_one_class_are_that_starts_draws_bit_for_bit) {
  float *x = malloc(sizeof(float) * N * DIM), *a = malloc(sizeof(float) * 8 * DIM), *b = malloc(sizeof(float) * 8 * DIM);
  int32_t labels[N], y[8];
  REQUIRE(x && a && b);
  class_grids(x, labels, 5);
  ebm_energy *starts[CLASSES];
  REQUIRE_OK(ebm_chain_start_fit_classes(x, labels, N, DIM, CLASSES, 1, starts));
  for (int i = 0; i < 8; i++) y[i] = 2;
  ebm_rng r1, r2;
  ebm_rng_init(&r1, 9);
  ebm_rng_init(&r2, 9);
  REQUIRE_OK(ebm_chain_start_draw_classes(starts, CLASSES, y, &r1, 8, DIM, 0.0f, 1.0f, a));
  REQUIRE_OK(ebm_chain_start_draw(starts[2], &r2, 8, DIM, 0.0f, 1.0f, b));
  CHECK(memcmp(a, b, sizeof(float) * 8 * DIM) == 0);
  y[5] = 3;
  CHECK(ebm_chain_start_draw_classes(starts, CLASSES, y, &r1, 8, DIM, 0.0f, 1.0f, a) == EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), "chain 5 asks for class 3");
  ebm_energy_free(starts[1]);
  starts[1] = NULL; /* a class the data lacked */
  y[5] = 1;
  CHECK(ebm_chain_start_draw_classes(starts, CLASSES, y, &r1, 8, DIM, 0.0f, 1.0f, a) == EBM_ERR_ARG);
  for (int c = 0; c < CLASSES; c++) ebm_energy_free(starts[c]);
  free(x), free(a), free(b);
}

/* The recorded text per-class:mixture:2:npy:X,L opens class c's start as
 * mixture:2:npy:X,L:class=c, which refits exactly what
 * ebm_chain_start_fit_classes fitted (same draws, bit for bit); a class
 * without items is refused in one line naming it, and the per-class text
 * cannot open as one start. */
TEST(per_class_text_refits_the_same_starts_and_refuses_what_it_cannot_be) {
  float *x = malloc(sizeof(float) * N * DIM), *a = malloc(sizeof(float) * 4 * DIM), *b = malloc(sizeof(float) * 4 * DIM);
  int32_t labels[N];
  REQUIRE(x && a && b);
  class_grids(x, labels, 7);
  const char *data = test_path("g.npy"), *lab = test_path("g-labels.npy");
  int64_t shape[5] = {N, 1, SIDE, SIDE, SIDE}, lshape[1] = {N};
  REQUIRE_OK(ebm_npy_save(data, EBM_DTYPE_F32, 5, shape, x));
  REQUIRE_OK(ebm_npy_save(lab, EBM_DTYPE_I32, 1, lshape, labels));
  ebm_energy *starts[CLASSES], *opened = NULL;
  /* float32 .npy items load as stored, whatever [lo, hi] */
  REQUIRE_OK(ebm_chain_start_fit_classes(x, labels, N, DIM, CLASSES, 2, starts));
  char text[1200];
  snprintf(text, sizeof text, "per-class:mixture:2:npy:%s,%s", data, lab);
  CHECK(ebm_chain_start_is_per_class(text));
  for (int c = 0; c < CLASSES; c++) {
    REQUIRE_OK(ebm_chain_start_open_class(text, c, -10.0f, 10.0f, DIM, &opened));
    ebm_rng r1, r2;
    ebm_rng_init(&r1, 4);
    ebm_rng_init(&r2, 4);
    REQUIRE_OK(ebm_chain_start_draw(opened, &r1, 4, DIM, -10.0f, 10.0f, a));
    REQUIRE_OK(ebm_chain_start_draw(starts[c], &r2, 4, DIM, -10.0f, 10.0f, b));
    CHECK(memcmp(a, b, sizeof(float) * 4 * DIM) == 0);
    ebm_energy_free(opened);
    opened = NULL;
  }
  CHECK(ebm_chain_start_open(text, -10.0f, 10.0f, DIM, &opened) == EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), "one start per class");
  CHECK(ebm_chain_start_open_class(text, 3, -10.0f, 10.0f, DIM, &opened) != EBM_OK);
  CHECK_CONTAINS(ebm_last_error(), "class 3");
  CHECK(ebm_chain_start_open_class("per-class:uniform", 0, 0.0f, 1.0f, DIM, &opened) == EBM_ERR_ARG);
  CHECK(opened == NULL);
  for (int c = 0; c < CLASSES; c++) ebm_energy_free(starts[c]);
  /* four classes asked of data with three: the fourth has no items */
  ebm_energy *four[4];
  CHECK(ebm_chain_start_fit_classes(x, labels, N, DIM, 4, 1, four) == EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), "class 3 has no items");
  for (int c = 0; c < 4; c++) CHECK(four[c] == NULL);
  free(x), free(a), free(b);
}

/* A class-conditional replay buffer (PCD's) with per-class starts: every
 * fresh item of class c lies nearest class c; a start list of the wrong
 * length is refused. */
TEST(replay_fresh_items_come_from_their_class_start) {
  float *x = malloc(sizeof(float) * N * DIM), *got = malloc(sizeof(float) * 30 * DIM);
  int32_t labels[N], y[30];
  REQUIRE(x && got);
  class_grids(x, labels, 13);
  ebm_energy *starts[CLASSES];
  REQUIRE_OK(ebm_chain_start_fit_classes(x, labels, N, DIM, CLASSES, 2, starts));
  ebm_replay *rb = NULL;
  const int64_t shape[3] = {SIDE, SIDE, SIDE};
  REQUIRE_OK(ebm_replay_new(30, 3, shape, CLASSES, -1.0f, 2.0f, &rb));
  CHECK(ebm_replay_set_class_starts(rb, starts, 2) == EBM_ERR_SHAPE);
  REQUIRE_OK(ebm_replay_set_class_starts(rb, starts, CLASSES));
  for (int i = 0; i < 30; i++) y[i] = (i * 7) % CLASSES;
  ebm_rng rng;
  ebm_rng_init(&rng, 2);
  REQUIRE_OK(ebm_replay_get(rb, got, y, 30, 1.0f, &rng, NULL));
  int own = 0;
  for (int i = 0; i < 30; i++) own += nearest_class(got + i * DIM, x, labels) == y[i];
  CHECK_EQ_INT(own, 30);
  ebm_replay_free(rb);
  for (int c = 0; c < CLASSES; c++) ebm_energy_free(starts[c]);
  free(x), free(got);
}
