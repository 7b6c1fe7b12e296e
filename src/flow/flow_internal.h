/* The flow's struct, shared by flow.c (building), flow_passes.c (the
 * passes), flow_glow.c (actnorm and the invertible 1×1 convolution) and
 * flow_io.c (checkpoints, the energy view). */
#ifndef EBM_FLOW_INTERNAL_H
#define EBM_FLOW_INTERNAL_H

#include "ebm.h"

#define FLOW_MAX_COUPLINGS 64
#define FLOW_MAX_LAYERS (3 * FLOW_MAX_COUPLINGS)
#define FLOW_PART_NAME_SIZE 16

/* What a layer of the flow is; each has one ebm_net (part of the checkpoint). */
typedef enum {
  FLOW_COUPLING = 0, /* part "flow_<l>": the s, t network, item → 2·item */
  FLOW_ACTNORM,      /* part "actnorm_<l>": one actnorm layer "actnorm" (bias, logs [C]) */
  FLOW_INVCONV       /* part "invconv_<l>": a bias-free 1×1 conv2d (images) or linear (vectors) "invconv" */
} flow_layer_kind;

struct ebm_flow {
  ebm_flow_spec spec;
  int item_ndim;
  int64_t item_shape[3];
  int64_t item;                /* D: floats per item */
  int64_t channels, hw;        /* C and H·W of an item (vectors: D and 1) */
  int64_t max_batch;
  int nlayers;                 /* K: per coupling l, [actnorm_l] [invconv_l] coupling_l */
  flow_layer_kind *kinds;      /* [K] */
  ebm_net **nets;              /* [K] each layer's network */
  float **masks;               /* [K] b of each coupling (1 = kept); NULL for the others */
  char (*part_names)[FLOW_PART_NAME_SIZE]; /* [K] */
  /* what backward needs from the last forward */
  int64_t n;                   /* items of the last forward (0: none) */
  float **h;                   /* [K + 1][max_batch · D]: h[0] = x, h[K] = z */
  float **r;                   /* [K][max_batch · 2D] a coupling's raw outputs (NULL for the others) */
  float **masked;              /* [K][max_batch · D] b ⊙ h: a coupling's input, which its
                                  network borrows until its backward */
  float *g, *dmasked;          /* [max_batch · D] backward work */
  float *dr;                   /* [max_batch · 2D] */
  float *ld, *w;               /* [max_batch] */
  double *lu;                  /* [C · 2C] the 1×1 convolutions' elimination work (C = channels) */
  float *winv;                 /* [C · C] an inverse weight */
};

/* Builds a flow around given networks (owned by the flow from here on,
 * freed on failure too): nets[k] is layer k's in the order above (its
 * count: flow_layer_count(spec)). */
ebm_status flow_build(const ebm_flow_spec *spec, int item_ndim, const int64_t *item_shape, int64_t max_batch,
                      ebm_net **nets, ebm_flow **out);
/* K for a spec: couplings × (1 + actnorm + conv1x1). */
int flow_layer_count(const ebm_flow_spec *spec);
/* The kind of layer k and the coupling index it belongs to. */
flow_layer_kind flow_layer_kind_at(const ebm_flow_spec *spec, int k, int *coupling);
/* The part name of layer k ("flow_<l>", "actnorm_<l>", "invconv_<l>"). */
void flow_part_name(const ebm_flow_spec *spec, int k, char *buf, size_t size);

/* flow_glow.c: the architectures of the Glow layers' networks (malloc'd
 * JSON), their initialisation, and their log-determinants.
 *   actnorm:  ld += H·W·Σ_c logs_c;       dlogs_c += H·W·Σ_i dld_i
 *   invconv:  ld += H·W·log|det W|;       dW += H·W·(Σ_i dld_i)·W⁻ᵀ
 * (W is C×C, out × in, LU-factorised in double.) */
ebm_status flow_glow_arch(flow_layer_kind kind, int ndim, const int64_t *shape, char **json);
/* invconv: a random rotation (Glow's init: Q of the QR of a Gaussian). */
void flow_invconv_init(ebm_flow *f, int k, ebm_rng *rng);
/* Adds layer k's log-det to ld [n]; EBM_ERR_NUMERIC when W is singular. */
ebm_status flow_glow_logdet(ebm_flow *f, int k, int64_t n, float *ld);
/* Accumulates d(Σ_i dld_i·ld_i)/dθ of layer k into its param grads. */
ebm_status flow_glow_logdet_backward(ebm_flow *f, int k, const float *dld, int64_t n);
/* The inverse of layer k on n items: cur (n, D) in place (work: f->dr). */
ebm_status flow_glow_inverse(ebm_flow *f, int k, float *cur, int64_t n);
/* The data-dependent init of actnorm layer k from its input h (n items):
 * per channel, logs = −log(std + 1e-6) and bias = −mean·exp(logs), so its
 * output has zero mean and unit variance on that batch (Glow §3.1). */
void flow_actnorm_data_init(ebm_flow *f, int k, const float *h, int64_t n);

#endif
