/* nn/nn_bench.h — internal: per-layer timing for `ebm bench layers`. Not a
 * public header (the CLI's bench includes it, like ops/ops.h). */
#ifndef EBM_NN_BENCH_H
#define EBM_NN_BENCH_H

#include "ebm/nn.h"

typedef struct {
  char name[64];      /* "net.0", "blocks.1", or "swish" for parameter-less layers */
  const char *kind;   /* "conv2d", "linear", "resblock", "swish", ... */
  double madds;       /* conv/linear multiply-adds per item of the forward pass */
  double fwd_ms;      /* forward (unfused) */
  double bwd_in_ms;   /* gradient to the input only (the Langevin path) */
  double bwd_w_ms;    /* gradient to the parameters only (no input gradient;
                         a resblock still back-propagates inside the block) */
} nn_layer_time;

/* Times every top-level layer of `net` on a batch of n random items (labels
 * 0 for a conditional network): each pass `iters` times after one warm-up,
 * the median kept. Fills at most max entries of out, sets *count. Parameter
 * gradients are zeroed afterwards. */
ebm_status nn_bench_layers(ebm_net *net, int64_t n, int iters, nn_layer_time *out, int max,
                           int *count);

#endif
