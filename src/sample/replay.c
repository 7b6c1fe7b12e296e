/* The replay buffer of Du & Mordatch (A.11: 10 000 samples; 95 % of each
 * batch of chains restarts from a stored sample, 5 % from fresh uniform
 * noise): persistent chains that make a short MCMC run per training step
 * behave like a long one. One store per class, so classes never mix.
 * Three ways to write chains back (ebm_replay_policy): in place (random),
 * or as new items into a reservoir or a ring (Du et al. 2021's code).
 * Save/restore (replay_io.c) makes resumed training exact. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample/replay_internal.h"

void ebm_replay_free(ebm_replay *rb) {
  if (!rb) return;
  ebm_free(rb->data);
  free(rb->size);
  free(rb->seen);
  free(rb->next);
  free(rb);
}

ebm_status ebm_replay_new(int64_t capacity, int item_ndim, const int64_t *item_shape,
                          int num_classes, float lo, float hi, ebm_replay **out) {
  ebm_status st = EBM_OK;
  ebm_replay *rb = NULL;
  *out = NULL;
  if (item_ndim < 1 || item_ndim > 3 || !item_shape)
    return ebm_set_error(EBM_ERR_SHAPE, "replay buffer: item rank %d is not in 1..3", item_ndim);
  int64_t item = 1;
  for (int d = 0; d < item_ndim; d++) {
    if (item_shape[d] < 1 || item > INT64_MAX / 8 / item_shape[d])
      return ebm_set_error(EBM_ERR_SHAPE, "replay buffer: bad item dimension %lld",
                           (long long)item_shape[d]);
    item *= item_shape[d];
  }
  if (num_classes < 0)
    return ebm_set_error(EBM_ERR_ARG, "replay buffer: num_classes must be >= 0, got %d", num_classes);
  int nbuf = num_classes > 0 ? num_classes : 1;
  /* Slots are drawn with ebm_rng_below, a 32-bit bound. */
  int64_t max_capacity = INT64_MAX / 8 / item < INT32_MAX ? INT64_MAX / 8 / item : INT32_MAX;
  if (capacity < nbuf || capacity > max_capacity)
    return ebm_set_error(EBM_ERR_ARG, "replay buffer: capacity must be in %d..%lld, got %lld", nbuf,
                         (long long)max_capacity, (long long)capacity);
  if (!(lo < hi) || !isfinite(lo) || !isfinite(hi))
    return ebm_set_error(EBM_ERR_ARG, "replay buffer: noise range [%g, %g) is empty or not finite",
                         (double)lo, (double)hi);
  rb = calloc(1, sizeof *rb);
  if (!rb) return ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a replay buffer");
  rb->capacity = capacity;
  rb->num_classes = num_classes;
  rb->nbuf = nbuf;
  rb->slots = capacity / nbuf;
  rb->item_ndim = item_ndim;
  memcpy(rb->item_shape, item_shape, (size_t)item_ndim * sizeof *item_shape);
  rb->item_size = item;
  rb->lo = lo;
  rb->hi = hi;
  rb->size = calloc((size_t)nbuf, sizeof *rb->size);
  rb->seen = calloc((size_t)nbuf, sizeof *rb->seen);
  rb->next = calloc((size_t)nbuf, sizeof *rb->next);
  rb->data = ebm_alloc((size_t)(nbuf * rb->slots * item), sizeof(float));
  if (!rb->size || !rb->seen || !rb->next || !rb->data) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for a replay buffer of %lld items",
                       (long long)capacity);
    goto fail;
  }
  *out = rb;
  return EBM_OK;
fail:
  ebm_replay_free(rb);
  return st;
}

/* The store of the i-th item: its class with classes, else the only one. */
static ebm_status buffer_of(const ebm_replay *rb, const int32_t *y, int64_t i, int *b) {
  if (rb->num_classes == 0) {
    *b = 0;
    return EBM_OK;
  }
  if (y[i] < 0 || y[i] >= rb->num_classes)
    return ebm_set_error(EBM_ERR_ARG, "replay buffer: label %d of item %lld is not in 0..%d", y[i],
                         (long long)i, rb->num_classes - 1);
  *b = y[i];
  return EBM_OK;
}

