/* `ebm compose`, `ebm inpaint`, `ebm denoise`, `ebm translate`: the files
 * they write, the guarantees they make (observed pixels bit-identical, the
 * composed 2-D law), and every flag they check. Models are tiny networks
 * built and saved here (random weights: the commands' plumbing, not the
 * model's quality, is under test). */
#include "test_util.h"

/* 8×8 one-channel images in [0, 1]; `classes` > 0 adds class conditioning. */
static const char *image_arch(int classes) {
  static char json[512];
  snprintf(json, sizeof json,
           "{\"input\": [1, 8, 8], \"classes\": %d, \"range\": [0, 1], \"layers\": ["
           "{\"type\": \"conv2d\", \"name\": \"net.0\", \"out\": 4, \"kernel\": 3, \"stride\": 2, \"pad\": 1},"
           "%s{\"type\": \"swish\"}, {\"type\": \"flatten\"},"
           "{\"type\": \"linear\", \"name\": \"fc\", \"out\": 1}]}",
           classes, classes > 0 ? "{\"type\": \"class_affine\", \"name\": \"cond\"}," : "");
  return json;
}

static void save_model(const char *path, const char *json, uint64_t seed) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(json, 16, &net));
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  REQUIRE_OK(ebm_net_init(net, &rng));
  /* class gains/biases start as the identity; make the classes differ */
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    ebm_param *p = ebm_net_param(net, i);
    if (strncmp(p->name, "cond.", 5) == 0)
      ebm_rng_uniform(&rng, p->value->data, ebm_tensor_numel(p->value), strstr(p->name, "gain") ? 0.5f : -0.5f,
                      strstr(p->name, "gain") ? 1.5f : 0.5f);
  }
  REQUIRE_OK(ebm_net_save(net, path, 0, NULL, NULL));
  ebm_net_free(net);
}

static void save_mlp(const char *path, int classes) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("mlp", classes, 2, &json));
  save_model(path, json, 3);
  free(json);
}

/* n random 8×8 images in [0, 1] as (n, 1, 8, 8), or (n, 8, 8) if hw. */
static void save_images(const char *path, int64_t n, int hw, uint64_t seed) {
  float *x = malloc(sizeof(float) * (size_t)n * 64);
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  ebm_rng_uniform(&rng, x, n * 64, 0.0f, 1.0f);
  int64_t s4[4] = {n, 1, 8, 8}, s3[3] = {n, 8, 8};
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, hw ? 3 : 4, hw ? s3 : s4, x));
  free(x);
}

static void expect(cli_result r, int code, const char *needle) {
  if (r.code != code) test_fail_at(__FILE__, __LINE__, "exit %d, expected %d; stderr: %s", r.code, code, r.err);
  if (needle && !strstr(code == 0 ? r.out : r.err, needle))
    test_fail_at(__FILE__, __LINE__, "output lacks \"%s\": out: %s err: %s", needle, r.out, r.err);
  cli_result_free(&r);
}

static int png_size(const char *path, int *w, int *h) {
  int c;
  uint8_t *px = NULL;
  if (ebm_png_read(path, w, h, &c, &px) != EBM_OK) return 0;
  free(px);
  return 1;
}

/* ------------------------------------------------------------- compose */

/* AND of N((1,0), I) and N((−1,0), I) is N(0, ½I); 2000 MALA chains of 200
 * steps are independent draws: the mean within 5·√(0.5/2000) = 0.079 of 0,
 * the variance within 5·0.5·√(2/2000) = 0.079 of 0.5. OR of the same two
 * with weights 0.2 / 0.8 has mean 0.2·1 + 0.8·(−1) = −0.6 in x₀ (the
 * components overlap enough for chains to move between them; variance
 * 1 + 0.64 = 1.64, so 5 standard errors are 0.14). */
