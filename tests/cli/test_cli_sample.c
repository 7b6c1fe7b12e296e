/* `ebm sample`: the npy it writes, its pictures, its checks of every flag. */
#include "test_util.h"

/* 2000 chains of MALA on N(0, I₂) (100 warm-up steps adapting ε, 100 more):
 * the final states are 2000 independent draws, so the mean is within
 * 5/√2000 = 0.11 of 0 and the variance within 5·√(2/2000) = 0.16 of 1. */
TEST(cli_sample_gaussian_writes_npy_with_the_right_shape_and_sane_moments) {
  const char *out = test_path("s.npy");
  cli_result r = run_cli("sample --energy gaussian:2 --n 2000 --steps 200 --seed 3 --out %s", out);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "mala: 200 steps on 2000 chains of gaussian:2, final mean energy");
  CHECK_CONTAINS(r.out, "acceptance");
  cli_result_free(&r);
  ebm_npy a;
  test_load_f32(out, &a);
  CHECK(a.ndim == 2 && a.shape[0] == 2000 && a.shape[1] == 2);
  const float *x = a.data;
  for (int d = 0; d < 2; d++) {
    double m = 0, v = 0;
    for (int i = 0; i < 2000; i++) m += x[i * 2 + d] / 2000.0;
    for (int i = 0; i < 2000; i++) v += (x[i * 2 + d] - m) * (x[i * 2 + d] - m) / 1999.0;
    CHECK_NEAR(m, 0.0, 0.11);
    CHECK_NEAR(v, 1.0, 0.16);
  }
  ebm_npy_free(&a);
}

TEST(cli_sample_is_reproducible_for_a_seed_at_any_thread_count) {
  const char *a = test_path("a.npy"), *b = test_path("b.npy"), *c = test_path("c.npy");
  cli_result r = run_cli("sample --energy toy:rings --sampler hmc --n 3000 --steps 20 --seed 9 --threads 1 --out %s", a);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("sample --energy toy:rings --sampler hmc --n 3000 --steps 20 --seed 9 --threads 2 --out %s", b);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("sample --energy toy:rings --sampler hmc --n 3000 --steps 20 --seed 10 --threads 2 --out %s", c);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  CHECK(test_same_file(a, b));
  CHECK(!test_same_file(a, c));
}

/* --init npy:FILE without --n takes every item; 0 steps returns them. */
TEST(cli_sample_init_npy_starts_from_the_file) {
  float init[5 * 2] = {0.5f, -1, 2, 3, -0.25f, 0, 1, 1, -3, 0.125f};
  int64_t shape[2] = {5, 2};
  const char *in = test_path("init.npy"), *out = test_path("out.npy");
  REQUIRE_OK(ebm_npy_save(in, EBM_DTYPE_F32, 2, shape, init));
  cli_result r = run_cli("sample --energy gaussian:2 --init npy:%s --steps 0 --out %s", in, out);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "0 steps on 5 chains");
  cli_result_free(&r);
  ebm_npy a;
  test_load_f32(out, &a);
  CHECK(a.shape[0] == 5 && memcmp(a.data, init, sizeof init) == 0);
  ebm_npy_free(&a);
  /* the wrong item shape is a runtime error naming the file */
  r = run_cli("sample --energy gaussian:3 --init npy:%s --out %s", in, out);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "init.npy");
  cli_result_free(&r);
}

/* --init data:SPEC starts from data items: toy rings points lie within
 * 0.5 of a ring (σ = 0.1), which uniform noise over [-4, 4]² mostly does
 * not (radii up to 5.7). */
TEST(cli_sample_init_data_starts_from_data_items) {
  const char *out = test_path("d.npy");
  cli_result r = run_cli("sample --energy toy:rings --init data:toy:rings --n 100 --steps 0 --out %s", out);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  ebm_npy a;
  test_load_f32(out, &a);
  REQUIRE(a.shape[0] == 100 && a.shape[1] == 2);
  const float *x = a.data;
  for (int i = 0; i < 100; i++) {
    double rho = hypot(x[2 * i], x[2 * i + 1]), k = floor(rho / 0.75 + 0.5);
    CHECK(k >= 1 && k <= 4 && fabs(rho - 0.75 * k) < 0.5);
  }
  ebm_npy_free(&a);
  r = run_cli("sample --energy gaussian:3 --init data:toy:rings --out %s", out);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "has items [2], gaussian:3 expects [3]");
  cli_result_free(&r);
  r = run_cli("sample --energy gaussian:2 --init data:nosuchset --out %s", out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--init data:nosuchset");
  cli_result_free(&r);
}

