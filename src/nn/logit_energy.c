/* A classifier's logits as an energy (Grathwohl et al. 2020, "Your
 * classifier is secretly an energy based model"): a network that ends in
 * K > 1 logits f(x) defines
 *   E(x, y) = −f(x)[y]                    (the pair; labels given)
 *   E(x)    = −log Σ_y exp f(x)[y]        (the marginal; no labels)
 * so p(y | x) is the softmax the classifier was always computing, and
 * −E(x) is log p(x) up to log Z. The energy's num_classes is K, but unlike
 * other class-conditional energies the labels are optional: without them it
 * is the marginal. The two heads are the logsumexp / select kernels of the
 * ops table (the same the network heads of layer_heads.c use). */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

typedef struct {
  ebm_net *net;             /* borrowed */
  int64_t k;                /* logits per item */
  float *logits, *dlogits;  /* (max_batch, K) */
  float *ones;              /* (max_batch) dE/dE = 1 for the heads' backward */
} logit_energy;

int ebm_net_is_classifier(const ebm_net *net) {
  return ebm_net_out_ndim(net) == 1 && ebm_net_out_size(net) > 1 && ebm_net_num_classes(net) == 0 &&
         !ebm_net_needs_sigma(net);
}

// x is (n, item); e is (n); grad (may be NULL) is (n, item)
static ebm_status logit_energy_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                                    float *grad) {
  logit_energy *le = self;
  const int64_t K = le->k;
  const int32_t *y = cond ? cond->labels : NULL;
  for (int64_t i = 0; y && i < n; i++)
    if (y[i] < 0 || y[i] >= K)
      return ebm_set_error(EBM_ERR_ARG, "classifier energy: label %d of item %lld is not in [0, %lld) (the "
                           "network gives %lld logits)", (int)y[i], (long long)i, (long long)K, (long long)K);
  ebm_status st = ebm_net_forward(le->net, x, NULL, n, le->logits);
  if (st != EBM_OK || n == 0) return st;
  const ebm_ops *ops = ebm_ops_current();
  if (y) ops->select_forward(n, K, -1.0f, y, le->logits, e);
  else ops->logsumexp_forward(n, K, -1.0f, le->logits, e);
  if (!grad) return EBM_OK;
  // dE/df is (n, K): −onehot(y) or −softmax(f)
  if (y) ops->select_backward(n, K, -1.0f, y, le->ones, le->dlogits);
  else ops->logsumexp_backward(n, K, -1.0f, le->logits, le->ones, le->dlogits);
  return ebm_net_backward(le->net, le->dlogits, grad, 0);
}

static void logit_energy_destroy(void *self) {
  logit_energy *le = self;
  if (!le) return;
  ebm_free(le->logits);
  ebm_free(le->dlogits);
  ebm_free(le->ones);
  free(le);
}

ebm_status net_make_logit_energy(ebm_net *net, ebm_energy *en) {
  const int64_t B = ebm_net_max_batch(net) > 0 ? ebm_net_max_batch(net) : 1, K = ebm_net_out_size(net);
  logit_energy *le = calloc(1, sizeof *le);
  if (!le) return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a classifier's energy");
  le->net = net;
  le->k = K;
  le->logits = ebm_alloc((size_t)(B * K), sizeof(float));
  le->dlogits = ebm_alloc((size_t)(B * K), sizeof(float));
  le->ones = ebm_alloc((size_t)B, sizeof(float));
  if (!le->logits || !le->dlogits || !le->ones) {
    logit_energy_destroy(le);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory for a classifier's energy");
  }
  for (int64_t i = 0; i < B; i++) le->ones[i] = 1.0f;
  en->num_classes = (int)K;
  en->eval = logit_energy_eval;
  en->destroy = logit_energy_destroy; /* frees the work arrays, leaves the network */
  en->self = le;
  return EBM_OK;
}
