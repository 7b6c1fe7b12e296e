/* Point-cloud energies that take the noise level σ (denoising score
 * matching at many levels, issue 15): cond_affine with "channels": "last"
 * (a gain and bias per per-point feature, from σ and/or the class),
 * sigma_scale (E = σ^p·f), and examples/arch/noise-conditioned-pointnet.json
 * still exactly invariant to the order of the points. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_testutil.h"

/* point_linear 3→4 → cond_affine(COND, channels last) → swish →
 * point_pool(POOL) → linear → 1, on clouds of 6 points. */
#define LAST_NET(classes, cond, pool)                                                                 \
  "{\"input\":[1,6,3]" classes ",\"layers\":[{\"type\":\"point_linear\",\"name\":\"a\",\"out\":4},"   \
  "{\"type\":\"cond_affine\",\"name\":\"k\",\"channels\":\"last\"" cond "},{\"type\":\"swish\"},"      \
  "{\"type\":\"point_pool\"" pool "},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}"

TEST(cond_affine_channels_last_grads_match_fd_by_class_by_sigma_and_both) {
  /* Mean pooling is smooth, so the usual step; the max needs a small one
   * to keep each feature's argmax in place. Every check covers the input
   * gradient and every parameter: the class tables, σ's embedding, both. */
  nt_check_energy_fd(LAST_NET(",\"classes\":3", ",\"class\":true,\"sigma\":false", ",\"max\":false"), 3, 7100,
                     2e-2);
  nt_check_energy_fd(LAST_NET("", ",\"frequencies\":3", ",\"max\":false"), 3, 7101, 2e-2);
  nt_check_energy_fd(LAST_NET(",\"classes\":2", ",\"class\":true,\"frequencies\":2", ",\"max\":false"), 4, 7102,
                     2e-2);
  nt_check_energy_fd(LAST_NET(",\"classes\":2", ",\"class\":true", ""), 3, 7103, 1e-3);
}

/* The channels-last layer on a cloud (1, P, C) is the channels-first layer
 * on its transpose (C, P, 1): the same parameters (same names, shapes and
 * seed), the same numbers, only the axis differs. */
TEST(cond_affine_channels_last_is_channels_first_on_the_transposed_cloud) {
  enum { N = 3, P = 4, C = 3 };
  static const char *const conds[] = {"\"class\":true,\"sigma\":false", "\"frequencies\":4",
                                      "\"class\":true,\"frequencies\":4"};
  for (int v = 0; v < 3; v++) {
    char last[512], first[512];
    snprintf(last, sizeof last, "{\"input\":[1,%d,%d],\"classes\":2,\"layers\":[{\"type\":\"cond_affine\","
             "\"name\":\"k\",\"channels\":\"last\",%s}]}", P, C, conds[v]);
    snprintf(first, sizeof first, "{\"input\":[%d,%d,1],\"classes\":2,\"layers\":[{\"type\":\"cond_affine\","
             "\"name\":\"k\",%s}]}", C, P, conds[v]);
    ebm_net *a = nt_build(last, N, 7200), *b = nt_build(first, N, 7200);
    nt_jitter(a, 0.5f, 7201);
    nt_jitter(b, 0.5f, 7201);
    REQUIRE(ebm_net_param_count(a) == ebm_net_param_count(b));
    for (int i = 0; i < ebm_net_param_count(a); i++) {
      CHECK_EQ_STR(ebm_net_param(a, i)->name, ebm_net_param(b, i)->name);
      CHECK(memcmp(ebm_net_param(a, i)->value->data, ebm_net_param(b, i)->value->data,
                   (size_t)ebm_tensor_numel(ebm_net_param(a, i)->value) * sizeof(float)) == 0);
    }
    float *x = nt_inputs(a, N, 7202), xt[N * P * C], ya[N * P * C], yb[N * P * C];
    for (int i = 0; i < N; i++)
      for (int p = 0; p < P; p++)
        for (int c = 0; c < C; c++) xt[(i * C + c) * P + p] = x[(i * P + p) * C + c];
    int32_t labels[N] = {0, 1, 1};
    float sigma[N] = {0.01f, 0.3f, 1.0f};
    const ebm_cond cond = {labels, v == 0 ? NULL : sigma}; /* "classes": 2 asks for labels even unused */
    REQUIRE_OK(ebm_net_forward(a, x, &cond, N, ya));
    REQUIRE_OK(ebm_net_forward(b, xt, &cond, N, yb));
    for (int i = 0; i < N; i++)
      for (int p = 0; p < P; p++)
        for (int c = 0; c < C; c++) CHECK_NEAR(ya[(i * P + p) * C + c], yb[(i * C + c) * P + p], 1e-6);
    /* with the class alone, the tables by hand: gain[y][c]·x + bias[y][c] */
    if (v == 0) {
      const float *g = ebm_net_param(a, 0)->value->data, *bb = ebm_net_param(a, 1)->value->data;
      CHECK_EQ_STR(ebm_net_param(a, 0)->name, "k.gain");
      for (int i = 0; i < N; i++)
        for (int p = 0; p < P; p++)
          for (int c = 0; c < C; c++)
            CHECK_NEAR(ya[(i * P + p) * C + c], g[labels[i] * C + c] * x[(i * P + p) * C + c] + bb[labels[i] * C + c],
                       1e-6);
    }
    free(x);
    ebm_net_free(a);
    ebm_net_free(b);
  }
}

