/* safetensors reader (DESIGN §2 checkpoints): an 8-byte little-endian
 * header length N, N bytes of JSON
 *   {"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [..],
 *    "data_offsets": [begin, end]}, ...}
 * then the data buffer; offsets are relative to its start. The file is
 * hostile until proven otherwise: we check everything the reference
 * implementation (huggingface/safetensors, Rust) checks — offsets in range,
 * sizes matching shapes, tensors tiling the buffer with no gap or overlap —
 * plus what cJSON lets through (duplicate names). */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "io/io_internal.h"

/* The reference implementation's limit on the header (100 MB). */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)
#define ST_MAX_FILE ((size_t)1 << 40)
#define ST_MAX_DIMS 8
/* JSON integers above 2^53 do not survive cJSON's double; no real file needs them. */
#define ST_MAX_JSON_INT 9007199254740992.0

struct ebm_safetensors {
  char *origin;
  uint8_t *file; /* the whole file, 64-byte aligned */
  int count;
  ebm_st_tensor *tensors;
  void **copies; /* aligned copies of tensors whose bytes were misaligned */
  int meta_count;
  char **meta_keys, **meta_values;
};

typedef struct {
  const char *name;
  ebm_dtype dtype;
} st_dtype;

static const st_dtype known_dtypes[] = {
    {"F32", EBM_DTYPE_F32}, {"F64", EBM_DTYPE_F64}, {"U8", EBM_DTYPE_U8},
    {"I32", EBM_DTYPE_I32}, {"I64", EBM_DTYPE_I64}, {"U32", EBM_DTYPE_U32},
};

/* Valid safetensors dtypes that libebm has no use for. */
static const char *const other_spec_dtypes[] = {"F16", "BF16", "I8", "I16", "U16", "U64",
                                               "BOOL", "F8_E4M3", "F8_E5M2"};

void ebm_safetensors_free(ebm_safetensors *st) {
  if (!st) return;
  for (int i = 0; i < st->count; i++) {
    free((char *)st->tensors[i].name);
    if (st->copies) ebm_free(st->copies[i]);
  }
  for (int i = 0; i < st->meta_count; i++) {
    free(st->meta_keys[i]);
    free(st->meta_values[i]);
  }
  free(st->tensors);
  free(st->copies);
  free(st->meta_keys);
  free(st->meta_values);
  free(st->file);
  free(st->origin);
  free(st);
}

/* A JSON number that is an integer in [0, 2^53]. */
static int json_uint(const cJSON *item, uint64_t *out) {
  if (!cJSON_IsNumber(item)) return 0;
  double v = item->valuedouble;
  if (!(v >= 0 && v <= ST_MAX_JSON_INT) || v != (double)(uint64_t)v) return 0;
  *out = (uint64_t)v;
  return 1;
}

/* ------------------------------------------------------------- parsing */

typedef struct {
  ebm_safetensors *st;
  const char *origin;
  size_t data_size;
  uint64_t *begin, *end; /* per tensor */
} st_parse;

static ebm_status parse_metadata(st_parse *p, const cJSON *meta) {
  ebm_safetensors *st = p->st;
  if (!cJSON_IsObject(meta))
    return ebm_set_error(EBM_ERR_FORMAT, "%s: __metadata__ is not an object of strings", p->origin);
  int n = cJSON_GetArraySize(meta);
  st->meta_keys = calloc((size_t)n + 1, sizeof *st->meta_keys);
  st->meta_values = calloc((size_t)n + 1, sizeof *st->meta_values);
  if (!st->meta_keys || !st->meta_values) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", p->origin);
  for (const cJSON *kv = meta->child; kv; kv = kv->next) {
    if (!cJSON_IsString(kv) || !kv->valuestring)
      return ebm_set_error(EBM_ERR_FORMAT, "%s: __metadata__ value for '%s' is not a string",
                           p->origin, kv->string);
    for (int i = 0; i < st->meta_count; i++)
      if (!strcmp(st->meta_keys[i], kv->string))
        return ebm_set_error(EBM_ERR_FORMAT, "%s: __metadata__ has the key '%s' twice", p->origin,
                             kv->string);
    char *k = strdup(kv->string), *v = strdup(kv->valuestring);
    if (!k || !v) {
      free(k);
      free(v);
      return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", p->origin);
    }
    st->meta_keys[st->meta_count] = k;
    st->meta_values[st->meta_count++] = v;
  }
  return EBM_OK;
}

