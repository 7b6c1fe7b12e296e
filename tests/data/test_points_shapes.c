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

/* points:shapes-aligned: the rotated set's clouds rotated back — every
 * point keeps its distance from the centre — with box points on faces
 * normal to the axes and tori flat around z. */
TEST(points_shapes_aligned_are_the_rotated_clouds_without_the_rotation) {
  enum { N = 9, P = 200 };
  float *rot = malloc(sizeof(float) * N * P * 3), *al = malloc(sizeof(float) * N * P * 3);
  int32_t lr[N], la[N];
  ebm_points_shapes(5, N, P, rot, lr);
  ebm_points_shapes_aligned(5, N, P, al, la);
  CHECK(memcmp(lr, la, sizeof lr) == 0);
  int boxes_checked = 0;
  for (int i = 0; i < N; i++) {
    const float *a = al + i * P * 3, *r = rot + i * P * 3;
    float half[3] = {0, 0, 0}, zmax = 0;
    for (int j = 0; j < P; j++) {
      double na = 0, nr = 0;
      for (int k = 0; k < 3; k++) {
        na += (double)a[3 * j + k] * a[3 * j + k], nr += (double)r[3 * j + k] * r[3 * j + k];
        half[k] = fmaxf(half[k], fabsf(a[3 * j + k]));
      }
      CHECK_NEAR(sqrt(na), sqrt(nr), 1e-5);
      zmax = fmaxf(zmax, fabsf(a[3 * j + 2]));
    }
    if (la[i] == EBM_SHAPE_TORUS) CHECK(zmax <= 0.28f + 1e-6f); /* |z| ≤ the tube radius */
    if (la[i] != EBM_SHAPE_BOX) continue;
    for (int j = 0; j < P; j++) { /* on a face: one coordinate at ± that axis's half-side */
      int on_face = 0;
      for (int k = 0; k < 3; k++) on_face |= fabsf(fabsf(a[3 * j + k]) - half[k]) < 1e-6f;
      CHECK(on_face);
    }
    boxes_checked++;
  }
  CHECK_EQ_INT(boxes_checked, 3);
  free(rot), free(al);
}
