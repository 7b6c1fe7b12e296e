/* Architecture JSON, presets and network building: names, shapes, counts
 * and the error messages a user sees. */
#include "nn/nn_testutil.h"

static void expect_arch_error(const char *json, const char *needle) {
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_new(json, 2, &net), EBM_ERR_ARG, needle);
  CHECK(net == NULL);
}

TEST(arch_errors_name_the_layer_and_the_problem) {
  expect_arch_error("[1,2]", "not a JSON object");
  expect_arch_error("{\"input\":[2],\"layers\":[{\"type\":\"conv4d\"}]}", "layer 0: unknown type 'conv4d'");
  expect_arch_error("{\"input\":[2],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":1,\"kernal\":3}]}",
                    "layer 0 (linear): unknown key 'kernal'");
  expect_arch_error("{\"input\":[2],\"layers\":[{\"type\":\"linear\",\"name\":\"a\"}]}",
                    "layer 0 (linear) needs 'out'");
  expect_arch_error("{\"input\":[2],\"layers\":[{\"type\":\"linear\",\"out\":1}]}",
                    "layer 0 (linear) needs a 'name'");
  expect_arch_error("{\"input\":[2],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":1,\"kernel\":3}]}",
                    "layer 0 (linear) does not take 'kernel'");
  expect_arch_error("{\"input\":[1,4,4],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":1,\"kernel\":7}]}",
                    "kernel 7 does not fit a 4x4 input");
  expect_arch_error("{\"input\":[1,4,4],\"layers\":[{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}",
                    "add a flatten or global_sum_pool layer");
  expect_arch_error("{\"input\":[3],\"layers\":[{\"type\":\"class_affine\",\"name\":\"k\"},"
                    "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", "needs \"classes\" > 0");
  expect_arch_error("{\"input\":[3],\"layers\":[{\"type\":\"linear\",\"name\":\"l\",\"out\":3},"
                    "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", "share the name 'l'");
  expect_arch_error("{\"input\":[1,1,1],\"layers\":[{\"type\":\"resblock\",\"name\":\"b\",\"out\":1,"
                    "\"down\":true}]}", "cannot down-sample a 1x1 input");
  expect_arch_error("{\"input\":[0],\"layers\":[]}", "'input' entries must be positive");
  expect_arch_error("{\"preset\":\"resnet\"}", "unknown architecture preset 'resnet'");
  /* an unknown name is named as unknown before any of its options is judged */
  expect_arch_error("{\"preset\":\"resnet\",\"in_dim\":3}", "unknown architecture preset 'resnet' (presets: mlp, "
                    "mlp-generator, conv-generator");
  expect_arch_error("{\"preset\":\"video-st\",\"classes\":2}", "preset 'video-st' takes no classes");
  expect_arch_error("{\"preset\":\"uva-cnn\",\"depth\":3}", "depth is only for 'mlp'");
}

/* The compact form's "shape" and "range" (the image presets of the generator methods). */
TEST(image_preset_shape_and_range_errors_say_what_would_be_accepted) {
  expect_arch_error("{\"preset\": \"conv-generator\", \"shape\": [1, 30, 30]}", "multiples of 4");
  expect_arch_error("{\"preset\": \"conv-generator\", \"shape\": [1, 28, 28], \"range\": [-4, 4]}",
                    "range must be [-1, 1] (tanh) or [0, 1] (sigmoid), got [-4, 4]");
  expect_arch_error("{\"preset\": \"conv-generator\", \"shape\": [784]}", "shape must be [C, H, W], got 1 numbers");
  expect_arch_error("{\"preset\": \"igebm-mnist\", \"shape\": [3, 32, 32]}", "shape and range are only for");
  expect_arch_error("{\"preset\": \"uva-cnn\", \"range\": [1, 0]}", "'range' must be [lo, hi] with lo < hi");
  expect_arch_error("{\"preset\": \"uva-cnn\", \"shape\": [1, 0, 28]}", "'shape' must hold integers");
  expect_arch_error("{\"preset\": \"uva-cnn\", \"shape\": \"1x28x28\"}", "'shape' must be an array of 1 to 3");
  expect_arch_error("{\"preset\": \"conv-generator\", \"classes\": 3}", "takes no classes");
}

