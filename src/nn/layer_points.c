/* Point-cloud layers (a PointNet energy, Qi et al. 2017; the generative
 * PointNet of Xie & Wu). A cloud of P points with C features is the tensor
 * 1×P×C (how an (n, P, 3) .npy loads: see data.h), points on the H axis,
 * features contiguous.
 *
 * point_linear  the shared per-point MLP layer: nn.Linear applied to the
 *               last dimension (PyTorch: Linear(C, out)(x) on x of shape
 *               (B, 1, P, C); the same map as Conv1d(C, out, 1) on
 *               (B, C, P), but the weight is out×in as in nn.Linear). Output
 *               1×P×out; "<name>.weight" [out, C], "<name>.bias" [out].
 * point_pool    symmetric pooling over the points: 1×P×C → [k·C], the C
 *               maxima, the C means, the C sums ("max", "mean", "sum":
 *               which; max and mean by default). The sum is the mean's
 *               gradient undivided by P: a point that is nobody's maximum
 *               gets as strong a pull as one that is (the pointnet preset
 *               uses max + sum for that). Exactly invariant to the order of the points
 *               (ops/points.h), so a network of point_linear layers,
 *               activations, one point_pool and a linear head is too.
 * point_cat_pool  each point's features followed by the cloud's pooled
 *               ones (keys as point_pool): 1×P×C → 1×P×(C + k·C), PointNet's
 *               segmentation head; exactly order-free as well.
 * point_class_affine  the class where the per-point features are made: a
 *               gain and a bias per class and feature, the same for every
 *               point of a cloud of that class: 1×P×C → 1×P×C,
 *               "<name>.gain" / "<name>.bias" [classes, C] (class_affine's
 *               names; class_affine itself would take the leading 1 as the
 *               channel axis and give all C features one gain).
 * point_grid    FoldingNet's grid (Yang et al. 2018), the generator side: a
 *               vector of C features (a cloud's code) → 1×P×(C + t), point i
 *               the code followed by u_i, the i-th point of a fixed template
 *               of t numbers a point ("template"): "square" (t = 2, the
 *               default) an r×(P/r) grid on [-1, 1]² (r the largest divisor
 *               of P ≤ √P: 8×16 at P = 128), row-major; "sphere" (t = 3) P
 *               points spread over the unit sphere; "torus" (t = 4) the
 *               r×(P/r) grid of angles (u, v) as (cos u, sin u, cos v,
 *               sin v). The point_linear layers after it are then one shared
 *               map (code, u) → point: the cloud is a continuous image of
 *               the template — a square is open, a sphere and a torus are
 *               closed surfaces (a box's surface is a sphere's image).
 *               "heads": H (0–8, default 0) puts H rows before the template's,
 *               each the code, t zeros and a one-hot of its index (every row
 *               then has C + t + H numbers, the template rows H zeros at the
 *               end): the same shared map gives H per-cloud outputs, e.g.
 *               the two vectors point_rotate takes its rotation from. No
 *               parameters; the code's gradient is the sum over the rows. */
#include <math.h>

#include "nn/nn_internal.h"
#include "ops/points.h"

#define GRID_PI 3.14159265358979323846

/* ------------------------------------------------------- point_linear */

static const layer_key point_linear_keys[] = {LK_OUT, LK_BIAS_SN, LK_END};

static ebm_status point_linear_build(ebm_net *net, layer *l, const layer_spec *ls,
                                     scratch_sizes *sz, const char *where) {
  ebm_status st = layer_need_cloud(l, where);
  if (st) return st;
  memset(&l->op, 0, sizeof l->op);
  l->op.in = l->in_shape[2];
  l->op.out = ls->out;
  if ((st = wop_create(net, l, &l->op, l->name, ls->spectral_norm, ls->bias, sz))) return st;
  l->flops *= (double)l->in_shape[1]; /* wop_create counted one point */
  /* wᵀ for the per-point kernel (ops/points.h). */
  float *wt = NULL;
  if ((st = net_alloc_floats(net, &wt, l->op.in * l->op.out, where))) return st;
  l->priv = wt;
  l->out_shape[0] = 1;
  l->out_shape[1] = l->in_shape[1];
  l->out_shape[2] = ls->out;
  return EBM_OK;
}

