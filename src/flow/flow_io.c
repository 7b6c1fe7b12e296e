/* A flow in a checkpoint (its couplings as parts "flow_<l>" of one file,
 * its settings in metadata "flow") and a flow as an energy, −log q. */
#include <stdlib.h>
#include <string.h>

#include "flow/flow_internal.h"

#define FLOW_META_KEY "flow"

int ebm_flow_parts(const ebm_flow *f, const ebm_net **nets, const char **names) {
  for (int l = 0; l < f->nlayers; l++) {
    nets[l] = f->nets[l];
    names[l] = f->part_names[l];
  }
  return f->nlayers;
}

ebm_status ebm_flow_save(const ebm_flow *f, const char *path, int n_meta, const char *const *meta_keys,
                         const char *const *meta_values) {
  enum { MAX_META = 32 };
  const ebm_net *nets[FLOW_MAX_LAYERS];
  const char *names[FLOW_MAX_LAYERS], *keys[MAX_META + 1], *values[MAX_META + 1];
  char spec[256];
  if (n_meta > MAX_META) return ebm_set_error(EBM_ERR_ARG, "%s: more than %d metadata entries", path, MAX_META);
  keys[0] = FLOW_META_KEY;
  values[0] = ebm_flow_spec_format(&f->spec, spec, sizeof spec);
  for (int i = 0; i < n_meta; i++) {
    keys[i + 1] = meta_keys[i];
    values[i + 1] = meta_values[i];
  }
  int parts = ebm_flow_parts(f, nets, names);
  return ebm_net_save_parts(path, parts, nets, names, n_meta + 1, keys, values);
}

int ebm_safetensors_has_flow(const ebm_safetensors *st) { return ebm_safetensors_meta(st, FLOW_META_KEY) != NULL; }

int ebm_safetensors_is_flow_model(const ebm_safetensors *st) {
  const char *parts = ebm_safetensors_meta(st, "parts");
  if (!ebm_safetensors_has_flow(st) || !parts) return 0;
  for (const char *p = parts; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) /* each listed part */
    if (strncmp(p, "energy", 6) == 0 && (p[6] == ',' || p[6] == '\0')) return 0;
  return 1;
}

ebm_status ebm_flow_from_safetensors(const ebm_safetensors *st, int64_t max_batch, ebm_flow **out) {
  const char *origin = ebm_safetensors_origin(st), *text = ebm_safetensors_meta(st, FLOW_META_KEY);
  ebm_flow_spec spec = ebm_flow_spec_defaults();
  *out = NULL;
  if (!text) return ebm_set_error(EBM_ERR_FORMAT, "%s: not a flow (no \"flow\" metadata)", origin);
  ebm_status s = ebm_flow_spec_parse(text, &spec);
  if (s != EBM_OK) return ebm_error_prefix(s, origin);
  ebm_net *nets[FLOW_MAX_LAYERS] = {0};
  const int K = flow_layer_count(&spec);
  for (int k = 0; k < K && s == EBM_OK; k++) {
    char part[FLOW_PART_NAME_SIZE];
    flow_part_name(&spec, k, part, sizeof part);
    s = ebm_net_part_from_safetensors(st, part, max_batch, &nets[k]);
  }
  if (s != EBM_OK) {
    for (int k = 0; k < K; k++) ebm_net_free(nets[k]);
    return s;
  }
  s = flow_build(&spec, ebm_net_item_ndim(nets[0]), ebm_net_item_shape(nets[0]), max_batch, nets, out);
  if (s != EBM_OK) ebm_error_prefix(s, origin);
  return s;
}

ebm_status ebm_flow_load(const char *path, int64_t max_batch, ebm_flow **out) {
  ebm_safetensors *st = NULL;
  *out = NULL;
  ebm_status s = ebm_safetensors_load(path, &st);
  if (s == EBM_OK) s = ebm_flow_from_safetensors(st, max_batch, out);
  ebm_safetensors_free(st);
  return s;
}

/* ------------------------------------------------------- flow as energy */

/* E = −log q; dE/dx is the gradient of Σ_i (−1)·log q(x_i). */
static ebm_status flow_energy_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                                   float *grad) {
  ebm_flow *f = self;
  (void)cond;
  ebm_status st = ebm_flow_log_prob(f, x, n, e);
  if (st != EBM_OK) return st;
  for (int64_t i = 0; i < n; i++) {
    e[i] = -e[i];
    f->w[i] = -1.0f;
  }
  return grad ? ebm_flow_log_prob_backward(f, f->w, grad, 0) : EBM_OK;
}

static void flow_energy_destroy(void *self) { ebm_flow_free(self); }

ebm_flow *ebm_energy_flow(const ebm_energy *en) {
  return en && en->eval == flow_energy_eval ? en->self : NULL;
}

ebm_energy *ebm_flow_as_energy(ebm_flow *f) {
  ebm_energy *en = ebm_energy_alloc();
  if (!en) return NULL;
  en->name = "flow";
  en->item_ndim = f->item_ndim;
  memcpy(en->item_shape, f->item_shape, sizeof en->item_shape);
  en->max_batch = f->max_batch;
  en->eval = flow_energy_eval;
  en->self = f;
  return en;
}

ebm_status ebm_model_energy_load(const char *path, int64_t max_batch, ebm_net **net, ebm_energy **energy) {
  ebm_safetensors *st = NULL;
  ebm_flow *flow = NULL;
  *net = NULL;
  *energy = NULL;
  ebm_status s = ebm_safetensors_load(path, &st);
  if (s != EBM_OK) return s;
  if (!ebm_safetensors_is_flow_model(st)) {
    s = ebm_net_from_safetensors(st, max_batch, net);
    if (s == EBM_OK && !(*energy = ebm_net_as_energy(*net))) s = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  } else if ((s = ebm_flow_from_safetensors(st, max_batch, &flow)) == EBM_OK) {
    if ((*energy = ebm_flow_as_energy(flow)) != NULL) (*energy)->destroy = flow_energy_destroy; /* owns it now */
    else s = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
  }
  if (s != EBM_OK) { /* the energy was the last thing made: nothing owns the flow yet */
    ebm_net_free(*net);
    ebm_flow_free(flow);
    *net = NULL;
  }
  ebm_safetensors_free(st);
  return s;
}
