/* JSON Lines metrics (DESIGN §2): one object per logged step, one line
 * each, flushed as soon as it ends so a crashed run keeps every line it
 * logged. A record is built in memory and written with a single fwrite,
 * so a reader never sees half a line from us. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_internal.h"

struct ebm_jsonl {
  FILE *f;
  char *path;
  io_buf line;
  int fields;
  int open_record;
};

ebm_status ebm_jsonl_open(const char *path, int truncate, ebm_jsonl **out) {
  *out = NULL;
  ebm_jsonl *j = calloc(1, sizeof *j);
  size_t n = strlen(path) + 1;
  if (!j || !(j->path = malloc(n))) {
    free(j);
    return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  }
  memcpy(j->path, path, n);
  j->f = fopen(path, truncate ? "w" : "a");
  if (!j->f) {
    ebm_status s = ebm_set_error(EBM_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    free(j->path);
    free(j);
    return s;
  }
  *out = j;
  return EBM_OK;
}

void ebm_jsonl_begin(ebm_jsonl *j) {
  if (!j) return;
  j->line.len = 0;
  j->line.failed = 0;
  j->fields = 0;
  j->open_record = 1;
  io_buf_append(&j->line, "{", 1);
}

static void field_key(ebm_jsonl *j, const char *key) {
  if (!j->open_record) ebm_jsonl_begin(j);
  if (j->fields++) io_buf_append(&j->line, ",", 1);
  io_json_string(&j->line, key ? key : "", 0);
  io_buf_append(&j->line, ":", 1);
}

void ebm_jsonl_int(ebm_jsonl *j, const char *key, int64_t value) {
  if (!j) return;
  field_key(j, key);
  io_buf_printf(&j->line, "%lld", (long long)value);
}

void ebm_jsonl_num(ebm_jsonl *j, const char *key, double value) {
  if (!j) return;
  field_key(j, key);
  io_json_number(&j->line, value);
}

void ebm_jsonl_str(ebm_jsonl *j, const char *key, const char *value) {
  if (!j) return;
  field_key(j, key);
  if (value)
    io_json_string(&j->line, value, 0);
  else
    io_buf_puts(&j->line, "null");
}

ebm_status ebm_jsonl_end(ebm_jsonl *j) {
  if (!j) return ebm_set_error(EBM_ERR_ARG, "JSON Lines: no file");
  if (!j->open_record) ebm_jsonl_begin(j);
  io_buf_append(&j->line, "}\n", 2);
  j->open_record = 0;
  if (j->line.failed) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory building a record", j->path);
  if (fwrite(j->line.data, 1, j->line.len, j->f) != j->line.len || fflush(j->f) != 0) {
    ebm_status s = ebm_set_error(EBM_ERR_IO, "%s: cannot write: %s", j->path, strerror(errno));
    clearerr(j->f);
    return s;
  }
  return EBM_OK;
}

void ebm_jsonl_close(ebm_jsonl *j) {
  if (!j) return;
  fclose(j->f);
  io_buf_free(&j->line);
  free(j->path);
  free(j);
}
