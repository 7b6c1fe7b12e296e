/* Per-layer timing for `ebm bench layers` (nn_bench.h): the layer passes of
 * layers.c called one at a time on the network's own buffers, after a full
 * forward pass has set every layer's input. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_bench.h"
#include "nn/nn_internal.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* which: 0 forward, 1 input gradient, 2 parameter gradient. */
static double time_pass(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, int which,
                        int iters, double *t) {
  const float *x = l->in;
  const layer_kind *kind = l->spec->kind; /* unfused */
  for (int it = 0; it <= iters; it++) {
    double t0 = ebm_now_seconds();
    if (which == 0) kind->forward(net, l, n, cond, x);
    else kind->backward(net, l, n, cond, net->grad_a, net->grad_b, which == 1, which == 2);
    if (it > 0) t[it - 1] = ebm_now_seconds() - t0; /* the first run warms up */
  }
  qsort(t, (size_t)iters, sizeof *t, cmp_double);
  return 1000.0 * t[iters / 2];
}

ebm_status nn_bench_layers(ebm_net *net, int64_t n, int iters, nn_layer_time *out, int max,
                           int *count) {
  *count = 0;
  if (n < 1 || n > net->max_batch)
    return ebm_set_error(EBM_ERR_ARG, "bench layers: batch %lld is not in [1, %lld]", (long long)n,
                         (long long)net->max_batch);
  if (iters < 1) iters = 1;
  ebm_status st = EBM_OK;
  int64_t item = net->layers[0].in_size, max_size = 0;
  for (int i = 0; i < net->nlayers; i++)
    if (net->layers[i].out_size > max_size) max_size = net->layers[i].out_size;
  if (item > max_size) max_size = item;
  float *x = ebm_alloc((size_t)(n * item), sizeof *x);
  int32_t *y = calloc((size_t)n, sizeof *y);
  double *t = malloc((size_t)iters * sizeof *t);
  if (!x || !y || !t) {
    st = ebm_set_error(EBM_ERR_NOMEM, "bench layers: out of memory for a batch of %lld", (long long)n);
    goto done;
  }
  ebm_rng rng;
  ebm_rng_init(&rng, 3);
  ebm_rng_uniform(&rng, x, n * item, -1.0f, 1.0f);
  const ebm_cond cond = ebm_cond_labels(net->num_classes > 0 ? y : NULL);
  /* a full unfused forward pass sets every layer's input */
  const float *cur = x;
  for (int i = 0; i < net->nlayers; i++) {
    layer *l = &net->layers[i];
    l->in = cur;
    l->y_out = l->out;
    l->spec->kind->forward(net, l, n, &cond, cur);
    cur = l->y_out;
  }
  /* dy: small random values in the largest activation's shape */
  ebm_rng_uniform(&rng, net->grad_a, n * max_size, -1e-3f, 1e-3f);
  for (int i = 0; i < net->nlayers && *count < max; i++) {
    layer *l = &net->layers[i];
    if (l->spec->kind->view) continue;
    nn_layer_time *r = &out[(*count)++];
    snprintf(r->name, sizeof r->name, "%s", l->name[0] ? l->name : l->spec->kind->name);
    r->kind = l->spec->kind->name;
    r->madds = l->flops;
    r->fwd_ms = time_pass(net, l, n, &cond, 0, iters, t);
    r->bwd_in_ms = time_pass(net, l, n, &cond, 1, iters, t);
    r->bwd_w_ms = r->madds > 0 ? time_pass(net, l, n, &cond, 2, iters, t) : 0.0;
  }
  ebm_net_zero_grad(net);
done:
  ebm_free(x);
  free(y);
  free(t);
  return st;
}
