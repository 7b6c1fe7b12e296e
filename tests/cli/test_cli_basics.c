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

/* A typo gets the name it most likely meant (git's "did you mean"); a name
 * far from every candidate gets none. */
TEST(cli_typos_get_the_nearest_command_or_option) {
  static const struct {
    const char *args, *says;
  } cases[] = {
      {"smaple", "unknown command 'smaple'; did you mean 'sample'?"},
      {"trian --data toy:8gaussians", "unknown command 'trian'; did you mean 'train'?"},
      {"help smaple", "unknown command 'smaple'; did you mean 'sample'?"},
      {"eval fdi", "unknown subcommand 'eval fdi'; did you mean 'eval fid'?"},
      {"sample --ckp m.safetensors", "unknown option '--ckp'; did you mean '--ckpt'?"},
      {"train --dat toy:8gaussians", "unknown option '--dat'; did you mean '--data'?"},
      {"version --thread 2", "unknown option '--thread'; did you mean '--threads'?"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cli_result r = run_cli("%s", cases[i].args);
    CHECK_EQ_INT(r.code, 2);
    CHECK_CONTAINS(r.err, cases[i].says);
    cli_result_free(&r);
  }
  cli_result r = run_cli("version --zzzzzz");
  CHECK_CONTAINS(r.err, "unknown option '--zzzzzz'");
  CHECK(!strstr(r.err, "did you mean"));
  cli_result_free(&r);
  r = run_cli("frobnicate");
  CHECK(!strstr(r.err, "did you mean"));
  cli_result_free(&r);
}

TEST(cli_threads_flag_sets_the_pool) {
  cli_result r = run_cli("version --threads 3");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "threads 3");
  cli_result_free(&r);
}
