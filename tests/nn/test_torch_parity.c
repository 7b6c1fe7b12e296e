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

/* Relative to max(largest |want|, floor). */
static void compare_floor(const char *what, const float *got, const float *want, int64_t n,
                          double floor) {
  double maxabs = floor, worst = 0;
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

static void compare(const char *what, const float *got, const float *want, int64_t n) {
  compare_floor(what, got, want, n, 0.0);
}

static void load_npy(const char *dir, const char *name, ebm_dtype dtype, int64_t count, ebm_npy *a) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  REQUIRE_OK(ebm_npy_load(path, a));
  int64_t n = 1;
  for (int d = 0; d < a->ndim; d++) n *= a->shape[d];
  REQUIRE(a->dtype == dtype && n == count);
}

/* Every parameter's grad against the same-named tensors of a file,
 * relative to the largest gradient of the whole network: a tensor whose
 * true gradient is 0 (the bias before a train-mode batch norm, whose
 * per-channel shift the normalisation removes) holds only rounding noise
 * on both sides. */
static void compare_param_grads(ebm_net *net, const char *path, const char *label) {
  ebm_safetensors *grads = NULL;
  REQUIRE_OK(ebm_safetensors_load(path, &grads));
  REQUIRE(ebm_safetensors_count(grads) == ebm_net_param_count(net));
  double largest = 0;
  for (int i = 0; i < ebm_safetensors_count(grads); i++) {
    const ebm_st_tensor *t = ebm_safetensors_at(grads, i);
    const float *v = t->data;
    for (size_t j = 0; j < t->nbytes / sizeof(float); j++) largest = fmax(largest, fabs(v[j]));
  }
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    ebm_param *p = ebm_net_param(net, i);
    ebm_tensor *want = ebm_tensor_clone(p->grad);
    REQUIRE_OK(ebm_safetensors_read_f32(grads, p->name, want->ndim, want->shape, want->data));
    char what[160];
    snprintf(what, sizeof what, "%s dL/d %s", label, p->name);
    compare_floor(what, p->grad->data, want->data, ebm_tensor_numel(want), largest);
    ebm_tensor_free(want);
  }
  ebm_safetensors_free(grads);
}

/* Every buffer against a state_dict file (I64 scalars: batch counters). */
static void compare_buffers(ebm_net *net, const char *path) {
  ebm_safetensors *after = NULL;
  REQUIRE_OK(ebm_safetensors_load(path, &after));
  for (int i = 0; i < ebm_net_buffer_count(net); i++) {
    const char *name;
    ebm_tensor view;
    REQUIRE_OK(ebm_net_buffer(net, i, &name, &view));
    if (view.ndim == 0) {
      const ebm_st_tensor *t = ebm_safetensors_find(after, name);
      REQUIRE(t && t->dtype == EBM_DTYPE_I64);
      int64_t count;
      memcpy(&count, t->data, sizeof count);
      CHECK(view.data[0] == (float)count);
      continue;
    }
    ebm_tensor *want = ebm_tensor_clone(&view);
    REQUIRE_OK(ebm_safetensors_read_f32(after, name, want->ndim, want->shape, want->data));
    compare(name, view.data, want->data, ebm_tensor_numel(want));
    ebm_tensor_free(want);
  }
  ebm_safetensors_free(after);
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
  compare_param_grads(net, path, "igebm");
  /* Training mode: one power iteration, then the energies. */
  ebm_net_spectral_update(net, 1);
  REQUIRE_OK(ebm_net_energy(net, x.data, &(ebm_cond){.labels = y.data}, 3, got_e));
  compare("igebm energy after one power iteration", got_e, e_after.data, 3);
  snprintf(path, sizeof path, "%s/igebm_after.safetensors", dir);
  compare_buffers(net, path);
  ebm_free(got_dx);
  ebm_npy *arrays[] = {&x, &y, &e, &dx, &de, &e_after};
  for (int i = 0; i < 6; i++) ebm_npy_free(arrays[i]);
  ebm_net_free(net);
}

/* A .npy of float32 (or int32 labels) if it exists; 0 when absent. */
static int try_load_npy(const char *dir, const char *prefix, const char *suffix, ebm_npy *a) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s%s", dir, prefix, suffix);
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  fclose(f);
  REQUIRE_OK(ebm_npy_load(path, a));
  return 1;
}

static int64_t npy_count(const ebm_npy *a) {
  int64_t n = 1;
  for (int d = 0; d < a->ndim; d++) n *= a->shape[d];
  return n;
}

/* One network of examples/arch against what PyTorch computed on the same
 * state: outputs, d(Σ dout·out)/dx and parameter gradients, from files
 * <prefix>_x/_y/_sigma/_out/_dout/_dx.npy and <prefix>_grads.safetensors. */
