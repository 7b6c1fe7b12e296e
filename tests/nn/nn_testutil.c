/* Finite-difference checks for networks, in double precision.
 *
 * The network computes in float, so we never difference single energies.
 * We difference S(t) = Σ_i w_i E_i(x + t·d) (random item weights w_i of
 * both signs, so a mix-up between items shows) along three directions d:
 * sign(gradient) (the largest signal) and two Rademacher ones, each entry
 * times the scale of what is perturbed (1 for inputs in [-1, 1], the RMS
 * of each parameter tensor for parameters); S is summed in double and
 * compared with the analytic directional derivative Σ ⟨gradient, d⟩ of the
 * pass under test. The central difference is Richardson-extrapolated,
 * D = (4·D(h/2) − D(h)) / 3 with h = 2e-2, which cancels the O(h²)
 * truncation term; the O(h⁴) remainder is ≈ 1e-7 relative for these smooth
 * networks. What is left is float rounding in S: each E_i is off by a few
 * ulps (≈ 8·FLT_EPSILON·|E_i| at most here), and the difference divides
 * that by the step. So a direction passes when
 *   |D − analytic| ≤ 2e-3 · max(|analytic|, 1e-3 · Σ|terms|)
 *                    + 8·FLT_EPSILON·Σ|w_i E_i| / h,
 * the floor 1e-3·Σ|terms| keeping a directional derivative that happens to
 * be near 0 from being judged on noise. The largest error seen over all
 * the tests below is 3.7e-4 (5× under 2e-3), while wiring mistakes (a
 * missing shortcut term, a wrong spectral-norm correction) give errors of
 * 0.01 to 100 (checked by breaking the code on purpose).
 * Leaky-ReLU networks are piecewise linear: a step that moves a
 * pre-activation across 0 breaks the difference, so those tests use
 * h = 2e-3 (crossings become rare; between kinks Richardson is exact). */
#include "nn/nn_testutil.h"

#include <float.h>
#include <stdlib.h>

ebm_net *nt_build(const char *json, int64_t batch, uint64_t seed) {
  ebm_net *net = NULL;
  ebm_status st = ebm_net_new(json, batch, &net);
  if (st) {
    test_fail_at(__FILE__, __LINE__, "ebm_net_new: %s (%s)", ebm_last_error(), json);
    test_abort();
  }
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  REQUIRE_OK(ebm_net_init(net, &rng));
  return net;
}

char *nt_read_source_file(const char *path) {
  char full[1024];
  snprintf(full, sizeof full, "%s/%s", EBM_SOURCE_DIR, path);
  uint8_t *text = NULL;
  size_t size = 0;
  REQUIRE_OK(ebm_read_file(full, 1 << 20, &text, &size));
  char *json = malloc(size + 1);
  REQUIRE(json);
  memcpy(json, text, size);
  json[size] = '\0';
  free(text);
  return json;
}

ebm_net *nt_build_file(const char *path, int64_t batch, uint64_t seed) {
  char *json = nt_read_source_file(path);
  ebm_net *net = nt_build(json, batch, seed);
  free(json);
  return net;
}

static double rms(const float *p, int64_t count) {
  double s = 0;
  for (int64_t i = 0; i < count; i++) s += (double)p[i] * p[i];
  return count ? sqrt(s / (double)count) : 0.0;
}

void nt_jitter(ebm_net *net, float rel, uint64_t seed) {
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    ebm_tensor *v = ebm_net_param(net, i)->value;
    int64_t count = ebm_tensor_numel(v);
    double scale = rms(v->data, count);
    for (int64_t k = 0; k < count; k++)
      v->data[k] += (float)((scale > 1e-3 ? scale : 0.1) * rel * ebm_rng_gauss(&rng));
  }
  /* Re-converge u, v to the new weights, as training would. */
  ebm_net_spectral_update(net, 30);
}

static int64_t item_size(const ebm_net *net) {
  int64_t s = 1;
  for (int d = 0; d < ebm_net_item_ndim(net); d++) s *= ebm_net_item_shape(net)[d];
  return s;
}

float *nt_inputs(const ebm_net *net, int64_t n, uint64_t seed) {
  float *x = ebm_alloc((size_t)(n * item_size(net)), sizeof(float));
  REQUIRE(x != NULL);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  ebm_rng_uniform(&rng, x, n * item_size(net), -1.0f, 1.0f);
  return x;
}