static ebm_status check_labels(const ebm_replay *rb, const int32_t *y, int64_t n) {
  if (rb->num_classes > 0 && !y)
    return ebm_set_error(EBM_ERR_ARG, "replay buffer has %d classes: labels are required",
                         rb->num_classes);
  if (rb->num_classes == 0 && y)
    return ebm_set_error(EBM_ERR_ARG, "replay buffer is unconditional: labels must be NULL");
  if (n < 0) return ebm_set_error(EBM_ERR_ARG, "replay buffer: negative count %lld", (long long)n);
  for (int64_t i = 0; i < n; i++) {
    int b;
    ebm_status st = buffer_of(rb, y, i, &b);
    if (st != EBM_OK) return st;
  }
  return EBM_OK;
}

float *replay_slot(const ebm_replay *rb, int b, int64_t slot) {
  return rb->data + (b * rb->slots + slot) * rb->item_size;
}

ebm_status ebm_replay_get(ebm_replay *rb, float *x, const int32_t *y, int64_t n, float reinit,
                          ebm_rng *rng, int64_t *idx) {
  ebm_status st = check_labels(rb, y, n);
  if (st != EBM_OK) return st;
  if (!(reinit >= 0.0f && reinit <= 1.0f))
    return ebm_set_error(EBM_ERR_ARG, "replay buffer: reinit fraction must be in [0, 1], got %g",
                         (double)reinit);
  const size_t item_bytes = (size_t)rb->item_size * sizeof(float);
  for (int64_t i = 0; i < n; i++) {
    int b = rb->num_classes > 0 ? y[i] : 0;
    float *xi = x + i * rb->item_size;
    /* One draw decides fresh vs stored for every item, so the stream does
     * not depend on how full the store is. */
    int fresh = ebm_rng_double(rng) < (double)reinit || rb->size[b] == 0;
    int64_t slot = -1;
    if (fresh) {
      const ebm_energy *start = rb->class_starts && rb->class_starts[b] ? rb->class_starts[b] : rb->start;
      if ((st = ebm_chain_start_draw(start, rng, 1, rb->item_size, rb->lo, rb->hi, xi)) != EBM_OK) return st;
    } else {
      slot = (int64_t)ebm_rng_below(rng, (uint32_t)rb->size[b]);
      memcpy(xi, replay_slot(rb, b, slot), item_bytes);
    }
    if (idx) idx[i] = slot;
  }
  return EBM_OK;
}

ebm_status ebm_replay_set_start(ebm_replay *rb, const ebm_energy *start) {
  if (start && ebm_energy_item_size(start) != rb->item_size)
    return ebm_set_error(EBM_ERR_SHAPE, "replay buffer: chain start %s has %lld values per item, the buffer %lld",
                         start->name, (long long)ebm_energy_item_size(start), (long long)rb->item_size);
  rb->start = start;
  return EBM_OK;
}

ebm_status ebm_replay_set_class_starts(ebm_replay *rb, ebm_energy *const *starts, int classes) {
  if (starts && classes != rb->num_classes)
    return ebm_set_error(EBM_ERR_SHAPE, "replay buffer: %d per-class chain starts for a buffer of %d classes", classes,
                         rb->num_classes);
  for (int c = 0; starts && c < classes; c++)
    if (starts[c] && ebm_energy_item_size(starts[c]) != rb->item_size)
      return ebm_set_error(EBM_ERR_SHAPE, "replay buffer: class %d's chain start has %lld values per item, the buffer %lld",
                           c, (long long)ebm_energy_item_size(starts[c]), (long long)rb->item_size);
  rb->class_starts = starts;
  return EBM_OK;
}

static const char *const policy_names[EBM_REPLAY_POLICY_COUNT] = {"random", "reservoir", "fifo"};

const char *ebm_replay_policy_name(ebm_replay_policy policy) {
  return policy >= 0 && policy < EBM_REPLAY_POLICY_COUNT ? policy_names[policy] : "?";
}

int ebm_replay_policy_from_name(const char *name) {
  for (int i = 0; name && i < EBM_REPLAY_POLICY_COUNT; i++)
    if (strcmp(name, policy_names[i]) == 0) return i;
  return -1;
}

