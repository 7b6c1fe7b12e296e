#include "io/io_test_util.h"

/* The values scripts/make-io-fixtures.py writes into ref_model.safetensors
 * with the PyTorch reference's save_safetensors. */
TEST(safetensors_reads_reference_written_file_and_metadata) {
  ebm_safetensors *st;
  REQUIRE_OK(ebm_safetensors_load(test_fixture("io/ref_model.safetensors"), &st));
  REQUIRE(ebm_safetensors_count(st) == 3);
  const char *names[3] = {"net.0.weight", "net.0.bias", "net.2.weight"};
  for (int i = 0; i < 3; i++) CHECK(strcmp(ebm_safetensors_at(st, i)->name, names[i]) == 0);
  CHECK(ebm_safetensors_at(st, 3) == NULL);
  const ebm_st_tensor *w = ebm_safetensors_find(st, "net.0.weight");
  REQUIRE(w != NULL);
  CHECK(w->dtype == EBM_DTYPE_F32 && w->ndim == 4 && w->shape[0] == 2 && w->shape[3] == 3);
  CHECK(((uintptr_t)w->data % 4) == 0);
  for (int i = 0; i < 18; i++) CHECK(((const float *)w->data)[i] == (float)i / 8 - 1);
  float bias[2];
  CHECK_OK(ebm_safetensors_read_f32(st, "net.0.bias", 1, (int64_t[]){2}, bias));
  CHECK(bias[0] == 0.5f && bias[1] == -0.25f);
  float lin[2];
  CHECK_OK(ebm_safetensors_read_f32(st, "net.2.weight", 2, (int64_t[]){1, 2}, lin));
  CHECK(lin[0] == 1.0f && lin[1] == 2.0f);
  CHECK_EQ_INT(ebm_safetensors_meta_count(st), 4);
  CHECK(strcmp(ebm_safetensors_meta(st, "format"), "ebm-ref") == 0);
  CHECK(strcmp(ebm_safetensors_meta(st, "arch"), "{\"hidden\": 32}") == 0);
  CHECK(strcmp(ebm_safetensors_meta(st, "step"), "50") == 0);
  CHECK(strcmp(ebm_safetensors_meta(st, "note"), "caf\xc3\xa9 \"quoted\"\n") == 0);
  CHECK(ebm_safetensors_meta(st, "absent") == NULL);
  const char *k, *v;
  ebm_safetensors_meta_at(st, 0, &k, &v);
  CHECK(strcmp(k, "format") == 0 && strcmp(v, "ebm-ref") == 0);
  ebm_safetensors_meta_at(st, 9, &k, &v);
  CHECK(k == NULL && v == NULL);
  CHECK_CONTAINS(ebm_safetensors_origin(st), "ref_model.safetensors");
  ebm_safetensors_free(st);
  ebm_safetensors_free(NULL);
}

/* Copies a loaded file into a writer (metadata, then tensors in order). */
static ebm_st_writer *writer_from(const ebm_safetensors *st) {
  ebm_st_writer *w = ebm_st_writer_new();
  REQUIRE(w != NULL);
  for (int i = 0; i < ebm_safetensors_meta_count(st); i++) {
    const char *k, *v;
    ebm_safetensors_meta_at(st, i, &k, &v);
    REQUIRE_OK(ebm_st_writer_meta(w, k, v));
  }
  for (int i = 0; i < ebm_safetensors_count(st); i++) {
    const ebm_st_tensor *t = ebm_safetensors_at(st, i);
    REQUIRE_OK(ebm_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data));
  }
  return w;
}

TEST(safetensors_reserialised_reference_file_is_byte_identical) {
  size_t size;
  uint8_t *orig = io_test_slurp(test_fixture("io/ref_model.safetensors"), &size);
  ebm_safetensors *st;
  REQUIRE_OK(ebm_safetensors_parse(orig, size, "ref", &st));
  ebm_st_writer *w = writer_from(st);
  uint8_t *again;
  size_t again_size;
  REQUIRE_OK(ebm_st_writer_serialize(w, &again, &again_size));
  CHECK_EQ_INT(again_size, size);
  CHECK(again_size == size && memcmp(again, orig, size) == 0);
  free(again);
  ebm_st_writer_free(w);
  ebm_safetensors_free(st);
  free(orig);
}