TEST(cli_compose_and_or_of_gaussians_have_the_composed_moments) {
  const char *out = test_path("and.npy"), *png = test_path("and.png");
  expect(run_cli("compose --term gaussian:2:mean=1,0 --term gaussian:2:mean=-1,0 --n 2000 --steps 200 --seed 1 "
                 "--out %s --png %s", out, png),
         0, "mala: 200 steps on 2000 chains of gaussian:2:mean=1,0 AND gaussian:2:mean=-1,0");
  ebm_npy a;
  test_load_f32(out, &a);
  REQUIRE(a.ndim == 2 && a.shape[0] == 2000 && a.shape[1] == 2);
  const float *x = a.data;
  for (int d = 0; d < 2; d++) {
    double m = 0, v = 0;
    for (int i = 0; i < 2000; i++) m += x[2 * i + d] / 2000.0;
    for (int i = 0; i < 2000; i++) v += (x[2 * i + d] - m) * (x[2 * i + d] - m) / 1999.0;
    CHECK_NEAR(m, 0.0, 0.079);
    CHECK_NEAR(v, 0.5, 0.079);
  }
  ebm_npy_free(&a);
  int w, h;
  CHECK(png_size(png, &w, &h) && w == 400 && h == 400);
  expect(run_cli("compose --or --term gaussian:2:mean=1,0:weight=0.2 --term gaussian:2:mean=-1,0:weight=0.8 "
                 "--n 2000 --steps 300 --seed 2 --out %s", out),
         0, " OR ");
  test_load_f32(out, &a);
  x = a.data;
  double m = 0;
  for (int i = 0; i < 2000; i++) m += x[2 * i] / 2000.0;
  CHECK_NEAR(m, -0.6, 5 * sqrt(1.64 / 2000));
  ebm_npy_free(&a);
}

/* AND NOT of N(0, I) and N((1,0), I) at α = 0.5 is N((−1,0), 2I): mass
 * moves away from where the negated energy is low. */
TEST(cli_compose_not_moves_mass_away_from_the_negated_term) {
  const char *out = test_path("not.npy");
  expect(run_cli("compose --term gaussian:2 --not gaussian:2:mean=1,0 --alpha 0.5 --n 2000 --steps 200 --seed 3 "
                 "--out %s", out),
         0, "gaussian:2 AND NOT 0.5*gaussian:2:mean=1,0");
  ebm_npy a;
  test_load_f32(out, &a);
  const float *x = a.data;
  double m = 0;
  for (int i = 0; i < 2000; i++) m += x[2 * i] / 2000.0;
  CHECK_NEAR(m, -1.0, 5 * sqrt(2.0 / 2000));
  ebm_npy_free(&a);
}

/* One conditional checkpoint with two classes (loaded once), a checkpoint
 * ANDed with a toy, annealing, and an image grid. */
TEST(cli_compose_combines_classes_of_one_checkpoint_and_toys) {
  const char *m = test_path("cond.safetensors"), *out = test_path("s.npy"), *png = test_path("s.png");
  save_mlp(m, 3);
  expect(run_cli("compose --term %s:class=0 --term %s:class=2:weight=0.5:temp=2 --term toy:moons --sampler mala "
                 "--steps 20 --anneal 4 --n 16 --out %s", m, m, out),
         0, "class=0] AND 0.5*");
  ebm_npy a;
  test_load_f32(out, &a);
  CHECK(a.ndim == 2 && a.shape[0] == 16 && a.shape[1] == 2);
  ebm_npy_free(&a);
  const char *im = test_path("img.safetensors");
  save_model(im, image_arch(2), 5);
  expect(run_cli("compose --term %s:class=1 --not %s:class=0 --steps 3 --n 4 --out %s --png %s", im, im, out, png), 0,
         "langevin: 3 steps on 4 chains");
  test_load_f32(out, &a);
  CHECK(a.ndim == 4 && a.shape[0] == 4 && a.shape[1] == 1 && a.shape[2] == 8);
  const float *x = a.data;
  int in_range = 1;
  for (int k = 0; k < 4 * 64; k++) in_range &= x[k] >= 0.0f && x[k] <= 1.0f;
  CHECK(in_range);
  ebm_npy_free(&a);
  int w, h;
  CHECK(png_size(png, &w, &h) && w > 16 && h > 16);
}

