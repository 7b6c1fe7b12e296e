/* The settings table of include/ebm/train.h: one row per setting of
 * ebm_train_config (name = the `ebm train` flag and config.json key, type,
 * field, help line, default), the common rows here and each method's rows
 * in its own file. The defaults (ebm_train_defaults), `ebm train`'s flags,
 * --help and --resume, config.json and the bindings all read it. The
 * sampler's own table (ebm_sampler_config_set) is at the end. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "train/train_internal.h"

/* ------------------------------------------------------ special settings */

static ebm_status parse_method(ebm_train_config *c, const char *v) {
  int m = ebm_train_method_from_name(v);
  if (m < 0) return ebm_set_error(EBM_ERR_ARG, "method must be %s, got '%s'", ebm_train_method_list(), v);
  c->method = (ebm_train_method)m;
  return EBM_OK;
}
static void format_method(const ebm_train_config *c, char *buf, size_t size) {
  snprintf(buf, size, "%s", ebm_train_method_name(c->method));
}

/* λ, σ and the clip are Langevin's: another kind starts from its defaults
 * (keeping the steps and the clamp). */
static ebm_status parse_sampler(ebm_train_config *c, const char *v) {
  int k = ebm_sampler_from_name(v);
  if (k < 0) return ebm_set_error(EBM_ERR_ARG, "sampler must be langevin, ula, mala, hmc or kinetic, got '%s'", v);
  if (k != (int)c->sampler.kind) {
    const int steps = c->sampler.steps, clamp = c->sampler.clamp;
    c->sampler = ebm_sampler_defaults((ebm_sampler_kind)k);
    c->sampler.steps = steps;
    c->sampler.clamp = clamp;
  }
  return EBM_OK;
}
static void format_sampler(const ebm_train_config *c, char *buf, size_t size) {
  snprintf(buf, size, "%s", ebm_sampler_name(c->sampler.kind));
}

static ebm_status parse_lr_decay(ebm_train_config *c, const char *v) {
  int d = ebm_lr_decay_from_name(v);
  if (d < 0) return ebm_set_error(EBM_ERR_ARG, "lr-decay must be none, step or cosine, got '%s'", v);
  c->lr_decay = (ebm_lr_decay)d;
  return EBM_OK;
}
static void format_lr_decay(const ebm_train_config *c, char *buf, size_t size) {
  snprintf(buf, size, "%s", ebm_lr_decay_name(c->lr_decay));
}

static ebm_status parse_policy(ebm_train_config *c, const char *v) {
  int b = ebm_replay_policy_from_name(v);
  if (b < 0) return ebm_set_error(EBM_ERR_ARG, "buffer-policy must be random, reservoir or fifo, got '%s'", v);
  c->buffer_policy = (ebm_replay_policy)b;
  return EBM_OK;
}
static void format_policy(const ebm_train_config *c, char *buf, size_t size) {
  snprintf(buf, size, "%s", ebm_replay_policy_name(c->buffer_policy));
}

static ebm_status parse_augment(ebm_train_config *c, const char *v) { return ebm_augment_parse(v, &c->augment); }
static void format_augment(const ebm_train_config *c, char *buf, size_t size) {
  ebm_augment_text(c->augment, buf, size);
}

static ebm_status parse_data_augment(ebm_train_config *c, const char *v) {
  return ebm_augment_parse(v, &c->data_augment);
}
static void format_data_augment(const ebm_train_config *c, char *buf, size_t size) {
  ebm_augment_text(c->data_augment, buf, size);
}

