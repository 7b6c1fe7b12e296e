/* Training settings by their `ebm train` flag names (ebm_train_config_set /
 * _json, what bindings use): every kind of key sets its field, the JSON
 * names them the same way, and a bad name or value is refused by name. */
#include "test.h"
#include "train/method.h"

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

/* The settings table drives everything: each row's own text reads back to
 * the same value, names are unique, and a config that goes through the
 * JSON (config.json) and back is the same config, byte for byte. */
TEST(every_setting_round_trips_through_its_text_and_the_json) {
  ebm_train_config a = ebm_train_defaults(), b;
  REQUIRE_OK(ebm_train_config_set(&a, "range", "-1.5,2.25"));
  REQUIRE_OK(ebm_train_config_set(&a, "seed", "18446744073709551615"));
  REQUIRE_OK(ebm_train_config_set(&a, "step-size", "0.1"));
  REQUIRE_OK(ebm_train_config_set(&a, "conditional", "true"));
  const int n = ebm_train_setting_count();
  CHECK(n >= 35);
  b = ebm_train_defaults();
  for (int i = 0; i < n; i++) {
    const ebm_train_setting *s = ebm_train_setting_at(i);
    char text[512], again[512];
    REQUIRE(s && s->name && s->help);
    CHECK(ebm_train_setting_find(s->name) == s); /* unique names */
    ebm_train_setting_text(&a, s, text, sizeof text);
    if (ebm_train_config_set(&b, s->name, text) != EBM_OK) printf("    %s: %s\n", s->name, ebm_last_error());
    ebm_train_setting_text(&b, s, again, sizeof again);
    CHECK_EQ_STR(again, text);
    if (s->def) { /* a method's default parses */
      ebm_train_config d = ebm_train_defaults();
      CHECK_OK(ebm_train_config_set(&d, s->name, s->def));
    }
  }
  CHECK(a.seed == UINT64_MAX && b.seed == UINT64_MAX);
  CHECK(b.range_lo == -1.5f && b.range_hi == 2.25f && b.conditional == 1);
  char *ja = ebm_train_config_json(&a), *jb = ebm_train_config_json(&b);
  REQUIRE(ja && jb);
  CHECK_EQ_STR(ja, jb);
  CHECK_CONTAINS(ja, "\"seed\":\t\"18446744073709551615\""); /* beyond 2^53: text */
  ebm_train_config_json_free(ja);
  ebm_train_config_json_free(jb);
  CHECK(ebm_train_config_set(&b, "seed", "-3") == EBM_ERR_ARG);
  CHECK(ebm_train_config_set(&b, "batch", "12x") == EBM_ERR_ARG);
  CHECK_CONTAINS(ebm_last_error(), "batch expects an integer, got '12x'");
}

TEST(the_method_table_names_each_method_once) {
  CHECK(ebm_train_method_count() >= 3);
  for (int m = 0; m < ebm_train_method_count(); m++) {
    const char *name = ebm_train_method_name((ebm_train_method)m);
    CHECK_EQ_INT(ebm_train_method_from_name(name), m);
    CHECK(strlen(ebm_train_method_summary((ebm_train_method)m)) > 10);
    CHECK_CONTAINS(ebm_train_method_list(), name);
  }
  CHECK_EQ_STR(ebm_train_method_name(EBM_TRAIN_CD), "cd");
  CHECK_EQ_INT(ebm_train_method_from_name("no-such"), -1);
  CHECK_EQ_STR(ebm_train_method_name((ebm_train_method)999), "?");
}

/* A method's own defaults for common settings (train_method.common_defaults)
 * name common settings, parse, and are the only differences between
 * ebm_train_defaults_for(m) and the IGEBM defaults; jem's are JEM's Adam. */
