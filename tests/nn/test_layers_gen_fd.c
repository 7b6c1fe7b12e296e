/* The layers for classifiers, generators and noise-conditioned energies:
 * each forward pass against a reference computed here in double, and
 * every pass against finite differences (nn_testutil.c) — through the
 * energy passes inside a small energy network, and through
 * ebm_net_forward / ebm_net_backward on vector outputs. */
#include "nn/nn_testutil.h"

/* FD checks through both APIs; the energy ones when K = 1. */
static void check_fd(const char *json, int64_t n, uint64_t seed, double step, int training) {
  nt_fd_step = step;
  ebm_net *net = nt_build(json, n, seed);
  nt_jitter(net, 0.3f, seed + 11);
  ebm_net_set_training(net, training);
  /* In train mode batch norm couples the items, so grad_input's Σ_j dE_j/dx_i
   * is no longer the per-item gradient the energy check weights: only the
   * vector checks (dout = w) apply there. */
  if (ebm_net_out_size(net) == 1 && !training) {
    nt_check_pass_consistency(net, n, seed);
    nt_check_input_grad(net, n, seed);
    nt_check_param_grad(net, n, seed);
  }
  nt_check_output_input_grad(net, n, seed);
  nt_check_output_param_grad(net, n, seed);
  ebm_net_free(net);
}

/* out = forward(x) of a freshly built network, x U(-1, 1) from `seed`. */
static float *forward_of(ebm_net *net, int64_t n, const ebm_cond *cond, float **x_out) {
  float *x = nt_inputs(net, n, 5);
  float *out = malloc((size_t)(n * ebm_net_out_size(net)) * sizeof *out);
  REQUIRE(out != NULL);
  REQUIRE_OK(ebm_net_forward(net, x, cond, n, out));
  *x_out = x;
  return out;
}

TEST(tanh_sigmoid_relu_forward_match_libm_and_grads_match_fd) {
  static const char *const types[] = {"tanh", "sigmoid", "relu"};
  for (int t = 0; t < 3; t++) {
    char json[256];
    snprintf(json, sizeof json, "{\"input\":[7],\"layers\":[{\"type\":\"%s\"}]}", types[t]);
    ebm_net *net = nt_build(json, 3, 1);
    float *x, *y = forward_of(net, 3, NULL, &x);
    for (int i = 0; i < 21; i++) {
      double v = x[i], ref = t == 0 ? tanh(v) : t == 1 ? 1 / (1 + exp(-v)) : (v > 0 ? v : 0);
      CHECK_NEAR(y[i], ref, 1e-6);
    }
    ebm_free(x);
    free(y);
    ebm_net_free(net);
    snprintf(json, sizeof json,
             "{\"input\":[4],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":6},"
             "{\"type\":\"%s\"},{\"type\":\"linear\",\"name\":\"b\",\"out\":1}]}", types[t]);
    check_fd(json, 4, 100 + (uint64_t)t, t == 2 ? 2e-3 : 2e-2, 0);
  }
}

TEST(reshape_is_a_view_and_upsample_repeats_pixels) {
  ebm_net *net = nt_build("{\"input\":[12],\"layers\":[{\"type\":\"reshape\",\"shape\":[3,2,2]},"
                          "{\"type\":\"upsample\",\"scale\":3}]}", 2, 1);
  CHECK_EQ_INT(ebm_net_out_ndim(net), 3);
  CHECK_EQ_INT(ebm_net_out_shape(net)[1], 6);
  float *x, *y = forward_of(net, 2, NULL, &x);
  for (int i = 0; i < 2; i++)
    for (int c = 0; c < 3; c++)
      for (int h = 0; h < 6; h++)
        for (int w = 0; w < 6; w++)
          CHECK(y[((i * 3 + c) * 6 + h) * 6 + w] == x[i * 12 + c * 4 + (h / 3) * 2 + w / 3]);
  ebm_free(x);
  free(y);
  ebm_net_free(net);
  check_fd("{\"input\":[6],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":8},"
           "{\"type\":\"reshape\",\"shape\":[2,2,2]},{\"type\":\"upsample\",\"scale\":2},"
           "{\"type\":\"conv2d\",\"name\":\"c\",\"out\":2,\"pad\":1},{\"type\":\"flatten\"},"
           "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 3, 200, 2e-2, 0);
}

/* nn.ConvTranspose2d by its definition: every input pixel scatters
 * x[c,i,j]·W[c,o,a,b] to output (i·s − p + a, j·s − p + b). */
