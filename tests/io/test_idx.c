#include <zlib.h>

#include "io/io_test_util.h"

static void check_fixture_images(const ebm_idx *a) {
  CHECK_EQ_INT(a->ndim, 3);
  CHECK(a->shape[0] == 3 && a->shape[1] == 4 && a->shape[2] == 5);
  for (int i = 0; i < 60; i++) CHECK_EQ_INT(a->data[i], i * 11 % 256);
}

TEST(idx_reads_plain_and_gzip_files_written_by_python) {
  ebm_idx a;
  REQUIRE_OK(ebm_idx_load(test_fixture("io/images-3x4x5-idx3-ubyte"), &a));
  check_fixture_images(&a);
  ebm_idx_free(&a);
  REQUIRE_OK(ebm_idx_load(test_fixture("io/images-3x4x5-idx3-ubyte.gz"), &a));
  check_fixture_images(&a);
  ebm_idx_free(&a);
  ebm_idx_free(&a);
  REQUIRE_OK(ebm_idx_load(test_fixture("io/labels-3-idx1-ubyte.gz"), &a));
  CHECK(a.ndim == 1 && a.shape[0] == 3 && a.data[0] == 2 && a.data[1] == 0 && a.data[2] == 9);
  ebm_idx_free(&a);
}

TEST(idx_reads_the_fashion_mnist_test_labels) {
  const char *p = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  FILE *f = fopen(p, "rb");
  if (!f) return; /* the data set package is optional for this test */
  fclose(f);
  ebm_idx a;
  REQUIRE_OK(ebm_idx_load(p, &a));
  CHECK(a.ndim == 1 && a.shape[0] == 10000);
  int counts[10] = {0};
  for (int i = 0; i < 10000; i++) {
    REQUIRE(a.data[i] < 10);
    counts[a.data[i]]++;
  }
  for (int c = 0; c < 10; c++) CHECK_EQ_INT(counts[c], 1000); /* balanced test set */
  ebm_idx_free(&a);
}

/* gzip-compresses buf with zlib (the tests' own writer). */
static uint8_t *gzip_bytes(const uint8_t *buf, size_t n, size_t *out_size) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  REQUIRE(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  size_t cap = deflateBound(&zs, (uLong)n);
  uint8_t *out = malloc(cap);
  zs.next_in = (Bytef *)buf;
  zs.avail_in = (uInt)n;
  zs.next_out = out;
  zs.avail_out = (uInt)cap;
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  *out_size = cap - zs.avail_out;
  deflateEnd(&zs);
  return out;
}

static void check_idx_rejected(const uint8_t *buf, size_t n, ebm_status code, const char *needle,
                               int line) {
  ebm_idx a;
  ebm_clear_error();
  ebm_status s = ebm_idx_parse(buf, n, "d.idx", &a);
  if (s != code || !strstr(ebm_last_error(), needle))
    test_fail_at(__FILE__, line, "got %d \"%s\", expected %d \"%s\"", s, ebm_last_error(), code,
                 needle);
  CHECK(a.data == NULL && a.ndim == 0);
  if (s == EBM_OK) ebm_idx_free(&a);
}

TEST(idx_hostile_plain_files_each_get_their_own_message) {
  uint8_t b[32] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
  ebm_idx a;
  REQUIRE_OK(ebm_idx_parse(b, 18, "d.idx", &a)); /* sanity: valid 2x3 */
  CHECK(a.shape[0] == 2 && a.shape[1] == 3 && a.data[5] == 6);
  ebm_idx_free(&a);
  check_idx_rejected(b, 17, EBM_ERR_FORMAT, "d.idx: idx data is 5 bytes but dims [2,3] need 6", __LINE__);
  check_idx_rejected(b, 19, EBM_ERR_FORMAT, "idx data is 7 bytes", __LINE__);
  check_idx_rejected(b, 3, EBM_ERR_FORMAT, "too short for an idx header", __LINE__);
  check_idx_rejected(b, 9, EBM_ERR_FORMAT, "idx header is truncated (2 dims announced)", __LINE__);
  b[2] = 0x0D;
  check_idx_rejected(b, 18, EBM_ERR_UNSUPPORTED, "idx type 0x0d (float) is not supported", __LINE__);
  b[2] = 0x42;
  check_idx_rejected(b, 18, EBM_ERR_FORMAT, "not an idx file (magic 00 00 42 02)", __LINE__);
  b[2] = 8, b[3] = 0;
  check_idx_rejected(b, 18, EBM_ERR_UNSUPPORTED, "has 0 dimensions", __LINE__);
  b[3] = EBM_MAX_DIMS + 1;
  check_idx_rejected(b, 18, EBM_ERR_UNSUPPORTED, "has 6 dimensions", __LINE__);
  uint8_t huge[16] = {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2};
  check_idx_rejected(huge, 16, EBM_ERR_FORMAT, "announce more than", __LINE__);
}

