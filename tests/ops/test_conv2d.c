/* conv2d kernels vs a direct double-precision convolution and vs central
 * finite differences of that reference; accumulation and thread-count
 * invariance. Buffers are exactly sized (ASan catches overruns), outputs and
 * workspaces start as NaN. */
#include "ops/conv2d_internal.h"
#include "ops/ops.h"
#include "ops_testutil.h"

/* The table's conv (the AVX-512 direct path on CPUs that have it) and the
 * portable im2col + sgemm path, which must agree with the same references. */
#define PATHS 2
static const char *path_name[PATHS] = {"table", "im2col+sgemm"};

static void path_forward(int path, const ebm_conv2d_shape *s, const float *x, const float *w,
                         const float *b, float *y, float *ws) {
  if (path == 0)
    ebm_ops_cpu()->conv2d_forward(s, x, w, b, y, ws);
  else
    ops_conv2d_gemm_forward(s, x, w, b, y, NULL, NULL, ws);
}

static void path_backward_input(int path, const ebm_conv2d_shape *s, const float *dy,
                                const float *w, float *dx, float *ws) {
  if (path == 0)
    ebm_ops_cpu()->conv2d_backward_input(s, dy, w, dx, ws);
  else
    ops_conv2d_gemm_backward_input(s, NULL, dy, w, dx, ws);
}

static void path_backward_weight(int path, const ebm_conv2d_shape *s, const float *x,
                                 const float *dy, float *dw, float *db, float *ws) {
  if (path == 0)
    ebm_ops_cpu()->conv2d_backward_weight(s, x, dy, dw, db, ws);
  else
    ops_conv2d_gemm_backward_weight(s, x, dy, dw, db, ws);
}

/* n, c_in, h_in, w_in, c_out, kh, kw, stride, pad */
static const int64_t fixed_shapes[][9] = {
    {1, 1, 5, 5, 1, 3, 3, 1, 0},  {5, 3, 7, 9, 4, 3, 3, 2, 1},  {2, 1, 11, 11, 3, 5, 5, 2, 4},
    {5, 3, 6, 5, 2, 1, 1, 1, 0},  {1, 3, 9, 7, 3, 1, 1, 2, 0},  {2, 2, 8, 8, 4, 5, 5, 1, 2},
    {1, 3, 5, 6, 2, 3, 1, 2, 1},  {3, 2, 4, 4, 3, 5, 5, 2, 4},  {1, 1, 3, 3, 2, 5, 5, 1, 1},
    {2, 1, 28, 28, 16, 5, 5, 2, 4}, /* uva-cnn's first layer */
    {2, 16, 4, 4, 8, 3, 3, 2, 1},   /* deep, tiny spatial */
    {37, 2, 6, 5, 3, 3, 3, 2, 1},   /* several item groups per slot, plus a remainder */
    {20, 3, 9, 9, 4, 3, 3, 1, 1},
    {2, 4, 44, 44, 1, 3, 3, 1, 1}, /* K·P over half the col budget: groups of one item (copies) */
    /* stride 1, ≥ 16 channels in and out: the shifted form of the portable path */
    {2, 16, 7, 6, 16, 3, 3, 1, 1},  {1, 17, 6, 6, 16, 3, 3, 1, 2}, /* pad' = 0 */
    {1, 16, 6, 7, 16, 5, 5, 1, 4},  {2, 20, 4, 4, 16, 1, 1, 1, 0}, /* 1×1 */
    {37, 16, 4, 4, 16, 3, 3, 1, 1}, /* groups of 16 items, and a remainder */
    {1, 16, 22, 22, 16, 3, 3, 1, 1}, /* K·P over half the col budget: groups of one item */
    {1, 16, 6, 6, 16, 3, 5, 1, 1},  /* kh ≠ kw: shifted forward, col2im input gradient */
    {3, 16, 9, 8, 4, 3, 3, 1, 1},   /* 4 output channels: im2col and col2im */
    {2, 16, 5, 6, 16, 3, 3, 1, 3},  /* pad > kw − 1: output rows longer than the buffer's */
    {3, 16, 4, 5, 16, 1, 1, 1, 1},  /* 1×1 with pad 1: the same, the output larger than the input */
    {43, 1, 12, 12, 8, 3, 3, 1, 1}, /* im2col passes in groups of 8 (the weight gradient's: 16), and a remainder */
    {19, 16, 5, 5, 16, 1, 1, 1, 0}, /* 1×1: passes item by item, the weight gradient in groups */
};
#define FIXED_COUNT ((int)(sizeof fixed_shapes / sizeof fixed_shapes[0]))
#define RANDOM_COUNT 6
#define SHAPE_COUNT (FIXED_COUNT + RANDOM_COUNT)

