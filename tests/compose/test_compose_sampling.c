/* Sampling compositions on the 2-D toys: AND, OR and AND NOT sampled by
 * HMC / MALA must match the exactly composed density, normalised on a
 * grid, in KL — with the same statistic for exact iid draws as the yardstick
 * (as tests/sample/test_sample_toys.c does for the toys themselves).
 *
 * Mode weights need care: the toys' modes are 7–8σ apart, so a chain never
 * crosses between them at T = 1 and a product that reweights modes could
 * not be checked from noise. The AND and AND NOT targets are therefore
 * 8gaussians times a rotation-invariant Gaussian: still 8-fold symmetric,
 * so every mode keeps 1/8 of the mass at any temperature and tempered chains
 * (hot → cold) get the weights right, while each mode moves and shrinks or
 * widens (that is what the check sees). The OR target mixes rings with a
 * broad Gaussian that fills the gaps between the rings, so chains move
 * between the components at T = 1 and the mixture weights are checked
 * directly. */
#include "test.h"

#define CHAINS 10000
#define EXTENT 6.5 /* the grid covers [-6.5, 6.5]² (the OR's broad Gaussian reaches past ±4) */
#define GRID 65  /* bins per axis: 0.2 wide */
#define SIGMA_8G 0.25
#define RADIUS_8G 2.5
#define PI 3.14159265358979323846

/* Unnormalised log-densities at n points (n×2) into lp. */
typedef void (*log_density_fn)(const double *xy, int64_t n, double *lp);

/* --------------------------------------------------------- the targets */

static void log_p8(const double *xy, int64_t n, double *lp) {
  REQUIRE_OK(ebm_toy_log_density(EBM_TOY_8GAUSSIANS, xy, n, lp));
}

static void log_rings(const double *xy, int64_t n, double *lp) {
  REQUIRE_OK(ebm_toy_log_density(EBM_TOY_RINGS, xy, n, lp));
}

/* AND: 8gaussians at T = 1.3 times N(0, I) with weight 0.8. */
#define AND_T 1.3
#define AND_W 0.8
static void log_and(const double *xy, int64_t n, double *lp) {
  log_p8(xy, n, lp);
  for (int64_t i = 0; i < n; i++) lp[i] = lp[i] / AND_T - AND_W * 0.5 * (xy[2 * i] * xy[2 * i] + xy[2 * i + 1] * xy[2 * i + 1]);
}

/* AND NOT: 8gaussians / N(0, I)^α with α = 1 (pushes each mode outward). */
#define NOT_ALPHA 1.0
static void log_not(const double *xy, int64_t n, double *lp) {
  log_p8(xy, n, lp);
  for (int64_t i = 0; i < n; i++) lp[i] += NOT_ALPHA * 0.5 * (xy[2 * i] * xy[2 * i] + xy[2 * i + 1] * xy[2 * i + 1]);
}

/* OR: 0.4·rings + 0.6·N(0, 1.5² I), both normalised. */
#define OR_W 0.4
#define OR_S 1.5
static void log_or(const double *xy, int64_t n, double *lp) {
  log_rings(xy, n, lp);
  for (int64_t i = 0; i < n; i++) {
    double r2 = xy[2 * i] * xy[2 * i] + xy[2 * i + 1] * xy[2 * i + 1];
    double a = log(OR_W) + lp[i], b = log(1.0 - OR_W) - r2 / (2 * OR_S * OR_S) - log(2 * PI * OR_S * OR_S);
    double m = a > b ? a : b;
    lp[i] = m + log(exp(a - m) + exp(b - m));
  }
}

/* ----------------------------------------------------- exact iid draws */

/* 8 Gaussian modes of precision `prec` at radius `radius`, 1/8 each: the
 * exact AND / AND NOT targets (the modes' overlap is below 1e-40, so the
 * product of each mode with the isotropic Gaussian is the whole story). */
static void draw_modes(ebm_rng *rng, double radius, double prec, float *x) {
  for (int64_t i = 0; i < CHAINS; i++) {
    int k = (int)ebm_rng_below(rng, 8);
    double sd = 1.0 / sqrt(prec);
    x[2 * i] = (float)(radius * cos(PI * k / 4) + sd * ebm_rng_gauss(rng));
    x[2 * i + 1] = (float)(radius * sin(PI * k / 4) + sd * ebm_rng_gauss(rng));
  }
}

static void draw_or(ebm_rng *rng, double w, float *x) {
  ebm_toy_sample(EBM_TOY_RINGS, rng, CHAINS, x, NULL);
  for (int64_t i = 0; i < CHAINS; i++)
    if (ebm_rng_double(rng) >= w) {
      x[2 * i] = (float)(OR_S * ebm_rng_gauss(rng));
      x[2 * i + 1] = (float)(OR_S * ebm_rng_gauss(rng));
    }
}

