/* Score matching (src/train/method_score.c): the two losses against hand
 * values, their parameter gradients against a double-precision reference
 * differentiated by central differences, the recovery of a Gaussian's
 * precision matrix with a quadratic energy, and the methods end to end. */
#include "train/mlp_ref.h"
#include "train/train_internal.h"
#include "train/train_testutil.h"

TEST(dsm_loss_matches_a_hand_value) {
  /* item 0: σ 0.5, x̃ − x = (0.5, 0) → target (2, 0), g (1, 1): ½·0.25·2 = 0.25
   * item 1: σ 1, x̃ − x = (0, 1) → target (0, 1), g (0, 3): ½·1·4 = 2 */
  const float g[4] = {1, 1, 0, 3}, xn[4] = {0.5f, 0, 1, 2}, x[4] = {0, 0, 1, 1}, sigma[2] = {0.5f, 1};
  float v[4];
  CHECK_NEAR(train_dsm_loss(g, xn, x, sigma, 2, 2, v), 1.125, 1e-12);
  const float want[4] = {-0.125f, 0.125f, 0, 1}; /* σ²(g − target)/n */
  for (int k = 0; k < 4; k++) CHECK_NEAR(v[k], want[k], 1e-7);
}

TEST(ssm_loss_matches_a_hand_value) {
  /* E = ½xᵀPx, P = diag(2, 3), x = (2, 1), v = (1, 0), h = 0.5:
   * ½(vᵀPx)² = 8, vᵀPv = 2 = (E(2.5, 1) − 2E(2, 1) + E(1.5, 1))/h² = (7.75 − 11 + 3.75)/0.25 */
  const float g[2] = {4, 3}, dir[2] = {1, 0}, r[1] = {1};
  const float ep[1] = {7.75f}, e0[1] = {5.5f}, em[1] = {3.75f};
  float dp[1], d0[1], dm[1];
  const double slice = train_ssm_coefficients(g, dir, r, 1, 2, 0.5, dp, d0, dm);
  CHECK_NEAR(slice, 8.0, 1e-12);
  CHECK_NEAR(slice + train_ssm_hessian_term(ep, e0, em, r, 1, 0.5), 6.0, 1e-12);
  /* −r²/h² ± a·r/(2h) with a = 4: 0, 8, −8 */
  CHECK_NEAR(dp[0], 0.0, 1e-6);
  CHECK_NEAR(d0[0], 8.0, 1e-6);
  CHECK_NEAR(dm[0], -8.0, 1e-6);
}

/* ----------------------------------------------- gradients vs reference */

enum { N = 6, D = REF_D };

typedef struct {
  int ssm;
  int only;        /* −1: every item; 0 / 1: the even / odd items alone */
  double x[N * D], xn[N * D], sigma[N], dir[N * D], r[N];
} score_problem;

/* The loss in double: dsm exactly; ssm with the Hessian term by a central
 * difference of the reference's own ∇ₓE at step 1e-5 (exact to ~1e-9). */
static double score_loss(const score_problem *p, const double *th) {
  double sum = 0;
  for (int i = 0; i < N; i++) {
    double g[D];
    if (p->only >= 0 && i % 2 != p->only) continue;
    if (!p->ssm) {
      ref_mlp_energy(th, p->xn + i * D, g);
      const double s2 = p->sigma[i] * p->sigma[i];
      for (int k = 0; k < D; k++) {
        const double d = g[k] - (p->xn[i * D + k] - p->x[i * D + k]) / s2;
        sum += 0.5 * s2 * d * d;
      }
      continue;
    }
    double xp[D], xm[D], gp[D], gm[D], a = 0, hess = 0;
    const double eps = 1e-5;
    ref_mlp_energy(th, p->x + i * D, g);
    for (int k = 0; k < D; k++) {
      xp[k] = p->x[i * D + k] + eps * p->dir[i * D + k];
      xm[k] = p->x[i * D + k] - eps * p->dir[i * D + k];
      a += p->r[i] * p->dir[i * D + k] * g[k];
    }
    ref_mlp_energy(th, xp, gp);
    ref_mlp_energy(th, xm, gm);
    for (int k = 0; k < D; k++) hess += p->dir[i * D + k] * (gp[k] - gm[k]) / (2 * eps);
    sum += -p->r[i] * p->r[i] * hess + 0.5 * a * a;
  }
  return sum / N;
}

