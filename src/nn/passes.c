/* The passes over a whole network (nn.h): the forward pass to n×K outputs
 * and the backward pass from an n×K output gradient, both plain loops over
 * the run list (build.c fused each conv2d + swish pair into one step), and
 * the energy passes on top of them: energy, gradient to the input (the
 * Langevin hot path: no parameter work) and gradient to the parameters
 * weighted by dL/dE_i. All buffers were sized at build time; nothing here
 * allocates. */
#include <math.h>
#include <string.h>

#include "core/pool_trace.h"
#include "nn/nn_internal.h"

/* Checks n, x and the conditioning against what the network reads, so no
 * layer ever sees a missing or out-of-range label or noise level. */
static ebm_status check_call(const ebm_net *net, const float *x, const ebm_cond *cond, int64_t n,
                             const char *pass) {
  const int32_t *y = cond ? cond->labels : NULL;
  const float *sigma = cond ? cond->sigma : NULL;
  if (n < 0 || n > net->max_batch)
    return ebm_set_error(EBM_ERR_ARG, "%s: batch of %lld items, the network was built for at most %lld",
                         pass, (long long)n, (long long)net->max_batch);
  if (n > 0 && !x) return ebm_set_error(EBM_ERR_ARG, "%s: no input given", pass);
  if (net->num_classes > 0 && !y && n > 0)
    return ebm_set_error(EBM_ERR_ARG, "%s: the network is class-conditional (%d classes); labels are required",
                         pass, net->num_classes);
  if (net->num_classes == 0 && y)
    return ebm_set_error(EBM_ERR_ARG, "%s: labels given to an unconditional network", pass);
  for (int64_t i = 0; y && i < n; i++)
    if (y[i] < 0 || y[i] >= net->num_classes)
      return ebm_set_error(EBM_ERR_ARG, "%s: label %d of item %lld is not in [0, %d)", pass, (int)y[i],
                           (long long)i, net->num_classes);
  if (net->needs_sigma && !sigma && n > 0)
    return ebm_set_error(EBM_ERR_ARG, "%s: the network is noise-conditioned; noise levels (sigma) are required",
                         pass);
  if (!net->needs_sigma && sigma)
    return ebm_set_error(EBM_ERR_ARG, "%s: noise levels given to a network without noise conditioning",
                         pass);
  for (int64_t i = 0; sigma && i < n; i++)
    if (!(sigma[i] > 0.0f) || !isfinite(sigma[i]))
      return ebm_set_error(EBM_ERR_ARG, "%s: noise level %g of item %lld is not a positive number", pass,
                           (double)sigma[i], (long long)i);
  return EBM_OK;
}

void net_restore(ebm_net *net) {
  net_chain_unblock(net);
  if (!net->drop_pre) return;
  net->drop_pre = 0;
  for (int i = 0; i < net->nrun; i++)
    if (net->run[i]->kind->restore) net->run[i]->kind->restore(net, net->run[i], net->fwd_n);
}

void net_forward(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n) {
  const float *cur = x;
  for (int i = 0; i < net->nrun; i++) {
    layer *l = net->run[i];
    l->in = cur;
    l->y_out = l->out;
    pool_trace_label(l->name, "forward"); /* bench/bench_pool_idle.c */
    l->kind->forward(net, l, n, cond, cur);
    cur = l->y_out;
  }
  net->fwd_out = cur;
}

/* dout: dL/d(output) [n, K]. dx NULL: the first layer's input gradient is
 * skipped. Gradients ping-pong between grad_a and grad_b; the first step
 * writes straight into dx. */
void net_backward(ebm_net *net, const ebm_cond *cond, int64_t n, const float *dout, float *dx,
                  int want_params) {
  const float *g = dout;
  for (int i = net->nrun - 1; i >= 0; i--) {
    layer *l = net->run[i];
    float *dst = (i == 0 && dx) ? dx : (g == net->grad_a ? net->grad_b : net->grad_a);
    pool_trace_label(l->name, "backward");
    g = l->kind->backward(net, l, n, cond, g, dst, i > 0 || dx != NULL, want_params);
  }
  if (dx && g != dx) memcpy(dx, g, (size_t)(n * net->layers[0].in_size) * sizeof(float));
}

static int64_t out_size(const ebm_net *net) { return net->layers[net->nlayers - 1].out_size; }

/* Index of the first non-finite value of p[0..count), or −1. */
static int64_t first_non_finite(const float *p, int64_t count) {
  for (int64_t i = 0; i < count; i++)
    if (!isfinite(p[i])) return i;
  return -1;
}

/* Issue 13 item 9: a forward pass that produced NaN or Inf is an error
 * naming the first layer that did. The good path checks only the n×K
 * outputs; the layers' stored outputs (each layer keeps its own, views
 * excepted) are scanned in order only once the output is bad. */
static ebm_status check_finite_output(ebm_net *net, int64_t n) {
  if (first_non_finite(net->fwd_out, n * out_size(net)) < 0) return EBM_OK;
  net_restore(net);
  for (int i = 0; i < net->nlayers; i++) {
    const layer *l = &net->layers[i];
    if (l->spec->kind->view || !l->out) continue;
    int64_t at = first_non_finite(l->out, n * l->out_size);
    if (at < 0) continue;
    return ebm_set_error(EBM_ERR_NUMERIC, "layer %d %s%s%s%s produced %s (item %lld); check the "
                         "parameters and the input", i, l->spec->kind->name, l->name[0] ? " '" : "",
                         l->name, l->name[0] ? "'" : "", isnan(l->out[at]) ? "nan" : "inf",
                         (long long)(at / l->out_size));
  }
  return ebm_set_error(EBM_ERR_NUMERIC, "the network's output is not finite");
}

