/* ebm/texture.h — a texture model learned from one image, that samples
 * images of any size. Include <ebm.h>.
 *
 * The energy is fully convolutional: a stack of convolutions whose last map
 * (one channel) is summed over every position, E(x) = Σ_p f(x)_p, so it is
 * a sum of identical local terms — a Markov random field on patches — and
 * the same parameters score a 64×64 input and a 128×128 synthesis (the
 * generative ConvNet of Xie, Lu, Zhu & Wu, in the Xie & Wu tutorial seed).
 * Learning is moment matching with non-persistent short-run MCMC (the
 * tutorial's "short-run MCMC for EBMs", Nijkamp et al. 2019): every
 * iteration draws `chains` images by K Langevin steps from (coarse) noise,
 * and the parameters move so the image's energy falls and the samples'
 * rises, L = E(x) − mean_i E(x̃_i). Synthesis is the same K-step sampler at
 * the requested size, so what was learned is exactly what is sampled.
 *
 * EBM_TEXTURE_GABOR is classic FRAME (Zhu, Wu & Mumford 1998) as a
 * baseline: a fixed bank of Gabor filters (4 orientations × 2 scales on the
 * grey level) and one delta filter per colour channel, each response cut at
 * fixed thresholds, max(0, r − t) (a cumulative soft histogram, whose sum
 * over positions carries the response's mean and histogram), and only the
 * weights λ of these statistics learned by the same loop.
 *
 * Images are C×H×W floats in [0, 1], C = 1 (grey) or 3 (RGB). */
#ifndef EBM_TEXTURE_H
#define EBM_TEXTURE_H

#include "ebm/core.h"
#include "ebm/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { EBM_TEXTURE_CONVNET = 0, EBM_TEXTURE_GABOR } ebm_texture_model;

typedef struct {
  ebm_texture_model model;
  int iters;           /* learning iterations (200) */
  int chains;          /* synthesized images per iteration (4) */
  int steps;           /* K: Langevin steps from noise, in learning and synthesis (60) */
  float step_size;     /* λ of the IGEBM Langevin step (ebm/sample.h) (1) */
  float noise;         /* σ (0.005) */
  float grad_clip;     /* per-pixel clip of ∇E (0.05; 0: off) */
  float lr;            /* Adam learning rate (2e-3; β = (0.5, 0.999)) */
  int width;           /* ConvNet channels of the first layer (16) */
  int init_cell;       /* chains start as uniform noise on a grid of cells
                          this many px wide, bilinearly interpolated (4; 1:
                          independent pixels, whose speckle the short run
                          left visible on checks) */
  float ref_std;       /* s of a Gaussian reference N(½, s²) the energy is
                          relative to, as in the generative ConvNet (0: none,
                          the default: with s = 0.5 the chains stayed grey on
                          checks) */
  uint64_t seed;       /* initial weights and every chain (1) */
} ebm_texture_config;

/* The defaults above. */
ebm_texture_config ebm_texture_defaults(void);
/* EBM_ERR_ARG naming the field when a value is out of range. */
ebm_status ebm_texture_config_check(const ebm_texture_config *cfg);
/* The smallest side of an image the models accept (their receptive field). */
int ebm_texture_min_side(void);
/* "convnet" / "gabor" → the model, −1 if unknown. */
int ebm_texture_model_from_name(const char *name);

typedef struct ebm_texture ebm_texture;

/* A model for c×h×w training images (c 1 or 3; h, w ≥ ebm_texture_min_side()), initialised from cfg->seed. Bad sizes or config →
 * EBM_ERR_ARG naming the field. Free with ebm_texture_free (NULL ok). */
ebm_status ebm_texture_new(const ebm_texture_config *cfg, int c, int h, int w, ebm_texture **out);
void ebm_texture_free(ebm_texture *t);

/* Called after every learning iteration with its index (0-based), the loss
 * E(x) − mean E(x̃) and the mean energies (for progress bars and logs). */
typedef void (*ebm_texture_step_fn)(void *ctx, int iter, double loss, double e_data,
                                    double e_sample);

/* Learns from `image` (c×h×w as given to ebm_texture_new) for cfg->iters
 * iterations; cb may be NULL. A diverging run → EBM_ERR_NUMERIC. */
ebm_status ebm_texture_learn(ebm_texture *t, const float *image, ebm_texture_step_fn cb, void *ctx);

/* Draws one c×h×w image (h, w ≥ ebm_texture_min_side()) by K Langevin
 * steps from the chains' start noise (init_cell) with the learned energy into out (c·h·w
 * floats), from `seed`. (It samples a larger image and keeps the centre:
 * the border, seen by fewer local terms, is less constrained.) */
ebm_status ebm_texture_synthesize(ebm_texture *t, int h, int w, uint64_t seed, float *out);

/* The texture statistic: ‖G(a) − G(b)‖_F / ‖G(a)‖_F, where G(x) = F Fᵀ / P
 * is the Gram matrix of the first-layer features F (channels × P
 * positions) of image x (c×h×w; a and b may have different sizes). The
 * layer is FRAME's fixed one for every model, so distances of different
 * models compare: its Gabor channels with their thresholds, after the
 * relu (the grey-level channels are left out: they see one pixel, and a
 * shuffled-pixel image keeps their statistics exactly). 0 for the same
 * statistics; a shuffled-pixel image keeps the colour histogram and loses
 * the structure. */
ebm_status ebm_texture_gram_distance(ebm_texture *t, const float *a, int ha, int wa,
                                     const float *b, int hb, int wb, double *dist);

/* out (c×h×w) gets the image's pixels in a random order (every channel of
 * a pixel moves together): the same colour histogram, no structure — the
 * baseline of the Gram distance. */
void ebm_texture_shuffle_pixels(const float *image, int c, int h, int w, uint64_t seed, float *out);

/* The model's channels, and its architecture at size h×w (owned by t,
 * valid until the next call). */
int ebm_texture_channels(const ebm_texture *t);
const char *ebm_texture_arch(ebm_texture *t, int h, int w);

/* ------------------------------------------------- procedural textures */

/* Draws the named texture into out (c×h×w in [0, 1], c 1 or 3), the same
 * for the same seed: "checks" (a rotated checkerboard), "stripes" (wavy
 * bands of two colours), "blobs" (smoothed random discs). Unknown name →
 * EBM_ERR_ARG listing the names. */
ebm_status ebm_texture_make(const char *name, int c, int h, int w, uint64_t seed, float *out);
/* "checks, stripes, blobs". */
const char *ebm_texture_names(void);

#ifdef __cplusplus
}
#endif
#endif
