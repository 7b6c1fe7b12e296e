/* The symmetric eigensolver shared by the Fréchet distance (eval/frechet.c)
 * and the low-rank Gaussian fit (sample/gaussian_fit.c): LAPACK's
 * divide-and-conquer dsyevd from OpenBLAS, which Debian's libopenblas
 * exports, so it adds no dependency. Not public. */
#ifndef EBM_CORE_SYM_EIG_H
#define EBM_CORE_SYM_EIG_H

#include <stdint.h>

#include "ebm/core.h"

/* Eigen-decomposes the symmetric d×d matrix a (row-major, both triangles
 * filled) in place: eigenvalues into w (d, ascending); with vectors != 0,
 * row k of a becomes the unit eigenvector of w[k]. Allocates its LAPACK
 * workspace; EBM_ERR_UNSUPPORTED above d = 46340, EBM_ERR_NUMERIC if
 * LAPACK does not converge. */
ebm_status sym_eig(double *a, int64_t d, double *w, int vectors);

#endif
