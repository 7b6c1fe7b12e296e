/* Issue 13 item 9: a forward pass that produces NaN or Inf is an error
 * (EBM_ERR_NUMERIC) naming the first layer that produced it, through every
 * pass, the sampler and the CLI; finite huge weights (3e38) overflow. */
#include "nn/nn_testutil.h"

/* conv2d + swish (fused into one run step), conv2d, flatten, linear. */
static const char *arch =
    "{\"input\":[1,4,4],\"layers\":["
    "{\"type\":\"conv2d\",\"name\":\"net.0\",\"out\":2,\"kernel\":3,\"pad\":1},"
    "{\"type\":\"swish\"},"
    "{\"type\":\"conv2d\",\"name\":\"net.2\",\"out\":2,\"kernel\":3,\"pad\":1},"
    "{\"type\":\"flatten\"},"
    "{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";

static void fill_param(ebm_net *net, const char *name, float value) {
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    ebm_param *p = ebm_net_param(net, i);
    if (strcmp(p->name, name) != 0) continue;
    for (int64_t k = 0; k < ebm_tensor_numel(p->value); k++) p->value->data[k] = value;
    return;
  }
  REQUIRE(!"no such parameter");
}

static float *ones(int64_t count) {
  float *x = malloc((size_t)count * sizeof *x);
  REQUIRE(x != NULL);
  for (int64_t i = 0; i < count; i++) x[i] = 1.0f;
  return x;
}

TEST(forward_names_the_first_layer_that_overflowed_even_inside_a_fused_step) {
  ebm_net *net = nt_build(arch, 2, 1);
  float *x = ones(2 * 16), e[2], dx[32];
  REQUIRE_OK(ebm_net_energy(net, x, NULL, 2, e)); /* the good path is unchanged */
  CHECK(isfinite(e[0]) && isfinite(e[1]));
  /* 9 products of 3e38 overflow in the conv; the swish fused with it and
   * everything after carry inf / nan, but the conv is named. */
  fill_param(net, "net.0.weight", 3e38f);
  CHECK_FAILS_WITH(ebm_net_energy(net, x, NULL, 2, e), EBM_ERR_NUMERIC,
                   "layer 0 conv2d 'net.0' produced inf (item 0)");
  CHECK_FAILS_WITH(ebm_net_grad_input(net, x, NULL, 2, e, dx), EBM_ERR_NUMERIC, "layer 0 conv2d 'net.0'");
  float de[2] = {1, 1};
  CHECK_FAILS_WITH(ebm_net_backward_params(net, x, NULL, 2, de, e), EBM_ERR_NUMERIC, "layer 0 conv2d");
  CHECK_FAILS_WITH(ebm_net_forward(net, x, NULL, 2, e), EBM_ERR_NUMERIC, "layer 0 conv2d 'net.0' produced inf");
  /* Nothing to go back through after a failed forward pass. */
  CHECK_FAILS_WITH(ebm_net_backward(net, de, dx, 0), EBM_ERR_ARG, "no forward pass");
  free(x);
  ebm_net_free(net);
}

TEST(forward_names_a_later_layer_after_a_view) {
  ebm_net *net = nt_build(arch, 3, 2);
  float *x = ones(3 * 16), e[3];
  REQUIRE_OK(ebm_net_energy(net, x, NULL, 3, e));
  /* Positive weights keep every activation positive and finite through
   * the convs; 32 positive products of 3e38 then overflow in fc, past the
   * flatten view (which owns no output to scan). */
  fill_param(net, "net.0.weight", 0.1f);
  fill_param(net, "net.0.bias", 0.1f);
  fill_param(net, "net.2.weight", 1.0f);
  fill_param(net, "net.2.bias", 1.0f);
  REQUIRE_OK(ebm_net_energy(net, x, NULL, 3, e));
  fill_param(net, "fc.weight", 3e38f);
  CHECK_FAILS_WITH(ebm_net_energy(net, x, NULL, 3, e), EBM_ERR_NUMERIC, "layer 4 linear 'fc' produced");
  free(x);
  ebm_net_free(net);
}

