/* Every layer type, and every preset, against finite differences in the
 * three passes (error budget in nn_testutil.c). Layers under test sit in
 * tiny networks that end in flatten/global-sum-pool + linear → 1, on odd
 * sizes, strides and paddings. */
#include "nn/nn_testutil.h"

static void check_all_kinked(const char *json, int64_t n, uint64_t seed);

/* The three checks on one architecture, for n items. */
static void check_all(const char *json, int64_t n, uint64_t seed) { nt_check_energy_fd(json, n, seed, 2e-2); }

TEST(conv2d_grads_match_fd_on_strided_padded_odd_shapes) {
  static const char *const archs[] = {
      "{\"input\":[3,7,9],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":4,\"kernel\":3,"
      "\"stride\":2,\"pad\":1},{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}",
      "{\"input\":[2,6,5],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":3,\"kernel\":5,"
      "\"pad\":2},{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}",
      "{\"input\":[1,11,10],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":2,\"kernel\":4,"
      "\"stride\":3,\"bias\":false},{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}",
      "{\"input\":[3,5,5],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":4,\"kernel\":1},"
      "{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}"};
  for (int i = 0; i < 4; i++) check_all(archs[i], 3, 100 + (uint64_t)i);
}

TEST(linear_grads_match_fd_with_and_without_bias) {
  check_all("{\"input\":[5],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":7},"
            "{\"type\":\"linear\",\"name\":\"b\",\"out\":1}]}", 4, 200);
  check_all("{\"input\":[5],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":7,\"bias\":false},"
            "{\"type\":\"linear\",\"name\":\"b\",\"out\":1,\"bias\":false}]}", 2, 201);
}

TEST(avgpool2d_grads_match_fd_with_dropped_borders) {
  check_all("{\"input\":[2,7,7],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":3,\"pad\":1},"
            "{\"type\":\"avgpool2d\",\"kernel\":2},{\"type\":\"flatten\"},"
            "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 3, 300);
  check_all("{\"input\":[2,9,8],\"layers\":[{\"type\":\"avgpool2d\",\"kernel\":3},{\"type\":\"flatten\"},"
            "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 2, 301);
}

TEST(global_sum_pool_grads_match_fd) {
  check_all("{\"input\":[3,5,5],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":4,\"pad\":1},"
            "{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 3, 400);
}

TEST(swish_and_leaky_relu_grads_match_fd) {
  check_all("{\"input\":[4],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":6},{\"type\":\"swish\"},"
            "{\"type\":\"linear\",\"name\":\"b\",\"out\":1}]}", 4, 500);
  check_all_kinked("{\"input\":[4],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":6},"
            "{\"type\":\"leaky_relu\",\"slope\":0.2},{\"type\":\"linear\",\"name\":\"b\",\"out\":1}]}",
            4, 501);
  check_all_kinked("{\"input\":[2,5,5],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":3,\"stride\":2},"
            "{\"type\":\"leaky_relu\"},{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}",
            3, 502);
}

TEST(flatten_as_first_layer_passes_the_input_gradient_through) {
  check_all("{\"input\":[2,3,3],\"layers\":[{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"l\","
            "\"out\":1}]}", 3, 600);
}

TEST(class_affine_grads_match_fd_on_images_and_vectors) {
  check_all("{\"input\":[3,4,5],\"classes\":3,\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":2,"
            "\"pad\":1},{\"type\":\"class_affine\",\"name\":\"k\"},{\"type\":\"swish\"},{\"type\":\"flatten\"},"
            "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 4, 700);
  check_all("{\"input\":[4],\"classes\":2,\"layers\":[{\"type\":\"class_affine\",\"name\":\"k\"},"
            "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 4, 701);
}

TEST(resblock_grads_match_fd_in_every_variant) {
  /* down + 1×1 shortcut on an odd size; identity shortcut; class
   * conditioning; leaky ReLU; spectral norm. */
  static const char *const archs[] = {
      "{\"input\":[3,7,7],\"layers\":[{\"type\":\"resblock\",\"name\":\"b\",\"out\":4,\"down\":true},"
      "{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}",
      "{\"input\":[3,5,6],\"layers\":[{\"type\":\"resblock\",\"name\":\"b\",\"out\":3},"
      "{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}",
      "{\"input\":[2,6,6],\"classes\":3,\"layers\":[{\"type\":\"resblock\",\"name\":\"b\",\"out\":3,"
      "\"down\":true},{\"type\":\"resblock\",\"name\":\"b2\",\"out\":3}, {\"type\":\"global_sum_pool\"},"
      "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}",
      "{\"input\":[2,5,5],\"layers\":[{\"type\":\"resblock\",\"name\":\"b\",\"out\":2,\"act\":\"leaky_relu\","
      "\"slope\":0.2},{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}",
      "{\"input\":[2,6,5],\"spectral_norm\":true,\"classes\":2,\"layers\":[{\"type\":\"resblock\","
      "\"name\":\"b\",\"out\":3,\"down\":true},{\"type\":\"global_sum_pool\"},{\"type\":\"linear\","
      "\"name\":\"l\",\"out\":1}]}"};
  for (int i = 0; i < 5; i++)
    (i == 3 ? check_all_kinked : check_all)(archs[i], 3, 800 + (uint64_t)i);
}

TEST(spectral_norm_conv_and_linear_grads_match_fd) {
  check_all("{\"input\":[2,7,6],\"spectral_norm\":true,\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\","
            "\"out\":3,\"stride\":2,\"pad\":1},{\"type\":\"swish\"},{\"type\":\"flatten\"},"
            "{\"type\":\"linear\",\"name\":\"l\",\"out\":5},{\"type\":\"swish\"},"
            "{\"type\":\"linear\",\"name\":\"o\",\"out\":1}]}", 3, 900);
}

/* Piecewise-linear networks (leaky ReLU): a step that moves a pre-activation
 * across 0 breaks the difference, so the step is 10× smaller (crossings
 * become rare), and Richardson is exact between kinks. */
static void check_all_kinked(const char *json, int64_t n, uint64_t seed) {
  nt_check_energy_fd(json, n, seed, 2e-3);
}

static void check_preset(const char *name, int classes, int64_t n, uint64_t seed) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset(name, classes, 0, &json));
  check_all(json, n, seed);
  free(json);
}

TEST(preset_mlp_grads_match_fd) {
  check_preset("mlp", 0, 4, 1000);
  check_all("{\"preset\":\"mlp\",\"in_dim\":3,\"width\":16,\"depth\":3,\"classes\":4}", 4, 1001);
}

TEST(preset_uva_cnn_grads_match_fd) { check_preset("uva-cnn", 0, 2, 1100); }

TEST(preset_igebm_mnist_grads_match_fd) { check_preset("igebm-mnist", 0, 2, 1200); }

/* The same residual structure with class tables; narrower, since the
 * full-width preset is covered above and FD costs a pass per parameter. */
TEST(preset_igebm_mnist_conditional_grads_match_fd) {
  check_all("{\"preset\":\"igebm-mnist\",\"width\":8,\"classes\":10}", 2, 1300);
}

