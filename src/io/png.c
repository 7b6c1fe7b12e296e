/* PNG in and out through libpng (DESIGN §2: sample grids, chains, heat
 * maps). Encoding goes to memory (png_set_write_fn) and then through
 * ebm_write_file_atomic; decoding reads from memory. libpng reports errors
 * by longjmp: each setjmp lives in a small function whose locals are not
 * modified after it, and everything allocated in between is owned by a
 * context struct in the caller's frame, so nothing leaks or is clobbered. */
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_internal.h"

/* Accepted PNG sizes: large enough for any grid we draw, small enough that
 * a hostile header cannot make us allocate gigabytes. */
#define PNG_MAX_SIDE 65535
#define PNG_MAX_PIXEL_BYTES ((size_t)1 << 28)
#define PNG_MAX_FILE ((size_t)1 << 30)

typedef struct {
  char msg[200];
} png_err;

static void on_png_error(png_structp png, png_const_charp msg) {
  png_err *e = png_get_error_ptr(png);
  snprintf(e->msg, sizeof e->msg, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

/* The library never prints: warnings are dropped. */
static void on_png_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

/* ------------------------------------------------------------ encode */

static void mem_write(png_structp png, png_bytep data, size_t len) {
  io_buf *b = png_get_io_ptr(png);
  io_buf_append(b, data, len);
  if (b->failed) png_error(png, "out of memory");
}

static void mem_flush(png_structp png) { (void)png; }

static void encode_body(png_structp png, png_infop info, int w, int h, int c,
                        const uint8_t *pixels, io_buf *out) {
  png_set_write_fn(png, out, mem_write, mem_flush);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
               c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  size_t stride = (size_t)w * (size_t)c;
  for (int y = 0; y < h; y++) png_write_row(png, pixels + (size_t)y * stride);
  png_write_end(png, NULL);
}

static ebm_status encode(int w, int h, int c, const uint8_t *pixels, io_buf *out, png_err *err) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, err, on_png_error, on_png_warning);
  if (!png) return EBM_ERR_NOMEM;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, NULL);
    return EBM_ERR_NOMEM;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return EBM_ERR_INTERNAL;
  }
  encode_body(png, info, w, h, c, pixels, out);
  png_destroy_write_struct(&png, &info);
  return EBM_OK;
}

ebm_status io_png_check_size(const char *origin, int w, int h, int c) {
  if (c != 1 && c != 3)
    return ebm_set_error(EBM_ERR_ARG, "%s: PNG needs 1 (gray) or 3 (RGB) channels, not %d", origin, c);
  if (w < 1 || h < 1 || w > PNG_MAX_SIDE || h > PNG_MAX_SIDE ||
      (size_t)w * (size_t)h * (size_t)c > PNG_MAX_PIXEL_BYTES)
    return ebm_set_error(EBM_ERR_ARG, "%s: PNG of %dx%d pixels is out of range (1..%d per side)",
                         origin, w, h, PNG_MAX_SIDE);
  return EBM_OK;
}

ebm_status ebm_png_encode(int width, int height, int channels, const uint8_t *pixels,
                          uint8_t **buf, size_t *size) {
  *buf = NULL;
  *size = 0;
  ebm_status s = io_png_check_size("png", width, height, channels);
  if (s) return s;
  io_buf out = {0};
  png_err err = {{0}};
  s = encode(width, height, channels, pixels, &out, &err);
  if (s) {
    io_buf_free(&out);
    if (s == EBM_ERR_NOMEM || out.failed) return ebm_set_error(EBM_ERR_NOMEM, "png: out of memory");
    return ebm_set_error(s, "png: libpng failed: %s", err.msg);
  }
  *buf = (uint8_t *)out.data;
  *size = out.len;
  return EBM_OK;
}

ebm_status ebm_png_write(const char *path, int width, int height, int channels,
                         const uint8_t *pixels) {
  ebm_status s = io_png_check_size(path, width, height, channels);
  if (s) return s;
  uint8_t *buf;
  size_t size;
  if ((s = ebm_png_encode(width, height, channels, pixels, &buf, &size)))
    return ebm_error_prefix(s, path);
  s = ebm_write_file_atomic(path, buf, size);
  free(buf);
  return s;
}

