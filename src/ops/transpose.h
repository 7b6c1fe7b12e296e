/* ops/transpose.h — internal: out-of-place float matrix transpose, used by
 * the conv paths to move groups of items between NCHW and CHWN. */
#ifndef EBM_OPS_TRANSPOSE_H
#define EBM_OPS_TRANSPOSE_H

#include <stdint.h>

// src is (rows, cols) with row stride lds; dst is (cols, rows) with row
// stride ldd: dst[c·ldd + r] = src[r·lds + c]. Exact (data movement only).
void ops_transpose(int64_t rows, int64_t cols, const float *src, int64_t lds, float *dst,
                   int64_t ldd);

// The transpose of the element-wise product of a and b (same layout):
// dst[c·ldd + r] = a[r·lds + c] · b[r·lds + c], one IEEE multiply each — the
// conv's output gradient times the swish gate on its way to CHWN.
void ops_transpose_product(int64_t rows, int64_t cols, const float *a, const float *b,
                           int64_t lds, float *dst, int64_t ldd);

/* The portable loop ops_transpose falls back to (exposed for tests). */
void ops_transpose_plain(int64_t rows, int64_t cols, const float *src, int64_t lds, float *dst,
                         int64_t ldd);

/* A zero-padded CHWN block (the direct convolution's input buffer): pixel
 * (c, y, x) of a C × H × W image keeps its `lanes` items (one per lane) at
 *   ((c·(H + 2·pad) + y + pad)·(W + 2·pad) + x + pad)·lanes. */
typedef struct {
  int64_t c, h, w, pad, lanes;
} ops_padded_block;

// src is (rows, C·H·W), rows ≤ 8, row stride lds (items in NCHW): item t
// goes to lane t of every interior pixel of dst (the other lanes and the
// border are left as they are). Exact (data movement only).
void ops_transpose_to_padded(const ops_padded_block *b, int64_t rows, const float *src,
                             int64_t lds, float *dst);

// The inverse: lane t of every interior pixel of src into row t of dst
// ((rows ≤ 8, C·H·W), row stride ldd).
void ops_transpose_from_padded(const ops_padded_block *b, int64_t rows, const float *src,
                               float *dst, int64_t ldd);

// dst (n items of f floats, NCHW) = src blocked by `lanes` (ops.h): block b
// holds items b·lanes.. as f rows of `lanes` floats.
void ops_blocked_to_nchw(int64_t n, int64_t f, int64_t lanes, const float *src, float *dst);

#endif