static ebm_status parse_chain_start(ebm_train_config *c, const char *v) {
  if (strcmp(v, "uniform") == 0 || strcmp(v, "gaussian") == 0) {
    c->chain_start = v[0] == 'u' ? EBM_START_UNIFORM : EBM_START_GAUSSIAN;
    return EBM_OK;
  }
  if (strncmp(v, "npy:", 4) == 0 && v[4]) {
    if (strlen(v) >= sizeof c->start_items)
      return ebm_set_error(EBM_ERR_ARG, "init npy:FILE: the path is longer than %d bytes",
                           (int)sizeof c->start_items - 5);
    c->chain_start = EBM_START_ITEMS;
    snprintf(c->start_items, sizeof c->start_items, "%s", v);
    return EBM_OK;
  }
  if (strncmp(v, "mixture:", 8) == 0) {
    char *end = NULL;
    const long k = strtol(v + 8, &end, 10);
    if (end != v + 8 && !*end && k >= 1 && k <= EBM_CHAIN_START_MAX_COMPONENTS) {
      c->chain_start = EBM_START_MIXTURE;
      c->start_components = (int)k;
      return EBM_OK;
    }
  }
  return ebm_set_error(EBM_ERR_ARG, "init must be uniform, gaussian, mixture:K (K components, 1..%d) or npy:FILE, "
                       "got '%s'", EBM_CHAIN_START_MAX_COMPONENTS, v);
}
static void format_chain_start(const ebm_train_config *c, char *buf, size_t size) {
  if (c->chain_start == EBM_START_ITEMS) snprintf(buf, size, "%s", c->start_items);
  else if (c->chain_start == EBM_START_MIXTURE) snprintf(buf, size, "mixture:%d", c->start_components);
  else snprintf(buf, size, "%s", c->chain_start == EBM_START_GAUSSIAN ? "gaussian" : "uniform");
}

/* The shortest text that reads back as the same float. */
static void float_text(float v, char *buf, size_t size) {
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(buf, size, "%.*g", prec, (double)v);
    if ((float)strtod(buf, NULL) == v) return;
  }
}

static ebm_status parse_range(ebm_train_config *c, const char *v) {
  char *end = NULL;
  double lo = strtod(v, &end), hi = *end == ',' ? strtod(end + 1, &end) : NAN;
  if (*end || !(lo < hi) || !isfinite(lo) || !isfinite(hi) || !isfinite((float)lo) || !isfinite((float)hi) ||
      !((float)lo < (float)hi))
    return ebm_set_error(EBM_ERR_ARG, "range expects LO,HI with finite LO < HI, got '%s'", v);
  c->range_lo = (float)lo;
  c->range_hi = (float)hi;
  return EBM_OK;
}
static void format_range(const ebm_train_config *c, char *buf, size_t size) {
  char lo[32], hi[32];
  float_text(c->range_lo, lo, sizeof lo);
  float_text(c->range_hi, hi, sizeof hi);
  snprintf(buf, size, "%s,%s", lo, hi);
}

/* ------------------------------------------------------------ the table */

#define ROW(name_, type_, field, metavar_, help_, flags_)                                          \
  {.name = name_, .type = type_, .offset = offsetof(ebm_train_config, field),                      \
   .size = sizeof(((ebm_train_config *)0)->field), .metavar = metavar_, .help = help_, .flags = flags_}
