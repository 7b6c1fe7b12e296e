/* `mpirun -np 2 ebm train`: data-parallel training over MPI gives the same
 * bytes as one process with the same --slices (ebm/dist.h), resumes with
 * its slices, and refuses what it cannot do. Skipped (saying so) when the
 * build has no MPI. */
#include <dirent.h>

#include "test_util.h"

/* A tiny conditional toy run: per-class stores in each slice's buffer share. */
#define MPI_RUN "train --data toy:8gaussians:train:300 --arch mlp --width 16 --batch 16 --steps 3 --sampler ula " \
                "--step-size 0.1 --lr 1e-2 --lr-decay none --seed 5 --conditional --threads 1 --slices 4"

static const char *const ckpt_files[] = {"last.safetensors", "last.state.safetensors",
                                         "last.state.slice-0.step-%d.safetensors",
                                         "last.state.slice-3.step-%d.safetensors"};

/* Every checkpoint file of run a at `step` equals run b's, byte for byte. */
static void check_same_checkpoints(const char *a, const char *b, int step) {
  char name[128], fa[700], fb[700];
  for (size_t i = 0; i < sizeof ckpt_files / sizeof *ckpt_files; i++) {
    snprintf(name, sizeof name, ckpt_files[i], step);
    snprintf(fa, sizeof fa, "%s/ckpt/%s", a, name);
    snprintf(fb, sizeof fb, "%s/ckpt/%s", b, name);
    if (!test_same_file(fa, fb)) test_fail_at(__FILE__, __LINE__, "%s and %s differ", fa, fb);
  }
}

static int count_substr(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p++) n++;
  return n;
}

static int count_slice_files(const char *run) {
  char dir[600];
  snprintf(dir, sizeof dir, "%s/ckpt", run);
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) n += strstr(e->d_name, ".slice-") != NULL;
  if (d) closedir(d);
  return n;
}

/* MPI_RUN for `iters` steps into tmpdir/name (one process, no mpirun);
 * its path into run. */
static void train_one_process(const char *name, int iters, char *run, size_t size) {
  snprintf(run, size, "%s", test_path(name));
  cli_result r = run_cli(MPI_RUN " --iters %d --out %s", iters, run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
}

TEST(cli_mpi_two_ranks_write_the_bytes_of_one_process) {
  char one[512], two[512];
  snprintf(two, sizeof two, "%s", test_path("np2"));
  cli_result r = run_cli_mpi(2, MPI_RUN " --iters 5 --out %s", two); /* first: skips without MPI */
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "step 5 of 5");
  /* one summary line: rank 1 says nothing on success */
  CHECK_EQ_INT(count_substr(r.out, "trained pcd"), 1);
  CHECK_EQ_INT(count_substr(r.err, "ebm train: recipe"), 1);
  cli_result_free(&r);
  train_one_process("np1", 5, one, sizeof one);
  check_same_checkpoints(one, two, 5);
  CHECK_EQ_INT(count_slice_files(two), 4);
}

/* Half the run on 2 ranks, saved every 2 steps (old steps' slice files are
 * removed), then resumed on 2 ranks: the bytes of the straight one-process
 * run. */
TEST(cli_mpi_resume_on_two_ranks_is_bit_exact) {
  char straight[512], resumed[512];
  snprintf(resumed, sizeof resumed, "%s", test_path("resumed"));
  cli_result r = run_cli_mpi(2, MPI_RUN " --iters 3 --save-every 2 --out %s", resumed);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  CHECK_EQ_INT(count_slice_files(resumed), 4); /* step 3's only: step 2's are gone */
  r = run_cli_mpi(2, "train --out %s --resume --iters 6 --threads 1", resumed);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "step 6 of 6");
  cli_result_free(&r);
  train_one_process("straight", 6, straight, sizeof straight);
  check_same_checkpoints(straight, resumed, 6);
}

/* A divergence stops every rank after the same step and keeps the last
 * good checkpoint; rank 0 tells it as one process would, another rank
 * (which found it too) says which rank it is. */
