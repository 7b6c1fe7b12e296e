/* conv_transpose3d (src/nn/layer_conv_transpose3d.c): the forward pass
 * against nn.ConvTranspose3d's definition computed here in double, every
 * pass against finite differences (nn_testutil.c), PyTorch's names,
 * shapes and init bound, and the errors a user can see. PyTorch parity is
 * in test_torch_parity.c (voxel-decoder). */
#include "nn/nn_testutil.h"

/* nn.ConvTranspose3d by its definition: every input voxel scatters
 * x[c,i,j,l]·W[c,o,a,b,e] to output (i·s − p + a, j·s − p + b, l·s − p + e). */
static void check_forward(int64_t cin, int64_t d, int64_t h, int64_t w, int64_t cout, int64_t k,
                          int64_t s, int64_t p, int64_t op) {
  char json[512];
  snprintf(json, sizeof json,
           "{\"input\":[%lld,%lld,%lld],\"layers\":[{\"type\":\"conv_transpose3d\",\"name\":\"t\","
           "\"out\":%lld,\"kernel\":%lld,\"stride\":%lld,\"pad\":%lld,\"output_pad\":%lld,\"depth\":%lld}]}",
           (long long)(cin * d), (long long)h, (long long)w, (long long)cout, (long long)k, (long long)s,
           (long long)p, (long long)op, (long long)d);
  const int64_t n = 2;
  ebm_net *net = nt_build(json, n, 3);
  const int64_t dd = (d - 1) * s - 2 * p + k + op, ho = (h - 1) * s - 2 * p + k + op,
                wo = (w - 1) * s - 2 * p + k + op, vol = dd * ho * wo;
  CHECK_EQ_INT(ebm_net_out_shape(net)[0], cout * dd);
  CHECK_EQ_INT(ebm_net_out_shape(net)[1], ho);
  CHECK_EQ_INT(ebm_net_out_shape(net)[2], wo);
  const float *wt = ebm_net_param(net, 0)->value->data, *b = ebm_net_param(net, 1)->value->data;
  float *x = nt_inputs(net, n, 5), *y = malloc((size_t)(n * cout * vol) * sizeof *y);
  double *ref = calloc((size_t)(n * cout * vol), sizeof *ref);
  REQUIRE(y && ref);
  REQUIRE_OK(ebm_net_forward(net, x, NULL, n, y));
  for (int64_t i = 0; i < n; i++)
    for (int64_t o = 0; o < cout; o++)
      for (int64_t q = 0; q < vol; q++) ref[(i * cout + o) * vol + q] = b[o];
  for (int64_t i = 0; i < n; i++)
    for (int64_t c = 0; c < cin; c++)
      for (int64_t z = 0; z < d; z++)
        for (int64_t r = 0; r < h; r++)
          for (int64_t t = 0; t < w; t++)
            for (int64_t o = 0; o < cout; o++)
              for (int64_t a = 0; a < k; a++)
                for (int64_t bb = 0; bb < k; bb++)
                  for (int64_t e = 0; e < k; e++) {
                    int64_t yz = z * s - p + a, yr = r * s - p + bb, yc = t * s - p + e;
                    if (yz < 0 || yz >= dd || yr < 0 || yr >= ho || yc < 0 || yc >= wo) continue;
                    ref[(((i * cout + o) * dd + yz) * ho + yr) * wo + yc] +=
                        (double)x[(((i * cin + c) * d + z) * h + r) * w + t] *
                        wt[(((c * cout + o) * k + a) * k + bb) * k + e];
                  }
  double worst = 0;
  for (int64_t j = 0; j < n * cout * vol; j++) worst = fmax(worst, fabs(y[j] - ref[j]) / (1 + fabs(ref[j])));
  CHECK(worst < 1e-5);
  free(ref), free(y);
  ebm_free(x);
  ebm_net_free(net);
}

TEST(conv_transpose3d_forward_matches_its_definition) {
  check_forward(2, 3, 4, 5, 3, 3, 2, 1, 1); /* doubles every axis */
  check_forward(3, 2, 2, 3, 2, 4, 2, 1, 0); /* the DCGAN block, in 3-D */
  check_forward(1, 3, 3, 2, 2, 3, 1, 0, 0);
  check_forward(2, 2, 3, 2, 1, 2, 3, 0, 2);
}

/* Every pass against finite differences in double: as an energy (into a
 * conv3d, global sum, linear) and as a vector output (a generator's last
 * layer). */
