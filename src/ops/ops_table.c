/* The CPU ops tables, one per ISA path (ebm_isa), and conv geometry. The
 * tables differ only in their conv entries (conv2d_paths.c); the rest is the
 * portable C + BLAS code, which gcc vectorises for the build's target. */
#include <cblas.h>
#include <stdio.h>

#include "ebm/core.h"
#include "ops/cpu_kernels.h"
#include "ops/transpose.h"

void ebm_conv2d_shape_finish(ebm_conv2d_shape *s) {
  s->h_out = (s->h_in + 2 * s->pad - s->kh) / s->stride + 1;
  s->w_out = (s->w_in + 2 * s->pad - s->kw) / s->stride + 1;
  if (s->slots <= 0) s->slots = ebm_threads_count();
}

#define CPU_TABLE(isa)                                                                          \
  {                                                                                             \
    .name = "cpu-" #isa,                                                                        \
    .conv2d_workspace = ops_cpu_conv2d_workspace_##isa,                                         \
    .conv2d_forward = ops_cpu_conv2d_forward_##isa,                                             \
    .conv2d_backward_input = ops_cpu_conv2d_backward_input_##isa,                               \
    .conv2d_backward_weight = ops_cpu_conv2d_backward_weight_##isa,                                   \
    .linear_forward = ops_cpu_linear_forward,                                                   \
    .linear_backward_input = ops_cpu_linear_backward_input,                                     \
    .linear_backward_weight = ops_cpu_linear_backward_weight,                                   \
    .avgpool2d_forward = ops_cpu_avgpool2d_forward,                                             \
    .avgpool2d_backward = ops_cpu_avgpool2d_backward,                                           \
    .global_sum_pool_forward = ops_cpu_global_sum_pool_forward,                                 \
    .global_sum_pool_backward = ops_cpu_global_sum_pool_backward,                               \
    .swish_forward = ops_cpu_swish_forward,                                                     \
    .swish_backward = ops_cpu_swish_backward,                                                   \
    .leaky_relu_forward = ops_cpu_leaky_relu_forward,                                           \
    .leaky_relu_backward = ops_cpu_leaky_relu_backward,                                         \
    .tanh_forward = ops_cpu_tanh_forward,                                                       \
    .tanh_backward = ops_cpu_tanh_backward,                                                     \
    .sigmoid_forward = ops_cpu_sigmoid_forward,                                                 \
    .sigmoid_backward = ops_cpu_sigmoid_backward,                                               \
    .channel_affine_forward = ops_cpu_channel_affine_forward,                                   \
    .channel_affine_backward = ops_cpu_channel_affine_backward,                                 \
    .channel_bias_forward = ops_cpu_channel_bias_forward,                                       \
    .channel_bias_backward = ops_cpu_channel_bias_backward,                                     \
    .upsample_nearest_forward = ops_cpu_upsample_nearest_forward,                               \
    .upsample_nearest_backward = ops_cpu_upsample_nearest_backward,                             \
    .batchnorm2d_stats = ops_cpu_batchnorm2d_stats,                                             \
    .batchnorm2d_forward = ops_cpu_batchnorm2d_forward,                                         \
    .batchnorm2d_backward = ops_cpu_batchnorm2d_backward,                                       \
    .logsumexp_forward = ops_cpu_logsumexp_forward,                                             \
    .logsumexp_backward = ops_cpu_logsumexp_backward,                                           \
    .select_forward = ops_cpu_select_forward,                                                   \
    .select_backward = ops_cpu_select_backward,                                                 \
    .sinusoidal_features = ops_cpu_sinusoidal_features,                                         \
    .add = ops_cpu_add,                                                                         \
    .axpy = ops_cpu_axpy,                                                                       \
    .scale = ops_cpu_scale,                                                                     \
    .clamp = ops_cpu_clamp,                                                                     \
    .dot = ops_cpu_dot,                                                                         \
    .sum = ops_cpu_sum,                                                                         \
    .conv2d_forward_swish = ops_cpu_conv2d_forward_swish_##isa,                                 \
    .conv2d_backward_input_swish = ops_cpu_conv2d_backward_input_swish_##isa,                   \
    .conv2d_chain_lanes = ops_cpu_conv2d_chain_lanes_##isa,                                     \
    .conv2d_forward_swish_chained = ops_cpu_conv2d_forward_swish_chained_##isa,                 \
    .conv2d_backward_input_swish_chained = ops_cpu_conv2d_backward_input_swish_chained_##isa,   \
    .conv2d_run_workspace = ops_cpu_conv2d_run_workspace_##isa,                                 \
    .conv2d_run_forward = ops_cpu_conv2d_run_forward_##isa,                                     \
    .conv2d_run_backward_input = ops_cpu_conv2d_run_backward_input_##isa,                       \
    .blocked_to_nchw = ops_blocked_to_nchw,                                                     \
  }

/* Indexed by ebm_isa. */
static const ebm_ops cpu_tables[] = {
    CPU_TABLE(generic),
#if defined(__x86_64__) && defined(__GNUC__)
    CPU_TABLE(avx2),
    CPU_TABLE(avx512),
#endif
};

const ebm_ops *ebm_ops_cpu(void) {
  int isa = (int)ebm_isa_active();
  return &cpu_tables[isa < (int)(sizeof cpu_tables / sizeof cpu_tables[0]) ? isa : 0];
}

/* Only the CPU backend exists so far; a CUDA build will choose here. */
const ebm_ops *ebm_ops_current(void) { return ebm_ops_cpu(); }

const char *ebm_ops_blas_info(void) {
  static _Thread_local char info[256];
  snprintf(info, sizeof info, "%s (kernels: %s)", openblas_get_config(), openblas_get_corename());
  return info;
}
