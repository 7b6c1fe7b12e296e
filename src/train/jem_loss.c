/* JEM's objective on fixed batches (jem.h): forward each batch once, build
 * dL/df for its K logits per item, go back through the same pass. The
 * heads are the ops table's logsumexp / select kernels (sign −1: energies),
 * so dL/df = dL/dE · dE/df with dE/df = −softmax(f) or −onehot(y). */
#include <string.h>

#include "ops/ops.h"
#include "train/jem.h"
#include "train/method.h"

ebm_status jem_work_init(jem_work *w, int64_t n, int64_t k) {
  memset(w, 0, sizeof *w);
  w->n = n;
  w->k = k;
  const size_t big = (size_t)(n * k);
  w->logits = ebm_alloc(big, sizeof(float));
  w->dlogits = ebm_alloc(big, sizeof(float));
  w->dtmp = ebm_alloc(big, sizeof(float));
  w->lab_logits = ebm_alloc(big, sizeof(float));
  w->lab_dlogits = ebm_alloc(big, sizeof(float));
  w->e = ebm_alloc((size_t)n, sizeof(float));
  w->de = ebm_alloc((size_t)n, sizeof(float));
  w->lab_y = ebm_alloc((size_t)n, sizeof(int32_t));
  w->lab_idx = ebm_alloc((size_t)n, sizeof(int64_t));
  if (w->logits && w->dlogits && w->dtmp && w->lab_logits && w->lab_dlogits && w->e && w->de && w->lab_y &&
      w->lab_idx)
    return EBM_OK;
  jem_work_free(w);
  return ebm_set_error(EBM_ERR_NOMEM, "out of memory for JEM's work arrays (batch %lld, %lld logits)",
                       (long long)n, (long long)k);
}

void jem_work_free(jem_work *w) {
  ebm_free(w->logits);
  ebm_free(w->dlogits);
  ebm_free(w->dtmp);
  ebm_free(w->lab_logits);
  ebm_free(w->lab_dlogits);
  ebm_free(w->e);
  ebm_free(w->de);
  ebm_free(w->lab_y);
  ebm_free(w->lab_idx);
  memset(w, 0, sizeof *w);
}

/* E = −logsumexp f over n rows of w->logits into w->e, for a term
 * px·(±mean E + α·mean E²): dlogits += dL/dE · dE/df with dL/dEᵢ =
 * (±px + 2·px·α·Eᵢ)/n (sign: +1 positives, −1 negatives; nothing when px
 * is 0). Returns mean E; *mean_sq = mean E². */
static double marginal_energy(jem_work *w, int64_t n, float sign, jem_weights wt, float *dlogits,
                              double *mean_sq) {
  const ebm_ops *ops = ebm_ops_current();
  ops->logsumexp_forward(n, w->k, -1.0f, w->logits, w->e);
  double sq = 0;
  for (int64_t i = 0; i < n; i++) sq += (double)w->e[i] * w->e[i];
  *mean_sq = n > 0 ? sq / (double)n : 0;
  if (wt.px != 0.0f) {
    const float scale = wt.px / (float)n;
    for (int64_t i = 0; i < n; i++) w->de[i] = scale * (sign + 2.0f * wt.alpha * w->e[i]);
    ops->logsumexp_backward(n, w->k, -1.0f, w->logits, w->de, w->dtmp);
    for (int64_t j = 0; j < n * w->k; j++) dlogits[j] += w->dtmp[j];
  }
  return train_mean(w->e, n);
}