TEST(forward_reports_nan_from_an_input_that_is_not_finite) {
  ebm_net *net = nt_build(arch, 2, 3);
  float *x = ones(2 * 16), e[2];
  x[16 + 5] = NAN; /* item 1 */
  CHECK_FAILS_WITH(ebm_net_energy(net, x, NULL, 2, e), EBM_ERR_NUMERIC,
                   "layer 0 conv2d 'net.0' produced nan (item 1)");
  free(x);
  ebm_net_free(net);
}

TEST(sampler_on_an_overflowing_network_diverges_at_step_0_naming_the_layer) {
  ebm_net *net = nt_build(arch, 2, 4);
  fill_param(net, "net.2.weight", 3e38f);
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en != NULL);
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg.steps = 3;
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, &cfg, 2, &s));
  float *x = ones(2 * 16);
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  CHECK_FAILS_WITH(ebm_sampler_run(s, x, NULL, 2, &rng, NULL, NULL), EBM_ERR_NUMERIC,
                   "sampler diverged at step 0 (layer 2 conv2d 'net.2' produced");
  free(x);
  ebm_sampler_free(s);
  ebm_energy_free(en);
  ebm_net_free(net);
}

TEST(cli_energy_and_forward_on_a_checkpoint_with_a_3e38_weight_exit_1_naming_the_layer) {
  ebm_net *net = nt_build(arch, 2, 6);
  fill_param(net, "net.2.weight", 3e38f);
  const char *m = test_path("huge.safetensors"), *x = test_path("x.npy"), *o = test_path("e.npy");
  REQUIRE_OK(ebm_net_save(net, m, 0, NULL, NULL));
  float *in = ones(2 * 16);
  REQUIRE_OK(ebm_npy_save(x, EBM_DTYPE_F32, 4, (int64_t[]){2, 1, 4, 4}, in));
  cli_result r = run_cli("energy --ckpt %s --input %s --out %s", m, x, o);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "layer 2 conv2d 'net.2' produced");
  cli_result_free(&r);
  r = run_cli("forward --ckpt %s --input %s --out %s", m, x, o);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "layer 2 conv2d 'net.2' produced");
  cli_result_free(&r);
  free(in);
  ebm_net_free(net);
}

TEST(a_parameter_free_layer_that_passes_nan_on_is_named_without_a_name) {
  /* sigmoid / swish of NaN stay NaN (vmath.h takes NaN without converting
   * it to an integer: fuzz_checkpoint's finding under clang's UBSan). */
  ebm_net *net = nt_build("{\"input\":[2],\"layers\":[{\"type\":\"sigmoid\"},{\"type\":\"swish\"},"
                          "{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}", 1, 7);
  float x[2] = {0.5f, NAN}, e;
  CHECK_FAILS_WITH(ebm_net_energy(net, x, NULL, 1, &e), EBM_ERR_NUMERIC, "layer 0 sigmoid produced nan (item 0)");
  ebm_net_free(net);
}

TEST(training_on_an_overflowing_network_diverges_at_step_1_naming_the_layer) {
  ebm_net *net = nt_build("{\"input\":[2],\"layers\":[{\"type\":\"linear\",\"name\":\"fc.0\",\"out\":4},"
                          "{\"type\":\"swish\"},{\"type\":\"linear\",\"name\":\"fc.2\",\"out\":1}]}", 8, 8);
  /* swish(2) ≈ 1.76 in all four features, then 4 × 1.76 × 3e38 = inf. */
  fill_param(net, "fc.0.weight", 0.0f);
  fill_param(net, "fc.0.bias", 2.0f);
  fill_param(net, "fc.2.weight", 3e38f);
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:64", 0, 1, &ds));
  ebm_train_config c = ebm_train_defaults();
  c.batch = 8;
  c.iters = 1;
  c.sampler.steps = 2;
  c.buffer_size = 16;
  c.range_lo = -4;
  c.range_hi = 4;
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(net, ds, &c, &t));
  CHECK_FAILS_WITH(ebm_trainer_step(t, NULL), EBM_ERR_NUMERIC,
                   "diverged at step 1: the sampler's energy is not finite");
  CHECK_CONTAINS(ebm_last_error(), "layer 2 linear 'fc.2' produced inf");
  ebm_trainer_free(t);
  ebm_dataset_free(ds);
  ebm_net_free(net);
}