TEST(safetensors_roundtrip_of_every_dtype_is_byte_exact) {
  ebm_st_writer *w = ebm_st_writer_new();
  float f[6] = {1, -2, 3.5f, 1e-8f, -0.0f, 65504};
  uint8_t u8[3] = {0, 128, 255};
  int32_t i32[2] = {-7, 1 << 30};
  int64_t i64[2] = {-1, (int64_t)1 << 40};
  double f64[1] = {3.141592653589793};
  uint32_t u32[2] = {0, 4000000000u};
  REQUIRE_OK(ebm_st_writer_meta(w, "arch", "{\"layers\":[1,2]}"));
  REQUIRE_OK(ebm_st_writer_meta(w, "uni", "\xce\xbb \xf0\x9f\x98\x80 \x01"));
  REQUIRE_OK(ebm_st_writer_meta(w, "arch", "{\"layers\":[3]}")); /* replaces */
  /* U8 first so the F32 after it sits at offset 3: the reader must realign it. */
  REQUIRE_OK(ebm_st_writer_add(w, "u8", EBM_DTYPE_U8, 1, (int64_t[]){3}, u8));
  REQUIRE_OK(ebm_st_writer_add_f32(w, "f32", 2, (int64_t[]){2, 3}, f));
  REQUIRE_OK(ebm_st_writer_add(w, "i32", EBM_DTYPE_I32, 1, (int64_t[]){2}, i32));
  REQUIRE_OK(ebm_st_writer_add(w, "i64", EBM_DTYPE_I64, 1, (int64_t[]){2}, i64));
  REQUIRE_OK(ebm_st_writer_add(w, "scalar \xce\xbb", EBM_DTYPE_F64, 0, NULL, f64));
  REQUIRE_OK(ebm_st_writer_add(w, "u32", EBM_DTYPE_U32, 1, (int64_t[]){2}, u32));
  REQUIRE_OK(ebm_st_writer_add(w, "empty", EBM_DTYPE_F32, 2, (int64_t[]){0, 4}, NULL));
  const char *p = test_path("all.safetensors");
  REQUIRE_OK(ebm_st_writer_save(w, p));
  ebm_st_writer_free(w);

  size_t size;
  uint8_t *first = io_test_slurp(p, &size);
  CHECK_EQ_INT(io_load_le64_for_test(first) % 8, 0);
  ebm_safetensors *st;
  REQUIRE_OK(ebm_safetensors_load(p, &st));
  CHECK_EQ_INT(ebm_safetensors_count(st), 7);
  CHECK(strcmp(ebm_safetensors_meta(st, "arch"), "{\"layers\":[3]}") == 0);
  CHECK(strcmp(ebm_safetensors_meta(st, "uni"), "\xce\xbb \xf0\x9f\x98\x80 \x01") == 0);
  const ebm_st_tensor *t = ebm_safetensors_find(st, "f32");
  CHECK(((uintptr_t)t->data % 4) == 0 && memcmp(t->data, f, sizeof f) == 0);
  t = ebm_safetensors_find(st, "i64");
  CHECK(((uintptr_t)t->data % 8) == 0 && ((const int64_t *)t->data)[1] == i64[1]);
  t = ebm_safetensors_find(st, "scalar \xce\xbb");
  CHECK(t && t->ndim == 0 && ((const double *)t->data)[0] == f64[0]);
  t = ebm_safetensors_find(st, "u32");
  CHECK(((const uint32_t *)t->data)[1] == u32[1]);
  t = ebm_safetensors_find(st, "empty");
  CHECK(t->nbytes == 0 && t->ndim == 2 && t->shape[1] == 4);
  w = writer_from(st);
  uint8_t *again;
  size_t again_size;
  REQUIRE_OK(ebm_st_writer_serialize(w, &again, &again_size));
  CHECK(again_size == size && memcmp(again, first, size) == 0);
  free(again);
  ebm_st_writer_free(w);
  ebm_safetensors_free(st);
  free(first);
}

