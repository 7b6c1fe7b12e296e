/* Checkpoints (DESIGN §2): safetensors with PyTorch parameter names and
 * layouts, __metadata__ "arch" (the architecture JSON) and "format"
 * ("ebm-1"). A file written by ebm loads into the equivalent nn.Module with
 * load_state_dict(strict=True); a file whose "arch" is a preset name (what
 * bench/torch_reference.py --out writes: "uva-cnn") loads here.
 * Loading treats the file as hostile: every tensor of the network must be
 * present with its exact shape and finite values, and nothing else may be. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

#define EBM_CHECKPOINT_FORMAT "ebm-1"

/* "<prefix>.<name>", or the name alone without a prefix. */
static const char *tensor_key(const char *prefix, const char *name, char *buf, size_t size) {
  if (!prefix || !prefix[0]) return name;
  snprintf(buf, size, "%s.%s", prefix, name);
  return buf;
}

/* Adds the network's parameters and buffers to a writer under prefix. */
static ebm_status add_net(ebm_st_writer *w, const ebm_net *net, const char *prefix) {
  ebm_status st = EBM_OK;
  char key[512];
  for (int i = 0; i < net->nparams && !st; i++) {
    const ebm_param *p = &net->params[i];
    st = ebm_st_writer_add_f32(w, tensor_key(prefix, p->name, key, sizeof key), p->value->ndim, p->value->shape,
                               p->value->data);
  }
  for (int i = 0; i < net->nbuffers && !st; i++) {
    const nn_buffer *b = &net->buffers[i];
    const char *name = tensor_key(prefix, b->name, key, sizeof key);
    if (b->as_i64) {
      int64_t count = (int64_t)b->data[0]; /* a counter: PyTorch's int64 scalar */
      st = ebm_st_writer_add(w, name, EBM_DTYPE_I64, b->ndim, b->shape, &count);
    } else {
      st = ebm_st_writer_add_f32(w, name, b->ndim, b->shape, b->data);
    }
  }
  return st;
}

/* The caller's metadata, refusing the keys the format owns. */
static ebm_status add_meta(ebm_st_writer *w, const char *path, int n_meta, const char *const *meta_keys,
                           const char *const *meta_values) {
  for (int i = 0; i < n_meta; i++) {
    if (strcmp(meta_keys[i], "arch") == 0 || strcmp(meta_keys[i], "format") == 0 ||
        strcmp(meta_keys[i], "parts") == 0 || strncmp(meta_keys[i], "arch.", 5) == 0)
      return ebm_set_error(EBM_ERR_ARG, "%s: metadata key '%s' is reserved", path, meta_keys[i]);
    ebm_status st = ebm_st_writer_meta(w, meta_keys[i], meta_values[i]);
    if (st) return st;
  }
  return EBM_OK;
}

ebm_status ebm_net_save(const ebm_net *net, const char *path, int n_meta,
                        const char *const *meta_keys, const char *const *meta_values) {
  ebm_st_writer *w = ebm_st_writer_new();
  if (!w) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory writing a checkpoint", path);
  ebm_status st = add_net(w, net, NULL);
  if (!st) st = ebm_st_writer_meta(w, "format", EBM_CHECKPOINT_FORMAT);
  if (!st) st = ebm_st_writer_meta(w, "arch", net->arch_json);
  if (!st) st = add_meta(w, path, n_meta, meta_keys, meta_values);
  if (!st) st = ebm_st_writer_save(w, path);
  ebm_st_writer_free(w);
  return st;
}

/* A part name: letters, digits and '_', not empty (it becomes a key prefix). */
static int valid_part_name(const char *name) {
  if (!name || !name[0]) return 0;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
      return 0;
  return 1;
}

