/* The replay buffer: capacity, the reinit fraction, uniform draws of stored
 * items, slots written back in place, and classes that never mix. */
#include "test.h"

static void fill_value(float *x, int64_t n, int64_t item, float v) {
  for (int64_t i = 0; i < n * item; i++) x[i] = v;
}

TEST(replay_buffer_respects_its_capacity) {
  const int64_t shape[3] = {1, 2, 2};
  ebm_replay *rb = NULL;
  REQUIRE_OK(ebm_replay_new(10, 3, shape, 0, 0.0f, 1.0f, &rb));
  CHECK_EQ_INT(ebm_replay_size(rb, -1), 0);
  float x[25 * 4];
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  for (int i = 0; i < 25; i++) fill_value(x + i * 4, 1, 4, (float)(100 + i));
  REQUIRE_OK(ebm_replay_put(rb, x, NULL, 7, NULL, &rng)); /* fresh items fill free slots */
  CHECK_EQ_INT(ebm_replay_size(rb, -1), 7);
  REQUIRE_OK(ebm_replay_put(rb, x + 7 * 4, NULL, 18, NULL, &rng)); /* then replace random slots */
  CHECK_EQ_INT(ebm_replay_size(rb, -1), 10);
  CHECK_EQ_INT(ebm_replay_size(rb, 0), 10);
  float peek[12 * 4];
  CHECK_EQ_INT(ebm_replay_peek(rb, -1, 12, peek), 10);
  int newer = 0;
  for (int i = 0; i < 10; i++) {
    CHECK(peek[i * 4] >= 100.0f && peek[i * 4] <= 124.0f);
    CHECK(peek[i * 4] == peek[i * 4 + 3]); /* whole items were copied */
    newer += peek[i * 4] >= 110.0f;
  }
  CHECK(peek[7 * 4] >= 107.0f); /* slots 7..9 were empty until the second put */
  CHECK(newer >= 3);
  ebm_replay_free(rb);
}

/* Each drawn item is fresh with probability `reinit`: with the store full
 * of 5s (outside the noise range [0, 1)), the fresh ones are recognisable.
 * Their number is Binomial(20 000, 0.05): mean 1000, sd 30.8; 5 sd bound. */
TEST(replay_get_reinitialises_the_requested_fraction) {
  const int64_t shape[1] = {3}, n = 20000;
  ebm_replay *rb = NULL;
  REQUIRE_OK(ebm_replay_new(100, 1, shape, 0, 0.0f, 1.0f, &rb));
  float *x = malloc(sizeof(float) * n * 3);
  int64_t *idx = malloc(sizeof(int64_t) * n);
  REQUIRE(x && idx);
  ebm_rng rng;
  ebm_rng_init(&rng, 2);
  fill_value(x, 100, 3, 5.0f);
  REQUIRE_OK(ebm_replay_put(rb, x, NULL, 100, NULL, &rng));
  REQUIRE_OK(ebm_replay_get(rb, x, NULL, n, 0.05f, &rng, idx));
  int64_t fresh = 0;
  for (int64_t i = 0; i < n; i++) {
    int is_fresh = idx[i] == -1;
    fresh += is_fresh;
    for (int k = 0; k < 3; k++)
      if (is_fresh ? !(x[i * 3 + k] >= 0.0f && x[i * 3 + k] < 1.0f) : x[i * 3 + k] != 5.0f)
        test_fail_at(__FILE__, __LINE__, "item %lld (slot %lld) has %g", (long long)i,
                     (long long)idx[i], (double)x[i * 3 + k]);
    if (!is_fresh) CHECK(idx[i] >= 0 && idx[i] < 100);
  }
  CHECK_NEAR((double)fresh, 1000.0, 5 * 30.8);
  /* reinit 0 / 1 are exact, and out-of-range fractions are refused */
  REQUIRE_OK(ebm_replay_get(rb, x, NULL, 1000, 0.0f, &rng, idx));
  for (int i = 0; i < 1000; i++) CHECK(idx[i] >= 0);
  REQUIRE_OK(ebm_replay_get(rb, x, NULL, 1000, 1.0f, &rng, idx));
  for (int i = 0; i < 1000; i++) CHECK(idx[i] == -1);
  CHECK_FAILS_WITH(ebm_replay_get(rb, x, NULL, 10, 1.5f, &rng, idx), EBM_ERR_ARG, "reinit fraction");
  CHECK_FAILS_WITH(ebm_replay_get(rb, x, NULL, 10, NAN, &rng, idx), EBM_ERR_ARG, "reinit fraction");
  free(x);
  free(idx);
  ebm_replay_free(rb);
}

