/* Chained fused convs (src/nn/chain.c): the Langevin pass (ebm_net_grad_input)
 * keeps activations and gradients in the direct kernels' blocked layout
 * between consecutive conv2d + swish steps; they must give the same bits as the
 * plain NCHW passes (ebm_net_forward + ebm_net_backward), and what they
 * keep must read back as NCHW. Run on every ISA path the CPU supports
 * (the generic one has no blocked layout: the network stays unchained). */
#include "nn/nn_testutil.h"
#include "nn/nn_internal.h"

/* Four fused steps with the awkward cases: channels not a multiple of 8,
 * stride 2 and 1, padding 2, 1 and 0, a 5×5 kernel; then a view and a
 * linear head (the chain's end converts back to NCHW). */
static const char *chain_cnn =
    "{\"input\":[3,13,11],\"layers\":["
    "{\"type\":\"conv2d\",\"name\":\"c0\",\"out\":5,\"kernel\":5,\"stride\":2,\"pad\":2},{\"type\":\"swish\"},"
    "{\"type\":\"conv2d\",\"name\":\"c1\",\"out\":7,\"kernel\":3,\"stride\":1,\"pad\":1},{\"type\":\"swish\"},"
    "{\"type\":\"conv2d\",\"name\":\"c2\",\"out\":9,\"kernel\":3,\"stride\":2,\"pad\":0},{\"type\":\"swish\"},"
    "{\"type\":\"conv2d\",\"name\":\"c3\",\"out\":4,\"kernel\":1,\"stride\":1,\"pad\":0},{\"type\":\"swish\"},"
    "{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}";

static float *copy_of(const float *p, int64_t count) {
  float *c = malloc((size_t)count * sizeof *c);
  REQUIRE(c != NULL);
  memcpy(c, p, (size_t)count * sizeof *c);
  return c;
}

/* Every layer's output of the last pass, copied (n items). */
static float **layer_outputs(ebm_net *net, int64_t n) {
  int count = ebm_net_layer_count(net);
  float **outs = calloc((size_t)count, sizeof *outs);
  REQUIRE(outs != NULL);
  for (int i = 0; i < count; i++) {
    ebm_tensor v;
    REQUIRE_OK(ebm_net_layer_output(net, i, &v));
    CHECK(v.shape[0] == n);
    outs[i] = copy_of(v.data, ebm_tensor_numel(&v));
  }
  return outs;
}

static void free_outputs(ebm_net *net, float **outs) {
  for (int i = 0; i < ebm_net_layer_count(net); i++) free(outs[i]);
  free(outs);
}

/* NaN into every stored output and gate of the n items. */
static void poison_kept(ebm_net *net, int64_t n) {
  for (int i = 0; i < net->nlayers; i++) {
    layer *l = &net->layers[i];
    for (int64_t q = 0; l->out && q < n * l->out_size; q++) l->out[q] = NAN;
    for (int64_t q = 0; l->gate && q < n * l->out_size; q++) l->gate[q] = NAN;
  }
}

/* grad_input (chained where the path can) against forward + backward
 * (never chained), for n items: energies, dE/dx and every layer output
 * bit for bit. */
