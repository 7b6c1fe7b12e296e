/* --init gaussian in training: fresh chains (the buffer's fill and reinit
 * draws, short-run's every chain) start from the Gaussian fitted to the
 * data; the run resumes bit-exactly (the fit is redone from the same
 * items), the checkpoint records where its chains started, and methods
 * without fresh chains refuse the setting. */
#include "ebm/train.h"
#include "test_util.h"
#include "train/train_testutil.h"

static const char *const mlp1 =
    "{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 16},"
    "{\"type\": \"swish\"}, {\"type\": \"linear\", \"name\": \"net.2\", \"out\": 1}]}";

static void check_method(ebm_train_method method) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:300", -4, 4, &ds));
  ebm_train_config c = tt_toy_config(16, 5, 6);
  c.method = method;
  c.buffer_size = 64;
  c.chain_start = EBM_START_GAUSSIAN;
  char ckpt[600];
  tt_check_resume_bit_exact(ds, c, mlp1, ckpt, sizeof ckpt);
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(ckpt, &st));
  CHECK_EQ_STR(ebm_safetensors_meta(st, EBM_CHAIN_START_META_KEY), "gaussian:toy:8gaussians:train:300");
  ebm_safetensors_free(st);
  char text[EBM_CHAIN_START_TEXT_MAX];
  int found = 0;
  REQUIRE_OK(ebm_chain_start_from_checkpoint(ckpt, text, &found));
  CHECK(found);
  /* the same run from uniform noise ends elsewhere: the start is used */
  char other[600];
  c.chain_start = EBM_START_UNIFORM;
  c.lr_decay = EBM_LR_CONSTANT;
  snprintf(other, sizeof other, "%s", test_path("uniform"));
  ebm_run_opts o = {.run_dir = other, .arch_json = mlp1, .save_every = 2, .log_every = 1};
  int64_t done = 0;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  char fo[700];
  CHECK(!test_same_file(ckpt, ebm_run_ckpt_path(other, fo, sizeof fo)));
  REQUIRE_OK(ebm_chain_start_from_checkpoint(fo, text, &found));
  CHECK(!found);
  ebm_dataset_free(ds);
}

TEST(pcd_from_gaussian_starts_resumes_bit_exactly_and_records_its_start) { check_method(EBM_TRAIN_PCD); }

TEST(short_run_from_gaussian_starts_resumes_bit_exactly_and_records_its_start) {
  check_method(EBM_TRAIN_SHORT_RUN);
}

TEST(gaussian_starts_are_refused_by_methods_without_fresh_chains) {
  ebm_train_config c = tt_toy_config(16, 5, 6);
  c.method = EBM_TRAIN_CD;
  c.chain_start = EBM_START_GAUSSIAN;
  CHECK_FAILS_WITH(ebm_train_config_check(&c), EBM_ERR_ARG, "init gaussian, mixture or npy sets where fresh chains start");
  CHECK_OK(ebm_train_config_set(&c, "init", "uniform"));
  CHECK_OK(ebm_train_config_check(&c));
  CHECK_FAILS_WITH(ebm_train_config_set(&c, "init", "normal"), EBM_ERR_ARG, "init must be uniform, gaussian, mixture:K (K components, 1..1024) or npy:FILE");
}

/* --init npy:FILE: every fresh chain starts at one of FILE's items, drawn
 * at random from the run's stream — so the run resumes bit-exactly, the
 * checkpoint records items:npy:FILE, and starting from a file of one point
 * differs from starting from a file of another. */