TEST(cli_sample_draws_the_density_and_the_chains_of_a_2d_toy) {
  const char *png = test_path("d.png"), *chain = test_path("c.png");
  cli_result r = run_cli("sample --energy toy:8gaussians --sampler kinetic --step-size 0.1 --n 500 --steps 50 "
                         "--out %s --png %s --chain %s --every 10",
                         test_path("t.npy"), png, chain);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "kinetic: 50 steps on 500 chains of toy:8gaussians");
  cli_result_free(&r);
  int w, h, c;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(png, &w, &h, &c, &px));
  CHECK(w == 400 && h == 400 && c == 3);
  int red = 0;
  for (int i = 0; i < w * h; i++) red += px[3 * i] > 200 && px[3 * i + 1] < 60; /* sample dots */
  CHECK(red > 500);
  free(px);
  REQUIRE_OK(ebm_png_read(chain, &w, &h, &c, &px));
  CHECK(w == 400 && h == 400);
  free(px);
}

/* A checkpoint (an untrained uva-cnn: 1×28×28 images in [-1, 1]) through
 * the default IGEBM Langevin: samples stay in the range, the grid and the
 * chain pictures have the expected sizes. */
TEST(cli_sample_from_a_checkpoint_writes_images_and_pictures) {
  char *json = NULL;
  ebm_net *net = NULL;
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  REQUIRE_OK(ebm_arch_preset("uva-cnn", 0, 0, &json));
  REQUIRE_OK(ebm_net_new(json, 4, &net));
  REQUIRE_OK(ebm_net_init(net, &rng));
  const char *ckpt = test_path("m.safetensors"), *out = test_path("x.npy");
  REQUIRE_OK(ebm_net_save(net, ckpt, 0, NULL, NULL));
  ebm_net_free(net);
  free(json);
  cli_result r = run_cli("sample --ckpt %s --n 4 --steps 3 --out %s --png %s --chain %s --every 1", ckpt, out,
                         test_path("g.png"), test_path("c.png"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "langevin: 3 steps on 4 chains of ");
  CHECK_CONTAINS(r.out, "m.safetensors");
  cli_result_free(&r);
  ebm_npy a;
  test_load_f32(out, &a);
  CHECK(a.ndim == 4 && a.shape[0] == 4 && a.shape[1] == 1 && a.shape[2] == 28 && a.shape[3] == 28);
  const float *x = a.data;
  for (int i = 0; i < 4 * 784; i++) REQUIRE(x[i] >= -1.0f && x[i] <= 1.0f);
  ebm_npy_free(&a);
  int w, h, c;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(test_path("c.png"), &w, &h, &c, &px));
  /* 4 chains × (1 + 3) columns of 56-px (scaled ×2) images */
  CHECK(w >= 4 * 56 && w < 5 * 60 && h >= 4 * 56 && h < 5 * 60);
  free(px);
  r = run_cli("sample --ckpt %s --class 0 --out %s", ckpt, out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "m.safetensors is unconditional");
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s --out %s", test_path("missing.safetensors"), out);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "missing.safetensors");
  cli_result_free(&r);
}

TEST(cli_sample_class_of_a_conditional_model_is_checked) {
  char *json = NULL;
  ebm_net *net = NULL;
  ebm_rng rng;
  ebm_rng_init(&rng, 2);
  REQUIRE_OK(ebm_arch_preset("mlp", 3, 2, &json));
  REQUIRE_OK(ebm_net_new(json, 8, &net));
  REQUIRE_OK(ebm_net_init(net, &rng));
  const char *ckpt = test_path("c.safetensors"), *out = test_path("y.npy");
  REQUIRE_OK(ebm_net_save(net, ckpt, 0, NULL, NULL));
  ebm_net_free(net);
  free(json);
  cli_result r = run_cli("sample --ckpt %s --class 3 --out %s", ckpt, out);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--class must be in 0..2");
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s --class -2 --out %s", ckpt, out);
  CHECK_EQ_INT(r.code, 2);
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s --class 2 --steps 5 --out %s", ckpt, out);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
}