/* Shape number i: the fixed list, then random ones drawn from a fixed seed. */
static ebm_conv2d_shape shape_at(int i, int64_t slots) {
  int64_t v[9];
  if (i < FIXED_COUNT) {
    memcpy(v, fixed_shapes[i], sizeof v);
  } else {
    ebm_rng rng;
    ebm_rng_init(&rng, 1000 + (uint64_t)i);
    static const int64_t ks[] = {1, 3, 5}, pads[] = {0, 1, 2, 4};
    v[0] = 1 + ebm_rng_below(&rng, 5);
    v[1] = 1 + ebm_rng_below(&rng, 3);
    v[4] = 1 + ebm_rng_below(&rng, 5);
    v[5] = ks[ebm_rng_below(&rng, 3)];
    v[6] = ks[ebm_rng_below(&rng, 3)];
    v[7] = 1 + ebm_rng_below(&rng, 3);
    v[8] = pads[ebm_rng_below(&rng, 4)];
    int64_t kmax = v[5] > v[6] ? v[5] : v[6];
    int64_t hmin = kmax - 2 * v[8] > 1 ? kmax - 2 * v[8] : 1;
    v[2] = hmin + ebm_rng_below(&rng, 9);
    v[3] = hmin + ebm_rng_below(&rng, 9);
  }
  ebm_conv2d_shape s = {.n = v[0], .c_in = v[1], .h_in = v[2], .w_in = v[3], .c_out = v[4],
                        .kh = v[5], .kw = v[6], .stride = v[7], .pad = v[8], .slots = slots};
  ebm_conv2d_shape_finish(&s);
  return s;
}

static int64_t x_count(const ebm_conv2d_shape *s) { return s->n * s->c_in * s->h_in * s->w_in; }
static int64_t y_count(const ebm_conv2d_shape *s) { return s->n * s->c_out * s->h_out * s->w_out; }
static int64_t w_count(const ebm_conv2d_shape *s) { return s->c_out * s->c_in * s->kh * s->kw; }

static void describe(const ebm_conv2d_shape *s) {
  fprintf(stderr, "    shape n%lld c%lld %lldx%lld -> c%lld k%lldx%lld s%lld p%lld slots %lld\n",
          (long long)s->n, (long long)s->c_in, (long long)s->h_in, (long long)s->w_in,
          (long long)s->c_out, (long long)s->kh, (long long)s->kw, (long long)s->stride,
          (long long)s->pad, (long long)s->slots);
}

/* L = Σ r ⊙ (conv(x, w) + b), in double. */
static double ref_loss(const ebm_conv2d_shape *s, const double *x, const double *w,
                       const double *b, const double *r, double *y) {
  ref_conv2d(s, x, w, b, y);
  return dot_d(y_count(s), r, y);
}

TEST(conv2d_shape_finish_computes_pytorch_output_sizes) {
  REQUIRE_OK(ebm_threads_init(2));
  ebm_conv2d_shape s = {.n = 1, .c_in = 1, .h_in = 28, .w_in = 27, .c_out = 16, .kh = 5, .kw = 3,
                        .stride = 2, .pad = 4};
  ebm_conv2d_shape_finish(&s);
  CHECK_EQ_INT(s.h_out, 16); /* floor((28 + 8 − 5) / 2) + 1 */
  CHECK_EQ_INT(s.w_out, 17); /* floor((27 + 8 − 3) / 2) + 1 */
  CHECK_EQ_INT(s.slots, 2);
  ebm_conv2d_shape t = {.n = 1, .c_in = 1, .h_in = 7, .w_in = 7, .c_out = 1, .kh = 3, .kw = 3,
                        .stride = 2, .pad = 1, .slots = 5};
  ebm_conv2d_shape_finish(&t);
  CHECK_EQ_INT(t.h_out, 4);
  CHECK_EQ_INT(t.slots, 5);
  CHECK(ebm_ops_current() == ebm_ops_cpu());
  char name[32];
  snprintf(name, sizeof name, "cpu-%s", ebm_isa_name(ebm_isa_active()));
  CHECK(strcmp(ebm_ops_cpu()->name, name) == 0); /* the table of the active ISA path */
}