TEST(safetensors_read_f32_checks_name_dtype_and_shape) {
  ebm_st_writer *w = ebm_st_writer_new();
  REQUIRE_OK(ebm_st_writer_add_f32(w, "w", 2, (int64_t[]){2, 3}, (float[6]){0}));
  REQUIRE_OK(ebm_st_writer_add(w, "n", EBM_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[1]){5}));
  REQUIRE_OK(ebm_st_writer_save(w, test_path("m.safetensors")));
  ebm_st_writer_free(w);
  ebm_safetensors *st;
  REQUIRE_OK(ebm_safetensors_load(test_path("m.safetensors"), &st));
  float out[6];
  CHECK_FAILS_WITH(ebm_safetensors_read_f32(st, "x", 1, (int64_t[]){6}, out), EBM_ERR_FORMAT,
                   "m.safetensors: no tensor 'x'");
  CHECK_FAILS_WITH(ebm_safetensors_read_f32(st, "n", 1, (int64_t[]){1}, out), EBM_ERR_SHAPE,
                   "m.safetensors: tensor 'n' has dtype I64, expected F32");
  CHECK_FAILS_WITH(ebm_safetensors_read_f32(st, "w", 2, (int64_t[]){3, 2}, out), EBM_ERR_SHAPE,
                   "m.safetensors: tensor 'w' has shape [2,3], expected [3,2]");
  CHECK_FAILS_WITH(ebm_safetensors_read_f32(st, "w", 1, (int64_t[]){6}, out), EBM_ERR_SHAPE,
                   "has shape [2,3], expected [6]");
  ebm_safetensors_free(st);
}

TEST(safetensors_writer_rejects_bad_names_shapes_and_strings) {
  ebm_st_writer *w = ebm_st_writer_new();
  float x = 1;
  REQUIRE_OK(ebm_st_writer_add_f32(w, "a", 1, (int64_t[]){1}, &x));
  CHECK_FAILS_WITH(ebm_st_writer_add_f32(w, "a", 1, (int64_t[]){1}, &x), EBM_ERR_ARG,
                   "tensor 'a' added twice");
  CHECK_FAILS_WITH(ebm_st_writer_add_f32(w, "__metadata__", 1, (int64_t[]){1}, &x), EBM_ERR_ARG,
                   "'__metadata__' cannot be a tensor name");
  CHECK_FAILS_WITH(ebm_st_writer_add_f32(w, NULL, 1, (int64_t[]){1}, &x), EBM_ERR_ARG, "NULL tensor name");
  CHECK_FAILS_WITH(ebm_st_writer_add_f32(w, "b", 1, (int64_t[]){-2}, &x), EBM_ERR_ARG,
                   "tensor 'b' has a bad dimension -2");
  CHECK_FAILS_WITH(ebm_st_writer_add_f32(w, "b", 9, (int64_t[9]){1}, &x), EBM_ERR_ARG, "rank 9");
  CHECK_FAILS_WITH(ebm_st_writer_add(w, "b", (ebm_dtype)42, 1, (int64_t[]){1}, &x), EBM_ERR_ARG,
                   "bad dtype 42");
  CHECK_FAILS_WITH(ebm_st_writer_meta(w, "k", "\xff"), EBM_ERR_ARG, "metadata 'k' is not a valid UTF-8");
  CHECK_FAILS_WITH(ebm_st_writer_save(w, test_path("no/dir.safetensors")), EBM_ERR_IO,
                   "no/dir.safetensors: cannot create a temporary file");
  ebm_st_writer_free(w);
  ebm_st_writer_free(NULL);
}

/* A safetensors file from a raw header text (no padding) and `data_size`
 * bytes of data (value i & 0xff at offset i). */
static uint8_t *make_st(const char *header, size_t data_size, size_t *size) {
  size_t n = strlen(header);
  *size = 8 + n + data_size;
  uint8_t *b = malloc(*size);
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)n >> (8 * i));
  memcpy(b + 8, header, n);
  for (size_t i = 0; i < data_size; i++) b[8 + n + i] = (uint8_t)i;
  return b;
}

