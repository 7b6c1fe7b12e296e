/* A texture model learned from one image by short-run Langevin from noise
 * (ebm/texture.h): building the model, learning, synthesis at any size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "texture/texture_internal.h"

/* α of the energy-magnitude penalty α·(ē(x)² + ē(x̃)²) (Du & Mordatch's
 * regulariser, their α = 1), on per-position energies ē = E / positions so
 * its weight does not depend on the image size. With α = 0.1 the model
 * ran to ē = ±5 and samples stayed noise (measured on checks, 48×48). */
#define TEXTURE_ENERGY_REG 1.0

ebm_texture_config ebm_texture_defaults(void) {
  ebm_texture_config c;
  memset(&c, 0, sizeof c);
  c.model = EBM_TEXTURE_CONVNET;
  c.iters = 200;
  c.chains = 4;
  c.steps = 60;
  c.step_size = 1.0f;
  c.noise = 0.005f;
  c.grad_clip = 0.05f;
  c.lr = 2e-3f;
  c.width = 16;
  c.init_cell = 4;
  c.ref_std = 0.0f;
  c.seed = 1;
  return c;
}

int ebm_texture_model_from_name(const char *name) {
  if (strcmp(name, "convnet") == 0) return EBM_TEXTURE_CONVNET;
  if (strcmp(name, "gabor") == 0) return EBM_TEXTURE_GABOR;
  return -1;
}

ebm_status ebm_texture_config_check(const ebm_texture_config *c) {
  if (c->model != EBM_TEXTURE_CONVNET && c->model != EBM_TEXTURE_GABOR)
    return ebm_set_error(EBM_ERR_ARG, "texture: model %d is not convnet or gabor", (int)c->model);
  if (c->iters < 0 || c->chains < 1 || c->steps < 1 || c->width < 1 || c->width > 4096 ||
      c->init_cell < 1 || c->init_cell > 256)
    return ebm_set_error(EBM_ERR_ARG, "texture: iters %d must be >= 0, chains %d and steps %d >= 1, "
                         "width %d in 1..4096, init cell %d in 1..256", c->iters, c->chains, c->steps,
                         c->width, c->init_cell);
  if (!(c->step_size > 0) || !(c->noise >= 0) || !(c->grad_clip >= 0) || !(c->lr > 0) || !(c->ref_std >= 0) ||
      !isfinite(c->step_size) || !isfinite(c->noise) || !isfinite(c->grad_clip) || !isfinite(c->lr))
    return ebm_set_error(EBM_ERR_ARG, "texture: step size, noise, gradient clip and learning rate "
                         "must be finite, step size and learning rate > 0");
  return EBM_OK;
}

int ebm_texture_min_side(void) { return TEXTURE_MIN_SIDE; }

static ebm_status check_size(int h, int w, const char *what) {
  if (h < TEXTURE_MIN_SIDE || w < TEXTURE_MIN_SIDE || h > 8192 || w > 8192)
    return ebm_set_error(EBM_ERR_ARG, "texture: %s is %dx%d, each side must be in %d..8192 "
                         "(the model's receptive field)", what, w, h, TEXTURE_MIN_SIDE);
  return EBM_OK;
}

void texture_net_free(texture_net *tn) {
  ebm_sampler_free(tn->sampler);
  ebm_energy_free(tn->energy);
  ebm_net_free(tn->net);
  memset(tn, 0, sizeof *tn);
}

/* The K-step sampler of the config: the IGEBM Langevin step, clamped to
 * the architecture's range [0, 1]. */
static ebm_sampler_config sampler_config(const ebm_texture_config *c) {
  ebm_sampler_config s = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  s.steps = c->steps;
  s.step_size = c->step_size;
  s.noise = c->noise;
  s.grad_clip = c->grad_clip;
  return s;
}

/* The generative ConvNet's reference distribution (Xie et al. 2016):
 * p(x) ∝ exp(−E_net(x)) · N(x; ½, s²I), i.e. the sampler sees
 * E(x) = E_net(x) + ‖x − ½‖² / (2s²). The Gaussian is fixed, so the
 * learning gradient is the network's alone; it keeps chains from running
 * to the clamp while the network is still weak. */
typedef struct {
  ebm_energy *net;
  double inv_var;
  int64_t item;
} reference_energy;

