/* The flow library (ebm/flow.h): the inverse undoes the forward, the exact
 * log-det equals a brute-force Jacobian determinant, q integrates to 1, the
 * input and parameter gradients of log q match central differences, the
 * energy view is −log q, checkpoints round-trip byte for byte, bad settings
 * and shapes are refused with one line. */
#include "nn/nn_testutil.h"
#include "test_util.h"

/* A flow with random (not identity) couplings: PyTorch init, then every
 * parameter jittered (the zero last layers become N(0, (0.1·rel)²)). */
static ebm_flow *make_flow(const char *spec_text, int ndim, const int64_t *shape, int64_t batch, float rel,
                           uint64_t seed) {
  ebm_flow_spec spec = ebm_flow_spec_defaults();
  REQUIRE_OK(ebm_flow_spec_parse(spec_text, &spec));
  ebm_flow *f = NULL;
  REQUIRE_OK(ebm_flow_new(&spec, ndim, shape, batch, &f));
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  REQUIRE_OK(ebm_flow_init(f, &rng));
  for (int l = 0; l < ebm_flow_net_count(f); l++) nt_jitter(ebm_flow_net(f, l), rel, seed + 1 + (uint64_t)l);
  return f;
}

static float *normal_items(int64_t count, float std, uint64_t seed) {
  float *x = ebm_alloc((size_t)count, sizeof(float));
  REQUIRE(x != NULL);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  ebm_rng_normal(&rng, x, count, 0.0f, std);
  return x;
}

static void check_inverse(const char *spec, int ndim, const int64_t *shape) {
  const int64_t n = 5;
  ebm_flow *f = make_flow(spec, ndim, shape, n, 1.0f, 3);
  const int64_t D = ebm_flow_item_size(f);
  float *x = normal_items(n * D, 1.0f, 7), *z = normal_items(n * D, 1.0f, 8), *back = normal_items(n * D, 1, 9);
  REQUIRE_OK(ebm_flow_forward(f, x, n, z, NULL));
  double moved = 0, err = 0;
  for (int64_t k = 0; k < n * D; k++) moved = fmax(moved, fabs(z[k] - x[k]));
  REQUIRE_OK(ebm_flow_inverse(f, z, n, back));
  for (int64_t k = 0; k < n * D; k++) err = fmax(err, fabs(back[k] - x[k]));
  CHECK(moved > 0.05); /* the couplings do something */
  CHECK(err < 1e-5);
  ebm_free(x);
  ebm_free(z);
  ebm_free(back);
  ebm_flow_free(f);
}

TEST(flow_inverse_undoes_forward_to_1e5_for_vectors_and_both_image_masks) {
  check_inverse("couplings=4,hidden=16", 1, (int64_t[]){5});
  check_inverse("couplings=3,hidden=8,mask=checkerboard", 3, (int64_t[]){1, 4, 4});
  check_inverse("couplings=3,hidden=8,mask=channel,depth=1", 3, (int64_t[]){2, 3, 3});
}

TEST(flow_with_actnorm_and_1x1_convolutions_inverts_to_1e5) {
  check_inverse("couplings=4,hidden=16,actnorm=1,conv1x1=1", 1, (int64_t[]){3});
  check_inverse("couplings=3,hidden=8,actnorm=1,conv1x1=1", 3, (int64_t[]){1, 4, 4});
  check_inverse("couplings=3,hidden=8,mask=channel,actnorm=1,conv1x1=1", 3, (int64_t[]){3, 2, 3});
  check_inverse("couplings=2,hidden=8,conv1x1=1", 3, (int64_t[]){2, 2, 2});
  check_inverse("couplings=2,hidden=8,actnorm=1", 1, (int64_t[]){2});
}

/* log|det| of a D×D matrix (row-major, double) by LU with partial pivoting. */
static double log_abs_det(double *a, int D) {
  double sum = 0;
  for (int c = 0; c < D; c++) {
    int p = c;
    for (int r = c + 1; r < D; r++)
      if (fabs(a[r * D + c]) > fabs(a[p * D + c])) p = r;
    for (int k = 0; k < D && p != c; k++) {
      double t = a[c * D + k];
      a[c * D + k] = a[p * D + k];
      a[p * D + k] = t;
    }
    sum += log(fabs(a[c * D + c]));
    for (int r = c + 1; r < D; r++) {
      double m = a[r * D + c] / a[c * D + c];
      for (int k = c; k < D; k++) a[r * D + k] -= m * a[c * D + k];
    }
  }
  return sum;
}

