/* ebm_net_layer_output: every layer's output of the last forward pass,
 * including both halves of a fused conv2d + swish step and a view. */
#include "nn/nn_internal.h"
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

/* ebm_net_grad_input (the Langevin pass) writes no pre-activation of a
 * fused conv2d + swish step; reading it afterwards recomputes it: the same
 * bits as ebm_net_forward's, and ebm_net_backward after it the same
 * parameter gradients. Odd shapes: stride 2, padding, 5 and 3 channels,
 * batch 1 and 11 (a remainder group on the direct paths). */
static const char *two_convs =
    "{\"input\":[3,9,7],\"layers\":[{\"type\":\"conv2d\",\"name\":\"a\",\"out\":5,\"kernel\":3,"
    "\"stride\":2,\"pad\":1},{\"type\":\"swish\"},{\"type\":\"conv2d\",\"name\":\"b\",\"out\":3,"
    "\"kernel\":3,\"pad\":1},{\"type\":\"swish\"},{\"type\":\"flatten\"},"
    "{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";

static float *grads_copy(ebm_net *net, int64_t *count) {
  int64_t total = 0;
  for (int i = 0; i < ebm_net_param_count(net); i++) total += ebm_tensor_numel(ebm_net_param(net, i)->grad);
  float *g = malloc((size_t)total * sizeof *g), *p = g;
  REQUIRE(g != NULL);
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    const ebm_tensor *t = ebm_net_param(net, i)->grad;
    memcpy(p, t->data, (size_t)ebm_tensor_numel(t) * sizeof *p);
    p += ebm_tensor_numel(t);
  }
  *count = total;
  return g;
}

TEST(grad_input_keeps_no_pre_activation_and_a_later_read_recomputes_its_bits) {
  const int64_t sizes[] = {1, 11};
  for (int k = 0; k < 2; k++) {
    const int64_t n = sizes[k], d = 3 * 9 * 7;
    ebm_net *net = nt_build(two_convs, 11, 21);
    float *x = nt_inputs(net, n, 22), *de = malloc((size_t)n * sizeof *de);
    float *e = malloc((size_t)n * sizeof *e), *dx = malloc((size_t)(n * d) * sizeof *dx);
    REQUIRE(de && e && dx);
    for (int64_t i = 0; i < n; i++) de[i] = 0.5f + (float)i;
    ebm_tensor v;
    float *plain[4];
    REQUIRE_OK(ebm_net_forward(net, x, NULL, n, NULL));
    for (int i = 0; i < 4; i++) {
      REQUIRE_OK(ebm_net_layer_output(net, i, &v));
      plain[i] = malloc((size_t)ebm_tensor_numel(&v) * sizeof(float));
      memcpy(plain[i], v.data, (size_t)ebm_tensor_numel(&v) * sizeof(float));
    }
    ebm_net_zero_grad(net);
    REQUIRE_OK(ebm_net_backward(net, de, NULL, 1));
    int64_t count;
    float *g_plain = grads_copy(net, &count);
    /* the conv outputs are poisoned: the pass must not write them, the read must */
    for (int i = 0; i < 4; i += 2)
      for (int64_t q = 0; q < n * net->layers[i].out_size; q++) net->layers[i].out[q] = NAN;
    REQUIRE_OK(ebm_net_grad_input(net, x, NULL, n, e, dx));
    CHECK(isnan(net->layers[0].out[0]) && isnan(net->layers[2].out[n * net->layers[2].out_size - 1]));
    for (int i = 0; i < 4; i++) {
      REQUIRE_OK(ebm_net_layer_output(net, i, &v));
      CHECK(memcmp(plain[i], v.data, (size_t)ebm_tensor_numel(&v) * sizeof(float)) == 0);
    }
    /* the parameter backward after it, from poisoned pre-activations again */
    REQUIRE_OK(ebm_net_grad_input(net, x, NULL, n, e, dx));
    net->layers[0].out[0] = NAN;
    ebm_net_zero_grad(net);
    REQUIRE_OK(ebm_net_backward(net, de, NULL, 1));
    float *g_after = grads_copy(net, &count);
    CHECK(memcmp(g_plain, g_after, (size_t)count * sizeof(float)) == 0);
    for (int i = 0; i < 4; i++) free(plain[i]);
    free(g_plain), free(g_after), free(x), free(de), free(e), free(dx);
    ebm_net_free(net);
  }
}

/* The same for a resblock's conv1 + swish (igebm-mnist's blocks): the
 * Langevin pass keeps no conv1 pre-activation, and a parameter backward
 * after it recomputes it from the pass's input. A plain pass at another
 * input first leaves that input's pre-activation behind, so a backward
 * that read it instead would give other gradients. Down-sampling with a
 * 1×1 shortcut (3 → 5 channels), odd width, batch 7. */
static const char *one_resblock =
    "{\"input\":[3,8,6],\"layers\":[{\"type\":\"resblock\",\"name\":\"b\",\"out\":5,\"down\":true},"
    "{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";

TEST(grad_input_keeps_no_resblock_pre_activation_and_a_parameter_backward_recomputes_it) {
  const int64_t n = 7, d = 3 * 8 * 6;
  ebm_net *net = nt_build(one_resblock, n, 31);
  float *x1 = nt_inputs(net, n, 32), *x2 = nt_inputs(net, n, 33);
  float *de = malloc((size_t)n * sizeof *de), *e = malloc((size_t)n * sizeof *e);
  float *dx = malloc((size_t)(n * d) * sizeof *dx);
  REQUIRE(de && e && dx);
  for (int64_t i = 0; i < n; i++) de[i] = 0.25f + (float)i;
  int64_t count;
  REQUIRE_OK(ebm_net_forward(net, x1, NULL, n, NULL));
  ebm_net_zero_grad(net);
  REQUIRE_OK(ebm_net_backward(net, de, NULL, 1));
  float *g_plain = grads_copy(net, &count);
  REQUIRE_OK(ebm_net_forward(net, x2, NULL, n, NULL));
  REQUIRE_OK(ebm_net_grad_input(net, x1, NULL, n, e, dx));
  ebm_net_zero_grad(net);
  REQUIRE_OK(ebm_net_backward(net, de, NULL, 1));
  float *g_after = grads_copy(net, &count);
  CHECK(memcmp(g_plain, g_after, (size_t)count * sizeof(float)) == 0);
  free(g_plain), free(g_after), free(x1), free(x2), free(de), free(e), free(dx);
  ebm_net_free(net);
}