/* Stored items are drawn uniformly: 10 slots holding 0..9, 10 000 draws,
 * Pearson χ² (9 dof) ≤ 9 + 5·√18. */
TEST(replay_get_draws_stored_items_uniformly) {
  const int64_t shape[1] = {1}, n = 10000;
  ebm_replay *rb = NULL;
  REQUIRE_OK(ebm_replay_new(10, 1, shape, 0, -1.0f, 1.0f, &rb));
  float v[10], *x = malloc(sizeof(float) * n);
  REQUIRE(x);
  for (int i = 0; i < 10; i++) v[i] = (float)i;
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  REQUIRE_OK(ebm_replay_put(rb, v, NULL, 10, NULL, &rng));
  REQUIRE_OK(ebm_replay_get(rb, x, NULL, n, 0.0f, &rng, NULL));
  double count[10] = {0}, chi2 = 0;
  for (int64_t i = 0; i < n; i++) count[(int)x[i]] += 1;
  for (int i = 0; i < 10; i++) chi2 += (count[i] - 1000) * (count[i] - 1000) / 1000;
  CHECK(chi2 <= 9 + 5 * sqrt(18.0));
  free(x);
  ebm_replay_free(rb);
}

TEST(replay_put_writes_drawn_items_back_to_their_slots) {
  const int64_t shape[1] = {2};
  ebm_replay *rb = NULL;
  REQUIRE_OK(ebm_replay_new(4, 1, shape, 0, 0.0f, 1.0f, &rb));
  float x[8] = {10, 10, 11, 11, 12, 12, 13, 13}, got[8];
  int64_t idx[4];
  ebm_rng rng;
  ebm_rng_init(&rng, 4);
  REQUIRE_OK(ebm_replay_put(rb, x, NULL, 4, NULL, &rng));
  REQUIRE_OK(ebm_replay_get(rb, got, NULL, 3, 0.0f, &rng, idx));
  for (int i = 0; i < 3; i++) {
    CHECK(got[i * 2] == 10.0f + (float)idx[i]); /* slot k holds 10 + k */
    got[i * 2] = got[i * 2 + 1] = -(float)idx[i] - 1.0f; /* "run MCMC" */
  }
  REQUIRE_OK(ebm_replay_put(rb, got, NULL, 3, idx, &rng));
  CHECK_EQ_INT(ebm_replay_size(rb, -1), 4); /* nothing appended */
  float all[8];
  REQUIRE(ebm_replay_peek(rb, -1, 4, all) == 4);
  for (int i = 0; i < 3; i++) CHECK(all[idx[i] * 2] == -(float)idx[i] - 1.0f);
  int64_t bad[1] = {4};
  CHECK_FAILS_WITH(ebm_replay_put(rb, got, NULL, 1, bad, &rng), EBM_ERR_ARG, "slot 4 of item 0");
  ebm_replay_free(rb);
}

/* One store per class: items put with label c come back only for label c,
 * and a full class does not spill into the others. An empty class gives
 * noise. */
TEST(replay_classes_never_mix) {
  const int64_t shape[1] = {2};
  ebm_replay *rb = NULL;
  REQUIRE_OK(ebm_replay_new(30, 1, shape, 3, 0.0f, 1.0f, &rb)); /* 10 slots per class */
  float x[40 * 2];
  int32_t y[40];
  int64_t idx[40];
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  for (int i = 0; i < 40; i++) {
    y[i] = i % 2; /* classes 0 and 1 only: 20 each, over their capacity */
    x[i * 2] = x[i * 2 + 1] = 100.0f + (float)y[i];
  }
  REQUIRE_OK(ebm_replay_put(rb, x, y, 40, NULL, &rng));
  CHECK_EQ_INT(ebm_replay_size(rb, 0), 10);
  CHECK_EQ_INT(ebm_replay_size(rb, 1), 10);
  CHECK_EQ_INT(ebm_replay_size(rb, 2), 0);
  CHECK_EQ_INT(ebm_replay_size(rb, -1), 20);
  for (int i = 0; i < 40; i++) y[i] = i % 3;
  REQUIRE_OK(ebm_replay_get(rb, x, y, 40, 0.0f, &rng, idx));
  for (int i = 0; i < 40; i++) {
    if (y[i] == 2) {
      CHECK(idx[i] == -1 && x[i * 2] >= 0.0f && x[i * 2] < 1.0f);
    } else {
      CHECK(idx[i] >= 0 && x[i * 2] == 100.0f + (float)y[i]);
    }
  }
  float peek[20 * 2];
  CHECK_EQ_INT(ebm_replay_peek(rb, 1, 20, peek), 10);
  for (int i = 0; i < 10; i++) CHECK(peek[i * 2] == 101.0f);
  int32_t bad[1] = {3};
  CHECK_FAILS_WITH(ebm_replay_get(rb, x, bad, 1, 0.0f, &rng, idx), EBM_ERR_ARG, "label 3 of item 0");
  CHECK_FAILS_WITH(ebm_replay_get(rb, x, NULL, 1, 0.0f, &rng, idx), EBM_ERR_ARG, "labels are required");
  ebm_replay_free(rb);
}

