/* How a run starts and what it feeds: --data-augment (each data item a
 * step draws, transformed) and --init-from (a fresh run from a
 * checkpoint's weights). */
#include "test_util.h"
#include "train/train_internal.h"
#include "train/train_testutil.h"

static const char *const conv_arch =
    "{\"input\": [1, 8, 8], \"range\": [0, 1], \"layers\": ["
    "{\"type\": \"conv2d\", \"name\": \"conv_in\", \"out\": 4, \"kernel\": 3, \"pad\": 1},"
    "{\"type\": \"swish\"}, {\"type\": \"global_sum_pool\"}, {\"type\": \"linear\", \"name\": \"dense\", \"out\": 1}]}";

/* 24 random 8×8 images (npy, in test_path), loaded in [0, 1]. */
static ebm_dataset *random_images(void) {
  uint8_t img[24 * 64];
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  for (int i = 0; i < 24 * 64; i++) img[i] = (uint8_t)ebm_rng_below(&rng, 256);
  const int64_t shape[3] = {24, 8, 8};
  char path[512], spec[600];
  snprintf(path, sizeof path, "%s", test_path("images.npy"));
  REQUIRE_OK(ebm_npy_save(path, EBM_DTYPE_U8, 3, shape, img));
  snprintf(spec, sizeof spec, "npy:%s", path);
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load(spec, 0, 1, &ds));
  return ds;
}

static ebm_train_config image_config(unsigned data_augment) {
  ebm_train_config c = ebm_train_defaults();
  c.batch = 8;
  c.iters = 4;
  c.sampler.steps = 2;
  c.buffer_size = 16;
  c.pos_noise = 0; /* the positives are then the (transformed) data items themselves */
  c.seed = 3;
  c.data_augment = data_augment;
  return c;
}

/* The positives of one step of a new trainer (8 items of 64 floats). */
static void first_positives(const ebm_dataset *ds, const ebm_train_config *c, float *x_pos) {
  ebm_net *net = NULL;
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_net_new(conv_arch, c->batch, &net));
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  REQUIRE_OK(ebm_net_init(net, &rng));
  REQUIRE_OK(ebm_trainer_new(net, ds, c, &t));
  REQUIRE_OK(ebm_trainer_step(t, NULL));
  memcpy(x_pos, t->x_pos, (size_t)(c->batch * 64) * sizeof(float));
  ebm_trainer_free(t);
  ebm_net_free(net);
}

/* out(h, w) = in(clamp(h − dy), clamp(w' − dx)), w' mirrored when flip: the
 * transforms ebm_augment_item draws for flip,shift. */
static int is_moved_copy(const float *moved, const float *x) {
  for (int flip = 0; flip < 2; flip++)
    for (int dy = -EBM_AUGMENT_SHIFT_MAX; dy <= EBM_AUGMENT_SHIFT_MAX; dy++)
      for (int dx = -EBM_AUGMENT_SHIFT_MAX; dx <= EBM_AUGMENT_SHIFT_MAX; dx++) {
        int same = 1;
        for (int h = 0; same && h < 8; h++)
          for (int w = 0; same && w < 8; w++) {
            int sh = h - dy, sw = (flip ? 7 - w : w) - dx;
            sh = sh < 0 ? 0 : sh > 7 ? 7 : sh;
            sw = sw < 0 ? 0 : sw > 7 ? 7 : sw;
            same = moved[h * 8 + w] == x[sh * 8 + sw];
          }
        if (same) return 1;
      }
  return 0;
}

/* The same batch drawn with and without --data-augment flip,shift: every
 * positive is a mirrored and/or shifted copy of the item drawn without
 * it, and at least one differs from it. */
TEST(data_augment_moves_each_positive_and_nothing_else) {
  ebm_dataset *ds = random_images();
  float plain[8 * 64], moved[8 * 64];
  ebm_train_config c = image_config(0);
  first_positives(ds, &c, plain);
  c = image_config(EBM_AUGMENT_FLIP | EBM_AUGMENT_SHIFT);
  first_positives(ds, &c, moved);
  int changed = 0;
  for (int i = 0; i < 8; i++) {
    CHECK(is_moved_copy(moved + i * 64, plain + i * 64));
    changed += memcmp(moved + i * 64, plain + i * 64, 64 * sizeof(float)) != 0;
  }
  CHECK(changed > 0);
  ebm_dataset_free(ds);
}

TEST(data_augment_resumes_bit_exactly) {
  ebm_dataset *ds = random_images();
  tt_check_resume_bit_exact(ds, image_config(EBM_AUGMENT_ALL), conv_arch, NULL, 0);
  ebm_dataset_free(ds);
}

TEST(data_augment_refuses_flips_of_vectors) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:moons:train:64", -4, 4, &ds));
  ebm_net *net = tt_mlp(8, 0, 8, 1);
  ebm_train_config c = tt_toy_config(8, 2, 2);
  c.data_augment = EBM_AUGMENT_FLIP;
  ebm_trainer *t = NULL;
  CHECK(ebm_trainer_new(net, ds, &c, &t) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "flip and shift need images") != NULL);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}