TEST(cond_affine_channels_key_refuses_nonsense_and_is_written_only_when_last) {
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[1,4,3],\"layers\":[{\"type\":\"cond_affine\",\"name\":\"k\","
                               "\"channels\":\"middle\"}]}", 1, &net),
                   EBM_ERR_ARG, "architecture: layer 0 (cond_affine): 'channels' must be \"first\" or \"last\"");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[1,4,3],\"layers\":[{\"type\":\"cond_affine\",\"name\":\"k\","
                               "\"channels\":2}]}", 1, &net),
                   EBM_ERR_ARG, "'channels' must be \"first\" or \"last\"");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[1,4,3],\"layers\":[{\"type\":\"swish\",\"channels\":\"last\"}]}", 1,
                               &net),
                   EBM_ERR_ARG, "layer 0 (swish) does not take 'channels'");
  CHECK(net == NULL);
  /* Earlier checkpoints' architecture JSON is what it was: the default is not written. */
  net = nt_build("{\"input\":[2,3,3],\"layers\":[{\"type\":\"cond_affine\",\"name\":\"k\"}]}", 1, 7300);
  CHECK(strstr(ebm_net_arch_json(net), "channels") == NULL);
  ebm_net_free(net);
  net = nt_build("{\"input\":[1,4,3],\"layers\":[{\"type\":\"cond_affine\",\"name\":\"k\",\"channels\":\"last\"}]}",
                 1, 7301);
  CHECK_CONTAINS(ebm_net_arch_json(net), "\"channels\":\"last\"");
  ebm_net_free(net);
}

/* σ^p·f: the energy of the scaled net is σ^p times the unscaled one's (the
 * same parameters: sigma_scale has none), its gradients match FD. */
#define SCALED_NET(tail)                                                                               \
  "{\"input\":[1,6,3],\"layers\":[{\"type\":\"point_linear\",\"name\":\"a\",\"out\":4},"               \
  "{\"type\":\"cond_affine\",\"name\":\"k\",\"channels\":\"last\",\"frequencies\":2},{\"type\":\"swish\"}," \
  "{\"type\":\"point_pool\",\"max\":false},{\"type\":\"linear\",\"name\":\"l\",\"out\":1}" tail "]}"

TEST(sigma_scale_multiplies_the_energy_by_a_power_of_sigma_and_grads_match_fd) {
  enum { N = 3 };
  ebm_net *plain = nt_build(SCALED_NET(""), N, 7400);
  ebm_net *scaled = nt_build(SCALED_NET(",{\"type\":\"sigma_scale\"}"), N, 7400);
  ebm_net *inv = nt_build(SCALED_NET(",{\"type\":\"sigma_scale\",\"power\":-1}"), N, 7400);
  float *x = nt_inputs(plain, N, 7401), sigma[N] = {0.01f, 0.2f, 1.5f}, e[N], es[N], ei[N];
  const ebm_cond cond = {NULL, sigma};
  REQUIRE_OK(ebm_net_energy(plain, x, &cond, N, e));
  REQUIRE_OK(ebm_net_energy(scaled, x, &cond, N, es));
  REQUIRE_OK(ebm_net_energy(inv, x, &cond, N, ei));
  for (int i = 0; i < N; i++) {
    CHECK_NEAR(es[i], e[i] / ((double)sigma[i] * sigma[i]), 1e-5 * fabs(es[i]) + 1e-6);
    CHECK_NEAR(ei[i], e[i] / (double)sigma[i], 1e-5 * fabs(ei[i]) + 1e-6);
  }
  CHECK_CONTAINS(ebm_net_arch_json(scaled), "{\"type\":\"sigma_scale\",\"power\":-2}");
  free(x);
  ebm_net_free(plain);
  ebm_net_free(scaled);
  ebm_net_free(inv);
  nt_check_energy_fd(SCALED_NET(",{\"type\":\"sigma_scale\",\"power\":-2}"), 3, 7402, 2e-2);
  /* alone it still makes the network take σ */
  ebm_net *only = nt_build("{\"input\":[3],\"layers\":[{\"type\":\"linear\",\"name\":\"l\",\"out\":1},"
                           "{\"type\":\"sigma_scale\",\"power\":1}]}", 2, 7403);
  CHECK(ebm_net_needs_sigma(only));
  ebm_net_free(only);
  ebm_net *net = NULL;
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[3],\"layers\":[{\"type\":\"sigma_scale\",\"power\":0}]}", 1, &net),
                   EBM_ERR_ARG, "layer 0 (sigma_scale) with \"power\": 0 scales by 1: leave the layer out");
  CHECK_FAILS_WITH(ebm_net_new("{\"input\":[3],\"layers\":[{\"type\":\"sigma_scale\",\"power\":9}]}", 1, &net),
                   EBM_ERR_ARG, "power");
  CHECK(net == NULL);
}

TEST(noise_conditioned_pointnet_is_exactly_invariant_to_point_order) {
  /* every point through the same row kernels, σ's gains included; three
   * different noise levels in the batch */
  char *json = nt_read_source_file("examples/arch/noise-conditioned-pointnet.json");
  ebm_net *net = nt_build(json, 1, 7500);
  CHECK(ebm_net_needs_sigma(net));
  CHECK_EQ_INT(ebm_net_cloud_points(net), 128);
  ebm_net_free(net);
  nt_check_exactly_invariant_to_point_order(json, 7501);
  free(json);
}
