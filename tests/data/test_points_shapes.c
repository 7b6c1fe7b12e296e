/* points:shapes (ebm/points.h): deterministic for a seed, item by item, and
 * the points lie on the shapes they claim. */
#include "test.h"

TEST(points_shapes_are_deterministic_for_a_seed_and_prefix_stable) {
  enum { N = 7, P = 50 };
  float *a = malloc(sizeof(float) * N * P * 3), *b = malloc(sizeof(float) * N * P * 3);
  float *c = malloc(sizeof(float) * N * P * 3);
  int32_t la[N], lb[N];
  ebm_points_shapes(3, N, P, a, la);
  ebm_points_shapes(3, N, P, b, lb);
  CHECK(memcmp(a, b, sizeof(float) * N * P * 3) == 0);
  CHECK(memcmp(la, lb, sizeof la) == 0);
  for (int i = 0; i < N; i++) CHECK_EQ_INT(la[i], i % 3);
  ebm_points_shapes(3, 2, P, c, NULL); /* the first items of a smaller set */
  CHECK(memcmp(a, c, sizeof(float) * 2 * P * 3) == 0);
  ebm_points_shapes(4, N, P, c, NULL);
  CHECK(memcmp(a, c, sizeof(float) * N * P * 3) != 0);
  free(a), free(b), free(c);
}

TEST(points_shapes_lie_on_their_surfaces_inside_the_unit_box) {
  enum { N = 30, P = 400 };
  float *x = malloc(sizeof(float) * N * P * 3);
  int32_t lab[N];
  ebm_points_shapes(11, N, P, x, lab);
  for (int i = 0; i < N; i++) {
    const float *c = x + i * P * 3;
    double rmin = INFINITY, rmax = 0;
    for (int j = 0; j < P; j++) {
      double r = 0;
      for (int k = 0; k < 3; k++) {
        CHECK(fabsf(c[3 * j + k]) < 1.0f);
        r += (double)c[3 * j + k] * c[3 * j + k];
      }
      rmin = fmin(rmin, sqrt(r)), rmax = fmax(rmax, sqrt(r));
    }
    if (lab[i] == EBM_SHAPE_SPHERE) CHECK(rmax - rmin < 1e-5 && rmin >= 0.5 - 1e-5 && rmax <= 0.9 + 1e-5);
    /* A box touches its half-side on its faces and reaches out to a corner;
     * a torus keeps a hole of R − r ≥ 0.17 around its centre. */
    if (lab[i] == EBM_SHAPE_BOX) CHECK(rmin >= 0.25 - 1e-5 && rmax > rmin + 0.05);
    if (lab[i] == EBM_SHAPE_TORUS) CHECK(rmin >= 0.17 - 1e-5 && rmax <= 0.93 + 1e-5);
  }
  free(x);
}
