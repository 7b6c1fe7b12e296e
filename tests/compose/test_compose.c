/* Compositions of energies: values against a double-precision reference
 * built from the toys' exact log-densities, gradients against central
 * finite differences of that reference, label wrappers, and every error a
 * caller can hit. */
#include "test.h"

#define NPTS 64
#define FD_H 1e-5

/* ------------------------------------------------- reference energies */

/* The 2-D Gaussian used as a term: mean (1, 0.5), cov diag(1.5, 0.7). */
static const double g_mean[2] = {1.0, 0.5}, g_var[2] = {1.5, 0.7};

static ebm_energy *test_gaussian(void) {
  double cov[4] = {g_var[0], 0, 0, g_var[1]};
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_gaussian_energy_new(2, g_mean, cov, &en));
  return en;
}

static double gauss_e(const double *x) {
  double a = x[0] - g_mean[0], b = x[1] - g_mean[1];
  return 0.5 * (a * a / g_var[0] + b * b / g_var[1]);
}

static double toy_e(ebm_toy toy, const double *x) {
  double lp;
  REQUIRE_OK(ebm_toy_log_density(toy, x, 1, &lp));
  return -lp;
}

/* The compositions under test, in double: which = 0 AND, 1 OR, 2 AND NOT,
 * 3 OR of (AND) and rings. */
static double reference(int which, const double *x) {
  double a = toy_e(EBM_TOY_8GAUSSIANS, x), r = toy_e(EBM_TOY_RINGS, x), g = gauss_e(x);
  switch (which) {
    case 0: return 0.7 * a / 1.5 + 1.3 * r;
    case 1: {
      double u = log(0.3) - a / 2.0, v = log(0.7) - r, m = u > v ? u : v;
      return -(m + log(exp(u - m) + exp(v - m)));
    }
    case 2: return a - 0.5 * 2.0 * g;
    default: {
      double u = log(0.4) - (a + g), v = log(0.6) - r / 0.8, m = u > v ? u : v;
      return -(m + log(exp(u - m) + exp(v - m)));
    }
  }
}

typedef struct {
  ebm_energy *toy8, *rings, *gauss, *and_, *or_, *not_, *inner, *nested;
} compositions;

static void build(compositions *c) {
  memset(c, 0, sizeof *c);
  REQUIRE_OK(ebm_toy_energy_new(EBM_TOY_8GAUSSIANS, &c->toy8));
  REQUIRE_OK(ebm_toy_energy_new(EBM_TOY_RINGS, &c->rings));
  c->gauss = test_gaussian();
  ebm_compose_term and_terms[2] = {{c->toy8, 0.7, 1.5}, {c->rings, 1.3, 1.0}};
  REQUIRE_OK(ebm_compose_and_new(and_terms, 2, &c->and_));
  ebm_compose_term or_terms[2] = {{c->toy8, 0.3, 2.0}, {c->rings, 0.7, 1.0}};
  REQUIRE_OK(ebm_compose_or_new(or_terms, 2, &c->or_));
  ebm_compose_term a = ebm_compose_term_of(c->toy8), b = {c->gauss, 2.0, 1.0};
  REQUIRE_OK(ebm_compose_and_not_new(&a, &b, 0.5, &c->not_));
  ebm_compose_term inner_terms[2] = {ebm_compose_term_of(c->toy8), ebm_compose_term_of(c->gauss)};
  REQUIRE_OK(ebm_compose_and_new(inner_terms, 2, &c->inner));
  ebm_compose_term nested_terms[2] = {{c->inner, 0.4, 1.0}, {c->rings, 0.6, 0.8}};
  REQUIRE_OK(ebm_compose_or_new(nested_terms, 2, &c->nested));
}

static void destroy(compositions *c) { /* wrappers before what they borrow */
  ebm_energy_free(c->nested);
  ebm_energy_free(c->inner);
  ebm_energy_free(c->not_);
  ebm_energy_free(c->or_);
  ebm_energy_free(c->and_);
  ebm_energy_free(c->gauss);
  ebm_energy_free(c->rings);
  ebm_energy_free(c->toy8);
}

/* NPTS points over [-3, 3]², where every term is finite and moderate. */
static void points(float *x) {
  ebm_rng rng;
  ebm_rng_init(&rng, 11);
  ebm_rng_uniform(&rng, x, NPTS * 2, -3.0f, 3.0f);
}

/* Energies to float rounding (relative 1e-5 of a value up to ~50) and
 * gradients to 1e-4·(1 + |g|): the float terms carry ~1e-7 relative error
 * and the double central difference with h = 1e-5 about 1e-8; a wrong
 * weight, temperature or softmax is off by O(|g|). */