int32_t *nt_labels(const ebm_net *net, int64_t n, uint64_t seed) {
  int k = ebm_net_num_classes(net);
  if (k == 0) return NULL;
  int32_t *y = malloc((size_t)n * sizeof *y);
  REQUIRE(y != NULL);
  ebm_rng rng;
  ebm_rng_init(&rng, seed ^ 0x5eed);
  for (int64_t i = 0; i < n; i++) y[i] = (int32_t)ebm_rng_below(&rng, (uint32_t)k);
  return y;
}

/* Random weights of both signs, magnitude in [0.5, 1.5]. */
static void item_weights(double *w, int64_t n, ebm_rng *rng) {
  for (int64_t i = 0; i < n; i++) w[i] = (ebm_rng_u32(rng) & 1 ? 1.0 : -1.0) * (0.5 + ebm_rng_double(rng));
}

float *nt_sigmas(const ebm_net *net, int64_t n, uint64_t seed) {
  if (!ebm_net_needs_sigma(net)) return NULL;
  float *s = malloc((size_t)n * sizeof *s);
  REQUIRE(s != NULL);
  ebm_rng rng;
  ebm_rng_init(&rng, seed ^ 0x5161);
  for (int64_t i = 0; i < n; i++) s[i] = (float)(0.05 + 1.95 * ebm_rng_double(&rng));
  return s;
}

/* What one FD check runs on: the inputs, the conditioning (labels and
 * noise levels when the network takes them), and whether the network is
 * seen through the energy passes (one value per item) or through
 * ebm_net_forward / ebm_net_backward (K values per item). */
typedef struct {
  ebm_net *net;
  int64_t n, k;          /* items, values per item */
  int vector;
  int32_t *y;
  float *sigma;
  ebm_cond cond;
  double *w;             /* [n·k] weights of S */
  float *out;            /* [n·k] */
} fd_case;

static void fd_case_init(fd_case *c, ebm_net *net, int64_t n, uint64_t seed, int vector) {
  memset(c, 0, sizeof *c);
  c->net = net;
  c->n = n;
  c->vector = vector;
  c->k = vector ? ebm_net_out_size(net) : 1;
  c->y = nt_labels(net, n, seed);
  c->sigma = nt_sigmas(net, n, seed);
  c->cond = (ebm_cond){c->y, c->sigma};
  c->w = malloc((size_t)(n * c->k) * sizeof *c->w);
  c->out = malloc((size_t)(n * c->k) * sizeof *c->out);
  REQUIRE(c->w && c->out);
}

static void fd_case_free(fd_case *c) {
  free(c->y);
  free(c->sigma);
  free(c->w);
  free(c->out);
}

/* S = Σ w_j out_j, summed in double; *abs_sum gets Σ |w_j out_j|. */
static double weighted_energy(fd_case *c, const float *x, double *abs_sum) {
  if (c->vector) REQUIRE_OK(ebm_net_forward(c->net, x, &c->cond, c->n, c->out));
  else REQUIRE_OK(ebm_net_energy(c->net, x, &c->cond, c->n, c->out));
  double s = 0, a = 0;
  for (int64_t i = 0; i < c->n * c->k; i++) s += c->w[i] * c->out[i], a += fabs(c->w[i] * c->out[i]);
  *abs_sum = a;
  return s;
}

/* Judges one direction: see the error budget at the top. */
static double judge(const char *what, int dir, double an, double rich, double mass,
                    double abs_energy) {
  double noise = 8 * FLT_EPSILON * abs_energy / nt_fd_step;
  double scale = fmax(fabs(an), 1e-3 * mass);
  double err = fabs(rich - an) / (scale + noise / NT_FD_TOL);
  if (getenv("NT_DEBUG"))
    fprintf(stderr, "%s dir %d: analytic %.9g fd %.9g mass %.3g |E| %.3g rel %.3g\n", what, dir, an,
            rich, mass, abs_energy, err);
  if (err > NT_FD_TOL)
    test_fail_at(__FILE__, __LINE__, "%s direction %d: analytic %.9g, finite difference %.9g (rel %.3g)",
                 what, dir, an, rich, err);
  return err;
}

static double rademacher(ebm_rng *rng) { return ebm_rng_u32(rng) & 1 ? 1.0 : -1.0; }

double nt_fd_step = 2e-2;
#define NT_H nt_fd_step

/* dS/dx: with the vector API one backward pass from dout = w; with the
 * energy API dE_i/dx scaled by w_i. */
