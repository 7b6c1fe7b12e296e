/* The run directory of `ebm train` (issue 13, items 3, 4, 5, 10, 11, 13):
 * refused when it is a file or a folder that is not a run, locked against a
 * second training, cleared of temp files, checked before the first step,
 * and no folder left behind by a run that could not start. */
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

#define TOY_RUN "train --data toy:8gaussians:train:300 --arch mlp --width 16 --batch 16 --steps 3 " \
                "--sampler ula --step-size 0.1 --lr 1e-2 --seed 3"

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static const char *in_run(const char *run, const char *name) {
  static char buf[4][700];
  static int next;
  char *b = buf[next++ % 4];
  snprintf(b, sizeof buf[0], "%s/%s", run, name);
  return b;
}

TEST(cli_train_out_naming_a_file_says_not_a_directory) {
  const char *f = test_path("afile");
  test_write_file(f, "keep", 4);
  CLI_EXPECT(run_cli(TOY_RUN " --iters 1 --out %s", f), 1, "afile: not a directory");
  char *text = test_read_text(f);
  CHECK(text && strcmp(text, "keep") == 0);
  free(text);
}

TEST(cli_train_refuses_a_non_empty_folder_that_is_not_a_run_unless_forced) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", test_path("photos"));
  REQUIRE(mkdir(dir, 0755) == 0);
  test_write_file(in_run(dir, "holiday.jpg"), "jpeg", 4);
  CLI_EXPECT(run_cli(TOY_RUN " --iters 1 --out %s", dir), 1, "photos: not empty (it holds 'holiday.jpg')");
  CHECK(!exists(in_run(dir, "config.json")) && !exists(in_run(dir, "ckpt")));
  CHECK(!exists(in_run(dir, ".lock"))); /* a wrong --out (a home folder) gets nothing written */
  CHECK(exists(in_run(dir, "holiday.jpg")));
  CLI_EXPECT(run_cli(TOY_RUN " --iters 1 --out %s --force", dir), 0, NULL);
  CHECK(exists(in_run(dir, "ckpt/last.safetensors")) && exists(in_run(dir, "holiday.jpg")));
}

/* A run that diverged before its first checkpoint is not a run to resume:
 * starting again over it would silently replace its config and metrics. */
TEST(cli_train_refuses_a_diverged_run_without_checkpoint_unless_forced) {
  char run[512];
  snprintf(run, sizeof run, "%s", test_path("run"));
  setenv("EBM_TEST_INJECT_NAN_AT", "2", 1);
  CLI_EXPECT(run_cli(TOY_RUN " --iters 5 --save-every 0 --out %s", run), 1, "diverged at step 2");
  unsetenv("EBM_TEST_INJECT_NAN_AT");
  REQUIRE(exists(in_run(run, "metrics.jsonl")) && !exists(in_run(run, "ckpt/last.safetensors")));
  char *before = test_read_text(in_run(run, "metrics.jsonl"));
  CLI_EXPECT(run_cli(TOY_RUN " --iters 3 --out %s", run), 1, "not a run to resume; give a new directory, or --force");
  char *after = test_read_text(in_run(run, "metrics.jsonl"));
  CHECK(before && after && strcmp(before, after) == 0);
  free(before);
  free(after);
  CLI_EXPECT(run_cli("train --out %s --resume --iters 3", run), 1, "nothing to resume");
  CLI_EXPECT(run_cli(TOY_RUN " --iters 3 --out %s --force", run), 0, NULL);
}