/* -------------------------------------------------------------- grid */

ebm_grid_opts ebm_grid_defaults(void) {
  ebm_grid_opts o = {0.0f, 1.0f, 0, 2, 1, 255};
  return o;
}

/* Maps v in [lo, hi] to 0..255, rounding to nearest; out of range clamps,
 * NaN is black. */
static uint8_t to_byte(float v, float lo, float inv_range) {
  float t = (v - lo) * inv_range * 255.0f;
  if (!(t > 0.0f)) return 0;
  if (t >= 255.0f) return 255;
  return (uint8_t)(t + 0.5f);
}

ebm_status ebm_grid_render(const char *path, const ebm_tensor *images, const ebm_grid_opts *opts,
                           uint8_t **pixels, int *width, int *height) {
  *pixels = NULL;
  ebm_grid_opts o = opts ? *opts : ebm_grid_defaults();
  char shape_s[96];
  if (images->ndim != 4 || (images->shape[1] != 1 && images->shape[1] != 3) || images->shape[0] < 1 ||
      images->shape[2] < 1 || images->shape[3] < 1)
    return ebm_set_error(EBM_ERR_SHAPE, "%s: an image grid needs N×C×H×W with N >= 1 and C = 1 or 3, got %s",
                         path, ebm_shape_str(images->ndim, images->shape, shape_s, sizeof shape_s));
  if (!isfinite(o.lo) || !isfinite(o.hi) || !(o.hi > o.lo))
    return ebm_set_error(EBM_ERR_ARG, "%s: grid value range [%g, %g] is empty", path, (double)o.lo,
                         (double)o.hi);
  if (o.scale < 1 || o.scale > 64 || o.pad < 0 || o.pad > 1024 || o.ncols < 0)
    return ebm_set_error(EBM_ERR_ARG, "%s: grid options out of range (scale %d in 1..64, pad %d in 0..1024, ncols %d >= 0)",
                         path, o.scale, o.pad, o.ncols);
  int64_t n = images->shape[0], c = images->shape[1], h = images->shape[2], w = images->shape[3];
  int64_t ncols = o.ncols ? o.ncols : (int64_t)ceil(sqrt((double)n));
  if (ncols > n) ncols = n;
  int64_t nrows = (n + ncols - 1) / ncols;
  int64_t cell_w = w * o.scale, cell_h = h * o.scale;
  int64_t gw = ncols * cell_w + (ncols + 1) * o.pad, gh = nrows * cell_h + (nrows + 1) * o.pad;
  if (gw > PNG_MAX_SIDE || gh > PNG_MAX_SIDE)
    return ebm_set_error(EBM_ERR_ARG, "%s: grid of %lldx%lld pixels is too large (max %d per side)",
                         path, (long long)gw, (long long)gh, PNG_MAX_SIDE);
  ebm_status s = io_png_check_size(path, (int)gw, (int)gh, (int)c);
  if (s) return s;
  size_t row_bytes = (size_t)gw * (size_t)c;
  uint8_t *grid = malloc(row_bytes * (size_t)gh);
  if (!grid) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for a %lldx%lld grid", path,
                                  (long long)gw, (long long)gh);
  memset(grid, o.pad_value, row_bytes * (size_t)gh);
  float inv_range = 1.0f / (o.hi - o.lo);
  const int64_t *st = images->stride;
  // images is (N,C,H,W) with any strides; grid is (gh, gw, C) bytes
  for (int64_t i = 0; i < n; i++) {
    int64_t x0 = o.pad + (i % ncols) * (cell_w + o.pad), y0 = o.pad + (i / ncols) * (cell_h + o.pad);
    for (int64_t y = 0; y < cell_h; y++) {
      uint8_t *row = grid + (size_t)(y0 + y) * row_bytes + (size_t)x0 * (size_t)c;
      for (int64_t x = 0; x < cell_w; x++)
        for (int64_t ch = 0; ch < c; ch++) {
          float v = images->data[i * st[0] + ch * st[1] + (y / o.scale) * st[2] + (x / o.scale) * st[3]];
          row[x * c + ch] = to_byte(v, o.lo, inv_range);
        }
    }
  }
  *pixels = grid, *width = (int)gw, *height = (int)gh;
  return EBM_OK;
}