static ebm_status parse_dtype(st_parse *p, const char *name, const cJSON *item, ebm_dtype *out) {
  if (!cJSON_IsString(item) || !item->valuestring)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: tensor '%s' has no \"dtype\" string", p->origin, name);
  const char *d = item->valuestring;
  for (size_t i = 0; i < sizeof known_dtypes / sizeof *known_dtypes; i++)
    if (!strcmp(d, known_dtypes[i].name)) {
      *out = known_dtypes[i].dtype;
      return EBM_OK;
    }
  for (size_t i = 0; i < sizeof other_spec_dtypes / sizeof *other_spec_dtypes; i++)
    if (!strcmp(d, other_spec_dtypes[i]))
      return ebm_set_error(EBM_ERR_UNSUPPORTED,
                           "%s: tensor '%s' has dtype '%s', which is not supported "
                           "(F32 F64 U8 I32 I64 U32)", p->origin, name, d);
  return ebm_set_error(EBM_ERR_FORMAT, "%s: tensor '%s' has unknown dtype '%s'", p->origin, name, d);
}

/* One "name": {"dtype", "shape", "data_offsets"} entry. */
static ebm_status parse_tensor(st_parse *p, int index, const cJSON *entry) {
  ebm_st_tensor *t = &p->st->tensors[index];
  const char *name = entry->string;
  char shape_s[200];
  if (!cJSON_IsObject(entry))
    return ebm_set_error(EBM_ERR_FORMAT, "%s: tensor '%s' is not an object", p->origin, name);
  const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
  for (const cJSON *f = entry->child; f; f = f->next) {
    const cJSON **slot = !strcmp(f->string, "dtype") ? &dtype
                         : !strcmp(f->string, "shape") ? &shape
                         : !strcmp(f->string, "data_offsets") ? &offsets : NULL;
    if (!slot) continue; /* unknown fields are ignored, as serde does by default */
    if (*slot)
      return ebm_set_error(EBM_ERR_FORMAT, "%s: tensor '%s' has \"%s\" twice", p->origin, name,
                           f->string);
    *slot = f;
  }
  ebm_status s = parse_dtype(p, name, dtype, &t->dtype);
  if (s) return s;

  if (!cJSON_IsArray(shape))
    return ebm_set_error(EBM_ERR_FORMAT, "%s: tensor '%s': shape must be a list of non-negative integers",
                         p->origin, name);
  int ndim = cJSON_GetArraySize(shape);
  if (ndim > ST_MAX_DIMS)
    return ebm_set_error(EBM_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dimensions (at most %d)",
                         p->origin, name, ndim, ST_MAX_DIMS);
  int d = 0, has_zero = 0;
  for (const cJSON *dim = shape->child; dim; dim = dim->next, d++) {
    uint64_t v;
    if (!json_uint(dim, &v))
      return ebm_set_error(EBM_ERR_FORMAT,
                           "%s: tensor '%s': shape must be a list of non-negative integers",
                           p->origin, name);
    t->shape[d] = (int64_t)v;
    has_zero |= v == 0;
  }
  /* The byte count is the true product: 0 if any dimension is 0, else it
   * must not overflow. */
  uint64_t nbytes = has_zero ? 0 : ebm_dtype_size(t->dtype);
  for (d = 0; d < ndim && nbytes; d++) {
    uint64_t v = (uint64_t)t->shape[d];
    if (nbytes > UINT64_MAX / v)
      return ebm_set_error(EBM_ERR_FORMAT, "%s: tensor '%s': shape %s overflows", p->origin, name,
                           ebm_shape_str(ndim, t->shape, shape_s, sizeof shape_s));
    nbytes *= v;
  }
  t->ndim = ndim;

  uint64_t b, e;
  if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
      !json_uint(offsets->child, &b) || !json_uint(offsets->child->next, &e))
    return ebm_set_error(EBM_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets must be [begin, end], two non-negative integers",
                         p->origin, name);
  if (b > e)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin",
                         p->origin, name, (unsigned long long)b, (unsigned long long)e);
  if (e > p->data_size)
    return ebm_set_error(EBM_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets [%llu, %llu] go past the end of the data (%zu bytes)",
                         p->origin, name, (unsigned long long)b, (unsigned long long)e, p->data_size);
  if (e - b != nbytes)
    return ebm_set_error(EBM_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but shape %s of %s needs %llu",
                         p->origin, name, (unsigned long long)b, (unsigned long long)e,
                         (unsigned long long)(e - b),
                         ebm_shape_str(ndim, t->shape, shape_s, sizeof shape_s),
                         ebm_dtype_name(t->dtype), (unsigned long long)nbytes);
  p->begin[index] = b;
  p->end[index] = e;
  t->nbytes = (size_t)nbytes;
  if (!(t->name = strdup(name))) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", p->origin);
  return EBM_OK;
}

