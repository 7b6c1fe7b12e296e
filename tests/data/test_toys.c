/* The 2-D toys: samplers, exact densities, gradients and the energy. */
#include "test.h"

#include "data/toys.h"

/* Composite 4-point Gauss–Legendre over [-4, 4] in panels of 0.1: exact
 * for the checkerboard (its edges are panel edges) and, for Gaussians of
 * width ≥ 0.1, accurate far beyond what the tests below need. */
#define GRID_PANELS 80
#define GRID_POINTS (GRID_PANELS * 4)
static const double gl4_x[4] = {-0.8611363115940526, -0.3399810435848563, 0.3399810435848563,
                                0.8611363115940526};
static const double gl4_w[4] = {0.3478548451374538, 0.6521451548625461, 0.6521451548625461,
                                0.3478548451374538};

static void grid_rule(double *node, double *weight) {
  const double h = 8.0 / GRID_PANELS;
  for (int p = 0; p < GRID_PANELS; p++)
    for (int q = 0; q < 4; q++) {
      node[p * 4 + q] = -4.0 + h * (p + 0.5 + 0.5 * gl4_x[q]);
      weight[p * 4 + q] = 0.5 * h * gl4_w[q];
    }
}

/* Mass of each of the cells×cells squares tiling [-4, 4]², from the exact
 * density on the quadrature grid. Returns the total. */
static double cell_masses(ebm_toy toy, int cells, double *mass) {
  double node[GRID_POINTS], weight[GRID_POINTS];
  grid_rule(node, weight);
  const int64_t n = (int64_t)GRID_POINTS * GRID_POINTS;
  double *xy = malloc((size_t)n * 2 * sizeof *xy), *logp = malloc((size_t)n * sizeof *logp);
  REQUIRE(xy && logp);
  for (int j = 0; j < GRID_POINTS; j++)
    for (int i = 0; i < GRID_POINTS; i++) {
      xy[2 * ((int64_t)j * GRID_POINTS + i)] = node[i];
      xy[2 * ((int64_t)j * GRID_POINTS + i) + 1] = node[j];
    }
  REQUIRE_OK(ebm_toy_log_density(toy, xy, n, logp));
  memset(mass, 0, (size_t)cells * cells * sizeof *mass);
  double total = 0;
  int per_cell = GRID_POINTS / cells;
  for (int j = 0; j < GRID_POINTS; j++)
    for (int i = 0; i < GRID_POINTS; i++) {
      double m = weight[i] * weight[j] * exp(logp[(int64_t)j * GRID_POINTS + i]);
      mass[(j / per_cell) * cells + i / per_cell] += m;
      total += m;
    }
  free(xy);
  free(logp);
  return total;
}

TEST(toy_names_round_trip_and_unknown_is_minus_one) {
  for (int t = 0; t < EBM_TOY_COUNT; t++) {
    CHECK_EQ_INT(ebm_toy_from_name(ebm_toy_name((ebm_toy)t)), t);
    CHECK(ebm_toy_has_density((ebm_toy)t));
  }
  CHECK_EQ_INT(ebm_toy_from_name("9gaussians"), -1);
  CHECK_EQ_INT(ebm_toy_from_name(NULL), -1);
  CHECK_EQ_INT(ebm_toy_num_components(EBM_TOY_8GAUSSIANS), 8);
  CHECK_EQ_INT(ebm_toy_num_components(EBM_TOY_PINWHEEL), 5);
}

TEST(toy_samples_stay_in_box_with_every_label_used) {
  const int64_t n = 50000;
  float *xy = malloc(n * 2 * sizeof *xy);
  int32_t *labels = malloc(n * sizeof *labels);
  REQUIRE(xy && labels);
  for (int t = 0; t < EBM_TOY_COUNT; t++) {
    ebm_rng rng;
    ebm_rng_init(&rng, 11 + t);
    ebm_toy_sample((ebm_toy)t, &rng, n, xy, labels);
    int k = ebm_toy_num_components((ebm_toy)t);
    int64_t seen[8] = {0};
    for (int64_t i = 0; i < n; i++) {
      REQUIRE(fabsf(xy[2 * i]) <= 4.0f && fabsf(xy[2 * i + 1]) <= 4.0f);
      REQUIRE(labels[i] >= 0 && labels[i] < k);
      seen[labels[i]]++;
    }
    for (int c = 0; c < k; c++) CHECK(seen[c] > 0);
  }
  free(xy);
  free(labels);
}

