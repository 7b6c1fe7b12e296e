/* Checkpoints: exact round trips, loading the PyTorch reference's files by
 * preset name, hostile files (one clear error naming the tensor), and
 * Adam state for bit-exact resume. */
#include "nn/nn_testutil.h"

/* Writes net's tensors to `path` with one edit: `skip` left out, `reshape`
 * written flattened to 1-D, `nan` given a NaN, `extra` added; arch is the
 * metadata "arch" (NULL: none). */
static void write_variant(ebm_net *net, const char *path, const char *arch, const char *skip,
                          const char *reshape, const char *nan, const char *extra) {
  ebm_st_writer *w = ebm_st_writer_new();
  REQUIRE(w);
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    ebm_param *p = ebm_net_param(net, i);
    if (skip && strcmp(p->name, skip) == 0) continue;
    ebm_tensor *v = ebm_tensor_clone(p->value);
    if (nan && strcmp(p->name, nan) == 0) v->data[ebm_tensor_numel(v) - 1] = NAN;
    int64_t flat = ebm_tensor_numel(v);
    int reshaped = reshape && strcmp(p->name, reshape) == 0;
    REQUIRE_OK(ebm_st_writer_add_f32(w, p->name, reshaped ? 1 : v->ndim, reshaped ? &flat : v->shape, v->data));
    ebm_tensor_free(v);
  }
  for (int i = 0; i < ebm_net_buffer_count(net); i++) {
    const char *name;
    ebm_tensor view;
    REQUIRE_OK(ebm_net_buffer(net, i, &name, &view));
    REQUIRE_OK(ebm_st_writer_add_f32(w, name, view.ndim, view.shape, view.data));
  }
  if (extra) {
    float one = 1.0f;
    int64_t shape = 1;
    REQUIRE_OK(ebm_st_writer_add_f32(w, extra, 1, &shape, &one));
  }
  if (arch) REQUIRE_OK(ebm_st_writer_meta(w, "arch", arch));
  REQUIRE_OK(ebm_st_writer_save(w, path));
  ebm_st_writer_free(w);
}

TEST(checkpoint_round_trip_reproduces_energies_and_buffers_exactly) {
  ebm_net *net = nt_build("{\"preset\":\"igebm-mnist\",\"width\":4,\"classes\":3}", 2, 21);
  nt_jitter(net, 0.2f, 5);
  const char *keys[] = {"step", "seed"}, *values[] = {"1234", "21"};
  const char *path = test_path("model.safetensors");
  REQUIRE_OK(ebm_net_save(net, path, 2, keys, values));
  ebm_net *back = NULL;
  REQUIRE_OK(ebm_net_load(path, 2, &back));
  CHECK(strcmp(ebm_net_arch_json(net), ebm_net_arch_json(back)) == 0);
  float *x = nt_inputs(net, 2, 8), e1[2], e2[2];
  int32_t y[2] = {2, 0};
  REQUIRE_OK(ebm_net_energy(net, x, &(ebm_cond){.labels = y}, 2, e1));
  REQUIRE_OK(ebm_net_energy(back, x, &(ebm_cond){.labels = y}, 2, e2));
  CHECK(e1[0] == e2[0] && e1[1] == e2[1]);
  for (int i = 0; i < ebm_net_buffer_count(net); i++) {
    ebm_tensor a, b;
    REQUIRE_OK(ebm_net_buffer(net, i, NULL, &a));
    REQUIRE_OK(ebm_net_buffer(back, i, NULL, &b));
    CHECK(memcmp(a.data, b.data, (size_t)ebm_tensor_numel(&a) * sizeof(float)) == 0);
  }
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(path, &st));
  CHECK(strcmp(ebm_safetensors_meta(st, "format"), "ebm-1") == 0);
  CHECK(strcmp(ebm_safetensors_meta(st, "step"), "1234") == 0);
  CHECK(ebm_safetensors_find(st, "blocks.1.shortcut.weight_u") != NULL);
  ebm_safetensors_free(st);
  const char *bad_key[] = {"arch"}, *bad_value[] = {"x"};
  CHECK_FAILS_WITH(ebm_net_save(net, test_path("x.safetensors"), 1, bad_key, bad_value), EBM_ERR_ARG,
                   "metadata key 'arch' is reserved");
  ebm_free(x);
  ebm_net_free(net);
  ebm_net_free(back);
}

