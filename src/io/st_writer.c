/* safetensors writer: tensors in the order added, "__metadata__" first,
 * the JSON header written exactly as the PyTorch reference does
 * (json.dumps(separators=(",", ":")), ASCII-escaped) and padded with spaces
 * to a multiple of 8 bytes, so the data buffer starts 8-byte aligned and a
 * reference-written file re-serialises byte for byte. */
#include <stdlib.h>
#include <string.h>

#include "io/io_internal.h"

#define ST_MAX_DIMS 8

typedef struct {
  char *name;
  ebm_dtype dtype;
  int ndim;
  int64_t shape[ST_MAX_DIMS];
  uint8_t *data;
  size_t nbytes;
} st_entry;

struct ebm_st_writer {
  st_entry *entries;
  int count, cap;
  char **meta_keys, **meta_values;
  int meta_count, meta_cap;
};

ebm_st_writer *ebm_st_writer_new(void) {
  ebm_st_writer *w = calloc(1, sizeof *w);
  if (!w) ebm_set_error(EBM_ERR_NOMEM, "out of memory for a safetensors writer");
  return w;
}

void ebm_st_writer_free(ebm_st_writer *w) {
  if (!w) return;
  for (int i = 0; i < w->count; i++) {
    free(w->entries[i].name);
    ebm_free(w->entries[i].data);
  }
  for (int i = 0; i < w->meta_count; i++) {
    free(w->meta_keys[i]);
    free(w->meta_values[i]);
  }
  free(w->entries);
  free(w->meta_keys);
  free(w->meta_values);
  free(w);
}

static int utf8_str(const char *s) { return io_utf8_valid((const uint8_t *)s, strlen(s)); }

ebm_status ebm_st_writer_add(ebm_st_writer *w, const char *name, ebm_dtype dtype, int ndim,
                             const int64_t *shape, const void *data) {
  if (!name) return ebm_set_error(EBM_ERR_ARG, "safetensors: NULL tensor name");
  if (!strcmp(name, "__metadata__") || !utf8_str(name))
    return ebm_set_error(EBM_ERR_ARG, "safetensors: '%s' cannot be a tensor name", name);
  size_t esize = ebm_dtype_size(dtype);
  if (!esize) return ebm_set_error(EBM_ERR_ARG, "safetensors: tensor '%s' has a bad dtype %d", name, (int)dtype);
  if (ndim < 0 || ndim > ST_MAX_DIMS)
    return ebm_set_error(EBM_ERR_ARG, "safetensors: tensor '%s' has rank %d (0..%d)", name, ndim,
                         ST_MAX_DIMS);
  int has_zero = 0;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0)
      return ebm_set_error(EBM_ERR_ARG, "safetensors: tensor '%s' has a bad dimension %lld", name,
                           (long long)shape[d]);
    has_zero |= shape[d] == 0;
  }
  size_t nbytes = has_zero ? 0 : esize;
  for (int d = 0; d < ndim && nbytes; d++) {
    if (nbytes > (SIZE_MAX / 2) / (uint64_t)shape[d])
      return ebm_set_error(EBM_ERR_ARG, "safetensors: tensor '%s' has a bad dimension %lld", name,
                           (long long)shape[d]);
    nbytes *= (size_t)shape[d];
  }
  for (int i = 0; i < w->count; i++)
    if (!strcmp(w->entries[i].name, name))
      return ebm_set_error(EBM_ERR_ARG, "safetensors: tensor '%s' added twice", name);
  if (w->count == w->cap) {
    int cap = w->cap ? 2 * w->cap : 16;
    st_entry *ne = realloc(w->entries, (size_t)cap * sizeof *ne);
    if (!ne) return ebm_set_error(EBM_ERR_NOMEM, "safetensors: out of memory");
    w->entries = ne;
    w->cap = cap;
  }
  st_entry *e = &w->entries[w->count];
  memset(e, 0, sizeof *e);
  e->name = strdup(name);
  e->data = ebm_alloc(nbytes, 1);
  if (!e->name || !e->data) {
    free(e->name);
    ebm_free(e->data);
    return ebm_set_error(EBM_ERR_NOMEM, "safetensors: out of memory copying tensor '%s'", name);
  }
  if (nbytes) memcpy(e->data, data, nbytes);
  e->dtype = dtype;
  e->ndim = ndim;
  if (ndim) memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
  e->nbytes = nbytes;
  w->count++;
  return EBM_OK;
}

ebm_status ebm_st_writer_add_f32(ebm_st_writer *w, const char *name, int ndim,
                                 const int64_t *shape, const float *data) {
  return ebm_st_writer_add(w, name, EBM_DTYPE_F32, ndim, shape, data);
}

