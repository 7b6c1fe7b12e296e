/* Chains of fused conv2d + swish steps that hand their activations and
 * gradients over in the direct kernels' blocked layout (ops.h,
 * ebm_conv2d_chain) instead of NCHW.
 *
 * Why: on the avx2 / avx512 paths every conv pass moved its input from NCHW
 * into the kernel's padded blocks of 8 or 16 items and its output back, and
 * the backward pass the same for the gradients — an 8×8 transpose per tile
 * over 8 rows a power of two apart. Between two fused steps (uva-cnn: all
 * four convs) the blocked layout makes those moves plain row copies; only
 * the chain's ends convert. The values are computed by the same
 * operations: the same bits.
 *
 * When: ebm_net_grad_input (the Langevin hot path, which keeps no
 * pre-activations either: net->drop_pre) runs chained when the active ops
 * table has blocked passes with the lanes the buffers were sized for
 * (EBM_ISA may change after a build). What such a pass keeps (the swish
 * outputs, gates, the layers' inputs) stays blocked until someone reads it
 * — ebm_net_layer_output, ebm_net_backward, the non-finite report — which
 * first calls net_restore (net_chain_unblock, then the pre-activations). */
#include "nn/nn_internal.h"

struct conv_link {
  ebm_conv2d_chain c;
  int64_t lanes;
  float *act, *gate; /* out_blocked: swish and swish' of the output, blocked */
  float *dx;         /* in_blocked: dL/d(input), blocked */
};

static int is_fused_conv(const layer *l) { return l->kind == &layer_conv2d_swish; }

static conv_link *link_of(ebm_net *net, layer *l, int64_t lanes) {
  if (!l->link) {
    l->link = net_alloc(net, 1, sizeof *l->link, "a conv chain link");
    if (l->link) l->link->lanes = lanes;
  }
  return l->link;
}

ebm_status net_chain_build(ebm_net *net) {
  const ebm_ops *ops = ebm_ops_current();
  for (int i = 0; i + 1 < net->nrun; i++) {
    layer *l = net->run[i], *next = net->run[i + 1];
    if (!is_fused_conv(l) || !is_fused_conv(next)) continue;
    const ebm_conv2d_shape *s = &l->op.cs;
    const int64_t lanes = ops->conv2d_chain_lanes(s);
    if (lanes <= 0 || ops->conv2d_chain_lanes(&next->op.cs) != lanes) continue;
    conv_link *out = link_of(net, l, lanes), *in = link_of(net, next, lanes);
    if (!out || !in) return EBM_ERR_NOMEM;
    char what[NN_NAME_MAX + 64];
    snprintf(what, sizeof what, "the blocked activations of layer %s", l->name);
    const int64_t count = ebm_blocked_floats(net->max_batch, s->c_out, s->h_out, s->w_out, lanes);
    ebm_status st;
    if ((st = net_alloc_floats(net, &out->act, count, what)) ||
        (st = net_alloc_floats(net, &out->gate, count, what)) ||
        (st = net_alloc_floats(net, &in->dx, count, what)))
      return st;
    out->c.out_blocked = 1;
    in->c.in_blocked = 1;
    net->chain_links++;
  }
  return EBM_OK;
}

int net_chain_ready(const ebm_net *net) {
  if (net->chain_links == 0) return 0;
  const ebm_ops *ops = ebm_ops_current();
  for (int i = 0; i < net->nrun; i++) {
    const layer *l = net->run[i];
    if (l->link && ops->conv2d_chain_lanes(&l->op.cs) != l->link->lanes) return 0;
  }
  return 1;
}

/* l is the conv2d of a fused step, l + 1 its swish. */
int chain_forward(ebm_net *net, layer *l, int64_t n, const float *x) {
  const conv_link *k = l->link;
  if (!net->fwd_chained || !k) return 0;
  layer *act = l + 1;
  float *y = k->c.out_blocked ? k->act : act->out, *gate = k->c.out_blocked ? k->gate : l->gate;
  ebm_conv2d_shape s = l->op.cs;
  s.n = n;
  const float *b = l->op.bias >= 0 ? net_param_data(net, l->op.bias) : NULL;
  ebm_ops_current()->conv2d_forward_swish_chained(&s, &k->c, x, wop_weight(net, &l->op), b, y,
                                                  gate, net->ws);
  act->y_out = y;
  l->y_out = y;
  return 1;
}

const float *chain_backward(ebm_net *net, layer *l, int64_t n, const float *dy, float *dx) {
  const conv_link *k = l->link;
  float *into = k->c.in_blocked ? k->dx : dx;
  ebm_conv2d_shape s = l->op.cs;
  s.n = n;
  ebm_ops_current()->conv2d_backward_input_swish_chained(
      &s, &k->c, k->c.out_blocked ? k->gate : l->gate, dy, wop_weight(net, &l->op), into, net->ws);
  return into;
}

void net_chain_unblock(ebm_net *net) {
  if (!net->fwd_chained) return;
  net->fwd_chained = 0;
  const ebm_ops *ops = ebm_ops_current();
  const int64_t n = net->fwd_n;
  for (int i = 0; i < net->nrun; i++) {
    layer *l = net->run[i], *act = l + 1;
    if (!l->link || !l->link->c.out_blocked) continue;
    const conv_link *k = l->link;
    if (n > 0) {
      ops->blocked_to_nchw(n, l->out_size, k->lanes, k->act, act->out);
      ops->blocked_to_nchw(n, l->out_size, k->lanes, k->gate, l->gate);
    }
    act->y_out = act->out;
    l->y_out = act->out;
    net->run[i + 1]->in = act->out;
  }
}
