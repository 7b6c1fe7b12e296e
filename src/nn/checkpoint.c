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

ebm_status ebm_net_save(const ebm_net *net, const char *path, int n_meta,
                        const char *const *meta_keys, const char *const *meta_values) {
  ebm_status st = EBM_OK;
  ebm_st_writer *w = ebm_st_writer_new();
  if (!w) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory writing a checkpoint", path);
  for (int i = 0; i < net->nparams && !st; i++) {
    const ebm_param *p = &net->params[i];
    st = ebm_st_writer_add_f32(w, p->name, p->value->ndim, p->value->shape, p->value->data);
  }
  for (int i = 0; i < net->nbuffers && !st; i++) {
    const nn_buffer *b = &net->buffers[i];
    if (b->as_i64) {
      int64_t count = (int64_t)b->data[0]; /* a counter: PyTorch's int64 scalar */
      st = ebm_st_writer_add(w, b->name, EBM_DTYPE_I64, b->ndim, b->shape, &count);
    } else {
      st = ebm_st_writer_add_f32(w, b->name, b->ndim, b->shape, b->data);
    }
  }
  if (!st) st = ebm_st_writer_meta(w, "format", EBM_CHECKPOINT_FORMAT);
  if (!st) st = ebm_st_writer_meta(w, "arch", net->arch_json);
  for (int i = 0; i < n_meta && !st; i++) {
    if (strcmp(meta_keys[i], "arch") == 0 || strcmp(meta_keys[i], "format") == 0) {
      st = ebm_set_error(EBM_ERR_ARG, "%s: metadata key '%s' is reserved", path, meta_keys[i]);
      break;
    }
    st = ebm_st_writer_meta(w, meta_keys[i], meta_values[i]);
  }
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

static int net_has_tensor(const ebm_net *net, const char *name) {
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

/* Every tensor of the (planned) network present with its shape, nothing else. */
static ebm_status check_tensors(const ebm_safetensors *st, const ebm_net *net) {
  ebm_status s;
  for (int i = 0; i < ebm_safetensors_count(st); i++) {
    const char *name = ebm_safetensors_at(st, i)->name;
    if (!net_has_tensor(net, name))
      return ebm_set_error(EBM_ERR_FORMAT, "unexpected tensor '%s' (not part of the %s architecture)",
                           name, net->spec.preset[0] ? net->spec.preset : "checkpoint's");
  }
  for (int i = 0; i < net->nparams; i++) {
    const ebm_tensor *v = net->params[i].value;
    if ((s = check_shape(st, net->params[i].name, v->ndim, v->shape))) return s;
  }
  for (int i = 0; i < net->nbuffers; i++) {
    const nn_buffer *b = &net->buffers[i];
    if ((s = check_shape(st, b->name, b->ndim, b->shape))) return s;
  }
  return EBM_OK;
}

ebm_status ebm_net_from_safetensors(const ebm_safetensors *st, int64_t max_batch, ebm_net **out) {
  *out = NULL;
  const char *arch = ebm_safetensors_meta(st, "arch");
  if (!arch)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: no architecture (metadata 'arch') in the checkpoint",
                         ebm_safetensors_origin(st));
  return ebm_net_from_safetensors_arch(st, arch, max_batch, out);
}

ebm_status ebm_net_from_safetensors_arch(const ebm_safetensors *st, const char *arch,
                                         int64_t max_batch, ebm_net **out) {
  *out = NULL;
  const char *origin = ebm_safetensors_origin(st);
  char *preset_json = NULL;
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
  if ((s = net_new(arch, max_batch, 1, &net)) || (s = check_tensors(st, net))) {
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
    if ((s = read_tensor(st, prm->name, prm->value->ndim, prm->value->shape, prm->value->data)))
      goto fail;
  }
  for (int i = 0; i < net->nbuffers; i++) {
    nn_buffer *b = &net->buffers[i];
    s = b->as_i64 ? read_i64_scalar(st, b->name, b->data)
                  : read_tensor(st, b->name, b->ndim, b->shape, b->data);
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

ebm_status ebm_net_load(const char *path, int64_t max_batch, ebm_net **out) {
  *out = NULL;
  ebm_safetensors *st = NULL;
  ebm_status s = ebm_safetensors_load(path, &st);
  if (s) return s;
  s = ebm_net_from_safetensors(st, max_batch, out);
  ebm_safetensors_free(st);
  return s;
}
