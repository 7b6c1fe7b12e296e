/* The feature classifier of the sample-quality metrics (eval.h): a thin
 * wrapper over an ebm_net. It builds the default CNN as an architecture
 * JSON, reads logits as the network's output and features as the
 * penultimate layer's (ebm_net_layer_output), and keeps checkpoints as
 * ordinary network checkpoints marked "kind": "classifier". Files of the
 * first classifier format (its own small "arch" JSON, the same PyTorch
 * tensor names) are converted on load: their JSON is parsed with cJSON into
 * the architecture they describe and the tensors are read under it. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/classifier_internal.h"

ebm_classifier_arch ebm_classifier_arch_for(int channels, int height, int width, int classes, float lo, float hi) {
  ebm_classifier_arch a;
  memset(&a, 0, sizeof a);
  a.channels = channels;
  a.height = height;
  a.width = width;
  a.classes = classes;
  a.conv_width = 32;
  a.features = 128;
  a.range_lo = lo;
  a.range_hi = hi;
  return a;
}

ebm_status ebm_classifier_arch_json(const ebm_classifier_arch *arch, char **json) {
  *json = NULL;
  if (!arch) return ebm_set_error(EBM_ERR_ARG, "classifier: no architecture");
  const ebm_classifier_arch a = *arch;
  if (a.channels < 1 || a.height < 4 || a.width < 4 || a.height % 4 || a.width % 4)
    return ebm_set_error(EBM_ERR_ARG, "classifier: input %dx%dx%d; need C >= 1 and H, W multiples of 4",
                         a.channels, a.height, a.width);
  if (a.classes < 2 || a.conv_width < 1 || a.features < 1)
    return ebm_set_error(EBM_ERR_ARG, "classifier: %d classes, conv width %d, %d features; need >= 2, >= 1, >= 1",
                         a.classes, a.conv_width, a.features);
  if (!(a.range_lo < a.range_hi))
    return ebm_set_error(EBM_ERR_ARG, "classifier: empty range [%g, %g]", (double)a.range_lo, (double)a.range_hi);
  const char *fmt =
      "{\"name\": \"classifier\", \"input\": [%d, %d, %d], \"range\": [%.9g, %.9g], \"layers\": [\n"
      " {\"type\": \"conv2d\", \"name\": \"conv1\", \"out\": %d, \"kernel\": 3, \"pad\": 1}, {\"type\": \"swish\"},\n"
      " {\"type\": \"avgpool2d\", \"kernel\": 2},\n"
      " {\"type\": \"conv2d\", \"name\": \"conv2\", \"out\": %d, \"kernel\": 3, \"pad\": 1}, {\"type\": \"swish\"},\n"
      " {\"type\": \"avgpool2d\", \"kernel\": 2}, {\"type\": \"flatten\"},\n"
      " {\"type\": \"linear\", \"name\": \"fc1\", \"out\": %d}, {\"type\": \"swish\"},\n"
      " {\"type\": \"linear\", \"name\": \"fc2\", \"out\": %d}]}";
  int len = snprintf(NULL, 0, fmt, a.channels, a.height, a.width, (double)a.range_lo, (double)a.range_hi,
                     a.conv_width, 2 * a.conv_width, a.features, a.classes);
  char *s = malloc((size_t)len + 1);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a classifier architecture");
  snprintf(s, (size_t)len + 1, fmt, a.channels, a.height, a.width, (double)a.range_lo, (double)a.range_hi,
           a.conv_width, 2 * a.conv_width, a.features, a.classes);
  *json = s;
  return EBM_OK;
}

void ebm_classifier_free(ebm_classifier *c) {
  if (!c) return;
  ebm_net_free(c->net);
  free(c);
}

/* Wraps a built network (taking it, freed on error): it must take C×H×W
 * items in a range and end in K ≥ 2 logits after a vector of features. */
