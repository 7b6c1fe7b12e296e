/* ebm_replay_load: a buffer rebuilt from a file alone (its layout and policy
 * from the metadata) holds exactly the items saved, and a file without a
 * buffer or with a lying layout is refused naming the file. */
#include "test.h"

static void save_buffer(const ebm_replay *rb, const char *path) {
  ebm_st_writer *w = ebm_st_writer_new();
  REQUIRE(w);
  REQUIRE_OK(ebm_replay_save(rb, w));
  REQUIRE_OK(ebm_st_writer_save(w, path));
  ebm_st_writer_free(w);
}

TEST(replay_load_rebuilds_the_saved_buffer_from_the_file_alone) {
  const int64_t shape[3] = {1, 3, 2};
  ebm_replay *a = NULL, *b = NULL;
  REQUIRE_OK(ebm_replay_new(30, 3, shape, 3, -1.0f, 1.0f, &a)); /* 10 slots × 3 classes */
  REQUIRE_OK(ebm_replay_set_policy(a, EBM_REPLAY_RESERVOIR));
  float x[25 * 6], pa[10 * 6], pb[10 * 6];
  int32_t y[25];
  ebm_rng rng;
  ebm_rng_init(&rng, 4);
  ebm_rng_normal(&rng, x, 25 * 6, 0.0f, 1.0f);
  for (int i = 0; i < 25; i++) y[i] = i % 2; /* class 2 stays empty */
  REQUIRE_OK(ebm_replay_put(a, x, y, 25, NULL, &rng));
  const char *path = test_path("state.safetensors");
  save_buffer(a, path);
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(path, &st));
  REQUIRE_OK(ebm_replay_load(st, &b));
  ebm_safetensors_free(st);
  int ndim = 0, classes = 0;
  int64_t got[3] = {0};
  ebm_replay_shape(b, &ndim, got, &classes);
  CHECK(ndim == 3 && memcmp(got, shape, sizeof got) == 0 && classes == 3);
  CHECK(ebm_replay_get_policy(b) == EBM_REPLAY_RESERVOIR);
  for (int c = 0; c < 3; c++) {
    CHECK_EQ_INT(ebm_replay_size(b, c), ebm_replay_size(a, c));
    int64_t na = ebm_replay_peek(a, c, 10, pa), nb = ebm_replay_peek(b, c, 10, pb);
    CHECK(na == nb && memcmp(pa, pb, (size_t)na * 6 * sizeof(float)) == 0);
  }
  /* drawing with no fresh noise gives stored items only */
  float d[8 * 6];
  int32_t ly[8] = {0, 1, 0, 1, 0, 1, 0, 1};
  REQUIRE_OK(ebm_replay_get(b, d, ly, 8, 0.0f, &rng, NULL));
  for (int i = 0; i < 8; i++) {
    int hit = 0;
    for (int k = 0; k < 25 && !hit; k++) hit = y[k] == ly[i] && memcmp(d + i * 6, x + k * 6, 6 * sizeof(float)) == 0;
    CHECK(hit);
  }
  ebm_replay_free(a);
  ebm_replay_free(b);
}

TEST(replay_load_refuses_files_without_a_buffer_or_with_a_bad_layout) {
  const char *path = test_path("none.safetensors");
  ebm_st_writer *w = ebm_st_writer_new();
  REQUIRE(w);
  REQUIRE_OK(ebm_st_writer_meta(w, "step", "3"));
  REQUIRE_OK(ebm_st_writer_save(w, path));
  ebm_st_writer_free(w);
  ebm_safetensors *st = NULL;
  ebm_replay *rb = (ebm_replay *)&rb; /* must be reset to NULL */
  REQUIRE_OK(ebm_safetensors_load(path, &st));
  CHECK_FAILS_WITH(ebm_replay_load(st, &rb), EBM_ERR_FORMAT, "none.safetensors: holds no replay buffer");
  CHECK(rb == NULL);
  ebm_safetensors_free(st);
  const char *bad[][2] = {{"replay.item_shape", "[0,2]"}, {"replay.range", "[1,0]"}, {"replay.capacity", "-4"},
                          {"replay.policy", "lifo"}, {"replay.classes", "2x"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    w = ebm_st_writer_new();
    REQUIRE(w);
    const char *meta[][2] = {{"replay.format", "ebm-replay-1"}, {"replay.capacity", "8"}, {"replay.classes", "0"},
                             {"replay.item_shape", "[2]"}, {"replay.range", "[0,1]"}};
    for (int k = 0; k < 5; k++) REQUIRE_OK(ebm_st_writer_meta(w, meta[k][0], meta[k][1]));
    REQUIRE_OK(ebm_st_writer_meta(w, bad[i][0], bad[i][1])); /* the last value of a key wins */
    REQUIRE_OK(ebm_st_writer_save(w, path));
    ebm_st_writer_free(w);
    REQUIRE_OK(ebm_safetensors_load(path, &st));
    CHECK_FAILS_WITH(ebm_replay_load(st, &rb), EBM_ERR_FORMAT, bad[i][1]);
    CHECK(rb == NULL);
    ebm_safetensors_free(st);
  }
}