TEST(checkpoint_with_a_preset_name_as_arch_loads_like_the_pytorch_reference_writes) {
  ebm_net *net = nt_build("{\"preset\":\"uva-cnn\"}", 1, 3);
  const char *path = test_path("ref.safetensors");
  write_variant(net, path, "uva-cnn", NULL, NULL, NULL, NULL);
  ebm_net *back = NULL;
  REQUIRE_OK(ebm_net_load(path, 4, &back));
  CHECK_EQ_INT(ebm_net_max_batch(back), 4);
  float *x = nt_inputs(net, 1, 1), e1, e2;
  REQUIRE_OK(ebm_net_energy(net, x, NULL, 1, &e1));
  REQUIRE_OK(ebm_net_energy(back, x, NULL, 1, &e2));
  CHECK(e1 == e2);
  ebm_free(x);
  ebm_net_free(net);
  ebm_net_free(back);
}

TEST(hostile_checkpoints_fail_with_the_tensor_named) {
  ebm_net *net = nt_build("{\"preset\":\"uva-cnn\"}", 1, 3), *out = NULL;
  const char *p = test_path("bad.safetensors");
  write_variant(net, p, "uva-cnn", "net.9.bias", NULL, NULL, NULL);
  CHECK_FAILS_WITH(ebm_net_load(p, 1, &out), EBM_ERR_FORMAT, "tensor 'net.9.bias' is missing");
  write_variant(net, p, "uva-cnn", NULL, "net.2.weight", NULL, NULL);
  CHECK_FAILS_WITH(ebm_net_load(p, 1, &out), EBM_ERR_SHAPE,
                   "tensor 'net.2.weight' has shape [4608], expected [32,16,3,3]");
  write_variant(net, p, "uva-cnn", NULL, NULL, "net.4.bias", NULL);
  CHECK_FAILS_WITH(ebm_net_load(p, 1, &out), EBM_ERR_NUMERIC, "tensor 'net.4.bias' has a non-finite value");
  write_variant(net, p, "uva-cnn", NULL, NULL, NULL, "net.12.weight");
  CHECK_FAILS_WITH(ebm_net_load(p, 1, &out), EBM_ERR_FORMAT, "unexpected tensor 'net.12.weight'");
  write_variant(net, p, NULL, NULL, NULL, NULL, NULL);
  CHECK_FAILS_WITH(ebm_net_load(p, 1, &out), EBM_ERR_FORMAT, "no architecture (metadata 'arch')");
  write_variant(net, p, "resnet-9000", NULL, NULL, NULL, NULL);
  CHECK_FAILS_WITH(ebm_net_load(p, 1, &out), EBM_ERR_ARG, "unknown architecture preset 'resnet-9000'");
  write_variant(net, p, "{\"input\":[1,28,28],\"layers\":[]}", NULL, NULL, NULL, NULL);
  CHECK_FAILS_WITH(ebm_net_load(p, 1, &out), EBM_ERR_ARG, "bad.safetensors: architecture:");
  /* Truncated: the reader's own check. */
  write_variant(net, p, "uva-cnn", NULL, NULL, NULL, NULL);
  uint8_t *buf = NULL;
  size_t size = 0;
  REQUIRE_OK(ebm_read_file(p, 1 << 24, &buf, &size));
  test_write_file(p, buf, size - 100);
  free(buf);
  CHECK_FAILS_WITH(ebm_net_load(p, 1, &out), EBM_ERR_FORMAT, "bad.safetensors");
  CHECK(out == NULL);
  ebm_net_free(net);
}