TEST(idx_hostile_gzip_files_each_get_their_own_message) {
  uint8_t raw[18] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
  size_t n;
  uint8_t *gz = gzip_bytes(raw, 18, &n);
  ebm_idx a;
  REQUIRE_OK(ebm_idx_parse(gz, n, "d.idx.gz", &a));
  CHECK(a.shape[1] == 3 && a.data[0] == 1 && a.data[5] == 6);
  ebm_idx_free(&a);
  /* Every truncation point fails cleanly. */
  for (size_t cut = 2; cut < n; cut++) {
    ebm_status s = ebm_idx_parse(gz, cut, "d.idx.gz", &a);
    if (s != EBM_ERR_FORMAT) test_fail_at(__FILE__, __LINE__, "cut at %zu: %d", cut, s);
  }
  check_idx_rejected(gz, n - 4, EBM_ERR_FORMAT, "truncated gzip stream", __LINE__);
  /* Flip a byte of the CRC: zlib's check catches it. */
  uint8_t *bad = malloc(n + 4);
  memcpy(bad, gz, n);
  bad[n - 6] ^= 0xff;
  check_idx_rejected(bad, n, EBM_ERR_FORMAT, "corrupt gzip data (incorrect data check)", __LINE__);
  memcpy(bad, gz, n);
  memcpy(bad + n, "junk", 4);
  check_idx_rejected(bad, n + 4, EBM_ERR_FORMAT, "4 bytes of garbage after the gzip stream", __LINE__);
  free(bad);
  free(gz);

  /* More data than the dims say, and less. */
  uint8_t longer[19] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7};
  gz = gzip_bytes(longer, 19, &n);
  check_idx_rejected(gz, n, EBM_ERR_FORMAT, "idx data is longer than dims [2,3] say", __LINE__);
  free(gz);
  gz = gzip_bytes(longer, 16, &n);
  check_idx_rejected(gz, n, EBM_ERR_FORMAT, "idx data is 4 bytes but dims [2,3] need 6", __LINE__);
  free(gz);
  gz = gzip_bytes(longer, 6, &n);
  check_idx_rejected(gz, n, EBM_ERR_FORMAT, "idx header is truncated", __LINE__);
  free(gz);
  /* A tiny file announcing 2 GB: rejected without allocating it. */
  uint8_t liar[16] = {0, 0, 8, 3, 0, 1, 0, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0};
  gz = gzip_bytes(liar, 16, &n);
  check_idx_rejected(gz, n, EBM_ERR_FORMAT, "announce more than", __LINE__);
  free(gz);
  uint8_t liar2[16] = {0, 0, 8, 3, 0, 0, 0x10, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0};
  gz = gzip_bytes(liar2, 16, &n);
  check_idx_rejected(gz, n, EBM_ERR_FORMAT, "idx data is 0 bytes but dims [4096,256,256]", __LINE__);
  free(gz);
  /* Two concatenated members are one stream. */
  size_t n1, n2;
  uint8_t *g1 = gzip_bytes(raw, 12, &n1), *g2 = gzip_bytes(raw + 12, 6, &n2);
  uint8_t *both = malloc(n1 + n2);
  memcpy(both, g1, n1);
  memcpy(both + n1, g2, n2);
  REQUIRE_OK(ebm_idx_parse(both, n1 + n2, "cat.idx.gz", &a));
  CHECK(a.data[0] == 1 && a.data[5] == 6);
  ebm_idx_free(&a);
  free(both);
  free(g1);
  free(g2);
}
