/* ops/conv3d.h — 3-D convolution (PyTorch Conv3d: dilation 1, groups 1, a
 * cubic kernel k×k×k, the same stride and zero padding on every axis) for
 * videos (C×T×H×W) and voxel grids (C×D×H×W).
 *
 * Layout: x is (n, c_in, d_in, h_in, w_in), w is (c_out, c_in, k, k, k),
 * y is (n, c_out, d_out, h_out, w_out), contiguous, with
 * d_out = (d_in + 2·pad − k) / stride + 1 (the same for h, w).
 *
 * Forward and backward_input overwrite their output; backward_weight
 * ACCUMULATES into dw and db (db may be NULL), like the 2-D kernels
 * (ops.h). Plain direct loops, no workspace, no allocation. Work is shared
 * by the pool in fixed blocks, each output element is summed in one fixed
 * order by one thread (forward: per (item, output channel) plane; input
 * gradient: per (item, input channel) plane; weight gradient: per output
 * channel, items in order), so results are identical at any thread
 * count. */
#ifndef EBM_OPS_CONV3D_H
#define EBM_OPS_CONV3D_H

#include <stdint.h>

typedef struct {
  int64_t n, c_in, d_in, h_in, w_in;
  int64_t c_out, k, stride, pad;
  int64_t d_out, h_out, w_out;  /* set by ebm_conv3d_shape_finish */
} ebm_conv3d_shape;

/* Fills d_out, h_out, w_out; 0 if every one is ≥ 1, else −1. */
int ebm_conv3d_shape_finish(ebm_conv3d_shape *s);

/* y = conv3d(x, w) + b (b may be NULL). */
void ebm_conv3d_forward(const ebm_conv3d_shape *s, const float *x, const float *w, const float *b,
                        float *y);
/* dx = conv3d's adjoint applied to dy (overwritten). */
void ebm_conv3d_backward_input(const ebm_conv3d_shape *s, const float *dy, const float *w, float *dx);
/* dw += Σ_n dy ⋆ x ; db += Σ dy. */
void ebm_conv3d_backward_weight(const ebm_conv3d_shape *s, const float *x, const float *dy, float *dw,
                                float *db);

#endif
