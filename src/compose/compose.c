/* AND / OR / AND NOT of energies (Du, Li & Mordatch 2020, seed 001;
 * Hinton's product of experts, seed 000 "Compositionality via Sum of
 * EBMs"). A composition is itself an ebm_energy that evaluates its terms one
 * after another into scratch sized at construction and folds each into the
 * result, so the scratch does not grow with the number of terms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/compose.h"

/* When no term bounds its batch, the composition evaluates this many items
 * at a time (ebm_energy_eval chunks larger calls). */
#define COMPOSE_DEFAULT_BATCH 1024
#define COMPOSE_NAME_MAX 256

typedef enum { OP_SUM, OP_OR } compose_op;

typedef struct {
  compose_op op;
  int count;
  const ebm_energy **terms; /* borrowed */
  double *coef;             /* SUM: w_i/T_i; OR: 1/T_i */
  double *log_w;            /* OR: log w_i */
  int64_t max_batch, dim;
  float *term_e;            /* max_batch */
  float *term_g;            /* max_batch × dim */
  double *acc;              /* SUM: Σ c_i E_i; OR: running max m of a_i = log w_i − E_i/T_i */
  double *sum;              /* OR: Σ exp(a_i − m) */
  char name[COMPOSE_NAME_MAX];
} compose_energy;

ebm_compose_term ebm_compose_term_of(const ebm_energy *en) {
  ebm_compose_term t = {en, 1.0, 1.0};
  return t;
}

/* Labels go to conditional terms only; a conditional term without labels
 * is the caller's mistake, named here rather than deep in a network. */
static ebm_status term_eval(const compose_energy *c, int k, const float *x, const ebm_cond *cond,
                            int64_t n, int want_grad) {
  const ebm_energy *en = c->terms[k];
  if (en->num_classes > 0 && !(cond && cond->labels))
    return ebm_set_error(EBM_ERR_ARG,
                         "%s: term '%s' is conditional: give labels, or fix one with ebm_label_energy_new",
                         c->name, en->name);
  const ebm_cond part = ebm_cond_for(en, cond);
  return ebm_energy_eval(en, x, &part, n, c->term_e,
                         want_grad ? c->term_g : NULL);
}

// x is (n, D), e is (n), grad (n, D) or NULL: E = Σ c_k E_k, ∇E = Σ c_k ∇E_k.
static ebm_status sum_eval(compose_energy *c, const float *x, const ebm_cond *cond, int64_t n, float *e,
                           float *grad) {
  const int64_t D = c->dim;
  for (int64_t i = 0; i < n; i++) c->acc[i] = 0.0;
  if (grad) memset(grad, 0, (size_t)(n * D) * sizeof *grad);
  for (int k = 0; k < c->count; k++) {
    const double ck = c->coef[k];
    if (ck == 0.0) continue; /* a zero weight drops the term (and any inf·0) */
    ebm_status st = term_eval(c, k, x, cond, n, grad != NULL);
    if (st != EBM_OK) return st;
    for (int64_t i = 0; i < n; i++) c->acc[i] += ck * (double)c->term_e[i];
    if (grad) {
      const float cf = (float)ck;
      for (int64_t j = 0; j < n * D; j++) grad[j] += cf * c->term_g[j];
    }
  }
  for (int64_t i = 0; i < n; i++) e[i] = (float)c->acc[i];
  return EBM_OK;
}

/* x is (n, D), e is (n), grad (n, D) or NULL. E = −log Σ_k exp(a_k),
 * a_k = log w_k − E_k/T_k, by the streaming log-sum-exp: keep the running
 * max m, s = Σ exp(a_k − m) and G = Σ exp(a_k − m)·∇E_k/T_k, rescaling s
 * and G when m grows; then E = −(m + log s) and ∇E = G/s, the
 * softmax-weighted gradient. */