TEST(toy_samples_are_reproducible_for_a_seed) {
  float a[200], b[200];
  for (int t = 0; t < EBM_TOY_COUNT; t++) {
    ebm_rng r1, r2;
    ebm_rng_init(&r1, 3), ebm_rng_init(&r2, 3);
    ebm_toy_sample((ebm_toy)t, &r1, 100, a, NULL);
    ebm_toy_sample((ebm_toy)t, &r2, 100, b, NULL);
    CHECK(memcmp(a, b, sizeof a) == 0);
  }
}

TEST(toy_density_integrates_to_one_over_the_box) {
  double mass[64];
  for (int t = 0; t < EBM_TOY_COUNT; t++) {
    double total = cell_masses((ebm_toy)t, 8, mass);
    if (fabs(total - 1.0) > 1e-6)
      test_fail_at(__FILE__, __LINE__, "%s integrates to %.9f", ebm_toy_name((ebm_toy)t), total);
  }
}

/* Chi-square of a histogram of the toy's own samples against the cell
 * masses of its density: 16×16 cells of 0.5, cells with expected count < 5
 * pooled. With N = 200000 the statistic is χ²(dof) if the sampler draws
 * from p; dof + 6·sqrt(2·dof) is a > 4σ bound. A wrong scale, weight or
 * normaliser shifts thousands of points and fails by orders of magnitude. */
TEST(toy_samples_match_exact_density_chi_square) {
  const int cells = 16;
  const int64_t n = 200000;
  double mass[256];
  float *xy = malloc(n * 2 * sizeof *xy);
  REQUIRE(xy);
  for (int t = 0; t < EBM_TOY_COUNT; t++) {
    cell_masses((ebm_toy)t, cells, mass);
    ebm_rng rng;
    ebm_rng_init(&rng, 2024 + t);
    ebm_toy_sample((ebm_toy)t, &rng, n, xy, NULL);
    int64_t count[256] = {0};
    for (int64_t i = 0; i < n; i++) {
      int ci = (int)floor((xy[2 * i] + 4.0) * cells / 8.0);
      int cj = (int)floor((xy[2 * i + 1] + 4.0) * cells / 8.0);
      ci = ci < 0 ? 0 : ci >= cells ? cells - 1 : ci;
      cj = cj < 0 ? 0 : cj >= cells ? cells - 1 : cj;
      count[cj * cells + ci]++;
    }
    double chi2 = 0, pooled_e = 0, pooled_o = 0;
    int bins = 0;
    for (int c = 0; c < cells * cells; c++) {
      double e = mass[c] * n;
      if (e < 5) {
        pooled_e += e, pooled_o += count[c];
        continue;
      }
      chi2 += (count[c] - e) * (count[c] - e) / e;
      bins++;
    }
    if (pooled_e >= 5) {
      chi2 += (pooled_o - pooled_e) * (pooled_o - pooled_e) / pooled_e;
      bins++;
    } else {
      CHECK(pooled_o <= 5 + 5 * sqrt(pooled_e + 1));
    }
    double dof = bins - 1, bound = dof + 6 * sqrt(2 * dof);
    if (!(chi2 <= bound))
      test_fail_at(__FILE__, __LINE__, "%s: chi2 %.1f > %.1f (dof %.0f)", ebm_toy_name((ebm_toy)t),
                   chi2, bound, dof);
  }
  free(xy);
}

