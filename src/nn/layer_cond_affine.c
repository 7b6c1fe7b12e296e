/* cond_affine: per-channel gain and bias from what the item is conditioned
 * on (FiLM-style; the noise-conditional score networks of Song & Ermon
 * 2019 condition on σ the same way), y = g_i[c]·x + b_i[c] over C×H×W or D:
 *   "class": true   tables "<name>.gain" / "<name>.bias" [classes, C]
 *                   indexed by the label (class_affine's parameters);
 *   "sigma": true   a noise-level embedding: φ(σ) = [sin(2^j·log σ),
 *                   cos(2^j·log σ)] for j < "frequencies" (8 by default:
 *                   periods from 2π down to 2π/128 in log σ, enough to
 *                   tell apart noise levels a few percent apart), through
 *                   the linear map "<name>.sigma" (2·frequencies → 2C)
 *                   whose first C outputs add to the gain and last C to
 *                   the bias;
 * both summed when both are on. The gain is 1 + the sigma part without the
 * class tables (so a fresh layer is near the identity); class tables start
 * at gain 1, bias 0. σ gets no gradient: it is conditioning, not input.
 *
 * "channels": "first" (the default) takes the channel from the input's
 * first axis (C×H×W images, C×D×H×W volumes, a D vector); "last" from its
 * last axis, for point clouds 1×P×C whose per-point features are
 * contiguous: y[i,p,c] = g_i[c]·x[i,p,c] + b_i[c], PyTorch's
 * x * g[:, None, None, :] + b[:, None, None, :]. Every point then goes
 * through the same row kernel (ebm_point_affine_*), so a σ-conditioned
 * PointNet stays exactly invariant to the order of its points. */
#include "nn/nn_internal.h"
#include "ops/points.h"

static int sigma_on(const layer_spec *ls) { return ls->sigma; }
static int last_on(const layer_spec *ls) { return ls->channels_last; }
static const char *const channel_axis_names[] = {"first", "last", NULL};

static const layer_key cond_affine_keys[] = {
    LK_BOOL("class", classes, 0),
    LK_BOOL("sigma", sigma, 1),
    {"frequencies", KEY_INT, offsetof(layer_spec, freqs), 1, 32, 8, 0, sigma_on, NULL},
    /* written only when "last", so every earlier checkpoint's JSON stays as it was */
    {"channels", KEY_ENUM, offsetof(layer_spec, channels_last), 0, 0, 0, 0, last_on, channel_axis_names},
    LK_END};

typedef struct {
  cond_op table;       /* class part (classes: tables [K, C]) */
  int by_class, by_sigma;
  int last;            /* channels on the last axis: x is (n, hw, c) */
  wop embed;           /* sigma part: linear 2F → 2C */
  int64_t freqs, c, hw;
  float *phi;          /* [max_batch, 2F] features of the last pass */
} cond_affine;

static ebm_status cond_affine_build(ebm_net *net, layer *l, const layer_spec *ls,
                                    scratch_sizes *sz, const char *where) {
  if (!ls->classes && !ls->sigma)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s conditions on nothing: set \"class\" and/or "
                         "\"sigma\" to true", where);
  if (ls->classes && net->num_classes < 1)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s with \"class\": true needs \"classes\" > 0",
                         where);
  cond_affine *ca = net_alloc(net, 1, sizeof *ca, where);
  if (!ca) return EBM_ERR_NOMEM;
  l->priv = ca;
  ca->by_class = ls->classes;
  ca->by_sigma = ls->sigma;
  ca->last = ls->channels_last;
  ca->c = l->in_shape[ca->last ? l->in_ndim - 1 : 0];
  ca->hw = l->in_size / ca->c;
  ca->freqs = ls->freqs;
  ebm_status st;
  if (ca->by_class && (st = cond_create(net, &ca->table, l->name, ca->c, ca->hw, sz))) return st;
  if (ca->by_sigma) {
    char prefix[NN_NAME_MAX + 16];
    snprintf(prefix, sizeof prefix, "%s.sigma", l->name);
    ca->embed.in = 2 * ca->freqs;
    ca->embed.out = 2 * ca->c;
    double flops = l->flops;
    if ((st = wop_create(net, l, &ca->embed, prefix, 0, 1, sz))) return st;
    l->flops = flops; /* per item, not per pixel: not worth counting */
    if ((st = net_alloc_floats(net, &ca->phi, net->max_batch * 2 * ca->freqs, where))) return st;
    if (2 * ca->c > sz->cond_hidden) sz->cond_hidden = 2 * ca->c;
    net->needs_sigma = 1;
  }
  if (ca->c > sz->cond_c) sz->cond_c = ca->c;
  return EBM_OK;
}