/* The Jacobian ∂z/∂x of one item by central differences (h), in double. */
static double brute_force_log_det(ebm_flow *f, const float *x, int D, double h) {
  double *jac = calloc((size_t)(D * D), sizeof *jac);
  float *xp = malloc((size_t)D * sizeof *xp), *zp = malloc((size_t)D * sizeof *zp),
        *zm = malloc((size_t)D * sizeof *zm);
  REQUIRE(jac && xp && zp && zm);
  for (int j = 0; j < D; j++) {
    memcpy(xp, x, (size_t)D * sizeof *xp);
    xp[j] = (float)(x[j] + h);
    const double hp = (double)xp[j] - x[j];
    REQUIRE_OK(ebm_flow_forward(f, xp, 1, zp, NULL));
    xp[j] = (float)(x[j] - h);
    const double hm = (double)x[j] - xp[j];
    REQUIRE_OK(ebm_flow_forward(f, xp, 1, zm, NULL));
    for (int i = 0; i < D; i++) jac[i * D + j] = ((double)zp[i] - zm[i]) / (hp + hm);
  }
  double ld = log_abs_det(jac, D);
  free(jac);
  free(xp);
  free(zp);
  free(zm);
  return ld;
}

static void check_log_det(const char *spec, int ndim, const int64_t *shape) {
  ebm_flow *f = make_flow(spec, ndim, shape, 1, 1.0f, 11);
  const int D = (int)ebm_flow_item_size(f);
  float *x = normal_items(D, 1.0f, 12), *z = normal_items(D, 1.0f, 13), ld = 0;
  REQUIRE_OK(ebm_flow_forward(f, x, 1, z, &ld));
  const double brute = brute_force_log_det(f, x, D, 1e-2);
  CHECK(fabs(ld) > 0.05); /* a non-trivial volume change */
  CHECK_NEAR(ld, brute, 2e-3 * (1 + fabs(brute)));
  ebm_free(x);
  ebm_free(z);
  ebm_flow_free(f);
}

TEST(flow_log_det_equals_a_brute_force_jacobian_determinant) {
  check_log_det("couplings=4,hidden=16", 1, (int64_t[]){3});
  check_log_det("couplings=3,hidden=8", 3, (int64_t[]){1, 3, 3});
  check_log_det("couplings=2,hidden=8,mask=channel", 3, (int64_t[]){2, 2, 2});
}

TEST(flow_log_det_with_actnorm_and_1x1_convolutions_equals_brute_force) {
  check_log_det("couplings=3,hidden=16,actnorm=1,conv1x1=1", 1, (int64_t[]){3});
  check_log_det("couplings=2,hidden=8,actnorm=1,conv1x1=1", 3, (int64_t[]){2, 2, 2});
  check_log_det("couplings=2,hidden=8,actnorm=1,conv1x1=1,mask=channel", 3, (int64_t[]){3, 2, 1});
}

TEST(flow_density_integrates_to_one_on_a_2d_grid) {
  enum { CELLS = 300 };
  const double lo = -9, hi = 9, cell = (hi - lo) / CELLS;
  ebm_flow *f = make_flow("couplings=6,hidden=16", 1, (int64_t[]){2}, CELLS, 1.0f, 21);
  float x[2 * CELLS], logq[CELLS];
  double mass = 0;
  for (int r = 0; r < CELLS; r++) {
    for (int c = 0; c < CELLS; c++) {
      x[2 * c] = (float)(lo + (c + 0.5) * cell);
      x[2 * c + 1] = (float)(lo + (r + 0.5) * cell);
    }
    REQUIRE_OK(ebm_flow_log_prob(f, x, CELLS, logq));
    for (int c = 0; c < CELLS; c++) mass += exp(logq[c]) * cell * cell;
  }
  CHECK_NEAR(mass, 1.0, 0.01);
  ebm_flow_free(f);
}

/* S = Σ_i w_i log q(x_i) in double. */
static double weighted_log_q(ebm_flow *f, const float *x, const float *w, int64_t n, float *logq) {
  REQUIRE_OK(ebm_flow_log_prob(f, x, n, logq));
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += (double)w[i] * logq[i];
  return s;
}

