/* The network object: construction from an architecture JSON, the
 * parameter / buffer registry (PyTorch names, checkpoint order), accessors,
 * and the network seen as an ebm_energy. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static const double gib = 1024.0 * 1024.0 * 1024.0;

ebm_status net_reserve_work(ebm_net *net, double count, const char *what) {
  double bytes = count * (double)sizeof(float);
  if (net->work_bytes + bytes > (double)EBM_NET_MAX_WORK_BYTES)
    return ebm_set_error(EBM_ERR_NOMEM, "architecture: %s needs %.3g GiB of activations for a batch of %lld "
                         "(%.3g GiB before it), beyond the %.0f GiB limit; use a smaller input, "
                         "network or batch", what, bytes / gib, (long long)net->max_batch,
                         net->work_bytes / gib, (double)EBM_NET_MAX_WORK_BYTES / gib);
  net->work_bytes += bytes;
  return EBM_OK;
}

ebm_status net_reserve_params(ebm_net *net, double count, const char *what) {
  double bytes = count * (double)sizeof(float);
  if (net->param_bytes + bytes > (double)EBM_NET_MAX_PARAM_BYTES)
    return ebm_set_error(EBM_ERR_NOMEM, "architecture: '%s' takes the parameters to %.3g GiB (with "
                         "gradients), beyond the %.0f GiB limit", what,
                         (net->param_bytes + bytes) / gib, (double)EBM_NET_MAX_PARAM_BYTES / gib);
  net->param_bytes += bytes;
  return EBM_OK;
}

static double numel_of(int ndim, const int64_t *shape) {
  double numel = 1;
  for (int d = 0; d < ndim; d++) numel *= (double)shape[d];
  return numel;
}

/* A tensor of `shape`: zeroed, or in a plan shape only (data NULL). */
static ebm_tensor *net_tensor_new(const ebm_net *net, int ndim, const int64_t *shape) {
  if (!net->plan) return ebm_tensor_new(ndim, shape);
  ebm_tensor *t = calloc(1, sizeof *t);
  if (t) *t = ebm_tensor_wrap(NULL, ndim, shape);
  return t;
}

/* Both registries grow by doubling while a network is built (never during
 * the passes). Return the new index, or −1 with the error set. */
int net_add_param(ebm_net *net, const char *name, int ndim, const int64_t *shape) {
  if (net->nparams == net->cap_params) {
    int cap = net->cap_params ? 2 * net->cap_params : 16;
    ebm_param *p = realloc(net->params, (size_t)cap * sizeof *p);
    if (!p) {
      ebm_set_error(EBM_ERR_NOMEM, "out of memory registering parameter '%s'", name);
      return -1;
    }
    net->params = p;
    net->cap_params = cap;
  }
  if (net_reserve_params(net, 2 * numel_of(ndim, shape), name)) return -1;
  ebm_param *p = &net->params[net->nparams];
  p->name = dup_str(name);
  p->value = net_tensor_new(net, ndim, shape);
  p->grad = net_tensor_new(net, ndim, shape);
  if (!p->name || !p->value || !p->grad) {
    free((char *)p->name);
    ebm_tensor_free(p->value);
    ebm_tensor_free(p->grad);
    ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating parameter '%s'", name);
    return -1;
  }
  return net->nparams++;
}

int net_add_buffer(ebm_net *net, const char *name, int ndim, const int64_t *shape) {
  if (net->nbuffers == net->cap_buffers) {
    int cap = net->cap_buffers ? 2 * net->cap_buffers : 16;
    nn_buffer *b = realloc(net->buffers, (size_t)cap * sizeof *b);
    if (!b) {
      ebm_set_error(EBM_ERR_NOMEM, "out of memory registering buffer '%s'", name);
      return -1;
    }
    net->buffers = b;
    net->cap_buffers = cap;
  }
  if (net_reserve_params(net, numel_of(ndim, shape), name)) return -1;
  nn_buffer *b = &net->buffers[net->nbuffers];
  memset(b, 0, sizeof *b);
  b->name = dup_str(name);
  b->data = net->plan ? NULL : ebm_alloc((size_t)numel_of(ndim, shape), sizeof(float));
  if (!b->name || (!b->data && !net->plan)) {
    free(b->name);
    ebm_free(b->data);
    ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating buffer '%s'", name);
    return -1;
  }
  b->ndim = ndim;
  memcpy(b->shape, shape, (size_t)ndim * sizeof *shape);
  return net->nbuffers++;
}

