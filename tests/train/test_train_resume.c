/* Run directories: bit-exact resume, divergence that keeps the last good
 * checkpoint, interruption, and checkpoints that survive SIGKILL. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "train/train_testutil.h"

/* A small residual conv net with spectral norm (its power-iteration u, v
 * are state a resume must carry) and class conditioning. */
static const char *const conv_arch =
    "{\"input\": [1, 8, 8], \"classes\": 2, \"range\": [0, 1], \"spectral_norm\": true, \"layers\": ["
    "{\"type\": \"conv2d\", \"name\": \"conv_in\", \"out\": 4, \"kernel\": 3, \"pad\": 1},"
    "{\"type\": \"resblock\", \"name\": \"blocks.0\", \"out\": 4, \"down\": true, \"act\": \"swish\"},"
    "{\"type\": \"global_sum_pool\"}, {\"type\": \"linear\", \"name\": \"dense\", \"out\": 1}]}";

static const char *const mlp_arch = "{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": 16, \"depth\": 2, \"classes\": 8}";

/* 40 random 8×8 images with labels 0/1, as npy files; returns the spec. */
static const char *image_spec(void) {
  static char spec[1024];
  uint8_t img[40 * 64];
  int32_t lab[40];
  ebm_rng rng;
  ebm_rng_init(&rng, 4);
  for (int i = 0; i < 40 * 64; i++) img[i] = (uint8_t)ebm_rng_below(&rng, 256);
  for (int i = 0; i < 40; i++) lab[i] = i % 2;
  int64_t shape[3] = {40, 8, 8}, lshape[1] = {40};
  char x[512], y[512];
  snprintf(x, sizeof x, "%s", test_path("x.npy"));
  snprintf(y, sizeof y, "%s", test_path("y.npy"));
  REQUIRE_OK(ebm_npy_save(x, EBM_DTYPE_U8, 3, shape, img));
  REQUIRE_OK(ebm_npy_save(y, EBM_DTYPE_I32, 1, lshape, lab));
  snprintf(spec, sizeof spec, "npy:%s,%s", x, y);
  return spec;
}

static ebm_train_config small_config(int64_t iters) {
  ebm_train_config c = ebm_train_defaults();
  c.batch = 8;
  c.iters = iters;
  c.sampler.steps = 3;
  c.buffer_size = 32;
  c.conditional = 1;
  c.seed = 77;
  return c;
}

/* Saves every 2 steps; sample pictures every 3 for images (a 2-D density
 * picture of a conditional model costs 8 grids: only the toy CLI test
 * draws those). */
static ebm_run_opts opts_for(const char *dir, const char *arch, int resume) {
  ebm_run_opts o = {0};
  int images = arch && strstr(arch, "conv2d");
  o.run_dir = dir;
  o.arch_json = arch;
  o.resume = resume;
  o.save_every = 2;
  o.sample_every = images ? 3 : 0;
  o.log_every = 1;
  o.sample_count = 8;
  return o;
}

/* N steps straight == N/2, then resume to N: identical checkpoint and
 * state files, byte for byte (the weights, Adam, the replay buffer, RNG).
 * With icd, improved CD is on: the KL and entropy terms, augmentation of
 * restarted chains (flips and shifts on images) and a reservoir (images)
 * or fifo (points) buffer, whose counters the state must carry. */
static void check_resume(const char *spec, const char *arch, float lo, float hi, int threads, int icd) {
  REQUIRE_OK(ebm_threads_init(threads));
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load(spec, 0, 1, &ds));
  ebm_train_config c = small_config(6);
  c.range_lo = lo;
  c.range_hi = hi;
  if (icd) {
    const int images = strstr(arch, "conv2d") != NULL;
    c.kl_weight = 1.0f;
    c.entropy_weight = 0.3f;
    c.augment = images ? EBM_AUGMENT_ALL : EBM_AUGMENT_NOISE;
    c.buffer_policy = images ? EBM_REPLAY_RESERVOIR : EBM_REPLAY_FIFO;
  }
  char a[512], b[512], fa[600], fb[600];
  snprintf(a, sizeof a, "%s", test_path("straight"));
  snprintf(b, sizeof b, "%s", test_path("resumed"));
  ebm_run_opts o = opts_for(a, arch, 0);
  int64_t done = 0;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  CHECK(done == 6);
  c.iters = 3;
  o = opts_for(b, arch, 0);
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  CHECK(done == 3);
  c.iters = 6;
  o = opts_for(b, arch, 1);
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  CHECK(done == 6);
  CHECK(test_same_file(ebm_run_ckpt_path(a, fa, sizeof fa), ebm_run_ckpt_path(b, fb, sizeof fb)));
  CHECK(test_same_file(ebm_run_state_path(a, fa, sizeof fa), ebm_run_state_path(b, fb, sizeof fb)));
  /* metrics: one line per step either way */
  snprintf(fa, sizeof fa, "%s/metrics.jsonl", b);
  uint8_t *m = NULL;
  size_t size = 0;
  REQUIRE_OK(ebm_read_file(fa, 1 << 20, &m, &size));
  int lines = 0;
  for (size_t i = 0; i < size; i++) lines += m[i] == '\n';
  CHECK_EQ_INT(lines, 6);
  free(m);
  /* a different seed gives different weights (the comparison can fail) */
  char d[512];
  snprintf(d, sizeof d, "%s", test_path("other_seed"));
  c.seed = 78;
  o = opts_for(d, arch, 0);
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  CHECK(!test_same_file(ebm_run_ckpt_path(a, fa, sizeof fa), ebm_run_ckpt_path(d, fb, sizeof fb)));
  ebm_dataset_free(ds);
}