TEST(conv2d_forward_matches_direct_double_convolution) {
  REQUIRE_OK(ebm_threads_init(2));
  const ebm_ops *ops = ebm_ops_cpu();
  for (int i = 0; i < SHAPE_COUNT; i++)
    for (int64_t slots = 1; slots <= 3; slots++) {
      ebm_conv2d_shape s = shape_at(i, slots);
      float *x = rand_floats(x_count(&s), 1 + i, -1, 1), *w = rand_floats(w_count(&s), 2 + i, -1, 1);
      float *b = rand_floats(s.c_out, 3 + i, -1, 1), *y = nan_floats(y_count(&s));
      float *ws = nan_floats((int64_t)ops->conv2d_workspace(&s));
      double *xd = to_double(x_count(&s), x), *wd = to_double(w_count(&s), w);
      double *bd = to_double(s.c_out, b), *yd = malloc((size_t)y_count(&s) * sizeof *yd);
      for (int path = 0; path < PATHS; path++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
          path_forward(path, &s, x, w, with_bias ? b : NULL, y, ws);
          ref_conv2d(&s, xd, wd, with_bias ? bd : NULL, yd);
          double r = worst_ratio(y_count(&s), y, yd, 1e-5, 1e-5);
          if (!(r <= 1.0)) describe(&s), fprintf(stderr, "    path %s\n", path_name[path]);
          CHECK(r <= 1.0);
        }
      free(x), free(w), free(b), free(y), free(ws), free(xd), free(wd), free(bd), free(yd);
    }
}

TEST(conv2d_backward_input_matches_direct_reference) {
  REQUIRE_OK(ebm_threads_init(2));
  const ebm_ops *ops = ebm_ops_cpu();
  for (int i = 0; i < SHAPE_COUNT; i++) {
    ebm_conv2d_shape s = shape_at(i, 2);
    float *dy = rand_floats(y_count(&s), 10 + i, -1, 1), *w = rand_floats(w_count(&s), 20 + i, -1, 1);
    float *dx = nan_floats(x_count(&s)), *ws = nan_floats((int64_t)ops->conv2d_workspace(&s));
    /* dx[n,ci,ih,iw] = Σ dy[n,co,oh,ow]·w[co,ci,i,j] over oh·stride − pad + i = ih, … */
    double *ref = calloc((size_t)x_count(&s), sizeof *ref);
    for (int64_t n = 0; n < s.n; n++)
      for (int64_t co = 0; co < s.c_out; co++)
        for (int64_t oh = 0; oh < s.h_out; oh++)
          for (int64_t ow = 0; ow < s.w_out; ow++)
            for (int64_t ci = 0; ci < s.c_in; ci++)
              for (int64_t a = 0; a < s.kh; a++)
                for (int64_t c = 0; c < s.kw; c++) {
                  int64_t ih = oh * s.stride - s.pad + a, iw = ow * s.stride - s.pad + c;
                  if (ih < 0 || ih >= s.h_in || iw < 0 || iw >= s.w_in) continue;
                  ref[((n * s.c_in + ci) * s.h_in + ih) * s.w_in + iw] +=
                      (double)dy[((n * s.c_out + co) * s.h_out + oh) * s.w_out + ow] *
                      (double)w[((co * s.c_in + ci) * s.kh + a) * s.kw + c];
                }
    for (int path = 0; path < PATHS; path++) {
      path_backward_input(path, &s, dy, w, dx, ws);
      double r = worst_ratio(x_count(&s), dx, ref, 1e-5, 1e-5);
      if (!(r <= 1.0)) describe(&s), fprintf(stderr, "    path %s\n", path_name[path]);
      CHECK(r <= 1.0);
    }
    free(dy), free(w), free(dx), free(ws), free(ref);
  }
}

