/* bench_ops — times the ops kernels on the uva-cnn network (the PyTorch
 * MNIST EBM tutorial model of bench/torch_reference.py, DESIGN §4):
 * conv 1→16 k5 s2 p4 on 28×28, 16→32 k3 s2 p1, 32→64 k3 s2 p1,
 * 64→64 k3 s2 p1 (each + swish), linear 256→64 + swish, linear 64→1, at
 * batch 128, at 1 and 2 threads. Prints per layer ms and GFLOP/s for the
 * forward and input-gradient passes (one Langevin step is both, over every
 * layer), the weight-gradient pass, the whole Langevin step, and the sgemm
 * peak measured here (a large square sgemm; for 2 threads two single-
 * threaded sgemms run side by side through the pool).
 *
 *   build/bench_ops [repeats [max_threads]]   (default 30 and 2; the minimum time is shown)
 *   build/bench_ops --profile N T             only N fused Langevin steps at T threads
 *                                             (for perf record)
 *   EBM_ISA=generic build/bench_ops           any of these on another kernel path */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/core.h"
#include "ops/conv2d_internal.h"
#include "ops/ops.h"

#define BATCH 128
#define CONVS 4
#define PEAK_N 1024

static const ebm_conv2d_shape uva_convs[CONVS] = {
    {.c_in = 1, .h_in = 28, .w_in = 28, .c_out = 16, .kh = 5, .kw = 5, .stride = 2, .pad = 4},
    {.c_in = 16, .h_in = 16, .w_in = 16, .c_out = 32, .kh = 3, .kw = 3, .stride = 2, .pad = 1},
    {.c_in = 32, .h_in = 8, .w_in = 8, .c_out = 64, .kh = 3, .kw = 3, .stride = 2, .pad = 1},
    {.c_in = 64, .h_in = 4, .w_in = 4, .c_out = 64, .kh = 3, .kw = 3, .stride = 2, .pad = 1},
};
static const int64_t lin_in[2] = {256, 64}, lin_out[2] = {64, 1};

/* 1: run the convs through the portable im2col + OpenBLAS path even where
 * a direct path is available (for the comparison line). */
static int portable_convs;

typedef struct {
  ebm_conv2d_shape conv[CONVS];
  float *act[CONVS + 3]; /* act[0] = input; act[i+1] = output of layer i (post-activation) */
  float *pre[CONVS + 2]; /* pre-activation outputs of the layers that have swish */
  float *gate[CONVS];    /* swish'(pre) of the convs, kept by the fused forward */
  float *grad[CONVS + 3];
  float *w[CONVS + 2], *b[CONVS + 2], *dw[CONVS + 2], *db[CONVS + 2];
  float *ws;
} net;

static float *buffer(int64_t count, ebm_rng *rng, float scale) {
  float *p = ebm_alloc((size_t)count, sizeof *p);
  if (!p) {
    fprintf(stderr, "bench_ops: out of memory\n");
    exit(1);
  }
  ebm_rng_uniform(rng, p, count, -scale, scale);
  return p;
}

static int64_t conv_out_count(const ebm_conv2d_shape *s) { return s->n * s->c_out * s->h_out * s->w_out; }

static void net_init(net *m) {
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  size_t ws = 0;
  m->act[0] = buffer(BATCH * 28 * 28, &rng, 1.0f);
  m->grad[0] = buffer(BATCH * 28 * 28, &rng, 1.0f);
  for (int i = 0; i < CONVS; i++) {
    ebm_conv2d_shape *s = &m->conv[i];
    *s = uva_convs[i];
    s->n = BATCH;
    ebm_conv2d_shape_finish(s);
    int64_t k = s->c_in * s->kh * s->kw, ny = conv_out_count(s);
    float scale = 1.0f / sqrtf((float)k);
    m->w[i] = buffer(s->c_out * k, &rng, scale), m->b[i] = buffer(s->c_out, &rng, scale);
    m->dw[i] = buffer(s->c_out * k, &rng, 0), m->db[i] = buffer(s->c_out, &rng, 0);
    m->pre[i] = buffer(ny, &rng, 1), m->act[i + 1] = buffer(ny, &rng, 1), m->grad[i + 1] = buffer(ny, &rng, 1);
    m->gate[i] = buffer(ny, &rng, 1);
    size_t need = ebm_ops_current()->conv2d_workspace(s);
    if (need > ws) ws = need;
  }
  for (int l = 0; l < 2; l++) {
    int i = CONVS + l;
    float scale = 1.0f / sqrtf((float)lin_in[l]);
    m->w[i] = buffer(lin_out[l] * lin_in[l], &rng, scale), m->b[i] = buffer(lin_out[l], &rng, scale);
    m->dw[i] = buffer(lin_out[l] * lin_in[l], &rng, 0), m->db[i] = buffer(lin_out[l], &rng, 0);
    m->pre[i] = buffer(BATCH * lin_out[l], &rng, 1);
    m->act[i + 1] = buffer(BATCH * lin_out[l], &rng, 1), m->grad[i + 1] = buffer(BATCH * lin_out[l], &rng, 1);
  }
  m->ws = buffer((int64_t)ws, &rng, 0);
}

