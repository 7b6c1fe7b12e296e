/* CLI: ebm bench train / bench layers (cli/cmd_bench_*.c): they run, print
 * their figures against the sgemm peak they measure, and check their flags. */
#include "test.h"

static void expect(cli_result r, int code, const char *err_part) {
  CHECK_EQ_INT(r.code, code);
  if (err_part) CHECK_CONTAINS(r.err, err_part);
  cli_result_free(&r);
}

TEST(cli_bench_train_times_a_training_iteration_against_the_sgemm_peak) {
  cli_result r = run_cli("bench train --batch 4 --steps 2 --iters 1 --warmup 0 --json");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "\"bench\":\"train\"");
  CHECK_CONTAINS(r.out, "\"isa\":\""); /* the kernel path that ran */
  CHECK_CONTAINS(r.out, "\"preset\":\"uva\"");
  CHECK_CONTAINS(r.out, "\"steps\":2");
  CHECK_CONTAINS(r.out, "\"sec_per_iter\":");
  CHECK_CONTAINS(r.out, "\"sgemm_peak_gflops\":");
  cli_result_free(&r);
  expect(run_cli("bench train --iters 0"), 2, "--iters must be in [1, 100000]");
  expect(run_cli("bench train --steps -2"), 2, "--steps must be in [-1, 100000]");
  expect(run_cli("bench train --preset nope"), 2, "--preset");
  expect(run_cli("bench train --arch nope"), 2, "unknown architecture preset 'nope'");
}

TEST(cli_bench_layers_prints_every_conv_and_linear_layer) {
  cli_result r = run_cli("bench layers --batch 2 --iters 1");
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "| net.0 | conv2d | 0.10 |");
  CHECK_CONTAINS(r.out, "| net.11 | linear | 0.00 |");
  CHECK_CONTAINS(r.out, "| total | | 0.86 |");
  cli_result_free(&r);
  expect(run_cli("bench layers --batch 0"), 2, "--batch must be in [1, 65536]");
  expect(run_cli("bench layers --iters 0"), 2, "--iters must be in [1, 100000]");
}