ebm_status ebm_net_save_parts(const char *path, int n_parts, const ebm_net *const *nets,
                              const char *const *names, int n_meta, const char *const *meta_keys,
                              const char *const *meta_values) {
  char list[4096] = "", key[300]; /* room for a Glow flow's 3 × 64 parts */
  if (n_parts < 1) return ebm_set_error(EBM_ERR_ARG, "%s: a checkpoint needs at least one network", path);
  for (int i = 0; i < n_parts; i++) {
    size_t len = strlen(list);
    if (!valid_part_name(names[i]) || len + strlen(names[i]) + 2 > sizeof list)
      return ebm_set_error(EBM_ERR_ARG, "%s: bad part name '%s'", path, names[i] ? names[i] : "(null)");
    for (int j = 0; j < i; j++)
      if (strcmp(names[i], names[j]) == 0)
        return ebm_set_error(EBM_ERR_ARG, "%s: part '%s' given twice", path, names[i]);
    snprintf(list + len, sizeof list - len, "%s%s", i ? "," : "", names[i]);
  }
  ebm_st_writer *w = ebm_st_writer_new();
  if (!w) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory writing a checkpoint", path);
  ebm_status st = ebm_st_writer_meta(w, "format", EBM_CHECKPOINT_FORMAT);
  if (!st) st = ebm_st_writer_meta(w, "parts", list);
  for (int i = 0; i < n_parts && !st; i++) {
    snprintf(key, sizeof key, "arch.%s", names[i]);
    st = ebm_st_writer_meta(w, key, nets[i]->arch_json);
    if (!st) st = add_net(w, nets[i], names[i]);
  }
  if (!st) st = add_meta(w, path, n_meta, meta_keys, meta_values);
  if (!st) st = ebm_st_writer_save(w, path);
  ebm_st_writer_free(w);
  return st;
}

/* Reads one named array of the network from the file, checking presence,
 * shape (EBM_ERR_SHAPE names both shapes) and finiteness. */
static ebm_status read_tensor(const ebm_safetensors *st, const char *name, int ndim,
                              const int64_t *shape, float *out) {
  const char *origin = ebm_safetensors_origin(st);
  if (!ebm_safetensors_find(st, name))
    return ebm_set_error(EBM_ERR_FORMAT, "%s: tensor '%s' is missing", origin, name);
  ebm_status s = ebm_safetensors_read_f32(st, name, ndim, shape, out);
  if (s) return s;
  int64_t count = 1;
  for (int d = 0; d < ndim; d++) count *= shape[d];
  for (int64_t i = 0; i < count; i++)
    if (!isfinite(out[i]))
      return ebm_set_error(EBM_ERR_NUMERIC, "%s: tensor '%s' has a non-finite value (%g) at index %lld",
                           origin, name, (double)out[i], (long long)i);
  return EBM_OK;
}

/* An int64 scalar buffer (num_batches_tracked), kept as a float. */
static ebm_status read_i64_scalar(const ebm_safetensors *st, const char *name, float *out) {
  const char *origin = ebm_safetensors_origin(st);
  const ebm_st_tensor *t = ebm_safetensors_find(st, name);
  if (!t) return ebm_set_error(EBM_ERR_FORMAT, "%s: tensor '%s' is missing", origin, name);
  if (t->dtype != EBM_DTYPE_I64 || t->ndim != 0)
    return ebm_set_error(EBM_ERR_SHAPE, "%s: tensor '%s' must be an I64 scalar, got %s with %d dims",
                         origin, name, ebm_dtype_name(t->dtype), t->ndim);
  int64_t v;
  memcpy(&v, t->data, sizeof v);
  if (v < 0 || v > (1 << 24))
    return ebm_set_error(EBM_ERR_NUMERIC, "%s: tensor '%s' is %lld, not a count in [0, 2^24]", origin,
                         name, (long long)v);
  *out = (float)v;
  return EBM_OK;
}

static int net_has_tensor(const ebm_net *net, const char *prefix, const char *name) {
  size_t plen = prefix && prefix[0] ? strlen(prefix) : 0;
  if (plen) { /* "<prefix>.<name>" */
    if (strncmp(name, prefix, plen) != 0 || name[plen] != '.') return 0;
    name += plen + 1;
  }
  for (int i = 0; i < net->nparams; i++)
    if (strcmp(net->params[i].name, name) == 0) return 1;
  for (int i = 0; i < net->nbuffers; i++)
    if (strcmp(net->buffers[i].name, name) == 0) return 1;
  return 0;
}