TEST(a_methods_own_defaults_are_the_only_common_settings_it_changes) {
  char mine[512], base_text[512], wanted[512];
  for (int m = 0; m < train_method_count(); m++) {
    const train_method *tm = train_method_at(m);
    const ebm_train_config d = ebm_train_defaults_for((ebm_train_method)m);
    ebm_train_config base = ebm_train_defaults();
    base.method = (ebm_train_method)m;
    for (int i = 0; i < tm->ncommon_defaults; i++) { /* a row of the table, and its value parses */
      const ebm_train_setting *s = ebm_train_setting_find(tm->common_defaults[i].name);
      REQUIRE(s != NULL);
      ebm_train_config parsed = base;
      CHECK_OK(ebm_train_config_set(&parsed, s->name, tm->common_defaults[i].value));
      ebm_train_setting_text(&parsed, s, wanted, sizeof wanted);
      ebm_train_setting_text(&d, s, mine, sizeof mine);
      CHECK_EQ_STR(mine, wanted);
    }
    for (int k = 0; k < ebm_train_setting_count(); k++) { /* nothing else differs */
      const ebm_train_setting *s = ebm_train_setting_at(k);
      ebm_train_setting_text(&d, s, mine, sizeof mine);
      ebm_train_setting_text(&base, s, base_text, sizeof base_text);
      int listed = 0;
      for (int i = 0; i < tm->ncommon_defaults; i++) listed |= strcmp(tm->common_defaults[i].name, s->name) == 0;
      if (!listed) CHECK_EQ_STR(mine, base_text);
    }
  }
  const ebm_train_config jem = ebm_train_defaults_for((ebm_train_method)ebm_train_method_from_name("jem"));
  CHECK(jem.adam.lr == 1e-3f && jem.adam.beta1 == 0.9f && jem.adam.clip_std == 0.0f);
  const ebm_train_config pcd = ebm_train_defaults_for(EBM_TRAIN_PCD), igebm = ebm_train_defaults();
  CHECK(pcd.adam.lr == igebm.adam.lr && pcd.adam.beta1 == igebm.adam.beta1 && pcd.adam.clip_std == igebm.adam.clip_std);
}

/* What `ebm train --resume` reads: a run's config.json. Settings come back
 * in table order (so "sampler", given after "steps" in the file, does not
 * reset them), keys an older run did not record take their legacy value
 * (JEM's warmup: 0, not today's 1000), the verb's own keys are ignored, and
 * a bad value names the file and the setting and leaves *out untouched. */
TEST(train_config_from_json_reads_a_run_back_as_it_was_trained) {
  ebm_train_config cfg = ebm_train_defaults(), back;
  REQUIRE_OK(ebm_train_config_set(&cfg, "batch", "32"));
  REQUIRE_OK(ebm_train_config_set(&cfg, "sampler", "mala"));
  REQUIRE_OK(ebm_train_config_set(&cfg, "steps", "7"));
  REQUIRE_OK(ebm_train_config_set(&cfg, "kl-weight", "0.5"));
  char *json = ebm_train_config_json(&cfg);
  REQUIRE(json);
  REQUIRE_OK(ebm_train_config_from_json(json, "run/config.json", &back));
  char *again = ebm_train_config_json(&back);
  REQUIRE(again);
  CHECK(strcmp(json, again) == 0);
  ebm_train_config_json_free(again);
  ebm_train_config_json_free(json);

  REQUIRE_OK(ebm_train_config_from_json("{\"steps\": 9, \"sampler\": \"hmc\", \"data\": \"toy:rings\"}", NULL, &back));
  CHECK_EQ_INT(back.sampler.kind, EBM_SAMPLER_HMC);
  CHECK_EQ_INT(back.sampler.steps, 9);
  CHECK_EQ_INT(back.jem.warmup, 0); /* not recorded: the legacy value */
  CHECK_EQ_INT(ebm_train_defaults().jem.warmup, 1000);

  const ebm_train_config kept = back;
  CHECK_FAILS_WITH(ebm_train_config_from_json("{\"batch\": [1]}", "run/config.json", &back), EBM_ERR_FORMAT,
                   "run/config.json: 'batch' is not a string, a finite number or a boolean");
  CHECK_FAILS_WITH(ebm_train_config_from_json("{\"lr\": \"fast\"}", "run/config.json", &back), EBM_ERR_FORMAT,
                   "run/config.json: 'lr': ");
  CHECK_FAILS_WITH(ebm_train_config_from_json("[]", "run/config.json", &back), EBM_ERR_FORMAT,
                   "run/config.json: not a JSON object");
  CHECK(back.batch == kept.batch && back.sampler.steps == kept.sampler.steps);
}
