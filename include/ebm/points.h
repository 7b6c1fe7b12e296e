/* ebm/points.h — point clouds (issue 15 item 3): synthetic shapes to train
 * on, the distances generated clouds are judged by, and pictures.
 * Include <ebm.h>.
 *
 * A cloud is P points of (x, y, z), a batch of n clouds is n×P×3 floats
 * (what an (n, P, 3) .npy holds; `ebm train` loads it as n×1×P×3, the
 * input of the `pointnet` preset, see ebm/nn.h). Shapes live in [-1, 1]³. */
#ifndef EBM_POINTS_H
#define EBM_POINTS_H

#include "ebm/core.h"
#include "ebm/energy.h"
#include "ebm/eval.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The shapes of `points:shapes` (the same three as the voxel shapes). */
typedef enum { EBM_SHAPE_SPHERE = 0, EBM_SHAPE_BOX, EBM_SHAPE_TORUS, EBM_SHAPE_COUNT } ebm_shape_kind;
const char *ebm_shape_name(ebm_shape_kind kind);

/* n clouds of p points drawn uniformly (by area) on the surfaces of
 * spheres, boxes and tori of random sizes and orientations, in turn
 * (item i is shape i mod 3), centred, inside [-1, 1]³. Item i depends only
 * on (seed, i, p): the same seed gives the same bytes, and the first k
 * items of a larger set are the k items of a smaller one. labels (may be
 * NULL) get each item's ebm_shape_kind. xyz holds n·p·3 floats. */
void ebm_points_shapes(uint64_t seed, int64_t n, int64_t p, float *xyz, int32_t *labels);

/* The same clouds without their random rotation (`points:shapes-aligned`):
 * boxes with faces on the axes, tori around the z axis; item i is item i
 * of ebm_points_shapes (same seed) rotated back, point for point. */
void ebm_points_shapes_aligned(uint64_t seed, int64_t n, int64_t p, float *xyz, int32_t *labels);

/* Chamfer distance between clouds a (na points) and b (nb points):
 * mean over a of the squared distance to the nearest point of b, plus the
 * same from b to a (Achlioptas et al. 2018, Fan et al. 2017). */
double ebm_chamfer(const float *a, int64_t na, const float *b, int64_t nb);

/* Earth mover's distance between two clouds of n points each: the mean
 * Euclidean distance of the best one-to-one matching, found exactly
 * (Hungarian algorithm, O(n³) time, O(n²) memory). EBM_ERR_NOMEM when
 * n×n doubles do not fit, EBM_ERR_ARG for n < 1. */
ebm_status ebm_emd(const float *a, const float *b, int64_t n, double *emd);

/* For each of the ns clouds in `samples`, the Chamfer distance to its
 * nearest cloud in `ref` (nr clouds; all clouds p points) into dist[ns] and
 * that cloud's index into nearest[ns] (may be NULL). Runs on the pool. */
void ebm_points_nearest(const float *samples, int64_t ns, const float *ref, int64_t nr, int64_t p,
                        double *dist, int64_t *nearest);

/* What `ebm eval points` reports: generated clouds against a reference
 * set (the training data), and the same numbers for clouds of uniform
 * noise in the reference's bounding box — the baseline a model must beat. */
typedef struct {
  int64_t n;                  /* sample clouds */
  double chamfer;             /* mean over samples of the Chamfer distance to the nearest reference */
  double emd;                 /* mean exact EMD to that nearest reference (NaN: not computed) */
  double noise_chamfer, noise_emd; /* the same for n clouds of uniform noise */
} ebm_points_scores;

/* Largest cloud ebm_points_compare computes the exact EMD for (O(p³) each). */
#define EBM_EMD_MAX_POINTS 1024

/* Scores ns sample clouds against nr reference clouds (all p points); the
 * noise clouds come from `seed`. EMD is NaN when p > EBM_EMD_MAX_POINTS. */
ebm_status ebm_points_compare(const float *samples, int64_t ns, const float *ref, int64_t nr,
                              int64_t p, uint64_t seed, ebm_points_scores *out);

/* The noise baseline of ebm_points_compare: n clouds of p points uniform in
 * the bounding box of the nr reference clouds, drawn from `seed` (the same
 * seed gives the clouds ebm_points_compare scored). noise holds n·p·3. */
void ebm_points_noise(const float *ref, int64_t nr, int64_t p, int64_t n, uint64_t seed, float *noise);

/* Clouds through a shape classifier: ebm_classify_shares (ebm/eval.h) on
 * n clouds (n·item floats), nothing asked for. */
#define EBM_POINTS_MAX_CLASSES EBM_SHARES_MAX_CLASSES
typedef ebm_class_shares ebm_points_classes;
ebm_status ebm_points_classify(const ebm_energy *clf, const float *clouds, int64_t n, ebm_points_classes *out);

/* A batch of clouds from an .npy: float32 of shape (n, p, 3) or (n, 1, p, 3)
 * (what `ebm sample` writes for the pointnet preset), every value finite.
 * *xyz is malloc'd (free()). Errors name the file and the problem. */
ebm_status ebm_points_load(const char *path, float **xyz, int64_t *n, int64_t *p);

/* Bad clouds: EBM_ERR_NUMERIC naming `what`, the cloud and the point when a
 * coordinate is NaN or infinite. */
ebm_status ebm_points_check_finite(const float *xyz, int64_t n, int64_t p, const char *what);

/* Writes n clouds (at most 64, the first ones) as a PNG: one row per cloud,
 * three orthographic projections (x–y, x–z, y–z) of [lo, hi]³, points
 * shaded by depth. EBM_ERR_ARG for n < 1 or lo >= hi. */
ebm_status ebm_points_png(const char *path, const float *xyz, int64_t n, int64_t p, float lo, float hi);

#ifdef __cplusplus
}
#endif
#endif