ebm_status jem_loss(ebm_net *net, const float *x_pos, const int32_t *y, const float *x_neg,
                    int64_t n_neg, const float *x_neg_y, int64_t n, jem_weights wt, int want_grad, jem_work *w,
                    jem_values *v) {
  const int64_t K = w->k;
  memset(v, 0, sizeof *v);
  if (n > w->n) return ebm_set_error(EBM_ERR_ARG, "jem: batch of %lld, work arrays for %lld", (long long)n,
                                     (long long)w->n);
  if (x_neg && (n_neg < 1 || n_neg > n))
    return ebm_set_error(EBM_ERR_ARG, "jem: %lld negatives for a batch of %lld", (long long)n_neg, (long long)n);
  // the labelled items, packed: lab_idx (rows), lab_y (labels)
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++)
    if (y && y[i] >= 0) {
      w->lab_idx[m] = i;
      w->lab_y[m++] = y[i];
    }
  v->labelled = m;

  /* positives: CE on the labelled rows, E(x⁺) on all, E(x⁺, y) on the labelled */
  ebm_status st = ebm_net_forward(net, x_pos, NULL, n, w->logits);
  if (st != EBM_OK) return st;
  memset(w->dlogits, 0, (size_t)(n * K) * sizeof(float));
  if (wt.pyx != 0.0f && m > 0) {
    for (int64_t j = 0; j < m; j++)
      memcpy(w->lab_logits + j * K, w->logits + w->lab_idx[j] * K, (size_t)K * sizeof(float));
    v->xent = ebm_softmax_xent(w->lab_logits, w->lab_y, m, K, wt.pyx, w->lab_dlogits, &v->correct);
    for (int64_t j = 0; j < m; j++)
      for (int64_t c = 0; c < K; c++) w->dlogits[w->lab_idx[j] * K + c] += w->lab_dlogits[j * K + c];
  }
  double sq_pos = 0, sq_neg = 0; /* mean E(x⁺)², mean E(x⁻)² */
  v->e_pos = marginal_energy(w, n, 1.0f, wt, w->dlogits, &sq_pos);
  double e_pos_y = 0, sq_pos_y = 0; /* mean E(x⁺, y) = −mean f(x⁺)[y] over the labelled, mean E(x⁺, y)² */
  if (wt.pxy != 0.0f && m > 0) {
    for (int64_t j = 0; j < m; j++) { /* dL/dE(x⁺ⱼ, yⱼ) = pxy·(1 + 2α_y·E)/m, and dE/df[y] = −1 */
      const float e = -w->logits[w->lab_idx[j] * K + w->lab_y[j]];
      e_pos_y += e;
      sq_pos_y += (double)e * e;
      w->dlogits[w->lab_idx[j] * K + w->lab_y[j]] -= wt.pxy * (1.0f + 2.0f * wt.alpha_y * e) / (float)m;
    }
    e_pos_y /= (double)m;
    sq_pos_y /= (double)m;
  }
  if (want_grad && (st = ebm_net_backward(net, w->dlogits, NULL, 1)) != EBM_OK) return st;

  /* the log p(x) negatives: dL/dE(x⁻ⱼ) = px·(−1 + 2α·E(x⁻ⱼ))/n_neg */
  if (x_neg && wt.px != 0.0f) {
    if ((st = ebm_net_forward(net, x_neg, NULL, n_neg, w->logits)) != EBM_OK) return st;
    memset(w->dlogits, 0, (size_t)(n_neg * K) * sizeof(float));
    v->e_neg = marginal_energy(w, n_neg, -1.0f, wt, w->dlogits, &sq_neg);
    if (want_grad && (st = ebm_net_backward(net, w->dlogits, NULL, 1)) != EBM_OK) return st;
  }

  /* the log p(x|y) negatives: dL/dE(x⁻ʸ, y) = pxy·(−1 + 2α_y·E(x⁻ʸ, y))/m */
  double e_neg_y = 0, sq_neg_y = 0;
  if (x_neg_y && wt.pxy != 0.0f && m > 0) {
    const ebm_ops *ops = ebm_ops_current();
    if ((st = ebm_net_forward(net, x_neg_y, NULL, m, w->logits)) != EBM_OK) return st;
    ops->select_forward(m, K, -1.0f, w->lab_y, w->logits, w->e);
    e_neg_y = train_mean(w->e, m);
    for (int64_t j = 0; j < m; j++) {
      sq_neg_y += (double)w->e[j] * w->e[j];
      w->de[j] = wt.pxy * (-1.0f + 2.0f * wt.alpha_y * w->e[j]) / (float)m;
    }
    sq_neg_y /= (double)m;
    ops->select_backward(m, K, -1.0f, w->lab_y, w->de, w->dlogits);
    if (want_grad && (st = ebm_net_backward(net, w->dlogits, NULL, 1)) != EBM_OK) return st;
  }
  v->loss = wt.pyx * v->xent + wt.px * (v->e_pos - v->e_neg + wt.alpha * (sq_pos + sq_neg)) +
            wt.pxy * (e_pos_y - e_neg_y + wt.alpha_y * (sq_pos_y + sq_neg_y));
  return EBM_OK;
}

float jem_lr(const ebm_train_config *cfg, int64_t done) {
  const float lr = ebm_train_lr(cfg, done);
  const int64_t warmup = cfg->jem.warmup;
  if (warmup <= 0 || done + 1 >= warmup) return lr;
  return (float)((double)lr * (double)(done + 1) / (double)warmup);
}

ebm_status jem_accuracy(ebm_net *net, const ebm_dataset *ds, int64_t n, float *logits, double *accuracy) {
  const int64_t chunk = ebm_net_max_batch(net), item = ebm_tensor_row_size(ds->x), K = ebm_net_out_size(net);
  int64_t correct = 0;
  *accuracy = 0;
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t count = n - start < chunk ? n - start : chunk;
    ebm_status st = ebm_net_forward(net, (const float *)ds->x->data + start * item, NULL, count, logits);
    if (st != EBM_OK) return st;
    int64_t c = 0;
    (void)ebm_softmax_xent(logits, ds->labels + start, count, K, 0.0f, NULL, &c);
    correct += c;
  }
  if (n > 0) *accuracy = (double)correct / (double)n;
  return EBM_OK;
}
