/* `make install` (cmake --install) into a temporary prefix: the tool, the
 * libraries with their soname, the headers, ebm.pc, the generated ebm.1 and
 * the Python module, each used from there: examples/score.c compiled with
 * `cc score.c $(pkg-config --cflags --libs ebm)` scores a checkpoint. */
#include <sys/stat.h>

#include "python/python_env.h"
#include "test_util.h"

static int exists(const char *prefix, const char *rel) {
  char path[1024];
  struct stat sb;
  snprintf(path, sizeof path, "%s/%s", prefix, rel);
  return stat(path, &sb) == 0;
}

static int sh(const char *cmd, const char *log) {
  char full[8192];
  snprintf(full, sizeof full, "(%s) >'%s' 2>&1", cmd, log);
  int rc = system(full);
  if (rc != 0) {
    char *text = test_read_text(log);
    printf("    `%s` failed:\n%s\n", cmd, text ? text : "");
    free(text);
  }
  return rc;
}

TEST(install_into_a_prefix_gives_a_usable_library_tool_man_page_and_module) {
  char prefix[512], cmd[4096], run[600];
  snprintf(prefix, sizeof prefix, "%s", test_path("prefix"));
  const char *log = test_path("install.log");
  snprintf(cmd, sizeof cmd, "cmake --install '%s' --prefix '%s'", EBM_BUILD_DIR, prefix);
  REQUIRE(sh(cmd, log) == 0);
  static const char *const files[] = {"bin/ebm", "lib/libebm.a", "lib/libebm.so", "lib/libebm.so.0",
                                      "include/ebm.h", "include/ebm/report.h", "lib/pkgconfig/ebm.pc",
                                      "share/man/man1/ebm.1", "lib/python3/dist-packages/ebm/__init__.py"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    if (!exists(prefix, files[i])) test_fail_at(__FILE__, __LINE__, "%s/%s was not installed", prefix, files[i]);

  /* The man page is the commands' own tables: every verb and a flag of each kind. */
  char man[600];
  snprintf(man, sizeof man, "%s/share/man/man1/ebm.1", prefix);
  char *page = test_read_text(man);
  CHECK_CONTAINS(page, ".TH EBM 1");
  CHECK_CONTAINS(page, ".SS \"ebm train\"");
  CHECK_CONTAINS(page, ".SS \"ebm report\"");
  CHECK_CONTAINS(page, ".B \\-\\-report\n");
  CHECK_CONTAINS(page, ".B \\-\\-steps \\fIK\\fR\nMCMC steps per training step (default 60)");
  free(page);

  /* A checkpoint to score, trained by the installed tool. */
  snprintf(run, sizeof run, "%s", test_path("run"));
  snprintf(cmd, sizeof cmd,
           "'%s/bin/ebm' train --data toy:moons:train:100 --arch mlp --width 8 --batch 8 --steps 1 --iters 1 "
           "--out '%s'", prefix, run);
  REQUIRE(sh(cmd, log) == 0);
  float x[3][2] = {{0, 0}, {1, 0.5f}, {-1, 2}};
  int64_t shape[2] = {3, 2};
  char npy[700];
  snprintf(npy, sizeof npy, "%s/x.npy", run);
  REQUIRE_OK(ebm_npy_save(npy, EBM_DTYPE_F32, 2, shape, x));

  /* score.c against the installed copy only, found through pkg-config. */
  char exe[600];
  snprintf(exe, sizeof exe, "%s", test_path("score"));
  snprintf(cmd, sizeof cmd,
           "PKG_CONFIG_PATH='%s/lib/pkgconfig' && export PKG_CONFIG_PATH && "
           "cc '%s/examples/score.c' -o '%s' $(pkg-config --cflags --libs ebm) && "
           "readelf -d '%s' | grep -q 'NEEDED.*libebm.so.0' && "
           "LD_LIBRARY_PATH='%s/lib' " TEST_SANITIZER_ENV "'%s' '%s/ckpt/last.safetensors' '%s' >'%s/scores.txt'",
           prefix, EBM_SOURCE_DIR, exe, exe, prefix, exe, run, npy, run);
  REQUIRE(sh(cmd, log) == 0);
  char scores_path[700];
  snprintf(scores_path, sizeof scores_path, "%s/scores.txt", run);
  char *scores = test_read_text(scores_path);
  REQUIRE(scores);
  /* The same energies as the library in this process computes. */
  ebm_net *net = NULL;
  char ckpt[700];
  float e[3];
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  REQUIRE_OK(ebm_net_load(ckpt, 3, &net));
  REQUIRE_OK(ebm_net_energy(net, &x[0][0], NULL, 3, e));
  ebm_net_free(net);
  const char *p = scores;
  for (int i = 0; i < 3; i++) {
    int idx = -1;
    float v = 0;
    int used = 0;
    REQUIRE(sscanf(p, "%d %g\n%n", &idx, &v, &used) == 2);
    CHECK_EQ_INT(idx, i);
    CHECK(v == e[i]);
    p += used;
  }
  free(scores);

  /* The installed Python module finds the installed library by itself. */
  if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    printf("    note: /usr/bin/python3 cannot import numpy; installed-module check skipped\n");
    return;
  }
  snprintf(cmd, sizeof cmd,
           "cd / && " TEST_SANITIZER_ENV "PYTHONPATH='%s/lib/python3/dist-packages' /usr/bin/python3 -c "
           "'import ebm, numpy as np; m = ebm.load(\"%s\"); "
           "print(ebm._lib.lib._name); print(m.energy(np.zeros((1, 2), np.float32))[0])' >'%s/py.txt'",
           prefix, ckpt, run);
  REQUIRE(sh(cmd, log) == 0);
  char py_path[700];
  snprintf(py_path, sizeof py_path, "%s/py.txt", run);
  char *py = test_read_text(py_path);
  CHECK_CONTAINS(py, "/lib/python3/dist-packages/ebm/../../../libebm.so.0");
  free(py);
}
