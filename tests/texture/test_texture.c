/* The texture model (src/texture/): procedural inputs, float PNG images,
 * learning that lowers the Gram statistic, the FRAME bank staying fixed,
 * and the verb's errors. */
#include "test.h"
#include "texture/texture_internal.h"

#define SIDE 40

/* A small, fast configuration: a 40×40 grey image (the ConvNet's last map
 * is 3×3: nine local terms), 4 channels, two chains of 10 steps. */
static ebm_texture_config tiny_config(ebm_texture_model model, int iters) {
  ebm_texture_config c = ebm_texture_defaults();
  c.model = model;
  c.iters = iters;
  c.chains = 2;
  c.steps = 10;
  c.width = 4;
  c.lr = 3e-3f;
  return c;
}

TEST(texture_make_is_deterministic_for_a_seed) {
  float a[3 * 32 * 32], b[3 * 32 * 32];
  const char *names[] = {"checks", "stripes", "blobs"};
  for (int i = 0; i < 3; i++) {
    REQUIRE_OK(ebm_texture_make(names[i], 3, 32, 32, 7, a));
    REQUIRE_OK(ebm_texture_make(names[i], 3, 32, 32, 7, b));
    CHECK(memcmp(a, b, sizeof a) == 0);
    REQUIRE_OK(ebm_texture_make(names[i], 3, 32, 32, 8, b));
    CHECK(memcmp(a, b, sizeof a) != 0);
    float lo = 1, hi = 0;
    for (int k = 0; k < 3 * 32 * 32; k++) lo = fminf(lo, a[k]), hi = fmaxf(hi, a[k]);
    CHECK(lo >= 0 && hi <= 1 && hi - lo > 0.3f);
  }
  CHECK_FAILS_WITH(ebm_texture_make("plaid", 1, 8, 8, 1, a), EBM_ERR_ARG, "checks, stripes, blobs");
  CHECK_FAILS_WITH(ebm_texture_make("checks", 2, 8, 8, 1, a), EBM_ERR_ARG, "got 2");
}

TEST(image_png_round_trip_and_side_by_side_geometry) {
  float img[3 * 5 * 7], small[3 * 2 * 3];
  for (int i = 0; i < 3 * 5 * 7; i++) img[i] = (float)((i * 37) % 256) / 255.0f;
  for (int i = 0; i < 3 * 2 * 3; i++) small[i] = 0;
  const char *path = test_path("row.png");
  int h[2] = {5, 2}, w[2] = {7, 3};
  const float *px[2] = {img, small};
  REQUIRE_OK(ebm_image_write_row_png(path, 1, 3, h, w, px, 0));
  int c, hh, ww;
  float *back;
  REQUIRE_OK(ebm_image_read_png(path, &c, &hh, &ww, &back));
  CHECK_EQ_INT(c, 3);
  CHECK_EQ_INT(hh, 5);
  CHECK_EQ_INT(ww, 7);
  CHECK(memcmp(back, img, sizeof img) == 0); /* k/255 survives exactly */
  free(back);
  REQUIRE_OK(ebm_image_write_row_png(path, 2, 3, h, w, px, 2));
  REQUIRE_OK(ebm_image_read_png(path, &c, &hh, &ww, &back));
  CHECK_EQ_INT(ww, 2 + 7 + 2 + 3 + 2);
  CHECK_EQ_INT(hh, 2 + 5 + 2);
  CHECK_NEAR(back[0], 1.0f, 0);                       /* padding is white */
  CHECK_NEAR(back[2 * ww + 2], img[0], 0);            /* first image at (2, 2) */
  CHECK_NEAR(back[2 * ww + 2 + 7 + 2], 0.0f, 0);      /* second right of it */
  CHECK_NEAR(back[(2 + 3) * ww + 2 + 7 + 2], 1.0f, 0); /* below the short one: pad */
  free(back);
}

TEST(image_read_png_names_a_file_that_is_not_a_png) {
  const char *path = test_path("fake.png");
  FILE *f = fopen(path, "wb");
  REQUIRE(f);
  fputs("this is not an image\n", f);
  fclose(f);
  int c, h, w;
  float *px = (float *)1;
  CHECK_FAILS_WITH(ebm_image_read_png(path, &c, &h, &w, &px), EBM_ERR_FORMAT, "not a PNG file");
  CHECK(px == NULL);
}

/* Mean |x(p) − x(p + 1 px right)| over an h×w plane. */
static double mean_neighbour_step(const float *x, int h, int w) {
  double sum = 0;
  for (int y = 0; y < h; y++)
    for (int i = 0; i + 1 < w; i++) sum += fabs((double)x[y * w + i + 1] - x[y * w + i]);
  return sum / ((double)h * (w - 1));
}

