/* The training state file (last.state.safetensors): everything a resumed
 * run needs to continue bit-exactly, in ONE atomically written file, so it
 * can never disagree with itself: the network ("model.<name>"), Adam's
 * moments ("adam.*"), the replay buffer ("replay.*"), and in the metadata
 * the step, the trainer's RNG (seed, counter) and the batcher's position.
 * The checkpoint next to it (last.safetensors) is the user-facing copy of
 * the network; a resume takes the weights from here. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

#define STATE_FORMAT EBM_TRAIN_STATE_FORMAT

ebm_status train_put_meta_u64(ebm_st_writer *w, const char *key, uint64_t v) {
  char text[32];
  snprintf(text, sizeof text, "%" PRIu64, v);
  return ebm_st_writer_meta(w, key, text);
}

ebm_status train_meta_u64(const ebm_safetensors *st, const char *key, uint64_t *out) {
  const char *text = ebm_safetensors_meta(st, key);
  char *end = NULL;
  if (!text)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: metadata '%s' is missing", ebm_safetensors_origin(st), key);
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  /* strtoull takes "-3" as 2^64 - 3: a sign is refused before it */
  if (!*text || *text == '-' || *text == '+' || *text == ' ' || *end || errno == ERANGE) return ebm_set_error(EBM_ERR_FORMAT, "%s: metadata '%s' is not a count: '%s'",
                                 ebm_safetensors_origin(st), key, text);
  *out = (uint64_t)v;
  return EBM_OK;
}

/* Calls fn for each network array (parameters, then buffers) with its
 * "<prefix>.<name>" key and a view of its live data. */
typedef ebm_status (*model_array_fn)(void *ctx, const char *key, ebm_tensor *view);

static ebm_status for_each_net_array(ebm_net *net, const char *prefix, model_array_fn fn, void *ctx) {
  char key[300];
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    ebm_param *p = ebm_net_param(net, i);
    snprintf(key, sizeof key, "%s.%s", prefix, p->name);
    ebm_status st = fn(ctx, key, p->value);
    if (st != EBM_OK) return st;
  }
  for (int i = 0; i < ebm_net_buffer_count(net); i++) {
    const char *name;
    ebm_tensor view;
    ebm_status st = ebm_net_buffer(net, i, &name, &view);
    if (st != EBM_OK) return st;
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    if ((st = fn(ctx, key, &view)) != EBM_OK) return st;
  }
  return EBM_OK;
}

static ebm_status add_array(void *ctx, const char *key, ebm_tensor *view) {
  return ebm_st_writer_add_f32(ctx, key, view->ndim, view->shape, view->data);
}

ebm_status ebm_trainer_save_state(const ebm_trainer *t, const char *path) {
  /* each rank's slices first, then rank 0 writes the state that names them */
  ebm_status st = train_slices_save(t, path);
  if ((st = ebm_dist_agree(t->sl.dist, st)) != EBM_OK || ebm_dist_rank(t->sl.dist) != 0) return st;
  ebm_st_writer *w = ebm_st_writer_new();
  if (!w) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory writing the training state", path);
  uint64_t pos[3];
  ebm_batcher_state(t->batcher, pos);
  if (t->net && (st = train_save_net(w, t->net, "model")) != EBM_OK) goto done; /* NULL: TRAIN_OWN_MODEL */
  if (t->adam && (st = ebm_adam_save(t->adam, w)) != EBM_OK) goto done;
  if (t->replay && (st = ebm_replay_save(t->replay, w)) != EBM_OK) goto done;
  if (t->method->save && (st = t->method->save(t, t->method_state, w)) != EBM_OK) goto done;
  if ((st = ebm_st_writer_meta(w, "format", STATE_FORMAT)) != EBM_OK ||
      (st = ebm_st_writer_meta(w, "method", ebm_train_method_name(t->cfg.method))) != EBM_OK ||
      (st = train_put_meta_u64(w, "batch", (uint64_t)t->cfg.batch)) != EBM_OK ||
      (st = train_put_meta_u64(w, "step", (uint64_t)t->step)) != EBM_OK ||
      (st = train_put_meta_u64(w, "rng_seed", t->rng.seed)) != EBM_OK ||
      (st = train_put_meta_u64(w, "rng_counter", t->rng.counter)) != EBM_OK ||
      (st = train_put_meta_u64(w, "batcher_epoch", pos[0])) != EBM_OK ||
      (st = train_put_meta_u64(w, "batcher_index", pos[1])) != EBM_OK ||
      (st = train_put_meta_u64(w, "batcher_seed", pos[2])) != EBM_OK)
    goto done;
  if (t->sl.count > 1 && (st = train_put_meta_u64(w, "slices", (uint64_t)t->sl.count)) != EBM_OK) goto done;
  if ((st = ebm_st_writer_save(w, path)) == EBM_OK) train_slices_prune(t, path);
done:
  ebm_st_writer_free(w);
  return st;
}

