/* A model's log-likelihood from both sides (eval.h): forward AIS from a
 * base gives a stochastic lower bound on log Z, reverse AIS from data items
 * an upper bound when the model fits them (Du & Mordatch A.3, after Neal
 * 2001 and Burda et al. 2015), and the data's mean energy turns either into
 * an average log-likelihood. The draws happen in a fixed order (reverse
 * starts, base fit, forward, reverse, scored items) from one seed, so a
 * result is reproducible from its configuration. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/eval.h"

#define FIT_MAX_ITEMS 20000   /* items the Gaussian base is fitted to */
#define MIN_STD_FRACTION 0.05 /* of the box: the fitted base's std floor */
#define LN2 0.69314718055994530942

ebm_loglik_config ebm_loglik_defaults(void) {
  ebm_loglik_config c;
  memset(&c, 0, sizeof c);
  c.ais = ebm_ais_defaults();
  c.lo = -(float)EBM_TOY_EXTENT;
  c.hi = (float)EBM_TOY_EXTENT;
  c.reverse = -1;
  return c;
}

/* Copies `count` items chosen uniformly without replacement (in index
 * order) from ds into x (selection sampling, Knuth 3.4.2 S). */
static void pick_items(const ebm_dataset *ds, int64_t count, ebm_rng *rng, float *x) {
  const int64_t N = ds->x->shape[0], item = ebm_tensor_row_size(ds->x);
  int64_t need = count;
  for (int64_t i = 0, out = 0; i < N && need > 0; i++)
    if ((double)(N - i) * ebm_rng_double(rng) < (double)need) {
      memcpy(x + out * item, ds->x->data + i * item, (size_t)item * sizeof(float));
      out++;
      need--;
    }
}

/* The base: uniform on the box, a Gaussian fitted to (some of) the data, or
 * a broad Gaussian in the middle of the box. */
static ebm_status make_base(const ebm_energy *model, const ebm_dataset *ds, const ebm_loglik_config *cfg, float lo,
                            float hi, ebm_rng *pick_rng, float *scratch, ebm_loglik_result *r, ebm_ais_base **base) {
  const int64_t dim = ebm_energy_item_size(model);
  const int ranged = model->range_lo < model->range_hi;
  if (cfg->uniform_base) {
    snprintf(r->base, sizeof r->base, "uniform base on [%g, %g]^%lld", (double)lo, (double)hi, (long long)dim);
    return ebm_ais_base_uniform(model, lo, hi, base);
  }
  if (ds) {
    const int64_t m = ds->x->shape[0] < FIT_MAX_ITEMS ? ds->x->shape[0] : FIT_MAX_ITEMS;
    pick_items(ds, m, pick_rng, scratch);
    snprintf(r->base, sizeof r->base, "gaussian base fitted to %lld items of %s%s", (long long)m, ds->spec,
             ranged ? " (truncated to the range)" : "");
    return ebm_ais_base_gaussian_fit(model, scratch, m, (float)(MIN_STD_FRACTION * (hi - lo)), base);
  }
  float *mean = malloc((size_t)dim * sizeof *mean), *sd = malloc((size_t)dim * sizeof *sd);
  ebm_status st = mean && sd ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory for the AIS base");
  for (int64_t k = 0; st == EBM_OK && k < dim; k++) {
    mean[k] = 0.5f * (lo + hi);
    sd[k] = 0.25f * (hi - lo);
  }
  if (st == EBM_OK) st = ebm_ais_base_gaussian(model, mean, sd, base);
  free(mean);
  free(sd);
  snprintf(r->base, sizeof r->base, "gaussian base N(%g, %g^2)%s", 0.5 * (lo + hi), 0.25 * (hi - lo),
           ranged ? " truncated to the range" : "");
  return st;
}

/* The bounds on the data's log-likelihood from the two log Z estimates. */
static void likelihood_bounds(int64_t dim, ebm_loglik_result *r) {
  const double bpd_scale = (double)dim * LN2;
  r->ll_upper = -r->mean_energy - r->forward.log_z;
  r->bpd_lower = -r->ll_upper / bpd_scale;
  if (r->reverse.chains > 0) {
    r->ll_lower = -r->mean_energy - r->reverse.log_z;
    r->bpd_upper = -r->ll_lower / bpd_scale;
  }
}

