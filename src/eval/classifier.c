/* The feature classifier of the sample-quality metrics (eval.h): a small
 * CNN with K outputs on the ops table,
 *   conv1 C→w 3×3 pad 1, swish, avgpool 2      (N, w, H/2, W/2)
 *   conv2 w→2w 3×3 pad 1, swish, avgpool 2     (N, 2w, H/4, W/4)
 *   flatten, fc1 → F, swish                    (N, F)   the features
 *   fc2 F → K                                  (N, K)   the logits
 * It lives here rather than in nn/ because nn's networks end in one energy
 * per item and back-propagate a scalar per item; this one needs K outputs
 * and a K-vector gradient (see the report to the lead). Parameters use
 * PyTorch names and layouts ("conv1.weight" OIHW, "fc1.weight" out×in), so
 * an equivalent nn.Module loads the checkpoint. Buffers are sized at
 * construction for max_batch items; the passes never allocate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/classifier_internal.h"

static const char *const param_names[CLF_NPARAMS] = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                                     "fc1.weight",   "fc1.bias",   "fc2.weight",   "fc2.bias"};

void ebm_classifier_free(ebm_classifier *c) {
  if (!c) return;
  ebm_free(c->params);
  ebm_free(c->grads);
  ebm_free(c->adam_m);
  ebm_free(c->adam_v);
  ebm_free(c->act);
  ebm_free(c->d_a);
  ebm_free(c->d_b);
  ebm_free(c->ws);
  free(c);
}

static int64_t numel(const clf_param *p) {
  int64_t s = 1;
  for (int d = 0; d < p->ndim; d++) s *= p->shape[d];
  return s;
}

static void set_param(ebm_classifier *c, int i, int ndim, int64_t a, int64_t b, int64_t d2, int64_t d3) {
  clf_param *p = &c->p[i];
  p->name = param_names[i];
  p->ndim = ndim;
  p->shape[0] = a;
  p->shape[1] = b;
  p->shape[2] = d2;
  p->shape[3] = d3;
}

ebm_status ebm_classifier_new(const ebm_classifier_arch *arch, int64_t max_batch, ebm_classifier **out) {
  *out = NULL;
  if (!arch) return ebm_set_error(EBM_ERR_ARG, "classifier: no architecture");
  const ebm_classifier_arch a = *arch;
  if (a.channels < 1 || a.height < 4 || a.width < 4 || a.height % 4 || a.width % 4)
    return ebm_set_error(EBM_ERR_ARG, "classifier: input %dx%dx%d; need C >= 1 and H, W multiples of 4",
                         a.channels, a.height, a.width);
  if (a.classes < 2 || a.conv_width < 1 || a.features < 1)
    return ebm_set_error(EBM_ERR_ARG, "classifier: %d classes, conv width %d, %d features; need >= 2, >= 1, >= 1",
                         a.classes, a.conv_width, a.features);
  if (!(a.range_lo < a.range_hi)) return ebm_set_error(EBM_ERR_ARG, "classifier: empty range [%g, %g]", (double)a.range_lo, (double)a.range_hi);
  if (max_batch < 1) return ebm_set_error(EBM_ERR_ARG, "classifier: max_batch must be >= 1, got %lld", (long long)max_batch);
  ebm_classifier *c = calloc(1, sizeof *c);
  if (!c) return ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a classifier");
  c->arch = a;
  c->max_batch = max_batch;
  const int64_t C = a.channels, H = a.height, W = a.width, w1 = a.conv_width, w2 = 2 * a.conv_width;
  c->flat = w2 * (H / 4) * (W / 4);
  set_param(c, 0, 4, w1, C, 3, 3);
  set_param(c, 1, 1, w1, 0, 0, 0);
  set_param(c, 2, 4, w2, w1, 3, 3);
  set_param(c, 3, 1, w2, 0, 0, 0);
  set_param(c, 4, 2, a.features, c->flat, 0, 0);
  set_param(c, 5, 1, a.features, 0, 0, 0);
  set_param(c, 6, 2, a.classes, a.features, 0, 0);
  set_param(c, 7, 1, a.classes, 0, 0, 0);
  int64_t off = 0;
  for (int i = 0; i < CLF_NPARAMS; i++) {
    c->p[i].offset = off;
    off += (numel(&c->p[i]) + 15) / 16 * 16; /* 64-byte aligned tensors */
  }
  c->nparams = off;
  /* geometry: conv shapes built after the pool size is known (ops.h) */
  c->cs1 = (ebm_conv2d_shape){max_batch, C, H, W, w1, 3, 3, 1, 1, 0, 0, 0};
  c->cs2 = (ebm_conv2d_shape){max_batch, w1, H / 2, W / 2, w2, 3, 3, 1, 1, 0, 0, 0};
  ebm_conv2d_shape_finish(&c->cs1);
  ebm_conv2d_shape_finish(&c->cs2);
  /* activations, per item: c1 pre/act, p1, c2 pre/act, p2 (= flat), f1 pre/act, logits */
  const int64_t s_c1 = w1 * H * W, s_p1 = w1 * (H / 2) * (W / 2), s_c2 = w2 * (H / 2) * (W / 2);
  c->off_c1_pre = 0;
  c->off_c1 = c->off_c1_pre + s_c1;
  c->off_p1 = c->off_c1 + s_c1;
  c->off_c2_pre = c->off_p1 + s_p1;
  c->off_c2 = c->off_c2_pre + s_c2;
  c->off_p2 = c->off_c2 + s_c2;
  c->off_f1_pre = c->off_p2 + c->flat;
  c->off_f1 = c->off_f1_pre + a.features;
  c->off_logits = c->off_f1 + a.features;
  c->act_item = c->off_logits + a.classes;
  int64_t biggest = s_c1 > s_c2 ? s_c1 : s_c2;
  size_t ws1 = ebm_ops_current()->conv2d_workspace(&c->cs1), ws2 = ebm_ops_current()->conv2d_workspace(&c->cs2);
  c->params = ebm_alloc((size_t)c->nparams, sizeof(float));
  c->grads = ebm_alloc((size_t)c->nparams, sizeof(float));
  c->adam_m = ebm_alloc((size_t)c->nparams, sizeof(float));
  c->adam_v = ebm_alloc((size_t)c->nparams, sizeof(float));
  c->act = ebm_alloc((size_t)(max_batch * c->act_item), sizeof(float));
  c->d_a = ebm_alloc((size_t)(max_batch * biggest), sizeof(float));
  c->d_b = ebm_alloc((size_t)(max_batch * biggest), sizeof(float));
  c->ws = ebm_alloc((ws1 > ws2 ? ws1 : ws2) + 1, sizeof(float));
  if (!c->params || !c->grads || !c->adam_m || !c->adam_v || !c->act || !c->d_a || !c->d_b || !c->ws) {
    ebm_classifier_free(c);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a classifier with batches of %lld", (long long)max_batch);
  }
  *out = c;
  return EBM_OK;
}

