/* Adam with the IGEBM settings (Du & Mordatch A.11: lr 1e-4, β = (0, 0.999))
 * and two gradient clips. One step, for each parameter θ with gradient g:
 *
 *   1. global norm (torch.nn.utils.clip_grad_norm_): ‖g‖ over all params;
 *      if clip_norm > 0, g ← g · min(1, clip_norm / (‖g‖ + 1e-6));
 *   2. g ← g + weight_decay·θ (torch.optim.Adam's L2 form);
 *   3. A.12 "clip all training gradients that are more than 3 standard
 *      deviations from the 2nd order Adam parameters", exactly as
 *      openai/ebm_code_release custom_adam.py does it:
 *        bound = clip_std · sqrt(v_{t−1} / (1 − β2^t)) + clip_floor,
 *        g ← clamp(g, −bound, bound)
 *      with v_{t−1} the second moment BEFORE this step (bias-corrected with
 *      the current t) and clip_floor = 0.1; skipped where bound = 0;
 *   4. torch.optim.Adam: m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g²,
 *      θ ← θ − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + eps).
 * Then the spectrally normalised weights are refreshed (no power
 * iteration), so the network is consistent with its new parameters.
 * A non-finite gradient norm changes nothing and returns EBM_ERR_NUMERIC. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

struct ebm_adam {
  ebm_net *net;
  ebm_adam_config cfg;
  int64_t step;
  int nparams;
  float **m, **v;
};

ebm_adam_config ebm_adam_defaults(void) {
  ebm_adam_config c;
  memset(&c, 0, sizeof c);
  c.lr = 1e-4f;
  c.beta1 = 0.0f;
  c.beta2 = 0.999f;
  c.eps = 1e-8f;
  c.weight_decay = 0.0f;
  c.clip_std = 3.0f;
  c.clip_norm = 0.0f;
  c.clip_floor = 0.1f;
  return c;
}

void ebm_adam_free(ebm_adam *opt) {
  if (!opt) return;
  for (int i = 0; i < opt->nparams; i++) {
    if (opt->m) ebm_free(opt->m[i]);
    if (opt->v) ebm_free(opt->v[i]);
  }
  free(opt->m);
  free(opt->v);
  free(opt);
}

ebm_status ebm_adam_new(ebm_net *net, const ebm_adam_config *cfg, ebm_adam **out) {
  *out = NULL;
  ebm_adam_config c = cfg ? *cfg : ebm_adam_defaults();
  if (!(c.lr > 0) || !(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1) ||
      !(c.eps > 0) || !(c.weight_decay >= 0) || !(c.clip_std >= 0) || !(c.clip_norm >= 0) ||
      !(c.clip_floor >= 0))
    return ebm_set_error(EBM_ERR_ARG, "Adam: lr and eps must be > 0, betas in [0, 1), weight decay "
                         "and clips >= 0");
  ebm_adam *opt = calloc(1, sizeof *opt);
  if (!opt) return ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating Adam");
  opt->net = net;
  opt->cfg = c;
  int np = ebm_net_param_count(net);
  opt->m = calloc((size_t)(np > 0 ? np : 1), sizeof *opt->m);
  opt->v = calloc((size_t)(np > 0 ? np : 1), sizeof *opt->v);
  if (!opt->m || !opt->v) goto nomem;
  opt->nparams = np;
  for (int i = 0; i < np; i++) {
    size_t count = (size_t)ebm_tensor_numel(ebm_net_param(net, i)->value);
    opt->m[i] = ebm_alloc(count, sizeof(float));
    opt->v[i] = ebm_alloc(count, sizeof(float));
    if (!opt->m[i] || !opt->v[i]) goto nomem;
  }
  *out = opt;
  return EBM_OK;
nomem:
  ebm_adam_free(opt);
  return ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating Adam's moments");
}

int64_t ebm_adam_step_count(const ebm_adam *opt) { return opt->step; }

/* Steps 2–4 above for one parameter tensor. */
static void adam_update(const ebm_adam_config *c, float lr, double bc1, double bc2, float gscale,
                        int64_t count, float *theta, const float *grad, float *m, float *v) {
  const float b1 = c->beta1, b2 = c->beta2, eps = c->eps, wd = c->weight_decay;
  const float inv_bc2 = (float)(1.0 / bc2), step = (float)(lr / bc1);
  const float sqrt_inv_bc2 = (float)sqrt(1.0 / bc2);
  for (int64_t i = 0; i < count; i++) {
    float g = grad[i] * gscale + wd * theta[i];
    if (c->clip_std > 0) {
      float bound = c->clip_std * sqrtf(v[i] * inv_bc2) + c->clip_floor;
      if (bound > 0) g = g > bound ? bound : (g < -bound ? -bound : g);
    }
    m[i] = b1 * m[i] + (1.0f - b1) * g;
    v[i] = b2 * v[i] + (1.0f - b2) * g * g;
    theta[i] -= step * m[i] / (sqrtf(v[i]) * sqrt_inv_bc2 + eps);
  }
}

