/* Replay buffer save/restore through safetensors, for exact resume
 * (DESIGN §2: the buffer lives next to the optimizer state). Tensor
 * "replay.<class>" holds that store's items in slot order (absent when the
 * store is empty); metadata "replay.*" records the layout, which restore
 * checks against the buffer it fills. A reservoir or fifo buffer also
 * records its policy and, per store, the items offered and the oldest slot
 * ("replay.counters" = "seen:next,…"); a random buffer writes neither, so
 * its files are those of older versions. Save → restore → save is
 * byte-exact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample/replay_internal.h"

#define REPLAY_FORMAT "ebm-replay-1"

/* The layout strings written to and checked in the metadata. */
typedef struct {
  char capacity[32], classes[16], item_shape[64], range[64];
} replay_layout;

static void layout_of(const ebm_replay *rb, replay_layout *l) {
  snprintf(l->capacity, sizeof l->capacity, "%lld", (long long)rb->capacity);
  snprintf(l->classes, sizeof l->classes, "%d", rb->num_classes);
  ebm_shape_str(rb->item_ndim, rb->item_shape, l->item_shape, sizeof l->item_shape);
  snprintf(l->range, sizeof l->range, "[%.9g,%.9g]", (double)rb->lo, (double)rb->hi);
}

ebm_status ebm_replay_save(const ebm_replay *rb, ebm_st_writer *w) {
  ebm_status st;
  replay_layout l;
  layout_of(rb, &l);
  if ((st = ebm_st_writer_meta(w, "replay.format", REPLAY_FORMAT)) != EBM_OK ||
      (st = ebm_st_writer_meta(w, "replay.capacity", l.capacity)) != EBM_OK ||
      (st = ebm_st_writer_meta(w, "replay.classes", l.classes)) != EBM_OK ||
      (st = ebm_st_writer_meta(w, "replay.item_shape", l.item_shape)) != EBM_OK ||
      (st = ebm_st_writer_meta(w, "replay.range", l.range)) != EBM_OK)
    return st;
  if (rb->policy != EBM_REPLAY_RANDOM) {
    char *counters = malloc((size_t)rb->nbuf * 48 + 1);
    if (!counters) return ebm_set_error(EBM_ERR_NOMEM, "out of memory saving a replay buffer");
    size_t len = 0;
    counters[0] = '\0';
    for (int b = 0; b < rb->nbuf; b++)
      len += (size_t)snprintf(counters + len, 48, "%s%lld:%lld", b ? "," : "", (long long)rb->seen[b],
                              (long long)rb->next[b]);
    if ((st = ebm_st_writer_meta(w, "replay.policy", ebm_replay_policy_name(rb->policy))) == EBM_OK)
      st = ebm_st_writer_meta(w, "replay.counters", counters);
    free(counters);
    if (st != EBM_OK) return st;
  }
  for (int b = 0; b < rb->nbuf; b++) {
    if (rb->size[b] == 0) continue;
    char name[32];
    int64_t shape[4] = {rb->size[b]};
    memcpy(shape + 1, rb->item_shape, (size_t)rb->item_ndim * sizeof *shape);
    snprintf(name, sizeof name, "replay.%d", b);
    if ((st = ebm_st_writer_add_f32(w, name, 1 + rb->item_ndim, shape, replay_slot(rb, b, 0))) != EBM_OK)
      return st;
  }
  return EBM_OK;
}

static ebm_status check_meta(const ebm_safetensors *st, const char *key, const char *expect) {
  const char *got = ebm_safetensors_meta(st, key);
  if (!got)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: no replay buffer (metadata '%s' is missing)",
                         ebm_safetensors_origin(st), key);
  if (strcmp(got, expect) != 0)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: replay buffer %s is %s, expected %s",
                         ebm_safetensors_origin(st), key + 7, got, expect);
  return EBM_OK;
}