static void check_chained_equals_plain(ebm_net *net, int64_t n, uint64_t seed) {
  const int64_t d = 3 * 13 * 11;
  float *x = nt_inputs(net, n, seed);
  float *e = malloc((size_t)n * sizeof *e), *e2 = malloc((size_t)n * sizeof *e2);
  float *dx = malloc((size_t)(n * d) * sizeof *dx), *dx2 = malloc((size_t)(n * d) * sizeof *dx2);
  float *ones = malloc((size_t)n * sizeof *ones);
  REQUIRE(e && e2 && dx && dx2 && ones);
  for (int64_t i = 0; i < n; i++) ones[i] = 1.0f;
  REQUIRE_OK(ebm_net_forward(net, x, NULL, n, e2));
  REQUIRE_OK(ebm_net_backward(net, ones, dx2, 0));
  float **plain = layer_outputs(net, n);
  poison_kept(net, n); /* what the chained pass keeps must come from it, not from the plain one */
  REQUIRE_OK(ebm_net_grad_input(net, x, NULL, n, e, dx));
  CHECK_EQ_INT(net->fwd_chained, net_chain_ready(net));
  CHECK_EQ_INT(net->fwd_grouped, net->fwd_chained && net->chain_grouped && net->chain_runs > 0);
  float **chained = layer_outputs(net, n); /* read back as NCHW */
  CHECK(memcmp(e, e2, (size_t)n * sizeof *e) == 0);
  CHECK(memcmp(dx, dx2, (size_t)(n * d) * sizeof *dx) == 0);
  for (int i = 0; i < ebm_net_layer_count(net); i++) {
    ebm_tensor v;
    REQUIRE_OK(ebm_net_layer_output(net, i, &v));
    if (memcmp(plain[i], chained[i], (size_t)ebm_tensor_numel(&v) * sizeof(float)) != 0) {
      printf("    layer %d differs (%s, n = %lld)\n", i, ebm_isa_name(ebm_isa_active()), (long long)n);
      CHECK(0);
    }
  }
  /* the plain backward after a chained pass reads its NCHW tensors */
  poison_kept(net, n);
  REQUIRE_OK(ebm_net_grad_input(net, x, NULL, n, e, dx));
  memset(dx, 0, (size_t)(n * d) * sizeof *dx);
  REQUIRE_OK(ebm_net_backward(net, ones, dx, 0));
  CHECK(memcmp(dx, dx2, (size_t)(n * d) * sizeof *dx) == 0);
  free_outputs(net, plain);
  free_outputs(net, chained);
  free(x), free(e), free(e2), free(dx), free(dx2), free(ones);
}

TEST(chained_fused_convs_give_the_plain_passes_bits_on_every_path) {
  int chained_paths = 0;
  for (int i = 0; i <= EBM_ISA_AVX512; i++) {
    if (!ebm_isa_supported((ebm_isa)i)) continue;
    REQUIRE_OK(ebm_isa_select((ebm_isa)i));
    for (int threads = 1; threads <= 2; threads++) {
      REQUIRE_OK(ebm_threads_init(threads));
      ebm_net *net = nt_build(chain_cnn, 21, 5);
      nt_jitter(net, 0.3f, 6);
      CHECK_EQ_INT(net->chain_links, i == EBM_ISA_GENERIC ? 0 : 3);
      CHECK_EQ_INT(net->chain_runs, i == EBM_ISA_GENERIC ? 0 : 1); /* all four steps, grouped */
      chained_paths += net->chain_links > 0;
      /* a full block, a remainder, one item, several blocks + a remainder,
       * group by group and step by step */
      const int64_t sizes[] = {8, 5, 1, 21};
      for (int grouped = 1; grouped >= 0; grouped--) {
        net->chain_grouped = grouped;
        for (int k = 0; k < 4; k++) check_chained_equals_plain(net, sizes[k], 40 + (uint64_t)k);
      }
      ebm_net_free(net);
    }
  }
  CHECK(chained_paths >= 0); /* a CPU without AVX2 runs the generic case only */
  REQUIRE_OK(ebm_isa_select(ebm_isa_best()));
}

/* A network built under one path and run under another (EBM_ISA forced
 * later, as the tests do) runs unchained and still gives the plain bits. */
TEST(chain_falls_back_to_plain_passes_when_the_path_changes) {
  if (!ebm_isa_supported(EBM_ISA_AVX2)) return;
  REQUIRE_OK(ebm_isa_select(EBM_ISA_AVX2));
  ebm_net *net = nt_build(chain_cnn, 8, 7);
  CHECK_EQ_INT(net->chain_links, 3);
  REQUIRE_OK(ebm_isa_select(EBM_ISA_GENERIC));
  CHECK_EQ_INT(net_chain_ready(net), 0);
  check_chained_equals_plain(net, 8, 50);
  ebm_net_free(net);
  REQUIRE_OK(ebm_isa_select(ebm_isa_best()));
}

/* The same run group by group (chain.c's runs: all four steps in one ops
 * call per pass) and step by step: the same energies and dE/dx, bit for
 * bit, for odd batch sizes, a batch below one group (avx512: 16 items) and
 * several groups plus a remainder, at 1 and 2 threads; and a read of the
 * layers' outputs after a grouped pass (recomputed then) gives the step-by-
 * step pass's. */
