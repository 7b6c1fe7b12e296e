/* A sampler configuration as checkpoint metadata: the training recipe
 * records how its model is sampled (issue 19 item 4), so `ebm sample --ckpt
 * M` with no flag samples the model the way it was trained. The text is one
 * JSON object whose keys are the setting names of ebm_sampler_config_set
 * (the `ebm sample` / `ebm train` flag names), so parsing goes through that
 * one table; floats are written as the shortest text that reads back as the
 * same float, so text → config → text is byte-exact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ebm/sample.h"
#include "sample/sampler_internal.h"

/* The shortest %g text (6..9 digits) that reads back as v. */
static void float_text(float v, char *text, size_t size) {
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(text, size, "%.*g", prec, (double)v);
    if ((float)strtod(text, NULL) == v) return;
  }
}

ebm_status ebm_sampler_config_to_json(const ebm_sampler_config *cfg, char *buf, size_t size) {
  char step[32], noise[32], clip[32], temp[32], friction[32], accept[32];
  ebm_status st = ebm_sampler_config_check(cfg);
  if (st != EBM_OK) return st;
  float_text(cfg->step_size, step, sizeof step);
  float_text(cfg->noise, noise, sizeof noise);
  float_text(cfg->grad_clip, clip, sizeof clip);
  float_text(cfg->temperature, temp, sizeof temp);
  float_text(cfg->friction, friction, sizeof friction);
  float_text(cfg->target_accept, accept, sizeof accept);
  int len = snprintf(buf, size,
                     "{\"kind\":\"%s\",\"steps\":%d,\"step-size\":%s,\"noise\":%s,\"grad-clip\":%s,"
                     "\"temperature\":%s,\"clamp\":%s,\"leapfrog\":%d,\"friction\":%s,\"adapt\":%d,"
                     "\"target-accept\":%s}",
                     ebm_sampler_name(cfg->kind), cfg->steps, step, noise, clip, temp,
                     cfg->clamp ? "true" : "false", cfg->leapfrog_steps, friction, cfg->adapt_steps, accept);
  if (len < 0 || (size_t)len >= size)
    return ebm_set_error(EBM_ERR_ARG, "sampler settings: %d bytes do not fit in a buffer of %zu", len, size);
  return EBM_OK;
}

/* One member's value as the text ebm_sampler_config_set parses. */
static int member_text(const cJSON *m, char *text, size_t size) {
  if (cJSON_IsBool(m)) return snprintf(text, size, "%s", cJSON_IsTrue(m) ? "true" : "false") > 0;
  if (cJSON_IsNumber(m)) return snprintf(text, size, "%.17g", m->valuedouble) > 0;
  return 0;
}

ebm_status ebm_sampler_config_from_json(const char *json, const char *origin, ebm_sampler_config *cfg) {
  ebm_status st = EBM_OK;
  if (!origin) origin = "sampler settings";
  cJSON *root = json ? cJSON_Parse(json) : NULL;
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
  int k = cJSON_IsString(kind) ? ebm_sampler_from_name(kind->valuestring) : -1;
  if (!cJSON_IsObject(root) || k < 0) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: sampler settings are not a JSON object with \"kind\" "
                       "langevin, ula, mala, hmc or kinetic", origin);
    goto done;
  }
  ebm_sampler_config c = ebm_sampler_defaults((ebm_sampler_kind)k);
  const cJSON *m;
  cJSON_ArrayForEach(m, root) {
    char text[64];
    if (strcmp(m->string, "kind") == 0) continue;
    if (!member_text(m, text, sizeof text)) {
      st = ebm_set_error(EBM_ERR_FORMAT, "%s: sampler setting \"%s\" is not a number or a boolean", origin, m->string);
      goto done;
    }
    if ((st = ebm_sampler_config_set(&c, m->string, text)) != EBM_OK) break;
  }
  if (st == EBM_OK) st = ebm_sampler_config_check(&c);
  if (st != EBM_OK) {
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s: sampler settings", origin);
    st = ebm_error_prefix(EBM_ERR_FORMAT, prefix);
    goto done;
  }
  *cfg = c;
done:
  cJSON_Delete(root);
  return st;
}

ebm_status sample_checkpoint_meta(const char *path, const char *key,
                                  ebm_status (*parse)(const char *text, const char *path, void *out), void *out,
                                  int *found) {
  ebm_safetensors *file = NULL;
  *found = 0;
  ebm_status st = ebm_safetensors_load(path, &file);
  if (st != EBM_OK) return st;
  const char *text = ebm_safetensors_meta(file, key);
  if (text && (st = parse(text, path, out)) == EBM_OK) *found = 1;
  ebm_safetensors_free(file);
  return st;
}

static ebm_status parse_sampler(const char *text, const char *path, void *out) {
  return ebm_sampler_config_from_json(text, path, out);
}

ebm_status ebm_sampler_config_from_checkpoint(const char *path, ebm_sampler_config *cfg, int *found) {
  return sample_checkpoint_meta(path, EBM_SAMPLER_META_KEY, parse_sampler, cfg, found);
}