/* The library's loss and gradient at FD step h on a fixed problem (the odd
 * items at σ sigma_odd, the even ones at sigma_even); returns the worst
 * gradient error relative to the largest component of the reference's
 * gradient, or with odd_scale of the odd items' part of it alone. */
static double score_error_at(int ssm, double h, float sigma_odd, float sigma_even, int odd_scale) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(ref_mlp_json, N, &net));
  ebm_rng rng;
  ebm_rng_init(&rng, 11);
  REQUIRE_OK(ebm_net_init(net, &rng));
  double theta[REF_NTHETA];
  ref_mlp_theta(net, theta);
  score_problem p = {.ssm = ssm, .only = -1};
  float x[N * D], xn[N * D], sigma[N], dir[N * D], r[N];
  ebm_rng_uniform(&rng, x, N * D, -1.0f, 1.0f);
  ebm_rng_normal(&rng, dir, N * D, 0.0f, 1.0f);
  for (int i = 0; i < N; i++) {
    sigma[i] = i % 2 ? sigma_odd : sigma_even;
    double r2 = 0;
    for (int k = 0; k < D; k++) r2 += (double)dir[i * D + k] * dir[i * D + k];
    r[i] = (float)sqrt(r2);
    for (int k = 0; k < D; k++) {
      dir[i * D + k] /= r[i];
      xn[i * D + k] = x[i * D + k] + sigma[i] * dir[i * D + k] * 0.7f;
    }
  }
  for (int k = 0; k < N * D; k++) {
    p.x[k] = x[k];
    p.xn[k] = xn[k];
    p.dir[k] = dir[k];
  }
  for (int i = 0; i < N; i++) {
    p.sigma[i] = sigma[i];
    p.r[i] = r[i];
  }
  train_score_work w;
  REQUIRE_OK(train_score_work_alloc(&w, N, D));
  double loss = 0;
  ebm_net_zero_grad(net);
  if (ssm)
    REQUIRE_OK(train_ssm_gradient(net, x, dir, r, N, D, h, &w, &loss));
  else
    REQUIRE_OK(train_dsm_gradient(net, NULL, xn, x, sigma, N, D, h, &w, &loss));
  const double want = score_loss(&p, theta);
  if (h <= 0.1) CHECK_NEAR(loss, want, 2e-3 * (1 + fabs(want)));

  double ref[REF_NTHETA], th[REF_NTHETA], scale = 0;
  memcpy(th, theta, sizeof th);
  for (int j = 0; j < REF_NTHETA; j++) {
    const double hj = 1e-5, keep = th[j];
    th[j] = keep + hj;
    const double a = score_loss(&p, th);
    th[j] = keep - hj;
    const double b = score_loss(&p, th);
    th[j] = keep;
    ref[j] = (a - b) / (2 * hj);
    if (odd_scale) { /* the odd items' part, weighted as in the full loss */
      p.only = 1;
      th[j] = keep + hj;
      const double ao = score_loss(&p, th);
      th[j] = keep - hj;
      const double bo = score_loss(&p, th);
      th[j] = keep;
      p.only = -1;
      scale = fmax(scale, fabs((ao - bo) / (2 * hj)));
    } else {
      scale = fmax(scale, fabs(ref[j]));
    }
  }
  if (odd_scale) printf("    the odd items' largest component %.3g\n", scale);
  REQUIRE(scale > (odd_scale ? 1e-6 : 1e-3));
  const double err = ref_mlp_grad_error(net, ref) / scale;
  train_score_work_free(&w);
  ebm_net_free(net);
  return err;
}

static double score_error(int ssm, double h) { return score_error_at(ssm, h, 0.3f, 0.5f, 0); }

TEST(dsm_parameter_gradient_matches_a_double_reference) {
  const double err = score_error(0, TRAIN_ICD_FD_STEP * 2);
  printf("    dsm gradient: worst error %.2g of the largest component\n", err);
  CHECK(err < 5e-3);
  CHECK(score_error(0, 100 * TRAIN_ICD_FD_STEP * 2) > 2e-2); /* the check can fail */
}

