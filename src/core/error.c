/* Status codes and the thread-local detail message (DESIGN §1). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/core.h"

#define ERROR_DETAIL_SIZE 1024

static _Thread_local char error_detail[ERROR_DETAIL_SIZE];

const char *ebm_strerror(ebm_status status) {
  switch (status) {
    case EBM_OK: return "success";
    case EBM_ERR_NOMEM: return "out of memory";
    case EBM_ERR_IO: return "input/output error";
    case EBM_ERR_FORMAT: return "malformed file";
    case EBM_ERR_SHAPE: return "shape mismatch";
    case EBM_ERR_ARG: return "invalid argument";
    case EBM_ERR_NUMERIC: return "numerical failure";
    case EBM_ERR_UNSUPPORTED: return "unsupported";
    case EBM_ERR_INTERRUPTED: return "interrupted";
    case EBM_ERR_INTERNAL: return "internal error";
  }
  return "unknown error";
}

const char *ebm_last_error(void) { return error_detail; }

void ebm_clear_error(void) { error_detail[0] = '\0'; }

static int continuation(char c) { return ((unsigned char)c & 0xC0) == 0x80; }

/* Start of the UTF-8 character holding byte i (never splits a character). */
static size_t char_start(const char *s, size_t i) {
  while (i > 0 && continuation(s[i])) i--;
  return i;
}

/* The first character start at or after byte i (len at the end). Moving the
 * cut's end forward must always advance: text that is not UTF-8 (a Latin-1
 * file name) can hold a run of continuation bytes longer than any
 * character, and stepping back to its start made the cut loop forever. */
static size_t char_next(const char *s, size_t i, size_t len) {
  while (i < len && continuation(s[i])) i++;
  return i < len ? i : len;
}

/* Stores msg (len bytes) as the detail. A message longer than the buffer
 * loses the middle of its longest word — in practice the path — so the
 * reason at the end survives ("/very/long/…/dir/m.safetensors: tensor
 * 'w' has shape ..."); without a word that long, the middle of the message. */
static void store_detail(const char *msg, size_t len) {
  static const char ellipsis[] = "\xe2\x80\xa6"; /* … */
  const size_t room = ERROR_DETAIL_SIZE - 1, mark = sizeof ellipsis - 1;
  if (len <= room) {
    memcpy(error_detail, msg, len);
    error_detail[len] = '\0';
    return;
  }
  size_t cut = len - room + mark; /* bytes to drop */
  size_t best = 0, best_len = 0;
  for (size_t i = 0; i < len;) {
    size_t j = i;
    while (j < len && msg[j] != ' ') j++;
    if (j - i > best_len) best = i, best_len = j - i;
    i = j + 1;
  }
  size_t from, to; /* drop msg[from, to) */
  if (best_len > cut + 16) {
    from = best + (best_len - cut) / 2;
  } else {
    from = (len - cut) / 4;
  }
  from = char_start(msg, from);
  to = char_next(msg, from + cut + 3 < len ? from + cut + 3 : len, len);
  while (to < len && from + mark + (len - to) > room) to = char_next(msg, to + 1, len);
  size_t tail = len - to;
  if (from + mark + tail > room) tail = 0; /* cannot happen with the bounds above */
  memcpy(error_detail, msg, from);
  memcpy(error_detail + from, ellipsis, mark);
  memcpy(error_detail + from + mark, msg + to, tail);
  error_detail[from + mark + tail] = '\0';
}

ebm_status ebm_set_error(ebm_status status, const char *fmt, ...) {
  char local[ERROR_DETAIL_SIZE];
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  int n = vsnprintf(local, sizeof local, fmt, ap);
  va_end(ap);
  if (n < 0) {
    error_detail[0] = '\0';
  } else if ((size_t)n < sizeof local) {
    memcpy(error_detail, local, (size_t)n + 1);
  } else {
    char *full = malloc((size_t)n + 1);
    if (full) {
      vsnprintf(full, (size_t)n + 1, fmt, again);
      store_detail(full, (size_t)n);
      free(full);
    } else {
      memcpy(error_detail, local, sizeof local);
    }
  }
  va_end(again);
  return status;
}

ebm_status ebm_error_prefix(ebm_status status, const char *prefix) {
  size_t plen = strlen(prefix), olen = strlen(error_detail);
  char *full = malloc(plen + 2 + olen + 1);
  if (!full) return status; /* keep the old message rather than lose it */
  memcpy(full, prefix, plen);
  memcpy(full + plen, ": ", 2);
  memcpy(full + plen + 2, error_detail, olen + 1);
  store_detail(full, plen + 2 + olen);
  free(full);
  return status;
}