ebm_status ebm_replay_set_policy(ebm_replay *rb, ebm_replay_policy policy) {
  if (policy < 0 || policy >= EBM_REPLAY_POLICY_COUNT)
    return ebm_set_error(EBM_ERR_ARG, "replay buffer: policy %d is not random, reservoir or fifo", (int)policy);
  rb->policy = policy;
  return EBM_OK;
}

ebm_replay_policy ebm_replay_get_policy(const ebm_replay *rb) { return rb->policy; }

/* The slot a new item of store b goes to, or −1 when the reservoir drops
 * it. While the store fills: the next free slot. Then random: any slot;
 * fifo: the oldest; reservoir (Vitter's algorithm R): the t-th item offered
 * replaces a uniform slot with probability slots/t, so each of the t items
 * is kept with probability slots/t. */
static int64_t new_slot(ebm_replay *rb, int b, ebm_rng *rng) {
  const int64_t seen = ++rb->seen[b];
  if (rb->size[b] < rb->slots) return rb->size[b]++;
  switch (rb->policy) {
    case EBM_REPLAY_FIFO: {
      const int64_t slot = rb->next[b];
      rb->next[b] = slot + 1 < rb->slots ? slot + 1 : 0;
      return slot;
    }
    case EBM_REPLAY_RESERVOIR: {
      const int64_t j = seen <= (int64_t)UINT32_MAX ? (int64_t)ebm_rng_below(rng, (uint32_t)seen)
                                                    : (int64_t)(ebm_rng_double(rng) * (double)seen);
      return j < rb->slots ? j : -1;
    }
    default: return (int64_t)ebm_rng_below(rng, (uint32_t)rb->slots);
  }
}

ebm_status ebm_replay_put(ebm_replay *rb, const float *x, const int32_t *y, int64_t n,
                          const int64_t *idx, ebm_rng *rng) {
  ebm_status st = check_labels(rb, y, n);
  if (st != EBM_OK) return st;
  for (int64_t i = 0; idx && i < n; i++) { /* validate everything before writing anything */
    int b = rb->num_classes > 0 ? y[i] : 0;
    if (idx[i] < -1 || idx[i] >= rb->size[b])
      return ebm_set_error(EBM_ERR_ARG, "replay buffer: slot %lld of item %lld is not in -1..%lld",
                           (long long)idx[i], (long long)i, (long long)rb->size[b] - 1);
  }
  const size_t item_bytes = (size_t)rb->item_size * sizeof(float);
  for (int64_t i = 0; i < n; i++) {
    int b = rb->num_classes > 0 ? y[i] : 0;
    /* random: a chain drawn from a slot goes back to it; reservoir and fifo
     * store every chain as a new item and leave its starting point be */
    int64_t slot = idx && rb->policy == EBM_REPLAY_RANDOM ? idx[i] : -1;
    if (slot < 0) slot = new_slot(rb, b, rng);
    if (slot >= 0) memcpy(replay_slot(rb, b, slot), x + i * rb->item_size, item_bytes);
  }
  return EBM_OK;
}

void ebm_replay_shape(const ebm_replay *rb, int *item_ndim, int64_t item_shape[3], int *num_classes) {
  *item_ndim = rb->item_ndim;
  memcpy(item_shape, rb->item_shape, sizeof rb->item_shape);
  *num_classes = rb->num_classes;
}

int64_t ebm_replay_size(const ebm_replay *rb, int y) {
  if (y < 0) {
    int64_t total = 0;
    for (int b = 0; b < rb->nbuf; b++) total += rb->size[b];
    return total;
  }
  return y < rb->nbuf ? rb->size[y] : 0;
}

int64_t ebm_replay_peek(const ebm_replay *rb, int y, int64_t n, float *x) {
  int64_t copied = 0;
  for (int b = 0; b < rb->nbuf && copied < n; b++) {
    if (y >= 0 && b != y) continue;
    int64_t take = rb->size[b] < n - copied ? rb->size[b] : n - copied;
    memcpy(x + copied * rb->item_size, replay_slot(rb, b, 0),
           (size_t)(take * rb->item_size) * sizeof(float));
    copied += take;
  }
  return copied;
}
