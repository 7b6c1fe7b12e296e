/* Building the layers of a network from its parsed architecture: shape
 * inference (each kind's build, with a message naming the layer when shapes
 * do not fit), parameters under PyTorch names, every activation, gradient
 * and workspace buffer sized for max_batch (so the passes never allocate),
 * and the run list the passes loop over, where each conv2d + swish pair is
 * rewritten into one fused step. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* A scratch buffer of the network, counted against EBM_NET_MAX_WORK_BYTES
 * first (a plan only counts it). */
static ebm_status alloc_floats(ebm_net *net, float **p, int64_t count, const char *what) {
  ebm_status st = net_reserve_work(net, (double)count, what);
  if (st || net->plan) return st;
  *p = ebm_alloc((size_t)(count > 0 ? count : 1), sizeof(float));
  if (!*p) return ebm_error_prefix(EBM_ERR_NOMEM, what);
  return EBM_OK;
}

/* Floats per item of a shape, refused (naming `what`) before any int64
 * product can overflow when max_batch items of it would not fit in
 * EBM_NET_MAX_WORK_BYTES on their own. */
static ebm_status item_size(const ebm_net *net, int ndim, const int64_t *shape, const char *what,
                            int64_t *size) {
  double count = 1;
  for (int d = 0; d < ndim; d++) count *= (double)shape[d];
  /* Batch 0 (parameters only) still bounds one item. */
  double bytes = count * (double)(net->max_batch > 0 ? net->max_batch : 1) * (double)sizeof(float);
  if (bytes > (double)EBM_NET_MAX_WORK_BYTES) {
    char buf[64];
    return ebm_set_error(EBM_ERR_NOMEM, "architecture: %s: %s per item takes %.3g GiB for a batch of "
                         "%lld, beyond the %.0f GiB limit; use a smaller input, network or batch",
                         what, ebm_shape_str(ndim, shape, buf, sizeof buf), bytes / (1 << 30),
                         (long long)net->max_batch, (double)EBM_NET_MAX_WORK_BYTES / (1 << 30));
  }
  *size = (int64_t)count;
  return EBM_OK;
}

/* Registers "<prefix>.weight" (or weight_orig + u, v under spectral norm)
 * and "<prefix>.bias", PyTorch's layout: conv OIHW, linear out×in. */
ebm_status wop_create(ebm_net *net, layer *l, wop *op, const char *prefix, int sn, int bias,
                      scratch_sizes *sz) {
  char name[NN_NAME_MAX + 16];
  int64_t wshape[4];
  int wndim;
  if (op->is_conv) {
    const ebm_conv2d_shape *s = &op->cs;
    wshape[0] = s->c_out, wshape[1] = s->c_in, wshape[2] = s->kh, wshape[3] = s->kw;
    wndim = 4;
    op->in = s->c_in * s->kh * s->kw;
    op->out = s->c_out;
    size_t ws = ebm_ops_current()->conv2d_workspace(s);
    if (ws > sz->ws) sz->ws = ws;
    l->flops += (double)(s->h_out * s->w_out) * (double)(op->out * op->in);
  } else {
    wshape[0] = op->out, wshape[1] = op->in;
    wndim = 2;
    l->flops += (double)op->out * (double)op->in;
  }
  snprintf(name, sizeof name, sn ? "%s.weight_orig" : "%s.weight", prefix);
  if ((op->weight = net_add_param(net, name, wndim, wshape)) < 0) return EBM_ERR_NOMEM;
  op->bias = -1;
  if (bias) {
    snprintf(name, sizeof name, "%s.bias", prefix);
    if ((op->bias = net_add_param(net, name, 1, &op->out)) < 0) return EBM_ERR_NOMEM;
  }
  op->sn = NULL;
  if (sn) {
    ebm_status st = sn_create(net, prefix, op->weight, op->out, op->in, &op->sn);
    if (st) return st;
    sz->weight = max64(sz->weight, op->out * op->in);
    sz->sn_vec = max64(sz->sn_vec, op->out + op->in);
  }
  return EBM_OK;
}

ebm_status conv_create(ebm_net *net, layer *l, wop *op, const char *prefix, int64_t c_in,
                       int64_t h, int64_t w, int64_t c_out, int64_t k, int64_t stride,
                       int64_t pad, int sn, int bias, scratch_sizes *sz, const char *where) {
  memset(op, 0, sizeof *op);
  op->is_conv = 1;
  op->cs = (ebm_conv2d_shape){.n = net->max_batch, .c_in = c_in, .h_in = h, .w_in = w,
                              .c_out = c_out, .kh = k, .kw = k, .stride = stride, .pad = pad};
  if (h + 2 * pad < k || w + 2 * pad < k)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: kernel %lld does not fit a %lldx%lld input "
                         "with padding %lld", where, (long long)k, (long long)h, (long long)w,
                         (long long)pad);
  ebm_conv2d_shape_finish(&op->cs);
  return wop_create(net, l, op, prefix, sn, bias, sz);
}