TEST(resume_is_bit_exact_for_a_conditional_mlp_at_1_thread) {
  check_resume("toy:8gaussians:train:200", mlp_arch, -4, 4, 1, 0);
}
TEST(resume_is_bit_exact_for_a_conditional_mlp_at_2_threads) {
  check_resume("toy:8gaussians:train:200", mlp_arch, -4, 4, 2, 0);
}
TEST(resume_is_bit_exact_for_a_spectral_norm_resnet_at_1_thread) {
  check_resume(image_spec(), conv_arch, 0, 1, 1, 0);
}
TEST(resume_is_bit_exact_for_a_spectral_norm_resnet_at_2_threads) {
  check_resume(image_spec(), conv_arch, 0, 1, 2, 0);
}
TEST(resume_is_bit_exact_with_improved_cd_for_a_conditional_mlp) {
  check_resume("toy:8gaussians:train:200", mlp_arch, -4, 4, 2, 1);
}
TEST(resume_is_bit_exact_with_improved_cd_for_a_spectral_norm_resnet_at_1_thread) {
  check_resume(image_spec(), conv_arch, 0, 1, 1, 1);
}
TEST(resume_is_bit_exact_with_improved_cd_for_a_spectral_norm_resnet_at_2_threads) {
  check_resume(image_spec(), conv_arch, 0, 1, 2, 1);
}

/* The pool may run a job on all its threads or alone in the caller
 * (core/pool_adapt.h, EBM_POOL_ADAPT): at 2 threads every mode, and
 * flipping the mode every job, gives the checkpoint of the pool that always
 * uses all threads, byte for byte. (Against 1 thread the weights differ in
 * the last bits: a network built for 2 threads sums its conv weight
 * gradients in 2 per-slot partial sums, ops.h.) Batch 32: the convs are
 * cut into 4 chunks. */
TEST(training_is_bit_identical_whether_the_pool_runs_jobs_alone_or_on_all_threads) {
  const char *modes[] = {"all", "flip", "alone", "adapt"};
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load(image_spec(), 0, 1, &ds));
  ebm_train_config c = small_config(3);
  c.batch = 32;
  char dir[4][512], f0[600], f[600];
  for (int m = 0; m < 4; m++) {
    REQUIRE_OK(setenv("EBM_POOL_ADAPT", modes[m], 1) == 0 ? EBM_OK : EBM_ERR_INTERNAL);
    ebm_threads_shutdown();
    REQUIRE_OK(ebm_threads_init(2));
    snprintf(dir[m], sizeof dir[m], "%s", test_path(modes[m]));
    ebm_run_opts o = opts_for(dir[m], conv_arch, 0);
    int64_t done = 0;
    REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
    CHECK_EQ_INT(done, 3);
    if (!test_same_file(ebm_run_ckpt_path(dir[0], f0, sizeof f0), ebm_run_ckpt_path(dir[m], f, sizeof f)))
      test_fail_at(__FILE__, __LINE__, "EBM_POOL_ADAPT=%s differs from =all", modes[m]);
  }
  unsetenv("EBM_POOL_ADAPT");
  ebm_dataset_free(ds);
}

static void stop_after_two(void *ctx, const ebm_train_stats *s) {
  if (s->step == 2) *(volatile sig_atomic_t *)ctx = 1;
}

/* The stop flag (what SIGINT sets) ends the run after the current step
 * with everything saved; resuming then matches a straight run. */