static void check_conv_transpose_forward(int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t k,
                                         int64_t s, int64_t p, int64_t op) {
  char json[512];
  snprintf(json, sizeof json,
           "{\"input\":[%lld,%lld,%lld],\"layers\":[{\"type\":\"conv_transpose2d\",\"name\":\"t\","
           "\"out\":%lld,\"kernel\":%lld,\"stride\":%lld,\"pad\":%lld,\"output_pad\":%lld}]}",
           (long long)cin, (long long)h, (long long)w, (long long)cout, (long long)k, (long long)s,
           (long long)p, (long long)op);
  ebm_net *net = nt_build(json, 2, 3);
  const int64_t ho = (h - 1) * s - 2 * p + k + op, wo = (w - 1) * s - 2 * p + k + op;
  CHECK_EQ_INT(ebm_net_out_shape(net)[1], ho);
  CHECK_EQ_INT(ebm_net_out_shape(net)[2], wo);
  const float *wt = ebm_net_param(net, 0)->value->data, *b = ebm_net_param(net, 1)->value->data;
  CHECK_EQ_INT(ebm_net_param(net, 0)->value->shape[0], cin);
  CHECK_EQ_INT(ebm_net_param(net, 0)->value->shape[1], cout);
  float *x, *y = forward_of(net, 2, NULL, &x);
  double *ref = calloc((size_t)(2 * cout * ho * wo), sizeof *ref);
  REQUIRE(ref != NULL);
  for (int64_t i = 0; i < 2; i++)
    for (int64_t o = 0; o < cout; o++)
      for (int64_t q = 0; q < ho * wo; q++) ref[(i * cout + o) * ho * wo + q] = b[o];
  for (int64_t i = 0; i < 2; i++)
    for (int64_t c = 0; c < cin; c++)
      for (int64_t r = 0; r < h; r++)
        for (int64_t t = 0; t < w; t++)
          for (int64_t o = 0; o < cout; o++)
            for (int64_t a = 0; a < k; a++)
              for (int64_t bb = 0; bb < k; bb++) {
                int64_t yr = r * s - p + a, yc = t * s - p + bb;
                if (yr < 0 || yr >= ho || yc < 0 || yc >= wo) continue;
                ref[((i * cout + o) * ho + yr) * wo + yc] +=
                    (double)x[((i * cin + c) * h + r) * w + t] * wt[((c * cout + o) * k + a) * k + bb];
              }
  for (int64_t j = 0; j < 2 * cout * ho * wo; j++) CHECK_NEAR(y[j], ref[j], 1e-5 * (1 + fabs(ref[j])));
  free(ref);
  ebm_free(x);
  free(y);
  ebm_net_free(net);
}

TEST(conv_transpose2d_forward_matches_its_definition_and_grads_match_fd) {
  check_conv_transpose_forward(3, 4, 5, 2, 4, 2, 1, 0); /* the DCGAN up-sampling block */
  check_conv_transpose_forward(2, 3, 3, 3, 3, 2, 1, 1);
  check_conv_transpose_forward(2, 5, 4, 2, 3, 1, 0, 0);
  check_conv_transpose_forward(1, 2, 3, 2, 5, 3, 2, 2);
  check_fd("{\"input\":[3,4,3],\"layers\":[{\"type\":\"conv_transpose2d\",\"name\":\"t\",\"out\":2,"
           "\"kernel\":4,\"stride\":2,\"pad\":1},{\"type\":\"flatten\"},"
           "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 3, 300, 2e-2, 0);
  check_fd("{\"input\":[2,3,3],\"layers\":[{\"type\":\"conv_transpose2d\",\"name\":\"t\",\"out\":3,"
           "\"kernel\":3,\"stride\":2,\"pad\":1,\"output_pad\":1,\"bias\":false},{\"type\":\"tanh\"}]}",
           2, 301, 2e-2, 0);
}

TEST(conv_transpose2d_rejects_output_pad_not_below_stride) {
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[1,3,3],\"layers\":[{\"type\":\"conv_transpose2d\",\"name\":"
                               "\"t\",\"out\":1,\"stride\":2,\"output_pad\":2}]}", 2, &net),
                   EBM_ERR_ARG, "'output_pad' 2 must be smaller than 'stride' 2");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[12],\"layers\":[{\"type\":\"reshape\",\"shape\":[5,2,2]}]}",
                               2, &net),
                   EBM_ERR_ARG, "cannot reshape [12] (12 values) to [5,2,2]");
}