static ebm_status or_eval(compose_energy *c, const float *x, const ebm_cond *cond, int64_t n, float *e,
                          float *grad) {
  const int64_t D = c->dim;
  for (int64_t i = 0; i < n; i++) {
    c->acc[i] = -INFINITY;
    c->sum[i] = 0.0;
  }
  if (grad) memset(grad, 0, (size_t)(n * D) * sizeof *grad);
  for (int k = 0; k < c->count; k++) {
    ebm_status st = term_eval(c, k, x, cond, n, grad != NULL);
    if (st != EBM_OK) return st;
    const double inv_t = c->coef[k], log_w = c->log_w[k];
    for (int64_t i = 0; i < n; i++) {
      const double a = log_w - inv_t * (double)c->term_e[i];
      if (a == -INFINITY) continue; /* E_k = +inf: no mass from this term */
      double r;                     /* this term's factor relative to the running max */
      if (a > c->acc[i]) {
        const double rescale = exp(c->acc[i] - a); /* 0 when m was -inf */
        c->sum[i] *= rescale;
        if (grad)
          for (int64_t j = 0; j < D; j++) grad[i * D + j] *= (float)rescale;
        c->acc[i] = a;
        r = 1.0;
      } else {
        r = exp(a - c->acc[i]); /* NaN energies stay NaN and the sampler stops */
      }
      c->sum[i] += r;
      if (grad) {
        const float rf = (float)(r * inv_t);
        const float *g = c->term_g + i * D;
        for (int64_t j = 0; j < D; j++) grad[i * D + j] += rf * g[j];
      }
    }
  }
  for (int64_t i = 0; i < n; i++) {
    if (c->acc[i] == -INFINITY) { /* every term infinite: no mass, no pull */
      e[i] = INFINITY;
      continue;
    }
    e[i] = (float)-(c->acc[i] + log(c->sum[i]));
    if (grad) {
      const float inv_s = (float)(1.0 / c->sum[i]);
      for (int64_t j = 0; j < D; j++) grad[i * D + j] *= inv_s;
    }
  }
  return EBM_OK;
}

static ebm_status compose_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e,
                               float *grad) {
  compose_energy *c = self;
  if (n > c->max_batch)
    return ebm_set_error(EBM_ERR_ARG, "%s: batch %lld exceeds %lld", c->name, (long long)n,
                         (long long)c->max_batch);
  return c->op == OP_SUM ? sum_eval(c, x, cond, n, e, grad) : or_eval(c, x, cond, n, e, grad);
}

static void compose_destroy(void *self) {
  compose_energy *c = self;
  if (!c) return;
  free(c->terms);
  free(c->coef);
  free(c->log_w);
  ebm_free(c->term_e);
  ebm_free(c->term_g);
  free(c->acc);
  free(c->sum);
  free(c);
}

/* "a AND 0.5*b AND NOT c": readable, truncated to the buffer. */
static void compose_name(compose_energy *c, const ebm_compose_term *terms) {
  size_t len = 0;
  c->name[0] = '\0';
  for (int k = 0; k < c->count && len + 1 < sizeof c->name; k++) {
    const ebm_compose_term *t = &terms[k];
    const char *sep = k == 0 ? "" : c->op == OP_OR ? " OR " : t->weight < 0 ? " AND NOT " : " AND ";
    double w = c->op == OP_SUM && k > 0 ? fabs(t->weight) : t->weight;
    char scale[32] = "", temp[32] = "";
    if (w != 1.0) snprintf(scale, sizeof scale, "%g*", w);
    if (t->temperature != 1.0) snprintf(temp, sizeof temp, "/%g", t->temperature);
    int wrote = snprintf(c->name + len, sizeof c->name - len, "%s%s%s%s", sep, scale, t->energy->name, temp);
    if (wrote < 0) break;
    len += (size_t)wrote < sizeof c->name - len ? (size_t)wrote : sizeof c->name - len - 1;
  }
}

/* Validates the terms and works out the shared item shape, classes, range
 * and batch into `en`. `what` is "and" / "or" for messages. */
