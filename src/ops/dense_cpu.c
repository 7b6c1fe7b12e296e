/* Linear layers (OpenBLAS sgemm) and pooling on the CPU.
 *
 * The sgemm calls of the forward / input-gradient passes are cut into fixed
 * blocks of LINEAR_ROWS batch rows that the pool's threads share; the cut
 * does not depend on the thread count, so results are bitwise identical at
 * any thread count (and whether or not the pool is used). */
#include <cblas.h>
#include <string.h>

#include "ebm/core.h"
#include "ebm/energy.h"
#include "ops/cpu_kernels.h"

/* The sgemm's N blocking makes a row's bits depend on the block it is in,
 * so the blocks are what a network fork must reproduce (energy.h). */
#define LINEAR_ROWS EBM_ENERGY_FORK_ITEMS
/* Below this many multiply-adds a trip through the pool (~10–20 µs to wake
 * a worker) costs more than the second core saves. */
#define LINEAR_PARALLEL_MACS (4 << 20)

typedef struct {
  int64_t n, in, out;
  const float *x, *w, *b, *dy;
  float *y, *dx;
} linear_job;

static int64_t row_blocks(int64_t n) { return (n + LINEAR_ROWS - 1) / LINEAR_ROWS; }

static void run_blocks(const linear_job *j, ebm_range_fn fn) {
  if (j->n * j->in * j->out < LINEAR_PARALLEL_MACS)
    fn((void *)j, 0, row_blocks(j->n), 0);
  else
    ebm_parallel_for(row_blocks(j->n), 1, fn, (void *)j);
}

// x is (N,in), w is (out,in), y is (N,out).
static void linear_forward_blocks(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const linear_job *j = ctx;
  for (int64_t blk = begin; blk < end; blk++) {
    int64_t r0 = blk * LINEAR_ROWS, r1 = r0 + LINEAR_ROWS < j->n ? r0 + LINEAR_ROWS : j->n;
    float *y = j->y + r0 * j->out;
    float beta = 0.0f;
    if (j->b) {
      for (int64_t r = r0; r < r1; r++) memcpy(j->y + r * j->out, j->b, (size_t)j->out * sizeof(float));
      beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), (int)j->out, (int)j->in,
                1.0f, j->x + r0 * j->in, (int)j->in, j->w, (int)j->in, beta, y, (int)j->out);
  }
}

void ops_cpu_linear_forward(int64_t n, int64_t in, int64_t out, const float *x, const float *w,
                            const float *b, float *y) {
  linear_job j = {.n = n, .in = in, .out = out, .x = x, .w = w, .b = b, .y = y};
  run_blocks(&j, linear_forward_blocks);
}

// dy is (N,out), w is (out,in), dx is (N,in).
static void linear_backward_input_blocks(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const linear_job *j = ctx;
  for (int64_t blk = begin; blk < end; blk++) {
    int64_t r0 = blk * LINEAR_ROWS, r1 = r0 + LINEAR_ROWS < j->n ? r0 + LINEAR_ROWS : j->n;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(r1 - r0), (int)j->in, (int)j->out,
                1.0f, j->dy + r0 * j->out, (int)j->out, j->w, (int)j->in, 0.0f, j->dx + r0 * j->in,
                (int)j->in);
  }
}

void ops_cpu_linear_backward_input(int64_t n, int64_t in, int64_t out, const float *dy,
                                   const float *w, float *dx) {
  linear_job j = {.n = n, .in = in, .out = out, .dy = dy, .w = w, .dx = dx};
  run_blocks(&j, linear_backward_input_blocks);
}

// x is (N,in), dy is (N,out); dw (out,in) += dyᵀ·x, db (out) += Σ_n dy.
void ops_cpu_linear_backward_weight(int64_t n, int64_t in, int64_t out, const float *x,
                                    const float *dy, float *dw, float *db) {
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)n, 1.0f, dy,
              (int)out, x, (int)in, 1.0f, dw, (int)in);
  if (db)
    for (int64_t i = 0; i < n; i++)
      for (int64_t o = 0; o < out; o++) db[o] += dy[i * out + o];
}

/* Average pooling runs over planes (one channel of one item) in blocks of
 * POOL_PLANES that the pool's threads share: each plane is computed the same
 * way whatever block or thread it falls in, so results are bitwise identical
 * at any thread count. The IGEBM blocks pool 2×2, so k = 2 gets its own copy
 * of the loops with k a constant, which gcc unrolls and vectorises (the
 * general loop, one window at a time and on one thread, was ~5 % of an
 * igebm-mnist Langevin step); both copies add a window's values in the same
 * order, so they give the same bits. */
#define POOL_PLANES 64
#define POOL_MIN_PARALLEL (1 << 17) /* input floats: below, waking the pool costs more */

typedef struct {
  int64_t planes, h, w, k;
  int backward; /* in is dy, out is dx */
  int global;   /* global sum pooling: each plane (h·w floats) to one value */
  const float *in;
  float *out;
} pool_job;

