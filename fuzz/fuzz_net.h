/* What the network fuzz targets share: one forward pass of a small built
 * network on zeros (with labels and noise levels when it needs them). The
 * pass either succeeds with finite outputs or fails with a message: a
 * non-finite output is EBM_ERR_NUMERIC naming the layer (issue 13 item 9). */
#ifndef EBM_FUZZ_NET_H
#define EBM_FUZZ_NET_H

#include <math.h>

#include "fuzz_common.h"

/* Builds bigger than this (plan bytes) are planned, not allocated: the cap
 * of run-fuzz.sh is 1 GiB and ASan adds its own. */
#define FUZZ_BUILD_BYTES (256.0 * 1024 * 1024)
/* Forward passes beyond this many multiply-adds per item are skipped (time). */
#define FUZZ_FORWARD_FLOPS 2e6

static inline void fuzz_forward_once(ebm_net *net, int64_t n) {
  if (ebm_net_forward_flops(net) > FUZZ_FORWARD_FLOPS) return;
  int64_t item = 1;
  for (int d = 0; d < ebm_net_item_ndim(net); d++) item *= ebm_net_item_shape(net)[d];
  int64_t k = ebm_net_out_size(net);
  float *x = calloc((size_t)(n * item), sizeof *x), *out = calloc((size_t)(n * k), sizeof *out);
  int32_t *labels = calloc((size_t)n, sizeof *labels);
  float *sigma = calloc((size_t)n, sizeof *sigma);
  FUZZ_CHECK(x && out && labels && sigma);
  for (int64_t i = 0; i < n; i++) sigma[i] = 0.5f;
  ebm_cond cond = {.labels = ebm_net_needs_labels(net) ? labels : NULL,
                   .sigma = ebm_net_needs_sigma(net) ? sigma : NULL};
  ebm_status s = ebm_net_forward(net, x, &cond, n, out);
  fuzz_check_message(s);
  FUZZ_CHECK(s == EBM_OK || s == EBM_ERR_NUMERIC);
  for (int64_t i = 0; s == EBM_OK && i < n * k; i++) FUZZ_CHECK(isfinite(out[i]));
  free(x);
  free(out);
  free(labels);
  free(sigma);
}

#endif