TEST(conv2d_backward_input_matches_finite_differences) {
  REQUIRE_OK(ebm_threads_init(2));
  const ebm_ops *ops = ebm_ops_cpu();
  for (int i = 0; i < SHAPE_COUNT; i++) {
    ebm_conv2d_shape s = shape_at(i, 2);
    int64_t nx = x_count(&s), ny = y_count(&s);
    float *x = rand_floats(nx, 30 + i, -1, 1), *w = rand_floats(w_count(&s), 40 + i, -1, 1);
    float *r = rand_floats(ny, 50 + i, -1, 1), *dx = nan_floats(nx);
    float *ws = nan_floats((int64_t)ops->conv2d_workspace(&s));
    float *dx_gemm = nan_floats(nx);
    ops->conv2d_backward_input(&s, r, w, dx, ws); /* dL/dx for L = Σ r ⊙ y */
    path_backward_input(1, &s, r, w, dx_gemm, ws);
    double *xd = to_double(nx, x), *wd = to_double(w_count(&s), w), *rd = to_double(ny, r);
    double *yd = malloc((size_t)ny * sizeof *yd);
    ebm_rng rng;
    ebm_rng_init(&rng, 60 + i);
    int64_t checks = nx < 200 ? nx : 64;
    for (int64_t c = 0; c < checks; c++) {
      int64_t q = nx < 200 ? c : ebm_rng_below(&rng, (uint32_t)nx);
      const double h = 1e-3, x0 = xd[q];
      xd[q] = x0 + h;
      double lp = ref_loss(&s, xd, wd, NULL, rd, yd);
      xd[q] = x0 - h;
      double lm = ref_loss(&s, xd, wd, NULL, rd, yd);
      xd[q] = x0;
      double fd = (lp - lm) / (2 * h);
      if (!(fabs(dx[q] - fd) <= 1e-4 * (1 + fabs(fd)))) describe(&s);
      CHECK_NEAR(dx[q], fd, 1e-4 * (1 + fabs(fd)));
      CHECK_NEAR(dx_gemm[q], fd, 1e-4 * (1 + fabs(fd)));
    }
    free(dx_gemm);
    free(x), free(w), free(r), free(dx), free(ws), free(xd), free(wd), free(rd), free(yd);
  }
}

/* On the table's path (the direct kernel on AVX2 / AVX-512 CPUs) and the
 * portable im2col + sgemm one. */