// in is (planes, H, W), out is (planes, H/k, W/k): the mean of each k×k window
// (PyTorch AvgPool2d(k): rows / columns beyond the last whole window are dropped).
__attribute__((always_inline)) static inline void pool_forward_planes(const int64_t k,
                                                                      const pool_job *j,
                                                                      int64_t p0, int64_t p1) {
  const int64_t h = j->h, w = j->w, ho = h / k, wo = w / k;
  const float inv = 1.0f / (float)(k * k);
  for (int64_t p = p0; p < p1; p++) {
    const float *restrict in = j->in + p * h * w;
    float *restrict out = j->out + p * ho * wo;
    for (int64_t i = 0; i < ho; i++)
      for (int64_t q = 0; q < wo; q++) {
        float acc = 0.0f;
        for (int64_t a = 0; a < k; a++)
          for (int64_t b = 0; b < k; b++) acc += in[(i * k + a) * w + q * k + b];
        out[i * wo + q] = acc * inv;
      }
  }
}

// in is (planes, H/k, W/k), out is (planes, H, W): every pixel of a window
// gets the window's value / k², the dropped rows / columns 0.
__attribute__((always_inline)) static inline void pool_backward_planes(const int64_t k,
                                                                       const pool_job *j,
                                                                       int64_t p0, int64_t p1) {
  const int64_t h = j->h, w = j->w, ho = h / k, wo = w / k;
  const float inv = 1.0f / (float)(k * k);
  for (int64_t p = p0; p < p1; p++) {
    const float *restrict in = j->in + p * ho * wo;
    float *restrict out = j->out + p * h * w;
    for (int64_t r = 0; r < ho * k; r++) {
      const float *restrict src = in + r / k * wo;
      float *restrict dst = out + r * w;
      for (int64_t q = 0; q < wo; q++)
        for (int64_t b = 0; b < k; b++) dst[q * k + b] = src[q] * inv;
      for (int64_t q = wo * k; q < w; q++) dst[q] = 0.0f;
    }
    memset(out + ho * k * w, 0, (size_t)((h - ho * k) * w) * sizeof *out);
  }
}

// Global sum pooling of planes [p0, p1): forward out[p] = Σ in[p] (in
// double, in order), backward out[p·hw + q] = in[p].
static void global_sum_planes(const pool_job *j, int64_t p0, int64_t p1) {
  const int64_t hw = j->h * j->w;
  for (int64_t p = p0; p < p1; p++)
    if (j->backward)
      for (int64_t q = 0; q < hw; q++) j->out[p * hw + q] = j->in[p];
    else
      j->out[p] = (float)ops_cpu_sum(hw, j->in + p * hw);
}

static void pool_blocks(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const pool_job *j = ctx;
  int64_t p0 = begin * POOL_PLANES, p1 = end * POOL_PLANES < j->planes ? end * POOL_PLANES : j->planes;
  if (j->global)
    global_sum_planes(j, p0, p1);
  else if (j->backward && j->k == 2)
    pool_backward_planes(2, j, p0, p1);
  else if (j->backward)
    pool_backward_planes(j->k, j, p0, p1);
  else if (j->k == 2)
    pool_forward_planes(2, j, p0, p1);
  else
    pool_forward_planes(j->k, j, p0, p1);
}

static void pool_run(pool_job *j) {
  int64_t blocks = (j->planes + POOL_PLANES - 1) / POOL_PLANES;
  if (j->planes * j->h * j->w < POOL_MIN_PARALLEL)
    pool_blocks(j, 0, blocks, 0);
  else
    ebm_parallel_for(blocks, 1, pool_blocks, j);
}

// x is (N,C,H,W), y is (N,C,H/k,W/k).
void ops_cpu_avgpool2d_forward(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k,
                               const float *x, float *y) {
  pool_job j = {.planes = n * c, .h = h, .w = w, .k = k, .in = x, .out = y};
  pool_run(&j);
}

// dy is (N,C,H/k,W/k), dx is (N,C,H,W), overwritten.
void ops_cpu_avgpool2d_backward(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k,
                                const float *dy, float *dx) {
  pool_job j = {.planes = n * c, .h = h, .w = w, .k = k, .backward = 1, .in = dy, .out = dx};
  pool_run(&j);
}

// x is (N,C,HW), y is (N,C). Shared by the threads as average pooling is
// (on one thread it was 0.3 ms of an igebm-mnist Langevin step at 2 threads
// that left the other idle: bench/bench_pool_idle.c).
void ops_cpu_global_sum_pool_forward(int64_t n, int64_t c, int64_t hw, const float *x, float *y) {
  pool_job j = {.planes = n * c, .h = hw, .w = 1, .global = 1, .in = x, .out = y};
  pool_run(&j);
}

// dy is (N,C), dx is (N,C,HW).
void ops_cpu_global_sum_pool_backward(int64_t n, int64_t c, int64_t hw, const float *dy,
                                      float *dx) {
  pool_job j = {.planes = n * c, .h = hw, .w = 1, .global = 1, .backward = 1, .in = dy, .out = dx};
  pool_run(&j);
}
