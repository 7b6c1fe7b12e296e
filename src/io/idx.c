/* idx files (LeCun's MNIST format, also Fashion-MNIST): two zero bytes, a
 * type byte (0x08 = unsigned byte), the number of dimensions, each
 * dimension as a big-endian u32, then the data. Usually gzip'd; we detect
 * gzip by its magic 1f 8b and inflate with zlib, never trusting the sizes
 * a header announces: the output buffer grows only as real data arrives. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/io_internal.h"

/* Bigger than any MNIST-family set (EMNIST by_class is ~550 MB). */
#define IDX_MAX_DATA_BYTES ((uint64_t)1 << 31)
#define IDX_MAX_FILE_BYTES ((size_t)1 << 31)
#define IDX_FIRST_CHUNK ((size_t)1 << 20)

static const char *idx_type_name(int type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return NULL;
  }
}

/* Checks the 4-byte magic; *ndim on success. */
static ebm_status check_magic(const uint8_t *m, const char *origin, int *ndim) {
  if (m[0] != 0 || m[1] != 0 || !idx_type_name(m[2]))
    return ebm_set_error(EBM_ERR_FORMAT, "%s: not an idx file (magic %02x %02x %02x %02x)", origin,
                         m[0], m[1], m[2], m[3]);
  if (m[2] != 0x08)
    return ebm_set_error(EBM_ERR_UNSUPPORTED,
                         "%s: idx type 0x%02x (%s) is not supported (only unsigned byte, 0x08)",
                         origin, m[2], idx_type_name(m[2]));
  if (m[3] < 1 || m[3] > EBM_MAX_DIMS)
    return ebm_set_error(EBM_ERR_UNSUPPORTED, "%s: idx file has %d dimensions (1..%d supported)",
                         origin, m[3], EBM_MAX_DIMS);
  *ndim = m[3];
  return EBM_OK;
}

/* Reads the dims; *numel is their product, bounded by IDX_MAX_DATA_BYTES. */
static ebm_status read_dims(const uint8_t *p, int ndim, const char *origin, int64_t *shape,
                            uint64_t *numel) {
  *numel = 1;
  for (int d = 0; d < ndim; d++) {
    shape[d] = io_load_be32(p + 4 * d);
    *numel *= (uint64_t)shape[d]; /* < 2^31 * 2^32: no overflow before the check */
    if (*numel > IDX_MAX_DATA_BYTES) {
      char s[128];
      return ebm_set_error(EBM_ERR_FORMAT, "%s: idx dims %s announce more than %llu bytes", origin,
                           ebm_shape_str(d + 1, shape, s, sizeof s),
                           (unsigned long long)IDX_MAX_DATA_BYTES);
    }
  }
  return EBM_OK;
}

/* ------------------------------------------------------------- gzip */

typedef struct {
  z_stream zs;
  const char *origin;
  int ended;
} gz_reader;

/* Inflates up to `want` bytes into dst; *got says how many arrived. Stops
 * early only at the end of the last gzip member. */
static ebm_status gz_read(gz_reader *g, uint8_t *dst, size_t want, size_t *got) {
  *got = 0;
  while (*got < want && !g->ended) {
    size_t room = want - *got;
    g->zs.next_out = dst + *got;
    g->zs.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
    uInt before = g->zs.avail_out;
    int ret = inflate(&g->zs, Z_NO_FLUSH);
    *got += before - g->zs.avail_out;
    if (ret == Z_STREAM_END) {
      /* Concatenated gzip members are one file (RFC 1952 §2.2). */
      if (g->zs.avail_in >= 2 && g->zs.next_in[0] == 0x1f && g->zs.next_in[1] == 0x8b) {
        if (inflateReset(&g->zs) != Z_OK)
          return ebm_set_error(EBM_ERR_INTERNAL, "%s: zlib inflateReset failed", g->origin);
        continue;
      }
      if (g->zs.avail_in > 0)
        return ebm_set_error(EBM_ERR_FORMAT, "%s: %u bytes of garbage after the gzip stream",
                             g->origin, g->zs.avail_in);
      g->ended = 1;
    } else if (ret == Z_BUF_ERROR || (ret == Z_OK && g->zs.avail_in == 0 && g->zs.avail_out > 0)) {
      return ebm_set_error(EBM_ERR_FORMAT, "%s: truncated gzip stream", g->origin);
    } else if (ret == Z_MEM_ERROR) {
      return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory inflating", g->origin);
    } else if (ret != Z_OK) {
      return ebm_set_error(EBM_ERR_FORMAT, "%s: corrupt gzip data (%s)", g->origin,
                           g->zs.msg ? g->zs.msg : "zlib error");
    }
  }
  return EBM_OK;
}