/* The chains' start: cell 1 is independent uniform pixels (mean step 1/3);
 * cell 4 interpolates a coarse grid, so a pixel step is a quarter of a
 * node step (1/12 on node rows, less between them, where two rows' steps
 * mix: 0.068 over a cell by Monte Carlo), every value stays in [0, 1],
 * node pixels are the grid's draws, and the same seed gives the same start. */
TEST(texture_chains_start_is_coarse_noise_in_range) {
  enum { H = 37, W = 45, CELL = 4 };
  float *fine = malloc(2 * H * W * sizeof *fine), *coarse = malloc(2 * H * W * sizeof *coarse);
  float *again = malloc(2 * H * W * sizeof *again);
  float *grid = malloc((size_t)texture_start_grid_size(CELL, H, W) * sizeof *grid);
  REQUIRE(fine && coarse && again && grid);
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  texture_chains_start(1, 2, H, W, &rng, grid, fine);
  ebm_rng_init(&rng, 3);
  texture_chains_start(CELL, 2, H, W, &rng, grid, coarse);
  ebm_rng_init(&rng, 3);
  texture_chains_start(CELL, 2, H, W, &rng, grid, again);
  CHECK(memcmp(coarse, again, 2 * H * W * sizeof *coarse) == 0);
  for (int i = 0; i < 2 * H * W; i++) REQUIRE(coarse[i] >= 0 && coarse[i] <= 1);
  double step_fine = mean_neighbour_step(fine, H, W), step_coarse = mean_neighbour_step(coarse + H * W, H, W);
  fprintf(stderr, "mean neighbour step: cell 1 %.4f, cell %d %.4f\n", step_fine, CELL, step_coarse);
  CHECK_NEAR(step_fine, 1.0 / 3, 0.02);
  CHECK_NEAR(step_coarse, 0.068, 0.012);
  /* the second plane's last grid draw sits on node (gh-1, gw-1), past the
   * image; its node (1, 1) is pixel (4, 4) */
  const int gw = (W - 1) / CELL + 2;
  CHECK_NEAR(coarse[H * W + CELL * W + CELL], grid[gw + 1], 0);
  free(fine);
  free(coarse);
  free(again);
  free(grid);
}

/* Learning on stripes moves the samples' Gram matrix toward the image's:
 * a synthesis after learning is closer to the input than one drawn before
 * learning (80 iterations: 0.152 → 0.076 in the Debug build, shuffled
 * pixels 0.227). */
TEST(texture_convnet_learning_lowers_gram_distance) {
  const ebm_texture_model model = EBM_TEXTURE_CONVNET;
  const int iters = 80;
  float image[SIDE * SIDE], before[SIDE * SIDE], after[SIDE * SIDE];
  REQUIRE_OK(ebm_texture_make("stripes", 1, SIDE, SIDE, 1, image));
  ebm_texture_config c0 = tiny_config(model, 0), c1 = tiny_config(model, iters);
  ebm_texture *t0, *t1;
  REQUIRE_OK(ebm_texture_new(&c0, 1, SIDE, SIDE, &t0));
  REQUIRE_OK(ebm_texture_new(&c1, 1, SIDE, SIDE, &t1));
  REQUIRE_OK(ebm_texture_synthesize(t0, SIDE, SIDE, 5, before));
  REQUIRE_OK(ebm_texture_learn(t1, image, NULL, NULL));
  REQUIRE_OK(ebm_texture_synthesize(t1, SIDE, SIDE, 5, after));
  double d_before, d_after;
  REQUIRE_OK(ebm_texture_gram_distance(t1, image, SIDE, SIDE, before, SIDE, SIDE, &d_before));
  REQUIRE_OK(ebm_texture_gram_distance(t1, image, SIDE, SIDE, after, SIDE, SIDE, &d_after));
  fprintf(stderr, "gram distance before %.4f after %.4f\n", d_before, d_after);
  CHECK(d_after < 0.75 * d_before);
  ebm_texture_free(t0);
  ebm_texture_free(t1);
}

