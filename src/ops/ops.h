/* ops/ops.h — the numeric kernels every layer uses, behind one table
 * (ggml-style), so a CUDA table can replace the CPU one without touching
 * nn/ and above. nn/ never loops over pixels: it calls these.
 *
 * Conventions: float32, NCHW, contiguous. `forward` and `backward_input`
 * overwrite their output; `backward_weight` ACCUMULATES into dw / db
 * (+=), as autograd does, so several passes can add up. Kernels may use the
 * thread pool (batch-parallel) and never allocate: callers pass a
 * workspace sized by the matching *_workspace function. */
#ifndef EBM_OPS_H
#define EBM_OPS_H

#include <stddef.h>
#include <stdint.h>

/* Geometry of a 2-D convolution (PyTorch Conv2d with dilation 1, groups 1).
 *
 * `slots` is how many workers (each with its own slice of the workspace) a
 * conv call may use at once; the work itself is cut into groups of items
 * fixed by the shape and handed out dynamically by the pool.
 * ebm_conv2d_shape_finish sets slots to ebm_threads_count() when it is 0,
 * so: build shapes (and query workspaces) AFTER the pool size is fixed
 * (ebm_threads_init) to use every core. Because the workspace and the
 * worker limit both come from `slots`, a later change of the pool size can
 * never overflow the workspace, and every conv result (including the
 * reduction order of backward_weight, whose partial sums are per slot)
 * depends only on the shape, not on the thread count that runs it.
 * slots <= 0 means 1. */
typedef struct {
  int64_t n, c_in, h_in, w_in;
  int64_t c_out, kh, kw, stride, pad;
  int64_t h_out, w_out; /* (h_in + 2·pad − kh) / stride + 1 */
  int64_t slots;        /* see above; 0 = "set by ebm_conv2d_shape_finish" */
} ebm_conv2d_shape;

/* Fills h_out / w_out from the other fields, and slots (if 0) from the
 * current pool size. */
void ebm_conv2d_shape_finish(ebm_conv2d_shape *s);

/* The direct kernels' own layout ("blocked"), which consecutive fused conv
 * + swish steps of the Langevin pass keep between them instead of NCHW:
 * items in blocks of `lanes` (the last block's unused lanes hold values no
 * result reads), each block C × H × W × lanes, so value (c, y, x) of item
 * b·lanes + t is at b·C·H·W·lanes + ((c·H + y)·W + x)·lanes + t. A block is
 * one contiguous run, and so is each of its rows: the kernels move it with
 * plain copies where NCHW takes an 8×8 transpose per tile and 8 streams a
 * power of two apart (the same L1 set). A chained pass computes the same
 * values with the same operations: the same bits. */
typedef struct {
  int in_blocked;  /* forward x and backward dx are blocked (C_in × H_in × W_in) */
  int out_blocked; /* y, gate and backward dy are blocked (C_out × H_out × W_out) */
} ebm_conv2d_chain;

/* A run of consecutive fused conv + bias + swish steps (each step's swish
 * output is the next one's input) that the chained passes below can take
 * one group of items at a time through every step, so what lies between
 * two steps stays in the worker's cache instead of batch-sized arrays. */
#define EBM_CONV2D_RUN_MAX 8 /* steps per run */
typedef struct {
  ebm_conv2d_shape s;   /* s.n: the batch, the same for every step */
  const float *w, *b;   /* OIHW weights; bias (may be NULL) */
  float *gate;          /* swish'(pre), written forward, read backward: blocked
                           (ebm_conv2d_chain) for every step but the last, NCHW
                           for the last */
  int packed;           /* 1: the workspace already holds w packed for this
                           pass (forward or backward), by an earlier call of the
                           same pass on the same workspace with the same w, which
                           has not changed since; 0: pack it (then it does) */
} ebm_conv2d_run_step;

/* Floats of n items of a c × h × w tensor blocked by `lanes`. */
static inline int64_t ebm_blocked_floats(int64_t n, int64_t c, int64_t h, int64_t w,
                                         int64_t lanes) {
  return (n + lanes - 1) / lanes * lanes * c * h * w;
}