/* The n clouds of P points are n·P rows of one linear map, each computed
 * alone (ops/points.h), so a point's features do not depend on where it
 * sits in the cloud; the weight gradient is the ordinary linear one. */
// x is (n, 1, P, C); l->out is (n, 1, P, out)
static void point_linear_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                 const float *x) {
  (void)cond;
  const wop *op = &l->op;
  const float *b = op->bias >= 0 ? net_param_data(net, op->bias) : NULL;
  ebm_point_linear_forward(n * l->in_shape[1], op->in, op->out, x, wop_weight(net, op), b,
                           l->priv, l->out);
}

// dy is (n, 1, P, out); dx is (n, 1, P, C)
static const float *point_linear_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                          const float *dy, float *dx, int need_dx,
                                          int want_params) {
  (void)cond;
  const int64_t rows = n * l->in_shape[1];
  if (want_params) wop_backward(net, &l->op, rows, l->in, dy, NULL, 1);
  if (need_dx) ebm_point_linear_backward_input(rows, l->op.in, l->op.out, dy, wop_weight(net, &l->op), dx);
  return dx;
}

static void point_linear_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  int k = snprintf(buf, size, "%lld points, %lld->%lld", (long long)l->in_shape[1],
                   (long long)l->in_shape[2], (long long)l->spec->out);
  if (k > 0 && (size_t)k < size) detail_bias_sn(l->spec, buf + k, size - (size_t)k);
}

const layer_kind layer_point_linear = {"point_linear", point_linear_keys, 1, 0,
                                       point_linear_build, layer_wop_init, point_linear_forward,
                                       point_linear_backward, point_linear_detail, NULL, NULL};

/* --------------------------------------------------------- point_pool */

static const layer_key point_pool_keys[] = {LK_BOOL("max", pool_max, 1),
                                            LK_BOOL("mean", pool_mean, 1),
                                            LK_BOOL("sum", pool_sum, 0),
                                            LK_END};

/* A cloud and at least one of the pool's reductions. */
static ebm_status need_cloud_and_pool(const layer *l, const layer_spec *ls, const char *where) {
  ebm_status st = layer_need_cloud(l, where);
  if (st) return st;
  if (!ls->pool_max && !ls->pool_mean && !ls->pool_sum)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s: 'max', 'mean' and 'sum' are all false; "
                                      "set at least one", where);
  return EBM_OK;
}

/* k·C: how many pooled values a cloud of C features gives. */
static int64_t pooled_size(const layer *l, const layer_spec *ls) {
  return (ls->pool_max + ls->pool_mean + ls->pool_sum) * l->in_shape[2];
}

static ebm_status point_pool_build(ebm_net *net, layer *l, const layer_spec *ls,
                                   scratch_sizes *sz, const char *where) {
  (void)net, (void)sz;
  ebm_status st = need_cloud_and_pool(l, ls, where);
  if (st) return st;
  l->out_ndim = 1;
  l->out_shape[0] = pooled_size(l, ls);
  l->out_shape[1] = l->out_shape[2] = 0;
  return EBM_OK;
}

// x is (n, 1, P, C); l->out is (n, k·C)
static void point_pool_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                               const float *x) {
  (void)net, (void)cond;
  ebm_point_pool_forward(n, l->in_shape[1], l->in_shape[2], l->spec->pool_max, l->spec->pool_mean,
                         l->spec->pool_sum, x, l->out);
}

static const float *point_pool_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                        const float *dy, float *dx, int need_dx,
                                        int want_params) {
  (void)net, (void)cond, (void)want_params;
  if (need_dx)
    ebm_point_pool_backward(n, l->in_shape[1], l->in_shape[2], l->spec->pool_max, l->spec->pool_mean,
                            l->spec->pool_sum, l->in, dy, dx);
  return dx;
}

static void point_pool_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  const layer_spec *s = l->spec;
  snprintf(buf, size, "%s%s%s%s%s over %lld points", s->pool_max ? "max" : "",
           s->pool_max && s->pool_mean ? "+" : "", s->pool_mean ? "mean" : "",
           (s->pool_max || s->pool_mean) && s->pool_sum ? "+" : "", s->pool_sum ? "sum" : "",
           (long long)l->in_shape[1]);
}

const layer_kind layer_point_pool = {"point_pool", point_pool_keys, 0, 0, point_pool_build,
                                     NULL, point_pool_forward, point_pool_backward,
                                     point_pool_detail, NULL, NULL};

