/* score: anomaly scores from a trained energy-based model — the energy E(x)
 * of every row of an .npy file (higher = less like the training data).
 * Built by CMake as build/example_score; outside the tree:
 *   cc score.c $(pkg-config --cflags --libs ebm)          (after `make install`)
 *   cc score.c -I include -L build -lebm $(pkg-config --libs libpng zlib libcjson openblas) -lm -lpthread
 * Usage: example_score MODEL.safetensors X.npy → one "index energy" line per row. */
#include <stdio.h>

#include "ebm.h"

#define BATCH 64

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL.safetensors X.npy\n", argv[0]);
    return 2;
  }
  ebm_net *net = NULL;
  ebm_npy x = {0};
  float e[BATCH];
  ebm_status st = ebm_net_load(argv[1], BATCH, &net); /* built for BATCH rows per pass */
  if (st == EBM_OK) st = ebm_npy_load(argv[2], &x);
  int64_t row = 1, total = 1; /* floats per model input, in the file */
  for (int d = 0; st == EBM_OK && d < ebm_net_item_ndim(net); d++) row *= ebm_net_item_shape(net)[d];
  for (int d = 0; d < x.ndim; d++) total *= x.shape[d];
  const int64_t n = x.ndim > 0 ? x.shape[0] : 0;
  if (st == EBM_OK && (x.dtype != EBM_DTYPE_F32 || total != n * row || ebm_net_num_classes(net) > 0))
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: expected float32 rows of %lld values for an unconditional model",
                       argv[2], (long long)row);
  for (int64_t i = 0; st == EBM_OK && i < n; i += BATCH) {
    int64_t b = n - i < BATCH ? n - i : BATCH;
    st = ebm_net_energy(net, (const float *)x.data + i * row, NULL, b, e);
    for (int64_t k = 0; st == EBM_OK && k < b; k++) printf("%lld %.9g\n", (long long)(i + k), (double)e[k]);
  }
  if (st != EBM_OK) fprintf(stderr, "score: %s\n", ebm_last_error());
  ebm_npy_free(&x);
  ebm_net_free(net);
  return st == EBM_OK ? 0 : 1;
}