#define SPECIAL_ROW(name_, fn, metavar_, help_, flags_)                                            \
  {.name = name_, .type = EBM_SETTING_SPECIAL, .metavar = metavar_, .help = help_, .flags = flags_, \
   .parse = parse_##fn, .format = format_##fn}
#define ID EBM_SETTING_IDENTITY
/* A common setting added after runs were recorded without it: those resume
 * with legacy_ (ebm_train_setting.legacy). */
#define ROW_SINCE(name_, type_, field, metavar_, help_, flags_, legacy_)                           \
  {.name = name_, .type = type_, .offset = offsetof(ebm_train_config, field),                      \
   .size = sizeof(((ebm_train_config *)0)->field), .metavar = metavar_, .help = help_,             \
   .flags = flags_, .legacy = legacy_}
static const ebm_train_setting common[] = {
    SPECIAL_ROW("method", method, "M", "the estimator (list below)", ID),
    ROW("batch", EBM_SETTING_INT64, batch, "B", "positives (and negatives) per step", ID),
    ROW("iters", EBM_SETTING_INT64, iters, "N", "training steps in all", 0),
    SPECIAL_ROW("sampler", sampler, "NAME", "langevin | ula | mala | hmc | kinetic", 0),
    ROW("steps", EBM_SETTING_INT, sampler.steps, "K", "MCMC steps per training step", 0),
    ROW("step-size", EBM_SETTING_FLOAT, sampler.step_size, "L", "Langevin step size λ (ε for the other samplers)", 0),
    ROW("noise", EBM_SETTING_FLOAT, sampler.noise, "S", "Langevin noise σ", 0),
    ROW("grad-clip", EBM_SETTING_FLOAT, sampler.grad_clip, "C", "per-element clip of the Langevin gradient (0 = off)", 0),
    ROW("leapfrog", EBM_SETTING_INT, sampler.leapfrog_steps, "L", "HMC leapfrog steps", 0),
    ROW("friction", EBM_SETTING_FLOAT, sampler.friction, "G", "kinetic Langevin friction", 0),
    ROW("temperature", EBM_SETTING_FLOAT, sampler.temperature, "T", "sampler temperature", 0),
    ROW("buffer", EBM_SETTING_INT64, buffer_size, "N", "replay buffer capacity (pcd)", ID),
    ROW("reinit", EBM_SETTING_FLOAT, reinit, "P", "fraction of buffer draws replaced by fresh noise (pcd)", 0),
    SPECIAL_ROW("init", chain_start, "KIND", "where fresh chains start (pcd/jem buffer noise, short-run chains, recovery's "
                "noisiest level when sampled): uniform noise on the range | gaussian (a Gaussian fitted to the "
                "data, clamped: full covariance up to 4096 values per item, low-rank above) | mixture:K (K Gaussians "
                "in the data's top-64 principal subspace: each draw near one cluster of the data) | npy:FILE (the items "
                "of FILE, one drawn at random per chain: starts another model made); with --conditional "
                "a fitted start is fitted per class, and a chain of class c starts from class c's", 0),
    ROW_SINCE("shared-start", EBM_SETTING_BOOL, shared_start, NULL, "with --conditional and a fitted --init: one "
              "start fitted to every class instead of one per class (how runs recorded before per-class starts "
              "resume)", 0, "true"),
    SPECIAL_ROW("buffer-policy", policy, "P", "how chains return to the buffer: random (in place) | reservoir | fifo", ID),
    SPECIAL_ROW("augment", augment, "LIST", "transform chains restarted from the buffer: flip,shift,noise | none", 0),
    SPECIAL_ROW("data-augment", data_augment, "LIST", "transform each data item a step draws (a random mirror, a shift of "
                "up to 2 pixels, noise): flip,shift,noise | none", 0),
    ROW("alpha", EBM_SETTING_FLOAT, alpha, "A", "energy regulariser α·(E+² + E-²)", 0),
    ROW("pos-noise", EBM_SETTING_FLOAT, pos_noise, "S", "noise σ added to the positives", 0),
    ROW("kl-weight", EBM_SETTING_FLOAT, kl_weight, "W", "improved CD: the KL term through the last Langevin step (0 = off)", 0),
    ROW("entropy-weight", EBM_SETTING_FLOAT, entropy_weight, "W", "improved CD: nearest-neighbour entropy of the chains against the buffer (0 = off)", 0),
    SPECIAL_ROW("range", range, "LO,HI", "data range (clamps, noise); toy data: the toys' box -4,4", ID),
    ROW("lr", EBM_SETTING_FLOAT, adam.lr, "LR", "Adam learning rate", 0),
    ROW("beta1", EBM_SETTING_FLOAT, adam.beta1, "B1", "Adam β1", 0),
    ROW("beta2", EBM_SETTING_FLOAT, adam.beta2, "B2", "Adam β2", 0),
    ROW("weight-decay", EBM_SETTING_FLOAT, adam.weight_decay, "WD", "Adam L2 weight decay", 0),
    ROW("clip-std", EBM_SETTING_FLOAT, adam.clip_std, "K", "A.12: clip gradients beyond K·sqrt(v) of Adam (0 = off)", 0),
    ROW("clip-floor", EBM_SETTING_FLOAT, adam.clip_floor, "F", "added to the A.12 bound (as ebm_code_release)", 0),
    ROW("clip-norm", EBM_SETTING_FLOAT, adam.clip_norm, "N", "global gradient-norm clip (0 = off)", 0),
    SPECIAL_ROW("lr-decay", lr_decay, "KIND", "none | step (× lr-gamma every lr-step) | cosine (to lr-min)", 0),
    ROW("lr-gamma", EBM_SETTING_FLOAT, lr_gamma, "G", "step decay factor", 0),
    ROW("lr-step", EBM_SETTING_INT64, lr_step, "N", "step decay period (0: iters/3)", 0),
    ROW("lr-min", EBM_SETTING_FLOAT, lr_min, "LR", "cosine decay floor", 0),
    ROW("spectral-iters", EBM_SETTING_INT, spectral_iters, "N", "spectral-norm power iterations per step", 0),
    ROW("max-energy", EBM_SETTING_FLOAT, max_energy, "E", "stop as diverged when |mean E| exceeds this", 0),
    ROW("conditional", EBM_SETTING_BOOL, conditional, NULL, "train E(x, y) with the data's labels (per-class buffers)", ID),
    ROW("seed", EBM_SETTING_U64, seed, "S", "random seed", 0),
    ROW("slices", EBM_SETTING_INT64, slices, "P", "fixed slices of the batch, each with its own random stream and buffer "
        "share; the same slices give the same bytes on any number of MPI ranks up to P (mpirun -np N ebm train)", ID),
};
#undef ID
#undef SPECIAL_ROW
#undef ROW
#define NCOMMON ((int)(sizeof common / sizeof *common))

int ebm_train_setting_count(void) {
  int n = NCOMMON;
  for (int m = 0; m < train_method_count(); m++) n += train_method_at(m)->nsettings;
  return n;
}

const ebm_train_setting *ebm_train_setting_at(int index) {
  if (index < 0) return NULL;
  if (index < NCOMMON) return &common[index];
  index -= NCOMMON;
  for (int m = 0; m < train_method_count(); m++) {
    const train_method *tm = train_method_at(m);
    if (index < tm->nsettings) return &tm->settings[index];
    index -= tm->nsettings;
  }
  return NULL;
}

const ebm_train_setting *ebm_train_setting_find(const char *name) {
  for (int i = 0, n = ebm_train_setting_count(); name && i < n; i++) {
    const ebm_train_setting *s = ebm_train_setting_at(i);
    if (strcmp(s->name, name) == 0) return s;
  }
  return NULL;
}

/* ------------------------------------------------------- values as text */

static const char *type_wants(ebm_setting_type type) {
  switch (type) {
    case EBM_SETTING_FLOAT: return "a finite number";
    case EBM_SETTING_BOOL: return "true/false or 1/0";
    case EBM_SETTING_U64: return "a non-negative integer";
    default: return "an integer";
  }
}

/* Parses `value` into a typed field; the whole text must be the value (no
 * trailing junk, NaN, overflow). `name` is for the message. */
static ebm_status set_value(void *field, ebm_setting_type type, size_t size, const char *name, const char *value) {
  char *end = NULL;
  errno = 0;
  switch (type) {
    case EBM_SETTING_TEXT:
      if (strlen(value) >= size)
        return ebm_set_error(EBM_ERR_ARG, "%s is longer than %zu bytes (give a long architecture as @FILE)", name,
                             size - 1);
      memcpy(field, value, strlen(value) + 1);
      return EBM_OK;
    case EBM_SETTING_FLOAT: {
      double v = strtod(value, &end);
      if (end == value || *end || errno == ERANGE || !isfinite(v) || !isfinite((float)v))
        return ebm_set_error(EBM_ERR_ARG, "%s expects %s, got '%s'", name, type_wants(type), value);
      *(float *)field = (float)v;
      return EBM_OK;
    }
    case EBM_SETTING_BOOL:
      if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
        *(int *)field = value[0] == 't';
        return EBM_OK;
      }
      break;
    default: break;
  }
  long long v = 0;
  unsigned long long u = 0;
  if (type == EBM_SETTING_U64) {
    u = strtoull(value, &end, 10);
    if (value[0] == '-') end = (char *)value; /* strtoull reads "-3" as 2^64 − 3 */
  } else {
    v = strtoll(value, &end, 10);
  }
  if (end == value || *end || errno == ERANGE || (type == EBM_SETTING_INT && (v < INT_MIN || v > INT_MAX)) ||
      (type == EBM_SETTING_BOOL && v != 0 && v != 1))
    return ebm_set_error(EBM_ERR_ARG, "%s expects %s, got '%s'", name, type_wants(type), value);
  switch (type) {
    case EBM_SETTING_INT:
    case EBM_SETTING_BOOL: *(int *)field = (int)v; break;
    case EBM_SETTING_INT64: *(int64_t *)field = (int64_t)v; break;
    case EBM_SETTING_U64: *(uint64_t *)field = (uint64_t)u; break;
    default: break;
  }
  return EBM_OK;
}