void *net_alloc(ebm_net *net, size_t count, size_t size, const char *what) {
  if (net->nallocs == net->cap_allocs) {
    int cap = net->cap_allocs ? 2 * net->cap_allocs : 16;
    void **p = realloc(net->allocs, (size_t)cap * sizeof *p);
    if (!p) {
      ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating %s", what);
      return NULL;
    }
    net->allocs = p;
    net->cap_allocs = cap;
  }
  void *mem = ebm_alloc(count > 0 ? count : 1, size);
  if (!mem) {
    ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating %s", what);
    return NULL;
  }
  memset(mem, 0, (count > 0 ? count : 1) * size);
  net->allocs[net->nallocs++] = mem;
  return mem;
}

ebm_status net_alloc_floats(ebm_net *net, float **p, int64_t count, const char *what) {
  *p = NULL;
  ebm_status st = net_reserve_work(net, (double)count, what);
  if (st || net->plan) return st;
  *p = net_alloc(net, (size_t)count, sizeof(float), what);
  return *p ? EBM_OK : EBM_ERR_NOMEM;
}

float *net_param_data(ebm_net *net, int index) { return net->params[index].value->data; }
float *net_param_grad(ebm_net *net, int index) { return net->params[index].grad->data; }

void ebm_net_free(ebm_net *net) {
  if (!net) return;
  net_free_layers(net);
  for (int i = 0; i < net->nparams; i++) {
    free((char *)net->params[i].name);
    ebm_tensor_free(net->params[i].value);
    ebm_tensor_free(net->params[i].grad);
  }
  free(net->params);
  for (int i = 0; i < net->nbuffers; i++) {
    free(net->buffers[i].name);
    if (!net->fork_of) ebm_free(net->buffers[i].data);
  }
  free(net->buffers);
  for (int i = 0; i < net->nsn; i++) {
    if (!net->fork_of) ebm_free(net->sns[i]->w);
    free(net->sns[i]);
  }
  free(net->sns);
  for (int i = 0; i < net->nallocs; i++) ebm_free(net->allocs[i]);
  free(net->allocs);
  arch_spec_free(&net->spec);
  free(net->arch_json);
  free(net);
}

static ebm_status net_energy_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                                  float *grad) {
  ebm_net *net = self;
  return grad ? ebm_net_grad_input(net, x, cond, n, e, grad) : ebm_net_energy(net, x, cond, n, e);
}

void ebm_net_hold_params(ebm_net *net, int held) { net_chain_hold(net, held != 0); }

static void net_energy_hold(void *self, int held) { ebm_net_hold_params(self, held); }

static void net_energy_destroy(void *self) { ebm_net_free(self); }

/* ebm_energy.fork of a network's energy: an energy of its ebm_net_fork. */
static ebm_status net_energy_fork(void *self, int64_t max_n, ebm_energy **out) {
  *out = NULL;
  ebm_net *f = NULL;
  ebm_status st = ebm_net_fork(self, max_n, &f);
  if (st) return st;
  ebm_energy *en = ebm_net_as_energy(f);
  if (!en) {
    ebm_net_free(f);
    return EBM_ERR_NOMEM;
  }
  en->destroy = net_energy_destroy; /* the energy owns its fork */
  *out = en;
  return EBM_OK;
}

ebm_status net_new(const char *arch_json, int64_t max_batch, int plan, ebm_net **out) {
  *out = NULL;
  if (max_batch < 0 || max_batch > (1 << 24))
    return ebm_set_error(EBM_ERR_ARG, "network batch size %lld is not in [0, %d]",
                         (long long)max_batch, 1 << 24);
  ebm_net *net = calloc(1, sizeof *net);
  if (!net) return ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a network");
  ebm_status st = arch_parse(arch_json, &net->spec, &net->arch_json);
  if (st) goto fail;
  net->max_batch = max_batch;
  net->plan = plan;
  net->item_ndim = net->spec.input_ndim;
  memcpy(net->item_shape, net->spec.input, sizeof net->item_shape);
  net->num_classes = net->spec.classes;
  net->fwd_n = -1;
  if ((st = net_build_layers(net))) goto fail;
  /* Zero parameters give σ = 0; the update then leaves W = W_orig = 0. */
  if (!plan) ebm_net_spectral_update(net, 0);
  *out = net;
  return EBM_OK;
fail:
  ebm_net_free(net);
  return st;
}

