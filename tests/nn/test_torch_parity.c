/* PyTorch parity: ebm reproduces energies, input gradients, parameter
 * gradients and a spectral-norm power iteration of modules built by
 * scripts/make-torch-fixtures.py, within 1e-4 relative to each array's
 * largest magnitude (float32 with different summation orders agrees to
 * ~1e-6 here; 1e-4 leaves room for other BLAS builds, while any semantic
 * difference, e.g. padding, pooling borders, σ or the u vᵀ term, is 1e-2
 * or more). Checked-in fixtures always; a live run of the script when
 * /usr/bin/python3 has torch. */
#include <stdlib.h>

#include "nn/nn_testutil.h"

#define PARITY_TOL 1e-4

static double worst_seen;

static void compare(const char *what, const float *got, const float *want, int64_t n) {
  double maxabs = 0, worst = 0;
  int64_t at = 0;
  for (int64_t i = 0; i < n; i++) maxabs = fmax(maxabs, fabs(want[i]));
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]) / (maxabs > 0 ? maxabs : 1);
    if (!(d <= worst)) worst = d, at = i;
  }
  if (worst > worst_seen) worst_seen = worst;
  if (!(worst <= PARITY_TOL))
    test_fail_at(__FILE__, __LINE__, "%s: element %lld is %.9g, PyTorch %.9g (rel %.3g of max %.3g)", what,
                 (long long)at, (double)got[at], (double)want[at], worst, maxabs);
}

static void load_npy(const char *dir, const char *name, ebm_dtype dtype, int64_t count, ebm_npy *a) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  REQUIRE_OK(ebm_npy_load(path, a));
  int64_t n = 1;
  for (int d = 0; d < a->ndim; d++) n *= a->shape[d];
  REQUIRE(a->dtype == dtype && n == count);
}

static void check_uva_cnn(const char *dir) {
  char path[600];
  snprintf(path, sizeof path, "%s/uva_cnn.safetensors", dir);
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_load(path, 4, &net));
  ebm_npy x, e, dx;
  load_npy(dir, "uva_cnn_x.npy", EBM_DTYPE_F32, 4 * 784, &x);
  load_npy(dir, "uva_cnn_e.npy", EBM_DTYPE_F32, 4, &e);
  load_npy(dir, "uva_cnn_dx.npy", EBM_DTYPE_F32, 4 * 784, &dx);
  float got_e[4], *got_dx = ebm_alloc(4 * 784, sizeof(float));
  REQUIRE_OK(ebm_net_grad_input(net, x.data, NULL, 4, got_e, got_dx));
  compare("uva-cnn energy", got_e, e.data, 4);
  compare("uva-cnn dE/dx", got_dx, dx.data, 4 * 784);
  ebm_free(got_dx);
  ebm_npy_free(&x);
  ebm_npy_free(&e);
  ebm_npy_free(&dx);
  ebm_net_free(net);
}

static void check_igebm(const char *dir) {
  char path[600];
  snprintf(path, sizeof path, "%s/igebm.safetensors", dir);
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_load(path, 3, &net));
  REQUIRE(ebm_net_num_classes(net) == 3);
  ebm_npy x, y, e, dx, de, e_after;
  load_npy(dir, "igebm_x.npy", EBM_DTYPE_F32, 3 * 784, &x);
  load_npy(dir, "igebm_y.npy", EBM_DTYPE_I32, 3, &y);
  load_npy(dir, "igebm_e.npy", EBM_DTYPE_F32, 3, &e);
  load_npy(dir, "igebm_dx.npy", EBM_DTYPE_F32, 3 * 784, &dx);
  load_npy(dir, "igebm_de.npy", EBM_DTYPE_F32, 3, &de);
  load_npy(dir, "igebm_e_after.npy", EBM_DTYPE_F32, 3, &e_after);
  float got_e[3], *got_dx = ebm_alloc(3 * 784, sizeof(float));
  /* Eval mode: W = W_orig / uᵀ W_orig v with the stored u, v. */
  REQUIRE_OK(ebm_net_grad_input(net, x.data, &(ebm_cond){.labels = y.data}, 3, got_e, got_dx));
  compare("igebm energy", got_e, e.data, 3);
  compare("igebm dE/dx", got_dx, dx.data, 3 * 784);
  /* Parameter gradients, u and v constant (torch's convention). */
  ebm_net_zero_grad(net);
  REQUIRE_OK(ebm_net_backward_params(net, x.data, &(ebm_cond){.labels = y.data}, 3, de.data, got_e));
  snprintf(path, sizeof path, "%s/igebm_grads.safetensors", dir);
  ebm_safetensors *grads = NULL;
  REQUIRE_OK(ebm_safetensors_load(path, &grads));
  REQUIRE(ebm_safetensors_count(grads) == ebm_net_param_count(net));
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    ebm_param *p = ebm_net_param(net, i);
    ebm_tensor *want = ebm_tensor_clone(p->grad);
    REQUIRE_OK(ebm_safetensors_read_f32(grads, p->name, want->ndim, want->shape, want->data));
    char what[128];
    snprintf(what, sizeof what, "igebm dL/d %s", p->name);
    compare(what, p->grad->data, want->data, ebm_tensor_numel(want));
    ebm_tensor_free(want);
  }
  ebm_safetensors_free(grads);
  /* Training mode: one power iteration, then the energies. */
  ebm_net_spectral_update(net, 1);
  REQUIRE_OK(ebm_net_energy(net, x.data, &(ebm_cond){.labels = y.data}, 3, got_e));
  compare("igebm energy after one power iteration", got_e, e_after.data, 3);
  snprintf(path, sizeof path, "%s/igebm_after.safetensors", dir);
  ebm_safetensors *after = NULL;
  REQUIRE_OK(ebm_safetensors_load(path, &after));
  for (int i = 0; i < ebm_net_buffer_count(net); i++) {
    const char *name;
    ebm_tensor view;
    REQUIRE_OK(ebm_net_buffer(net, i, &name, &view));
    ebm_tensor *want = ebm_tensor_clone(&view);
    REQUIRE_OK(ebm_safetensors_read_f32(after, name, want->ndim, want->shape, want->data));
    compare(name, view.data, want->data, ebm_tensor_numel(want));
    ebm_tensor_free(want);
  }
  ebm_safetensors_free(after);
  ebm_free(got_dx);
  ebm_npy *arrays[] = {&x, &y, &e, &dx, &de, &e_after};
  for (int i = 0; i < 6; i++) ebm_npy_free(arrays[i]);
  ebm_net_free(net);
}

TEST(torch_parity_uva_cnn_energies_and_input_grads) {
  check_uva_cnn(test_fixture("torch"));
  printf("    uva-cnn: worst relative difference to PyTorch %.2g\n", worst_seen);
}

TEST(torch_parity_igebm_spectral_norm_classes_and_param_grads) {
  check_igebm(test_fixture("torch"));
  printf("    igebm: worst relative difference to PyTorch %.2g\n", worst_seen);
}

TEST(torch_parity_live_run_of_the_fixture_script) {
  if (system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") != 0) {
    printf("    note: /usr/bin/python3 cannot import torch; live PyTorch parity skipped\n");
    return;
  }
  char cmd[1024];
  const char *dir = test_path("torch");
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/scripts/make-torch-fixtures.py' --out '%s' >/dev/null",
           EBM_SOURCE_DIR, dir);
  REQUIRE(system(cmd) == 0);
  check_uva_cnn(dir);
  check_igebm(dir);
  printf("    live: worst relative difference to PyTorch %.2g\n", worst_seen);
}
