/* EdgeConv on point clouds (ops/points.h): k nearest neighbours chosen by
 * distance then by value, a Linear on each edge [x_i, x_j − x_i], the max
 * over the edges. */
#include <string.h>

#include "ebm/core.h"
#include "ops/points.h"

/* Below this many multiply-adds one thread does it all. */
#define EDGE_PARALLEL_MACS (1 << 20)

typedef struct {
  int64_t p, c, out, k;
  const float *x, *w, *b, *dy;
  const float *wdt, *w2t;   /* (W₁ − W₂)ᵀ and W₂ᵀ, c × out */
  float *xt, *dist;         /* per item: its features transposed (c × p), distances (p) */
  float *a, *bw, *y, *g, *dx;
  int32_t *arg, *order;
  const int32_t *carg, *corder;
} edge_job;

/* −1, 0, 1 as point u's features come before, equal or after point v's. */
static int compare_values(const float *u, const float *v, int64_t c) {
  for (int64_t q = 0; q < c; q++)
    if (u[q] != v[q]) return u[q] < v[q] ? -1 : 1;
  return 0;
}

static void run_items(edge_job *j, int64_t n, ebm_range_fn fn) {
  const double macs = (double)n * (double)j->p * (double)(j->p * j->c + j->out * (2 * j->c + j->k));
  if (macs < EDGE_PARALLEL_MACS) fn(j, 0, n, 0);
  else ebm_parallel_for(n, 1, fn, j);
}

/* One cloud: A, B per point; each point's neighbours; y = A + max B. Every
 * point runs the same loops (sums in feature order, lanes across outputs
 * or candidates), so its values do not depend on its position. */
static void forward_item(const edge_job *j, int64_t t) {
  const int64_t p = j->p, c = j->c, out = j->out, k = j->k;
  const float *x = j->x + t * p * c;
  float *a = j->a + t * p * out, *bw = j->bw + t * p * out, *y = j->y + t * p * out;
  float *xt = j->xt + t * p * c, *dist = j->dist + t * p;
  int32_t *arg = j->arg + t * p * out, *order = j->order + t * p;
  for (int64_t i = 0; i < p; i++) {
    float *restrict ai = a + i * out, *restrict bi = bw + i * out;
    for (int64_t o = 0; o < out; o++) ai[o] = j->b ? j->b[o] : 0.0f, bi[o] = 0.0f;
    for (int64_t q = 0; q < c; q++) {
      const float xq = x[i * c + q];
      const float *restrict wd = j->wdt + q * out, *restrict w2 = j->w2t + q * out;
      for (int64_t o = 0; o < out; o++) ai[o] += wd[o] * xq, bi[o] += w2[o] * xq;
    }
  }
  for (int64_t q = 0; q < c; q++)
    for (int64_t s = 0; s < p; s++) xt[q * p + s] = x[s * c + q];
  float nd[EBM_POINT_EDGE_MAX_K];
  int32_t ni[EBM_POINT_EDGE_MAX_K];
  for (int64_t i = 0; i < p; i++) {
    for (int64_t s = 0; s < p; s++) dist[s] = 0.0f;
    for (int64_t q = 0; q < c; q++) {
      const float xi = x[i * c + q];
      const float *restrict row = xt + q * p;
      for (int64_t s = 0; s < p; s++) {
        const float e = row[s] - xi;
        dist[s] += e * e;
      }
    }
    int64_t m = 0;
    for (int64_t s = 0; s < p; s++) {
      const float d = dist[s];
      if (m == k && d > nd[k - 1]) continue; /* the common case: farther than the k-th */
      /* insert (d, s) into the sorted list: by distance, then by value */
      int64_t at = m;
      while (at > 0 && (d < nd[at - 1] || (d == nd[at - 1] && compare_values(x + s * c, x + ni[at - 1] * c, c) < 0)))
        at--;
      if (at >= k) continue;
      const int64_t last = m < k ? m : k - 1;
      for (int64_t r = last; r > at; r--) nd[r] = nd[r - 1], ni[r] = ni[r - 1];
      nd[at] = d, ni[at] = (int32_t)s;
      if (m < k) m++;
    }
    /* the max over the list in its order: the first holding it wins */
    float *restrict yi = y + i * out;
    int32_t *restrict gi = arg + i * out;
    const float *restrict b0 = bw + ni[0] * out;
    for (int64_t o = 0; o < out; o++) yi[o] = b0[o], gi[o] = ni[0];
    for (int64_t r = 1; r < m; r++) {
      const float *restrict br = bw + ni[r] * out;
      const int32_t who = ni[r];
      for (int64_t o = 0; o < out; o++)
        if (br[o] > yi[o]) yi[o] = br[o], gi[o] = who;
    }
    for (int64_t o = 0; o < out; o++) yi[o] += a[i * out + o];
  }
  /* the points in the order of their values, for the backward sums */
  for (int64_t i = 0; i < p; i++) {
    int64_t at = i;
    while (at > 0 && compare_values(x + i * c, x + order[at - 1] * c, c) < 0) {
      order[at] = order[at - 1];
      at--;
    }
    order[at] = (int32_t)i;
  }
}