TEST(cli_compose_rejects_bad_terms_and_flags) {
  const char *out = test_path("s.npy"), *m = test_path("cond.safetensors"), *u = test_path("u.safetensors");
  save_mlp(m, 3);
  save_mlp(u, 0);
  expect(run_cli("compose --out %s", out), 2, "give at least one --term");
  expect(run_cli("compose --term gaussian:2"), 2, "--out OUT.npy is required");
  expect(run_cli("compose --term toy:nope --out %s", out), 2, "unknown toy");
  expect(run_cli("compose --term toy:checkerboard --out %s", out), 2, "toy:checkerboard");
  expect(run_cli("compose --term gaussian:0 --out %s", out), 2, "dimension D in 1..");
  expect(run_cli("compose --term gaussian:2:weight=-1 --out %s", out), 2, "weight= must be > 0");
  expect(run_cli("compose --term gaussian:2:temp=nan --out %s", out), 2, "temp= expects a finite number");
  expect(run_cli("compose --term gaussian:2:mean=1,2,3 --out %s", out), 2, "mean= expects 1 or 2");
  expect(run_cli("compose --term toy:rings:std=2 --out %s", out), 2, "options of gaussian:D energies");
  expect(run_cli("compose --term gaussian:2:colour=red --out %s", out), 2, "unknown option 'colour'");
  expect(run_cli("compose --term gaussian:2 --term gaussian:3 --out %s", out), 2, "gaussian:3 has [3]");
  expect(run_cli("compose --term %s --out %s", m, out), 2, "is conditional (3 classes): add :class=Y");
  expect(run_cli("compose --term %s:class=3 --out %s", m, out), 2, "class must be in 0..2");
  expect(run_cli("compose --term %s:class=1 --out %s", u, out), 2, "is unconditional");
  expect(run_cli("compose --term gaussian:2 --alpha -1 --out %s", out), 2, "--alpha must be >= 0");
  expect(run_cli("compose --term gaussian:2 --anneal 0.5 --out %s", out), 2, "--anneal must be in [1, 1e6]");
  expect(run_cli("compose --term gaussian:2 --n 0 --out %s", out), 2, "--n must be in 1..");
  expect(run_cli("compose --term gaussian:2 --steps -3 --out %s", out), 2, "--steps must be >= 0");
  expect(run_cli("compose --term gaussian:2 --sampler gibbs --out %s", out), 2, "--sampler must be");
  expect(run_cli("compose --term gaussian:3 --png x.png --out %s", out), 2, "--png draws images or 2-D samples");
  expect(run_cli("compose --term %s --out %s", test_path("missing.safetensors"), out), 1, "missing.safetensors");
  expect(run_cli("compose --term"), 2, "--term needs a value");
}

/* ------------------------------------------------------------- inpaint */

