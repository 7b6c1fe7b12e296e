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
 * first calls net_restore (net_chain_unblock, then the pre-activations).
 *
 * Runs: a whole chain (uva-cnn: its four convs) goes through the ops in one
 * call per pass, group of items by group (conv2d_run_forward / _backward_input),
 * so a group's activations and gradients between the steps stay in the
 * worker's L2 and only the gates are batch-sized. Such a pass keeps no
 * swish output but the last step's; net_chain_unblock recomputes the others
 * (the plain fused forward, the same bits) when someone reads them. */
#include "nn/nn_internal.h"

struct conv_link {
  ebm_conv2d_chain c;
  int64_t lanes;
  float *act, *gate; /* out_blocked: swish and swish' of the output, blocked */
  float *dx;         /* in_blocked: dL/d(input), blocked */
  layer *head;       /* a step of a run (below): the run's first step, else NULL */
  int run_len;       /* the first step of a run: its steps, else 0 */
  layer **steps;     /* ... and their conv2d layers, in order */
  ebm_conv2d_run_step *run; /* ... the ops' view of them (filled per pass) */
  float *run_ws;     /* ... and their workspace (conv2d_run_workspace) */
  int packed_fwd, packed_bwd; /* ... which holds their weights packed for that
                                 pass (only while net->params_held) */
};

static int is_fused_conv(const layer *l) { return l->kind == &layer_conv2d_swish; }

static conv_link *link_of(ebm_net *net, layer *l, int64_t lanes) {
  if (!l->link) {
    l->link = net_alloc(net, 1, sizeof *l->link, "a conv chain link");
    if (l->link) l->link->lanes = lanes;
  }
  return l->link;
}

/* Runs: the linked steps run[i0..i1) (each chained to the next, at most
 * EBM_CONV2D_RUN_MAX) that the ops table can take group by group
 * (conv2d_run_forward): the Langevin pass then keeps the gates alone
 * between them, and the swish outputs only when someone reads them
 * (net_chain_unblock recomputes them). */
static ebm_status build_run(ebm_net *net, int i0, int i1) {
  const int count = i1 - i0;
  conv_link *k = net->run[i0]->link;
  k->steps = net_alloc(net, (size_t)count, sizeof *k->steps, "a conv run");
  k->run = net_alloc(net, (size_t)count, sizeof *k->run, "a conv run");
  if (!k->steps || !k->run) return EBM_ERR_NOMEM;
  for (int i = 0; i < count; i++) {
    layer *l = net->run[i0 + i];
    k->steps[i] = l;
    k->run[i] = (ebm_conv2d_run_step){.s = l->op.cs};
    k->run[i].s.n = net->max_batch;
  }
  const size_t ws = ebm_ops_current()->conv2d_run_workspace(count, k->run);
  if (ws == 0) return EBM_OK; /* not this shape: the steps run chained one by one */
  char what[NN_NAME_MAX + 64];
  snprintf(what, sizeof what, "the run workspace of layer %s", net->run[i0]->name);
  ebm_status st = net_alloc_floats(net, &k->run_ws, (int64_t)ws, what);
  if (st) return st;
  k->run_len = count;
  for (int i = 0; i < count; i++) net->run[i0 + i]->link->head = net->run[i0];
  net->chain_runs++;
  return EBM_OK;
}

static ebm_status build_runs(ebm_net *net) {
  for (int i0 = 0; i0 < net->nrun;) {
    const conv_link *k = net->run[i0]->link;
    if (!k || !k->c.out_blocked || k->c.in_blocked) {
      i0++;
      continue;
    }
    int i1 = i0 + 1; /* run[i0] is chained to run[i0 + 1], which is linked */
    while (net->run[i1]->link->c.out_blocked) i1++;
    i1++; /* the chain's end, back to NCHW */
    if (i1 - i0 <= EBM_CONV2D_RUN_MAX) { /* longer chains: step by step */
      ebm_status st = build_run(net, i0, i1);
      if (st) return st;
    }
    i0 = i1;
  }
  return EBM_OK;
}