TEST(preset_errors_list_the_presets_and_refuse_classes_on_uva_cnn) {
  char *json = NULL;
  CHECK_FAILS_WITH(ebm_arch_preset("vgg", 0, 0, &json), EBM_ERR_ARG,
                   "presets: mlp, mlp-generator, conv-generator, voxel-generator, video-generator, point-generator, "
                   "point-folding-generator, uva-cnn, igebm-mnist, igebm-cifar, pointnet, dgcnn, video-convnet, "
                   "video-st, voxelnet, jem-cnn");
  CHECK_FAILS_WITH(ebm_arch_preset("uva-cnn", 10, 0, &json), EBM_ERR_ARG, "takes no classes");
  CHECK_FAILS_WITH(ebm_arch_preset("igebm-mnist", 0, 3, &json), EBM_ERR_ARG, "in_dim is only for 'mlp'");
  CHECK(json == NULL);
}

/* The exact state_dict of bench/torch_reference.py's CNNModel (nn.Sequential numbering). */
TEST(uva_cnn_has_the_pytorch_parameter_names_and_shapes) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("uva-cnn", 0, 0, &json));
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(json, 2, &net));
  static const struct { const char *name; int ndim; int64_t shape[4]; } want[] = {
      {"net.0.weight", 4, {16, 1, 5, 5}}, {"net.0.bias", 1, {16}},
      {"net.2.weight", 4, {32, 16, 3, 3}}, {"net.2.bias", 1, {32}},
      {"net.4.weight", 4, {64, 32, 3, 3}}, {"net.4.bias", 1, {64}},
      {"net.6.weight", 4, {64, 64, 3, 3}}, {"net.6.bias", 1, {64}},
      {"net.9.weight", 2, {64, 256}}, {"net.9.bias", 1, {64}},
      {"net.11.weight", 2, {1, 64}}, {"net.11.bias", 1, {1}}};
  REQUIRE(ebm_net_param_count(net) == 12);
  for (int i = 0; i < 12; i++) {
    ebm_param *p = ebm_net_param(net, i);
    CHECK(strcmp(p->name, want[i].name) == 0);
    CHECK_EQ_INT(p->value->ndim, want[i].ndim);
    for (int d = 0; d < want[i].ndim; d++) CHECK_EQ_INT(p->value->shape[d], want[i].shape[d]);
  }
  CHECK_EQ_INT(ebm_net_buffer_count(net), 0);
  CHECK_EQ_INT(ebm_net_num_scalars(net), 76993); /* sum(p.numel() for p in CNNModel().parameters()) */
  CHECK_EQ_INT(ebm_net_item_ndim(net), 3);
  CHECK_EQ_INT(ebm_net_item_shape(net)[1], 28);
  /* Multiply-adds: conv 16·16·16·25 + 8·8·32·144 + 4·4·64·288 + 2·2·64·576 + 256·64 + 64. */
  CHECK_NEAR(ebm_net_forward_flops(net), 102400.0 + 294912 + 294912 + 147456 + 16384 + 64, 0.5);
  ebm_energy *en = ebm_net_as_energy(net);
  CHECK(en->range_lo == -1.0f && en->range_hi == 1.0f);
  ebm_energy_free(en);
  ebm_net_free(net);
  free(json);
}

TEST(igebm_mnist_has_spectral_norm_buffers_and_class_tables) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("igebm-mnist", 10, 0, &json));
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(json, 2, &net));
  const char *names[] = {"conv_in.weight_orig", "blocks.0.conv1.weight_orig", "blocks.1.shortcut.weight_orig",
                         "blocks.2.cond.gain", "dense.weight_orig", "dense.bias"};
  for (int k = 0; k < 6; k++) {
    int found = 0;
    for (int i = 0; i < ebm_net_param_count(net); i++) found |= strcmp(ebm_net_param(net, i)->name, names[k]) == 0;
    CHECK(found);
  }
  int found_u = 0, found_v = 0;
  for (int i = 0; i < ebm_net_buffer_count(net); i++) {
    const char *name;
    ebm_tensor view;
    REQUIRE_OK(ebm_net_buffer(net, i, &name, &view));
    if (strcmp(name, "blocks.1.conv1.weight_u") == 0) found_u = view.shape[0] == 64;
    if (strcmp(name, "blocks.1.conv1.weight_v") == 0) found_v = view.shape[0] == 32 * 9;
  }
  CHECK(found_u && found_v);
  /* No 1×1 shortcut where channels stay the same. */
  for (int i = 0; i < ebm_net_param_count(net); i++) CHECK(!strstr(ebm_net_param(net, i)->name, "blocks.0.shortcut"));
  ebm_layer_info info;
  REQUIRE_OK(ebm_net_layer_info(net, 2, &info));
  CHECK(strcmp(info.type, "resblock") == 0 && info.out_shape[0] == 64 && info.out_shape[1] == 7);
  CHECK_CONTAINS(info.detail, "down");
  CHECK_CONTAINS(info.detail, "cond");
  CHECK_EQ_INT(ebm_net_num_classes(net), 10);
  ebm_net_free(net);
  free(json);
}

