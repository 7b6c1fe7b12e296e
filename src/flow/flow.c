/* Building a flow (ebm/flow.h): its settings as text, the layer sequence
 * (couplings, with actnorm / 1×1 convolutions before each when on), the
 * s, t networks' architectures, the masks, and the work arrays every pass
 * uses (sized once here, so the passes never allocate). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_internal.h"

ebm_flow_spec ebm_flow_spec_defaults(void) {
  ebm_flow_spec s = {.couplings = 8, .hidden = 64, .depth = 2, .mask = EBM_FLOW_MASK_CHECKERBOARD, .clamp = 3.0f,
                     .actnorm = 0, .conv1x1 = 0};
  return s;
}

static const char *const mask_names[] = {"checkerboard", "channel"};

/* An int in [lo, hi] or EBM_ERR_ARG naming the key. */
static ebm_status parse_int(const char *key, const char *value, int lo, int hi, int *out) {
  char *end = NULL;
  long v = strtol(value, &end, 10);
  if (!value[0] || *end || v < lo || v > hi)
    return ebm_set_error(EBM_ERR_ARG, "flow: %s expects an integer in [%d, %d], got '%s'", key, lo, hi, value);
  *out = (int)v;
  return EBM_OK;
}

/* One "key=value" of the text form. */
static ebm_status parse_pair(char *pair, ebm_flow_spec *spec) {
  char *eq = strchr(pair, '=');
  if (!eq) return ebm_set_error(EBM_ERR_ARG, "flow: '%s' is not key=value", pair);
  *eq = '\0';
  const char *key = pair, *value = eq + 1;
  if (!strcmp(key, "couplings")) return parse_int(key, value, 1, FLOW_MAX_COUPLINGS, &spec->couplings);
  if (!strcmp(key, "hidden")) return parse_int(key, value, 1, 4096, &spec->hidden);
  if (!strcmp(key, "depth")) return parse_int(key, value, 0, 16, &spec->depth);
  if (!strcmp(key, "mask")) {
    for (int i = 0; i < 2; i++)
      if (!strcmp(value, mask_names[i])) {
        spec->mask = (ebm_flow_mask)i;
        return EBM_OK;
      }
    return ebm_set_error(EBM_ERR_ARG, "flow: mask expects checkerboard or channel, got '%s'", value);
  }
  if (!strcmp(key, "actnorm")) return parse_int(key, value, 0, 1, &spec->actnorm);
  if (!strcmp(key, "conv1x1")) return parse_int(key, value, 0, 1, &spec->conv1x1);
  if (!strcmp(key, "clamp")) {
    char *end = NULL;
    double v = strtod(value, &end);
    if (!value[0] || *end || !(v > 0 && v <= 100))
      return ebm_set_error(EBM_ERR_ARG, "flow: clamp expects a number in (0, 100], got '%s'", value);
    spec->clamp = (float)v;
    return EBM_OK;
  }
  return ebm_set_error(EBM_ERR_ARG, "flow: unknown key '%s' (couplings, hidden, depth, mask, clamp, actnorm, conv1x1)", key);
}

