/* nn_bench_layers (src/nn/bench_layers.c, behind `ebm bench layers`): one
 * row per layer with its multiply-adds, finite times, and the network's
 * parameter gradients left at zero. */
#include "nn/nn_bench.h"
#include "test.h"

TEST(bench_layers_times_every_layer_and_leaves_the_gradients_zero) {
  /* a conditional, spectrally normalised resblock with a 1×1 shortcut:
   * every path of resblock_backward */
  const char *arch =
      "{\"input\":[2,6,6],\"spectral_norm\":true,\"classes\":2,\"layers\":[{\"type\":\"resblock\","
      "\"name\":\"b\",\"out\":3,\"down\":true},{\"type\":\"global_sum_pool\"},{\"type\":\"linear\","
      "\"name\":\"l\",\"out\":1}]}";
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(arch, 4, &net));
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  REQUIRE_OK(ebm_net_init(net, &rng));
  nn_layer_time t[8];
  int count = 0;
  REQUIRE_OK(nn_bench_layers(net, 4, 3, t, 8, &count));
  CHECK_EQ_INT(count, 3);
  CHECK(strcmp(t[0].name, "b") == 0 && strcmp(t[0].kind, "resblock") == 0);
  /* on 6×6: conv1 2→3 3×3 (K 18), conv2 3→3 3×3 (K 27), shortcut 2→3 1×1 */
  CHECK_NEAR(t[0].madds, 36.0 * (3 * 18 + 3 * 27 + 3 * 2), 0.5);
  CHECK(strcmp(t[2].kind, "linear") == 0 && t[2].madds == 3.0);
  CHECK(t[1].madds == 0.0 && t[1].bwd_w_ms == 0.0); /* the pooling has no weights */
  for (int i = 0; i < count; i++)
    CHECK(t[i].fwd_ms >= 0 && t[i].bwd_in_ms >= 0 && t[i].bwd_w_ms >= 0 && t[i].fwd_ms < 1e4);
  for (int p = 0; p < ebm_net_param_count(net); p++) {
    const ebm_tensor *g = ebm_net_param(net, p)->grad;
    for (int64_t k = 0; k < ebm_tensor_numel(g); k++) REQUIRE(g->data[k] == 0.0f);
  }
  CHECK_FAILS_WITH(nn_bench_layers(net, 5, 1, t, 8, &count), EBM_ERR_ARG, "batch 5 is not in [1, 4]");
  ebm_net_free(net);
}