/* The worst error, relative to ‖u_0‖∞, of train_param_grad_along's weight
 * gradient for E = w·x + b on two items of 384 numbers (a 128-point
 * cloud): item 0 at x = 0.5 with a direction 10⁴ times shorter than item
 * 1's (at x = 0), as dsm weights σ 0.01 against σ 1. ∂(uᵀ∇ₓE)/∂w = u, so
 * the exact gradient is u_0 + u_1, and the central difference is exact
 * but for float32's rounding of x ± step. */
static double grad_along_error(int per_item) {
  enum { M = 384 };
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new("{\"input\":[384],\"layers\":[{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 2,
                         &net));
  ebm_rng rng;
  ebm_rng_init(&rng, 13);
  REQUIRE_OK(ebm_net_init(net, &rng));
  static float x[2 * M], u[2 * M], wx[2 * M];
  float de[2], e[2];
  ebm_rng_normal(&rng, u, 2 * M, 0.0f, 1.0f);
  for (int k = 0; k < M; k++) {
    x[k] = 0.5f, x[M + k] = 0.0f;
    u[k] *= 1e-4f / sqrtf((float)M); /* ‖u_0‖ ≈ 1e-4, ‖u_1‖ ≈ 1 */
    u[M + k] /= sqrtf((float)M);
  }
  ebm_net_zero_grad(net);
  REQUIRE_OK(train_param_grad_along(net, NULL, x, u, 2, M, TRAIN_ICD_FD_STEP * 2, 1.0, per_item, wx, de, e));
  REQUIRE(strcmp(ebm_net_param(net, 0)->name, "l.weight") == 0);
  const float *g = ebm_net_param(net, 0)->grad->data;
  double worst = 0, u0 = 0;
  for (int k = 0; k < M; k++) {
    worst = fmax(worst, fabs((double)g[k] - ((double)u[k] + u[M + k])));
    u0 = fmax(u0, fabs(u[k]));
  }
  ebm_net_free(net);
  return worst / u0;
}

TEST(param_grad_along_steps_each_item_by_its_own_direction_for_score_matching) {
  /* dsm at many levels: each item's own step recovers the short direction;
   * one step for the batch (set by the longest direction, improved CD's way)
   * moves item 0 by about one float32 ulp a coordinate and loses it. */
  const double own = grad_along_error(1), shared = grad_along_error(0);
  printf("    u_0's error: own step %.2g, one step for the batch %.2g (of its largest component)\n", own, shared);
  CHECK(own < 1e-2);
  CHECK(shared > 0.1);
}

TEST(ssm_parameter_gradient_matches_a_double_reference) {
  /* float32 rounding of the second difference dominates at this h (h = 0.1
   * measured 3e-4, h = 0.02 6e-3 with the scalar Box–Muller's inputs and
   * 1.0e-2 with the vectorised one's): the bound allows it, and h 100×
   * larger still fails it by 5× */
  const double err = score_error(1, TRAIN_ICD_FD_STEP * 2);
  printf("    ssm gradient: worst error %.3g of the largest component\n", err);
  CHECK(err < 2e-2);
  CHECK(score_error(1, 100 * TRAIN_ICD_FD_STEP * 2) > 5e-2);
}

/* ---------------------------------------- a Gaussian's precision matrix */

enum { G_N = 20000, G_TH = 5 };

/* E(x) = ½xᵀPx − bᵀx with θ = (P0, P1, P2, b0, b1), P = [[P0, P1], [P1, P2]],
 * fitted to G_N draws of N(m, Σ). */
typedef struct {
  int ssm;
  float *x, *xn, *dir, *r, *sg;   /* data, dsm's x̃ and σ, ssm's v̂ and ‖v‖ */
  float *g, *v, *de;              /* work */
} quad_problem;

/* dE/dθ at (a, b), added into out with weight w. */
static void add_energy_grad(double a, double b, double w, double *out) {
  out[0] += w * 0.5 * a * a;
  out[1] += w * a * b; /* P1 is both off-diagonal entries */
  out[2] += w * 0.5 * b * b;
  out[3] -= w * a;
  out[4] -= w * b;
}

