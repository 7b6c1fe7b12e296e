/* Training settings by their `ebm train` flag names (ebm_train_config_set /
 * _json, what bindings use): every kind of key sets its field, the JSON
 * names them the same way, and a bad name or value is refused by name. */
#include "test.h"

TEST(train_config_set_takes_flag_names_and_json_writes_them_back) {
  ebm_train_config *cfg = ebm_train_config_new("igebm");
  REQUIRE(cfg != NULL);
  REQUIRE_OK(ebm_train_config_set(cfg, "batch", "32"));
  REQUIRE_OK(ebm_train_config_set(cfg, "lr", "0.003"));
  REQUIRE_OK(ebm_train_config_set(cfg, "kl-weight", "0.5"));
  REQUIRE_OK(ebm_train_config_set(cfg, "entropy-weight", "0.25"));
  REQUIRE_OK(ebm_train_config_set(cfg, "buffer-policy", "reservoir"));
  REQUIRE_OK(ebm_train_config_set(cfg, "augment", "flip,noise"));
  REQUIRE_OK(ebm_train_config_set(cfg, "sampler", "ula"));
  REQUIRE_OK(ebm_train_config_set(cfg, "steps", "7"));
  CHECK_EQ_INT(cfg->batch, 32);
  CHECK(cfg->adam.lr == 0.003f);
  CHECK(cfg->kl_weight == 0.5f && cfg->entropy_weight == 0.25f);
  CHECK_EQ_INT(cfg->buffer_policy, ebm_replay_policy_from_name("reservoir"));
  CHECK_EQ_INT(cfg->sampler.kind, EBM_SAMPLER_ULA);
  CHECK_EQ_INT(cfg->sampler.steps, 7);
  char *json = ebm_train_config_json(cfg);
  REQUIRE(json != NULL);
  CHECK_CONTAINS(json, "\"kl-weight\":\t0.5");
  CHECK_CONTAINS(json, "\"buffer-policy\":\t\"reservoir\"");
  CHECK_CONTAINS(json, "\"augment\":\t\"flip,noise\"");
  CHECK_CONTAINS(json, "\"lr\":\t0.003");
  ebm_train_config_json_free(json);

  CHECK(ebm_train_config_set(cfg, "bogus", "1") == EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), "unknown training setting 'bogus'");
  CHECK(ebm_train_config_set(cfg, "kl-weight", "lots") == EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), "kl-weight expects a finite number");
  CHECK(ebm_train_config_set(cfg, "buffer-policy", "lifo") == EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), "buffer-policy must be random, reservoir or fifo");
  CHECK(ebm_train_config_set(cfg, "augment", "rotate") != EBM_OK);
  ebm_train_config_free(cfg);
}
