/* conv3d (src/ops/conv3d_cpu.c, src/nn/layer_conv3d.c): the kernels
 * against a reference computed here in double, and every pass of networks
 * made of it against finite differences in double (nn_testutil.c).
 * PyTorch parity is in test_torch_parity.c (video-energy). */
#include "nn/nn_testutil.h"
#include "ops/conv3d.h"

/* y = conv3d(x, w) + b in double, straight from the definition. */
static double ref_out(const ebm_conv3d_shape *s, const float *x, const float *w, const float *b,
                      int64_t n, int64_t o, int64_t od, int64_t oh, int64_t ow) {
  double acc = b ? b[o] : 0;
  for (int64_t c = 0; c < s->c_in; c++)
    for (int64_t kd = 0; kd < s->kd; kd++)
      for (int64_t kh = 0; kh < s->k; kh++)
        for (int64_t kw = 0; kw < s->k; kw++) {
          int64_t id = od * s->sd - s->pd + kd, ih = oh * s->stride - s->pad + kh,
                  iw = ow * s->stride - s->pad + kw;
          if (id < 0 || ih < 0 || iw < 0 || id >= s->d_in || ih >= s->h_in || iw >= s->w_in) continue;
          acc += (double)w[(((o * s->c_in + c) * s->kd + kd) * s->k + kh) * s->k + kw] *
                 x[(((n * s->c_in + c) * s->d_in + id) * s->h_in + ih) * s->w_in + iw];
        }
  return acc;
}

static float *uniform(int64_t count, uint64_t seed) {
  float *p = malloc((size_t)count * sizeof *p);
  REQUIRE(p);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  ebm_rng_uniform(&rng, p, count, -1.0f, 1.0f);
  return p;
}

/* Forward against the double reference; the two gradients against the
 * adjoint identities ⟨dy, conv(x)⟩ = ⟨conv*(dy), x⟩ (input) and
 * Σ dy·y = Σ_w dw·w + Σ_b db·b (weights: y is linear in w and b), each
 * summed in double from the reference. */
static void check_kernels(ebm_conv3d_shape s) {
  REQUIRE(ebm_conv3d_shape_finish(&s) == 0);
  const int64_t kk = s.kd * s.k * s.k, nx = s.n * s.c_in * s.d_in * s.h_in * s.w_in,
                ny = s.n * s.c_out * s.d_out * s.h_out * s.w_out, nw = s.c_out * s.c_in * kk;
  float *x = uniform(nx, 1), *w = uniform(nw, 2), *b = uniform(s.c_out, 3), *dy = uniform(ny, 4);
  float *y = malloc((size_t)ny * sizeof *y), *dx = malloc((size_t)nx * sizeof *dx);
  float *dw = calloc((size_t)nw, sizeof *dw), *db = calloc((size_t)s.c_out, sizeof *db);
  float *ws = malloc(ebm_conv3d_workspace(&s) * sizeof *ws);
  REQUIRE(y && dx && dw && db && ws);
  ebm_conv3d_forward(&s, x, w, b, y, ws);
  double worst = 0, dy_y = 0, dy_y_nobias = 0;
  int64_t i = 0;
  for (int64_t n = 0; n < s.n; n++)
    for (int64_t o = 0; o < s.c_out; o++)
      for (int64_t od = 0; od < s.d_out; od++)
        for (int64_t oh = 0; oh < s.h_out; oh++)
          for (int64_t ow = 0; ow < s.w_out; ow++, i++) {
            double r = ref_out(&s, x, w, b, n, o, od, oh, ow);
            worst = fmax(worst, fabs(y[i] - r) / (1 + fabs(r)));
            dy_y += dy[i] * r;
            dy_y_nobias += dy[i] * (r - b[o]);
          }
  CHECK(worst < 1e-5);
  ebm_conv3d_backward_input(&s, dy, w, dx, ws);
  double dx_x = 0;
  for (int64_t j = 0; j < nx; j++) dx_x += (double)dx[j] * x[j];
  CHECK_NEAR(dx_x, dy_y_nobias, 1e-5 * (1 + fabs(dy_y_nobias)) * 10);
  ebm_conv3d_backward_weight(&s, x, dy, dw, db, ws);
  ebm_conv3d_backward_weight(&s, x, dy, dw, db, ws);  /* accumulates: twice */
  double dw_w = 0;
  for (int64_t j = 0; j < nw; j++) dw_w += (double)dw[j] * w[j];
  for (int64_t j = 0; j < s.c_out; j++) dw_w += (double)db[j] * b[j];
  CHECK_NEAR(dw_w, 2 * dy_y, 1e-5 * (1 + fabs(dy_y)) * 10);
  free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db), free(ws);
}