/* Runs and remembers a forward pass (what ebm_net_backward reuses), all
 * of it or without the pre-activations (drop_pre); a non-finite output
 * leaves nothing to go back through. */
static ebm_status forward_kept(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n,
                               int drop_pre) {
  net->drop_pre = drop_pre;
  net->fwd_chained = drop_pre && net_chain_ready(net); /* chain.c */
  net->fwd_grouped = net->fwd_chained && net->chain_grouped && net->chain_runs > 0;
  net->fwd_n = n;
  net_forward(net, x, cond, n);
  ebm_status st = check_finite_output(net, n);
  if (st) {
    net->fwd_n = -1;
    net->drop_pre = net->fwd_chained = net->fwd_grouped = 0;
    return st;
  }
  net->fwd_cond = cond ? *cond : (ebm_cond){0};
  return EBM_OK;
}

ebm_status ebm_net_forward(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n,
                           float *out) {
  ebm_status st = check_call(net, x, cond, n, "forward");
  if (st) return st;
  net->fwd_n = -1;
  if (n == 0) return EBM_OK;
  if ((st = forward_kept(net, x, cond, n, 0))) return st;
  if (out) memcpy(out, net->fwd_out, (size_t)(n * out_size(net)) * sizeof(float));
  return EBM_OK;
}

ebm_status ebm_net_backward(ebm_net *net, const float *dout, float *dx, int want_params) {
  if (net->fwd_n < 0)
    return ebm_set_error(EBM_ERR_ARG, "backward: no forward pass to go back through "
                                      "(call ebm_net_forward first)");
  if (net->fwd_n == 0) return EBM_OK;
  if (!dout) return ebm_set_error(EBM_ERR_ARG, "backward: no output gradient given");
  net_restore(net);
  net_backward(net, &net->fwd_cond, net->fwd_n, dout, dx, want_params);
  return EBM_OK;
}

/* A layer's output stays in its own buffer until the next pass; a view
 * (flatten, reshape) points at its input, and the conv2d of a fused
 * conv2d + swish step keeps its own (pre-activation) output in l->out. */
ebm_status ebm_net_layer_output(const ebm_net *net, int index, ebm_tensor *view) {
  if (index < 0 || index >= net->nlayers)
    return ebm_set_error(EBM_ERR_ARG, "layer output: layer %d is not in [0, %d)", index, net->nlayers);
  if (net->fwd_n < 0)
    return ebm_set_error(EBM_ERR_ARG, "layer output: no forward pass to read (call ebm_net_forward "
                                      "first)");
  net_restore((ebm_net *)net); /* the values of the same pass: only computed now */
  const layer *l = &net->layers[index];
  int64_t shape[EBM_MAX_DIMS] = {net->fwd_n};
  memcpy(shape + 1, l->out_shape, (size_t)l->out_ndim * sizeof *shape);
  *view = ebm_tensor_wrap((float *)(l->spec->kind->view ? l->y_out : l->out), 1 + l->out_ndim, shape);
  return EBM_OK;
}

/* The energy passes need one number per item. */
static ebm_status check_energy(const ebm_net *net, const float *x, const ebm_cond *cond,
                               int64_t n, const char *pass) {
  const layer *last = &net->layers[net->nlayers - 1];
  if (last->out_size != 1) {
    char buf[64];
    return ebm_set_error(EBM_ERR_ARG, "%s: the last layer gives %s per item; an energy needs one "
                         "number (end with a linear layer with \"out\": 1, or a logsumexp or "
                         "select head)", pass,
                         ebm_shape_str(last->out_ndim, last->out_shape, buf, sizeof buf));
  }
  return check_call(net, x, cond, n, pass);
}

static ebm_status energy_pass(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n,
                              float *e, const float *de, float *dx, int want_params,
                              const char *pass) {
  ebm_status st = check_energy(net, x, cond, n, pass);
  net->fwd_n = -1;
  if (st || n == 0) return st;
  /* The gradient to the input is the Langevin hot path: it keeps no
   * pre-activations (nothing in it reads them; net_restore on demand). */
  if ((st = forward_kept(net, x, cond, n, de && !want_params))) return st;
  if (e) memcpy(e, net->fwd_out, (size_t)n * sizeof(float));
  if (de) net_backward(net, cond, n, de, dx, want_params);
  return EBM_OK;
}

ebm_status ebm_net_energy(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n, float *e) {
  return energy_pass(net, x, cond, n, e, NULL, NULL, 0, "energy");
}

ebm_status ebm_net_grad_input(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n,
                              float *e, float *dx) {
  return energy_pass(net, x, cond, n, e, net->de_one, dx, 0, "energy gradient");
}

ebm_status ebm_net_backward_params(ebm_net *net, const float *x, const ebm_cond *cond, int64_t n,
                                   const float *de, float *e) {
  if (!de) return ebm_set_error(EBM_ERR_ARG, "parameter gradient: no dL/dE given");
  return energy_pass(net, x, cond, n, e, de, NULL, 1, "parameter gradient");
}
