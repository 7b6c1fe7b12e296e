/* What the CLI does to a user's files when something goes wrong: a write
 * that fails part way (a full disk, here the file size limit, whose
 * write(2) fails with EFBIG as ENOSPC would) leaves the previous file as it
 * was and no temp file, for every kind of file a verb writes; an output
 * that names an input is refused before any work by the verbs the first
 * same-file tests (test_cli_same_file.c) did not cover; and `ebm train
 * --force` never replaces a run that holds a checkpoint. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io_test_util.h"
#include "test_util.h"

/* A copy of path's bytes, to show later that path did not change. */
static void keep_copy(const char *path, const char *copy) {
  uint8_t *data = NULL;
  size_t size = 0;
  REQUIRE_OK(ebm_read_file(path, (size_t)1 << 26, &data, &size));
  test_write_file(copy, data, size);
  free(data);
}

static const char previous[] = "the previous file, which a failed write must keep";

/* Runs `args` with every file the command writes capped at `limit` bytes
 * (the soft limit only, restored afterwards; SIGXFSZ stays ignored, so the
 * write fails instead of killing the process), over an `out` that holds an
 * earlier output of its kind (`head`, the kind's first bytes, then
 * `previous`; cli/overwrite_guard.c refuses to write over anything else):
 * the command must fail with one line naming `out`, and leave it as it was
 * and no temp file next to it. */
static void check_full_disk_keeps(const char *args, const char *out, rlim_t limit, const void *head, size_t head_len) {
  char before[256];
  REQUIRE(head_len + sizeof previous <= sizeof before);
  memcpy(before, head, head_len);
  memcpy(before + head_len, previous, sizeof previous - 1);
  test_write_file(out, before, head_len + sizeof previous - 1);
  keep_copy(out, "previous.copy");
  const int entries = io_test_count_entries(".");
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old, capped;
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
  capped = old;
  capped.rlim_cur = limit;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &capped) == 0);
  cli_result r = run_cli("%s", args);
  REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
  if (r.code != 1) fprintf(stderr, "%s: exit %d, stderr: %s\n", args, r.code, r.err);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, out);
  CHECK_CONTAINS(r.err, "cannot write");
  cli_result_free(&r);
  CHECK(test_same_file(out, "previous.copy"));
  CHECK_EQ_INT(io_test_count_entries("."), entries); /* no temp file left */
}

TEST(cli_a_full_disk_keeps_the_previous_output_of_every_kind_of_file) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  CLI_EXPECT(run_cli("init --arch mlp --in-dim 2 --width 8 --depth 1 --seed 1 --out m.safetensors"), 0, NULL);
  enum { N = 300 };
  float v[2 * N];
  for (int i = 0; i < 2 * N; i++) v[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
  int64_t shape[2] = {N, 2};
  REQUIRE_OK(ebm_npy_save("x.npy", EBM_DTYPE_F32, 2, shape, v));
  /* .npy, safetensors, PNG, a JSON results file (JSON Lines and cJSON writers) */
  static const unsigned char npy[] = {0x93, 'N', 'U', 'M', 'P', 'Y'}, png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'},
                             safetensors[] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'}, json[] = {'{'};
  check_full_disk_keeps("energy --ckpt m.safetensors --input x.npy --out e.npy", "e.npy", 256, npy, sizeof npy);
  check_full_disk_keeps("init --arch mlp --in-dim 2 --width 32 --out m2.safetensors --force", "m2.safetensors", 256,
                        safetensors, sizeof safetensors);
  check_full_disk_keeps("data show toy:rings --out p.png", "p.png", 256, png, sizeof png);
  check_full_disk_keeps("eval ais --energy gaussian:2 --chains 8 --steps 4 --json r.json", "r.json", 256, json, sizeof json);
  check_full_disk_keeps("eval ood --ckpt m.safetensors --in npy:x.npy --n 50 --json o.json", "o.json", 256, json,
                        sizeof json);
}

/* A checkpoint save that fails leaves the last good checkpoint: a resume
 * whose save cannot be written exits 1 naming the file, and the run can
 * still be resumed from what it had. */
TEST(cli_train_a_failed_checkpoint_save_keeps_the_last_good_one) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  const char *run_args = "train --data toy:8gaussians:train:300 --arch mlp --width 64 --batch 16 --steps 3 "
                         "--sampler ula --step-size 0.1 --seed 3 --save-every 2 --sample-every 0 --out run";
  CLI_EXPECT(run_cli("%s --iters 2", run_args), 0, NULL);
  keep_copy("run/ckpt/last.safetensors", "ckpt.before");
  keep_copy("run/ckpt/last.state.safetensors", "state.before");
  struct stat sb;
  REQUIRE(stat("ckpt.before", &sb) == 0 && sb.st_size > 8192); /* the cap below stops a checkpoint, not config.json */
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old, capped;
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
  capped = old;
  capped.rlim_cur = 8192;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &capped) == 0);
  cli_result r = run_cli("train --out run --resume --iters 4");
  REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
  if (r.code != 1) fprintf(stderr, "exit %d, stderr: %s\n", r.code, r.err);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "cannot write");
  cli_result_free(&r);
  CHECK(test_same_file("run/ckpt/last.safetensors", "ckpt.before"));
  CHECK(test_same_file("run/ckpt/last.state.safetensors", "state.before"));
  CLI_EXPECT(run_cli("train --out run --resume --iters 4"), 0, NULL);
}