ebm_status ebm_classifier_init(ebm_classifier *c, ebm_rng *rng) {
  if (!c || !rng) return ebm_set_error(EBM_ERR_ARG, "classifier init: no classifier or generator");
  /* PyTorch's default: weights and biases U(±1/√fan_in) (kaiming_uniform_ with a = √5) */
  for (int i = 0; i < CLF_NPARAMS; i += 2) {
    const clf_param *w = &c->p[i], *b = &c->p[i + 1];
    int64_t fan_in = numel(w) / w->shape[0];
    float bound = (float)(1.0 / sqrt((double)fan_in));
    ebm_rng_uniform(rng, c->params + w->offset, numel(w), -bound, bound);
    ebm_rng_uniform(rng, c->params + b->offset, numel(b), -bound, bound);
  }
  memset(c->adam_m, 0, (size_t)c->nparams * sizeof(float));
  memset(c->adam_v, 0, (size_t)c->nparams * sizeof(float));
  c->adam_t = 0;
  return EBM_OK;
}

const ebm_classifier_arch *ebm_classifier_get_arch(const ebm_classifier *c) { return &c->arch; }
int64_t ebm_classifier_max_batch(const ebm_classifier *c) { return c->max_batch; }

/* ---------------------------------------------------------------- passes */

/* x is (n, C, H, W) in the classifier's range; fills every activation. */
void clf_forward(ebm_classifier *c, const float *x, int64_t n) {
  const ebm_ops *ops = ebm_ops_current();
  const ebm_classifier_arch *a = &c->arch;
  float *A = c->act, *P = c->params;
  /* activations are stored layer-major (a block of max_batch items per
   * layer), so every kernel sees a contiguous (n, ...) tensor */
  ebm_conv2d_shape s1 = c->cs1, s2 = c->cs2;
  s1.n = n;
  s2.n = n;
  const int64_t N = c->max_batch;
  float *c1_pre = A + N * c->off_c1_pre, *c1 = A + N * c->off_c1, *p1 = A + N * c->off_p1;
  float *c2_pre = A + N * c->off_c2_pre, *c2 = A + N * c->off_c2, *p2 = A + N * c->off_p2;
  float *f1_pre = A + N * c->off_f1_pre, *f1 = A + N * c->off_f1, *lg = A + N * c->off_logits;
  ops->conv2d_forward_swish(&s1, x, P + c->p[0].offset, P + c->p[1].offset, c1_pre, c1, c->ws);
  ops->avgpool2d_forward(n, a->conv_width, a->height, a->width, 2, c1, p1);
  ops->conv2d_forward_swish(&s2, p1, P + c->p[2].offset, P + c->p[3].offset, c2_pre, c2, c->ws);
  ops->avgpool2d_forward(n, 2 * a->conv_width, a->height / 2, a->width / 2, 2, c2, p2);
  ops->linear_forward(n, c->flat, a->features, p2, P + c->p[4].offset, P + c->p[5].offset, f1_pre);
  ops->swish_forward(n * a->features, f1_pre, f1);
  ops->linear_forward(n, a->features, a->classes, f1, P + c->p[6].offset, P + c->p[7].offset, lg);
}

