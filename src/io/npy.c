/* .npy arrays (numpy's format, NEP 1): "\x93NUMPY", a version, a header
 * length, a Python dict literal {'descr', 'fortran_order', 'shape'}, then
 * the raw C-order data. We read versions 1.0, 2.0 and 3.0 and write 1.0
 * (2.0 when the header does not fit), padded exactly as numpy pads, so a
 * numpy-written file re-serialises byte for byte. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_internal.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* numpy aligns the data start to 64 bytes (ARRAY_ALIGN in numpy/lib/format.py). */
#define NPY_ALIGN 64
/* numpy leaves room for the first axis to grow to 21 digits
 * (GROWTH_AXIS_MAX_DIGITS, numpy >= 1.23) so the header can be rewritten in place. */
#define NPY_GROWTH_DIGITS 21
/* Headers longer than this are not something numpy would write. */
#define NPY_MAX_HEADER (1u << 20)
#define NPY_MAX_FILE ((size_t)1 << 34)

typedef struct {
  const char *dtype_descr;
  ebm_dtype dtype;
} npy_descr;

/* What we accept: '|u1' is what numpy writes for uint8; '<u1' and '>u1'
 * are the same bytes. Int arrays are for labels. */
static const npy_descr accepted_descrs[] = {
    {"<f4", EBM_DTYPE_F32}, {"|u1", EBM_DTYPE_U8},  {"<u1", EBM_DTYPE_U8},
    {">u1", EBM_DTYPE_U8},  {"<i4", EBM_DTYPE_I32}, {"<i8", EBM_DTYPE_I64},
};

static const char *descr_for(ebm_dtype dtype) {
  switch (dtype) {
    case EBM_DTYPE_F32: return "<f4";
    case EBM_DTYPE_U8: return "|u1";
    case EBM_DTYPE_I32: return "<i4";
    case EBM_DTYPE_I64: return "<i8";
    default: return NULL;
  }
}

/* ------------------------------------------------------- header parser */

/* A cursor over the header text; errors name the byte offset. */
typedef struct {
  const char *s;
  size_t n, i;
  const char *origin;
} cursor;

static void skip_ws(cursor *c) {
  while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' ||
                         c->s[c->i] == '\r'))
    c->i++;
}

static ebm_status syntax_error(const cursor *c, const char *what) {
  return ebm_set_error(EBM_ERR_FORMAT, "%s: .npy header: expected %s at byte %zu", c->origin,
                       what, c->i);
}

static int accept(cursor *c, char ch) {
  skip_ws(c);
  if (c->i < c->n && c->s[c->i] == ch) {
    c->i++;
    return 1;
  }
  return 0;
}

/* A Python string literal in ' or " quotes without escapes (numpy's
 * dtype strings never need any). */
static ebm_status parse_str(cursor *c, char *out, size_t size) {
  skip_ws(c);
  if (c->i >= c->n || (c->s[c->i] != '\'' && c->s[c->i] != '"')) return syntax_error(c, "a string");
  char q = c->s[c->i++];
  size_t start = c->i;
  while (c->i < c->n && c->s[c->i] != q) {
    if (c->s[c->i] == '\\' || (unsigned char)c->s[c->i] < 0x20) return syntax_error(c, "a plain string");
    c->i++;
  }
  if (c->i >= c->n) return syntax_error(c, "a closing quote");
  size_t len = c->i - start;
  c->i++;
  if (len >= size)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: .npy header: string of %zu bytes at byte %zu is too long",
                         c->origin, len, start);
  memcpy(out, c->s + start, len);
  out[len] = '\0';
  return EBM_OK;
}

static ebm_status parse_bool(cursor *c, int *out) {
  skip_ws(c);
  if (c->n - c->i >= 4 && !memcmp(c->s + c->i, "True", 4)) {
    c->i += 4, *out = 1;
  } else if (c->n - c->i >= 5 && !memcmp(c->s + c->i, "False", 5)) {
    c->i += 5, *out = 0;
  } else {
    return syntax_error(c, "True or False");
  }
  return EBM_OK;
}

