/* Building the layers of a network from its parsed architecture: shape
 * inference (with a message naming the layer when shapes do not fit),
 * parameters under PyTorch names, and every activation, gradient and
 * workspace buffer sized for max_batch, so the passes never allocate. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

/* Running maxima of the scratch sizes (floats per item, or absolute). */
typedef struct {
  int64_t act;        /* largest activation per item */
  int64_t rb_full;    /* largest resblock tensor (c·h·w) per item */
  int64_t rb_in;      /* largest resblock input per item */
  size_t ws;          /* conv workspace */
  int64_t weight;     /* largest normalised weight */
  int64_t sn_vec;     /* largest rows + cols */
  int64_t cond_c;     /* largest conditioned channel count */
} scratch_sizes;

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static ebm_status alloc_floats(float **p, int64_t count, const char *what) {
  *p = ebm_alloc((size_t)(count > 0 ? count : 1), sizeof(float));
  if (!*p) return ebm_error_prefix(EBM_ERR_NOMEM, what);
  return EBM_OK;
}

/* Registers "<prefix>.weight" (or weight_orig + u, v under spectral norm)
 * and "<prefix>.bias", PyTorch's layout: conv OIHW, linear out×in. */
static ebm_status wop_create(ebm_net *net, wop *op, const char *prefix, int sn, int bias,
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
    net->flops += (double)(s->h_out * s->w_out) * (double)(op->out * op->in);
  } else {
    wshape[0] = op->out, wshape[1] = op->in;
    wndim = 2;
    net->flops += (double)op->out * (double)op->in;
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
    ebm_status st = sn_create(net, prefix, op->out, op->in, &op->sn);
    if (st) return st;
    sz->weight = max64(sz->weight, op->out * op->in);
    sz->sn_vec = max64(sz->sn_vec, op->out + op->in);
  }
  return EBM_OK;
}

static ebm_status conv_create(ebm_net *net, wop *op, const char *prefix, int64_t c_in, int64_t h,
                              int64_t w, int64_t c_out, int64_t k, int64_t stride, int64_t pad,
                              int sn, int bias, scratch_sizes *sz, const char *where) {
  memset(op, 0, sizeof *op);
  op->is_conv = 1;
  op->cs = (ebm_conv2d_shape){.n = net->max_batch, .c_in = c_in, .h_in = h, .w_in = w,
                              .c_out = c_out, .kh = k, .kw = k, .stride = stride, .pad = pad};
  if (h + 2 * pad < k || w + 2 * pad < k)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: kernel %lld does not fit a %lldx%lld input "
                         "with padding %lld", where, (long long)k, (long long)h, (long long)w,
                         (long long)pad);
  ebm_conv2d_shape_finish(&op->cs);
  return wop_create(net, op, prefix, sn, bias, sz);
}

static ebm_status cond_create(ebm_net *net, cond_op *c, const char *prefix, int64_t channels,
                              int64_t hw, scratch_sizes *sz) {
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

static ebm_status resblock_create(ebm_net *net, layer *l, const layer_spec *ls,
                                  scratch_sizes *sz, const char *where) {
  resblock *rb = calloc(1, sizeof *rb);
  if (!rb) return ebm_set_error(EBM_ERR_NOMEM, "out of memory building %s", where);
  l->rb = rb;
  rb->c_in = l->in_shape[0], rb->h = l->in_shape[1], rb->w = l->in_shape[2];
  rb->c = ls->out;
  rb->act = ls->act;
  rb->slope = (float)ls->slope;
  rb->down = ls->down;
  rb->conv2_init_std = (float)ls->conv2_init_std;
  if (rb->down && (rb->h < 2 || rb->w < 2))
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: cannot down-sample a %lldx%lld input",
                         where, (long long)rb->h, (long long)rb->w);
  char prefix[NN_NAME_MAX + 16];
  ebm_status st;
  snprintf(prefix, sizeof prefix, "%s.conv1", l->name);
  if ((st = conv_create(net, &rb->conv1, prefix, rb->c_in, rb->h, rb->w, rb->c, 3, 1, 1,
                        ls->spectral_norm, 1, sz, where)))
    return st;
  snprintf(prefix, sizeof prefix, "%s.conv2", l->name);
  if ((st = conv_create(net, &rb->conv2, prefix, rb->c, rb->h, rb->w, rb->c, 3, 1, 1,
                        ls->spectral_norm, 1, sz, where)))
    return st;
  /* A 1×1 conv on the shortcut only when the channel count changes. */
  rb->has_shortcut = rb->c_in != rb->c;
  if (rb->has_shortcut) {
    snprintf(prefix, sizeof prefix, "%s.shortcut", l->name);
    if ((st = conv_create(net, &rb->shortcut, prefix, rb->c_in, rb->h, rb->w, rb->c, 1, 1, 0,
                          ls->spectral_norm, 1, sz, where)))
      return st;
  }
  rb->has_cond = net->num_classes > 0;
  if (rb->has_cond) {
    snprintf(prefix, sizeof prefix, "%s.cond", l->name);
    if ((st = cond_create(net, &rb->cond, prefix, rb->c, rb->h * rb->w, sz))) return st;
  }
  int64_t full = rb->c * rb->h * rb->w, b = net->max_batch;
  if ((st = alloc_floats(&rb->h1, b * full, where))) return st;
  if (rb->has_cond) {
    if ((st = alloc_floats(&rb->h1a, b * full, where))) return st;
  }
  if ((st = alloc_floats(&rb->a1, b * full, where))) return st;
  if ((st = alloc_floats(&rb->r, b * full, where))) return st;
  if (rb->down && (st = alloc_floats(&rb->p, b * rb->c * (rb->h / 2) * (rb->w / 2), where)))
    return st;
  sz->rb_full = max64(sz->rb_full, full);
  sz->rb_in = max64(sz->rb_in, rb->c_in * rb->h * rb->w);
  l->out_ndim = 3;
  l->out_shape[0] = rb->c;
  l->out_shape[1] = rb->down ? rb->h / 2 : rb->h;
  l->out_shape[2] = rb->down ? rb->w / 2 : rb->w;
  return EBM_OK;
}