TEST(grouped_conv_run_gives_the_step_by_step_chain_bits) {
  for (int i = EBM_ISA_AVX2; i <= EBM_ISA_AVX512; i++) {
    if (!ebm_isa_supported((ebm_isa)i)) continue;
    REQUIRE_OK(ebm_isa_select((ebm_isa)i));
    for (int threads = 1; threads <= 2; threads++) {
      REQUIRE_OK(ebm_threads_init(threads));
      ebm_net *net = nt_build(chain_cnn, 37, 9);
      nt_jitter(net, 0.3f, 10);
      CHECK_EQ_INT(net->chain_runs, 1);
      const int64_t d = 3 * 13 * 11, sizes[] = {3, 7, 15, 17, 37};
      for (int k = 0; k < 5; k++) {
        const int64_t n = sizes[k];
        float *x = nt_inputs(net, n, 60 + (uint64_t)k);
        float *e[2], *dx[2], **outs[2];
        for (int g = 0; g < 2; g++) {
          e[g] = malloc((size_t)n * sizeof(float));
          dx[g] = malloc((size_t)(n * d) * sizeof(float));
          REQUIRE(e[g] && dx[g]);
          net->chain_grouped = g;
          REQUIRE_OK(ebm_net_grad_input(net, x, NULL, n, e[g], dx[g]));
          CHECK_EQ_INT(net->fwd_grouped, g);
          outs[g] = layer_outputs(net, n);
        }
        CHECK(memcmp(e[0], e[1], (size_t)n * sizeof(float)) == 0);
        CHECK(memcmp(dx[0], dx[1], (size_t)(n * d) * sizeof(float)) == 0);
        for (int l = 0; l < ebm_net_layer_count(net); l++) {
          ebm_tensor v;
          REQUIRE_OK(ebm_net_layer_output(net, l, &v));
          CHECK(memcmp(outs[0][l], outs[1][l], (size_t)ebm_tensor_numel(&v) * sizeof(float)) == 0);
        }
        for (int g = 0; g < 2; g++) free(e[g]), free(dx[g]), free_outputs(net, outs[g]);
        free(x);
      }
      ebm_net_free(net);
    }
  }
  REQUIRE_OK(ebm_threads_init(1));
  REQUIRE_OK(ebm_isa_select(ebm_isa_best()));
}

/* A chain longer than a run may be (EBM_CONV2D_RUN_MAX steps) goes step by
 * step, chained, and still gives the plain passes' bits. */
TEST(chain_longer_than_a_run_goes_step_by_step) {
  if (!ebm_isa_supported(EBM_ISA_AVX2)) return;
  REQUIRE_OK(ebm_isa_select(EBM_ISA_AVX2));
  char arch[2048] = "{\"input\":[1,6,5],\"layers\":[";
  for (int i = 0; i <= EBM_CONV2D_RUN_MAX; i++) { /* one step more than a run */
    char step[160];
    snprintf(step, sizeof step, "{\"type\":\"conv2d\",\"name\":\"c%d\",\"out\":3,\"kernel\":3,"
             "\"stride\":1,\"pad\":1},{\"type\":\"swish\"},", i);
    strcat(arch, step);
  }
  strcat(arch, "{\"type\":\"flatten\"},{\"type\":\"linear\",\"name\":\"fc\",\"out\":1}]}");
  ebm_net *net = nt_build(arch, 11, 12);
  nt_jitter(net, 0.3f, 13);
  CHECK_EQ_INT(net->chain_links, EBM_CONV2D_RUN_MAX);
  CHECK_EQ_INT(net->chain_runs, 0);
  const int64_t n = 11, d = 6 * 5;
  float *x = nt_inputs(net, n, 14), e[11], e2[11], ones[11], dx[11 * 30], dx2[11 * 30];
  for (int i = 0; i < n; i++) ones[i] = 1.0f;
  REQUIRE_OK(ebm_net_forward(net, x, NULL, n, e2));
  REQUIRE_OK(ebm_net_backward(net, ones, dx2, 0));
  REQUIRE_OK(ebm_net_grad_input(net, x, NULL, n, e, dx));
  CHECK_EQ_INT(net->fwd_chained, 1);
  CHECK_EQ_INT(net->fwd_grouped, 0);
  CHECK(memcmp(e, e2, sizeof e) == 0);
  CHECK(memcmp(dx, dx2, (size_t)(n * d) * sizeof(float)) == 0);
  free(x);
  ebm_net_free(net);
  REQUIRE_OK(ebm_isa_select(ebm_isa_best()));
}