static void check_gradients(const char *spec, const int64_t *shape) {
  const int64_t n = 3;
  ebm_flow *f = make_flow(spec, 3, shape, n, 1.0f, 31);
  const int64_t D = ebm_flow_item_size(f);
  float *x = normal_items(n * D, 1.0f, 32), *dx = normal_items(n * D, 1, 33), w[3] = {0.7f, -1.3f, 0.4f};
  float logq[3];
  const double h = 1e-2;
  weighted_log_q(f, x, w, n, logq);
  ebm_flow_zero_grad(f);
  REQUIRE_OK(ebm_flow_log_prob_backward(f, w, dx, 1));
  double worst = 0;
  for (int64_t k = 0; k < n * D; k += 2) { /* inputs */
    const float keep = x[k];
    x[k] = (float)(keep + h);
    double sp = weighted_log_q(f, x, w, n, logq);
    x[k] = (float)(keep - h);
    double sm = weighted_log_q(f, x, w, n, logq);
    x[k] = keep;
    double fd = (sp - sm) / (2 * h);
    worst = fmax(worst, fabs(fd - dx[k]) / (fabs(fd) + 1e-1));
  }
  CHECK(worst < 5e-3);
  worst = 0;
  int checked = 0;
  for (int l = 0; l < ebm_flow_net_count(f); l++) { /* a few scalars of every parameter */
    ebm_net *net = ebm_flow_net(f, l);
    for (int p = 0; p < ebm_net_param_count(net); p++) {
      ebm_param *prm = ebm_net_param(net, p);
      for (int64_t k = 0; k < ebm_tensor_numel(prm->value); k += 7) {
        float *v = &prm->value->data[k];
        const float keep = *v;
        *v = (float)(keep + h);
        double sp = weighted_log_q(f, x, w, n, logq);
        *v = (float)(keep - h);
        double sm = weighted_log_q(f, x, w, n, logq);
        *v = keep;
        double fd = (sp - sm) / (2 * h);
        worst = fmax(worst, fabs(fd - prm->grad->data[k]) / (fabs(fd) + 1e-1));
        checked++;
      }
    }
  }
  CHECK(checked > 20);
  CHECK(worst < 5e-3);
  ebm_free(x);
  ebm_free(dx);
  ebm_flow_free(f);
}

TEST(flow_input_and_parameter_gradients_of_log_q_match_central_differences) {
  check_gradients("couplings=3,hidden=8", (int64_t[]){1, 3, 2});
}

/* Every actnorm bias / logs and every 1×1 weight entry is among the
 * scalars checked (k += 7 reaches them: C = 2 gives 2 and 4 of them). */
TEST(flow_gradients_with_actnorm_and_1x1_convolutions_match_central_differences) {
  check_gradients("couplings=2,hidden=6,actnorm=1,conv1x1=1", (int64_t[]){2, 3, 2});
  check_gradients("couplings=2,hidden=6,actnorm=1,conv1x1=1", (int64_t[]){1, 2, 3});
}

/* ebm_flow_data_init: after it, the first actnorm maps the batch to zero
 * mean and unit variance per channel (the coupling after it is still the
 * identity, so z is the actnorm's output). */
TEST(flow_data_init_gives_actnorm_zero_mean_unit_variance_on_the_batch) {
  enum { N = 64, C = 2, HW = 6 };
  ebm_flow_spec spec = ebm_flow_spec_defaults();
  REQUIRE_OK(ebm_flow_spec_parse("couplings=1,hidden=4,actnorm=1", &spec));
  ebm_flow *f = NULL;
  REQUIRE_OK(ebm_flow_new(&spec, 3, (int64_t[]){C, 2, 3}, N, &f));
  ebm_rng rng;
  ebm_rng_init(&rng, 61);
  REQUIRE_OK(ebm_flow_init(f, &rng));
  float *x = normal_items(N * C * HW, 1.0f, 62), *z = normal_items(N * C * HW, 1.0f, 63), ld[N];
  for (int i = 0; i < N; i++)
    for (int k = 0; k < HW; k++) {
      x[(i * C + 0) * HW + k] = 3.0f + 2.0f * x[(i * C + 0) * HW + k];
      x[(i * C + 1) * HW + k] = -1.0f + 0.5f * x[(i * C + 1) * HW + k];
    }
  REQUIRE_OK(ebm_flow_forward(f, x, N, z, NULL));
  CHECK(memcmp(x, z, sizeof(float) * N * C * HW) == 0); /* identity before the init */
  REQUIRE_OK(ebm_flow_data_init(f, x, N));
  REQUIRE_OK(ebm_flow_forward(f, x, N, z, ld));
  for (int c = 0; c < C; c++) {
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++)
      for (int k = 0; k < HW; k++) sum += z[(i * C + c) * HW + k];
    const double mean = sum / (N * HW);
    for (int i = 0; i < N; i++)
      for (int k = 0; k < HW; k++) sq += pow(z[(i * C + c) * HW + k] - mean, 2);
    CHECK_NEAR(mean, 0.0, 1e-5);
    CHECK_NEAR(sq / (N * HW), 1.0, 1e-4);
  }
  /* log-det = H·W·Σ logs; the batch's std per channel was about 2 and 0.5 */
  const float *logs = ebm_net_param(ebm_flow_net(f, 0), 1)->value->data;
  CHECK_NEAR(ld[0], HW * ((double)logs[0] + logs[1]), 1e-4);
  CHECK_NEAR(logs[0], -log(2.0), 0.2);
  CHECK_NEAR(logs[1], -log(0.5), 0.2);
  CHECK_EQ_STR(ebm_flow_net_name(f, 0), "actnorm_0");
  CHECK_EQ_STR(ebm_flow_net_name(f, 1), "flow_0");
  ebm_free(x);
  ebm_free(z);
  ebm_flow_free(f);
}

