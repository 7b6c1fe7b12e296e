/* ops/transpose.h — internal: out-of-place float matrix transpose, used by
 * conv2d_cpu.c to move groups of items between NCHW and CHWN. */
#ifndef EBM_OPS_TRANSPOSE_H
#define EBM_OPS_TRANSPOSE_H

#include <stdint.h>

// src is (rows, cols) with row stride lds; dst is (cols, rows) with row
// stride ldd: dst[c·ldd + r] = src[r·lds + c]. Exact (data movement only).
void ops_transpose(int64_t rows, int64_t cols, const float *src, int64_t lds, float *dst,
                   int64_t ldd);

/* The portable loop ops_transpose falls back to (exposed for tests). */
void ops_transpose_plain(int64_t rows, int64_t cols, const float *src, int64_t lds, float *dst,
                         int64_t ldd);

#endif
