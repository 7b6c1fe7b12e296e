/* Shared bits of the libFuzzer targets: a trap that libFuzzer reports as a
 * crash when a round-trip property fails, and a reader that touches every
 * byte so ASan sees any over-read. */
#ifndef EBM_FUZZ_COMMON_H
#define EBM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) abort();      \
  } while (0)

/* Sums the bytes (volatile sink) so every one of them is read. */
static inline void fuzz_touch(const void *p, size_t n) {
  const uint8_t *b = p;
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) acc ^= b[i];
  volatile uint8_t sink = acc;
  (void)sink;
}

/* The input as a NUL-terminated string (malloc'd; NULL when out of memory),
 * for parsers of text. */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text) {
    memcpy(text, data, size);
    text[size] = '\0';
  }
  return text;
}

/* A failing call must leave a message. */
static inline void fuzz_check_message(ebm_status s) {
  if (s != EBM_OK) FUZZ_CHECK(ebm_last_error()[0] != '\0');
}

#endif
