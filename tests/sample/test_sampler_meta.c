/* Sampler settings as checkpoint metadata: text → config → text is
 * byte-exact for every kind, bad text is refused naming the file and the
 * setting, and a checkpoint without settings says so. */
#include "test.h"

static int same_config(const ebm_sampler_config *a, const ebm_sampler_config *b) {
  return a->kind == b->kind && a->steps == b->steps && a->step_size == b->step_size && a->noise == b->noise &&
         a->grad_clip == b->grad_clip && a->temperature == b->temperature && a->clamp == b->clamp &&
         a->leapfrog_steps == b->leapfrog_steps && a->friction == b->friction && a->adapt_steps == b->adapt_steps &&
         a->target_accept == b->target_accept;
}

/* Every kind's defaults, and values that need all nine digits of a float
 * (0.1f, π, 1/3) or none (λ 10), survive the round trip exactly. */
TEST(sampler_config_json_round_trips_exactly_for_every_kind) {
  for (int k = 0; k < EBM_SAMPLER_COUNT; k++) {
    ebm_sampler_config c = ebm_sampler_defaults((ebm_sampler_kind)k), back;
    char text[EBM_SAMPLER_JSON_MAX], again[EBM_SAMPLER_JSON_MAX];
    for (int variant = 0; variant < 2; variant++) {
      if (variant == 1) {
        c.steps = 237;
        c.step_size = 3.14159274f;
        c.noise = 1.0f / 3.0f;
        c.grad_clip = 0.1f;
        c.temperature = 1.7f;
        c.clamp = 0;
        c.leapfrog_steps = 7;
        c.friction = 2.5e-3f;
        c.adapt_steps = k == EBM_SAMPLER_MALA || k == EBM_SAMPLER_HMC ? 100 : 0;
      }
      REQUIRE_OK(ebm_sampler_config_to_json(&c, text, sizeof text));
      memset(&back, 0xff, sizeof back);
      REQUIRE_OK(ebm_sampler_config_from_json(text, "m.safetensors", &back));
      CHECK(same_config(&c, &back));
      REQUIRE_OK(ebm_sampler_config_to_json(&back, again, sizeof again));
      CHECK(strcmp(text, again) == 0);
    }
  }
  ebm_sampler_config c = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  char text[EBM_SAMPLER_JSON_MAX];
  REQUIRE_OK(ebm_sampler_config_to_json(&c, text, sizeof text));
  CHECK_CONTAINS(text, "{\"kind\":\"langevin\",\"steps\":60,\"step-size\":10,\"noise\":0.005,\"grad-clip\":0.01,");
  char small[40];
  CHECK_FAILS_WITH(ebm_sampler_config_to_json(&c, small, sizeof small), EBM_ERR_ARG, "do not fit");
  c.steps = -1;
  CHECK_FAILS_WITH(ebm_sampler_config_to_json(&c, text, sizeof text), EBM_ERR_ARG, "steps");
}

/* Absent settings keep the kind's defaults; every bad text is a format
 * error naming the file (and the setting), leaving the config as it was. */
TEST(sampler_config_from_json_fills_defaults_and_names_bad_settings) {
  ebm_sampler_config c = ebm_sampler_defaults(EBM_SAMPLER_ULA), keep;
  REQUIRE_OK(ebm_sampler_config_from_json("{\"kind\":\"mala\",\"steps\":5}", "m.safetensors", &c));
  ebm_sampler_config want = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  want.steps = 5;
  CHECK(same_config(&c, &want));
  keep = c;
  CHECK_FAILS_WITH(ebm_sampler_config_from_json("{\"kind\":", "m.safetensors", &c), EBM_ERR_FORMAT,
                   "m.safetensors: sampler settings are not a JSON object");
  CHECK_FAILS_WITH(ebm_sampler_config_from_json("{\"kind\":\"gibbs\"}", "m.safetensors", &c), EBM_ERR_FORMAT,
                   "\"kind\" langevin, ula, mala, hmc or kinetic");
  CHECK_FAILS_WITH(ebm_sampler_config_from_json("{\"kind\":\"ula\",\"stepz\":3}", "m.safetensors", &c),
                   EBM_ERR_FORMAT, "m.safetensors: sampler settings: unknown sampler setting 'stepz'");
  CHECK_FAILS_WITH(ebm_sampler_config_from_json("{\"kind\":\"ula\",\"steps\":\"3\"}", "m.safetensors", &c),
                   EBM_ERR_FORMAT, "\"steps\" is not a number or a boolean");
  CHECK_FAILS_WITH(ebm_sampler_config_from_json("{\"kind\":\"ula\",\"steps\":2.5}", "m.safetensors", &c),
                   EBM_ERR_FORMAT, "steps expects an integer");
  CHECK_FAILS_WITH(ebm_sampler_config_from_json("{\"kind\":\"ula\",\"step-size\":-1}", "m.safetensors", &c),
                   EBM_ERR_FORMAT, "m.safetensors: sampler settings: step_size must be > 0");
  CHECK(same_config(&c, &keep));
}

/* The settings written under EBM_SAMPLER_META_KEY next to a network are
 * found; a checkpoint without them reports found = 0 and keeps cfg. */
TEST(sampler_config_from_checkpoint_reads_the_metadata_or_reports_none) {
  ebm_sampler_config c = ebm_sampler_defaults(EBM_SAMPLER_KINETIC), got = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  c.steps = 11;
  c.friction = 0.25f;
  char text[EBM_SAMPLER_JSON_MAX];
  REQUIRE_OK(ebm_sampler_config_to_json(&c, text, sizeof text));
  const char *with = test_path("with.safetensors"), *without = test_path("without.safetensors");
  float v[2] = {1, 2};
  int64_t shape[1] = {2};
  for (int i = 0; i < 2; i++) {
    ebm_st_writer *w = ebm_st_writer_new();
    REQUIRE(w);
    REQUIRE_OK(ebm_st_writer_add_f32(w, "w", 1, shape, v));
    if (i == 0) REQUIRE_OK(ebm_st_writer_meta(w, EBM_SAMPLER_META_KEY, text));
    REQUIRE_OK(ebm_st_writer_save(w, i == 0 ? with : without));
    ebm_st_writer_free(w);
  }
  int found = -1;
  REQUIRE_OK(ebm_sampler_config_from_checkpoint(with, &got, &found));
  CHECK_EQ_INT(found, 1);
  CHECK(same_config(&got, &c));
  ebm_sampler_config untouched = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  got = untouched;
  REQUIRE_OK(ebm_sampler_config_from_checkpoint(without, &got, &found));
  CHECK_EQ_INT(found, 0);
  CHECK(same_config(&got, &untouched));
  CHECK_FAILS_WITH(ebm_sampler_config_from_checkpoint(test_path("missing.safetensors"), &got, &found), EBM_ERR_IO,
                   "missing.safetensors");
}
