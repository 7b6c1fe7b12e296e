/* libFuzzer: any bytes as a run's config.json through
 * ebm_train_config_from_json, what `ebm train --resume` reads. A refusal
 * leaves a message and the configuration untouched; a configuration that
 * is read, written back (ebm_train_config_json, what a run records) and
 * read again gives the same JSON, byte for byte: a resumed run is the run
 * it was. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_text(data, size);
  if (!text) return 0;
  ebm_train_config cfg = ebm_train_defaults_for(EBM_TRAIN_CD), before = cfg;
  ebm_status s = ebm_train_config_from_json(text, "fuzz/config.json", &cfg);
  fuzz_check_message(s);
  if (s != EBM_OK) {
    FUZZ_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
  } else {
    fuzz_check_message(ebm_train_config_check(&cfg));
    char *once = ebm_train_config_json(&cfg);
    ebm_train_config again;
    FUZZ_CHECK(once && ebm_train_config_from_json(once, "round trip", &again) == EBM_OK);
    char *twice = ebm_train_config_json(&again);
    FUZZ_CHECK(twice && strcmp(once, twice) == 0);
    ebm_train_config_json_free(twice);
    ebm_train_config_json_free(once);
  }
  free(text);
  return 0;
}
