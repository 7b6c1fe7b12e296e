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
  CHECK_FAILS_WITH(ebm_train_config_check(&c), EBM_ERR_ARG, "init gaussian or mixture sets where fresh chains start");
  CHECK_OK(ebm_train_config_set(&c, "init", "uniform"));
  CHECK_OK(ebm_train_config_check(&c));
  CHECK_FAILS_WITH(ebm_train_config_set(&c, "init", "normal"), EBM_ERR_ARG, "init must be uniform, gaussian or mixture:K");
}
