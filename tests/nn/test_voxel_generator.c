/* The voxel-generator preset (cooperative learning's generator on 1×32³
 * grids) and the voxel classifier of examples/arch: each builds with the
 * layer shapes and parameter counts presets.c and the README state. */
#include "nn/nn_testutil.h"

/* z of 64 → linear 64→64·4³ → 64×4³ → 32×8³ → 16×16³ → 1×32³ (k4 s2 p1,
 * W = 16), each conv_transpose3d's output folded to [C·D, H, W]; weights
 * [C_in, C_out, 4, 4, 4] + C_out; occupancies strictly inside (0, 1). */
TEST(voxel_generator_preset_maps_a_latent_to_a_32_cubed_grid) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("voxel-generator", 0, 0, &json));
  ebm_net *net = nt_build(json, 2, 1);
  free(json);
  REQUIRE(ebm_net_item_ndim(net) == 1);
  CHECK_EQ_INT((int)ebm_net_item_shape(net)[0], 64);
  CHECK_EQ_INT(ebm_net_layer_count(net), 9);
  nt_check_layer(net, 0, "linear", 64 * 64, 0, 0, 64 * 4096 + 4096);
  nt_check_layer(net, 1, "reshape", 64 * 4, 4, 4, 0);
  nt_check_layer(net, 3, "conv_transpose3d", 32 * 8, 8, 8, 64 * 32 * 64 + 32);
  nt_check_layer(net, 5, "conv_transpose3d", 16 * 16, 16, 16, 32 * 16 * 64 + 16);
  nt_check_layer(net, 7, "conv_transpose3d", 32, 32, 32, 16 * 1 * 64 + 1);
  nt_check_layer(net, 8, "sigmoid", 32, 32, 32, 0);
  CHECK_EQ_INT((int)ebm_net_out_size(net), 32 * 32 * 32);
  float *z = nt_inputs(net, 2, 2), *grids = malloc(2 * 32768 * sizeof *grids);
  REQUIRE(grids);
  REQUIRE_OK(ebm_net_forward(net, z, NULL, 2, grids));
  int inside = 1;
  for (int k = 0; k < 2 * 32768; k++) inside &= grids[k] > 0 && grids[k] < 1;
  CHECK(inside);
  free(grids);
  ebm_free(z);
  ebm_net_free(net);
}

TEST(voxel_generator_preset_refuses_classes) {
  char *json = NULL;
  CHECK_FAILS_WITH(ebm_arch_preset("voxel-generator", 3, 0, &json), EBM_ERR_ARG,
                   "preset 'voxel-generator' takes no classes");
  CHECK(json == NULL);
}

/* examples/arch/voxel-classifier.json: the voxelnet-4layer convolutions
 * (8, 16, 32, 64 channels, 32³ → 2³) and a linear on the flattened 64×2³
 * features to 3 logits (sphere, box, torus): a classifier, not an energy. */
TEST(voxel_classifier_file_gives_three_logits_per_grid) {
  ebm_net *net = nt_build_file("examples/arch/voxel-classifier.json", 2, 1);
  CHECK_EQ_INT((int)ebm_net_volume_depth(net), 32);
  nt_check_layer(net, 0, "conv3d", 8 * 16, 16, 16, 224);
  nt_check_layer(net, 2, "conv3d", 16 * 8, 8, 8, 3472);
  nt_check_layer(net, 4, "conv3d", 32 * 4, 4, 4, 13856);
  nt_check_layer(net, 6, "conv3d", 64 * 2, 2, 2, 55360);
  nt_check_layer(net, 9, "linear", 3, 0, 0, 512 * 3 + 3);
  CHECK(ebm_net_is_classifier(net));
  ebm_net_free(net);
}