ebm_status ebm_png_write_grid(const char *path, const ebm_tensor *images, const ebm_grid_opts *opts) {
  uint8_t *grid;
  int w, h;
  ebm_status s = ebm_grid_render(path, images, opts, &grid, &w, &h);
  if (s) return s;
  s = ebm_png_write(path, w, h, (int)images->shape[1], grid);
  free(grid);
  return s;
}

/* ------------------------------------------------------------ decode */

typedef struct {
  const uint8_t *data;
  size_t size, pos;
  png_err err;
  uint8_t *pixels;
  png_bytep *rows;
  int w, h, c;
} png_decoder;

static void mem_read(png_structp png, png_bytep out, size_t n) {
  png_decoder *d = png_get_io_ptr(png);
  if (n > d->size - d->pos) png_error(png, "file is truncated");
  memcpy(out, d->data + d->pos, n);
  d->pos += n;
}

static void decode_body(png_structp png, png_infop info, png_decoder *d) {
  png_set_read_fn(png, d, mem_read);
  png_set_user_limits(png, PNG_MAX_SIDE, PNG_MAX_SIDE);
  png_set_chunk_malloc_max(png, (png_alloc_size_t)64 << 20);
  png_read_info(png, info);
  /* Everything becomes 8-bit gray or RGB: palettes expand, 16-bit is
   * scaled down, low bit depths expand, alpha is dropped. */
  png_set_expand(png);
  png_set_scale_16(png);
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  int c = png_get_channels(png, info);
  if ((c != 1 && c != 3) || png_get_bit_depth(png, info) != 8) png_error(png, "unexpected pixel layout");
  if ((size_t)w * h * (size_t)c > PNG_MAX_PIXEL_BYTES) png_error(png, "image is too large");
  if (png_get_rowbytes(png, info) != (size_t)w * (size_t)c) png_error(png, "unexpected row size");
  d->pixels = malloc((size_t)w * h * (size_t)c);
  d->rows = malloc(h * sizeof *d->rows);
  if (!d->pixels || !d->rows) png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < h; y++) d->rows[y] = d->pixels + (size_t)y * w * (size_t)c;
  png_read_image(png, d->rows);
  png_read_end(png, NULL);
  d->w = (int)w;
  d->h = (int)h;
  d->c = c;
}

static ebm_status decode(png_decoder *d) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d->err, on_png_error, on_png_warning);
  if (!png) return EBM_ERR_NOMEM;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    return EBM_ERR_NOMEM;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    return EBM_ERR_FORMAT;
  }
  decode_body(png, info, d);
  png_destroy_read_struct(&png, &info, NULL);
  return EBM_OK;
}

/* The 8-byte signature, also checked before a file is read on. */
static ebm_status check_signature(const uint8_t *buf, size_t size, uint64_t file_size, const char *origin) {
  (void)file_size;
  if (size < 8 || png_sig_cmp(buf, 0, 8) != 0) return ebm_set_error(EBM_ERR_FORMAT, "%s: not a PNG file", origin);
  return EBM_OK;
}

ebm_status ebm_png_decode(const uint8_t *buf, size_t size, const char *origin, int *width,
                          int *height, int *channels, uint8_t **pixels) {
  *pixels = NULL;
  *width = *height = *channels = 0;
  ebm_status sig = check_signature(buf, size, size, origin);
  if (sig) return sig;
  png_decoder d;
  memset(&d, 0, sizeof d);
  d.data = buf;
  d.size = size;
  ebm_status s = decode(&d);
  free(d.rows);
  if (s) {
    free(d.pixels);
    if (s == EBM_ERR_NOMEM) return ebm_set_error(s, "%s: out of memory", origin);
    return ebm_set_error(s, "%s: bad PNG: %s", origin, d.err.msg);
  }
  *pixels = d.pixels;
  *width = d.w;
  *height = d.h;
  *channels = d.c;
  return EBM_OK;
}

