/* Annealed Langevin dynamics (Song & Ermon 2019) for models trained by
 * denoising score matching at several noise levels (src/sample/recovery.c,
 * kind EBM_LEVELS_ANNEALED; src/train/method_score.c records it): on the
 * exact energy of a noised Gaussian every level's law is known, so the
 * samples' mean and variance are checked against the closed form with and
 * without the last denoising step; a dsm run records its schedule and
 * `ebm sample --ckpt` runs it with no flags; flags and bad input. */
#include "ebm/recovery_meta.h"
#include "train/train_internal.h"
#include "test_util.h"
#include "train/train_testutil.h"

#define DIM 2
static const double data_mean[DIM] = {1.0, -0.5}, data_var[DIM] = {1.0, 0.25};

/* The data N(m, diag v) noised by σ is N(m, diag(v + σ²)): E(x, σ) =
 * Σ_d (x_d − m_d)² / 2(v_d + σ²) is what dsm learns at level σ, exactly. */
static ebm_status noised_gauss_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                                    float *grad) {
  (void)self;
  if (!cond || !cond->sigma) return ebm_set_error(EBM_ERR_ARG, "noised-gauss: noise levels required");
  for (int64_t i = 0; i < n; i++) {
    const double s2 = (double)cond->sigma[i] * cond->sigma[i];
    double sum = 0.0;
    for (int d = 0; d < DIM; d++) {
      const double dx = x[i * DIM + d] - data_mean[d], w = data_var[d] + s2;
      sum += dx * dx / (2 * w);
      if (grad) grad[i * DIM + d] = (float)(dx / w);
    }
    e[i] = (float)sum;
  }
  return EBM_OK;
}

/* Mean and variance of coordinate d of n items. */
static void moments(const float *x, int64_t n, int d, double *mean, double *var) {
  double m = 0, v = 0;
  for (int64_t i = 0; i < n; i++) m += x[i * DIM + d] / (double)n;
  for (int64_t i = 0; i < n; i++) v += (x[i * DIM + d] - m) * (x[i * DIM + d] - m) / (double)(n - 1);
  *mean = m;
  *var = v;
}

/* 4 levels σ 2 → 0.5, 300 steps each at b = 0.02 (ULA's variance bias at
 * most b/2 = 1%, inside the tolerance): after the last level the chains are
 * N(m, v + σ_min²); the denoising step x − σ²·∇E makes that N(m, v²/(v +
 * σ_min²)) — 0.8 and 0.125 here, so a step left out or taken at another σ
 * shows. A sampler stuck at σ_max would give v + 4; the start level is the
 * uniform box plus N(0, σ_max²). Within 5 standard errors on 4000 chains. */
TEST(annealed_langevin_ends_at_the_noised_data_and_denoises_it) {
  enum { n = 4000, T = 4 };
  ebm_energy en = {.name = "noised-gauss", .item_ndim = 1, .item_shape = {DIM}, .needs_sigma = 1,
                   .eval = noised_gauss_eval};
  static float x[n * DIM], levels[(T + 1) * n * DIM];
  const double smin = 0.5, smax = 2.0;
  ebm_recovery_config r = {.levels = T, .sigma_min = (float)smin, .sigma_max = (float)smax, .steps = 300,
                           .step = 0.02f, .range_lo = -4, .range_hi = 4, .kind = EBM_LEVELS_ANNEALED};
  for (int denoise = 0; denoise < 2; denoise++) {
    ebm_rng rng;
    ebm_rng_init(&rng, 11);
    r.denoise = denoise;
    REQUIRE_OK(ebm_recovery_sample(&en, &r, NULL, &rng, n, x, levels));
    CHECK(memcmp(x, levels, sizeof x) == 0); /* index 0 holds the samples */
    for (int d = 0; d < DIM; d++) {
      double m, v;
      moments(x, n, d, &m, &v);
      const double noised = data_var[d] + smin * smin;
      const double want_v = denoise ? data_var[d] * data_var[d] / noised : noised;
      printf("    denoise %d, coordinate %d: mean %.4f (%.4f), variance %.4f (%.4f)\n", denoise, d, m, data_mean[d],
             v, want_v);
      CHECK_NEAR(m, data_mean[d], 5 * sqrt(want_v / n));
      CHECK_NEAR(v, want_v, 5 * sqrt(2.0 / n) * want_v + 0.01 * want_v);
      moments(levels + (size_t)T * n * DIM, n, d, &m, &v);
      const double start_v = 64.0 / 12.0 + smax * smax;
      CHECK_NEAR(m, 0.0, 5 * sqrt(start_v / n));
      CHECK_NEAR(v, start_v, 10 * sqrt(2.0 / n) * start_v);
    }
  }
  /* with the kind left at recovery the same call is recovery's sampler: other draws */
  ebm_rng rng;
  ebm_rng_init(&rng, 11);
  static float y[n * DIM];
  r.kind = EBM_LEVELS_RECOVERY;
  REQUIRE_OK(ebm_recovery_sample(&en, &r, NULL, &rng, n, y, NULL));
  CHECK(memcmp(x, y, sizeof x) != 0);
  r.kind = (ebm_levels_kind)7;
  CHECK_FAILS_WITH(ebm_recovery_config_check(&r), EBM_ERR_ARG, "unknown kind of chain of levels 7");
}

