/* Architecture descriptions: JSON ⇄ arch_spec. The JSON is what a
 * checkpoint stores under __metadata__ "arch", so a checkpoint describes its
 * own network:
 *
 *   {"input": [1, 28, 28], "classes": 0, "range": [-1, 1],
 *    "spectral_norm": false,            default for every weighted layer
 *    "layers": [
 *      {"type": "conv2d", "name": "net.0", "out": 16, "kernel": 5, "stride": 2, "pad": 4},
 *      {"type": "swish"}, {"type": "leaky_relu", "slope": 0.2},
 *      {"type": "avgpool2d", "kernel": 2}, {"type": "global_sum_pool"}, {"type": "flatten"},
 *      {"type": "linear", "name": "net.9", "out": 64, "bias": true, "spectral_norm": false},
 *      {"type": "class_affine", "name": "cond0"},
 *      {"type": "resblock", "name": "blocks.0", "out": 64, "down": true, "act": "swish"}]}
 *
 * or the compact form {"preset": "mlp", "in_dim": 2, "width": 128, "depth": 2,
 * "classes": 0}, which is expanded (presets.c). The canonical JSON written
 * back is always the expanded one. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

#define MAX_LAYERS 256

void arch_spec_free(arch_spec *spec) {
  if (!spec) return;
  free(spec->layers);
  memset(spec, 0, sizeof *spec);
}

/* Reads an optional integer field in [lo, hi]; absent → *out unchanged. */
static ebm_status get_int(const cJSON *obj, const char *key, int64_t lo, int64_t hi, int64_t *out,
                          const char *where) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!it) return EBM_OK;
  double v = cJSON_IsNumber(it) ? it->valuedouble : NAN;
  if (!(v == floor(v)) || v < (double)lo || v > (double)hi)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: '%s' must be an integer in [%lld, %lld]",
                         where, key, (long long)lo, (long long)hi);
  *out = (int64_t)v;
  return EBM_OK;
}

static ebm_status get_bool(const cJSON *obj, const char *key, int *out, const char *where) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!it) return EBM_OK;
  if (!cJSON_IsBool(it))
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: '%s' must be true or false", where, key);
  *out = cJSON_IsTrue(it);
  return EBM_OK;
}

static ebm_status get_float(const cJSON *obj, const char *key, double lo, double hi, double *out,
                            const char *where) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!it) return EBM_OK;
  if (!cJSON_IsNumber(it) || !(it->valuedouble >= lo && it->valuedouble <= hi))
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: '%s' must be a number in [%g, %g]", where,
                         key, lo, hi);
  *out = it->valuedouble;
  return EBM_OK;
}

/* "shape": [C, H, W] or [D], entries in [lo, hi]. */
static ebm_status get_shape(const cJSON *obj, const layer_key *k, layer_spec *ls, const char *where) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, k->key);
  int nd = cJSON_IsArray(it) ? cJSON_GetArraySize(it) : 0;
  if (nd != 1 && nd != 3)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: '%s' must be [D] or [C, H, W]", where, k->key);
  for (int d = 0; d < nd; d++) {
    const cJSON *e = cJSON_GetArrayItem(it, d);
    double v = cJSON_IsNumber(e) ? e->valuedouble : -1;
    if (!(v >= k->lo && v <= k->hi && v == floor(v)))
      return ebm_set_error(EBM_ERR_ARG, "architecture: %s: '%s' entries must be integers in [%g, %g]",
                           where, k->key, k->lo, k->hi);
    ls->shape[d] = (int64_t)v;
  }
  ls->shape_ndim = nd;
  return EBM_OK;
}

/* Only known keys are accepted, so a typo ("kernal") is an error, not a
 * silently ignored default. */
static ebm_status check_keys(const cJSON *obj, const char *const *allowed, const char *where) {
  for (const cJSON *it = obj->child; it; it = it->next) {
    int ok = 0;
    for (int i = 0; allowed[i] && !ok; i++) ok = strcmp(it->string, allowed[i]) == 0;
    if (!ok) return ebm_set_error(EBM_ERR_ARG, "architecture: %s: unknown key '%s'", where, it->string);
  }
  return EBM_OK;
}

