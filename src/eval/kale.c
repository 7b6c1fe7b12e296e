/* KALE between two sample sets (Arbel, Zhou & Gretton, ICLR 2021; seed
 * "Generalized Energy-Based Models", eq. 3): with P the reference and Q the
 * samples,
 *   KALE(P‖Q) = sup_E 1 − E_P[E] − E_Q[exp(−E)]
 * over a Lipschitz class of energies E, a lower bound of KL(P‖Q) that is 0
 * when P = Q. The class here is a small MLP with spectral norm on every
 * weight (the seed's Lipschitz constraint; without it the sup is +∞ as
 * soon as the sets can be told apart). E is fitted on one half of each set
 * by Adam on the objective with its constant at the batch optimum (the
 * seed's c*: min mean_P E + log mean_Q exp(−E), stable for any E), the
 * constant is then fixed on the fitted halves, and the bound is evaluated
 * on the held-out halves, where it is an unbiased estimate of the fitted
 * E's value (≤ KALE) with the standard error of its two means. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"

ebm_kale_config ebm_kale_defaults(void) {
  return (ebm_kale_config){.width = 64, .iters = 500, .batch = 256, .lr = 1e-3f, .seed = 0};
}

/* log mean exp(−e), shifted by the smallest e; w (may be NULL) gets
 * softmax(−e). */
static double log_mean_exp_neg(const float *e, int64_t n, float *w) {
  double lo = INFINITY, sum = 0;
  for (int64_t i = 0; i < n; i++) lo = e[i] < lo ? e[i] : lo;
  for (int64_t i = 0; i < n; i++) sum += exp(-((double)e[i] - lo));
  for (int64_t i = 0; w && i < n; i++) w[i] = (float)(exp(-((double)e[i] - lo)) / sum);
  return -lo + log(sum / (double)n);
}

/* The rows idx[0..n) of x (dim floats each) into out. */
static void gather(const float *x, int64_t dim, const int64_t *idx, int64_t n, float *out) {
  for (int64_t i = 0; i < n; i++) memcpy(out + i * dim, x + idx[i] * dim, (size_t)dim * sizeof(float));
}