/* Pass 1 of a restore: every network array is present with its shape. */
static ebm_status check_array(void *ctx, const char *key, ebm_tensor *view) {
  const ebm_safetensors *st = ctx;
  const ebm_st_tensor *a = ebm_safetensors_find(st, key);
  int ok = a && a->dtype == EBM_DTYPE_F32 && a->ndim == view->ndim;
  for (int d = 0; ok && d < view->ndim; d++) ok = a->shape[d] == view->shape[d];
  if (!ok)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: network tensor '%s' is %s", ebm_safetensors_origin(st), key,
                         a ? "of the wrong dtype or shape" : "missing");
  return EBM_OK;
}

static ebm_status read_array(void *ctx, const char *key, ebm_tensor *view) {
  return ebm_safetensors_read_f32(ctx, key, view->ndim, view->shape, view->data);
}

ebm_status ebm_trainer_restore(ebm_trainer *t, const char *path) {
  ebm_safetensors *st = NULL;
  ebm_status s = ebm_safetensors_load(path, &st);
  if (s != EBM_OK) return s;
  const char *format = ebm_safetensors_meta(st, "format");
  const char *method = ebm_safetensors_meta(st, "method");
  uint64_t batch = 0, step = 0, seed = 0, counter = 0, pos[3];
  if (!format || strcmp(format, STATE_FORMAT) != 0) {
    s = ebm_set_error(EBM_ERR_FORMAT, "%s: not a training state (format '%s', expected '%s')", path,
                      format ? format : "none", STATE_FORMAT);
    goto done;
  }
  if (!method || strcmp(method, ebm_train_method_name(t->cfg.method)) != 0) {
    s = ebm_set_error(EBM_ERR_ARG, "%s: the run used method '%s', not '%s'", path, method ? method : "none",
                      ebm_train_method_name(t->cfg.method));
    goto done;
  }
  if ((s = train_meta_u64(st, "batch", &batch)) != EBM_OK ||
      (s = train_meta_u64(st, "step", &step)) != EBM_OK ||
      (s = train_meta_u64(st, "rng_seed", &seed)) != EBM_OK ||
      (s = train_meta_u64(st, "rng_counter", &counter)) != EBM_OK ||
      (s = train_meta_u64(st, "batcher_epoch", &pos[0])) != EBM_OK ||
      (s = train_meta_u64(st, "batcher_index", &pos[1])) != EBM_OK ||
      (s = train_meta_u64(st, "batcher_seed", &pos[2])) != EBM_OK)
    goto done;
  if (batch != (uint64_t)t->cfg.batch) {
    s = ebm_set_error(EBM_ERR_ARG, "%s: the run used batch %" PRIu64 ", not %lld", path, batch,
                      (long long)t->cfg.batch);
    goto done;
  }
  uint64_t slices = 1; /* files of one-slice runs do not say */
  if (ebm_safetensors_meta(st, "slices") && (s = train_meta_u64(st, "slices", &slices)) != EBM_OK) goto done;
  if (slices != (uint64_t)t->sl.count) {
    s = ebm_set_error(EBM_ERR_ARG, "%s: the run used %" PRIu64 " batch slices, not %lld", path, slices,
                      (long long)t->sl.count);
    goto done;
  }
  if (step > (uint64_t)INT64_MAX) {
    s = ebm_set_error(EBM_ERR_FORMAT, "%s: step %" PRIu64 " is out of range", path, step);
    goto done;
  }
  /* Check before anything changes; then load (Adam checks all of its own
   * tensors before writing any). */
  if (t->net && (s = train_check_net(st, t->net, "model")) != EBM_OK) goto done;
  if (t->adam && (s = ebm_adam_restore(t->adam, st)) != EBM_OK) goto done;
  if (t->method->restore && (s = t->method->restore(t, t->method_state, st)) != EBM_OK) goto done;
  if (t->replay && (s = ebm_replay_restore(t->replay, st)) != EBM_OK) goto done;
  if ((s = ebm_batcher_restore(t->batcher, pos)) != EBM_OK) goto done;
  if (t->net && (s = train_read_net(st, t->net, "model")) != EBM_OK) goto done;
  if (t->net) ebm_net_spectral_update(t->net, 0);
  t->rng.seed = seed;
  t->rng.counter = counter;
  t->step = (int64_t)step;
  t->has_negatives = 0;
  s = train_slices_restore(t, path);
done:
  if (s != EBM_OK && !strstr(ebm_last_error(), path)) ebm_error_prefix(s, path);
  ebm_safetensors_free(st);
  return s;
}

ebm_status train_save_net(ebm_st_writer *w, ebm_net *net, const char *prefix) {
  return for_each_net_array(net, prefix, add_array, w);
}

ebm_status train_check_net(const ebm_safetensors *st, ebm_net *net, const char *prefix) {
  return for_each_net_array(net, prefix, check_array, (void *)st);
}

ebm_status train_read_net(const ebm_safetensors *st, ebm_net *net, const char *prefix) {
  return for_each_net_array(net, prefix, read_array, (void *)st);
}