/* A second training on a locked folder gets one line naming the holder. */
TEST(cli_train_refuses_a_run_directory_locked_by_another_process) {
  char run[512];
  snprintf(run, sizeof run, "%s", test_path("run"));
  CLI_EXPECT(run_cli(TOY_RUN " --iters 2 --out %s", run), 0, NULL);
  int fd = open(in_run(run, ".lock"), O_RDWR);
  REQUIRE(fd >= 0);
  REQUIRE(flock(fd, LOCK_EX | LOCK_NB) == 0); /* as a running ebm train holds it */
  REQUIRE(ftruncate(fd, 0) == 0);
  REQUIRE(pwrite(fd, "4242\n", 5, 0) == 5);
  CLI_EXPECT(run_cli("train --out %s --resume --iters 4", run), 1, "run: in use by another ebm train (pid 4242)");
  CLI_EXPECT(run_cli(TOY_RUN " --iters 1 --out %s", run), 1, "in use by another ebm train");
  close(fd); /* released: the resume goes through */
  CLI_EXPECT(run_cli("train --out %s --resume --iters 4", run), 0, NULL);
}

/* kill -9 during a save leaves full-size temp files; the next start or
 * resume removes them (and only them). */
TEST(cli_train_removes_temp_files_of_interrupted_saves) {
  char run[512];
  snprintf(run, sizeof run, "%s", test_path("run"));
  CLI_EXPECT(run_cli(TOY_RUN " --iters 2 --out %s", run), 0, NULL);
  test_write_file(in_run(run, "ckpt/last.state.safetensors.tmp-Ab3dE9"), "partial", 7);
  test_write_file(in_run(run, "ckpt/last.safetensors.tmp-x1Y2z3"), "partial", 7);
  test_write_file(in_run(run, "config.json.tmp-QwErTy"), "partial", 7);
  test_write_file(in_run(run, "ckpt/notes.tmp-keep"), "mine", 4); /* not ours: suffix is not 6 chars */
  CLI_EXPECT(run_cli("train --out %s --resume --iters 3", run), 0, NULL);
  CHECK(!exists(in_run(run, "ckpt/last.state.safetensors.tmp-Ab3dE9")));
  CHECK(!exists(in_run(run, "ckpt/last.safetensors.tmp-x1Y2z3")));
  CHECK(!exists(in_run(run, "config.json.tmp-QwErTy")));
  CHECK(exists(in_run(run, "ckpt/notes.tmp-keep")));
  /* a new run in a folder holding only such leftovers starts */
  char fresh[512];
  snprintf(fresh, sizeof fresh, "%s", test_path("fresh"));
  REQUIRE(mkdir(fresh, 0755) == 0);
  test_write_file(in_run(fresh, "config.json.tmp-AAAAAA"), "partial", 7);
  CLI_EXPECT(run_cli(TOY_RUN " --iters 1 --out %s", fresh), 0, NULL);
  CHECK(!exists(in_run(fresh, "config.json.tmp-AAAAAA")));
}

/* The checkpoint metadata is validated before step 1: a data path that is
 * not UTF-8 used to train 300 steps, then fail to save. */
TEST(cli_train_validates_checkpoint_metadata_before_the_first_step) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  float v[64 * 2];
  for (int i = 0; i < 128; i++) v[i] = (float)((i * 37) % 100) / 25.0f - 2.0f;
  int64_t shape[2] = {64, 2};
  REQUIRE_OK(ebm_npy_save("pts\xff.npy", EBM_DTYPE_F32, 2, shape, v));
  CLI_EXPECT(run_cli("train --data 'npy:pts\xff.npy' --arch mlp --width 8 --batch 8 --steps 1 --range -4,4 "
                 "--iters 300 --out run"), 1, "metadata 'data' is not a valid UTF-8");
  CHECK(!exists("run")); /* nothing trained, nothing left */
}

