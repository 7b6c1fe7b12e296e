#include "test.h"

TEST(cli_version_and_help_exit_zero) {
  cli_result r = run_cli("--version");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "ebm 0.");
  cli_result_free(&r);
  r = run_cli("--help");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "usage: ebm");
  CHECK_CONTAINS(r.out, "version");
  cli_result_free(&r);
  r = run_cli("help version");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "usage: ebm version");
  cli_result_free(&r);
  r = run_cli("version --help");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "--threads N");
  cli_result_free(&r);
}

TEST(cli_unknown_verb_or_flag_is_usage_error) {
  cli_result r = run_cli("frobnicate");
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "unknown command 'frobnicate'");
  cli_result_free(&r);
  r = run_cli("version --bogus");
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "unknown option '--bogus'");
  cli_result_free(&r);
  r = run_cli("version --threads 0");
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--threads must be at least 1");
  cli_result_free(&r);
  r = run_cli("version --threads=abc");
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--threads expects an integer, got 'abc'");
  cli_result_free(&r);
  r = run_cli("%s", "");
  CHECK_EQ_INT(r.code, 2);
  cli_result_free(&r);
}

TEST(cli_threads_flag_sets_the_pool) {
  cli_result r = run_cli("version --threads 3");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "threads 3");
  cli_result_free(&r);
}