ebm_status ebm_net_new(const char *arch_json, int64_t max_batch, ebm_net **out) {
  return net_new(arch_json, max_batch, 0, out);
}

/* Refused unless every layer computes item by item (layer_kind.per_item).
 * The same build for max_batch items, then every parameter, buffer and
 * normalised weight swapped for a view of net's (ebm_tensor with owns_data
 * 0; ebm_net_free of a fork leaves the others): the layers read them
 * through net_param_data / wop_weight at each pass, so the fork computes
 * with net's current values, in its own activations and workspaces. */
ebm_status ebm_net_fork(ebm_net *net, int64_t max_batch, ebm_net **out) {
  *out = NULL;
  if (net->plan) return ebm_set_error(EBM_ERR_ARG, "network fork: a plan has no parameters to share");
  for (int i = 0; i < net->nlayers; i++) {
    const layer *l = &net->layers[i];
    if (!l->kind->per_item || !l->kind->per_item(net, l))
      return ebm_set_error(EBM_ERR_ARG, "network fork: layer '%s' (%s) does not compute each item on its own "
                           "whatever the batch (on the %s kernel path), so a fork on part of a batch would "
                           "not give the same values", l->name, l->spec->kind->name, ebm_isa_name(ebm_isa_active()));
  }
  ebm_net *f = NULL;
  ebm_status st = net_new(net->arch_json, max_batch, 0, &f);
  if (st) return st;
  if (f->nparams != net->nparams || f->nbuffers != net->nbuffers || f->nsn != net->nsn) {
    ebm_net_free(f);
    return ebm_set_error(EBM_ERR_INTERNAL, "network fork: the same architecture built differently");
  }
  for (int i = 0; i < f->nparams; i++) {
    ebm_tensor *v = f->params[i].value;
    if (v->owns_data) ebm_free(v->data);
    v->data = net->params[i].value->data;
    v->owns_data = 0;
  }
  for (int i = 0; i < f->nbuffers; i++) {
    ebm_free(f->buffers[i].data);
    f->buffers[i].data = net->buffers[i].data;
  }
  for (int i = 0; i < f->nsn; i++) {
    ebm_free(f->sns[i]->w);
    f->sns[i]->w = net->sns[i]->w;
  }
  f->fork_of = net;
  f->training = net->training;
  *out = f;
  return EBM_OK;
}

ebm_status ebm_net_plan(const char *arch_json, int64_t max_batch, ebm_net_memory *mem) {
  ebm_net *plan = NULL;
  ebm_status st = net_new(arch_json, max_batch, 1, &plan);
  if (st) return st;
  mem->param_bytes = plan->param_bytes;
  mem->work_bytes = plan->work_bytes;
  ebm_net_free(plan);
  return EBM_OK;
}

const char *ebm_net_arch_json(const ebm_net *net) { return net->arch_json; }
int ebm_net_item_ndim(const ebm_net *net) { return net->item_ndim; }
const int64_t *ebm_net_item_shape(const ebm_net *net) { return net->item_shape; }
int ebm_net_num_classes(const ebm_net *net) { return net->num_classes; }
int64_t ebm_net_max_batch(const ebm_net *net) { return net->max_batch; }