static void check_against_reference(const ebm_energy *en, int which) {
  float x[NPTS * 2], e[NPTS], g[NPTS * 2];
  points(x);
  REQUIRE_OK(ebm_energy_eval(en, x, NULL, NPTS, e, g));
  int bad = 0;
  for (int i = 0; i < NPTS; i++) {
    double p[2] = {x[2 * i], x[2 * i + 1]};
    double ref = reference(which, p);
    if (!(fabs(e[i] - ref) <= 1e-5 * (1.0 + fabs(ref)))) {
      if (bad++ < 3) test_fail_at(__FILE__, __LINE__, "composition %d at (%g, %g): E %.9g vs %.9g", which, p[0], p[1], e[i], ref);
    }
    for (int d = 0; d < 2; d++) {
      double q[2] = {p[0], p[1]}, hi, lo;
      q[d] = p[d] + FD_H;
      hi = reference(which, q);
      q[d] = p[d] - FD_H;
      lo = reference(which, q);
      double fd = (hi - lo) / (2 * FD_H);
      if (!(fabs(g[2 * i + d] - fd) <= 1e-4 * (1.0 + fabs(fd)))) {
        if (bad++ < 3)
          test_fail_at(__FILE__, __LINE__, "composition %d at (%g, %g): dE/dx%d %.9g vs fd %.9g", which, p[0],
                       p[1], d, g[2 * i + d], fd);
      }
    }
  }
  CHECK_EQ_INT(bad, 0);
}

TEST(compose_and_weights_temperatures_match_reference_and_fd) {
  compositions c;
  build(&c);
  check_against_reference(c.and_, 0);
  CHECK_CONTAINS(c.and_->name, "0.7*toy:8gaussians/1.5 AND 1.3*toy:rings");
  destroy(&c);
}

TEST(compose_or_is_weighted_logsumexp_with_softmax_gradient) {
  compositions c;
  build(&c);
  check_against_reference(c.or_, 1);
  CHECK_CONTAINS(c.or_->name, " OR ");
  destroy(&c);
}

TEST(compose_and_not_subtracts_alpha_times_the_term) {
  compositions c;
  build(&c);
  check_against_reference(c.not_, 2);
  CHECK_CONTAINS(c.not_->name, "AND NOT");
  destroy(&c);
}

TEST(compose_nests_an_and_inside_an_or) {
  compositions c;
  build(&c);
  check_against_reference(c.nested, 3);
  destroy(&c);
}

/* The energy without a gradient is the same number, and OR of normalised
 * terms with weights summing to 1 integrates to 1 (it is the mixture):
 * ∫ exp(−E) over [-4, 4]² by the midpoint rule on a 400² grid. */
TEST(compose_or_of_normalised_toys_is_a_normalised_mixture) {
  compositions c;
  build(&c);
  ebm_compose_term terms[2] = {{c.toy8, 0.25, 1.0}, {c.rings, 0.75, 1.0}};
  ebm_energy *mix = NULL;
  REQUIRE_OK(ebm_compose_or_new(terms, 2, &mix));
  const int G = 400;
  const double h = 8.0 / G;
  float *x = malloc(sizeof(float) * 2 * G * G), *e = malloc(sizeof(float) * G * G), *e2 = malloc(sizeof(float) * G * G);
  float *g = malloc(sizeof(float) * 2 * G * G);
  REQUIRE(x && e && e2 && g);
  for (int i = 0; i < G * G; i++) {
    x[2 * i] = (float)(-4.0 + h * (i % G + 0.5));
    x[2 * i + 1] = (float)(-4.0 + h * (i / G + 0.5));
  }
  REQUIRE_OK(ebm_energy_eval(mix, x, NULL, G * G, e, NULL));
  REQUIRE_OK(ebm_energy_eval(mix, x, NULL, G * G, e2, g));
  double mass = 0.0;
  int same = 1;
  for (int i = 0; i < G * G; i++) {
    mass += exp(-(double)e[i]) * h * h;
    same &= e[i] == e2[i];
  }
  CHECK(same);
  CHECK_NEAR(mass, 1.0, 2e-3); /* the midpoint rule on σ = 0.1 rings, h = 0.02 */
  free(x);
  free(e);
  free(e2);
  free(g);
  ebm_energy_free(mix);
  destroy(&c);
}

/* ------------------------------------------------ conditional energies */

/* E(x, y) = ½|x − μ_y|², μ_y = (y, −y), 3 classes, and it records the
 * labels it saw. */
typedef struct {
  int32_t seen[16];
  int calls;
} cond_state;

