/* point_edge_conv (DGCNN's edge convolution) and the dgcnn preset:
 * gradients against finite differences in double, the forward pass against
 * a brute-force k-nearest-neighbour max in double, exact invariance to the
 * order of the points (also when distances tie), and the refusals. */
#include "nn/nn_testutil.h"

static void check_fd(const char *json, int64_t n, uint64_t seed) {
  /* kNN and max are piecewise constant / linear: a small step keeps every
   * neighbour set and argmax in place at these random points (at 1e-4 a
   * neighbour or max changes within the step for some seeds — relative
   * errors of 0.2 to 2 — at 1e-5 and 1e-6 none does). */
  nt_check_energy_fd(json, n, seed, 1e-5);
}

/* edge conv in coordinates, a second in features, mean pool, linear. */
#define EDGE_NET(points, k, pool)                                                              \
  "{\"input\":[1," #points ",3],\"layers\":[{\"type\":\"point_edge_conv\",\"name\":\"a\","    \
  "\"out\":4,\"k\":" #k "},{\"type\":\"swish\"},{\"type\":\"point_edge_conv\",\"name\":\"b\"," \
  "\"out\":5,\"k\":" #k "},{\"type\":\"swish\"},{\"type\":\"point_pool\"" pool "},"           \
  "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}"

TEST(point_edge_conv_grads_match_fd) {
  check_fd(EDGE_NET(7, 3, ",\"max\":false"), 3, 5100);
  check_fd(EDGE_NET(9, 4, ""), 2, 5101);
  check_fd(EDGE_NET(6, 6, ",\"max\":false"), 2, 5102); /* k = P: every point */
}

TEST(point_edge_conv_with_spectral_norm_grads_match_fd) {
  /* W = W_orig / σ: the weight gradient goes through sn_backward */
  const char *json = "{\"input\":[1,8,3],\"spectral_norm\":true,\"layers\":[{\"type\":\"point_edge_conv\","
                     "\"name\":\"a\",\"out\":4,\"k\":3},{\"type\":\"swish\"},{\"type\":\"point_pool\"},"
                     "{\"type\":\"linear\",\"name\":\"l\",\"out\":1,\"spectral_norm\":false}]}";
  ebm_net *net = nt_build(json, 1, 5105);
  CHECK_EQ_STR(ebm_net_param(net, 0)->name, "a.weight_orig");
  ebm_layer_info info;
  REQUIRE_OK(ebm_net_layer_info(net, 0, &info));
  CHECK_CONTAINS(info.detail, "max sn");
  ebm_net_free(net);
  check_fd(json, 2, 5106);
}

TEST(preset_dgcnn_grads_match_fd) {
  check_fd("{\"preset\":\"dgcnn\",\"in_dim\":10,\"width\":4,\"k\":4}", 2, 5110);
  check_fd("{\"preset\":\"dgcnn\",\"in_dim\":10,\"width\":4,\"k\":3,\"classes\":3}", 3, 5111);
}

/* y_i = max over the k nearest j (itself included) of W [x_i, x_j − x_i] + b,
 * computed here edge by edge in double, as torch would. */
TEST(point_edge_conv_is_a_linear_map_of_each_edge_maxed_over_the_k_nearest) {
  enum { N = 2, P = 9, C = 3, O = 4, K = 3 };
  ebm_net *net = nt_build("{\"input\":[1,9,3],\"layers\":[{\"type\":\"point_edge_conv\",\"name\":\"e\","
                          "\"out\":4,\"k\":3}]}", N, 5120);
  REQUIRE(ebm_net_param_count(net) == 2);
  CHECK_EQ_STR(ebm_net_param(net, 0)->name, "e.weight");
  CHECK_EQ_STR(ebm_net_param(net, 1)->name, "e.bias");
  CHECK(ebm_net_param(net, 0)->value->shape[0] == O && ebm_net_param(net, 0)->value->shape[1] == 2 * C);
  const float *w = ebm_net_param(net, 0)->value->data, *b = ebm_net_param(net, 1)->value->data;
  float *x = nt_inputs(net, N, 5121), y[N * P * O];
  REQUIRE_OK(ebm_net_forward(net, x, NULL, N, y));
  for (int t = 0; t < N; t++)
    for (int i = 0; i < P; i++) {
      const float *xi = x + (t * P + i) * C;
      double d[P];
      int used[P] = {0};
      for (int j = 0; j < P; j++) {
        d[j] = 0;
        for (int q = 0; q < C; q++) d[j] += pow((double)x[(t * P + j) * C + q] - xi[q], 2);
      }
      double want[O];
      for (int o = 0; o < O; o++) want[o] = -INFINITY;
      for (int r = 0; r < K; r++) { /* the r-th nearest, brute force */
        int best = -1;
        for (int j = 0; j < P; j++)
          if (!used[j] && (best < 0 || d[j] < d[best])) best = j;
        used[best] = 1;
        const float *xj = x + (t * P + best) * C;
        for (int o = 0; o < O; o++) {
          double e = b[o];
          for (int q = 0; q < C; q++) e += (double)w[o * 2 * C + q] * xi[q] + (double)w[o * 2 * C + C + q] * (xj[q] - xi[q]);
          want[o] = fmax(want[o], e);
        }
      }
      for (int o = 0; o < O; o++) CHECK_NEAR(y[(t * P + i) * O + o], want[o], 1e-5);
    }
  ebm_layer_info info;
  REQUIRE_OK(ebm_net_layer_info(net, 0, &info));
  CHECK_CONTAINS(info.detail, "9 points, k 3, [x, xj-x] 6->4, max");
  free(x);
  ebm_net_free(net);
}

