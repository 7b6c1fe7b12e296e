/* ebm/dist.h — data parallelism across processes (MPI ranks), and the
 * fixed slicing of a batch that keeps results independent of how many
 * processes share the work. Include <ebm.h>.
 *
 * A global batch of B items is cut into `slices` equal, fixed slices
 * (slice s holds items [s·B/slices, (s+1)·B/slices)). Every random draw
 * for a slice comes from that slice's own stream, every pass runs on one
 * slice at a time, and the per-slice partial sums (parameter gradients)
 * are added in slice order: so the numbers depend on the slicing only,
 * never on which process computed which slice. Rank r of N works on the
 * contiguous slices ebm_dist_slice_range gives it; with one process, all
 * of them.
 *
 * A communicator is MPI_COMM_WORLD when libebm was built with MPI
 * (`ebm version` says so) and the process was started by an MPI launcher
 * (mpirun / mpiexec / srun), else one process on its own (rank 0 of 1),
 * whose collectives copy nothing and cannot fail. Only the thread that
 * opened the communicator may call it. */
#ifndef EBM_DIST_H
#define EBM_DIST_H

#include "ebm/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ebm_dist ebm_dist;

/* Opens the communicator of this process (see above); initialises MPI when
 * it is used. EBM_ERR_UNSUPPORTED when the process was started by an MPI
 * launcher with more than one rank but libebm has no MPI (every rank would
 * otherwise train the whole batch alone). */
ebm_status ebm_dist_open(ebm_dist **out);
/* Finalises MPI when ebm_dist_open initialised it. Accepts NULL. */
void ebm_dist_close(ebm_dist *d);

/* This process's rank in [0, size) and the number of processes
 * (0 and 1 for a NULL or single-process communicator). */
int ebm_dist_rank(const ebm_dist *d);
int ebm_dist_size(const ebm_dist *d);
/* "mpi" or "single". */
const char *ebm_dist_backend(const ebm_dist *d);
/* 1 when libebm was built with MPI. */
int ebm_dist_have_mpi(void);

/* The slices [*first, *end) of `slices` that `rank` of `size` works on:
 * contiguous, in rank order, sizes differing by at most one. */
void ebm_dist_slice_range(int64_t slices, int rank, int size, int64_t *first, int64_t *end);

/* buf holds `slices` blocks of slice_bytes; this rank has filled its own
 * (ebm_dist_slice_range). Afterwards every rank holds every block. Nothing
 * is computed, so the bytes are those their rank wrote. */
ebm_status ebm_dist_gather_slices(ebm_dist *d, void *buf, int64_t slices, size_t slice_bytes);

/* out[k] = ((blocks[0][k] + blocks[1][k]) + blocks[2][k]) + … over `slices`
 * blocks of n floats (block s at blocks + s·n), in float and always in
 * slice order: the deterministic reduction of per-slice partial sums.
 * out may be blocks (block 0). One slice copies. */
void ebm_dist_sum_slices(const float *blocks, int64_t slices, int64_t n, float *out);

/* Makes every rank agree on a status after work that can fail on one rank
 * only (a file write on rank 0, a divergence): returns `mine` when it is an
 * error; otherwise the first failing rank's code with the message "rank R
 * failed (<what>)", or EBM_OK when every rank succeeded. A collective:
 * every rank must call it. */
ebm_status ebm_dist_agree(ebm_dist *d, ebm_status mine);

/* 1 on every rank when `flag` is non-zero on any rank (a stop request seen
 * by one process only). A collective. */
int ebm_dist_any(ebm_dist *d, int flag);

#ifdef __cplusplus
}
#endif
#endif