TEST(cli_inpaint_keeps_observed_pixels_bit_identical_and_fills_the_rest) {
  const char *m = test_path("m.safetensors"), *x = test_path("x.npy"), *mask = test_path("mask.npy");
  const char *out = test_path("y.npy"), *png = test_path("y.png");
  save_model(m, image_arch(0), 7);
  save_images(x, 5, 0, 9);
  /* the right half of every image is missing (uint8 mask) */
  uint8_t mk[5 * 64];
  for (int k = 0; k < 5 * 64; k++) mk[k] = (uint8_t)(k % 8 >= 4);
  int64_t shape[4] = {5, 1, 8, 8};
  REQUIRE_OK(ebm_npy_save(mask, EBM_DTYPE_U8, 4, shape, mk));
  expect(run_cli("inpaint --ckpt %s --input %s --mask %s --out %s --steps 10 --seed 4 --png %s", m, x, mask, out, png), 0,
         "inpainted 5 images (160 values, 50.0%) with langevin, 10 steps");
  ebm_npy in, res;
  test_load_f32(x, &in);
  test_load_f32(out, &res);
  REQUIRE(res.ndim == 4 && memcmp(res.shape, in.shape, sizeof shape) == 0);
  const float *a = in.data, *b = res.data;
  int same = 1, moved = 0, in_range = 1;
  for (int k = 0; k < 5 * 64; k++) {
    if (!mk[k]) same &= memcmp(&a[k], &b[k], sizeof(float)) == 0;
    else moved += a[k] != b[k];
    in_range &= b[k] >= 0.0f && b[k] <= 1.0f;
  }
  CHECK(same);
  CHECK_EQ_INT(moved, 160);
  CHECK(in_range);
  ebm_npy_free(&in);
  ebm_npy_free(&res);
  int w, h;
  CHECK(png_size(png, &w, &h) && h > w / 5 - 8 && h < w); /* 3 rows of 5 images */
  /* N×H×W input and a float mask work the same; the output keeps N×H×W */
  save_images(x, 2, 1, 10);
  float fm[2 * 64];
  for (int k = 0; k < 2 * 64; k++) fm[k] = (float)(k % 3 == 0);
  int64_t s3[3] = {2, 8, 8};
  REQUIRE_OK(ebm_npy_save(mask, EBM_DTYPE_F32, 3, s3, fm));
  expect(run_cli("inpaint --ckpt %s --input %s --mask %s --out %s --steps 2", m, x, mask, out), 0, "inpainted 2 images");
  test_load_f32(out, &res);
  CHECK(res.ndim == 3 && res.shape[0] == 2 && res.shape[1] == 8);
  ebm_npy_free(&res);
}

TEST(cli_inpaint_rejects_bad_masks_and_flags) {
  const char *m = test_path("m.safetensors"), *c = test_path("c.safetensors"), *x = test_path("x.npy");
  const char *mask = test_path("mask.npy"), *out = test_path("y.npy");
  save_model(m, image_arch(0), 7);
  save_model(c, image_arch(3), 7);
  save_images(x, 2, 0, 9);
  float fm[2 * 64] = {0};
  int64_t s4[4] = {2, 1, 8, 8}, s4b[4] = {3, 1, 8, 8};
  REQUIRE_OK(ebm_npy_save(mask, EBM_DTYPE_F32, 4, s4, fm));
  expect(run_cli("inpaint --ckpt %s --input %s --mask %s --out %s", m, x, mask, out), 2, "selects no pixel");
  fm[5] = 0.5f;
  REQUIRE_OK(ebm_npy_save(mask, EBM_DTYPE_F32, 4, s4, fm));
  expect(run_cli("inpaint --ckpt %s --input %s --mask %s --out %s", m, x, mask, out), 1,
         "mask.npy: value 0.5 at index 5; expected 0 (observed) or 1 (fill)");
  float big[3 * 64] = {0};
  REQUIRE_OK(ebm_npy_save(mask, EBM_DTYPE_F32, 4, s4b, big));
  expect(run_cli("inpaint --ckpt %s --input %s --mask %s --out %s", m, x, mask, out), 1,
         "shape [3,1,8,8], expected the input's shape [2,1,8,8]");
  fm[5] = 1.0f;
  REQUIRE_OK(ebm_npy_save(mask, EBM_DTYPE_F32, 4, s4, fm));
  expect(run_cli("inpaint --ckpt %s --input %s --mask %s --out %s", c, x, mask, out), 2, "give --class Y");
  expect(run_cli("inpaint --ckpt %s --input %s --mask %s --out %s --class 3", c, x, mask, out), 2,
         "--class must be in 0..2");
  expect(run_cli("inpaint --ckpt %s --input %s --mask %s --out %s --class 1 --steps 2", c, x, mask, out), 0, NULL);
  expect(run_cli("inpaint --ckpt %s --input %s --mask %s --out %s --class 1", m, x, mask, out), 2, "is unconditional");
  expect(run_cli("inpaint --ckpt %s --input %s --out %s", m, x, out), 2, "are required");
  expect(run_cli("inpaint --ckpt %s --input %s --mask %s --out %s --steps -1", m, x, mask, out), 2, "--steps must be >= 0");
  const char *x2 = test_path("x2.npy");
  float v[2 * 2] = {0};
  int64_t s2[2] = {2, 2};
  REQUIRE_OK(ebm_npy_save(x2, EBM_DTYPE_F32, 2, s2, v));
  expect(run_cli("inpaint --ckpt %s --input %s --mask %s --out %s", m, x2, mask, out), 1,
         "x2.npy: shape [2,2], expected [N]+[1,8,8]");
}

