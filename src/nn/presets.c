/* Architecture presets, by name. Each expands to a full architecture JSON
 * (arch.c), which is what checkpoints store.
 *
 * mlp          vectors (2-D toys): linear D→W, swish, (W→W, swish)×(depth−1),
 *              W→1; W = 128, depth = 2 by default; with classes a
 *              class_affine (gain, bias per class) after every hidden linear.
 *              Names follow nn.Sequential: net.0, net.2, net.4.
 * mlp-generator  a generator for the 2-D toys: linear D→W, swish, (W→W,
 *              swish)×(depth−1), W→2, no output activation; D = in_dim is
 *              the latent dimension (2 by default), W = 128, depth = 2.
 *              Names follow nn.Sequential as mlp's.
 * conv-generator  a DCGAN-style generator for images (Radford et al. 2016
 *              without batch norm, so a sample never depends on the rest of
 *              its batch): z of D = in_dim (64) → C×H×W = "shape" (1×28×28;
 *              H, W multiples of 4), W = width (32):
 *                net.0  linear D→2W·(H/4)·(W/4)
 *                net.1  reshape 2W×H/4×W/4, net.2 swish
 *                net.3  conv_transpose2d 2W→W k4 s2 p1       W×H/2×W/2
 *                net.4  swish
 *                net.5  conv_transpose2d W→C k4 s2 p1        C×H×W
 *                net.6  tanh for "range" [-1, 1] (the default), sigmoid
 *                       for [0, 1]: the output lies in the data's range.
 *              ≈ 7 M multiply-adds per 28×28 image at W = 32.
 * voxel-generator  the conv-generator's form in 3-D, for 1×32³ voxel grids
 *              in [0, 1] (cooperative learning's generator on the voxelnet
 *              energy): z of D = in_dim (64), W = width (16):
 *                net.0  linear D→4W·4³
 *                net.1  reshape 4W×4×4×4 (as [4W·4, 4, 4]), net.2 swish
 *                net.3  conv_transpose3d 4W→2W k4 s2 p1     2W×8³
 *                net.5  conv_transpose3d 2W→W k4 s2 p1      W×16³
 *                net.7  conv_transpose3d W→1 k4 s2 p1       1×32³
 *                       (swish after each but the last)
 *                net.8  sigmoid: occupancies in [0, 1]
 *              ≈ 29 M multiply-adds per grid at W = 16.
 * video-generator  the same for 1×16×64×64 videos in [0, 1] (cooperative
 *              learning's generator on the video-st energy, issue 15): z of
 *              D = in_dim (64), W = width (16), a start of 2 frames × 8×8:
 *                net.0  linear D→4W·2·8·8
 *                net.1  reshape 4W×2×8×8 (as [4W·2, 8, 8]), net.2 swish
 *                net.3  conv_transpose3d 4W→2W k4 s2 p1     2W×4×16×16
 *                net.5  conv_transpose3d 2W→W k4 s2 p1      W×8×32×32
 *                net.7  conv_transpose3d W→1 k4 s2 p1       1×16×64×64
 *                       (swish after each but the last)
 *                net.8  sigmoid: grey levels in [0, 1]
 *              Every output voxel is a function of all of z (the linear),
 *              so one draw can hold one item through all 16 frames; the
 *              cubic kernels tie 2 frames of each scale to the next.
 *              ≈ 59 M multiply-adds per video at W = 16.
 * point-generator  a generator for point clouds (cooperative learning's
 *              generator on the pointnet energy, issue 15): z of D = in_dim
 *              (64) → 1×P×3 = "shape" ([1, 128, 3]) in [-1, 1], W = width
 *              (256):
 *                net.0  linear D→W, net.1 swish
 *                net.2  linear W→W, net.3 swish
 *                net.4  linear W→3P
 *                net.5  reshape 1×P×3, net.6 tanh
 *              Every output point has its own rows of net.4's weight, so
 *              one draw can put point i on one face and point j on another:
 *              what a start fitted to the clouds cannot, since their points
 *              are drawn independently and in random order (the same blob
 *              at every index). ≈ 0.18 M multiply-adds per cloud at W 256.
 *              "rotate": true — z sets the orientation: net.4 gives P + 2
 *              rows, net.5 reshapes to 1×(P+2)×3, and net.7 point_rotate
 *              turns the draft (rows 2…) by the rotation of rows 0 and 1
 *              (Gram–Schmidt, Zhou et al. 2019), so the drafts can be one
 *              shape and the clouds come in every orientation.
 * point-folding-generator  the generator side of FoldingNet (Yang et al.
 *              2018): z of D = in_dim (64) → 1×P×3 = "shape" ([1, 128, 3])
 *              in [-1, 1], W = width (128):
 *                net.0  linear D→W (the cloud's code), net.1 swish
 *                net.2  point_grid: each of the P points gets the code and
 *                       its own u_i of a fixed 8×16 grid on [-1, 1]²
 *                net.3  point_linear W+2→W, net.4 swish
 *                net.5  point_linear W→W, net.6 swish
 *                net.7  point_linear W→3, net.8 tanh
 *              Every point is the SAME map of (z, u_i), so a cloud is a
 *              continuous image of a square: a surface (a box's faces, a
 *              torus — a square with its edges glued), where
 *              point-generator's rows per point can put each point
 *              anywhere. One fold (FoldingNet's second, on (z, first fold),
 *              is not built). ≈ 4.2 M multiply-adds per cloud at W 128.
 *              "template": "sphere" | "torus" folds a closed template
 *              instead of the square (point_grid's keys: P points on the
 *              unit sphere, or (cos u, sin u, cos v, sin v) on an 8×16 grid
 *              of angles): a box's surface is a sphere's image, a torus the
 *              torus's, where a square can cover one face. "rotate": true
 *              — the grid gets 2 head rows (the code and a one-hot, no
 *              template point), the shared map turns them into a and b,
 *              and net.9 point_rotate turns the folded draft by their
 *              rotation: z sets the orientation.
 * uva-cnn      exactly CNNModel of bench/torch_reference.py (the PyTorch
 *              MNIST EBM tutorial), same parameter names: Conv(0) Swish(1)
 *              Conv(2) Swish(3) Conv(4) Swish(5) Conv(6) Swish(7) Flatten(8)
 *              Linear(9) Swish(10) Linear(11); input 1×28×28 in [-1, 1],
 *              or C×H×W = "shape" in "range" (the linear takes what the
 *              convolutions leave: 64×2×2 at 28×28, 64×3×3 at 32×32).
 * igebm-mnist  Du & Mordatch A.10 (Figure 12) at MNIST size, spectral norm on
 *              every weight, swish (A.12: "a noticeable boost to training
 *              stability"), input 1×28×28 in [0, 1]:
 *                conv_in   3×3 conv 1→32, pad 1           32×28×28
 *                blocks.0  ResBlock down 32                32×14×14
 *                blocks.1  ResBlock down 64 (1×1 shortcut) 64×7×7
 *                blocks.2  ResBlock 64                     64×7×7
 *                global sum pooling                        64
 *                dense     linear 64→1
 *              Half the width the brief suggested (64/128): ≈ 30 M multiply-
 *              adds per image instead of ≈ 120 M, so a 60-step Langevin
 *              chain on 128 images stays trainable on 2 CPU cores. "width"
 *              (the compact form) sets the base width.
 * igebm-cifar  Figure 12a (conditional CIFAR-10): conv 3→128, ResBlock down
 *              128, ResBlock 128, ResBlock down 256, ResBlock 256, ResBlock
 *              down 256, ResBlock 256, global sum pooling, dense → 1; input
 *              3×32×32 in [0, 1].
 * pointnet     a PointNet energy on clouds of P points (Qi et al. 2017; Xie &
 *              Wu's generative PointNet), input 1×P×3 in [-1, 1] (P = 128,
 *              or "in_dim"), W = 64 ("width"): the shared per-point MLP
 *              point_linear 3→W, W→W (each + swish), point_cat_pool (each
 *              point's W features + the cloud's max and mean, 3W: PointNet's
 *              segmentation head), point_linear 3W→W, W→2W (each + swish),
 *              point_pool (max and mean over the points, 4W), linear 4W→W,
 *              swish, W→1. Names as nn.Sequential: net.0 … net.12 (net.4
 *              and net.9 the pools). With classes it is E(x, y): a
 *              point_class_affine (a gain and bias per class and feature)
 *              after each of the four point_linear, so the class reaches
 *              the per-point field (as voxelnet's class_affine after each
 *              conv3d), and a class_affine after the linear 4W→W: net.0
 *              point_linear, net.1 its table, net.2 swish, net.3, net.4,
 *              net.5, net.6 point_cat_pool, net.7–9, net.10–12, net.13
 *              point_pool, net.14 linear, net.15 class_affine, net.16
 *              swish, net.17 linear. Without classes the names and bits
 *              are the unconditional preset's (net.0 … net.12).
 * dgcnn        the pointnet energy with its first two per-point maps made
 *              edge convolutions (DGCNN, Wang et al. 2019): point_edge_conv
 *              3→W and W→W over each point's k nearest neighbours (k =
 *              "k", 16; the first in coordinates, the second in its
 *              features), the rest and the names as pointnet's (net.0 and
 *              net.2 the edge convolutions). A point's features then say
 *              how its neighbourhood lies — flat on a face, bent on a ring —
 *              under any rotation, where pointnet's see each point alone.
 *              Takes classes as pointnet does.
 * jem-cnn      a 10-class classifier for JEM (Grathwohl et al. 2020) at
 *              MNIST size, a small wide-ResNet-style stack without spectral
 *              norm (JEM's WRN has none), swish, input 1×28×28 in [0, 1]:
 *                conv_in   3×3 conv 1→16, pad 1            16×28×28
 *                blocks.0  ResBlock down 16                 16×14×14
 *                blocks.1  ResBlock down 32 (1×1 shortcut)  32×7×7
 *                blocks.2  ResBlock 32                      32×7×7
 *                pool      7×7 average (global mean)        32
 *                dense     linear 32→10                     the logits
 *              ≈ 7 M multiply-adds per image (JEM's WRN-28-10 is ≈ 5 G),
 *              so 20 SGLD steps on a batch fit 2 CPU cores. "width" sets
 *              the base width (16). Its logits are its classes, so it takes
 *              no "classes".
 * Residual blocks are described in nn_internal.h; their second conv starts
 * at N(0, 1e-10) (A.10). The igebm presets take class conditioning. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

#define PRESET_MAX_LAYERS 64

typedef struct {
  arch_spec spec;
  layer_spec layers[PRESET_MAX_LAYERS];
} preset_builder;

/* A layer of the named type with its JSON defaults. */
static layer_spec *push(preset_builder *b, const char *type, const char *name) {
  layer_spec *ls = &b->layers[b->spec.nlayers++];
  layer_spec_defaults(ls, layer_kind_find(type), 0);
  if (name) snprintf(ls->name, sizeof ls->name, "%s", name);
  return ls;
}

