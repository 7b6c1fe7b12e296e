/* onednn_convs — oneDNN (Debian libdnnl-dev) as a measured candidate for a
 * second conv kernel table (issue 18). Times oneDNN's f32 convolution
 * forward (with bias), backward-data and backward-weights (with bias)
 * against the same passes of ebm's ops table (the active EBM_ISA path) on
 * every conv shape of uva-cnn and igebm-mnist, batch 128, one thread.
 *
 * Time is the process's CPU time (CLOCK_PROCESS_CPUTIME_ID), not the wall
 * clock: the machine is shared, and a process that the OS keeps waiting
 * does not charge its waits. Every round runs ebm, then oneDNN with its
 * preferred (blocked) layouts, then oneDNN on plain NCHW / OIHW tensors,
 * each for `calls` calls of a pass; the table shows each one's median over
 * the rounds, in ms per call, and oneDNN's time as a multiple of ebm's
 * (above 1: ebm is faster).
 *   - "blocked" is oneDNN's best case: the tensors are already in the
 *     layouts it chose (e.g. nChw8c), reorders to and from NCHW not counted.
 *   - "nchw" is what a drop-in table behind ebm_ops (whose tensors are
 *     NCHW) would get without reorders.
 * The implementation oneDNN picked (e.g. jit:avx2, gemm:jit) is printed
 * under the table.
 *
 *   build/onednn_convs [rounds [calls]]    (default 5 rounds of 4 calls)
 *   EBM_ISA=generic build/onednn_convs     against another ebm path
 *
 * Built only when CMake finds oneDNN (apt-get install libdnnl-dev); not part
 * of the library, never run by the tests. */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ebm/core.h"
#include "ops/ops.h"

#define BATCH 128
#define MAX_ROUNDS 64
#define PASSES 3
#define IMPLS 3 /* ebm, oneDNN blocked, oneDNN nchw */

static const char *const pass_names[PASSES] = {"forward", "backward-data", "backward-weights"};

typedef struct {
  const char *name;
  ebm_conv2d_shape s;
} conv_case;

#define CONV(name_, ci, hw, co, k, st, p)                                                        \
  {                                                                                              \
    name_, {.c_in = ci, .h_in = hw, .w_in = hw, .c_out = co, .kh = k, .kw = k, .stride = st,     \
            .pad = p }                                                                           \
  }
static const conv_case cases[] = {
    CONV("uva-cnn conv 1→16 k5 s2, 28×28", 1, 28, 16, 5, 2, 4),
    CONV("uva-cnn conv 16→32 k3 s2, 16×16", 16, 16, 32, 3, 2, 1),
    CONV("uva-cnn conv 32→64 k3 s2, 8×8", 32, 8, 64, 3, 2, 1),
    CONV("uva-cnn conv 64→64 k3 s2, 4×4", 64, 4, 64, 3, 2, 1),
    CONV("igebm conv_in 1→32 k3, 28×28", 1, 28, 32, 3, 1, 1),
    CONV("igebm blocks.0 32→32 k3, 28×28", 32, 28, 32, 3, 1, 1),
    CONV("igebm blocks.1 conv1 32→64 k3, 14×14", 32, 14, 64, 3, 1, 1),
    CONV("igebm blocks.1 conv2 64→64 k3, 14×14", 64, 14, 64, 3, 1, 1),
    CONV("igebm blocks.1 shortcut 32→64 k1, 14×14", 32, 14, 64, 1, 1, 0),
    CONV("igebm blocks.2 64→64 k3, 7×7", 64, 7, 64, 3, 1, 1),
};
#define CASES ((int)(sizeof cases / sizeof cases[0]))