/* qsort has no context argument, so sort copies of (name, begin, end). */
typedef struct {
  const char *name;
  uint64_t begin, end;
} st_span;

static int by_name(const void *a, const void *b) {
  return strcmp(((const st_span *)a)->name, ((const st_span *)b)->name);
}

static int by_offsets(const void *a, const void *b) {
  const st_span *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return 0;
}

/* Names are unique and the tensors tile [0, data_size) exactly, in some
 * order: no gap, no overlap, nothing left over (as the Rust reader checks). */
static ebm_status check_layout(st_parse *p) {
  int n = p->st->count;
  ebm_status s = EBM_OK;
  st_span *spans = malloc(((size_t)n + 1) * sizeof *spans);
  if (!spans) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", p->origin);
  for (int i = 0; i < n; i++) spans[i] = (st_span){p->st->tensors[i].name, p->begin[i], p->end[i]};
  qsort(spans, (size_t)n, sizeof *spans, by_name);
  for (int i = 1; i < n; i++)
    if (!strcmp(spans[i - 1].name, spans[i].name)) {
      s = ebm_set_error(EBM_ERR_FORMAT, "%s: duplicate tensor name '%s'", p->origin, spans[i].name);
      goto done;
    }
  qsort(spans, (size_t)n, sizeof *spans, by_offsets);
  uint64_t pos = 0;
  const char *prev = NULL;
  for (int i = 0; i < n; i++) {
    if (spans[i].begin < pos) {
      s = ebm_set_error(EBM_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap (bytes [%llu, %llu))",
                        p->origin, prev, spans[i].name, (unsigned long long)spans[i].begin,
                        (unsigned long long)pos);
      goto done;
    }
    if (spans[i].begin > pos) {
      s = ebm_set_error(EBM_ERR_FORMAT,
                        "%s: data bytes [%llu, %llu) before tensor '%s' belong to no tensor",
                        p->origin, (unsigned long long)pos, (unsigned long long)spans[i].begin,
                        spans[i].name);
      goto done;
    }
    pos = spans[i].end;
    prev = spans[i].name;
  }
  if (pos != p->data_size)
    s = ebm_set_error(EBM_ERR_FORMAT, "%s: data bytes [%llu, %zu) after the last tensor belong to no tensor",
                      p->origin, (unsigned long long)pos, p->data_size);
done:
  free(spans);
  return s;
}

/* Points every tensor at its bytes; a tensor whose address is not a
 * multiple of its element size is copied, so `data` can always be used as
 * float * / int64_t * directly (see io.h). */
static ebm_status place_data(st_parse *p, const uint8_t *base) {
  ebm_safetensors *st = p->st;
  for (int i = 0; i < st->count; i++) {
    ebm_st_tensor *t = &st->tensors[i];
    const uint8_t *src = base + p->begin[i];
    size_t esize = ebm_dtype_size(t->dtype);
    if (t->nbytes == 0 || (uintptr_t)src % esize == 0) {
      t->data = src;
      continue;
    }
    if (!st->copies && !(st->copies = calloc((size_t)st->count, sizeof *st->copies)))
      return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", p->origin);
    if (!(st->copies[i] = ebm_alloc(t->nbytes, 1))) return ebm_error_prefix(EBM_ERR_NOMEM, p->origin);
    memcpy(st->copies[i], src, t->nbytes);
    t->data = st->copies[i];
  }
  return EBM_OK;
}

/* Parses `file` (64-byte aligned, ownership taken even on failure). */
/* The 8-byte header length against the limit and the file's size
 * (UINT64_MAX: unknown, a pipe): what a reader checks before reading the
 * rest (io_prefix_check), so /dev/zero or a huge file of another kind is
 * refused after 8 bytes. */