TEST(batchnorm2d_train_mode_normalises_and_updates_running_stats) {
  ebm_net *net = nt_build("{\"input\":[2,3,3],\"layers\":[{\"type\":\"batchnorm2d\",\"name\":\"bn\"}]}",
                          4, 1);
  nt_jitter(net, 0.3f, 2); /* weight ≠ 1, bias ≠ 0 */
  ebm_net_set_training(net, 1);
  const float *g = ebm_net_param(net, 0)->value->data, *b = ebm_net_param(net, 1)->value->data;
  float *x, *y = forward_of(net, 4, NULL, &x);
  const char *name;
  ebm_tensor rm, rv, nb;
  REQUIRE_OK(ebm_net_buffer(net, 0, &name, &rm));
  CHECK(strcmp(name, "bn.running_mean") == 0);
  REQUIRE_OK(ebm_net_buffer(net, 1, &name, &rv));
  REQUIRE_OK(ebm_net_buffer(net, 2, &name, &nb));
  CHECK(strcmp(name, "bn.num_batches_tracked") == 0);
  CHECK_EQ_INT(nb.ndim, 0);
  CHECK(nb.data[0] == 1.0f);
  for (int c = 0; c < 2; c++) {
    double s = 0, ss = 0, ys = 0, yss = 0;
    for (int i = 0; i < 4; i++)
      for (int q = 0; q < 9; q++) {
        double v = x[(i * 2 + c) * 9 + q], u = y[(i * 2 + c) * 9 + q];
        s += v, ss += v * v, ys += u, yss += u * u;
      }
    double mean = s / 36, var = ss / 36 - mean * mean, ymean = ys / 36, yvar = yss / 36 - ymean * ymean;
    CHECK_NEAR(ymean, b[c], 1e-5);
    CHECK_NEAR(yvar, (double)g[c] * g[c] * var / (var + 1e-5), 1e-4);
    CHECK_NEAR(rm.data[c], 0.1 * mean, 1e-6);
    CHECK_NEAR(rv.data[c], 0.9 + 0.1 * var * 36.0 / 35.0, 1e-6);
  }
  /* Eval mode: the running statistics, and no update. */
  ebm_net_set_training(net, 0);
  float y2[72];
  REQUIRE_OK(ebm_net_forward(net, x, NULL, 4, y2));
  for (int j = 0; j < 72; j++) {
    int c = (j / 9) % 2;
    CHECK_NEAR(y2[j], (x[j] - rm.data[c]) / sqrt(rv.data[c] + 1e-5) * g[c] + b[c], 1e-5);
  }
  CHECK(nb.data[0] == 1.0f);
  ebm_free(x);
  free(y);
  ebm_net_free(net);
}

TEST(batchnorm2d_grads_match_fd_in_train_and_eval_mode) {
  static const char *const json =
      "{\"input\":[2,3,4],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":3,\"pad\":1},"
      "{\"type\":\"batchnorm2d\",\"name\":\"bn\"},{\"type\":\"swish\"},{\"type\":\"flatten\"},"
      "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}";
  check_fd(json, 4, 400, 2e-2, 1);
  check_fd(json, 4, 401, 2e-2, 0);
}

/* Glow's actnorm: y = x·exp(logs[c]) + bias[c], per channel of images and
 * per feature of vectors. */
