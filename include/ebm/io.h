/* ebm/io.h — files in and out: safetensors (checkpoints), .npy (arrays),
 * idx / idx.gz (MNIST-family data), PNG image grids, JSON Lines metrics,
 * and the atomic write every writer uses (DESIGN §2). Include <ebm.h>.
 *
 * Every reader treats its input as hostile: a truncated, corrupted or lying
 * file gives EBM_ERR_FORMAT with a message naming the file and the problem,
 * never a crash or an over-read (each parser has a libFuzzer target in
 * fuzz/). A valid file this build cannot use (fortran-order .npy, float64
 * arrays, BF16 tensors, idx of floats) gives EBM_ERR_UNSUPPORTED. Readers
 * bound their allocations by the bytes actually present, so a small file
 * cannot claim gigabytes. */
#ifndef EBM_IO_H
#define EBM_IO_H

#include "ebm/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------- atomic write */

/* Writes `size` bytes to `path` atomically: a temp file in the same
 * directory, fsync, rename over `path`, fsync of the directory. On any
 * failure `path` is untouched and the temp file removed. */
ebm_status ebm_write_file_atomic(const char *path, const void *data, size_t size);
/* Same, for the concatenation of `nparts` buffers (no copy into one). */
ebm_status ebm_write_file_atomic_parts(const char *path, int nparts, const void *const *parts,
                                       const size_t *sizes);

/* Reads a whole file into a malloc'd buffer (*data, *size); free() it.
 * The buffer is 64-byte aligned. `max_size` bounds what is accepted
 * (EBM_ERR_FORMAT beyond it); a missing file or a directory is EBM_ERR_IO. */
ebm_status ebm_read_file(const char *path, size_t max_size, uint8_t **data, size_t *size);

/* ----------------------------------------------------------- safetensors */

typedef enum { EBM_DTYPE_F32 = 0, EBM_DTYPE_U8 = 1, EBM_DTYPE_I32 = 2, EBM_DTYPE_I64 = 3,
               EBM_DTYPE_F64 = 4, EBM_DTYPE_U32 = 5 } ebm_dtype;

/* Bytes per element of a dtype. */
size_t ebm_dtype_size(ebm_dtype dtype);
/* "F32", "U8", ... as in the safetensors spec. */
const char *ebm_dtype_name(ebm_dtype dtype);

/* One tensor of a loaded safetensors file. `data` (little-endian) lives as
 * long as the ebm_safetensors and is aligned to the element size: F32 data
 * can be used as `const float *`, I64/F64 as 8-byte values. (The file is
 * read into a 64-byte aligned buffer; a tensor that would land misaligned —
 * header length not a multiple of 8, or an odd offset — is copied.) */
typedef struct {
  const char *name;
  ebm_dtype dtype;
  int ndim;               /* 0..8 */
  int64_t shape[8];
  const void *data;
  size_t nbytes;
} ebm_st_tensor;

typedef struct ebm_safetensors ebm_safetensors;

/* Loads and validates a safetensors file: header length bound (100 MB),
 * JSON syntax, known dtypes, shape products that do not overflow, offsets in
 * range, not overlapping and covering the data exactly, no duplicate names,
 * __metadata__ values all strings. Dtypes F32 F64 U8 I32 I64 U32 load; other
 * spec dtypes (F16, BF16, ...) give EBM_ERR_UNSUPPORTED, anything else
 * EBM_ERR_FORMAT "unknown dtype 'X'". Every message names the file and,
 * where there is one, the tensor. Free with ebm_safetensors_free. */
ebm_status ebm_safetensors_load(const char *path, ebm_safetensors **out);
/* Same, from memory (copied); `origin` names it in messages. */
ebm_status ebm_safetensors_parse(const uint8_t *buf, size_t size, const char *origin,
                                 ebm_safetensors **out);
void ebm_safetensors_free(ebm_safetensors *st);

/* Tensors in file order. */
int ebm_safetensors_count(const ebm_safetensors *st);
const ebm_st_tensor *ebm_safetensors_at(const ebm_safetensors *st, int index);
/* NULL if absent. */
const ebm_st_tensor *ebm_safetensors_find(const ebm_safetensors *st, const char *name);

/* Copies an F32 tensor into `out` (room for the product of `shape`),
 * checking the shape equals `shape` (ndim dims): wrong dtype or shape →
 * EBM_ERR_SHAPE naming the tensor and both shapes. Missing →
 * EBM_ERR_FORMAT ("m.safetensors: no tensor 'x'"). */
ebm_status ebm_safetensors_read_f32(const ebm_safetensors *st, const char *name, int ndim,
                                    const int64_t *shape, float *out);

/* __metadata__ access: the value for `key` (a string), or NULL. */
const char *ebm_safetensors_meta(const ebm_safetensors *st, const char *key);
int ebm_safetensors_meta_count(const ebm_safetensors *st);
void ebm_safetensors_meta_at(const ebm_safetensors *st, int index, const char **key,
                             const char **value);