TEST(conv2d_backward_weight_matches_finite_differences_and_accumulates) {
  REQUIRE_OK(ebm_threads_init(2));
  const ebm_ops *ops = ebm_ops_cpu();
  for (int i = 0; i < SHAPE_COUNT; i++) {
    ebm_conv2d_shape s = shape_at(i, 1 + i % 3);
    int64_t nx = x_count(&s), ny = y_count(&s), nw = w_count(&s);
    float *x = rand_floats(nx, 70 + i, -1, 1), *w = rand_floats(nw, 80 + i, -1, 1);
    float *b = rand_floats(s.c_out, 85 + i, -1, 1), *r = rand_floats(ny, 90 + i, -1, 1);
    float *dw0 = rand_floats(nw, 100 + i, -1, 1), *db0 = rand_floats(s.c_out, 110 + i, -1, 1);
    float *ws = nan_floats((int64_t)ops->conv2d_workspace(&s));
    float *dw_of[PATHS], *db_of[PATHS], *dw_nob[PATHS];
    for (int path = 0; path < PATHS; path++) {
      dw_of[path] = copy_floats(nw, dw0), db_of[path] = copy_floats(s.c_out, db0);
      dw_nob[path] = copy_floats(nw, dw0);
      path_backward_weight(path, &s, x, r, dw_of[path], db_of[path], ws);
      path_backward_weight(path, &s, x, r, dw_nob[path], NULL, ws);
    }
    double *xd = to_double(nx, x), *wd = to_double(nw, w), *bd = to_double(s.c_out, b);
    double *rd = to_double(ny, r), *yd = malloc((size_t)ny * sizeof *yd);
    const double h = 1e-3;
    ebm_rng rng;
    ebm_rng_init(&rng, 115 + i);
    int64_t checks = nw < 150 ? nw : 48;
    for (int64_t c = 0; c < checks; c++) {
      int64_t q = nw < 150 ? c : ebm_rng_below(&rng, (uint32_t)nw);
      double w0 = wd[q];
      wd[q] = w0 + h;
      double lp = ref_loss(&s, xd, wd, bd, rd, yd);
      wd[q] = w0 - h;
      double lm = ref_loss(&s, xd, wd, bd, rd, yd);
      wd[q] = w0;
      double fd = (lp - lm) / (2 * h), tol = 1e-4 * (1 + fabs(fd));
      for (int path = 0; path < PATHS; path++) {
        const float *dw = dw_of[path];
        if (!(fabs(dw[q] - dw0[q] - fd) <= tol)) describe(&s), fprintf(stderr, "    %s\n", path_name[path]);
        CHECK_NEAR(dw[q] - dw0[q], fd, tol); /* added to what was there */
        CHECK(dw_nob[path][q] == dw[q]);
      }
    }
    for (int64_t q = 0; q < s.c_out; q++) {
      double b0 = bd[q];
      bd[q] = b0 + h;
      double lp = ref_loss(&s, xd, wd, bd, rd, yd);
      bd[q] = b0 - h;
      double lm = ref_loss(&s, xd, wd, bd, rd, yd);
      bd[q] = b0;
      double fd = (lp - lm) / (2 * h);
      for (int path = 0; path < PATHS; path++)
        CHECK_NEAR(db_of[path][q] - db0[q], fd, 1e-4 * (1 + fabs(fd)));
    }
    for (int path = 0; path < PATHS; path++) free(dw_of[path]), free(db_of[path]), free(dw_nob[path]);
    free(x), free(w), free(b), free(r), free(dw0), free(db0);
    free(ws), free(xd), free(wd), free(bd), free(rd), free(yd);
  }
}

/* Runs the three conv passes at `threads` threads into y, dx, dw. */
static void run_conv_passes(const ebm_conv2d_shape *s, int threads, const float *x, const float *w,
                            const float *b, const float *dy, float *y, float *dx, float *dw,
                            float *db) {
  REQUIRE_OK(ebm_threads_init(threads));
  const ebm_ops *ops = ebm_ops_cpu();
  float *ws = nan_floats((int64_t)ops->conv2d_workspace(s));
  ops->conv2d_forward(s, x, w, b, y, ws);
  ops->conv2d_backward_input(s, dy, w, dx, ws);
  memset(dw, 0, (size_t)w_count(s) * sizeof *dw);
  memset(db, 0, (size_t)s->c_out * sizeof *db);
  ops->conv2d_backward_weight(s, x, dy, dw, db, ws);
  free(ws);
}

TEST(conv2d_results_are_bitwise_identical_at_1_and_2_threads) {
  for (int i = 0; i < SHAPE_COUNT; i++)
    for (int64_t slots = 1; slots <= 3; slots++) {
      ebm_conv2d_shape s = shape_at(i, slots); /* workspace sized by slots, not by the pool */
      int64_t nx = x_count(&s), ny = y_count(&s), nw = w_count(&s);
      float *x = rand_floats(nx, 120 + i, -1, 1), *w = rand_floats(nw, 130 + i, -1, 1);
      float *b = rand_floats(s.c_out, 140 + i, -1, 1), *dy = rand_floats(ny, 150 + i, -1, 1);
      float *y[2], *dx[2], *dw[2], *db[2];
      for (int t = 0; t < 2; t++) {
        y[t] = nan_floats(ny), dx[t] = nan_floats(nx), dw[t] = nan_floats(nw);
        db[t] = nan_floats(s.c_out);
        run_conv_passes(&s, t + 1, x, w, b, dy, y[t], dx[t], dw[t], db[t]);
      }
      CHECK(memcmp(y[0], y[1], (size_t)ny * sizeof(float)) == 0);
      CHECK(memcmp(dx[0], dx[1], (size_t)nx * sizeof(float)) == 0);
      CHECK(memcmp(dw[0], dw[1], (size_t)nw * sizeof(float)) == 0);
      CHECK(memcmp(db[0], db[1], (size_t)s.c_out * sizeof(float)) == 0);
      for (int t = 0; t < 2; t++) free(y[t]), free(dx[t]), free(dw[t]), free(db[t]);
      free(x), free(w), free(b), free(dy);
    }
}