static void net_free(net *m) {
  for (int i = 0; i < CONVS + 3; i++) ebm_free(m->act[i]), ebm_free(m->grad[i]);
  for (int i = 0; i < CONVS; i++) ebm_free(m->gate[i]);
  for (int i = 0; i < CONVS + 2; i++)
    ebm_free(m->pre[i]), ebm_free(m->w[i]), ebm_free(m->b[i]), ebm_free(m->dw[i]), ebm_free(m->db[i]);
  ebm_free(m->ws);
}

/* The passes, one layer at a time (layer 0..3 conv, 4..5 linear). */
static void layer_forward(net *m, int i) {
  const ebm_ops *ops = ebm_ops_current();
  if (i < CONVS) {
    if (portable_convs)
      ops_conv2d_gemm_forward(&m->conv[i], m->act[i], m->w[i], m->b[i], m->pre[i], m->act[i + 1],
                              m->gate[i], m->ws);
    else
      ops->conv2d_forward_swish(&m->conv[i], m->act[i], m->w[i], m->b[i], m->pre[i], m->act[i + 1],
                                m->gate[i], m->ws);
  } else {
    int l = i - CONVS;
    ops->linear_forward(BATCH, lin_in[l], lin_out[l], m->act[i], m->w[i], m->b[i], m->pre[i]);
    if (l == 0) ops->swish_forward(BATCH * lin_out[l], m->pre[i], m->act[i + 1]);
  }
}

/* grad[i+1] holds dE/d(act[i+1]); writes dE/d(act[i]) into grad[i]. */
static void layer_backward_input(net *m, int i) {
  const ebm_ops *ops = ebm_ops_current();
  if (i < CONVS) {
    if (portable_convs)
      ops_conv2d_gemm_backward_input(&m->conv[i], m->gate[i], m->grad[i + 1], m->w[i], m->grad[i], m->ws);
    else
      ops->conv2d_backward_input_swish(&m->conv[i], m->gate[i], m->grad[i + 1], m->w[i], m->grad[i],
                                       m->ws);
  } else {
    int l = i - CONVS;
    float *dy = m->grad[i + 1];
    if (l == 0) ops->swish_backward(BATCH * lin_out[l], m->pre[i], dy, m->pre[i]), dy = m->pre[i];
    ops->linear_backward_input(BATCH, lin_in[l], lin_out[l], dy, m->w[i], m->grad[i]);
  }
}

/* The same passes with separate conv and swish kernels (what a layer stack
 * without the fused entries would run). */
static void layer_forward_unfused(net *m, int i) {
  const ebm_ops *ops = ebm_ops_current();
  if (i >= CONVS) {
    layer_forward(m, i);
    return;
  }
  ops->conv2d_forward(&m->conv[i], m->act[i], m->w[i], m->b[i], m->pre[i], m->ws);
  ops->swish_forward(conv_out_count(&m->conv[i]), m->pre[i], m->act[i + 1]);
}

static void layer_backward_input_unfused(net *m, int i) {
  const ebm_ops *ops = ebm_ops_current();
  if (i >= CONVS) {
    layer_backward_input(m, i);
    return;
  }
  /* dpre goes to grad[i+1]'s twin buffer act[i+1] (free during backward) */
  ops->swish_backward(conv_out_count(&m->conv[i]), m->pre[i], m->grad[i + 1], m->act[i + 1]);
  ops->conv2d_backward_input(&m->conv[i], m->act[i + 1], m->w[i], m->grad[i], m->ws);
}

static void layer_backward_weight(net *m, int i) {
  const ebm_ops *ops = ebm_ops_current();
  if (i < CONVS)
    ops->conv2d_backward_weight(&m->conv[i], m->act[i], m->grad[i + 1], m->dw[i], m->db[i], m->ws);
  else
    ops->linear_backward_weight(BATCH, lin_in[i - CONVS], lin_out[i - CONVS], m->act[i],
                                m->grad[i + 1], m->dw[i], m->db[i]);
}

