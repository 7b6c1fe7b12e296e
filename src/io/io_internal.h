/* Internal helpers shared by the io/ readers and writers: a growable byte
 * buffer, JSON string escaping, UTF-8 validation, and byte-order reads.
 * Not part of the public API. */
#ifndef EBM_IO_INTERNAL_H
#define EBM_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ebm/io.h"

/* The formats we read are little-endian (safetensors, .npy '<'); the code
 * copies them straight into memory, so the host must be little-endian too. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libebm's io/ assumes a little-endian host"
#endif

/* A growable byte buffer. `failed` is sticky: once an allocation fails every
 * later append is a no-op, so callers check once at the end. */
typedef struct {
  char *data;
  size_t len, cap;
  int failed;
} io_buf;

void io_buf_free(io_buf *b);
void io_buf_append(io_buf *b, const void *data, size_t n);
void io_buf_puts(io_buf *b, const char *s);
void io_buf_printf(io_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes sure `extra` more bytes fit (sets `failed` when they cannot). */
int io_buf_reserve(io_buf *b, size_t extra);

/* Appends `s` as a quoted JSON string. ascii_only = 1 escapes every byte
 * outside ' '..'~' as \uXXXX the way Python's json.dumps does by default
 * (so our safetensors headers match the PyTorch reference byte for byte);
 * ascii_only = 0 keeps UTF-8 as is. Invalid UTF-8 becomes U+FFFD. */
void io_json_string(io_buf *b, const char *s, int ascii_only);

/* Appends a double as the shortest JSON number that reads back exactly;
 * NaN and ±Inf become null (JSON has no spelling for them). */
void io_json_number(io_buf *b, double v);

/* 1 if s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int io_utf8_valid(const uint8_t *s, size_t n);

/* A format's first bytes, checked before the rest of a file is read:
 * prefix holds `len` bytes (fewer than asked only when the file is that
 * short), file_size is the size of a regular file or UINT64_MAX for a pipe
 * or device. Returns EBM_OK or an error naming `path`. */
typedef ebm_status (*io_prefix_check)(const uint8_t *prefix, size_t len, uint64_t file_size, const char *path);
#define IO_MAX_PREFIX 16

/* "a PNG image", "an .npy array", ... when the first bytes p[0..len) are a
 * format's magic (len up to IO_MAX_PREFIX helps), NULL when none is known:
 * for a reader's error on a file of another kind (file_kind.c). */
const char *io_file_kind(const uint8_t *p, size_t len);

/* ebm_read_file, but reads `prefix_len` (<= IO_MAX_PREFIX) bytes first and
 * gives them to `check` (NULL: no check) before reading on. */
ebm_status io_read_file_checked(const char *path, size_t max_size, size_t prefix_len, io_prefix_check check,
                                uint8_t **data, size_t *size);

/* EBM_ERR_ARG naming `origin` unless a w×h PNG of c channels (1 or 3) is
 * within the sizes png.c writes and reads (png.c; apng.c too). */
ebm_status io_png_check_size(const char *origin, int w, int h, int c);

static inline uint64_t io_load_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
static inline uint32_t io_load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint32_t io_load_be32(const uint8_t *p) {
  return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}
static inline void io_store_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#endif