/* Two optimizers fed the same gradients stay bit-identical across a
 * save/restore of one of them. */
TEST(adam_state_save_restore_resumes_bit_exactly) {
  ebm_net *a = nt_build("{\"preset\":\"mlp\",\"width\":8}", 4, 1);
  ebm_net *b = nt_build("{\"preset\":\"mlp\",\"width\":8}", 4, 1);
  ebm_adam *oa = NULL, *ob = NULL;
  REQUIRE_OK(ebm_adam_new(a, NULL, &oa));
  float *x = nt_inputs(a, 4, 2), e[4], de[4] = {1, -1, 0.5f, 2};
  for (int t = 0; t < 3; t++) {
    ebm_net_zero_grad(a);
    REQUIRE_OK(ebm_net_backward_params(a, x, NULL, 4, de, e));
    REQUIRE_OK(ebm_adam_step(oa, 0, NULL));
  }
  /* b takes a's parameters (a checkpoint) and a's Adam state (the second file). */
  const char *ckpt = test_path("m.safetensors"), *state = test_path("opt.safetensors");
  REQUIRE_OK(ebm_net_save(a, ckpt, 0, NULL, NULL));
  ebm_st_writer *w = ebm_st_writer_new();
  REQUIRE_OK(ebm_adam_save(oa, w));
  REQUIRE_OK(ebm_st_writer_save(w, state));
  ebm_st_writer_free(w);
  ebm_net_free(b);
  REQUIRE_OK(ebm_net_load(ckpt, 4, &b));
  REQUIRE_OK(ebm_adam_new(b, NULL, &ob));
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(state, &st));
  REQUIRE_OK(ebm_adam_restore(ob, st));
  ebm_safetensors_free(st);
  CHECK_EQ_INT(ebm_adam_step_count(ob), 3);
  for (int t = 0; t < 2; t++) {
    ebm_net *nets[2] = {a, b};
    ebm_adam *opts[2] = {oa, ob};
    for (int k = 0; k < 2; k++) {
      ebm_net_zero_grad(nets[k]);
      REQUIRE_OK(ebm_net_backward_params(nets[k], x, NULL, 4, de, e));
      REQUIRE_OK(ebm_adam_step(opts[k], 0, NULL));
    }
  }
  for (int i = 0; i < ebm_net_param_count(a); i++) {
    ebm_tensor *va = ebm_net_param(a, i)->value, *vb = ebm_net_param(b, i)->value;
    CHECK(memcmp(va->data, vb->data, (size_t)ebm_tensor_numel(va) * sizeof(float)) == 0);
  }
  /* A state file for another network is refused, naming the tensor. */
  ebm_net *other = nt_build("{\"preset\":\"mlp\",\"width\":9}", 1, 1);
  ebm_adam *oo = NULL;
  REQUIRE_OK(ebm_adam_new(other, NULL, &oo));
  REQUIRE_OK(ebm_safetensors_load(state, &st));
  CHECK_FAILS_WITH(ebm_adam_restore(oo, st), EBM_ERR_FORMAT, "optimizer tensor 'adam.m.net.0.weight'");
  ebm_safetensors_free(st);
  ebm_adam_free(oo);
  ebm_net_free(other);
  ebm_adam_free(oa);
  ebm_adam_free(ob);
  ebm_free(x);
  ebm_net_free(a);
  ebm_net_free(b);
}

/* A model of two networks is one file of prefixed parts: each part loads
 * back exactly, ebm_net_load gives the energy part, a missing part or a
 * plain file asked for a part is named, and a second Adam under its own
 * prefix shares the state file with the first. */