/* ------------------------------------------------------------ sampling */

/* Uniform on the disk of radius 4: rotation invariant like the targets. */
static void disk_noise(ebm_rng *rng, float *x) {
  float *u = malloc(sizeof(float) * CHAINS * 2);
  REQUIRE(u);
  ebm_rng_uniform(rng, u, CHAINS * 2, 0.0f, 1.0f);
  for (int64_t s = 0; s < CHAINS; s++) {
    float r = 4.0f * sqrtf(u[2 * s]), a = 6.2831853f * u[2 * s + 1];
    x[2 * s] = r * cosf(a);
    x[2 * s + 1] = r * sinf(a);
  }
  free(u);
}

/* Phases at the given temperatures (the step size carried over, scaled by
 * √(T_next/T) since the target's width scales so), each adapting ε in its
 * first half. Returns the mean acceptance of the last phase after warm-up. */
static double run_phases(const ebm_energy *en, ebm_sampler_kind kind, const float *temps, int phases,
                         int steps, float *x, ebm_rng *rng) {
  float eps = 0.5f;
  double accept = 0.0;
  for (int p = 0; p < phases; p++) {
    ebm_sampler_config cfg = ebm_sampler_defaults(kind);
    cfg.temperature = temps[p];
    cfg.step_size = eps;
    cfg.steps = steps;
    cfg.adapt_steps = steps / 2;
    cfg.leapfrog_steps = 2;
    ebm_sampler *s = NULL;
    ebm_sample_stats *st = calloc((size_t)steps, sizeof *st);
    REQUIRE(st);
    REQUIRE_OK(ebm_sampler_new(en, &cfg, CHAINS, &s));
    REQUIRE_OK(ebm_sampler_run(s, x, NULL, CHAINS, rng, st, NULL));
    if (p + 1 < phases) eps = ebm_sampler_step_size(s) * sqrtf(temps[p + 1] / temps[p]);
    accept = 0.0;
    for (int k = cfg.adapt_steps; k < steps; k++) accept += st[k].accept_rate / (steps - cfg.adapt_steps);
    free(st);
    ebm_sampler_free(s);
  }
  return accept;
}

/* KL(histogram ‖ exact) over the grid; the exact bin masses by a 4×4
 * midpoint rule of exp(log_p), normalised over the grid (every target here
 * has < 1e-5 of its mass outside it). Samples outside count in *outside. */
static double grid_kl(log_density_fn log_p, const float *x, int64_t n, int64_t *outside) {
  const int64_t np = (int64_t)GRID * GRID * 16;
  double *p = calloc(GRID * GRID, sizeof *p), *q = calloc(GRID * GRID, sizeof *q), total = 0.0, kl = 0.0;
  double *pts = malloc(sizeof(double) * 2 * np), *lp = malloc(sizeof(double) * np);
  REQUIRE(p && q && pts && lp);
  const double w = 2.0 * EXTENT / GRID;
  for (int64_t k = 0; k < np; k++) { /* bin (i, j), sub-point (a, b) */
    int64_t bin = k / 16, i = bin / GRID, j = bin % GRID, a = (k % 16) / 4, b = k % 4;
    pts[2 * k] = -EXTENT + w * ((double)i + (a + 0.5) / 4);
    pts[2 * k + 1] = -EXTENT + w * ((double)j + (b + 0.5) / 4);
  }
  log_p(pts, np, lp);
  for (int64_t k = 0; k < np; k++) {
    p[k / 16] += exp(lp[k]);
    total += exp(lp[k]);
  }
  *outside = 0;
  for (int64_t s = 0; s < n; s++) {
    int i = (int)floor((x[2 * s] + EXTENT) / w), j = (int)floor((x[2 * s + 1] + EXTENT) / w);
    if (i < 0 || i >= GRID || j < 0 || j >= GRID) {
      (*outside)++;
      continue;
    }
    q[i * GRID + j] += 1.0 / n;
  }
  for (int k = 0; k < GRID * GRID; k++)
    if (q[k] > 0) kl += q[k] * log(q[k] / (p[k] / total));
  free(p);
  free(q);
  free(pts);
  free(lp);
  return kl;
}

