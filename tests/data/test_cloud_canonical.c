/* scripts/npy-cloud-canonical.py: a box turned by a known rotation comes
 * back with its faces on the axes (its extents the box's sides, longest
 * first), --rotate turns clouds rigidly (every distance between two points
 * kept) and to other poses, and input that is not clouds is refused. */
#include "test_util.h"

#define P 128

/* A box of half-sides (0.5, 0.3, 0.2): P points on its six faces (a fixed
 * pattern), turned by the rotation of the quaternion (0.8, 0.3, −0.4, 0.33). */
static void turned_box(float *x) {
  const double h[3] = {0.5, 0.3, 0.2};
  double q[4] = {0.8, 0.3, -0.4, 0.33}, n = 0;
  for (int k = 0; k < 4; k++) n += q[k] * q[k];
  for (int k = 0; k < 4; k++) q[k] /= sqrt(n);
  const double w = q[0], a = q[1], b = q[2], c = q[3];
  const double r[3][3] = {{1 - 2 * (b * b + c * c), 2 * (a * b - c * w), 2 * (a * c + b * w)},
                          {2 * (a * b + c * w), 1 - 2 * (a * a + c * c), 2 * (b * c - a * w)},
                          {2 * (a * c - b * w), 2 * (b * c + a * w), 1 - 2 * (a * a + b * b)}};
  for (int i = 0; i < P; i++) {
    const int face = i % 6, axis = face / 2;
    double p[3];
    for (int k = 0; k < 3; k++) p[k] = h[k] * (2.0 * fmod(0.618034 * (i + 1) * (k + 1) + 0.1 * k, 1.0) - 1.0);
    p[axis] = face % 2 ? h[axis] : -h[axis];
    for (int k = 0; k < 3; k++) x[3 * i + k] = (float)(r[k][0] * p[0] + r[k][1] * p[1] + r[k][2] * p[2]);
  }
}

static double dist(const float *x, int i, int j) {
  double s = 0;
  for (int k = 0; k < 3; k++) s += (x[3 * i + k] - x[3 * j + k]) * (x[3 * i + k] - x[3 * j + k]);
  return sqrt(s);
}

TEST(cloud_canonical_script_lays_a_turned_box_on_the_axes_and_rotates_rigidly) {
  static float box[P * 3];
  turned_box(box);
  const int64_t shape[3] = {1, P, 3};
  char in[600], canon[600], rot[600], cmd[2400];
  snprintf(in, sizeof in, "%s", test_path("box.npy"));
  snprintf(canon, sizeof canon, "%s", test_path("canon.npy"));
  snprintf(rot, sizeof rot, "%s", test_path("rot.npy"));
  REQUIRE_OK(ebm_npy_save(in, EBM_DTYPE_F32, 3, shape, box));
  snprintf(cmd, sizeof cmd, "python3 '%s/scripts/npy-cloud-canonical.py' '%s' '%s'", EBM_SOURCE_DIR, in, canon);
  REQUIRE(system(cmd) == 0);
  ebm_npy a;
  REQUIRE_OK(ebm_npy_load(canon, &a));
  REQUIRE(a.ndim == 3 && a.shape[0] == 1 && a.shape[1] == P && a.shape[2] == 3);
  const float *y = (const float *)a.data;
  const double side[3] = {1.0, 0.6, 0.4};
  for (int k = 0; k < 3; k++) {
    float lo = y[k], hi = y[k];
    for (int i = 0; i < P; i++) lo = fminf(lo, y[3 * i + k]), hi = fmaxf(hi, y[3 * i + k]);
    printf("    axis %d: extent %.4f (side %.1f)\n", k, hi - lo, side[k]);
    CHECK_NEAR(hi - lo, side[k], 0.01);
  }
  for (int i = 0; i < P; i += 7) CHECK_NEAR(dist(y, i, (i + 31) % P), dist(box, i, (i + 31) % P), 1e-5);
  snprintf(cmd, sizeof cmd, "python3 '%s/scripts/npy-cloud-canonical.py' --rotate '%s' '%s' 3", EBM_SOURCE_DIR, canon,
           rot);
  REQUIRE(system(cmd) == 0);
  ebm_npy b;
  REQUIRE_OK(ebm_npy_load(rot, &b));
  const float *z = (const float *)b.data;
  double moved = 0;
  for (int i = 0; i < P; i++) {
    CHECK_NEAR(dist(z, i, (i + 17) % P), dist(y, i, (i + 17) % P), 1e-5);
    for (int k = 0; k < 3; k++) moved = fmax(moved, fabs(z[3 * i + k] - y[3 * i + k]));
  }
  CHECK(moved > 0.1);
  ebm_npy_free(&a);
  ebm_npy_free(&b);
  const float flat[8] = {0};
  const int64_t flat_shape[3] = {1, 4, 2};
  REQUIRE_OK(ebm_npy_save(in, EBM_DTYPE_F32, 3, flat_shape, flat));
  snprintf(cmd, sizeof cmd, "python3 '%s/scripts/npy-cloud-canonical.py' '%s' '%s' 2>&1 | grep -q 'clouds are (n, P, 3)'",
           EBM_SOURCE_DIR, in, canon);
  CHECK(system(cmd) == 0);
}