float *clf_logits(ebm_classifier *c) { return c->act + c->max_batch * c->off_logits; }
float *clf_features(ebm_classifier *c) { return c->act + c->max_batch * c->off_f1; }

/* dlogits (n, K) = dL/dlogits of the last forward (input x): accumulates
 * dL/dθ into c->grads. No gradient to the input. */
void clf_backward(ebm_classifier *c, const float *x, int64_t n, const float *dlogits) {
  const ebm_ops *ops = ebm_ops_current();
  const ebm_classifier_arch *a = &c->arch;
  float *A = c->act, *P = c->params, *G = c->grads, *da = c->d_a, *db = c->d_b;
  const int64_t N = c->max_batch, w1 = a->conv_width, w2 = 2 * a->conv_width, H = a->height, W = a->width;
  ebm_conv2d_shape s1 = c->cs1, s2 = c->cs2;
  s1.n = n;
  s2.n = n;
  float *c1_pre = A + N * c->off_c1_pre, *p1 = A + N * c->off_p1;
  float *c2_pre = A + N * c->off_c2_pre, *p2 = A + N * c->off_p2;
  float *f1_pre = A + N * c->off_f1_pre, *f1 = A + N * c->off_f1;
  /* fc2 */
  ops->linear_backward_weight(n, a->features, a->classes, f1, dlogits, G + c->p[6].offset, G + c->p[7].offset);
  ops->linear_backward_input(n, a->features, a->classes, dlogits, P + c->p[6].offset, da);
  /* swish, fc1 */
  ops->swish_backward(n * a->features, f1_pre, da, da);
  ops->linear_backward_weight(n, c->flat, a->features, p2, da, G + c->p[4].offset, G + c->p[5].offset);
  ops->linear_backward_input(n, c->flat, a->features, da, P + c->p[4].offset, db); /* d p2 */
  /* pool2, swish, conv2 */
  ops->avgpool2d_backward(n, w2, H / 2, W / 2, 2, db, da);
  ops->swish_backward(n * w2 * (H / 2) * (W / 2), c2_pre, da, da);
  ops->conv2d_backward_weight(&s2, p1, da, G + c->p[2].offset, G + c->p[3].offset, c->ws);
  ops->conv2d_backward_input(&s2, da, P + c->p[2].offset, db, c->ws); /* d p1 */
  /* pool1, swish, conv1 */
  ops->avgpool2d_backward(n, w1, H, W, 2, db, da);
  ops->swish_backward(n * w1 * H * W, c1_pre, da, da);
  ops->conv2d_backward_weight(&s1, x, da, G + c->p[0].offset, G + c->p[1].offset, c->ws);
}