ebm_status ebm_loglik_evaluate(const ebm_energy *model, const ebm_dataset *ds, const ebm_loglik_config *cfg,
                               ebm_ais_step_fn cb, void *cb_ctx, ebm_loglik_result *r) {
  memset(r, 0, sizeof *r);
  r->ll_upper = r->ll_lower = r->bpd_lower = r->bpd_upper = NAN;
  const int64_t dim = ebm_energy_item_size(model);
  const int ranged = model->range_lo < model->range_hi;
  const float lo = ranged ? model->range_lo : cfg->lo, hi = ranged ? model->range_hi : cfg->hi;
  r->lo = lo;
  r->hi = hi;
  if (!(lo < hi)) return ebm_set_error(EBM_ERR_ARG, "%s: the AIS box [%g, %g] is empty", model->name, (double)lo,
                                       (double)hi);
  if (ds && ebm_tensor_row_size(ds->x) != dim) {
    char got[64], want[64];
    ebm_shape_str(ds->x->ndim - 1, ds->x->shape + 1, got, sizeof got);
    ebm_shape_str(model->item_ndim, model->item_shape, want, sizeof want);
    return ebm_set_error(EBM_ERR_SHAPE, "%s: items are %s, but %s takes %s", ds->spec, got, model->name, want);
  }
  ebm_rng rng, pick_rng;
  ebm_rng_init(&rng, cfg->seed);
  pick_rng = ebm_rng_split(&rng, 1);
  const int64_t N = ds ? ds->x->shape[0] : 0;
  const int64_t n_data = ds ? (cfg->items > 0 && cfg->items < N ? cfg->items : N) : 0;
  const int64_t n_rev = !ds ? 0 : cfg->reverse < 0 ? (cfg->ais.chains < N ? cfg->ais.chains : N)
                                                   : (cfg->reverse < N ? cfg->reverse : N);
  const int64_t n_fit = ds && !cfg->uniform_base ? (N < FIT_MAX_ITEMS ? N : FIT_MAX_ITEMS) : 0;
  ebm_status st = EBM_OK;
  ebm_ais_base *base = NULL;
  float *xd = ds ? malloc((size_t)((n_data > n_fit ? n_data : n_fit) * dim) * sizeof *xd) : NULL;
  float *xr = n_rev > 0 ? malloc((size_t)(n_rev * dim) * sizeof *xr) : NULL;
  r->log_w_forward = malloc((size_t)cfg->ais.chains * sizeof *r->log_w_forward);
  r->log_w_reverse = n_rev > 0 ? malloc((size_t)n_rev * sizeof *r->log_w_reverse) : NULL;
  if ((ds && !xd) || (n_rev > 0 && (!xr || !r->log_w_reverse)) || !r->log_w_forward) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld chains and %lld data items",
                       (long long)cfg->ais.chains, (long long)n_data);
    goto done;
  }
  if (xr) pick_items(ds, n_rev, &pick_rng, xr);
  if ((st = make_base(model, ds, cfg, lo, hi, &pick_rng, xd, r, &base)) != EBM_OK) goto done;
  if ((st = ebm_ais_forward(model, base, &cfg->ais, &rng, r->log_w_forward, &r->forward, cb, cb_ctx)) != EBM_OK)
    goto done;
  if (n_rev > 0 && (st = ebm_ais_reverse(model, base, &cfg->ais, xr, n_rev, &rng, r->log_w_reverse, &r->reverse, cb,
                                         cb_ctx)) != EBM_OK)
    goto done;
  if (ds) {
    pick_items(ds, n_data, &pick_rng, xd);
    if ((st = ebm_mean_energy(model, xd, NULL, n_data, &r->mean_energy, &r->mean_energy_se)) != EBM_OK) goto done;
    r->items = n_data;
    r->mean_energy /= cfg->ais.temperature; /* the density is exp(−E/T) / Z_T */
    r->mean_energy_se /= cfg->ais.temperature;
    likelihood_bounds(dim, r);
  }
  r->bounds_inverted = n_rev > 0 && r->reverse.log_z < r->forward.log_z -
                                                           3.0 * hypot(r->forward.log_z_se, r->reverse.log_z_se);
done:
  free(xd);
  free(xr);
  ebm_ais_base_free(base);
  return st;
}

void ebm_loglik_result_free(ebm_loglik_result *r) {
  if (!r) return;
  free(r->log_w_forward);
  free(r->log_w_reverse);
  r->log_w_forward = r->log_w_reverse = NULL;
}