/* ----------------------------------------------------- point_cat_pool */

/* PointNet's segmentation head (Qi et al. 2017, Fig. 2): every point's
 * features followed by the cloud's pooled ones, so the per-point layers
 * after it compute a field that depends on the whole shape — without it a
 * pointnet energy's gradient at a point is a fixed per-point field
 * reweighted by the pooled features. PyTorch: torch.cat([x,
 * pool(x).unsqueeze(-2).expand(-1, -1, P, -1)], -1) on x (B, 1, P, C), pool
 * as point_pool's (same keys: max and mean by default). Output 1×P×(C + k·C). */

static ebm_status point_cat_pool_build(ebm_net *net, layer *l, const layer_spec *ls,
                                       scratch_sizes *sz, const char *where) {
  (void)sz;
  ebm_status st = need_cloud_and_pool(l, ls, where);
  if (st) return st;
  float *g = NULL; /* the pooled values' gradient, one item at a time */
  if ((st = net_alloc_floats(net, &g, pooled_size(l, ls), where))) return st;
  l->priv = g;
  l->out_shape[0] = 1;
  l->out_shape[1] = l->in_shape[1];
  l->out_shape[2] = l->in_shape[2] + pooled_size(l, ls);
  return EBM_OK;
}

// x is (n, 1, P, C); l->out is (n, 1, P, C + k·C)
static void point_cat_pool_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                   const float *x) {
  (void)net, (void)cond;
  ebm_point_cat_pool_forward(n, l->in_shape[1], l->in_shape[2], l->spec->pool_max, l->spec->pool_mean,
                             l->spec->pool_sum, x, l->out);
}

// dy is (n, 1, P, C + k·C); dx is (n, 1, P, C)
static const float *point_cat_pool_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                            const float *dy, float *dx, int need_dx,
                                            int want_params) {
  (void)net, (void)cond, (void)want_params;
  if (need_dx)
    ebm_point_cat_pool_backward(n, l->in_shape[1], l->in_shape[2], l->spec->pool_max, l->spec->pool_mean,
                                l->spec->pool_sum, l->in, dy, l->priv, dx);
  return dx;
}

static void point_cat_pool_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  int k = snprintf(buf, size, "each point + ");
  if (k > 0 && (size_t)k < size) point_pool_detail(net, l, buf + k, size - (size_t)k);
}

const layer_kind layer_point_cat_pool = {"point_cat_pool", point_pool_keys, 0, 0, point_cat_pool_build,
                                         NULL, point_cat_pool_forward, point_cat_pool_backward,
                                         point_cat_pool_detail, NULL, NULL};

/* ------------------------------------------------- point_class_affine */

/* E(x, y) with the class in the per-point MLP (the voxelnet preset puts a
 * class_affine after every conv3d the same way; Du & Mordatch A.10's
 * per-class gain and bias). PyTorch: x * gain[y][:, None, None, :] +
 * bias[y][:, None, None, :] on x (B, 1, P, C), the tables nn.Parameter of
 * shape (classes, C), starting at gain 1, bias 0 (the identity). */

static const layer_key point_class_affine_keys[] = {LK_END};

static ebm_status point_class_affine_build(ebm_net *net, layer *l, const layer_spec *ls,
                                           scratch_sizes *sz, const char *where) {
  (void)ls;
  ebm_status st = layer_need_cloud(l, where);
  if (st) return st;
  if (net->num_classes < 1)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s needs \"classes\" > 0", where);
  cond_op *c = net_alloc(net, 1, sizeof *c, where);
  if (!c) return EBM_ERR_NOMEM;
  l->priv = c;
  return cond_create(net, c, l->name, l->in_shape[2], l->in_shape[1], sz);
}

static void point_class_affine_init(ebm_net *net, layer *l, ebm_rng *rng) {
  (void)rng;
  init_cond(net, l->priv);
}

// x and l->out are (n, 1, P, C); the tables are (classes, C)
static void point_class_affine_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                       const float *x) {
  const cond_op *c = l->priv;
  gather_rows(net_param_data(net, c->gain), c->c, n, cond->labels, net->cond_g);
  gather_rows(net_param_data(net, c->bias), c->c, n, cond->labels, net->cond_b);
  ebm_point_affine_forward(n, c->hw, c->c, x, net->cond_g, net->cond_b, l->out);
}