/* EBM_ERR_SHAPE "tensor 'x' has shape [..], expected [..]" unless the file
 * holds `name` with exactly this shape (any dtype: reading checks it). */
static ebm_status check_shape(const ebm_safetensors *st, const char *name, int ndim,
                              const int64_t *shape) {
  const ebm_st_tensor *t = ebm_safetensors_find(st, name);
  if (!t) return ebm_set_error(EBM_ERR_FORMAT, "tensor '%s' is missing", name);
  int same = t->ndim == ndim;
  for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
  if (same) return EBM_OK;
  char got[64], want[64];
  return ebm_set_error(EBM_ERR_SHAPE, "tensor '%s' has shape %s, expected %s", name,
                       ebm_shape_str(t->ndim, t->shape, got, sizeof got),
                       ebm_shape_str(ndim, shape, want, sizeof want));
}

/* Every tensor of the (planned) network present with its shape, nothing
 * else: among the file's tensors under the prefix (all of them without
 * one; a multi-part file holds other parts' tensors too). */
static ebm_status check_tensors(const ebm_safetensors *st, const ebm_net *net, const char *prefix) {
  ebm_status s;
  char key[512];
  const size_t plen = prefix && prefix[0] ? strlen(prefix) : 0;
  for (int i = 0; i < ebm_safetensors_count(st); i++) {
    const char *name = ebm_safetensors_at(st, i)->name;
    if (plen && (strncmp(name, prefix, plen) != 0 || name[plen] != '.')) continue;
    if (!net_has_tensor(net, prefix, name))
      return ebm_set_error(EBM_ERR_FORMAT, "unexpected tensor '%s' (not part of the %s architecture)",
                           name, net->spec.preset[0] ? net->spec.preset : "checkpoint's");
  }
  for (int i = 0; i < net->nparams; i++) {
    const ebm_tensor *v = net->params[i].value;
    if ((s = check_shape(st, tensor_key(prefix, net->params[i].name, key, sizeof key), v->ndim, v->shape)))
      return s;
  }
  for (int i = 0; i < net->nbuffers; i++) {
    const nn_buffer *b = &net->buffers[i];
    if ((s = check_shape(st, tensor_key(prefix, b->name, key, sizeof key), b->ndim, b->shape))) return s;
  }
  return EBM_OK;
}

/* The network stored under prefix (NULL: the whole file) with the
 * architecture `arch` (a JSON or a preset name). */
static ebm_status load_net_arch(const ebm_safetensors *st, const char *prefix, const char *arch,
                                int64_t max_batch, ebm_net **out) {
  *out = NULL;
  const char *origin = ebm_safetensors_origin(st);
  char *preset_json = NULL, key[512];
  ebm_net *net = NULL;
  ebm_status s;
  const char *p = arch;
  while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
  if (*p != '{') {
    /* A preset name, as the PyTorch reference writes ("uva-cnn"). */
    if ((s = ebm_arch_preset(arch, 0, 0, &preset_json))) {
      ebm_error_prefix(s, origin);
      goto fail;
    }
    arch = preset_json;
  }
  /* Issue 13 item 6: the file's tensors against a plan of the network
   * (names and shapes, nothing allocated), so metadata that claims a
   * 20 000-wide layer fails on the shape before 3 GB are allocated; the
   * parameters are then bounded by the file's size. */
  if ((s = net_new(arch, max_batch, 1, &net)) || (s = check_tensors(st, net, prefix))) {
    ebm_error_prefix(s, origin);
    goto fail;
  }
  ebm_net_free(net);
  if ((s = ebm_net_new(arch, max_batch, &net))) {
    ebm_error_prefix(s, origin);
    goto fail;
  }
  for (int i = 0; i < net->nparams; i++) {
    ebm_param *prm = &net->params[i];
    if ((s = read_tensor(st, tensor_key(prefix, prm->name, key, sizeof key), prm->value->ndim, prm->value->shape,
                         prm->value->data)))
      goto fail;
  }
  for (int i = 0; i < net->nbuffers; i++) {
    nn_buffer *b = &net->buffers[i];
    const char *name = tensor_key(prefix, b->name, key, sizeof key);
    s = b->as_i64 ? read_i64_scalar(st, name, b->data) : read_tensor(st, name, b->ndim, b->shape, b->data);
    if (s) goto fail;
  }
  ebm_net_spectral_update(net, 0);
  free(preset_json);
  *out = net;
  return EBM_OK;
fail:
  ebm_net_free(net);
  free(preset_json);
  return s;
}

