/* Improved contrastive divergence (src/train/icd.c): the KL and entropy
 * terms, differentiated through the sampler's last step, against a
 * reference that recomputes the whole loss in double precision — its own
 * MLP forward and input gradient, the clipped and clamped step, the frozen
 * energy and the nearest-neighbour term — and differentiates it by central
 * differences in every parameter. */
#include "train/train_internal.h"
#include "train/mlp_ref.h"
#include "train/train_testutil.h"

enum { N = 6, D = REF_D, REFS = 5 };

typedef struct {
  const double *theta0;   /* θ̄, the frozen copy */
  double x_prev[N * D], refs[REFS * D];
  double lambda, inv_t, clip, lo, hi, w_kl, w_ent, delta;
} icd_problem;

/* L(θ) = w_kl·mean E_θ̄(x_K(θ)) − w_ent·mean ½log(min_j ‖x_K(θ) − r_j‖² + δ²),
 * x_K(θ) = clamp(x − λ·clip(∇ₓE_θ(x)/T, c), lo, hi). */
static double icd_loss(const icd_problem *p, const double *theta, double *kl, double *ent) {
  double skl = 0, sent = 0;
  for (int i = 0; i < N; i++) {
    double g[D], xk[D];
    ref_mlp_energy(theta, p->x_prev + i * D, g);
    for (int k = 0; k < D; k++) {
      double gt = g[k] * p->inv_t;
      gt = gt < -p->clip ? -p->clip : (gt > p->clip ? p->clip : gt);
      double v = p->x_prev[i * D + k] - p->lambda * gt;
      xk[k] = v < p->lo ? p->lo : (v > p->hi ? p->hi : v);
    }
    skl += ref_mlp_energy(p->theta0, xk, NULL);
    double best = INFINITY;
    for (int j = 0; j < REFS; j++) {
      double d2 = 0;
      for (int k = 0; k < D; k++) d2 += (xk[k] - p->refs[j * D + k]) * (xk[k] - p->refs[j * D + k]);
      best = d2 < best ? d2 : best;
    }
    sent += 0.5 * log(best + p->delta * p->delta);
  }
  *kl = p->w_kl * skl / N;
  *ent = -p->w_ent * sent / N;
  return *kl + *ent;
}

/* Runs the library's terms + backprop with FD step h on the problem and
 * returns the worst error against the double reference, relative to the
 * largest reference gradient. */
static double icd_error(double h, int *n_clipped, int *n_clamped) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(ref_mlp_json, N, &net));
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  REQUIRE_OK(ebm_net_init(net, &rng));
  double theta[REF_NTHETA];
  ref_mlp_theta(net, theta);
  /* the last step: x in [0, 1]³ (some near the edges, so the clamp acts),
   * the clip at the median |∇E| (so it acts on about half the elements) */
  float x_prev[N * D], g[N * D], e[N], x_k[N * D], g_k[N * D], refs[REFS * D];
  ebm_rng_uniform(&rng, x_prev, N * D, 0.0f, 1.0f);
  for (int k = 0; k < N * D; k += 4) x_prev[k] = k % 8 ? 0.999f : 0.001f;
  ebm_rng_uniform(&rng, refs, REFS * D, 0.0f, 1.0f);
  REQUIRE_OK(ebm_net_grad_input(net, x_prev, NULL, N, e, g));
  float mags[N * D];
  for (int k = 0; k < N * D; k++) mags[k] = fabsf(g[k]);
  for (int a = 0; a < N * D; a++) /* sort, for the median */
    for (int b = a + 1; b < N * D; b++)
      if (mags[b] < mags[a]) {
        float t = mags[a];
        mags[a] = mags[b];
        mags[b] = t;
      }
  ebm_last_step ls = {x_prev, g, N, 0.5f / mags[N * D / 2], 1.0f, 0.5f * (mags[N * D / 2] + mags[N * D / 2 - 1]), 0.0f, 1.0f};
  ls.lambda = 0.05f / ls.clip; /* a clipped element moves by 0.05 */
  *n_clipped = *n_clamped = 0;
  for (int k = 0; k < N * D; k++) {
    float gt = g[k] * ls.inv_temperature, c = gt < -ls.clip ? -ls.clip : (gt > ls.clip ? ls.clip : gt);
    float v = x_prev[k] - ls.lambda * c;
    x_k[k] = v < ls.lo ? ls.lo : (v > ls.hi ? ls.hi : v);
    *n_clipped += fabsf(gt) > ls.clip;
    *n_clamped += v < ls.lo || v > ls.hi;
    /* no element sits on a threshold, where the reference's FD would straddle it */
    REQUIRE(fabs(fabs(gt) - ls.clip) > 1e-4 * ls.clip && fabs(v - ls.lo) > 1e-5 && fabs(v - ls.hi) > 1e-5);
  }
  REQUIRE_OK(ebm_net_grad_input(net, x_k, NULL, N, e, g_k));

  icd_problem prob = {.theta0 = theta, .lambda = ls.lambda, .inv_t = ls.inv_temperature, .clip = ls.clip,
                      .lo = ls.lo, .hi = ls.hi, .w_kl = 0.7, .w_ent = 0.3, .delta = 1e-3};
  for (int k = 0; k < N * D; k++) prob.x_prev[k] = x_prev[k];
  for (int k = 0; k < REFS * D; k++) prob.refs[k] = refs[k];

  float v[N * D], u[N * D], xw[N * D], de[N], ew[N];
  train_icd_values vals;
  train_icd_terms(x_k, e, g_k, N, N, D, 0.7f, 0.3f, refs, REFS, 1e-3f, &vals, v);
  ebm_net_zero_grad(net);
  REQUIRE_OK(train_backprop_last_step(net, NULL, &ls, x_k, v, D, h, u, xw, de, ew));

  double kl, ent;
  icd_loss(&prob, theta, &kl, &ent);
  CHECK_NEAR(vals.kl, kl, 1e-5 * (1 + fabs(kl)));
  CHECK_NEAR(vals.entropy, ent, 1e-5 * (1 + fabs(ent)));

  /* d/dθ of the double loss (θ̄ stays θ0) by central differences */
  double ref[REF_NTHETA], th[REF_NTHETA], scale = 0;
  memcpy(th, theta, sizeof th);
  for (int j = 0; j < REF_NTHETA; j++) {
    const double hj = 1e-6, keep = th[j];
    double a, b, t1, t2;
    th[j] = keep + hj;
    a = icd_loss(&prob, th, &t1, &t2);
    th[j] = keep - hj;
    b = icd_loss(&prob, th, &t1, &t2);
    th[j] = keep;
    ref[j] = (a - b) / (2 * hj);
    scale = fmax(scale, fabs(ref[j]));
  }
  REQUIRE(scale > 1e-3); /* a gradient worth checking */
  const double worst = ref_mlp_grad_error(net, ref);
  ebm_net_free(net);
  return worst / scale;
}

