/* Training and sampler settings by name (the `ebm train` flag names), for
 * language bindings that cannot mirror the C structs: ebm_train_config_set
 * and ebm_sampler_config_set, each driven by one table of (name, type,
 * field). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ebm.h"

typedef enum { KEY_INT, KEY_INT64, KEY_FLOAT, KEY_U64, KEY_BOOL } key_type;
typedef struct {
  const char *name;
  key_type type;
  size_t offset;
} setting_key;

#define S(name, type, field) {name, type, offsetof(ebm_sampler_config, field)}
static const setting_key sampler_keys[] = {
    S("steps", KEY_INT, steps),           S("step-size", KEY_FLOAT, step_size),
    S("noise", KEY_FLOAT, noise),         S("grad-clip", KEY_FLOAT, grad_clip),
    S("temperature", KEY_FLOAT, temperature), S("clamp", KEY_BOOL, clamp),
    S("leapfrog", KEY_INT, leapfrog_steps), S("friction", KEY_FLOAT, friction),
    S("adapt", KEY_INT, adapt_steps),     S("target-accept", KEY_FLOAT, target_accept),
};
#undef S
#define T(name, type, field) {name, type, offsetof(ebm_train_config, field)}
static const setting_key train_keys[] = {
    T("batch", KEY_INT64, batch),          T("iters", KEY_INT64, iters),
    T("buffer", KEY_INT64, buffer_size),   T("reinit", KEY_FLOAT, reinit),
    T("alpha", KEY_FLOAT, alpha),          T("pos-noise", KEY_FLOAT, pos_noise),
    T("lr", KEY_FLOAT, adam.lr),           T("beta1", KEY_FLOAT, adam.beta1),
    T("beta2", KEY_FLOAT, adam.beta2),     T("weight-decay", KEY_FLOAT, adam.weight_decay),
    T("clip-std", KEY_FLOAT, adam.clip_std), T("clip-floor", KEY_FLOAT, adam.clip_floor),
    T("clip-norm", KEY_FLOAT, adam.clip_norm), T("lr-gamma", KEY_FLOAT, lr_gamma),
    T("lr-step", KEY_INT64, lr_step),      T("lr-min", KEY_FLOAT, lr_min),
    T("spectral-iters", KEY_INT, spectral_iters), T("max-energy", KEY_FLOAT, max_energy),
    T("conditional", KEY_BOOL, conditional), T("seed", KEY_U64, seed),
    T("kl-weight", KEY_FLOAT, kl_weight),  T("entropy-weight", KEY_FLOAT, entropy_weight),
    T("slices", KEY_INT64, slices),
};
#undef T

/* Parses `value` into the field at base + key->offset; the whole text must
 * be the number (no trailing junk, NaN, overflow). */
static ebm_status set_field(void *base, const setting_key *key, const char *value) {
  char *end = NULL;
  char *field = (char *)base + key->offset;
  errno = 0;
  if (key->type == KEY_FLOAT) {
    double v = strtod(value, &end);
    if (end == value || *end || errno == ERANGE || !isfinite(v) || !isfinite((float)v))
      return ebm_set_error(EBM_ERR_ARG, "%s expects a finite number, got '%s'", key->name, value);
    *(float *)field = (float)v;
    return EBM_OK;
  }
  if (key->type == KEY_BOOL && (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)) {
    *(int *)field = value[0] == 't';
    return EBM_OK;
  }
  long long v = strtoll(value, &end, 10);
  if (end == value || *end || errno == ERANGE || (key->type == KEY_INT && (v < INT_MIN || v > INT_MAX)) ||
      (key->type == KEY_BOOL && v != 0 && v != 1))
    return ebm_set_error(EBM_ERR_ARG, "%s expects %s, got '%s'", key->name,
                         key->type == KEY_BOOL ? "true/false or 1/0" : "an integer", value);
  switch (key->type) {
    case KEY_INT:
    case KEY_BOOL: *(int *)field = (int)v; break;
    case KEY_INT64: *(int64_t *)field = (int64_t)v; break;
    case KEY_U64: *(uint64_t *)field = (uint64_t)v; break;
    case KEY_FLOAT: break;
  }
  return EBM_OK;
}

static const setting_key *find_key(const setting_key *keys, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(keys[i].name, name) == 0) return &keys[i];
  return NULL;
}

ebm_sampler_config *ebm_sampler_config_new(const char *kind) {
  int k = ebm_sampler_from_name(kind ? kind : "langevin");
  if (k < 0) {
    ebm_set_error(EBM_ERR_ARG, "unknown sampler '%s': expected langevin, ula, mala, hmc or kinetic", kind);
    return NULL;
  }
  ebm_sampler_config *cfg = malloc(sizeof *cfg);
  if (!cfg) ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  else *cfg = ebm_sampler_defaults((ebm_sampler_kind)k);
  return cfg;
}

void ebm_sampler_config_free(ebm_sampler_config *cfg) { free(cfg); }

ebm_status ebm_sampler_config_set(ebm_sampler_config *cfg, const char *name, const char *value) {
  if (!name || !value) return ebm_set_error(EBM_ERR_ARG, "a setting needs a name and a value");
  const setting_key *key = find_key(sampler_keys, sizeof sampler_keys / sizeof *sampler_keys, name);
  if (!key) return ebm_set_error(EBM_ERR_ARG, "unknown sampler setting '%s'", name);
  return set_field(cfg, key, value);
}

