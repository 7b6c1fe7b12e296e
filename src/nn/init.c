/* PyTorch's default initialisation, drawn from an ebm_rng:
 *   Conv2d / Linear weight: kaiming_uniform_(a = √5), i.e. U(±gain·√3/√fan_in)
 *     with gain = √(2/(1+a²)) = √(1/3), which is U(±1/√fan_in);
 *   bias: U(±1/√fan_in); fan_in = in_channels·kh·kw or in_features.
 * Residual blocks (Du & Mordatch A.10, after Fixup): conv2's weight starts at
 * N(0, conv2_init_std²) (1e-10 by default) and its bias at 0, so the block
 * starts near its shortcut. Under spectral norm W = W_orig/σ does not depend
 * on the scale of W_orig, so there the tiny start only fixes a random
 * direction (the paper's "spectrum normalized to be below 1").
 * Class-conditional gains start at 1 and biases at 0 (the identity).
 * Spectral-norm u, v ~ N(0, 1) normalised as torch.nn.utils.spectral_norm
 * does, followed by one power iteration (what torch's first forward in
 * training mode does), so σ > 0 from the start. */
#include <math.h>
#include <string.h>

#include "nn/nn_internal.h"

void fill_floats(float *p, int64_t count, float value) {
  for (int64_t i = 0; i < count; i++) p[i] = value;
}

void init_wop(ebm_net *net, const wop *op, ebm_rng *rng) {
  float bound = (float)(1.0 / sqrt((double)op->in));
  ebm_rng_uniform(rng, net_param_data(net, op->weight), op->out * op->in, -bound, bound);
  if (op->bias >= 0) ebm_rng_uniform(rng, net_param_data(net, op->bias), op->out, -bound, bound);
}

void init_cond(ebm_net *net, const cond_op *c) {
  fill_floats(net_param_data(net, c->gain), c->classes * c->c, 1.0f);
  fill_floats(net_param_data(net, c->bias), c->classes * c->c, 0.0f);
}

static void init_uv(ebm_net *net, const sn_weight *sn, ebm_rng *rng) {
  const ebm_ops *ops = ebm_ops_current();
  float *u = net->buffers[sn->u].data, *v = net->buffers[sn->v].data;
  ebm_rng_normal(rng, u, sn->rows, 0.0f, 1.0f);
  ebm_rng_normal(rng, v, sn->cols, 0.0f, 1.0f);
  double nu = sqrt(ops->dot(sn->rows, u, u)), nv = sqrt(ops->dot(sn->cols, v, v));
  ops->scale(sn->rows, (float)(1.0 / (nu > 1e-12 ? nu : 1e-12)), u, u);
  ops->scale(sn->cols, (float)(1.0 / (nv > 1e-12 ? nv : 1e-12)), v, v);
}

ebm_status ebm_net_init(ebm_net *net, ebm_rng *rng) {
  if (!rng) return ebm_set_error(EBM_ERR_ARG, "network init: no random generator given");
  for (int i = 0; i < net->nlayers; i++) {
    layer *l = &net->layers[i];
    if (l->spec->kind->init) l->spec->kind->init(net, l, rng);
  }
  for (int i = 0; i < net->nsn; i++) init_uv(net, net->sns[i], rng);
  ebm_net_spectral_update(net, 1);
  ebm_net_zero_grad(net);
  return EBM_OK;
}