static void analytic_input_grad(fd_case *c, const float *x, float *dx) {
  int64_t item = item_size(c->net);
  if (c->vector) {
    float *dout = malloc((size_t)(c->n * c->k) * sizeof *dout);
    REQUIRE(dout != NULL);
    for (int64_t j = 0; j < c->n * c->k; j++) dout[j] = (float)c->w[j];
    REQUIRE_OK(ebm_net_forward(c->net, x, &c->cond, c->n, c->out));
    REQUIRE_OK(ebm_net_backward(c->net, dout, dx, 0));
    free(dout);
    return;
  }
  REQUIRE_OK(ebm_net_grad_input(c->net, x, &c->cond, c->n, c->out, dx));
  for (int64_t j = 0; j < c->n * item; j++) dx[j] = (float)(dx[j] * c->w[j / item]);
}

static double check_input_grad(ebm_net *net, int64_t n, uint64_t seed, int vector) {
  int64_t size = n * item_size(net);
  float *x = nt_inputs(net, n, seed), *xp = nt_inputs(net, n, seed), *dx = nt_inputs(net, n, seed);
  fd_case c;
  fd_case_init(&c, net, n, seed, vector);
  double *d = malloc((size_t)size * sizeof *d);
  REQUIRE(d != NULL);
  ebm_rng rng;
  ebm_rng_init(&rng, seed + 1);
  item_weights(c.w, n * c.k, &rng);
  analytic_input_grad(&c, x, dx);
  double worst = 0;
  for (int dir = 0; dir < 3; dir++) {
    double an = 0, mass = 0;
    for (int64_t j = 0; j < size; j++) {
      d[j] = dir == 0 ? (dx[j] >= 0 ? 1.0 : -1.0) : rademacher(&rng);
      double term = dx[j] * d[j];
      an += term;
      mass += fabs(term);
    }
    double fd[2], abs_energy = 0;
    for (int k = 0; k < 2; k++) {
      double h = NT_H / (k + 1), s[2];
      for (int sgn = 0; sgn < 2; sgn++) {
        for (int64_t j = 0; j < size; j++) xp[j] = (float)(x[j] + (sgn ? -h : h) * d[j]);
        s[sgn] = weighted_energy(&c, xp, &abs_energy);
      }
      fd[k] = (s[0] - s[1]) / (2 * h);
    }
    double err = judge("input gradient", dir, an, (4 * fd[1] - fd[0]) / 3, mass, abs_energy);
    if (err > worst) worst = err;
  }
  ebm_free(x);
  ebm_free(xp);
  ebm_free(dx);
  fd_case_free(&c);
  free(d);
  return worst;
}

double nt_check_input_grad(ebm_net *net, int64_t n, uint64_t seed) {
  return check_input_grad(net, n, seed, 0);
}

double nt_check_output_input_grad(ebm_net *net, int64_t n, uint64_t seed) {
  return check_input_grad(net, n, seed, 1);
}