ebm_train_config *ebm_train_config_new(const char *preset) {
  ebm_train_config *cfg = malloc(sizeof *cfg);
  if (!cfg) {
    ebm_set_error(EBM_ERR_NOMEM, "out of memory");
    return NULL;
  }
  if (ebm_train_preset(preset ? preset : "igebm", cfg) != EBM_OK) {
    free(cfg);
    return NULL;
  }
  return cfg;
}

void ebm_train_config_free(ebm_train_config *cfg) { free(cfg); }

ebm_status ebm_train_config_set(ebm_train_config *cfg, const char *name, const char *value) {
  if (!name || !value) return ebm_set_error(EBM_ERR_ARG, "a setting needs a name and a value");
  if (strcmp(name, "method") == 0) {
    int m = ebm_train_method_from_name(value);
    if (m < 0) return ebm_set_error(EBM_ERR_ARG, "method must be pcd, short-run or cd, got '%s'", value);
    cfg->method = (ebm_train_method)m;
    return EBM_OK;
  }
  if (strcmp(name, "lr-decay") == 0) {
    int d = ebm_lr_decay_from_name(value);
    if (d < 0) return ebm_set_error(EBM_ERR_ARG, "lr-decay must be none, step or cosine, got '%s'", value);
    cfg->lr_decay = (ebm_lr_decay)d;
    return EBM_OK;
  }
  if (strcmp(name, "buffer-policy") == 0) {
    int b = ebm_replay_policy_from_name(value);
    if (b < 0) return ebm_set_error(EBM_ERR_ARG, "buffer-policy must be random, reservoir or fifo, got '%s'", value);
    cfg->buffer_policy = (ebm_replay_policy)b;
    return EBM_OK;
  }
  if (strcmp(name, "augment") == 0) return ebm_augment_parse(value, &cfg->augment);
  if (strcmp(name, "range") == 0) {
    char *end = NULL;
    double lo = strtod(value, &end), hi = *end == ',' ? strtod(end + 1, &end) : NAN;
    if (*end || !(lo < hi) || !isfinite(lo) || !isfinite(hi))
      return ebm_set_error(EBM_ERR_ARG, "range expects LO,HI with finite LO < HI, got '%s'", value);
    cfg->range_lo = (float)lo;
    cfg->range_hi = (float)hi;
    return EBM_OK;
  }
  if (strcmp(name, "sampler") == 0) { /* λ, σ and the clip are Langevin's: another kind starts from its defaults */
    int k = ebm_sampler_from_name(value);
    if (k < 0) return ebm_set_error(EBM_ERR_ARG, "unknown sampler '%s'", value);
    if (k != (int)cfg->sampler.kind) {
      int steps = cfg->sampler.steps;
      cfg->sampler = ebm_sampler_defaults((ebm_sampler_kind)k);
      cfg->sampler.steps = steps;
      cfg->sampler.clamp = 1;
    }
    return EBM_OK;
  }
  const setting_key *key = find_key(train_keys, sizeof train_keys / sizeof *train_keys, name);
  if (key) return set_field(cfg, key, value);
  if (find_key(sampler_keys, sizeof sampler_keys / sizeof *sampler_keys, name))
    return ebm_sampler_config_set(&cfg->sampler, name, value);
  return ebm_set_error(EBM_ERR_ARG, "unknown training setting '%s'", name);
}

static void add_fields(cJSON *root, const void *base, const setting_key *keys, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *field = (const char *)base + keys[i].offset;
    switch (keys[i].type) {
      case KEY_INT: cJSON_AddNumberToObject(root, keys[i].name, *(const int *)field); break;
      case KEY_BOOL: cJSON_AddBoolToObject(root, keys[i].name, *(const int *)field); break;
      case KEY_INT64: cJSON_AddNumberToObject(root, keys[i].name, (double)*(const int64_t *)field); break;
      case KEY_U64: cJSON_AddNumberToObject(root, keys[i].name, (double)*(const uint64_t *)field); break;
      case KEY_FLOAT: {
        char text[32]; /* the shortest text that reads back as the same float */
        float v = *(const float *)field;
        for (int prec = 6; prec <= 9; prec++) {
          snprintf(text, sizeof text, "%.*g", prec, (double)v);
          if ((float)strtod(text, NULL) == v) break;
        }
        cJSON_AddRawToObject(root, keys[i].name, text);
        break;
      }
    }
  }
}

char *ebm_train_config_json(const ebm_train_config *cfg) {
  char range[64];
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "method", ebm_train_method_name(cfg->method));
  cJSON_AddStringToObject(root, "sampler", ebm_sampler_name(cfg->sampler.kind));
  cJSON_AddStringToObject(root, "lr-decay", ebm_lr_decay_name(cfg->lr_decay));
  snprintf(range, sizeof range, "%.9g,%.9g", (double)cfg->range_lo, (double)cfg->range_hi);
  cJSON_AddStringToObject(root, "range", range);
  char augment[64];
  cJSON_AddStringToObject(root, "buffer-policy", ebm_replay_policy_name(cfg->buffer_policy));
  cJSON_AddStringToObject(root, "augment", ebm_augment_text(cfg->augment, augment, sizeof augment));
  add_fields(root, cfg, train_keys, sizeof train_keys / sizeof *train_keys);
  add_fields(root, &cfg->sampler, sampler_keys, sizeof sampler_keys / sizeof *sampler_keys);
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  if (!text) ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  return text;
}

void ebm_train_config_json_free(char *json) { cJSON_free(json); }

size_t ebm_run_opts_size(void) { return sizeof(ebm_run_opts); }
size_t ebm_train_stats_size(void) { return sizeof(ebm_train_stats); }
