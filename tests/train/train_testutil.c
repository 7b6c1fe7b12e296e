/* Helpers shared by the training tests (see train_testutil.h). */
#include "test_util.h"
#include "train/train_testutil.h"

ebm_net *tt_mlp(int width, int classes, int64_t batch, uint64_t seed) {
  char json[160];
  snprintf(json, sizeof json, "{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": %d, \"depth\": 2, \"classes\": %d}",
           width, classes);
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(json, batch, &net));
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  REQUIRE_OK(ebm_net_init(net, &rng));
  return net;
}

ebm_net *tt_generator(int latent, int width, int64_t batch, uint64_t seed) {
  char json[128];
  snprintf(json, sizeof json, "{\"preset\": \"mlp-generator\", \"in_dim\": %d, \"width\": %d}", latent, width);
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(json, batch, &net));
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  REQUIRE_OK(ebm_net_init(net, &rng));
  return net;
}

void tt_recipes(const ebm_dataset *ds, const char *method, const char *recipe, ebm_train_config *pcd,
                ebm_train_config *other) {
  *pcd = ebm_train_defaults();
  *other = ebm_train_defaults();
  other->method = (ebm_train_method)ebm_train_method_from_name(method);
  CHECK_EQ_STR(ebm_train_recipe_for_data(ds, pcd), recipe);
  CHECK_EQ_STR(ebm_train_recipe_for_data(ds, other), recipe);
}

ebm_train_config tt_toy_config(int64_t batch, int steps, int64_t iters) {
  ebm_train_config c = ebm_train_defaults();
  c.batch = batch;
  c.iters = iters;
  c.sampler = ebm_sampler_defaults(EBM_SAMPLER_ULA);
  c.sampler.steps = steps;
  c.sampler.step_size = 0.1f;
  c.sampler.clamp = 1;
  c.buffer_size = 2000;
  c.alpha = 0.01f;
  c.adam.lr = 1e-2f;
  c.adam.beta1 = 0.9f;
  c.adam.clip_std = 0.0f;
  c.lr_decay = EBM_LR_COSINE;
  c.range_lo = -4.0f;
  c.range_hi = 4.0f;
  return c;
}

int tt_nearest_mode(const float *p, double *dist) {
  int best = 0;
  double bd = INFINITY;
  for (int k = 0; k < 8; k++) {
    double a = 3.14159265358979323846 * k / 4, dx = p[0] - 2.5 * cos(a), dy = p[1] - 2.5 * sin(a);
    double d = sqrt(dx * dx + dy * dy);
    if (d < bd) {
      bd = d;
      best = k;
    }
  }
  if (dist) *dist = bd;
  return best;
}

double tt_test_nll(ebm_net *net, const ebm_dataset *test) {
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  double nll = NAN;
  CHECK_OK(ebm_grid_nll(en, test->x->data, test->labels && en->num_classes ? test->labels : NULL,
                        test->x->shape[0], 4.0, 128, &nll, NULL));
  ebm_energy_free(en);
  return nll;
}

