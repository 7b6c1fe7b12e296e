/* Spectral normalisation: power iteration converges to the largest
 * singular value (computed here independently, in double), and the passes
 * use W_orig / σ. */
#include "nn/nn_testutil.h"

/* Largest singular value of a rows×cols matrix by power iteration on WᵀW
 * in double, run to convergence (2000 iterations, relative change < 1e-14). */
static double sigma_max(const float *w, int64_t rows, int64_t cols) {
  double *v = malloc((size_t)cols * sizeof *v), *u = malloc((size_t)rows * sizeof *u);
  REQUIRE(v && u);
  for (int64_t j = 0; j < cols; j++) v[j] = 1.0 + 0.01 * (double)j;
  double sigma = 0;
  for (int it = 0; it < 2000; it++) {
    double nu = 0, nv = 0;
    for (int64_t i = 0; i < rows; i++) {
      u[i] = 0;
      for (int64_t j = 0; j < cols; j++) u[i] += w[i * cols + j] * v[j];
      nu += u[i] * u[i];
    }
    for (int64_t j = 0; j < cols; j++) {
      v[j] = 0;
      for (int64_t i = 0; i < rows; i++) v[j] += w[i * cols + j] * u[i];
      nv += v[j] * v[j];
    }
    nv = sqrt(nv);
    for (int64_t j = 0; j < cols; j++) v[j] /= nv;
    double next = nv / sqrt(nu); /* ‖WᵀW v‖ / ‖W v‖ → σ_max */
    if (fabs(next - sigma) < 1e-14 * next) {
      sigma = next;
      break;
    }
    sigma = next;
  }
  free(u);
  free(v);
  return sigma;
}

TEST(spectral_norm_sigma_converges_to_the_largest_singular_value) {
  ebm_net *net = nt_build("{\"input\":[3,6,6],\"spectral_norm\":true,\"layers\":["
                          "{\"type\":\"conv2d\",\"name\":\"c\",\"out\":5,\"stride\":2},{\"type\":\"flatten\"},"
                          "{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 2, 77);
  const char *names[] = {"c.weight_orig", "l.weight_orig"};
  ebm_param *params[2] = {ebm_net_param(net, 0), ebm_net_param(net, 2)};
  REQUIRE(strcmp(params[0]->name, names[0]) == 0 && strcmp(params[1]->name, names[1]) == 0);
  /* One iteration after init is only an estimate (a lower bound). */
  double exact[2];
  for (int k = 0; k < 2; k++) {
    ebm_tensor *w = params[k]->value;
    exact[k] = sigma_max(w->data, w->shape[0], ebm_tensor_row_size(w));
    int found = 0;
    float early = ebm_net_spectral_sigma(net, names[k], &found);
    CHECK(found);
    CHECK(early > 0 && early <= exact[k] * (1 + 1e-5));
  }
  ebm_net_spectral_update(net, 500);
  for (int k = 0; k < 2; k++) {
    float sigma = ebm_net_spectral_sigma(net, names[k], NULL);
    CHECK_NEAR(sigma, exact[k], 1e-5 * exact[k]);
  }
  /* The passes use W / σ: doubling W_orig leaves the energy unchanged. */
  float *x = nt_inputs(net, 2, 3), e1[2], e2[2];
  REQUIRE_OK(ebm_net_energy(net, x, NULL, 2, e1));
  ebm_tensor *w = params[0]->value;
  for (int64_t i = 0; i < ebm_tensor_numel(w); i++) w->data[i] *= 2.0f;
  ebm_net_spectral_update(net, 0);
  CHECK_NEAR(ebm_net_spectral_sigma(net, names[0], NULL), 2 * exact[0], 2e-5 * exact[0]);
  REQUIRE_OK(ebm_net_energy(net, x, NULL, 2, e2));
  for (int i = 0; i < 2; i++) CHECK_NEAR(e1[i], e2[i], 1e-5 * (1 + fabs(e1[i])));
  int found = 1;
  ebm_net_spectral_sigma(net, "l.bias", &found);
  CHECK(!found);
  ebm_free(x);
  ebm_net_free(net);
}

TEST(spectral_norm_power_iteration_keeps_u_v_unit_and_sigma_monotone) {
  ebm_net *net = nt_build("{\"input\":[8],\"spectral_norm\":true,\"layers\":["
                          "{\"type\":\"linear\",\"name\":\"a\",\"out\":6},{\"type\":\"linear\",\"name\":\"b\",\"out\":1}]}",
                          1, 5);
  float prev = ebm_net_spectral_sigma(net, "a.weight_orig", NULL);
  for (int it = 0; it < 10; it++) {
    ebm_net_spectral_update(net, 1);
    float s = ebm_net_spectral_sigma(net, "a.weight_orig", NULL);
    CHECK(s >= prev * (1 - 1e-6f)); /* uᵀWv after a power step never decreases */
    prev = s;
  }
  for (int i = 0; i < ebm_net_buffer_count(net); i++) {
    ebm_tensor view;
    REQUIRE_OK(ebm_net_buffer(net, i, NULL, &view));
    double n2 = 0;
    for (int64_t k = 0; k < view.shape[0]; k++) n2 += (double)view.data[k] * view.data[k];
    CHECK_NEAR(n2, 1.0, 1e-5);
  }
  ebm_net_free(net);
}