static ebm_status need_ndim(const layer *l, int ndim, const char *where, const char *hint) {
  if (l->in_ndim == ndim) return EBM_OK;
  char buf[64];
  return ebm_set_error(EBM_ERR_ARG, "architecture: %s needs a %s input, got %s%s", where,
                       ndim == 3 ? "C×H×W" : "vector", ebm_shape_str(l->in_ndim, l->in_shape, buf, sizeof buf),
                       hint);
}

static ebm_status build_layer(ebm_net *net, int index, scratch_sizes *sz) {
  layer *l = &net->layers[index];
  const layer_spec *ls = &net->spec.layers[index];
  char where[NN_NAME_MAX + 48];
  snprintf(where, sizeof where, "layer %d (%s%s%s)", index, layer_kind_name(ls->kind),
           ls->name[0] ? " " : "", ls->name);
  l->kind = ls->kind;
  snprintf(l->name, sizeof l->name, "%s", ls->name);
  l->out_ndim = l->in_ndim;
  memcpy(l->out_shape, l->in_shape, sizeof l->out_shape);
  ebm_status st = EBM_OK;
  switch (ls->kind) {
    case LAYER_CONV2D:
      if ((st = need_ndim(l, 3, where, ""))) return st;
      if ((st = conv_create(net, &l->op, l->name, l->in_shape[0], l->in_shape[1], l->in_shape[2],
                            ls->out, ls->kernel, ls->stride, ls->pad, ls->spectral_norm, ls->bias,
                            sz, where)))
        return st;
      l->out_shape[0] = l->op.cs.c_out, l->out_shape[1] = l->op.cs.h_out, l->out_shape[2] = l->op.cs.w_out;
      break;
    case LAYER_LINEAR:
      if ((st = need_ndim(l, 1, where, " (add a flatten or global_sum_pool layer)"))) return st;
      memset(&l->op, 0, sizeof l->op);
      l->op.in = l->in_shape[0];
      l->op.out = ls->out;
      if ((st = wop_create(net, &l->op, l->name, ls->spectral_norm, ls->bias, sz))) return st;
      l->out_shape[0] = ls->out;
      break;
    case LAYER_AVGPOOL2D:
      if ((st = need_ndim(l, 3, where, ""))) return st;
      if (l->in_shape[1] < ls->kernel || l->in_shape[2] < ls->kernel)
        return ebm_set_error(EBM_ERR_ARG, "architecture: %s: window %lld is larger than the input",
                             where, (long long)ls->kernel);
      l->pool_k = ls->kernel;
      l->out_shape[1] = l->in_shape[1] / ls->kernel;
      l->out_shape[2] = l->in_shape[2] / ls->kernel;
      break;
    case LAYER_GLOBAL_SUM_POOL:
      if ((st = need_ndim(l, 3, where, ""))) return st;
      l->out_ndim = 1;
      break;
    case LAYER_FLATTEN:
      l->out_ndim = 1;
      l->out_shape[0] = l->in_size;
      break;
    case LAYER_SWISH: break;
    case LAYER_LEAKY_RELU: l->slope = (float)ls->slope; break;
    case LAYER_CLASS_AFFINE:
      if (net->num_classes < 1)
        return ebm_set_error(EBM_ERR_ARG, "architecture: %s needs \"classes\" > 0", where);
      if ((st = cond_create(net, &l->cond, l->name, l->in_shape[0], l->in_size / l->in_shape[0], sz)))
        return st;
      break;
    case LAYER_RESBLOCK:
      if ((st = need_ndim(l, 3, where, ""))) return st;
      if ((st = resblock_create(net, l, ls, sz, where))) return st;
      break;
  }
  l->out_size = 1;
  for (int d = 0; d < l->out_ndim; d++) l->out_size *= l->out_shape[d];
  if (l->kind != LAYER_FLATTEN && (st = alloc_floats(&l->out, net->max_batch * l->out_size, where)))
    return st;
  sz->act = max64(sz->act, max64(l->in_size, l->out_size));
  return EBM_OK;
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
    l->in_size = 1;
    for (int d = 0; d < ndim; d++) l->in_size *= shape[d];
    if ((st = build_layer(net, i, &sz))) return st;
    ndim = l->out_ndim;
    memcpy(shape, l->out_shape, sizeof shape);
  }
  for (int i = 0; i + 1 < net->nlayers; i++)
    net->layers[i].fuse_swish = net->layers[i].kind == LAYER_CONV2D && net->layers[i + 1].kind == LAYER_SWISH;
  const layer *last = &net->layers[net->nlayers - 1];
  if (last->out_size != 1) {
    char buf[64];
    return ebm_set_error(EBM_ERR_ARG, "architecture: the last layer gives %s per item; an energy "
                         "needs one number (end with a linear layer with \"out\": 1)",
                         ebm_shape_str(last->out_ndim, last->out_shape, buf, sizeof buf));
  }
  int64_t b = net->max_batch;
  if ((st = alloc_floats(&net->grad_a, b * sz.act, "gradient buffer"))) return st;
  if ((st = alloc_floats(&net->grad_b, b * sz.act, "gradient buffer"))) return st;
  if (sz.rb_full > 0) {
    if ((st = alloc_floats(&net->rb_dr, b * sz.rb_full, "resblock scratch"))) return st;
    if ((st = alloc_floats(&net->rb_da, b * sz.rb_full, "resblock scratch"))) return st;
    if ((st = alloc_floats(&net->rb_dh, b * sz.rb_full, "resblock scratch"))) return st;
    if ((st = alloc_floats(&net->rb_ds, b * sz.rb_in, "resblock scratch"))) return st;
  }
  if ((st = alloc_floats(&net->ws, (int64_t)sz.ws, "conv workspace"))) return st;
  if ((st = alloc_floats(&net->dw, sz.weight, "weight-gradient scratch"))) return st;
  if ((st = alloc_floats(&net->sn_tmp, 2 * sz.sn_vec, "spectral-norm scratch"))) return st;
  int64_t cb = b * sz.cond_c;
  if ((st = alloc_floats(&net->cond_g, cb, "class-conditioning scratch"))) return st;
  if ((st = alloc_floats(&net->cond_b, cb, "class-conditioning scratch"))) return st;
  if ((st = alloc_floats(&net->cond_dg, cb, "class-conditioning scratch"))) return st;
  if ((st = alloc_floats(&net->cond_db, cb, "class-conditioning scratch"))) return st;
  if ((st = alloc_floats(&net->de_one, b, "network scratch"))) return st;
  for (int64_t i = 0; i < b; i++) net->de_one[i] = 1.0f;
  return EBM_OK;
}

void net_free_layers(ebm_net *net) {
  for (int i = 0; i < net->nlayers; i++) {
    layer *l = &net->layers[i];
    ebm_free(l->out);
    if (l->rb) {
      ebm_free(l->rb->h1);
      ebm_free(l->rb->h1a);
      ebm_free(l->rb->a1);
      ebm_free(l->rb->r);
      ebm_free(l->rb->p);
      free(l->rb);
    }
  }
  free(net->layers);
  net->layers = NULL;
  net->nlayers = 0;
  float **scratch[] = {&net->grad_a, &net->grad_b, &net->rb_dr, &net->rb_da, &net->rb_dh,
                       &net->rb_ds, &net->ws, &net->dw, &net->sn_tmp, &net->cond_g,
                       &net->cond_b, &net->cond_dg, &net->cond_db, &net->de_one};
  for (size_t i = 0; i < sizeof scratch / sizeof scratch[0]; i++) {
    ebm_free(*scratch[i]);
    *scratch[i] = NULL;
  }
}
