#include "io/io_test_util.h"

static const float f32_2x3[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7.0f};

TEST(npy_reads_numpy_written_float32_exactly) {
  ebm_npy a;
  REQUIRE_OK(ebm_npy_load(test_fixture("io/f32_2x3.npy"), &a));
  CHECK_EQ_INT(a.dtype, EBM_DTYPE_F32);
  CHECK_EQ_INT(a.ndim, 2);
  CHECK(a.shape[0] == 2 && a.shape[1] == 3);
  CHECK(memcmp(a.data, f32_2x3, sizeof f32_2x3) == 0);
  CHECK(((uintptr_t)a.data % EBM_ALIGN) == 0);
  ebm_npy_free(&a);
  ebm_npy_free(&a); /* idempotent after free */
}

TEST(npy_reads_numpy_uint8_4d_int_labels_v2_scalar_and_empty) {
  ebm_npy a;
  REQUIRE_OK(ebm_npy_load(test_fixture("io/u8_2x1x3x4.npy"), &a));
  CHECK(a.dtype == EBM_DTYPE_U8 && a.ndim == 4);
  CHECK(a.shape[0] == 2 && a.shape[1] == 1 && a.shape[2] == 3 && a.shape[3] == 4);
  for (int i = 0; i < 24; i++) CHECK_EQ_INT(((uint8_t *)a.data)[i], i * 7 % 256);
  ebm_npy_free(&a);

  REQUIRE_OK(ebm_npy_load(test_fixture("io/f32_v2.npy"), &a));
  CHECK(a.dtype == EBM_DTYPE_F32 && a.ndim == 1 && a.shape[0] == 5);
  for (int i = 0; i < 5; i++) CHECK(((float *)a.data)[i] == (float)i / 4);
  ebm_npy_free(&a);

  REQUIRE_OK(ebm_npy_load(test_fixture("io/i64_labels.npy"), &a));
  CHECK(a.dtype == EBM_DTYPE_I64 && a.ndim == 1 && a.shape[0] == 4);
  const int64_t want64[4] = {3, 0, 9, 1};
  CHECK(memcmp(a.data, want64, sizeof want64) == 0);
  ebm_npy_free(&a);

  REQUIRE_OK(ebm_npy_load(test_fixture("io/i32_labels.npy"), &a));
  CHECK(a.dtype == EBM_DTYPE_I32 && a.shape[0] == 2);
  CHECK(((int32_t *)a.data)[0] == 7 && ((int32_t *)a.data)[1] == -1);
  ebm_npy_free(&a);

  REQUIRE_OK(ebm_npy_load(test_fixture("io/f32_scalar.npy"), &a));
  CHECK(a.ndim == 0 && ((float *)a.data)[0] == 2.5f);
  ebm_npy_free(&a);

  REQUIRE_OK(ebm_npy_load(test_fixture("io/f32_empty_0x3.npy"), &a));
  CHECK(a.ndim == 2 && a.shape[0] == 0 && a.shape[1] == 3 && a.data != NULL);
  ebm_npy_free(&a);
}

/* numpy's exact header layout (growth padding, 64-byte alignment): our
 * serialisation of the same array equals the numpy-written file. */
TEST(npy_serialise_matches_numpy_written_bytes) {
  const char *files[] = {"io/f32_2x3.npy", "io/u8_2x1x3x4.npy", "io/i64_labels.npy",
                         "io/i32_labels.npy", "io/f32_scalar.npy", "io/f32_empty_0x3.npy"};
  for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
    size_t size;
    uint8_t *orig = io_test_slurp(test_fixture(files[f]), &size);
    ebm_npy a;
    REQUIRE_OK(ebm_npy_parse(orig, size, files[f], &a));
    uint8_t *again;
    size_t again_size;
    REQUIRE_OK(ebm_npy_serialize(a.dtype, a.ndim, a.shape, a.data, &again, &again_size));
    CHECK_EQ_INT(again_size, size);
    if (again_size != size || memcmp(again, orig, size) != 0)
      test_fail_at(__FILE__, __LINE__, "%s re-serialised differs", files[f]);
    free(again);
    ebm_npy_free(&a);
    free(orig);
  }
}