#define FIELD(ls, k, type) ((type *)((char *)(ls) + (k)->offset))

void layer_spec_defaults(layer_spec *ls, const layer_kind *kind, int default_sn) {
  memset(ls, 0, sizeof *ls);
  ls->kind = kind;
  for (const layer_key *k = kind->keys; k->key; k++) {
    switch (k->type) {
      case KEY_INT: *FIELD(ls, k, int64_t) = (int64_t)k->def; break;
      case KEY_BOOL: *FIELD(ls, k, int) = k->def < 0 ? default_sn : (int)k->def; break;
      case KEY_ENUM: *FIELD(ls, k, int) = (int)k->def; break;
      case KEY_FLOAT: *FIELD(ls, k, double) = k->def; break;
      case KEY_SHAPE: break;
    }
  }
}

/* Keys every layer type shares, then the type's own. A key some other type
 * takes gets "does not take"; one no type takes gets "unknown key". */
static ebm_status check_layer_keys(const cJSON *obj, const layer_kind *kind, const char *where) {
  for (const cJSON *it = obj->child; it; it = it->next) {
    if (strcmp(it->string, "type") == 0 || strcmp(it->string, "name") == 0) continue;
    int mine = 0;
    for (const layer_key *k = kind->keys; k->key && !mine; k++) mine = strcmp(k->key, it->string) == 0;
    if (mine) continue;
    if (layer_key_known(it->string))
      return ebm_set_error(EBM_ERR_ARG, "architecture: %s does not take '%s'", where, it->string);
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: unknown key '%s'", where, it->string);
  }
  return EBM_OK;
}

const char *const act_names[] = {"swish", "leaky_relu", NULL};

/* A KEY_ENUM value: one of k->names, its index into *out; else one line
 * listing them ('act' must be "swish" or "leaky_relu"). */
static ebm_status get_enum(const cJSON *it, const layer_key *k, int *out, const char *where) {
  int n = 0;
  while (k->names[n]) n++;
  for (int i = 0; i < n; i++)
    if (cJSON_IsString(it) && strcmp(it->valuestring, k->names[i]) == 0) {
      *out = i;
      return EBM_OK;
    }
  char list[256];
  size_t used = 0;
  list[0] = 0;
  for (int i = 0; i < n && used < sizeof list; i++)
    used += (size_t)snprintf(list + used, sizeof list - used, "%s\"%s\"", i == 0 ? "" : i == n - 1 ? " or " : ", ",
                             k->names[i]);
  return ebm_set_error(EBM_ERR_ARG, "architecture: %s: '%s' must be %s", where, k->key, list);
}

static ebm_status parse_key(const cJSON *obj, const layer_key *k, layer_spec *ls, const char *where) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, k->key);
  if (!it) {
    if (k->required) return ebm_set_error(EBM_ERR_ARG, "architecture: %s needs '%s'", where, k->key);
    return EBM_OK;
  }
  switch (k->type) {
    case KEY_INT: return get_int(obj, k->key, (int64_t)k->lo, (int64_t)k->hi, FIELD(ls, k, int64_t), where);
    case KEY_BOOL: return get_bool(obj, k->key, FIELD(ls, k, int), where);
    case KEY_FLOAT: return get_float(obj, k->key, k->lo, k->hi, FIELD(ls, k, double), where);
    case KEY_SHAPE: return get_shape(obj, k, ls, where);
    case KEY_ENUM: return get_enum(it, k, FIELD(ls, k, int), where);
      return EBM_OK;
  }
  return EBM_OK;
}