static void check_st_rejected(const char *header, size_t data_size, ebm_status code,
                              const char *needle, int line) {
  size_t size;
  uint8_t *b = make_st(header, data_size, &size);
  ebm_safetensors *st = (ebm_safetensors *)b; /* must be reset to NULL */
  ebm_clear_error();
  ebm_status s = ebm_safetensors_parse(b, size, "bad.safetensors", &st);
  if (s != code || !strstr(ebm_last_error(), needle))
    test_fail_at(__FILE__, line, "header %.60s: got %d \"%s\", expected %d \"%s\"", header, s,
                 ebm_last_error(), code, needle);
  if (code != EBM_OK) CHECK(st == NULL);
  if (s == EBM_OK) ebm_safetensors_free(st);
  free(b);
}
#define REJECT(h, n, code, needle) check_st_rejected(h, n, code, needle, __LINE__)
#define F32_4 "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]"

TEST(safetensors_unaligned_header_still_gives_aligned_f32) {
  /* Header length 53 (not a multiple of 8) and an F32 at data offset 1. */
  const char *h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1,9]}}";
  size_t size;
  uint8_t *b = make_st(h, 9, &size);
  float want[2] = {1.5f, -3.0f};
  memcpy(b + size - 8, want, 8);
  ebm_safetensors *st;
  REQUIRE_OK(ebm_safetensors_parse(b, size, "u", &st));
  const ebm_st_tensor *t = ebm_safetensors_find(st, "b");
  CHECK(((uintptr_t)t->data % 4) == 0);
  CHECK(memcmp(t->data, want, 8) == 0);
  ebm_safetensors_free(st);
  free(b);
}

