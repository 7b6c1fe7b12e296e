/* Exact 2-D likelihoods by quadrature (src/eval/grid_nll.c). */
#include "train/train_testutil.h"

/* N(μ, Σ) with σ ≤ 0.8 inside [-4, 4]²: the box holds all but ~1e-7 of
 * the mass, and the midpoint rule's error at h = 8/512 is ~h²/24 · tr Σ⁻¹
 * ≈ 1e-4, so log Z matches ½ log det(2πΣ) to 5e-4. */
TEST(grid_log_z_of_a_gaussian_matches_the_closed_form) {
  const double mean[2] = {0.3, -0.5}, cov[4] = {0.6, 0.2, 0.2, 0.4};
  ebm_energy *g = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(2, mean, cov, &g));
  double exact = 0, lz = 0;
  REQUIRE_OK(ebm_gaussian_energy_log_z(g, &exact));
  CHECK_OK(ebm_grid_log_z(g, -1, 4.0, 512, &lz));
  CHECK_NEAR(lz, exact, 5e-4);
  ebm_energy_free(g);
}

/* The toy's own energy −log p is normalised, so its grid NLL on test
 * points equals the toy's entropy estimate −mean log p on the same points
 * up to the quadrature error of log Z (log Z ≈ 0). */
TEST(grid_nll_of_a_toys_exact_energy_equals_its_entropy_estimate) {
  const char *toys[] = {"8gaussians", "rings"};
  for (int k = 0; k < 2; k++) {
    char spec[64];
    snprintf(spec, sizeof spec, "toy:%s:test:500", toys[k]);
    ebm_dataset *ds = NULL;
    REQUIRE_OK(ebm_dataset_load(spec, 0, 1, &ds));
    ebm_energy *en = NULL;
    REQUIRE_OK(ebm_toy_energy_new((ebm_toy)ebm_toy_from_name(toys[k]), &en));
    double nll = 0, lz = 0, h = 0;
    REQUIRE_OK(ebm_grid_nll(en, ds->x->data, NULL, 500, 4.0, 512, &nll, &lz));
    double *xy = malloc(1000 * sizeof *xy), *lp = malloc(500 * sizeof *lp);
    REQUIRE(xy && lp);
    for (int i = 0; i < 1000; i++) xy[i] = ds->x->data[i];
    REQUIRE_OK(ebm_toy_log_density((ebm_toy)ebm_toy_from_name(toys[k]), xy, 500, lp));
    for (int i = 0; i < 500; i++) h -= lp[i] / 500;
    CHECK_NEAR(lz, 0.0, 2e-3);
    CHECK_NEAR(nll, h, 2e-3);
    free(xy);
    free(lp);
    ebm_energy_free(en);
    ebm_dataset_free(ds);
  }
}

/* A conditional model is scored by its marginal Σ_c π_c p(x|c): with every
 * class given the same energy, that is the unconditional NLL. */
TEST(grid_nll_of_a_conditional_model_is_its_marginal) {
  ebm_net *net = tt_mlp(8, 3, 64, 7);
  ebm_net *flat = tt_mlp(8, 0, 64, 7);
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  float x[20];
  int32_t y[10];
  for (int i = 0; i < 20; i++) x[i] = (float)(i % 7) * 0.5f - 1.5f;
  for (int i = 0; i < 10; i++) y[i] = i % 3;
  double nll = 0, lz[3];
  REQUIRE_OK(ebm_grid_nll(en, x, y, 10, 4.0, 64, &nll, lz));
  /* by hand: log Σ_c π_c exp(−E_c − log Z_c), π = (4, 3, 3)/10 */
  double expect = 0;
  for (int i = 0; i < 10; i++) {
    double p = 0;
    for (int c = 0; c < 3; c++) {
      float e;
      int32_t yc = c;
      REQUIRE_OK(ebm_net_energy(net, x + 2 * i, &(ebm_cond){.labels = &yc}, 1, &e));
      p += (c == 0 ? 0.4 : 0.3) * exp(-(double)e - lz[c]);
    }
    expect -= log(p) / 10;
  }
  CHECK_NEAR(nll, expect, 1e-5);
  double d[64 * 64];
  REQUIRE_OK(ebm_grid_density(en, 1, 4.0, 64, d));
  double mass = 0;
  for (int k = 0; k < 64 * 64; k++) mass += d[k] * (8.0 / 64) * (8.0 / 64);
  CHECK_NEAR(mass, 1.0, 1e-9);
  CHECK_FAILS_WITH(ebm_grid_density(en, 3, 4.0, 64, d), EBM_ERR_ARG, "class 3");
  ebm_energy_free(en);
  en = ebm_net_as_energy(flat);
  CHECK_FAILS_WITH(ebm_grid_log_z(en, -1, 4.0, 1, &nll), EBM_ERR_ARG, "cells");
  ebm_energy_free(en);
  ebm_net_free(net);
  ebm_net_free(flat);
  ebm_energy *img = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(3, NULL, NULL, &img));
  CHECK_FAILS_WITH(ebm_grid_log_z(img, -1, 4.0, 64, &nll), EBM_ERR_SHAPE, "2-D energy");
  ebm_energy_free(img);
}

TEST(grid_png_draws_panels_side_by_side) {
  double a[32 * 32], b[32 * 32];
  for (int k = 0; k < 32 * 32; k++) {
    a[k] = k % 32 < 16 ? 1.0 : 0.0;
    b[k] = 0.0;
  }
  const double *panels[2] = {a, b};
  const float pts[2] = {3.0f, 3.0f};
  const char *path = test_path("d.png");
  REQUIRE_OK(ebm_grid_png(path, 32, 2, panels, 4.0, pts, 1));
  int w, h, c;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(path, &w, &h, &c, &px));
  CHECK(w == 2 * 32 + 8 && h == 32 && c == 3);
  CHECK(px[3 * (16 * w + 0) + 0] < 100);          /* left half of panel 1: dense = blue */
  CHECK(px[3 * (16 * w + 20) + 0] == 255);        /* right half: white */
  CHECK(px[3 * (16 * w + 40) + 2] == 255);        /* panel 2: white */
  CHECK(px[3 * (4 * w + 28) + 0] == 220 && px[3 * (4 * w + 28) + 1] == 30); /* the red point at (3, 3) */
  free(px);
}