static ebm_status cond_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e, float *grad) {
  const int32_t *y = cond ? cond->labels : NULL;
  cond_state *s = self;
  s->calls++;
  if (!y) return ebm_set_error(EBM_ERR_ARG, "cond: labels required");
  for (int64_t i = 0; i < n; i++) {
    if (i < 16) s->seen[i] = y[i];
    double a = x[2 * i] - y[i], b = x[2 * i + 1] + y[i];
    e[i] = (float)(0.5 * (a * a + b * b));
    if (grad) {
      grad[2 * i] = (float)a;
      grad[2 * i + 1] = (float)b;
    }
  }
  return EBM_OK;
}

static ebm_energy *cond_energy(cond_state *s, int64_t max_batch) {
  ebm_energy *en = ebm_energy_alloc();
  REQUIRE(en);
  memset(s, 0, sizeof *s);
  en->name = "cond";
  en->item_ndim = 1;
  en->item_shape[0] = 2;
  en->num_classes = 3;
  en->max_batch = max_batch;
  en->eval = cond_eval;
  en->self = s;
  return en;
}

/* E(x,1) + E(x,2) = ½|x − (1,−1)|² + ½|x − (2,−2)|², exactly. */
TEST(label_energies_compose_one_conditional_model_with_two_classes) {
  cond_state s;
  ebm_energy *cond = cond_energy(&s, 5), *l1 = NULL, *l2 = NULL, *both = NULL;
  REQUIRE_OK(ebm_label_energy_new(cond, 1, &l1));
  REQUIRE_OK(ebm_label_energy_new(cond, 2, &l2));
  CHECK_EQ_INT(l1->num_classes, 0);
  CHECK_CONTAINS(l2->name, "cond[class=2]");
  ebm_compose_term t[2] = {ebm_compose_term_of(l1), ebm_compose_term_of(l2)};
  REQUIRE_OK(ebm_compose_and_new(t, 2, &both));
  CHECK_EQ_INT(both->max_batch, 5); /* the smallest batch of a term */
  float x[12 * 2], e[12], g[12 * 2];
  for (int i = 0; i < 24; i++) x[i] = 0.25f * (float)(i % 7) - 0.5f;
  REQUIRE_OK(ebm_energy_eval(both, x, NULL, 12, e, g)); /* chunked: 5 + 5 + 2 */
  for (int i = 0; i < 12; i++) {
    double a1 = x[2 * i] - 1, b1 = x[2 * i + 1] + 1, a2 = x[2 * i] - 2, b2 = x[2 * i + 1] + 2;
    CHECK_NEAR(e[i], 0.5 * (a1 * a1 + b1 * b1 + a2 * a2 + b2 * b2), 1e-5);
    CHECK_NEAR(g[2 * i], a1 + a2, 1e-6);
    CHECK_NEAR(g[2 * i + 1], b1 + b2, 1e-6);
  }
  /* labels are fixed: an outside label is refused as for any unconditional energy */
  int32_t y[1] = {0};
  CHECK_FAILS_WITH(ebm_energy_eval(l1, x, &(ebm_cond){.labels = y}, 1, e, NULL), EBM_ERR_ARG, "unconditional");
  ebm_energy_free(both);
  ebm_energy_free(l1);
  ebm_energy_free(l2);
  ebm_energy_free(cond);
}

/* Labels given to a composition reach its conditional terms only. */
TEST(compose_forwards_labels_to_conditional_terms_only) {
  cond_state s;
  ebm_energy *cond = cond_energy(&s, 0), *gauss = test_gaussian(), *and_ = NULL;
  ebm_compose_term t[2] = {ebm_compose_term_of(cond), ebm_compose_term_of(gauss)};
  REQUIRE_OK(ebm_compose_and_new(t, 2, &and_));
  CHECK_EQ_INT(and_->num_classes, 3);
  float x[4] = {0.5f, 0.25f, -1.0f, 2.0f}, e[2];
  int32_t y[2] = {2, 0};
  REQUIRE_OK(ebm_energy_eval(and_, x, &(ebm_cond){.labels = y}, 2, e, NULL));
  CHECK_EQ_INT(s.seen[0], 2);
  CHECK_EQ_INT(s.seen[1], 0);
  for (int i = 0; i < 2; i++) {
    double p[2] = {x[2 * i], x[2 * i + 1]}, a = p[0] - y[i], b = p[1] + y[i];
    CHECK_NEAR(e[i], 0.5 * (a * a + b * b) + gauss_e(p), 1e-5);
  }
  CHECK_FAILS_WITH(ebm_energy_eval(and_, x, NULL, 2, e, NULL), EBM_ERR_ARG, "term 'cond' is conditional");
  ebm_energy_free(and_);
  ebm_energy_free(gauss);
  ebm_energy_free(cond);
}