/* A Sequential child: "net.<index>", the index counting every module. */
static layer_spec *push_seq(preset_builder *b, const char *type) {
  char name[32];
  snprintf(name, sizeof name, "net.%d", b->spec.nlayers);
  return push(b, type, layer_kind_find(type)->named ? name : NULL);
}

static void build_mlp(preset_builder *b, int classes, int in_dim, int width, int depth) {
  b->spec.input_ndim = 1;
  b->spec.input[0] = in_dim > 0 ? in_dim : 2;
  for (int i = 0; i < depth; i++) {
    push_seq(b, "linear")->out = width;
    if (classes > 0) push_seq(b, "class_affine");
    push_seq(b, "swish");
  }
  push_seq(b, "linear")->out = 1;
}

/* The 2-D toys' generator (method_gebm.c): the mlp body with a 2-D output. */
static void build_mlp_generator(preset_builder *b, int latent_dim, int width, int depth) {
  build_mlp(b, 0, latent_dim, width, depth);
  b->layers[b->spec.nlayers - 1].out = 2;
}

static void conv(layer_spec *ls, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  ls->out = out;
  ls->kernel = k;
  ls->stride = stride;
  ls->pad = pad;
}

/* The item shape and range of an image preset: the options' or 1×28×28 in [lo, hi]. */
static void image_input(preset_builder *b, const preset_opts *o, double lo, double hi) {
  b->spec.input_ndim = 3;
  b->spec.input[0] = o->shape_ndim ? o->shape[0] : 1;
  b->spec.input[1] = o->shape_ndim ? o->shape[1] : 28;
  b->spec.input[2] = o->shape_ndim ? o->shape[2] : 28;
  b->spec.has_range = 1;
  b->spec.range_lo = o->has_range ? o->range_lo : lo;
  b->spec.range_hi = o->has_range ? o->range_hi : hi;
}