TEST(canonical_arch_json_round_trips) {
  const char *compact = "{\"preset\":\"mlp\",\"in_dim\":3,\"width\":8,\"depth\":1,\"classes\":2}";
  ebm_net *a = NULL, *b = NULL;
  REQUIRE_OK(ebm_net_new(compact, 2, &a));
  REQUIRE_OK(ebm_net_new(ebm_net_arch_json(a), 2, &b));
  CHECK(strcmp(ebm_net_arch_json(a), ebm_net_arch_json(b)) == 0);
  CHECK_CONTAINS(ebm_net_arch_json(a), "\"type\":\"class_affine\"");
  CHECK_EQ_INT(ebm_net_item_shape(a)[0], 3);
  CHECK_EQ_INT(ebm_net_param_count(a), 6); /* net.0 w,b; net.1 gain,bias; net.3 w,b */
  CHECK(strcmp(ebm_net_param(a, 4)->name, "net.3.weight") == 0);
  ebm_net_free(a);
  ebm_net_free(b);
}

TEST(passes_reject_bad_batches_and_labels) {
  ebm_net *cond = nt_build("{\"preset\":\"mlp\",\"classes\":3}", 2, 1);
  ebm_net *plain = nt_build("{\"preset\":\"mlp\"}", 2, 1);
  float x[6] = {0}, e[3], dx[6];
  int32_t y[3] = {0, 3, 1}, ok_y[2] = {2, 0};
  CHECK_FAILS_WITH(ebm_net_energy(cond, x, NULL, 2, e), EBM_ERR_ARG, "labels are required");
  CHECK_FAILS_WITH(ebm_net_energy(cond, x, &(ebm_cond){.labels = y}, 2, e), EBM_ERR_ARG, "label 3 of item 1 is not in [0, 3)");
  CHECK_FAILS_WITH(ebm_net_grad_input(plain, x, &(ebm_cond){.labels = ok_y}, 2, e, dx), EBM_ERR_ARG, "unconditional");
  CHECK_FAILS_WITH(ebm_net_energy(plain, x, NULL, 3, e), EBM_ERR_ARG, "built for at most 2");
  CHECK_OK(ebm_net_energy(cond, x, &(ebm_cond){.labels = ok_y}, 2, e));
  ebm_net_free(cond);
  ebm_net_free(plain);
}

/* A network may end in any shape; only the energy passes need one number. */
TEST(energy_passes_refuse_a_vector_output_that_forward_accepts) {
  ebm_net *net = nt_build("{\"input\":[3],\"layers\":[{\"type\":\"linear\",\"name\":\"l\",\"out\":2}]}",
                          2, 1);
  float x[6] = {0}, e[2], out[4], dx[6];
  CHECK_FAILS_WITH(ebm_net_energy(net, x, NULL, 2, e), EBM_ERR_ARG, "the last layer gives [2] per item");
  CHECK_FAILS_WITH(ebm_net_grad_input(net, x, NULL, 2, e, dx), EBM_ERR_ARG, "an energy needs one number");
  CHECK_FAILS_WITH(ebm_net_backward(net, out, dx, 0), EBM_ERR_ARG, "no forward pass");
  CHECK_OK(ebm_net_forward(net, x, NULL, 2, out));
  CHECK_EQ_INT(ebm_net_out_size(net), 2);
  CHECK_EQ_INT(ebm_net_out_ndim(net), 1);
  CHECK_OK(ebm_net_backward(net, out, dx, 0));
  ebm_net_free(net);
}

