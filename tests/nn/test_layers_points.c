/* The point-cloud layers (point_linear, point_pool, point_cat_pool,
 * point_class_affine) and the pointnet preset:
 * gradients against finite differences, the forward pass against a hand
 * computation with nn.Linear-on-the-last-dimension semantics, and exact
 * invariance of the energy to the order of the points. */
#include "nn/nn_testutil.h"

static void check_fd(const char *json, int64_t n, uint64_t seed, double step) {
  nt_check_energy_fd(json, n, seed, step);
}

#define CLOUD_NET(points, pool)                                                             \
  "{\"input\":[1," #points ",3],\"layers\":[{\"type\":\"point_linear\",\"name\":\"a\","   \
  "\"out\":4},{\"type\":\"swish\"},{\"type\":\"point_linear\",\"name\":\"b\",\"out\":5},"   \
  "{\"type\":\"point_pool\"" pool "},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}"

TEST(point_linear_and_mean_pool_grads_match_fd) {
  check_fd(CLOUD_NET(7, ",\"max\":false"), 3, 4100, 2e-2);
}

TEST(point_max_pool_grads_match_fd) {
  /* The max is piecewise linear: a small step keeps the argmax in place. */
  check_fd(CLOUD_NET(4, ",\"mean\":false"), 2, 4200, 1e-3);
  check_fd(CLOUD_NET(4, ""), 2, 4201, 1e-3);
}

TEST(point_sum_pool_grads_match_fd) {
  check_fd(CLOUD_NET(7, ",\"max\":false,\"mean\":false,\"sum\":true"), 3, 4150, 2e-2);
  /* all three, as [max | mean | sum]; a small step keeps the argmax in place */
  check_fd(CLOUD_NET(4, ",\"sum\":true"), 2, 4151, 1e-3);
}

/* A second per-point stage that sees the cloud: a → cat(point, pool) → b. */
#define CAT_NET(points, pool)                                                               \
  "{\"input\":[1," #points ",3],\"layers\":[{\"type\":\"point_linear\",\"name\":\"a\","   \
  "\"out\":4},{\"type\":\"swish\"},{\"type\":\"point_cat_pool\"" pool "},"                \
  "{\"type\":\"point_linear\",\"name\":\"b\",\"out\":5},{\"type\":\"swish\"},"            \
  "{\"type\":\"point_pool\",\"max\":false},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}"

TEST(point_cat_pool_grads_match_fd) {
  check_fd(CAT_NET(7, ",\"max\":false"), 3, 4180, 2e-2);
  check_fd(CAT_NET(7, ",\"max\":false,\"mean\":false,\"sum\":true"), 3, 4181, 2e-2);
  /* max + mean (the default): a small step keeps every argmax in place */
  check_fd(CAT_NET(4, ""), 2, 4182, 1e-3);
}

TEST(point_cat_pool_appends_the_clouds_max_and_mean_to_every_point) {
  enum { N = 2, P = 5, C = 3 };
  ebm_net *net = nt_build("{\"input\":[1,5,3],\"layers\":[{\"type\":\"point_cat_pool\"}]}", N, 4183);
  CHECK_EQ_INT(ebm_net_out_size(net), P * (C + 2 * C));
  ebm_layer_info info;
  REQUIRE_OK(ebm_net_layer_info(net, 0, &info));
  CHECK_CONTAINS(info.detail, "each point + max+mean over 5 points");
  float *x = nt_inputs(net, N, 4184), y[N * P * 3 * C];
  REQUIRE_OK(ebm_net_forward(net, x, NULL, N, y));
  for (int i = 0; i < N; i++)
    for (int c = 0; c < C; c++) {
      double mx = -INFINITY, mean = 0;
      for (int p = 0; p < P; p++) mx = fmax(mx, x[(i * P + p) * C + c]), mean += x[(i * P + p) * C + c] / P;
      for (int p = 0; p < P; p++) {
        const float *yp = y + (i * P + p) * 3 * C;
        CHECK(yp[c] == x[(i * P + p) * C + c]); /* the point itself, copied */
        CHECK(yp[C + c] == (float)mx);
        CHECK_NEAR(yp[2 * C + c], mean, 1e-6);
      }
    }
  free(x);
  ebm_net_free(net);
}

TEST(point_pool_with_sum_writes_its_key_and_sizes_its_output) {
  ebm_net *net = nt_build(CLOUD_NET(9, ",\"mean\":false,\"sum\":true"), 1, 4160);
  CHECK_CONTAINS(ebm_net_arch_json(net), "\"type\":\"point_pool\",\"max\":true,\"mean\":false,\"sum\":true");
  ebm_layer_info info;
  REQUIRE_OK(ebm_net_layer_info(net, 3, &info));
  CHECK_EQ_STR(info.type, "point_pool");
  CHECK_CONTAINS(info.detail, "max+sum over 9 points");
  CHECK(info.out_ndim == 1 && info.out_shape[0] == 2 * 5); /* 5 maxima, 5 sums */
  ebm_net_free(net);
}