static ebm_status check_batch(const ebm_classifier *c, const float *x, int64_t n) {
  if (n < 0 || n > c->max_batch)
    return ebm_set_error(EBM_ERR_ARG, "classifier: batch of %lld, built for at most %lld", (long long)n,
                         (long long)c->max_batch);
  if (n > 0 && !x) return ebm_set_error(EBM_ERR_ARG, "classifier: no input");
  return EBM_OK;
}

ebm_status ebm_classifier_forward(ebm_classifier *c, const float *x, int64_t n, float *logits, float *features) {
  ebm_status st = check_batch(c, x, n);
  if (st != EBM_OK || n == 0) return st;
  clf_forward(c, x, n);
  if (logits) memcpy(logits, clf_logits(c), (size_t)(n * c->arch.classes) * sizeof(float));
  if (features) memcpy(features, clf_features(c), (size_t)(n * c->arch.features) * sizeof(float));
  return EBM_OK;
}

ebm_status ebm_classifier_run(ebm_classifier *c, const float *x, int64_t n, float *logits, float *features) {
  const int64_t item = (int64_t)c->arch.channels * c->arch.height * c->arch.width;
  for (int64_t start = 0; start < n; start += c->max_batch) {
    int64_t cnt = n - start < c->max_batch ? n - start : c->max_batch;
    ebm_status st = ebm_classifier_forward(c, x + start * item, cnt, logits ? logits + start * c->arch.classes : NULL,
                                           features ? features + start * c->arch.features : NULL);
    if (st != EBM_OK) return st;
  }
  return EBM_OK;
}

/* ----------------------------------------------------------- checkpoints */

static char *arch_json(const ebm_classifier_arch *a) {
  char *s = malloc(256);
  if (s)
    snprintf(s, 256,
             "{\"input\": [%d, %d, %d], \"classes\": %d, \"conv_width\": %d, \"features\": %d, \"range\": [%.9g, %.9g]}",
             a->channels, a->height, a->width, a->classes, a->conv_width, a->features, (double)a->range_lo,
             (double)a->range_hi);
  return s;
}

ebm_status ebm_classifier_save(const ebm_classifier *c, const char *path, int n_meta, const char *const *keys,
                               const char *const *values) {
  ebm_st_writer *w = ebm_st_writer_new();
  char *arch = arch_json(&c->arch);
  ebm_status st = EBM_OK;
  if (!w || !arch) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory saving %s", path);
    goto done;
  }
  for (int i = 0; i < CLF_NPARAMS && st == EBM_OK; i++)
    st = ebm_st_writer_add_f32(w, c->p[i].name, c->p[i].ndim, c->p[i].shape, c->params + c->p[i].offset);
  if (st == EBM_OK) st = ebm_st_writer_meta(w, "format", EBM_CLASSIFIER_FORMAT);
  if (st == EBM_OK) st = ebm_st_writer_meta(w, "arch", arch);
  for (int i = 0; i < n_meta && st == EBM_OK; i++) st = ebm_st_writer_meta(w, keys[i], values[i]);
  if (st == EBM_OK) st = ebm_st_writer_save(w, path);