static void build_uva_cnn(preset_builder *b, const preset_opts *o, int hidden) {
  int64_t h1 = hidden / 2, h2 = hidden, h3 = hidden * 2;
  image_input(b, o, -1.0, 1.0);
  conv(push_seq(b, "conv2d"), h1, 5, 2, 4);
  push_seq(b, "swish");
  conv(push_seq(b, "conv2d"), h2, 3, 2, 1);
  push_seq(b, "swish");
  conv(push_seq(b, "conv2d"), h3, 3, 2, 1);
  push_seq(b, "swish");
  conv(push_seq(b, "conv2d"), h3, 3, 2, 1);
  push_seq(b, "swish");
  push_seq(b, "flatten");
  push_seq(b, "linear")->out = h3;
  push_seq(b, "swish");
  push_seq(b, "linear")->out = 1;
}

/* conv-generator (the header above). The input spec holds z; the image
 * shape and range only decide the layers. */
static ebm_status build_conv_generator(preset_builder *b, const preset_opts *o, int latent, int width) {
  image_input(b, o, -1.0, 1.0);
  const int64_t c = b->spec.input[0], h = b->spec.input[1], w = b->spec.input[2];
  const double lo = b->spec.range_lo, hi = b->spec.range_hi;
  if (h % 4 || w % 4)
    return ebm_set_error(EBM_ERR_ARG, "preset 'conv-generator': the image's height and width must be multiples "
                         "of 4 (two stride-2 up-samplings), got %lldx%lld", (long long)h, (long long)w);
  if (!((lo == -1 && hi == 1) || (lo == 0 && hi == 1)))
    return ebm_set_error(EBM_ERR_ARG, "preset 'conv-generator': range must be [-1, 1] (tanh) or [0, 1] "
                         "(sigmoid), got [%g, %g]", lo, hi);
  b->spec.input_ndim = 1;
  b->spec.input[0] = latent;
  b->spec.has_range = 0;
  push_seq(b, "linear")->out = 2 * width * (h / 4) * (w / 4);
  layer_spec *ls = push_seq(b, "reshape");
  ls->shape_ndim = 3;
  ls->shape[0] = 2 * width, ls->shape[1] = h / 4, ls->shape[2] = w / 4;
  push_seq(b, "swish");
  conv(push_seq(b, "conv_transpose2d"), width, 4, 2, 1);
  push_seq(b, "swish");
  conv(push_seq(b, "conv_transpose2d"), c, 4, 2, 1);
  push_seq(b, lo < 0 ? "tanh" : "sigmoid");
  return EBM_OK;
}