static ebm_status set_field(ebm_train_config *cfg, const ebm_train_setting *s, const char *value) {
  if (s->type == EBM_SETTING_SPECIAL) return s->parse(cfg, value);
  return set_value((char *)cfg + s->offset, s->type, s->size, s->name, value);
}

void train_apply_setting_defaults(ebm_train_config *cfg) {
  for (int i = 0, n = ebm_train_setting_count(); i < n; i++) {
    const ebm_train_setting *s = ebm_train_setting_at(i);
    if (s->def) (void)set_field(cfg, s, s->def); /* tests/train check that every default parses */
  }
}

void ebm_train_setting_text(const ebm_train_config *cfg, const ebm_train_setting *s, char *buf, size_t size) {
  const char *field = (const char *)cfg + s->offset;
  switch (s->type) {
    case EBM_SETTING_SPECIAL: s->format(cfg, buf, size); break;
    case EBM_SETTING_TEXT: snprintf(buf, size, "%s", field); break;
    case EBM_SETTING_FLOAT: float_text(*(const float *)field, buf, size); break;
    case EBM_SETTING_BOOL: snprintf(buf, size, "%s", *(const int *)field ? "true" : "false"); break;
    case EBM_SETTING_INT: snprintf(buf, size, "%d", *(const int *)field); break;
    case EBM_SETTING_INT64: snprintf(buf, size, "%lld", (long long)*(const int64_t *)field); break;
    case EBM_SETTING_U64: snprintf(buf, size, "%llu", (unsigned long long)*(const uint64_t *)field); break;
  }
}