static ebm_status parse_layer(const cJSON *obj, int index, int default_sn, layer_spec *ls) {
  char where[96];
  snprintf(where, sizeof where, "layer %d", index);
  if (!cJSON_IsObject(obj)) return ebm_set_error(EBM_ERR_ARG, "architecture: %s is not an object", where);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(obj, "type");
  if (!cJSON_IsString(type))
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s has no string 'type'", where);
  const layer_kind *kind = layer_kind_find(type->valuestring);
  if (!kind) {
    char names[512];
    layer_kind_list(names, sizeof names);
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: unknown type '%s' (%s)", where,
                         type->valuestring, names);
  }
  snprintf(where, sizeof where, "layer %d (%s)", index, kind->name);
  ebm_status st = check_layer_keys(obj, kind, where);
  if (st) return st;
  layer_spec_defaults(ls, kind, default_sn);
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(obj, "name");
  if (kind->named) {
    if (!cJSON_IsString(name) || !name->valuestring[0] ||
        strlen(name->valuestring) >= NN_NAME_MAX - 24)
      return ebm_set_error(EBM_ERR_ARG, "architecture: %s needs a 'name' (1..%d characters)", where,
                           NN_NAME_MAX - 25);
    snprintf(ls->name, sizeof ls->name, "%s", name->valuestring);
  } else if (name) {
    if (!cJSON_IsString(name) || strlen(name->valuestring) >= NN_NAME_MAX)
      return ebm_set_error(EBM_ERR_ARG, "architecture: %s: bad 'name'", where);
    snprintf(ls->name, sizeof ls->name, "%s", name->valuestring);
  }
  for (const layer_key *k = kind->keys; k->key; k++)
    if ((st = parse_key(obj, k, ls, where))) return st;
  return EBM_OK;
}

static ebm_status parse_full(const cJSON *root, arch_spec *spec) {
  static const char *const allowed[] = {"input", "classes", "range", "spectral_norm", "layers",
                                        "name", NULL};
  ebm_status st = check_keys(root, allowed, "top level");
  if (st) return st;
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
  if (name && (!cJSON_IsString(name) || strlen(name->valuestring) >= sizeof spec->preset))
    return ebm_set_error(EBM_ERR_ARG, "architecture: 'name' must be a short string");
  if (name) snprintf(spec->preset, sizeof spec->preset, "%s", name->valuestring);
  const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
  int nin = cJSON_IsArray(input) ? cJSON_GetArraySize(input) : 0;
  if (nin != 1 && nin != 3)
    return ebm_set_error(EBM_ERR_ARG, "architecture: 'input' must be [D] or [C, H, W]");
  spec->input_ndim = nin;
  for (int d = 0; d < nin; d++) {
    const cJSON *it = cJSON_GetArrayItem(input, d);
    double v = cJSON_IsNumber(it) ? it->valuedouble : -1;
    if (!(v >= 1 && v <= (1 << 24) && v == floor(v)))
      return ebm_set_error(EBM_ERR_ARG, "architecture: 'input' entries must be positive integers");
    spec->input[d] = (int64_t)v;
  }
  int64_t classes = 0;
  if ((st = get_int(root, "classes", 0, 1 << 20, &classes, "top level"))) return st;
  spec->classes = (int)classes;
  const cJSON *range = cJSON_GetObjectItemCaseSensitive(root, "range");
  if (range) {
    const cJSON *lo = cJSON_GetArrayItem(range, 0), *hi = cJSON_GetArrayItem(range, 1);
    if (!cJSON_IsArray(range) || cJSON_GetArraySize(range) != 2 || !cJSON_IsNumber(lo) ||
        !cJSON_IsNumber(hi) || !(lo->valuedouble < hi->valuedouble))
      return ebm_set_error(EBM_ERR_ARG, "architecture: 'range' must be [lo, hi] with lo < hi");
    spec->has_range = 1;
    spec->range_lo = lo->valuedouble;
    spec->range_hi = hi->valuedouble;
  }
  int default_sn = 0;
  if ((st = get_bool(root, "spectral_norm", &default_sn, "top level"))) return st;
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
  int nl = cJSON_IsArray(layers) ? cJSON_GetArraySize(layers) : 0;
  if (nl < 1 || nl > MAX_LAYERS)
    return ebm_set_error(EBM_ERR_ARG, "architecture: 'layers' must be a list of 1..%d layers",
                         MAX_LAYERS);
  spec->layers = calloc((size_t)nl, sizeof *spec->layers);
  if (!spec->layers) return ebm_set_error(EBM_ERR_NOMEM, "out of memory parsing an architecture");
  spec->nlayers = nl;
  int i = 0;
  for (const cJSON *it = layers->child; it; it = it->next, i++)
    if ((st = parse_layer(it, i, default_sn, &spec->layers[i]))) return st;
  /* Parameter names must be unique, or checkpoints would be ambiguous. */
  for (int a = 0; a < nl; a++)
    for (int b = 0; b < a; b++)
      if (spec->layers[a].name[0] && strcmp(spec->layers[a].name, spec->layers[b].name) == 0)
        return ebm_set_error(EBM_ERR_ARG, "architecture: layers %d and %d share the name '%s'", b, a,
                             spec->layers[a].name);
  return EBM_OK;
}