ebm_status ebm_png_read(const char *path, int *width, int *height, int *channels, uint8_t **pixels) {
  uint8_t *buf;
  size_t size;
  *pixels = NULL;
  ebm_status s = io_read_file_checked(path, PNG_MAX_FILE, 8, check_signature, &buf, &size);
  if (s) return s;
  s = ebm_png_decode(buf, size, path, width, height, channels, pixels);
  free(buf);
  return s;
}

/* ------------------------------------------------------- float images */

ebm_status ebm_image_read_png(const char *path, int *c, int *h, int *w, float **pixels) {
  uint8_t *bytes;
  *pixels = NULL;
  ebm_status s = ebm_png_read(path, w, h, c, &bytes);
  if (s) return s;
  size_t hw = (size_t)*h * (size_t)*w;
  float *out = malloc(hw * (size_t)*c * sizeof *out);
  if (!out) {
    free(bytes);
    return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for a %dx%d image", path, *w, *h);
  }
  // bytes is (H, W, C); out is (C, H, W)
  for (size_t p = 0; p < hw; p++)
    for (int ch = 0; ch < *c; ch++) out[(size_t)ch * hw + p] = bytes[p * (size_t)*c + (size_t)ch] / 255.0f;
  free(bytes);
  *pixels = out;
  return EBM_OK;
}

ebm_status ebm_image_write_row_png(const char *path, int n, int c, const int *h, const int *w,
                                   const float *const *pixels, int pad) {
  if (n < 1 || (c != 1 && c != 3) || pad < 0 || pad > 1024)
    return ebm_set_error(EBM_ERR_ARG, "%s: a row of images needs n >= 1 (got %d), 1 or 3 channels "
                         "(got %d), pad in 0..1024 (got %d)", path, n, c, pad);
  int64_t gw = pad, gh = 0;
  for (int i = 0; i < n; i++) {
    if (h[i] < 1 || w[i] < 1 || h[i] > PNG_MAX_SIDE || w[i] > PNG_MAX_SIDE)
      return ebm_set_error(EBM_ERR_ARG, "%s: image %d is %dx%d", path, i, w[i], h[i]);
    gw += w[i] + pad;
    if (h[i] > gh) gh = h[i];
  }
  gh += 2 * pad;
  if (gw > PNG_MAX_SIDE || gh > PNG_MAX_SIDE)
    return ebm_set_error(EBM_ERR_ARG, "%s: a row of %lldx%lld pixels is too large (max %d per side)",
                         path, (long long)gw, (long long)gh, PNG_MAX_SIDE);
  size_t row_bytes = (size_t)gw * (size_t)c;
  uint8_t *canvas = malloc(row_bytes * (size_t)gh);
  if (!canvas) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  memset(canvas, 255, row_bytes * (size_t)gh);
  int64_t x0 = pad;
  // image i is (C, h_i, w_i); canvas is (gh, gw, C) bytes
  for (int i = 0; i < n; i++) {
    size_t plane = (size_t)h[i] * (size_t)w[i];
    for (int y = 0; y < h[i]; y++)
      for (int x = 0; x < w[i]; x++)
        for (int ch = 0; ch < c; ch++)
          canvas[(size_t)(pad + y) * row_bytes + (size_t)(x0 + x) * (size_t)c + (size_t)ch] =
              to_byte(pixels[i][(size_t)ch * plane + (size_t)y * (size_t)w[i] + (size_t)x], 0.0f, 1.0f);
    x0 += w[i] + pad;
  }
  ebm_status s = ebm_png_write(path, (int)gw, (int)gh, c, canvas);
  free(canvas);
  return s;
}
