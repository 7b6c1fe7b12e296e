/* The MPI backend of ebm/dist.h on MPI_COMM_WORLD. Only the thread that
 * opened the communicator calls MPI (MPI_THREAD_FUNNELED): the thread pool's
 * workers never do. Errors come back as codes (MPI_ERRORS_RETURN) and
 * become EBM_ERR_IO with MPI's own words. Without EBM_WITH_MPI (CMake found
 * no MPI) this file only says so. */
#include "core/dist_internal.h"

#ifdef EBM_WITH_MPI
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>

int ebm_dist_have_mpi(void) { return 1; }

static ebm_status mpi_error(int code, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
  text[len] = '\0';
  return ebm_set_error(EBM_ERR_IO, "MPI %s failed: %s", what, len ? text : "unknown error");
}

ebm_status dist_mpi_open(ebm_dist *d) {
  int inited = 0, provided = 0, rc;
  MPI_Initialized(&inited);
  if (!inited) {
    if ((rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided)) != MPI_SUCCESS)
      return mpi_error(rc, "initialisation");
    d->finalize = 1;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &d->size);
  d->mpi = 1;
  return EBM_OK;
}

void dist_mpi_close(ebm_dist *d) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (d->finalize && !finalized) MPI_Finalize();
}

ebm_status dist_mpi_allgather(ebm_dist *d, const void *mine, size_t bytes, void *all) {
  (void)d;
  if (bytes > INT_MAX) return ebm_set_error(EBM_ERR_ARG, "MPI allgather of %zu bytes per rank is too large", bytes);
  int rc = MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD);
  return rc == MPI_SUCCESS ? EBM_OK : mpi_error(rc, "allgather");
}

/* One slice is one element of a contiguous datatype, so the counts stay
 * small however large the slices are. */
ebm_status dist_mpi_gather_slices(ebm_dist *d, void *buf, int64_t slices, size_t slice_bytes) {
  if (slice_bytes > INT_MAX || slices > INT_MAX)
    return ebm_set_error(EBM_ERR_ARG, "MPI gather of %lld slices of %zu bytes is too large", (long long)slices,
                         slice_bytes);
  int *counts = malloc((size_t)d->size * 2 * sizeof *counts);
  if (!counts) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for an MPI gather");
  int *displs = counts + d->size;
  for (int r = 0; r < d->size; r++) {
    int64_t first, end;
    ebm_dist_slice_range(slices, r, d->size, &first, &end);
    counts[r] = (int)(end - first);
    displs[r] = (int)first;
  }
  MPI_Datatype slice;
  ebm_status st = EBM_OK;
  int rc = MPI_Type_contiguous((int)slice_bytes, MPI_BYTE, &slice);
  if (rc == MPI_SUCCESS && (rc = MPI_Type_commit(&slice)) == MPI_SUCCESS) {
    rc = MPI_Allgatherv(MPI_IN_PLACE, 0, slice, buf, counts, displs, slice, MPI_COMM_WORLD);
    MPI_Type_free(&slice);
  }
  if (rc != MPI_SUCCESS) st = mpi_error(rc, "allgather of slices");
  free(counts);
  return st;
}

#else

int ebm_dist_have_mpi(void) { return 0; }

ebm_status dist_mpi_open(ebm_dist *d) {
  (void)d;
  return ebm_set_error(EBM_ERR_UNSUPPORTED, "this ebm was built without MPI");
}
void dist_mpi_close(ebm_dist *d) { (void)d; }
ebm_status dist_mpi_allgather(ebm_dist *d, const void *mine, size_t bytes, void *all) {
  (void)d, (void)mine, (void)bytes, (void)all;
  return ebm_set_error(EBM_ERR_UNSUPPORTED, "this ebm was built without MPI");
}
ebm_status dist_mpi_gather_slices(ebm_dist *d, void *buf, int64_t slices, size_t slice_bytes) {
  (void)d, (void)buf, (void)slices, (void)slice_bytes;
  return ebm_set_error(EBM_ERR_UNSUPPORTED, "this ebm was built without MPI");
}

#endif
