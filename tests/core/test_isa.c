/* Kernel paths (core/isa.c): EBM_ISA parsing and its errors, and the
 * suite's kernel checks — every test under tests/ops/ and the RNG fill
 * checks — re-run by this test binary under each other path the CPU
 * supports (the whole suite runs on the default, best one), so every path is
 * tested on any machine that has it. */
#define _XOPEN_SOURCE 700
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

TEST(isa_names_parse_and_unknown_or_missing_paths_are_clear_errors) {
  ebm_isa isa;
  REQUIRE_OK(ebm_isa_parse("generic", &isa));
  CHECK_EQ_INT(isa, EBM_ISA_GENERIC);
  CHECK(strcmp(ebm_isa_name(EBM_ISA_AVX2), "avx2") == 0);
  CHECK(ebm_isa_supported(EBM_ISA_GENERIC));
  CHECK(ebm_isa_supported(ebm_isa_best()));
  CHECK_FAILS_WITH(ebm_isa_parse("sse9", &isa), EBM_ERR_ARG, "EBM_ISA=sse9: unknown path");
  for (int i = 0; i <= EBM_ISA_AVX512; i++)
    if (!ebm_isa_supported((ebm_isa)i)) {
      CHECK_FAILS_WITH(ebm_isa_parse(ebm_isa_name((ebm_isa)i), &isa), EBM_ERR_UNSUPPORTED, "this CPU lacks");
      CHECK_FAILS_WITH(ebm_isa_select((ebm_isa)i), EBM_ERR_UNSUPPORTED, "not supported by this CPU");
    }
  REQUIRE_OK(ebm_isa_select(EBM_ISA_GENERIC));
  CHECK_EQ_INT(ebm_isa_active(), EBM_ISA_GENERIC);
}

/* Output and exit status of a shell command. */
static int run_shell(const char *cmd, char *out, size_t size) {
  FILE *p = popen(cmd, "r");
  REQUIRE(p != NULL);
  size_t got = fread(out, 1, size - 1, p);
  out[got] = '\0';
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(cli_names_the_path_in_use_and_rejects_a_bad_ebm_isa) {
  static char out[4096];
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "EBM_ISA=generic %s version 2>&1", EBM_CLI_PATH);
  CHECK_EQ_INT(run_shell(cmd, out, sizeof out), 0);
  CHECK_CONTAINS(out, "isa generic (ops table cpu-generic");
  CHECK_CONTAINS(out, "blas ");
  snprintf(cmd, sizeof cmd, "EBM_ISA=vax %s version 2>&1", EBM_CLI_PATH);
  CHECK_EQ_INT(run_shell(cmd, out, sizeof out), 2);
  CHECK_CONTAINS(out, "ebm: EBM_ISA=vax: unknown path");
}

TEST(kernel_checks_pass_under_every_isa_path_the_cpu_supports) {
  static char out[1 << 16];
  int paths = 0;
  for (int i = 0; i <= EBM_ISA_AVX512; i++) {
    if (!ebm_isa_supported((ebm_isa)i)) {
      printf("    %s: not supported by this CPU, skipped\n", ebm_isa_name((ebm_isa)i));
      continue;
    }
    if (i == (int)ebm_isa_best()) { /* the default: the rest of the suite runs on it */
      paths++;
      continue;
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "EBM_ISA=%s /proc/%d/exe /tests/ops/ rng_fills 2>&1",
             ebm_isa_name((ebm_isa)i), (int)getpid());
    int rc = run_shell(cmd, out, sizeof out);
    /* the last line: "N passed, 0 failed" with N > 0 */
    char *last = out + strlen(out);
    while (last > out && last[-1] == '\n') *--last = '\0';
    while (last > out && last[-1] != '\n') last--;
    int passed = 0, failed = -1;
    sscanf(last, "%d passed, %d failed", &passed, &failed);
    if (rc != 0 || failed != 0 || passed < 10) {
      printf("    EBM_ISA=%s:\n%s\n", ebm_isa_name((ebm_isa)i), out);
      CHECK(0);
    }
    printf("    EBM_ISA=%s: %s\n", ebm_isa_name((ebm_isa)i), last);
    paths++;
  }
  CHECK(paths >= 1);
}