/* dL/dθ of the library's loss at θ: its dL/d∇E (dsm) or its dL/dE
 * coefficients at x + h·v̂, x, x − h·v̂ (ssm), chained to θ by hand. */
static void quad_loss_grad(const quad_problem *p, const double *th, double *out) {
  const float h = 0.5f; /* the stencils are exact on a quadratic: any h */
  const float *at = p->ssm ? p->x : p->xn;
  for (int j = 0; j < G_TH; j++) out[j] = 0;
  for (int i = 0; i < G_N; i++) { /* ∇E = Px − b */
    const double a = at[2 * i], b = at[2 * i + 1];
    p->g[2 * i] = (float)(th[0] * a + th[1] * b - th[3]);
    p->g[2 * i + 1] = (float)(th[1] * a + th[2] * b - th[4]);
  }
  if (!p->ssm) {
    train_dsm_loss(p->g, p->xn, p->x, p->sg, G_N, 2, p->v);
    for (int i = 0; i < G_N; i++) { /* dL/dθ = Σ v_iᵀ ∂(Px̃ − b)/∂θ */
      const double a = p->xn[2 * i], b = p->xn[2 * i + 1], v0 = p->v[2 * i], v1 = p->v[2 * i + 1];
      out[0] += v0 * a;
      out[1] += v0 * b + v1 * a;
      out[2] += v1 * b;
      out[3] -= v0;
      out[4] -= v1;
    }
    return;
  }
  train_ssm_coefficients(p->g, p->dir, p->r, G_N, 2, h, p->de, p->de + G_N, p->de + 2 * G_N);
  for (int i = 0; i < G_N; i++)
    for (int side = -1; side <= 1; side++)
      add_energy_grad(p->x[2 * i] + side * h * p->dir[2 * i], p->x[2 * i + 1] + side * h * p->dir[2 * i + 1],
                      p->de[(1 - side) * G_N + i], out);
}

/* Both losses are quadratic in θ, so their gradient is affine: its value
 * at 0 and at the unit vectors give the Hessian, and one solve the exact
 * minimiser. Returns the largest error of P relative to the closed form
 * (dsm: (Σ̂ + σ²I)⁻¹, the noisy data's precision; ssm: Σ̂⁻¹). */