/* ------------------------------------------------------------- denoise */

TEST(cli_denoise_corrupts_runs_langevin_and_reports_mse) {
  const char *m = test_path("m.safetensors"), *x = test_path("x.npy"), *out = test_path("y.npy");
  const char *noisy = test_path("noisy.npy"), *png = test_path("d.png");
  save_model(m, image_arch(0), 7);
  save_images(x, 4, 0, 9);
  cli_result r = run_cli("denoise --ckpt %s --input %s --out %s --corrupt salt-pepper --noise 0.25 --steps 0 "
                         "--corrupted %s --png %s", m, x, out, noisy, png);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "denoised 4 images (salt-pepper 0.25) with langevin, 0 steps");
  /* 0 steps: the result is the corrupted input; the reported MSEs agree
   * with the files (about 0.25 of the pixels moved to 0 or 1) */
  ebm_npy a, b, c;
  test_load_f32(x, &a);
  test_load_f32(noisy, &b);
  test_load_f32(out, &c);
  const float *xa = a.data, *xb = b.data;
  double mse = 0;
  int changed = 0;
  for (int k = 0; k < 4 * 64; k++) {
    mse += (xb[k] - xa[k]) * (xb[k] - xa[k]) / 256.0;
    changed += xb[k] != xa[k];
  }
  CHECK(memcmp(b.data, c.data, sizeof(float) * 256) == 0);
  char want[128];
  snprintf(want, sizeof want, "corrupted %.6g -> denoised %.6g", mse, mse);
  CHECK_CONTAINS(r.out, want);
  CHECK(changed > 256 * 0.25 - 5 * 7 && changed < 256 * 0.25 + 5 * 7); /* Binomial(256, 0.25): sd 6.9 */
  cli_result_free(&r);
  ebm_npy_free(&a);
  ebm_npy_free(&b);
  ebm_npy_free(&c);
  int w, h;
  CHECK(png_size(png, &w, &h));
  expect(run_cli("denoise --ckpt %s --input %s --out %s --steps 5", m, x, out), 0, "(gaussian 0.2) with langevin, 5 steps");
  expect(run_cli("denoise --ckpt %s --input %s --out %s --corrupt none --steps 5 --sampler-noise 0.01", m, x, out), 0,
         "MSE moved");
}

TEST(cli_denoise_rejects_bad_flags) {
  const char *m = test_path("m.safetensors"), *x = test_path("x.npy"), *out = test_path("y.npy");
  save_model(m, image_arch(0), 7);
  save_images(x, 2, 0, 9);
  expect(run_cli("denoise --ckpt %s --input %s --out %s --corrupt blur", m, x, out), 2,
         "--corrupt must be gaussian, salt-pepper or none");
  expect(run_cli("denoise --ckpt %s --input %s --out %s --noise -0.1", m, x, out), 2, "must be >= 0");
  expect(run_cli("denoise --ckpt %s --input %s --out %s --corrupt salt-pepper --noise 2", m, x, out), 2,
         "must be in [0, 1]");
  expect(run_cli("denoise --ckpt %s --input %s --out %s --corrupt none --noise 0.1", m, x, out), 2,
         "--noise needs --corrupt");
  expect(run_cli("denoise --ckpt %s --input %s --out %s --sampler-noise -1", m, x, out), 2,
         "--sampler-noise must be >= 0");
  expect(run_cli("denoise --ckpt %s --out %s", m, out), 2, "are required");
}