done:
  free(arch);
  ebm_st_writer_free(w);
  return st;
}

/* Reads "key": integer from the small arch JSON (written by arch_json). */
static int json_int(const char *json, const char *key, int *out) {
  const char *p = strstr(json, key);
  if (!p) return 0;
  p += strlen(key);
  char *end = NULL;
  long v = strtol(p, &end, 10);
  if (end == p || v < -1000000 || v > 1000000) return 0;
  *out = (int)v;
  return 1;
}

ebm_status ebm_classifier_load(const char *path, int64_t max_batch, ebm_classifier **out) {
  *out = NULL;
  ebm_safetensors *st_file = NULL;
  ebm_classifier *c = NULL;
  ebm_status st = ebm_safetensors_load(path, &st_file);
  if (st != EBM_OK) return st;
  const char *fmt = ebm_safetensors_meta(st_file, "format"), *arch = ebm_safetensors_meta(st_file, "arch");
  if (!fmt || strcmp(fmt, EBM_CLASSIFIER_FORMAT) != 0 || !arch) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: not an ebm classifier (metadata format '%s', expected '%s'; "
                       "make one with `ebm classifier train`)", path, fmt ? fmt : "(none)", EBM_CLASSIFIER_FORMAT);
    goto done;
  }
  ebm_classifier_arch a;
  memset(&a, 0, sizeof a);
  double lo = 0, hi = 0;
  const char *range = strstr(arch, "\"range\": [");
  int ok = json_int(arch, "\"input\": [", &a.channels) && json_int(arch, "\"classes\": ", &a.classes) &&
           json_int(arch, "\"conv_width\": ", &a.conv_width) && json_int(arch, "\"features\": ", &a.features) && range &&
           sscanf(range, "\"range\": [%lf, %lf]", &lo, &hi) == 2;
  const char *in = strstr(arch, "\"input\": [");
  ok = ok && sscanf(in, "\"input\": [%d, %d, %d]", &a.channels, &a.height, &a.width) == 3;
  if (!ok) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: classifier metadata 'arch' is malformed: %.200s", path, arch);
    goto done;
  }
  a.range_lo = (float)lo;
  a.range_hi = (float)hi;
  if ((st = ebm_classifier_new(&a, max_batch, &c)) != EBM_OK) {
    ebm_error_prefix(st, path);
    goto done;
  }
  if (ebm_safetensors_count(st_file) != CLF_NPARAMS) {
    st = ebm_set_error(EBM_ERR_FORMAT, "%s: %d tensors, a classifier has %d", path, ebm_safetensors_count(st_file),
                       CLF_NPARAMS);
    goto done;
  }
  for (int i = 0; i < CLF_NPARAMS; i++) {
    if ((st = ebm_safetensors_read_f32(st_file, c->p[i].name, c->p[i].ndim, c->p[i].shape, c->params + c->p[i].offset)) != EBM_OK)
      goto done;
    for (int64_t k = 0, m = numel(&c->p[i]); k < m; k++)
      if (!isfinite(c->params[c->p[i].offset + k])) {
        st = ebm_set_error(EBM_ERR_NUMERIC, "%s: tensor '%s' holds %g at %lld", path, c->p[i].name,
                           (double)c->params[c->p[i].offset + k], (long long)k);
        goto done;
      }
  }
  *out = c;
  c = NULL;
done:
  ebm_classifier_free(c);
  ebm_safetensors_free(st_file);
  return st;
}