/* voxel-generator and video-generator (the header above): a linear to
 * 4W channels on a start volume, then conv_transpose3d k4 s2 p1 doubling
 * depth, height and width until the output's, the last to one channel. */
static void build_volume_generator(preset_builder *b, int latent, int64_t w, int64_t depth, int64_t side,
                                   int64_t out_depth) {
  b->spec.input_ndim = 1;
  b->spec.input[0] = latent;
  push_seq(b, "linear")->out = 4 * w * depth * side * side;
  layer_spec *ls = push_seq(b, "reshape");
  ls->shape_ndim = 3;
  ls->shape[0] = 4 * w * depth, ls->shape[1] = ls->shape[2] = side;
  int64_t channels = 4 * w;
  while (depth < out_depth) {
    push_seq(b, "swish");
    channels = depth * 2 == out_depth ? 1 : channels / 2;
    ls = push_seq(b, "conv_transpose3d");
    conv(ls, channels, 4, 2, 1);
    ls->depth = depth;
    depth *= 2;
  }
  push_seq(b, "sigmoid");
}

/* The points P of a cloud generator's "shape" [1, P, 3] (128 when not
 * given), refusing other shapes and a range other than tanh's [-1, 1]. */
static ebm_status cloud_generator_points(const char *preset, const preset_opts *o, int64_t *points) {
  *points = o->shape_ndim ? o->shape[1] : 128;
  if (o->shape_ndim && (o->shape_ndim != 3 || o->shape[0] != 1 || o->shape[2] != 3)) {
    char given[64];
    return ebm_set_error(EBM_ERR_ARG, "preset '%s': shape must be a cloud [1, P, 3], got %s", preset,
                         ebm_shape_str(o->shape_ndim, o->shape, given, sizeof given));
  }
  if (o->has_range && !(o->range_lo == -1 && o->range_hi == 1))
    return ebm_set_error(EBM_ERR_ARG, "preset '%s': range must be [-1, 1] (tanh), got [%g, %g]", preset,
                         o->range_lo, o->range_hi);
  return EBM_OK;
}

/* point-generator (the header above): an MLP onto the cloud's 3P numbers. */
static ebm_status build_point_generator(preset_builder *b, const preset_opts *o, int latent, int width) {
  int64_t points;
  ebm_status st = cloud_generator_points("point-generator", o, &points);
  if (st) return st;
  b->spec.input_ndim = 1;
  b->spec.input[0] = latent;
  for (int i = 0; i < 2; i++) {
    push_seq(b, "linear")->out = width;
    push_seq(b, "swish");
  }
  const int64_t rows = points + (o->rotate ? 2 : 0); /* a, b first: point_rotate */
  push_seq(b, "linear")->out = 3 * rows;
  layer_spec *ls = push_seq(b, "reshape");
  ls->shape_ndim = 3;
  ls->shape[0] = 1, ls->shape[1] = rows, ls->shape[2] = 3;
  push_seq(b, "tanh");
  if (o->rotate) push_seq(b, "point_rotate");
  return EBM_OK;
}

/* point-folding-generator (the header above): one shared map (code, u) → point. */
static ebm_status build_point_folding_generator(preset_builder *b, const preset_opts *o, int latent, int width) {
  int64_t points;
  ebm_status st = cloud_generator_points("point-folding-generator", o, &points);
  if (st) return st;
  b->spec.input_ndim = 1;
  b->spec.input[0] = latent;
  push_seq(b, "linear")->out = width;
  push_seq(b, "swish");
  layer_spec *grid = push_seq(b, "point_grid");
  grid->points = points;
  grid->grid_template = o->grid_template >= 0 ? o->grid_template : TEMPLATE_SQUARE;
  grid->heads = o->rotate ? 2 : 0; /* a and b for point_rotate, from the same shared map */
  for (int i = 0; i < 2; i++) {
    push_seq(b, "point_linear")->out = width;
    push_seq(b, "swish");
  }
  push_seq(b, "point_linear")->out = 3;
  push_seq(b, "tanh");
  if (o->rotate) push_seq(b, "point_rotate");
  return EBM_OK;
}