ebm_status ebm_flow_spec_parse(const char *text, ebm_flow_spec *spec) {
  char buf[256];
  if (!text) return ebm_set_error(EBM_ERR_ARG, "flow: no settings given");
  if (strlen(text) >= sizeof buf) return ebm_set_error(EBM_ERR_ARG, "flow: settings text too long");
  snprintf(buf, sizeof buf, "%s", text);
  ebm_flow_spec s = *spec;
  char *save = NULL;
  for (char *pair = strtok_r(buf, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
    ebm_status st = parse_pair(pair, &s);
    if (st != EBM_OK) return st;
  }
  *spec = s;
  return EBM_OK;
}

/* The Glow keys are written only when on, so a RealNVP flow's text (and
 * its checkpoints' metadata) reads as it did before they existed. */
const char *ebm_flow_spec_format(const ebm_flow_spec *spec, char *buf, size_t size) {
  int len = snprintf(buf, size, "couplings=%d,hidden=%d,depth=%d,mask=%s,clamp=%.9g", spec->couplings, spec->hidden,
                     spec->depth, mask_names[spec->mask == EBM_FLOW_MASK_CHANNEL], (double)spec->clamp);
  if (spec->actnorm && len >= 0 && (size_t)len < size) len += snprintf(buf + len, size - (size_t)len, ",actnorm=1");
  if (spec->conv1x1 && len >= 0 && (size_t)len < size) snprintf(buf + len, size - (size_t)len, ",conv1x1=1");
  return buf;
}

int flow_layer_count(const ebm_flow_spec *spec) {
  return spec->couplings * (1 + (spec->actnorm != 0) + (spec->conv1x1 != 0));
}

flow_layer_kind flow_layer_kind_at(const ebm_flow_spec *spec, int k, int *coupling) {
  const int per = 1 + (spec->actnorm != 0) + (spec->conv1x1 != 0), pos = k % per;
  *coupling = k / per;
  if (pos == per - 1) return FLOW_COUPLING;
  return spec->actnorm && pos == 0 ? FLOW_ACTNORM : FLOW_INVCONV;
}

void flow_part_name(const ebm_flow_spec *spec, int k, char *buf, size_t size) {
  static const char *const prefix[] = {"flow", "actnorm", "invconv"};
  int l;
  const flow_layer_kind kind = flow_layer_kind_at(spec, k, &l);
  snprintf(buf, size, "%s_%d", prefix[kind], l);
}

/* The s, t network of a coupling as architecture JSON: an MLP (vectors) or
 * 3×3 same-size convolutions (images), swish between layers, 2 × item
 * outputs. Layer names are nn.Sequential's ("net.0", "net.2", …). */
static ebm_status coupling_arch(const ebm_flow_spec *spec, int ndim, const int64_t *shape, char **json) {
  const size_t size = 256 + (size_t)(spec->depth + 1) * 160;
  char *s = malloc(size);
  if (!s) return ebm_set_error(EBM_ERR_NOMEM, "flow: out of memory");
  size_t len = ndim == 1 ? (size_t)snprintf(s, size, "{\"input\": [%lld], \"layers\": [", (long long)shape[0])
                         : (size_t)snprintf(s, size, "{\"input\": [%lld, %lld, %lld], \"layers\": [",
                                            (long long)shape[0], (long long)shape[1], (long long)shape[2]);
  for (int k = 0; k <= spec->depth; k++) {
    const long long out = k < spec->depth ? spec->hidden : 2 * shape[0];
    if (ndim == 1)
      len += (size_t)snprintf(s + len, size - len, "%s{\"type\": \"linear\", \"name\": \"net.%d\", \"out\": %lld}",
                              k ? ", " : "", 2 * k, out);
    else
      len += (size_t)snprintf(s + len, size - len,
                              "%s{\"type\": \"conv2d\", \"name\": \"net.%d\", \"out\": %lld, \"kernel\": 3, "
                              "\"stride\": 1, \"pad\": 1}",
                              k ? ", " : "", 2 * k, out);
    if (k < spec->depth) len += (size_t)snprintf(s + len, size - len, ", {\"type\": \"swish\"}");
  }
  snprintf(s + len, size - len, "]}");
  *json = s;
  return EBM_OK;
}

/* The mask of coupling l: 1 where the coordinate is kept. */
static void fill_mask(const ebm_flow *f, int l, float *b) {
  const int parity = l & 1;
  const int64_t C = f->channels, HW = f->hw;
  const int64_t W = f->item_ndim == 3 ? f->item_shape[2] : 1;
  for (int64_t c = 0; c < C; c++)
    for (int64_t p = 0; p < HW; p++) {
      int keep;
      if (f->spec.mask == EBM_FLOW_MASK_CHANNEL) keep = c < C / 2;
      else keep = f->item_ndim == 3 ? ((p / W + p % W) % 2 == 0) : (c % 2 == 0);
      b[c * HW + p] = (float)(keep ^ parity);
    }
}

static ebm_status check_shape(const ebm_flow_spec *spec, int ndim, const int64_t *shape) {
  if (ndim != 1 && ndim != 3) return ebm_set_error(EBM_ERR_SHAPE, "flow: items must be vectors or images (C,H,W)");
  for (int d = 0; d < ndim; d++)
    if (shape[d] < 1) return ebm_set_error(EBM_ERR_SHAPE, "flow: item dimension %d is %lld", d, (long long)shape[d]);
  if (ndim == 1 && shape[0] < 2)
    return ebm_set_error(EBM_ERR_SHAPE, "flow: vectors need at least 2 features, got %lld", (long long)shape[0]);
  if (ndim == 3 && spec->mask == EBM_FLOW_MASK_CHANNEL && shape[0] < 2)
    return ebm_set_error(EBM_ERR_SHAPE, "flow: the channel mask needs at least 2 channels, the items have %lld; "
                         "use mask=checkerboard", (long long)shape[0]);
  if (ndim == 3 && spec->mask == EBM_FLOW_MASK_CHECKERBOARD && shape[1] * shape[2] < 2)
    return ebm_set_error(EBM_ERR_SHAPE, "flow: the checkerboard mask needs at least 2 pixels");
  if (spec->couplings < 1 || spec->couplings > FLOW_MAX_COUPLINGS)
    return ebm_set_error(EBM_ERR_ARG, "flow: couplings must be in [1, %d], got %d", FLOW_MAX_COUPLINGS,
                         spec->couplings);
  return EBM_OK;
}

void ebm_flow_free(ebm_flow *f) {
  if (!f) return;
  for (int k = 0; k < f->nlayers; k++) {
    if (f->nets) ebm_net_free(f->nets[k]);
    if (f->masks) ebm_free(f->masks[k]);
    if (f->r) ebm_free(f->r[k]);
    if (f->masked) ebm_free(f->masked[k]);
  }
  for (int k = 0; f->h && k <= f->nlayers; k++) ebm_free(f->h[k]);
  free(f->kinds);
  free(f->nets);
  free(f->masks);
  free(f->part_names);
  free(f->h);
  free(f->r);
  free(f->masked);
  ebm_free(f->g);
  ebm_free(f->dmasked);
  ebm_free(f->dr);
  ebm_free(f->ld);
  ebm_free(f->w);
  free(f->lu);
  ebm_free(f->winv);
  free(f);
}

/* The work arrays and masks (the nets are in place). */
static ebm_status alloc_work(ebm_flow *f) {
  const int L = f->nlayers;
  const size_t BD = (size_t)(f->max_batch > 0 ? f->max_batch : 1) * (size_t)f->item;
  const size_t B = (size_t)(f->max_batch > 0 ? f->max_batch : 1);
  f->masks = calloc((size_t)L, sizeof *f->masks);
  f->part_names = calloc((size_t)L, sizeof *f->part_names);
  f->h = calloc((size_t)L + 1, sizeof *f->h);
  f->r = calloc((size_t)L, sizeof *f->r);
  f->masked = calloc((size_t)L, sizeof *f->masked);
  if (!f->masks || !f->part_names || !f->h || !f->r || !f->masked) return ebm_set_error(EBM_ERR_NOMEM, "flow: out of memory");
  int ok = 1;
  for (int l = 0; l <= L && ok; l++) {
    f->h[l] = ebm_alloc(BD, sizeof(float));
    ok = f->h[l] != NULL;
    if (ok && l < L) {
      flow_part_name(&f->spec, l, f->part_names[l], FLOW_PART_NAME_SIZE);
      int coupling;
      if (flow_layer_kind_at(&f->spec, l, &coupling) != FLOW_COUPLING) continue;
      f->r[l] = ebm_alloc(2 * BD, sizeof(float));
      f->masks[l] = ebm_alloc((size_t)f->item, sizeof(float));
      f->masked[l] = ebm_alloc(BD, sizeof(float));
      ok = f->r[l] && f->masks[l] && f->masked[l];
      if (ok) fill_mask(f, coupling, f->masks[l]);
    }
  }
  if (ok && f->spec.conv1x1) {
    f->lu = malloc((size_t)(2 * f->channels * f->channels) * sizeof *f->lu);
    f->winv = ebm_alloc((size_t)(f->channels * f->channels), sizeof(float));
    ok = f->lu && f->winv;
  }
  f->g = ebm_alloc(BD, sizeof(float));
  f->dmasked = ebm_alloc(BD, sizeof(float));
  f->dr = ebm_alloc(2 * BD, sizeof(float));
  f->ld = ebm_alloc(B, sizeof(float));
  f->w = ebm_alloc(B, sizeof(float));
  if (!ok || !f->g || !f->dmasked || !f->dr || !f->ld || !f->w)
    return ebm_set_error(EBM_ERR_NOMEM, "flow: out of memory for batches of %lld", (long long)f->max_batch);
  return EBM_OK;
}

/* A Glow layer's network holds exactly what flow_glow.c reads: actnorm's
 * bias and logs [C], or the 1×1 map's C×C weight (a checkpoint could hold
 * any network under those part names). */
static int glow_params_ok(const ebm_flow *f, flow_layer_kind kind, ebm_net *net) {
  const int want = kind == FLOW_ACTNORM ? 2 : 1;
  if (ebm_net_param_count(net) != want) return 0;
  for (int i = 0; i < want; i++) {
    const int64_t numel = ebm_tensor_numel(ebm_net_param(net, i)->value);
    if (numel != (kind == FLOW_ACTNORM ? f->channels : f->channels * f->channels)) return 0;
  }
  return 1;
}

ebm_status flow_build(const ebm_flow_spec *spec, int item_ndim, const int64_t *item_shape, int64_t max_batch,
                      ebm_net **nets, ebm_flow **out) {
  *out = NULL;
  ebm_status st = check_shape(spec, item_ndim, item_shape);
  ebm_flow *f = st == EBM_OK ? calloc(1, sizeof *f) : NULL;
  if (st == EBM_OK && !f) st = ebm_set_error(EBM_ERR_NOMEM, "flow: out of memory");
  const int K = spec->couplings >= 1 && spec->couplings <= FLOW_MAX_COUPLINGS ? flow_layer_count(spec) : 0;
  if (!f) {
    for (int k = 0; k < K; k++) ebm_net_free(nets[k]);
    return st;
  }
  f->spec = *spec;
  f->item_ndim = item_ndim;
  f->item = 1;
  for (int d = 0; d < item_ndim; d++) f->item *= (f->item_shape[d] = item_shape[d]);
  f->channels = item_ndim == 3 ? item_shape[0] : f->item;
  f->hw = f->item / f->channels;
  f->max_batch = max_batch;
  f->nlayers = K;
  f->nets = calloc((size_t)K, sizeof *f->nets);
  f->kinds = calloc((size_t)K, sizeof *f->kinds);
  if (!f->nets || !f->kinds) {
    for (int k = 0; k < K; k++) ebm_net_free(nets[k]);
    ebm_flow_free(f);
    return ebm_set_error(EBM_ERR_NOMEM, "flow: out of memory");
  }
  memcpy(f->nets, nets, (size_t)K * sizeof *nets);
  for (int k = 0; k < K && st == EBM_OK; k++) {
    const ebm_net *net = f->nets[k];
    int l;
    f->kinds[k] = flow_layer_kind_at(spec, k, &l);
    char want[64], got[64], part[FLOW_PART_NAME_SIZE];
    flow_part_name(spec, k, part, sizeof part);
    const int64_t out = f->kinds[k] == FLOW_COUPLING ? 2 * f->item : f->item;
    if (ebm_net_item_ndim(net) != item_ndim ||
        memcmp(ebm_net_item_shape(net), item_shape, (size_t)item_ndim * sizeof *item_shape) != 0)
      st = ebm_set_error(EBM_ERR_SHAPE, "flow: %s takes items %s, the flow's are %s", part,
                         ebm_shape_str(ebm_net_item_ndim(net), ebm_net_item_shape(net), got, sizeof got),
                         ebm_shape_str(item_ndim, item_shape, want, sizeof want));
    else if (ebm_net_out_size(net) != out)
      st = ebm_set_error(EBM_ERR_SHAPE, "flow: %s gives %lld values, it should give %lld", part,
                         (long long)ebm_net_out_size(net), (long long)out);
    else if (ebm_net_num_classes(net) > 0 || ebm_net_needs_sigma(net))
      st = ebm_set_error(EBM_ERR_ARG, "flow: %s is conditional; flows here are unconditional", part);
    else if (f->kinds[k] != FLOW_COUPLING && !glow_params_ok(f, f->kinds[k], (ebm_net *)net))
      st = ebm_set_error(EBM_ERR_SHAPE, "flow: %s is not %s", part,
                         f->kinds[k] == FLOW_ACTNORM ? "one actnorm layer (bias, logs [C])"
                                                     : "one bias-free 1x1 map (weight [C, C])");
  }
  if (st == EBM_OK) st = alloc_work(f);
  if (st != EBM_OK) {
    ebm_flow_free(f);
    return st;
  }
  *out = f;
  return EBM_OK;
}

ebm_status ebm_flow_new(const ebm_flow_spec *spec, int item_ndim, const int64_t *item_shape, int64_t max_batch,
                        ebm_flow **out) {
  *out = NULL;
  ebm_status st = check_shape(spec, item_ndim, item_shape);
  if (st != EBM_OK) return st;
  ebm_net *nets[FLOW_MAX_LAYERS] = {0};
  char *json[3] = {0}; /* by flow_layer_kind */
  const int K = flow_layer_count(spec);
  st = coupling_arch(spec, item_ndim, item_shape, &json[FLOW_COUPLING]);
  if (st == EBM_OK && spec->actnorm) st = flow_glow_arch(FLOW_ACTNORM, item_ndim, item_shape, &json[FLOW_ACTNORM]);
  if (st == EBM_OK && spec->conv1x1) st = flow_glow_arch(FLOW_INVCONV, item_ndim, item_shape, &json[FLOW_INVCONV]);
  for (int k = 0; k < K && st == EBM_OK; k++) {
    int l;
    st = ebm_net_new(json[flow_layer_kind_at(spec, k, &l)], max_batch, &nets[k]);
  }
  for (int i = 0; i < 3; i++) free(json[i]);
  if (st != EBM_OK) {
    for (int k = 0; k < K; k++) ebm_net_free(nets[k]);
    return ebm_error_prefix(st, "flow");
  }
  return flow_build(spec, item_ndim, item_shape, max_batch, nets, out);
}

ebm_status ebm_flow_init(ebm_flow *f, ebm_rng *rng) {
  for (int l = 0; l < f->nlayers; l++) {
    ebm_net *net = f->nets[l];
    ebm_status st = ebm_net_init(net, rng);
    if (st != EBM_OK) return st;
    if (f->kinds[l] == FLOW_INVCONV) flow_invconv_init(f, l, rng);
    if (f->kinds[l] != FLOW_COUPLING) continue; /* actnorm starts as the identity */
    /* RealNVP/Glow: a zero last layer makes every coupling the identity at
     * the start, so training begins at q = N(0, I) with finite gradients. */
    char last[32];
    snprintf(last, sizeof last, "net.%d.", 2 * f->spec.depth);
    for (int i = 0; i < ebm_net_param_count(net); i++) {
      ebm_param *p = ebm_net_param(net, i);
      if (strncmp(p->name, last, strlen(last)) == 0)
        memset(p->value->data, 0, (size_t)ebm_tensor_numel(p->value) * sizeof(float));
    }
  }
  return EBM_OK;
}

const ebm_flow_spec *ebm_flow_get_spec(const ebm_flow *f) { return &f->spec; }
int ebm_flow_item_ndim(const ebm_flow *f) { return f->item_ndim; }
const int64_t *ebm_flow_item_shape(const ebm_flow *f) { return f->item_shape; }
int64_t ebm_flow_item_size(const ebm_flow *f) { return f->item; }
int64_t ebm_flow_max_batch(const ebm_flow *f) { return f->max_batch; }
int ebm_flow_net_count(const ebm_flow *f) { return f->nlayers; }
ebm_net *ebm_flow_net(ebm_flow *f, int l) { return l >= 0 && l < f->nlayers ? f->nets[l] : NULL; }
const char *ebm_flow_net_name(const ebm_flow *f, int l) {
  return l >= 0 && l < f->nlayers ? f->part_names[l] : NULL;
}

void ebm_flow_zero_grad(ebm_flow *f) {
  for (int l = 0; l < f->nlayers; l++) ebm_net_zero_grad(f->nets[l]);
}
