/* A sample-based distance to a 2-D toy's exact density (issue 16's
 * measure): the histogram of the samples on the grid against the toy's
 * density integrated per cell (approximated by the value at the centre). */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "ebm.h"
#include "ebm/grid_nll.h"

ebm_status ebm_grid_sample_kl(const float *xy, int64_t n, ebm_toy toy, double extent, int cells,
                              double *kl, int64_t *outside) {
  if (n < 1 || cells < 1 || !(extent > 0))
    return ebm_set_error(EBM_ERR_ARG, "grid KL: needs samples (got %lld), cells >= 1 (got %d) and extent > 0",
                         (long long)n, cells);
  const size_t nc = (size_t)cells * (size_t)cells;
  double *density = malloc(nc * sizeof *density), *hist = calloc(nc, sizeof *hist);
  ebm_status st = density && hist ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory for a %d² grid", cells);
  if (st == EBM_OK) st = ebm_grid_toy_density(toy, extent, cells, density);
  if (st != EBM_OK) goto done;
  int64_t inside = 0;
  for (int64_t i = 0; i < n; i++) {
    const double u = (xy[2 * i] + extent) / (2 * extent), v = (xy[2 * i + 1] + extent) / (2 * extent);
    if (!(u >= 0 && u < 1 && v >= 0 && v < 1)) continue; /* NaN too */
    const int col = (int)(u * cells), row = cells - 1 - (int)(v * cells);
    hist[(size_t)row * (size_t)cells + (size_t)col] += 1;
    inside++;
  }
  if (outside) *outside = n - inside;
  if (inside == 0) {
    st = ebm_set_error(EBM_ERR_ARG, "grid KL: no sample lies in [-%g, %g]²", extent, extent);
    goto done;
  }
  double total = 0, sum = 0;
  for (size_t c = 0; c < nc; c++) total += density[c];
  for (size_t c = 0; c < nc; c++) {
    if (hist[c] == 0) continue;
    const double p = hist[c] / (double)inside, q = fmax(density[c] / total, DBL_MIN);
    sum += p * log(p / q);
  }
  *kl = sum;
done:
  free(density);
  free(hist);
  return st;
}