TEST(replay_new_rejects_bad_arguments) {
  const int64_t shape[1] = {2}, zero[1] = {0};
  ebm_replay *rb = NULL;
  CHECK_FAILS_WITH(ebm_replay_new(0, 1, shape, 0, 0, 1, &rb), EBM_ERR_ARG, "capacity");
  CHECK_FAILS_WITH(ebm_replay_new(5, 1, shape, 10, 0, 1, &rb), EBM_ERR_ARG, "capacity must be in 10..");
  CHECK_FAILS_WITH(ebm_replay_new(5, 1, zero, 0, 0, 1, &rb), EBM_ERR_SHAPE, "item dimension");
  CHECK_FAILS_WITH(ebm_replay_new(5, 1, shape, 0, 1, 1, &rb), EBM_ERR_ARG, "noise range");
  CHECK_FAILS_WITH(ebm_replay_new(5, 1, shape, -1, 0, 1, &rb), EBM_ERR_ARG, "num_classes");
  CHECK(rb == NULL);
  REQUIRE_OK(ebm_replay_new(5, 1, shape, 0, 0, 1, &rb));
  int32_t y[1] = {0};
  float x[2];
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  CHECK_FAILS_WITH(ebm_replay_get(rb, x, y, 1, 0.0f, &rng, NULL), EBM_ERR_ARG, "unconditional");
  ebm_replay_free(rb);
  ebm_replay_free(NULL);
}

/* Save → restore → save gives the same bytes, the restored buffer draws the
 * same items as the original for the same seed, and empty classes are
 * simply absent from the file. */
TEST(replay_save_restore_is_byte_exact) {
  const int64_t shape[3] = {1, 3, 2};
  ebm_replay *a = NULL, *b = NULL;
  REQUIRE_OK(ebm_replay_new(40, 3, shape, 4, -1.0f, 1.0f, &a)); /* 10 slots × 4 classes */
  float x[25 * 6];
  int32_t y[25];
  ebm_rng rng;
  ebm_rng_init(&rng, 11);
  ebm_rng_normal(&rng, x, 25 * 6, 0.0f, 1.0f);
  for (int i = 0; i < 25; i++) y[i] = i % 3; /* class 3 stays empty */
  REQUIRE_OK(ebm_replay_put(a, x, y, 25, NULL, &rng));
  ebm_st_writer *w = ebm_st_writer_new();
  REQUIRE(w);
  REQUIRE_OK(ebm_replay_save(a, w));
  REQUIRE_OK(ebm_st_writer_save(w, test_path("replay.safetensors")));
  uint8_t *bytes1 = NULL, *bytes2 = NULL;
  size_t size1 = 0, size2 = 0;
  REQUIRE_OK(ebm_st_writer_serialize(w, &bytes1, &size1));
  ebm_st_writer_free(w);

  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(test_path("replay.safetensors"), &st));
  CHECK(ebm_safetensors_find(st, "replay.3") == NULL);
  REQUIRE(ebm_safetensors_find(st, "replay.0") != NULL);
  CHECK(ebm_safetensors_find(st, "replay.0")->shape[0] == 9);
  REQUIRE_OK(ebm_replay_new(40, 3, shape, 4, -1.0f, 1.0f, &b));
  REQUIRE_OK(ebm_replay_restore(b, st));
  ebm_safetensors_free(st);
  for (int c = -1; c < 4; c++) CHECK_EQ_INT(ebm_replay_size(b, c), ebm_replay_size(a, c));
  w = ebm_st_writer_new();
  REQUIRE(w);
  REQUIRE_OK(ebm_replay_save(b, w));
  REQUIRE_OK(ebm_st_writer_serialize(w, &bytes2, &size2));
  ebm_st_writer_free(w);
  CHECK(size1 == size2 && memcmp(bytes1, bytes2, size1) == 0);
  free(bytes1);
  free(bytes2);

  /* the restored buffer continues exactly like the original */
  float xa[12 * 6], xb[12 * 6];
  int32_t ly[12];
  int64_t ia[12], ib[12];
  for (int i = 0; i < 12; i++) ly[i] = i % 4;
  ebm_rng ra, rb2;
  ebm_rng_init(&ra, 5);
  rb2 = ra;
  REQUIRE_OK(ebm_replay_get(a, xa, ly, 12, 0.3f, &ra, ia));
  REQUIRE_OK(ebm_replay_get(b, xb, ly, 12, 0.3f, &rb2, ib));
  CHECK(memcmp(xa, xb, sizeof xa) == 0 && memcmp(ia, ib, sizeof ia) == 0);
  ebm_replay_free(a);
  ebm_replay_free(b);
}