/* The fused forward's gate is swish' of its pre-activation (swish_backward
 * of ones), and the fused backward with that gate is swish_backward then
 * the plain input gradient, bit for bit; on the table's path and the
 * portable one. */
TEST(conv2d_fused_swish_kernels_equal_conv_then_swish_bitwise) {
  REQUIRE_OK(ebm_threads_init(2));
  const ebm_ops *ops = ebm_ops_cpu();
  for (int i = 0; i < SHAPE_COUNT; i++) {
    ebm_conv2d_shape s = shape_at(i, 2);
    int64_t nx = x_count(&s), ny = y_count(&s);
    float *x = rand_floats(nx, 160 + i, -3, 3), *w = rand_floats(w_count(&s), 170 + i, -1, 1);
    float *b = rand_floats(s.c_out, 180 + i, -1, 1), *dy = rand_floats(ny, 190 + i, -1, 1);
    float *ws = nan_floats((int64_t)ops->conv2d_workspace(&s)), *ones = nan_floats(ny);
    for (int64_t q = 0; q < ny; q++) ones[q] = 1.0f;
    float *pre = nan_floats(ny), *y = nan_floats(ny), *gate = nan_floats(ny);
    float *pre2 = nan_floats(ny), *y2 = nan_floats(ny), *gate2 = nan_floats(ny);
    float *dy_copy = copy_floats(ny, dy), *dx = nan_floats(nx), *dx2 = nan_floats(nx), *dz = nan_floats(ny);
    for (int path = 0; path < PATHS; path++) {
      memset(gate, 0xff, (size_t)ny * sizeof(float)); /* NaN: each path writes its own */
      if (path == 0)
        ops->conv2d_forward_swish(&s, x, w, b, pre, y, gate, ws);
      else
        ops_conv2d_gemm_forward(&s, x, w, b, pre, y, gate, ws);
      path_forward(path, &s, x, w, b, pre2, ws);
      ops->swish_forward(ny, pre2, y2);
      ops->swish_backward(ny, pre2, ones, gate2);
      CHECK(memcmp(pre, pre2, (size_t)ny * sizeof(float)) == 0);
      CHECK(memcmp(y, y2, (size_t)ny * sizeof(float)) == 0);
      CHECK(memcmp(gate, gate2, (size_t)ny * sizeof(float)) == 0);
      /* keeping no pre-activation (the Langevin pass) changes neither y nor gate */
      float *y3 = nan_floats(ny), *gate3 = nan_floats(ny);
      if (path == 0)
        ops->conv2d_forward_swish(&s, x, w, b, NULL, y3, gate3, ws);
      else
        ops_conv2d_gemm_forward(&s, x, w, b, NULL, y3, gate3, ws);
      CHECK(memcmp(y3, y, (size_t)ny * sizeof(float)) == 0);
      CHECK(memcmp(gate3, gate, (size_t)ny * sizeof(float)) == 0);
      free(y3), free(gate3);
      if (path == 0)
        ops->conv2d_backward_input_swish(&s, gate, dy, w, dx, ws);
      else
        ops_conv2d_gemm_backward_input(&s, gate, dy, w, dx, ws);
      CHECK(memcmp(dy, dy_copy, (size_t)ny * sizeof(float)) == 0); /* dy is not modified */
      ops->swish_backward(ny, pre, dy, dz);
      path_backward_input(path, &s, dz, w, dx2, ws);
      CHECK(memcmp(dx, dx2, (size_t)nx * sizeof(float)) == 0);
    }
    /* without a gate the forward leaves it alone */
    memset(gate, 0xff, (size_t)ny * sizeof(float));
    ops->conv2d_forward_swish(&s, x, w, b, pre, y, NULL, ws);
    CHECK(isnan(gate[0]) && isnan(gate[ny - 1]));
    free(x), free(w), free(b), free(dy), free(ws), free(ones), free(pre), free(y), free(gate);
    free(pre2), free(y2), free(gate2), free(dy_copy), free(dx), free(dx2), free(dz);
  }
}

