/* Chamfer distance, exact EMD (against every permutation on tiny sets),
 * nearest reference clouds, NaN checks and projection pictures. */
#include <unistd.h>

#include "test.h"

TEST(chamfer_matches_hand_values_and_is_symmetric) {
  const float a[] = {0, 0, 0}, b[] = {1, 0, 0, 3, 0, 0};
  /* a→b: 1; b→a: (1 + 9)/2 = 5. */
  CHECK_NEAR(ebm_chamfer(a, 1, b, 2), 6.0, 1e-12);
  CHECK_NEAR(ebm_chamfer(b, 2, a, 1), 6.0, 1e-12);
  CHECK_NEAR(ebm_chamfer(b, 2, b, 2), 0.0, 0.0);
}

/* The best mean distance over all n! matchings (Heap's algorithm). */
static double brute_force_emd(const float *a, const float *b, int n) {
  int perm[8], c[8] = {0};
  for (int i = 0; i < n; i++) perm[i] = i;
  double best = INFINITY;
  for (int i = 0;;) {
    double sum = 0;
    for (int k = 0; k < n; k++) {
      double d = 0;
      for (int q = 0; q < 3; q++) d += ((double)a[3 * k + q] - b[3 * perm[k] + q]) * ((double)a[3 * k + q] - b[3 * perm[k] + q]);
      sum += sqrt(d);
    }
    best = fmin(best, sum / n);
    while (i < n && c[i] >= i) c[i++] = 0;
    if (i >= n) break;
    int j = i % 2 ? c[i] : 0, t = perm[j];
    perm[j] = perm[i], perm[i] = t;
    c[i]++, i = 0;
  }
  return best;
}

TEST(emd_matches_brute_force_on_tiny_sets) {
  ebm_rng rng;
  ebm_rng_init(&rng, 77);
  for (int n = 1; n <= 7; n++)
    for (int trial = 0; trial < 6; trial++) {
      float a[21], b[21];
      ebm_rng_uniform(&rng, a, 3 * n, -1, 1);
      ebm_rng_uniform(&rng, b, 3 * n, -1, 1);
      if (trial == 5 && n > 1) memcpy(b + 3, b, 3 * sizeof(float)); /* a tie */
      double emd = -1;
      REQUIRE_OK(ebm_emd(a, b, n, &emd));
      CHECK_NEAR(emd, brute_force_emd(a, b, n), 1e-9);
    }
  const float a[] = {0, 0, 0, 1, 0, 0}, b[] = {1, 0, 0, 0, 0, 0};
  double emd = -1;
  REQUIRE_OK(ebm_emd(a, b, 2, &emd));
  CHECK_NEAR(emd, 0.0, 0.0); /* a permutation of the same points */
  CHECK_FAILS_WITH(ebm_emd(a, b, 0, &emd), EBM_ERR_ARG, "at least one point");
}

TEST(points_nearest_finds_the_identical_reference_cloud) {
  enum { NR = 6, P = 40 };
  float *ref = malloc(sizeof(float) * NR * P * 3);
  ebm_points_shapes(5, NR, P, ref, NULL);
  double dist[2];
  int64_t nearest[2];
  ebm_points_nearest(ref + 4 * P * 3, 2, ref, NR, P, dist, nearest);
  CHECK_EQ_INT(nearest[0], 4);
  CHECK_EQ_INT(nearest[1], 5);
  CHECK_NEAR(dist[0], 0.0, 0.0);
  CHECK_NEAR(dist[1], 0.0, 0.0);
  free(ref);
}

TEST(points_check_finite_names_the_cloud_point_and_axis) {
  float x[12] = {0};
  CHECK_OK(ebm_points_check_finite(x, 2, 2, "s.npy"));
  x[10] = NAN;
  CHECK_FAILS_WITH(ebm_points_check_finite(x, 2, 2, "s.npy"), EBM_ERR_NUMERIC,
                   "s.npy: cloud 1, point 1: y is NaN");
}

TEST(points_png_draws_three_projections_per_cloud) {
  enum { N = 2, P = 100 };
  float x[N * P * 3];
  ebm_points_shapes(1, N, P, x, NULL);
  char path[] = "/tmp/ebm_points_png_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  REQUIRE_OK(ebm_points_png(path, x, N, P, -1, 1));
  int w = 0, h = 0, ch = 0;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(path, &w, &h, &ch, &px));
  CHECK_EQ_INT(w, 3 * 160 + 4 * 8);
  CHECK_EQ_INT(h, 14 + N * (160 + 8) + 8);
  int64_t coloured = 0; /* the points are drawn: pixels that are not grey */
  for (int64_t k = 0; k < (int64_t)w * h; k++) coloured += px[3 * k] != px[3 * k + 2];
  CHECK(coloured > 200);
  free(px);
  unlink(path);
  CHECK_FAILS_WITH(ebm_points_png(path, x, N, P, 1, -1), EBM_ERR_ARG, "lo < hi");
}