/* The store index of a "replay.<b>" tensor name; -1 if it is not one. */
static int store_of_name(const char *name) {
  if (strncmp(name, "replay.", 7) != 0) return -1;
  const char *p = name + 7;
  if (*p < '0' || *p > '9') return -2;
  long v = 0;
  for (; *p >= '0' && *p <= '9' && v < 1000000; p++) v = v * 10 + (*p - '0');
  return *p ? -2 : (int)v;
}

/* "seen:next,…", one pair per store, next within the store's slots. */
static ebm_status parse_counters(const ebm_replay *rb, const ebm_safetensors *st, int64_t *out) {
  const char *origin = ebm_safetensors_origin(st), *p = ebm_safetensors_meta(st, "replay.counters");
  if (!p) return ebm_set_error(EBM_ERR_FORMAT, "%s: replay buffer metadata 'replay.counters' is missing", origin);
  for (int b = 0; b < rb->nbuf; b++) {
    char *end = NULL;
    long long seen = strtoll(p, &end, 10), next = -1;
    if (end != p && *end == ':') {
      p = end + 1;
      next = strtoll(p, &end, 10);
    }
    if (end == p || seen < 0 || next < 0 || next >= rb->slots || (*end != (b + 1 < rb->nbuf ? ',' : '\0')))
      return ebm_set_error(EBM_ERR_FORMAT, "%s: replay buffer counters of store %d are not seen:next "
                           "with next < %lld", origin, b, (long long)rb->slots);
    out[2 * b] = seen;
    out[2 * b + 1] = next;
    p = end + 1;
  }
  return EBM_OK;
}

ebm_status ebm_replay_restore(ebm_replay *rb, const ebm_safetensors *st) {
  ebm_status s;
  replay_layout l;
  layout_of(rb, &l);
  const char *origin = ebm_safetensors_origin(st);
  if ((s = check_meta(st, "replay.format", REPLAY_FORMAT)) != EBM_OK ||
      (s = check_meta(st, "replay.capacity", l.capacity)) != EBM_OK ||
      (s = check_meta(st, "replay.classes", l.classes)) != EBM_OK ||
      (s = check_meta(st, "replay.item_shape", l.item_shape)) != EBM_OK ||
      (s = check_meta(st, "replay.range", l.range)) != EBM_OK)
    return s;
  const char *policy = ebm_safetensors_meta(st, "replay.policy");
  if (!policy) policy = ebm_replay_policy_name(EBM_REPLAY_RANDOM); /* what older files are */
  if (strcmp(policy, ebm_replay_policy_name(rb->policy)) != 0)
    return ebm_set_error(EBM_ERR_ARG, "%s: the replay buffer's policy is %s, not %s", origin, policy,
                         ebm_replay_policy_name(rb->policy));
  int64_t *counters = calloc((size_t)rb->nbuf * 2, sizeof *counters);
  if (!counters) return ebm_set_error(EBM_ERR_NOMEM, "out of memory restoring a replay buffer");
  if (rb->policy != EBM_REPLAY_RANDOM && (s = parse_counters(rb, st, counters)) != EBM_OK) {
    free(counters);
    return s;
  }
  /* Validate every tensor before touching the buffer, so a bad file leaves
   * it as it was. */
  for (int t = 0; t < ebm_safetensors_count(st); t++) {
    const ebm_st_tensor *ten = ebm_safetensors_at(st, t);
    int b = store_of_name(ten->name);
    if (b == -1) continue;
    if (b < 0 || b >= rb->nbuf) {
      s = ebm_set_error(EBM_ERR_FORMAT, "%s: tensor '%s' is not a store of a buffer with %d", origin,
                        ten->name, rb->nbuf);
      goto done;
    }
    int ok = ten->dtype == EBM_DTYPE_F32 && ten->ndim == 1 + rb->item_ndim &&
             ten->shape[0] >= 1 && ten->shape[0] <= rb->slots;
    for (int d = 0; ok && d < rb->item_ndim; d++) ok = ten->shape[1 + d] == rb->item_shape[d];
    if (!ok) {
      char got[96];
      ebm_shape_str(ten->ndim < 4 ? ten->ndim : 4, ten->shape, got, sizeof got);
      s = ebm_set_error(EBM_ERR_SHAPE, "%s: tensor '%s' is %s %s, expected F32 [1..%lld]+%s", origin,
                        ten->name, ebm_dtype_name(ten->dtype), got, (long long)rb->slots, l.item_shape);
      goto done;
    }
  }
  for (int b = 0; b < rb->nbuf; b++) {
    char name[32];
    snprintf(name, sizeof name, "replay.%d", b);
    const ebm_st_tensor *ten = ebm_safetensors_find(st, name);
    rb->size[b] = 0;
    if (!ten) continue;
    if ((s = ebm_safetensors_read_f32(st, name, ten->ndim, ten->shape, replay_slot(rb, b, 0))) != EBM_OK)
      goto done;
    rb->size[b] = ten->shape[0];
  }
  for (int b = 0; b < rb->nbuf; b++) {
    rb->seen[b] = counters[2 * b];
    rb->next[b] = counters[2 * b + 1];
  }
done:
  free(counters);
  return s;
}

