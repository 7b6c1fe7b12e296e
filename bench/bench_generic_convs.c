/* bench_generic_convs — the generic path's convolutions of igebm-mnist
 * (conv_in, then the 3×3 and 1×1 convs of blocks.0–2) at batch 128 on one
 * thread, timed by this thread's CPU time, so that other processes on a
 * shared machine cost less than in wall-clock figures. For each shape: the
 * forward pass and the input-gradient pass of ops_conv2d_gemm_* (the
 * portable path, which the generic table runs), and, for the shapes that
 * take the shifted form, the OpenBLAS sgemm of one kernel tap alone as the
 * unstacked form calls it (C_out × cols × C_in, the group's padded buffer
 * as B); then, for k > 1, the sgemms of a whole batch in sequence as the
 * form calls them (k² taps per group of items, β = 0 for the first), and
 * the same with the k taps of a kernel row stacked into one sgemm (C_out ×
 * cols × k·C_in over k shifted copies of the buffer, made once outside the
 * timing: tried at cb5d44d and not kept); the group size is the one
 * conv2d_cpu.c picks at batch 128, written out below.
 * The forward pass is also timed as the fused conv + swish of the
 * Langevin path, keeping the pre-activation (a plain pass) and without it
 * (what ebm_net_grad_input asks for: the pre-activation stays in the
 * workspace, one output stream fewer).
 * Each figure is GFLOP/s (2 FLOP per multiply-add, junk columns not counted
 * for the passes) and its share of a single-threaded 1024³ sgemm timed the
 * same way; best of R alternating rounds.
 *
 *   build/bench_generic_convs [R]      (default 5) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ebm/core.h"
#include "ops/conv2d_internal.h"

#define BATCH 128

typedef struct {
  const char *name;
  int64_t c_in, hw, c_out, k, pad;
  int64_t group; /* items per sgemm of the shifted form at batch 128 (0: im2col path) */
} conv_case;

static const conv_case cases[] = {
    {"conv_in 1->32 28x28 k3", 1, 28, 32, 3, 1, 0},
    {"blocks.0 32->32 28x28 k3", 32, 28, 32, 3, 1, 1},
    {"blocks.1 conv1 32->64 14x14 k3", 32, 14, 64, 3, 1, 2},
    {"blocks.1 conv2 64->64 14x14 k3", 64, 14, 64, 3, 1, 1},
    {"blocks.1 shortcut 32->64 14x14 k1", 32, 14, 64, 1, 0, 16},
    {"blocks.2 64->64 7x7 k3", 64, 7, 64, 3, 1, 4},
};
#define CASES ((int)(sizeof cases / sizeof cases[0]))

static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *filled(int64_t count, ebm_rng *rng) {
  float *p = ebm_alloc((size_t)(count > 0 ? count : 1), sizeof *p);
  if (!p) {
    fprintf(stderr, "bench_generic_convs: out of memory\n");
    exit(1);
  }
  ebm_rng_uniform(rng, p, count, -1.0f, 1.0f);
  return p;
}

/* Seconds of CPU of one m × n × k sgemm (β = 1, B with row stride ldb),
 * the fastest of `reps` calls after one untimed. */
static double sgemm_seconds(int m, int n, int k, int ldb, int reps, ebm_rng *rng) {
  float *a = filled((int64_t)m * k, rng), *b = filled((int64_t)k * ldb + n, rng);
  float *c = filled((int64_t)m * n, rng);
  double best = 1e30;
  for (int r = 0; r <= reps; r++) {
    double t = cpu_seconds();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, ldb, 1.0f, c, n);
    t = cpu_seconds() - t;
    if (r > 0 && t < best) best = t;
  }
  ebm_free(a), ebm_free(b), ebm_free(c);
  return best;
}

/* Seconds of CPU of the sgemms of a batch of BATCH items in groups of g,
 * k × k taps each over a buffer of c_in planes (plane floats apart, rows
 * wq·g apart) into C_out × cols: k² sgemms of depth c_in per group, or,
 * stacked, k of depth k·c_in over k copies of the buffer. */