static ebm_status parse_gz(const uint8_t *buf, size_t size, const char *origin, ebm_idx *out) {
  ebm_status s = EBM_OK;
  uint8_t head[4 + 4 * EBM_MAX_DIMS];
  uint8_t *data = NULL;
  size_t got;
  gz_reader g;
  memset(&g, 0, sizeof g);
  g.origin = origin;
  if (size > UINT32_MAX)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: gzip file of %zu bytes is too large", origin, size);
  g.zs.next_in = (Bytef *)buf; /* zlib does not write through next_in */
  g.zs.avail_in = (uInt)size;
  if (inflateInit2(&g.zs, 15 + 16) != Z_OK) /* 15 + 16: a gzip wrapper */
    return ebm_set_error(EBM_ERR_NOMEM, "%s: cannot start zlib", origin);
  int ndim;
  if ((s = gz_read(&g, head, 4, &got))) goto fail;
  if (got < 4) {
    s = ebm_set_error(EBM_ERR_FORMAT, "%s: idx data is %zu bytes, too short for a header", origin, got);
    goto fail;
  }
  if ((s = check_magic(head, origin, &ndim))) goto fail;
  if ((s = gz_read(&g, head + 4, 4 * (size_t)ndim, &got))) goto fail;
  if (got < 4 * (size_t)ndim) {
    s = ebm_set_error(EBM_ERR_FORMAT, "%s: idx header is truncated (%d dims announced)", origin, ndim);
    goto fail;
  }
  uint64_t numel;
  if ((s = read_dims(head + 4, ndim, origin, out->shape, &numel))) goto fail;
  /* Grow the buffer as data arrives: a 40-byte file that claims 2 GB must
   * not make us allocate 2 GB before finding out it lies. */
  size_t want = (size_t)numel, have = 0, cap = want < IDX_FIRST_CHUNK ? want : IDX_FIRST_CHUNK;
  data = malloc(cap ? cap : 1);
  if (!data) {
    s = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", origin);
    goto fail;
  }
  for (;;) {
    if ((s = gz_read(&g, data + have, cap - have, &got))) goto fail;
    have += got;
    if (have < cap || cap == want) break;
    size_t ncap = cap > want / 2 ? want : cap * 2;
    uint8_t *nd = realloc(data, ncap);
    if (!nd) {
      s = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory (%zu bytes)", origin, ncap);
      goto fail;
    }
    data = nd;
    cap = ncap;
  }
  char shape_s[128];
  if (have < want) {
    s = ebm_set_error(EBM_ERR_FORMAT, "%s: idx data is %zu bytes but dims %s need %zu", origin,
                      have, ebm_shape_str(ndim, out->shape, shape_s, sizeof shape_s), want);
    goto fail;
  }
  uint8_t extra;
  if ((s = gz_read(&g, &extra, 1, &got))) goto fail;
  if (got) {
    s = ebm_set_error(EBM_ERR_FORMAT, "%s: idx data is longer than dims %s say (%zu bytes)", origin,
                      ebm_shape_str(ndim, out->shape, shape_s, sizeof shape_s), want);
    goto fail;
  }
  inflateEnd(&g.zs);
  out->ndim = ndim;
  out->data = data;
  return EBM_OK;
fail:
  inflateEnd(&g.zs);
  free(data);
  memset(out, 0, sizeof *out);
  return s;
}

/* ---------------------------------------------------------- public */

ebm_status ebm_idx_parse(const uint8_t *buf, size_t size, const char *origin, ebm_idx *out) {
  memset(out, 0, sizeof *out);
  if (size >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) return parse_gz(buf, size, origin, out);
  int ndim;
  if (size < 4)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: file is %zu bytes, too short for an idx header",
                         origin, size);
  ebm_status s = check_magic(buf, origin, &ndim);
  if (s) return s;
  size_t header = 4 + 4 * (size_t)ndim;
  if (size < header)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: idx header is truncated (%d dims announced)", origin,
                         ndim);
  uint64_t numel;
  if ((s = read_dims(buf + 4, ndim, origin, out->shape, &numel))) {
    memset(out, 0, sizeof *out);
    return s;
  }
  if (size - header != numel) {
    char shape_s[128];
    s = ebm_set_error(EBM_ERR_FORMAT, "%s: idx data is %zu bytes but dims %s need %llu", origin,
                      size - header, ebm_shape_str(ndim, out->shape, shape_s, sizeof shape_s),
                      (unsigned long long)numel);
    memset(out, 0, sizeof *out);
    return s;
  }
  out->data = malloc(numel ? (size_t)numel : 1);
  if (!out->data) {
    memset(out, 0, sizeof *out);
    return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", origin);
  }
  if (numel) memcpy(out->data, buf + header, (size_t)numel);
  out->ndim = ndim;
  return EBM_OK;
}

/* gzip's magic or an idx magic, before the rest is read (io_prefix_check). */
static ebm_status check_prefix(const uint8_t *p, size_t len, uint64_t file_size, const char *path) {
  (void)file_size;
  int ndim;
  if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b) return EBM_OK;
  if (len < 4) return ebm_set_error(EBM_ERR_FORMAT, "%s: file is %zu bytes, too short for an idx header", path, len);
  return check_magic(p, path, &ndim);
}

ebm_status ebm_idx_load(const char *path, ebm_idx *out) {
  uint8_t *buf;
  size_t size;
  memset(out, 0, sizeof *out);
  ebm_status s = io_read_file_checked(path, IDX_MAX_FILE_BYTES, 4, check_prefix, &buf, &size);
  if (s) return s;
  s = ebm_idx_parse(buf, size, path, out);
  free(buf);
  return s;
}

void ebm_idx_free(ebm_idx *a) {
  if (!a) return;
  free(a->data);
  memset(a, 0, sizeof *a);
}
