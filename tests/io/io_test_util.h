/* Helpers shared by the io/ tests. */
#ifndef EBM_IO_TEST_UTIL_H
#define EBM_IO_TEST_UTIL_H

#include <stdint.h>
#include <stdlib.h>

#include "test.h"

/* Reads a whole file (REQUIREs success); free() the result. */
static inline uint8_t *io_test_slurp(const char *path, size_t *size) {
  uint8_t *buf = NULL;
  REQUIRE_OK(ebm_read_file(path, (size_t)1 << 30, &buf, size));
  return buf;
}

/* The little-endian u64 at p (a safetensors header length). */
static inline uint64_t io_load_le64_for_test(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* Number of directory entries other than . and .. */
int io_test_count_entries(const char *dir);

#endif
