/* ebm/data_volumes.h — synthetic videos and voxel shapes, made by the tool
 * so that tests and examples need no downloads. Include <ebm.h>.
 *
 * Both write float32 volumes C×D×H×W per item (C = 1; D = frames or
 * depth), values in [0, 1], the same bytes for the same seed. Networks take
 * such an item as [C·D, H, W] (src/nn/layer_conv3d.c); `ebm data make`
 * writes them as N×1×D×H×W .npy files, which ebm_dataset_load folds. */
#ifndef EBM_DATA_VOLUMES_H
#define EBM_DATA_VOLUMES_H

#include "ebm/core.h"
#include "ebm/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Moving items (Moving MNIST, Srivastava et al. 2015, with Fashion-MNIST
 * items): n videos of `frames` side×side frames; in each, `per_video`
 * items drawn from `items` (m images of ih×iw in [0, 1]) start at uniform
 * positions with uniform velocities of 1–3 px per frame and bounce off the
 * canvas edges; overlapping items combine by max. out: n·frames·side²
 * floats. Sizes that do not fit (item larger than the canvas, no items)
 * → EBM_ERR_ARG. */
ebm_status ebm_make_moving(const float *items, int64_t m, int ih, int iw, int64_t n, int frames,
                           int side, int per_video, uint64_t seed, float *out);

/* The path of each video's item: for video v and frame t, the centre of
 * brightness (x, y) = Σ v·(col, row) / Σ v over the frame's positive
 * values, in pixels (pixel (row r, col c) sits at (c, r)), into
 * paths[(v·frames + t)·2 + {0, 1}]. A frame with nothing positive keeps
 * the previous frame's point (the canvas centre for frame 0). videos:
 * n·frames·h·w floats (one item per video: with several, the point is
 * their common centre). EBM_ERR_ARG for sizes < 1. */
ebm_status ebm_track_centres(const float *videos, int64_t n, int frames, int h, int w, float *paths);

/* Moving items along given paths: n videos of `frames` side×side frames;
 * video v shows one item drawn from `items` (m images ih×iw in [0, 1], at
 * random from `seed`) placed in frame t so that its own centre of
 * brightness falls on paths[(v·frames + t)·2 + {0, 1}] (x, y in pixels, as
 * ebm_track_centres measures them; rounded to whole pixels); the item's
 * pixels beyond the canvas are cut. So ebm_track_centres of the result
 * gives the paths back, to rounding, wherever the item is whole. A
 * non-finite point or one off the canvas (outside [0, side − 1]) →
 * EBM_ERR_ARG naming the video and frame; sizes as ebm_make_moving. */
ebm_status ebm_make_moving_along(const float *items, int64_t m, int ih, int iw, const float *paths, int64_t n,
                                 int frames, int side, uint64_t seed, float *out);

/* Voxel shapes: n occupancy grids side³ (1 inside, 0 outside, sampled at
 * voxel centres), each a sphere (label 0), an axis-aligned box (1) or a
 * torus about a random axis (2), classes in turn, with random size and
 * position inside the grid. out: n·side³ floats; labels (may be NULL): n.
 * side < 8 → EBM_ERR_ARG. */
ebm_status ebm_make_shapes3d(int64_t n, int side, uint64_t seed, float *out, int32_t *labels);
/* "sphere", "box", "torus" for labels 0, 1, 2. */
const char *ebm_shape3d_name(int label);

/* ------------------------------------------------------------- measures */

/* Intersection over union of two occupancy grids of v voxels, a voxel
 * occupied when its value is above `level`; 1 when both grids are empty. */
double ebm_voxel_iou(const float *a, const float *b, int64_t v, float level);

/* For each of the ns sample grids, the IoU with its nearest reference grid
 * (the highest IoU among the nr; all grids v voxels, occupied above
 * `level`) into iou[ns] and that grid's index into nearest[ns] (may be
 * NULL). Runs on the pool; the result does not depend on the threads. */
ebm_status ebm_voxels_nearest(const float *samples, int64_t ns, const float *ref, int64_t nr, int64_t v,
                              float level, double *iou, int64_t *nearest);

/* Bad grids: EBM_ERR_NUMERIC naming `what`, the grid and the voxel when a
 * value is NaN or infinite. */
ebm_status ebm_voxels_check_finite(const float *grids, int64_t n, int64_t v, const char *what);