/* A per-point class table between the per-point maps: 3 classes. */
#define CLASS_NET(points)                                                                   \
  "{\"input\":[1," #points ",3],\"classes\":3,\"layers\":[{\"type\":\"point_linear\","     \
  "\"name\":\"a\",\"out\":4},{\"type\":\"point_class_affine\",\"name\":\"ca\"},"              \
  "{\"type\":\"swish\"},{\"type\":\"point_cat_pool\",\"max\":false},{\"type\":\"point_linear\"," \
  "\"name\":\"b\",\"out\":5},{\"type\":\"point_class_affine\",\"name\":\"cb\"},"               \
  "{\"type\":\"swish\"},{\"type\":\"point_pool\",\"max\":false},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}"

TEST(point_class_affine_grads_match_fd) {
  /* Input, gains and biases in double (nn_testutil.c), items of different
   * classes in one batch (nt_inputs draws labels; nt_jitter makes the
   * tables differ from the identity). */
  check_fd(CLASS_NET(7), 4, 4190, 2e-2);
}

TEST(point_class_affine_scales_each_feature_of_every_point_by_its_class) {
  enum { N = 2, P = 5, C = 4, K = 3 };
  ebm_net *net = nt_build("{\"input\":[1,5,4],\"classes\":3,\"layers\":[{\"type\":"
                          "\"point_class_affine\",\"name\":\"c\"}]}", N, 4191);
  REQUIRE(ebm_net_param_count(net) == 2);
  CHECK_EQ_STR(ebm_net_param(net, 0)->name, "c.gain");
  CHECK_EQ_STR(ebm_net_param(net, 1)->name, "c.bias");
  CHECK(ebm_net_param(net, 0)->value->shape[0] == K && ebm_net_param(net, 0)->value->shape[1] == C);
  nt_jitter(net, 0.5f, 4192);
  const float *g = ebm_net_param(net, 0)->value->data, *b = ebm_net_param(net, 1)->value->data;
  float *x = nt_inputs(net, N, 4193), y[N * P * C];
  int32_t labels[N] = {2, 0};
  const ebm_cond cond = {.labels = labels};
  REQUIRE_OK(ebm_net_forward(net, x, &cond, N, y));
  for (int i = 0; i < N; i++)
    for (int p = 0; p < P; p++)
      for (int f = 0; f < C; f++) {
        const int at = (i * P + p) * C + f;
        CHECK_NEAR(y[at], (double)g[labels[i] * C + f] * x[at] + b[labels[i] * C + f], 1e-6);
      }
  ebm_layer_info info;
  REQUIRE_OK(ebm_net_layer_info(net, 0, &info));
  CHECK_CONTAINS(info.detail, "3 classes x 4 features, 5 points");
  free(x);
  ebm_net_free(net);
}

TEST(point_class_affine_rejects_a_net_without_classes_and_inputs_that_are_not_clouds) {
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[1,4,3],\"layers\":[{\"type\":\"point_class_affine\","
                               "\"name\":\"c\"}]}", 1, &net), EBM_ERR_ARG, "needs \"classes\" > 0");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[2,4,3],\"classes\":2,\"layers\":[{\"type\":"
                               "\"point_class_affine\",\"name\":\"c\"}]}", 1, &net), EBM_ERR_ARG,
                   "needs a point cloud 1×P×C, got [2,4,3]");
  CHECK(net == NULL);
}

TEST(preset_pointnet_with_classes_is_an_energy_of_the_cloud_and_its_class) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("pointnet", 3, 0, &json));
  /* the class after each of the four per-point maps, and after the hidden linear */
  CHECK_CONTAINS(json, "\"type\":\"point_linear\",\"name\":\"net.0\"");
  CHECK_CONTAINS(json, "\"type\":\"point_class_affine\",\"name\":\"net.1\"");
  CHECK_CONTAINS(json, "\"type\":\"point_class_affine\",\"name\":\"net.4\"");
  CHECK_CONTAINS(json, "\"type\":\"point_class_affine\",\"name\":\"net.8\"");
  CHECK_CONTAINS(json, "\"type\":\"point_class_affine\",\"name\":\"net.11\"");
  CHECK_CONTAINS(json, "\"type\":\"class_affine\",\"name\":\"net.15\"");
  CHECK_CONTAINS(json, "\"type\":\"linear\",\"name\":\"net.17\"");
  ebm_net *net = nt_build(json, 2, 4170);
  free(json);
  CHECK_EQ_INT(ebm_net_num_classes(net), 3);
  nt_jitter(net, 0.3f, 4171);
  float *x = nt_inputs(net, 2, 4172), e0[2], e1[2];
  int32_t y0[2] = {0, 0}, y1[2] = {1, 1};
  const ebm_cond c0 = {.labels = y0}, c1 = {.labels = y1};
  REQUIRE_OK(ebm_net_energy(net, x, &c0, 2, e0));
  REQUIRE_OK(ebm_net_energy(net, x, &c1, 2, e1));
  CHECK(e0[0] != e1[0] && e0[1] != e1[1]); /* the class changes the energy */
  free(x);
  ebm_net_free(net);
}

TEST(preset_pointnet_grads_match_fd) {
  check_fd("{\"preset\":\"pointnet\",\"in_dim\":9,\"width\":4}", 2, 4300, 2e-3);
}