/* The name the file was loaded from. */
const char *ebm_safetensors_origin(const ebm_safetensors *st);

/* Writer: collect tensors (copied) and metadata, then write atomically.
 * Tensors are written in the order added, "__metadata__" first (omitted
 * when empty); the header is the compact, ASCII-escaped JSON Python's
 * json.dumps(separators=(",", ":")) gives, padded with spaces to a multiple
 * of 8 bytes, as the PyTorch reference writer does. Adding a name twice or
 * "__metadata__" is EBM_ERR_ARG; setting a metadata key twice keeps the
 * last value. */
typedef struct ebm_st_writer ebm_st_writer;
ebm_st_writer *ebm_st_writer_new(void);
void ebm_st_writer_free(ebm_st_writer *w);
ebm_status ebm_st_writer_add(ebm_st_writer *w, const char *name, ebm_dtype dtype, int ndim,
                             const int64_t *shape, const void *data);
ebm_status ebm_st_writer_add_f32(ebm_st_writer *w, const char *name, int ndim,
                                 const int64_t *shape, const float *data);
ebm_status ebm_st_writer_meta(ebm_st_writer *w, const char *key, const char *value);
/* Serialises into a malloc'd buffer (free()). */
ebm_status ebm_st_writer_serialize(const ebm_st_writer *w, uint8_t **buf, size_t *size);
ebm_status ebm_st_writer_save(const ebm_st_writer *w, const char *path);

/* ------------------------------------------------------------------- npy */

/* A .npy array: float32 or uint8 (int32 / int64 for labels), C order,
 * 0..4 dimensions (0 = a scalar with one element). */
typedef struct {
  ebm_dtype dtype;        /* EBM_DTYPE_F32 or EBM_DTYPE_U8 (also I32/I64 for labels) */
  int ndim;
  int64_t shape[EBM_MAX_DIMS];
  void *data;             /* 64-byte aligned, owned; ebm_npy_free releases */
} ebm_npy;

/* Reads header versions 1.0, 2.0 (and 3.0); rejects fortran_order, big
 * endian, other dtypes and sizes that disagree with the file, each with a
 * message naming the file. */
ebm_status ebm_npy_load(const char *path, ebm_npy *out);
ebm_status ebm_npy_parse(const uint8_t *buf, size_t size, const char *origin, ebm_npy *out);
void ebm_npy_free(ebm_npy *a);

/* Writes a version 1.0 header (2.0 if the header needs it), atomically. */
ebm_status ebm_npy_save(const char *path, ebm_dtype dtype, int ndim, const int64_t *shape,
                        const void *data);
ebm_status ebm_npy_save_tensor(const char *path, const ebm_tensor *t);
ebm_status ebm_npy_serialize(ebm_dtype dtype, int ndim, const int64_t *shape, const void *data,
                             uint8_t **buf, size_t *size);

/* ------------------------------------------------------------------- idx */

/* An idx file (MNIST family), gzip'd or not (detected by magic): unsigned
 * byte data, 1..4 dimensions. */
typedef struct {
  int ndim;
  int64_t shape[EBM_MAX_DIMS];
  uint8_t *data;          /* owned; ebm_idx_free releases */
} ebm_idx;

ebm_status ebm_idx_load(const char *path, ebm_idx *out);
ebm_status ebm_idx_parse(const uint8_t *buf, size_t size, const char *origin, ebm_idx *out);
void ebm_idx_free(ebm_idx *a);

/* ------------------------------------------------------------------- png */

/* Options for an image grid. */
typedef struct {
  float lo, hi;           /* value range mapped to 0..255 (values clamped) */
  int ncols;              /* images per row; 0 = ceil(sqrt(N)) */
  int pad;                /* pixels between images */
  int scale;              /* integer upscaling of every pixel (>= 1) */
  uint8_t pad_value;      /* gray level of the padding */
} ebm_grid_opts;

/* Default options: range [0,1], square grid, pad 2, scale 1, pad 255. */
ebm_grid_opts ebm_grid_defaults(void);

/* Writes the N×C×H×W tensor (C = 1 gray, C = 3 RGB; any strides) as a grid
 * PNG, atomically. Images fill rows left to right; every image pixel
 * becomes scale×scale pixels; `pad` pixels (not scaled) of pad_value
 * surround every cell, borders included, as torchvision's make_grid does:
 * width = ncols·W·scale + (ncols+1)·pad. ncols is capped at N. Values map
 * linearly from [lo, hi] to 0..255 (rounded, clamped; NaN → 0). `opts` NULL
 * means the defaults. Bad shape → EBM_ERR_SHAPE, bad options (hi <= lo,
 * scale outside 1..64, grid > 65535 px a side) → EBM_ERR_ARG. */
ebm_status ebm_png_write_grid(const char *path, const ebm_tensor *images, const ebm_grid_opts *opts);
/* The same grid as 8-bit pixels (row-major HWC, C of the images) in a
 * malloc'd *pixels (free()) of *width × *height, without writing a file;
 * `path` only names the picture in messages. */
