/* `ebm version`: prints the version, the kernel path (ISA) and BLAS library
 * in use, the thread count, and whether MPI is built in. */
#include "cli.h"
#include "ops/ops.h"

static int run_version(int argc, char **argv) {
  int rc = cli_parse("version", NULL, 0, argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  printf("ebm %s\nisa %s (ops table %s; best on this CPU: %s; EBM_ISA forces one)\nblas %s\nthreads %d\nmpi %s\n",
         ebm_version(), ebm_isa_name(ebm_isa_active()), ebm_ops_current()->name,
         ebm_isa_name(ebm_isa_best()), ebm_ops_blas_info(), ebm_threads_count(),
         ebm_dist_have_mpi() ? "yes (mpirun -np N ebm train: data-parallel)" : "no (one process)");
  return CLI_EXIT_OK;
}

CLI_COMMAND(version, "version", "", "print the version, kernel path (ISA), BLAS library, thread count and MPI support", NULL, run_version)