/* The direct forward and input gradient skip the taps that fall in the
 * zero padding for a whole tile (border rows); that must give the bits of
 * the full sums, which the same conv computes on an input padded by hand
 * (padding 0: no tap to skip). Odd shapes: batch 1 and a remainder group, channels 3, 5, 7,
 * stride 1 and 2, padding 1, 2 and 4, kernels 3 and 5, h ≠ w. */
TEST(conv2d_with_padding_equals_the_hand_padded_input_bitwise) {
  REQUIRE_OK(ebm_threads_init(2));
  const ebm_ops *ops = ebm_ops_cpu();
  /* n, c_in, h_in, w_in, c_out, k, stride, pad */
  static const int64_t shapes[][8] = {{1, 3, 9, 7, 5, 3, 2, 1}, {13, 5, 6, 11, 7, 5, 1, 2},
                                      {9, 1, 28, 28, 16, 5, 2, 4}, {3, 7, 4, 4, 9, 3, 2, 1},
                                      {17, 2, 8, 5, 3, 3, 1, 1}};
  for (int i = 0; i < (int)(sizeof shapes / sizeof shapes[0]); i++) {
    const int64_t *v = shapes[i], p = v[7];
    ebm_conv2d_shape s = {.n = v[0], .c_in = v[1], .h_in = v[2], .w_in = v[3], .c_out = v[4],
                          .kh = v[5], .kw = v[5], .stride = v[6], .pad = p, .slots = 2};
    ebm_conv2d_shape_finish(&s);
    ebm_conv2d_shape s0 = s;
    s0.h_in += 2 * p, s0.w_in += 2 * p, s0.pad = 0;
    ebm_conv2d_shape_finish(&s0);
    REQUIRE(s0.h_out == s.h_out && s0.w_out == s.w_out);
    float *x = rand_floats(x_count(&s), 300 + i, -2, 2), *w = rand_floats(w_count(&s), 310 + i, -1, 1);
    float *b = rand_floats(s.c_out, 320 + i, -1, 1), *xpad = calloc((size_t)x_count(&s0), sizeof(float));
    REQUIRE(xpad != NULL);
    for (int64_t q = 0; q < s.n * s.c_in; q++)
      for (int64_t r = 0; r < s.h_in; r++)
        memcpy(xpad + (q * s0.h_in + r + p) * s0.w_in + p, x + (q * s.h_in + r) * s.w_in,
               (size_t)s.w_in * sizeof(float));
    size_t ws_count = ops->conv2d_workspace(&s) > ops->conv2d_workspace(&s0) ? ops->conv2d_workspace(&s)
                                                                             : ops->conv2d_workspace(&s0);
    float *ws = nan_floats((int64_t)ws_count), *y = nan_floats(y_count(&s)), *y0 = nan_floats(y_count(&s));
    ops->conv2d_forward(&s, x, w, b, y, ws);
    ops->conv2d_forward(&s0, xpad, w, b, y0, ws);
    if (memcmp(y, y0, (size_t)y_count(&s) * sizeof(float)) != 0) {
      describe(&s);
      CHECK(0);
    }
    /* the input gradient skips the taps that land in the padding: the interior
     * of the hand-padded input's gradient, bit for bit */
    float *dy = rand_floats(y_count(&s), 330 + i, -1, 1);
    float *dx = nan_floats(x_count(&s)), *dx0 = nan_floats(x_count(&s0));
    ops->conv2d_backward_input(&s, dy, w, dx, ws);
    ops->conv2d_backward_input(&s0, dy, w, dx0, ws);
    int64_t differ = 0;
    for (int64_t q = 0; q < s.n * s.c_in; q++)
      for (int64_t r = 0; r < s.h_in; r++)
        differ += memcmp(dx + (q * s.h_in + r) * s.w_in, dx0 + (q * s0.h_in + r + p) * s0.w_in + p,
                         (size_t)s.w_in * sizeof(float)) != 0;
    if (differ) describe(&s);
    CHECK_EQ_INT(differ, 0);
    free(x), free(w), free(b), free(xpad), free(ws), free(y), free(y0), free(dy), free(dx), free(dx0);
  }
}