static void die(const char *what) {
  fprintf(stderr, "onednn_convs: %s\n", what);
  exit(1);
}
#define DN(call)                                                                                 \
  do {                                                                                           \
    if ((call) != dnnl_success) die(#call " failed");                                            \
  } while (0)

static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static float *floats(int64_t count, ebm_rng *rng) {
  float *p = ebm_alloc((size_t)count, sizeof *p);
  if (!p) die("out of memory");
  ebm_rng_uniform(rng, p, count, -1.0f, 1.0f);
  return p;
}

/* ------------------------------------------------------------- ebm side */

typedef struct {
  ebm_conv2d_shape s;
  float *x, *w, *b, *y, *dy, *dx, *dw, *db, *ws;
} ebm_conv;

static void ebm_conv_init(ebm_conv *c, const ebm_conv2d_shape *shape, ebm_rng *rng) {
  c->s = *shape;
  c->s.n = BATCH;
  c->s.slots = 0;
  ebm_conv2d_shape_finish(&c->s);
  const ebm_conv2d_shape *s = &c->s;
  int64_t k = s->c_in * s->kh * s->kw, nx = s->n * s->c_in * s->h_in * s->w_in;
  int64_t ny = s->n * s->c_out * s->h_out * s->w_out;
  c->x = floats(nx, rng), c->dx = floats(nx, rng), c->y = floats(ny, rng), c->dy = floats(ny, rng);
  c->w = floats(s->c_out * k, rng), c->dw = floats(s->c_out * k, rng);
  c->b = floats(s->c_out, rng), c->db = floats(s->c_out, rng);
  c->ws = floats((int64_t)ebm_ops_current()->conv2d_workspace(s), rng);
}

static void ebm_conv_run(ebm_conv *c, int pass) {
  const ebm_ops *ops = ebm_ops_current();
  if (pass == 0) ops->conv2d_forward(&c->s, c->x, c->w, c->b, c->y, c->ws);
  if (pass == 1) ops->conv2d_backward_input(&c->s, c->dy, c->w, c->dx, c->ws);
  if (pass == 2) ops->conv2d_backward_weight(&c->s, c->x, c->dy, c->dw, c->db, c->ws);
}

static void ebm_conv_free(ebm_conv *c) {
  float *all[] = {c->x, c->w, c->b, c->y, c->dy, c->dx, c->dw, c->db, c->ws};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ebm_free(all[i]);
}

/* ---------------------------------------------------------- oneDNN side */

#define MAX_ARGS 4
#define MAX_MEMS (PASSES * MAX_ARGS)

typedef struct {
  dnnl_primitive_t prim[PASSES];
  dnnl_exec_arg_t args[PASSES][MAX_ARGS];
  int nargs[PASSES];
  const char *impl[PASSES];
  dnnl_primitive_desc_t pd[PASSES];
  dnnl_memory_t mems[MAX_MEMS];
  int nmems;
} dnnl_conv;

/* A memory of the layout pd chose for `what` (index 1 of the weights: the bias), filled with values in [-1, 1]
 * (uninitialised memory could hold denormals, which are slow). */
static dnnl_memory_t dnnl_mem(dnnl_conv *c, dnnl_engine_t eng, const_dnnl_primitive_desc_t pd,
                              dnnl_query_t what, int index, ebm_rng *rng) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, index);
  if (!md) die("oneDNN gave no memory descriptor");
  dnnl_memory_t m;
  DN(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
  void *data;
  DN(dnnl_memory_get_data_handle(m, &data));
  ebm_rng_uniform(rng, data, (int64_t)(dnnl_memory_desc_get_size(md) / sizeof(float)), -1.0f, 1.0f);
  c->mems[c->nmems++] = m;
  return m;
}

static void dnnl_add_arg(dnnl_conv *c, int pass, int arg, dnnl_memory_t m) {
  c->args[pass][c->nargs[pass]++] = (dnnl_exec_arg_t){arg, m};
}

static void dnnl_finish_pass(dnnl_conv *c, int pass) {
  DN(dnnl_primitive_create(&c->prim[pass], c->pd[pass]));
  DN(dnnl_primitive_desc_query(c->pd[pass], dnnl_query_impl_info_str, 0, &c->impl[pass]));
}

/* The three primitives of shape s; blocked: layouts of oneDNN's choice,
 * else NCHW / OIHW. */