TEST(net_as_energy_evaluates_any_batch_in_chunks) {
  ebm_net *big = nt_build("{\"preset\":\"mlp\",\"in_dim\":3}", 7, 5);
  ebm_net *small = nt_build("{\"preset\":\"mlp\",\"in_dim\":3}", 2, 5); /* same seed: same weights */
  float *x = nt_inputs(big, 7, 9);
  float e1[7], e2[7], g1[21], g2[21];
  REQUIRE_OK(ebm_net_grad_input(big, x, NULL, 7, e1, g1));
  ebm_energy *en = ebm_net_as_energy(small);
  CHECK_EQ_INT(en->max_batch, 2);
  REQUIRE_OK(ebm_energy_eval(en, x, NULL, 7, e2, g2));
  for (int i = 0; i < 7; i++) CHECK_NEAR(e1[i], e2[i], 1e-6 * (1 + fabs(e1[i])));
  for (int i = 0; i < 21; i++) CHECK_NEAR(g1[i], g2[i], 1e-6 * (1 + fabs(g1[i])));
  ebm_energy_free(en); /* borrowed view: the network survives */
  REQUIRE_OK(ebm_net_energy(small, x, NULL, 2, e2));
  ebm_net_free(big);
  ebm_net_free(small);
  ebm_free(x);
}

TEST(init_follows_pytorch_bounds_and_is_reproducible) {
  ebm_net *a = nt_build("{\"preset\":\"uva-cnn\"}", 1, 42);
  ebm_net *b = nt_build("{\"preset\":\"uva-cnn\"}", 1, 42);
  for (int i = 0; i < ebm_net_param_count(a); i++) {
    ebm_tensor *v = ebm_net_param(a, i)->value, *w = ebm_net_param(b, i)->value;
    const ebm_tensor *weight = ebm_net_param(a, i - i % 2)->value;
    double fan_in = (double)ebm_tensor_row_size(weight), bound = 1.0 / sqrt(fan_in), maxabs = 0, sq = 0;
    int64_t count = ebm_tensor_numel(v);
    for (int64_t k = 0; k < count; k++) {
      maxabs = fmax(maxabs, fabs(v->data[k]));
      sq += (double)v->data[k] * v->data[k];
      CHECK(v->data[k] == w->data[k]);
    }
    CHECK(maxabs <= bound);
    /* U(±b) has variance b²/3; with ≥ 16 values the RMS is within 45%. */
    if (count >= 16) CHECK_NEAR(sqrt(sq / (double)count), bound / sqrt(3.0), 0.45 * bound / sqrt(3.0));
  }
  ebm_net_free(a);
  ebm_net_free(b);
}

/* The energy passes are wrappers of forward / backward: the same bits, and
 * backward reuses the stored activations (no second forward). */
TEST(forward_and_backward_give_the_energy_passes_bit_for_bit) {
  static const char *const archs[] = {"{\"preset\":\"uva-cnn\"}",
                                      "{\"preset\":\"igebm-mnist\",\"width\":8,\"classes\":3}"};
  for (int a = 0; a < 2; a++) {
    ebm_net *net = nt_build(archs[a], 3, 4);
    nt_jitter(net, 0.3f, 5);
    float *x = nt_inputs(net, 3, 6), *dx1 = nt_inputs(net, 3, 6), *dx2 = nt_inputs(net, 3, 6);
    int32_t *y = nt_labels(net, 3, 7);
    const ebm_cond cond = {y, NULL};
    float e1[3], e2[3], ones[3] = {1, 1, 1};
    REQUIRE_OK(ebm_net_grad_input(net, x, &cond, 3, e1, dx1));
    REQUIRE_OK(ebm_net_forward(net, x, &cond, 3, e2));
    REQUIRE_OK(ebm_net_backward(net, ones, dx2, 0));
    CHECK(memcmp(e1, e2, sizeof e1) == 0);
    CHECK(memcmp(dx1, dx2, (size_t)(3 * 784) * sizeof(float)) == 0);
    /* A second backward from the same forward gives the same again. */
    REQUIRE_OK(ebm_net_backward(net, ones, dx2, 0));
    CHECK(memcmp(dx1, dx2, (size_t)(3 * 784) * sizeof(float)) == 0);
    ebm_free(x);
    ebm_free(dx1);
    ebm_free(dx2);
    free(y);
    ebm_net_free(net);
  }
}
