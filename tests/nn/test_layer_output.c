/* ebm_net_layer_output: every layer's output of the last forward pass,
 * including both halves of a fused conv2d + swish step and a view. */
#include "nn/nn_testutil.h"

/* conv2d + swish (fused in the run list), avgpool2d, flatten (a view),
 * linear → 5 outputs. */
static const char *small_cnn =
    "{\"input\":[2,4,4],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":3,\"pad\":1},"
    "{\"type\":\"swish\"},{\"type\":\"avgpool2d\"},{\"type\":\"flatten\"},"
    "{\"type\":\"linear\",\"name\":\"fc\",\"out\":5}]}";

TEST(layer_output_gives_every_layer_of_the_last_forward_pass) {
  ebm_net *net = nt_build(small_cnn, 3, 4);
  ebm_tensor v;
  CHECK_FAILS_WITH(ebm_net_layer_output(net, 0, &v), EBM_ERR_ARG, "no forward pass");
  float *x = nt_inputs(net, 2, 9);
  float out[2 * 5];
  REQUIRE_OK(ebm_net_forward(net, x, NULL, 2, out));
  CHECK_FAILS_WITH(ebm_net_layer_output(net, 5, &v), EBM_ERR_ARG, "layer 5 is not in [0, 5)");
  CHECK_FAILS_WITH(ebm_net_layer_output(net, -1, &v), EBM_ERR_ARG, "is not in");
  ebm_tensor pre, act, pool, flat, last;
  REQUIRE_OK(ebm_net_layer_output(net, 0, &pre));
  REQUIRE_OK(ebm_net_layer_output(net, 1, &act));
  REQUIRE_OK(ebm_net_layer_output(net, 2, &pool));
  REQUIRE_OK(ebm_net_layer_output(net, 3, &flat));
  REQUIRE_OK(ebm_net_layer_output(net, 4, &last));
  CHECK(pre.ndim == 4 && pre.shape[0] == 2 && pre.shape[1] == 3 && pre.shape[2] == 4 && pre.shape[3] == 4);
  CHECK(flat.ndim == 2 && flat.shape[0] == 2 && flat.shape[1] == 12);
  CHECK(last.ndim == 2 && last.shape[1] == 5);
  /* the conv's own output is the pre-activation, the swish's is x·σ(x) */
  const ebm_param *w = ebm_net_param(net, 0), *b = ebm_net_param(net, 1);
  int bad = 0;
  for (int i = 0; i < 2; i++)
    for (int o = 0; o < 3; o++)
      for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++) {
          double s = b->value->data[o];
          for (int c = 0; c < 2; c++)
            for (int dr = -1; dr <= 1; dr++)
              for (int dq = -1; dq <= 1; dq++) {
                int rr = r + dr, qq = q + dq;
                if (rr < 0 || rr >= 4 || qq < 0 || qq >= 4) continue;
                s += (double)w->value->data[((o * 2 + c) * 3 + dr + 1) * 3 + dq + 1] * x[(i * 2 + c) * 16 + rr * 4 + qq];
              }
          int at = ((i * 3 + o) * 4 + r) * 4 + q;
          bad += fabs(pre.data[at] - s) > 1e-5;
          bad += fabs(act.data[at] - s / (1.0 + exp(-s))) > 1e-5;
        }
  CHECK_EQ_INT(bad, 0);
  /* the view shows its input; the last layer is the network's output */
  CHECK(memcmp(flat.data, pool.data, 2 * 12 * sizeof(float)) == 0);
  CHECK(memcmp(last.data, out, sizeof out) == 0);
  /* a later pass with fewer items: the views follow it */
  REQUIRE_OK(ebm_net_forward(net, x, NULL, 1, NULL));
  REQUIRE_OK(ebm_net_layer_output(net, 4, &last));
  CHECK(last.shape[0] == 1 && memcmp(last.data, out, 5 * sizeof(float)) == 0);
  free(x);
  ebm_net_free(net);
}

TEST(layer_output_of_an_energy_pass_and_after_a_failed_pass) {
  ebm_net *net = nt_build("{\"preset\":\"mlp\",\"in_dim\":2,\"width\":4,\"depth\":1}", 2, 1);
  const float x[4] = {0.1f, 0.2f, -0.3f, 0.4f};
  float e[2];
  ebm_tensor v;
  REQUIRE_OK(ebm_net_energy(net, x, NULL, 2, e));
  REQUIRE_OK(ebm_net_layer_output(net, ebm_net_layer_count(net) - 1, &v));
  CHECK(v.shape[0] == 2 && v.data[0] == e[0] && v.data[1] == e[1]);
  const float inf[4] = {INFINITY, 0, 0, 0};
  CHECK_FAILS_WITH(ebm_net_energy(net, inf, NULL, 2, e), EBM_ERR_NUMERIC, "produced");
  CHECK_FAILS_WITH(ebm_net_layer_output(net, 0, &v), EBM_ERR_ARG, "no forward pass");
  ebm_net_free(net);
}