/* Du & Mordatch A.10: residual network, spectral norm on all weights. */
static void build_igebm(preset_builder *b, int64_t c, int64_t h, const int64_t *widths,
                        const int *down, int nblocks, int64_t base) {
  b->spec.input_ndim = 3;
  b->spec.input[0] = c;
  b->spec.input[1] = b->spec.input[2] = h;
  b->spec.has_range = 1;
  b->spec.range_lo = 0.0;
  b->spec.range_hi = 1.0;
  layer_spec *ls = push(b, "conv2d", "conv_in");
  conv(ls, base, 3, 1, 1);
  ls->spectral_norm = 1;
  for (int i = 0; i < nblocks; i++) {
    char name[32];
    snprintf(name, sizeof name, "blocks.%d", i);
    ls = push(b, "resblock", name);
    ls->out = widths[i];
    ls->down = down[i];
    ls->spectral_norm = 1;
  }
  push(b, "global_sum_pool", NULL);
  ls = push(b, "linear", "dense");
  ls->out = 1;
  ls->spectral_norm = 1;
}

/* JEM's classifier (the header above): blocks as IGEBM's, no spectral norm,
 * a global mean instead of the sum, K = 10 logits. */
static void build_jem_cnn(preset_builder *b, int64_t w) {
  const int64_t widths[] = {w, 2 * w, 2 * w};
  const int down[] = {1, 1, 0};
  build_igebm(b, 1, 28, widths, down, 3, w);
  b->spec.nlayers -= 2; /* the sum pool and the dense → 1 */
  for (int i = 0; i < b->spec.nlayers; i++) b->layers[i].spectral_norm = 0;
  push(b, "avgpool2d", NULL)->kernel = 7;
  push(b, "flatten", NULL);
  push(b, "linear", "dense")->out = 10;
}

/* pointnet, and dgcnn (edge_k > 0): its first two per-point maps are edge
 * convolutions over each point's edge_k nearest neighbours. */
static void build_pointnet(preset_builder *b, int points, int width, int classes, int edge_k) {
  b->spec.input_ndim = 3;
  b->spec.input[0] = 1;
  b->spec.input[1] = points;
  b->spec.input[2] = 3;
  b->spec.has_range = 1;
  b->spec.range_lo = -1.0;
  b->spec.range_hi = 1.0;
  /* Two per-point stages; the second sees the cloud (point_cat_pool), so a
   * point's pull can depend on the shape it is part of (README: on one
   * class of shapes this made rings where the one-stage net made slabs). */
  const int64_t widths[] = {width, width, 0, width, 2 * width};
  for (int i = 0; i < 5; i++) {
    if (!widths[i]) {
      push_seq(b, "point_cat_pool");
      continue;
    }
    layer_spec *ls = push_seq(b, edge_k > 0 && i < 2 ? "point_edge_conv" : "point_linear");
    ls->out = widths[i];
    if (edge_k > 0 && i < 2) ls->neighbours = edge_k;
    if (classes > 0) push_seq(b, "point_class_affine");
    push_seq(b, "swish");
  }
  push_seq(b, "point_pool");
  push_seq(b, "linear")->out = width;
  if (classes > 0) push_seq(b, "class_affine"); /* E(x, y): a gain and bias per class, as mlp's */
  push_seq(b, "swish");
  push_seq(b, "linear")->out = 1;
}

/* Volumes (issue 15 item 2): three conv3d k3 s2 p1 with swish, halving
 * depth, height and width each time and doubling the channels (w, 2w,
 * 4w), global sum pooling over H×W, linear → 1. The input is C×D×H×W
 * folded to [C·D, H, W] (layer_conv3d.c); each conv3d gets its depth.
 *   video-convnet  the spatial-temporal generative ConvNet (Xie et al.
 *                  2017) at Moving-MNIST size: 1×16×64×64, w = 8
 *   voxelnet       the generative VoxelNet (Xie et al. 2018) at 1×32³, w = 8
 * Names follow nn.Sequential: net.0, net.2, net.4 the convolutions, net.6
 * the pool, net.7 the linear. With classes, E(x, y): a class_affine (a
 * gain and bias per class and channel, tables [classes, C·D] on the folded
 * output) after every conv3d, as voxelnet-4layer-cond.json, so the class
 * reaches every scale of the features (net.0, net.3, net.6 the convs,
 * net.1, net.4, net.7 the tables, net.9 the pool, net.10 the linear). */