static void dnnl_conv_init(dnnl_conv *c, dnnl_engine_t eng, const ebm_conv2d_shape *s, int blocked,
                           ebm_rng *rng) {
  memset(c, 0, sizeof *c);
  dnnl_dims_t src = {s->n, s->c_in, s->h_in, s->w_in}, dst = {s->n, s->c_out, s->h_out, s->w_out};
  dnnl_dims_t wei = {s->c_out, s->c_in, s->kh, s->kw}, bia = {s->c_out};
  dnnl_dims_t strides = {s->stride, s->stride}, pad_l = {s->pad, s->pad};
  /* PyTorch's floor((H + 2p − k) / s) + 1 drops what does not fit: the right
   * padding oneDNN needs for the same output size */
  dnnl_dims_t pad_r = {(s->h_out - 1) * s->stride + s->kh - s->h_in - s->pad,
                       (s->w_out - 1) * s->stride + s->kw - s->w_in - s->pad};
  dnnl_memory_desc_t src_md, dst_md, wei_md, bia_md;
  DN(dnnl_memory_desc_init_by_tag(&src_md, 4, src, dnnl_f32, blocked ? dnnl_format_tag_any : dnnl_nchw));
  DN(dnnl_memory_desc_init_by_tag(&dst_md, 4, dst, dnnl_f32, blocked ? dnnl_format_tag_any : dnnl_nchw));
  DN(dnnl_memory_desc_init_by_tag(&wei_md, 4, wei, dnnl_f32, blocked ? dnnl_format_tag_any : dnnl_oihw));
  DN(dnnl_memory_desc_init_by_tag(&bia_md, 1, bia, dnnl_f32, dnnl_x));

  dnnl_convolution_desc_t fwd, bwd_data, bwd_weights;
  DN(dnnl_convolution_forward_desc_init(&fwd, dnnl_forward_training, dnnl_convolution_direct,
                                        &src_md, &wei_md, &bia_md, &dst_md, strides, pad_l, pad_r));
  DN(dnnl_primitive_desc_create(&c->pd[0], &fwd, NULL, eng, NULL));
  DN(dnnl_convolution_backward_data_desc_init(&bwd_data, dnnl_convolution_direct, &src_md, &wei_md,
                                              &dst_md, strides, pad_l, pad_r));
  DN(dnnl_primitive_desc_create(&c->pd[1], &bwd_data, NULL, eng, c->pd[0]));
  DN(dnnl_convolution_backward_weights_desc_init(&bwd_weights, dnnl_convolution_direct, &src_md,
                                                 &wei_md, &bia_md, &dst_md, strides, pad_l, pad_r));
  DN(dnnl_primitive_desc_create(&c->pd[2], &bwd_weights, NULL, eng, c->pd[0]));

  dnnl_add_arg(c, 0, DNNL_ARG_SRC, dnnl_mem(c, eng, c->pd[0], dnnl_query_src_md, 0, rng));
  dnnl_add_arg(c, 0, DNNL_ARG_WEIGHTS, dnnl_mem(c, eng, c->pd[0], dnnl_query_weights_md, 0, rng));
  dnnl_add_arg(c, 0, DNNL_ARG_BIAS, dnnl_mem(c, eng, c->pd[0], dnnl_query_weights_md, 1, rng));
  dnnl_add_arg(c, 0, DNNL_ARG_DST, dnnl_mem(c, eng, c->pd[0], dnnl_query_dst_md, 0, rng));
  dnnl_add_arg(c, 1, DNNL_ARG_DIFF_DST, dnnl_mem(c, eng, c->pd[1], dnnl_query_diff_dst_md, 0, rng));
  dnnl_add_arg(c, 1, DNNL_ARG_WEIGHTS, dnnl_mem(c, eng, c->pd[1], dnnl_query_weights_md, 0, rng));
  dnnl_add_arg(c, 1, DNNL_ARG_DIFF_SRC, dnnl_mem(c, eng, c->pd[1], dnnl_query_diff_src_md, 0, rng));
  dnnl_add_arg(c, 2, DNNL_ARG_SRC, dnnl_mem(c, eng, c->pd[2], dnnl_query_src_md, 0, rng));
  dnnl_add_arg(c, 2, DNNL_ARG_DIFF_DST, dnnl_mem(c, eng, c->pd[2], dnnl_query_diff_dst_md, 0, rng));
  dnnl_add_arg(c, 2, DNNL_ARG_DIFF_WEIGHTS,
               dnnl_mem(c, eng, c->pd[2], dnnl_query_diff_weights_md, 0, rng));
  dnnl_add_arg(c, 2, DNNL_ARG_DIFF_BIAS,
               dnnl_mem(c, eng, c->pd[2], dnnl_query_diff_weights_md, 1, rng));
  for (int p = 0; p < PASSES; p++) dnnl_finish_pass(c, p);
}

static void dnnl_conv_run(dnnl_conv *c, dnnl_stream_t strm, int pass) {
  DN(dnnl_primitive_execute(c->prim[pass], strm, c->nargs[pass], c->args[pass]));
  DN(dnnl_stream_wait(strm));
}

