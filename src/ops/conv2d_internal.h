/* ops/conv2d_internal.h — internal: the CPU conv2d paths and what they
 * share. conv2d_cpu.c holds the portable path (im2col + BLAS sgemm);
 * conv2d_direct_avx512.c / _avx2.c the register-tiled direct paths for the
 * forward, input-gradient and weight-gradient passes; ops_table.c picks one
 * per ISA. */
#ifndef EBM_OPS_CONV2D_INTERNAL_H
#define EBM_OPS_CONV2D_INTERNAL_H

#include <stddef.h>

#include "ops/ops.h"

#define CONV_WS_ALIGN 16 /* floats: every workspace part is 64-byte aligned */

static inline size_t conv_round_up(size_t v) {
  return (v + CONV_WS_ALIGN - 1) / CONV_WS_ALIGN * CONV_WS_ALIGN;
}
/* Output positions o in [*lo, *hi) whose input o·stride − pad + tap falls
 * inside [0, size) (one axis of any conv: conv2d's im2col, conv3d's vol2col). */
static inline void conv_valid_range(int64_t size, int64_t out, int64_t stride, int64_t pad,
                                    int64_t tap, int64_t *lo, int64_t *hi) {
  int64_t first = pad - tap; /* o·stride ≥ pad − tap */
  *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  int64_t last = size - 1 + pad - tap; /* o·stride ≤ size − 1 + pad − tap */
  *hi = last < 0 ? 0 : last / stride + 1;
  if (*hi > out) *hi = out;
  if (*lo > *hi) *lo = *hi;
}

static inline int64_t conv_slots(const ebm_conv2d_shape *s) { return s->slots > 0 ? s->slots : 1; }
static inline int64_t conv_k(const ebm_conv2d_shape *s) { return s->c_in * s->kh * s->kw; }
static inline int64_t conv_p(const ebm_conv2d_shape *s) { return s->h_out * s->w_out; }
static inline int64_t conv_f_in(const ebm_conv2d_shape *s) { return s->c_in * s->h_in * s->w_in; }
static inline int64_t conv_f_out(const ebm_conv2d_shape *s) { return s->c_out * s->h_out * s->w_out; }

/* Items [*begin, *end) of slot `slot`: contiguous, fixed by n and slots. */
static inline void conv_slot_items(const ebm_conv2d_shape *s, int64_t slot, int64_t *begin,
                                   int64_t *end) {
  *begin = s->n * slot / conv_slots(s);
  *end = s->n * (slot + 1) / conv_slots(s);
}

/* z (gn NCHW items of C_out·P) += b per channel (b may be NULL); then, if
 * act is given, act = swish(z), and gate = swish'(z) if gate is given too. */
void ops_conv2d_bias_swish(const ebm_conv2d_shape *s, int64_t gn, const float *b, float *z,
                           float *act, float *gate);

/* The portable path. forward: z = conv(x, w) + b, and act = swish(z) when
 * act is not NULL (gate = swish'(z) when gate is not NULL either); z may be
 * NULL when act and gate are given (the pre-activation is not kept).
 * backward_input: dx = conv_transpose(dy ⊙ gate, w), or of dy itself when
 * gate is NULL. */
size_t ops_conv2d_gemm_workspace(const ebm_conv2d_shape *s);
void ops_conv2d_gemm_forward(const ebm_conv2d_shape *s, const float *x, const float *w,
                             const float *b, float *z, float *act, float *gate, float *ws);
void ops_conv2d_gemm_backward_input(const ebm_conv2d_shape *s, const float *gate, const float *dy,
                                    const float *w, float *dx, float *ws);
void ops_conv2d_gemm_backward_weight(const ebm_conv2d_shape *s, const float *x, const float *dy,
                                     float *dw, float *db, float *ws);

/* The weight gradient's last step on both paths: dw += Σ pdw, db += Σ pdb
 * (db may be NULL) over the slots in slot order, where slot i's partial
 * sums are at first + i·stride + pdw (C_out × K) and + pdb (C_out). */
void ops_conv2d_add_slot_partials(const ebm_conv2d_shape *s, const float *first, size_t stride,
                                  size_t pdw, size_t pdb, float *dw, float *db);

/* The direct paths (conv2d_direct_impl.h), same contracts, one set per ISA
 * suffix (avx512, avx2; x86-64 builds only). usable: the shape fits their
 * limits (the caller checks the CPU); workspace is 0 when not usable;
 * lanes: the items per block of their layout, 0 when not usable. forward
 * and backward_input take a chain (ops.h; NULL: plain NCHW operands). */
#define OPS_CONV2D_DIRECT_DECLARE(isa)                                                          \
  int ops_conv2d_direct_usable_##isa(const ebm_conv2d_shape *s);                               \
  int64_t ops_conv2d_direct_lanes_##isa(const ebm_conv2d_shape *s);                            \
  size_t ops_conv2d_direct_workspace_##isa(const ebm_conv2d_shape *s);                         \
  void ops_conv2d_direct_forward_##isa(const ebm_conv2d_shape *s, const ebm_conv2d_chain *c,   \
                                       const float *x, const float *w, const float *b,         \
                                       float *z, float *act, float *gate, float *ws);          \
  void ops_conv2d_direct_backward_input_##isa(const ebm_conv2d_shape *s,                       \
                                              const ebm_conv2d_chain *c, const float *gate,    \
                                              const float *dy, const float *w, float *dx,      \
                                              float *ws);                                      \
  void ops_conv2d_direct_backward_weight_##isa(const ebm_conv2d_shape *s, const float *x,      \
                                               const float *dy, float *dw, float *db,          \
                                               float *ws);                                     \
  size_t ops_conv2d_direct_run_workspace_##isa(int count, const ebm_conv2d_run_step *steps);   \
  void ops_conv2d_direct_run_forward_##isa(int count, const ebm_conv2d_run_step *steps,        \
                                           const float *x, float *y, float *ws);               \
  void ops_conv2d_direct_run_backward_input_##isa(int count, const ebm_conv2d_run_step *steps, \
                                                  const float *dy, float *dx, float *ws);
OPS_CONV2D_DIRECT_DECLARE(avx512)
OPS_CONV2D_DIRECT_DECLARE(avx2)

#endif
