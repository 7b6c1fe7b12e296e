/* `ebm eval voxels`: nearest-reference IoU against a noise baseline, and
 * its bad inputs in one line. */
#include <unistd.h>

#include "test.h"
#include "test_util.h"

TEST(cli_eval_voxels_scores_the_references_against_themselves_and_noise) {
  char ref[512];
  snprintf(ref, sizeof ref, "%s", test_path("ref.npy"));
  cli_result r = run_cli("data make shapes3d --n 4 --out %s", ref);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("eval voxels --samples %s --ref %s --png %s", ref, ref, test_path("v.png"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "4 sample grids of 32x32x32 against 4 references (occupied above 0.5)");
  CHECK_CONTAINS(r.out, "samples  nearest-reference IoU 1.0000");
  double iou = -1;
  const char *noise = strstr(r.out, "noise");
  REQUIRE(noise && sscanf(noise, "noise nearest-reference IoU %lf", &iou) == 1);
  CHECK(iou > 0 && iou < 0.4);
  cli_result_free(&r);
  CHECK(access(test_path("v.png"), F_OK) == 0);
}

TEST(cli_eval_voxels_refuses_nan_and_wrong_shapes_in_one_line) {
  float x[2 * 8 * 8 * 8] = {0};
  x[512 + 5] = NAN;
  REQUIRE_OK(ebm_npy_save(test_path("nan.npy"), EBM_DTYPE_F32, 5, (int64_t[]){2, 1, 8, 8, 8}, x));
  cli_result r = run_cli("eval voxels --samples %s --ref %s", test_path("nan.npy"), test_path("nan.npy"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "nan.npy: grid 1, voxel 5 is NaN\n");
  CHECK(strchr(r.err, '\n') == r.err + strlen(r.err) - 1); /* one line */
  cli_result_free(&r);
  REQUIRE_OK(ebm_npy_save(test_path("flat.npy"), EBM_DTYPE_F32, 2, (int64_t[]){4, 3}, x));
  r = run_cli("eval voxels --samples %s --ref %s", test_path("flat.npy"), test_path("flat.npy"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "expected float32 voxel grids of shape (n, 1, D, H, W), got F32 [4,3]");
  cli_result_free(&r);
  x[512 + 5] = 0;
  REQUIRE_OK(ebm_npy_save(test_path("small.npy"), EBM_DTYPE_F32, 4, (int64_t[]){1, 4, 8, 8}, x));
  REQUIRE_OK(ebm_npy_save(test_path("zero.npy"), EBM_DTYPE_F32, 5, (int64_t[]){2, 1, 8, 8, 8}, x));
  r = run_cli("eval voxels --samples %s --ref %s", test_path("small.npy"), test_path("zero.npy"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "small.npy: grids of 4x8x8, ");
  CHECK_CONTAINS(r.err, "zero.npy has 8x8x8; both need the same");
  cli_result_free(&r);
  r = run_cli("eval voxels --samples %s --ref %s --range 1,0", test_path("small.npy"), test_path("zero.npy"));
  CHECK_EQ_INT(r.code, 2);
  cli_result_free(&r);
}