typedef struct ebm_ops {
  const char *name; /* "cpu" */

  /* Floats of workspace any conv2d pass of this shape needs (grows with
   * s->slots; also valid for the same shape with a smaller n). */
  size_t (*conv2d_workspace)(const ebm_conv2d_shape *s);
  /* y[n,c_out,h_out,w_out] = conv(x[n,c_in,h_in,w_in], w[c_out,c_in,kh,kw]) + b[c_out] (b may be NULL). */
  void (*conv2d_forward)(const ebm_conv2d_shape *s, const float *x, const float *w, const float *b,
                         float *y, float *ws);
  /* dx = conv_transpose(dy, w). */
  void (*conv2d_backward_input)(const ebm_conv2d_shape *s, const float *dy, const float *w,
                                float *dx, float *ws);
  /* dw += Σ_n dy ⋆ x ; db += Σ dy (db may be NULL). */
  void (*conv2d_backward_weight)(const ebm_conv2d_shape *s, const float *x, const float *dy,
                                 float *dw, float *db, float *ws);

  /* y[n,out] = x[n,in] · w[out,in]ᵀ + b[out] (b may be NULL). */
  void (*linear_forward)(int64_t n, int64_t in, int64_t out, const float *x, const float *w,
                         const float *b, float *y);
  /* dx[n,in] = dy[n,out] · w. */
  void (*linear_backward_input)(int64_t n, int64_t in, int64_t out, const float *dy,
                                const float *w, float *dx);
  /* dw[out,in] += dyᵀ · x ; db += Σ_n dy. */
  void (*linear_backward_weight)(int64_t n, int64_t in, int64_t out, const float *x,
                                 const float *dy, float *dw, float *db);

  /* Average pooling, square window k, stride k, no padding:
   * x[n,c,h,w] → y[n,c,h/k,w/k]. */
  void (*avgpool2d_forward)(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, const float *x,
                            float *y);
  void (*avgpool2d_backward)(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k,
                             const float *dy, float *dx);
  /* Global sum pooling: x[n,c,h,w] → y[n,c]. */
  void (*global_sum_pool_forward)(int64_t n, int64_t c, int64_t hw, const float *x, float *y);
  void (*global_sum_pool_backward)(int64_t n, int64_t c, int64_t hw, const float *dy, float *dx);

  /* Activations, element-wise over count values. Backward takes the
   * forward INPUT x and dy, and writes dx (may alias dy). */
  void (*swish_forward)(int64_t count, const float *x, float *y);
  void (*swish_backward)(int64_t count, const float *x, const float *dy, float *dx);
  void (*leaky_relu_forward)(int64_t count, float slope, const float *x, float *y);
  void (*leaky_relu_backward)(int64_t count, float slope, const float *x, const float *dy,
                              float *dx);
  /* tanh and the logistic sigmoid (ReLU is leaky_relu with slope 0). */
  void (*tanh_forward)(int64_t count, const float *x, float *y);
  void (*tanh_backward)(int64_t count, const float *x, const float *dy, float *dx);
  void (*sigmoid_forward)(int64_t count, const float *x, float *y);
  void (*sigmoid_backward)(int64_t count, const float *x, const float *dy, float *dx);

  /* Per-channel affine y = x·g[c] + b[c] over x[n,c,hw] (class-conditional
   * gain and bias: g, b are per item: g[n,c], b[n,c]). Backward: dx = dy·g,
   * dg[n,c] = Σ_hw dy·x, db[n,c] = Σ_hw dy (overwritten; may be NULL). */
  void (*channel_affine_forward)(int64_t n, int64_t c, int64_t hw, const float *x, const float *g,
                                 const float *b, float *y);
  void (*channel_affine_backward)(int64_t n, int64_t c, int64_t hw, const float *x,
                                  const float *g, const float *dy, float *dx, float *dg,
                                  float *db);

  /* Per-channel bias over y[n,c,hw] (conv_transpose2d): forward y += b[c]
   * in place; backward db[c] += Σ_{n,hw} dy (accumulates). */
  void (*channel_bias_forward)(int64_t n, int64_t c, int64_t hw, const float *b, float *y);
  void (*channel_bias_backward)(int64_t n, int64_t c, int64_t hw, const float *dy, float *db);

  /* Nearest up-sampling by s: x[n,c,h,w] → y[n,c,h·s,w·s]; backward sums
   * each s×s block of dy into dx (overwritten). */
  void (*upsample_nearest_forward)(int64_t n, int64_t c, int64_t h, int64_t w, int64_t s,
                                   const float *x, float *y);
  void (*upsample_nearest_backward)(int64_t n, int64_t c, int64_t h, int64_t w, int64_t s,
                                    const float *dy, float *dx);

  /* 2-D batch normalisation over x[n,c,hw] with per-channel mean, invstd,
   * weight w and bias b. stats: batch mean and biased variance (overwritten).
   * forward: y = (x − mean)·invstd·w + b. backward: dx (may be NULL,
   * overwritten) with batch_stats = 1 differentiating through the batch
   * statistics (train mode) or 0 treating them as constants (eval mode);
   * dw += Σ dy·x̂, db += Σ dy (may be NULL; accumulate). */
  void (*batchnorm2d_stats)(int64_t n, int64_t c, int64_t hw, const float *x, float *mean,
                            float *var);
  void (*batchnorm2d_forward)(int64_t n, int64_t c, int64_t hw, const float *x, const float *mean,
                              const float *invstd, const float *w, const float *b, float *y);
  void (*batchnorm2d_backward)(int64_t n, int64_t c, int64_t hw, const float *x,
                               const float *mean, const float *invstd, const float *w,
                               const float *dy, float *dx, float *dw, float *db, int batch_stats);

  /* Energy heads over rows x[n,k]. logsumexp: y[i] = sign·log Σ_k e^{x[i,k]}
   * (max-shifted, double); backward dx = sign·dy[i]·softmax(x[i]).
   * select: y[i] = sign·x[i, idx[i]]; backward dx = sign·dy[i] at idx[i],
   * 0 elsewhere. Outputs overwritten. */
  void (*logsumexp_forward)(int64_t n, int64_t k, float sign, const float *x, float *y);
  void (*logsumexp_backward)(int64_t n, int64_t k, float sign, const float *x, const float *dy,
                             float *dx);
  void (*select_forward)(int64_t n, int64_t k, float sign, const int32_t *idx, const float *x,
                         float *y);
  void (*select_backward)(int64_t n, int64_t k, float sign, const int32_t *idx, const float *dy,
                          float *dx);

  /* phi[n, 2f] = [sin(2^j·log σ_i), cos(2^j·log σ_i)]_{j<f} (noise-level
   * embedding; overwritten). */
  void (*sinusoidal_features)(int64_t n, int64_t f, const float *sigma, float *phi);

  /* Element-wise helpers over count values. */
  void (*add)(int64_t count, const float *a, const float *b, float *y);         /* y = a + b */
  void (*axpy)(int64_t count, float alpha, const float *x, float *y);           /* y += αx */
  void (*scale)(int64_t count, float alpha, const float *x, float *y);          /* y = αx */
  void (*clamp)(int64_t count, float lo, float hi, float *x);                   /* in place */
  double (*dot)(int64_t count, const float *a, const float *b);                 /* Σ a·b, in double */
  double (*sum)(int64_t count, const float *x);

  /* Fused conv + bias + swish, the hot path of a Langevin step (one pass
   * over the output while it is in cache, one trip through the pool).
   * forward_swish: pre = conv2d_forward(x, w, b), y = swish(pre) and, when
   * gate is not NULL, gate = swish'(pre) from the same sigmoid — the same
   * bits as conv2d_forward then swish_forward (and swish_backward of ones).
   * pre may be NULL when gate is given: the pre-activation then stays in
   * the workspace (the Langevin pass needs only y and gate; not writing
   * pre saves a third of the pass's stores to memory).
   * backward_input_swish: dx = conv2d_backward_input(dy ⊙ gate, w), where
   * dy is the gradient at the swish output and gate the forward's — the
   * same bits as swish_backward(pre, dy) then conv2d_backward_input (dy is
   * not modified). Keeping the gate makes the backward's swish' a multiply
   * folded into its layout change instead of a second sigmoid per value. */
  void (*conv2d_forward_swish)(const ebm_conv2d_shape *s, const float *x, const float *w,
                               const float *b, float *pre, float *y, float *gate, float *ws);
  void (*conv2d_backward_input_swish)(const ebm_conv2d_shape *s, const float *gate,
                                      const float *dy, const float *w, float *dx, float *ws);

  /* The fused passes above with operands blocked as `c` says
   * (ebm_conv2d_chain), keeping no pre-activation; gate is required.
   * conv2d_chain_lanes gives the lanes of this table's blocked layout for
   * the shape, or 0 when it has none (the generic table; shapes beyond the
   * direct kernels): then the chained entries must not be called. The same
   * workspace as the plain passes. */
  int64_t (*conv2d_chain_lanes)(const ebm_conv2d_shape *s);
  void (*conv2d_forward_swish_chained)(const ebm_conv2d_shape *s, const ebm_conv2d_chain *c,
                                       const float *x, const float *w, const float *b, float *y,
                                       float *gate, float *ws);
  void (*conv2d_backward_input_swish_chained)(const ebm_conv2d_shape *s, const ebm_conv2d_chain *c,
                                              const float *gate, const float *dy, const float *w,
                                              float *dx, float *ws);
  /* A run of `count` steps (ebm_conv2d_run_step; count ≤ EBM_CONV2D_RUN_MAX,
   * every step with conv2d_chain_lanes > 0) group by group. run_forward:
   * y (NCHW, the last step's swish output) from x (NCHW, the first step's
   * input), writing every step's gate — the same bits as the chained
   * step-by-step forward; the steps' own swish outputs are not kept.
   * run_backward_input: dx (NCHW) = the input gradient of the whole run
   * for dy (NCHW, the gradient at y), from the gates of the last
   * run_forward — the same bits as the chained backward steps. Workspace:
   * conv2d_run_workspace floats (0: the run cannot be taken this way; the
   * generic table has no runs). */
  size_t (*conv2d_run_workspace)(int count, const ebm_conv2d_run_step *steps);
  void (*conv2d_run_forward)(int count, const ebm_conv2d_run_step *steps, const float *x,
                             float *y, float *ws);
  void (*conv2d_run_backward_input)(int count, const ebm_conv2d_run_step *steps, const float *dy,
                                    float *dx, float *ws);
  /* dst (n items of f floats, NCHW; overwritten) = src blocked by `lanes`:
   * what the plain pass would have written, for whoever reads a chained
   * pass's tensors. */
  void (*blocked_to_nchw)(int64_t n, int64_t f, int64_t lanes, const float *src, float *dst);
} ebm_ops;

/* The CPU table of the active ISA path (ebm_isa_active(): the best the CPU
 * supports, or EBM_ISA), named "cpu-avx512", "cpu-avx2" or "cpu-generic",
 * batch-parallel over the pool. conv2d forward, input and weight gradient: a
 * register-tiled direct convolution with AVX-512 or AVX2+FMA, im2col + BLAS
 * sgemm (col2im) on the generic path and for shapes the direct one does not
 * fit; the weight gradient takes the same direct path (im2col + sgemm
 * where the forward does); linear layers always use sgemm. Results are
 * bitwise identical at any thread count (every split of the work is fixed
 * by the shape); paths may differ from one another in the last bits. */
const ebm_ops *ebm_ops_cpu(void);

/* The BLAS library behind the sgemm calls and the kernels it chose for this
 * CPU, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64
 * (kernels: Haswell)". Valid until the next call on this thread. */
const char *ebm_ops_blas_info(void);

/* The table in use (the CPU one unless another backend was selected). */
const ebm_ops *ebm_ops_current(void);

#endif
