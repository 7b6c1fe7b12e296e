/* Inpainting judged by an independent classifier (`ebm eval inpaint`): n
 * labelled test items lose part of themselves (a mask pattern), the model
 * fills it by Langevin on the masked values only (ebm_inpaint), and the
 * classifier says whether the fill gave each item its class back. The
 * originals give the ceiling, the start (noise, or the conditional
 * Gaussian) the floor. */
#include <stdlib.h>
#include <string.h>

#include "ebm/compose.h"
#include "ebm/eval.h"
#include "eval/eval_internal.h"

/* The classifier's accuracy on n items in [lo, hi], mapped linearly onto
 * its range (clamped there); tmp holds the mapped copy (n × item). */
static ebm_status accuracy_of(ebm_classifier *clf, const float *x, const int32_t *y, int64_t n, int64_t item,
                              const int64_t *shape4, float lo, float hi, float *tmp, double *acc) {
  const ebm_classifier_arch *a = ebm_classifier_get_arch(clf);
  const double scale = ((double)a->range_hi - a->range_lo) / ((double)hi - lo);
  for (int64_t k = 0; k < n * item; k++) {
    float v = (float)(a->range_lo + ((double)x[k] - lo) * scale);
    tmp[k] = v < a->range_lo ? a->range_lo : (v > a->range_hi ? a->range_hi : v);
  }
  const int64_t shape[4] = {n, shape4[1], shape4[2], shape4[3]};
  ebm_tensor t = ebm_tensor_wrap(tmp, 4, shape);
  return ebm_classifier_evaluate(clf, &t, y, acc, NULL, NULL);
}

static double mean_of(const float *v, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += v[i];
  return n ? s / (double)n : 0.0;
}

/* The checks before any work: the model, the data, the classifier agree. */
static ebm_status check_inputs(const ebm_energy *en, const ebm_dataset *ds, ebm_classifier *clf, float lo, float hi) {
  char want[64], got[64];
  if (en->num_classes > 0)
    return ebm_set_error(EBM_ERR_ARG, "%s is class-conditional: told the class, a fill would restore it by "
                         "construction; score an unconditional model", en->name);
  if (!ds->labels) return ebm_set_error(EBM_ERR_ARG, "%s has no labels: the score needs each item's class", ds->spec);
  if (!(lo < hi)) return ebm_set_error(EBM_ERR_ARG, "the data range [%g, %g] is empty", (double)lo, (double)hi);
  if (ebm_tensor_row_size(ds->x) != ebm_energy_item_size(en)) {
    ebm_shape_str(en->item_ndim, en->item_shape, want, sizeof want);
    ebm_shape_str(ds->x->ndim - 1, ds->x->shape + 1, got, sizeof got);
    return ebm_set_error(EBM_ERR_SHAPE, "%s: items are %s, %s takes %s", ds->spec, got, en->name, want);
  }
  const ebm_classifier_arch *a = ebm_classifier_get_arch(clf);
  if (ds->x->ndim != 4 || ds->x->shape[1] != a->channels || ds->x->shape[2] != a->height ||
      ds->x->shape[3] != a->width) {
    ebm_shape_str(ds->x->ndim - 1, ds->x->shape + 1, got, sizeof got);
    return ebm_set_error(EBM_ERR_SHAPE, "%s: items are %s, the classifier takes %dx%dx%d", ds->spec, got,
                         a->channels, a->height, a->width);
  }
  return EBM_OK;
}

ebm_status ebm_inpaint_score_run(const ebm_energy *en, const ebm_sampler_config *cfg, const ebm_dataset *ds,
                                 int64_t n, const char *mask_pattern, ebm_classifier *clf, float lo, float hi,
                                 const ebm_energy *start_from, ebm_rng *rng, float *x_out, float *filled_out,
                                 ebm_inpaint_score *out) {
  if (!en || !cfg || !ds || !mask_pattern || !clf || !rng || !out)
    return ebm_set_error(EBM_ERR_ARG, "inpaint score: missing arguments");
  ebm_status st = check_inputs(en, ds, clf, lo, hi);
  if (st != EBM_OK) return st;
  const int64_t N = ds->x->shape[0], m = n > 0 && n < N ? n : N, item = ebm_energy_item_size(en), count = m * item;
  ebm_rng pick = ebm_rng_split(rng, 0), masking = ebm_rng_split(rng, 1), fill = ebm_rng_split(rng, 2);
  float *x = malloc((size_t)count * sizeof *x), *mask = malloc((size_t)count * sizeof *mask);
  float *start = malloc((size_t)count * sizeof *start), *filled = malloc((size_t)count * sizeof *filled);
  float *tmp = malloc((size_t)count * sizeof *tmp), *e = malloc((size_t)m * 2 * sizeof *e);
  int32_t *y = malloc((size_t)m * sizeof *y);
  if (!x || !mask || !start || !filled || !tmp || !e || !y) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld items", (long long)m);
    goto done;
  }
  if ((st = eval_draw_labelled(ds, ebm_classifier_get_arch(clf)->classes, m, &pick, x, y)) != EBM_OK) goto done;
  if ((st = ebm_mask_pattern(mask_pattern, en->item_ndim, en->item_shape, m, &masking, mask)) != EBM_OK) goto done;
  int64_t holes = 0;
  for (int64_t k = 0; k < count; k++) holes += mask[k] != 0.0f;
  if (holes == 0) {
    st = ebm_set_error(EBM_ERR_ARG, "mask %s selects no value to fill", mask_pattern);
    goto done;
  }
  if (start_from) {
    if ((st = ebm_inpaint_start_gaussian(start_from, x, mask, m, lo, hi, start)) != EBM_OK ||
        (st = ebm_inpaint_from(en, cfg, start, mask, NULL, m, &fill, filled, NULL, NULL)) != EBM_OK)
      goto done;
  } else {
    if ((st = ebm_inpaint_start(fill, x, mask, count, lo, hi, start)) != EBM_OK) goto done; /* fill's copy */
    if ((st = ebm_inpaint(en, cfg, x, mask, NULL, m, lo, hi, &fill, filled, NULL, NULL)) != EBM_OK) goto done;
  }
  const int64_t *shape = ds->x->shape;
  if ((st = accuracy_of(clf, x, y, m, item, shape, lo, hi, tmp, &out->acc_original)) != EBM_OK ||
      (st = accuracy_of(clf, start, y, m, item, shape, lo, hi, tmp, &out->acc_start)) != EBM_OK ||
      (st = accuracy_of(clf, filled, y, m, item, shape, lo, hi, tmp, &out->acc_filled)) != EBM_OK ||
      (st = ebm_energy_eval(en, start, NULL, m, e, NULL)) != EBM_OK ||
      (st = ebm_energy_eval(en, filled, NULL, m, e + m, NULL)) != EBM_OK)
    goto done;
  out->n = m;
  out->mse_start = ebm_masked_mse(start, x, mask, count);
  out->mse_filled = ebm_masked_mse(filled, x, mask, count);
  out->e_start = mean_of(e, m);
  out->e_filled = mean_of(e + m, m);
  if (x_out) memcpy(x_out, x, (size_t)count * sizeof *x);
  if (filled_out) memcpy(filled_out, filled, (size_t)count * sizeof *filled);
done:
  free(x);
  free(mask);
  free(start);
  free(filled);
  free(tmp);
  free(e);
  free(y);
  return st;
}
