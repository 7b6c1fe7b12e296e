/* ops/cpu_kernels.h — internal: the CPU kernels behind ebm_ops_cpu(), one
 * file per concern (conv2d_cpu.c + conv2d_paths.c, dense_cpu.c, eltwise_cpu.c). Only
 * ops_table.c and the ops tests include this. */
#ifndef EBM_OPS_CPU_KERNELS_H
#define EBM_OPS_CPU_KERNELS_H

#include "ops/ops.h"

/* conv2d_paths.c: the conv entry points of each ISA path (generic, avx2,
 * avx512; the last two in x86-64 builds only). */
#define OPS_CPU_CONV2D_PATH_DECLARE(isa)                                                         \
  size_t ops_cpu_conv2d_workspace_##isa(const ebm_conv2d_shape *s);                             \
  void ops_cpu_conv2d_forward_##isa(const ebm_conv2d_shape *s, const float *x, const float *w,  \
                                    const float *b, float *y, float *ws);                       \
  void ops_cpu_conv2d_forward_swish_##isa(const ebm_conv2d_shape *s, const float *x,            \
                                          const float *w, const float *b, float *pre, float *y, \
                                          float *gate, float *ws);                              \
  void ops_cpu_conv2d_backward_input_##isa(const ebm_conv2d_shape *s, const float *dy,          \
                                           const float *w, float *dx, float *ws);               \
  void ops_cpu_conv2d_backward_input_swish_##isa(const ebm_conv2d_shape *s, const float *gate,  \
                                                 const float *dy, const float *w, float *dx,    \
                                                 float *ws);                                    \
  void ops_cpu_conv2d_backward_weight_##isa(const ebm_conv2d_shape *s, const float *x,          \
                                            const float *dy, float *dw, float *db, float *ws);  \
  int64_t ops_cpu_conv2d_chain_lanes_##isa(const ebm_conv2d_shape *s);                          \
  void ops_cpu_conv2d_forward_swish_chained_##isa(const ebm_conv2d_shape *s,                    \
                                                  const ebm_conv2d_chain *c, const float *x,    \
                                                  const float *w, const float *b, float *y,     \
                                                  float *gate, float *ws);                      \
  void ops_cpu_conv2d_backward_input_swish_chained_##isa(                                       \
      const ebm_conv2d_shape *s, const ebm_conv2d_chain *c, const float *gate, const float *dy, \
      const float *w, float *dx, float *ws);                                                    \
  size_t ops_cpu_conv2d_run_workspace_##isa(int count, const ebm_conv2d_run_step *steps);       \
  void ops_cpu_conv2d_run_forward_##isa(int count, const ebm_conv2d_run_step *steps,            \
                                        const float *x, float *y, float *ws);                   \
  void ops_cpu_conv2d_run_backward_input_##isa(int count, const ebm_conv2d_run_step *steps,     \
                                               const float *dy, float *dx, float *ws);
OPS_CPU_CONV2D_PATH_DECLARE(generic)
OPS_CPU_CONV2D_PATH_DECLARE(avx2)
OPS_CPU_CONV2D_PATH_DECLARE(avx512)

/* dense_cpu.c */
void ops_cpu_linear_forward(int64_t n, int64_t in, int64_t out, const float *x, const float *w,
                            const float *b, float *y);
void ops_cpu_linear_backward_input(int64_t n, int64_t in, int64_t out, const float *dy,
                                   const float *w, float *dx);
void ops_cpu_linear_backward_weight(int64_t n, int64_t in, int64_t out, const float *x,
                                    const float *dy, float *dw, float *db);
void ops_cpu_avgpool2d_forward(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k,
                               const float *x, float *y);
void ops_cpu_avgpool2d_backward(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k,
                                const float *dy, float *dx);
void ops_cpu_global_sum_pool_forward(int64_t n, int64_t c, int64_t hw, const float *x, float *y);
void ops_cpu_global_sum_pool_backward(int64_t n, int64_t c, int64_t hw, const float *dy,
                                      float *dx);

/* eltwise_cpu.c */
void ops_cpu_swish_forward(int64_t count, const float *x, float *y);
void ops_cpu_swish_backward(int64_t count, const float *x, const float *dy, float *dx);
void ops_cpu_leaky_relu_forward(int64_t count, float slope, const float *x, float *y);
void ops_cpu_leaky_relu_backward(int64_t count, float slope, const float *x, const float *dy,
                                 float *dx);
void ops_cpu_tanh_forward(int64_t count, const float *x, float *y);
void ops_cpu_tanh_backward(int64_t count, const float *x, const float *dy, float *dx);
void ops_cpu_sigmoid_forward(int64_t count, const float *x, float *y);
void ops_cpu_sigmoid_backward(int64_t count, const float *x, const float *dy, float *dx);
void ops_cpu_channel_affine_forward(int64_t n, int64_t c, int64_t hw, const float *x,
                                    const float *g, const float *b, float *y);
void ops_cpu_channel_affine_backward(int64_t n, int64_t c, int64_t hw, const float *x,
                                     const float *g, const float *dy, float *dx, float *dg,
                                     float *db);
void ops_cpu_add(int64_t count, const float *a, const float *b, float *y);
void ops_cpu_axpy(int64_t count, float alpha, const float *x, float *y);
void ops_cpu_scale(int64_t count, float alpha, const float *x, float *y);
void ops_cpu_clamp(int64_t count, float lo, float hi, float *x);
double ops_cpu_dot(int64_t count, const float *a, const float *b);
double ops_cpu_sum(int64_t count, const float *x);

/* layer_ops_cpu.c */
void ops_cpu_channel_bias_forward(int64_t n, int64_t c, int64_t hw, const float *b, float *y);
void ops_cpu_channel_bias_backward(int64_t n, int64_t c, int64_t hw, const float *dy, float *db);
void ops_cpu_upsample_nearest_forward(int64_t n, int64_t c, int64_t h, int64_t w, int64_t s,
                                      const float *x, float *y);
void ops_cpu_upsample_nearest_backward(int64_t n, int64_t c, int64_t h, int64_t w, int64_t s,
                                       const float *dy, float *dx);
void ops_cpu_batchnorm2d_stats(int64_t n, int64_t c, int64_t hw, const float *x, float *mean,
                               float *var);
void ops_cpu_batchnorm2d_forward(int64_t n, int64_t c, int64_t hw, const float *x,
                                 const float *mean, const float *invstd, const float *w,
                                 const float *b, float *y);
void ops_cpu_batchnorm2d_backward(int64_t n, int64_t c, int64_t hw, const float *x,
                                  const float *mean, const float *invstd, const float *w,
                                  const float *dy, float *dx, float *dw, float *db,
                                  int batch_stats);
void ops_cpu_logsumexp_forward(int64_t n, int64_t k, float sign, const float *x, float *y);
void ops_cpu_logsumexp_backward(int64_t n, int64_t k, float sign, const float *x, const float *dy,
                                float *dx);
void ops_cpu_select_forward(int64_t n, int64_t k, float sign, const int32_t *idx, const float *x,
                            float *y);
void ops_cpu_select_backward(int64_t n, int64_t k, float sign, const int32_t *idx, const float *dy,
                             float *dx);
void ops_cpu_sinusoidal_features(int64_t n, int64_t f, const float *sigma, float *phi);

#endif