/* ----------------------------------------------------------- translate */

TEST(cli_translate_runs_under_the_target_class_and_draws_the_trajectory) {
  const char *c = test_path("c.safetensors"), *x = test_path("x.npy"), *out = test_path("t.npy");
  const char *png = test_path("t.png");
  save_model(c, image_arch(3), 11);
  save_images(x, 3, 1, 12);
  expect(run_cli("translate --ckpt %s --input %s --to-class 2 --out %s --steps 20 --every 5 --png %s", c, x, out, png),
         0, "translated 3 images to class 2 with langevin, 20 steps: mean E(x, 2)");
  ebm_npy a, b;
  test_load_f32(x, &a);
  test_load_f32(out, &b);
  CHECK(b.ndim == 3 && b.shape[0] == 3);
  CHECK(memcmp(a.data, b.data, sizeof(float) * 3 * 64) != 0);
  ebm_npy_free(&a);
  ebm_npy_free(&b);
  /* 3 rows (the images), 5 columns (start + every 5 steps): wider than tall */
  int w, h;
  CHECK(png_size(png, &w, &h) && w > h);
  /* the same seed gives the same result; another class gives another */
  const char *out2 = test_path("t2.npy");
  expect(run_cli("translate --ckpt %s --input %s --to-class 1 --out %s --steps 20", c, x, out2), 0, NULL);
  test_load_f32(out, &a);
  test_load_f32(out2, &b);
  CHECK(memcmp(a.data, b.data, sizeof(float) * 3 * 64) != 0);
  ebm_npy_free(&a);
  ebm_npy_free(&b);
}

TEST(cli_translate_needs_a_conditional_model_and_a_valid_class) {
  const char *c = test_path("c.safetensors"), *u = test_path("u.safetensors"), *x = test_path("x.npy");
  const char *out = test_path("t.npy");
  save_model(c, image_arch(3), 11);
  save_model(u, image_arch(0), 11);
  save_images(x, 2, 0, 12);
  expect(run_cli("translate --ckpt %s --input %s --to-class 1 --out %s", u, x, out), 2, "is unconditional");
  expect(run_cli("translate --ckpt %s --input %s --out %s", c, x, out), 2, "give --to-class Y");
  expect(run_cli("translate --ckpt %s --input %s --to-class 3 --out %s", c, x, out), 2, "--to-class must be in 0..2");
  expect(run_cli("translate --ckpt %s --input %s --to-class 1 --out %s --every -2", c, x, out), 2, "--every must be");
  expect(run_cli("translate --ckpt %s --input %s --to-class 1 --out %s --steps 200 --every 1 --png %s", c, x, out,
                 test_path("t.png")),
         2, "at most 64");
}

/* --prior adds an unconditional model of the same images to E(x, Y): the
 * start energy printed is the mean of E_c(x, 2) + W·E_u(2x − 1) (the prior
 * trained on [−1, 1], mapped by :range=0,1), and its pull changes the
 * result. A prior on another range without :range=, or a conditional one,
 * is refused in one line saying what to add. */
