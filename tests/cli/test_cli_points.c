/* `ebm data make points:shapes`, `ebm eval points`, training the pointnet
 * preset on (n, P, 3) clouds, and their bad inputs. */
#include "test.h"
#include "test_util.h"

TEST(cli_data_make_points_shapes_is_byte_identical_for_a_seed) {
  char a[512];
  snprintf(a, sizeof a, "%s", test_path("a.npy"));
  cli_result r = run_cli("data make points:shapes --n 6 --points 16 --seed 4 --out %s --labels %s", a,
                         test_path("l.npy"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "6 clouds of 16 points");
  cli_result_free(&r);
  r = run_cli("data make points:shapes --n 6 --points 16 --seed 4 --out %s", test_path("b.npy"));
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  CHECK(test_same_file(a, test_path("b.npy")));
  ebm_npy x;
  test_load_f32(a, &x);
  CHECK_EQ_INT(x.ndim, 3);
  CHECK(x.shape[0] == 6 && x.shape[1] == 16 && x.shape[2] == 3);
  float want[6 * 16 * 3];
  ebm_points_shapes(4, 6, 16, want, NULL); /* the library's bytes */
  CHECK(memcmp(x.data, want, sizeof want) == 0);
  ebm_npy_free(&x);
  r = run_cli("data make points:blobs --out %s", test_path("c.npy"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "unknown generator 'points:blobs' (known: texture:NAME, moving:fashion-mnist, moving:npy:FILE, paths:npy:FILE, shapes3d, points:shapes, points:shapes-aligned, particle)");
  cli_result_free(&r);
}

TEST(cli_data_make_particle_is_byte_identical_for_a_seed) {
  char a[512];
  snprintf(a, sizeof a, "%s", test_path("p.npy"));
  cli_result r = run_cli("data make particle --n 5 --steps 7 --out %s --png %s", a, test_path("p.png"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "35 transitions");
  cli_result_free(&r);
  r = run_cli("data make particle --n 5 --steps 7 --out %s", test_path("q.npy"));
  cli_result_free(&r);
  CHECK(test_same_file(a, test_path("q.npy")));
  ebm_npy x;
  test_load_f32(a, &x);
  CHECK(x.ndim == 2 && x.shape[0] == 35 && x.shape[1] == 4);
  ebm_npy_free(&x);
}

TEST(cli_eval_points_scores_samples_against_references_and_noise) {
  char ref[512];
  snprintf(ref, sizeof ref, "%s", test_path("ref.npy"));
  cli_result r = run_cli("data make points:shapes --n 9 --points 24 --out %s", ref);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  /* The references themselves: Chamfer and EMD 0, noise far from 0. */
  r = run_cli("eval points --samples %s --ref %s --png %s", ref, ref, test_path("s.png"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "9 sample clouds of 24 points against 9 references");
  CHECK_CONTAINS(r.out, "samples  nearest-reference Chamfer 0.00000  EMD 0.00000");
  double ch = 0, emd = 0;
  const char *noise = strstr(r.out, "noise");
  REQUIRE(noise && sscanf(noise, "noise nearest-reference Chamfer %lf EMD %lf", &ch, &emd) == 2);
  CHECK(ch > 0.05 && emd > 0.1);
  cli_result_free(&r);
}

TEST(cli_eval_points_refuses_a_cloud_with_nan_in_one_line) {
  float x[2 * 4 * 3] = {0};
  x[17] = NAN;
  REQUIRE_OK(ebm_npy_save(test_path("nan.npy"), EBM_DTYPE_F32, 3, (int64_t[]){2, 4, 3}, x));
  cli_result r = run_cli("eval points --samples %s --ref %s", test_path("nan.npy"), test_path("nan.npy"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "nan.npy: cloud 1, point 1: z is NaN\n");
  CHECK(strchr(r.err, '\n') == r.err + strlen(r.err) - 1); /* one line */
  cli_result_free(&r);
  REQUIRE_OK(ebm_npy_save(test_path("flat.npy"), EBM_DTYPE_F32, 2, (int64_t[]){4, 3}, x));
  r = run_cli("eval points --samples %s --ref %s", test_path("flat.npy"), test_path("flat.npy"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "expected float32 point clouds of shape (n, P, 3), got F32 [4,3]");
  cli_result_free(&r);
}

TEST(cli_train_pointnet_on_point_clouds_then_sample_and_score) {
  /* (n, P, 3) .npy → items 1×P×3, the pointnet preset's input. */
  char data[512], run[512], ckpt[600], samples[600];
  snprintf(data, sizeof data, "%s", test_path("shapes.npy"));
  snprintf(run, sizeof run, "%s", test_path("run"));
  cli_result r = run_cli("data make points:shapes --n 12 --points 16 --out %s", data);
  cli_result_free(&r);
  r = run_cli("train --data npy:%s --arch '{\"preset\":\"pointnet\",\"in_dim\":16,\"width\":8}' --range -1,1 "
              "--batch 4 --steps 3 --iters 2 --buffer 16 --sample-every 2 --sample-count 3 --out %s", data, run);
  CHECK_EQ_INT(r.code, 0);
  if (r.code) fprintf(stderr, "%s", r.err);
  cli_result_free(&r);
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  snprintf(samples, sizeof samples, "%s/s.npy", run);
  r = run_cli("sample --ckpt %s --n 3 --steps 2 --out %s --png %s/s.png", ckpt, samples, run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  /* The run's and the sampler's pictures are projections (ebm_points_png:
   * three 160 px views per cloud), not the clouds drawn as 16×3 images. */
  const char *pictures[] = {"samples/step_000002.png", "s.png"};
  for (int k = 0; k < 2; k++) {
    char png[700];
    snprintf(png, sizeof png, "%s/%s", run, pictures[k]);
    int w = 0, h = 0, ch = 0;
    uint8_t *px = NULL;
    REQUIRE_OK(ebm_png_read(png, &w, &h, &ch, &px));
    CHECK_EQ_INT(w, 3 * 160 + 4 * 8);
    CHECK_EQ_INT(h, 14 + 3 * (160 + 8) + 8);
    free(px);
  }
  r = run_cli("eval points --samples %s --ref %s", samples, data);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "3 sample clouds of 16 points against 12 references");
  cli_result_free(&r);
  /* --arch pointnet takes the clouds' point count from the data (16 here,
   * not the preset's default 128). */
  r = run_cli("train --data npy:%s --arch pointnet --range -1,1 --batch 4 --iters 1 --out %s", data,
              test_path("run2"));
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  char cfg_path[600];
  snprintf(cfg_path, sizeof cfg_path, "%s/config.json", test_path("run2"));
  char *cfg = test_read_text(cfg_path);
  CHECK_CONTAINS(cfg, "\"input\":\t[1, 16, 3]");
  free(cfg);
}

TEST(cli_eval_points_classifies_samples_references_and_noise) {
  char data[512], labels[512], run[512], clf[600];
  snprintf(data, sizeof data, "%s", test_path("shapes.npy"));
  snprintf(labels, sizeof labels, "%s", test_path("labels.npy"));
  snprintf(run, sizeof run, "%s", test_path("clf"));
  cli_result r = run_cli("data make points:shapes --n 12 --points 16 --out %s --labels %s", data, labels);
  cli_result_free(&r);
  /* A softmax classifier of the three shapes (JEM without its log p(x) term). */
  r = run_cli("train --method jem --px-weight 0 --warmup 0 --data npy:%s,%s --range -1,1 --batch 4 --iters 2 "
              "--arch '{\"input\": [1, 16, 3], \"range\": [-1, 1], \"layers\": [{\"type\": \"point_linear\", "
              "\"name\": \"p\", \"out\": 4}, {\"type\": \"point_pool\", \"max\": true, \"mean\": true}, "
              "{\"type\": \"linear\", \"name\": \"fc\", \"out\": 3}]}' --out %s", data, labels, run);
  CHECK_EQ_INT(r.code, 0);
  if (r.code) fprintf(stderr, "%s", r.err);
  cli_result_free(&r);
  snprintf(clf, sizeof clf, "%s/ckpt/last.safetensors", run);
  r = run_cli("eval points --samples %s --ref %s --classifier %s", data, data, clf);
  CHECK_EQ_INT(r.code, 0);
  for (int k = 0; k < 3; k++) {
    const char *who = (const char *[]){"samples  classified as sphere ", "refs     classified as sphere ",
                                       "noise    classified as sphere "}[k];
    const char *line = strstr(r.out, who);
    double share[3], conf, sure;
    REQUIRE(line && sscanf(line + strlen(who), "%lf box %lf torus %lf; mean p(top class) %lf, p >= 0.9 for %lf",
                           &share[0], &share[1], &share[2], &conf, &sure) == 5);
    CHECK_NEAR(share[0] + share[1] + share[2], 1.0, 2e-3);
    CHECK(conf >= 1.0 / 3 - 1e-3 && conf <= 1.0 + 1e-9 && sure >= 0 && sure <= 1);
  }
  cli_result_free(&r);
  /* --asked Y: every sample asked for class Y, so the share on the asked
   * class is the samples' class-Y share; a class beyond the three, or
   * --asked without a classifier, is refused in one line */
  for (int y = 0; y < 3; y++) {
    r = run_cli("eval points --samples %s --ref %s --classifier %s --asked %d", data, data, clf, y);
    CHECK_EQ_INT(r.code, 0);
    const char *who = "samples  classified as sphere ", *line = strstr(r.out, who);
    double share[3], conf, sure, on_asked;
    REQUIRE(line && sscanf(line + strlen(who),
                           "%lf box %lf torus %lf; mean p(top class) %lf, p >= 0.9 for %lf; on the asked class %lf",
                           &share[0], &share[1], &share[2], &conf, &sure, &on_asked) == 6);
    CHECK_NEAR(on_asked, share[y], 1e-9);
    CHECK(!strstr(strstr(r.out, "refs "), "asked")); /* only the samples were asked for a class */
    cli_result_free(&r);
  }
  CLI_EXPECT(run_cli("eval points --samples %s --ref %s --classifier %s --asked 3", data, data, clf), 2,
             "--asked must be 'cycle' or a class 0..2");
  CLI_EXPECT(run_cli("eval points --samples %s --ref %s --asked cycle", data, data), 2, "--asked needs --classifier");
  /* An energy without classes is not a classifier; clouds of another size do not fit. */
  r = run_cli("train --data npy:%s --arch '{\"preset\":\"pointnet\",\"in_dim\":16,\"width\":4}' --range -1,1 "
              "--batch 4 --steps 1 --iters 1 --buffer 8 --out %s", data, test_path("plain"));
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("eval points --samples %s --ref %s --classifier %s/ckpt/last.safetensors", data, data, test_path("plain"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "has 0 classes; a shape classifier needs 2..16");
  cli_result_free(&r);
  r = run_cli("data make points:shapes --n 3 --points 8 --out %s", test_path("small.npy"));
  cli_result_free(&r);
  r = run_cli("eval points --samples %s --ref %s --classifier %s", test_path("small.npy"), test_path("small.npy"), clf);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "the classifier takes 48 floats per item, clouds of 8 points are 24");
  cli_result_free(&r);
}

/* The σ-conditioned PointNet of examples/arch (a cond_affine with
 * "channels": "last" after every per-point map) trains by dsm at 4 levels
 * on 128-point clouds, records its levels, and `ebm sample --ckpt` draws
 * clouds from them by annealed Langevin. */
TEST(cli_train_dsm_levels_with_the_noise_conditioned_pointnet) {
  char data[512], run[512], out[512];
  snprintf(data, sizeof data, "%s", test_path("clouds.npy"));
  snprintf(run, sizeof run, "%s", test_path("npn"));
  snprintf(out, sizeof out, "%s", test_path("npn.npy"));
  cli_result r = run_cli("data make points:shapes --n 6 --points 128 --out %s", data);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("train --data npy:%s --method dsm --arch @%s/examples/arch/noise-conditioned-pointnet.json --levels 4 "
              "--sigma-min 0.01 --sigma-max 1 --steps 2 --batch 4 --iters 3 --range -1,1 --threads 1 --seed 1 --out %s",
              data, EBM_SOURCE_DIR, run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "step 3 of 3");
  cli_result_free(&r);
  r = run_cli("info %s/ckpt/last.safetensors", run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "noise-conditioned");
  CHECK_CONTAINS(r.out, "sigma (8 freqs), channels last");
  CHECK_CONTAINS(r.out, "annealed-langevin: levels=4,sigma-min=0.00999999978,sigma-max=1,steps=2,"); /* float σ */
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s/ckpt/last.safetensors --n 3 --seed 2 --out %s --threads 1", run, out);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "annealed Langevin: 4 levels (sigma 0.01..1) x 2 steps + denoising step on 3 chains");
  cli_result_free(&r);
  ebm_npy a;
  test_load_f32(out, &a);
  CHECK(a.ndim == 4 && a.shape[0] == 3 && a.shape[1] == 1 && a.shape[2] == 128 && a.shape[3] == 3);
  for (int64_t k = 0; k < 3 * 128 * 3; k++) CHECK(isfinite(((float *)a.data)[k]));
  ebm_npy_free(&a);
}
