/* The video-st preset (src/nn/presets.c): the shapes and parameter counts
 * its comment claims, frames kept apart by the per-frame layers and tied by
 * the temporal ones, and every pass against finite differences in double. */
#include "nn/nn_testutil.h"

static ebm_net *build_preset(int width, int64_t batch, uint64_t seed) {
  char json[64];
  snprintf(json, sizeof json, "{\"preset\": \"video-st\", \"width\": %d}", width);
  return nt_build(json, batch, seed);
}

/* conv3d outputs (channels × frames × side²) and parameters at w = 16:
 * out·C·kd·k² + out per conv, 4096 + 1 in the linear. */
TEST(video_st_preset_has_its_shapes_and_parameters) {
  ebm_net *net = build_preset(16, 1, 1);
  REQUIRE(ebm_net_item_ndim(net) == 3);
  CHECK_EQ_INT((int)ebm_net_item_shape(net)[0], 16);
  CHECK_EQ_INT((int)ebm_net_item_shape(net)[1], 64);
  CHECK_EQ_INT((int)ebm_net_volume_depth(net), 16);
  static const int64_t want[5][4] = {
      /* channels, frames, side, params */
      {16, 16, 32, 16 * 16 + 16},
      {32, 16, 16, 32 * 16 * 9 + 32},
      {64, 16, 8, 64 * 32 * 9 + 64},
      {64, 8, 4, 64 * 64 * 27 + 64},
      {64, 4, 4, 64 * 64 * 27 + 64},
  };
  int seen = 0;
  int64_t params = 0;
  for (int i = 0; i < ebm_net_layer_count(net); i++) {
    ebm_layer_info info;
    REQUIRE_OK(ebm_net_layer_info(net, i, &info));
    params += info.num_params;
    if (strcmp(info.type, "conv3d") != 0) continue;
    REQUIRE(seen < 5);
    CHECK_EQ_INT((int)info.out_shape[0], (int)(want[seen][0] * want[seen][1]));
    CHECK_EQ_INT((int)info.out_shape[1], (int)want[seen][2]);
    CHECK_EQ_INT((int)info.out_shape[2], (int)want[seen][2]);
    CHECK_EQ_INT((int)info.num_params, (int)want[seen][3]);
    seen++;
  }
  CHECK_EQ_INT(seen, 5);
  int64_t total = 4097;
  for (int i = 0; i < 5; i++) total += want[i][3];
  CHECK_EQ_INT((int)params, (int)total);
  CHECK_EQ_INT((int)ebm_net_out_size(net), 1);
  char *json = NULL;
  CHECK_FAILS_WITH(ebm_arch_preset("video-st", 3, 0, &json), EBM_ERR_ARG, "takes no classes");
  ebm_net_free(net);
}

/* Changing one frame changes the per-frame features (net.4's output, after
 * three convs with kernel_depth 1) of that frame only, and the temporal
 * conv net.6's output at the frames it sees (its output frame t sees input
 * frames 2t − 1 .. 2t + 1). */
TEST(video_st_keeps_frames_apart_then_ties_them) {
  ebm_net *net = build_preset(2, 1, 3);
  float *x = nt_inputs(net, 1, 4);
  const int64_t frame = 64 * 64, changed = 5;
  REQUIRE_OK(ebm_net_forward(net, x, NULL, 1, NULL));
  ebm_tensor v;
  REQUIRE_OK(ebm_net_layer_output(net, 4, &v)); /* net.4: 8 channels × 16 frames × 8 × 8 */
  const int64_t n4 = ebm_tensor_numel(&v);
  float *before4 = malloc((size_t)n4 * sizeof(float));
  REQUIRE(before4);
  memcpy(before4, v.data, (size_t)n4 * sizeof(float));
  REQUIRE_OK(ebm_net_layer_output(net, 6, &v)); /* net.6: 8 channels × 8 frames × 4 × 4 */
  const int64_t n6 = ebm_tensor_numel(&v);
  float *before6 = malloc((size_t)n6 * sizeof(float));
  REQUIRE(before6);
  memcpy(before6, v.data, (size_t)n6 * sizeof(float));
  for (int64_t i = 0; i < frame; i++) x[changed * frame + i] = -x[changed * frame + i];
  REQUIRE_OK(ebm_net_forward(net, x, NULL, 1, NULL));
  REQUIRE_OK(ebm_net_layer_output(net, 4, &v));
  int other_moved = 0, own_moved = 0;
  for (int64_t i = 0; i < n4; i++) {
    const int64_t t = (i / 64) % 16; /* (channel, frame, 8, 8) */
    const int moved = v.data[i] != before4[i];
    if (t == changed) own_moved |= moved;
    else other_moved |= moved;
  }
  CHECK(own_moved);
  CHECK(!other_moved);
  REQUIRE_OK(ebm_net_layer_output(net, 6, &v));
  int seen_moved[8] = {0};
  for (int64_t i = 0; i < n6; i++) seen_moved[(i / 16) % 8] |= v.data[i] != before6[i];
  for (int t = 0; t < 8; t++) CHECK_EQ_INT(seen_moved[t], 2 * t - 1 <= changed && changed <= 2 * t + 1);
  free(before4), free(before6), free(x);
  ebm_net_free(net);
}

TEST(video_st_grads_match_fd) {
  ebm_net *net = build_preset(2, 2, 7);
  nt_jitter(net, 0.3f, 8);
  nt_check_pass_consistency(net, 2, 9);
  CHECK(nt_check_input_grad(net, 2, 10) <= NT_FD_TOL);
  CHECK(nt_check_param_grad(net, 2, 11) <= NT_FD_TOL);
  ebm_net_free(net);
}
