/* Surface Chamfer between voxel grids (ebm_voxels_chamfer_nearest): the
 * distance-transform route against brute force over surface pairs, a hand
 * value, and the empty grid. */
#include "test.h"

/* Surface voxels of a d×h×w grid (occupied, an empty 6-neighbour or the
 * border) as coordinates; returns their count. */
static int surface_points(const float *g, const int64_t dims[3], double (*pts)[3]) {
  int n = 0;
  for (int64_t a = 0; a < dims[0]; a++)
    for (int64_t b = 0; b < dims[1]; b++)
      for (int64_t c = 0; c < dims[2]; c++) {
        const int64_t at[3] = {a, b, c};
        if (!(g[(a * dims[1] + b) * dims[2] + c] > 0.5f)) continue;
        int inner = 1;
        for (int axis = 0; axis < 3; axis++)
          for (int step = -1; step <= 1; step += 2) {
            int64_t q[3] = {at[0], at[1], at[2]};
            q[axis] += step;
            inner &= q[axis] >= 0 && q[axis] < dims[axis] && g[(q[0] * dims[1] + q[1]) * dims[2] + q[2]] > 0.5f;
          }
        if (inner) continue;
        for (int k = 0; k < 3; k++) pts[n][k] = (double)at[k];
        n++;
      }
  return n;
}

/* Mean over a of the squared distance to the nearest point of b. */
static double one_way(double (*a)[3], int na, double (*b)[3], int nb) {
  double sum = 0;
  for (int i = 0; i < na; i++) {
    double best = INFINITY;
    for (int j = 0; j < nb; j++) {
      double d2 = 0;
      for (int k = 0; k < 3; k++) d2 += (a[i][k] - b[j][k]) * (a[i][k] - b[j][k]);
      best = d2 < best ? d2 : best;
    }
    sum += best;
  }
  return sum / na;
}

TEST(voxel_chamfer_matches_brute_force_over_surface_pairs) {
  enum { NS = 3, NR = 4, V = 6 * 7 * 8 };
  const int64_t dims[3] = {6, 7, 8};
  float grids[(NS + NR) * V];
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  ebm_rng_uniform(&rng, grids, (NS + NR) * V, 0.0f, 1.0f);
  for (int k = 0; k < (NS + NR) * V; k++) grids[k] = grids[k] < 0.3f + 0.1f * (float)(k / V % 3) ? 1.0f : 0.0f;
  double chamfer[NS];
  int64_t nearest[NS];
  REQUIRE_OK(ebm_voxels_chamfer_nearest(grids, NS, grids + NS * V, NR, dims, 0.5f, chamfer, nearest));
  static double sp[V][3], rp[V][3];
  const double scale2 = (2.0 / 8) * (2.0 / 8); /* the longest side, 8, spans 2 */
  for (int s = 0; s < NS; s++) {
    const int ns = surface_points(grids + s * V, dims, sp);
    double best = INFINITY;
    int64_t arg = -1;
    for (int r = 0; r < NR; r++) {
      const int nr = surface_points(grids + (NS + r) * V, dims, rp);
      const double c = (one_way(sp, ns, rp, nr) + one_way(rp, nr, sp, ns)) * scale2;
      if (c < best) best = c, arg = r;
    }
    CHECK_NEAR(chamfer[s], best, 1e-6 * best);
    CHECK_EQ_INT((int)nearest[s], (int)arg);
  }
}

/* Two single voxels 3 apart along the last axis of a 4³ grid: each is the
 * other's nearest point at 3 voxels = 1.5 units, so 2 · 1.5² = 4.5; a copy
 * of the sample among the references is at 0. An empty sample has none. */
TEST(voxel_chamfer_of_single_voxels_and_empty_grids_by_hand) {
  const int64_t dims[3] = {4, 4, 4};
  float s[2 * 64] = {0}, r[2 * 64] = {0};
  s[0] = 1;      /* sample 0: voxel (0, 0, 0); sample 1 empty */
  r[3] = 1;      /* reference 0: voxel (0, 0, 3) */
  r[64 + 1] = 1; /* reference 1: voxel (0, 0, 1), 1 voxel from the sample */
  double chamfer[2];
  int64_t nearest[2];
  REQUIRE_OK(ebm_voxels_chamfer_nearest(s, 2, r, 1, dims, 0.5f, chamfer, nearest));
  CHECK_NEAR(chamfer[0], 4.5, 1e-12);
  CHECK_EQ_INT((int)nearest[0], 0);
  CHECK(isnan(chamfer[1]));
  CHECK_EQ_INT((int)nearest[1], -1);
  REQUIRE_OK(ebm_voxels_chamfer_nearest(s, 1, r, 2, dims, 0.5f, chamfer, nearest));
  CHECK_NEAR(chamfer[0], 2 * 0.5 * 0.5, 1e-12);
  CHECK_EQ_INT((int)nearest[0], 1);
  memcpy(r + 64, s, 64 * sizeof *s);
  REQUIRE_OK(ebm_voxels_chamfer_nearest(s, 1, r, 2, dims, 0.5f, chamfer, nearest));
  CHECK_NEAR(chamfer[0], 0.0, 1e-12);
  CHECK_EQ_INT((int)nearest[0], 1);
}
