/* JSON Lines metrics (DESIGN §2): one object per logged step, one line
 * each, flushed as soon as it ends so a crashed run keeps every line it
 * logged. A record is built in memory and written with a single fwrite,
 * so a reader never sees half a line from us. A results file (eval
 * --json) is instead kept whole in memory and written atomically at
 * commit: a failed or interrupted evaluation leaves the previous one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_internal.h"

struct ebm_jsonl {
  FILE *f;     /* NULL: a file written whole at commit (ebm_jsonl_open_replace) */
  char *path;
  io_buf line;
  io_buf all;  /* the records so far, without f */
  int fields;
  int open_record;
};

/* A handle on path with nothing written yet. */
static ebm_status jsonl_new(const char *path, ebm_jsonl **out) {
  *out = NULL;
  ebm_jsonl *j = calloc(1, sizeof *j);
  size_t n = strlen(path) + 1;
  if (!j || !(j->path = malloc(n))) {
    free(j);
    return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  }
  memcpy(j->path, path, n);
  *out = j;
  return EBM_OK;
}

ebm_status ebm_jsonl_open(const char *path, int truncate, ebm_jsonl **out) {
  ebm_status s = jsonl_new(path, out);
  if (s != EBM_OK) return s;
  ebm_jsonl *j = *out;
  j->f = fopen(path, truncate ? "w" : "a");
  if (!j->f) {
    s = ebm_set_error(EBM_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    ebm_jsonl_close(j);
    *out = NULL;
  }
  return s;
}

ebm_status ebm_jsonl_open_replace(const char *path, ebm_jsonl **out) { return jsonl_new(path, out); }

ebm_status ebm_jsonl_commit(ebm_jsonl *j) {
  if (!j || j->f) return ebm_set_error(EBM_ERR_ARG, "JSON Lines: commit needs a file from ebm_jsonl_open_replace");
  return ebm_write_file_atomic(j->path, j->all.data, j->all.len);
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
  if (!j->f) {
    io_buf_append(&j->all, j->line.data, j->line.len);
    return j->all.failed ? ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory keeping the records", j->path) : EBM_OK;
  }
  if (fwrite(j->line.data, 1, j->line.len, j->f) != j->line.len || fflush(j->f) != 0) {
    ebm_status s = ebm_set_error(EBM_ERR_IO, "%s: cannot write: %s", j->path, strerror(errno));
    clearerr(j->f);
    return s;
  }
  return EBM_OK;
}

void ebm_jsonl_close(ebm_jsonl *j) {
  if (!j) return;
  if (j->f) fclose(j->f);
  io_buf_free(&j->line);
  io_buf_free(&j->all);
  free(j->path);
  free(j);
}

ebm_status ebm_jsonl_object_begin(const char *path, ebm_jsonl **out) {
  ebm_status st = ebm_jsonl_open_replace(path, out);
  if (st == EBM_OK) ebm_jsonl_begin(*out);
  return st;
}

ebm_status ebm_jsonl_object_commit(ebm_jsonl *j) {
  ebm_status st = ebm_jsonl_end(j);
  if (st == EBM_OK) st = ebm_jsonl_commit(j);
  ebm_jsonl_close(j);
  return st;
}