static double precision_error(int ssm) {
  const double m[2] = {0.5, -1.0}, L[3] = {1.0, 0.6, 0.5}; /* Σ = LLᵀ, L = [[1, 0], [0.6, 0.5]] */
  const float sigma = 0.3f;
  quad_problem p = {.ssm = ssm};
  p.x = malloc(sizeof(float) * 2 * G_N);
  p.xn = malloc(sizeof(float) * 2 * G_N);
  p.dir = malloc(sizeof(float) * 2 * G_N);
  p.v = malloc(sizeof(float) * 2 * G_N);
  p.g = malloc(sizeof(float) * 2 * G_N);
  p.sg = malloc(sizeof(float) * G_N);
  p.r = malloc(sizeof(float) * G_N);
  p.de = malloc(sizeof(float) * 3 * G_N);
  REQUIRE(p.x && p.xn && p.dir && p.v && p.g && p.sg && p.r && p.de);
  ebm_rng rng;
  ebm_rng_init(&rng, 21);
  double S[3] = {0, 0, 0}, mean[2] = {0, 0};
  for (int i = 0; i < G_N; i++) {
    float z[2];
    ebm_rng_normal(&rng, z, 2, 0.0f, 1.0f);
    p.x[2 * i] = (float)(m[0] + L[0] * z[0]);
    p.x[2 * i + 1] = (float)(m[1] + L[1] * z[0] + L[2] * z[1]);
    mean[0] += p.x[2 * i] / G_N;
    mean[1] += p.x[2 * i + 1] / G_N;
    ebm_rng_normal(&rng, p.dir + 2 * i, 2, 0.0f, 1.0f);
    p.sg[i] = sigma;
    p.r[i] = sqrtf(p.dir[2 * i] * p.dir[2 * i] + p.dir[2 * i + 1] * p.dir[2 * i + 1]);
    for (int k = 0; k < 2; k++) {
      p.xn[2 * i + k] = p.x[2 * i + k] + sigma * p.dir[2 * i + k];
      p.dir[2 * i + k] /= p.r[i];
    }
  }
  for (int i = 0; i < G_N; i++) {
    const double a = p.x[2 * i] - mean[0], b = p.x[2 * i + 1] - mean[1];
    S[0] += a * a / G_N;
    S[1] += a * b / G_N;
    S[2] += b * b / G_N;
  }
  if (!ssm) {
    S[0] += (double)sigma * sigma;
    S[2] += (double)sigma * sigma;
  }
  const double det = S[0] * S[2] - S[1] * S[1], want[3] = {S[2] / det, -S[1] / det, S[0] / det};

  double th[G_TH] = {0}, g0[G_TH], H[G_TH * G_TH], gj[G_TH];
  quad_loss_grad(&p, th, g0);
  for (int j = 0; j < G_TH; j++) {
    th[j] = 1;
    quad_loss_grad(&p, th, gj);
    th[j] = 0;
    for (int k = 0; k < G_TH; k++) H[k * G_TH + j] = gj[k] - g0[k];
  }
  for (int k = 0; k < G_TH; k++) th[k] = -g0[k];
  tt_solve(H, th, G_TH);
  const double pdet = th[0] * th[2] - th[1] * th[1];
  const double mu0 = (th[2] * th[3] - th[1] * th[4]) / pdet, mu1 = (th[0] * th[4] - th[1] * th[3]) / pdet;
  double err = 0;
  for (int k = 0; k < 3; k++) err = fmax(err, fabs(th[k] - want[k]) / fabs(want[0]));
  printf("    %s: P = [%.4f %.4f; %.4f] vs [%.4f %.4f; %.4f], mean (%.3f, %.3f)\n", ssm ? "ssm" : "dsm", th[0],
         th[1], th[2], want[0], want[1], want[2], mu0, mu1);
  CHECK(fabs(mu0 - mean[0]) < 0.05 && fabs(mu1 - mean[1]) < 0.05);
  free(p.x);
  free(p.xn);
  free(p.dir);
  free(p.v);
  free(p.g);
  free(p.sg);
  free(p.r);
  free(p.de);
  return err;
}

TEST(dsm_recovers_a_gaussian_precision_matrix) { CHECK(precision_error(0) < 0.03); }
TEST(ssm_recovers_a_gaussian_precision_matrix) { CHECK(precision_error(1) < 0.05); }

/* ------------------------------------------------------------ end to end */

/* A few steps of each on 8gaussians: finite losses, every step logged, and
 * resuming half-way gives the same files as a straight run. */
static void check_method_runs_and_resumes(const char *method, const char *arch) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:256", 0, 1, &ds));
  ebm_train_config c = tt_toy_config(32, 1, 6);
  REQUIRE_OK(ebm_train_config_set(&c, "method", method));
  tt_check_resume_bit_exact(ds, c, arch, NULL, 0);
  ebm_dataset_free(ds);
}

TEST(dsm_trains_a_toy_and_resumes_bit_exactly) {
  check_method_runs_and_resumes("dsm", "{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": 16, \"depth\": 2}");
}
TEST(ssm_trains_a_toy_and_resumes_bit_exactly) {
  check_method_runs_and_resumes("ssm", "{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": 16, \"depth\": 2}");
}

TEST(dsm_with_several_levels_needs_a_network_that_takes_sigma) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:64", 0, 1, &ds));
  ebm_train_config c = tt_toy_config(16, 1, 2);
  REQUIRE_OK(ebm_train_config_set(&c, "method", "dsm"));
  REQUIRE_OK(ebm_train_config_set(&c, "levels", "3"));
  ebm_net *net = tt_mlp(8, 0, 16, 1);
  ebm_trainer *t = NULL;
  CHECK(ebm_trainer_new(net, ds, &c, &t) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "dsm with 3 levels needs a network that takes the noise level") != NULL);
  CHECK(ebm_train_config_set(&c, "sigma-min", "0") == EBM_OK && ebm_train_config_check(&c) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "sigma-min must be > 0") != NULL);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}
