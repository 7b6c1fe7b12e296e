/* ops/swish_simd.h — internal: swish, sigmoid and their gradients over
 * arrays, a vector at a time (swish_simd.c: portable vector C, AVX2
 * intrinsics for the swish on the avx2 path), bit-identical to vmath.h's
 * scalar functions element by element. */
#ifndef EBM_OPS_SWISH_SIMD_H
#define EBM_OPS_SWISH_SIMD_H

#include <stdint.h>

/* y[i] = swish(x[i]) for i < count (y may alias x). */
void ops_swish_array(int64_t count, const float *x, float *y);
/* dx[i] = dy[i]·swish'(x[i]) for i < count (dx may alias dy). */
void ops_swish_grad_array(int64_t count, const float *x, const float *dy, float *dx);

/* y[i] = swish(x[i]) and gate[i] = swish'(x[i]) for i < count, from one
 * sigmoid per element: the forward pass keeps the gate so that the
 * backward one is a multiply, dy·gate — the same bits as
 * ops_swish_grad_array (whose last operation is that multiply). y may
 * alias x; gate may not. */
void ops_swish_gate_array(int64_t count, const float *x, float *y, float *gate);
/* The same over `rows` rows of `len` values, row r at x + r·ldx, y + r·ldy
 * and gate + r·ldg (e.g. into the interior rows of a padded block). */
void ops_swish_gate_rows(int64_t rows, int64_t len, const float *x, int64_t ldx, float *y,
                         int64_t ldy, float *gate, int64_t ldg);

/* y[i] = σ(x[i]) for i < count (y may alias x). */
void ops_sigmoid_array(int64_t count, const float *x, float *y);
/* dx[i] = dy[i]·σ(x[i])·(1 − σ(x[i])), in that order (dx may alias dy). */
void ops_sigmoid_grad_array(int64_t count, const float *x, const float *dy, float *dx);

#endif