ebm_status cond_create(ebm_net *net, cond_op *c, const char *prefix, int64_t channels, int64_t hw,
                       scratch_sizes *sz) {
  char name[NN_NAME_MAX + 16];
  int64_t shape[2] = {net->num_classes, channels};
  c->classes = net->num_classes;
  c->c = channels;
  c->hw = hw;
  snprintf(name, sizeof name, "%s.gain", prefix);
  if ((c->gain = net_add_param(net, name, 2, shape)) < 0) return EBM_ERR_NOMEM;
  snprintf(name, sizeof name, "%s.bias", prefix);
  if ((c->bias = net_add_param(net, name, 2, shape)) < 0) return EBM_ERR_NOMEM;
  sz->cond_c = max64(sz->cond_c, channels);
  return EBM_OK;
}

ebm_status layer_need_ndim(const layer *l, int ndim, const char *where, const char *hint) {
  if (l->in_ndim == ndim) return EBM_OK;
  char buf[64];
  return ebm_set_error(EBM_ERR_ARG, "architecture: %s needs a %s input, got %s%s", where,
                       ndim == 3 ? "C×H×W" : "vector", ebm_shape_str(l->in_ndim, l->in_shape, buf, sizeof buf),
                       hint);
}

ebm_status layer_need_cloud(const layer *l, const char *where) {
  ebm_status st = layer_need_ndim(l, 3, where, " (a point cloud is 1×P×C)");
  if (st) return st;
  if (l->in_shape[0] == 1) return EBM_OK;
  char buf[64];
  return ebm_set_error(EBM_ERR_ARG, "architecture: %s needs a point cloud 1×P×C, got %s", where,
                       ebm_shape_str(l->in_ndim, l->in_shape, buf, sizeof buf));
}

static ebm_status build_layer(ebm_net *net, int index, scratch_sizes *sz) {
  layer *l = &net->layers[index];
  const layer_spec *ls = &net->spec.layers[index];
  char where[NN_NAME_MAX + 48];
  snprintf(where, sizeof where, "layer %d (%s%s%s)", index, ls->kind->name,
           ls->name[0] ? " " : "", ls->name);
  l->spec = ls;
  l->kind = ls->kind;
  snprintf(l->name, sizeof l->name, "%s", ls->name);
  l->out_ndim = l->in_ndim;
  memcpy(l->out_shape, l->in_shape, sizeof l->out_shape);
  ebm_status st = ls->kind->build(net, l, ls, sz, where);
  if (st) return st;
  char out_what[NN_NAME_MAX + 64];
  snprintf(out_what, sizeof out_what, "%s: output", where);
  if ((st = item_size(net, l->out_ndim, l->out_shape, out_what, &l->out_size))) return st;
  net->flops += l->flops;
  if (!ls->kind->view && (st = net_alloc_floats(net, &l->out, net->max_batch * l->out_size, where)))
    return st;
  if (max64(l->in_size, l->out_size) > sz->act) {
    sz->act = max64(l->in_size, l->out_size);
    snprintf(sz->act_where, sizeof sz->act_where, "%s", where);
  }
  return EBM_OK;
}

/* The run list: every layer once, except that a conv2d directly followed by
 * a swish becomes one fused step (the swish's output buffer is the step's
 * output, so both layers still show their shapes in `ebm info`; the step
 * also keeps swish' of its forward pass for the backward one, l->gate). */
static ebm_status build_run_list(ebm_net *net) {
  const layer_kind *conv2d = layer_kind_find("conv2d"), *swish = layer_kind_find("swish");
  net->run = net_alloc(net, (size_t)net->nlayers, sizeof *net->run, "network run list");
  if (!net->run) return EBM_ERR_NOMEM;
  net->nrun = 0;
  for (int i = 0; i < net->nlayers; i++) {
    layer *l = &net->layers[i];
    if (l->kind == conv2d && i + 1 < net->nlayers && net->layers[i + 1].kind == swish) {
      char what[NN_NAME_MAX + 48];
      snprintf(what, sizeof what, "the swish gradient of layer %d (conv2d%s%s)", i,
               l->name[0] ? " " : "", l->name);
      ebm_status st = net_alloc_floats(net, &l->gate, net->max_batch * l->out_size, what);
      if (st) return st;
      l->kind = &layer_conv2d_swish;
      net->run[net->nrun++] = l;
      i++;
      continue;
    }
    net->run[net->nrun++] = l;
  }
  return net_chain_build(net);
}

