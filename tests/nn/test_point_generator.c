/* The point-generator preset (cooperative learning's generator on the
 * pointnet energy, issue 15): each builds with the layer shapes, parameter
 * counts and names presets.c states, and draws clouds inside [-1, 1]. */
#include "nn/nn_testutil.h"

/* z of 64 → linear 64→256, swish, 256→256, swish, 256→3·128, reshape
 * 1×128×3, tanh (W = 256): nn.Sequential's names net.0, net.2, net.4. */
TEST(point_generator_preset_maps_a_latent_to_a_cloud_of_128_points) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("point-generator", 0, 0, &json));
  ebm_net *net = nt_build(json, 3, 1);
  free(json);
  REQUIRE(ebm_net_item_ndim(net) == 1);
  CHECK_EQ_INT((int)ebm_net_item_shape(net)[0], 64);
  CHECK_EQ_INT(ebm_net_layer_count(net), 7);
  nt_check_layer(net, 0, "linear", 256, 0, 0, 64 * 256 + 256);
  nt_check_layer(net, 2, "linear", 256, 0, 0, 256 * 256 + 256);
  nt_check_layer(net, 4, "linear", 384, 0, 0, 256 * 384 + 384);
  nt_check_layer(net, 5, "reshape", 1, 128, 3, 0);
  nt_check_layer(net, 6, "tanh", 1, 128, 3, 0);
  static const char *const names[] = {"net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias", "net.4.weight",
                                      "net.4.bias"};
  REQUIRE(ebm_net_param_count(net) == 6);
  for (int i = 0; i < 6; i++) CHECK_EQ_STR(ebm_net_param(net, i)->name, names[i]);
  /* three clouds inside (-1, 1); the points of one cloud are not one point
   * repeated (each has its own rows of net.4), nor are two clouds the same */
  enum { N = 3, ITEM = 128 * 3 };
  float *z = nt_inputs(net, N, 2), clouds[N * ITEM];
  REQUIRE_OK(ebm_net_forward(net, z, NULL, N, clouds));
  int inside = 1, distinct_points = 0;
  for (int k = 0; k < N * ITEM; k++) inside &= clouds[k] > -1 && clouds[k] < 1;
  CHECK(inside);
  for (int p = 1; p < 128; p++) distinct_points += memcmp(clouds, clouds + 3 * p, 3 * sizeof(float)) != 0;
  CHECK_EQ_INT(distinct_points, 127);
  CHECK(memcmp(clouds, clouds + ITEM, ITEM * sizeof(float)) != 0);
  ebm_free(z);
  ebm_net_free(net);
}

/* The compact form's "shape" sets P (the data's 1×P×3), "in_dim" z and
 * "width" W; the output is the cloud the pointnet energy of P points takes. */
TEST(point_generator_preset_takes_the_clouds_shape_latent_and_width) {
  ebm_net *net = nt_build("{\"preset\": \"point-generator\", \"in_dim\": 8, \"width\": 16, \"shape\": [1, 40, 3]}", 2, 1);
  CHECK_EQ_INT((int)ebm_net_item_shape(net)[0], 8);
  nt_check_layer(net, 0, "linear", 16, 0, 0, 8 * 16 + 16);
  nt_check_layer(net, 4, "linear", 120, 0, 0, 16 * 120 + 120);
  REQUIRE(ebm_net_out_ndim(net) == 3);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[0], 1);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[1], 40);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[2], 3);
  ebm_net *energy = nt_build("{\"preset\": \"pointnet\", \"in_dim\": 40, \"width\": 4}", 2, 1);
  CHECK(memcmp(ebm_net_out_shape(net), ebm_net_item_shape(energy), 3 * sizeof(int64_t)) == 0);
  ebm_net_free(energy);
  ebm_net_free(net);
}

TEST(point_generator_preset_refuses_classes_and_shapes_that_are_not_clouds) {
  char *json = NULL;
  CHECK_FAILS_WITH(ebm_arch_preset("point-generator", 3, 0, &json), EBM_ERR_ARG,
                   "preset 'point-generator' takes no classes");
  CHECK(json == NULL);
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"preset\": \"point-generator\", \"shape\": [3, 128, 3]}", 1, &net), EBM_ERR_ARG,
                   "preset 'point-generator': shape must be a cloud [1, P, 3], got [3,128,3]");
  CHECK_FAILS_WITH(ebm_net_new("{\"preset\": \"point-generator\", \"shape\": [128, 3]}", 1, &net), EBM_ERR_ARG,
                   "shape must be a cloud [1, P, 3], got [128,3]");
  CHECK_FAILS_WITH(ebm_net_new("{\"preset\": \"point-generator\", \"range\": [0, 1]}", 1, &net), EBM_ERR_ARG,
                   "preset 'point-generator': range must be [-1, 1] (tanh), got [0, 1]");
  CHECK(net == NULL);
}