/* "[a,b,c]" with 1..3 positive dimensions, as ebm_shape_str writes them. */
static int parse_item_shape(const char *text, int *ndim, int64_t *shape) {
  const char *p = text;
  if (*p++ != '[') return 0;
  for (*ndim = 0; *ndim < 3;) {
    char *end = NULL;
    long long v = strtoll(p, &end, 10);
    if (end == p || v < 1 || v > (1LL << 24)) return 0;
    shape[(*ndim)++] = v;
    if (*end == ']') return end[1] == '\0';
    if (*end != ',') return 0;
    p = end + 1;
  }
  return 0;
}

ebm_status ebm_replay_load(const ebm_safetensors *st, ebm_replay **out) {
  const char *origin = ebm_safetensors_origin(st);
  const char *format = ebm_safetensors_meta(st, "replay.format");
  const char *capacity = ebm_safetensors_meta(st, "replay.capacity");
  const char *classes = ebm_safetensors_meta(st, "replay.classes");
  const char *shape = ebm_safetensors_meta(st, "replay.item_shape");
  const char *range = ebm_safetensors_meta(st, "replay.range");
  const char *policy = ebm_safetensors_meta(st, "replay.policy");
  *out = NULL;
  if (!format || strcmp(format, REPLAY_FORMAT) != 0 || !capacity || !classes || !shape || !range)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: holds no replay buffer (no %s metadata 'replay.*')", origin,
                         REPLAY_FORMAT);
  long long cap = 0;
  int ncls = -1, ndim = 0, pol = policy ? ebm_replay_policy_from_name(policy) : EBM_REPLAY_RANDOM;
  int64_t item_shape[3];
  double lo = 0, hi = 0;
  char tail;
  if (sscanf(capacity, "%lld%c", &cap, &tail) != 1 || cap < 1 || sscanf(classes, "%d%c", &ncls, &tail) != 1 ||
      ncls < 0 || !parse_item_shape(shape, &ndim, item_shape) ||
      sscanf(range, "[%lf,%lf]%c", &lo, &hi, &tail) != 2 || !(lo < hi) || pol < 0)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: replay buffer metadata is not capacity %s, classes %s, item shape %s, "
                         "range %s%s%s", origin, capacity, classes, shape, range, policy ? ", policy " : "",
                         policy ? policy : "");
  ebm_replay *rb = NULL;
  ebm_status s = ebm_replay_new(cap, ndim, item_shape, ncls, (float)lo, (float)hi, &rb);
  if (s == EBM_OK) s = ebm_replay_set_policy(rb, (ebm_replay_policy)pol);
  if (s == EBM_OK) s = ebm_replay_restore(rb, st);
  if (s != EBM_OK) {
    ebm_replay_free(rb);
    return s;
  }
  *out = rb;
  return EBM_OK;
}
