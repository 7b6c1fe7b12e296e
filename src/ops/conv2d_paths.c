/* The conv2d entry points of each ISA's table (ops_table.c): forward,
 * input gradient (plain and with the fused swish) and weight gradient take
 * the ISA's direct path (conv2d_direct_impl.h) where the shape fits its
 * limits, else the portable im2col + sgemm path (conv2d_cpu.c); the weight
 * gradient only for outputs of at least WEIGHT_DIRECT_MIN_PIXELS pixels.
 * The workspace covers both. */
#include "ops/conv2d_internal.h"
#include "ops/cpu_kernels.h"

/* The direct weight gradient streams its per-tile partial sums once per
 * group of items, which small outputs do not amortise: process CPU per
 * call at batch 128, 1 thread, AVX2 (direct vs im2col + sgemm): 8×8
 * outputs 1.7 vs 2.3 ms, 4×4 1.9 vs 1.5 ms, 2×2 1.6 vs 0.7 ms; 28×28
 * (igebm blocks.0) 33 vs 193 ms. The choice depends on the shape only. */
#define WEIGHT_DIRECT_MIN_PIXELS 32
static int weight_direct(int (*usable)(const ebm_conv2d_shape *), const ebm_conv2d_shape *s) {
  return s->h_out * s->w_out >= WEIGHT_DIRECT_MIN_PIXELS && usable(s);
}

/* The generic path has no direct convolution, hence no blocked layout. */
static int direct_never(const ebm_conv2d_shape *s) {
  (void)s;
  return 0;
}
static int64_t no_lanes(const ebm_conv2d_shape *s) {
  (void)s;
  return 0;
}
static size_t no_direct_workspace(const ebm_conv2d_shape *s) {
  (void)s;
  return 0;
}
/* The portable passes under the direct ones' signature; never called with
 * a chain (no_lanes). */
static void gemm_forward(const ebm_conv2d_shape *s, const ebm_conv2d_chain *c, const float *x,
                         const float *w, const float *b, float *z, float *act, float *gate,
                         float *ws) {
  (void)c;
  ops_conv2d_gemm_forward(s, x, w, b, z, act, gate, ws);
}
static void gemm_backward_input(const ebm_conv2d_shape *s, const ebm_conv2d_chain *c,
                                const float *gate, const float *dy, const float *w, float *dx,
                                float *ws) {
  (void)c;
  ops_conv2d_gemm_backward_input(s, gate, dy, w, dx, ws);
}

/* No runs without a direct path (never called: run_workspace is 0). */
static size_t no_run_workspace(int count, const ebm_conv2d_run_step *steps) {
  (void)count, (void)steps;
  return 0;
}
static void no_run_forward(int count, const ebm_conv2d_run_step *steps, const float *x, float *y,
                           float *ws) {
  (void)count, (void)steps, (void)x, (void)y, (void)ws;
}
static void no_run_backward_input(int count, const ebm_conv2d_run_step *steps, const float *dy,
                                  float *dx, float *ws) {
  (void)count, (void)steps, (void)dy, (void)dx, (void)ws;
}

/* The entry points of path `isa`, whose direct path is `usable`, `lanes`,
 * `workspace`, `forward`, `backward_input`, `backward_weight`; the chained
 * passes exist where lanes > 0 (ops.h), which are direct ones. */
