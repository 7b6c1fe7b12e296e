/* LAPACK's symmetric eigensolver behind one C function (core/sym_eig.h). */
#include "core/sym_eig.h"

#include <stdlib.h>

/* LAPACK (Fortran) from OpenBLAS, which Debian's libopenblas exports: the
 * divide-and-conquer symmetric eigensolver. The trailing size_t arguments
 * are the hidden lengths gfortran passes for CHARACTER arguments. */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t jobz_len,
             size_t uplo_len);

/* Row-major in, column-major to LAPACK: the matrix is symmetric, so only
 * the triangle LAPACK reads changes, and its eigenvectors (columns, in
 * Fortran's order) land in our rows. */
ebm_status sym_eig(double *a, int64_t d, double *w, int vectors) {
  if (d > 46340) return ebm_set_error(EBM_ERR_UNSUPPORTED, "eigen-decomposition of %lld features is too large", (long long)d);
  const int n = (int)d, lda = n;
  const char jobz = vectors ? 'V' : 'N', uplo = 'L';
  int lwork = -1, liwork = -1, info = 0, iwork_query = 0;
  double work_query = 0.0;
  dsyevd_(&jobz, &uplo, &n, a, &lda, w, &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1);
  if (info != 0) return ebm_set_error(EBM_ERR_INTERNAL, "LAPACK dsyevd workspace query failed (info %d)", info);
  lwork = (int)work_query + 1;
  liwork = iwork_query + 1;
  double *work = malloc((size_t)lwork * sizeof *work);
  int *iwork = malloc((size_t)liwork * sizeof *iwork);
  ebm_status st = EBM_OK;
  if (!work || !iwork) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for a %lld×%lld eigen-decomposition", (long long)d, (long long)d);
    goto done;
  }
  dsyevd_(&jobz, &uplo, &n, a, &lda, w, work, &lwork, iwork, &liwork, &info, 1, 1);
  if (info != 0)
    st = ebm_set_error(EBM_ERR_NUMERIC, "LAPACK dsyevd did not converge on a %lld×%lld matrix (info %d)",
                       (long long)d, (long long)d, info);
done:
  free(work);
  free(iwork);
  return st;
}