ebm_status net_build_layers(ebm_net *net) {
  scratch_sizes sz = {0};
  ebm_status st;
  net->layers = calloc((size_t)net->spec.nlayers, sizeof *net->layers);
  if (!net->layers) return ebm_set_error(EBM_ERR_NOMEM, "out of memory building a network");
  net->nlayers = net->spec.nlayers;
  int ndim = net->item_ndim;
  int64_t shape[3] = {net->item_shape[0], net->item_shape[1], net->item_shape[2]};
  for (int i = 0; i < net->nlayers; i++) {
    layer *l = &net->layers[i];
    l->in_ndim = ndim;
    memcpy(l->in_shape, shape, sizeof shape);
    if (i == 0 && (st = item_size(net, ndim, shape, "input", &l->in_size))) return st;
    if (i > 0) l->in_size = net->layers[i - 1].out_size;
    if ((st = build_layer(net, i, &sz))) return st;
    ndim = l->out_ndim;
    memcpy(shape, l->out_shape, sizeof shape);
  }
  if ((st = build_run_list(net))) return st;
  int64_t b = net->max_batch;
  char grad_what[sizeof sz.act_where + 32];
  snprintf(grad_what, sizeof grad_what, "the gradient buffer for %s", sz.act_where);
  if ((st = alloc_floats(net, &net->grad_a, b * sz.act, grad_what))) return st;
  if ((st = alloc_floats(net, &net->grad_b, b * sz.act, grad_what))) return st;
  if ((st = alloc_floats(net, &net->grad_c, b * sz.act, grad_what))) return st;
  if (sz.rb_full > 0) {
    if ((st = alloc_floats(net, &net->rb_dr, b * sz.rb_full, "resblock scratch"))) return st;
    if ((st = alloc_floats(net, &net->rb_da, b * sz.rb_full, "resblock scratch"))) return st;
    if ((st = alloc_floats(net, &net->rb_dh, b * sz.rb_full, "resblock scratch"))) return st;
    if ((st = alloc_floats(net, &net->rb_ds, b * sz.rb_in, "resblock scratch"))) return st;
  }
  /* Batch 0: no pass ever runs, so no conv workspace. */
  int64_t ws = b > 0 ? (int64_t)sz.ws : 0;
  if ((st = alloc_floats(net, &net->ws, ws, "conv workspace"))) return st;
  if ((st = alloc_floats(net, &net->dw, sz.weight, "weight-gradient scratch"))) return st;
  if ((st = alloc_floats(net, &net->sn_tmp, 2 * sz.sn_vec, "spectral-norm scratch"))) return st;
  int64_t cb = b * sz.cond_c;
  if ((st = alloc_floats(net, &net->cond_g, cb, "class-conditioning scratch"))) return st;
  if ((st = alloc_floats(net, &net->cond_b, cb, "class-conditioning scratch"))) return st;
  if ((st = alloc_floats(net, &net->cond_dg, cb, "class-conditioning scratch"))) return st;
  if ((st = alloc_floats(net, &net->cond_db, cb, "class-conditioning scratch"))) return st;
  if ((st = alloc_floats(net, &net->cond_h, b * sz.cond_hidden, "conditioning scratch"))) return st;
  if ((st = alloc_floats(net, &net->cond_dh, b * sz.cond_hidden, "conditioning scratch"))) return st;
  if ((st = alloc_floats(net, &net->de_one, b, "network scratch"))) return st;
  for (int64_t i = 0; !net->plan && i < b; i++) net->de_one[i] = 1.0f;
  return EBM_OK;
}

void net_free_layers(ebm_net *net) {
  free(net->layers);
  net->layers = NULL;
  net->nlayers = 0;
  float **scratch[] = {&net->grad_a, &net->grad_b, &net->grad_c, &net->rb_dr, &net->rb_da,
                       &net->rb_dh, &net->rb_ds, &net->ws, &net->dw, &net->sn_tmp, &net->cond_g,
                       &net->cond_b, &net->cond_dg, &net->cond_db, &net->cond_h, &net->cond_dh,
                       &net->de_one};
  for (size_t i = 0; i < sizeof scratch / sizeof scratch[0]; i++) {
    ebm_free(*scratch[i]);
    *scratch[i] = NULL;
  }
}