/* dx is always written (cheap), as class_affine's. */
static const float *point_class_affine_backward(ebm_net *net, layer *l, int64_t n,
                                                const ebm_cond *cond, const float *dy, float *dx,
                                                int need_dx, int want_params) {
  (void)need_dx;
  const cond_op *c = l->priv;
  gather_rows(net_param_data(net, c->gain), c->c, n, cond->labels, net->cond_g);
  ebm_point_affine_backward(n, c->hw, c->c, l->in, net->cond_g, dy, dx,
                            want_params ? net->cond_dg : NULL, want_params ? net->cond_db : NULL);
  if (want_params) {
    scatter_add_rows(net_param_grad(net, c->gain), c->c, n, cond->labels, net->cond_dg);
    scatter_add_rows(net_param_grad(net, c->bias), c->c, n, cond->labels, net->cond_db);
  }
  return dx;
}

static void point_class_affine_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  snprintf(buf, size, "%d classes x %lld features, %lld points", net->num_classes,
           (long long)l->in_shape[2], (long long)l->in_shape[1]);
}

const layer_kind layer_point_class_affine = {"point_class_affine", point_class_affine_keys, 1, 0,
                                             point_class_affine_build, point_class_affine_init,
                                             point_class_affine_forward, point_class_affine_backward,
                                             point_class_affine_detail, layer_per_item, NULL};

/* --------------------------------------------------------- point_grid */

static const char *const template_names[] = {"square", "sphere", "torus", NULL};
static int template_written(const layer_spec *ls) { return ls->grid_template != TEMPLATE_SQUARE; }
static int heads_written(const layer_spec *ls) { return ls->heads > 0; }

static const layer_key point_grid_keys[] = {
    LK_INT_REQUIRED("points", points, 1, 1 << 16),
    {"template", KEY_ENUM, offsetof(layer_spec, grid_template), 0, 0, TEMPLATE_SQUARE, 0, template_written,
     template_names},
    {"heads", KEY_INT, offsetof(layer_spec, heads), 0, 8, 0, 0, heads_written, NULL},
    LK_END};

/* The numbers a template gives each point: 2, 3 or 4. */
static int64_t template_dims(int t) { return t == TEMPLATE_SQUARE ? 2 : t == TEMPLATE_SPHERE ? 3 : 4; }

/* The grid's rows: the largest divisor of p not above √p. */
static int64_t grid_rows(int64_t p) {
  int64_t r = 1;
  for (int64_t d = 1; d * d <= p; d++)
    if (p % d == 0) r = d;
  return r;
}

/* A coordinate of the grid: index a of m evenly spaced on [-1, 1] (0 when m = 1). */
static float grid_coord(int64_t a, int64_t m) { return m > 1 ? (float)(-1.0 + 2.0 * (double)a / (double)(m - 1)) : 0.0f; }

/* Point j of p of a template, into u (template_dims numbers).
 *   square  u_j of the r×(p/r) grid on [-1, 1]², row-major
 *   sphere  the Fibonacci (golden-angle) sphere: z_j = 1 − (2j+1)/p,
 *           φ_j = j·π(3 − √5), (√(1−z²) cos φ, √(1−z²) sin φ, z) — p points
 *           spread evenly over the unit sphere, the surface a box's is
 *           the continuous image of
 *   torus   the r×(p/r) grid of angles u = 2π·row/r, v = 2π·col/(p/r) as
 *           (cos u, sin u, cos v, sin v): a closed ring in both directions,
 *           so the shared MLP sees no seam (a square's edges are far apart). */
static void template_point(int t, int64_t j, int64_t p, float *u) {
  const int64_t rows = grid_rows(p), cols = p / rows;
  if (t == TEMPLATE_SQUARE) {
    u[0] = grid_coord(j / cols, rows);
    u[1] = grid_coord(j % cols, cols);
  } else if (t == TEMPLATE_SPHERE) {
    const double z = 1.0 - (2.0 * (double)j + 1.0) / (double)p, r = sqrt(1.0 - z * z);
    const double phi = (double)j * GRID_PI * (3.0 - sqrt(5.0));
    u[0] = (float)(r * cos(phi));
    u[1] = (float)(r * sin(phi));
    u[2] = (float)z;
  } else {
    const double a = 2.0 * GRID_PI * (double)(j / cols) / (double)rows, b = 2.0 * GRID_PI * (double)(j % cols) / (double)cols;
    u[0] = (float)cos(a);
    u[1] = (float)sin(a);
    u[2] = (float)cos(b);
    u[3] = (float)sin(b);
  }
}

