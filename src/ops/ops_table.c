/* The CPU ops table and conv geometry. */
#include "ebm/core.h"
#include "ops/cpu_kernels.h"

void ebm_conv2d_shape_finish(ebm_conv2d_shape *s) {
  s->h_out = (s->h_in + 2 * s->pad - s->kh) / s->stride + 1;
  s->w_out = (s->w_in + 2 * s->pad - s->kw) / s->stride + 1;
  if (s->slots <= 0) s->slots = ebm_threads_count();
}

static const ebm_ops cpu_ops = {
    .name = "cpu",
    .conv2d_workspace = ops_cpu_conv2d_workspace,
    .conv2d_forward = ops_cpu_conv2d_forward,
    .conv2d_backward_input = ops_cpu_conv2d_backward_input,
    .conv2d_backward_weight = ops_cpu_conv2d_backward_weight,
    .linear_forward = ops_cpu_linear_forward,
    .linear_backward_input = ops_cpu_linear_backward_input,
    .linear_backward_weight = ops_cpu_linear_backward_weight,
    .avgpool2d_forward = ops_cpu_avgpool2d_forward,
    .avgpool2d_backward = ops_cpu_avgpool2d_backward,
    .global_sum_pool_forward = ops_cpu_global_sum_pool_forward,
    .global_sum_pool_backward = ops_cpu_global_sum_pool_backward,
    .swish_forward = ops_cpu_swish_forward,
    .swish_backward = ops_cpu_swish_backward,
    .leaky_relu_forward = ops_cpu_leaky_relu_forward,
    .leaky_relu_backward = ops_cpu_leaky_relu_backward,
    .tanh_forward = ops_cpu_tanh_forward,
    .tanh_backward = ops_cpu_tanh_backward,
    .sigmoid_forward = ops_cpu_sigmoid_forward,
    .sigmoid_backward = ops_cpu_sigmoid_backward,
    .channel_affine_forward = ops_cpu_channel_affine_forward,
    .channel_affine_backward = ops_cpu_channel_affine_backward,
    .channel_bias_forward = ops_cpu_channel_bias_forward,
    .channel_bias_backward = ops_cpu_channel_bias_backward,
    .upsample_nearest_forward = ops_cpu_upsample_nearest_forward,
    .upsample_nearest_backward = ops_cpu_upsample_nearest_backward,
    .batchnorm2d_stats = ops_cpu_batchnorm2d_stats,
    .batchnorm2d_forward = ops_cpu_batchnorm2d_forward,
    .batchnorm2d_backward = ops_cpu_batchnorm2d_backward,
    .logsumexp_forward = ops_cpu_logsumexp_forward,
    .logsumexp_backward = ops_cpu_logsumexp_backward,
    .select_forward = ops_cpu_select_forward,
    .select_backward = ops_cpu_select_backward,
    .sinusoidal_features = ops_cpu_sinusoidal_features,
    .add = ops_cpu_add,
    .axpy = ops_cpu_axpy,
    .scale = ops_cpu_scale,
    .clamp = ops_cpu_clamp,
    .dot = ops_cpu_dot,
    .sum = ops_cpu_sum,
    .conv2d_forward_swish = ops_cpu_conv2d_forward_swish,
    .conv2d_backward_input_swish = ops_cpu_conv2d_backward_input_swish,
};

const ebm_ops *ebm_ops_cpu(void) { return &cpu_ops; }

/* Only the CPU backend exists so far; a CUDA build will choose here. */
const ebm_ops *ebm_ops_current(void) { return &cpu_ops; }
