/* Adversarial robustness of a classifier (eval.h ebm_attack_accuracy): an
 * L∞ projected-gradient attack (Madry et al. 2018) on the cross-entropy of
 * the logits, and Du & Mordatch's defence for energy models (§4.4): a few
 * Langevin steps on E(x) = −logsumexp f(x) from the attacked image before
 * classifying. Every iterate is projected back into the ε-ball around the
 * clean image and into the data range, so the attack never produces an
 * image the data could not hold. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/eval.h"

ebm_attack_config ebm_attack_defaults(void) {
  ebm_attack_config c = {0};
  c.eps = 0.03f;
  c.steps = 10;
  c.step_size = 0; /* 2.5·ε/steps */
  c.lo = 0.0f;
  c.hi = 1.0f;
  c.purify_steps = 0;
  c.purify_step = 1.0f;
  c.purify_noise = 0.01f;
  return c;
}

void ebm_attack_project(const float *x, float *x_adv, int64_t m, float eps, float lo, float hi) {
  for (int64_t j = 0; j < m; j++) {
    const float a = fmaxf(x[j] - eps, lo), b = fminf(x[j] + eps, hi);
    x_adv[j] = fminf(fmaxf(x_adv[j], a), b);
  }
}

/* PGD on one chunk of n ≤ max_batch items: x_adv (n × item) from a uniform
 * start in the ball, `steps` signed-gradient ascents of the cross-entropy. */
static ebm_status pgd_chunk(ebm_net *net, const float *x, const int32_t *y, int64_t n, int64_t item,
                            const ebm_attack_config *c, ebm_rng *rng, float *x_adv, float *logits, float *dlogits,
                            float *dx) {
  const int64_t m = n * item, K = ebm_net_out_size(net);
  const float alpha = c->step_size > 0 ? c->step_size : 2.5f * c->eps / (float)(c->steps > 0 ? c->steps : 1);
  ebm_rng_uniform(rng, x_adv, m, -c->eps, c->eps);
  for (int64_t j = 0; j < m; j++) x_adv[j] += x[j];
  ebm_attack_project(x, x_adv, m, c->eps, c->lo, c->hi);
  for (int s = 0; s < c->steps; s++) {
    ebm_status st = ebm_net_forward(net, x_adv, NULL, n, logits);
    if (st != EBM_OK) return st;
    (void)ebm_softmax_xent(logits, y, n, K, 1.0f, dlogits, NULL);
    if ((st = ebm_net_backward(net, dlogits, dx, 0)) != EBM_OK) return st;
    for (int64_t j = 0; j < m; j++) x_adv[j] += alpha * (float)((dx[j] > 0) - (dx[j] < 0));
    ebm_attack_project(x, x_adv, m, c->eps, c->lo, c->hi);
  }
  return EBM_OK;
}

ebm_status ebm_attack_accuracy(ebm_net *net, const float *x, const int32_t *y, int64_t n, const ebm_attack_config *c,
                               ebm_rng *rng, float *x_adv_out, double *accuracy) {
  if (!ebm_net_is_classifier(net))
    return ebm_set_error(EBM_ERR_ARG, "attack: the network must be a classifier (K > 1 logits, no labels of its own)");
  if (!(c->eps >= 0) || c->steps < 0 || !(c->lo < c->hi) || c->purify_steps < 0)
    return ebm_set_error(EBM_ERR_ARG, "attack: eps must be >= 0, steps and purify steps >= 0, lo < hi");
  const int64_t B = ebm_net_max_batch(net), K = ebm_net_out_size(net);
  int64_t item = 1;
  for (int d = 0; d < ebm_net_item_ndim(net); d++) item *= ebm_net_item_shape(net)[d];
  for (int64_t i = 0; i < n; i++)
    if (y[i] < 0 || y[i] >= K)
      return ebm_set_error(EBM_ERR_ARG, "attack: label %d of item %lld is not in [0, %lld)", (int)y[i], (long long)i,
                           (long long)K);
  float *adv = ebm_alloc((size_t)(B * item), sizeof(float)), *dx = ebm_alloc((size_t)(B * item), sizeof(float));
  float *logits = ebm_alloc((size_t)(B * K), sizeof(float)), *dlogits = ebm_alloc((size_t)(B * K), sizeof(float));
  ebm_energy *en = c->purify_steps > 0 ? ebm_net_as_energy(net) : NULL;
  ebm_sampler *sampler = NULL;
  ebm_status st = EBM_OK;
  int64_t correct = 0;
  if (!adv || !dx || !logits || !dlogits || (c->purify_steps > 0 && !en)) {
    st = ebm_set_error(EBM_ERR_NOMEM, "attack: out of memory");
    goto done;
  }
  if (en) { /* the defence: Langevin on E(x) = −logsumexp f(x), clamped to the range */
    ebm_sampler_config sc = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
    sc.steps = c->purify_steps;
    sc.step_size = c->purify_step;
    sc.noise = c->purify_noise;
    sc.grad_clip = 0;
    en->range_lo = c->lo;
    en->range_hi = c->hi;
    if ((st = ebm_sampler_new(en, &sc, B, &sampler)) != EBM_OK) goto done;
  }
  for (int64_t start = 0; start < n; start += B) {
    const int64_t cnt = n - start < B ? n - start : B;
    const float *xc = x + start * item;
    if ((st = pgd_chunk(net, xc, y + start, cnt, item, c, rng, adv, logits, dlogits, dx)) != EBM_OK) goto done;
    if (x_adv_out) memcpy(x_adv_out + start * item, adv, (size_t)(cnt * item) * sizeof(float));
    if (sampler && (st = ebm_sampler_run(sampler, adv, NULL, cnt, rng, NULL, NULL)) != EBM_OK) goto done;
    if ((st = ebm_net_forward(net, adv, NULL, cnt, logits)) != EBM_OK) goto done;
    int64_t right = 0;
    (void)ebm_softmax_xent(logits, y + start, cnt, K, 0.0f, NULL, &right);
    correct += right;
  }
  *accuracy = n > 0 ? (double)correct / (double)n : 0.0;
done:
  ebm_sampler_free(sampler);
  ebm_energy_free(en);
  ebm_free(adv);
  ebm_free(dx);
  ebm_free(logits);
  ebm_free(dlogits);
  return st;
}