static ebm_status point_grid_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                                   const char *where) {
  (void)sz;
  ebm_status st = layer_need_ndim(l, 1, where, " (point_grid takes a vector: a cloud's code)");
  if (st) return st;
  const int64_t t = template_dims(ls->grid_template), p = ls->points, h = ls->heads;
  /* The template is fixed: computed once, (p, t). */
  float *u = NULL;
  if ((st = net_alloc_floats(net, &u, p * t, where))) return st;
  for (int64_t j = 0; u && j < p; j++) template_point(ls->grid_template, j, p, u + j * t);
  l->priv = u;
  l->out_ndim = 3;
  l->out_shape[0] = 1;
  l->out_shape[1] = h + p;
  l->out_shape[2] = l->in_shape[0] + t + h;
  return EBM_OK;
}

/* Row j of an item: the code, then for a head row (j < H) t zeros and the
 * one-hot of j over H, for a template row its point and H zeros. */
// x is (n, C); l->out is (n, 1, H + P, C + t + H)
static void point_grid_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x) {
  (void)net, (void)cond;
  const int64_t c = l->in_shape[0], h = l->spec->heads, rows = l->out_shape[1], f = l->out_shape[2];
  const int64_t t = f - c - h;
  const float *u = l->priv;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < rows; j++) {
      float *y = l->out + (i * rows + j) * f;
      memcpy(y, x + i * c, (size_t)c * sizeof *y);
      memset(y + c, 0, (size_t)(t + h) * sizeof *y);
      if (j < h) y[c + t + j] = 1.0f;
      else memcpy(y + c, u + (j - h) * t, (size_t)t * sizeof *y);
    }
}

// dy is (n, 1, H + P, C + t + H); dx is (n, C): the sum over the rows, in their order
static const float *point_grid_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                        const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)cond, (void)want_params;
  if (!need_dx) return dx;
  const int64_t c = l->in_shape[0], rows = l->out_shape[1], f = l->out_shape[2];
  for (int64_t i = 0; i < n; i++) {
    float *d = dx + i * c;
    memset(d, 0, (size_t)c * sizeof *d);
    for (int64_t j = 0; j < rows; j++) {
      const float *g = dy + (i * rows + j) * f;
      for (int64_t k = 0; k < c; k++) d[k] += g[k];
    }
  }
  return dx;
}

static void point_grid_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  const layer_spec *s = l->spec;
  const int64_t p = s->points, r = grid_rows(p);
  int k;
  if (s->grid_template == TEMPLATE_SQUARE)
    k = snprintf(buf, size, "%lld features + a %lldx%lld grid on [-1,1]^2", (long long)l->in_shape[0], (long long)r,
                 (long long)(p / r));
  else if (s->grid_template == TEMPLATE_SPHERE)
    k = snprintf(buf, size, "%lld features + %lld points on the unit sphere", (long long)l->in_shape[0], (long long)p);
  else
    k = snprintf(buf, size, "%lld features + a %lldx%lld torus (cos u, sin u, cos v, sin v)", (long long)l->in_shape[0],
                 (long long)r, (long long)(p / r));
  if (s->heads > 0 && k > 0 && (size_t)k < size)
    snprintf(buf + k, size - (size_t)k, ", %lld head rows first", (long long)s->heads);
}

const layer_kind layer_point_grid = {"point_grid", point_grid_keys, 0, 0, point_grid_build, NULL,
                                     point_grid_forward, point_grid_backward, point_grid_detail,
                                     layer_per_item, NULL};

extern const layer_kind layer_point_edge_conv;

int64_t ebm_net_cloud_points(const ebm_net *net) {
  if (net->nlayers < 1 || net->layers[0].in_shape[2] != 3) return 0;
  if (net->layers[0].spec->kind != &layer_point_linear && net->layers[0].spec->kind != &layer_point_edge_conv) return 0;
  return net->layers[0].in_shape[1];
}