TEST(safetensors_hostile_headers_each_get_their_own_message) {
  REJECT("{\"w\":{" F32_4 "}}", 4, EBM_OK, ""); /* sanity: the builder makes valid files */
  uint8_t tiny[5] = {1, 0, 0, 0, 0};
  ebm_safetensors *st;
  CHECK_FAILS_WITH(ebm_safetensors_parse(tiny, 5, "t.st", &st), EBM_ERR_FORMAT,
                   "t.st: file is 5 bytes, too short for a safetensors header");
  uint8_t huge[16] = {0, 0, 0, 0, 0, 1};
  CHECK_FAILS_WITH(ebm_safetensors_parse(huge, 16, "h.st", &st), EBM_ERR_FORMAT,
                   "h.st: header length 1099511627776 is more than the 100 MB limit");
  uint8_t longer[16] = {9};
  CHECK_FAILS_WITH(ebm_safetensors_parse(longer, 16, "l.st", &st), EBM_ERR_FORMAT,
                   "l.st: header length 9 is larger than the file (16 bytes)");
  REJECT("{\"w\":\x01{}}", 0, EBM_ERR_FORMAT, "bad.safetensors: header has a control byte 0x01 at byte 13");
  REJECT("{\"w\xff\":{}}", 0, EBM_ERR_FORMAT, "header is not valid UTF-8");
  REJECT("{\"w\":[1,2", 0, EBM_ERR_FORMAT, "header is not valid JSON (error near byte");
  REJECT("{} x", 0, EBM_ERR_FORMAT, "header has bytes after the JSON object (at byte 11)");
  REJECT("[1,2]", 0, EBM_ERR_FORMAT, "header is not a JSON object");
  REJECT("{\"w\":5}", 0, EBM_ERR_FORMAT, "tensor 'w' is not an object");
  REJECT("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, EBM_ERR_FORMAT,
         "tensor 'w' has no \"dtype\" string");
  REJECT("{\"w\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, EBM_ERR_FORMAT,
         "bad.safetensors: tensor 'w' has unknown dtype 'Q7'");
  REJECT("{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, EBM_ERR_UNSUPPORTED,
         "tensor 'w' has dtype 'BF16', which is not supported");
  const char *bad_shapes[] = {"5", "[-1]", "[1.5]", "[\"2\"]", "null", "[1e300]", "[[1]]"};
  for (size_t i = 0; i < sizeof bad_shapes / sizeof *bad_shapes; i++) {
    char h[200];
    snprintf(h, sizeof h, "{\"w\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[0,4]}}", bad_shapes[i]);
    REJECT(h, 4, EBM_ERR_FORMAT, "tensor 'w': shape must be a list of non-negative integers");
  }
  REJECT("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
         EBM_ERR_UNSUPPORTED, "tensor 'w' has 9 dimensions (at most 8)");
  REJECT("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}",
         4, EBM_ERR_FORMAT, "tensor 'w': shape [4294967296,4294967296,4294967296] overflows");
  /* A zero anywhere makes the product 0: no overflow, an empty tensor. */
  REJECT("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,0],\"data_offsets\":[0,0]},\"\":{" F32_4 "}}",
         4, EBM_OK, "");
  const char *bad_offsets[] = {"", ",\"data_offsets\":[0]", ",\"data_offsets\":[0,4,8]",
                               ",\"data_offsets\":[\"0\",4]", ",\"data_offsets\":[0,-4]",
                               ",\"data_offsets\":{\"a\":0,\"b\":4}"};
  for (size_t i = 0; i < sizeof bad_offsets / sizeof *bad_offsets; i++) {
    char h[200];
    snprintf(h, sizeof h, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]%s}}", bad_offsets[i]);
    REJECT(h, 4, EBM_ERR_FORMAT, "tensor 'w': data_offsets must be [begin, end]");
  }
  REJECT("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, EBM_ERR_FORMAT,
         "tensor 'w': data_offsets [8, 4] end before they begin");
  REJECT("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 6, EBM_ERR_FORMAT,
         "tensor 'w': data_offsets [4, 8] go past the end of the data (6 bytes)");
  REJECT("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,9007199254740992]}}", 6,
         EBM_ERR_FORMAT, "go past the end of the data");
  REJECT("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, EBM_ERR_FORMAT,
         "tensor 'w': data_offsets [0, 8] hold 8 bytes but shape [1] of F32 needs 4");
  REJECT("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, EBM_ERR_FORMAT,
         "tensors 'a' and 'b' overlap (bytes [4, 8))");
  REJECT("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8, EBM_ERR_FORMAT,
         "tensors 'a' and 'b' overlap");
  REJECT("{\"a\":{" F32_4 "},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
         EBM_ERR_FORMAT, "data bytes [4, 8) before tensor 'b' belong to no tensor");
  REJECT("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, EBM_ERR_FORMAT,
         "data bytes [0, 4) before tensor 'a' belong to no tensor");
  REJECT("{\"a\":{" F32_4 "}}", 7, EBM_ERR_FORMAT, "data bytes [4, 7) after the last tensor belong to no tensor");
  REJECT("{}", 1, EBM_ERR_FORMAT, "data bytes [0, 1) after the last tensor");
  REJECT("{\"w\":{" F32_4 "},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
         EBM_ERR_FORMAT, "bad.safetensors: duplicate tensor name 'w'");
  REJECT("{\"w\":{" F32_4 ",\"dtype\":\"U8\"}}", 4, EBM_ERR_FORMAT, "tensor 'w' has \"dtype\" twice");
  REJECT("{\"__metadata__\":[\"a\"]}", 0, EBM_ERR_FORMAT, "__metadata__ is not an object of strings");
  REJECT("{\"__metadata__\":{\"step\":5}}", 0, EBM_ERR_FORMAT,
         "bad.safetensors: __metadata__ value for 'step' is not a string");
  REJECT("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, EBM_ERR_FORMAT,
         "__metadata__ has the key 'k' twice");
  REJECT("{\"__metadata__\":{},\"__metadata__\":{}}", 0, EBM_ERR_FORMAT, "header has __metadata__ twice");
  /* Nesting beyond cJSON's limit is a parse error, not a stack overflow. */
  char deep[4100];
  size_t n = 0;
  deep[n++] = '{';
  memcpy(deep + n, "\"w\":", 4), n += 4;
  for (int i = 0; i < 2000; i++) deep[n++] = '[';
  for (int i = 0; i < 2000; i++) deep[n++] = ']';
  deep[n++] = '}';
  deep[n] = '\0';
  REJECT(deep, 0, EBM_ERR_FORMAT, "header is not valid JSON");
}

TEST(safetensors_accepts_empty_and_metadata_only_files) {
  const char *ok[] = {"{}", "{\"__metadata__\":{}}      ", "{\"__metadata__\":{\"a\":\"b\"}}\n",
                      ("{\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                       "\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]}}")};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    size_t size;
    uint8_t *b = make_st(ok[i], 0, &size);
    ebm_safetensors *st;
    CHECK_OK(ebm_safetensors_parse(b, size, "ok", &st));
    ebm_safetensors_free(st);
    free(b);
  }
}
