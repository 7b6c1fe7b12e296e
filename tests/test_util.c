/* File helpers shared by tests in several folders (see test_util.h). */
#include "test_util.h"

#define TEST_MAX_FILE (1 << 28)

int test_same_file(const char *a, const char *b) {
  uint8_t *da = NULL, *db = NULL;
  size_t na = 0, nb = 0;
  REQUIRE_OK(ebm_read_file(a, TEST_MAX_FILE, &da, &na));
  REQUIRE_OK(ebm_read_file(b, TEST_MAX_FILE, &db, &nb));
  int same = na == nb && memcmp(da, db, na) == 0;
  free(da);
  free(db);
  return same;
}

char *test_read_text(const char *path) {
  uint8_t *d = NULL;
  size_t n = 0;
  if (ebm_read_file(path, TEST_MAX_FILE, &d, &n) != EBM_OK) return NULL;
  char *s = malloc(n + 1);
  REQUIRE(s);
  memcpy(s, d, n);
  s[n] = '\0';
  free(d);
  return s;
}

void test_load_f32(const char *path, ebm_npy *a) {
  REQUIRE_OK(ebm_npy_load(path, a));
  REQUIRE(a->dtype == EBM_DTYPE_F32);
}

const char *test_labelled_images(int n, int side) {
  static char spec[1100];
  const int64_t shape[4] = {n, 1, side, side}, lshape[1] = {n};
  float *px = malloc((size_t)(n * side * side) * sizeof *px);
  int32_t *lab = malloc((size_t)n * sizeof *lab);
  REQUIRE(px && lab);
  for (int i = 0; i < n * side * side; i++) px[i] = (float)(i % 13) / 13.0f;
  for (int i = 0; i < n; i++) lab[i] = i % 2;
  const ebm_status a = ebm_npy_save(test_path("img.npy"), EBM_DTYPE_F32, 4, shape, px);
  const ebm_status b = ebm_npy_save(test_path("lab.npy"), EBM_DTYPE_I32, 1, lshape, lab);
  free(px);
  free(lab);
  REQUIRE_OK(a);
  REQUIRE_OK(b);
  snprintf(spec, sizeof spec, "npy:%s,%s", test_path("img.npy"), test_path("lab.npy"));
  return spec;
}