static void forward_items(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  for (int64_t t = begin; t < end; t++) forward_item(ctx, t);
}

void ebm_point_edge_forward(int64_t n, int64_t p, int64_t c, int64_t out, int64_t k, const float *x,
                            const float *w, const float *b, float *wt, float *xt, float *a, float *bw,
                            int32_t *arg, int32_t *order, float *y) {
  float *wdt = wt, *w2t = wt + c * out;
  for (int64_t o = 0; o < out; o++)
    for (int64_t q = 0; q < c; q++) {
      wdt[q * out + o] = w[o * 2 * c + q] - w[o * 2 * c + c + q];
      w2t[q * out + o] = w[o * 2 * c + c + q];
    }
  edge_job j = {.p = p, .c = c, .out = out, .k = k, .x = x, .w = w, .b = b, .wdt = wdt, .w2t = w2t, .xt = xt,
                .dist = xt + n * p * c, .a = a, .bw = bw, .y = y, .arg = arg, .order = order};
  run_items(&j, n, forward_items);
}

/* One cloud: g_s = Σ dy_i over the points i whose max point s holds (in the
 * order of the points' values), then dx_i = (W₁ − W₂)ᵀ dy_i + W₂ᵀ g_i. */
static void backward_item(const edge_job *j, int64_t t) {
  const int64_t p = j->p, c = j->c, out = j->out, c2 = 2 * c;
  const float *dy = j->dy + t * p * out;
  const int32_t *arg = j->carg + t * p * out, *order = j->corder + t * p;
  float *g = j->g + t * p * out, *dx = j->dx + t * p * c;
  memset(g, 0, (size_t)(p * out) * sizeof *g);
  for (int64_t r = 0; r < p; r++) {
    const int64_t i = order[r];
    for (int64_t o = 0; o < out; o++) g[arg[i * out + o] * out + o] += dy[i * out + o];
  }
  for (int64_t i = 0; i < p; i++) {
    float *d = dx + i * c;
    for (int64_t q = 0; q < c; q++) d[q] = 0.0f;
    for (int64_t o = 0; o < out; o++) {
      const float *w1 = j->w + o * c2, *w2 = w1 + c;
      const float gy = dy[i * out + o], gg = g[i * out + o];
      for (int64_t q = 0; q < c; q++) d[q] += (w1[q] - w2[q]) * gy + w2[q] * gg;
    }
  }
}

static void backward_items(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  for (int64_t t = begin; t < end; t++) backward_item(ctx, t);
}

void ebm_point_edge_backward(int64_t n, int64_t p, int64_t c, int64_t out, const float *x, const float *w,
                             const int32_t *arg, const int32_t *order, const float *dy, float *g, float *dx,
                             float *dw, float *db) {
  edge_job j = {.p = p, .c = c, .out = out, .k = 1, .x = x, .w = w, .dy = dy, .g = g, .dx = dx,
                .carg = arg, .corder = order};
  run_items(&j, n, backward_items);
  if (!dw && !db) return;
  /* dW₁ = Σ_i dy_i x_iᵀ, dW₂ = Σ_i (g_i − dy_i) x_iᵀ, db = Σ_i dy_i */
  const int64_t c2 = 2 * c;
  for (int64_t i = 0; i < n * p; i++)
    for (int64_t o = 0; o < out; o++) {
      const float gy = dy[i * out + o], gg = g[i * out + o] - gy;
      if (db) db[o] += gy;
      if (!dw) continue;
      float *d1 = dw + o * c2, *d2 = d1 + c;
      for (int64_t q = 0; q < c; q++) {
        d1[q] += gy * x[i * c + q];
        d2[q] += gg * x[i * c + q];
      }
    }
}