TEST(a_checkpoint_of_parts_round_trips_each_network) {
  ebm_net *energy = nt_build("{\"preset\":\"mlp\",\"width\":8}", 2, 1);
  ebm_net *gen = nt_build("{\"input\":[3],\"layers\":[{\"type\":\"linear\",\"name\":\"net.0\",\"out\":2},"
                          "{\"type\":\"tanh\"}]}", 2, 2);
  const ebm_net *nets[2] = {energy, gen};
  const char *names[2] = {"energy", "generator"}, *key = "note", *value = "two parts";
  const char *path = test_path("parts.safetensors");
  REQUIRE_OK(ebm_net_save_parts(path, 2, nets, names, 1, &key, &value));
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(path, &st));
  CHECK_EQ_STR(ebm_safetensors_meta(st, "parts"), "energy,generator");
  CHECK(ebm_safetensors_find(st, "generator.net.0.weight") != NULL);
  CHECK(ebm_safetensors_find(st, "energy.net.0.weight") != NULL);
  ebm_safetensors_free(st);
  ebm_net *e2 = NULL, *g2 = NULL, *plain = NULL;
  REQUIRE_OK(ebm_net_load(path, 2, &e2));
  REQUIRE_OK(ebm_net_load_part(path, "generator", 2, &g2));
  const ebm_net *orig[2] = {energy, gen};
  ebm_net *back[2] = {e2, g2};
  for (int k = 0; k < 2; k++) {
    CHECK_EQ_INT(ebm_net_param_count(back[k]), ebm_net_param_count((ebm_net *)orig[k]));
    for (int i = 0; i < ebm_net_param_count(back[k]); i++) {
      const ebm_tensor *a = ebm_net_param((ebm_net *)orig[k], i)->value, *b = ebm_net_param(back[k], i)->value;
      CHECK(memcmp(a->data, b->data, (size_t)ebm_tensor_numel(a) * sizeof(float)) == 0);
    }
  }
  CHECK_FAILS_WITH(ebm_net_load_part(path, "flow", 2, &plain), EBM_ERR_ARG, "its parts: energy,generator");
  const char *single = test_path("single.safetensors");
  REQUIRE_OK(ebm_net_save(energy, single, 0, NULL, NULL));
  CHECK_FAILS_WITH(ebm_net_load_part(single, "generator", 2, &plain), EBM_ERR_FORMAT, "holds one network");
  const char *bad[1] = {"gen.erator"};
  CHECK_FAILS_WITH(ebm_net_save_parts(path, 1, nets, bad, 0, NULL, NULL), EBM_ERR_ARG, "bad part name");

  /* two optimisers in one state file */
  ebm_adam *oe = NULL, *og = NULL, *og2 = NULL;
  REQUIRE_OK(ebm_adam_new(energy, NULL, &oe));
  REQUIRE_OK(ebm_adam_new(gen, NULL, &og));
  ebm_net_param(gen, 0)->grad->data[0] = 1.0f;
  REQUIRE_OK(ebm_adam_step(og, 0, NULL));
  ebm_st_writer *w = ebm_st_writer_new();
  REQUIRE_OK(ebm_adam_save(oe, w));
  REQUIRE_OK(ebm_adam_save_as(og, w, "generator_adam"));
  const char *state = test_path("state.safetensors");
  REQUIRE_OK(ebm_st_writer_save(w, state));
  ebm_st_writer_free(w);
  REQUIRE_OK(ebm_safetensors_load(state, &st));
  REQUIRE_OK(ebm_adam_new(g2, NULL, &og2));
  REQUIRE_OK(ebm_adam_restore_as(og2, st, "generator_adam"));
  CHECK_EQ_INT(ebm_adam_step_count(og2), 1);
  CHECK_EQ_INT(ebm_adam_step_count(oe), 0);
  ebm_safetensors_free(st);
  ebm_adam_free(oe);
  ebm_adam_free(og);
  ebm_adam_free(og2);
  ebm_net_free(e2);
  ebm_net_free(g2);
  ebm_net_free(energy);
  ebm_net_free(gen);
}