TEST(conv_transpose3d_grads_match_fd) {
  static const char *const nets[] = {
      "{\"input\":[6,3,4],\"layers\":["
      "{\"type\":\"conv_transpose3d\",\"name\":\"t\",\"out\":3,\"kernel\":3,\"stride\":2,\"pad\":1,"
      "\"output_pad\":1,\"depth\":2},{\"type\":\"swish\"},"
      "{\"type\":\"conv3d\",\"name\":\"c\",\"out\":2,\"kernel\":3,\"stride\":2,\"pad\":1,\"depth\":4},"
      "{\"type\":\"swish\"},{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}",
      "{\"input\":[4,2,3],\"layers\":["
      "{\"type\":\"conv_transpose3d\",\"name\":\"t\",\"out\":2,\"kernel\":2,\"stride\":2,\"depth\":2,"
      "\"bias\":false},{\"type\":\"tanh\"}]}",
  };
  for (int i = 0; i < 2; i++) {
    ebm_net *net = nt_build(nets[i], 3, 70 + (uint64_t)i);
    nt_jitter(net, 0.3f, 80 + (uint64_t)i);
    if (ebm_net_out_size(net) == 1) {
      nt_check_pass_consistency(net, 3, 90);
      CHECK(nt_check_input_grad(net, 3, 91) <= NT_FD_TOL);
      CHECK(nt_check_param_grad(net, 3, 92) <= NT_FD_TOL);
    }
    CHECK(nt_check_output_input_grad(net, 3, 93) <= NT_FD_TOL);
    CHECK(nt_check_output_param_grad(net, 3, 94) <= NT_FD_TOL);
    ebm_net_free(net);
  }
}

TEST(conv_transpose3d_names_shapes_and_init_follow_pytorch) {
  ebm_net *net = nt_build("{\"input\":[8,3,3],\"layers\":[{\"type\":\"conv_transpose3d\",\"name\":"
                          "\"net.0\",\"out\":5,\"kernel\":4,\"stride\":2,\"pad\":1,\"depth\":2}]}", 1, 1);
  ebm_param *w = ebm_net_param(net, 0), *b = ebm_net_param(net, 1);
  CHECK(strcmp(w->name, "net.0.weight") == 0 && strcmp(b->name, "net.0.bias") == 0);
  int64_t want[5] = {4, 5, 4, 4, 4}; /* [C_in, out, k, k, k]: C·D = 8 with D = 2 */
  CHECK_EQ_INT(w->value->ndim, 5);
  for (int d = 0; d < 5; d++) CHECK_EQ_INT(w->value->shape[d], want[d]);
  const int64_t *out = ebm_net_out_shape(net); /* (2 − 1)·2 − 2 + 4 = 4; (3 − 1)·2 − 2 + 4 = 6 */
  CHECK_EQ_INT(out[0], 5 * 4);
  CHECK_EQ_INT(out[1], 6);
  CHECK_EQ_INT(out[2], 6);
  /* PyTorch's fan_in is weight.size(1)·k³ = 5·64 */
  float hi = 0;
  for (int64_t i = 0; i < ebm_tensor_numel(w->value); i++) hi = fmaxf(hi, fabsf(w->value->data[i]));
  CHECK(hi <= 1 / sqrtf(320.0f) && hi > 0.8f / sqrtf(320.0f));
  ebm_net_free(net);
}

TEST(conv_transpose3d_bad_output_pad_or_depth_is_named) {
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[4,3,3],\"layers\":[{\"type\":\"conv_transpose3d\",\"name\":"
                               "\"t\",\"out\":1,\"stride\":2,\"output_pad\":2,\"depth\":2}]}", 2, &net),
                   EBM_ERR_ARG, "'output_pad' 2 must be smaller than 'stride' 2");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[4,3,3],\"layers\":[{\"type\":\"conv_transpose3d\",\"name\":"
                               "\"t\",\"out\":1,\"depth\":3}]}", 2, &net),
                   EBM_ERR_ARG, "'depth' 3 does not divide the input's 4 planes");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[2,1,1],\"layers\":[{\"type\":\"conv_transpose3d\",\"name\":"
                               "\"t\",\"out\":1,\"kernel\":1,\"pad\":1,\"depth\":2}]}", 2, &net),
                   EBM_ERR_ARG, "padding 1 leaves no output of a 2x1x1 input");
}