TEST(conv3d_kernels_match_a_double_reference_and_their_adjoints) {
  check_kernels((ebm_conv3d_shape){.n = 2, .c_in = 3, .d_in = 5, .h_in = 6, .w_in = 7, .c_out = 4,
                                   .k = 3, .stride = 1, .pad = 1});
  check_kernels((ebm_conv3d_shape){.n = 3, .c_in = 2, .d_in = 6, .h_in = 7, .w_in = 5, .c_out = 3,
                                   .k = 3, .stride = 2, .pad = 1});
  check_kernels((ebm_conv3d_shape){.n = 1, .c_in = 1, .d_in = 4, .h_in = 5, .w_in = 9, .c_out = 2,
                                   .k = 2, .stride = 2, .pad = 0});
  check_kernels((ebm_conv3d_shape){.n = 2, .c_in = 2, .d_in = 3, .h_in = 3, .w_in = 3, .c_out = 2,
                                   .k = 3, .stride = 3, .pad = 2});
}

/* The depth axis with its own kernel, stride and padding (video-st's
 * per-frame and temporal layers): kd 1 (every frame on its own), a depth
 * kernel larger and one smaller than the frame's, a depth stride other
 * than the frame's. */
TEST(conv3d_kernels_with_their_own_depth_kernel_match_the_reference) {
  check_kernels((ebm_conv3d_shape){.n = 2, .c_in = 2, .d_in = 5, .h_in = 8, .w_in = 7, .c_out = 3,
                                   .k = 4, .stride = 2, .pad = 1, .kd = 1, .sd = 1, .pd = 0});
  check_kernels((ebm_conv3d_shape){.n = 2, .c_in = 3, .d_in = 6, .h_in = 5, .w_in = 5, .c_out = 2,
                                   .k = 3, .stride = 2, .pad = 1, .kd = 3, .sd = 2, .pd = 1});
  check_kernels((ebm_conv3d_shape){.n = 1, .c_in = 2, .d_in = 7, .h_in = 4, .w_in = 6, .c_out = 2,
                                   .k = 1, .stride = 1, .pad = 0, .kd = 4, .sd = 3, .pd = 2});
  ebm_conv3d_shape s = {.n = 1, .c_in = 1, .d_in = 16, .h_in = 64, .w_in = 64, .c_out = 1,
                        .k = 4, .stride = 2, .pad = 1, .kd = 1, .sd = 1, .pd = 0};
  REQUIRE(ebm_conv3d_shape_finish(&s) == 0);
  CHECK_EQ_INT(s.d_out, 16);
  CHECK_EQ_INT(s.h_out, 32);
  s = (ebm_conv3d_shape){.n = 1, .c_in = 1, .d_in = 2, .h_in = 8, .w_in = 8, .c_out = 1, .k = 3,
                         .stride = 1, .pad = 1, .kd = 3, .sd = 1, .pd = 0};
  CHECK(ebm_conv3d_shape_finish(&s) == -1); /* 3 frames of kernel on 2 frames */
}

/* The three passes of one shape at `threads` threads into y, dx, dw, db
 * (the workspace is sized by s->slots, not by the pool). */
static void run_passes(const ebm_conv3d_shape *s, int threads, const float *x, const float *w,
                       const float *b, const float *dy, float *y, float *dx, float *dw, float *db) {
  REQUIRE_OK(ebm_threads_init(threads));
  float *ws = malloc(ebm_conv3d_workspace(s) * sizeof *ws);
  REQUIRE(ws);
  ebm_conv3d_forward(s, x, w, b, y, ws);
  ebm_conv3d_backward_input(s, dy, w, dx, ws);
  ebm_conv3d_backward_weight(s, x, dy, dw, db, ws);
  free(ws);
}

TEST(conv3d_results_are_bitwise_identical_at_1_and_2_threads) {
  for (int64_t slots = 1; slots <= 3; slots++) {
   for (int own_depth = 0; own_depth < 2; own_depth++) {
    ebm_conv3d_shape s = {.n = 5, .c_in = 3, .d_in = 6, .h_in = 7, .w_in = 9, .c_out = 4, .k = 3,
                          .stride = 2, .pad = 1, .slots = slots};
    if (own_depth) s.kd = 2, s.sd = 1, s.pd = 0; /* a temporal kernel of its own */
    REQUIRE(ebm_conv3d_shape_finish(&s) == 0);
    const int64_t nx = s.n * s.c_in * s.d_in * s.h_in * s.w_in,
                  ny = s.n * s.c_out * s.d_out * s.h_out * s.w_out, nw = s.c_out * s.c_in * s.kd * 9;
    float *x = uniform(nx, 60 + (uint64_t)slots), *w = uniform(nw, 61), *b = uniform(s.c_out, 62);
    float *dy = uniform(ny, 63), *y[2], *dx[2], *dw[2], *db[2];
    for (int t = 0; t < 2; t++) {
      y[t] = malloc((size_t)ny * sizeof(float)), dx[t] = malloc((size_t)nx * sizeof(float));
      dw[t] = calloc((size_t)nw, sizeof(float)), db[t] = calloc((size_t)s.c_out, sizeof(float));
      REQUIRE(y[t] && dx[t] && dw[t] && db[t]);
      run_passes(&s, t + 1, x, w, b, dy, y[t], dx[t], dw[t], db[t]);
    }
    CHECK(memcmp(y[0], y[1], (size_t)ny * sizeof(float)) == 0);
    CHECK(memcmp(dx[0], dx[1], (size_t)nx * sizeof(float)) == 0);
    CHECK(memcmp(dw[0], dw[1], (size_t)nw * sizeof(float)) == 0);
    CHECK(memcmp(db[0], db[1], (size_t)s.c_out * sizeof(float)) == 0);
    for (int t = 0; t < 2; t++) free(y[t]), free(dx[t]), free(dw[t]), free(db[t]);
    free(x), free(w), free(b), free(dy);
   }
  }
}

