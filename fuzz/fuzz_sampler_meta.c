/* libFuzzer: any bytes as the sampler settings a checkpoint records (its
 * metadata "sampler", what `ebm sample --ckpt M` starts from) through
 * ebm_sampler_config_from_json. A parse either fails with a message and
 * leaves the config untouched, or gives a config that passes
 * ebm_sampler_config_check and whose text round-trips byte for byte:
 * from_json(to_json(cfg)) writes the same text again. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_text(data, size);
  if (!text) return 0;
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_HMC), before = cfg;
  ebm_status s = ebm_sampler_config_from_json(text, "fuzz.safetensors", &cfg);
  fuzz_check_message(s);
  if (s != EBM_OK) {
    FUZZ_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
  } else {
    char once[EBM_SAMPLER_JSON_MAX], twice[EBM_SAMPLER_JSON_MAX];
    ebm_sampler_config again;
    FUZZ_CHECK(ebm_sampler_config_check(&cfg) == EBM_OK);
    FUZZ_CHECK(ebm_sampler_config_to_json(&cfg, once, sizeof once) == EBM_OK);
    FUZZ_CHECK(ebm_sampler_config_from_json(once, "round trip", &again) == EBM_OK);
    FUZZ_CHECK(ebm_sampler_config_to_json(&again, twice, sizeof twice) == EBM_OK);
    FUZZ_CHECK(strcmp(once, twice) == 0);
  }
  free(text);
  return 0;
}