/* The schedule's text carries denoise for annealed Langevin only; a bad
 * denoise value is refused. */
TEST(annealed_langevin_schedule_text_round_trips) {
  ebm_recovery_config r = {.levels = 10, .sigma_min = 0.01f, .sigma_max = 1, .steps = 50, .step = 0.1f,
                           .kind = EBM_LEVELS_ANNEALED, .denoise = 0};
  char text[256];
  CHECK_EQ_STR(ebm_recovery_config_format(&r, text, sizeof text),
               "levels=10,sigma-min=0.00999999978,sigma-max=1,steps=50,step=0.100000001,denoise=0");
  ebm_recovery_config back = {.denoise = 1};
  REQUIRE_OK(ebm_recovery_config_parse(text, &back));
  CHECK(back.levels == 10 && back.sigma_min == r.sigma_min && back.steps == 50 && back.denoise == 0);
  r.kind = EBM_LEVELS_RECOVERY;
  CHECK(strstr(ebm_recovery_config_format(&r, text, sizeof text), "denoise") == NULL);
  CHECK_FAILS_WITH(ebm_recovery_config_parse("denoise=2", &back), EBM_ERR_FORMAT, "denoise is 0 or 1, got '2'");
  /* counts beyond an int (undefined to cast; found by fuzz_level_schedule) and non-finite σ's are refused */
  CHECK_FAILS_WITH(ebm_recovery_config_parse("levels=1.1e10", &back), EBM_ERR_FORMAT,
                   "levels expects a whole number in 0..1000000, got '1.1e10'");
  CHECK_FAILS_WITH(ebm_recovery_config_parse("steps=2.5", &back), EBM_ERR_FORMAT, "steps expects a whole number");
  CHECK_FAILS_WITH(ebm_recovery_config_parse("sigma-min=inf", &back), EBM_ERR_FORMAT, "sigma-min is not finite");
}

static const char *const sigma_mlp =
    "{\"input\": [2], \"layers\": ["
    "{\"type\": \"linear\", \"name\": \"l0\", \"out\": 16}, "
    "{\"type\": \"cond_affine\", \"name\": \"film0\", \"sigma\": true}, {\"type\": \"swish\"},"
    "{\"type\": \"linear\", \"name\": \"l1\", \"out\": 1}]}";

/* A dsm run at 3 levels records "annealed-langevin" (its levels, the run's
 * --steps, b 0.1, denoise 1); `ebm sample --ckpt` runs it without flags and
 * says so; --no-denoise and --level-sampler change it; nonsense is refused
 * in one line; a one-level dsm run records nothing (a plain energy). */
TEST(dsm_with_levels_records_annealed_langevin_and_sample_runs_it) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:128", -4, 4, &ds));
  ebm_train_config c = tt_toy_config(32, 5, 4);
  REQUIRE_OK(ebm_train_config_set(&c, "method", "dsm"));
  REQUIRE_OK(ebm_train_config_set(&c, "levels", "3"));
  REQUIRE_OK(ebm_train_config_set(&c, "sigma-min", "0.1"));
  REQUIRE_OK(ebm_train_config_set(&c, "sigma-max", "2"));
  REQUIRE_OK(ebm_train_config_set(&c, "steps", "7"));
  char dir[512], ckpt[600], out[600];
  snprintf(dir, sizeof dir, "%s", test_path("dsm3"));
  ebm_run_opts o = {.run_dir = dir, .arch_json = sigma_mlp, .log_every = 1};
  int64_t done = 0;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  ebm_run_ckpt_path(dir, ckpt, sizeof ckpt);
  ebm_recovery_config r = {.levels = 1, .range_lo = -4, .range_hi = 4};
  int found = 0;
  REQUIRE_OK(ebm_recovery_config_from_checkpoint(ckpt, &r, &found));
  CHECK_EQ_INT(found, 1);
  CHECK_EQ_INT(r.kind, EBM_LEVELS_ANNEALED);
  CHECK_EQ_INT(r.denoise, 1);
  CHECK_EQ_INT(r.levels, 3);
  CHECK_EQ_INT(r.steps, 7);
  CHECK(r.sigma_min == 0.1f && r.sigma_max == 2.0f && r.step == 0.1f && r.range_lo == -4);

  snprintf(out, sizeof out, "%s", test_path("dsm3.npy"));
  cli_result res = run_cli("sample --ckpt %s --out %s --n 16 --seed 3", ckpt, out);
  CHECK_EQ_INT(res.code, 0);
  CHECK_CONTAINS(res.out, "annealed Langevin: 3 levels (sigma 0.1..2) x 7 steps + denoising step on 16 chains");
  CHECK_CONTAINS(res.err, "the checkpoint's annealed Langevin schedule (3 levels, sigma 0.1..2, 7 steps a level");
  CHECK(strstr(res.err, "sampler settings") == NULL); /* the levels sampler only takes its steps */
  cli_result_free(&res);
  ebm_npy a;
  test_load_f32(out, &a);
  CHECK(a.ndim == 2 && a.shape[0] == 16 && a.shape[1] == 2);
  for (int k = 0; k < 32; k++) CHECK(isfinite(((float *)a.data)[k]));
  ebm_npy_free(&a);
  res = run_cli("sample --ckpt %s --out %s --n 16 --no-denoise --steps 2", ckpt, out);
  CHECK_EQ_INT(res.code, 0);
  CHECK_CONTAINS(res.out, "annealed Langevin: 3 levels (sigma 0.1..2) x 2 steps on 16 chains");
  cli_result_free(&res);
  res = run_cli("sample --ckpt %s --out %s --n 16 --level-sampler recovery", ckpt, out);
  CHECK_EQ_INT(res.code, 0);
  CHECK_CONTAINS(res.out, "recovery: 3 levels");
  cli_result_free(&res);
  res = run_cli("sample --ckpt %s --out %s --level-sampler warm", ckpt, out);
  CHECK_EQ_INT(res.code, 2);
  CHECK_CONTAINS(res.err, "--level-sampler expects recovery or annealed, got 'warm'");
  cli_result_free(&res);
  res = run_cli("sample --ckpt %s --out %s --level-sampler recovery --no-denoise", ckpt, out);
  CHECK_EQ_INT(res.code, 2);
  CHECK_CONTAINS(res.err, "--no-denoise is for annealed Langevin");
  cli_result_free(&res);
  res = run_cli("sample --energy toy:rings --out %s --no-denoise", out);
  CHECK_EQ_INT(res.code, 2);
  CHECK_CONTAINS(res.err, "--no-denoise is for a model sampled by noise levels");
  cli_result_free(&res);

  /* one level: a plain network, no schedule recorded */
  snprintf(dir, sizeof dir, "%s", test_path("dsm1"));
  REQUIRE_OK(ebm_train_config_set(&c, "levels", "1"));
  o.run_dir = dir;
  o.arch_json = "{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": 8, \"depth\": 1}";
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  ebm_run_ckpt_path(dir, ckpt, sizeof ckpt);
  REQUIRE_OK(ebm_recovery_config_from_checkpoint(ckpt, &r, &found));
  CHECK_EQ_INT(found, 0);
  ebm_dataset_free(ds);
}