TEST(cli_sample_bad_flags_are_usage_errors_naming_the_flag) {
  static const struct {
    const char *args, *message;
  } cases[] = {
      {"--energy gaussian:2 --steps -1", "--steps must be >= 0"},
      {"--energy gaussian:2 --steps many", "--steps expects an integer"},
      {"--energy gaussian:2 --step-size nan", "--step-size expects a finite number"},
      {"--energy gaussian:2 --step-size -0.1", "--step-size must be > 0"},
      {"--energy gaussian:2 --sampler ula --step-size 0", "--step-size must be > 0"},
      {"--energy gaussian:2 --noise -1", "--noise must be >= 0"},
      {"--energy gaussian:2 --grad-clip -0.5", "--grad-clip must be >= 0"},
      {"--energy gaussian:2 --sampler gibbs", "--sampler must be langevin, ula, mala, hmc or kinetic"},
      {"--energy gaussian:2 --sampler hmc --leapfrog 0", "--leapfrog must be >= 1"},
      {"--energy gaussian:2 --friction -1", "--friction must be >= 0"},
      {"--energy gaussian:2 --temperature 0", "--temperature must be > 0"},
      {"--energy gaussian:2 --sampler ula --adapt 10", "--adapt needs --sampler mala or hmc"},
      {"--energy gaussian:2 --steps 10 --adapt 20", "--adapt must be in 0..steps"},
      {"--energy gaussian:2 --n -5", "--n must be in 1.."},
      {"--energy gaussian:2 --class 1", "--class 1: gaussian:2 is unconditional"},
      {"--energy gaussian:2 --every -1", "--every must be >= 1"},
      {"--energy gaussian:2 --init zeros", "--init expects uniform, gaussian:SPEC, mixture:K:SPEC, items:SPEC, data:SPEC or npy:FILE"},
      {"--energy gaussian:2 --init gaussian:nope", "--init gaussian:nope: unknown data set 'nope'"},
      {"--energy gaussian:3 --png p.png", "--png draws images"},
      {"--energy gaussian:0", "--energy gaussian:0: gaussian:D needs a dimension"},
      {"--energy toy:spiral", "--energy toy:spiral: unknown toy"},
      {"--energy toy:checkerboard", "--energy toy:checkerboard: the checkerboard toy has no usable energy"},
      {"--energy gaussian:2:std=0", "--energy gaussian:2:std=0: std= must be > 0"},
      {"--energy toy:rings:mean=1", "mean= and std= are options of gaussian:D energies"},
      {"--energy gaussian:2:class=1", "class= fixes the class of a conditional checkpoint; a Gaussian has none"},
      {"--energy gaussian:2:colour=red", "unknown option 'colour' (class, window, ends; mean, std for gaussian:D)"},
      {"--energy gaussian:2 --ckpt m.safetensors", "exactly one of --ckpt CKPT or --energy SPEC"},
      {"--steps 5", "exactly one of --ckpt CKPT or --energy SPEC"},
      {"--energy gaussian:2 --chain c.png --steps 1000 --every 1", "--every 1 gives 1001 columns"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    cli_result r = run_cli("sample %s --out %s", cases[k].args, test_path("bad.npy"));
    if (r.code != 2 || !strstr(r.err, cases[k].message))
      test_fail_at(__FILE__, __LINE__, "'%s': exit %d, stderr \"%s\", expected 2 and \"%s\"", cases[k].args,
                   r.code, r.err, cases[k].message);
    cli_result_free(&r);
  }
  cli_result r = run_cli("sample --energy gaussian:2");
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--out OUT.npy is required");
  cli_result_free(&r);
  r = run_cli("help sample");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "--leapfrog L");
  cli_result_free(&r);
}

/* A model trained with --init gaussian is sampled from the same start
 * unless --init says otherwise: on 8gaussians the Gaussian's spread
 * (σ ≈ 1.79 per axis) against uniform noise on [-4, 4] (σ ≈ 2.31). */
TEST(cli_sample_starts_where_training_started) {
  const char *run = test_path("run");
  cli_result r = run_cli("train --data toy:8gaussians:train:500 --arch mlp --width 8 --iters 2 --batch 16 --buffer 64 "
                         "--init gaussian --out %s", run);
  REQUIRE(r.code == 0);
  cli_result_free(&r);
  char ckpt[600];
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  const char *inits[2] = {"", "--init uniform"};
  double sd[2];
  for (int k = 0; k < 2; k++) {
    r = run_cli("sample --ckpt %s --n 4000 --steps 0 %s --out %s", ckpt, inits[k], test_path("s.npy"));
    CHECK_EQ_INT(r.code, 0);
    if (k == 0) CHECK_CONTAINS(r.err, "chains start from gaussian:toy:8gaussians:train:500, as in training");
    else CHECK(!strstr(r.err, "chains start from"));
    cli_result_free(&r);
    ebm_npy a;
    test_load_f32(test_path("s.npy"), &a);
    const float *x = a.data;
    double m = 0, v = 0;
    for (int i = 0; i < 8000; i++) m += x[i] / 8000.0;
    for (int i = 0; i < 8000; i++) v += (x[i] - m) * (x[i] - m) / 7999.0;
    sd[k] = sqrt(v);
    ebm_npy_free(&a);
  }
  CHECK_NEAR(sd[0], 1.79, 0.08);
  CHECK_NEAR(sd[1], 8 / sqrt(12.0), 0.08);
}
