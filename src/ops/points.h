/* ops/points.h — the kernels of point-cloud networks (PointNet): a linear
 * map applied to every point alone, and a symmetric reduction over the
 * points of each item, so that the energy cannot depend on the order of
 * the points — not even in its last bit.
 *
 * Per-point linear map: rows = n·p points of `in` features, w is out×in
 * (nn.Linear), b may be NULL. Every row goes through the same loops in the
 * same order, so a point's output does not depend on its position (an
 * sgemm does not promise that: its edge tiles round differently). wt is a
 * workspace of in·out floats (the forward pass stores wᵀ there, so the
 * inner loop runs over contiguous outputs). Rows are shared by the pool's
 * threads in fixed blocks: results are identical at any thread count.
 * Forward overwrites y (rows×out); backward_input overwrites dx (rows×in).
 * (The weight gradient, a sum over points, is the ordinary linear kernel.)
 *
 * Pooling layout: x is (n, p, c) — n items, p points, c features per point, the
 * features contiguous (what a per-point linear map writes). y is (n, k·c)
 * with k = max + mean + sum ∈ {1, 2, 3}: the c maxima first, then the c
 * means, then the c sums (as torch.cat([x.amax(-2), x.mean(-2),
 * x.sum(-2)], -1)). The sum is the exact mean times p (one rounding), so it
 * is as order-free as the mean; its gradient reaches every point undivided
 * by p, as the max's reaches its point.
 *
 * Exact order invariance: the maximum is order-free; a float sum is not
 * (rounding depends on the order), so the mean sums every feature as
 * fixed-point integers on a scale set by that feature's largest |value|
 * (itself order-free) and divides once. Integer addition is associative,
 * so a permutation of the points gives bit-identical output; the result
 * is the mean to within 2⁻⁶⁰ of that largest |value|.
 *
 * Forward overwrites y; backward overwrites dx (dL/dx from dy = dL/dy). The
 * max's gradient goes to the first point holding the maximum. Neither
 * allocates; both are plain loops (a CUDA table would take them over with
 * the rest of ops.h). */
#ifndef EBM_OPS_POINTS_H
#define EBM_OPS_POINTS_H

#include <stdint.h>

void ebm_point_linear_forward(int64_t rows, int64_t in, int64_t out, const float *x,
                              const float *w, const float *b, float *wt, float *y);
void ebm_point_linear_backward_input(int64_t rows, int64_t in, int64_t out, const float *dy,
                                     const float *w, float *dx);

void ebm_point_pool_forward(int64_t n, int64_t p, int64_t c, int use_max, int use_mean, int use_sum,
                            const float *x, float *y);
void ebm_point_pool_backward(int64_t n, int64_t p, int64_t c, int use_max, int use_mean, int use_sum,
                             const float *x, const float *dy, float *dx);

/* Each point's features with its cloud's pooled ones appended (PointNet's
 * segmentation head: a per-point map after this sees the whole shape):
 * x (n, p, c) → y (n, p, c + k·c), the k·c values as the pool above writes
 * them, the same for every point of an item. Forward overwrites y;
 * backward overwrites dx, using g (k·c floats) as scratch; the sum of the
 * points' gradients to the pooled values is exact (fixed point), so this
 * too is exactly invariant to the order of the points. */
void ebm_point_cat_pool_forward(int64_t n, int64_t p, int64_t c, int use_max, int use_mean, int use_sum,
                                const float *x, float *y);
void ebm_point_cat_pool_backward(int64_t n, int64_t p, int64_t c, int use_max, int use_mean, int use_sum,
                                 const float *x, const float *dy, float *g, float *dx);

/* Per-feature affine of every point with a gain and bias per item (the
 * item's class row of a table): x (n, p, c), g and b (n, c),
 * y[i,j,f] = g[i,f]·x[i,j,f] + b[i,f]. Every point goes through the same
 * row loop, so a point's output does not depend on where it sits: exactly
 * order-free. Forward overwrites y. Backward overwrites dx = dy·g and, when
 * not NULL, dg[i,f] = Σ_j dy·x and db[i,f] = Σ_j dy (summed in float in
 * the points' order: a parameter gradient, outside the order-free promise,
 * as point_linear's weight gradient). */