/* ------------------------------------------------------------ the config */

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
  const ebm_train_setting *s = ebm_train_setting_find(name);
  if (s) return set_field(cfg, s, value);
  /* the sampler settings training does not use (adapt, target-accept, clamp), for bindings */
  ebm_status st = ebm_sampler_config_set(&cfg->sampler, name, value);
  if (st != EBM_OK && strstr(ebm_last_error(), "unknown sampler setting"))
    return ebm_set_error(EBM_ERR_ARG, "unknown training setting '%s'", name);
  return st;
}

char *ebm_train_config_json(const ebm_train_config *cfg) {
  char text[EBM_TRAIN_TEXT_SIZE + 64];
  cJSON *root = cJSON_CreateObject();
  for (int i = 0, n = ebm_train_setting_count(); root && i < n; i++) {
    const ebm_train_setting *s = ebm_train_setting_at(i);
    ebm_train_setting_text(cfg, s, text, sizeof text);
    switch (s->type) {
      case EBM_SETTING_BOOL: cJSON_AddBoolToObject(root, s->name, *(const int *)((const char *)cfg + s->offset)); break;
      case EBM_SETTING_FLOAT:
      case EBM_SETTING_INT: cJSON_AddRawToObject(root, s->name, text); break;
      case EBM_SETTING_INT64:
      case EBM_SETTING_U64: { /* JSON numbers are doubles: larger integers go as text */
        const int exact = s->type == EBM_SETTING_U64 ? strtoull(text, NULL, 10) <= (1ULL << 53)
                                                     : llabs(strtoll(text, NULL, 10)) <= (1LL << 53);
        if (exact) cJSON_AddRawToObject(root, s->name, text);
        else cJSON_AddStringToObject(root, s->name, text);
        break;
      }
      default: cJSON_AddStringToObject(root, s->name, text); break;
    }
  }
  char *out = root ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (!out) ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  return out;
}