/* ------------------------------------------------------ infinite terms */

/* E = ½|x|² on x₀ ≥ 0 and +inf elsewhere (a density with a hard edge). */
static ebm_status half_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e, float *grad) {
  const int32_t *y = cond ? cond->labels : NULL;
  (void)self;
  (void)y;
  for (int64_t i = 0; i < n; i++) {
    int in = x[2 * i] >= 0.0f;
    e[i] = in ? 0.5f * (x[2 * i] * x[2 * i] + x[2 * i + 1] * x[2 * i + 1]) : INFINITY;
    if (grad) {
      grad[2 * i] = in ? x[2 * i] : 0.0f;
      grad[2 * i + 1] = in ? x[2 * i + 1] : 0.0f;
    }
  }
  return EBM_OK;
}

/* An infinite term adds no mass to an OR; if every term is infinite the
 * energy is +inf with a zero (not NaN) gradient. */
TEST(compose_or_ignores_infinite_terms_and_stays_finite_in_gradient) {
  ebm_energy half = {.name = "half", .item_ndim = 1, .item_shape = {2}, .eval = half_eval};
  ebm_energy *gauss = test_gaussian(), *or_ = NULL, *or_half = NULL;
  ebm_compose_term t[2] = {{&half, 0.5, 1.0}, {gauss, 0.5, 1.0}};
  REQUIRE_OK(ebm_compose_or_new(t, 2, &or_));
  float x[2] = {-1.0f, 0.5f}, e, g[2];
  REQUIRE_OK(ebm_energy_eval(or_, x, NULL, 1, &e, g));
  double p[2] = {x[0], x[1]};
  CHECK_NEAR(e, gauss_e(p) - log(0.5), 1e-5);
  CHECK_NEAR(g[0], (p[0] - g_mean[0]) / g_var[0], 1e-6);
  CHECK_NEAR(g[1], (p[1] - g_mean[1]) / g_var[1], 1e-6);
  ebm_compose_term only[2] = {{&half, 0.5, 1.0}, {&half, 0.5, 2.0}};
  REQUIRE_OK(ebm_compose_or_new(only, 2, &or_half));
  REQUIRE_OK(ebm_energy_eval(or_half, x, NULL, 1, &e, g));
  CHECK(isinf(e) && e > 0);
  CHECK(g[0] == 0.0f && g[1] == 0.0f);
  ebm_energy_free(or_half);
  ebm_energy_free(or_);
  ebm_energy_free(gauss);
}

/* ------------------------------------------------------------- errors */

TEST(compose_rejects_bad_terms_with_messages_naming_them) {
  ebm_energy *gauss = test_gaussian(), *g3 = NULL, *out = (ebm_energy *)1;
  REQUIRE_OK(ebm_gaussian_energy_new(3, NULL, NULL, &g3));
  ebm_compose_term t[2] = {ebm_compose_term_of(gauss), ebm_compose_term_of(g3)};
  CHECK_FAILS_WITH(ebm_compose_and_new(t, 2, &out), EBM_ERR_SHAPE, "gaussian:3 has [3]");
  CHECK(out == NULL);
  CHECK_FAILS_WITH(ebm_compose_and_new(t, 0, &out), EBM_ERR_ARG, "at least one term");
  ebm_compose_term w0[1] = {{gauss, 0.0, 1.0}};
  CHECK_FAILS_WITH(ebm_compose_or_new(w0, 1, &out), EBM_ERR_ARG, "weight must be finite and > 0");
  ebm_compose_term wn[1] = {{gauss, NAN, 1.0}};
  CHECK_FAILS_WITH(ebm_compose_and_new(wn, 1, &out), EBM_ERR_ARG, "weight must be finite");
  ebm_compose_term t0[1] = {{gauss, 1.0, 0.0}};
  CHECK_FAILS_WITH(ebm_compose_and_new(t0, 1, &out), EBM_ERR_ARG, "temperature must be finite and > 0");
  ebm_compose_term a = ebm_compose_term_of(gauss);
  CHECK_FAILS_WITH(ebm_compose_and_not_new(&a, &a, -1.0, &out), EBM_ERR_ARG, "alpha must be");
  cond_state s1, s2;
  ebm_energy *c3 = cond_energy(&s1, 0), *c4 = cond_energy(&s2, 0);
  c4->num_classes = 4;
  ebm_compose_term cc[2] = {ebm_compose_term_of(c3), ebm_compose_term_of(c4)};
  CHECK_FAILS_WITH(ebm_compose_and_new(cc, 2, &out), EBM_ERR_ARG, "conditional terms disagree");
  CHECK_FAILS_WITH(ebm_label_energy_new(c3, 3, &out), EBM_ERR_ARG, "class 3 is not in 0..2");
  CHECK_FAILS_WITH(ebm_label_energy_new(gauss, 0, &out), EBM_ERR_ARG, "unconditional");
  /* disjoint data ranges */
  ebm_energy r1 = *gauss, r2 = *gauss;
  r1.range_lo = 0.0f, r1.range_hi = 1.0f, r1.destroy = NULL;
  r2.range_lo = 2.0f, r2.range_hi = 3.0f, r2.destroy = NULL;
  ebm_compose_term rr[2] = {ebm_compose_term_of(&r1), ebm_compose_term_of(&r2)};
  CHECK_FAILS_WITH(ebm_compose_and_new(rr, 2, &out), EBM_ERR_ARG, "ranges do not overlap");
  r2.range_lo = 0.5f;
  REQUIRE_OK(ebm_compose_and_new(rr, 2, &out));
  CHECK(out->range_lo == 0.5f && out->range_hi == 1.0f);
  ebm_energy_free(out);
  ebm_energy_free(c3);
  ebm_energy_free(c4);
  ebm_energy_free(g3);
  ebm_energy_free(gauss);
}