TEST(npy_save_load_roundtrip_is_byte_exact) {
  ebm_tensor *t = ebm_tensor_new4(2, 1, 3, 5);
  for (int i = 0; i < 30; i++) t->data[i] = (float)i * 0.37f - 4.0f;
  const char *p = test_path("t.npy");
  REQUIRE_OK(ebm_npy_save_tensor(p, t));
  size_t size;
  uint8_t *first = io_test_slurp(p, &size);
  CHECK_EQ_INT(size % 64, 120 % 64);
  ebm_npy a;
  REQUIRE_OK(ebm_npy_load(p, &a));
  CHECK(a.ndim == 4 && a.shape[3] == 5 && memcmp(a.data, t->data, 30 * sizeof(float)) == 0);
  REQUIRE_OK(ebm_npy_save(test_path("t2.npy"), a.dtype, a.ndim, a.shape, a.data));
  size_t size2;
  uint8_t *second = io_test_slurp(test_path("t2.npy"), &size2);
  CHECK(size == size2 && memcmp(first, second, size) == 0);
  free(first);
  free(second);
  ebm_npy_free(&a);

  /* A non-contiguous view is written in logical order. */
  ebm_tensor rows;
  REQUIRE_OK(ebm_tensor_view_rows(t, 1, 1, &rows));
  REQUIRE_OK(ebm_npy_save_tensor(p, &rows));
  REQUIRE_OK(ebm_npy_load(p, &a));
  CHECK(a.shape[0] == 1 && ((float *)a.data)[0] == t->data[15]);
  ebm_npy_free(&a);
  ebm_tensor_free(t);
}

TEST(npy_serialise_rejects_overflowing_shapes_and_unwritable_dtypes) {
  int64_t shape[4] = {INT64_MAX / 8, 16, 1, 1};
  uint8_t *buf;
  size_t size;
  CHECK_FAILS_WITH(ebm_npy_serialize(EBM_DTYPE_F32, 4, shape, NULL, &buf, &size), EBM_ERR_ARG,
                   "bad .npy dimension");
  CHECK_FAILS_WITH(ebm_npy_serialize(EBM_DTYPE_F64, 1, shape, NULL, &buf, &size), EBM_ERR_ARG,
                   "cannot write dtype F64");
  int64_t neg[2] = {2, -1};
  CHECK_FAILS_WITH(ebm_npy_serialize(EBM_DTYPE_U8, 2, neg, NULL, &buf, &size), EBM_ERR_ARG,
                   "bad .npy dimension -1");
  CHECK_FAILS_WITH(ebm_npy_serialize(EBM_DTYPE_U8, EBM_MAX_DIMS + 1, neg, NULL, &buf, &size), EBM_ERR_ARG,
                   "rank 6");
}

TEST(npy_rejects_fortran_order_other_dtypes_and_big_endian_naming_the_file) {
  ebm_npy a;
  CHECK_FAILS_WITH(ebm_npy_load(test_fixture("io/fortran.npy"), &a), EBM_ERR_UNSUPPORTED,
                   "fortran.npy: fortran_order arrays are not supported");
  CHECK_FAILS_WITH(ebm_npy_load(test_fixture("io/f8.npy"), &a), EBM_ERR_UNSUPPORTED,
                   "f8.npy: dtype '<f8' not supported (need float32 or uint8");
  CHECK_FAILS_WITH(ebm_npy_load(test_fixture("io/big_endian.npy"), &a), EBM_ERR_UNSUPPORTED,
                   "big_endian.npy: big-endian arrays are not supported (dtype '>f4'");
  CHECK(a.data == NULL);
  CHECK_FAILS_WITH(ebm_npy_load(test_path("nope.npy"), &a), EBM_ERR_IO, "nope.npy: cannot open");
}

/* Builds a v1.0 .npy with the given header text and `data_bytes` zero bytes. */
static uint8_t *make_npy(const char *header, size_t data_bytes, size_t *size) {
  size_t hlen = strlen(header);
  *size = 10 + hlen + data_bytes;
  uint8_t *b = calloc(*size, 1);
  memcpy(b, "\x93NUMPY\x01\x00", 8);
  b[8] = (uint8_t)(hlen & 0xFF);
  b[9] = (uint8_t)(hlen >> 8);
  memcpy(b + 10, header, hlen);
  return b;
}