/* Every pass of small conv3d energies against finite differences in
 * double: stride 1 with padding, stride 2 without, no bias. */
TEST(conv3d_grads_match_fd) {
  static const char *const nets[] = {
      "{\"input\":[8,5,6],\"layers\":["
      "{\"type\":\"conv3d\",\"name\":\"a\",\"out\":3,\"kernel\":3,\"pad\":1,\"depth\":4},{\"type\":\"swish\"},"
      "{\"type\":\"conv3d\",\"name\":\"b\",\"out\":2,\"kernel\":2,\"stride\":2,\"depth\":4,\"bias\":false},"
      "{\"type\":\"swish\"},{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"c\",\"out\":1}]}",
      "{\"input\":[6,7,7],\"layers\":["
      "{\"type\":\"conv3d\",\"name\":\"a\",\"out\":4,\"kernel\":3,\"stride\":2,\"pad\":1,\"depth\":6},"
      "{\"type\":\"swish\"},{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"c\",\"out\":1}]}",
      /* video-st's form: per-frame (kernel_depth 1), then a temporal kernel with its own stride */
      "{\"input\":[6,8,8],\"layers\":["
      "{\"type\":\"conv3d\",\"name\":\"a\",\"out\":3,\"kernel\":4,\"stride\":2,\"pad\":1,\"depth\":6,"
      "\"kernel_depth\":1,\"stride_depth\":1,\"pad_depth\":0},{\"type\":\"swish\"},"
      "{\"type\":\"conv3d\",\"name\":\"b\",\"out\":2,\"kernel\":3,\"stride\":1,\"pad\":1,\"depth\":6,"
      "\"kernel_depth\":3,\"stride_depth\":2,\"pad_depth\":1},{\"type\":\"swish\"},"
      "{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"c\",\"out\":1}]}",
  };
  for (int i = 0; i < 3; i++) {
    ebm_net *net = nt_build(nets[i], 3, 10 + (uint64_t)i);
    nt_jitter(net, 0.3f, 20 + (uint64_t)i);
    nt_check_pass_consistency(net, 3, 30 + (uint64_t)i);
    CHECK(nt_check_input_grad(net, 3, 40 + (uint64_t)i) <= NT_FD_TOL);
    CHECK(nt_check_param_grad(net, 3, 50 + (uint64_t)i) <= NT_FD_TOL);
    ebm_net_free(net);
  }
}

TEST(conv3d_names_and_shapes_follow_pytorch) {
  ebm_net *net = nt_build("{\"input\":[10,8,8],\"layers\":[{\"type\":\"conv3d\",\"name\":\"net.0\","
                          "\"out\":4,\"kernel\":3,\"stride\":2,\"pad\":1,\"depth\":5}]}", 1, 1);
  ebm_param *w = ebm_net_param(net, 0), *b = ebm_net_param(net, 1);
  CHECK(strcmp(w->name, "net.0.weight") == 0 && strcmp(b->name, "net.0.bias") == 0);
  CHECK_EQ_INT(w->value->ndim, 5);
  int64_t want[5] = {4, 2, 3, 3, 3};
  for (int d = 0; d < 5; d++) CHECK_EQ_INT(w->value->shape[d], want[d]);
  /* C·D = 10 with D = 5: C = 2; D_out = 3, H_out = W_out = 4 */
  const int64_t *out = ebm_net_out_shape(net);
  CHECK_EQ_INT(out[0], 4 * 3);
  CHECK_EQ_INT(out[1], 4);
  CHECK_EQ_INT(out[2], 4);
  /* PyTorch's default init bound 1/sqrt(C·k³) = 1/sqrt(54) */
  float hi = 0;
  for (int64_t i = 0; i < ebm_tensor_numel(w->value); i++) hi = fmaxf(hi, fabsf(w->value->data[i]));
  CHECK(hi <= 1 / sqrtf(54.0f) && hi > 0.8f / sqrtf(54.0f));
  ebm_net_free(net);
}