static cJSON *spec_to_json(const arch_spec *spec) {
  cJSON *root = cJSON_CreateObject();
  if (!root) return NULL;
  if (spec->preset[0]) cJSON_AddStringToObject(root, "name", spec->preset);
  cJSON *input = cJSON_AddArrayToObject(root, "input");
  for (int d = 0; input && d < spec->input_ndim; d++)
    cJSON_AddItemToArray(input, cJSON_CreateNumber((double)spec->input[d]));
  cJSON_AddNumberToObject(root, "classes", spec->classes);
  if (spec->has_range) {
    cJSON *range = cJSON_AddArrayToObject(root, "range");
    if (range) {
      cJSON_AddItemToArray(range, cJSON_CreateNumber(spec->range_lo));
      cJSON_AddItemToArray(range, cJSON_CreateNumber(spec->range_hi));
    }
  }
  cJSON *layers = cJSON_AddArrayToObject(root, "layers");
  for (int i = 0; layers && i < spec->nlayers; i++) {
    const layer_spec *ls = &spec->layers[i];
    cJSON *o = cJSON_CreateObject();
    if (!o) break;
    cJSON_AddItemToArray(layers, o);
    cJSON_AddStringToObject(o, "type", ls->kind->name);
    if (ls->name[0]) cJSON_AddStringToObject(o, "name", ls->name);
    for (const layer_key *k = ls->kind->keys; k->key; k++) {
      if (k->written && !k->written(ls)) continue;
      switch (k->type) {
        case KEY_INT: cJSON_AddNumberToObject(o, k->key, (double)*FIELD(ls, k, int64_t)); break;
        case KEY_BOOL: cJSON_AddBoolToObject(o, k->key, *FIELD(ls, k, int)); break;
        case KEY_FLOAT: cJSON_AddNumberToObject(o, k->key, *FIELD(ls, k, double)); break;
        case KEY_ENUM: cJSON_AddStringToObject(o, k->key, k->names[*FIELD(ls, k, int)]); break;
        case KEY_SHAPE: {
          cJSON *shape = cJSON_AddArrayToObject(o, k->key);
          for (int d = 0; shape && d < ls->shape_ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)ls->shape[d]));
          break;
        }
      }
    }
  }
  return root;
}

/* An optional array of 1 to `max` numbers (the compact form's "shape" and
 * "range"): *n gets how many, 0 when the key is absent. */
static ebm_status get_numbers(const cJSON *obj, const char *key, int max, double *out, int *n) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  *n = 0;
  if (!it) return EBM_OK;
  const int size = cJSON_IsArray(it) ? cJSON_GetArraySize(it) : -1;
  if (size < 1 || size > max)
    return ebm_set_error(EBM_ERR_ARG, "architecture: top level: '%s' must be an array of 1 to %d numbers", key, max);
  for (int i = 0; i < size; i++) {
    const cJSON *v = cJSON_GetArrayItem(it, i);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
      return ebm_set_error(EBM_ERR_ARG, "architecture: top level: '%s' must hold numbers", key);
    out[i] = v->valuedouble;
  }
  *n = size;
  return EBM_OK;
}