/* --force starts a new run over a folder that is not a run; a run with a
 * checkpoint stays a run: refused, and nothing in it changes. */
TEST(cli_train_force_never_replaces_a_run_with_a_checkpoint) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  const char *run_args = "train --data toy:8gaussians:train:300 --arch mlp --width 16 --batch 16 --steps 3 "
                         "--sampler ula --step-size 0.1 --seed 3 --sample-every 0 --out run";
  CLI_EXPECT(run_cli("%s --iters 2", run_args), 0, NULL);
  static const char *const files[] = {"run/ckpt/last.safetensors", "run/ckpt/last.state.safetensors",
                                      "run/config.json", "run/metrics.jsonl"};
  static const char *const copies[] = {"1.before", "2.before", "3.before", "4.before"};
  for (int i = 0; i < 4; i++) keep_copy(files[i], copies[i]);
  CLI_EXPECT(run_cli("%s --iters 2 --force --seed 4", run_args), 1, "holds a checkpoint already");
  for (int i = 0; i < 4; i++) CHECK(test_same_file(files[i], copies[i]));
}

/* The verbs test_cli_same_file.c does not reach: each refuses an output
 * that is one of its inputs, exit 2, before reading anything. */
TEST(cli_more_verbs_refuse_an_output_over_an_input) {
  REQUIRE(chdir(test_tmpdir()) == 0);
  CLI_EXPECT(run_cli("init --arch mlp --in-dim 2 --width 8 --depth 1 --seed 1 --out m.safetensors"), 0, NULL);
  float v[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  int64_t shape[2] = {2, 2};
  REQUIRE_OK(ebm_npy_save("x.npy", EBM_DTYPE_F32, 2, shape, v));
  test_write_file("t.png", previous, sizeof previous - 1);
  CLI_EXPECT(run_cli("forward --ckpt m.safetensors --input x.npy --out ./x.npy"), 2, "--input 'x.npy' and --out");
  CLI_EXPECT(run_cli("texture --input t.png --out t.png"), 2, "--input 't.png' and --out 't.png'");
  CLI_EXPECT(run_cli("plan --ckpt m.safetensors --out m.safetensors"), 2, "--ckpt 'm.safetensors' and --out");
  CLI_EXPECT(run_cli("eval points --samples x.npy --ref x.npy --png x.npy"), 2, "and --png 'x.npy'");
  CLI_EXPECT(run_cli("data make texture --out x.npy --png ./x.npy"), 2, "--out 'x.npy' and --png './x.npy'");
  REQUIRE(mkdir("run", 0755) == 0);
  /* the report's own same-file check, reached with an empty metrics file
   * (nothing for the overwrite guard to protect) */
  test_write_file("run/metrics.jsonl", "", 0);
  CLI_EXPECT(run_cli("report run --out run/metrics.jsonl"), 2, "are the same file");
  /* with lines in it, the overwrite guard names what the file holds */
  static const char metrics[] = "{\"step\":1,\"loss\":0.5}\n";
  test_write_file("run/metrics.jsonl", metrics, sizeof metrics - 1);
  CLI_EXPECT(run_cli("report run --out run/metrics.jsonl"), 2, "holds a run's metrics or events");
  char *text = test_read_text("run/metrics.jsonl");
  CHECK(text && strcmp(text, metrics) == 0);
  free(text);
  text = test_read_text("t.png");
  CHECK(text && strcmp(text, previous) == 0);
  free(text);
}