static double check_param_grad(ebm_net *net, int64_t n, uint64_t seed, int vector) {
  int np = ebm_net_param_count(net);
  float *x = nt_inputs(net, n, seed);
  fd_case c;
  fd_case_init(&c, net, n, seed, vector);
  ebm_rng rng;
  ebm_rng_init(&rng, seed + 2);
  item_weights(c.w, n * c.k, &rng);
  float *dout = malloc((size_t)(n * c.k) * sizeof *dout);
  REQUIRE(dout != NULL);
  for (int64_t i = 0; i < n * c.k; i++) dout[i] = (float)c.w[i];
  ebm_net_zero_grad(net);
  if (vector) {
    REQUIRE_OK(ebm_net_forward(net, x, &c.cond, n, c.out));
    REQUIRE_OK(ebm_net_backward(net, dout, NULL, 1));
  } else {
    REQUIRE_OK(ebm_net_backward_params(net, x, &c.cond, n, dout, c.out));
  }
  /* Originals and a direction per parameter. */
  float **orig = calloc((size_t)np, sizeof *orig);
  double **d = calloc((size_t)np, sizeof *d);
  REQUIRE(orig && d);
  for (int p = 0; p < np; p++) {
    ebm_tensor *v = ebm_net_param(net, p)->value;
    orig[p] = ebm_alloc((size_t)ebm_tensor_numel(v), sizeof(float));
    d[p] = malloc((size_t)ebm_tensor_numel(v) * sizeof **d);
    REQUIRE(orig[p] && d[p]);
    memcpy(orig[p], v->data, (size_t)ebm_tensor_numel(v) * sizeof(float));
  }
  double worst = 0;
  for (int dir = 0; dir < 3; dir++) {
    double an = 0, mass = 0;
    for (int p = 0; p < np; p++) {
      ebm_param *prm = ebm_net_param(net, p);
      int64_t count = ebm_tensor_numel(prm->value);
      double scale = rms(orig[p], count);
      if (scale == 0) scale = 1e-2;
      for (int64_t j = 0; j < count; j++) {
        d[p][j] = (dir == 0 ? (prm->grad->data[j] >= 0 ? 1.0 : -1.0) : rademacher(&rng)) * scale;
        double term = prm->grad->data[j] * d[p][j];
        an += term;
        mass += fabs(term);
      }
    }
    double fd[2], abs_energy = 0;
    for (int k = 0; k < 2; k++) {
      double h = NT_H / (k + 1), s[2];
      for (int sgn = 0; sgn < 2; sgn++) {
        for (int p = 0; p < np; p++) {
          ebm_tensor *v = ebm_net_param(net, p)->value;
          for (int64_t j = 0; j < ebm_tensor_numel(v); j++)
            v->data[j] = (float)(orig[p][j] + (sgn ? -h : h) * d[p][j]);
        }
        ebm_net_spectral_update(net, 0); /* u, v fixed: torch's gradient convention */
        s[sgn] = weighted_energy(&c, x, &abs_energy);
      }
      fd[k] = (s[0] - s[1]) / (2 * h);
    }
    double err = judge("parameter gradient", dir, an, (4 * fd[1] - fd[0]) / 3, mass, abs_energy);
    if (err > worst) worst = err;
  }
  for (int p = 0; p < np; p++) {
    ebm_tensor *v = ebm_net_param(net, p)->value;
    memcpy(v->data, orig[p], (size_t)ebm_tensor_numel(v) * sizeof(float));
    ebm_free(orig[p]);
    free(d[p]);
  }
  ebm_net_spectral_update(net, 0);
  free(orig);
  free(d);
  free(dout);
  ebm_free(x);
  fd_case_free(&c);
  return worst;
}

double nt_check_param_grad(ebm_net *net, int64_t n, uint64_t seed) {
  return check_param_grad(net, n, seed, 0);
}

double nt_check_output_param_grad(ebm_net *net, int64_t n, uint64_t seed) {
  return check_param_grad(net, n, seed, 1);
}

void nt_check_pass_consistency(ebm_net *net, int64_t n, uint64_t seed) {
  int64_t size = n * item_size(net);
  float *x = nt_inputs(net, n, seed), *dx = nt_inputs(net, n, seed);
  int32_t *y = nt_labels(net, n, seed);
  float *sigma = nt_sigmas(net, n, seed);
  const ebm_cond cond = {y, sigma};
  float e1[64], e2[64], e3[64], de[64];
  REQUIRE(n <= 64);
  for (int64_t i = 0; i < n; i++) de[i] = 0.5f + (float)i;
  REQUIRE_OK(ebm_net_energy(net, x, &cond, n, e1));
  /* grad_input must not touch parameter gradients. */
  int np = ebm_net_param_count(net);
  for (int p = 0; p < np; p++) {
    ebm_tensor *g = ebm_net_param(net, p)->grad;
    for (int64_t j = 0; j < ebm_tensor_numel(g); j++) g->data[j] = 7.0f;
  }
  REQUIRE_OK(ebm_net_grad_input(net, x, &cond, n, e2, dx));
  int untouched = 1;
  for (int p = 0; p < np; p++) {
    ebm_tensor *g = ebm_net_param(net, p)->grad;
    for (int64_t j = 0; j < ebm_tensor_numel(g); j++) untouched &= g->data[j] == 7.0f;
  }
  CHECK(untouched);
  for (int64_t i = 0; i < n; i++) CHECK(e1[i] == e2[i]);
  for (int64_t j = 0; j < size; j++) CHECK(isfinite(dx[j]));
  /* backward_params accumulates: twice from zero is twice once. */
  ebm_net_zero_grad(net);
  REQUIRE_OK(ebm_net_backward_params(net, x, &cond, n, de, e3));
  for (int64_t i = 0; i < n; i++) CHECK(e1[i] == e3[i]);
  ebm_tensor **once = calloc((size_t)np, sizeof *once);
  REQUIRE(once);
  double total = 0;
  for (int p = 0; p < np; p++) {
    once[p] = ebm_tensor_clone(ebm_net_param(net, p)->grad);
    total += rms(once[p]->data, ebm_tensor_numel(once[p]));
  }
  CHECK(total > 0);
  REQUIRE_OK(ebm_net_backward_params(net, x, &cond, n, de, e3));
  for (int p = 0; p < np; p++) {
    /* Equal up to float rounding: the second pass adds in another order. */
    ebm_tensor *g = ebm_net_param(net, p)->grad;
    double tol = 1e-5 * rms(once[p]->data, ebm_tensor_numel(g)) + 1e-30;
    for (int64_t j = 0; j < ebm_tensor_numel(g); j++)
      CHECK_NEAR(g->data[j], 2.0 * once[p]->data[j], tol);
    ebm_tensor_free(once[p]);
  }
  free(once);
  ebm_net_zero_grad(net);
  ebm_free(x);
  ebm_free(dx);
  free(y);
  free(sigma);
}