/* The KL bound, as for the toys themselves: the plug-in KL of a histogram
 * of n draws is biased upward by about (B − 1)/(2n) for B occupied bins
 * (0.02–0.05 here), so the yardstick is the KL of CHAINS exact iid draws
 * on the same grid, plus 0.015 (its spread between runs is about
 * √((B−1)/2)/n ≈ 0.002). The targets differ from the uncomposed toy by
 * 0.16–0.2 in KL, so a composition that ignored a term fails by a wide
 * margin; each test also checks that the samples are far from that
 * uncomposed density (the test has power). */
#define KL_MARGIN 0.015

/* Fraction of points with |x| < r. */
static double frac_inside(const float *x, int64_t n, double r) {
  int64_t in = 0;
  for (int64_t i = 0; i < n; i++) in += hypot(x[2 * i], x[2 * i + 1]) < r;
  return (double)in / (double)n;
}

/* Fraction of points within 0.2 of a ring radius 0.75·k. */
static double frac_on_rings(const float *x, int64_t n) {
  int64_t on = 0;
  for (int64_t i = 0; i < n; i++) {
    double r = hypot(x[2 * i], x[2 * i + 1]);
    for (int k = 1; k <= 4; k++) on += fabs(r - 0.75 * k) < 0.2;
  }
  return (double)on / (double)n;
}

static void report(const char *what, double kl, double kl_ref, double kl_wrong, double accept, int64_t outside) {
  if (getenv("EBM_TEST_VERBOSE"))
    fprintf(stderr, "    %s: KL %.5f (exact draws %.5f, vs uncomposed %.4f), accept %.3f, %lld outside\n", what, kl,
            kl_ref, kl_wrong, accept, (long long)outside);
}

/* ---------------------------------------------------------------- tests */

TEST(hmc_samples_and_of_8gaussians_and_a_gaussian_as_their_normalised_product) {
  ebm_energy *toy = NULL, *g = NULL, *and_ = NULL;
  REQUIRE_OK(ebm_toy_energy_new(EBM_TOY_8GAUSSIANS, &toy));
  REQUIRE_OK(ebm_gaussian_energy_new(2, NULL, NULL, &g));
  ebm_compose_term t[2] = {{toy, 1.0, AND_T}, {g, AND_W, 1.0}};
  REQUIRE_OK(ebm_compose_and_new(t, 2, &and_));
  float *x = malloc(sizeof(float) * CHAINS * 2), *ref = malloc(sizeof(float) * CHAINS * 2);
  REQUIRE(x && ref);
  ebm_rng rng;
  ebm_rng_init(&rng, 2020);
  /* each mode: precision 1/(T σ²) + w, pulled toward the origin */
  const double p_mode = 1.0 / (AND_T * SIGMA_8G * SIGMA_8G), prec = p_mode + AND_W;
  draw_modes(&rng, RADIUS_8G * p_mode / prec, prec, ref);
  int64_t outside;
  double kl_ref = grid_kl(log_and, ref, CHAINS, &outside);
  disk_noise(&rng, x);
  const float temps[3] = {6.0f, 2.5f, 1.0f};
  double accept = run_phases(and_, EBM_SAMPLER_HMC, temps, 3, 30, x, &rng);
  double kl = grid_kl(log_and, x, CHAINS, &outside), kl_wrong = grid_kl(log_p8, x, CHAINS, &outside);
  report("AND", kl, kl_ref, kl_wrong, accept, outside);
  CHECK(kl < kl_ref + KL_MARGIN);
  CHECK(kl_wrong > kl + 0.1);
  CHECK(outside < 5);
  CHECK(accept > 0.4);
  free(x);
  free(ref);
  ebm_energy_free(and_);
  ebm_energy_free(g);
  ebm_energy_free(toy);
}

