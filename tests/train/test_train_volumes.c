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

/* 12 shapes3d grids of 17³ = 4913 values (above the full Gaussian fit's
 * 4096) as vox.npy, the first two as two.npy (4-D: items to inpaint);
 * returns vox.npy's path. */
static const char *save_voxel_grids(void) {
  const int side = 17, n = 12;
  float *grids = malloc(sizeof(float) * n * side * side * side);
  REQUIRE(grids);
  REQUIRE_OK(ebm_make_shapes3d(n, side, 3, grids, NULL));
  const char *data = test_path("vox.npy");
  int64_t shape[5] = {n, 1, side, side, side}, four[4] = {2, side, side, side};
  REQUIRE_OK(ebm_npy_save(data, EBM_DTYPE_F32, 5, shape, grids));
  REQUIRE_OK(ebm_npy_save(test_path("two.npy"), EBM_DTYPE_F32, 4, four, grids));
  free(grids);
  return data;
}

/* A one-conv3d energy on those grids (shell-quoted for run_cli). */
static const char *const voxel_arch =
    "'{\"input\":[17,17,17],\"layers\":[{\"type\":\"conv3d\",\"name\":\"net.0\",\"out\":2,\"kernel\":3,"
    "\"stride\":2,\"pad\":1,\"depth\":17},{\"type\":\"swish\"},{\"type\":\"global_sum_pool\"},"
    "{\"type\":\"linear\",\"name\":\"net.3\",\"out\":1}]}'";

/* Grids of 17³ = 4913 values, above the full fit's 4096: --init gaussian
 * (short-run chains), the checkpoint's recorded start in `ebm sample`, and
 * NCE's noise and the inpainting start (the holes' mean given the known
 * values) all run on the low-rank Gaussian. */
TEST(gaussian_starts_and_nce_noise_work_on_items_above_the_full_fit_size) {
  const char *data = save_voxel_grids(), *arch = voxel_arch;
  CLI_EXPECT(run_cli("train --data npy:%s --arch %s --method short-run --init gaussian --iters 2 --batch 3 --steps 2 "
                     "--out %s",
                     data, arch, test_path("sr")),
             0, NULL);
  char ckpt[600], want[700];
  snprintf(ckpt, sizeof ckpt, "%s", test_path("sr/ckpt/last.safetensors"));
  snprintf(want, sizeof want, "chains start from gaussian:npy:%s, as in training", data);
  CLI_EXPECT(run_cli("sample --ckpt %s --n 2 --steps 1 --out %s", ckpt, test_path("s.npy")), 0, want);
  /* NCE's model starts normalised, −E ≈ log q: tens of thousands of nats
   * for near-binary grids under a low-rank Gaussian, above the default
   * divergence guard */
  CLI_EXPECT(run_cli("train --data npy:%s --arch %s --method nce --noise-ratio 1 --iters 2 --batch 3 --max-energy 1e7 "
                     "--out %s",
                     data, arch, test_path("nce")),
             0, NULL);
  cli_result r = run_cli("inpaint --ckpt %s --input %s --mask pattern:right-half --steps 2 --out %s", ckpt,
                         test_path("two.npy"), test_path("in.npy"));
  CHECK_CONTAINS(r.out, "steps from gaussian:npy:");
  CLI_EXPECT(r, 0, NULL);
}

/* --init mixture:K on grids of 17³: short-run chains start from the
 * subspace mixture, the checkpoint records it and `ebm sample` starts
 * there too; inpainting, which needs draws given known values, refuses it
 * in one line. */
TEST(mixture_starts_train_and_sample_on_voxel_grids) {
  const char *data = save_voxel_grids(), *arch = voxel_arch;
  CLI_EXPECT(run_cli("train --data npy:%s --arch %s --method short-run --init mixture:3 --iters 2 --batch 3 --steps 2 "
                     "--out %s",
                     data, arch, test_path("mx")),
             0, NULL);
  char ckpt[600], want[700];
  snprintf(ckpt, sizeof ckpt, "%s", test_path("mx/ckpt/last.safetensors"));
  snprintf(want, sizeof want, "chains start from mixture:3:npy:%s, as in training", data);
  CLI_EXPECT(run_cli("sample --ckpt %s --n 2 --steps 1 --out %s", ckpt, test_path("s.npy")), 0, want);
  CLI_EXPECT(run_cli("train --data npy:%s --arch %s --method short-run --init mixture:7 --iters 2 --batch 3 --steps 2 "
                     "--out %s",
                     data, arch, test_path("mx7")),
             1, "at least 2 items per component");
  CLI_EXPECT(run_cli("inpaint --ckpt %s --input %s --mask pattern:right-half --steps 2 --out %s", ckpt,
                     test_path("two.npy"), test_path("in.npy")),
             1, "no draws given known values");
}