void nt_check_layer(const ebm_net *net, int index, const char *type, int64_t a, int64_t b, int64_t c,
                    int64_t params) {
  ebm_layer_info info;
  REQUIRE_OK(ebm_net_layer_info(net, index, &info));
  CHECK(strcmp(info.type, type) == 0);
  CHECK_EQ_INT(info.out_ndim, c ? 3 : 1);
  CHECK_EQ_INT((int)info.out_shape[0], (int)a);
  if (c) {
    CHECK_EQ_INT((int)info.out_shape[1], (int)b);
    CHECK_EQ_INT((int)info.out_shape[2], (int)c);
  }
  CHECK_EQ_INT((int)info.num_params, (int)params);
}

/* Item i's points in the order perm (the same permutation for each item). */
static void permute_points(const float *x, int64_t n, int64_t p, const int64_t *perm, float *out) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < p; j++) memcpy(out + (i * p + j) * 3, x + (i * p + perm[j]) * 3, 3 * sizeof(float));
}

/* Bit-identical energies and gradients that move with their points, for a
 * reversal and a random shuffle of clouds of P = 128 points. */
void nt_check_exactly_invariant_to_point_order(const char *json, uint64_t seed) {
  enum { N = 3, P = 128 };
  ebm_net *net = nt_build(json, N, seed);
  nt_jitter(net, 0.3f, seed + 1);
  float *x = nt_inputs(net, N, seed + 2), *xp = malloc(sizeof(float) * N * P * 3);
  float *g = malloc(sizeof(float) * N * P * 3), *gp = malloc(sizeof(float) * N * P * 3);
  float *g_back = malloc(sizeof(float) * N * P * 3);
  int64_t perm[P];
  ebm_rng rng;
  ebm_rng_init(&rng, seed + 3);
  float e[N], ep[N];
  int32_t *labels = nt_labels(net, N, seed + 4); /* NULL for an unconditional net */
  for (int i = 0; labels && i < N; i++) labels[i] = i % ebm_net_num_classes(net); /* every class */
  float *sigma = nt_sigmas(net, N, seed + 5);     /* NULL unless the net takes noise levels */
  const ebm_cond cond = {.labels = labels, .sigma = sigma}, *cp = labels || sigma ? &cond : NULL;
  REQUIRE_OK(ebm_net_grad_input(net, x, cp, N, e, g));
  for (int trial = 0; trial < 2; trial++) {
    for (int j = 0; j < P; j++) perm[j] = trial == 0 ? P - 1 - j : j;
    for (int j = P - 1; trial == 1 && j > 0; j--) { /* Fisher–Yates */
      int64_t k = ebm_rng_below(&rng, (uint32_t)j + 1), t = perm[j];
      perm[j] = perm[k];
      perm[k] = t;
    }
    permute_points(x, N, P, perm, xp);
    REQUIRE_OK(ebm_net_grad_input(net, xp, cp, N, ep, gp));
    for (int i = 0; i < N; i++) CHECK(memcmp(&e[i], &ep[i], sizeof(float)) == 0);
    permute_points(g, N, P, perm, g_back);
    CHECK(memcmp(g_back, gp, sizeof(float) * N * P * 3) == 0);
  }
  free(x), free(xp), free(g), free(gp), free(g_back), free(labels), free(sigma);
  ebm_net_free(net);
}

void nt_check_energy_fd(const char *json, int64_t n, uint64_t seed, double step) {
  nt_fd_step = step;
  ebm_net *net = nt_build(json, n, seed);
  nt_jitter(net, 0.3f, seed + 11);
  nt_check_pass_consistency(net, n, seed);
  nt_check_input_grad(net, n, seed);
  nt_check_param_grad(net, n, seed);
  ebm_net_free(net);
}
