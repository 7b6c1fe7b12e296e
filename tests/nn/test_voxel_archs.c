/* The voxel energies of examples/arch (README "Voxels with a stronger
 * energy"): each file builds for 1×32³ grids with the layer shapes and
 * parameter counts its comments in the README claim, and the conditional
 * one joins its class tables to the folded conv3d output correctly. */
#include "nn/nn_testutil.h"

/* One conv3d + its output: C channels over a side³ grid, folded to
 * [C·side, side, side] as every conv3d's output is (layer_conv3d.c). */
typedef struct {
  int64_t channels, side, params;
} conv_row;

/* The network's conv3d layers, in order, match `want`; the flatten takes
 * the last one whole and the final linear gives one energy. */
static void check_convs(const ebm_net *net, const conv_row *want, int n_want, int64_t total_params) {
  REQUIRE(ebm_net_item_ndim(net) == 3);
  for (int d = 0; d < 3; d++) CHECK_EQ_INT((int)ebm_net_item_shape(net)[d], 32);
  CHECK_EQ_INT((int)ebm_net_volume_depth(net), 32);
  int seen = 0;
  int64_t params = 0;
  for (int i = 0; i < ebm_net_layer_count(net); i++) {
    ebm_layer_info info;
    REQUIRE_OK(ebm_net_layer_info(net, i, &info));
    params += info.num_params;
    if (strcmp(info.type, "conv3d") != 0) continue;
    REQUIRE(seen < n_want);
    const conv_row *w = &want[seen++];
    REQUIRE(info.out_ndim == 3);
    CHECK_EQ_INT((int)info.out_shape[0], (int)(w->channels * w->side));
    CHECK_EQ_INT((int)info.out_shape[1], (int)w->side);
    CHECK_EQ_INT((int)info.out_shape[2], (int)w->side);
    CHECK_EQ_INT((int)info.num_params, (int)w->params);
  }
  CHECK_EQ_INT(seen, n_want);
  CHECK_EQ_INT((int)params, (int)total_params);
  CHECK_EQ_INT((int)ebm_net_out_size(net), 1);
}

/* Four stride-2 convolutions (8, 16, 32, 64 channels: 32³ → 2³) and a
 * linear on the flattened 64×2³ features, instead of the voxelnet preset's
 * sum pool: weights 27·C_in·C_out + C_out per conv, 512 + 1 in the linear. */
TEST(voxelnet_4layer_file_has_its_shapes) {
  ebm_net *net = nt_build_file("examples/arch/voxelnet-4layer.json", 2, 1);
  const conv_row want[] = {{8, 16, 224}, {16, 8, 3472}, {32, 4, 13856}, {64, 2, 55360}};
  check_convs(net, want, 4, 224 + 3472 + 13856 + 55360 + 513);
  CHECK_EQ_INT(ebm_net_num_classes(net), 0);
  ebm_net_free(net);
}

/* A stride-1 first convolution (4 channels at full 32³ resolution) before
 * the four stride-2 ones. */
TEST(voxelnet_stride1_file_has_its_shapes) {
  ebm_net *net = nt_build_file("examples/arch/voxelnet-stride1.json", 2, 2);
  const conv_row want[] = {{4, 32, 112}, {16, 16, 1744}, {32, 8, 13856}, {64, 4, 55360}, {64, 2, 110656}};
  check_convs(net, want, 5, 112 + 1744 + 13856 + 55360 + 110656 + 513);
  ebm_net_free(net);
}

/* The 4-layer network with a per-class scale and shift after every conv3d
 * (3 classes: sphere, box, torus). class_affine sees the folded [C·D, H, W]
 * output, so each table has C·D rows per class; the FD checks show the
 * tables and convolutions are joined right (one class per item). */