TEST(cli_translate_adds_a_prior_mapped_to_the_models_range) {
  const char *c = test_path("c.safetensors"), *u = test_path("u.safetensors"), *x = test_path("x.npy");
  const char *out = test_path("t.npy"), *plain = test_path("plain.npy");
  char prior_arch[512], spec[600];
  snprintf(prior_arch, sizeof prior_arch, "%s", image_arch(0));
  char *r = strstr(prior_arch, "\"range\": [0, 1]");
  REQUIRE(r);
  memcpy(r, "\"range\": [-1,1]", 15); /* same length: [0, 1] -> [-1,1] */
  save_model(c, image_arch(3), 11);
  save_model(u, prior_arch, 13);
  save_images(x, 3, 0, 12);
  expect(run_cli("translate --ckpt %s --input %s --to-class 1 --out %s --prior %s", c, x, out, u), 2,
         "works on [-1, 1] but");
  expect(run_cli("translate --ckpt %s --input %s --to-class 1 --out %s --prior %s", c, x, out, c), 2,
         "is conditional");
  snprintf(spec, sizeof spec, "%s:range=0,1:weight=3", u);
  cli_result res = run_cli("translate --ckpt %s --input %s --to-class 2 --out %s --steps 10 --prior %s", c, x, out,
                           spec);
  REQUIRE(res.code == 0);
  const char *at = strstr(res.out, "mean E(x, 2) ");
  REQUIRE(at);
  double printed = strtod(at + strlen("mean E(x, 2) "), NULL);
  cli_result_free(&res);
  ebm_net *cn = NULL, *un = NULL;
  REQUIRE_OK(ebm_net_load(c, 3, &cn));
  REQUIRE_OK(ebm_net_load(u, 3, &un));
  ebm_npy a;
  test_load_f32(x, &a);
  float mapped[3 * 64], ec[3], eu[3];
  const float *xa = a.data;
  for (int k = 0; k < 3 * 64; k++) mapped[k] = 2.0f * xa[k] - 1.0f;
  int32_t y[3] = {2, 2, 2};
  REQUIRE_OK(ebm_net_energy(cn, xa, &(ebm_cond){.labels = y}, 3, ec));
  REQUIRE_OK(ebm_net_energy(un, mapped, NULL, 3, eu));
  double want = 0.0;
  for (int i = 0; i < 3; i++) want += ((double)ec[i] + 3.0 * eu[i]) / 3.0;
  CHECK_NEAR(printed, want, 1e-5 * (1.0 + fabs(want))); /* printed with %.6g */
  expect(run_cli("translate --ckpt %s --input %s --to-class 2 --out %s --steps 10", c, x, plain), 0, NULL);
  ebm_npy b, p;
  test_load_f32(out, &b);
  test_load_f32(plain, &p);
  CHECK(memcmp(b.data, p.data, sizeof(float) * 3 * 64) != 0);
  ebm_npy_free(&a);
  ebm_npy_free(&b);
  ebm_npy_free(&p);
  ebm_net_free(cn);
  ebm_net_free(un);
}

/* Named masks: bottom-half and center fill 32 / 16 of 64 pixels per 8×8
 * image, and the rows above the bottom half come back unchanged. */
TEST(cli_inpaint_pattern_masks_select_the_named_regions) {
  const char *m = test_path("m.safetensors"), *x = test_path("x.npy"), *out = test_path("y.npy");
  save_model(m, image_arch(0), 7);
  save_images(x, 3, 0, 9);
  expect(run_cli("inpaint --ckpt %s --input %s --mask pattern:bottom-half --out %s --steps 3", m, x, out), 0,
         "inpainted 3 images (96 values, 50.0%)");
  ebm_npy a, b;
  test_load_f32(x, &a);
  test_load_f32(out, &b);
  const float *xa = a.data, *xb = b.data;
  int top_same = 1, bottom_moved = 0;
  for (int k = 0; k < 3 * 64; k++) {
    if ((k % 64) / 8 < 4) top_same &= xa[k] == xb[k];
    else bottom_moved += xa[k] != xb[k];
  }
  CHECK(top_same);
  CHECK_EQ_INT(bottom_moved, 96);
  ebm_npy_free(&a);
  ebm_npy_free(&b);
  expect(run_cli("inpaint --ckpt %s --input %s --mask pattern:center --out %s --steps 1", m, x, out), 0,
         "(48 values, 25.0%)");
  expect(run_cli("inpaint --ckpt %s --input %s --mask pattern:random:0.5 --out %s --steps 1", m, x, out), 0, "inpainted 3");
  expect(run_cli("inpaint --ckpt %s --input %s --mask pattern:random:0 --out %s", m, x, out), 2, "P in (0, 1]");
  expect(run_cli("inpaint --ckpt %s --input %s --mask pattern:left --out %s", m, x, out), 2,
         "patterns are right-half, bottom-half, center, random:P");
}
