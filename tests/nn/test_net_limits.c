/* Issue 13 item 6: what an architecture (a checkpoint's metadata) may make
 * ebm allocate. A file's tensors are compared with a plan of the network
 * before anything is allocated; activations are bounded by
 * EBM_NET_MAX_WORK_BYTES, parameters by EBM_NET_MAX_PARAM_BYTES; `ebm info`
 * needs no activation memory. Peak memory is measured with getrusage. */
#include <sys/resource.h>

#include "nn/nn_testutil.h"

/* Peak resident memory of this process (which = RUSAGE_SELF) or of its
 * waited-for children (RUSAGE_CHILDREN), in MiB. */
static double peak_mib(int which) {
  struct rusage ru;
  REQUIRE(getrusage(which, &ru) == 0);
  return (double)ru.ru_maxrss / 1024.0;
}

static const char *small_mlp =
    "{\"input\":[2],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":8},{\"type\":\"swish\"},"
    "{\"type\":\"linear\",\"name\":\"b\",\"out\":8},{\"type\":\"swish\"},"
    "{\"type\":\"linear\",\"name\":\"c\",\"out\":1}]}";
/* The same layers claiming 20 000 features: b.weight alone is 1.6 GB
 * (3.2 GB with its gradient, under the parameter limit). */
static const char *wide_mlp =
    "{\"input\":[2],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":20000},{\"type\":\"swish\"},"
    "{\"type\":\"linear\",\"name\":\"b\",\"out\":20000},{\"type\":\"swish\"},"
    "{\"type\":\"linear\",\"name\":\"c\",\"out\":1}]}";

/* A checkpoint with the tensors of `tensors_arch` and metadata "arch" = arch. */
static void write_lying_checkpoint(const char *path, const char *tensors_arch, const char *arch) {
  ebm_net *net = nt_build(tensors_arch, 1, 1);
  ebm_st_writer *w = ebm_st_writer_new();
  REQUIRE(w != NULL);
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    ebm_param *p = ebm_net_param(net, i);
    REQUIRE_OK(ebm_st_writer_add_f32(w, p->name, p->value->ndim, p->value->shape, p->value->data));
  }
  REQUIRE_OK(ebm_st_writer_meta(w, "arch", arch));
  REQUIRE_OK(ebm_st_writer_save(w, path));
  ebm_st_writer_free(w);
  ebm_net_free(net);
}

TEST(plan_counts_the_bytes_a_build_would_allocate_without_allocating_them) {
  ebm_net_memory small, wide;
  REQUIRE_OK(ebm_net_plan(small_mlp, 4, &small));
  /* a: 8·2 + 8, b: 8·8 + 8, c: 8 + 1 = 105 scalars, values and gradients. */
  CHECK_NEAR(small.param_bytes, 105 * 2 * 4, 0);
  CHECK(small.work_bytes > 4 * 8 * 4 && small.work_bytes < 1e5);
  double before = peak_mib(RUSAGE_SELF);
  REQUIRE_OK(ebm_net_plan(wide_mlp, 128, &wide));
  CHECK(wide.param_bytes > 3.2e9);
  CHECK(peak_mib(RUSAGE_SELF) - before < 64);
}

TEST(loading_a_small_file_that_claims_a_20000_wide_layer_fails_on_the_shape_before_allocating) {
  const char *path = test_path("lying.safetensors");
  write_lying_checkpoint(path, small_mlp, wide_mlp);
  double before = peak_mib(RUSAGE_SELF);
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_load(path, 1, &net), EBM_ERR_SHAPE,
                   "lying.safetensors: tensor 'a.weight' has shape [8,2], expected [20000,2]");
  CHECK(net == NULL);
  CHECK(peak_mib(RUSAGE_SELF) - before < 64);
  /* A tensor the architecture does not have is refused the same way. */
  write_lying_checkpoint(path, small_mlp,
                         "{\"input\":[2],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":8}]}");
  CHECK_FAILS_WITH(ebm_net_load(path, 1, &net), EBM_ERR_FORMAT, "unexpected tensor 'b.weight'");
}

