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
  CHECK_CONTAINS(r.out, "samples  nearest-reference surface Chamfer 0.00000\n");
  CHECK_CONTAINS(r.out, "noise    nearest-reference surface Chamfer ");
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

/* A classifier of 4x4x4 grids whose logit k is the sum of depth slab k
 * (flatten, then a linear layer with weight 1 on the slab's 16 voxels), saved
 * with `classes` logits, so every share below is known by hand. */
static void save_slab_classifier(const char *path, int classes, int side) {
  char json[256];
  snprintf(json, sizeof json,
           "{\"input\": [%d, %d, %d], \"range\": [0, 1], \"layers\": [{\"type\": \"flatten\"}, "
           "{\"type\": \"linear\", \"name\": \"fc\", \"out\": %d}]}", side, side, side, classes);
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(json, 4, &net));
  const int64_t v = (int64_t)side * side * side, slab = (int64_t)side * side;
  for (int p = 0; p < ebm_net_param_count(net); p++) {
    ebm_param *prm = ebm_net_param(net, p);
    float *w = prm->value->data;
    const int is_weight = strstr(prm->name, "weight") != NULL;
    for (int64_t k = 0; k < ebm_tensor_numel(prm->value); k++) w[k] = is_weight && k % v / slab == k / v;
  }
  REQUIRE_OK(ebm_net_save(net, path, 0, NULL, NULL));
  ebm_net_free(net);
}

TEST(cli_eval_voxels_classifier_shares_are_the_hand_computed_ones) {
  save_slab_classifier(test_path("clf.safetensors"), 3, 4);
  float g[4 * 64] = {0};
  for (int k = 0; k < 16; k++) g[0 * 64 + 0 * 16 + k] = 1; /* slab 0 full: logits (16, 0, 0), sphere, p ≈ 1 */
  g[1 * 64 + 1 * 16] = 1;                                    /* one voxel of slab 1: (0, 1, 0), box, p = e/(e+2) */
  for (int k = 0; k < 3; k++) g[2 * 64 + 2 * 16 + k] = 1;    /* three in slab 2: (0, 0, 3), torus, p = e³/(e³+2) */
  for (int k = 0; k < 16; k++) g[3 * 64 + 1 * 16 + k] = 1;   /* slab 1 full: box, p ≈ 1 */
  REQUIRE_OK(ebm_npy_save(test_path("g.npy"), EBM_DTYPE_F32, 5, (int64_t[]){4, 1, 4, 4, 4}, g));
  cli_result r = run_cli("eval voxels --samples %s --ref %s --classifier %s --asked cycle", test_path("g.npy"),
                         test_path("g.npy"), test_path("clf.safetensors"));
  CHECK_EQ_INT(r.code, 0);
  const double p = (2 / (1 + 2 * exp(-16.0)) + exp(1.0) / (exp(1.0) + 2) + exp(3.0) / (exp(3.0) + 2)) / 4;
  char want[256];
  /* asked 0, 1, 2, 0: the first three land on their class, the fourth (a box) does not */
  snprintf(want, sizeof want, "samples  classified as sphere 0.250 box 0.500 torus 0.250; mean p(top class) %.3f, "
           "p >= 0.9 for 0.750; on the asked class 0.750\n", p);
  CHECK_CONTAINS(r.out, want);
  snprintf(want, sizeof want, "refs     classified as sphere 0.250 box 0.500 torus 0.250; mean p(top class) %.3f, "
           "p >= 0.9 for 0.750\n", p);
  CHECK_CONTAINS(r.out, want);
  CHECK_CONTAINS(r.out, "noise    classified as");
  CHECK(!strstr(r.out, "nonempty")); /* no empty sample: no second line */
  cli_result_free(&r);
  /* a fifth grid, empty (logits 0, 0, 0: "sphere", p 1/3), asked for a box: the samples' line counts
   * it, the non-empty line is the four above exactly */
  float g5[5 * 64] = {0};
  memcpy(g5, g, sizeof g);
  REQUIRE_OK(ebm_npy_save(test_path("g5.npy"), EBM_DTYPE_F32, 5, (int64_t[]){5, 1, 4, 4, 4}, g5));
  r = run_cli("eval voxels --samples %s --ref %s --classifier %s --asked cycle", test_path("g5.npy"),
              test_path("g.npy"), test_path("clf.safetensors"));
  CHECK_EQ_INT(r.code, 0);
  snprintf(want, sizeof want, "samples  classified as sphere 0.400 box 0.400 torus 0.200; mean p(top class) %.3f, "
           "p >= 0.9 for 0.600; on the asked class 0.600\n", (4 * p + 1.0 / 3) / 5);
  CHECK_CONTAINS(r.out, want);
  CHECK_CONTAINS(r.out, "(the 4 samples that are not empty:)\n");
  snprintf(want, sizeof want, "nonempty classified as sphere 0.250 box 0.500 torus 0.250; mean p(top class) %.3f, "
           "p >= 0.9 for 0.750; on the asked class 0.750\n", p);
  CHECK_CONTAINS(r.out, want);
  cli_result_free(&r);
  r = run_cli("eval voxels --samples %s --ref %s --classifier %s --asked 1", test_path("g.npy"), test_path("g.npy"),
              test_path("clf.safetensors"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "p >= 0.9 for 0.750; on the asked class 0.500\n"); /* the two boxes */
  cli_result_free(&r);
}

TEST(cli_eval_voxels_refuses_a_classifier_of_other_grids_or_classes_in_one_line) {
  save_slab_classifier(test_path("two.safetensors"), 2, 4);
  save_slab_classifier(test_path("big.safetensors"), 3, 8);
  float g[2 * 64] = {0};
  REQUIRE_OK(ebm_npy_save(test_path("g.npy"), EBM_DTYPE_F32, 5, (int64_t[]){2, 1, 4, 4, 4}, g));
  cli_result r = run_cli("eval voxels --samples %s --ref %s --classifier %s", test_path("g.npy"), test_path("g.npy"),
                         test_path("two.safetensors"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "two.safetensors has 2 classes; a shape classifier here needs 3 (sphere, box, torus)\n");
  CHECK(strchr(r.err, '\n') == r.err + strlen(r.err) - 1);
  cli_result_free(&r);
  r = run_cli("eval voxels --samples %s --ref %s --classifier %s", test_path("g.npy"), test_path("g.npy"),
              test_path("big.safetensors"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "big.safetensors: the classifier takes 512 floats per item, grids of 4x4x4 are 64\n");
  CHECK(strchr(r.err, '\n') == r.err + strlen(r.err) - 1);
  cli_result_free(&r);
  r = run_cli("eval voxels --samples %s --ref %s --classifier %s --asked 3", test_path("g.npy"), test_path("g.npy"),
              test_path("two.safetensors"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--asked must be 'cycle' or a class 0..2 (sphere, box, torus), got '3'");
  cli_result_free(&r);
  r = run_cli("eval voxels --samples %s --ref %s --asked cycle", test_path("g.npy"), test_path("g.npy"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--asked needs --classifier CLF");
  cli_result_free(&r);
}