ebm_status ebm_grid_render(const char *path, const ebm_tensor *images, const ebm_grid_opts *opts,
                           uint8_t **pixels, int *width, int *height);

/* Animated PNG (APNG): `frames` frames of width×height 8-bit pixels
 * (channels 1 grey or 3 RGB, row-major HWC, frame after frame), each
 * shown delay_ms milliseconds, looping forever. Frame 0 is also the
 * static image every PNG reader shows (APNG's chunks are ancillary).
 * Written atomically; bad sizes → EBM_ERR_ARG naming the path. */
ebm_status ebm_apng_write(const char *path, int width, int height, int channels, int frames,
                          const uint8_t *pixels, int delay_ms);
/* The same in memory: a malloc'd buffer (free()). */
ebm_status ebm_apng_encode(int width, int height, int channels, int frames, const uint8_t *pixels,
                           int delay_ms, uint8_t **buf, size_t *size);

/* Writes raw 8-bit pixels (channels 1 or 3, row-major HWC), atomically. */
ebm_status ebm_png_write(const char *path, int width, int height, int channels,
                         const uint8_t *pixels);

/* Reads a PNG as 8-bit gray or RGB (for tests and inputs). *pixels is
 * malloc'd (free()), row-major HWC. Palettes and low bit depths expand,
 * 16-bit scales to 8, alpha is dropped. Sides above 65535 are refused. */
ebm_status ebm_png_read(const char *path, int *width, int *height, int *channels,
                        uint8_t **pixels);

/* The same two in memory: encode into a malloc'd buffer (free()), decode
 * from one (`origin` names it in messages). */
ebm_status ebm_png_encode(int width, int height, int channels, const uint8_t *pixels,
                          uint8_t **buf, size_t *size);
ebm_status ebm_png_decode(const uint8_t *buf, size_t size, const char *origin, int *width,
                          int *height, int *channels, uint8_t **pixels);

/* Float images (C×H×W in [0, 1], C = 1 grey or 3 RGB) in and out of PNG. */
/* Reads a PNG as a c×h×w float image in [0, 1] (c 1 grey or 3 RGB; alpha
 * dropped); *pixels malloc'd (free()). A file that is not a PNG →
 * EBM_ERR_FORMAT naming it. */
ebm_status ebm_image_read_png(const char *path, int *c, int *h, int *w, float **pixels);
/* Writes n images of possibly different sizes (image i is c×h[i]×w[i])
 * left to right on one row, top-aligned, with `pad` white pixels between
 * and around them; values in [0, 1] map to 0..255 (clamped, NaN → 0).
 * Atomic. Sides outside 1..65535 → EBM_ERR_ARG. */
ebm_status ebm_image_write_row_png(const char *path, int n, int c, const int *h, const int *w,
                                   const float *const *pixels, int pad);

/* ----------------------------------------------------------- JSON Lines */

/* A JSON Lines file: one object per line, flushed each line (a log), or
 * written whole at the end (results). */
typedef struct ebm_jsonl ebm_jsonl;
/* Opens for appending (truncate = 0) or from scratch (truncate = 1). */
ebm_status ebm_jsonl_open(const char *path, int truncate, ebm_jsonl **out);
/* A results file written whole: records are kept in memory, and
 * ebm_jsonl_commit writes them atomically (temp file, fsync, rename), so
 * a failed or interrupted run leaves the previous file as it was; closing
 * without a commit writes nothing. */
ebm_status ebm_jsonl_open_replace(const char *path, ebm_jsonl **out);
ebm_status ebm_jsonl_commit(ebm_jsonl *j);
/* Starts a record; add fields; end writes the line (one fwrite) and
 * flushes (or, replace mode, keeps it for the commit). Keys and strings are escaped (control characters as \uXXXX,
 * invalid UTF-8 as U+FFFD); a NULL string is null; numbers use the shortest
 * text that reads back exactly. Fields added without begin start a record. */
void ebm_jsonl_begin(ebm_jsonl *j);
void ebm_jsonl_int(ebm_jsonl *j, const char *key, int64_t value);
void ebm_jsonl_num(ebm_jsonl *j, const char *key, double value); /* NaN/Inf → null */
void ebm_jsonl_str(ebm_jsonl *j, const char *key, const char *value);
ebm_status ebm_jsonl_end(ebm_jsonl *j);
/* Closes the file and frees; accepts NULL. */
void ebm_jsonl_close(ebm_jsonl *j);
/* A results file of one JSON object (`--json FILE` of the eval verbs):
 * _object_begin opens it in replace mode and starts the record; add the
 * fields; _object_commit ends the record, writes the file atomically (a
 * failure keeps the previous file) and closes j whatever happens. */
ebm_status ebm_jsonl_object_begin(const char *path, ebm_jsonl **out);
ebm_status ebm_jsonl_object_commit(ebm_jsonl *j);

#ifdef __cplusplus
}
#endif
#endif
