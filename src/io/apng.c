/* Animated PNG (APNG 1.0, https://wiki.mozilla.org/APNG_Specification),
 * written chunk by chunk with zlib's deflate and crc32: Debian's libpng
 * (1.6) has no APNG patch, so it cannot write acTL / fcTL / fdAT.
 *
 * File: signature, IHDR, acTL (frames, loop forever), fcTL 0, IDAT (frame
 * 0: what a reader without APNG shows), then fcTL + fdAT for every later
 * frame, IEND. fcTL and fdAT share one sequence number counting from 0; an
 * fdAT is an IDAT prefixed by its sequence number. Every frame covers the
 * whole canvas (no offsets, dispose NONE, blend SOURCE). Scanlines use
 * filter 0: the pictures are small and the point is a readable format. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/io_internal.h"

static const uint8_t png_signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Appends one chunk: length, type, data, CRC of type + data. */
static void put_chunk(io_buf *b, const char type[4], const uint8_t *data, size_t len) {
  uint8_t head[8], tail[4];
  put_be32(head, (uint32_t)len);
  memcpy(head + 4, type, 4);
  uLong crc = crc32(0L, (const Bytef *)type, 4);
  if (len) crc = crc32(crc, data, (uInt)len);
  put_be32(tail, (uint32_t)crc);
  io_buf_append(b, head, 8);
  if (len) io_buf_append(b, data, len);
  io_buf_append(b, tail, 4);
}

/* fcTL of sequence number seq: the whole w×h canvas for delay_ms. */
static void put_fctl(io_buf *b, uint32_t seq, int w, int h, int delay_ms) {
  uint8_t f[26] = {0};
  put_be32(f, seq);
  put_be32(f + 4, (uint32_t)w);
  put_be32(f + 8, (uint32_t)h);
  /* x, y offsets 0 (f + 12, f + 16); delay = delay_ms / 1000 s */
  f[20] = (uint8_t)(delay_ms >> 8), f[21] = (uint8_t)delay_ms;
  f[22] = 1000 >> 8, f[23] = 1000 & 0xff;
  /* dispose_op 0 (NONE), blend_op 0 (SOURCE) */
  put_chunk(b, "fcTL", f, sizeof f);
}

ebm_status ebm_apng_encode(int width, int height, int channels, int frames, const uint8_t *pixels,
                           int delay_ms, uint8_t **buf, size_t *size) {
  *buf = NULL;
  *size = 0;
  ebm_status st = io_png_check_size("apng", width, height, channels);
  if (st) return st;
  if (frames < 1 || frames > 65535 || delay_ms < 1 || delay_ms > 65535)
    return ebm_set_error(EBM_ERR_ARG, "apng: needs 1..65535 frames (got %d) of 1..65535 ms (got %d)",
                         frames, delay_ms);
  const size_t row = (size_t)width * (size_t)channels, raw_size = (size_t)height * (row + 1);
  const uLong bound = compressBound((uLong)raw_size);
  uint8_t *raw = malloc(raw_size), *z = malloc(4 + bound); /* 4: an fdAT's sequence number */
  io_buf b = {0};
  if (!raw || !z) goto nomem;
  io_buf_append(&b, png_signature, sizeof png_signature);
  uint8_t ihdr[13];
  put_be32(ihdr, (uint32_t)width);
  put_be32(ihdr + 4, (uint32_t)height);
  ihdr[8] = 8, ihdr[9] = channels == 3 ? 2 : 0; /* 8-bit RGB or grey */
  ihdr[10] = ihdr[11] = ihdr[12] = 0;           /* deflate, filter 0, no interlace */
  put_chunk(&b, "IHDR", ihdr, sizeof ihdr);
  uint8_t actl[8];
  put_be32(actl, (uint32_t)frames);
  put_be32(actl + 4, 0); /* loop forever */
  put_chunk(&b, "acTL", actl, sizeof actl);
  uint32_t seq = 0;
  for (int f = 0; f < frames; f++) {
    const uint8_t *img = pixels + (size_t)f * row * (size_t)height;
    for (int y = 0; y < height; y++) {
      raw[(size_t)y * (row + 1)] = 0; /* filter: none */
      memcpy(raw + (size_t)y * (row + 1) + 1, img + (size_t)y * row, row);
    }
    uLongf zlen = bound;
    if (compress2(z + 4, &zlen, raw, (uLong)raw_size, 6) != Z_OK) goto nomem;
    put_fctl(&b, seq++, width, height, delay_ms);
    if (f == 0) {
      put_chunk(&b, "IDAT", z + 4, zlen);
    } else {
      put_be32(z, seq++);
      put_chunk(&b, "fdAT", z, zlen + 4);
    }
  }
  put_chunk(&b, "IEND", NULL, 0);
  if (b.failed) goto nomem;
  free(raw), free(z);
  *buf = (uint8_t *)b.data;
  *size = b.len;
  return EBM_OK;
nomem:
  free(raw), free(z);
  io_buf_free(&b);
  return ebm_set_error(EBM_ERR_NOMEM, "apng: out of memory for %d frames of %dx%d", frames, width, height);
}

ebm_status ebm_apng_write(const char *path, int width, int height, int channels, int frames,
                          const uint8_t *pixels, int delay_ms) {
  uint8_t *buf;
  size_t size;
  ebm_status st = ebm_apng_encode(width, height, channels, frames, pixels, delay_ms, &buf, &size);
  if (st) return ebm_error_prefix(st, path);
  st = ebm_write_file_atomic(path, buf, size);
  free(buf);
  return st;
}
