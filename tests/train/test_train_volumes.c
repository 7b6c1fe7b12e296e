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
             1, "a mixture start of 7 components needs at least 14 items (2 per component), there are 12");
  CLI_EXPECT(run_cli("inpaint --ckpt %s --input %s --mask pattern:right-half --steps 2 --out %s", ckpt,
                     test_path("two.npy"), test_path("in.npy")),
             1, "no draws given known values");
}

/* A conditional run on labelled 17³ grids with --init mixture:K fits one
 * mixture per class and records per-class:mixture:K:SPEC; `ebm sample
 * --ckpt M --class c` starts there again: with no Langevin step its chains
 * are the bits of class c's mixture (the same draws as --init
 * mixture:K:SPEC:class=c), not another class's. --class out of range, a
 * labels file of the wrong length and a per-class start for an
 * unconditional model are refused in one line. */
TEST(conditional_mixture_starts_are_per_class_and_sample_class_c_reuses_them) {
  const int side = 17, n = 12;
  float *grids = malloc(sizeof(float) * n * side * side * side);
  int32_t labels[12];
  REQUIRE(grids);
  REQUIRE_OK(ebm_make_shapes3d(n, side, 3, grids, labels));
  char data[512], lab[512], bad[512]; /* test_path's buffers are reused: keep copies */
  snprintf(data, sizeof data, "%s", test_path("cv.npy"));
  snprintf(lab, sizeof lab, "%s", test_path("cv-labels.npy"));
  snprintf(bad, sizeof bad, "%s", test_path("bad-labels.npy"));
  int64_t shape[5] = {n, 1, side, side, side}, lshape[1] = {n}, bshape[1] = {n - 1};
  REQUIRE_OK(ebm_npy_save(data, EBM_DTYPE_F32, 5, shape, grids));
  REQUIRE_OK(ebm_npy_save(lab, EBM_DTYPE_I32, 1, lshape, labels));
  REQUIRE_OK(ebm_npy_save(bad, EBM_DTYPE_I32, 1, bshape, labels));
  free(grids);
  const char *arch =
      "'{\"input\":[17,17,17],\"classes\":3,\"layers\":[{\"type\":\"conv3d\",\"name\":\"net.0\",\"out\":2,"
      "\"kernel\":3,\"stride\":2,\"pad\":1,\"depth\":17},{\"type\":\"class_affine\",\"name\":\"net.1\"},"
      "{\"type\":\"swish\"},{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"net.4\",\"out\":1}]}'";
  CLI_EXPECT(run_cli("train --data npy:%s,%s --conditional --arch %s --method short-run --init mixture:2 --iters 2 "
                     "--batch 3 --steps 2 --out %s",
                     data, lab, arch, test_path("cm")),
             0, NULL);
  char ckpt[600], want[1400], init[1400];
  snprintf(ckpt, sizeof ckpt, "%s", test_path("cm/ckpt/last.safetensors"));
  snprintf(want, sizeof want, "chains start from per-class:mixture:2:npy:%s,%s, as in training", data, lab);
  CLI_EXPECT(run_cli("sample --ckpt %s --class 1 --n 3 --steps 0 --seed 5 --out %s", ckpt, test_path("s1.npy")), 0,
             want);
  snprintf(init, sizeof init, "mixture:2:npy:%s,%s:class=1", data, lab);
  CLI_EXPECT(run_cli("sample --ckpt %s --init %s --class 1 --n 3 --steps 0 --seed 5 --out %s", ckpt, init,
                     test_path("d1.npy")),
             0, NULL);
  CHECK(test_same_file(test_path("s1.npy"), test_path("d1.npy")));
  snprintf(init, sizeof init, "mixture:2:npy:%s,%s:class=2", data, lab);
  CLI_EXPECT(run_cli("sample --ckpt %s --init %s --class 1 --n 3 --steps 0 --seed 5 --out %s", ckpt, init,
                     test_path("d2.npy")),
             0, NULL);
  CHECK(!test_same_file(test_path("s1.npy"), test_path("d2.npy")));
  /* all classes in turn (chain i asks for class i mod 3): each from its own start */
  CLI_EXPECT(run_cli("sample --ckpt %s --n 6 --steps 0 --seed 5 --out %s", ckpt, test_path("all.npy")), 0, NULL);

  CLI_EXPECT(run_cli("sample --ckpt %s --class 3 --n 3 --out %s", ckpt, test_path("s3.npy")), 2,
             "--class must be in 0..2");
  cli_result r = run_cli("train --data npy:%s,%s --conditional --arch %s --method short-run --init mixture:2 --iters 1 "
                         "--batch 3 --steps 1 --out %s",
                         data, bad, arch, test_path("bad"));
  CHECK_CONTAINS(r.err, "bad-labels.npy: labels have shape [11] but");
  int lines = 0;
  for (const char *c = r.err; *c; c++) lines += *c == '\n';
  CHECK_EQ_INT(lines, 1);
  CLI_EXPECT(r, 1, NULL);
  CLI_EXPECT(run_cli("train --data npy:%s --arch %s --method short-run --iters 1 --batch 3 --steps 1 --out %s", data,
                     voxel_arch, test_path("u")),
             0, NULL);
  snprintf(init, sizeof init, "per-class:mixture:2:npy:%s,%s", data, lab);
  CLI_EXPECT(run_cli("sample --ckpt %s --init %s --n 2 --steps 0 --out %s", test_path("u/ckpt/last.safetensors"), init,
                     test_path("u.npy")),
             2, "needs a class-conditional model");
}

/* --shared-start keeps a conditional run on one start fitted to every class
 * (what it recorded before per-class starts, so a run whose config.json
 * lacks the key resumes with it: the setting's legacy value). */
TEST(shared_start_fits_one_start_for_all_classes_and_is_what_older_runs_resume_with) {
  const ebm_train_setting *s = ebm_train_setting_find("shared-start");
  REQUIRE(s != NULL);
  CHECK(s->legacy && strcmp(s->legacy, "true") == 0);
  CHECK_EQ_INT(ebm_train_defaults().shared_start, 0);
  const char *run = "train --data toy:8gaussians:train:400 --arch mlp --conditional --init gaussian --method short-run "
                    "--iters 1 --batch 16 --steps 2 --out %s";
  char per[512], one[512], want[700];
  snprintf(per, sizeof per, "%s", test_path("per"));
  snprintf(one, sizeof one, "%s", test_path("one"));
  CLI_EXPECT(run_cli(run, per), 0, NULL);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "%s --shared-start", run);
  CLI_EXPECT(run_cli(cmd, one), 0, NULL);
  snprintf(want, sizeof want, "chains start from per-class:gaussian:toy:8gaussians:train:400, as in training");
  CLI_EXPECT(run_cli("sample --ckpt %s/ckpt/last.safetensors --n 2 --out %s", per, test_path("p.npy")), 0, want);
  snprintf(want, sizeof want, "chains start from gaussian:toy:8gaussians:train:400, as in training");
  CLI_EXPECT(run_cli("sample --ckpt %s/ckpt/last.safetensors --n 2 --out %s", one, test_path("o.npy")), 0, want);
}