TEST(activations_beyond_the_limit_are_refused_naming_the_input_or_the_layer) {
  ebm_net *net = NULL;
  /* [1, 6000, 6000] for 128 items: 17 GiB for the input alone. */
  const char *big_input = "{\"input\":[1,6000,6000],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":4},"
                          "{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";
  CHECK_FAILS_WITH(ebm_net_new(big_input, 128, &net), EBM_ERR_NOMEM,
                   "architecture: input: [1,6000,6000] per item takes 17.2 GiB for a batch of 128, beyond the 4 GiB limit");
  /* One item fits, but 64 channels of it do not. */
  const char *wide_conv = "{\"input\":[1,6000,6000],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":64,"
                          "\"pad\":1},{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";
  CHECK_FAILS_WITH(ebm_net_new(wide_conv, 1, &net), EBM_ERR_NOMEM, "layer 0 (conv2d c): output: [64,6000,6000]");
  /* Layers that fit one by one but not together name the layer that
   * crosses the limit. */
  const char *deep = "{\"input\":[1,6000,6000],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":8,\"pad\":1},"
                     "{\"type\":\"swish\"},{\"type\":\"relu\"},{\"type\":\"tanh\"},"
                     "{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";
  double before = peak_mib(RUSAGE_SELF);
  ebm_net_memory mem;
  CHECK_FAILS_WITH(ebm_net_plan(deep, 1, &mem), EBM_ERR_NOMEM, "architecture: layer 3 (tanh) needs 1.07 GiB");
  /* The last straw may be a gradient buffer: it names the layer it is for. */
  const char *two = "{\"input\":[1,6000,6000],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":8,\"pad\":1},"
                    "{\"type\":\"swish\"},{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";
  CHECK_FAILS_WITH(ebm_net_plan(two, 1, &mem), EBM_ERR_NOMEM,
                   "architecture: the gradient buffer for layer 0 (conv2d c) needs 1.07 GiB of activations for a batch of 1");
  CHECK(peak_mib(RUSAGE_SELF) - before < 64);
  CHECK(net == NULL);
}

TEST(a_parameter_only_network_has_no_activation_memory_and_refuses_passes) {
  /* 8 channels of 6000×6000 at batch 0: nothing but the parameters. */
  const char *arch = "{\"input\":[1,6000,6000],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":8,\"pad\":1},"
                     "{\"type\":\"swish\"},{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";
  ebm_net_memory mem;
  REQUIRE_OK(ebm_net_plan(arch, 0, &mem));
  CHECK(mem.work_bytes < 1e5);
  double before = peak_mib(RUSAGE_SELF);
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(arch, 0, &net));
  CHECK(peak_mib(RUSAGE_SELF) - before < 64);
  CHECK_EQ_INT(ebm_net_num_scalars(net), 8 * 9 + 8 + 8 + 1);
  float x = 0, e;
  CHECK_FAILS_WITH(ebm_net_energy(net, &x, NULL, 1, &e), EBM_ERR_ARG, "built for at most 0");
  ebm_net_free(net);
}

TEST(parameters_beyond_the_limit_are_refused_before_allocation) {
  /* 2^20 × 2^10 weights: 4 GiB with gradients, 8 GiB in all. */
  const char *arch = "{\"input\":[1024],\"layers\":[{\"type\":\"linear\",\"name\":\"fc\",\"out\":1048576}]}";
  ebm_net *net = NULL;
  double before = peak_mib(RUSAGE_SELF);
  CHECK_FAILS_WITH(ebm_net_new(arch, 1, &net), EBM_ERR_NOMEM,
                   "architecture: 'fc.weight' takes the parameters to 8 GiB (with gradients), beyond the 4 GiB limit");
  CHECK(peak_mib(RUSAGE_SELF) - before < 64);
}

TEST(cli_info_on_a_lying_checkpoint_prints_one_line_and_stays_small) {
  const char *path = test_path("lying.safetensors");
  write_lying_checkpoint(path, small_mlp, wide_mlp);
  cli_result r = run_cli("info %s", path);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "tensor 'a.weight' has shape [8,2], expected [20000,2]");
  CHECK(strchr(r.err, '\n') == r.err + strlen(r.err) - 1); /* one line */
  cli_result_free(&r);
  CHECK(peak_mib(RUSAGE_CHILDREN) < 256);
}

TEST(cli_info_on_a_6000x6000_conv_checkpoint_needs_no_activation_memory) {
  /* Conv and linear weights do not depend on the image size, so this small
   * file's tensors fit a 6000×6000 input: at batch 1 its activations would
   * be gigabytes, at batch 0 (what info uses) nothing. */
  const char *small = "{\"input\":[1,8,8],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":8,\"pad\":1},"
                      "{\"type\":\"swish\"},{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";
  const char *big = "{\"input\":[1,6000,6000],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"out\":8,\"pad\":1},"
                    "{\"type\":\"swish\"},{\"type\":\"global_sum_pool\"},{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";
  const char *path = test_path("big-input.safetensors");
  write_lying_checkpoint(path, small, big);
  cli_result r = run_cli("info %s", path);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "input 1x6000x6000");
  cli_result_free(&r);
  CHECK(peak_mib(RUSAGE_CHILDREN) < 256);
}