ebm_status ebm_adam_step(ebm_adam *opt, float lr, double *grad_norm) {
  const ebm_ops *ops = ebm_ops_current();
  ebm_net *net = opt->net;
  double sq = 0.0;
  for (int i = 0; i < opt->nparams; i++) {
    const ebm_tensor *g = ebm_net_param(net, i)->grad;
    sq += ops->dot(ebm_tensor_numel(g), g->data, g->data);
  }
  double norm = sqrt(sq);
  if (grad_norm) *grad_norm = norm;
  if (!isfinite(norm))
    return ebm_set_error(EBM_ERR_NUMERIC, "Adam: the parameter gradient is not finite (norm %g); "
                         "no update made", norm);
  float gscale = 1.0f;
  if (opt->cfg.clip_norm > 0) {
    double coef = opt->cfg.clip_norm / (norm + 1e-6);
    if (coef < 1.0) gscale = (float)coef;
  }
  double t = (double)(opt->step + 1);
  double bc1 = 1.0 - pow(opt->cfg.beta1, t), bc2 = 1.0 - pow(opt->cfg.beta2, t);
  float use_lr = lr > 0 ? lr : opt->cfg.lr;
  for (int i = 0; i < opt->nparams; i++) {
    ebm_param *p = ebm_net_param(net, i);
    adam_update(&opt->cfg, use_lr, bc1, bc2, gscale, ebm_tensor_numel(p->value), p->value->data,
                p->grad->data, opt->m[i], opt->v[i]);
  }
  opt->step++;
  ebm_net_spectral_update(net, 0);
  return EBM_OK;
}

ebm_status ebm_adam_save(const ebm_adam *opt, ebm_st_writer *w) { return ebm_adam_save_as(opt, w, "adam"); }

ebm_status ebm_adam_restore(ebm_adam *opt, const ebm_safetensors *st) { return ebm_adam_restore_as(opt, st, "adam"); }

ebm_status ebm_adam_save_as(const ebm_adam *opt, ebm_st_writer *w, const char *prefix) {
  char name[256], step[32];
  for (int i = 0; i < opt->nparams; i++) {
    const ebm_param *p = ebm_net_param(opt->net, i);
    snprintf(name, sizeof name, "%s.m.%s", prefix, p->name);
    ebm_status st = ebm_st_writer_add_f32(w, name, p->value->ndim, p->value->shape, opt->m[i]);
    if (st) return st;
    snprintf(name, sizeof name, "%s.v.%s", prefix, p->name);
    if ((st = ebm_st_writer_add_f32(w, name, p->value->ndim, p->value->shape, opt->v[i]))) return st;
  }
  snprintf(step, sizeof step, "%lld", (long long)opt->step);
  snprintf(name, sizeof name, "%s_step", prefix);
  return ebm_st_writer_meta(w, name, step);
}

ebm_status ebm_adam_restore_as(ebm_adam *opt, const ebm_safetensors *st, const char *prefix) {
  char step_key[256];
  snprintf(step_key, sizeof step_key, "%s_step", prefix);
  const char *step_text = ebm_safetensors_meta(st, step_key);
  char *end = NULL;
  long long step = step_text ? strtoll(step_text, &end, 10) : -1;
  if (!step_text || end == step_text || *end || step < 0)
    return ebm_set_error(EBM_ERR_FORMAT, "%s: metadata '%s' is missing or not a count",
                         ebm_safetensors_origin(st), step_key);
  /* Read into the live moments only after every tensor checked out, so a
   * bad file leaves the optimizer as it was. */
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < opt->nparams; i++) {
      const ebm_param *p = ebm_net_param(opt->net, i);
      for (int k = 0; k < 2; k++) {
        char name[256];
        snprintf(name, sizeof name, "%s.%c.%s", prefix, k ? 'v' : 'm', p->name);
        if (pass == 0) {
          const ebm_st_tensor *t = ebm_safetensors_find(st, name);
          int ok = t && t->dtype == EBM_DTYPE_F32 && t->ndim == p->value->ndim;
          for (int d = 0; ok && d < t->ndim; d++) ok = t->shape[d] == p->value->shape[d];
          if (!ok)
            return ebm_set_error(EBM_ERR_FORMAT, "%s: optimizer tensor '%s' is %s", ebm_safetensors_origin(st),
                                 name, t ? "of the wrong dtype or shape" : "missing");
        } else {
          ebm_status s = ebm_safetensors_read_f32(st, name, p->value->ndim, p->value->shape,
                                                  k ? opt->v[i] : opt->m[i]);
          if (s) return s;
        }
      }
    }
  }
  opt->step = step;
  return EBM_OK;
}