TEST(cli_mpi_divergence_stops_every_rank) {
  char run[512], path[700];
  snprintf(run, sizeof run, "%s", test_path("diverged"));
  setenv("EBM_TEST_INJECT_NAN_AT", "3", 1);
  cli_result r = run_cli_mpi(2, MPI_RUN " --iters 6 --save-every 2 --out %s", run);
  CHECK_EQ_INT(r.code, 1);
  snprintf(path, sizeof path, "ebm: %s: diverged at step 3: e_neg is NaN", run);
  CHECK_CONTAINS(r.err, path);
  CHECK_EQ_INT(count_substr(r.err, "ebm: rank 0"), 0);
  CHECK_EQ_INT(count_substr(r.err, "diverged at step 3") - count_substr(r.err, "ebm: rank 1: "), 1);
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/events.jsonl", run);
  char *events = test_read_text(path);
  CHECK_CONTAINS(events, "\"event\":\"diverged\"");
  free(events);
  CHECK_EQ_INT(count_slice_files(run), 4); /* step 2's, the last good save */
}

/* `ebm version` says whether this build can train over MPI. */
TEST(cli_version_says_whether_mpi_is_built_in) {
  cli_result r = run_cli("version");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, ebm_dist_have_mpi() ? "\nmpi yes" : "\nmpi no");
  cli_result_free(&r);
}

TEST(cli_mpi_refuses_more_ranks_than_slices) {
  cli_result r = run_cli_mpi(2, "train --data toy:8gaussians:train:300 --arch mlp --width 16 --batch 16 --steps 1 "
                                "--iters 1 --slices 1 --out %s", test_path("run"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "2 ranks share a batch of 1 slices: give slices >= 2");
  cli_result_free(&r);
  /* without --slices, a new run takes one per rank and records it */
  char path[700];
  r = run_cli_mpi(2, "train --data toy:8gaussians:train:300 --arch mlp --width 16 --batch 16 --steps 1 "
                     "--iters 1 --out %s", test_path("default"));
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/config.json", test_path("default"));
  char *cfg = test_read_text(path);
  CHECK_CONTAINS(cfg, "\"slices\":\t2");
  free(cfg);
}

/* The slices are the run's identity: a resume may not change them, and
 * they must divide the batch and the buffer. Plain processes, no MPI. */
TEST(cli_train_slices_are_checked_and_kept_on_resume) {
  char run[512], straight[512];
  train_one_process("run", 2, run, sizeof run);
  cli_result r = run_cli("train --out %s --resume --iters 3 --slices 2", run);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--slices 2 differs from the run's 4");
  cli_result_free(&r);
  /* one process, leak-checked: resumed with its slices = straight */
  train_one_process("straight", 4, straight, sizeof straight);
  r = run_cli("train --out %s --resume --iters 4", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  check_same_checkpoints(straight, run, 4);
  r = run_cli("train --data toy:8gaussians:train:300 --arch mlp --batch 16 --slices 3 --out %s", test_path("b"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--slices must be >= 1 and divide batch 16, got 3");
  cli_result_free(&r);
  r = run_cli("train --data toy:8gaussians:train:300 --arch mlp --batch 16 --buffer 1001 --slices 2 --out %s",
              test_path("c"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--slices must divide buffer 1001");
  cli_result_free(&r);
}

/* Improved CD per slice (its terms on each slice's chains, through each
 * slice's last step): 2 ranks write the bytes of one process. */
TEST(cli_mpi_improved_cd_on_two_ranks_writes_the_bytes_of_one_process) {
  char one[512], two[512];
  snprintf(two, sizeof two, "%s", test_path("np2"));
  snprintf(one, sizeof one, "%s", test_path("np1"));
  const char *icd = "--kl-weight 1 --entropy-weight 0.3 --augment noise --buffer-policy reservoir --iters 4";
  cli_result r = run_cli_mpi(2, MPI_RUN " %s --out %s", icd, two); /* first: skips without MPI */
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli(MPI_RUN " %s --out %s", icd, one);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  check_same_checkpoints(one, two, 4);
  /* and the terms are logged alike: every slice's part, summed in slice order */
  char fa[600], fb[600];
  snprintf(fa, sizeof fa, "%s/metrics.jsonl", one);
  snprintf(fb, sizeof fb, "%s/metrics.jsonl", two);
  char *ma = test_read_text(fa), *mb = test_read_text(fb);
  REQUIRE(ma && mb);
  const char *ka = strstr(ma, "\"kl\":"), *kb = strstr(mb, "\"kl\":");
  REQUIRE(ka && kb);
  CHECK(strncmp(ka, kb, strcspn(ka, "s")) == 0); /* "kl":…,"entropy":… up to "step_seconds" */
  CHECK(strncmp(ka, "\"kl\":0,", 7) != 0);
  free(ma);
  free(mb);
}