TEST(voxelnet_4layer_cond_file_has_its_shapes_and_grads) {
  ebm_net *net = nt_build_file("examples/arch/voxelnet-4layer-cond.json", 2, 3);
  CHECK_EQ_INT(ebm_net_num_classes(net), 3);
  CHECK(ebm_net_needs_labels(net));
  const conv_row want[] = {{8, 16, 224}, {16, 8, 3472}, {32, 4, 13856}, {64, 2, 55360}};
  const int64_t tables = 2 * 3 * (8 * 16 + 16 * 8 + 32 * 4 + 64 * 2);
  check_convs(net, want, 4, 224 + 3472 + 13856 + 55360 + 513 + tables);
  nt_jitter(net, 0.3f, 4);
  CHECK(nt_check_input_grad(net, 2, 5) < NT_FD_TOL);
  CHECK(nt_check_param_grad(net, 2, 6) < NT_FD_TOL);
  ebm_net_free(net);
}

/* The voxelnet preset asked for classes (what `ebm train --conditional
 * --arch voxelnet` builds): a class_affine after each of the three conv3d,
 * tables [classes, C·D] on the folded output; FD of the input and of every
 * parameter (class tables included) with items of different classes; the
 * class is an input that matters: the same grid gets a different energy
 * under each class, and the gradient of a class's tables comes only from
 * the items of that class. Without classes the preset is as before. */
TEST(voxelnet_preset_with_classes_is_e_of_x_and_y_with_fd_grads) {
  ebm_net *plain = nt_build("{\"preset\":\"voxelnet\",\"width\":2}", 2, 1);
  CHECK_EQ_INT(ebm_net_num_classes(plain), 0);
  CHECK_EQ_INT(ebm_net_layer_count(plain), 8);
  ebm_net_free(plain);

  ebm_net *net = nt_build("{\"preset\":\"voxelnet\",\"width\":2,\"classes\":3}", 3, 2);
  CHECK_EQ_INT(ebm_net_num_classes(net), 3);
  CHECK(ebm_net_needs_labels(net));
  const conv_row want[] = {{2, 16, 56}, {4, 8, 220}, {8, 4, 872}};
  const int64_t tables = 2 * 3 * (2 * 16 + 4 * 8 + 8 * 4);
  check_convs(net, want, 3, 56 + 220 + 872 + 33 + tables); /* the sum pool leaves C·D = 32 features */
  nt_jitter(net, 0.3f, 4);
  CHECK(nt_check_input_grad(net, 3, 5) < NT_FD_TOL);
  CHECK(nt_check_param_grad(net, 3, 6) < NT_FD_TOL);

  float *x = nt_inputs(net, 3, 7);
  memcpy(x + 32768, x, 32768 * sizeof *x); /* one grid three times */
  memcpy(x + 2 * 32768, x, 32768 * sizeof *x);
  int32_t y[3] = {0, 1, 2};
  const ebm_cond cond = ebm_cond_labels(y);
  float e[3];
  REQUIRE_OK(ebm_net_energy(net, x, &cond, 3, e));
  CHECK(fabsf(e[0] - e[1]) > 1e-4f && fabsf(e[1] - e[2]) > 1e-4f && fabsf(e[0] - e[2]) > 1e-4f);

  /* items of classes 0 and 2 only: class 1's tables get no gradient */
  int32_t y02[3] = {0, 2, 0};
  const ebm_cond cond02 = ebm_cond_labels(y02);
  const float de[3] = {1.0f, 1.0f, 1.0f};
  ebm_net_zero_grad(net);
  REQUIRE_OK(ebm_net_backward_params(net, x, &cond02, 3, de, e));
  int tables_seen = 0;
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    const ebm_param *p = ebm_net_param(net, i);
    /* the class tables: net.1, net.4, net.7 (gain and bias, [3, C·D]) */
    if (!strstr(p->name, "net.1.") && !strstr(p->name, "net.4.") && !strstr(p->name, "net.7.")) continue;
    tables_seen++;
    REQUIRE(p->grad->shape[0] == 3);
    const int64_t row = ebm_tensor_numel(p->grad) / 3;
    const float *g = p->grad->data;
    double r0 = 0, r1 = 0, r2 = 0;
    for (int64_t k = 0; k < row; k++) r0 += fabs(g[k]), r1 += fabs(g[row + k]), r2 += fabs(g[2 * row + k]);
    CHECK(r0 > 0 && r2 > 0);
    CHECK(r1 == 0);
  }
  CHECK_EQ_INT(tables_seen, 6);
  free(x);
  ebm_net_free(net);
}