static void build_volume_convnet(preset_builder *b, int64_t depth, int64_t side, int64_t w, int classes) {
  b->spec.input_ndim = 3;
  b->spec.input[0] = depth;  /* C = 1 */
  b->spec.input[1] = b->spec.input[2] = side;
  b->spec.has_range = 1;
  b->spec.range_lo = 0;
  b->spec.range_hi = 1;
  for (int i = 0; i < 3; i++) {
    layer_spec *ls = push_seq(b, "conv3d");
    conv(ls, w << i, 3, 2, 1);
    ls->depth = depth;
    depth = (depth + 2 - 3) / 2 + 1;
    if (classes > 0) push_seq(b, "class_affine");
    push_seq(b, "swish");
  }
  push_seq(b, "global_sum_pool");
  push_seq(b, "linear")->out = 1;
}

/* video-st: a spatial-temporal energy for 1×16×64×64 videos in [0, 1]
 * whose features see a whole 28×28 item (issue 15; video-convnet's three
 * cubic k3 s2 convs see ~15 px and have 14 k parameters). Frames first,
 * each on its own with shared weights (conv3d with kernel_depth 1: a
 * conv2d of every frame), then frames tied in time:
 *   net.0  conv3d 1→w    k4 s2 p1, depth k1 s1 p0    w×16×32×32
 *   net.2  conv3d w→2w   k3 s2 p1, depth k1 s1 p0    2w×16×16×16
 *   net.4  conv3d 2w→4w  k3 s2 p1, depth k1 s1 p0    4w×16×8×8   (44 px seen)
 *   net.6  conv3d 4w→4w  k3 s2 p1, depth k3 s2 p1    4w×8×4×4    (3 frames)
 *   net.8  conv3d 4w→4w  k3 s1 p1, depth k3 s2 p1    4w×4×4×4    (7 frames)
 *   net.10 flatten, net.11 linear → 1
 * with swish after every conv (w = 16: ≈ 63 M multiply-adds per video,
 * 9× video-convnet's). The flatten keeps where and when a part is, as
 * uva-cnn's linear does for images. */
static void build_video_st(preset_builder *b, int64_t w) {
  b->spec.input_ndim = 3;
  b->spec.input[0] = 16;
  b->spec.input[1] = b->spec.input[2] = 64;
  b->spec.has_range = 1;
  b->spec.range_lo = 0;
  b->spec.range_hi = 1;
  static const struct {
    int64_t mult, k, stride, kd, sd, pd;
  } convs[] = {{1, 4, 2, 1, 1, 0}, {2, 3, 2, 1, 1, 0}, {4, 3, 2, 1, 1, 0}, {4, 3, 2, 3, 2, 1}, {4, 3, 1, 3, 2, 1}};
  int64_t depth = 16;
  for (int i = 0; i < 5; i++) {
    layer_spec *ls = push_seq(b, "conv3d");
    conv(ls, convs[i].mult * w, convs[i].k, convs[i].stride, 1);
    ls->depth = depth;
    ls->kernel_d = convs[i].kd;
    ls->stride_d = convs[i].sd;
    ls->pad_d = convs[i].pd;
    depth = (depth + 2 * convs[i].pd - convs[i].kd) / convs[i].sd + 1;
    push_seq(b, "swish");
  }
  push_seq(b, "flatten");
  push_seq(b, "linear")->out = 1;
}

/* ------------------------------------------------------------ the table */

/* What a preset takes besides "width" (every preset takes one), checked
 * before it is built so that every preset refuses the same way. */
enum {
  TAKES_IN_DIM = 1,      /* mlp's inputs, a generator's latent, pointnet's points per cloud */
  TAKES_SHAPE = 2,       /* "shape" [C, H, W] and "range" of an image */
  TAKES_CLOUD_SHAPE = 4, /* "shape" [1, P, 3] and "range" of a cloud */
  TAKES_DEPTH = 8,       /* mlp's hidden layers */
  TAKES_CLASSES = 16,
  TAKES_K = 32,          /* dgcnn's neighbours */
  TAKES_ROTATE = 64,     /* the point generators' "rotate" */
  TAKES_TEMPLATE = 128,  /* the folding generator's "template" */
};

static int width_or(const preset_opts *o, int def) { return o->width > 0 ? o->width : def; }
static int latent_or(const preset_opts *o) { return o->in_dim > 0 ? o->in_dim : 64; }

static ebm_status mlp_depth(const preset_opts *o, int *depth) {
  *depth = o->depth >= 0 ? o->depth : 2;
  if (*depth > PRESET_MAX_LAYERS / 3 - 1)
    return ebm_set_error(EBM_ERR_ARG, "preset 'mlp': depth %d is more than %d", *depth, PRESET_MAX_LAYERS / 3 - 1);
  return EBM_OK;
}

static ebm_status make_mlp(preset_builder *b, const preset_opts *o) {
  int depth;
  ebm_status st = mlp_depth(o, &depth);
  if (st == EBM_OK) build_mlp(b, o->classes, o->in_dim, width_or(o, 128), depth);
  return st;
}

