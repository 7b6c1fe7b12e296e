/* Helpers shared by the training tests: small 2-D models, the recipe that
 * trains them quickly, nearest-mode bookkeeping for 8gaussians. */
#ifndef EBM_TRAIN_TESTUTIL_H
#define EBM_TRAIN_TESTUTIL_H

#include "test.h"

/* An initialised mlp on 2-D points (width W, 2 hidden layers, `classes`
 * class-affine conditioning) for batches of `batch`; REQUIREs success. */
ebm_net *tt_mlp(int width, int classes, int64_t batch, uint64_t seed);

/* An initialised mlp-generator (z of `latent` floats → 2-D points, width
 * W) for batches of `batch`; REQUIREs success. */
ebm_net *tt_generator(int latent, int width, int64_t batch, uint64_t seed);

/* The quick 2-D recipe: ULA ε 0.1 × K steps, α 0.01, Adam lr 1e-2
 * β (0.9, 0.999) without the A.12 clip, cosine decay, range ±4. */
ebm_train_config tt_toy_config(int64_t batch, int steps, int64_t iters);

/* The recipe that fits ds (ebm_train_recipe_for_data) applied to the
 * defaults with method pcd (*pcd) and with `method` (*other); CHECKs that
 * both are the recipe named `recipe`. */
void tt_recipes(const ebm_dataset *ds, const char *method, const char *recipe, ebm_train_config *pcd,
                ebm_train_config *other);

/* The 8gaussians mode nearest to p (0..7; mode k at angle πk/4, radius 2.5)
 * and its distance. */
int tt_nearest_mode(const float *p, double *dist);

/* Exact NLL of a network on toy:8gaussians:test with a coarse grid. */
double tt_test_nll(ebm_net *net, const ebm_dataset *test);

/* Solves A·z = y (n×n, row-major; both overwritten, z into y) by
 * elimination with partial pivoting. */
void tt_solve(double *A, double *y, int n);
/* Trains c.iters (even) steps straight into test_path("straight"), and
 * c.iters/2 then a resume to c.iters into test_path("resumed") (saving
 * every 2 steps, at a constant learning rate); REQUIREs that every run
 * succeeds and CHECKs that both end with the same checkpoint and state
 * files byte for byte. arch: the run's architecture (NULL for a method
 * with a model of its own). The straight run's checkpoint path goes into
 * ckpt (may be NULL). */
/* 32 two-dimensional points in [0, 1) with no labels (an npy data set in
 * test_path("points.npy")): what the methods that need labels must refuse. */
ebm_dataset *tt_unlabelled_points(void);
/* 40 points (i/10, 0) with labels i % 2, 20 per class (npy files
 * test_path("x.npy") and "y.npy"), loaded in [-4, 4]. */
ebm_dataset *tt_labelled_line(void);
void tt_check_resume_bit_exact(const ebm_dataset *ds, ebm_train_config c, const char *arch, char *ckpt,
                               size_t size);
/* A flow of `dim`-value items (couplings=2,hidden=8,depth=1,actnorm=1)
 * with random (not identity) couplings — every parameter 0.2·N(0, 1) off
 * its init — saved to `path` with no metadata beyond its layers. */
void tt_save_random_flow(const char *path, int64_t dim, uint64_t seed);
/* The derivative of f (a loss of the network's parameters, fixed inputs)
 * along a random direction d of every parameter: *numeric by central
 * differences at h = 1e-2 and 5e-3 combined by Richardson extrapolation,
 * *analytic = ⟨the network's accumulated grads, d⟩. Parameters are
 * restored afterwards. */
typedef double (*tt_param_fn)(void *ctx);
void tt_directional_fd(ebm_net *net, tt_param_fn f, void *ctx, ebm_rng *rng, double *numeric, double *analytic);

#endif