/* (d0, d1, ...) with an optional trailing comma; Python 2's "3L" too. */
static ebm_status parse_shape(cursor *c, int *ndim, int64_t *shape) {
  if (!accept(c, '(')) return syntax_error(c, "'(' starting the shape");
  *ndim = 0;
  for (;;) {
    if (accept(c, ')')) return EBM_OK;
    skip_ws(c);
    if (c->i >= c->n || !isdigit((unsigned char)c->s[c->i])) return syntax_error(c, "a dimension");
    int64_t v = 0;
    while (c->i < c->n && isdigit((unsigned char)c->s[c->i])) {
      int digit = c->s[c->i++] - '0';
      if (v > (INT64_MAX - digit) / 10)
        return ebm_set_error(EBM_ERR_FORMAT, "%s: .npy header: dimension too large at byte %zu",
                             c->origin, c->i);
      v = v * 10 + digit;
    }
    if (c->i < c->n && c->s[c->i] == 'L') c->i++;
    if (*ndim >= EBM_MAX_DIMS)
      return ebm_set_error(EBM_ERR_UNSUPPORTED, "%s: arrays of more than %d dimensions are not supported",
                           c->origin, EBM_MAX_DIMS);
    shape[(*ndim)++] = v;
    if (accept(c, ',')) continue;
    if (accept(c, ')')) return EBM_OK;
    return syntax_error(c, "',' or ')' in the shape");
  }
}

typedef struct {
  char descr[64];
  int fortran_order;
  int ndim;
  int64_t shape[EBM_MAX_DIMS];
} npy_header;

static ebm_status parse_header_dict(cursor *c, npy_header *h) {
  ebm_status s;
  int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
  if (!accept(c, '{')) return syntax_error(c, "'{'");
  for (;;) {
    if (accept(c, '}')) break;
    char key[32];
    if ((s = parse_str(c, key, sizeof key))) return s;
    if (!accept(c, ':')) return syntax_error(c, "':'");
    int *seen;
    if (!strcmp(key, "descr")) {
      seen = &seen_descr;
      skip_ws(c);
      if (c->i < c->n && c->s[c->i] == '[')
        return ebm_set_error(EBM_ERR_FORMAT,
                             "%s: structured dtypes are not supported (need float32 or uint8)",
                             c->origin);
      if ((s = parse_str(c, h->descr, sizeof h->descr))) return s;
    } else if (!strcmp(key, "fortran_order")) {
      seen = &seen_fortran;
      if ((s = parse_bool(c, &h->fortran_order))) return s;
    } else if (!strcmp(key, "shape")) {
      seen = &seen_shape;
      if ((s = parse_shape(c, &h->ndim, h->shape))) return s;
    } else {
      return ebm_set_error(EBM_ERR_FORMAT, "%s: .npy header has an unexpected key '%s'",
                           c->origin, key);
    }
    if (*seen)
      return ebm_set_error(EBM_ERR_FORMAT, "%s: .npy header repeats the key '%s'", c->origin, key);
    *seen = 1;
    if (accept(c, ',')) continue;
    if (accept(c, '}')) break;
    return syntax_error(c, "',' or '}'");
  }
  skip_ws(c);
  if (c->i != c->n) return syntax_error(c, "only spaces after the header dict");
  const char *missing = !seen_descr ? "descr" : !seen_fortran ? "fortran_order" : !seen_shape ? "shape" : NULL;
  if (missing)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: .npy header lacks the key '%s'", c->origin, missing);
  return EBM_OK;
}

/* --------------------------------------------------------------- reader */

/* The magic and version bytes: all a reader needs to see before trusting
 * the rest of a file to be an array (io_prefix_check). */
