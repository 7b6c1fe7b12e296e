/* Tasks, loss and accuracy of continual learning (continual.h). */
#include <stdlib.h>
#include <string.h>

#include "train/continual.h"

ebm_status continual_check_split(int classes, int tasks, const char *spec) {
  if (tasks < 1 || tasks > EBM_TRAIN_MAX_TASKS)
    return ebm_set_error(EBM_ERR_ARG, "continual split:%d: the tasks must be 1 to %d", tasks, EBM_TRAIN_MAX_TASKS);
  if (classes < tasks || classes % tasks != 0)
    return ebm_set_error(EBM_ERR_ARG, "continual split:%d: the %d classes of %s do not divide into %d tasks", tasks,
                         classes, spec, tasks);
  return EBM_OK;
}

int continual_task_of_class(int classes, int tasks, int c) { return c / (classes / tasks); }

int continual_task_of_step(int64_t done, int64_t per_task, int tasks) {
  const int64_t k = done / per_task;
  return k < tasks - 1 ? (int)k : tasks - 1;
}

ebm_status continual_split(const ebm_dataset *ds, int tasks, ebm_dataset **out) {
  const int64_t N = ds->x->shape[0], item = ebm_tensor_row_size(ds->x);
  ebm_status st = continual_check_split(ds->num_classes, tasks, ds->spec);
  for (int k = 0; k < tasks; k++) out[k] = NULL;
  for (int k = 0; st == EBM_OK && k < tasks; k++) {
    int64_t count = 0;
    for (int64_t i = 0; i < N; i++) count += continual_task_of_class(ds->num_classes, tasks, ds->labels[i]) == k;
    if (count == 0) {
      st = ebm_set_error(EBM_ERR_ARG, "continual split:%d: task %d of %s has no items", tasks, k, ds->spec);
      break;
    }
    int64_t shape[EBM_MAX_DIMS];
    memcpy(shape, ds->x->shape, (size_t)ds->x->ndim * sizeof *shape);
    shape[0] = count;
    ebm_dataset *d = calloc(1, sizeof *d);
    if (d) {
      d->x = ebm_tensor_new(ds->x->ndim, shape);
      d->labels = malloc((size_t)count * sizeof *d->labels);
    }
    out[k] = d;
    if (!d || !d->x || !d->labels) {
      st = ebm_set_error(EBM_ERR_NOMEM, "out of memory splitting %s into tasks", ds->spec);
      break;
    }
    snprintf(d->spec, sizeof d->spec, "%.200s task %d", ds->spec, k);
    d->num_classes = ds->num_classes;
    d->range_lo = ds->range_lo;
    d->range_hi = ds->range_hi;
    int64_t j = 0;
    for (int64_t i = 0; i < N; i++)
      if (continual_task_of_class(ds->num_classes, tasks, ds->labels[i]) == k) {
        memcpy(d->x->data + j * item, ds->x->data + i * item, (size_t)item * sizeof(float));
        d->labels[j++] = ds->labels[i];
      }
  }
  if (st != EBM_OK)
    for (int k = 0; k < tasks; k++) {
      ebm_dataset_free(out[k]);
      out[k] = NULL;
    }
  return st;
}

double ebc_loss(const float *f, const int32_t *y, int64_t n, int64_t K, int lo, int hi, int seen, float alpha,
                float *dlogits, float *work, int32_t *ywork, double *e_pos, double *e_neg, int64_t *correct) {
  const int64_t m = hi - lo;
  float *packed = work, *dpacked = work + n * m;
  double sum_pos = 0, sum_sq = 0;
  for (int64_t i = 0; i < n; i++) {
    memcpy(packed + i * m, f + i * K + lo, (size_t)m * sizeof(float));
    ywork[i] = y[i] - lo;
    sum_pos -= f[i * K + y[i]];
  }
  const double xent = ebm_softmax_xent(packed, ywork, n, m, 1.0f, dpacked, correct);
  memset(dlogits, 0, (size_t)(n * K) * sizeof(float));
  for (int64_t i = 0; i < n; i++) memcpy(dlogits + i * K + lo, dpacked + i * m, (size_t)m * sizeof(float));
  /* α·mean E²: dL/df = 2α·f/(n·seen) (E = −f) */
  const double sq_scale = alpha > 0 ? 2.0 * alpha / (double)(n * seen) : 0.0;
  for (int64_t i = 0; alpha > 0 && i < n; i++)
    for (int64_t c = 0; c < seen; c++) {
      const float v = f[i * K + c];
      sum_sq += (double)v * v;
      dlogits[i * K + c] += (float)(sq_scale * v);
    }
  *e_pos = n > 0 ? sum_pos / (double)n : 0.0;
  *e_neg = *e_pos - xent;
  return xent + (alpha > 0 ? alpha * sum_sq / (double)(n * seen) : 0.0);
}

ebm_status ebc_task_accuracy(ebm_net *net, const ebm_dataset *ds, int64_t n, float *logits, int m, int seen,
                             double *per_task, double *mean) {
  const int64_t chunk = ebm_net_max_batch(net), item = ebm_tensor_row_size(ds->x), K = ebm_net_out_size(net);
  const int32_t classes_seen = m * seen;
  int64_t right[EBM_TRAIN_MAX_TASKS] = {0}, total[EBM_TRAIN_MAX_TASKS] = {0};
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t count = n - start < chunk ? n - start : chunk;
    ebm_status st = ebm_net_forward(net, ds->x->data + start * item, NULL, count, logits);
    if (st != EBM_OK) return st;
    for (int64_t i = 0; i < count; i++) {
      const int32_t label = ds->labels[start + i];
      if (label >= classes_seen) continue;
      const float *row = logits + i * K;
      int32_t best = 0;
      for (int32_t c = 1; c < classes_seen; c++)
        if (row[c] > row[best]) best = c;
      total[label / m]++;
      right[label / m] += best == label;
    }
  }
  double sum = 0;
  for (int k = 0; k < seen; k++) {
    per_task[k] = total[k] > 0 ? (double)right[k] / (double)total[k] : 0.0;
    sum += per_task[k];
  }
  *mean = seen > 0 ? sum / seen : 0.0;
  return EBM_OK;
}
