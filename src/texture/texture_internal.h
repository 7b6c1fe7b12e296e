/* texture/texture_internal.h — what the files of src/texture share: the
 * model struct and the architectures. Not a public header. */
#ifndef EBM_TEXTURE_INTERNAL_H
#define EBM_TEXTURE_INTERNAL_H

#include "ebm.h"
#include "ebm/texture.h"

/* The smallest side a model accepts: the ConvNet's receptive field (5×5
 * stride 1, then three 3×3 stride 2: 5 + 2·1 + 2·2 + 2·4 = 19). */
#define TEXTURE_MIN_SIDE 19

/* A network at one image size, with its sampler (NULL until needed). */
typedef struct {
  int h, w;
  int64_t batch;
  ebm_net *net;
  ebm_energy *energy;
  ebm_sampler *sampler;
} texture_net;

struct ebm_texture {
  ebm_texture_config cfg;
  int c, h, w;              /* the training image */
  texture_net train;        /* at h×w for cfg.chains items: learning */
  texture_net other;        /* at another size: synthesis */
  texture_net features;     /* FRAME's Gabor bank: Gram statistics */
  ebm_adam *adam;
  ebm_rng rng;
  int frozen;               /* parameters [0, frozen) are fixed (FRAME's filter bank) */
  char *arch;               /* the last architecture ebm_texture_arch gave */
};

/* The architecture JSON of the model at h×w (malloc'd; NULL when out of
 * memory). features = 1: only the first layer and its activation. */
char *texture_arch_json(const ebm_texture_config *cfg, int c, int h, int w, int features);
/* How many leading parameters are a fixed filter bank (not learned). */
int texture_frozen_params(const ebm_texture_config *cfg);
/* Writes the Gabor bank and its thresholds into the first layer's weight
 * and bias (EBM_TEXTURE_GABOR only). */
void texture_gabor_fill(ebm_net *net, int c);
/* The bank's first channels that answer structure (the Gabor filters with
 * their thresholds; the rest see single pixels' levels). */
int texture_gabor_structure_channels(void);

/* (Re)builds tn (network and K-step sampler) for h×w and batch items, and
 * copies t's current parameters (t->train.net) into it. */
ebm_status texture_net_at(ebm_texture *t, texture_net *tn, int h, int w, int64_t batch);
void texture_net_free(texture_net *tn);

/* The chains' start: for each of `planes` h×w planes, uniform noise in
 * [0, 1] on the nodes of a grid `cell` px apart, bilinearly interpolated
 * (cell 1: every pixel independent, as in short-run MCMC from noise).
 * Coarse noise has no pixel speckle, which a short run of Langevin steps
 * with a clipped gradient leaves visibly unremoved (measured on checks).
 * grid is scratch of texture_start_grid_size(cell, h, w) floats. */
int64_t texture_start_grid_size(int cell, int h, int w);
void texture_chains_start(int cell, int64_t planes, int h, int w, ebm_rng *rng, float *grid, float *x);

#endif