TEST(mala_samples_and_not_with_mass_removed_where_the_negated_energy_is_low) {
  ebm_energy *toy = NULL, *g = NULL, *not_ = NULL;
  REQUIRE_OK(ebm_toy_energy_new(EBM_TOY_8GAUSSIANS, &toy));
  REQUIRE_OK(ebm_gaussian_energy_new(2, NULL, NULL, &g));
  ebm_compose_term a = ebm_compose_term_of(toy), b = ebm_compose_term_of(g);
  REQUIRE_OK(ebm_compose_and_not_new(&a, &b, NOT_ALPHA, &not_));
  float *x = malloc(sizeof(float) * CHAINS * 2), *ref = malloc(sizeof(float) * CHAINS * 2);
  REQUIRE(x && ref);
  ebm_rng rng;
  ebm_rng_init(&rng, 2021);
  const double p_mode = 1.0 / (SIGMA_8G * SIGMA_8G), prec = p_mode - NOT_ALPHA;
  draw_modes(&rng, RADIUS_8G * p_mode / prec, prec, ref);
  int64_t outside;
  double kl_ref = grid_kl(log_not, ref, CHAINS, &outside);
  disk_noise(&rng, x);
  const float temps[3] = {6.0f, 2.5f, 1.0f};
  double accept = run_phases(not_, EBM_SAMPLER_MALA, temps, 3, 60, x, &rng);
  double kl = grid_kl(log_not, x, CHAINS, &outside), kl_wrong = grid_kl(log_p8, x, CHAINS, &outside);
  report("AND NOT", kl, kl_ref, kl_wrong, accept, outside);
  CHECK(kl < kl_ref + KL_MARGIN);
  CHECK(kl_wrong > kl + 0.1);
  CHECK(outside < 5);
  CHECK(accept > 0.4);
  /* N(0, I) is low-energy near the origin: the mass inside radius 2.5
   * (half of each mode, 0.48 for 8gaussians alone) drops to the exact
   * draws' value, within 5 standard errors of a difference of two
   * binomial proportions (√(2·0.25·0.75/10000) = 0.0061) */
  double inside = frac_inside(x, CHAINS, RADIUS_8G), inside_ref = frac_inside(ref, CHAINS, RADIUS_8G);
  if (getenv("EBM_TEST_VERBOSE")) fprintf(stderr, "    inside r 2.5: %.4f (exact draws %.4f)\n", inside, inside_ref);
  CHECK_NEAR(inside, inside_ref, 5 * 0.0061);
  CHECK(inside < 0.35);
  free(x);
  free(ref);
  ebm_energy_free(not_);
  ebm_energy_free(g);
  ebm_energy_free(toy);
}

TEST(mala_samples_or_of_rings_and_a_gaussian_as_the_weighted_mixture) {
  ebm_energy *rings = NULL, *g = NULL, *or_ = NULL;
  REQUIRE_OK(ebm_toy_energy_new(EBM_TOY_RINGS, &rings));
  double cov[4] = {OR_S * OR_S, 0, 0, OR_S * OR_S};
  REQUIRE_OK(ebm_gaussian_energy_new(2, NULL, cov, &g));
  /* the Gaussian energy is unnormalised (E = ½xᵀΣ⁻¹x, Z = 2π·s²): its
   * mixture weight 0.6 becomes 0.6/Z, so the OR is 0.4·rings + 0.6·N exactly */
  ebm_compose_term t[2] = {{rings, OR_W, 1.0}, {g, (1.0 - OR_W) / (2 * PI * OR_S * OR_S), 1.0}};
  REQUIRE_OK(ebm_compose_or_new(t, 2, &or_));
  float *x = malloc(sizeof(float) * CHAINS * 2), *ref = malloc(sizeof(float) * CHAINS * 2);
  REQUIRE(x && ref);
  ebm_rng rng;
  ebm_rng_init(&rng, 2022);
  draw_or(&rng, OR_W, ref);
  int64_t outside;
  double kl_ref = grid_kl(log_or, ref, CHAINS, &outside);
  disk_noise(&rng, x);
  const float temps[1] = {1.0f};
  double accept = run_phases(or_, EBM_SAMPLER_MALA, temps, 1, 240, x, &rng);
  double kl = grid_kl(log_or, x, CHAINS, &outside), kl_wrong = grid_kl(log_rings, x, CHAINS, &outside);
  report("OR", kl, kl_ref, kl_wrong, accept, outside);
  CHECK(kl < kl_ref + KL_MARGIN);
  CHECK(kl_wrong > kl + 0.1);
  CHECK(outside < 5);
  CHECK(accept > 0.4);
  /* the weights: the mass within 0.2 of a ring is the exact draws' within
   * 5 standard errors of a difference of two proportions (√(2·0.25/10000)
   * bounds it: 0.0071). Ignoring the weights would make the mixture
   * weights the normalisers 1 : 2π·1.5² (rings 0.066), and exact draws of
   * that are far outside the bound (the statistic has power). */
  double on = frac_on_rings(x, CHAINS), on_ref = frac_on_rings(ref, CHAINS);
  draw_or(&rng, 1.0 / (1.0 + 2 * PI * OR_S * OR_S), ref);
  double on_wrong = frac_on_rings(ref, CHAINS);
  if (getenv("EBM_TEST_VERBOSE"))
    fprintf(stderr, "    on rings: %.4f (exact draws %.4f, weights ignored %.4f)\n", on, on_ref, on_wrong);
  CHECK_NEAR(on, on_ref, 5 * 0.0071);
  CHECK(fabs(on_wrong - on_ref) > 2 * 5 * 0.0071);
  free(x);
  free(ref);
  ebm_energy_free(or_);
  ebm_energy_free(g);
  ebm_energy_free(rings);
}