void ebm_train_config_json_free(char *json) { cJSON_free(json); }

/* A config.json value as the text a setting reads. */
static int json_value_text(const cJSON *v, char *buf, size_t size) {
  if (cJSON_IsString(v)) snprintf(buf, size, "%s", v->valuestring);
  else if (cJSON_IsBool(v)) snprintf(buf, size, "%s", cJSON_IsTrue(v) ? "true" : "false");
  else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) snprintf(buf, size, "%.17g", v->valuedouble);
  else return 0;
  return 1;
}

ebm_status ebm_train_config_from_json(const char *json, const char *origin, ebm_train_config *out) {
  char text[EBM_TRAIN_TEXT_SIZE + 64];
  ebm_status st = EBM_OK;
  if (!origin) origin = "training settings";
  cJSON *root = json ? cJSON_Parse(json) : NULL;
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return ebm_set_error(EBM_ERR_FORMAT, "%s: not a JSON object", origin);
  }
  ebm_train_config cfg = ebm_train_defaults();
  /* in table order, not the file's: "sampler" resets the sampler's settings, so it goes first */
  for (int k = 0, n = ebm_train_setting_count(); st == EBM_OK && k < n; k++) {
    const ebm_train_setting *s = ebm_train_setting_at(k);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, s->name);
    if (!v || cJSON_IsNull(v)) { /* a run of an older version: resume it as it was trained */
      if (s->legacy && ebm_train_config_set(&cfg, s->name, s->legacy) != EBM_OK)
        st = ebm_set_error(EBM_ERR_FORMAT, "%s: '%s': %s", origin, s->name, ebm_last_error());
    } else if (!json_value_text(v, text, sizeof text)) {
      st = ebm_set_error(EBM_ERR_FORMAT, "%s: '%s' is not a string, a finite number or a boolean", origin, s->name);
    } else if (ebm_train_config_set(&cfg, s->name, text) != EBM_OK) {
      st = ebm_set_error(EBM_ERR_FORMAT, "%s: '%s': %s", origin, s->name, ebm_last_error());
    }
  }
  cJSON_Delete(root);
  if (st == EBM_OK) *out = cfg;
  return st;
}

size_t ebm_run_opts_size(void) { return sizeof(ebm_run_opts); }
size_t ebm_train_stats_size(void) { return sizeof(ebm_train_stats); }

/* ------------------------------------------------------ sampler settings */

typedef enum { KEY_INT, KEY_FLOAT, KEY_BOOL } key_type;
typedef struct {
  const char *name;
  key_type type;
  size_t offset;
} sampler_key;

#define S(name, type, field) {name, type, offsetof(ebm_sampler_config, field)}
static const sampler_key sampler_keys[] = {
    S("steps", KEY_INT, steps),           S("step-size", KEY_FLOAT, step_size),
    S("noise", KEY_FLOAT, noise),         S("grad-clip", KEY_FLOAT, grad_clip),
    S("temperature", KEY_FLOAT, temperature), S("clamp", KEY_BOOL, clamp),
    S("leapfrog", KEY_INT, leapfrog_steps), S("friction", KEY_FLOAT, friction),
    S("adapt", KEY_INT, adapt_steps),     S("target-accept", KEY_FLOAT, target_accept),
};
#undef S

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
  for (size_t i = 0; i < sizeof sampler_keys / sizeof *sampler_keys; i++) {
    const sampler_key *k = &sampler_keys[i];
    if (strcmp(k->name, name) != 0) continue;
    return set_value((char *)cfg + k->offset, k->type == KEY_FLOAT ? EBM_SETTING_FLOAT
                                              : k->type == KEY_BOOL ? EBM_SETTING_BOOL : EBM_SETTING_INT,
                     0, k->name, value);
  }
  return ebm_set_error(EBM_ERR_ARG, "unknown sampler setting '%s'", name);
}
