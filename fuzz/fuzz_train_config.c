/* libFuzzer: any bytes as a run's config.json, read the way `ebm train
 * --resume` reads it: each member whose name is a setting is given to
 * ebm_train_config_set as text (strings as they are, booleans as
 * true/false, numbers as %.17g). Every refusal leaves a message. When all
 * settings took, the configuration written back as JSON
 * (ebm_train_config_json, what a run records) and read again the same way
 * gives the same JSON, byte for byte: a resumed run is the run it was. */
#include <math.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "fuzz_common.h"

static int member_text(const cJSON *v, char *buf, size_t size) {
  if (cJSON_IsString(v)) snprintf(buf, size, "%s", v->valuestring);
  else if (cJSON_IsBool(v)) snprintf(buf, size, "%s", cJSON_IsTrue(v) ? "true" : "false");
  else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) snprintf(buf, size, "%.17g", v->valuedouble);
  else return 0;
  return 1;
}

/* Applies the object's settings to *cfg; 0 when one was refused. */
static int apply(const cJSON *root, ebm_train_config *cfg) {
  char text[EBM_TRAIN_TEXT_SIZE + 64];
  const cJSON *m;
  cJSON_ArrayForEach(m, root) {
    if (!m->string || !ebm_train_setting_find(m->string) || !member_text(m, text, sizeof text)) continue;
    ebm_status s = ebm_train_config_set(cfg, m->string, text);
    fuzz_check_message(s);
    if (s != EBM_OK) return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cJSON *root = cJSON_ParseWithLength((const char *)data, size);
  ebm_train_config cfg = ebm_train_defaults();
  if (cJSON_IsObject(root) && apply(root, &cfg)) {
    fuzz_check_message(ebm_train_config_check(&cfg));
    char *once = ebm_train_config_json(&cfg);
    FUZZ_CHECK(once);
    cJSON *back = cJSON_Parse(once);
    ebm_train_config again = ebm_train_defaults();
    FUZZ_CHECK(cJSON_IsObject(back) && apply(back, &again));
    char *twice = ebm_train_config_json(&again);
    FUZZ_CHECK(twice && strcmp(once, twice) == 0);
    ebm_train_config_json_free(twice);
    ebm_train_config_json_free(once);
    cJSON_Delete(back);
  }
  cJSON_Delete(root);
  return 0;
}