ebm_status net_chain_build(ebm_net *net) {
  const ebm_ops *ops = ebm_ops_current();
  net->chain_grouped = 1;
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
  return build_runs(net);
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

/* The run headed by k for n items: weights, biases and gates of this pass,
 * whose packed weights the workspace holds when `packed`. */
static ebm_conv2d_run_step *run_steps(ebm_net *net, const conv_link *k, int64_t n, int packed) {
  for (int i = 0; i < k->run_len; i++) {
    layer *m = k->steps[i];
    ebm_conv2d_run_step *st = &k->run[i];
    st->s.n = n;
    st->w = wop_weight(net, &m->op);
    st->b = m->op.bias >= 0 ? net_param_data(net, m->op.bias) : NULL;
    st->gate = i + 1 < k->run_len ? m->link->gate : m->gate;
    st->packed = packed;
  }
  return k->run;
}

void net_chain_hold(ebm_net *net, int held) {
  net->params_held = held;
  for (int i = 0; i < net->nrun; i++)
    if (net->run[i]->link) net->run[i]->link->packed_fwd = net->run[i]->link->packed_bwd = 0;
}

/* l is the conv2d of a fused step, l + 1 its swish. */
int chain_forward(ebm_net *net, layer *l, int64_t n, const float *x) {
  const conv_link *k = l->link;
  if (!net->fwd_chained || !k) return 0;
  layer *act = l + 1;
  if (net->fwd_grouped && k->head) {
    /* the whole run at its first step; the others only hand on pointers
     * (their outputs are NCHW once net_chain_unblock has computed them) */
    if (k->run_len) {
      ebm_ops_current()->conv2d_run_forward(k->run_len, run_steps(net, k, n, k->packed_fwd), x,
                                            (k->steps[k->run_len - 1] + 1)->out, k->run_ws);
      l->link->packed_fwd = net->params_held;
    }
    act->y_out = act->out;
    l->y_out = act->out;
    return 1;
  }
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
  if (net->fwd_grouped && k->head) {
    if (!k->run_len) return dy; /* the run goes back in one call at its first step */
    ebm_ops_current()->conv2d_run_backward_input(k->run_len, run_steps(net, k, n, k->packed_bwd), dy, dx,
                                                 k->run_ws);
    l->link->packed_bwd = net->params_held;
    return dx;
  }
  float *into = k->c.in_blocked ? k->dx : dx;
  ebm_conv2d_shape s = l->op.cs;
  s.n = n;
  ebm_ops_current()->conv2d_backward_input_swish_chained(
      &s, &k->c, k->c.out_blocked ? k->gate : l->gate, dy, wop_weight(net, &l->op), into, net->ws);
  return into;
}

/* A grouped pass kept the gates of a run's steps but their outputs, the
 * first to last but one: the plain fused forward of each step from the
 * previous one's output recomputes both in NCHW (the same bits). */
static void run_recompute(ebm_net *net, const conv_link *k, int64_t n) {
  for (int i = 0; i + 1 < k->run_len; i++) {
    layer *m = k->steps[i];
    wop_forward_swish(net, &m->op, n, m->in, NULL, (m + 1)->out, m->gate);
  }
}

void net_chain_unblock(ebm_net *net) {
  if (!net->fwd_chained) return;
  net->fwd_chained = 0;
  const ebm_ops *ops = ebm_ops_current();
  const int64_t n = net->fwd_n;
  const int grouped = net->fwd_grouped;
  net->fwd_grouped = 0;
  for (int i = 0; i < net->nrun; i++) {
    layer *l = net->run[i], *act = l + 1;
    if (!l->link) continue;
    const conv_link *k = l->link;
    if (grouped && k->head) {
      if (k->run_len && n > 0) run_recompute(net, k, n);
      continue;
    }
    if (!k->c.out_blocked) continue;
    if (n > 0) {
      ops->blocked_to_nchw(n, l->out_size, k->lanes, k->act, act->out);
      ops->blocked_to_nchw(n, l->out_size, k->lanes, k->gate, l->gate);
    }
    act->y_out = act->out;
    l->y_out = act->out;
    net->run[i + 1]->in = act->out;
  }
}
