/* The layer registry: every JSON layer "type" and the file that implements
 * it. A new layer kind is one file defining a `layer_kind` (its contract is
 * in nn_internal.h) and one row here. */
#include <string.h>

#include "nn/nn_internal.h"

extern const layer_kind layer_conv2d, layer_linear, layer_avgpool2d, layer_global_sum_pool,
    layer_swish, layer_leaky_relu, layer_relu, layer_tanh, layer_sigmoid, layer_flatten,
    layer_reshape, layer_class_affine, layer_resblock, layer_conv_transpose2d, layer_upsample,
    layer_batchnorm2d, layer_logsumexp, layer_select, layer_cond_affine, layer_sigma_scale;
/* Glow's flow layers (issue 14). */
extern const layer_kind layer_actnorm;
/* Point clouds (issue 15 item 3). */
extern const layer_kind layer_point_linear, layer_point_pool, layer_point_cat_pool,
    layer_point_class_affine, layer_point_grid, layer_point_edge_conv, layer_point_rotate, layer_point_fourier;
/* Videos and voxels (issue 15 item 2). */
extern const layer_kind layer_conv3d, layer_conv_transpose3d;

static const layer_kind *const kinds[] = {
    &layer_conv2d,          /* layer_conv2d.c */
    &layer_linear,          /* layer_linear.c */
    &layer_avgpool2d,       /* layer_pool.c */
    &layer_global_sum_pool, /* layer_pool.c */
    &layer_swish,           /* layer_act.c */
    &layer_leaky_relu,      /* layer_act.c */
    &layer_relu,            /* layer_act.c */
    &layer_tanh,            /* layer_act.c */
    &layer_sigmoid,         /* layer_act.c */
    &layer_flatten,         /* layer_shape.c */
    &layer_reshape,         /* layer_shape.c */
    &layer_class_affine,    /* layer_class_affine.c */
    &layer_resblock,        /* resblock.c */
    &layer_conv_transpose2d,/* layer_conv_transpose2d.c */
    &layer_upsample,        /* layer_upsample.c */
    &layer_batchnorm2d,     /* layer_batchnorm2d.c */
    &layer_logsumexp,       /* layer_heads.c */
    &layer_select,          /* layer_heads.c */
    &layer_cond_affine,     /* layer_cond_affine.c */
    &layer_sigma_scale,     /* layer_sigma_scale.c */
    &layer_point_linear,    /* layer_points.c */
    &layer_point_pool,      /* layer_points.c */
    &layer_point_cat_pool,  /* layer_points.c */
    &layer_point_class_affine, /* layer_points.c */
    &layer_point_grid,      /* layer_points.c */
    &layer_point_edge_conv, /* layer_point_edge.c */
    &layer_point_rotate,    /* layer_point_rotate.c */
    &layer_point_fourier,   /* layer_point_fourier.c */
    /* videos and voxels */
    &layer_conv3d,          /* layer_conv3d.c */
    &layer_conv_transpose3d,/* layer_conv_transpose3d.c */
    /* flows */
    &layer_actnorm,         /* layer_actnorm.c */
};

#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

const layer_kind *layer_kind_find(const char *name) {
  for (int i = 0; i < NKINDS; i++)
    if (strcmp(kinds[i]->name, name) == 0) return kinds[i];
  return NULL;
}

void layer_kind_list(char *buf, size_t size) {
  size_t used = 0;
  if (size) buf[0] = 0;
  for (int i = 0; i < NKINDS && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", kinds[i]->name);
}

int layer_key_known(const char *key) {
  for (int i = 0; i < NKINDS; i++)
    for (const layer_key *k = kinds[i]->keys; k->key; k++)
      if (strcmp(k->key, key) == 0) return 1;
  return 0;
}