int ebm_net_range(const ebm_net *net, float *lo, float *hi) {
  if (!net->spec.has_range) return 0;
  *lo = (float)net->spec.range_lo;
  *hi = (float)net->spec.range_hi;
  return 1;
}
int ebm_net_out_ndim(const ebm_net *net) { return net->layers[net->nlayers - 1].out_ndim; }
const int64_t *ebm_net_out_shape(const ebm_net *net) { return net->layers[net->nlayers - 1].out_shape; }
int64_t ebm_net_out_size(const ebm_net *net) { return net->layers[net->nlayers - 1].out_size; }
int ebm_net_needs_labels(const ebm_net *net) { return net->num_classes > 0; }
int ebm_net_needs_sigma(const ebm_net *net) { return net->needs_sigma; }
void ebm_net_set_training(ebm_net *net, int training) { net->training = training != 0; }
int ebm_net_training(const ebm_net *net) { return net->training; }
int ebm_net_param_count(const ebm_net *net) { return net->nparams; }

ebm_param *ebm_net_param(ebm_net *net, int index) {
  return index >= 0 && index < net->nparams ? &net->params[index] : NULL;
}

int64_t ebm_net_num_scalars(const ebm_net *net) {
  int64_t total = 0;
  for (int i = 0; i < net->nparams; i++) total += ebm_tensor_numel(net->params[i].value);
  return total;
}

double ebm_net_forward_flops(const ebm_net *net) { return net->flops; }

void ebm_net_zero_grad(ebm_net *net) {
  for (int i = 0; i < net->nparams; i++) {
    ebm_tensor *g = net->params[i].grad;
    memset(g->data, 0, (size_t)ebm_tensor_numel(g) * sizeof(float));
  }
}

ebm_energy *ebm_net_as_energy(ebm_net *net) {
  ebm_energy *en = ebm_energy_alloc();
  if (!en) return NULL;
  en->name = net->spec.preset[0] ? net->spec.preset : "network";
  en->item_ndim = net->item_ndim;
  memcpy(en->item_shape, net->item_shape, sizeof en->item_shape);
  en->max_batch = net->max_batch;
  en->num_classes = net->num_classes;
  en->needs_sigma = net->needs_sigma;
  en->range_lo = net->spec.has_range ? (float)net->spec.range_lo : 0.0f;
  en->range_hi = net->spec.has_range ? (float)net->spec.range_hi : 0.0f;
  en->eval = net_energy_eval;
  en->destroy = NULL; /* the energy borrows the network: freeing it leaves the network */
  en->self = net;
  en->fork = ebm_net_is_classifier(net) ? NULL : net_energy_fork; /* the logit energy offers none */
  en->hold = ebm_net_is_classifier(net) ? NULL : net_energy_hold;
  if (ebm_net_is_classifier(net) && net_make_logit_energy(net, en) != EBM_OK) { /* JEM: logit_energy.c */
    free(en);
    return NULL;
  }
  return en;
}

int ebm_net_buffer_count(const ebm_net *net) { return net->nbuffers; }

ebm_status ebm_net_buffer(ebm_net *net, int index, const char **name, ebm_tensor *view) {
  if (index < 0 || index >= net->nbuffers)
    return ebm_set_error(EBM_ERR_ARG, "buffer index %d out of range", index);
  nn_buffer *b = &net->buffers[index];
  if (name) *name = b->name;
  if (view) *view = ebm_tensor_wrap(b->data, b->ndim, b->shape);
  return EBM_OK;
}

int ebm_net_layer_count(const ebm_net *net) { return net->nlayers; }

ebm_status ebm_net_layer_info(const ebm_net *net, int index, ebm_layer_info *info) {
  if (index < 0 || index >= net->nlayers)
    return ebm_set_error(EBM_ERR_ARG, "layer index %d out of range", index);
  const layer *l = &net->layers[index];
  memset(info, 0, sizeof *info);
  info->type = l->spec->kind->name;
  info->name = l->name;
  info->out_ndim = l->out_ndim;
  memcpy(info->out_shape, l->out_shape, sizeof info->out_shape);
  int64_t count = 0;
  int prefix_len = (int)strlen(l->name);
  for (int i = 0; prefix_len && i < net->nparams; i++)
    if (strncmp(net->params[i].name, l->name, (size_t)prefix_len) == 0 &&
        net->params[i].name[prefix_len] == '.')
      count += ebm_tensor_numel(net->params[i].value);
  info->num_params = count;
  if (l->spec->kind->detail) l->spec->kind->detail(net, l, info->detail, sizeof info->detail);
  return EBM_OK;
}