/* Points from every toy plus a few far ones (corners, origin, outside). */
static int64_t probe_points(ebm_toy toy, double *xy, int64_t count) {
  float f[2 * 200];
  ebm_rng rng;
  ebm_rng_init(&rng, 77);
  int64_t n = count - 6 < 200 ? count - 6 : 200;
  ebm_toy_sample(toy, &rng, n, f, NULL);
  for (int64_t i = 0; i < 2 * n; i++) xy[i] = f[i] + 0.01 * ((i % 7) - 3); /* off the modes */
  const double far[6][2] = {{3.9, 3.9}, {-3.7, 0.2}, {0.01, -0.02}, {6.0, -5.0}, {0.3, 1.7}, {-1.1, -2.9}};
  for (int i = 0; i < 6; i++) xy[2 * (n + i)] = far[i][0], xy[2 * (n + i) + 1] = far[i][1];
  return n + 6;
}

TEST(toy_log_density_gradients_match_finite_differences) {
  static double xy[2 * 206], logp[206], grad[2 * 206], shifted[2 * 206], lp_plus[206],
      lp_minus[206];
  const double h = 1e-5;
  for (int t = 0; t < EBM_TOY_COUNT; t++) {
    if (t == EBM_TOY_CHECKERBOARD) continue;
    int64_t n = probe_points((ebm_toy)t, xy, 206);
    REQUIRE_OK(ebm_toy_log_density_grad((ebm_toy)t, xy, n, logp, grad));
    double worst = 0;
    for (int d = 0; d < 2; d++) {
      memcpy(shifted, xy, sizeof xy);
      for (int64_t i = 0; i < n; i++) shifted[2 * i + d] = xy[2 * i + d] + h;
      REQUIRE_OK(ebm_toy_log_density((ebm_toy)t, shifted, n, lp_plus));
      for (int64_t i = 0; i < n; i++) shifted[2 * i + d] = xy[2 * i + d] - h;
      REQUIRE_OK(ebm_toy_log_density((ebm_toy)t, shifted, n, lp_minus));
      for (int64_t i = 0; i < n; i++) {
        double fd = (lp_plus[i] - lp_minus[i]) / (2 * h);
        /* Central differences: O(h²·f''') plus rounding |logp|·1e-16/h. */
        double err = fabs(fd - grad[2 * i + d]) / (1e-4 + 1e-6 * fabs(fd) + 1e-9 * fabs(logp[i]));
        if (err > worst) worst = err;
      }
    }
    if (worst > 1.0) test_fail_at(__FILE__, __LINE__, "%s: gradient off by %.3g tolerances",
                                  ebm_toy_name((ebm_toy)t), worst);
  }
}

TEST(toy_quadrature_rule_has_converged) {
  static double xy[2 * 206], far[2 * 2000];
  for (int t = 0; t < EBM_TOY_COUNT; t++) {
    if (t != EBM_TOY_2SPIRALS && t != EBM_TOY_MOONS) continue;
    int64_t n = probe_points((ebm_toy)t, xy, 206);
    /* Plus uniform points over a larger box: far points whose nearest curve
     * point is an end see a boundary layer much shorter than a panel. */
    ebm_rng rng;
    ebm_rng_init(&rng, 8);
    for (int64_t i = 0; i < 2 * 2000; i++) far[i] = -5.0 + 10.0 * ebm_rng_double(&rng);
    toy_model *coarse, *fine;
    REQUIRE_OK(toy_model_new((ebm_toy)t, 1, &coarse));
    REQUIRE_OK(toy_model_new((ebm_toy)t, 4, &fine));
    double worst = 0;
    for (int64_t i = 0; i < n + 2000; i++) {
      const double *p = i < n ? &xy[2 * i] : &far[2 * (i - n)];
      double a, b, ga[2], gb[2];
      toy_model_eval(coarse, p[0], p[1], &a, ga);
      toy_model_eval(fine, p[0], p[1], &b, gb);
      worst = fmax(worst, fabs(a - b) / (1 + fabs(b)));
      worst = fmax(worst, fabs(ga[0] - gb[0]) / (1 + fabs(gb[0])));
      worst = fmax(worst, fabs(ga[1] - gb[1]) / (1 + fabs(gb[1])));
    }
    if (worst > 1e-9) test_fail_at(__FILE__, __LINE__, "%s: quadrature not converged: %.3g",
                                   ebm_toy_name((ebm_toy)t), worst);
    toy_model_free(coarse);
    toy_model_free(fine);
  }
}

