/* point_grid and the point-folding-generator preset (FoldingNet's
 * generator side): the grid by hand, gradients against finite differences
 * in double, the preset's layers, names and outputs, and its refusals. */
#include "nn/nn_testutil.h"

TEST(point_grid_gives_every_point_the_code_and_its_own_grid_point) {
  enum { N = 2, C = 3, P = 6 }; /* a 2×3 grid */
  ebm_net *net = nt_build("{\"input\":[3],\"layers\":[{\"type\":\"point_grid\",\"points\":6}]}", N, 5200);
  REQUIRE(ebm_net_out_ndim(net) == 3);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[1], P);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[2], C + 2);
  float *x = nt_inputs(net, N, 5201), y[N * P * (C + 2)];
  REQUIRE_OK(ebm_net_forward(net, x, NULL, N, y));
  static const float u[P][2] = {{-1, -1}, {-1, 0}, {-1, 1}, {1, -1}, {1, 0}, {1, 1}};
  for (int t = 0; t < N; t++)
    for (int j = 0; j < P; j++) {
      const float *yj = y + (t * P + j) * (C + 2);
      CHECK(memcmp(yj, x + t * C, C * sizeof(float)) == 0);
      CHECK(yj[C] == u[j][0] && yj[C + 1] == u[j][1]);
    }
  ebm_layer_info info;
  REQUIRE_OK(ebm_net_layer_info(net, 0, &info));
  CHECK_CONTAINS(info.detail, "3 features + a 2x3 grid on [-1,1]^2");
  free(x);
  ebm_net_free(net);
}

TEST(point_folding_network_grads_match_fd) {
  /* code → grid → shared per-point maps → a cloud; every output weighed */
  ebm_net *net = nt_build("{\"input\":[4],\"layers\":[{\"type\":\"linear\",\"name\":\"c\",\"out\":5},"
                          "{\"type\":\"swish\"},{\"type\":\"point_grid\",\"points\":12},{\"type\":\"point_linear\","
                          "\"name\":\"a\",\"out\":6},{\"type\":\"swish\"},{\"type\":\"point_linear\",\"name\":\"b\","
                          "\"out\":3},{\"type\":\"tanh\"}]}", 3, 5210);
  nt_jitter(net, 0.3f, 5211);
  nt_check_output_input_grad(net, 3, 5212);
  nt_check_output_param_grad(net, 3, 5213);
  ebm_net_free(net);
}

TEST(point_folding_generator_preset_folds_a_grid_into_a_cloud_of_128_points) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("point-folding-generator", 0, 0, &json));
  ebm_net *net = nt_build(json, 3, 5220);
  free(json);
  CHECK_EQ_INT((int)ebm_net_item_shape(net)[0], 64);
  CHECK_EQ_INT(ebm_net_layer_count(net), 9);
  nt_check_layer(net, 0, "linear", 128, 0, 0, 64 * 128 + 128);
  nt_check_layer(net, 2, "point_grid", 1, 128, 130, 0);
  nt_check_layer(net, 3, "point_linear", 1, 128, 128, 130 * 128 + 128);
  nt_check_layer(net, 5, "point_linear", 1, 128, 128, 128 * 128 + 128);
  nt_check_layer(net, 7, "point_linear", 1, 128, 3, 128 * 3 + 3);
  nt_check_layer(net, 8, "tanh", 1, 128, 3, 0);
  static const char *const names[] = {"net.0.weight", "net.0.bias", "net.3.weight", "net.3.bias",
                                      "net.5.weight", "net.5.bias", "net.7.weight", "net.7.bias"};
  REQUIRE(ebm_net_param_count(net) == 8);
  for (int i = 0; i < 8; i++) CHECK_EQ_STR(ebm_net_param(net, i)->name, names[i]);
  /* clouds inside (-1, 1), points of one cloud distinct, two clouds different */
  enum { N = 3, ITEM = 128 * 3 };
  float *z = nt_inputs(net, N, 5221), clouds[N * ITEM];
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

TEST(point_folding_generator_takes_the_clouds_shape_and_refuses_the_rest) {
  ebm_net *net = nt_build("{\"preset\":\"point-folding-generator\",\"in_dim\":8,\"width\":16,\"shape\":[1,40,3]}", 2, 5230);
  nt_check_layer(net, 2, "point_grid", 1, 40, 18, 0);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[1], 40);
  CHECK_EQ_INT((int)ebm_net_out_shape(net)[2], 3);
  ebm_net_free(net);
  net = NULL;
  char *json = NULL;
  CHECK_FAILS_WITH(ebm_arch_preset("point-folding-generator", 3, 0, &json), EBM_ERR_ARG,
                   "preset 'point-folding-generator' takes no classes");
  CHECK(json == NULL);
  CHECK_FAILS_WITH(ebm_net_new("{\"preset\":\"point-folding-generator\",\"shape\":[3,128,3]}", 1, &net), EBM_ERR_ARG,
                   "preset 'point-folding-generator': shape must be a cloud [1, P, 3], got [3,128,3]");
  CHECK_FAILS_WITH(ebm_net_new("{\"preset\":\"point-folding-generator\",\"range\":[0,1]}", 1, &net), EBM_ERR_ARG,
                   "preset 'point-folding-generator': range must be [-1, 1] (tanh), got [0, 1]");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[1,4,3],\"layers\":[{\"type\":\"point_grid\",\"points\":4}]}", 1, &net),
                   EBM_ERR_ARG, "point_grid takes a vector");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[4],\"layers\":[{\"type\":\"point_grid\"}]}", 1, &net), EBM_ERR_ARG,
                   "points");
  CHECK(net == NULL);
}