/* The compact {"preset": ...} form → full JSON text. */
static ebm_status expand_compact(const cJSON *root, char **full) {
  static const char *const allowed[] = {"preset", "classes", "in_dim", "width", "depth", "k", "shape", "range",
                                        "template", "rotate", NULL};
  ebm_status st = check_keys(root, allowed, "top level");
  if (st) return st;
  const cJSON *preset = cJSON_GetObjectItemCaseSensitive(root, "preset");
  if (!cJSON_IsString(preset)) return ebm_set_error(EBM_ERR_ARG, "architecture: 'preset' must be a string");
  int64_t classes = 0, in_dim = 0, width = 0, depth = -1, k = 0;
  if ((st = get_int(root, "classes", 0, 1 << 20, &classes, "top level"))) return st;
  /* 0 (in_dim, width) and -1 (depth) mean "the preset's default". */
  if ((st = get_int(root, "in_dim", 0, 1 << 24, &in_dim, "top level"))) return st;
  if ((st = get_int(root, "width", 0, 1 << 16, &width, "top level"))) return st;
  if ((st = get_int(root, "depth", -1, 64, &depth, "top level"))) return st;
  if ((st = get_int(root, "k", 0, 64, &k, "top level"))) return st;
  preset_opts o = {.classes = (int)classes, .in_dim = (int)in_dim, .width = (int)width, .depth = (int)depth,
                   .k = (int)k, .grid_template = -1};
  if ((st = get_bool(root, "rotate", &o.rotate, "top level"))) return st;
  const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(root, "template");
  if (tmpl) {
    static const char *const names[] = {"square", "sphere", "torus", NULL};
    const layer_key key = {"template", KEY_ENUM, 0, 0, 0, 0, 0, NULL, names};
    if ((st = get_enum(tmpl, &key, &o.grid_template, "top level"))) return st;
  }
  double shape[3], range[2];
  int nrange = 0;
  if ((st = get_numbers(root, "shape", 3, shape, &o.shape_ndim))) return st;
  for (int d = 0; d < o.shape_ndim; d++) {
    if (!(shape[d] == floor(shape[d])) || shape[d] < 1 || shape[d] > (1 << 20))
      return ebm_set_error(EBM_ERR_ARG, "architecture: top level: 'shape' must hold integers in [1, %d]", 1 << 20);
    o.shape[d] = (int64_t)shape[d];
  }
  if ((st = get_numbers(root, "range", 2, range, &nrange))) return st;
  if (nrange == 1 || (nrange == 2 && !(range[0] < range[1])))
    return ebm_set_error(EBM_ERR_ARG, "architecture: top level: 'range' must be [lo, hi] with lo < hi");
  o.has_range = nrange == 2;
  o.range_lo = nrange ? range[0] : 0;
  o.range_hi = nrange ? range[1] : 0;
  return arch_preset_json(preset->valuestring, &o, full);
}

ebm_status arch_parse(const char *json, arch_spec *spec, char **canonical) {
  memset(spec, 0, sizeof *spec);
  if (canonical) *canonical = NULL;
  char *expanded = NULL;
  cJSON *root = NULL;
  ebm_status st = EBM_OK;
  if (!json) return ebm_set_error(EBM_ERR_ARG, "architecture: no JSON given");
  root = cJSON_Parse(json);
  if (!cJSON_IsObject(root)) {
    st = ebm_set_error(EBM_ERR_ARG, "architecture: not a JSON object (or a preset name: mlp, "
                                    "uva-cnn, igebm-mnist, igebm-cifar, jem-cnn)");
    goto fail;
  }
  if (cJSON_GetObjectItemCaseSensitive(root, "preset")) {
    if ((st = expand_compact(root, &expanded))) goto fail;
    cJSON_Delete(root);
    root = cJSON_Parse(expanded);
    if (!root) {
      st = ebm_set_error(EBM_ERR_INTERNAL, "architecture: expanded preset does not parse");
      goto fail;
    }
  }
  if ((st = parse_full(root, spec))) goto fail;
  if (canonical) {
    *canonical = arch_spec_to_json(spec);
    if (!*canonical) {
      st = ebm_set_error(EBM_ERR_NOMEM, "out of memory writing an architecture");
      goto fail;
    }
  }
  cJSON_Delete(root);
  free(expanded);
  return EBM_OK;
fail:
  cJSON_Delete(root);
  free(expanded);
  arch_spec_free(spec);
  return st;
}

char *arch_spec_to_json(const arch_spec *spec) {
  cJSON *root = spec_to_json(spec);
  char *text = root ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  return text;
}
