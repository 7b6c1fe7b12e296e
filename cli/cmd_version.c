/* `ebm version`: prints the version, the kernel path (ISA) and BLAS library
 * in use, and the thread count. */
#include "cli.h"
#include "ops/ops.h"

static int run_version(int argc, char **argv) {
  int rc = cli_parse("version", NULL, 0, argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  printf("ebm %s\nisa %s (ops table %s; best on this CPU: %s; EBM_ISA forces one)\nblas %s\nthreads %d\n",
         ebm_version(), ebm_isa_name(ebm_isa_active()), ebm_ops_current()->name,
         ebm_isa_name(ebm_isa_best()), ebm_ops_blas_info(), ebm_threads_count());
  return CLI_EXIT_OK;
}

CLI_COMMAND(version, "version", "", "print the version, kernel path (ISA), BLAS library and thread count", NULL, run_version)
