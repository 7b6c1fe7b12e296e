/* ebm/core.h — status codes and errors, tensors, the random generator,
 * the thread pool and the progress bar. Everything else in libebm builds on
 * these. Include <ebm.h> rather than this file. */
#ifndef EBM_CORE_H
#define EBM_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

/* Every fallible function returns an ebm_status: 0 is success, negative is
 * an error. The code says what kind of failure; ebm_last_error() says what
 * and where, e.g. "model.safetensors: tensor 'net.3.weight' has shape
 * [64,32,3,3], expected [64,64,3,3]". */
typedef enum {
  EBM_OK = 0,
  EBM_ERR_NOMEM = -1,       /* an allocation failed */
  EBM_ERR_IO = -2,          /* open/read/write/rename failed */
  EBM_ERR_FORMAT = -3,      /* a file is malformed, truncated or lying */
  EBM_ERR_SHAPE = -4,       /* tensor shapes do not agree */
  EBM_ERR_ARG = -5,         /* an argument is out of range or inconsistent */
  EBM_ERR_NUMERIC = -6,     /* NaN / Inf, or a run diverged */
  EBM_ERR_UNSUPPORTED = -7, /* valid input that this build cannot handle */
  EBM_ERR_INTERRUPTED = -8, /* stopped by a signal; state was saved */
  EBM_ERR_INTERNAL = -9     /* a bug in libebm */
} ebm_status;

/* A short, static description of a status code ("out of memory", ...). */
const char *ebm_strerror(ebm_status status);

/* The detail message of the last error set on this thread ("" if none).
 * Valid until the next ebm_set_error on the same thread. */
const char *ebm_last_error(void);

/* Records a printf-style detail message for this thread and returns
 * `status`, so a failing function can `return ebm_set_error(...)`. */