/* FRAME's filters and thresholds are fixed: learning changes only λ. */
TEST(texture_gabor_bank_stays_fixed) {
  float image[SIDE * SIDE];
  REQUIRE_OK(ebm_texture_make("checks", 1, SIDE, SIDE, 1, image));
  ebm_texture_config c = tiny_config(EBM_TEXTURE_GABOR, 2);
  c.steps = 2;
  ebm_texture *t;
  REQUIRE_OK(ebm_texture_new(&c, 1, SIDE, SIDE, &t));
  ebm_net *net = t->train.net;
  ebm_tensor *wt = ebm_net_param(net, 0)->value, *b = ebm_net_param(net, 1)->value,
             *lambda = ebm_net_param(net, 2)->value;
  int64_t nw = ebm_tensor_numel(wt), nb = ebm_tensor_numel(b), nl = ebm_tensor_numel(lambda);
  float *w0 = malloc((size_t)(nw + nb + nl) * sizeof *w0);
  REQUIRE(w0);
  memcpy(w0, wt->data, (size_t)nw * sizeof *w0);
  memcpy(w0 + nw, b->data, (size_t)nb * sizeof *w0);
  memcpy(w0 + nw + nb, lambda->data, (size_t)nl * sizeof *w0);
  REQUIRE_OK(ebm_texture_learn(t, image, NULL, NULL));
  CHECK(memcmp(w0, wt->data, (size_t)nw * sizeof *w0) == 0);
  CHECK(memcmp(w0 + nw, b->data, (size_t)nb * sizeof *w0) == 0);
  CHECK(memcmp(w0 + nw + nb, lambda->data, (size_t)nl * sizeof *w0) != 0);
  free(w0);
  ebm_texture_free(t);
}

/* One set of parameters, any size: the energy of an image tiled from a
 * periodic texture grows with the number of local terms, and a synthesis
 * at another size has that size. */
TEST(texture_samples_any_size_with_the_same_parameters) {
  ebm_texture_config c = tiny_config(EBM_TEXTURE_CONVNET, 0);
  ebm_texture *t;
  REQUIRE_OK(ebm_texture_new(&c, 3, SIDE, SIDE, &t));
  float *out = malloc(3 * 40 * 30 * sizeof *out);
  REQUIRE(out);
  REQUIRE_OK(ebm_texture_synthesize(t, 40, 30, 3, out));
  for (int i = 0; i < 3 * 40 * 30; i++) REQUIRE(out[i] >= 0 && out[i] <= 1);
  CHECK_FAILS_WITH(ebm_texture_synthesize(t, 8, 30, 3, out), EBM_ERR_ARG, "30x8");
  CHECK(strstr(ebm_texture_arch(t, 40, 30), "\"input\":[3,40,30]") != NULL);
  free(out);
  ebm_texture_free(t);
}

TEST(cli_texture_bad_input_gets_one_clear_line) {
  const char *fake = test_path("notimage.png"), *out = test_path("o.png");
  FILE *f = fopen(fake, "wb");
  REQUIRE(f);
  fputs("GIF89a not a png", f);
  fclose(f);
  cli_result r = run_cli("texture --input %s --out %s", fake, out);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "not a PNG file");
  CHECK_CONTAINS(r.err, "notimage.png");
  cli_result_free(&r);
  r = run_cli("texture --input %s --out %s --size 0x0", fake, out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--size");
  cli_result_free(&r);
  r = run_cli("texture --input %s --out %s --filters sobel", fake, out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "convnet or gabor");
  cli_result_free(&r);
  r = run_cli("texture --input %s --out %s --init-cell 0", fake, out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "init cell 0 in 1..256");
  cli_result_free(&r);
}

TEST(cli_texture_learns_and_writes_both_pictures) {
  float img[SIDE * SIDE];
  REQUIRE_OK(ebm_texture_make("checks", 1, SIDE, SIDE, 1, img));
  int h = SIDE, w = SIDE;
  const float *px = img;
  const char *in = test_path("in.png"), *out = test_path("out.png"), *pair = test_path("pair.png");
  REQUIRE_OK(ebm_image_write_row_png(in, 1, 1, &h, &w, &px, 0));
  cli_result r = run_cli("texture --input %s --out %s --size 30x20 --iters 2 --chains 1 --steps 2 "
                         "--width 4 --side-by-side %s", in, out, pair);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "30x20 from 40x40");
  CHECK_CONTAINS(r.out, "shuffled pixels");
  cli_result_free(&r);
  int c, hh, ww;
  float *back;
  REQUIRE_OK(ebm_image_read_png(out, &c, &hh, &ww, &back));
  CHECK_EQ_INT(c, 1);
  CHECK_EQ_INT(ww, 30);
  CHECK_EQ_INT(hh, 20);
  free(back);
  REQUIRE_OK(ebm_image_read_png(pair, &c, &hh, &ww, &back));
  CHECK_EQ_INT(ww, 4 + SIDE + 4 + 30 + 4);
  free(back);
}
