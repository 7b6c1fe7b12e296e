/* The test harness: TEST(name) registers a test; each test runs in its own
 * process (a crash fails that test only, and LeakSanitizer checks it at
 * exit). CHECK_* record a failure and go on; REQUIRE_* end the test.
 * The runner's last line is "N passed, N failed". */
#ifndef EBM_TEST_H
#define EBM_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"

typedef void (*test_fn)(void);
void test_register(const char *name, const char *file, test_fn fn);
void test_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void test_abort(void) __attribute__((noreturn));
/* Ends the test as skipped: the runner prints "skip <name>: <reason>" and
 * counts it with the passed ones (a capability this machine lacks, e.g. MPI). */
void test_skip(const char *reason) __attribute__((noreturn));

#define TEST(name)                                                                   \
  static void name(void);                                                            \
  __attribute__((constructor)) static void name##_register(void) {                  \
    test_register(#name, __FILE__, name);                                            \
  }                                                                                  \
  static void name(void)

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) test_fail_at(__FILE__, __LINE__, "CHECK(%s)", #cond);               \
  } while (0)
#define REQUIRE(cond)                                                                \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      test_fail_at(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                        \
      test_abort();                                                                  \
    }                                                                                \
  } while (0)
#define CHECK_EQ_INT(a, b)                                                           \
  do {                                                                               \
    long long a_ = (long long)(a), b_ = (long long)(b);                              \
    if (a_ != b_) test_fail_at(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
  } while (0)
#define CHECK_NEAR(a, b, tol)                                                        \
  do {                                                                               \
    double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);                   \
    if (!(fabs(a_ - b_) <= t_))                                                      \
      test_fail_at(__FILE__, __LINE__, "|%s - %s| <= %g: %.9g vs %.9g", #a, #b, t_, a_, b_); \
  } while (0)
#define CHECK_EQ_STR(a, b)                                                           \
  do {                                                                               \
    const char *a_ = (a), *b_ = (b);                                                 \
    if (!a_ || !b_ || strcmp(a_, b_) != 0)                                           \
      test_fail_at(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,          \
                   a_ ? a_ : "(null)", b_ ? b_ : "(null)");                          \
  } while (0)
/* The call must succeed; on failure the library's message is shown. */
#define CHECK_OK(expr)                                                               \
  do {                                                                               \
    ebm_status s_ = (expr);                                                          \
    if (s_ != EBM_OK)                                                                \
      test_fail_at(__FILE__, __LINE__, "%s failed: %s: %s", #expr, ebm_strerror(s_), \
                   ebm_last_error());                                                \
  } while (0)
#define REQUIRE_OK(expr)                                                             \
  do {                                                                               \
    ebm_status s_ = (expr);                                                          \
    if (s_ != EBM_OK) {                                                              \
      test_fail_at(__FILE__, __LINE__, "%s failed: %s: %s", #expr, ebm_strerror(s_), \
                   ebm_last_error());                                                \
      test_abort();                                                                  \
    }                                                                                \
  } while (0)
/* The call must fail with `code` and a message containing `needle`. */
#define CHECK_FAILS_WITH(expr, code, needle)                                         \
  do {                                                                               \
    ebm_clear_error();                                                               \
    ebm_status s_ = (expr);                                                          \
    if (s_ != (code))                                                                \
      test_fail_at(__FILE__, __LINE__, "%s returned %d (%s), expected %d: %s", #expr, s_, \
                   ebm_strerror(s_), (code), ebm_last_error());                      \
    else if (!strstr(ebm_last_error(), (needle)))                                    \
      test_fail_at(__FILE__, __LINE__, "%s: message \"%s\" lacks \"%s\"", #expr,     \
                   ebm_last_error(), (needle));                                      \
  } while (0)
#define CHECK_CONTAINS(haystack, needle)                                             \
  do {                                                                               \
    const char *h_ = (haystack), *n_ = (needle);                                     \
    if (!h_ || !strstr(h_, n_))                                                      \
      test_fail_at(__FILE__, __LINE__, "\"%s\" lacks \"%s\"", h_ ? h_ : "(null)", n_); \
  } while (0)

/* A fresh directory for this test (removed after it passes). */
const char *test_tmpdir(void);
/* tmpdir/name in a static rotating buffer (valid for the next 8 calls). */
const char *test_path(const char *name);
/* A file under tests/fixtures/ in the source tree. */
const char *test_fixture(const char *name);

/* Runs the CLI with `args` (a shell-quoted string) and captures its output. */
typedef struct {
  int code;       /* exit status; 128+signal if killed */
  char *out;      /* stdout, NUL-terminated, malloc'd */
  char *err;      /* stderr */
} cli_result;
cli_result run_cli(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Checks a CLI run's exit code and (needle not NULL) that its stderr holds
 * needle, showing stderr when the code differs; frees r. Failures name the
 * caller's line. */
void test_cli_expect_at(const char *file, int line, cli_result r, int code, const char *needle);
#define CLI_EXPECT(r, code, needle) test_cli_expect_at(__FILE__, __LINE__, (r), (code), (needle))
/* The same under `mpirun -np <np>` (oversubscribed, as root too); skips the
 * test when the build has no MPI launcher. */
cli_result run_cli_mpi(int np, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_result_free(cli_result *r);

/* Writes bytes to a file (REQUIREs success). */
void test_write_file(const char *path, const void *data, size_t size);

#endif
