/* Test runner: forks one process per registered test, prints one line per
 * test and the closing "N passed, N failed". Arguments filter tests by
 * substring of the name (or of the source path, for one with a '/');
 * EBM_TEST_KEEP=1 keeps the temp directories; EBM_TEST_JOBS=N sets how
 * many run at once. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define MAX_TESTS 2048
#define TEST_TIMEOUT_SECONDS 300

typedef struct {
  const char *name, *file;
  test_fn fn;
} test_case;

static test_case tests[MAX_TESTS];
static int test_count;
static int failures_in_this_test;
static char tmpdir[256];

void test_register(const char *name, const char *file, test_fn fn) {
  if (test_count < MAX_TESTS) tests[test_count++] = (test_case){name, file, fn};
}

void test_fail_at(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "    %s:%d: ", file, line);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  failures_in_this_test++;
}

void test_abort(void) { exit(1); }

#define SKIP_EXIT 77
#define SKIP_FILE ".skip"

void test_skip(const char *reason) {
  FILE *f = fopen(test_path(SKIP_FILE), "w");
  if (f) {
    fputs(reason, f);
    fclose(f);
  }
  exit(failures_in_this_test ? 1 : SKIP_EXIT);
}

const char *test_tmpdir(void) { return tmpdir; }

const char *test_path(const char *name) {
  static char bufs[8][512];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf(b, 512, "%s/%s", tmpdir, name);
  return b;
}

const char *test_fixture(const char *name) {
  static char bufs[8][512];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf(b, 512, "%s/tests/fixtures/%s", EBM_SOURCE_DIR, name);
  return b;
}

void test_write_file(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  REQUIRE(f != NULL);
  REQUIRE(fwrite(data, 1, size, f) == size || size == 0);
  fclose(f);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return calloc(1, 1);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  buf[got] = '\0';
  fclose(f);
  return buf;
}

/* Runs `launcher` (may be "") + the CLI + the formatted arguments. */
static cli_result run_cli_v(const char *launcher, const char *fmt, va_list ap) {
  char args[4096], cmd[8192], out_path[512], err_path[512];
  vsnprintf(args, sizeof args, fmt, ap);
  snprintf(out_path, sizeof out_path, "%s/.cli_stdout", tmpdir);
  snprintf(err_path, sizeof err_path, "%s/.cli_stderr", tmpdir);
  snprintf(cmd, sizeof cmd, "%s'%s' %s >'%s' 2>'%s' </dev/null", launcher, EBM_CLI_PATH, args, out_path,
           err_path);
  int raw = system(cmd);
  cli_result r;
  r.code = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + (WIFSIGNALED(raw) ? WTERMSIG(raw) : 0);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

cli_result run_cli(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cli_result r = run_cli_v("", fmt, ap);
  va_end(ap);
  return r;
}

void test_cli_expect_at(const char *file, int line, cli_result r, int code, const char *needle) {
  if (r.code != code) test_fail_at(file, line, "exit %d, expected %d; stderr: %s", r.code, code, r.err);
  if (needle && !strstr(r.err, needle)) test_fail_at(file, line, "stderr \"%s\" lacks \"%s\"", r.err, needle);
  cli_result_free(&r);
}

cli_result run_cli_mpi(int np, const char *fmt, ...) {
#ifdef EBM_MPIEXEC
  /* Open MPI keeps allocations until exit in plug-ins it has unloaded by
   * then, whose stacks no suppression can name: leak checking is off for
   * ranks (ASan's other checks and UBSan stay on). The same slice code runs
   * in one process with leak checking (tests/cli/test_cli_mpi.c). */
  char launcher[1024];
  snprintf(launcher, sizeof launcher, "ASAN_OPTIONS=detect_leaks=0 '%s' --oversubscribe --allow-run-as-root -np %d ",
           EBM_MPIEXEC, np);
  va_list ap;
  va_start(ap, fmt);
  cli_result r = run_cli_v(launcher, fmt, ap);
  va_end(ap);
  return r;
#else
  (void)np, (void)fmt;
  test_skip("this build has no MPI (install libopenmpi-dev openmpi-bin and rebuild)");
#endif
}

void cli_result_free(cli_result *r) {
  free(r->out);
  free(r->err);
  r->out = r->err = NULL;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* A test runs when an argument is part of its name, or of its source path
 * for an argument with a '/' ("/tests/ops/": every ops test). */
static int matches(const test_case *t, int argc, char **argv) {
  if (argc <= 1) return 1;
  for (int i = 1; i < argc; i++)
    if (strstr(t->name, argv[i]) || (strchr(argv[i], '/') && strstr(t->file, argv[i]))) return 1;
  return 0;
}

/* EBM_TEST_TIMEOUT=SECONDS raises the per-test limit for slow hosts (the
 * suite under qemu-user, scripts/test-arm64.sh). */
static unsigned test_timeout_seconds(void) {
  const char *env = getenv("EBM_TEST_TIMEOUT");
  long v = env ? strtol(env, NULL, 10) : 0;
  return v > 0 && v < 86400 ? (unsigned)v : TEST_TIMEOUT_SECONDS;
}

/* EBM_TEST_JOBS=N runs N tests at a time; the default is one per online
 * CPU (at most MAX_JOBS). Every test is its own process with its own
 * directory and its own output file, so running them side by side changes
 * nothing a test can see but the machine's load. */
#define MAX_JOBS 16
static int test_jobs(void) {
  const char *env = getenv("EBM_TEST_JOBS");
  long v = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
  return v < 1 ? 1 : v > MAX_JOBS ? MAX_JOBS : (int)v;
}

/* A test's output goes beside its directory, not in it: tests count the
 * entries of their directory. */
static void output_path(const char *dir, char *path, size_t size) { snprintf(path, size, "%s.log", dir); }

typedef struct {
  pid_t pid; /* 0: the slot is free */
  int test;
  double start;
  char dir[256];
} job_slot;

/* Forks test `index` into `slot`: the child's stdout and stderr go to the
 * test's own file, which the parent prints when the test ends. */
static int start_test(job_slot *slot, int index, unsigned timeout) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ebm-test-XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return -1;
  }
  snprintf(slot->dir, sizeof slot->dir, "%s", tmpdir);
  slot->test = index;
  slot->start = ebm_now_seconds();
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return -1;
  }
  if (pid == 0) {
    char path[512];
    output_path(tmpdir, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    alarm(timeout);
    failures_in_this_test = 0;
    tests[index].fn();
    ebm_threads_shutdown();
    exit(failures_in_this_test ? 1 : 0);
  }
  slot->pid = pid;
  return 0;
}

