/* Shuffled batching: coverage per epoch, reproducibility, exact resume. */
#include "test.h"

/* A data set of n 2-float items (i, −i) with label i % 3 (or none). */
static ebm_dataset *counting_set(int64_t n, int labelled) {
  ebm_dataset *ds = calloc(1, sizeof *ds);
  REQUIRE(ds);
  snprintf(ds->spec, sizeof ds->spec, "counting:%lld", (long long)n);
  ds->x = ebm_tensor_new2(n, 2);
  REQUIRE(ds->x);
  for (int64_t i = 0; i < n; i++) ds->x->data[2 * i] = (float)i, ds->x->data[2 * i + 1] = (float)-i;
  if (labelled) {
    ds->labels = malloc((size_t)n * sizeof *ds->labels);
    REQUIRE(ds->labels);
    for (int64_t i = 0; i < n; i++) ds->labels[i] = (int32_t)(i % 3);
    ds->num_classes = 3;
  }
  return ds;
}

/* Draws `batches` batches, returning the item indices in draw order. */
static void draw(ebm_batcher *b, int64_t batch, int batches, int64_t *items, int32_t *labels) {
  float x[2 * 64];
  for (int k = 0; k < batches; k++) {
    ebm_batcher_next(b, x, labels ? labels + k * batch : NULL);
    for (int64_t j = 0; j < batch; j++) {
      items[k * batch + j] = (int64_t)x[2 * j];
      REQUIRE(x[2 * j + 1] == -x[2 * j]); /* the whole item travels together */
    }
  }
}

TEST(batcher_epoch_visits_every_item_exactly_once) {
  const int64_t n = 10, batch = 3; /* batches straddle epoch boundaries */
  ebm_dataset *ds = counting_set(n, 1);
  ebm_batcher *b;
  REQUIRE_OK(ebm_batcher_new(ds, batch, 42, &b));
  int64_t items[30];
  int32_t labels[30];
  draw(b, batch, 10, items, labels);
  for (int epoch = 0; epoch < 3; epoch++) {
    int seen[10] = {0};
    for (int i = 0; i < 10; i++) seen[items[epoch * 10 + i]]++;
    for (int i = 0; i < 10; i++) CHECK_EQ_INT(seen[i], 1);
  }
  for (int i = 0; i < 30; i++) CHECK_EQ_INT(labels[i], items[i] % 3);
  /* Shuffled: the three epochs are not all the identity or all equal. */
  CHECK(memcmp(items, items + 10, 10 * sizeof *items) != 0);
  uint64_t state[3];
  ebm_batcher_state(b, state);
  CHECK(state[0] == 3 && state[1] == 0 && state[2] == 42);
  ebm_batcher_free(b);
  ebm_dataset_free(ds);
}

TEST(batcher_same_seed_same_batches_other_seed_differs) {
  ebm_dataset *ds = counting_set(100, 0);
  ebm_batcher *a, *b, *c;
  REQUIRE_OK(ebm_batcher_new(ds, 16, 7, &a));
  REQUIRE_OK(ebm_batcher_new(ds, 16, 7, &b));
  REQUIRE_OK(ebm_batcher_new(ds, 16, 8, &c));
  int64_t ia[160], ib[160], ic[160];
  int32_t labels[160];
  draw(a, 16, 10, ia, labels);
  draw(b, 16, 10, ib, NULL);
  draw(c, 16, 10, ic, NULL);
  CHECK(memcmp(ia, ib, sizeof ia) == 0);
  CHECK(memcmp(ia, ic, sizeof ia) != 0);
  CHECK_EQ_INT(labels[0], -1); /* unlabelled */
  ebm_batcher_free(a);
  ebm_batcher_free(b);
  ebm_batcher_free(c);
  ebm_dataset_free(ds);
}

TEST(batcher_restore_continues_bit_exactly) {
  ebm_dataset *ds = counting_set(37, 1);
  ebm_batcher *run, *resumed;
  REQUIRE_OK(ebm_batcher_new(ds, 8, 123, &run));
  int64_t before[8 * 7], after[8 * 9], replay[8 * 9];
  draw(run, 8, 7, before, NULL); /* 56 items: mid-way through epoch 1 */
  uint64_t state[3];
  ebm_batcher_state(run, state);
  CHECK(state[0] == 1 && state[1] == 56 - 37);
  draw(run, 8, 9, after, NULL);
  /* A fresh batcher with another seed adopts the saved stream. */
  REQUIRE_OK(ebm_batcher_new(ds, 8, 999, &resumed));
  REQUIRE_OK(ebm_batcher_restore(resumed, state));
  draw(resumed, 8, 9, replay, NULL);
  CHECK(memcmp(after, replay, sizeof after) == 0);
  uint64_t bad[3] = {0, 37, 123};
  CHECK_FAILS_WITH(ebm_batcher_restore(resumed, bad), EBM_ERR_ARG, "position 37");
  ebm_batcher_free(run);
  ebm_batcher_free(resumed);
  ebm_dataset_free(ds);
}

TEST(batcher_rejects_bad_sizes) {
  ebm_dataset *ds = counting_set(5, 0);
  ebm_batcher *b = NULL;
  CHECK_FAILS_WITH(ebm_batcher_new(ds, 0, 1, &b), EBM_ERR_ARG, "batch size 0");
  CHECK(b == NULL);
  /* A batch larger than the data set spans epochs: still valid. */
  REQUIRE_OK(ebm_batcher_new(ds, 12, 1, &b));
  int64_t items[12];
  draw(b, 12, 1, items, NULL);
  int seen[5] = {0};
  for (int i = 0; i < 10; i++) seen[items[i]]++;
  for (int i = 0; i < 5; i++) CHECK_EQ_INT(seen[i], 2);
  ebm_batcher_free(b);
  ebm_dataset_free(ds);
}