static double sequence_seconds(const ebm_conv2d_shape *s, int64_t g, int64_t wq, int64_t cols,
                               int64_t plane, int stacked, ebm_rng *rng) {
  const int64_t k = s->kw, copies = stacked ? k : 1, depth = copies * s->c_in;
  float *buf = filled(copies * s->c_in * plane, rng), *w = filled(k * k * s->c_out * s->c_in, rng);
  float *out = filled(s->c_out * cols, rng);
  double best = 1e30;
  for (int r = 0; r < 3; r++) {
    double t = cpu_seconds();
    for (int64_t a = 0; a < BATCH; a += g)
      for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j < (stacked ? 1 : k); j++)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->c_out, (int)cols, (int)depth, 1.0f,
                      w + (i * k + j) * s->c_out * s->c_in, (int)depth, buf + (i * wq + j) * g, (int)plane,
                      i + j == 0 ? 0.0f : 1.0f, out, (int)cols);
    t = cpu_seconds() - t;
    if (t < best) best = t;
  }
  ebm_free(buf), ebm_free(w), ebm_free(out);
  return best;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 5;
  if (rounds < 1) rounds = 1;
  if (ebm_threads_init(1) != EBM_OK || ebm_isa_init() != EBM_OK) {
    fprintf(stderr, "bench_generic_convs: %s\n", ebm_last_error());
    return 1;
  }
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  double fwd[CASES], bwd[CASES], tap[CASES], seq[CASES], row[CASES], kept[CASES], dropped[CASES];
  double peak = 1e30;
  for (int i = 0; i < CASES; i++) fwd[i] = bwd[i] = tap[i] = seq[i] = row[i] = kept[i] = dropped[i] = 1e30;
  for (int r = 0; r < rounds; r++) {
    double p = sgemm_seconds(1024, 1024, 1024, 1024, 1, &rng);
    if (p < peak) peak = p;
    for (int i = 0; i < CASES; i++) {
      const conv_case *cc = &cases[i];
      ebm_conv2d_shape s = {.n = BATCH, .c_in = cc->c_in, .h_in = cc->hw, .w_in = cc->hw,
                            .c_out = cc->c_out, .kh = cc->k, .kw = cc->k, .stride = 1,
                            .pad = cc->pad, .slots = 1};
      ebm_conv2d_shape_finish(&s);
      const int64_t nx = BATCH * conv_f_in(&s), ny = BATCH * conv_f_out(&s);
      float *x = filled(nx, &rng), *w = filled(s.c_out * conv_k(&s), &rng), *b = filled(s.c_out, &rng);
      float *y = filled(ny, &rng), *ws = filled((int64_t)ops_conv2d_gemm_workspace(&s), &rng);
      double t = cpu_seconds();
      ops_conv2d_gemm_forward(&s, x, w, b, y, NULL, NULL, ws);
      t = cpu_seconds() - t;
      if (t < fwd[i]) fwd[i] = t;
      t = cpu_seconds();
      ops_conv2d_gemm_backward_input(&s, NULL, y, w, x, ws);
      t = cpu_seconds() - t;
      if (t < bwd[i]) bwd[i] = t;
      float *act = filled(ny, &rng), *gate = filled(ny, &rng);
      t = cpu_seconds();
      ops_conv2d_gemm_forward(&s, x, w, b, y, act, gate, ws);
      t = cpu_seconds() - t;
      if (t < kept[i]) kept[i] = t;
      t = cpu_seconds();
      ops_conv2d_gemm_forward(&s, x, w, b, NULL, act, gate, ws);
      t = cpu_seconds() - t;
      if (t < dropped[i]) dropped[i] = t;
      ebm_free(act), ebm_free(gate);
      ebm_free(x), ebm_free(w), ebm_free(b), ebm_free(y), ebm_free(ws);
      if (cc->group) { /* conv2d_cpu.c's shifted form: rows W + pad apart */
        const int64_t g = cc->group, wq = cc->hw + cc->pad;
        const int64_t cols = ((s.h_out - 1) * wq + s.w_out) * g;
        const int64_t plane = ((cc->hw + 2 * cc->pad) * wq + cc->pad) * g;
        t = sgemm_seconds((int)s.c_out, (int)cols, (int)s.c_in, (int)plane, 20, &rng);
        const double rate = 2.0 * (double)(s.c_out * cols * s.c_in) / t;
        if (1.0 / rate < tap[i]) tap[i] = 1.0 / rate; /* stored as s/FLOP */
        if (cc->k > 1) { /* the batch's sgemms in sequence, per tap and stacked by kernel row */
          const double flop = 2.0 * (double)(BATCH / g * s.c_out * cols * s.c_in * cc->k * cc->k);
          t = sequence_seconds(&s, g, wq, cols, plane, 0, &rng);
          if (t / flop < seq[i]) seq[i] = t / flop;
          t = sequence_seconds(&s, g, wq, cols, plane, 1, &rng);
          if (t / flop < row[i]) row[i] = t / flop;
        }
      }
    }
  }
  const double peak_rate = 2.0 * 1024.0 * 1024.0 * 1024.0 / peak;
  printf("igebm-mnist convs, generic path (im2col + sgemm / shifted form), batch %d, 1 thread, "
         "CPU time, best of %d; sgemm 1024^3: %.1f GFLOP/s\n\n",
         BATCH, rounds, 1e-9 * peak_rate);
  printf("| conv | forward ms | GFLOP/s | %% of peak | input-grad ms | GFLOP/s | %% of peak | one tap's sgemm GFLOP/s | %% of peak | taps in sequence GFLOP/s | %% of peak | kernel rows stacked, in sequence | %% of peak | "
         "forward + swish ms, pre-activation kept / not |\n");
  printf("|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--|\n");
  for (int i = 0; i < CASES; i++) {
    const conv_case *cc = &cases[i];
    const double flop = 2.0 * BATCH * (double)(cc->c_out * cc->c_in * cc->k * cc->k * cc->hw * cc->hw);
    printf("| %s | %.2f | %.1f | %.0f %% | %.2f | %.1f | %.0f %% |", cc->name, 1e3 * fwd[i],
           1e-9 * flop / fwd[i], 100.0 * flop / fwd[i] / peak_rate, 1e3 * bwd[i], 1e-9 * flop / bwd[i],
           100.0 * flop / bwd[i] / peak_rate);
    if (cc->group)
      printf(" %.1f | %.0f %% |", 1e-9 / tap[i], 100.0 / tap[i] / peak_rate);
    else
      printf(" (im2col) | |");
    if (cc->group && cc->k > 1)
      printf(" %.1f | %.0f %% | %.1f | %.0f %% |", 1e-9 / seq[i], 100.0 / seq[i] / peak_rate, 1e-9 / row[i],
             100.0 / row[i] / peak_rate);
    else
      printf(" | | | |");
    printf(" %.2f / %.2f |\n", 1e3 * kept[i], 1e3 * dropped[i]);
  }
  return 0;
}