static ebm_status check_terms(const ebm_compose_term *terms, int count, compose_op op,
                              ebm_energy *en, int64_t *max_batch) {
  const char *what = op == OP_OR ? "or" : "and";
  if (!terms || count < 1)
    return ebm_set_error(EBM_ERR_ARG, "compose %s: needs at least one term, got %d", what, count);
  int64_t batch = 0;
  float lo = -INFINITY, hi = INFINITY;
  int ranged = 0;
  for (int k = 0; k < count; k++) {
    const ebm_compose_term *t = &terms[k];
    const ebm_energy *e = t->energy;
    if (!e) return ebm_set_error(EBM_ERR_ARG, "compose %s: term %d has no energy", what, k);
    if (op == OP_OR ? !(t->weight > 0.0 && isfinite(t->weight)) : !isfinite(t->weight))
      return ebm_set_error(EBM_ERR_ARG, "compose %s: term %d (%s): weight must be %s, got %g", what, k,
                           e->name, op == OP_OR ? "finite and > 0" : "finite", t->weight);
    if (!(t->temperature > 0.0 && isfinite(t->temperature)))
      return ebm_set_error(EBM_ERR_ARG, "compose %s: term %d (%s): temperature must be finite and > 0, got %g",
                           what, k, e->name, t->temperature);
    const ebm_energy *first = terms[0].energy;
    if (e->item_ndim != first->item_ndim ||
        memcmp(e->item_shape, first->item_shape, (size_t)e->item_ndim * sizeof(int64_t)) != 0) {
      char s0[64], s1[64];
      return ebm_set_error(EBM_ERR_SHAPE, "compose %s: %s has items %s but %s has %s", what, first->name,
                           ebm_shape_str(first->item_ndim, first->item_shape, s0, sizeof s0), e->name,
                           ebm_shape_str(e->item_ndim, e->item_shape, s1, sizeof s1));
    }
    if (e->num_classes > 0) {
      if (en->num_classes > 0 && en->num_classes != e->num_classes)
        return ebm_set_error(EBM_ERR_ARG, "compose %s: conditional terms disagree: %d classes vs %d in %s",
                             what, en->num_classes, e->num_classes, e->name);
      en->num_classes = e->num_classes;
    }
    if (e->needs_sigma) en->needs_sigma = 1;
    if (e->range_lo < e->range_hi) {
      ranged = 1;
      lo = e->range_lo > lo ? e->range_lo : lo;
      hi = e->range_hi < hi ? e->range_hi : hi;
    }
    if (e->max_batch > 0 && (batch == 0 || e->max_batch < batch)) batch = e->max_batch;
  }
  if (ranged && !(lo < hi))
    return ebm_set_error(EBM_ERR_ARG, "compose %s: the terms' data ranges do not overlap", what);
  en->item_ndim = terms[0].energy->item_ndim;
  memcpy(en->item_shape, terms[0].energy->item_shape, sizeof en->item_shape);
  en->range_lo = ranged ? lo : 0.0f;
  en->range_hi = ranged ? hi : 0.0f;
  *max_batch = batch > 0 ? batch : COMPOSE_DEFAULT_BATCH;
  return EBM_OK;
}

static ebm_status compose_new(const ebm_compose_term *terms, int count, compose_op op,
                              ebm_energy **out) {
  ebm_status st = EBM_OK;
  compose_energy *c = NULL;
  ebm_energy *en = NULL;
  *out = NULL;
  if (!(en = ebm_energy_alloc())) return EBM_ERR_NOMEM;
  int64_t max_batch = 0;
  if ((st = check_terms(terms, count, op, en, &max_batch)) != EBM_OK) goto fail;
  if (!(c = calloc(1, sizeof *c))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory allocating a composition");
    goto fail;
  }
  c->op = op;
  c->count = count;
  c->max_batch = max_batch;
  c->dim = ebm_energy_item_size(en);
  c->terms = calloc((size_t)count, sizeof *c->terms);
  c->coef = calloc((size_t)count, sizeof *c->coef);
  c->log_w = calloc((size_t)count, sizeof *c->log_w);
  c->acc = calloc((size_t)max_batch, sizeof *c->acc);
  c->sum = calloc((size_t)max_batch, sizeof *c->sum);
  c->term_e = ebm_alloc((size_t)max_batch, sizeof(float));
  c->term_g = ebm_alloc((size_t)(max_batch * c->dim), sizeof(float));
  if (!c->terms || !c->coef || !c->log_w || !c->acc || !c->sum || !c->term_e || !c->term_g) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for a composition of %d terms over batches of %lld",
                       count, (long long)max_batch);
    goto fail;
  }
  for (int k = 0; k < count; k++) {
    c->terms[k] = terms[k].energy;
    c->coef[k] = op == OP_OR ? 1.0 / terms[k].temperature : terms[k].weight / terms[k].temperature;
    c->log_w[k] = op == OP_OR ? log(terms[k].weight) : 0.0;
  }
  compose_name(c, terms);
  en->name = c->name;
  en->max_batch = max_batch;
  en->eval = compose_eval;
  en->destroy = compose_destroy;
  en->self = c;
  *out = en;
  return EBM_OK;
fail:
  compose_destroy(c);
  free(en);
  return st;
}

ebm_status ebm_compose_and_new(const ebm_compose_term *terms, int count, ebm_energy **out) {
  return compose_new(terms, count, OP_SUM, out);
}

ebm_status ebm_compose_or_new(const ebm_compose_term *terms, int count, ebm_energy **out) {
  return compose_new(terms, count, OP_OR, out);
}

ebm_status ebm_compose_and_not_new(const ebm_compose_term *a, const ebm_compose_term *b,
                                   double alpha, ebm_energy **out) {
  *out = NULL;
  if (!a || !b) return ebm_set_error(EBM_ERR_ARG, "compose and-not: both terms are required");
  if (!(alpha >= 0.0 && isfinite(alpha)))
    return ebm_set_error(EBM_ERR_ARG, "compose and-not: alpha must be finite and >= 0, got %g", alpha);
  ebm_compose_term terms[2] = {*a, *b};
  terms[1].weight = -alpha * b->weight;
  return compose_new(terms, 2, OP_SUM, out);
}