static ebm_status check_header_length(const uint8_t *file, size_t len, uint64_t file_size, const char *origin) {
  uint64_t n = len >= 8 ? io_load_le64(file) : 0;
  int bad = len < 8 || n > ST_MAX_HEADER || (file_size != UINT64_MAX && n > file_size - 8);
  /* Only once the length is impossible is a file of another kind named: a
   * real header of 379 bytes starts with '{' too. */
  const char *kind = bad ? io_file_kind(file, len) : NULL;
  if (kind) return ebm_set_error(EBM_ERR_FORMAT, "%s: not a safetensors file: it is %s", origin, kind);
  if (len < 8)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: file is %zu bytes, too short for a safetensors header", origin, len);
  if (n > ST_MAX_HEADER)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: header length %llu is more than the 100 MB limit", origin,
                         (unsigned long long)n);
  if (bad)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: header length %llu is larger than the file (%llu bytes)", origin,
                         (unsigned long long)n, (unsigned long long)file_size);
  return EBM_OK;
}

/* What load checks after 9 bytes: the length, and that the header does not
 * start with a byte JSON forbids (0 for /dev/zero, a NUL-padded file). */
static ebm_status check_prefix(const uint8_t *file, size_t len, uint64_t file_size, const char *origin) {
  ebm_status s = check_header_length(file, len, file_size, origin);
  if (s) return s;
  if (io_load_le64(file) == 0)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: header length 0: not a safetensors file", origin);
  if (len > 8 && file[8] < 0x20 && file[8] != '\t' && file[8] != '\n' && file[8] != '\r')
    return ebm_set_error(EBM_ERR_FORMAT, "%s: header has a control byte 0x%02x at byte 8", origin, file[8]);
  return EBM_OK;
}

static ebm_status parse_owned(uint8_t *file, size_t size, const char *origin,
                              ebm_safetensors **out) {
  ebm_status s = EBM_OK;
  cJSON *root = NULL;
  char *text = NULL;
  st_parse p = {0};
  *out = NULL;
  ebm_safetensors *st = calloc(1, sizeof *st);
  if (!st || !(st->origin = strdup(origin))) {
    free(st);
    free(file);
    return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", origin);
  }
  st->file = file;
  p.st = st;
  p.origin = origin;
  if ((s = check_header_length(file, size, size, origin)) != EBM_OK) goto fail;
  uint64_t n = io_load_le64(file);
  const uint8_t *h = file + 8;
  /* JSON allows no raw control bytes; rejecting them up front also keeps
   * NULs (which would cut C strings short) out of names. */
  for (uint64_t i = 0; i < n; i++)
    if (h[i] < 0x20 && h[i] != '\t' && h[i] != '\n' && h[i] != '\r') {
      s = ebm_set_error(EBM_ERR_FORMAT, "%s: header has a control byte 0x%02x at byte %llu", origin,
                        h[i], (unsigned long long)(8 + i));
      goto fail;
    }
  if (!io_utf8_valid(h, (size_t)n)) {
    s = ebm_set_error(EBM_ERR_FORMAT, "%s: header is not valid UTF-8", origin);
    goto fail;
  }
  /* A NUL-terminated copy: cJSON then cannot run past the header. */
  if (!(text = malloc((size_t)n + 1))) {
    s = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for a %llu-byte header", origin,
                      (unsigned long long)n);
    goto fail;
  }
  memcpy(text, h, (size_t)n);
  text[n] = '\0';
  /* The error position comes back through `end`, not cJSON_GetErrorPtr(),
   * which is a process-wide global. */
  const char *end = NULL;
  root = cJSON_ParseWithLengthOpts(text, (size_t)n, &end, 0);
  if (!root) {
    s = ebm_set_error(EBM_ERR_FORMAT, "%s: header is not valid JSON (error near byte %llu)", origin,
                      (unsigned long long)(8 + (end ? (uint64_t)(end - text) : 0)));
    goto fail;
  }
  for (const char *c = end; c < text + n; c++)
    if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r') {
      s = ebm_set_error(EBM_ERR_FORMAT, "%s: header has bytes after the JSON object (at byte %llu)",
                        origin, (unsigned long long)(8 + (uint64_t)(c - text)));
      goto fail;
    }
  if (!cJSON_IsObject(root)) {
    s = ebm_set_error(EBM_ERR_FORMAT, "%s: header is not a JSON object", origin);
    goto fail;
  }
  p.data_size = size - 8 - (size_t)n;
  int entries = cJSON_GetArraySize(root);
  st->tensors = calloc((size_t)entries + 1, sizeof *st->tensors);
  p.begin = calloc((size_t)entries + 1, sizeof *p.begin);
  p.end = calloc((size_t)entries + 1, sizeof *p.end);
  if (!st->tensors || !p.begin || !p.end) {
    s = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", origin);
    goto fail;
  }
  int seen_meta = 0;
  for (const cJSON *e = root->child; e; e = e->next) {
    if (!strcmp(e->string, "__metadata__")) {
      if (seen_meta++) {
        s = ebm_set_error(EBM_ERR_FORMAT, "%s: header has __metadata__ twice", origin);
        goto fail;
      }
      if ((s = parse_metadata(&p, e))) goto fail;
      continue;
    }
    s = parse_tensor(&p, st->count, e);
    if (st->tensors[st->count].name) st->count++; /* so free() sees every name */
    if (s) goto fail;
  }
  if ((s = check_layout(&p)) || (s = place_data(&p, file + 8 + n))) goto fail;
  cJSON_Delete(root);
  free(text);
  free(p.begin);
  free(p.end);
  *out = st;
  return EBM_OK;