void ebm_point_affine_forward(int64_t n, int64_t p, int64_t c, const float *x, const float *g,
                              const float *b, float *y);
void ebm_point_affine_backward(int64_t n, int64_t p, int64_t c, const float *x, const float *g,
                               const float *dy, float *dx, float *dg, float *db);

/* EdgeConv (DGCNN, Wang et al. 2019) on clouds x (n, p, c): for point i,
 * N(i) its k nearest points by Euclidean distance in the c features (itself
 * included), and y_i[o] = max_{j ∈ N(i)} (W [x_i, x_j − x_i] + b)[o] — a
 * Linear(2c, out) on each edge, max over the k edges; w is (out, 2c). It is
 * computed as A_i + max_j B_j with A = (W₁ − W₂) x + b and B = W₂ x (W₁, W₂
 * the halves of w), p·(2c·out + k·out + p·c) multiply-adds per cloud.
 *
 * Exact order invariance: distances are summed feature by feature in a fixed
 * order; ties in distance are broken by the neighbours' VALUES
 * (lexicographically), never by their index, so the chosen neighbours'
 * values — and the max — do not depend on where the points sit. The
 * backward pass sums each point's pull from the points whose max it holds
 * in the order of their values (`order`, filled by the forward pass), so
 * the input gradient too moves bit for bit with a permutation (points that
 * are exact duplicates aside: the pull goes to one of them). The max's
 * gradient goes to the first neighbour in that value order holding it.
 *
 * Forward overwrites y (n, p, out), wt scratch (2·c·out: the halves of w
 * transposed), xt scratch (n·p·(c + 1): each cloud transposed, and its
 * distances), a and bw scratch (n, p, out: A and B), arg
 * (n, p, out: the point giving each max) and order (n, p). Backward
 * overwrites dx (n, p, c), uses g (n, p, out) as scratch, and ACCUMULATES
 * dw (out, 2c) and db (out) when not NULL (parameter gradients, summed in
 * the points' order: outside the order-free promise, as point_linear's).
 * k ≤ EBM_POINT_EDGE_MAX_K and k ≤ p. Items are shared by the pool's
 * threads, each computed alone: identical at any thread count. */
#define EBM_POINT_EDGE_MAX_K 64
void ebm_point_edge_forward(int64_t n, int64_t p, int64_t c, int64_t out, int64_t k, const float *x,
                            const float *w, const float *b, float *wt, float *xt, float *a, float *bw,
                            int32_t *arg, int32_t *order, float *y);
void ebm_point_edge_backward(int64_t n, int64_t p, int64_t c, int64_t out, const float *x, const float *w,
                             const int32_t *arg, const int32_t *order, const float *dy, float *g, float *dx,
                             float *dw, float *db);

/* A rotation from two 3-vectors (Zhou et al. 2019, "On the Continuity of
 * Rotation Representations in Neural Networks": the 6-D representation,
 * continuous where Euler angles and quaternions are not): Gram–Schmidt,
 * e1 = a/|a|, e2 = (b − (e1·b) e1)/|…|, e3 = e1 × e2; r (row-major 3×3)
 * gets the rows e1, e2, e3, so R is orthonormal with det +1. Norms below
 * 1e-30 are taken as 1e-30 (a = 0 or a ∥ b: finite, not a rotation). */
void ebm_rotation_from_two_vectors(const double a[3], const double b[3], double r[9]);

/* Clouds turned by a rotation each item carries: x (n, p + 2, 3), rows 0
 * and 1 the a and b above, rows 2… the p points of a draft; y (n, p, 3),
 * y_j = x_j R = Σ_m x_j[m] e_m (the draft's axes go to e1, e2, e3). R is
 * computed in double, each output rounded once, every point by the same
 * loop (exactly order-free in the points). Forward overwrites y; backward
 * overwrites dx (n, p + 2, 3): the points' dy Rᵀ and, in rows 0 and 1, the
 * gradients of a and b back through the Gram–Schmidt (in double). */
void ebm_point_rotate_forward(int64_t n, int64_t p, const float *x, float *y);
void ebm_point_rotate_backward(int64_t n, int64_t p, const float *x, const float *dy, float *dx);

#endif
