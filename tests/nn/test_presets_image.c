/* The image presets of the generator methods: conv-generator makes the
 * data's C×H×W in the data's range, uva-cnn takes any C×H×W, and the
 * compact form's "shape" / "range" are refused where they mean nothing. */
#include <math.h>

#include "nn/nn_testutil.h"

/* conv-generator for C×H×W in [lo, hi] and uva-cnn on the same items: the
 * generator's output shape is the energy's input shape, its values lie in
 * the range, and the energy of G(z) is finite. */
static void check_pair(int64_t c, int64_t h, int64_t w, int lo, int hi) {
  char gen_json[256], energy_json[256];
  snprintf(gen_json, sizeof gen_json,
           "{\"preset\": \"conv-generator\", \"in_dim\": 8, \"width\": 4, \"shape\": [%lld, %lld, %lld], "
           "\"range\": [%d, %d]}", (long long)c, (long long)h, (long long)w, lo, hi);
  snprintf(energy_json, sizeof energy_json, "{\"preset\": \"uva-cnn\", \"width\": 4, \"shape\": [%lld, %lld, %lld]}",
           (long long)c, (long long)h, (long long)w);
  ebm_net *g = nt_build(gen_json, 3, 1), *e = nt_build(energy_json, 3, 2);
  const int64_t want[3] = {c, h, w};
  CHECK_EQ_INT(ebm_net_item_ndim(g), 1);
  CHECK_EQ_INT((int)ebm_net_item_shape(g)[0], 8);
  REQUIRE(ebm_net_out_ndim(g) == 3);
  REQUIRE(ebm_net_item_ndim(e) == 3);
  for (int d = 0; d < 3; d++) {
    CHECK_EQ_INT((int)ebm_net_out_shape(g)[d], (int)want[d]);
    CHECK_EQ_INT((int)ebm_net_item_shape(e)[d], (int)want[d]);
  }
  CHECK_EQ_INT((int)ebm_net_out_size(e), 1);
  /* the output activation keeps G(z) in the range even for a large z */
  float *z = nt_inputs(g, 3, 3);
  for (int k = 0; k < 3 * 8; k++) z[k] *= 50.0f;
  const int64_t m = 3 * c * h * w;
  float *x = malloc((size_t)m * sizeof *x), energy[3];
  REQUIRE(x);
  REQUIRE_OK(ebm_net_forward(g, z, NULL, 3, x));
  float x_lo = INFINITY, x_hi = -INFINITY;
  for (int64_t k = 0; k < m; k++) x_lo = fminf(x_lo, x[k]), x_hi = fmaxf(x_hi, x[k]);
  CHECK(x_lo >= (float)lo && x_hi <= (float)hi);
  CHECK(x_hi > x_lo); /* not a constant image */
  REQUIRE_OK(ebm_net_energy(e, x, NULL, 3, energy));
  for (int i = 0; i < 3; i++) CHECK(isfinite(energy[i]));
  free(x);
  free(z);
  ebm_net_free(g);
  ebm_net_free(e);
}

TEST(conv_generator_makes_the_energys_input_for_28x28x1_and_3x32x32) {
  check_pair(1, 28, 28, 0, 1);
  check_pair(3, 32, 32, -1, 1);
}

TEST(conv_generator_ends_in_the_datas_range_and_defaults_to_fashion_mnist_size) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("conv-generator", 0, 0, &json));
  CHECK_CONTAINS(json, "\"input\":[64]");
  CHECK_CONTAINS(json, "\"shape\":[64,7,7]");
  CHECK_CONTAINS(json, "\"type\":\"tanh\"");
  free(json);
  ebm_net *g = nt_build("{\"preset\": \"conv-generator\", \"shape\": [1, 28, 28], \"range\": [0, 1]}", 2, 4);
  CHECK_CONTAINS(ebm_net_arch_json(g), "\"type\":\"sigmoid\"");
  CHECK_EQ_INT((int)ebm_net_out_size(g), 784);
  ebm_net_free(g);
}

/* The whole preset's passes against finite differences (its layers are
 * checked one by one elsewhere; this checks how the preset joins them). */
TEST(conv_generator_param_and_input_grads_match_fd) {
  ebm_net *g = nt_build("{\"preset\": \"conv-generator\", \"in_dim\": 3, \"width\": 2, \"shape\": [2, 8, 4]}", 2, 5);
  CHECK(nt_check_output_input_grad(g, 2, 6) < NT_FD_TOL);
  CHECK(nt_check_output_param_grad(g, 2, 7) < NT_FD_TOL);
  ebm_net_free(g);
}

/* examples/arch/conv-generator-fashion-mnist.json, the file a user copies,
 * is the preset the generator methods pick for Fashion-MNIST in [0, 1]. */
TEST(conv_generator_example_file_is_the_fashion_mnist_preset) {
  ebm_net *file = nt_build_file("examples/arch/conv-generator-fashion-mnist.json", 2, 8);
  ebm_net *preset = nt_build("{\"preset\": \"conv-generator\", \"shape\": [1, 28, 28], \"range\": [0, 1]}", 2, 8);
  CHECK_EQ_STR(ebm_net_arch_json(file), ebm_net_arch_json(preset));
  ebm_net_free(file);
  ebm_net_free(preset);
}