fail:
  cJSON_Delete(root);
  free(text);
  free(p.begin);
  free(p.end);
  ebm_safetensors_free(st);
  return s;
}

ebm_status ebm_safetensors_parse(const uint8_t *buf, size_t size, const char *origin,
                                 ebm_safetensors **out) {
  *out = NULL;
  uint8_t *copy = ebm_alloc(size, 1);
  if (!copy) return ebm_error_prefix(EBM_ERR_NOMEM, origin);
  if (size) memcpy(copy, buf, size);
  return parse_owned(copy, size, origin, out);
}

ebm_status ebm_safetensors_load(const char *path, ebm_safetensors **out) {
  uint8_t *buf;
  size_t size;
  *out = NULL;
  ebm_status s = io_read_file_checked(path, ST_MAX_FILE, 9, check_prefix, &buf, &size);
  if (s) return s;
  return parse_owned(buf, size, path, out);
}

/* ------------------------------------------------------------- access */

int ebm_safetensors_count(const ebm_safetensors *st) { return st->count; }

const ebm_st_tensor *ebm_safetensors_at(const ebm_safetensors *st, int index) {
  return index >= 0 && index < st->count ? &st->tensors[index] : NULL;
}

const ebm_st_tensor *ebm_safetensors_find(const ebm_safetensors *st, const char *name) {
  for (int i = 0; i < st->count; i++)
    if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
  return NULL;
}

ebm_status ebm_safetensors_read_f32(const ebm_safetensors *st, const char *name, int ndim,
                                    const int64_t *shape, float *out) {
  const ebm_st_tensor *t = ebm_safetensors_find(st, name);
  char a[200], b[200];
  if (!t) return ebm_set_error(EBM_ERR_FORMAT, "%s: no tensor '%s'", st->origin, name);
  if (t->dtype != EBM_DTYPE_F32)
    return ebm_set_error(EBM_ERR_SHAPE, "%s: tensor '%s' has dtype %s, expected F32", st->origin,
                         name, ebm_dtype_name(t->dtype));
  int same = t->ndim == ndim;
  for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
  if (!same)
    return ebm_set_error(EBM_ERR_SHAPE, "%s: tensor '%s' has shape %s, expected %s", st->origin,
                         name, ebm_shape_str(t->ndim, t->shape, a, sizeof a),
                         ebm_shape_str(ndim, shape, b, sizeof b));
  if (t->nbytes) memcpy(out, t->data, t->nbytes);
  return EBM_OK;
}

const char *ebm_safetensors_meta(const ebm_safetensors *st, const char *key) {
  for (int i = 0; i < st->meta_count; i++)
    if (!strcmp(st->meta_keys[i], key)) return st->meta_values[i];
  return NULL;
}

int ebm_safetensors_meta_count(const ebm_safetensors *st) { return st->meta_count; }

void ebm_safetensors_meta_at(const ebm_safetensors *st, int index, const char **key,
                             const char **value) {
  int ok = index >= 0 && index < st->meta_count;
  *key = ok ? st->meta_keys[index] : NULL;
  *value = ok ? st->meta_values[index] : NULL;
}

const char *ebm_safetensors_origin(const ebm_safetensors *st) { return st->origin; }
