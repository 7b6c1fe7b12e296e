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
