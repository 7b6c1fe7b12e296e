/* The communicator (ebm/dist.h) and its MPI backend (dist_mpi.c), which is
 * compiled in only when CMake found MPI (EBM_WITH_MPI). */
#ifndef EBM_DIST_INTERNAL_H
#define EBM_DIST_INTERNAL_H

#include "ebm.h"
#include "ebm/dist.h"

struct ebm_dist {
  int rank, size;
  int mpi;      /* collectives go through MPI_COMM_WORLD */
  int finalize; /* ebm_dist_open initialised MPI, so close finalises it */
};

/* The number of processes an MPI launcher started this one among (its
 * environment: Open MPI, MPICH/Hydra, PMI, PMIx), 0 when none did; -1 when
 * a launcher did but does not say how many. */
int dist_launched_size(void);

/* The MPI backend: initialise (rank, size, finalize) and the collectives
 * of dist.c on MPI_COMM_WORLD. Without MPI, open is EBM_ERR_UNSUPPORTED and
 * the others are never reached. */
ebm_status dist_mpi_open(ebm_dist *d);
void dist_mpi_close(ebm_dist *d);
/* Every rank's `bytes` from `mine` into all (size × bytes, rank order). */
ebm_status dist_mpi_allgather(ebm_dist *d, const void *mine, size_t bytes, void *all);
/* In place: rank r's slices (ebm_dist_slice_range) to every rank. */
ebm_status dist_mpi_gather_slices(ebm_dist *d, void *buf, int64_t slices, size_t slice_bytes);

#endif