TEST(preset_pointnet_with_classes_grads_match_fd) {
  check_fd("{\"preset\":\"pointnet\",\"in_dim\":9,\"width\":4,\"classes\":3}", 3, 4310, 2e-3);
}

TEST(preset_pointnet_without_classes_keeps_its_layers_and_names) {
  /* Unconditional checkpoints written before point_class_affine load as
   * they were: the same 13 modules under the same names. */
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("pointnet", 0, 0, &json));
  CHECK(strstr(json, "class_affine") == NULL);
  ebm_net *net = nt_build(json, 1, 4320);
  free(json);
  static const char *const names[] = {"net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias",
                                      "net.5.weight", "net.5.bias", "net.7.weight", "net.7.bias",
                                      "net.10.weight", "net.10.bias", "net.12.weight", "net.12.bias"};
  REQUIRE(ebm_net_param_count(net) == 12);
  for (int i = 0; i < 12; i++) CHECK_EQ_STR(ebm_net_param(net, i)->name, names[i]);
  ebm_net_free(net);
}

TEST(point_linear_is_nn_linear_on_the_last_dimension) {
  /* E = l(cat(max_p, mean_p)(a(x))) by hand in double from the parameters:
   * a.weight is out×in as nn.Linear, applied to each point's 3 numbers. */
  enum { P = 5, C = 3, H = 2, N = 2 };
  ebm_net *net = nt_build("{\"input\":[1,5,3],\"layers\":[{\"type\":\"point_linear\",\"name\":\"a\","
                          "\"out\":2},{\"type\":\"point_pool\"},{\"type\":\"linear\",\"name\":\"l\","
                          "\"out\":1}]}", N, 4400);
  REQUIRE(ebm_net_param_count(net) == 4);
  CHECK(strcmp(ebm_net_param(net, 0)->name, "a.weight") == 0);
  CHECK(strcmp(ebm_net_param(net, 1)->name, "a.bias") == 0);
  CHECK_EQ_INT(ebm_net_param(net, 0)->value->shape[0], H);
  CHECK_EQ_INT(ebm_net_param(net, 0)->value->shape[1], C);
  const float *w = ebm_net_param(net, 0)->value->data, *b = ebm_net_param(net, 1)->value->data;
  const float *lw = ebm_net_param(net, 2)->value->data, *lb = ebm_net_param(net, 3)->value->data;
  float *x = nt_inputs(net, N, 4401), e[N];
  REQUIRE_OK(ebm_net_energy(net, x, NULL, N, e));
  for (int i = 0; i < N; i++) {
    double mx[H], mean[H] = {0};
    for (int h = 0; h < H; h++) mx[h] = -INFINITY;
    for (int p = 0; p < P; p++)
      for (int h = 0; h < H; h++) {
        double y = b[h];
        for (int c = 0; c < C; c++) y += (double)w[h * C + c] * x[(i * P + p) * C + c];
        mx[h] = fmax(mx[h], y);
        mean[h] += y / P;
      }
    double want = lb[0];
    for (int h = 0; h < H; h++) want += lw[h] * mx[h] + lw[H + h] * mean[h];
    CHECK_NEAR(e[i], want, 1e-5);
  }
  free(x);
  ebm_net_free(net);
}

TEST(pointnet_energy_is_exactly_invariant_to_point_order) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("pointnet", 0, 0, &json));
  nt_check_exactly_invariant_to_point_order(json, 4500);
  free(json);
}

TEST(conditional_pointnet_energy_is_exactly_invariant_to_point_order) {
  /* the per-point class tables after every point_linear, three classes in the batch */
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("pointnet", 3, 0, &json));
  CHECK_CONTAINS(json, "point_class_affine");
  nt_check_exactly_invariant_to_point_order(json, 4520);
  free(json);
}

TEST(point_cat_pool_network_is_exactly_invariant_to_point_order) {
  nt_check_exactly_invariant_to_point_order(CAT_NET(128, ""), 4510);
}

TEST(point_layers_reject_inputs_that_are_not_clouds) {
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[6],\"layers\":[{\"type\":\"point_linear\",\"name\":\"a\","
                               "\"out\":2}]}", 1, &net), EBM_ERR_ARG, "a point cloud is 1×P×C");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[2,4,3],\"layers\":[{\"type\":\"point_pool\"}]}", 1, &net),
                   EBM_ERR_ARG, "needs a point cloud 1×P×C, got [2,4,3]");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[1,4,3],\"layers\":[{\"type\":\"point_pool\",\"max\":false,"
                               "\"mean\":false}]}", 1, &net), EBM_ERR_ARG, "'max', 'mean' and 'sum' are all false");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[1,4,3],\"layers\":[{\"type\":\"point_cat_pool\",\"max\":false,"
                               "\"mean\":false}]}", 1, &net), EBM_ERR_ARG, "'max', 'mean' and 'sum' are all false");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[6],\"layers\":[{\"type\":\"point_cat_pool\"}]}", 1, &net),
                   EBM_ERR_ARG, "a point cloud is 1×P×C");
  CHECK(net == NULL);
}
