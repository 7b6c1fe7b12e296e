/* examples/score.c, the embedding example, built by CMake as example_score
 * in the build directory: run on a tiny model saved here, its scores must
 * be the library's energies of the same rows. */
#include <unistd.h>

#include "test_util.h"

#define ROWS 70 /* more than the example's batch of 64 */
#define DIM 4

static const char *example_path(void) { return EBM_BUILD_DIR "/example_score"; }

/* Runs the example with stdout to `out` and stderr to `err`; exit status. */
static int run_example(const char *model, const char *x, const char *out, const char *err) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' >'%s' 2>'%s'", example_path(), model, x, out, err);
  int rc = system(cmd);
  return rc == -1 ? -1 : (rc >> 8) & 0xff;
}

/* The text of a file the example wrote (REQUIREs it). */
static char *slurp(const char *path) {
  char *s = test_read_text(path);
  REQUIRE(s);
  return s;
}

TEST(example_score_prints_the_energy_of_every_row) {
  REQUIRE(access(example_path(), X_OK) == 0); /* built with the tree: cmake --build builds example_score */
  char *json = NULL;
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_arch_preset("mlp", 0, DIM, &json));
  REQUIRE_OK(ebm_net_new(json, ROWS, &net));
  free(json);
  ebm_rng rng;
  ebm_rng_init(&rng, 21);
  REQUIRE_OK(ebm_net_init(net, &rng));
  const char *model = test_path("m.safetensors"), *x = test_path("x.npy");
  REQUIRE_OK(ebm_net_save(net, model, 0, NULL, NULL));
  float rows[ROWS * DIM], e[ROWS];
  ebm_rng_normal(&rng, rows, ROWS * DIM, 0.0f, 2.0f);
  int64_t shape[2] = {ROWS, DIM};
  REQUIRE_OK(ebm_npy_save(x, EBM_DTYPE_F32, 2, shape, rows));
  REQUIRE_OK(ebm_net_energy(net, rows, NULL, ROWS, e));

  const char *out = test_path("out.txt"), *err = test_path("err.txt");
  CHECK_EQ_INT(run_example(model, x, out, err), 0);
  char *text = slurp(out), *p = text;
  int lines = 0, distinct = 0;
  for (int i = 0; i < ROWS; i++) {
    long long idx;
    double v;
    int used = 0;
    if (sscanf(p, "%lld %lf\n%n", &idx, &v, &used) != 2 || used == 0) break;
    p += used;
    CHECK_EQ_INT(idx, i);
    CHECK_NEAR(v, e[i], 1e-6 * (1.0 + fabs(e[i]))); /* %.9g round-trips a float */
    distinct += i > 0 && e[i] != e[i - 1];
    lines++;
  }
  CHECK_EQ_INT(lines, ROWS);
  CHECK(*p == '\0');
  CHECK(distinct > ROWS / 2); /* the scores depend on the rows */
  free(text);

  /* rows of the wrong width: exit 1 and a message naming the file */
  int64_t bad[2] = {ROWS * DIM / 5, 5};
  REQUIRE_OK(ebm_npy_save(x, EBM_DTYPE_F32, 2, bad, rows));
  CHECK_EQ_INT(run_example(model, x, out, err), 1);
  char *msg = slurp(err);
  CHECK_CONTAINS(msg, "x.npy: expected float32 rows of 4 values");
  free(msg);
  /* a missing model */
  CHECK_EQ_INT(run_example(test_path("none.safetensors"), x, out, err), 1);
  msg = slurp(err);
  CHECK_CONTAINS(msg, "none.safetensors");
  free(msg);
  ebm_net_free(net);
}