static void cond_affine_init(ebm_net *net, layer *l, ebm_rng *rng) {
  const cond_affine *ca = l->priv;
  if (ca->by_class) init_cond(net, &ca->table);
  if (ca->by_sigma) init_wop(net, &ca->embed, rng);
}

/* g, b [n, C] into net->cond_g / cond_b (and φ, h for the backward pass). */
static void item_gains(ebm_net *net, const cond_affine *ca, int64_t n, const ebm_cond *cond) {
  const ebm_ops *ops = ebm_ops_current();
  if (ca->by_class) {
    gather_rows(net_param_data(net, ca->table.gain), ca->c, n, cond->labels, net->cond_g);
    gather_rows(net_param_data(net, ca->table.bias), ca->c, n, cond->labels, net->cond_b);
  } else {
    fill_floats(net->cond_g, n * ca->c, 1.0f);
    fill_floats(net->cond_b, n * ca->c, 0.0f);
  }
  if (ca->by_sigma) {
    ops->sinusoidal_features(n, ca->freqs, cond->sigma, ca->phi);
    wop_forward(net, &ca->embed, n, ca->phi, net->cond_h);
    for (int64_t i = 0; i < n; i++) {
      const float *h = net->cond_h + i * 2 * ca->c;
      ops->axpy(ca->c, 1.0f, h, net->cond_g + i * ca->c);
      ops->axpy(ca->c, 1.0f, h + ca->c, net->cond_b + i * ca->c);
    }
  }
}

// x and l->out are (n, c, hw), or (n, hw, c) with the channels last
static void cond_affine_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                const float *x) {
  const cond_affine *ca = l->priv;
  item_gains(net, ca, n, cond);
  if (ca->last)
    ebm_point_affine_forward(n, ca->hw, ca->c, x, net->cond_g, net->cond_b, l->out);
  else
    ebm_ops_current()->channel_affine_forward(n, ca->c, ca->hw, x, net->cond_g, net->cond_b, l->out);
}

/* dx is always written (the kernel gives it with the gain gradients). */
static const float *cond_affine_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                         const float *dy, float *dx, int need_dx,
                                         int want_params) {
  (void)need_dx;
  const cond_affine *ca = l->priv;
  item_gains(net, ca, n, cond);
  float *dg = want_params ? net->cond_dg : NULL, *db = want_params ? net->cond_db : NULL;
  if (ca->last)
    ebm_point_affine_backward(n, ca->hw, ca->c, l->in, net->cond_g, dy, dx, dg, db);
  else
    ebm_ops_current()->channel_affine_backward(n, ca->c, ca->hw, l->in, net->cond_g, dy, dx, dg, db);
  if (!want_params) return dx;
  if (ca->by_class) {
    scatter_add_rows(net_param_grad(net, ca->table.gain), ca->c, n, cond->labels, net->cond_dg);
    scatter_add_rows(net_param_grad(net, ca->table.bias), ca->c, n, cond->labels, net->cond_db);
  }
  if (ca->by_sigma) {
    /* dL/dh = [dg, db] per item, then the embedding's weight gradient. */
    for (int64_t i = 0; i < n; i++) {
      memcpy(net->cond_dh + i * 2 * ca->c, net->cond_dg + i * ca->c, (size_t)ca->c * sizeof(float));
      memcpy(net->cond_dh + i * 2 * ca->c + ca->c, net->cond_db + i * ca->c,
             (size_t)ca->c * sizeof(float));
    }
    wop_backward(net, &ca->embed, n, ca->phi, net->cond_dh, NULL, 1);
  }
  return dx;
}

static void cond_affine_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  const cond_affine *ca = l->priv;
  const char *axis = ca->last ? ", channels last" : "";
  if (ca->by_class && ca->by_sigma)
    snprintf(buf, size, "%d classes + sigma (%lld freqs)%s", net->num_classes, (long long)ca->freqs, axis);
  else if (ca->by_class)
    snprintf(buf, size, "%d classes%s", net->num_classes, axis);
  else
    snprintf(buf, size, "sigma (%lld freqs)%s", (long long)ca->freqs, axis);
}

const layer_kind layer_cond_affine = {"cond_affine", cond_affine_keys, 1, 0, cond_affine_build,
                                      cond_affine_init, cond_affine_forward, cond_affine_backward,
                                      cond_affine_detail, layer_per_item, NULL};