ebm_status ebm_set_error(ebm_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prefixes the current detail message with "<prefix>: " (e.g. a file name
 * added by a caller that knows it) and returns `status`. */
ebm_status ebm_error_prefix(ebm_status status, const char *prefix);

/* Clears this thread's detail message. */
void ebm_clear_error(void);

/* --------------------------------------------------------------- tensors */

#define EBM_MAX_DIMS 5 /* N×C×D×H×W volumes; conv3d weights O×I×k×k×k */
#define EBM_ALIGN 64

/* A float32 tensor of 1..4 dimensions, row-major (NCHW for images, N×D for
 * vectors; the batch is the leading dimension). `stride` is in elements.
 * A tensor either owns its 64-byte aligned data (made by ebm_tensor_new) or
 * is a view of another tensor's data (ebm_tensor_view_*), which must outlive
 * the view. */
typedef struct {
  float *data;
  int ndim;
  int64_t shape[EBM_MAX_DIMS];
  int64_t stride[EBM_MAX_DIMS];
  int owns_data;
} ebm_tensor;

/* Allocates a zero-filled contiguous tensor. Returns NULL (and sets the
 * error) on bad shape or out of memory. Free with ebm_tensor_free. */
ebm_tensor *ebm_tensor_new(int ndim, const int64_t *shape);

/* Same as ebm_tensor_new with the shape given inline: ebm_tensor_new4(n,c,h,w)
 * etc. */
ebm_tensor *ebm_tensor_new1(int64_t d0);
ebm_tensor *ebm_tensor_new2(int64_t d0, int64_t d1);
ebm_tensor *ebm_tensor_new4(int64_t d0, int64_t d1, int64_t d2, int64_t d3);

/* A deep, contiguous copy. NULL on failure. */
ebm_tensor *ebm_tensor_clone(const ebm_tensor *t);

/* Frees the tensor and, if it owns it, its data. Accepts NULL. */
void ebm_tensor_free(ebm_tensor *t);

/* Number of elements (product of the shape). */
int64_t ebm_tensor_numel(const ebm_tensor *t);

/* Elements per batch item: numel / shape[0]. */
int64_t ebm_tensor_row_size(const ebm_tensor *t);

/* 1 when the strides are the row-major strides of the shape. */
int ebm_tensor_is_contiguous(const ebm_tensor *t);

/* Views without copies. The result does not own its data.
 * _rows: items [start, start+count) along dimension 0.
 * _reshape: the same contiguous data with another shape of equal numel
 * (fails with EBM_ERR_SHAPE if the numel differs or `t` is not contiguous). */
ebm_status ebm_tensor_view_rows(const ebm_tensor *t, int64_t start, int64_t count,
                                ebm_tensor *out);
ebm_status ebm_tensor_view_reshape(const ebm_tensor *t, int ndim, const int64_t *shape,
                                   ebm_tensor *out);

/* Wraps caller-owned contiguous memory (not freed by ebm_tensor_free of the
 * returned struct's data). */
ebm_tensor ebm_tensor_wrap(float *data, int ndim, const int64_t *shape);

/* Writes "[a,b,c]" into buf (for messages). Returns buf. */
char *ebm_shape_str(int ndim, const int64_t *shape, char *buf, size_t size);

/* 64-byte aligned allocation, freed with ebm_free. Zero-filled. Returns NULL
 * (and sets the error) on overflow or out of memory. */
void *ebm_alloc(size_t count, size_t elem_size);
void ebm_free(void *p);

/* ------------------------------------------------------------------- RNG */

/* A counter-based generator (Philox-4x32-10). The state is a seed and a
 * counter, so it can be saved in a checkpoint and restored exactly. Element
 * i of a fill depends only on (seed, counter at the start of the fill, i):
 * the same seed gives the same numbers whatever the thread count. */
typedef struct {
  uint64_t seed;
  uint64_t counter; /* next unused 128-bit block */
} ebm_rng;

/* Starts a generator for `seed`. */
void ebm_rng_init(ebm_rng *rng, uint64_t seed);

/* A generator for an independent stream derived from (rng's seed, stream),
 * e.g. one per data loader or per replay buffer. Does not advance `rng`. */
ebm_rng ebm_rng_split(const ebm_rng *rng, uint64_t stream);

/* Fills out[0..n) with uniforms in [lo, hi) / normals N(mean, std²).
 * Parallel over the thread pool for large n; result independent of threads. */
void ebm_rng_uniform(ebm_rng *rng, float *out, int64_t n, float lo, float hi);
void ebm_rng_normal(ebm_rng *rng, float *out, int64_t n, float mean, float std);

/* The normals that ebm_rng_normal would write to out[first .. first + n)
 * if it were called with the generator's counter at `counter` (4 floats
 * per counter step): a part of a fill computed on its own, on the calling
 * thread, with the same bits. first must be a multiple of 4. Does not
 * advance rng. */
void ebm_rng_normal_part(const ebm_rng *rng, uint64_t counter, int64_t first, float *out, int64_t n,
                         float mean, float std);

/* Single draws: a uniform 32-bit integer, an integer in [0, bound) without
 * modulo bias (bound > 0), a double uniform in [0, 1), a standard normal. */
uint32_t ebm_rng_u32(ebm_rng *rng);
uint32_t ebm_rng_below(ebm_rng *rng, uint32_t bound);
double ebm_rng_double(ebm_rng *rng);
double ebm_rng_gauss(ebm_rng *rng);

/* Fisher–Yates shuffle of idx[0..n). */
void ebm_rng_shuffle(ebm_rng *rng, int64_t *idx, int64_t n);

/* The raw Philox-4x32-10 block for (key, counter) — exposed for tests. */
void ebm_philox4x32(uint64_t key, uint64_t counter_hi, uint64_t counter_lo, uint32_t out[4]);

/* ------------------------------------------------------ instruction set */

/* The kernel paths (DESIGN §5): hand-written AVX-512 or AVX2+FMA kernels, or
 * the portable C + BLAS ones. Every path computes the same function; bits
 * may differ between paths (different summation order), never between runs
 * or thread counts on one path. */
typedef enum { EBM_ISA_GENERIC = 0, EBM_ISA_AVX2 = 1, EBM_ISA_AVX512 = 2 } ebm_isa;

/* "generic", "avx2", "avx512". */
const char *ebm_isa_name(ebm_isa isa);
/* 1 when this CPU can run the path (cpuid): avx2 needs AVX2 and FMA,
 * avx512 needs AVX-512F; generic always runs. */
int ebm_isa_supported(ebm_isa isa);
/* The best path this CPU supports: the default. */
ebm_isa ebm_isa_best(void);
/* Parses a path name; EBM_ERR_ARG for an unknown name, EBM_ERR_UNSUPPORTED
 * for a path this CPU lacks (the message lists the ones it has). */
ebm_status ebm_isa_parse(const char *name, ebm_isa *out);
/* Chooses the path from the environment variable EBM_ISA (unset or empty:
 * the best one) and returns its parse error, if any — the best path is used
 * then. Programs call it once at start-up to report a bad EBM_ISA (the CLI
 * does); without it, the first kernel call chooses silently. */
ebm_status ebm_isa_init(void);
/* The path in use. */
ebm_isa ebm_isa_active(void);
/* Switches the path (tests, benchmarks); not while kernels run. Fails with
 * EBM_ERR_UNSUPPORTED (and keeps the current path) when the CPU lacks it. */
ebm_status ebm_isa_select(ebm_isa isa);

/* ----------------------------------------------------------- thread pool */

/* The one process-wide pool (the only global state in libebm). Its size is
 * set once by ebm_threads_init (the CLI passes --threads or EBM_THREADS;
 * 0 = number of online cores). OpenBLAS is told to use 1 thread so the pool
 * is the single owner of the cores. Calling any parallel function before
 * init starts the pool with the default size. */
ebm_status ebm_threads_init(int nthreads);
int ebm_threads_count(void);
void ebm_threads_shutdown(void);

/* The worker body: process items [begin, end); `tid` in [0, nthreads): no
 * two chunks run at once with the same tid. */
typedef void (*ebm_range_fn)(void *ctx, int64_t begin, int64_t end, int tid);

/* Cuts [0, n) into contiguous chunks of at least `min_chunk` items (at most
 * 64 chunks; the cut depends only on n and min_chunk, never on the thread
 * count) and runs fn on each chunk exactly once. The pool's threads and the
 * caller claim chunks one at a time, so a thread that the OS keeps waiting
 * delays a chunk, not a share of the job; fn must compute each index the
 * same way whatever chunk it comes in. Returns when every chunk is done.
 * Nested calls run serially in the calling thread. On a machine with more
 * runnable threads than cores the pool can run jobs alone in the caller, as
 * fn(ctx, 0, n, 0), when it measures that to be faster (EBM_POOL_ADAPT=adapt;
 * off by default; the results are the same either way). */
void ebm_parallel_for(int64_t n, int64_t min_chunk, ebm_range_fn fn, void *ctx);

/* ebm_parallel_for with at most max_workers threads taking part, so that
 * `tid` < max_workers can index per-worker scratch that was sized before the
 * pool grew (the conv kernels size theirs by ebm_conv2d_shape.slots). */
void ebm_parallel_for_workers(int64_t n, int64_t min_chunk, int max_workers, ebm_range_fn fn,
                              void *ctx);

/* --------------------------------------------------------- progress bar */

/* A progress indicator for long loops. On a terminal it redraws one line
 * (count, rate, ETA, last metric); otherwise it prints a plain line at most
 * every `EBM_PROGRESS_PLAIN_SECONDS`. Nothing is shown for loops that finish
 * within a second. `out` is usually stderr; NULL disables it. */
#define EBM_PROGRESS_PLAIN_SECONDS 10.0
typedef struct ebm_progress ebm_progress;
ebm_progress *ebm_progress_new(FILE *out, const char *label, int64_t total);
/* Records that `done` items are finished; `metric` (may be NULL) is a short
 * text such as "loss 0.12 e+ -0.3 e- 0.4" shown after the rate. */
void ebm_progress_update(ebm_progress *p, int64_t done, const char *metric);
/* Changes the total (a run whose length was fitted while it ran). */
void ebm_progress_set_total(ebm_progress *p, int64_t total);
/* Prints the final line (if anything was shown) and frees. Accepts NULL. */
void ebm_progress_finish(ebm_progress *p);

/* Monotonic wall-clock seconds. */
double ebm_now_seconds(void);
/* CPU seconds this process has used so far, all its threads, user and
 * system time together (CLOCK_PROCESS_CPUTIME_ID): the clock of a budget
 * that should mean the same work on a machine other jobs share. */
double ebm_cpu_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