static void check_json_net(const char *dir, const char *ckpt, const char *prefix, int training) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s", dir, ckpt);
  ebm_npy x, y, sigma, out, dout, dx;
  REQUIRE(try_load_npy(dir, prefix, "_x.npy", &x));
  int has_y = try_load_npy(dir, prefix, "_y.npy", &y), has_sigma = try_load_npy(dir, prefix, "_sigma.npy", &sigma);
  REQUIRE(try_load_npy(dir, prefix, "_out.npy", &out));
  REQUIRE(try_load_npy(dir, prefix, "_dout.npy", &dout));
  REQUIRE(try_load_npy(dir, prefix, "_dx.npy", &dx));
  int64_t n = x.shape[0];
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_load(path, n, &net));
  ebm_net_set_training(net, training);
  REQUIRE(npy_count(&out) == n * ebm_net_out_size(net));
  float *got = ebm_alloc((size_t)npy_count(&out), sizeof(float));
  float *got_dx = ebm_alloc((size_t)npy_count(&x), sizeof(float));
  REQUIRE(got && got_dx);
  ebm_cond cond = {has_y ? (const int32_t *)y.data : NULL, has_sigma ? (const float *)sigma.data : NULL};
  ebm_net_zero_grad(net);
  REQUIRE_OK(ebm_net_forward(net, x.data, &cond, n, got));
  REQUIRE_OK(ebm_net_backward(net, dout.data, got_dx, 1));
  char what[160];
  snprintf(what, sizeof what, "%s output", prefix);
  compare(what, got, out.data, npy_count(&out));
  snprintf(what, sizeof what, "%s d/dx", prefix);
  compare(what, got_dx, dx.data, npy_count(&x));
  snprintf(path, sizeof path, "%s/%s_grads.safetensors", dir, prefix);
  compare_param_grads(net, path, prefix);
  /* Train mode: the running statistics after the pass match PyTorch's. */
  snprintf(path, sizeof path, "%s/%s_after.safetensors", dir, prefix);
  if (training) compare_buffers(net, path);
  ebm_free(got);
  ebm_free(got_dx);
  ebm_npy *arrays[] = {&x, &out, &dout, &dx};
  for (int i = 0; i < 4; i++) ebm_npy_free(arrays[i]);
  if (has_y) ebm_npy_free(&y);
  if (has_sigma) ebm_npy_free(&sigma);
  ebm_net_free(net);
}

static const char *const json_nets[] = {"classifier-mnist", "dcgan-generator",
                                        "noise-conditioned-energy", "video-energy", "voxel-decoder"};
#define N_JSON_NETS ((int)(sizeof json_nets / sizeof json_nets[0]))

/* PyTorch → ebm: files PyTorch wrote load here and give its numbers. */
static void check_json_nets(const char *dir) {
  for (int i = 0; i < N_JSON_NETS; i++) {
    char ckpt[128];
    snprintf(ckpt, sizeof ckpt, "%s.safetensors", json_nets[i]);
    check_json_net(dir, ckpt, json_nets[i], 0);
  }
  check_json_net(dir, "dcgan-generator.safetensors", "dcgan-generator_train", 1);
}

TEST(torch_parity_classifier_generator_and_noise_energy_from_pytorch_files) {
  check_json_nets(test_fixture("torch"));
  printf("    classifier, generator, noise energy, conv3d video energy, conv_transpose3d decoder: "
         "worst relative difference to PyTorch %.2g\n",
         worst_seen);
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
  check_json_nets(dir);
  /* ebm → PyTorch: networks `ebm init` would write load into the PyTorch
   * modules with strict=True and give the same passes. */
  for (int i = 0; i < N_JSON_NETS; i++) {
    char arch_path[600], ckpt[700];
    snprintf(arch_path, sizeof arch_path, "%s/examples/arch/%s.json", EBM_SOURCE_DIR, json_nets[i]);
    uint8_t *text = NULL;
    size_t size = 0;
    REQUIRE_OK(ebm_read_file(arch_path, 1 << 20, &text, &size));
    char *json = calloc(size + 1, 1);
    REQUIRE(json != NULL);
    memcpy(json, text, size);
    ebm_net *net = nt_build(json, 1, 7 + (uint64_t)i);
    snprintf(ckpt, sizeof ckpt, "%s/%s_ebm.safetensors", dir, json_nets[i]);
    REQUIRE_OK(ebm_net_save(net, ckpt, 0, NULL, NULL));
    ebm_net_free(net);
    free(json);
    free(text);
  }
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/scripts/make-torch-fixtures.py' --from-ebm '%s' >/dev/null",
           EBM_SOURCE_DIR, dir);
  REQUIRE(system(cmd) == 0);
  for (int i = 0; i < N_JSON_NETS; i++) {
    char ckpt[128], prefix[128];
    snprintf(ckpt, sizeof ckpt, "%s_ebm.safetensors", json_nets[i]);
    snprintf(prefix, sizeof prefix, "%s_ebm", json_nets[i]);
    check_json_net(dir, ckpt, prefix, 0);
  }
  printf("    live: worst relative difference to PyTorch %.2g\n", worst_seen);
}