TEST(short_run_from_a_files_items_resumes_bit_exactly_and_records_its_start) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:300", -4, 4, &ds));
  const float pts[6] = {2.0f, 2.0f, -2.0f, 0.5f, 0.0f, -3.0f};
  char file[512], spec[520];
  snprintf(file, sizeof file, "%s", test_path("starts.npy"));
  REQUIRE_OK(ebm_npy_save(file, EBM_DTYPE_F32, 2, (int64_t[]){3, 2}, pts));
  snprintf(spec, sizeof spec, "npy:%s", file);
  ebm_train_config c = tt_toy_config(16, 5, 6);
  c.method = EBM_TRAIN_SHORT_RUN;
  REQUIRE_OK(ebm_train_config_set(&c, "init", spec));
  CHECK_EQ_INT(c.chain_start, EBM_START_ITEMS);
  char *json = ebm_train_config_json(&c); /* config.json: what a resume reads back */
  REQUIRE(json);
  CHECK(strstr(json, spec) != NULL);
  ebm_train_config_json_free(json);
  char ckpt[600], want[600];
  tt_check_resume_bit_exact(ds, c, mlp1, ckpt, sizeof ckpt);
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(ckpt, &st));
  snprintf(want, sizeof want, "items:%s", spec);
  CHECK_EQ_STR(ebm_safetensors_meta(st, EBM_CHAIN_START_META_KEY), want);
  ebm_safetensors_free(st);
  /* the same run from a file of one other point ends elsewhere: the items are used */
  const float one[2] = {-3.0f, -3.0f};
  char other_file[512], other[600];
  snprintf(other_file, sizeof other_file, "%s", test_path("one.npy"));
  REQUIRE_OK(ebm_npy_save(other_file, EBM_DTYPE_F32, 2, (int64_t[]){1, 2}, one));
  snprintf(spec, sizeof spec, "npy:%s", other_file);
  REQUIRE_OK(ebm_train_config_set(&c, "init", spec));
  snprintf(other, sizeof other, "%s", test_path("other"));
  ebm_run_opts o = {.run_dir = other, .arch_json = mlp1, .save_every = 2, .log_every = 1};
  int64_t done = 0;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  char fo[700];
  CHECK(!test_same_file(ckpt, ebm_run_ckpt_path(other, fo, sizeof fo)));
  ebm_dataset_free(ds);
}

/* The draws: each one of the items, all of them reached, the same for a
 * seed and others for another; a file of items of another size is refused
 * in one line naming both sizes, and a NaN by the loader, naming the item. */
TEST(items_start_draws_the_files_items_deterministically_and_refuses_a_wrong_shape) {
  const float pts[6] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  char file[512], text[600];
  snprintf(file, sizeof file, "%s", test_path("pts.npy"));
  REQUIRE_OK(ebm_npy_save(file, EBM_DTYPE_F32, 2, (int64_t[]){3, 2}, pts));
  snprintf(text, sizeof text, "items:npy:%s", file);
  ebm_energy *start = NULL;
  REQUIRE_OK(ebm_chain_start_open(text, -10, 10, 2, &start));
  CHECK(ebm_items_start_is(start));
  float a[2 * 60], b[2 * 60];
  ebm_rng r1, r2;
  ebm_rng_init(&r1, 5);
  ebm_rng_init(&r2, 5);
  REQUIRE_OK(ebm_chain_start_draw(start, &r1, 60, 2, -10, 10, a));
  REQUIRE_OK(ebm_chain_start_draw(start, &r2, 60, 2, -10, 10, b));
  CHECK(memcmp(a, b, sizeof a) == 0);
  int seen[3] = {0, 0, 0};
  for (int i = 0; i < 60; i++) {
    const int k = (int)(a[2 * i] - 1.0f) / 2;
    REQUIRE(k >= 0 && k < 3);
    CHECK(a[2 * i] == pts[2 * k] && a[2 * i + 1] == pts[2 * k + 1]);
    seen[k]++;
  }
  CHECK(seen[0] > 5 && seen[1] > 5 && seen[2] > 5);
  ebm_rng_init(&r2, 6);
  REQUIRE_OK(ebm_chain_start_draw(start, &r2, 60, 2, -10, 10, b));
  CHECK(memcmp(a, b, sizeof a) != 0);
  float e;
  CHECK_FAILS_WITH(ebm_energy_eval(start, a, NULL, 1, &e, NULL), EBM_ERR_ARG, "it draws, it does not score");
  ebm_energy_free(start);
  CHECK_FAILS_WITH(ebm_chain_start_open(text, -10, 10, 3, &start), EBM_ERR_SHAPE,
                   "the data's items have 2 values, the chains 3");
  const float bad[4] = {1.0f, 2.0f, NAN, 4.0f};
  REQUIRE_OK(ebm_npy_save(file, EBM_DTYPE_F32, 2, (int64_t[]){2, 2}, bad));
  CHECK_FAILS_WITH(ebm_chain_start_open(text, -10, 10, 2, &start), EBM_ERR_NUMERIC, "(item 1) is NaN");
  CHECK_FAILS_WITH(ebm_items_start_new(bad, 2, 2, &start), EBM_ERR_ARG, "item 1 has a non-finite value");
}