TEST(dgcnn_energy_is_exactly_invariant_to_point_order) {
  nt_check_exactly_invariant_to_point_order("{\"preset\":\"dgcnn\",\"width\":8}", 5130);
  nt_check_exactly_invariant_to_point_order("{\"preset\":\"dgcnn\",\"width\":8,\"k\":5,\"classes\":3}", 5131);
}

/* Points of a 4×4×4 lattice and its reflections: many neighbours at exactly
 * the same distance, so the k-th is chosen among ties — by value, not by
 * index, or a shuffle would change the energy. */
TEST(dgcnn_energy_is_exactly_invariant_to_point_order_when_distances_tie) {
  enum { N = 2, P = 64 };
  ebm_net *net = nt_build("{\"preset\":\"dgcnn\",\"in_dim\":64,\"width\":8,\"k\":5}", N, 5140);
  nt_jitter(net, 0.3f, 5141);
  float x[N * P * 3], xp[N * P * 3], e[N], ep[N];
  for (int t = 0; t < N; t++)
    for (int j = 0; j < P; j++)
      for (int q = 0; q < 3; q++) x[(t * P + j) * 3 + q] = (float)(((j >> (2 * q)) & 3) - 1.5) * (t ? 0.5f : 0.25f);
  REQUIRE_OK(ebm_net_energy(net, x, NULL, N, e));
  ebm_rng rng;
  ebm_rng_init(&rng, 5142);
  for (int trial = 0; trial < 3; trial++) {
    int perm[P];
    for (int j = 0; j < P; j++) perm[j] = j;
    for (int j = P - 1; j > 0; j--) {
      int k = (int)ebm_rng_below(&rng, (uint32_t)j + 1), s = perm[j];
      perm[j] = perm[k], perm[k] = s;
    }
    for (int t = 0; t < N; t++)
      for (int j = 0; j < P; j++) memcpy(xp + (t * P + j) * 3, x + (t * P + perm[j]) * 3, 3 * sizeof(float));
    REQUIRE_OK(ebm_net_energy(net, xp, NULL, N, ep));
    CHECK(memcmp(e, ep, sizeof e) == 0);
  }
  ebm_net_free(net);
}

TEST(point_edge_conv_and_dgcnn_refuse_what_they_cannot_take) {
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[1,4,3],\"layers\":[{\"type\":\"point_edge_conv\",\"name\":\"e\","
                               "\"out\":2,\"k\":5}]}", 1, &net), EBM_ERR_ARG,
                   "k = 5 neighbours is more than the cloud's 4 points");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[6],\"layers\":[{\"type\":\"point_edge_conv\",\"name\":\"e\","
                               "\"out\":2}]}", 1, &net), EBM_ERR_ARG, "a point cloud is 1×P×C");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[2,4,3],\"layers\":[{\"type\":\"point_edge_conv\",\"name\":\"e\","
                               "\"out\":2,\"k\":2}]}", 1, &net), EBM_ERR_ARG, "needs a point cloud 1×P×C, got [2,4,3]");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[1,80,3],\"layers\":[{\"type\":\"point_edge_conv\",\"name\":\"e\","
                               "\"out\":2,\"k\":65}]}", 1, &net), EBM_ERR_ARG, "k");
  CHECK_FAILS_WITH(ebm_net_new("{\"preset\":\"dgcnn\",\"in_dim\":8,\"k\":9}", 1, &net), EBM_ERR_ARG,
                   "preset 'dgcnn': k = 9 neighbours is more than the cloud's 8 points");
  CHECK_FAILS_WITH(ebm_net_new("{\"preset\":\"pointnet\",\"k\":4}", 1, &net), EBM_ERR_ARG,
                   "preset 'pointnet' takes no k; k (neighbours) is only for 'dgcnn'");
  CHECK(net == NULL);
}

TEST(preset_dgcnn_is_pointnet_with_edge_convolutions_first) {
  ebm_net *net = nt_build("{\"preset\":\"dgcnn\",\"width\":32}", 1, 5150);
  nt_check_layer(net, 0, "point_edge_conv", 1, 128, 32, 2 * 3 * 32 + 32);
  nt_check_layer(net, 2, "point_edge_conv", 1, 128, 32, 2 * 32 * 32 + 32);
  nt_check_layer(net, 4, "point_cat_pool", 1, 128, 96, 0);
  nt_check_layer(net, 5, "point_linear", 1, 128, 32, 96 * 32 + 32);
  nt_check_layer(net, 12, "linear", 1, 0, 0, 33);
  CHECK_CONTAINS(ebm_net_arch_json(net), "\"type\":\"point_edge_conv\",\"name\":\"net.0\",\"out\":32,\"k\":16");
  CHECK_EQ_INT((int)ebm_net_cloud_points(net), 128);
  ebm_net_free(net);
}