TEST(flow_energy_is_minus_log_q_with_its_gradient) {
  const int64_t n = 4;
  ebm_flow *f = make_flow("couplings=4,hidden=8", 1, (int64_t[]){2}, n, 1.0f, 41);
  ebm_energy *en = ebm_flow_as_energy(f);
  REQUIRE(en != NULL);
  float *x = normal_items(2 * n, 1.0f, 42), e[4], logq[4], grad[8], dx[8], w[4] = {-1, -1, -1, -1};
  REQUIRE_OK(ebm_energy_eval(en, x, NULL, n, e, grad));
  REQUIRE_OK(ebm_flow_log_prob(f, x, n, logq));
  REQUIRE_OK(ebm_flow_log_prob_backward(f, w, dx, 0));
  for (int i = 0; i < n; i++) CHECK(e[i] == -logq[i]);
  for (int k = 0; k < 2 * n; k++) CHECK(grad[k] == dx[k]);
  ebm_energy_free(en);
  ebm_free(x);
  ebm_flow_free(f);
}

TEST(flow_checkpoint_round_trip_is_byte_exact) {
  const int64_t n = 3;
  ebm_flow *f = make_flow("couplings=3,hidden=8,depth=1,mask=channel,clamp=2.5", 1, (int64_t[]){4}, n, 1.0f, 51);
  const char *a = test_path("flow.safetensors"), *b = test_path("flow2.safetensors");
  const char *keys[] = {"step"}, *values[] = {"17"};
  REQUIRE_OK(ebm_flow_save(f, a, 1, keys, values));
  ebm_flow *back = NULL;
  REQUIRE_OK(ebm_flow_load(a, n, &back));
  REQUIRE_OK(ebm_flow_save(back, b, 1, keys, values));
  CHECK(test_same_file(a, b));
  char s1[256], s2[256];
  CHECK_EQ_STR(ebm_flow_spec_format(ebm_flow_get_spec(f), s1, sizeof s1),
               ebm_flow_spec_format(ebm_flow_get_spec(back), s2, sizeof s2));
  float *x = normal_items(4 * n, 1.0f, 52), q1[3], q2[3];
  REQUIRE_OK(ebm_flow_log_prob(f, x, n, q1));
  REQUIRE_OK(ebm_flow_log_prob(back, x, n, q2));
  CHECK(memcmp(q1, q2, sizeof q1) == 0);
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(a, &st));
  CHECK(ebm_safetensors_has_flow(st));
  CHECK(ebm_safetensors_find(st, "flow_2.net.2.weight") != NULL);
  ebm_safetensors_free(st);
  ebm_free(x);
  ebm_flow_free(f);
  ebm_flow_free(back);
}