TEST(an_interrupted_run_saves_and_resumes_bit_exactly) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:200", 0, 1, &ds));
  ebm_train_config c = small_config(5);
  c.range_lo = -4;
  c.range_hi = 4;
  char a[512], b[512], fa[600], fb[600];
  snprintf(a, sizeof a, "%s", test_path("straight"));
  snprintf(b, sizeof b, "%s", test_path("interrupted"));
  ebm_run_opts o = opts_for(a, mlp_arch, 0);
  REQUIRE_OK(ebm_train_run(ds, &c, &o, NULL));
  volatile sig_atomic_t stop = 0;
  o = opts_for(b, mlp_arch, 0);
  o.save_every = 0;
  o.stop = &stop;
  o.on_step = stop_after_two;
  o.ctx = (void *)&stop;
  int64_t done = 0;
  CHECK_FAILS_WITH(ebm_train_run(ds, &c, &o, &done), EBM_ERR_INTERRUPTED, "interrupted at step 2 of 5");
  CHECK(done == 2);
  ebm_net *net = NULL;
  CHECK_OK(ebm_net_load(ebm_run_ckpt_path(b, fb, sizeof fb), 8, &net));
  ebm_net_free(net);
  o = opts_for(b, NULL, 1);
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  CHECK(done == 5);
  CHECK(test_same_file(ebm_run_ckpt_path(a, fa, sizeof fa), ebm_run_ckpt_path(b, fb, sizeof fb)));
  /* a fresh run over a checkpoint is refused; resuming nothing is an error */
  o = opts_for(b, mlp_arch, 0);
  CHECK_FAILS_WITH(ebm_train_run(ds, &c, &o, NULL), EBM_ERR_ARG, "holds a checkpoint already");
  o = opts_for(test_path("empty"), NULL, 1);
  CHECK_FAILS_WITH(ebm_train_run(ds, &c, &o, NULL), EBM_ERR_IO, "nothing to resume");
  ebm_dataset_free(ds);
}

/* A NaN energy at step 5 (saves every 2): the run stops naming the step
 * and the quantity, and the checkpoint on disk is the step-4 one, byte
 * for byte what a clean 4-step run writes. */
TEST(divergence_stops_with_the_step_and_keeps_the_last_good_checkpoint) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:200", 0, 1, &ds));
  ebm_train_config c = small_config(10);
  c.range_lo = -4;
  c.range_hi = 4;
  c.inject_nan_at = 5;
  char a[512], b[512], fa[600], fb[600];
  snprintf(a, sizeof a, "%s", test_path("diverged"));
  snprintf(b, sizeof b, "%s", test_path("clean"));
  ebm_run_opts o = opts_for(a, mlp_arch, 0);
  int64_t done = 0;
  CHECK_FAILS_WITH(ebm_train_run(ds, &c, &o, &done), EBM_ERR_NUMERIC, "diverged at step 5: e_neg is NaN");
  CHECK_CONTAINS(ebm_last_error(), a);
  CHECK(done == 4);
  c.inject_nan_at = 0;
  c.iters = 4;
  o = opts_for(b, mlp_arch, 0);
  REQUIRE_OK(ebm_train_run(ds, &c, &o, NULL));
  CHECK(test_same_file(ebm_run_ckpt_path(a, fa, sizeof fa), ebm_run_ckpt_path(b, fb, sizeof fb)));
  CHECK(test_same_file(ebm_run_state_path(a, fa, sizeof fa), ebm_run_state_path(b, fb, sizeof fb)));
  ebm_net *net = NULL;
  CHECK_OK(ebm_net_load(ebm_run_ckpt_path(a, fa, sizeof fa), 8, &net));
  ebm_net_free(net);
  /* an energy bound is divergence too */
  c.iters = 3;
  c.max_energy = 1e-6f;
  o = opts_for(test_path("bound"), mlp_arch, 0);
  CHECK_FAILS_WITH(ebm_train_run(ds, &c, &o, NULL), EBM_ERR_NUMERIC, "diverged at step 1: e_pos is");
  CHECK_CONTAINS(ebm_last_error(), "beyond max_energy");
  ebm_dataset_free(ds);
}

/* A child saves checkpoints in a loop, alternating two networks; it is
 * SIGKILLed at random moments. Whatever the moment, the file loads and is
 * exactly one of the two networks. */
TEST(a_checkpoint_killed_mid_write_is_never_corrupt) {
  ebm_net *a = tt_mlp(64, 0, 4, 1), *b = tt_mlp(64, 0, 4, 2);
  const char *path = test_path("last.safetensors");
  REQUIRE_OK(ebm_net_save(a, path, 0, NULL, NULL));
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  int kills = 0;
  for (int round = 0; round < 12; round++) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      for (int k = 0;; k++)
        if (ebm_net_save(k % 2 ? b : a, path, 0, NULL, NULL) != EBM_OK) _exit(3);
    }
    struct timespec wait = {0, 1000000L + 1000L * (long)ebm_rng_below(&rng, 20000)};
    nanosleep(&wait, NULL);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    kills += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    ebm_net *got = NULL;
    REQUIRE_OK(ebm_net_load(path, 4, &got));
    int match_a = 1, match_b = 1;
    for (int i = 0; i < ebm_net_param_count(got); i++) {
      const ebm_tensor *g = ebm_net_param(got, i)->value;
      size_t bytes = (size_t)ebm_tensor_numel(g) * sizeof(float);
      match_a &= memcmp(g->data, ebm_net_param(a, i)->value->data, bytes) == 0;
      match_b &= memcmp(g->data, ebm_net_param(b, i)->value->data, bytes) == 0;
    }
    CHECK(match_a || match_b);
    ebm_net_free(got);
  }
  CHECK_EQ_INT(kills, 12);
  ebm_net_free(a);
  ebm_net_free(b);
}