static char *slot_file(const job_slot *slot, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", slot->dir, name);
  return slurp(path);
}

/* Prints what the test wrote, then its one result line; counts it. */
static void finish_test(const job_slot *slot, int status, int *passed, int *failed) {
  const test_case *t = &tests[slot->test];
  double secs = ebm_now_seconds() - slot->start;
  char log[512];
  output_path(slot->dir, log, sizeof log);
  char *output = slurp(log);
  fputs(output, stdout);
  if (output[0] && output[strlen(output) - 1] != '\n') putchar('\n');
  free(output);
  remove(log);
  int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_EXIT) {
    char *why = slot_file(slot, SKIP_FILE);
    (*passed)++;
    ok = 1;
    printf("skip %-52s %s\n", t->name, why);
    free(why);
  } else if (ok) {
    (*passed)++;
    printf("ok   %-52s %6.2fs\n", t->name, secs);
  } else {
    (*failed)++;
    if (WIFSIGNALED(status))
      printf("FAIL %-52s killed by signal %d (%s)\n", t->name, WTERMSIG(status), t->file);
    else
      printf("FAIL %-52s exit %d (%s)\n", t->name, WEXITSTATUS(status), t->file);
  }
  if (ok && !getenv("EBM_TEST_KEEP")) nftw(slot->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const unsigned timeout = test_timeout_seconds();
  const int jobs = test_jobs();
  job_slot slots[MAX_JOBS] = {0};
  int passed = 0, failed = 0, running = 0, next = 0;
  double suite_start = ebm_now_seconds();
  for (;;) {
    while (running < jobs) {
      while (next < test_count && !matches(&tests[next], argc, argv)) next++;
      if (next >= test_count) break;
      int s = 0;
      while (slots[s].pid) s++;
      if (start_test(&slots[s], next++, timeout) != 0) return 1;
      running++;
    }
    if (running == 0) break;
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      perror("waitpid");
      return 1;
    }
    for (int s = 0; s < jobs; s++)
      if (slots[s].pid == pid) {
        finish_test(&slots[s], status, &passed, &failed);
        slots[s].pid = 0;
        running--;
      }
  }
  printf("suite time %.1fs (%d at a time)\n", ebm_now_seconds() - suite_start, jobs);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