TEST(actnorm_forward_matches_its_formula_and_grads_match_fd) {
  ebm_net *net = nt_build("{\"input\":[2,2,3],\"layers\":[{\"type\":\"actnorm\",\"name\":\"a\"}]}", 2, 1);
  nt_jitter(net, 3.0f, 9); /* zero params become N(0, 0.3²) */
  const float *bias = ebm_net_param(net, 0)->value->data, *logs = ebm_net_param(net, 1)->value->data;
  CHECK_EQ_STR(ebm_net_param(net, 0)->name, "a.bias");
  CHECK_EQ_STR(ebm_net_param(net, 1)->name, "a.logs");
  CHECK(fabs(logs[0]) > 1e-3 && fabs(logs[1]) > 1e-3);
  float *x, *y = forward_of(net, 2, NULL, &x);
  for (int i = 0; i < 2; i++)
    for (int c = 0; c < 2; c++)
      for (int p = 0; p < 6; p++) {
        const int k = (i * 2 + c) * 6 + p;
        CHECK_NEAR(y[k], x[k] * exp(logs[c]) + bias[c], 1e-6);
      }
  ebm_free(x);
  free(y);
  ebm_net_free(net);
  check_fd("{\"input\":[2,3,4],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":3,\"pad\":1},"
           "{\"type\":\"actnorm\",\"name\":\"an\"},{\"type\":\"swish\"},{\"type\":\"flatten\"},"
           "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 3, 450, 2e-2, 0);
  check_fd("{\"input\":[3],\"layers\":[{\"type\":\"actnorm\",\"name\":\"an\"},{\"type\":\"swish\"},"
           "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 4, 451, 2e-2, 0);
}

TEST(logsumexp_and_select_heads_match_their_formulas_and_fd) {
  ebm_net *lse = nt_build("{\"input\":[5],\"layers\":[{\"type\":\"logsumexp\"}]}", 3, 1);
  ebm_net *sel = nt_build("{\"input\":[5],\"classes\":5,\"layers\":[{\"type\":\"select\"}]}", 3, 1);
  int32_t y[3] = {4, 0, 2};
  ebm_cond cond = ebm_cond_labels(y);
  float *x, *e = forward_of(lse, 3, NULL, &x), es[3];
  REQUIRE_OK(ebm_net_forward(sel, x, &cond, 3, es));
  for (int i = 0; i < 3; i++) {
    double s = 0;
    for (int k = 0; k < 5; k++) s += exp(x[i * 5 + k]);
    CHECK_NEAR(e[i], -log(s), 1e-6);
    CHECK(es[i] == -x[i * 5 + y[i]]);
  }
  ebm_free(x);
  free(e);
  ebm_net_free(lse);
  ebm_net_free(sel);
  check_fd("{\"input\":[4],\"layers\":[{\"type\":\"linear\",\"name\":\"f\",\"out\":6},"
           "{\"type\":\"logsumexp\"}]}", 4, 500, 2e-2, 0);
  check_fd("{\"input\":[4],\"classes\":6,\"layers\":[{\"type\":\"linear\",\"name\":\"f\",\"out\":6},"
           "{\"type\":\"select\"}]}", 4, 501, 2e-2, 0);
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[4],\"classes\":3,\"layers\":[{\"type\":\"select\"}]}", 2, &net),
                   EBM_ERR_ARG, "\"classes\" must be 4 (it is 3)");
}

TEST(cond_affine_grads_match_fd_by_class_by_sigma_and_both) {
  check_fd("{\"input\":[2,3,3],\"classes\":3,\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":3,"
           "\"pad\":1},{\"type\":\"cond_affine\",\"name\":\"k\",\"class\":true,\"sigma\":false},"
           "{\"type\":\"swish\"},{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}",
           3, 600, 2e-2, 0);
  check_fd("{\"input\":[2,3,3],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":3,\"pad\":1},"
           "{\"type\":\"cond_affine\",\"name\":\"k\",\"frequencies\":3},{\"type\":\"swish\"},"
           "{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 3, 601, 2e-2, 0);
  check_fd("{\"input\":[5],\"classes\":2,\"layers\":[{\"type\":\"cond_affine\",\"name\":\"k\","
           "\"class\":true},{\"type\":\"linear\",\"name\":\"l\",\"out\":3}]}", 4, 602, 2e-2, 0);
}

TEST(noise_conditioned_networks_require_sigma_and_say_so) {
  ebm_net *net = nt_build("{\"input\":[3],\"layers\":[{\"type\":\"cond_affine\",\"name\":\"k\"},"
                          "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 2, 1);
  CHECK(ebm_net_needs_sigma(net));
  CHECK(!ebm_net_needs_labels(net));
  float x[6] = {0}, e[2], bad[2] = {0.5f, -1.0f}, ok[2] = {0.5f, 2.0f};
  ebm_cond none = {0}, neg = {NULL, bad}, good = {NULL, ok};
  CHECK_FAILS_WITH(ebm_net_forward(net, x, &none, 2, e), EBM_ERR_ARG, "noise levels (sigma) are required");
  CHECK_FAILS_WITH(ebm_net_forward(net, x, &neg, 2, e), EBM_ERR_ARG, "noise level -1 of item 1");
  CHECK_OK(ebm_net_forward(net, x, &good, 2, e));
  ebm_net_free(net);
  ebm_net *plain = nt_build("{\"preset\":\"mlp\"}", 2, 1);
  CHECK_FAILS_WITH(ebm_net_forward(plain, x, &good, 2, e), EBM_ERR_ARG, "without noise conditioning");
  ebm_net_free(plain);
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[3],\"layers\":[{\"type\":\"cond_affine\",\"name\":\"k\","
                               "\"sigma\":false}]}", 2, &net), EBM_ERR_ARG, "conditions on nothing");
}

/* Whole networks with vector outputs: the backward pass from an n×K
 * output gradient against FD of Σ w·out. */
TEST(classifier_with_ten_logits_backward_matches_fd) {
  check_fd("{\"input\":[1,8,8],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c1\",\"out\":4,\"stride\":2,"
           "\"pad\":1},{\"type\":\"swish\"},{\"type\":\"conv2d\",\"name\":\"c2\",\"out\":6,\"stride\":2,"
           "\"pad\":1},{\"type\":\"swish\"},{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"fc\","
           "\"out\":10}]}", 3, 700, 2e-2, 0);
}