TEST(replay_restore_rejects_a_different_layout_and_leaves_the_buffer) {
  const int64_t shape[1] = {4}, other[1] = {5};
  ebm_replay *a = NULL, *b = NULL;
  REQUIRE_OK(ebm_replay_new(8, 1, shape, 0, 0.0f, 1.0f, &a));
  float x[3 * 4] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  REQUIRE_OK(ebm_replay_put(a, x, NULL, 3, NULL, &rng));
  ebm_st_writer *w = ebm_st_writer_new();
  REQUIRE_OK(ebm_replay_save(a, w));
  REQUIRE_OK(ebm_st_writer_save(w, test_path("r.safetensors")));
  ebm_st_writer_free(w);
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(test_path("r.safetensors"), &st));
  REQUIRE_OK(ebm_replay_new(8, 1, other, 0, 0.0f, 1.0f, &b));
  CHECK_FAILS_WITH(ebm_replay_restore(b, st), EBM_ERR_FORMAT, "item_shape is [4], expected [5]");
  CHECK_EQ_INT(ebm_replay_size(b, -1), 0);
  ebm_replay_free(b);
  REQUIRE_OK(ebm_replay_new(16, 1, shape, 0, 0.0f, 1.0f, &b));
  CHECK_FAILS_WITH(ebm_replay_restore(b, st), EBM_ERR_FORMAT, "capacity is 8, expected 16");
  ebm_replay_free(b);
  REQUIRE_OK(ebm_replay_new(8, 1, shape, 0, -1.0f, 1.0f, &b));
  CHECK_FAILS_WITH(ebm_replay_restore(b, st), EBM_ERR_FORMAT, "range");
  ebm_replay_free(b);
  ebm_safetensors_free(st);
  /* a file without a buffer, and one whose store is larger than the slots */
  w = ebm_st_writer_new();
  int64_t big[2] = {9, 4};
  float junk[36] = {0};
  REQUIRE_OK(ebm_st_writer_add_f32(w, "weights", 2, big, junk));
  REQUIRE_OK(ebm_st_writer_save(w, test_path("none.safetensors")));
  REQUIRE_OK(ebm_replay_save(a, w)); /* adds metadata for a's layout */
  REQUIRE_OK(ebm_st_writer_add_f32(w, "replay.0x", 2, big, junk));
  REQUIRE_OK(ebm_st_writer_save(w, test_path("bad.safetensors")));
  ebm_st_writer_free(w);
  REQUIRE_OK(ebm_safetensors_load(test_path("none.safetensors"), &st));
  REQUIRE_OK(ebm_replay_new(8, 1, shape, 0, 0.0f, 1.0f, &b));
  CHECK_FAILS_WITH(ebm_replay_restore(b, st), EBM_ERR_FORMAT, "'replay.format' is missing");
  ebm_safetensors_free(st);
  REQUIRE_OK(ebm_safetensors_load(test_path("bad.safetensors"), &st));
  CHECK_FAILS_WITH(ebm_replay_restore(b, st), EBM_ERR_FORMAT, "tensor 'replay.0x'");
  ebm_safetensors_free(st);
  ebm_replay_free(b);
  ebm_replay_free(a);
}