/* kernel_depth etc.: the weight is [out, C, kd, k, k] as nn.Conv3d(kernel_size=(kd, k, k)) lays
 * it out, the init bound is 1/sqrt(C·kd·k²), and the keys are written back only when given. */
TEST(conv3d_depth_kernel_of_its_own_follows_pytorch_and_round_trips) {
  const char *json = "{\"input\":[16,8,8],\"layers\":[{\"type\":\"conv3d\",\"name\":\"net.0\","
                     "\"out\":4,\"kernel\":4,\"stride\":2,\"pad\":1,\"depth\":8,\"kernel_depth\":1,"
                     "\"stride_depth\":1,\"pad_depth\":0},{\"type\":\"conv3d\",\"name\":\"net.1\",\"out\":2,\"kernel\":3,"
                     "\"pad\":1,\"depth\":8,\"kernel_depth\":3,\"stride_depth\":2}]}";
  ebm_net *net = nt_build(json, 1, 1);
  ebm_param *w = ebm_net_param(net, 0), *w1 = ebm_net_param(net, 2);
  const int64_t want[5] = {4, 2, 1, 4, 4}, want1[5] = {2, 4, 3, 3, 3};
  for (int d = 0; d < 5; d++) CHECK_EQ_INT(w->value->shape[d], want[d]);
  for (int d = 0; d < 5; d++) CHECK_EQ_INT(w1->value->shape[d], want1[d]);
  /* net.0: C 2, D 8 → 8 frames of 4×4; net.1: depth (8 + 2 − 3) / 2 + 1 = 4 (pad_depth = pad) */
  const int64_t *out = ebm_net_out_shape(net);
  CHECK_EQ_INT(out[0], 2 * 4);
  CHECK_EQ_INT(out[1], 4);
  float hi = 0;
  for (int64_t i = 0; i < ebm_tensor_numel(w->value); i++) hi = fmaxf(hi, fabsf(w->value->data[i]));
  CHECK(hi <= 1 / sqrtf(32.0f) && hi > 0.8f / sqrtf(32.0f));
  const char *canon = ebm_net_arch_json(net);
  CHECK(strstr(canon, "\"kernel_depth\"") && strstr(canon, "\"pad_depth\"") && strstr(canon, "\"stride_depth\""));
  ebm_net *again = nt_build(canon, 1, 1);
  CHECK_EQ_INT(ebm_net_out_shape(again)[0], 8);
  CHECK_EQ_INT(ebm_net_param(again, 0)->value->shape[2], 1);
  CHECK_EQ_INT(ebm_net_param(again, 2)->value->shape[2], 3);
  CHECK(strcmp(ebm_net_arch_json(again), canon) == 0);
  ebm_net_free(again);
  ebm_net_free(net);
  /* a cubic conv3d's JSON has none of the three keys */
  net = nt_build("{\"input\":[10,8,8],\"layers\":[{\"type\":\"conv3d\",\"name\":\"v\",\"out\":4,"
                 "\"kernel\":3,\"pad\":1,\"depth\":5}]}", 1, 1);
  CHECK(!strstr(ebm_net_arch_json(net), "_depth"));
  ebm_net_free(net);
}

TEST(conv3d_bad_depth_or_kernel_is_named) {
  ebm_net *bad = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[10,8,8],\"layers\":[{\"type\":\"conv3d\",\"name\":\"v\","
                               "\"out\":4,\"kernel\":1,\"depth\":2,\"kernel_depth\":3,\"pad_depth\":0}]}", 1, &bad),
                   EBM_ERR_ARG, "kernel 3x1x1 does not fit a 2x8x8 input with padding 0 (depth) and 0 (height, width)");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[10,8,8],\"layers\":[{\"type\":\"conv3d\",\"name\":\"v\","
                               "\"out\":4,\"depth\":2,\"kernel_depth\":17}]}", 1, &bad),
                   EBM_ERR_ARG, "kernel_depth");
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[10,8,8],\"layers\":[{\"type\":\"conv3d\",\"name\":\"v\","
                               "\"out\":4,\"depth\":3}]}", 1, &net),
                   EBM_ERR_ARG, "'depth' 3 does not divide the input's 10 planes");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[10,8,8],\"layers\":[{\"type\":\"conv3d\",\"name\":\"v\","
                               "\"out\":4,\"kernel\":5,\"depth\":2}]}", 1, &net),
                   EBM_ERR_ARG, "kernel 5 does not fit a 2x8x8 input");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[10,8,8],\"layers\":[{\"type\":\"conv3d\",\"name\":\"v\","
                               "\"out\":4}]}", 1, &net),
                   EBM_ERR_ARG, "depth");
}
