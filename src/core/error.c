/* Status codes and the thread-local detail message (DESIGN §1). */
#include <stdio.h>
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

ebm_status ebm_set_error(ebm_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error_detail, sizeof error_detail, fmt, ap);
  va_end(ap);
  return status;
}

ebm_status ebm_error_prefix(ebm_status status, const char *prefix) {
  char old[ERROR_DETAIL_SIZE];
  memcpy(old, error_detail, sizeof old);
  size_t plen = strlen(prefix);
  if (plen > ERROR_DETAIL_SIZE / 2) plen = ERROR_DETAIL_SIZE / 2;
  memcpy(error_detail, prefix, plen);
  memcpy(error_detail + plen, ": ", 2);
  size_t room = ERROR_DETAIL_SIZE - plen - 3;
  size_t olen = strnlen(old, room);
  memcpy(error_detail + plen + 2, old, olen);
  error_detail[plen + 2 + olen] = '\0';
  return status;
}
