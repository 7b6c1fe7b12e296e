/* Exact log-densities of the 2-D toys and their gradients (definitions in
 * include/ebm/data.h). Closed forms for checkerboard, rings and pinwheel;
 * the Gaussian-mixture engine (gauss_mixture.c) for 8gaussians and, via
 * quadrature along the curve, 2spirals and moons. */
#include <math.h>
#include <stdlib.h>

#include "data/toys.h"

struct toy_model {
  ebm_toy toy;
  gauss_mixture *mix;                  /* 8gaussians, 2spirals, moons */
  double ring_logc[TOY_RINGS_COUNT];   /* log(w_k / Z_k) */
  double arm_cos[TOY_PINWHEEL_ARMS], arm_sin[TOY_PINWHEEL_ARMS];
};

/* ------------------------------------------------------ curve definitions */

static void spiral_curve(double u, double xy[2]) {
  double a = TOY_SPIRAL_TURNS * TOY_PI * u;
  xy[0] = TOY_SPIRAL_RADIUS * u * cos(a);
  xy[1] = TOY_SPIRAL_RADIUS * u * sin(a);
}
/* u = √s with s ~ U(0,1) has density 2u on [0, 1]. */
static double spiral_param_density(double u) { return 2.0 * u; }

static void moon_curve(double t, double xy[2]) {
  xy[0] = TOY_MOONS_SCALE * (cos(TOY_PI * t) - 0.5);
  xy[1] = TOY_MOONS_SCALE * (sin(TOY_PI * t) - 0.25);
}
static double uniform_param_density(double t) {
  (void)t;
  return 1.0;
}

/* ---------------------------------------------------------- construction */

static ebm_status build_mixture(toy_model *m, int refine) {
  double *cx = NULL, *cy = NULL, *w = NULL;
  int64_t n = 0;
  ebm_status st = EBM_OK;
  double sigma;
  if (m->toy == EBM_TOY_8GAUSSIANS) {
    sigma = TOY_8G_SIGMA;
    cx = malloc(8 * sizeof *cx), cy = malloc(8 * sizeof *cy), w = malloc(8 * sizeof *w);
    if (!cx || !cy || !w) {
      st = ebm_set_error(EBM_ERR_NOMEM, "out of memory building the 8gaussians toy");
      goto done;
    }
    for (int k = 0; k < 8; k++) {
      cx[k] = TOY_8G_RADIUS * cos(TOY_PI * k / 4.0);
      cy[k] = TOY_8G_RADIUS * sin(TOY_PI * k / 4.0);
      w[k] = 1.0 / 8.0;
    }
    n = 8;
  } else if (m->toy == EBM_TOY_2SPIRALS) {
    sigma = TOY_SPIRAL_SIGMA;
    /* Panels of arc length ≤ σ (graded at the curve ends), 8 points each:
     * a 4× finer rule changes log p by < 1e-11 anywhere in the box (the
     * tests check 1e-9). Each arm has weight 1/2. */
    st = gauss_curve_nodes(spiral_curve, spiral_param_density, 1.0 * sigma / refine, 0.5, 1, &cx,
                           &cy, &w, &n);
  } else {
    sigma = TOY_MOONS_SIGMA;
    st = gauss_curve_nodes(moon_curve, uniform_param_density, 1.0 * sigma / refine, 0.5, 1, &cx,
                           &cy, &w, &n);
  }
  if (st == EBM_OK) st = gauss_mixture_new(n, cx, cy, w, sigma, &m->mix);
done:
  free(cx);
  free(cy);
  free(w);
  return st;
}

void toy_model_free(toy_model *m) {
  if (!m) return;
  gauss_mixture_free(m->mix);
  free(m);
}

