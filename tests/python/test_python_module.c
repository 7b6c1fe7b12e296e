/* The Python module (python/ebm) through its own unittest suite,
 * python/tests/test_ebm.py, on this build's libebm.so and ebm. */
#include "python/python_env.h"
#include "test_util.h"

TEST(python_module_unittests_pass) {
  if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    printf("    note: /usr/bin/python3 cannot import numpy (scripts/install-deps.sh installs python3-numpy); "
           "Python module tests skipped\n");
    return;
  }
  char cmd[4096];
  const char *log = test_path("python.log");
  snprintf(cmd, sizeof cmd,
           "cd '%s' && " TEST_SANITIZER_ENV "EBM_LIBRARY='%s/libebm.so' EBM_CLI='%s' PYTHONPATH='%s/python' "
           "/usr/bin/python3 -m unittest discover -s '%s/python/tests' >'%s' 2>&1",
           test_tmpdir(), EBM_BUILD_DIR, EBM_CLI_PATH, EBM_SOURCE_DIR, EBM_SOURCE_DIR, log);
  int rc = system(cmd);
  char *text = test_read_text(log);
  if (rc != 0) printf("%s\n", text ? text : "(no output)");
  CHECK_EQ_INT(rc, 0);
  CHECK_CONTAINS(text, "\nOK");
  free(text);
}