/* What `ebm eval voxels` reports: generated grids against a reference set
 * (the training data), and the same for grids of uniform noise in the data
 * range — the baseline a model must beat. */
typedef struct {
  int64_t n;        /* sample grids */
  double iou;       /* mean over samples of the IoU with the nearest reference */
  double noise_iou; /* the same for n grids of uniform noise from the seed */
  double occupancy, ref_occupancy; /* mean fraction of occupied voxels: samples, references */
  double chamfer, noise_chamfer;    /* mean surface Chamfer to the nearest reference (ebm_voxels_chamfer_nearest)
                                       over the grids with a surface: samples, noise */
  int64_t empty, noise_empty;       /* grids left out of those means for having no occupied voxel */
} ebm_voxel_scores;

/* Scores ns sample grids against nr references (each d×h×w = dims, values
 * in [lo, hi], occupied above the midpoint). Values outside the range count
 * as they are; NaN or Inf → EBM_ERR_NUMERIC (ebm_voxels_check_finite). */
ebm_status ebm_voxels_compare(const float *samples, int64_t ns, const float *ref, int64_t nr, const int64_t dims[3],
                              float lo, float hi, uint64_t seed, ebm_voxel_scores *out);

/* The noise baseline of ebm_voxels_compare: n grids of v voxels uniform in
 * [lo, hi], drawn from `seed` (the same seed gives the grids it scored). */
void ebm_voxels_noise(int64_t n, int64_t v, float lo, float hi, uint64_t seed, float *noise);

/* For each of the ns sample grids (all d×h×w = dims, occupied above
 * `level`), the surface Chamfer distance to its nearest reference grid
 * (the smallest among the nr) into chamfer[ns], that grid's index into
 * nearest[ns] (may be NULL). A surface is the occupied voxels with an
 * empty 6-neighbour (outside the grid is empty), voxel centres scaled so
 * the longest side spans 2 (the units of ebm/points.h's clouds); Chamfer
 * is the mean squared distance from each surface point to the other
 * surface, both ways summed. A sample with no occupied voxel gets NaN and
 * index -1; references without one are skipped. Runs on the pool; the
 * result does not depend on the threads. */
ebm_status ebm_voxels_chamfer_nearest(const float *samples, int64_t ns, const float *ref, int64_t nr,
                                      const int64_t dims[3], float level, double *chamfer, int64_t *nearest);

/* ------------------------------------------------------------- pictures */

/* A frame strip: n videos (each c×t×h×w, c 1 or 3, values in [lo, hi])
 * as one PNG, a row per video, its frames left to right. */
ebm_status ebm_png_write_frames(const char *path, const float *videos, int64_t n, int c, int t, int h,
                                int w, float lo, float hi);
/* The same videos as an animated PNG (ebm_apng_write): animation frame f
 * is a grid (8 per row) of every video's frame f, shown delay_ms ms;
 * readers without APNG show frame 0. */
ebm_status ebm_apng_write_videos(const char *path, const float *videos, int64_t n, int c, int t, int h,
                                 int w, float lo, float hi, int delay_ms);
/* A three-view projection: n voxel grids (each d×h×w, occupancy in
 * [0, 1]) as one PNG, a row per grid: the views along depth (top), height
 * (front) and width (side), each the mean occupancy along its axis, scaled
 * so the fullest line is white. */
ebm_status ebm_png_write_voxels(const char *path, const float *grids, int64_t n, int d, int h, int w);

/* Samples of a volume network (ebm_net_volume_depth > 0; items [C·D, H, W]
 * in [lo, hi]) as a PNG: voxel grids (D = H = W, C = 1) as three-view
 * projections, anything else as frame strips (what `ebm train` draws). */
ebm_status ebm_png_write_volume_samples(const char *path, const ebm_net *net, const float *x, int64_t n,
                                        float lo, float hi);
/* For videos, the same samples as an animated PNG (ebm_apng_write_videos,
 * EBM_APNG_FRAME_MS per frame); for voxel grids nothing (EBM_OK). */
#define EBM_APNG_FRAME_MS 125
ebm_status ebm_apng_write_volume_samples(const char *path, const ebm_net *net, const float *x, int64_t n,
                                         float lo, float hi);

#ifdef __cplusplus
}
#endif
#endif
