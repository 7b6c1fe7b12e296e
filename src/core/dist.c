/* The communicator of ebm/dist.h: a single process on its own, or MPI when
 * the process was launched as one of several ranks (dist_mpi.c), and the
 * fixed slicing and ordered reduction that make data-parallel results
 * independent of the number of ranks. */
#include <stdlib.h>
#include <string.h>

#include "core/dist_internal.h"

/* Launchers announce themselves in the environment of every rank. */
int dist_launched_size(void) {
  static const char *const sized[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS"};
  for (size_t i = 0; i < sizeof sized / sizeof *sized; i++) {
    const char *v = getenv(sized[i]);
    if (v && *v) return atoi(v) > 0 ? atoi(v) : -1;
  }
  return getenv("PMIX_RANK") ? -1 : 0;
}

ebm_status ebm_dist_open(ebm_dist **out) {
  *out = NULL;
  ebm_dist *d = calloc(1, sizeof *d);
  if (!d) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a communicator");
  d->rank = 0;
  d->size = 1;
  const int launched = dist_launched_size();
  if (launched != 0 && ebm_dist_have_mpi()) {
    ebm_status st = dist_mpi_open(d);
    if (st != EBM_OK) {
      free(d);
      return st;
    }
  } else if (launched > 1) {
    free(d);
    return ebm_set_error(EBM_ERR_UNSUPPORTED, "started as one of %d MPI ranks, but this ebm was built without "
                         "MPI (install libopenmpi-dev and rebuild)", launched);
  }
  *out = d;
  return EBM_OK;
}

void ebm_dist_close(ebm_dist *d) {
  if (!d) return;
  if (d->mpi) dist_mpi_close(d);
  free(d);
}

int ebm_dist_rank(const ebm_dist *d) { return d ? d->rank : 0; }
int ebm_dist_size(const ebm_dist *d) { return d ? d->size : 1; }
const char *ebm_dist_backend(const ebm_dist *d) { return d && d->mpi ? "mpi" : "single"; }

void ebm_dist_slice_range(int64_t slices, int rank, int size, int64_t *first, int64_t *end) {
  *first = slices * rank / size;
  *end = slices * (rank + 1) / size;
}

ebm_status ebm_dist_gather_slices(ebm_dist *d, void *buf, int64_t slices, size_t slice_bytes) {
  if (!d || !d->mpi || d->size == 1) return EBM_OK; /* this rank holds every slice */
  return dist_mpi_gather_slices(d, buf, slices, slice_bytes);
}

void ebm_dist_sum_slices(const float *blocks, int64_t slices, int64_t n, float *out) {
  if (out != blocks) memcpy(out, blocks, (size_t)n * sizeof *out);
  for (int64_t s = 1; s < slices; s++) {
    const float *b = blocks + s * n;
    for (int64_t k = 0; k < n; k++) out[k] += b[k];
  }
}

/* Every rank's value of one int, in rank order (all: size ints). */
static ebm_status gather_ints(ebm_dist *d, int mine, int *all) {
  if (!d || !d->mpi || d->size == 1) {
    all[0] = mine;
    return EBM_OK;
  }
  return dist_mpi_allgather(d, &mine, sizeof mine, all);
}

ebm_status ebm_dist_agree(ebm_dist *d, ebm_status mine) {
  const int size = ebm_dist_size(d);
  int *all = malloc((size_t)size * sizeof *all);
  if (!all) return ebm_set_error(EBM_ERR_NOMEM, "out of memory agreeing on a status");
  ebm_status st = gather_ints(d, (int)mine, all);
  if (st == EBM_OK && mine != EBM_OK) st = mine;
  for (int r = 0; st == EBM_OK && r < size; r++)
    if (all[r] != EBM_OK)
      st = ebm_set_error((ebm_status)all[r], "rank %d failed (%s)", r, ebm_strerror((ebm_status)all[r]));
  free(all);
  return st;
}

int ebm_dist_any(ebm_dist *d, int flag) {
  const int size = ebm_dist_size(d);
  int *all = malloc((size_t)size * sizeof *all), any = flag != 0;
  /* without memory (or on a failed collective) each rank keeps its own view */
  if (all && gather_ints(d, flag != 0, all) == EBM_OK)
    for (int r = 0; r < size; r++) any |= all[r];
  free(all);
  return any;
}