ebm_status toy_model_new(ebm_toy toy, int refine, toy_model **out) {
  *out = NULL;
  if ((int)toy < 0 || toy >= EBM_TOY_COUNT)
    return ebm_set_error(EBM_ERR_ARG, "unknown toy id %d", (int)toy);
  if (refine < 1) return ebm_set_error(EBM_ERR_ARG, "toy quadrature refinement %d < 1", refine);
  toy_model *m = calloc(1, sizeof *m);
  if (!m) return ebm_set_error(EBM_ERR_NOMEM, "out of memory building the %s toy", ebm_toy_name(toy));
  m->toy = toy;
  if (toy == EBM_TOY_8GAUSSIANS || toy == EBM_TOY_2SPIRALS || toy == EBM_TOY_MOONS) {
    ebm_status st = build_mixture(m, refine);
    if (st != EBM_OK) {
      toy_model_free(m);
      return st;
    }
  }
  const double s = TOY_RINGS_SIGMA;
  double total_radius = 0;
  for (int k = 0; k < TOY_RINGS_COUNT; k++) total_radius += TOY_RINGS_STEP * (k + 1);
  for (int k = 0; k < TOY_RINGS_COUNT; k++) {
    double r = TOY_RINGS_STEP * (k + 1);
    /* Z = ∫ exp(−(|x|−r)²/2σ²) dx = 2πσ(σ e^{−r²/2σ²} + r √(2π) Φ(r/σ)). */
    double phi = 0.5 * erfc(-r / (s * sqrt(2.0)));
    double z = 2.0 * TOY_PI * s * (s * exp(-r * r / (2 * s * s)) + r * sqrt(2.0 * TOY_PI) * phi);
    m->ring_logc[k] = log(r / total_radius) - log(z);
  }
  for (int k = 0; k < TOY_PINWHEEL_ARMS; k++) {
    m->arm_cos[k] = cos(2.0 * TOY_PI * k / TOY_PINWHEEL_ARMS);
    m->arm_sin[k] = sin(2.0 * TOY_PI * k / TOY_PINWHEEL_ARMS);
  }
  *out = m;
  return EBM_OK;
}

/* ------------------------------------------------------------ evaluation */

static void checkerboard_eval(double x, double y, double *logp, double *grad) {
  double fi = floor((x + 4.0) / TOY_CHECKER_SIDE), fj = floor((y + 4.0) / TOY_CHECKER_SIDE);
  int inside = fi >= 0 && fi < 4 && fj >= 0 && fj < 4 && ((int)fi + (int)fj) % 2 == 0;
  *logp = inside ? -log(32.0) : -INFINITY;
  if (grad) grad[0] = grad[1] = 0.0;
}

static void rings_eval(const toy_model *m, double x, double y, double *logp, double *grad) {
  const double inv_var = 1.0 / (TOY_RINGS_SIGMA * TOY_RINGS_SIGMA);
  double rho = hypot(x, y), a[TOY_RINGS_COUNT], amax = -INFINITY;
  for (int k = 0; k < TOY_RINGS_COUNT; k++) {
    double d = rho - TOY_RINGS_STEP * (k + 1);
    a[k] = m->ring_logc[k] - 0.5 * d * d * inv_var;
    amax = fmax(amax, a[k]);
  }
  double s = 0, dlog_drho = 0;
  for (int k = 0; k < TOY_RINGS_COUNT; k++) {
    double e = exp(a[k] - amax);
    s += e;
    dlog_drho -= e * (rho - TOY_RINGS_STEP * (k + 1)) * inv_var;
  }
  *logp = amax + log(s);
  if (grad) {
    /* ∇ρ = x/|x|; at the origin (density ~e^-28 there) take 0. */
    double k = rho > 0 ? dlog_drho / s / rho : 0.0;
    grad[0] = k * x;
    grad[1] = k * y;
  }
}