/* Values that follow from the definitions by hand (other components are
 * e^-29 or less away). */
TEST(toy_log_density_known_values) {
  double lp[2];
  double at_mode[2] = {0.0, 2.5};
  REQUIRE_OK(ebm_toy_log_density(EBM_TOY_8GAUSSIANS, at_mode, 1, lp));
  CHECK_NEAR(lp[0], -log(8 * 2 * TOY_PI * 0.0625), 1e-12);
  double cb[4] = {-3.0, -3.0, -1.0, -3.0}; /* dark cell (0,0), light cell (1,0) */
  REQUIRE_OK(ebm_toy_log_density(EBM_TOY_CHECKERBOARD, cb, 2, lp));
  CHECK_NEAR(lp[0], -log(32.0), 1e-15);
  CHECK(isinf(lp[1]) && lp[1] < 0);
  /* Pinwheel: the centre of arm 0, (2, 0), twisted by 0.7·2 radians. */
  double pw[2] = {2.0 * cos(1.4), 2.0 * sin(1.4)};
  REQUIRE_OK(ebm_toy_log_density(EBM_TOY_PINWHEEL, pw, 1, lp));
  CHECK_NEAR(lp[0], -log(5 * 2 * TOY_PI * 0.3 * 0.1), 1e-12);
  /* Rings: on the outer ring, w = 3/7.5, Z ≈ 2πσ·3·√(2π). */
  double ring[2] = {0.0, -3.0};
  REQUIRE_OK(ebm_toy_log_density(EBM_TOY_RINGS, ring, 1, lp));
  CHECK_NEAR(lp[0], log(0.4 / (2 * TOY_PI * 0.1 * 3.0 * sqrt(2 * TOY_PI))), 1e-12);
}

TEST(toy_energy_is_minus_log_density_in_float) {
  double xy[2 * 206], logp[206], grad[2 * 206];
  float xf[2 * 206], e[206], g[2 * 206];
  for (int t = 0; t < EBM_TOY_COUNT; t++) {
    ebm_energy *en = NULL;
    if (t == EBM_TOY_CHECKERBOARD) {
      CHECK_FAILS_WITH(ebm_toy_energy_new((ebm_toy)t, &en), EBM_ERR_UNSUPPORTED, "flat");
      CHECK(en == NULL);
      continue;
    }
    REQUIRE_OK(ebm_toy_energy_new((ebm_toy)t, &en));
    CHECK_EQ_INT(en->item_ndim, 1);
    CHECK_EQ_INT(en->item_shape[0], 2);
    CHECK_EQ_INT(en->num_classes, 0);
    CHECK(en->range_lo == en->range_hi);
    int64_t n = probe_points((ebm_toy)t, xy, 206);
    for (int64_t i = 0; i < 2 * n; i++) xf[i] = (float)xy[i], xy[i] = xf[i];
    REQUIRE_OK(ebm_toy_log_density_grad((ebm_toy)t, xy, n, logp, grad));
    REQUIRE_OK(ebm_energy_eval(en, xf, NULL, n, e, g));
    for (int64_t i = 0; i < n; i++) {
      CHECK_NEAR(e[i], -logp[i], 1e-6 * (1 + fabs(logp[i])));
      CHECK_NEAR(g[2 * i], -grad[2 * i], 1e-6 * (1 + fabs(grad[2 * i])));
      CHECK_NEAR(g[2 * i + 1], -grad[2 * i + 1], 1e-6 * (1 + fabs(grad[2 * i + 1])));
    }
    ebm_energy_free(en);
  }
}

TEST(toy_energy_of_non_finite_input_is_nan_not_a_crash) {
  ebm_energy *en;
  REQUIRE_OK(ebm_toy_energy_new(EBM_TOY_2SPIRALS, &en));
  float x[4] = {NAN, 0.0f, INFINITY, 1.0f}, e[2], g[4];
  REQUIRE_OK(ebm_energy_eval(en, x, NULL, 2, e, g));
  CHECK(isnan(e[0]) && isnan(e[1]) && isnan(g[0]));
  ebm_energy_free(en);
}
