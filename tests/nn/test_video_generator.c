/* The video-generator preset (cooperative learning's generator on the
 * video-st energy, issue 15): the layer shapes and parameter counts
 * presets.c states, grey levels strictly inside (0, 1), and its output is
 * video-st's input, so the two can be trained as a pair. */
#include "nn/nn_testutil.h"

/* z of 64 → linear 64→64·2·8·8 → 64×2×8×8 → 32×4×16×16 → 16×8×32×32 →
 * 1×16×64×64 (k4 s2 p1, W = 16), each output folded to [C·D, H, W];
 * weights [C_in, C_out, 4, 4, 4] + C_out. */
TEST(video_generator_preset_maps_a_latent_to_a_16_frame_64x64_video) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("video-generator", 0, 0, &json));
  ebm_net *net = nt_build(json, 2, 1);
  free(json);
  REQUIRE(ebm_net_item_ndim(net) == 1);
  CHECK_EQ_INT((int)ebm_net_item_shape(net)[0], 64);
  CHECK_EQ_INT(ebm_net_layer_count(net), 9);
  nt_check_layer(net, 0, "linear", 64 * 128, 0, 0, 64 * 8192 + 8192);
  nt_check_layer(net, 1, "reshape", 64 * 2, 8, 8, 0);
  nt_check_layer(net, 3, "conv_transpose3d", 32 * 4, 16, 16, 64 * 32 * 64 + 32);
  nt_check_layer(net, 5, "conv_transpose3d", 16 * 8, 32, 32, 32 * 16 * 64 + 16);
  nt_check_layer(net, 7, "conv_transpose3d", 16, 64, 64, 16 * 1 * 64 + 1);
  nt_check_layer(net, 8, "sigmoid", 16, 64, 64, 0);
  enum { ITEM = 16 * 64 * 64 };
  float *z = nt_inputs(net, 2, 2), *videos = malloc(2 * ITEM * sizeof *videos);
  REQUIRE(videos);
  REQUIRE_OK(ebm_net_forward(net, z, NULL, 2, videos));
  int inside = 1, frames_differ = 0;
  for (int k = 0; k < 2 * ITEM; k++) inside &= videos[k] > 0 && videos[k] < 1;
  for (int k = 0; k < 64 * 64; k++) frames_differ |= videos[k] != videos[15 * 64 * 64 + k];
  CHECK(inside);
  CHECK(frames_differ); /* 16 frames of their own, not one frame repeated */
  free(videos);
  ebm_free(z);
  /* the generator's output is the video energy's input */
  REQUIRE_OK(ebm_arch_preset("video-st", 0, 0, &json));
  ebm_net *energy = nt_build(json, 2, 3);
  free(json);
  REQUIRE(ebm_net_out_ndim(net) == ebm_net_item_ndim(energy));
  for (int d = 0; d < 3; d++) CHECK_EQ_INT((int)ebm_net_out_shape(net)[d], (int)ebm_net_item_shape(energy)[d]);
  ebm_net_free(energy);
  ebm_net_free(net);
}

/* "width" scales every hidden channel count; "in_dim" is z's size. */
TEST(video_generator_preset_takes_width_and_latent) {
  ebm_net *net = nt_build("{\"preset\": \"video-generator\", \"in_dim\": 8, \"width\": 2}", 1, 4);
  CHECK_EQ_INT((int)ebm_net_item_shape(net)[0], 8);
  nt_check_layer(net, 0, "linear", 8 * 128, 0, 0, 8 * 1024 + 1024);
  nt_check_layer(net, 3, "conv_transpose3d", 4 * 4, 16, 16, 8 * 4 * 64 + 4);
  nt_check_layer(net, 7, "conv_transpose3d", 16, 64, 64, 2 * 1 * 64 + 1);
  ebm_net_free(net);
}

TEST(video_generator_preset_refuses_classes) {
  char *json = NULL;
  CHECK_FAILS_WITH(ebm_arch_preset("video-generator", 3, 0, &json), EBM_ERR_ARG,
                   "preset 'video-generator' takes no classes");
  CHECK(json == NULL);
}