static double layer_flops(const net *m, int i) {
  if (i < CONVS) {
    const ebm_conv2d_shape *s = &m->conv[i];
    return 2.0 * (double)(conv_out_count(s) * s->c_in * s->kh * s->kw);
  }
  return 2.0 * BATCH * (double)(lin_in[i - CONVS] * lin_out[i - CONVS]);
}

typedef void (*pass_fn)(net *m, int i);

static double min_seconds(net *m, int i, pass_fn fn, int repeats) {
  fn(m, i); /* warm up */
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    double t0 = ebm_now_seconds();
    fn(m, i);
    double t = ebm_now_seconds() - t0;
    if (t < best) best = t;
  }
  return best;
}

/* One Langevin step's network work: E(x) forward, then dE/dx. */
static void langevin_step(net *m, int fused) {
  for (int i = 0; i < CONVS + 2; i++) (fused ? layer_forward : layer_forward_unfused)(m, i);
  for (int q = 0; q < BATCH; q++) m->grad[CONVS + 2][q] = 1.0f; /* dE/dE */
  for (int i = CONVS + 1; i >= 0; i--) (fused ? layer_backward_input : layer_backward_input_unfused)(m, i);
}

typedef struct {
  float *a, *b, *c;
} peak_ctx;

static void peak_sgemm(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)begin, (void)end;
  peak_ctx *p = ctx;
  size_t off = (size_t)tid * PEAK_N * PEAK_N;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, PEAK_N, PEAK_N, PEAK_N, 1.0f, p->a + off,
              PEAK_N, p->b + off, PEAK_N, 0.0f, p->c + off, PEAK_N);
}

/* GFLOP/s of `threads` concurrent single-threaded 1024² sgemms. */
static double sgemm_peak(int threads, int repeats) {
  ebm_rng rng;
  ebm_rng_init(&rng, 2);
  int64_t count = (int64_t)threads * PEAK_N * PEAK_N;
  peak_ctx p = {buffer(count, &rng, 1), buffer(count, &rng, 1), buffer(count, &rng, 1)};
  ebm_parallel_for(threads, 1, peak_sgemm, &p);
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    double t0 = ebm_now_seconds();
    ebm_parallel_for(threads, 1, peak_sgemm, &p);
    double t = ebm_now_seconds() - t0;
    if (t < best) best = t;
  }
  ebm_free(p.a), ebm_free(p.b), ebm_free(p.c);
  return threads * 2.0 * PEAK_N * PEAK_N * PEAK_N / best / 1e9;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FMA_ITERS 20000000

/* The machine's FMA peak on the active path: 12 independent FMA chains per
 * thread, registers only (what the direct conv kernels can at best reach),
 * with AVX-512 or AVX2 (0 on the generic path). */
#define FMA_LOOP(name, target_isa, vec, set1, fmadd, storeu, lanes)                                  \
  __attribute__((target(target_isa))) static void name(void *ctx, int64_t begin, int64_t end,       \
                                                   int tid) {                                   \
    (void)begin, (void)end;                                                                     \
    vec acc[12], m = set1(0.999999f), a = set1(1e-7f);                                          \
    for (int i = 0; i < 12; i++) acc[i] = set1((float)i);                                       \
    for (int64_t it = 0; it < FMA_ITERS; it++)                                                  \
      for (int i = 0; i < 12; i++) acc[i] = fmadd(acc[i], m, a);                                \
    float sum = 0, out[lanes];                                                                  \
    for (int i = 0; i < 12; i++) {                                                              \
      storeu(out, acc[i]);                                                                      \
      sum += out[0];                                                                            \
    }                                                                                           \
    ((float *)ctx)[tid] = sum; /* keep the loop */                                              \
  }
FMA_LOOP(fma_loop_avx512, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_storeu_ps, 16)
FMA_LOOP(fma_loop_avx2, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_storeu_ps, 8)

