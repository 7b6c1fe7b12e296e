/* `ebm train` on volumes: N×1×D×H×W .npy data, a conv3d energy, and the
 * sample pictures it writes (three views for voxel grids). */
#include "test_util.h"

TEST(train_on_voxels_draws_three_view_samples) {
  const int side = 8, n = 6;
  float grids[6 * 8 * 8 * 8];
  REQUIRE_OK(ebm_make_shapes3d(n, side, 2, grids, NULL));
  const char *data = test_path("vox.npy"), *run = test_path("run"), *png = test_path("run/samples/step_000001.png");
  int64_t shape[5] = {n, 1, side, side, side};
  REQUIRE_OK(ebm_npy_save(data, EBM_DTYPE_F32, 5, shape, grids));
  cli_result r = run_cli("train --data npy:%s --arch '{\"input\":[8,8,8],\"layers\":[{\"type\":\"conv3d\","
                         "\"name\":\"net.0\",\"out\":2,\"kernel\":3,\"stride\":2,\"pad\":1,\"depth\":8},"
                         "{\"type\":\"swish\"},{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":"
                         "\"net.3\",\"out\":1}]}' --iters 1 --batch 3 --steps 2 --buffer 16 --sample-every 1 "
                         "--out %s", data, run);
  CHECK_EQ_INT(r.code, 0);
  if (r.code) fprintf(stderr, "%s", r.err);
  cli_result_free(&r);
  int w, h, c;
  uint8_t *px;
  REQUIRE_OK(ebm_png_read(png, &w, &h, &c, &px));
  CHECK_EQ_INT(w, 3 * side * 2 + 4 * 2);  /* three views of 8×8, scaled 2, pad 2 */
  CHECK_EQ_INT(h, 3 * side * 2 + 4 * 2);  /* the three chains drawn, one row each */
  free(px);
}
