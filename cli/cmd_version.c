/* `ebm version`: prints the version and the build's libraries and threads. */
#include "cli.h"

static int run_version(int argc, char **argv) {
  int rc = cli_parse("version", NULL, 0, argc, argv, NULL, 0, NULL);
  if (rc) return rc;
  printf("ebm %s\nthreads %d\n", ebm_version(), ebm_threads_count());
  return CLI_EXIT_OK;
}

CLI_COMMAND(version, "version", "", "print the version and thread count", NULL, run_version)