static double fma_peak(int threads) {
  const ebm_isa isa = ebm_isa_active();
  if (isa == EBM_ISA_GENERIC) return 0;
  float sink[64];
  double t0 = ebm_now_seconds();
  ebm_parallel_for(threads, 1, isa == EBM_ISA_AVX512 ? fma_loop_avx512 : fma_loop_avx2, sink);
  double t = ebm_now_seconds() - t0;
  return threads * 12.0 * (isa == EBM_ISA_AVX512 ? 32.0 : 16.0) * FMA_ITERS / t / 1e9;
}
#else
static double fma_peak(int threads) {
  (void)threads;
  return 0;
}
#endif

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--profile") == 0) {
    if (ebm_threads_init(atoi(argv[3])) != EBM_OK) return 1;
    net m;
    net_init(&m);
    double t0 = ebm_now_seconds();
    int steps = atoi(argv[2]);
    for (int r = 0; r < steps; r++) langevin_step(&m, 1);
    printf("%.3f ms per step\n", (ebm_now_seconds() - t0) / steps * 1e3);
    net_free(&m);
    return 0;
  }
  int repeats = argc > 1 ? atoi(argv[1]) : 30;
  int max_threads = argc > 2 ? atoi(argv[2]) : 2;
  if (repeats < 1) repeats = 1;
  static const char *names[CONVS + 2] = {"conv1 1->16 k5s2p4 28x28", "conv2 16->32 k3s2p1 16x16",
                                         "conv3 32->64 k3s2p1 8x8", "conv4 64->64 k3s2p1 4x4",
                                         "linear 256->64", "linear 64->1"};
  printf("ebm ops benchmark: uva-cnn, batch %d, ops table '%s', min of %d runs\n", BATCH,
         ebm_ops_current()->name, repeats);
  for (int threads = 1; threads <= max_threads; threads++) {
    if (ebm_threads_init(threads) != EBM_OK) {
      fprintf(stderr, "bench_ops: %s\n", ebm_last_error());
      return 1;
    }
    double peak = sgemm_peak(threads, repeats < 10 ? repeats : 10);
    net m;
    net_init(&m);
    double fma = fma_peak(threads);
    printf("\n%d thread%s: OpenBLAS sgemm peak %.1f GFLOP/s (%dx%d, %s); %s FMA peak %.1f GFLOP/s\n",
           threads, threads > 1 ? "s" : "", peak, PEAK_N, PEAK_N,
           threads > 1 ? "one per thread, side by side" : "single", ebm_isa_name(ebm_isa_active()), fma);
    printf("(%%peak columns are of the OpenBLAS sgemm peak)\n");
    printf("%-28s %9s %8s %6s | %9s %8s %6s | %9s %8s\n", "layer (+swish, fused)", "fwd ms", "GFLOP/s",
           "%peak", "bwd-in ms", "GFLOP/s", "%peak", "bwd-w ms", "GFLOP/s");
    double total_f = 0, total_b = 0, total_w = 0, flops_all = 0;
    for (int i = 0; i < CONVS + 2; i++) {
      double f = layer_flops(&m, i);
      double tf = min_seconds(&m, i, layer_forward, repeats);
      double tb = min_seconds(&m, i, layer_backward_input, repeats);
      double tw = min_seconds(&m, i, layer_backward_weight, repeats);
      total_f += tf, total_b += tb, total_w += tw, flops_all += f;
      printf("%-28s %9.3f %8.1f %5.0f%% | %9.3f %8.1f %5.0f%% | %9.3f %8.1f\n", names[i], tf * 1e3,
             f / tf / 1e9, 100 * f / tf / 1e9 / peak, tb * 1e3, f / tb / 1e9,
             100 * f / tb / 1e9 / peak, tw * 1e3, f / tw / 1e9);
    }
    printf("%-28s %9.3f %8.1f %5.0f%% | %9.3f %8.1f %5.0f%% | %9.3f %8.1f\n", "sum of layers",
           total_f * 1e3, flops_all / total_f / 1e9, 100 * flops_all / total_f / 1e9 / peak,
           total_b * 1e3, flops_all / total_b / 1e9, 100 * flops_all / total_b / 1e9 / peak,
           total_w * 1e3, flops_all / total_w / 1e9);
    static const char *variants[3] = {"fused conv+swish", "separate swish", "im2col+sgemm path, fused"};
    for (int v = 0; v < 3; v++) {
      portable_convs = v == 2;
      double step = min_seconds(&m, v != 1, langevin_step, repeats);
      printf("Langevin step (fwd + bwd-input, all layers, %s): %.3f ms, %.1f GFLOP/s (%.0f%% of peak)\n",
             variants[v], step * 1e3, 2 * flops_all / step / 1e9, 100 * 2 * flops_all / step / 1e9 / peak);
    }
    portable_convs = 0;
    net_free(&m);
  }
  return 0;
}
