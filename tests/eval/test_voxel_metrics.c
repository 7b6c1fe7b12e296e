/* Voxel grids against references: IoU by hand, the bit-set nearest search
 * against brute force, the noise baseline and NaN refusals. */
#include "test.h"

TEST(voxel_iou_matches_hand_values) {
  const float a[8] = {1, 1, 0, 0, 1, 0, 0, 0}, b[8] = {0.9f, 0, 1, 0, 0.6f, 0, 0.5f, 0};
  CHECK_NEAR(ebm_voxel_iou(a, b, 8, 0.5f), 2.0 / 4.0, 0.0); /* 0.5 is not above 0.5 */
  CHECK_NEAR(ebm_voxel_iou(a, a, 8, 0.5f), 1.0, 0.0);
  const float empty[8] = {0};
  CHECK_NEAR(ebm_voxel_iou(empty, empty, 8, 0.5f), 1.0, 0.0);
  CHECK_NEAR(ebm_voxel_iou(a, empty, 8, 0.5f), 0.0, 0.0);
}

TEST(voxels_nearest_matches_brute_force_on_a_side_that_is_not_whole_words) {
  enum { NR = 6, NS = 4, SIDE = 9, V = SIDE * SIDE * SIDE }; /* 729 voxels: a partial last word */
  float *ref = malloc(sizeof(float) * NR * V), *s = malloc(sizeof(float) * NS * V);
  REQUIRE_OK(ebm_make_shapes3d(NR, SIDE, 3, ref, NULL));
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  ebm_rng_uniform(&rng, s, NS * V, -0.4f, 0.4f);
  for (int64_t k = 0; k < NS * V; k++) s[k] += ref[(k / V + 1) * V + k % V]; /* noisy refs 1..4 */
  double iou[NR];
  int64_t nearest[NR];
  REQUIRE_OK(ebm_voxels_nearest(s, NS, ref, NR, V, 0.5f, iou, nearest));
  for (int i = 0; i < NS; i++) {
    double best = -1;
    for (int r = 0; r < NR; r++) best = fmax(best, ebm_voxel_iou(s + i * V, ref + r * V, V, 0.5f));
    CHECK_NEAR(iou[i], best, 0.0);
    CHECK_NEAR(ebm_voxel_iou(s + i * V, ref + nearest[i] * V, V, 0.5f), best, 0.0);
  }
  /* The references themselves are their own nearest, with IoU 1. */
  REQUIRE_OK(ebm_voxels_nearest(ref, NR, ref, NR, V, 0.5f, iou, nearest));
  for (int i = 0; i < NR; i++) {
    CHECK_EQ_INT(nearest[i], i);
    CHECK_NEAR(iou[i], 1.0, 0.0);
  }
  free(ref);
  free(s);
}

TEST(voxels_compare_puts_noise_far_below_the_references_themselves) {
  enum { N = 6, SIDE = 16, V = SIDE * SIDE * SIDE };
  const int64_t DIMS[3] = {SIDE, SIDE, SIDE};
  float *ref = malloc(sizeof(float) * N * V);
  REQUIRE_OK(ebm_make_shapes3d(N, SIDE, 8, ref, NULL));
  ebm_voxel_scores sc;
  REQUIRE_OK(ebm_voxels_compare(ref, N, ref, N, DIMS, 0, 1, 1, &sc));
  CHECK_EQ_INT(sc.n, N);
  CHECK_NEAR(sc.iou, 1.0, 0.0);
  CHECK_NEAR(sc.occupancy, sc.ref_occupancy, 0.0);
  CHECK(sc.ref_occupancy > 0.01 && sc.ref_occupancy < 0.5);
  /* Half the noise voxels are on: IoU with a shape of occupancy f is about f/(1 + f). */
  CHECK(sc.noise_iou > 0.0 && sc.noise_iou < 0.4);
  /* Every reference is its own nearest surface; a noise grid's surface
   * fills the whole grid, far from any shape's. */
  CHECK_NEAR(sc.chamfer, 0.0, 0.0);
  CHECK(sc.noise_chamfer > 0.01);
  CHECK_EQ_INT(sc.empty + sc.noise_empty, 0);
  ref[2 * V + 17] = NAN;
  CHECK_FAILS_WITH(ebm_voxels_compare(ref, 1, ref, N, DIMS, 0, 1, 1, &sc), EBM_ERR_NUMERIC,
                   "references: grid 2, voxel 17 is NaN");
  CHECK_FAILS_WITH(ebm_voxels_compare(ref, N, ref, N, DIMS, 1, 1, 1, &sc), EBM_ERR_ARG, "empty range [1, 1]");
  free(ref);
}