/* log q(z) for the untwisted arms and ∇_z log q. */
static void pinwheel_base(const toy_model *m, double zx, double zy, double *logq, double g[2]) {
  const double sr = TOY_PINWHEEL_SIGMA_R, st = TOY_PINWHEEL_SIGMA_T;
  const double lognorm = -log(TOY_PINWHEEL_ARMS * 2.0 * TOY_PI * sr * st);
  double a[TOY_PINWHEEL_ARMS], gr[TOY_PINWHEEL_ARMS], gt[TOY_PINWHEEL_ARMS], amax = -INFINITY;
  for (int k = 0; k < TOY_PINWHEEL_ARMS; k++) {
    /* Arm coordinates: radial and tangential offsets from its mean. */
    double u = m->arm_cos[k] * zx + m->arm_sin[k] * zy - TOY_PINWHEEL_R0;
    double v = -m->arm_sin[k] * zx + m->arm_cos[k] * zy;
    a[k] = -0.5 * (u * u / (sr * sr) + v * v / (st * st));
    gr[k] = -u / (sr * sr);
    gt[k] = -v / (st * st);
    amax = fmax(amax, a[k]);
  }
  double s = 0, gx = 0, gy = 0;
  for (int k = 0; k < TOY_PINWHEEL_ARMS; k++) {
    double e = exp(a[k] - amax);
    s += e;
    /* Back from arm coordinates: R(α_k)·(gr, gt). */
    gx += e * (m->arm_cos[k] * gr[k] - m->arm_sin[k] * gt[k]);
    gy += e * (m->arm_sin[k] * gr[k] + m->arm_cos[k] * gt[k]);
  }
  *logq = amax + log(s) + lognorm;
  g[0] = gx / s;
  g[1] = gy / s;
}

static void pinwheel_eval(const toy_model *m, double x, double y, double *logp, double *grad) {
  const double w = TOY_PINWHEEL_OMEGA;
  double r = hypot(x, y), c = cos(w * r), s = sin(w * r);
  /* z = R(−ωr)·x; the twist has Jacobian determinant 1, so p(x) = q(z). */
  double zx = c * x + s * y, zy = -s * x + c * y, g[2];
  pinwheel_base(m, zx, zy, logp, g);
  if (grad) {
    /* dz/dx = R(−ωr) − ω (J z)(x/r)ᵀ with J the rotation by +π/2, so
     * ∇_x = R(ωr) g − ω (x/r) ((J z)·g). */
    double jz_dot_g = -zy * g[0] + zx * g[1];
    double k = r > 0 ? w * jz_dot_g / r : 0.0;
    grad[0] = c * g[0] - s * g[1] - k * x;
    grad[1] = s * g[0] + c * g[1] - k * y;
  }
}

void toy_model_eval(const toy_model *m, double x, double y, double *logp, double *grad) {
  if (!isfinite(x) || !isfinite(y)) {
    *logp = NAN;
    if (grad) grad[0] = grad[1] = NAN;
    return;
  }
  switch (m->toy) {
    case EBM_TOY_CHECKERBOARD: checkerboard_eval(x, y, logp, grad); break;
    case EBM_TOY_RINGS: rings_eval(m, x, y, logp, grad); break;
    case EBM_TOY_PINWHEEL: pinwheel_eval(m, x, y, logp, grad); break;
    default: gauss_mixture_eval(m->mix, x, y, logp, grad); break;
  }
}

/* ------------------------------------------------------------ public API */

typedef struct {
  const toy_model *model;
  const double *xy;
  double *logp, *grad;
} density_job;

static void density_range(void *ctx, int64_t begin, int64_t end, int tid) {
  (void)tid;
  const density_job *job = ctx;
  for (int64_t i = begin; i < end; i++)
    toy_model_eval(job->model, job->xy[2 * i], job->xy[2 * i + 1], &job->logp[i],
                   job->grad ? &job->grad[2 * i] : NULL);
}

ebm_status ebm_toy_log_density_grad(ebm_toy toy, const double *xy, int64_t n, double *logp,
                                    double *grad) {
  if (n < 0) return ebm_set_error(EBM_ERR_ARG, "negative point count %lld", (long long)n);
  toy_model *m;
  ebm_status st = toy_model_new(toy, 1, &m);
  if (st != EBM_OK) return st;
  density_job job = {m, xy, logp, grad};
  ebm_parallel_for(n, 256, density_range, &job);
  toy_model_free(m);
  return EBM_OK;
}

ebm_status ebm_toy_log_density(ebm_toy toy, const double *xy, int64_t n, double *logp) {
  return ebm_toy_log_density_grad(toy, xy, n, logp, NULL);
}

int ebm_toy_has_density(ebm_toy toy) { return (int)toy >= 0 && toy < EBM_TOY_COUNT; }
