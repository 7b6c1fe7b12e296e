/* point_rotate's kernels (ops/points.h): a rotation from two 3-vectors by
 * Gram–Schmidt and its gradient, applied to every point of a draft. */
#include <math.h>
#include <string.h>

#include "ops/points.h"

static double dot3(const double *u, const double *v) { return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]; }

static void cross3(const double *u, const double *v, double *w) {
  w[0] = u[1] * v[2] - u[2] * v[1];
  w[1] = u[2] * v[0] - u[0] * v[2];
  w[2] = u[0] * v[1] - u[1] * v[0];
}

/* |u| floored at 1e-30, so a zero vector gives zeros, not NaN. */
static double norm3(const double *u) {
  const double s = sqrt(dot3(u, u));
  return s > 1e-30 ? s : 1e-30;
}

/* The rotation and what its gradient needs: |a|, b' = b − (e1·b) e1, |b'|. */
typedef struct {
  double e[3][3]; /* rows e1, e2, e3 */
  double na, nb, bp[3];
} frame;

static void frame_of(const double *a, const double *b, frame *f) {
  f->na = norm3(a);
  for (int k = 0; k < 3; k++) f->e[0][k] = a[k] / f->na;
  const double d = dot3(f->e[0], b);
  for (int k = 0; k < 3; k++) f->bp[k] = b[k] - d * f->e[0][k];
  f->nb = norm3(f->bp);
  for (int k = 0; k < 3; k++) f->e[1][k] = f->bp[k] / f->nb;
  cross3(f->e[0], f->e[1], f->e[2]);
}

void ebm_rotation_from_two_vectors(const double a[3], const double b[3], double r[9]) {
  frame f;
  frame_of(a, b, &f);
  memcpy(r, f.e, sizeof f.e);
}

static void load3(const float *x, double *v) {
  for (int k = 0; k < 3; k++) v[k] = x[k];
}

// x is (n, p + 2, 3); y is (n, p, 3)
void ebm_point_rotate_forward(int64_t n, int64_t p, const float *x, float *y) {
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * (p + 2) * 3;
    double a[3], b[3];
    load3(xi, a);
    load3(xi + 3, b);
    frame f;
    frame_of(a, b, &f);
    for (int64_t j = 0; j < p; j++) {
      const float *q = xi + (j + 2) * 3;
      float *o = y + (i * p + j) * 3;
      for (int k = 0; k < 3; k++) o[k] = (float)(q[0] * f.e[0][k] + q[1] * f.e[1][k] + q[2] * f.e[2][k]);
    }
  }
}

/* v = u/|u| backward: du = (dv − (dv·v) v)/|u|. */
static void normalize_backward(const double *v, double nu, const double *dv, double *du) {
  const double s = dot3(dv, v);
  for (int k = 0; k < 3; k++) du[k] = (dv[k] - s * v[k]) / nu;
}

// dy is (n, p, 3); dx is (n, p + 2, 3)
void ebm_point_rotate_backward(int64_t n, int64_t p, const float *x, const float *dy, float *dx) {
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * (p + 2) * 3;
    float *di = dx + i * (p + 2) * 3;
    double a[3], b[3];
    load3(xi, a);
    load3(xi + 3, b);
    frame f;
    frame_of(a, b, &f);
    /* dE[m] = Σ_j x_j[m] dy_j: the gradient of row e_m; the points' dx = dy Rᵀ */
    double de[3][3] = {{0}};
    for (int64_t j = 0; j < p; j++) {
      const float *q = xi + (j + 2) * 3, *g = dy + (i * p + j) * 3;
      float *o = di + (j + 2) * 3;
      for (int m = 0; m < 3; m++) {
        o[m] = (float)(g[0] * f.e[m][0] + g[1] * f.e[m][1] + g[2] * f.e[m][2]);
        for (int k = 0; k < 3; k++) de[m][k] += (double)q[m] * g[k];
      }
    }
    /* e3 = e1 × e2: d e1 += e2 × dE3, d e2 += dE3 × e1 */
    double g1[3], g2[3], t[3];
    cross3(f.e[1], de[2], t);
    for (int k = 0; k < 3; k++) g1[k] = de[0][k] + t[k];
    cross3(de[2], f.e[0], t);
    for (int k = 0; k < 3; k++) g2[k] = de[1][k] + t[k];
    /* e2 = b'/|b'|, b' = b − (e1·b) e1 */
    double gbp[3], db[3], da[3];
    normalize_backward(f.e[1], f.nb, g2, gbp);
    const double e1b = dot3(f.e[0], b), e1g = dot3(f.e[0], gbp);
    for (int k = 0; k < 3; k++) {
      db[k] = gbp[k] - e1g * f.e[0][k];
      g1[k] -= e1b * gbp[k] + e1g * b[k];
    }
    /* e1 = a/|a| */
    normalize_backward(f.e[0], f.na, g1, da);
    for (int k = 0; k < 3; k++) {
      di[k] = (float)da[k];
      di[3 + k] = (float)db[k];
    }
  }
}