TEST(kl_and_entropy_gradient_through_the_last_step_matches_a_double_reference) {
  int clipped, clamped;
  const double err = icd_error(TRAIN_ICD_FD_STEP, &clipped, &clamped);
  CHECK(clipped > 0 && clipped < N * D); /* both branches of the clip are exercised */
  CHECK(clamped > 0);
  CHECK(err < 2e-3);
  printf("    KL + entropy gradient: worst error %.2g of the largest component\n", err);
  /* a step 100× too large is visibly wrong: the check can fail */
  CHECK(icd_error(100 * TRAIN_ICD_FD_STEP, &clipped, &clamped) > 1e-2);
}

/* The sampler's record of its last step is the step it took. */
TEST(sampler_last_step_reproduces_the_final_langevin_update) {
  ebm_net *net = tt_mlp(8, 0, 16, 3);
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  en->range_lo = -1.0f;
  en->range_hi = 1.0f;
  ebm_sampler_config c = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  c.steps = 3;
  c.step_size = 0.5f;
  c.grad_clip = 0.05f;
  c.temperature = 2.0f;
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, &c, 16, &s));
  ebm_last_step ls;
  CHECK_FAILS_WITH(ebm_sampler_last_step(s, &ls), EBM_ERR_ARG, "has not run");
  float x[16 * 2];
  ebm_rng rng;
  ebm_rng_init(&rng, 9);
  ebm_rng_uniform(&rng, x, 32, -1.0f, 1.0f);
  REQUIRE_OK(ebm_sampler_run(s, x, NULL, 16, &rng, NULL, NULL));
  REQUIRE_OK(ebm_sampler_last_step(s, &ls));
  CHECK_EQ_INT(ls.n, 16);
  CHECK(ls.lambda == 0.5f && ls.inv_temperature == 0.5f && ls.clip == 0.05f && ls.lo == -1.0f && ls.hi == 1.0f);
  float e[16], g[32];
  REQUIRE_OK(ebm_net_grad_input(net, ls.x, NULL, 16, e, g));
  int same = 1;
  for (int k = 0; k < 32; k++) {
    float gt = ls.grad[k] * ls.inv_temperature, cl = gt < -ls.clip ? -ls.clip : (gt > ls.clip ? ls.clip : gt);
    float v = ls.x[k] - ls.lambda * cl;
    same &= x[k] == (v < ls.lo ? ls.lo : (v > ls.hi ? ls.hi : v)) && g[k] == ls.grad[k];
  }
  CHECK(same);
  ebm_sampler_free(s);
  c = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  REQUIRE_OK(ebm_sampler_new(en, &c, 16, &s));
  CHECK_FAILS_WITH(ebm_sampler_last_step(s, &ls), EBM_ERR_ARG, "not a gradient step");
  ebm_sampler_free(s);
  ebm_energy_free(en);
  ebm_net_free(net);
}

