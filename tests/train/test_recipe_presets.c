/* The recipes of architecture presets (src/train/recipe_presets.c): what
 * `ebm train --arch pointnet` gets with no recipe flag. */
#include "test_util.h"

/* data (float32 of the given shape) saved as NAME in the test's directory
 * and loaded back as npy:PATH on the range [lo, 1]. */
static ebm_dataset *load_saved(const char *name, int ndim, const int64_t *shape, const float *data, float lo) {
  const char *path = test_path(name);
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_F32, ndim, shape, data));
  char spec[600];
  snprintf(spec, sizeof spec, "npy:%s", path);
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load(spec, lo, 1, &ds));
  return ds;
}

/* A few clouds of the tool's shapes, saved as an (n, P, 3) .npy. */
static ebm_dataset *load_clouds(void) {
  enum { N = 6, P = 16 };
  float xyz[N * P * 3];
  ebm_points_shapes(2, N, P, xyz, NULL);
  const int64_t shape[3] = {N, P, 3};
  return load_saved("clouds.npy", 3, shape, xyz, -1.0f);
}

TEST(pointnet_preset_picks_short_run_chains_and_its_own_sampler) {
  ebm_dataset *ds = load_clouds();
  ebm_train_config cfg = ebm_train_defaults();
  cfg.adam.lr = 0.5f; /* a recipe writes over whatever was there */
  CHECK_EQ_STR(ebm_train_recipe_for_arch(ds, "pointnet", &cfg), "pointnet");
  CHECK(cfg.method == EBM_TRAIN_SHORT_RUN);
  CHECK(cfg.sampler.kind == EBM_SAMPLER_LANGEVIN && cfg.sampler.steps == 30);
  CHECK(cfg.sampler.step_size == 10.0f && cfg.sampler.noise == 0.005f && cfg.sampler.grad_clip == 0.01f);
  CHECK(cfg.range_lo == -1.0f && cfg.range_hi == 1.0f);
  CHECK(cfg.adam.lr == 1e-3f);
  CHECK(cfg.alpha == 0.0f); /* no energy regulariser: it stalls short-run learning (recipe_presets.c) */
  CHECK(ebm_train_config_check(&cfg) == EBM_OK);
  /* a method asked for is kept; the rest of the recipe still applies */
  ebm_train_config cd = ebm_train_defaults();
  cd.method = EBM_TRAIN_CD;
  CHECK_EQ_STR(ebm_train_recipe_for_arch(ds, "pointnet", &cd), "pointnet");
  CHECK(cd.method == EBM_TRAIN_CD && cd.sampler.steps == 30);
  /* a JSON description naming the preset (other cloud sizes) gets its recipe too */
  ebm_train_config json = ebm_train_defaults();
  CHECK_EQ_STR(ebm_train_recipe_for_arch(ds, "{\"preset\": \"pointnet\", \"in_dim\": 256}", &json), "pointnet");
  CHECK(json.method == EBM_TRAIN_SHORT_RUN && json.sampler.steps == 30 && json.alpha == 0.0f);
  ebm_train_config plain = ebm_train_defaults();
  CHECK_EQ_STR(ebm_train_recipe_for_arch(ds, "{\"layers\": []}", &plain), "images");
  ebm_dataset_free(ds);
}

TEST(presets_without_a_recipe_get_the_datas) {
  ebm_dataset *ds = load_clouds();
  ebm_train_config a = ebm_train_defaults(), b = ebm_train_defaults(), c = ebm_train_defaults();
  CHECK_EQ_STR(ebm_train_recipe_for_arch(ds, "uva-cnn", &a), "images");
  CHECK_EQ_STR(ebm_train_recipe_for_arch(ds, NULL, &b), "images");
  CHECK_EQ_STR(ebm_train_recipe_for_data(ds, &c), "images");
  CHECK(a.method == EBM_TRAIN_PCD && a.sampler.steps == 60 && b.sampler.steps == 60 && c.adam.lr == 1e-4f);
  ebm_dataset_free(ds);
}

/* `--arch voxelnet` on 32³ grids: short-run chains from the subspace
 * mixture (--init mixture:30), 15 steps of λ 100, α 0, batch 16. */
TEST(voxelnet_preset_starts_short_run_chains_from_a_subspace_mixture) {
  enum { N = 3, S = 8 };
  float grids[N * S * S * S];
  REQUIRE_OK(ebm_make_shapes3d(N, S, 1, grids, NULL));
  const int64_t shape[5] = {N, 1, S, S, S};
  ebm_dataset *ds = load_saved("vox.npy", 5, shape, grids, 0.0f);
  ebm_train_config cfg = ebm_train_defaults();
  CHECK_EQ_STR(ebm_train_recipe_for_arch(ds, "voxelnet", &cfg), "voxelnet");
  CHECK(cfg.method == EBM_TRAIN_SHORT_RUN);
  CHECK(cfg.chain_start == EBM_START_MIXTURE && cfg.start_components == 30);
  CHECK(cfg.sampler.kind == EBM_SAMPLER_LANGEVIN && cfg.sampler.steps == 15 && cfg.sampler.step_size == 100.0f);
  CHECK(cfg.batch == 16 && cfg.alpha == 0.0f && cfg.adam.lr == 1e-3f);
  CHECK(cfg.range_lo == 0.0f && cfg.range_hi == 1.0f);
  CHECK(ebm_train_config_check(&cfg) == EBM_OK);
  ebm_train_config cd = ebm_train_defaults(); /* cd has no fresh chains: it keeps its start, and stays valid */
  cd.method = EBM_TRAIN_CD;
  CHECK_EQ_STR(ebm_train_recipe_for_arch(ds, "voxelnet", &cd), "voxelnet");
  CHECK(cd.method == EBM_TRAIN_CD && cd.chain_start == EBM_START_UNIFORM && cd.sampler.steps == 15);
  CHECK(ebm_train_config_check(&cd) == EBM_OK);
  ebm_dataset_free(ds);
}

/* `--arch video-st` on videos: voxelnet's start and sampler with 10 steps,
 * batch 8. */
TEST(video_st_preset_starts_short_run_chains_from_a_subspace_mixture) {
  enum { N = 3, T = 4, S = 8 };
  float videos[N * T * S * S];
  for (int i = 0; i < N * T * S * S; i++) videos[i] = (float)((i * 7) % 11) / 10.0f;
  const int64_t shape[5] = {N, 1, T, S, S};
  ebm_dataset *ds = load_saved("videos.npy", 5, shape, videos, 0.0f);
  ebm_train_config cfg = ebm_train_defaults();
  CHECK_EQ_STR(ebm_train_recipe_for_arch(ds, "video-st", &cfg), "video-st");
  CHECK(cfg.method == EBM_TRAIN_SHORT_RUN);
  CHECK(cfg.chain_start == EBM_START_MIXTURE && cfg.start_components == 30);
  CHECK(cfg.sampler.kind == EBM_SAMPLER_LANGEVIN && cfg.sampler.steps == 10 && cfg.sampler.step_size == 100.0f);
  CHECK(cfg.batch == 8 && cfg.alpha == 0.0f && cfg.adam.lr == 1e-3f);
  CHECK(cfg.range_lo == 0.0f && cfg.range_hi == 1.0f);
  CHECK(ebm_train_config_check(&cfg) == EBM_OK);
  ebm_dataset_free(ds);
}