#define CONV2D_PATH(isa, usable, lanes, workspace, forward, backward_input, backward_weight,      \
                    run_workspace, run_forward, run_backward_input)                             \
  size_t ops_cpu_conv2d_workspace_##isa(const ebm_conv2d_shape *s) {                            \
    size_t gemm = ops_conv2d_gemm_workspace(s), direct = workspace(s);                          \
    return gemm > direct ? gemm : direct;                                                       \
  }                                                                                             \
  void ops_cpu_conv2d_forward_##isa(const ebm_conv2d_shape *s, const float *x, const float *w,  \
                                    const float *b, float *y, float *ws) {                      \
    if (usable(s))                                                                              \
      forward(s, NULL, x, w, b, y, NULL, NULL, ws);                                             \
    else                                                                                        \
      ops_conv2d_gemm_forward(s, x, w, b, y, NULL, NULL, ws);                                   \
  }                                                                                             \
  void ops_cpu_conv2d_forward_swish_##isa(const ebm_conv2d_shape *s, const float *x,            \
                                          const float *w, const float *b, float *pre, float *y, \
                                          float *gate, float *ws) {                             \
    if (usable(s))                                                                              \
      forward(s, NULL, x, w, b, pre, y, gate, ws);                                              \
    else                                                                                        \
      ops_conv2d_gemm_forward(s, x, w, b, pre, y, gate, ws);                                    \
  }                                                                                             \
  void ops_cpu_conv2d_backward_input_##isa(const ebm_conv2d_shape *s, const float *dy,          \
                                           const float *w, float *dx, float *ws) {              \
    if (usable(s))                                                                              \
      backward_input(s, NULL, NULL, dy, w, dx, ws);                                             \
    else                                                                                        \
      ops_conv2d_gemm_backward_input(s, NULL, dy, w, dx, ws);                                   \
  }                                                                                             \
  void ops_cpu_conv2d_backward_input_swish_##isa(const ebm_conv2d_shape *s, const float *gate,  \
                                                 const float *dy, const float *w, float *dx,    \
                                                 float *ws) {                                   \
    if (usable(s))                                                                              \
      backward_input(s, NULL, gate, dy, w, dx, ws);                                             \
    else                                                                                        \
      ops_conv2d_gemm_backward_input(s, gate, dy, w, dx, ws);                                   \
  }                                                                                             \
  void ops_cpu_conv2d_backward_weight_##isa(const ebm_conv2d_shape *s, const float *x,          \
                                            const float *dy, float *dw, float *db, float *ws) { \
    if (weight_direct(usable, s))                                                               \
      backward_weight(s, x, dy, dw, db, ws);                                                    \
    else                                                                                        \
      ops_conv2d_gemm_backward_weight(s, x, dy, dw, db, ws);                                    \
  }                                                                                             \
  int64_t ops_cpu_conv2d_chain_lanes_##isa(const ebm_conv2d_shape *s) { return lanes(s); }      \
  void ops_cpu_conv2d_forward_swish_chained_##isa(const ebm_conv2d_shape *s,                    \
                                                  const ebm_conv2d_chain *c, const float *x,    \
                                                  const float *w, const float *b, float *y,     \
                                                  float *gate, float *ws) {                     \
    forward(s, c, x, w, b, NULL, y, gate, ws);                                                  \
  }                                                                                             \
  void ops_cpu_conv2d_backward_input_swish_chained_##isa(                                       \
      const ebm_conv2d_shape *s, const ebm_conv2d_chain *c, const float *gate, const float *dy, \
      const float *w, float *dx, float *ws) {                                                   \
    backward_input(s, c, gate, dy, w, dx, ws);                                                  \
  }                                                                                             \
  size_t ops_cpu_conv2d_run_workspace_##isa(int count, const ebm_conv2d_run_step *steps) {      \
    return run_workspace(count, steps);                                                         \
  }                                                                                             \
  void ops_cpu_conv2d_run_forward_##isa(int count, const ebm_conv2d_run_step *steps,            \
                                        const float *x, float *y, float *ws) {                  \
    run_forward(count, steps, x, y, ws);                                                        \
  }                                                                                             \
  void ops_cpu_conv2d_run_backward_input_##isa(int count, const ebm_conv2d_run_step *steps,     \
                                               const float *dy, float *dx, float *ws) {         \
    run_backward_input(count, steps, dy, dx, ws);                                               \
  }

CONV2D_PATH(generic, direct_never, no_lanes, no_direct_workspace, gemm_forward,
            gemm_backward_input, ops_conv2d_gemm_backward_weight, no_run_workspace, no_run_forward,
            no_run_backward_input)
#if defined(__x86_64__) && defined(__GNUC__)
CONV2D_PATH(avx2, ops_conv2d_direct_usable_avx2, ops_conv2d_direct_lanes_avx2,
            ops_conv2d_direct_workspace_avx2,
            ops_conv2d_direct_forward_avx2, ops_conv2d_direct_backward_input_avx2,
            ops_conv2d_direct_backward_weight_avx2, ops_conv2d_direct_run_workspace_avx2,
            ops_conv2d_direct_run_forward_avx2, ops_conv2d_direct_run_backward_input_avx2)
CONV2D_PATH(avx512, ops_conv2d_direct_usable_avx512, ops_conv2d_direct_lanes_avx512,
            ops_conv2d_direct_workspace_avx512,
            ops_conv2d_direct_forward_avx512, ops_conv2d_direct_backward_input_avx512,
            ops_conv2d_direct_backward_weight_avx512, ops_conv2d_direct_run_workspace_avx512,
            ops_conv2d_direct_run_forward_avx512, ops_conv2d_direct_run_backward_input_avx512)
#endif