/* 4 improved-CD steps (KL weight 1, entropy 0.3) of a 2-D mlp cut into
 * `slices`: the last step's terms are finite and nonzero, and the KL's
 * value is w·mean E(x⁻) over the whole batch (with slices: the slices'
 * parts summed). */
static void check_icd_steps(ebm_net *net, const ebm_dataset *ds, int64_t slices) {
  ebm_train_config c = tt_toy_config(32, 5, 4);
  c.kl_weight = 1.0f;
  c.entropy_weight = 0.3f;
  c.buffer_policy = EBM_REPLAY_RESERVOIR;
  c.augment = EBM_AUGMENT_NOISE;
  c.slices = slices;
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(net, ds, &c, &t));
  ebm_train_stats st;
  for (int k = 0; k < 4; k++) REQUIRE_OK(ebm_trainer_step(t, &st));
  CHECK(isfinite(st.kl) && st.kl != 0.0 && isfinite(st.entropy) && st.entropy != 0.0);
  CHECK_NEAR(st.kl, 1.0 * st.e_neg, 1e-4 * (1 + fabs(st.e_neg)));
  ebm_trainer_free(t);
}

/* With the terms on, a step reports them and still trains; the config
 * refuses samplers whose last step is not a gradient step. */
TEST(improved_cd_steps_report_the_terms_and_reject_other_samplers) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:256", 0, 1, &ds));
  ebm_net *net = tt_mlp(16, 0, 32, 1);
  check_icd_steps(net, ds, 1);
  ebm_train_config c = tt_toy_config(32, 5, 4);
  c.kl_weight = 1.0f;
  c.entropy_weight = 0.3f;
  ebm_trainer *t = NULL;
  c.sampler = ebm_sampler_defaults(EBM_SAMPLER_MALA);
  CHECK_FAILS_WITH(ebm_train_config_check(&c), EBM_ERR_ARG, "langevin or ula");
  c = tt_toy_config(32, 5, 4);
  c.entropy_weight = 1.0f;
  c.method = EBM_TRAIN_CD;
  CHECK_FAILS_WITH(ebm_train_config_check(&c), EBM_ERR_ARG, "needs method pcd");
  c = tt_toy_config(32, 5, 4);
  c.augment = EBM_AUGMENT_FLIP;
  CHECK_FAILS_WITH(ebm_trainer_new(net, ds, &c, &t), EBM_ERR_ARG, "need images");
  ebm_net_free(net);
  ebm_dataset_free(ds);
}

/* A slice's terms are its part of the batch's: the two halves of a batch,
 * each scaled by the whole batch, give the whole batch's gradient bit for
 * bit and its values as their sums. */
TEST(improved_cd_terms_of_two_halves_add_up_to_the_whole_batch) {
  enum { B = 8, DIM = 3, R = 4 };
  float x[B * DIM], e[B], g[B * DIM], refs[R * DIM], v_all[B * DIM], v_half[B * DIM];
  ebm_rng rng;
  ebm_rng_init(&rng, 7);
  ebm_rng_normal(&rng, x, B * DIM, 0.0f, 1.0f);
  ebm_rng_normal(&rng, e, B, 0.0f, 1.0f);
  ebm_rng_normal(&rng, g, B * DIM, 0.0f, 1.0f);
  ebm_rng_normal(&rng, refs, R * DIM, 0.0f, 1.0f);
  train_icd_values all, h0, h1;
  train_icd_terms(x, e, g, B, B, DIM, 0.7f, 0.3f, refs, R, 1e-3f, &all, v_all);
  train_icd_terms(x, e, g, B / 2, B, DIM, 0.7f, 0.3f, refs, R, 1e-3f, &h0, v_half);
  const int64_t off = B / 2 * DIM;
  train_icd_terms(x + off, e + B / 2, g + off, B / 2, B, DIM, 0.7f, 0.3f, refs, R, 1e-3f, &h1, v_half + off);
  CHECK(memcmp(v_all, v_half, sizeof v_all) == 0);
  CHECK_NEAR(h0.kl + h1.kl, all.kl, 1e-12 * (1 + fabs(all.kl)));
  CHECK_NEAR(h0.entropy + h1.entropy, all.entropy, 1e-12 * (1 + fabs(all.entropy)));
  CHECK(h0.kl != all.kl && h1.entropy != all.entropy); /* each half is a part, not the whole */
}

/* With 2 slices in one process the step reports the batch's terms: the
 * slices' parts summed. */
TEST(improved_cd_with_two_slices_reports_the_whole_batchs_terms) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:256", 0, 1, &ds));
  ebm_net *net = tt_mlp(16, 0, 32, 1);
  check_icd_steps(net, ds, 2);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}
