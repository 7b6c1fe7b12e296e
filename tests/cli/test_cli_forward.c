/* CLI: ebm init --arch-json / info / forward on the three example networks
 * (examples/arch: a classifier, a generator, a noise-conditioned energy),
 * and the errors a user sees for missing or unwanted conditioning. */
#include "test.h"

static void expect(cli_result r, int code, const char *out_part, const char *err_part) {
  CHECK_EQ_INT(r.code, code);
  if (out_part) CHECK_CONTAINS(r.out, out_part);
  if (err_part) CHECK_CONTAINS(r.err, err_part);
  cli_result_free(&r);
}

static void write_inputs(const char *path, int ndim, const int64_t *shape) {
  int64_t count = 1;
  for (int d = 0; d < ndim; d++) count *= shape[d];
  float *x = malloc((size_t)count * sizeof *x);
  REQUIRE(x != NULL);
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  ebm_rng_uniform(&rng, x, count, 0.0f, 1.0f);
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, ndim, shape, x));
  free(x);
}

static void read_shape(const char *path, int ndim, const int64_t *want) {
  ebm_npy a;
  REQUIRE_OK(ebm_npy_load(path, &a));
  CHECK_EQ_INT(a.ndim, ndim);
  for (int d = 0; d < ndim && d < a.ndim; d++) CHECK_EQ_INT(a.shape[d], want[d]);
  const float *v = a.data;
  for (int64_t i = 0; i < want[0]; i++) CHECK(isfinite(v[i]));
  ebm_npy_free(&a);
}

TEST(cli_forward_runs_a_classifier_a_generator_and_a_noise_energy) {
  const char *m = test_path("m.safetensors"), *x = test_path("x.npy"), *o = test_path("o.npy");
  const char *s = test_path("s.npy");
  /* classifier: 10 logits per image */
  expect(run_cli("init --arch-json %s/examples/arch/classifier-mnist.json --out %s", EBM_SOURCE_DIR, m), 0,
         "parameters", NULL);
  expect(run_cli("info %s", m), 0, "input 1x28x28, output 10", NULL);
  int64_t img[4] = {5, 1, 28, 28};
  write_inputs(x, 4, img);
  expect(run_cli("forward --ckpt %s --input %s --out %s --batch 2", m, x, o), 0, "[5,10] outputs", NULL);
  read_shape(o, 2, (int64_t[]){5, 10});
  /* generator: 64-d z → 1×28×28 */
  expect(run_cli("init --arch-json %s/examples/arch/dcgan-generator.json --seed 2 --force --out %s", EBM_SOURCE_DIR, m),
         0, NULL, NULL);
  expect(run_cli("info %s", m), 0, "batchnorm2d", NULL);
  int64_t z[2] = {3, 64};
  write_inputs(x, 2, z);
  expect(run_cli("forward --ckpt %s --input %s --out %s", m, x, o), 0, "[3,1,28,28] outputs", NULL);
  read_shape(o, 4, (int64_t[]){3, 1, 28, 28});
  expect(run_cli("forward --ckpt %s --input %s --out %s --train-mode", m, x, o), 0, NULL, NULL);
  /* noise-conditioned energy: needs --sigma */
  expect(run_cli("init --arch-json %s/examples/arch/noise-conditioned-energy.json --force --out %s", EBM_SOURCE_DIR, m),
         0, NULL, NULL);
  expect(run_cli("info %s", m), 0, "noise-conditioned", NULL);
  write_inputs(x, 4, img);
  expect(run_cli("forward --ckpt %s --input %s --out %s", m, x, o), 2, NULL, "--sigma is required");
  float sig[5] = {0.1f, 0.2f, 0.5f, 1.0f, 0.05f};
  int64_t n = 5;
  REQUIRE_OK(ebm_npy_save(s, EBM_DTYPE_F32, 1, &n, sig));
  expect(run_cli("forward --ckpt %s --input %s --sigma %s --out %s", m, x, s, o), 0, "[5,1] outputs", NULL);
  /* ebm energy takes the same noise levels and gives the same numbers */
  char e_path[512];
  snprintf(e_path, sizeof e_path, "%s", test_path("e.npy"));
  expect(run_cli("energy --ckpt %s --input %s --out %s", m, x, e_path), 2, NULL, "--sigma is required");
  expect(run_cli("energy --ckpt %s --input %s --sigma %s --out %s", m, x, s, e_path), 0, "wrote", NULL);
  ebm_npy fo, eo;
  REQUIRE_OK(ebm_npy_load(o, &fo));
  REQUIRE_OK(ebm_npy_load(e_path, &eo));
  REQUIRE(fo.shape[0] == 5 && eo.shape[0] == 5);
  CHECK(memcmp(fo.data, eo.data, 5 * sizeof(float)) == 0);
  ebm_npy_free(&fo);
  ebm_npy_free(&eo);
  sig[3] = -1.0f;
  REQUIRE_OK(ebm_npy_save(s, EBM_DTYPE_F32, 1, &n, sig));
  expect(run_cli("forward --ckpt %s --input %s --sigma %s --out %s", m, x, s, o), 1, NULL,
         "noise level -1 at index 3 is not a positive number");
  expect(run_cli("forward --ckpt %s --out %s", m, o), 2, NULL, "--ckpt, --input and --out are required");
}