static ebm_status classifier_wrap(ebm_net *net, const char *origin, ebm_classifier **out) {
  *out = NULL;
  ebm_classifier_arch a;
  memset(&a, 0, sizeof a);
  const int nl = ebm_net_layer_count(net);
  ebm_layer_info first, features;
  ebm_status st = EBM_OK;
  if (ebm_net_item_ndim(net) != 3 || ebm_net_out_ndim(net) != 1 || ebm_net_out_size(net) < 2 || nl < 2 ||
      ebm_net_needs_labels(net) || ebm_net_needs_sigma(net) || !ebm_net_range(net, &a.range_lo, &a.range_hi) ||
      ebm_net_layer_info(net, 0, &first) || ebm_net_layer_info(net, nl - 2, &features) || features.out_ndim != 1) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: not a classifier network: it needs C×H×W inputs with a \"range\", "
                       "no conditioning, and a vector of features before K >= 2 logits", origin);
    goto fail;
  }
  ebm_classifier *c = calloc(1, sizeof *c);
  if (!c) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a classifier");
    goto fail;
  }
  const int64_t *in = ebm_net_item_shape(net);
  a.channels = (int)in[0];
  a.height = (int)in[1];
  a.width = (int)in[2];
  a.classes = (int)ebm_net_out_size(net);
  a.conv_width = first.out_ndim == 3 ? (int)first.out_shape[0] : 0;
  a.features = (int)features.out_shape[0];
  c->arch = a;
  c->net = net;
  c->feature_layer = nl - 2;
  *out = c;
  return EBM_OK;
fail:
  ebm_net_free(net);
  return st;
}

ebm_status ebm_classifier_new(const ebm_classifier_arch *arch, int64_t max_batch, ebm_classifier **out) {
  *out = NULL;
  char *json = NULL;
  ebm_net *net = NULL;
  ebm_status st = ebm_classifier_arch_json(arch, &json);
  if (st) return st;
  if (max_batch < 1) st = ebm_set_error(EBM_ERR_ARG, "classifier: max_batch must be >= 1, got %lld", (long long)max_batch);
  if (!st) st = ebm_net_new(json, max_batch, &net);
  free(json);
  return st ? st : classifier_wrap(net, "classifier", out);
}

ebm_status ebm_classifier_init(ebm_classifier *c, ebm_rng *rng) {
  if (!c || !rng) return ebm_set_error(EBM_ERR_ARG, "classifier init: no classifier or generator");
  return ebm_net_init(c->net, rng);
}

const ebm_classifier_arch *ebm_classifier_get_arch(const ebm_classifier *c) { return &c->arch; }
int64_t ebm_classifier_max_batch(const ebm_classifier *c) { return ebm_net_max_batch(c->net); }
ebm_net *ebm_classifier_net(ebm_classifier *c) { return c->net; }

/* ---------------------------------------------------------------- passes */

ebm_status classifier_pass(ebm_classifier *c, const float *x, int64_t n, const float **logits) {
  ebm_status st = ebm_net_forward(c->net, x, NULL, n, NULL);
  if (st || n == 0) return st;
  ebm_tensor out;
  if ((st = ebm_net_layer_output(c->net, ebm_net_layer_count(c->net) - 1, &out))) return st;
  *logits = out.data;
  return EBM_OK;
}

ebm_status ebm_classifier_forward(ebm_classifier *c, const float *x, int64_t n, float *logits, float *features) {
  const float *z = NULL;
  ebm_status st = classifier_pass(c, x, n, &z);
  if (st || n == 0) return st;
  if (logits) memcpy(logits, z, (size_t)(n * c->arch.classes) * sizeof(float));
  if (features) {
    ebm_tensor f;
    if ((st = ebm_net_layer_output(c->net, c->feature_layer, &f))) return st;
    memcpy(features, f.data, (size_t)(n * c->arch.features) * sizeof(float));
  }
  return EBM_OK;
}

ebm_status ebm_classifier_run(ebm_classifier *c, const float *x, int64_t n, float *logits, float *features) {
  const int64_t item = (int64_t)c->arch.channels * c->arch.height * c->arch.width, batch = ebm_classifier_max_batch(c);
  for (int64_t start = 0; start < n; start += batch) {
    int64_t cnt = n - start < batch ? n - start : batch;
    ebm_status st = ebm_classifier_forward(c, x + start * item, cnt, logits ? logits + start * c->arch.classes : NULL,
                                           features ? features + start * c->arch.features : NULL);
    if (st != EBM_OK) return st;
  }
  return EBM_OK;
}

/* ----------------------------------------------------------- checkpoints */

ebm_status ebm_classifier_save(const ebm_classifier *c, const char *path, int n_meta, const char *const *keys,
                               const char *const *values) {
  const char **k = malloc((size_t)(n_meta + 1) * sizeof *k), **v = malloc((size_t)(n_meta + 1) * sizeof *v);
  ebm_status st = EBM_OK;
  if (!k || !v) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory saving %s", path);
    goto done;
  }
  k[0] = "kind";
  v[0] = EBM_CLASSIFIER_KIND;
  for (int i = 0; i < n_meta; i++) {
    if (strcmp(keys[i], "kind") == 0) {
      st = ebm_set_error(EBM_ERR_ARG, "%s: metadata key 'kind' is reserved", path);
      goto done;
    }
    k[i + 1] = keys[i];
    v[i + 1] = values[i];
  }
  st = ebm_net_save(c->net, path, n_meta + 1, k, v);