ebm_status ebm_st_writer_meta(ebm_st_writer *w, const char *key, const char *value) {
  if (!key || !value || !utf8_str(key) || !utf8_str(value))
    return ebm_set_error(EBM_ERR_ARG, "safetensors: metadata '%s' is not a valid UTF-8 string pair",
                         key ? key : "(null)");
  char *v = strdup(value);
  if (!v) return ebm_set_error(EBM_ERR_NOMEM, "safetensors: out of memory");
  for (int i = 0; i < w->meta_count; i++)
    if (!strcmp(w->meta_keys[i], key)) { /* a later value replaces an earlier one */
      free(w->meta_values[i]);
      w->meta_values[i] = v;
      return EBM_OK;
    }
  if (w->meta_count == w->meta_cap) {
    int cap = w->meta_cap ? 2 * w->meta_cap : 8;
    char **nk = realloc(w->meta_keys, (size_t)cap * sizeof *nk);
    if (nk) w->meta_keys = nk;
    char **nv = nk ? realloc(w->meta_values, (size_t)cap * sizeof *nv) : NULL;
    if (nv) w->meta_values = nv;
    if (!nk || !nv) {
      free(v);
      return ebm_set_error(EBM_ERR_NOMEM, "safetensors: out of memory");
    }
    w->meta_cap = cap;
  }
  char *k = strdup(key);
  if (!k) {
    free(v);
    return ebm_set_error(EBM_ERR_NOMEM, "safetensors: out of memory");
  }
  w->meta_keys[w->meta_count] = k;
  w->meta_values[w->meta_count++] = v;
  return EBM_OK;
}

/* The 8-byte length and the padded JSON header: everything before the data. */
static ebm_status build_header(const ebm_st_writer *w, io_buf *h) {
  io_buf_append(h, "\0\0\0\0\0\0\0\0", 8);
  io_buf_puts(h, "{");
  if (w->meta_count) {
    io_buf_puts(h, "\"__metadata__\":{");
    for (int i = 0; i < w->meta_count; i++) {
      if (i) io_buf_puts(h, ",");
      io_json_string(h, w->meta_keys[i], 1);
      io_buf_puts(h, ":");
      io_json_string(h, w->meta_values[i], 1);
    }
    io_buf_puts(h, "}");
  }
  uint64_t offset = 0;
  for (int i = 0; i < w->count; i++) {
    const st_entry *e = &w->entries[i];
    if (i || w->meta_count) io_buf_puts(h, ",");
    io_json_string(h, e->name, 1);
    io_buf_printf(h, ":{\"dtype\":\"%s\",\"shape\":[", ebm_dtype_name(e->dtype));
    for (int d = 0; d < e->ndim; d++) io_buf_printf(h, d ? ",%lld" : "%lld", (long long)e->shape[d]);
    io_buf_printf(h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                  (unsigned long long)(offset + e->nbytes));
    offset += e->nbytes;
  }
  io_buf_puts(h, "}");
  while ((h->len - 8) % 8) io_buf_append(h, " ", 1);
  if (h->failed) return ebm_set_error(EBM_ERR_NOMEM, "safetensors: out of memory for the header");
  io_store_le64((uint8_t *)h->data, (uint64_t)(h->len - 8));
  return EBM_OK;
}

ebm_status ebm_st_writer_serialize(const ebm_st_writer *w, uint8_t **buf, size_t *size) {
  io_buf h = {0};
  *buf = NULL;
  *size = 0;
  ebm_status s = build_header(w, &h);
  if (s) {
    io_buf_free(&h);
    return s;
  }
  size_t total = h.len;
  for (int i = 0; i < w->count; i++) total += w->entries[i].nbytes;
  uint8_t *out = malloc(total);
  if (!out) {
    io_buf_free(&h);
    return ebm_set_error(EBM_ERR_NOMEM, "safetensors: out of memory for %zu bytes", total);
  }
  memcpy(out, h.data, h.len);
  size_t at = h.len;
  for (int i = 0; i < w->count; i++) {
    if (w->entries[i].nbytes) memcpy(out + at, w->entries[i].data, w->entries[i].nbytes);
    at += w->entries[i].nbytes;
  }
  io_buf_free(&h);
  *buf = out;
  *size = total;
  return EBM_OK;
}

ebm_status ebm_st_writer_save(const ebm_st_writer *w, const char *path) {
  io_buf h = {0};
  ebm_status s = build_header(w, &h);
  if (s) {
    io_buf_free(&h);
    return ebm_error_prefix(s, path);
  }
  /* Header and tensors go to the file as they are: no second copy of a
   * large checkpoint or replay buffer in memory. */
  int nparts = w->count + 1;
  const void **parts = malloc((size_t)nparts * sizeof *parts);
  size_t *sizes = malloc((size_t)nparts * sizeof *sizes);
  if (!parts || !sizes) {
    s = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  } else {
    parts[0] = h.data;
    sizes[0] = h.len;
    for (int i = 0; i < w->count; i++) {
      parts[i + 1] = w->entries[i].data;
      sizes[i + 1] = w->entries[i].nbytes;
    }
    s = ebm_write_file_atomic_parts(path, nparts, parts, sizes);
  }
  free(parts);
  free(sizes);
  io_buf_free(&h);
  return s;
}