/* The same with the architecture in metadata arch_key. */
static ebm_status load_net(const ebm_safetensors *st, const char *prefix, const char *arch_key, int64_t max_batch,
                           ebm_net **out) {
  *out = NULL;
  const char *arch = ebm_safetensors_meta(st, arch_key);
  if (!arch)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: no architecture (metadata '%s') in the checkpoint",
                         ebm_safetensors_origin(st), arch_key);
  return load_net_arch(st, prefix, arch, max_batch, out);
}

ebm_status ebm_net_from_safetensors_arch(const ebm_safetensors *st, const char *arch,
                                         int64_t max_batch, ebm_net **out) {
  return load_net_arch(st, NULL, arch, max_batch, out);
}

/* 1 if `part` is in the comma-separated list. */
static int list_has(const char *list, const char *part) {
  const size_t len = strlen(part);
  for (const char *p = list; p && *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (n == len && strncmp(p, part, len) == 0) return 1;
    p = comma ? comma + 1 : NULL;
  }
  return 0;
}

ebm_status ebm_net_part_from_safetensors(const ebm_safetensors *st, const char *part, int64_t max_batch,
                                         ebm_net **out) {
  char key[300];
  *out = NULL;
  const char *parts = ebm_safetensors_meta(st, "parts");
  if (!parts)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: holds one network, not parts (no '%s' in it)",
                         ebm_safetensors_origin(st), part);
  if (!valid_part_name(part) || !list_has(parts, part))
    return ebm_set_error(EBM_ERR_ARG, "%s: no network '%s' in it (its parts: %s)", ebm_safetensors_origin(st),
                         part, parts);
  snprintf(key, sizeof key, "arch.%s", part);
  return load_net(st, part, key, max_batch, out);
}

ebm_status ebm_net_from_safetensors(const ebm_safetensors *st, int64_t max_batch, ebm_net **out) {
  const char *parts = ebm_safetensors_meta(st, "parts");
  if (parts && !ebm_safetensors_meta(st, "arch")) { /* a model of several networks: its energy */
    /* a flow model's parts are its couplings, none of them the model (flow_io.c's "flow" key) */
    if (!list_has(parts, "energy") && ebm_safetensors_meta(st, "flow"))
      return ebm_set_error(EBM_ERR_ARG, "%s: is a flow (ebm train --method flow), not a network: a flow is used "
                           "by its exact density (ebm sample, energy, eval nll, eval ood; in C "
                           "ebm_model_energy_load)", ebm_safetensors_origin(st));
    char first[64];
    size_t n = strcspn(parts, ",");
    snprintf(first, sizeof first, "%.*s", (int)(n < sizeof first ? n : sizeof first - 1), parts);
    return ebm_net_part_from_safetensors(st, list_has(parts, "energy") ? "energy" : first, max_batch, out);
  }
  return load_net(st, NULL, "arch", max_batch, out);
}

ebm_status ebm_net_load_part(const char *path, const char *part, int64_t max_batch, ebm_net **out) {
  *out = NULL;
  ebm_safetensors *st = NULL;
  ebm_status s = ebm_safetensors_load(path, &st);
  if (s) return s;
  s = ebm_net_part_from_safetensors(st, part, max_batch, out);
  ebm_safetensors_free(st);
  return s;
}

ebm_status ebm_net_load(const char *path, int64_t max_batch, ebm_net **out) {
  *out = NULL;
  ebm_safetensors *st = NULL;
  ebm_status s = ebm_safetensors_load(path, &st);
  if (s) return s;
  s = ebm_net_from_safetensors(st, max_batch, out);
  ebm_safetensors_free(st);
  return s;
}