static ebm_status make_mlp_generator(preset_builder *b, const preset_opts *o) {
  int depth;
  ebm_status st = mlp_depth(o, &depth);
  if (st == EBM_OK) build_mlp_generator(b, o->in_dim, width_or(o, 128), depth);
  return st;
}

static ebm_status make_conv_generator(preset_builder *b, const preset_opts *o) {
  return build_conv_generator(b, o, latent_or(o), width_or(o, 32));
}

static ebm_status make_voxel_generator(preset_builder *b, const preset_opts *o) {
  build_volume_generator(b, latent_or(o), width_or(o, 16), 4, 4, 32);
  return EBM_OK;
}

static ebm_status make_video_generator(preset_builder *b, const preset_opts *o) {
  build_volume_generator(b, latent_or(o), width_or(o, 16), 2, 8, 16);
  return EBM_OK;
}

static ebm_status make_point_generator(preset_builder *b, const preset_opts *o) {
  return build_point_generator(b, o, latent_or(o), width_or(o, 256));
}

static ebm_status make_point_folding_generator(preset_builder *b, const preset_opts *o) {
  return build_point_folding_generator(b, o, latent_or(o), width_or(o, 128));
}

static ebm_status make_uva_cnn(preset_builder *b, const preset_opts *o) {
  build_uva_cnn(b, o, width_or(o, 32));
  return EBM_OK;
}

static ebm_status make_igebm_mnist(preset_builder *b, const preset_opts *o) {
  const int64_t w = width_or(o, 32), widths[] = {w, 2 * w, 2 * w};
  const int down[] = {1, 1, 0};
  build_igebm(b, 1, 28, widths, down, 3, w);
  return EBM_OK;
}

static ebm_status make_igebm_cifar(preset_builder *b, const preset_opts *o) {
  const int64_t w = width_or(o, 128), widths[] = {w, w, 2 * w, 2 * w, 2 * w, 2 * w};
  const int down[] = {1, 0, 1, 0, 1, 0};
  build_igebm(b, 3, 32, widths, down, 6, w);
  return EBM_OK;
}

static ebm_status make_pointnet(preset_builder *b, const preset_opts *o) {
  build_pointnet(b, o->in_dim > 0 ? o->in_dim : 128, width_or(o, 64), o->classes, 0);
  return EBM_OK;
}

static ebm_status make_dgcnn(preset_builder *b, const preset_opts *o) {
  const int points = o->in_dim > 0 ? o->in_dim : 128, k = o->k > 0 ? o->k : 16;
  if (k > points)
    return ebm_set_error(EBM_ERR_ARG, "preset 'dgcnn': k = %d neighbours is more than the cloud's %d points", k, points);
  build_pointnet(b, points, width_or(o, 64), o->classes, k);
  return EBM_OK;
}

static ebm_status make_video_convnet(preset_builder *b, const preset_opts *o) {
  build_volume_convnet(b, 16, 64, width_or(o, 8), o->classes);
  return EBM_OK;
}

static ebm_status make_voxelnet(preset_builder *b, const preset_opts *o) {
  build_volume_convnet(b, 32, 32, width_or(o, 8), o->classes);
  return EBM_OK;
}

static ebm_status make_video_st(preset_builder *b, const preset_opts *o) {
  build_video_st(b, width_or(o, 16));
  return EBM_OK;
}

static ebm_status make_jem_cnn(preset_builder *b, const preset_opts *o) {
  build_jem_cnn(b, width_or(o, 16));
  return EBM_OK;
}

/* Every preset: a new one is one row (and its builder above). */
static const struct {
  const char *name;
  int takes;
  const char *no_classes; /* why it refuses classes, when more than "takes no classes" */
  ebm_status (*make)(preset_builder *b, const preset_opts *o);
} presets[] = {
    {"mlp", TAKES_IN_DIM | TAKES_DEPTH | TAKES_CLASSES, NULL, make_mlp},
    {"mlp-generator", TAKES_IN_DIM | TAKES_DEPTH, NULL, make_mlp_generator},
    {"conv-generator", TAKES_IN_DIM | TAKES_SHAPE, NULL, make_conv_generator},
    {"voxel-generator", TAKES_IN_DIM, NULL, make_voxel_generator},
    {"video-generator", TAKES_IN_DIM, NULL, make_video_generator},
    {"point-generator", TAKES_IN_DIM | TAKES_CLOUD_SHAPE | TAKES_ROTATE, NULL, make_point_generator},
    {"point-folding-generator", TAKES_IN_DIM | TAKES_CLOUD_SHAPE | TAKES_ROTATE | TAKES_TEMPLATE, NULL,
     make_point_folding_generator},
    {"uva-cnn", TAKES_SHAPE, "is the unconditional CNNModel of the PyTorch reference; it takes no classes",
     make_uva_cnn},
    {"igebm-mnist", TAKES_CLASSES, NULL, make_igebm_mnist},
    {"igebm-cifar", TAKES_CLASSES, NULL, make_igebm_cifar},
    {"pointnet", TAKES_IN_DIM | TAKES_CLASSES, NULL, make_pointnet},
    {"dgcnn", TAKES_IN_DIM | TAKES_CLASSES | TAKES_K, NULL, make_dgcnn},
    {"video-convnet", TAKES_CLASSES, NULL, make_video_convnet},
    {"video-st", 0, NULL, make_video_st},
    {"voxelnet", TAKES_CLASSES, NULL, make_voxelnet},
    {"jem-cnn", 0, "is a classifier: its 10 logits are the classes, so it takes no \"classes\"", make_jem_cnn},
};