void tt_solve(double *A, double *y, int n) {
  for (int c = 0; c < n; c++) {
    int piv = c;
    for (int r = c + 1; r < n; r++)
      if (fabs(A[r * n + c]) > fabs(A[piv * n + c])) piv = r;
    for (int k = 0; k < n; k++) {
      const double t = A[c * n + k];
      A[c * n + k] = A[piv * n + k];
      A[piv * n + k] = t;
    }
    const double t = y[c];
    y[c] = y[piv];
    y[piv] = t;
    for (int r = c + 1; r < n; r++) {
      const double f = A[r * n + c] / A[c * n + c];
      for (int k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
      y[r] -= f * y[c];
    }
  }
  for (int r = n - 1; r >= 0; r--) {
    for (int k = r + 1; k < n; k++) y[r] -= A[r * n + k] * y[k];
    y[r] /= A[r * n + r];
  }
}

void tt_check_resume_bit_exact(const ebm_dataset *ds, ebm_train_config c, const char *arch, char *ckpt,
                               size_t size) {
  char a[512], b[512], fa[600], fb[600];
  const int64_t iters = c.iters;
  snprintf(a, sizeof a, "%s", test_path("straight"));
  snprintf(b, sizeof b, "%s", test_path("resumed"));
  c.lr_decay = EBM_LR_CONSTANT; /* a schedule over iters would differ between the runs of N and N/2 steps */
  ebm_run_opts o = {.run_dir = a, .arch_json = arch, .save_every = 2, .log_every = 1};
  int64_t done = 0;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  CHECK_EQ_INT(done, iters);
  c.iters = iters / 2;
  o.run_dir = b;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  c.iters = iters;
  o.resume = 1;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  CHECK_EQ_INT(done, iters);
  CHECK(test_same_file(ebm_run_ckpt_path(a, fa, sizeof fa), ebm_run_ckpt_path(b, fb, sizeof fb)));
  CHECK(test_same_file(ebm_run_state_path(a, fa, sizeof fa), ebm_run_state_path(b, fb, sizeof fb)));
  if (ckpt) ebm_run_ckpt_path(a, ckpt, size);
}

void tt_directional_fd(ebm_net *net, tt_param_fn f, void *ctx, ebm_rng *rng, double *numeric, double *analytic) {
  const int np = ebm_net_param_count(net);
  float **dir = calloc((size_t)np, sizeof *dir), **base = calloc((size_t)np, sizeof *base);
  REQUIRE(dir && base);
  *analytic = 0;
  for (int i = 0; i < np; i++) {
    ebm_param *p = ebm_net_param(net, i);
    const int64_t m = ebm_tensor_numel(p->value);
    dir[i] = malloc((size_t)m * sizeof(float));
    base[i] = malloc((size_t)m * sizeof(float));
    REQUIRE(dir[i] && base[i]);
    ebm_rng_normal(rng, dir[i], m, 0.0f, 1.0f);
    memcpy(base[i], p->value->data, (size_t)m * sizeof(float));
    for (int64_t k = 0; k < m; k++) *analytic += (double)p->grad->data[k] * dir[i][k];
  }
  /* Richardson: (4·D(h/2) − D(h))/3 cancels the h² term of the central difference */
  const double h = 1e-2;
  double d[2];
  for (int r = 0; r < 2; r++) {
    const double hr = r ? h / 2 : h;
    double side[2];
    for (int s = 0; s < 2; s++) {
      for (int i = 0; i < np; i++) {
        ebm_param *p = ebm_net_param(net, i);
        for (int64_t k = 0; k < ebm_tensor_numel(p->value); k++)
          p->value->data[k] = base[i][k] + (float)((s ? -hr : hr) * dir[i][k]);
      }
      side[s] = f(ctx);
    }
    d[r] = (side[0] - side[1]) / (2 * hr);
  }
  *numeric = (4 * d[1] - d[0]) / 3;
  for (int i = 0; i < np; i++) {
    ebm_param *p = ebm_net_param(net, i);
    memcpy(p->value->data, base[i], (size_t)ebm_tensor_numel(p->value) * sizeof(float));
    free(dir[i]);
    free(base[i]);
  }
  free(dir);
  free(base);
}

ebm_dataset *tt_unlabelled_points(void) {
  float pts[64];
  for (int i = 0; i < 64; i++) pts[i] = (float)i / 64.0f;
  const int64_t shape[2] = {32, 2};
  char x[512], spec[600];
  snprintf(x, sizeof x, "%s", test_path("points.npy"));
  ebm_dataset *ds = NULL;
  snprintf(spec, sizeof spec, "npy:%s", x);
  if (ebm_npy_save(x, EBM_DTYPE_F32, 2, shape, pts) != EBM_OK || ebm_dataset_load(spec, -4, 4, &ds) != EBM_OK)
    return NULL;
  return ds;
}

ebm_dataset *tt_labelled_line(void) {
  float pts[80];
  int32_t lab[40];
  for (int i = 0; i < 40; i++) pts[2 * i] = (float)i / 10.0f, pts[2 * i + 1] = 0, lab[i] = i % 2;
  const int64_t shape[2] = {40, 2}, lshape[1] = {40};
  char x[512], yp[512], spec[1100];
  snprintf(x, sizeof x, "%s", test_path("x.npy"));
  snprintf(yp, sizeof yp, "%s", test_path("y.npy"));
  snprintf(spec, sizeof spec, "npy:%s,%s", x, yp);
  ebm_dataset *ds = NULL;
  if (ebm_npy_save(x, EBM_DTYPE_F32, 2, shape, pts) != EBM_OK ||
      ebm_npy_save(yp, EBM_DTYPE_I32, 1, lshape, lab) != EBM_OK || ebm_dataset_load(spec, -4, 4, &ds) != EBM_OK)
    return NULL;
  return ds;
}

void tt_save_random_flow(const char *path, int64_t dim, uint64_t seed) {
  ebm_flow_spec spec = ebm_flow_spec_defaults();
  REQUIRE_OK(ebm_flow_spec_parse("couplings=2,hidden=8,depth=1,actnorm=1", &spec));
  ebm_flow *f = NULL;
  REQUIRE_OK(ebm_flow_new(&spec, 1, &dim, 4, &f));
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  REQUIRE_OK(ebm_flow_init(f, &rng));
  for (int l = 0; l < ebm_flow_net_count(f); l++) /* every parameter moved off its init */
    for (int p = 0; p < ebm_net_param_count(ebm_flow_net(f, l)); p++) {
      ebm_tensor *v = ebm_net_param(ebm_flow_net(f, l), p)->value;
      for (int64_t k = 0; k < ebm_tensor_numel(v); k++) v->data[k] += (float)(0.2 * ebm_rng_gauss(&rng));
    }
  REQUIRE_OK(ebm_flow_save(f, path, 0, NULL, NULL));
  ebm_flow_free(f);
}