TEST(cli_train_resume_of_a_finished_run_says_already_at_step) {
  char run[512];
  snprintf(run, sizeof run, "%s", test_path("run"));
  CLI_EXPECT(run_cli(TOY_RUN " --iters 4 --out %s", run), 0, NULL);
  char *before = test_read_text(in_run(run, "metrics.jsonl"));
  cli_result r = run_cli("train --out %s --resume --iters 2", run);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "run: already at step 4, and --iters is 2: nothing to do");
  CHECK(!strstr(r.out, "loss 0")); /* no made-up summary */
  cli_result_free(&r);
  /* a new run of 0 steps writes the untrained model and says so */
  r = run_cli(TOY_RUN " --iters 0 --out %s", test_path("zero"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "step 0 of 0");
  CHECK_CONTAINS(r.out, "no steps run (untrained)");
  CHECK(!strstr(r.out, "loss"));
  cli_result_free(&r);
  CLI_EXPECT(run_cli("train --out %s --resume --iters 4", run), 1, "already at step 4");
  char *after = test_read_text(in_run(run, "metrics.jsonl"));
  CHECK(before && after && strcmp(before, after) == 0);
  free(before);
  free(after);
}

/* Every bad value is exit 2 naming the flag and the value, before any
 * folder is made; --iters with --epochs is a conflict. */
TEST(cli_train_bad_values_are_usage_errors_naming_flag_and_value) {
  const char *out = test_path("run");
  struct {
    const char *args, *needle;
  } cases[] = {
      {"--lr -1", "--lr must be > 0, got -1"},
      {"--lr 0", "--lr must be > 0, got 0"},
      {"--beta1 1", "--beta1 must be in [0, 1), got 1"},
      {"--beta2 -0.5", "--beta2 must be in [0, 1), got -0.5"},
      {"--clip-std -1", "--clip-std must be >= 0 (0 = off), got -1"},
      {"--clip-norm -2", "--clip-norm must be >= 0 (0 = off), got -2"},
      {"--weight-decay -1", "--weight-decay must be >= 0, got -1"},
      {"--lr-min 1", "--lr-min must be in [0, lr], got 1"},
      {"--step-size -1", "--step-size must be > 0, got -1"},
      {"--noise -1", "--noise must be >= 0, got -1"},
      {"--grad-clip -1", "--grad-clip must be >= 0 (0 = off), got -1"},
      {"--sampler hmc --leapfrog 0", "--leapfrog must be >= 1, got 0"},
      {"--max-energy 0", "--max-energy must be > 0, got 0"},
      {"--iters 5 --epochs 1", "--iters and --epochs both given"},
      {"--threads -1", "--threads must be at least 1, got -1"},
      {"--range 0,1e39", "--range expects LO,HI with finite LO < HI (e.g. 0,1 or -1,1), got '0,1e39'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cli_result r = run_cli(TOY_RUN " %s --out %s", cases[i].args, out);
    if (r.code != 2) fprintf(stderr, "case %zu: exit %d: %s\n", i, r.code, r.err);
    CHECK_EQ_INT(r.code, 2);
    CHECK_CONTAINS(r.err, cases[i].needle);
    cli_result_free(&r);
    CHECK(!exists(out));
  }
  /* a run that fails after making its folder but before step 1 removes it */
  CLI_EXPECT(run_cli("train --data toy:moons --arch uva-cnn --iters 1 --out %s", out), 1, "the network takes");
  CHECK(!exists(out));
}

TEST(cli_threads_from_the_environment_are_checked_like_the_flag) {
  const char *bad[] = {"-1", "0", "abc", "3x", "100000"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    setenv("EBM_THREADS", bad[i], 1);
    cli_result r = run_cli("version");
    CHECK_EQ_INT(r.code, 2);
    CHECK_CONTAINS(r.err, "EBM_THREADS must be a thread count in 1..256, got '");
    CHECK_CONTAINS(r.err, bad[i]);
    cli_result_free(&r);
  }
  setenv("EBM_THREADS", "2", 1);
  cli_result r = run_cli("version");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "threads 2");
  cli_result_free(&r);
  unsetenv("EBM_THREADS");
  CLI_EXPECT(run_cli("version --threads -5"), 2, "--threads must be at least 1, got -5");
}