TEST(flow_glow_checkpoint_round_trip_is_byte_exact_with_pytorch_names) {
  const int64_t n = 2;
  ebm_flow *f = make_flow("couplings=2,hidden=4,depth=1,actnorm=1,conv1x1=1", 3, (int64_t[]){2, 2, 2}, n, 1.0f, 71);
  const char *a = test_path("glow.safetensors"), *b = test_path("glow2.safetensors");
  REQUIRE_OK(ebm_flow_save(f, a, 0, NULL, NULL));
  ebm_flow *back = NULL;
  REQUIRE_OK(ebm_flow_load(a, n, &back));
  REQUIRE_OK(ebm_flow_save(back, b, 0, NULL, NULL));
  CHECK(test_same_file(a, b));
  char text[256];
  CHECK_EQ_STR(ebm_flow_spec_format(ebm_flow_get_spec(back), text, sizeof text),
               "couplings=2,hidden=4,depth=1,mask=checkerboard,clamp=3,actnorm=1,conv1x1=1");
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(a, &st));
  const ebm_st_tensor *w = ebm_safetensors_find(st, "invconv_1.invconv.weight");
  REQUIRE(w != NULL);
  CHECK_EQ_INT(w->ndim, 4); /* [C, C, 1, 1] as InvConv2d.weight */
  CHECK(ebm_safetensors_find(st, "actnorm_0.actnorm.logs") != NULL);
  CHECK(ebm_safetensors_find(st, "actnorm_1.actnorm.bias") != NULL);
  CHECK(ebm_safetensors_find(st, "flow_1.net.2.weight") != NULL);
  ebm_safetensors_free(st);
  float *x = normal_items(8 * n, 1.0f, 72), q1[2], q2[2];
  REQUIRE_OK(ebm_flow_log_prob(f, x, n, q1));
  REQUIRE_OK(ebm_flow_log_prob(back, x, n, q2));
  CHECK(memcmp(q1, q2, sizeof q1) == 0);
  ebm_free(x);
  ebm_flow_free(f);
  ebm_flow_free(back);
}

/* A checkpoint whose "actnorm_0" part is some other network of the right
 * output size is refused before a pass reads its parameters. */
TEST(flow_checkpoint_with_a_wrong_glow_part_is_refused_in_one_line) {
  ebm_flow *f = make_flow("couplings=1,hidden=4,depth=1,actnorm=1", 1, (int64_t[]){2}, 2, 1.0f, 91);
  const ebm_net *nets[2];
  const char *names[2], *keys[1] = {"flow"};
  CHECK_EQ_INT(ebm_flow_parts(f, nets, names), 2);
  CHECK_EQ_STR(names[0], "actnorm_0");
  ebm_net *impostor = nt_build("{\"input\":[2],\"layers\":[{\"type\":\"linear\",\"name\":\"actnorm\",\"out\":2}]}", 2, 1);
  nets[0] = impostor;
  char spec[256];
  const char *values[1] = {ebm_flow_spec_format(ebm_flow_get_spec(f), spec, sizeof spec)};
  const char *path = test_path("impostor.safetensors");
  REQUIRE_OK(ebm_net_save_parts(path, 2, nets, names, 1, keys, values));
  ebm_flow *back = NULL;
  CHECK_FAILS_WITH(ebm_flow_load(path, 2, &back), EBM_ERR_SHAPE, "actnorm_0 is not one actnorm layer");
  CHECK(back == NULL);
  ebm_net_free(impostor);
  ebm_flow_free(f);
}

TEST(flow_bad_settings_shapes_and_files_get_one_clear_line) {
  ebm_flow_spec spec = ebm_flow_spec_defaults();
  ebm_flow *f = NULL;
  CHECK_FAILS_WITH(ebm_flow_spec_parse("couplings=0", &spec), EBM_ERR_ARG, "couplings expects an integer in [1, 64]");
  CHECK_FAILS_WITH(ebm_flow_spec_parse("mask=diagonal", &spec), EBM_ERR_ARG, "mask expects checkerboard or channel");
  CHECK_FAILS_WITH(ebm_flow_spec_parse("width=3", &spec), EBM_ERR_ARG, "unknown key 'width'");
  CHECK_FAILS_WITH(ebm_flow_spec_parse("actnorm=2", &spec), EBM_ERR_ARG, "actnorm expects an integer in [0, 1]");
  CHECK_EQ_INT(spec.couplings, 8); /* a failed parse changes nothing */
  CHECK_FAILS_WITH(ebm_flow_new(&spec, 1, (int64_t[]){1}, 4, &f), EBM_ERR_SHAPE, "at least 2 features");
  spec.mask = EBM_FLOW_MASK_CHANNEL;
  CHECK_FAILS_WITH(ebm_flow_new(&spec, 3, (int64_t[]){1, 4, 4}, 4, &f), EBM_ERR_SHAPE,
                   "the channel mask needs at least 2 channels");
  CHECK(f == NULL);
  /* a plain network checkpoint is not a flow */
  ebm_net *net = nt_build("{\"preset\":\"mlp\",\"in_dim\":2,\"width\":4,\"depth\":1}", 1, 1);
  const char *path = test_path("net.safetensors");
  REQUIRE_OK(ebm_net_save(net, path, 0, NULL, NULL));
  CHECK_FAILS_WITH(ebm_flow_load(path, 1, &f), EBM_ERR_FORMAT, "not a flow");
  ebm_net_free(net);
}