static ebm_status check_magic(const uint8_t *buf, size_t size, uint64_t file_size, const char *origin) {
  (void)file_size;
  if (size < NPY_MAGIC_LEN + 4 || memcmp(buf, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
    const char *kind = io_file_kind(buf, size);
    if (kind) return ebm_set_error(EBM_ERR_FORMAT, "%s: not a .npy file: it is %s", origin, kind);
    return ebm_set_error(EBM_ERR_FORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", origin);
  }
  return EBM_OK;
}

ebm_status ebm_npy_parse(const uint8_t *buf, size_t size, const char *origin, ebm_npy *out) {
  memset(out, 0, sizeof *out);
  ebm_status magic = check_magic(buf, size, size, origin);
  if (magic) return magic;
  int major = buf[6], minor = buf[7];
  size_t prefix, hlen;
  if (major == 1 && minor == 0) {
    prefix = 10;
    hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (size < 12) return ebm_set_error(EBM_ERR_FORMAT, "%s: truncated .npy header", origin);
    prefix = 12;
    hlen = io_load_le32(buf + 8);
  } else {
    return ebm_set_error(EBM_ERR_UNSUPPORTED, "%s: .npy format version %d.%d is not supported",
                         origin, major, minor);
  }
  if (hlen > NPY_MAX_HEADER)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: .npy header length %zu is implausible", origin, hlen);
  if (hlen > size - prefix)
    return ebm_set_error(EBM_ERR_FORMAT,
                         "%s: truncated .npy header (%zu bytes announced, %zu in the file)", origin,
                         hlen, size - prefix);
  const char *text = (const char *)buf + prefix;
  /* v1/v2 headers are latin-1 and v3 UTF-8, but numpy only writes ASCII. */
  for (size_t i = 0; i < hlen; i++)
    if ((unsigned char)text[i] >= 0x80 || text[i] == '\0')
      return ebm_set_error(EBM_ERR_FORMAT, "%s: .npy header has a non-ASCII byte at %zu", origin,
                           prefix + i);
  npy_header h;
  memset(&h, 0, sizeof h);
  cursor c = {text, hlen, 0, origin};
  ebm_status s = parse_header_dict(&c, &h);
  if (s) return s;
  if (h.fortran_order)
    return ebm_set_error(EBM_ERR_UNSUPPORTED, "%s: fortran_order arrays are not supported", origin);
  int found = -1;
  for (size_t i = 0; i < sizeof accepted_descrs / sizeof *accepted_descrs; i++)
    if (!strcmp(h.descr, accepted_descrs[i].dtype_descr)) found = (int)i;
  if (found < 0) {
    char little[64];
    snprintf(little, sizeof little, "<%s", h.descr + 1);
    int would_read = 0;
    for (size_t i = 0; i < sizeof accepted_descrs / sizeof *accepted_descrs; i++)
      would_read |= !strcmp(little, accepted_descrs[i].dtype_descr);
    if (h.descr[0] == '>' && would_read)
      return ebm_set_error(EBM_ERR_UNSUPPORTED,
                           "%s: big-endian arrays are not supported (dtype '%s'; save as '%s')",
                           origin, h.descr, little);
    return ebm_set_error(EBM_ERR_UNSUPPORTED,
                         "%s: dtype '%s' not supported (need float32 or uint8, or int32/int64 labels)",
                         origin, h.descr);
  }
  ebm_dtype dtype = accepted_descrs[found].dtype;
  size_t esize = ebm_dtype_size(dtype);
  uint64_t numel = 1;
  for (int d = 0; d < h.ndim; d++)
    if (h.shape[d] == 0) numel = 0;
  for (int d = 0; d < h.ndim && numel; d++) {
    if (numel > (uint64_t)NPY_MAX_FILE / (uint64_t)h.shape[d])
      return ebm_set_error(EBM_ERR_FORMAT, "%s: shape is too large", origin);
    numel *= (uint64_t)h.shape[d];
  }
  size_t want = (size_t)numel * esize, have = size - prefix - hlen;
  char shape_s[128];
  if (have != want)
    return ebm_set_error(EBM_ERR_FORMAT,
                         "%s: data is %zu bytes but shape %s of dtype '%s' needs %zu", origin,
                         have, ebm_shape_str(h.ndim, h.shape, shape_s, sizeof shape_s), h.descr, want);
  void *data = ebm_alloc((size_t)numel, esize);
  if (!data) return ebm_error_prefix(EBM_ERR_NOMEM, origin);
  if (want) memcpy(data, buf + prefix + hlen, want);
  out->dtype = dtype;
  out->ndim = h.ndim;
  memcpy(out->shape, h.shape, sizeof h.shape);
  out->data = data;
  return EBM_OK;
}

ebm_status ebm_npy_load(const char *path, ebm_npy *out) {
  uint8_t *buf;
  size_t size;
  memset(out, 0, sizeof *out);
  ebm_status s = io_read_file_checked(path, NPY_MAX_FILE, NPY_MAGIC_LEN + 4, check_magic, &buf, &size);
  if (s) return s;
  s = ebm_npy_parse(buf, size, path, out);
  free(buf);
  return s;
}

void ebm_npy_free(ebm_npy *a) {
  if (!a) return;
  ebm_free(a->data);
  memset(a, 0, sizeof *a);
}

/* --------------------------------------------------------------- writer */

ebm_status ebm_npy_serialize(ebm_dtype dtype, int ndim, const int64_t *shape, const void *data,
                             uint8_t **buf, size_t *size) {
  *buf = NULL;
  *size = 0;
  const char *descr = descr_for(dtype);
  if (!descr)
    return ebm_set_error(EBM_ERR_ARG, "cannot write dtype %s as .npy (float32, uint8, int32, int64 only)",
                         ebm_dtype_name(dtype));
  if (ndim < 0 || ndim > EBM_MAX_DIMS)
    return ebm_set_error(EBM_ERR_ARG, ".npy rank %d is not in 0..%d", ndim, EBM_MAX_DIMS);
  size_t esize = ebm_dtype_size(dtype);
  uint64_t numel = 1;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0) return ebm_set_error(EBM_ERR_ARG, "bad .npy dimension %lld", (long long)shape[d]);
    if (shape[d] == 0) numel = 0;
  }
  for (int d = 0; d < ndim && numel; d++) {
    if (numel > (uint64_t)(SIZE_MAX / 2 / esize) / (uint64_t)shape[d])
      return ebm_set_error(EBM_ERR_ARG, "bad .npy dimension %lld", (long long)shape[d]);
    numel *= (uint64_t)shape[d];
  }
  /* numpy: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" */
  io_buf h = {0};
  io_buf_printf(&h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int d = 0; d < ndim; d++) io_buf_printf(&h, d ? ", %lld" : "%lld", (long long)shape[d]);
  io_buf_puts(&h, ndim == 1 ? ",), }" : "), }");
  if (ndim > 0) {
    char first[24];
    int digits = snprintf(first, sizeof first, "%lld", (long long)shape[0]);
    for (int i = digits; i < NPY_GROWTH_DIGITS; i++) io_buf_append(&h, " ", 1);
  }
  if (h.failed) {
    io_buf_free(&h);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory writing .npy");
  }
  /* numpy's _wrap_header: pad with spaces and a final '\n' so the data
   * starts on a 64-byte boundary; padlen is 64 (not 0) when already aligned. */
  size_t hlen = h.len + 1;
  size_t prefix = 10;
  size_t padlen = NPY_ALIGN - ((prefix + hlen) % NPY_ALIGN);
  if (hlen + padlen > 0xFFFF) {
    prefix = 12;
    padlen = NPY_ALIGN - ((prefix + hlen) % NPY_ALIGN);
  }
  size_t total_hlen = hlen + padlen;
  size_t nbytes = (size_t)numel * esize;
  size_t total = prefix + total_hlen + nbytes;
  uint8_t *out = malloc(total ? total : 1);
  if (!out) {
    io_buf_free(&h);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory writing .npy (%zu bytes)", total);
  }
  memcpy(out, NPY_MAGIC, NPY_MAGIC_LEN);
  out[6] = prefix == 10 ? 1 : 2;
  out[7] = 0;
  if (prefix == 10) {
    out[8] = (uint8_t)(total_hlen & 0xFF);
    out[9] = (uint8_t)(total_hlen >> 8);
  } else {
    for (int i = 0; i < 4; i++) out[8 + i] = (uint8_t)(total_hlen >> (8 * i));
  }
  memcpy(out + prefix, h.data, h.len);
  memset(out + prefix + h.len, ' ', padlen);
  out[prefix + total_hlen - 1] = '\n';
  if (nbytes) memcpy(out + prefix + total_hlen, data, nbytes);
  io_buf_free(&h);
  *buf = out;
  *size = total;
  return EBM_OK;
}

ebm_status ebm_npy_save(const char *path, ebm_dtype dtype, int ndim, const int64_t *shape,
                        const void *data) {
  uint8_t *buf;
  size_t size;
  ebm_status s = ebm_npy_serialize(dtype, ndim, shape, data, &buf, &size);
  if (s) return ebm_error_prefix(s, path);
  s = ebm_write_file_atomic(path, buf, size);
  free(buf);
  return s;
}

ebm_status ebm_npy_save_tensor(const char *path, const ebm_tensor *t) {
  if (ebm_tensor_is_contiguous(t)) return ebm_npy_save(path, EBM_DTYPE_F32, t->ndim, t->shape, t->data);
  ebm_tensor *c = ebm_tensor_clone(t);
  if (!c) return ebm_error_prefix(EBM_ERR_NOMEM, path);
  ebm_status s = ebm_npy_save(path, EBM_DTYPE_F32, c->ndim, c->shape, c->data);
  ebm_tensor_free(c);
  return s;
}
