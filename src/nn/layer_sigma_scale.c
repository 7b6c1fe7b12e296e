/* sigma_scale: y = σ^p · x for each item, σ its noise level ("power" p, −2
 * by default). No parameters.
 *
 * Why an energy needs it (Song & Ermon 2020, "Improved techniques for
 * training score-based generative models", technique 3, divide the score
 * network's output by σ): at noise level σ the denoising target of ∇ₓE is
 * (x̃ − x)/σ², which spans four orders of magnitude between σ = 0.01 and 1,
 * while cond_affine's gains are smooth functions of log σ that would have to
 * learn that range. Near a surface the noised data's energy is
 * d(x̃)²/(2σ²), d the distance to the surface, and far from the data at
 * large σ about ‖x̃ − μ‖²/(2σ²): in both E·σ² hardly depends on σ. So the
 * network before this layer learns f(x̃, σ) ≈ σ²E, a squared distance, and
 * the energy is f/σ² (p = −2); p = −1 is NCSNv2's score/σ.
 *
 * PyTorch: E = f(x, sigma) * sigma[:, None] ** power. */
#include <math.h>

#include "nn/nn_internal.h"

static const layer_key sigma_scale_keys[] = {LK_FLOAT("power", power, -4.0, 4.0, -2.0), LK_END};

static ebm_status sigma_scale_build(ebm_net *net, layer *l, const layer_spec *ls, scratch_sizes *sz,
                                    const char *where) {
  (void)l, (void)sz, (void)where;
  if (ls->power == 0.0)
    return ebm_set_error(EBM_ERR_ARG, "architecture: %s with \"power\": 0 scales by 1: leave the layer out",
                         where);
  net->needs_sigma = 1;
  return EBM_OK;
}

// x and l->out are (n, in_size); cond->sigma is (n)
static void sigma_scale_forward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond, const float *x) {
  (void)net;
  const ebm_ops *ops = ebm_ops_current();
  for (int64_t i = 0; i < n; i++)
    ops->scale(l->in_size, (float)pow(cond->sigma[i], l->spec->power), x + i * l->in_size,
               l->out + i * l->in_size);
}

static const float *sigma_scale_backward(ebm_net *net, layer *l, int64_t n, const ebm_cond *cond,
                                         const float *dy, float *dx, int need_dx, int want_params) {
  (void)net, (void)want_params;
  if (!need_dx) return dx;
  const ebm_ops *ops = ebm_ops_current();
  for (int64_t i = 0; i < n; i++)
    ops->scale(l->in_size, (float)pow(cond->sigma[i], l->spec->power), dy + i * l->in_size,
               dx + i * l->in_size);
  return dx;
}

static void sigma_scale_detail(const ebm_net *net, const layer *l, char *buf, size_t size) {
  (void)net;
  snprintf(buf, size, "x sigma^%g", l->spec->power);
}

const layer_kind layer_sigma_scale = {"sigma_scale", sigma_scale_keys, 0, 0, sigma_scale_build, NULL,
                                      sigma_scale_forward, sigma_scale_backward, sigma_scale_detail,
                                      layer_per_item, NULL};
