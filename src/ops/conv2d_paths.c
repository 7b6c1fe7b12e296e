/* The conv2d entry points of each ISA's table (ops_table.c): forward and
 * input gradient (plain and with the fused swish) take the ISA's direct
 * path (conv2d_direct_impl.h) where the shape fits its limits, else the
 * portable im2col + sgemm path (conv2d_cpu.c); the weight gradient is
 * im2col + sgemm on every path. The workspace covers both. */
#include "ops/conv2d_internal.h"
#include "ops/cpu_kernels.h"

/* The generic path has no direct convolution. */
static int direct_never(const ebm_conv2d_shape *s) {
  (void)s;
  return 0;
}
static size_t no_direct_workspace(const ebm_conv2d_shape *s) {
  (void)s;
  return 0;
}

/* The five entry points of path `isa`, whose direct path is `usable`,
 * `workspace`, `forward`, `backward_input`. */
#define CONV2D_PATH(isa, usable, workspace, forward, backward_input)                             \
  size_t ops_cpu_conv2d_workspace_##isa(const ebm_conv2d_shape *s) {                            \
    size_t gemm = ops_conv2d_gemm_workspace(s), direct = workspace(s);                          \
    return gemm > direct ? gemm : direct;                                                       \
  }                                                                                             \
  void ops_cpu_conv2d_forward_##isa(const ebm_conv2d_shape *s, const float *x, const float *w,  \
                                    const float *b, float *y, float *ws) {                      \
    if (usable(s))                                                                              \
      forward(s, x, w, b, y, NULL, ws);                                                         \
    else                                                                                        \
      ops_conv2d_gemm_forward(s, x, w, b, y, NULL, ws);                                         \
  }                                                                                             \
  void ops_cpu_conv2d_forward_swish_##isa(const ebm_conv2d_shape *s, const float *x,            \
                                          const float *w, const float *b, float *pre, float *y, \
                                          float *ws) {                                          \
    if (usable(s))                                                                              \
      forward(s, x, w, b, pre, y, ws);                                                          \
    else                                                                                        \
      ops_conv2d_gemm_forward(s, x, w, b, pre, y, ws);                                          \
  }                                                                                             \
  void ops_cpu_conv2d_backward_input_##isa(const ebm_conv2d_shape *s, const float *dy,          \
                                           const float *w, float *dx, float *ws) {              \
    if (usable(s))                                                                              \
      backward_input(s, NULL, dy, w, dx, ws);                                                   \
    else                                                                                        \
      ops_conv2d_gemm_backward_input(s, NULL, dy, w, dx, ws);                                   \
  }                                                                                             \
  void ops_cpu_conv2d_backward_input_swish_##isa(const ebm_conv2d_shape *s, const float *pre,   \
                                                 const float *dy, const float *w, float *dx,    \
                                                 float *ws) {                                   \
    if (usable(s))                                                                              \
      backward_input(s, pre, dy, w, dx, ws);                                                    \
    else                                                                                        \
      ops_conv2d_gemm_backward_input(s, pre, dy, w, dx, ws);                                    \
  }

CONV2D_PATH(generic, direct_never, no_direct_workspace, ops_conv2d_gemm_forward,
            ops_conv2d_gemm_backward_input)
#if defined(__x86_64__) && defined(__GNUC__)
CONV2D_PATH(avx2, ops_conv2d_direct_usable_avx2, ops_conv2d_direct_workspace_avx2,
            ops_conv2d_direct_forward_avx2, ops_conv2d_direct_backward_input_avx2)
CONV2D_PATH(avx512, ops_conv2d_direct_usable_avx512, ops_conv2d_direct_workspace_avx512,
            ops_conv2d_direct_forward_avx512, ops_conv2d_direct_backward_input_avx512)
#endif