/* Starts a slow training (long Langevin chains) with stderr in a file. */
static pid_t start_slow_run(const char *run, const char *err) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 2) < 0) _exit(99);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1);
    execl(EBM_CLI_PATH, "ebm", "train", "--data", "toy:8gaussians:train:300", "--arch", "mlp", "--width", "16",
          "--batch", "16", "--steps", "30000", "--iters", "100000000", "--save-every", "1", "--out", run,
          (char *)NULL);
    _exit(98);
  }
  return pid;
}

/* Polls `path` until it contains `needle` (or about 60 s pass). */
static int wait_for_text(const char *path, const char *needle) {
  for (int tries = 0; tries < 6000; tries++) {
    char *t = test_read_text(path);
    int found = t && strstr(t, needle);
    free(t);
    if (found) return 1;
    struct timespec ms = {0, 10000000L};
    nanosleep(&ms, NULL);
  }
  return 0;
}

/* Polls until `path` exists (or about 60 s pass): a checkpoint appears
 * whole, by rename. The metrics line of a step is written before its save,
 * so on a busy machine a signal sent after the line may beat the save. */
static int wait_for_file(const char *path) {
  for (int tries = 0; tries < 6000; tries++) {
    if (access(path, F_OK) == 0) return 1;
    struct timespec ms = {0, 10000000L};
    nanosleep(&ms, NULL);
  }
  return 0;
}

/* The saved checkpoint loads, and the run resumes from it (with short
 * chains, to be quick). */
static void resume_one_more_step(const char *run) {
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(in_run(run, "ckpt/last.safetensors"), &st));
  const char *step = ebm_safetensors_meta(st, "step");
  long done = step ? strtol(step, NULL, 10) : -1;
  ebm_safetensors_free(st);
  CHECK(done >= 1);
  cli_result r = run_cli("train --out %s --resume --steps 3 --iters %ld", run, done + 1);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "step ");
  cli_result_free(&r);
}

/* SIGHUP (the terminal closed) saves like SIGTERM and exits 129. */
TEST(cli_train_sighup_saves_and_exits_129) {
  char run[512], err[600];
  snprintf(run, sizeof run, "%s", test_path("run"));
  snprintf(err, sizeof err, "%s", test_path("stderr.txt"));
  pid_t pid = start_slow_run(run, err);
  REQUIRE(wait_for_text(in_run(run, "metrics.jsonl"), "\"step\":1,"));
  kill(pid, SIGHUP);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK_EQ_INT(WEXITSTATUS(status), 129);
  char *e = test_read_text(err);
  CHECK_CONTAINS(e, "ebm train: SIGHUP: finishing this step, then saving (a second signal stops at once");
  CHECK_CONTAINS(e, "interrupted at step");
  free(e);
  resume_one_more_step(run);
}

/* A second signal stops at once, says so, and the last save stays whole. */
TEST(cli_train_second_signal_stops_at_once_and_keeps_the_last_checkpoint) {
  char run[512], err[600];
  snprintf(run, sizeof run, "%s", test_path("run"));
  snprintf(err, sizeof err, "%s", test_path("stderr.txt"));
  pid_t pid = start_slow_run(run, err);
  REQUIRE(wait_for_text(in_run(run, "metrics.jsonl"), "\"step\":1,"));
  REQUIRE(wait_for_file(in_run(run, "ckpt/last.safetensors")));
  struct timespec into_the_step = {0, 100000000L}; /* a step takes about a second */
  nanosleep(&into_the_step, NULL);
  kill(pid, SIGINT);
  REQUIRE(wait_for_text(err, "finishing this step"));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  char *e = test_read_text(err);
  if (WIFSIGNALED(status)) { /* the usual case: the step takes far longer than the two kills */
    CHECK_EQ_INT(WTERMSIG(status), SIGINT);
    CHECK_CONTAINS(e, "ebm train: second SIGINT: stopping now without saving; the last saved checkpoint is intact");
  } else {
    CHECK_EQ_INT(WEXITSTATUS(status), 130);
  }
  free(e);
  resume_one_more_step(run);
}
