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

/* Number of directory entries other than . and .. */
int io_test_count_entries(const char *dir);

#endif