/* The DCGAN generator shape, z [64] → 1×28×28: linear, reshape,
 * batchnorm2d, conv_transpose2d ×2, tanh. With ReLU the network is
 * piecewise linear and batch norm puts many pre-activations next to the
 * kink, so a step of 2e-2 crosses some; the full-size network is checked
 * with swish in the ReLU slots, and a narrow one with the ReLUs at a step
 * of 2e-4 (between kinks the difference is exact). */
#define DCGAN(act, width, fc)                                                                     \
  "{\"input\":[64],\"layers\":[{\"type\":\"linear\",\"name\":\"fc\",\"out\":" #fc "},"          \
  "{\"type\":\"reshape\",\"shape\":[" #width ",7,7]},"                                             \
  "{\"type\":\"batchnorm2d\",\"name\":\"bn0\"},{\"type\":\"" act "\"},"                              \
  "{\"type\":\"conv_transpose2d\",\"name\":\"up1\",\"out\":4,\"kernel\":4,\"stride\":2,\"pad\":1},"    \
  "{\"type\":\"batchnorm2d\",\"name\":\"bn1\"},{\"type\":\"" act "\"},"                              \
  "{\"type\":\"conv_transpose2d\",\"name\":\"up2\",\"out\":1,\"kernel\":4,\"stride\":2,\"pad\":1},"    \
  "{\"type\":\"tanh\"}]}"

TEST(dcgan_generator_backward_matches_fd_in_both_modes) {
  ebm_net *net = nt_build(DCGAN("relu", 8, 392), 2, 1);
  CHECK_EQ_INT(ebm_net_out_ndim(net), 3);
  CHECK_EQ_INT(ebm_net_out_size(net), 784); /* 1×28×28 */
  ebm_net_free(net);
  check_fd(DCGAN("swish", 8, 392), 3, 800, 2e-2, 1);
  check_fd(DCGAN("swish", 8, 392), 3, 801, 2e-2, 0);
  check_fd(DCGAN("relu", 2, 98), 2, 802, 2e-4, 1);
  check_fd(DCGAN("relu", 2, 98), 2, 803, 2e-4, 0);
}

TEST(noise_conditioned_energy_backward_matches_fd) {
  check_fd("{\"input\":[1,6,6],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":4,\"pad\":1},"
           "{\"type\":\"cond_affine\",\"name\":\"s\"},{\"type\":\"swish\"},{\"type\":\"global_sum_pool\"},"
           "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 3, 900, 2e-2, 0);
}

/* A batchnorm checkpoint: num_batches_tracked is an I64 scalar (what
 * PyTorch's state_dict holds); save → load → save gives the same bytes. */
TEST(batchnorm_checkpoint_round_trips_byte_exactly_with_an_i64_counter) {
  ebm_net *net = nt_build("{\"input\":[2,2,2],\"layers\":[{\"type\":\"batchnorm2d\",\"name\":\"bn\"}]}",
                          3, 1);
  ebm_net_set_training(net, 1);
  float *x, *y = forward_of(net, 3, NULL, &x);
  REQUIRE_OK(ebm_net_forward(net, x, NULL, 3, y));
  char a[512], b[512];
  snprintf(a, sizeof a, "%s", test_path("bn_a.safetensors"));
  snprintf(b, sizeof b, "%s", test_path("bn_b.safetensors"));
  REQUIRE_OK(ebm_net_save(net, a, 0, NULL, NULL));
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(a, &st));
  const ebm_st_tensor *t = ebm_safetensors_find(st, "bn.num_batches_tracked");
  REQUIRE(t != NULL);
  CHECK(t->dtype == EBM_DTYPE_I64 && t->ndim == 0);
  int64_t count;
  memcpy(&count, t->data, sizeof count);
  CHECK_EQ_INT(count, 2);
  ebm_safetensors_free(st);
  ebm_net *back = NULL;
  REQUIRE_OK(ebm_net_load(a, 3, &back));
  REQUIRE_OK(ebm_net_save(back, b, 0, NULL, NULL));
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  REQUIRE(fa && fb);
  int same = 1, ca, cb;
  do {
    ca = fgetc(fa), cb = fgetc(fb);
    same &= ca == cb;
  } while (ca != EOF && cb != EOF);
  CHECK(same);
  fclose(fa);
  fclose(fb);
  remove(a);
  remove(b);
  ebm_free(x);
  free(y);
  ebm_net_free(net);
  ebm_net_free(back);
}