static void dnnl_conv_free(dnnl_conv *c) {
  for (int p = 0; p < PASSES; p++) {
    dnnl_primitive_destroy(c->prim[p]);
    dnnl_primitive_desc_destroy(c->pd[p]);
  }
  for (int i = 0; i < c->nmems; i++) dnnl_memory_destroy(c->mems[i]);
}

/* ----------------------------------------------------------------- main */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
  /* Debian's oneDNN runs on OpenMP, which reads OMP_NUM_THREADS when the
   * library loads, before main: run again with it set. */
  const char *omp = getenv("OMP_NUM_THREADS");
  if (!omp || strcmp(omp, "1") != 0) {
    setenv("OMP_NUM_THREADS", "1", 1);
    execv("/proc/self/exe", argv);
    die("cannot re-run itself with OMP_NUM_THREADS=1");
  }
  int rounds = argc > 1 ? atoi(argv[1]) : 5, calls = argc > 2 ? atoi(argv[2]) : 4;
  if (rounds < 1 || rounds > MAX_ROUNDS || calls < 1) {
    fprintf(stderr, "usage: onednn_convs [rounds (1..%d) [calls per pass]]\n", MAX_ROUNDS);
    return 2;
  }
  if (ebm_threads_init(1) != EBM_OK) die(ebm_last_error());
  dnnl_engine_t eng;
  dnnl_stream_t strm;
  DN(dnnl_engine_create(&eng, dnnl_cpu, 0));
  DN(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
  const dnnl_version_t *v = dnnl_version();
  printf("oneDNN %d.%d.%d (cpu runtime %s) vs ebm %s, batch %d, 1 thread, median of %d rounds "
         "of %d calls, CPU ms per call\n\n",
         v->major, v->minor, v->patch, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other",
         ebm_ops_current()->name, BATCH, rounds, calls);
  printf("| layer | pass | ebm ms | oneDNN blocked ms | ×ebm | oneDNN nchw ms | ×ebm |\n");
  printf("|---|---|---:|---:|---:|---:|---:|\n");
  char impls[CASES][PASSES][2][64];
  double total[IMPLS] = {0};
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  for (int ci = 0; ci < CASES; ci++) {
    ebm_conv ours;
    dnnl_conv theirs[2];
    ebm_conv_init(&ours, &cases[ci].s, &rng);
    for (int blocked = 1; blocked >= 0; blocked--)
      dnnl_conv_init(&theirs[1 - blocked], eng, &ours.s, blocked, &rng);
    for (int pass = 0; pass < PASSES; pass++) {
      double t[IMPLS][MAX_ROUNDS];
      ebm_conv_run(&ours, pass); /* warm-up: caches, page faults, oneDNN's JIT */
      for (int d = 0; d < 2; d++) dnnl_conv_run(&theirs[d], strm, pass);
      for (int r = 0; r < rounds; r++)
        for (int impl = 0; impl < IMPLS; impl++) {
          double t0 = cpu_ms();
          for (int i = 0; i < calls; i++) {
            if (impl == 0)
              ebm_conv_run(&ours, pass);
            else
              dnnl_conv_run(&theirs[impl - 1], strm, pass);
          }
          t[impl][r] = (cpu_ms() - t0) / calls;
        }
      double m[IMPLS];
      for (int impl = 0; impl < IMPLS; impl++) total[impl] += m[impl] = median(t[impl], rounds);
      printf("| %s | %s | %.3f | %.3f | %.2f | %.3f | %.2f |\n", cases[ci].name, pass_names[pass],
             m[0], m[1], m[1] / m[0], m[2], m[2] / m[0]);
      for (int d = 0; d < 2; d++) snprintf(impls[ci][pass][d], 64, "%s", theirs[d].impl[pass]);
    }
    for (int d = 0; d < 2; d++) dnnl_conv_free(&theirs[d]);
    ebm_conv_free(&ours);
  }
  printf("| all | all | %.3f | %.3f | %.2f | %.3f | %.2f |\n\n", total[0], total[1],
         total[1] / total[0], total[2], total[2] / total[0]);
  printf("oneDNN implementations (blocked / nchw):\n");
  for (int ci = 0; ci < CASES; ci++)
    for (int pass = 0; pass < PASSES; pass++)
      printf("  %s, %s: %s / %s\n", cases[ci].name, pass_names[pass], impls[ci][pass][0],
             impls[ci][pass][1]);
  dnnl_stream_destroy(strm);
  dnnl_engine_destroy(eng);
  return 0;
}