done:
  free(k);
  free(v);
  return st;
}

/* An int of the first format's arch JSON, in [lo, hi]. */
static int v1_int(const cJSON *obj, const char *key, int lo, int hi, int *out) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsNumber(it) || it->valuedouble != (double)(int)it->valuedouble || it->valuedouble < lo ||
      it->valuedouble > hi)
    return 0;
  *out = (int)it->valuedouble;
  return 1;
}

/* The architecture JSON an EBM_CLASSIFIER_FORMAT_V1 file's "arch"
 * ({"input": [C, H, W], "classes": K, "conv_width": w, "features": F,
 * "range": [lo, hi]}) describes. */
static ebm_status v1_arch_json(const char *origin, const char *v1, char **json) {
  *json = NULL;
  ebm_classifier_arch a;
  memset(&a, 0, sizeof a);
  cJSON *root = v1 ? cJSON_Parse(v1) : NULL;
  const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
  const cJSON *range = cJSON_GetObjectItemCaseSensitive(root, "range");
  const int big = 1 << 20;
  int ok = cJSON_IsArray(in) && cJSON_GetArraySize(in) == 3 && cJSON_IsArray(range) &&
           cJSON_GetArraySize(range) == 2 && v1_int(root, "classes", 2, big, &a.classes) &&
           v1_int(root, "conv_width", 1, big, &a.conv_width) && v1_int(root, "features", 1, big, &a.features);
  int *dims[3] = {&a.channels, &a.height, &a.width};
  for (int d = 0; ok && d < 3; d++) {
    const cJSON *it = cJSON_GetArrayItem(in, d);
    ok = cJSON_IsNumber(it) && it->valuedouble >= 1 && it->valuedouble <= big;
    if (ok) *dims[d] = (int)it->valuedouble;
  }
  const cJSON *lo = cJSON_GetArrayItem(range, 0), *hi = cJSON_GetArrayItem(range, 1);
  ok = ok && cJSON_IsNumber(lo) && cJSON_IsNumber(hi);
  if (ok) {
    a.range_lo = (float)lo->valuedouble;
    a.range_hi = (float)hi->valuedouble;
  }
  cJSON_Delete(root);
  if (!ok)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: classifier metadata 'arch' (format %s) is malformed: %.200s", origin,
                         EBM_CLASSIFIER_FORMAT_V1, v1 ? v1 : "(none)");
  ebm_status st = ebm_classifier_arch_json(&a, json);
  return st ? ebm_error_prefix(st, origin) : EBM_OK;
}

ebm_status ebm_classifier_from_safetensors(const ebm_safetensors *file, int64_t max_batch, ebm_classifier **out) {
  *out = NULL;
  const char *origin = ebm_safetensors_origin(file);
  const char *fmt = ebm_safetensors_meta(file, "format"), *kind = ebm_safetensors_meta(file, "kind");
  ebm_net *net = NULL;
  ebm_status st;
  if (fmt && strcmp(fmt, EBM_CLASSIFIER_FORMAT_V1) == 0) {
    char *converted = NULL;
    if ((st = v1_arch_json(origin, ebm_safetensors_meta(file, "arch"), &converted))) return st;
    st = ebm_net_from_safetensors_arch(file, converted, max_batch, &net);
    free(converted);
  } else if (!kind || strcmp(kind, EBM_CLASSIFIER_KIND) != 0) {
    return ebm_set_error(EBM_ERR_FORMAT, "%s: not an ebm classifier (metadata kind '%s', expected '%s'; make one "
                         "with `ebm classifier train`)", origin, kind ? kind : "(none)", EBM_CLASSIFIER_KIND);
  } else {
    st = ebm_net_from_safetensors(file, max_batch, &net);
  }
  return st ? st : classifier_wrap(net, origin, out);
}

ebm_status ebm_classifier_load(const char *path, int64_t max_batch, ebm_classifier **out) {
  *out = NULL;
  ebm_safetensors *file = NULL;
  ebm_status st = ebm_safetensors_load(path, &file);
  if (st) return st;
  st = ebm_classifier_from_safetensors(file, max_batch, out);
  ebm_safetensors_free(file);
  return st;
}