static void check_header_rejected(const char *header, size_t data_bytes, ebm_status code,
                                  const char *needle) {
  size_t size;
  uint8_t *b = make_npy(header, data_bytes, &size);
  ebm_npy a;
  ebm_clear_error();
  ebm_status s = ebm_npy_parse(b, size, "h.npy", &a);
  if (s != code || !strstr(ebm_last_error(), needle))
    test_fail_at(__FILE__, __LINE__, "header %s: got %d \"%s\", expected %d \"%s\"", header, s,
                 ebm_last_error(), code, needle);
  CHECK(a.data == NULL);
  free(b);
}

TEST(npy_hostile_headers_each_get_their_own_message) {
  /* Sanity: the helper builds a valid file. */
  size_t size;
  uint8_t *b = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8, &size);
  ebm_npy a;
  CHECK_OK(ebm_npy_parse(b, size, "h.npy", &a));
  ebm_npy_free(&a);
  free(b);

  check_header_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8,
                        EBM_ERR_FORMAT, "h.npy: data is 8 bytes but shape [3] of dtype '<f4' needs 12");
  check_header_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 8,
                        EBM_ERR_FORMAT, "data is 8 bytes but shape [1]");
  check_header_rejected("{'descr': '<f4', 'fortran_order': False}", 0, EBM_ERR_FORMAT,
                        "h.npy: .npy header lacks the key 'shape'");
  check_header_rejected("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4,
                        EBM_ERR_FORMAT, "repeats the key 'descr'");
  check_header_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", 4,
                        EBM_ERR_FORMAT, "unexpected key 'x'");
  check_header_rejected("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", 4, EBM_ERR_FORMAT,
                        "expected True or False at byte");
  check_header_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", 4,
                        EBM_ERR_FORMAT, "expected a dimension at byte");
  check_header_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                        4, EBM_ERR_FORMAT, "dimension too large");
  check_header_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
                        4, EBM_ERR_FORMAT, "shape is too large");
  check_header_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1)}", 4,
                        EBM_ERR_UNSUPPORTED, "more than 5 dimensions");
  check_header_rejected("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}", 4,
                        EBM_ERR_FORMAT, "structured dtypes are not supported");
  check_header_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': ()} junk", 4,
                        EBM_ERR_FORMAT, "expected only spaces after the header dict");
  check_header_rejected("{'descr': '<f4\n", 4, EBM_ERR_FORMAT, "expected a plain string");
  check_header_rejected("{'descr': '<f4", 4, EBM_ERR_FORMAT, "expected a closing quote");
  check_header_rejected("{'descr': '\xe9', 'fortran_order': False, 'shape': ()}", 4, EBM_ERR_FORMAT,
                        "non-ASCII byte at 21");
  check_header_rejected("", 4, EBM_ERR_FORMAT, "expected '{' at byte 0");
}

TEST(npy_hostile_prefixes_are_rejected) {
  ebm_npy a;
  const uint8_t short_magic[] = "\x93NUMPY\x01";
  CHECK_FAILS_WITH(ebm_npy_parse(short_magic, 7, "s.npy", &a), EBM_ERR_FORMAT,
                   "s.npy: not a .npy file");
  uint8_t v[12] = "\x93NUMPY\x04\x00\x00\x00";
  CHECK_FAILS_WITH(ebm_npy_parse(v, 12, "v.npy", &a), EBM_ERR_UNSUPPORTED,
                   "v.npy: .npy format version 4.0 is not supported");
  uint8_t v2[11] = "\x93NUMPY\x02\x00\x10\x00";
  CHECK_FAILS_WITH(ebm_npy_parse(v2, 11, "v2.npy", &a), EBM_ERR_FORMAT, "truncated .npy header");
  uint8_t big[12] = "\x93NUMPY\x03\x00\xff\xff\xff\x7f";
  CHECK_FAILS_WITH(ebm_npy_parse(big, 12, "b.npy", &a), EBM_ERR_FORMAT,
                   "b.npy: .npy header length 2147483647 is implausible");
  uint8_t lie[14] = "\x93NUMPY\x01\x00\x40\x00{'de";
  CHECK_FAILS_WITH(ebm_npy_parse(lie, 14, "l.npy", &a), EBM_ERR_FORMAT,
                   "l.npy: truncated .npy header (64 bytes announced, 4 in the file)");
}
