/* Internal: the constants that define the six 2-D toys (the formulas are in
 * include/ebm/data.h) and the evaluator of their exact log-densities.
 * Shared by toy_sample.c (drawing), toy_density.c (log p and its gradient),
 * gauss_mixture.c (the quadrature toys) and the tests. */
#ifndef EBM_DATA_TOYS_H
#define EBM_DATA_TOYS_H

#include "ebm.h"

#define TOY_PI 3.14159265358979323846

/* 8gaussians: 8 modes on a circle. */
#define TOY_8G_RADIUS 2.5
#define TOY_8G_SIGMA 0.25

/* 2spirals: arm c(u) = R·u·(cos 3πu, sin 3πu), u = sqrt(s), s ~ U(0,1). */
#define TOY_SPIRAL_RADIUS 3.0
#define TOY_SPIRAL_TURNS 3.0 /* the angle runs to TURNS·π */
#define TOY_SPIRAL_SIGMA 0.15

/* checkerboard: 4×4 board of 2×2 squares over [-4,4]². */
#define TOY_CHECKER_SIDE 2.0

/* rings: K Gaussian rings of radius RING_STEP·(k+1), weights ∝ radius. */
#define TOY_RINGS_COUNT 4
#define TOY_RINGS_STEP 0.75
#define TOY_RINGS_SIGMA 0.1

/* moons: c(t) = S·(cos πt − 1/2, sin πt − 1/4), t ~ U(0,1), and −c. */
#define TOY_MOONS_SCALE 2.0
#define TOY_MOONS_SIGMA 0.15

/* pinwheel: K arms N((R0,0), diag(σr², σt²)) rotated to 2πk/K, then
 * twisted by x = Rot(ω|z|)·z. */
#define TOY_PINWHEEL_ARMS 5
#define TOY_PINWHEEL_R0 2.0
#define TOY_PINWHEEL_SIGMA_R 0.3
#define TOY_PINWHEEL_SIGMA_T 0.1
#define TOY_PINWHEEL_OMEGA 0.7

/* A built evaluator of log p(x) for one toy (owns its tables; immutable
 * after construction, so many threads may evaluate at once). */
typedef struct toy_model toy_model;

/* Builds the evaluator. `refine` ≥ 1 divides the quadrature panel length
 * of the curve toys (1 = the library's rule; tests use 4 to check that the
 * rule has converged). */
ebm_status toy_model_new(ebm_toy toy, int refine, toy_model **out);
void toy_model_free(toy_model *m);

/* log p at (x, y) and, if grad is not NULL, ∇ log p (0 where p is flat or
 * zero). NaN input gives NaN outputs. */
void toy_model_eval(const toy_model *m, double x, double y, double *logp, double *grad);

/* ---- the Gaussian-mixture engine behind 8gaussians, 2spirals and moons */

/* p(x) = Σ_j w_j N(x; c_j, σ² I) with Σ w_j = 1, evaluated exactly (to a
 * relative 1e-15) from the nodes near x via a uniform grid of cells. */
typedef struct gauss_mixture gauss_mixture;

/* Copies the n nodes (cx, cy, w > 0). */
ebm_status gauss_mixture_new(int64_t n, const double *cx, const double *cy, const double *w,
                             double sigma, gauss_mixture **out);
void gauss_mixture_free(gauss_mixture *g);
void gauss_mixture_eval(const gauss_mixture *g, double x, double y, double *logp, double *grad);

/* Gauss–Legendre nodes for ∫_0^1 g(t) δ(x − c(t)) dt over a curve: panels
 * of equal arc length at most `max_arc`, 8 points each. Appends to the
 * arrays (grown with realloc) each node's position and weight·scale; with
 * `mirror` also the node at −c(t). */
typedef void (*toy_curve_fn)(double t, double xy[2]);
typedef double (*toy_param_density_fn)(double t);
ebm_status gauss_curve_nodes(toy_curve_fn curve, toy_param_density_fn density, double max_arc,
                             double scale, int mirror, double **cx, double **cy, double **w,
                             int64_t *n);

#endif