/* ------------------------------------------------------- range mapping */

/* cond_eval's energy at u = (x + 1)/2, in double. */
static double mapped_cond_e(const double *x, int32_t y) {
  const double a = (x[0] + 1.0) / 2.0 - y, b = (x[1] + 1.0) / 2.0 + y;
  return 0.5 * (a * a + b * b);
}

/* The conditional test energy seen as trained on [0, 1] and used on
 * [−1, 1]: E'(x, y) = E((x + 1)/2, y) and ∇E' = ½·∇E((x + 1)/2, y), in
 * chunks of its batch, labels passed through; the double-precision
 * reference and a central difference of it agree with the wrapper. */
TEST(range_energy_maps_the_data_and_scales_the_gradient) {
  cond_state s;
  ebm_energy *cond = cond_energy(&s, 4), *mapped = NULL;
  cond->range_lo = 0.0f, cond->range_hi = 1.0f;
  REQUIRE_OK(ebm_range_energy_new(cond, -1.0f, 1.0f, &mapped));
  CHECK(mapped->range_lo == -1.0f && mapped->range_hi == 1.0f);
  CHECK_EQ_INT(mapped->num_classes, 3);
  CHECK_CONTAINS(mapped->name, "cond[range=-1,1]");
  enum { N = 9 };
  float x[N * 2], e[N], g[N * 2];
  int32_t y[N];
  for (int i = 0; i < N; i++) {
    x[2 * i] = -1.0f + 0.25f * (float)i;
    x[2 * i + 1] = 0.8f - 0.2f * (float)i;
    y[i] = i % 3;
  }
  REQUIRE_OK(ebm_energy_eval(mapped, x, &(ebm_cond){.labels = y}, N, e, g)); /* chunks 4 + 4 + 1 */
  CHECK_EQ_INT(s.seen[0], 2); /* the last chunk's first label: item 8 */
  for (int i = 0; i < N; i++) {
    const double xi[2] = {x[2 * i], x[2 * i + 1]};
    CHECK_NEAR(e[i], mapped_cond_e(xi, y[i]), 1e-5);
    for (int d = 0; d < 2; d++) {
      double up[2] = {xi[0], xi[1]}, dn[2] = {xi[0], xi[1]};
      up[d] += FD_H, dn[d] -= FD_H;
      CHECK_NEAR(g[2 * i + d], (mapped_cond_e(up, y[i]) - mapped_cond_e(dn, y[i])) / (2.0 * FD_H), 1e-5);
    }
  }
  ebm_energy_free(mapped);
  /* an energy without a range has nothing to map from; the new range must be a range */
  ebm_energy *gauss = test_gaussian();
  CHECK_FAILS_WITH(ebm_range_energy_new(gauss, 0.0f, 1.0f, &mapped), EBM_ERR_ARG, "has no data range");
  CHECK_FAILS_WITH(ebm_range_energy_new(cond, 1.0f, 1.0f, &mapped), EBM_ERR_ARG, "lo < hi");
  CHECK_FAILS_WITH(ebm_range_energy_new(cond, -INFINITY, 1.0f, &mapped), EBM_ERR_ARG, "finite");
  ebm_energy_free(gauss);
  ebm_energy_free(cond);
}