/* "mlp, mlp-generator, ...": the names of the table, for messages. */
static const char *preset_names(void) {
  static char names[512];
  if (!names[0])
    for (size_t i = 0, used = 0; i < sizeof presets / sizeof *presets; i++)
      used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", presets[i].name);
  return names;
}

/* The options the preset does not take, refused in one line naming them. */
static ebm_status check_takes(const char *name, int takes, const char *no_classes, const preset_opts *o) {
  if (!(takes & TAKES_IN_DIM) && o->in_dim > 0)
    return ebm_set_error(EBM_ERR_ARG, "preset '%s' takes images; in_dim is only for 'mlp', the generators' latent "
                                      "and 'pointnet' / 'dgcnn' (points per cloud)", name);
  if (!(takes & (TAKES_SHAPE | TAKES_CLOUD_SHAPE)) && (o->shape_ndim || o->has_range))
    return ebm_set_error(EBM_ERR_ARG, "preset '%s' has a fixed input; shape and range are only for 'uva-cnn', "
                                      "'conv-generator' and the point generators", name);
  if ((takes & TAKES_SHAPE) && o->shape_ndim && o->shape_ndim != 3)
    return ebm_set_error(EBM_ERR_ARG, "preset '%s': shape must be [C, H, W], got %d numbers", name, o->shape_ndim);
  if (!(takes & TAKES_DEPTH) && o->depth >= 0)
    return ebm_set_error(EBM_ERR_ARG, "preset '%s' has a fixed depth; depth is only for 'mlp'", name);
  if (!(takes & TAKES_K) && o->k > 0)
    return ebm_set_error(EBM_ERR_ARG, "preset '%s' takes no k; k (neighbours) is only for 'dgcnn'", name);
  if (!(takes & TAKES_ROTATE) && o->rotate)
    return ebm_set_error(EBM_ERR_ARG, "preset '%s' takes no rotate; rotate is only for 'point-generator' and "
                                      "'point-folding-generator'", name);
  if (!(takes & TAKES_TEMPLATE) && o->grid_template >= 0)
    return ebm_set_error(EBM_ERR_ARG, "preset '%s' takes no template; template is only for 'point-folding-generator'",
                         name);
  if (!(takes & TAKES_CLASSES) && o->classes > 0)
    return ebm_set_error(EBM_ERR_ARG, "preset '%s' %s", name, no_classes ? no_classes : "takes no classes");
  return EBM_OK;
}

ebm_status arch_preset_json(const char *name, const preset_opts *opts, char **json) {
  *json = NULL;
  if (!name) return ebm_set_error(EBM_ERR_ARG, "no preset name given (%s)", preset_names());
  if (opts->classes < 0) return ebm_set_error(EBM_ERR_ARG, "preset '%s': classes must be >= 0", name);
  size_t k = 0;
  while (k < sizeof presets / sizeof *presets && strcmp(presets[k].name, name) != 0) k++;
  if (k == sizeof presets / sizeof *presets)
    return ebm_set_error(EBM_ERR_ARG, "unknown architecture preset '%s' (presets: %s)", name, preset_names());
  ebm_status st = check_takes(name, presets[k].takes, presets[k].no_classes, opts);
  if (st != EBM_OK) return st;
  preset_builder *b = calloc(1, sizeof *b);
  if (!b) return ebm_set_error(EBM_ERR_NOMEM, "out of memory building preset '%s'", name);
  b->spec.layers = b->layers;
  snprintf(b->spec.preset, sizeof b->spec.preset, "%s", name);
  if ((st = presets[k].make(b, opts)) == EBM_OK) {
    b->spec.classes = opts->classes;
    *json = arch_spec_to_json(&b->spec);
    if (!*json) st = ebm_set_error(EBM_ERR_NOMEM, "out of memory writing preset '%s'", name);
  }
  free(b);
  return st;
}

ebm_status ebm_arch_preset(const char *name, int num_classes, int in_dim, char **json) {
  const preset_opts opts = {.classes = num_classes, .in_dim = in_dim, .depth = -1, .grid_template = -1};
  return arch_preset_json(name, &opts, json);
}