/* A random order of 0..n−1 (Fisher–Yates). */
static void shuffle(int64_t *idx, int64_t n, ebm_rng *rng) {
  for (int64_t i = 0; i < n; i++) idx[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    const int64_t j = (int64_t)ebm_rng_below(rng, (uint32_t)(i + 1));
    const int64_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

/* E at the rows idx[0..n) of x, in chunks of `batch`, into e. */
static ebm_status energies(ebm_net *net, const float *x, int64_t dim, const int64_t *idx, int64_t n, int64_t batch,
                           float *buf, float *e) {
  for (int64_t i = 0; i < n; i += batch) {
    const int64_t m = n - i < batch ? n - i : batch;
    gather(x, dim, idx + i, m, buf);
    ebm_status st = ebm_net_energy(net, buf, NULL, m, e + i);
    if (st != EBM_OK) return st;
  }
  return EBM_OK;
}

/* One Adam step on a batch of each fitted half:
 * L = mean_P E + log mean_Q exp(−E), dL/dE_P = 1/B, dL/dE_Q = −softmax(−E_Q). */
static ebm_status fit_step(ebm_net *net, ebm_adam *adam, const float *p, const int64_t *p_fit, int64_t np_fit,
                           const float *q, const int64_t *q_fit, int64_t nq_fit, int64_t dim, int64_t batch,
                           ebm_rng *rng, float *xb, float *e, float *de) {
  int64_t pick[2][1024];
  ebm_status st = EBM_OK;
  ebm_net_spectral_update(net, 1);
  ebm_net_zero_grad(net);
  for (int side = 0; side < 2 && st == EBM_OK; side++) {
    const float *x = side ? q : p;
    const int64_t *fit = side ? q_fit : p_fit, n_fit = side ? nq_fit : np_fit;
    for (int64_t i = 0; i < batch; i++) pick[side][i] = fit[ebm_rng_below(rng, (uint32_t)n_fit)];
    gather(x, dim, pick[side], batch, xb);
    if ((st = ebm_net_energy(net, xb, NULL, batch, e)) != EBM_OK) break;
    if (side == 0) {
      for (int64_t i = 0; i < batch; i++) de[i] = 1.0f / (float)batch;
    } else {
      (void)log_mean_exp_neg(e, batch, de);
      for (int64_t i = 0; i < batch; i++) de[i] = -de[i];
    }
    st = ebm_net_backward(net, de, NULL, 1);
  }
  return st == EBM_OK ? ebm_adam_step(adam, 0.0f, NULL) : st;
}

/* The mean of v and the variance of that mean. */
static void mean_and_var(const float *v, int64_t n, double *mean, double *var_of_mean) {
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < n; i++) s += v[i];
  *mean = s / (double)n;
  for (int64_t i = 0; i < n; i++) s2 += ((double)v[i] - *mean) * ((double)v[i] - *mean);
  *var_of_mean = s2 / (double)(n - 1) / (double)n;
}

ebm_status ebm_kale(const float *p, int64_t np, const float *q, int64_t nq, int64_t dim, const ebm_kale_config *cfg,
                    ebm_kale_result *out) {
  memset(out, 0, sizeof *out);
  if (np < 4 || nq < 4 || dim < 1)
    return ebm_set_error(EBM_ERR_ARG, "KALE needs at least 4 items of each set (got %lld and %lld of %lld values)",
                         (long long)np, (long long)nq, (long long)dim);
  if (np > UINT32_MAX || nq > UINT32_MAX) return ebm_set_error(EBM_ERR_ARG, "KALE: more than 2^32 items in a set");
  if (cfg->width < 1 || cfg->width > 4096 || cfg->iters < 0 || cfg->batch < 1 || cfg->batch > 1024 ||
      !(cfg->lr > 0) || !isfinite(cfg->lr))
    return ebm_set_error(EBM_ERR_ARG, "KALE: width must be in 1..4096, batch in 1..1024, iters >= 0 and lr > 0 "
                         "(got %d, %lld, %d, %g)", cfg->width, (long long)cfg->batch, cfg->iters, (double)cfg->lr);
  const int64_t B = cfg->batch;
  char arch[400];
  snprintf(arch, sizeof arch,
           "{\"input\": [%lld], \"spectral_norm\": true, \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", "
           "\"out\": %d}, {\"type\": \"swish\"}, {\"type\": \"linear\", \"name\": \"net.2\", \"out\": %d}, "
           "{\"type\": \"swish\"}, {\"type\": \"linear\", \"name\": \"net.4\", \"out\": 1}]}",
           (long long)dim, cfg->width, cfg->width);
  ebm_net *net = NULL;
  ebm_adam *adam = NULL;
  int64_t *p_idx = malloc((size_t)np * sizeof *p_idx), *q_idx = malloc((size_t)nq * sizeof *q_idx);
  float *xb = malloc((size_t)(B * dim) * sizeof *xb), *e = malloc((size_t)B * sizeof *e);
  float *de = malloc((size_t)B * sizeof *de);
  float *ep = malloc((size_t)np * sizeof *ep), *eq = malloc((size_t)nq * sizeof *eq);
  ebm_status st = EBM_OK;
  if (!p_idx || !q_idx || !xb || !e || !de || !ep || !eq) {
    st = ebm_set_error(EBM_ERR_NOMEM, "KALE: out of memory for %lld + %lld items", (long long)np, (long long)nq);
    goto done;
  }
  ebm_rng rng;
  ebm_rng_init(&rng, cfg->seed);
  ebm_rng init_rng = ebm_rng_split(&rng, 1);
  ebm_adam_config acfg = ebm_adam_defaults();
  acfg.lr = cfg->lr;
  acfg.beta1 = 0.9f;
  acfg.clip_std = 0.0f;
  if ((st = ebm_net_new(arch, B, &net)) != EBM_OK || (st = ebm_net_init(net, &init_rng)) != EBM_OK ||
      (st = ebm_adam_new(net, &acfg, &adam)) != EBM_OK)
    goto done;
  /* fitted halves first in each order, held-out halves after */
  shuffle(p_idx, np, &rng);
  shuffle(q_idx, nq, &rng);
  const int64_t np_fit = np / 2, nq_fit = nq / 2;
  for (int it = 0; it < cfg->iters && st == EBM_OK; it++)
    st = fit_step(net, adam, p, p_idx, np_fit, q, q_idx, nq_fit, dim, B, &rng, xb, e, de);
  if (st != EBM_OK) goto done;
  ebm_net_spectral_update(net, 0); /* the last step's weights, normalised */
  /* the constant at its optimum on the fitted half of Q: mean exp(−E − c) = 1 there */
  if ((st = energies(net, q, dim, q_idx, nq_fit, B, xb, eq)) != EBM_OK) goto done;
  const double c = log_mean_exp_neg(eq, nq_fit, NULL);
  const int64_t np_test = np - np_fit, nq_test = nq - nq_fit;
  if ((st = energies(net, p, dim, p_idx + np_fit, np_test, B, xb, ep)) != EBM_OK ||
      (st = energies(net, q, dim, q_idx + nq_fit, nq_test, B, xb, eq)) != EBM_OK)
    goto done;
  for (int64_t i = 0; i < np_test; i++) ep[i] = (float)((double)ep[i] + c);
  for (int64_t i = 0; i < nq_test; i++) eq[i] = (float)exp(-((double)eq[i] + c));
  double mp, vp, mq, vq;
  mean_and_var(ep, np_test, &mp, &vp);
  mean_and_var(eq, nq_test, &mq, &vq);
  out->kale = 1.0 - mp - mq;
  out->std_error = sqrt(vp + vq);
  out->n_fit_p = np_fit;
  out->n_fit_q = nq_fit;
  out->n_test_p = np_test;
  out->n_test_q = nq_test;
  if (!isfinite(out->kale) || !isfinite(out->std_error))
    st = ebm_set_error(EBM_ERR_NUMERIC, "KALE: the fitted energy gave a non-finite estimate (%g ± %g)", out->kale,
                       out->std_error);
done:
  ebm_adam_free(adam);
  ebm_net_free(net);
  free(p_idx);
  free(q_idx);
  free(xb);
  free(e);
  free(de);
  free(ep);
  free(eq);
  return st;
}
