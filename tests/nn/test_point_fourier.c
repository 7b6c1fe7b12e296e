/* point_fourier (src/nn/layer_point_fourier.c): the features by hand, the
 * input gradient through an energy against finite differences (it fails
 * when either the sine or the cosine term of the backward pass is dropped),
 * exact invariance to the order of the points, the shape and the refusals. */
#include "nn_testutil.h"
#include "test.h"

/* One point (0.25, −0.5) of a 1×1×2 cloud, L = 2: [x, sin(πx), sin(2πx), cos(πx), cos(2πx)], each block 2 features. */
TEST(point_fourier_features_match_the_formula_by_hand) {
  ebm_net *net = nt_build("{\"input\":[1,1,2],\"layers\":[{\"type\":\"point_fourier\",\"frequencies\":2}]}", 1, 1);
  nt_check_layer(net, 0, "point_fourier", 1, 1, 10, 0);
  const float x[2] = {0.25f, -0.5f};
  float y[10];
  REQUIRE_OK(ebm_net_forward(net, x, NULL, 1, y));
  const double pi = 3.14159265358979323846, want[10] = {
      0.25, -0.5, sin(pi * 0.25), sin(-pi * 0.5), sin(2 * pi * 0.25), sin(-2 * pi * 0.5),
      cos(pi * 0.25), cos(-pi * 0.5), cos(2 * pi * 0.25), cos(-2 * pi * 0.5)};
  for (int k = 0; k < 10; k++) CHECK_NEAR(y[k], want[k], 1e-6);
  ebm_net_free(net);
}

#define FOURIER_NET(freqs)                                                                                     \
  "{\"input\":[1,6,3],\"layers\":[{\"type\":\"point_fourier\",\"frequencies\":" freqs "},"                      \
  "{\"type\":\"point_linear\",\"name\":\"a\",\"out\":5},{\"type\":\"swish\"},"                                 \
  "{\"type\":\"point_pool\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}"

/* The energy's input and parameter gradients against central differences
 * (the highest frequency 2^3·π ≈ 25 needs the small step). */
TEST(point_fourier_energy_grads_match_finite_differences) {
  nt_check_energy_fd(FOURIER_NET("1"), 3, 8100, 1e-3);
  nt_check_energy_fd(FOURIER_NET("4"), 3, 8101, 2e-4);
}

TEST(point_fourier_energy_is_exactly_invariant_to_point_order) {
  nt_check_exactly_invariant_to_point_order(
      "{\"input\":[1,128,3],\"layers\":[{\"type\":\"point_fourier\",\"frequencies\":6},"
      "{\"type\":\"point_linear\",\"name\":\"a\",\"out\":8},{\"type\":\"swish\"},"
      "{\"type\":\"point_pool\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}",
      8200);
}

TEST(point_fourier_refuses_what_is_not_a_cloud_and_bad_frequencies) {
  ebm_net *net = NULL;
  CHECK(ebm_net_new("{\"input\":[3],\"layers\":[{\"type\":\"point_fourier\"}]}", 1, &net) == EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), "(a point cloud is 1×P×C)");
  CHECK(ebm_net_new("{\"input\":[2,4,3],\"layers\":[{\"type\":\"point_fourier\"}]}", 1, &net) == EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), "needs a point cloud 1×P×C, got [2,4,3]");
  CHECK(ebm_net_new("{\"input\":[1,4,3],\"layers\":[{\"type\":\"point_fourier\",\"frequencies\":13}]}", 1, &net) ==
        EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), "frequencies");
}