/* The energies of a checkpoint's network on 16 fixed images. */
static void energies_of(const char *ckpt, float *e) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_load(ckpt, 16, &net));
  float x[16 * 64];
  ebm_rng rng;
  ebm_rng_init(&rng, 9);
  ebm_rng_uniform(&rng, x, 16 * 64, 0.0f, 1.0f);
  REQUIRE_OK(ebm_net_energy(net, x, NULL, 16, e));
  ebm_net_free(net);
}

/* A run of 0 steps from a checkpoint saves that checkpoint's network
 * unchanged (a fresh run with the same seed does not), and a run from it
 * resumes bit-exactly. */
TEST(init_from_starts_a_fresh_run_at_the_checkpoints_weights) {
  ebm_dataset *ds = random_images();
  ebm_train_config c = image_config(0);
  char trained[512], started[512], fresh[512], ckpt[600], path[600];
  snprintf(trained, sizeof trained, "%s", test_path("trained"));
  snprintf(started, sizeof started, "%s", test_path("started"));
  snprintf(fresh, sizeof fresh, "%s", test_path("fresh"));
  ebm_run_opts o = {.run_dir = trained, .arch_json = conv_arch, .log_every = 1};
  REQUIRE_OK(ebm_train_run(ds, &c, &o, NULL));
  ebm_run_ckpt_path(trained, ckpt, sizeof ckpt);
  c.iters = 0;
  o = (ebm_run_opts){.run_dir = started, .init_from = ckpt, .log_every = 1};
  REQUIRE_OK(ebm_train_run(ds, &c, &o, NULL));
  o = (ebm_run_opts){.run_dir = fresh, .arch_json = conv_arch, .log_every = 1};
  REQUIRE_OK(ebm_train_run(ds, &c, &o, NULL));
  float e_trained[16], e_started[16], e_fresh[16];
  energies_of(ckpt, e_trained);
  energies_of(ebm_run_ckpt_path(started, path, sizeof path), e_started);
  energies_of(ebm_run_ckpt_path(fresh, path, sizeof path), e_fresh);
  CHECK(memcmp(e_trained, e_started, sizeof e_trained) == 0);
  CHECK(memcmp(e_trained, e_fresh, sizeof e_trained) != 0);

  /* a run from the checkpoint: N steps straight == N/2 + resume */
  char a[512], b[512], fa[600], fb[600];
  snprintf(a, sizeof a, "%s", test_path("from_straight"));
  snprintf(b, sizeof b, "%s", test_path("from_resumed"));
  c.iters = 4;
  c.lr_decay = EBM_LR_CONSTANT;
  o = (ebm_run_opts){.run_dir = a, .init_from = ckpt, .save_every = 2, .log_every = 1};
  REQUIRE_OK(ebm_train_run(ds, &c, &o, NULL));
  c.iters = 2;
  o.run_dir = b;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, NULL));
  c.iters = 4;
  o.resume = 1;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, NULL));
  CHECK(test_same_file(ebm_run_ckpt_path(a, fa, sizeof fa), ebm_run_ckpt_path(b, fb, sizeof fb)));
  CHECK(test_same_file(ebm_run_state_path(a, fa, sizeof fa), ebm_run_state_path(b, fb, sizeof fb)));
  ebm_dataset_free(ds);
}

TEST(init_from_refuses_another_range_and_a_method_with_its_own_model) {
  ebm_dataset *ds = random_images();
  ebm_train_config c = image_config(0);
  char trained[512], other[512], ckpt[600];
  snprintf(trained, sizeof trained, "%s", test_path("trained"));
  snprintf(other, sizeof other, "%s", test_path("other"));
  c.iters = 1;
  ebm_run_opts o = {.run_dir = trained, .arch_json = conv_arch};
  REQUIRE_OK(ebm_train_run(ds, &c, &o, NULL));
  ebm_run_ckpt_path(trained, ckpt, sizeof ckpt);
  ebm_dataset *wide = NULL;
  char spec[600];
  snprintf(spec, sizeof spec, "npy:%s", test_path("images.npy"));
  REQUIRE_OK(ebm_dataset_load(spec, -1, 1, &wide));
  c.range_lo = -1;
  o = (ebm_run_opts){.run_dir = other, .init_from = ckpt};
  CHECK(ebm_train_run(wide, &c, &o, NULL) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "models the range [0, 1] and the run's is [-1, 1]") != NULL);
  c = image_config(0);
  c.method = (ebm_train_method)ebm_train_method_from_name("flow");
  CHECK(ebm_train_run(ds, &c, &o, NULL) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "builds its own model") != NULL);
  ebm_dataset_free(wide);
  ebm_dataset_free(ds);
}