/* Point clouds through the chain of levels: a dsm model of 32-point clouds
 * whose pooled features take σ draws its samples with --png like any cloud
 * model; a 2-D model's --png is refused pointing to --levels-png. */
TEST(annealed_langevin_draws_point_clouds_and_refuses_a_plane_png) {
  char data[600], arch[600], run[600], out[600], png[600];
  snprintf(data, sizeof data, "%s", test_path("clouds.npy"));
  snprintf(arch, sizeof arch, "%s", test_path("sigma-points.json"));
  snprintf(run, sizeof run, "%s", test_path("pdsm"));
  snprintf(out, sizeof out, "%s", test_path("pdsm.npy"));
  snprintf(png, sizeof png, "%s", test_path("pdsm.png"));
  FILE *fp = fopen(arch, "w");
  REQUIRE(fp);
  fputs("{\"input\": [1, 32, 3], \"layers\": [{\"type\": \"point_linear\", \"name\": \"p0\", \"out\": 8}, "
        "{\"type\": \"swish\"}, {\"type\": \"point_pool\"}, "
        "{\"type\": \"cond_affine\", \"name\": \"film\", \"sigma\": true}, "
        "{\"type\": \"linear\", \"name\": \"out\", \"out\": 1}]}",
        fp);
  fclose(fp);
  cli_result r = run_cli("data make points:shapes --n 8 --points 32 --out %s", data);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("train --data npy:%s --method dsm --arch @%s --levels 2 --sigma-min 0.05 --sigma-max 0.5 --steps 2 "
              "--batch 4 --iters 2 --range -1,1 --threads 1 --out %s",
              data, arch, run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s/ckpt/last.safetensors --n 4 --out %s --png %s", run, out, png);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "annealed Langevin: 2 levels");
  cli_result_free(&r);
  ebm_npy a;
  test_load_f32(out, &a);
  CHECK(a.ndim == 4 && a.shape[0] == 4 && a.shape[2] == 32 && a.shape[3] == 3);
  ebm_npy_free(&a);
  FILE *pf = fopen(png, "rb");
  unsigned char sig[8] = {0};
  CHECK(pf && fread(sig, 1, 8, pf) == 8 && memcmp(sig, "\x89PNG", 4) == 0);
  if (pf) fclose(pf);

  snprintf(run, sizeof run, "%s", test_path("dsm2d"));
  fp = fopen(arch, "w");
  REQUIRE(fp);
  fputs(sigma_mlp, fp);
  fclose(fp);
  r = run_cli("train --data toy:8gaussians:train:64 --method dsm --arch @%s --levels 2 --iters 1 --batch 8 --threads 1 "
              "--out %s",
              arch, run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("sample --ckpt %s/ckpt/last.safetensors --n 4 --out %s --png %s", run, out, png);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "has items of 2 values (--levels-png draws 2-D levels)");
  cli_result_free(&r);
}
