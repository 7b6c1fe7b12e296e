/* Every file in tests/fixtures/io/hostile/ (written by
 * scripts/make-io-fixtures.py) is rejected with its own message. */
#include <dirent.h>

#include "io/io_test_util.h"

typedef struct {
  const char *file;
  ebm_status code;
  const char *needle;
} hostile_case;

static const hostile_case cases[] = {
    {"st_truncated_data.safetensors", EBM_ERR_FORMAT,
     "tensor 'net.2.weight': data_offsets [80, 88] go past the end of the data (83 bytes)"},
    {"st_truncated_header.safetensors", EBM_ERR_FORMAT, "header length 312 is larger than the file (164 bytes)"},
    {"st_huge_header_len.safetensors", EBM_ERR_FORMAT, "header length 1099511627776 is more than the 100 MB limit"},
    {"st_overlap.safetensors", EBM_ERR_FORMAT, "tensors 'a' and 'b' overlap (bytes [8, 16))"},
    {"st_lying_shape.safetensors", EBM_ERR_FORMAT,
     "tensor 'w': data_offsets [0, 16] hold 16 bytes but shape [1000000,1000000] of F32 needs 4000000000000"},
    {"st_not_json.safetensors", EBM_ERR_FORMAT, "header is not valid JSON"},
    {"st_unknown_dtype.safetensors", EBM_ERR_FORMAT, "tensor 'w' has unknown dtype 'Q7'"},
    {"st_duplicate.safetensors", EBM_ERR_FORMAT, "duplicate tensor name 'w'"},
    {"st_gap.safetensors", EBM_ERR_FORMAT, "data bytes [4, 8) before tensor 'b' belong to no tensor"},
    {"st_meta_not_string.safetensors", EBM_ERR_FORMAT, "__metadata__ value for 'step' is not a string"},
    {"npy_truncated_data.npy", EBM_ERR_FORMAT, "data is 21 bytes but shape [2,3] of dtype '<f4' needs 24"},
    {"npy_truncated_header.npy", EBM_ERR_FORMAT, "truncated .npy header (118 bytes announced, 30 in the file)"},
    {"npy_lying_shape.npy", EBM_ERR_FORMAT, "data is 24 bytes but shape [9,9] of dtype '<f4' needs 324"},
    {"npy_bad_magic.npy", EBM_ERR_FORMAT, "not a .npy file"},
    {"npy_bad_dict.npy", EBM_ERR_FORMAT, "expected '(' starting the shape at byte"},
    {"idx_truncated.idx.gz", EBM_ERR_FORMAT, "truncated gzip stream"},
    {"idx_corrupt.idx.gz", EBM_ERR_FORMAT, "corrupt gzip data"},
    {"idx_lying_dims.idx.gz", EBM_ERR_FORMAT, "idx data is 60 bytes but dims [60000,28,28] need 47040000"},
    {"idx_float_type.idx", EBM_ERR_UNSUPPORTED, "idx type 0x0d (float) is not supported"},
    {"idx_short_data.idx", EBM_ERR_FORMAT, "idx data is 59 bytes but dims [3,4,5] need 60"},
};
#define NCASES (sizeof cases / sizeof *cases)

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static ebm_status load_any(const char *path) {
  if (ends_with(path, ".safetensors")) {
    ebm_safetensors *st = NULL;
    ebm_status s = ebm_safetensors_load(path, &st);
    ebm_safetensors_free(st);
    return s;
  }
  if (ends_with(path, ".npy")) {
    ebm_npy a;
    ebm_status s = ebm_npy_load(path, &a);
    ebm_npy_free(&a);
    return s;
  }
  ebm_idx a;
  ebm_status s = ebm_idx_load(path, &a);
  ebm_idx_free(&a);
  return s;
}

TEST(hostile_fixture_files_each_fail_with_their_own_message) {
  for (size_t i = 0; i < NCASES; i++) {
    char rel[256];
    snprintf(rel, sizeof rel, "io/hostile/%s", cases[i].file);
    const char *path = test_fixture(rel);
    ebm_clear_error();
    ebm_status s = load_any(path);
    const char *msg = ebm_last_error();
    if (s != cases[i].code || !strstr(msg, cases[i].needle) || !strstr(msg, cases[i].file))
      test_fail_at(__FILE__, __LINE__, "%s: got %d \"%s\", expected %d \"%s\"", cases[i].file, s,
                   msg, cases[i].code, cases[i].needle);
  }
}

TEST(hostile_fixture_directory_has_no_untested_files) {
  DIR *d = opendir(test_fixture("io/hostile"));
  REQUIRE(d != NULL);
  struct dirent *e;
  int files = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    files++;
    int listed = 0;
    for (size_t i = 0; i < NCASES; i++) listed |= strcmp(cases[i].file, e->d_name) == 0;
    if (!listed) test_fail_at(__FILE__, __LINE__, "hostile/%s has no expected error", e->d_name);
  }
  closedir(d);
  CHECK_EQ_INT(files, (int)NCASES);
}