static ebm_status reference_eval(void *self, const float *x, const ebm_cond *cond, int64_t n,
                                 float *e, float *grad) {
  reference_energy *r = self;
  ebm_status st = r->net->eval(r->net->self, x, cond, n, e, grad);
  if (st) return st;
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * r->item;
    double q = 0;
    for (int64_t k = 0; k < r->item; k++) {
      double d = xi[k] - 0.5;
      q += d * d;
      if (grad) grad[i * r->item + k] += (float)(d * r->inv_var);
    }
    e[i] += (float)(0.5 * q * r->inv_var);
  }
  return EBM_OK;
}

static void reference_destroy(void *self) {
  reference_energy *r = self;
  ebm_energy_free(r->net);
  free(r);
}

/* The network's energy, plus the reference term when cfg->ref_std > 0. */
static ebm_status sampler_energy(const ebm_texture_config *cfg, ebm_net *net, ebm_energy **out) {
  ebm_energy *en = ebm_net_as_energy(net), *wrap = NULL;
  reference_energy *r = NULL;
  if (!en) goto nomem;
  if (!(cfg->ref_std > 0)) {
    *out = en;
    return EBM_OK;
  }
  if (!(r = calloc(1, sizeof *r)) || !(wrap = ebm_energy_alloc())) goto nomem;
  ebm_energy_describe_like(wrap, en); /* shape, range, batch limit */
  r->net = en;
  r->inv_var = 1.0 / ((double)cfg->ref_std * cfg->ref_std);
  r->item = ebm_energy_item_size(en);
  wrap->name = "texture";
  wrap->eval = reference_eval;
  wrap->destroy = reference_destroy;
  wrap->self = r;
  *out = wrap;
  return EBM_OK;
nomem:
  ebm_energy_free(en);
  free(r);
  free(wrap);
  return ebm_set_error(EBM_ERR_NOMEM, "texture: out of memory");
}

static ebm_status net_with_sampler(const ebm_texture_config *cfg, const char *arch, int64_t batch,
                                   texture_net *tn) {
  ebm_status st = ebm_net_new(arch, batch, &tn->net);
  if (st) return st;
  if ((st = sampler_energy(cfg, tn->net, &tn->energy))) return st;
  ebm_sampler_config sc = sampler_config(cfg);
  return ebm_sampler_new(tn->energy, &sc, batch, &tn->sampler);
}

ebm_status texture_net_at(ebm_texture *t, texture_net *tn, int h, int w, int64_t batch) {
  if (!tn->net || tn->h != h || tn->w != w || tn->batch < batch) {
    texture_net_free(tn);
    char *arch = texture_arch_json(&t->cfg, t->c, h, w, 0);
    if (!arch) return ebm_set_error(EBM_ERR_NOMEM, "texture: out of memory");
    ebm_status st = net_with_sampler(&t->cfg, arch, batch, tn);
    free(arch);
    if (st) {
      texture_net_free(tn);
      return st;
    }
    tn->h = h, tn->w = w, tn->batch = batch;
  }
  /* The same layers at another size have the same parameters in the same
   * order (convolutions do not depend on the image size). */
  for (int i = 0; i < ebm_net_param_count(tn->net); i++) {
    const ebm_tensor *from = ebm_net_param(t->train.net, i)->value;
    ebm_tensor *to = ebm_net_param(tn->net, i)->value;
    memcpy(to->data, from->data, (size_t)ebm_tensor_numel(to) * sizeof(float));
  }
  return EBM_OK;
}

