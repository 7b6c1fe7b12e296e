/* ops/conv3d.h — 3-D convolution (PyTorch Conv3d: dilation 1, groups 1)
 * for videos (C×T×H×W) and voxel grids (C×D×H×W). The kernel is k×k in
 * height and width with one stride and padding for both; along depth it is
 * kd with its own stride sd and padding pd — nn.Conv3d(kernel_size=(kd, k,
 * k), stride=(sd, s, s), padding=(pd, p, p)). kd = 1, sd = 1, pd = 0 is a
 * 2-D convolution of every frame on its own; kd = 0 (the zero value) means
 * a cubic kernel: ebm_conv3d_shape_finish sets kd, sd, pd to k, stride, pad.
 *
 * Layout: x is (n, c_in, d_in, h_in, w_in), w is (c_out, c_in, kd, k, k),
 * y is (n, c_out, d_out, h_out, w_out), contiguous, with
 * d_out = (d_in + 2·pd − kd) / sd + 1, h_out = (h_in + 2·pad − k) / stride
 * + 1 (the same for w).
 *
 * Forward and backward_input overwrite their output; backward_weight
 * ACCUMULATES into dw and db (db may be NULL), like the 2-D kernels
 * (ops.h). The passes are vol2col + BLAS sgemm (col2vol for the input
 * gradient), one item at a time, in a caller's workspace of
 * ebm_conv3d_workspace floats; they never allocate.
 *
 * Threads: `slots` (as in ebm_conv2d_shape) is how many workers may run at
 * once, each with its own slice of the workspace; 0 is replaced by the pool
 * size in ebm_conv3d_shape_finish. Forward and input gradient compute each
 * item whole in one worker; the weight gradient cuts the batch into `slots`
 * contiguous pieces, each summed into its own partial dw, added into dw in
 * slot order. Results depend on the shape only, never on which thread ran
 * what: bitwise identical at any thread count. */
#ifndef EBM_OPS_CONV3D_H
#define EBM_OPS_CONV3D_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int64_t n, c_in, d_in, h_in, w_in;
  int64_t c_out, k, stride, pad;
  int64_t kd, sd, pd;           /* depth's kernel, stride, padding; kd 0 = k, stride, pad */
  int64_t d_out, h_out, w_out;  /* set by ebm_conv3d_shape_finish */
  int64_t slots;                /* workers at once; 0 = the pool size at finish */
} ebm_conv3d_shape;

/* Fills kd, sd, pd (if kd is 0), d_out, h_out, w_out, and slots (if 0)
 * from the current pool size; 0 if every output size is ≥ 1, else −1. */
int ebm_conv3d_shape_finish(ebm_conv3d_shape *s);

/* Floats of workspace any pass of this shape needs (also valid for the
 * same shape with a smaller n). */
size_t ebm_conv3d_workspace(const ebm_conv3d_shape *s);

/* y = conv3d(x, w) + b (b may be NULL). */
void ebm_conv3d_forward(const ebm_conv3d_shape *s, const float *x, const float *w, const float *b,
                        float *y, float *ws);
/* dx = conv3d's adjoint applied to dy (overwritten). */
void ebm_conv3d_backward_input(const ebm_conv3d_shape *s, const float *dy, const float *w, float *dx,
                               float *ws);
/* dw += Σ_n dy ⋆ x ; db += Σ dy. */
void ebm_conv3d_backward_weight(const ebm_conv3d_shape *s, const float *x, const float *dy, float *dw,
                                float *db, float *ws);

#endif
