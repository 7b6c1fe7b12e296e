/* Shuffled minibatches over epochs. The order of epoch e is a pure function
 * of (seed, e) — a Fisher–Yates shuffle driven by ebm_rng_split(seed, e) —
 * so the whole state is (epoch, position, seed) and a resumed run draws
 * exactly the batches the uninterrupted one would have. A batch that runs
 * past the end of an epoch continues into the next one: every batch is
 * full and every epoch visits every item exactly once. */
#include <stdlib.h>
#include <string.h>

#include "ebm/data.h"

struct ebm_batcher {
  const ebm_dataset *ds;
  int64_t n, batch, item;
  uint64_t seed, epoch;
  int64_t pos;
  int64_t *order; /* n item indices for the current epoch */
};

static void shuffle_epoch(ebm_batcher *b) {
  ebm_rng base, rng;
  ebm_rng_init(&base, b->seed);
  rng = ebm_rng_split(&base, b->epoch);
  for (int64_t i = 0; i < b->n; i++) b->order[i] = i;
  ebm_rng_shuffle(&rng, b->order, b->n);
}

ebm_status ebm_batcher_new(const ebm_dataset *ds, int64_t batch, uint64_t seed, ebm_batcher **out) {
  *out = NULL;
  if (!ds || !ds->x) return ebm_set_error(EBM_ERR_ARG, "batcher: no data set");
  int64_t n = ds->x->shape[0];
  if (n < 1) return ebm_set_error(EBM_ERR_ARG, "%s: batcher needs at least one item", ds->spec);
  if (n > UINT32_MAX) return ebm_set_error(EBM_ERR_ARG, "%s: %lld items is more than a batcher shuffles", ds->spec, (long long)n);
  if (batch < 1) return ebm_set_error(EBM_ERR_ARG, "%s: batch size %lld must be at least 1", ds->spec, (long long)batch);
  if (!ebm_tensor_is_contiguous(ds->x)) return ebm_set_error(EBM_ERR_ARG, "%s: batcher needs contiguous data", ds->spec);
  ebm_batcher *b = calloc(1, sizeof *b);
  if (b) b->order = malloc((size_t)n * sizeof *b->order);
  if (!b || !b->order) {
    free(b);
    return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for a batcher over %lld items", ds->spec, (long long)n);
  }
  b->ds = ds;
  b->n = n;
  b->batch = batch;
  b->item = ebm_tensor_row_size(ds->x);
  b->seed = seed;
  shuffle_epoch(b);
  *out = b;
  return EBM_OK;
}

/* x is (batch, item), labels (batch); unlabelled data sets give −1. */
void ebm_batcher_next(ebm_batcher *b, float *x, int32_t *labels) {
  for (int64_t k = 0; k < b->batch; k++) {
    int64_t idx = b->order[b->pos++];
    memcpy(x + k * b->item, b->ds->x->data + idx * b->item, (size_t)b->item * sizeof *x);
    if (labels) labels[k] = b->ds->labels ? b->ds->labels[idx] : -1;
    /* Advance at once, so the state after e whole epochs reads (e, 0). */
    if (b->pos == b->n) {
      b->epoch++;
      b->pos = 0;
      shuffle_epoch(b);
    }
  }
}

void ebm_batcher_state(const ebm_batcher *b, uint64_t state[3]) {
  state[0] = b->epoch;
  state[1] = (uint64_t)b->pos;
  state[2] = b->seed;
}

ebm_status ebm_batcher_restore(ebm_batcher *b, const uint64_t state[3]) {
  if (state[1] >= (uint64_t)b->n)
    return ebm_set_error(EBM_ERR_ARG, "%s: batcher position %llu is not below its %lld items (state from "
                         "another data set?)", b->ds->spec, (unsigned long long)state[1], (long long)b->n);
  b->epoch = state[0];
  b->pos = (int64_t)state[1];
  b->seed = state[2];
  shuffle_epoch(b);
  return EBM_OK;
}

void ebm_batcher_free(ebm_batcher *b) {
  if (!b) return;
  free(b->order);
  free(b);
}