ebm_status ebm_texture_new(const ebm_texture_config *cfg, int c, int h, int w, ebm_texture **out) {
  *out = NULL;
  ebm_status st = ebm_texture_config_check(cfg);
  if (st) return st;
  if (c != 1 && c != 3)
    return ebm_set_error(EBM_ERR_ARG, "texture: an image has 1 (grey) or 3 (RGB) channels, got %d", c);
  if ((st = check_size(h, w, "the training image"))) return st;
  ebm_texture *t = calloc(1, sizeof *t);
  if (!t) return ebm_set_error(EBM_ERR_NOMEM, "texture: out of memory");
  t->cfg = *cfg;
  t->c = c, t->h = h, t->w = w;
  t->frozen = texture_frozen_params(cfg);
  ebm_rng_init(&t->rng, cfg->seed);
  char *arch = texture_arch_json(cfg, c, h, w, 0);
  if (!arch) {
    st = ebm_set_error(EBM_ERR_NOMEM, "texture: out of memory");
    goto fail;
  }
  st = net_with_sampler(cfg, arch, cfg->chains, &t->train);
  free(arch);
  if (st) goto fail;
  t->train.h = h, t->train.w = w, t->train.batch = cfg->chains;
  if ((st = ebm_net_init(t->train.net, &t->rng))) goto fail;
  if (cfg->model == EBM_TEXTURE_GABOR) texture_gabor_fill(t->train.net, c);
  ebm_adam_config ac = ebm_adam_defaults();
  ac.lr = cfg->lr;
  ac.beta1 = 0.5f;  /* the generative ConvNet's Adam (Xie et al. 2016) */
  ac.clip_std = 0;  /* plain Adam: no A.12 clipping */
  if ((st = ebm_adam_new(t->train.net, &ac, &t->adam))) goto fail;
  *out = t;
  return EBM_OK;
fail:
  ebm_texture_free(t);
  return st;
}

void ebm_texture_free(ebm_texture *t) {
  if (!t) return;
  ebm_adam_free(t->adam);
  texture_net_free(&t->train);
  texture_net_free(&t->other);
  texture_net_free(&t->features);
  free(t->arch);
  free(t);
}

int ebm_texture_channels(const ebm_texture *t) { return t->c; }

const char *ebm_texture_arch(ebm_texture *t, int h, int w) {
  free(t->arch);
  t->arch = texture_arch_json(&t->cfg, t->c, h, w, 0);
  return t->arch;
}

/* Per-position energies ē = E / positions, where positions is the size of
 * the last convolution's map (the global sum's input). */
static double positions(ebm_net *net) {
  int nl = ebm_net_layer_count(net);
  ebm_layer_info li;
  ebm_net_layer_info(net, nl - 2, &li);
  return (double)(li.out_shape[1] * li.out_shape[2]);
}

int64_t texture_start_grid_size(int cell, int h, int w) {
  return (int64_t)((h - 1) / cell + 2) * ((w - 1) / cell + 2);
}

void texture_chains_start(int cell, int64_t planes, int h, int w, ebm_rng *rng, float *grid, float *x) {
  if (cell == 1) {
    ebm_rng_uniform(rng, x, planes * h * w, 0.0f, 1.0f);
    return;
  }
  const int gw = (w - 1) / cell + 2;
  for (int64_t p = 0; p < planes; p++, x += (int64_t)h * w) {
    ebm_rng_uniform(rng, grid, texture_start_grid_size(cell, h, w), 0.0f, 1.0f);
    for (int y = 0; y < h; y++) {
      const int gy = y / cell;
      const float ty = (float)(y - gy * cell) / (float)cell;
      const float *r0 = grid + (int64_t)gy * gw, *r1 = r0 + gw;
      for (int xx = 0; xx < w; xx++) {
        const int gx = xx / cell;
        const float tx = (float)(xx - gx * cell) / (float)cell;
        const float top = r0[gx] + tx * (r0[gx + 1] - r0[gx]), bottom = r1[gx] + tx * (r1[gx + 1] - r1[gx]);
        x[(int64_t)y * w + xx] = top + ty * (bottom - top);
      }
    }
  }
}

/* One learning iteration: K Langevin steps from the start noise for the
 * chains, then the gradient of
 *   L = ē(x) − mean_i ē(x̃_i) + α·(ē(x)² + mean_i ē(x̃_i)²)
 * and one Adam step on the learned parameters. */
