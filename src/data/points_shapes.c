/* `points:shapes`: clouds sampled uniformly by area on the surfaces of
 * spheres, boxes and tori (ebm/points.h). Each item has its own random
 * stream (the seed split by the item index), so a set is reproducible and
 * its first items do not depend on how many follow. */
#include <math.h>

#include "ebm/points.h"

#define PI 3.14159265358979323846

const char *ebm_shape_name(ebm_shape_kind kind) {
  static const char *const names[] = {"sphere", "box", "torus"};
  return kind >= 0 && kind < EBM_SHAPE_COUNT ? names[kind] : "?";
}

static double uniform(ebm_rng *rng, double lo, double hi) { return lo + (hi - lo) * ebm_rng_double(rng); }

/* A uniformly random rotation: a unit quaternion from four normals. */
static void random_rotation(ebm_rng *rng, double r[3][3]) {
  double q[4], norm = 0;
  for (int k = 0; k < 4; k++) q[k] = ebm_rng_gauss(rng), norm += q[k] * q[k];
  norm = sqrt(norm);
  const double w = q[0] / norm, x = q[1] / norm, y = q[2] / norm, z = q[3] / norm;
  const double m[3][3] = {{1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)},
                          {2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)},
                          {2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)}};
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) r[i][j] = m[i][j];
}

/* Radius 0.5–0.9; a direction from three normals is uniform on the sphere. */
static void sphere_point(ebm_rng *rng, const double *size, double *v) {
  double norm = 0;
  for (int k = 0; k < 3; k++) v[k] = ebm_rng_gauss(rng), norm += v[k] * v[k];
  norm = sqrt(norm);
  for (int k = 0; k < 3; k++) v[k] *= size[0] / norm;
}

/* Half-sides 0.25–0.55: a face picked with probability ∝ its area, then a
 * uniform point on it. */
static void box_point(ebm_rng *rng, const double *half, double *v) {
  const double area[3] = {half[1] * half[2], half[0] * half[2], half[0] * half[1]};
  double u = ebm_rng_double(rng) * (area[0] + area[1] + area[2]);
  const int axis = u < area[0] ? 0 : u < area[0] + area[1] ? 1 : 2;
  for (int k = 0; k < 3; k++) v[k] = uniform(rng, -half[k], half[k]);
  v[axis] = ebm_rng_double(rng) < 0.5 ? -half[axis] : half[axis];
}

/* Ring radius R 0.45–0.65, tube radius r 0.12–0.28: the tube angle θ is
 * accepted with probability (R + r cos θ)/(R + r), the area element. */
static void torus_point(ebm_rng *rng, const double *size, double *v) {
  const double big = size[0], small = size[1];
  double theta;
  do theta = uniform(rng, 0, 2 * PI);
  while (ebm_rng_double(rng) * (big + small) > big + small * cos(theta));
  const double phi = uniform(rng, 0, 2 * PI), ring = big + small * cos(theta);
  v[0] = ring * cos(phi);
  v[1] = ring * sin(phi);
  v[2] = small * sin(theta);
}

/* rotate = 0 draws the rotation all the same (so the sizes and points of
 * item i are those of the rotated set) and leaves it out. */
static void points_shapes(uint64_t seed, int64_t n, int64_t p, int rotate, float *xyz, int32_t *labels) {
  ebm_rng base;
  ebm_rng_init(&base, seed);
  for (int64_t i = 0; i < n; i++) {
    ebm_rng rng = ebm_rng_split(&base, (uint64_t)i);
    const ebm_shape_kind kind = (ebm_shape_kind)(i % EBM_SHAPE_COUNT);
    double size[3], rot[3][3];
    if (kind == EBM_SHAPE_SPHERE) size[0] = uniform(&rng, 0.5, 0.9);
    if (kind == EBM_SHAPE_BOX)
      for (int k = 0; k < 3; k++) size[k] = uniform(&rng, 0.25, 0.55);
    if (kind == EBM_SHAPE_TORUS) size[0] = uniform(&rng, 0.45, 0.65), size[1] = uniform(&rng, 0.12, 0.28);
    random_rotation(&rng, rot);
    for (int r = 0; !rotate && r < 3; r++)
      for (int c = 0; c < 3; c++) rot[r][c] = r == c;
    for (int64_t j = 0; j < p; j++) {
      double v[3];
      if (kind == EBM_SHAPE_SPHERE) sphere_point(&rng, size, v);
      else if (kind == EBM_SHAPE_BOX) box_point(&rng, size, v);
      else torus_point(&rng, size, v);
      float *out = xyz + (i * p + j) * 3;
      for (int a = 0; a < 3; a++) out[a] = (float)(rot[a][0] * v[0] + rot[a][1] * v[1] + rot[a][2] * v[2]);
    }
    if (labels) labels[i] = (int32_t)kind;
  }
}

void ebm_points_shapes(uint64_t seed, int64_t n, int64_t p, float *xyz, int32_t *labels) {
  points_shapes(seed, n, p, 1, xyz, labels);
}

void ebm_points_shapes_aligned(uint64_t seed, int64_t n, int64_t p, float *xyz, int32_t *labels) {
  points_shapes(seed, n, p, 0, xyz, labels);
}