static ebm_status learn_step(ebm_texture *t, const float *image, float *chains, float *grid, float *e,
                             float *de, double *loss, double *e_data, double *e_sample) {
  const int64_t m = t->cfg.chains;
  const double a = TEXTURE_ENERGY_REG, p = positions(t->train.net);
  texture_chains_start(t->cfg.init_cell, m * t->c, t->h, t->w, &t->rng, grid, chains);
  ebm_status st = ebm_sampler_run(t->train.sampler, chains, NULL, m, &t->rng, NULL, NULL);
  if (st) return st;
  ebm_net_zero_grad(t->train.net);
  if ((st = ebm_net_forward(t->train.net, image, NULL, 1, e))) return st;
  double ed = e[0] / p;
  de[0] = (float)((1 + 2 * a * ed) / p);
  if ((st = ebm_net_backward(t->train.net, de, NULL, 1))) return st;
  if ((st = ebm_net_forward(t->train.net, chains, NULL, m, e))) return st;
  double es = 0, es2 = 0;
  for (int64_t i = 0; i < m; i++) {
    double ei = e[i] / p;
    es += ei / (double)m;
    es2 += ei * ei / (double)m;
    de[i] = (float)((-1 + 2 * a * ei) / (p * (double)m));
  }
  if ((st = ebm_net_backward(t->train.net, de, NULL, 1))) return st;
  for (int i = 0; i < t->frozen; i++) {
    ebm_tensor *g = ebm_net_param(t->train.net, i)->grad;
    memset(g->data, 0, (size_t)ebm_tensor_numel(g) * sizeof(float));
  }
  *loss = ed - es + a * (ed * ed + es2);
  *e_data = ed, *e_sample = es;
  if (!isfinite(*loss))
    return ebm_set_error(EBM_ERR_NUMERIC, "texture: learning diverged (loss %g)", *loss);
  return ebm_adam_step(t->adam, 0, NULL);
}

ebm_status ebm_texture_learn(ebm_texture *t, const float *image, ebm_texture_step_fn cb, void *ctx) {
  const int64_t m = t->cfg.chains, item = (int64_t)t->c * t->h * t->w;
  float *chains = malloc((size_t)(m * item) * sizeof *chains);
  float *e = malloc((size_t)m * sizeof *e), *de = malloc((size_t)m * sizeof *de);
  float *grid = malloc((size_t)texture_start_grid_size(t->cfg.init_cell, t->h, t->w) * sizeof *grid);
  ebm_status st = EBM_OK;
  if (!chains || !e || !de || !grid) {
    st = ebm_set_error(EBM_ERR_NOMEM, "texture: out of memory for %lld chains", (long long)m);
    goto done;
  }
  for (int64_t i = 0; i < item; i++)
    if (!isfinite(image[i])) {
      st = ebm_set_error(EBM_ERR_ARG, "texture: the image has a non-finite value at %lld", (long long)i);
      goto done;
    }
  for (int it = 0; it < t->cfg.iters; it++) {
    double loss, ed, es;
    if ((st = learn_step(t, image, chains, grid, e, de, &loss, &ed, &es))) goto done;
    if (cb) cb(ctx, it, loss, ed, es);
  }
done:
  free(chains);
  free(e);
  free(de);
  free(grid);
  return st;
}

/* The synthesis is drawn TEXTURE_MARGIN pixels larger on every side and
 * cropped: a pixel near the border is seen by fewer local terms (and the
 * strided valid convolutions may see the last rows not at all), so it is
 * less constrained than the rest. */
#define TEXTURE_MARGIN (TEXTURE_MIN_SIDE - 1)

ebm_status ebm_texture_synthesize(ebm_texture *t, int h, int w, uint64_t seed, float *out) {
  ebm_status st = check_size(h, w, "the synthesis");
  if (st) return st;
  const int H = h + 2 * TEXTURE_MARGIN, W = w + 2 * TEXTURE_MARGIN;
  if ((st = texture_net_at(t, &t->other, H, W, 1))) return st;
  float *big = malloc((size_t)t->c * (size_t)H * (size_t)W * sizeof *big);
  float *grid = malloc((size_t)texture_start_grid_size(t->cfg.init_cell, H, W) * sizeof *grid);
  if (!big || !grid) {
    free(big);
    free(grid);
    return ebm_set_error(EBM_ERR_NOMEM, "texture: out of memory for a %dx%d synthesis", W, H);
  }
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  texture_chains_start(t->cfg.init_cell, t->c, H, W, &rng, grid, big);
  st = ebm_sampler_run(t->other.sampler, big, NULL, 1, &rng, NULL, NULL);
  // big is (c, H, W); out is (c, h, w), its centre
  for (int ch = 0; st == EBM_OK && ch < t->c; ch++)
    for (int y = 0; y < h; y++)
      memcpy(out + ((size_t)ch * h + y) * w,
             big + ((size_t)ch * H + y + TEXTURE_MARGIN) * W + TEXTURE_MARGIN, (size_t)w * sizeof *out);
  free(big);
  free(grid);
  return st;
}
