/* The contrastive loss, its gradient, the configuration and the schedule. */
#include "train/train_testutil.h"

/* L(θ) with the negatives fixed, in double from the float energies. */
static double loss_at(ebm_net *net, const float *xp, const int32_t *yp, const float *xn, const int32_t *yn,
                      int64_t n, float alpha, float *ep, float *en) {
  REQUIRE_OK(ebm_net_energy(net, xp, &(ebm_cond){.labels = yp}, n, ep));
  REQUIRE_OK(ebm_net_energy(net, xn, &(ebm_cond){.labels = yn}, n, en));
  return ebm_train_loss(ep, en, n, alpha);
}

typedef struct {
  ebm_net *net;
  const float *xp;
  const int32_t *yp;
  const float *xn;
  const int32_t *yn;
  int64_t n;
  float alpha;
  float *ep, *en;
} loss_case;

static double loss_of_case(void *ctx) {
  loss_case *c = ctx;
  return loss_at(c->net, c->xp, c->yp, c->xn, c->yn, c->n, c->alpha, c->ep, c->en);
}

/* dL/dθ from ebm_train_loss_grad + two backward_params calls against the
 * derivative of L along random directions d (θ ± h·d), by central
 * differences at h = 1e-2 and 5e-3 combined by Richardson extrapolation:
 * truncation O(h⁴) and float32 rounding O(ε·|L|/h) are both below 1e-4 of
 * the values here, so 2e-3 relative catches a wrong sign, factor or a
 * missing term (the α terms are 10–100 % of the gradient). */
static void check_loss_grad(int classes, float alpha, uint64_t seed) {
  enum { N = 7 };
  ebm_net *net = tt_mlp(8, classes, N, seed);
  ebm_rng rng;
  ebm_rng_init(&rng, seed + 1);
  /* non-trivial class tables */
  for (int i = 0; i < ebm_net_param_count(net); i++) {
    ebm_param *p = ebm_net_param(net, i);
    int64_t m = ebm_tensor_numel(p->value);
    float *noise = malloc((size_t)m * sizeof *noise);
    ebm_rng_normal(&rng, noise, m, 0.0f, 0.3f);
    for (int64_t k = 0; k < m; k++) p->value->data[k] += noise[k];
    free(noise);
  }
  float xp[N * 2], xn[N * 2], ep[N], en[N], dp[N], dn[N];
  int32_t yp[N], yn[N];
  ebm_rng_uniform(&rng, xp, N * 2, -2.0f, 2.0f);
  ebm_rng_uniform(&rng, xn, N * 2, -2.0f, 2.0f);
  for (int i = 0; i < N; i++) {
    yp[i] = classes ? (int32_t)ebm_rng_below(&rng, (uint32_t)classes) : 0;
    yn[i] = classes ? (int32_t)ebm_rng_below(&rng, (uint32_t)classes) : 0;
  }
  const int32_t *YP = classes ? yp : NULL, *YN = classes ? yn : NULL;
  const double l0 = loss_at(net, xp, YP, xn, YN, N, alpha, ep, en);
  ebm_train_loss_grad(ep, en, N, alpha, dp, dn);
  ebm_net_zero_grad(net);
  REQUIRE_OK(ebm_net_backward_params(net, xp, &(ebm_cond){.labels = YP}, N, dp, ep));
  REQUIRE_OK(ebm_net_backward_params(net, xn, &(ebm_cond){.labels = YN}, N, dn, en));
  CHECK_NEAR(ebm_train_loss(ep, en, N, alpha), l0, 1e-6 * (1 + fabs(l0)));

  loss_case lc = {net, xp, YP, xn, YN, N, alpha, ep, en};
  for (int trial = 0; trial < 4; trial++) {
    double fd, analytic;
    tt_directional_fd(net, loss_of_case, &lc, &rng, &fd, &analytic);
    CHECK_NEAR(analytic, fd, 2e-3 * (fabs(fd) + 1e-2));
  }
  ebm_net_free(net);
}

TEST(loss_gradient_matches_finite_differences_with_negatives_fixed) {
  check_loss_grad(0, 1.0f, 31);
  check_loss_grad(0, 0.1f, 32);
  check_loss_grad(0, 0.0f, 33);
}

TEST(conditional_loss_gradient_matches_finite_differences) { check_loss_grad(3, 0.5f, 41); }

/* The loss of bench/torch_reference.py: mean e⁺ − mean e⁻ + α(mean e⁺² + mean e⁻²). */
TEST(loss_is_the_reference_formula) {
  const float ep[3] = {1.0f, -2.0f, 0.5f}, en[3] = {3.0f, 0.0f, -1.0f};
  const double mp = -0.5 / 3, mn = 2.0 / 3, qp = 5.25 / 3, qn = 10.0 / 3;
  CHECK_NEAR(ebm_train_loss(ep, en, 3, 0.25f), mp - mn + 0.25 * (qp + qn), 1e-12);
  float dp[3], dn[3];
  ebm_train_loss_grad(ep, en, 3, 0.25f, dp, dn);
  CHECK_NEAR(dp[1], (1 + 2 * 0.25 * -2.0) / 3, 1e-7);
  CHECK_NEAR(dn[0], (-1 + 2 * 0.25 * 3.0) / 3, 1e-7);
}

TEST(train_defaults_are_the_igebm_recipe_and_uva_the_reference) {
  ebm_train_config c = ebm_train_defaults();
  CHECK(c.method == EBM_TRAIN_PCD && c.batch == 128 && c.buffer_size == 10000);
  CHECK(c.sampler.kind == EBM_SAMPLER_LANGEVIN && c.sampler.steps == 60);
  CHECK_NEAR(c.sampler.step_size, 10, 0);
  CHECK_NEAR(c.sampler.noise, 0.005, 1e-9);
  CHECK_NEAR(c.sampler.grad_clip, 0.01, 1e-9);
  CHECK_NEAR(c.alpha, 1, 0);
  CHECK_NEAR(c.reinit, 0.05, 1e-9);
  CHECK_NEAR(c.adam.lr, 1e-4, 1e-11);
  CHECK(c.adam.beta1 == 0.0f && c.adam.beta2 == 0.999f && c.adam.clip_std == 3.0f);
  CHECK(c.range_lo == 0.0f && c.range_hi == 1.0f);
  CHECK_OK(ebm_train_config_check(&c));
  CHECK_OK(ebm_train_preset("uva", &c));
  CHECK(c.buffer_size == 8192 && c.range_lo == -1.0f && c.range_hi == 1.0f);
  CHECK_NEAR(c.sampler.grad_clip, 0.03, 1e-9);
  CHECK_NEAR(c.alpha, 0.1, 1e-8);
  CHECK_NEAR(c.adam.clip_norm, 0.1, 1e-8);
  CHECK(c.adam.clip_std == 0.0f);
  const ebm_train_config uva = c;
  CHECK_OK(ebm_train_preset("fresh", &c)); /* uva's settings, short-run from the data's Gaussian, lr 5e-4 */
  CHECK(c.method == EBM_TRAIN_SHORT_RUN && c.chain_start == EBM_START_GAUSSIAN);
  CHECK_NEAR(c.adam.lr, 5e-4, 1e-10);
  CHECK(c.buffer_size == uva.buffer_size && c.alpha == uva.alpha && c.range_lo == uva.range_lo &&
        c.sampler.grad_clip == uva.sampler.grad_clip && c.adam.clip_norm == uva.adam.clip_norm);
  CHECK_OK(ebm_train_config_check(&c));
  CHECK_OK(ebm_train_preset("icd", &c)); /* uva's settings, lr 5e-4, the three improved-CD terms */
  CHECK(c.method == EBM_TRAIN_PCD && c.chain_start == uva.chain_start && c.buffer_policy == EBM_REPLAY_RANDOM);
  CHECK_NEAR(c.adam.lr, 5e-4, 1e-10);
  CHECK(c.kl_weight == 1.0f && c.entropy_weight == 0.3f && c.augment == EBM_AUGMENT_ALL);
  CHECK(c.buffer_size == uva.buffer_size && c.alpha == uva.alpha && c.range_lo == uva.range_lo &&
        c.sampler.grad_clip == uva.sampler.grad_clip && c.adam.clip_norm == uva.adam.clip_norm);
  CHECK_OK(ebm_train_config_check(&c));
  CHECK_FAILS_WITH(ebm_train_preset("cifar", &c), EBM_ERR_ARG, "igebm, uva, fresh, icd");
  c = ebm_train_defaults();
  c.batch = 0;
  CHECK_FAILS_WITH(ebm_train_config_check(&c), EBM_ERR_ARG, "batch");
  c = ebm_train_defaults();
  c.reinit = 1.5f;
  CHECK_FAILS_WITH(ebm_train_config_check(&c), EBM_ERR_ARG, "reinit");
  c = ebm_train_defaults();
  c.range_lo = 1.0f;
  CHECK_FAILS_WITH(ebm_train_config_check(&c), EBM_ERR_ARG, "range");
  c = ebm_train_defaults();
  c.sampler.steps = -1;
  CHECK_FAILS_WITH(ebm_train_config_check(&c), EBM_ERR_ARG, "steps");
  CHECK(ebm_train_method_from_name("short-run") == EBM_TRAIN_SHORT_RUN);
  CHECK(ebm_train_method_from_name("nce") >= 3);
  CHECK(ebm_train_method_from_name("mle") == -1);
}

TEST(lr_schedules_follow_their_formulas) {
  ebm_train_config c = ebm_train_defaults();
  c.adam.lr = 1e-3f;
  c.iters = 300;
  CHECK_NEAR(ebm_train_lr(&c, 299), 1e-3, 1e-10);
  c.lr_decay = EBM_LR_STEP;
  c.lr_gamma = 0.5f;
  CHECK_NEAR(ebm_train_lr(&c, 99), 1e-3, 1e-10);   /* period iters/3 = 100 */
  CHECK_NEAR(ebm_train_lr(&c, 100), 5e-4, 1e-10);
  CHECK_NEAR(ebm_train_lr(&c, 250), 2.5e-4, 1e-10);
  c.lr_decay = EBM_LR_COSINE;
  c.lr_min = 1e-4f;
  CHECK_NEAR(ebm_train_lr(&c, 0), 1e-3, 1e-10);
  CHECK_NEAR(ebm_train_lr(&c, 150), 5.5e-4, 1e-9);
  CHECK_NEAR(ebm_train_lr(&c, 300), 1e-4, 1e-10);
  CHECK_NEAR(ebm_train_lr(&c, 1000), 1e-4, 1e-10);
}

/* The trainer checks its inputs before allocating anything. */
TEST(trainer_rejects_mismatched_data_batch_and_labels) {
  ebm_dataset *toy = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:moons:train:100", 0, 1, &toy));
  ebm_train_config c = tt_toy_config(16, 2, 1);
  ebm_trainer *t = NULL;
  ebm_net *net = tt_mlp(8, 0, 8, 1);
  CHECK_FAILS_WITH(ebm_trainer_new(net, toy, &c, &t), EBM_ERR_ARG, "built for batches of 8");
  ebm_net_free(net);
  net = tt_mlp(8, 0, 16, 1);
  c.conditional = 1;
  CHECK_FAILS_WITH(ebm_trainer_new(net, toy, &c, &t), EBM_ERR_ARG, "needs a network with classes");
  ebm_net_free(net);
  net = tt_mlp(8, 2, 16, 1);
  c.conditional = 0;
  CHECK_FAILS_WITH(ebm_trainer_new(net, toy, &c, &t), EBM_ERR_ARG, "conditional");
  ebm_net_free(net);
  ebm_net *img = NULL;
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("uva-cnn", 0, 0, &json));
  REQUIRE_OK(ebm_net_new(json, 16, &img));
  CHECK_FAILS_WITH(ebm_trainer_new(img, toy, &c, &t), EBM_ERR_SHAPE, "the network takes [1,28,28]");
  CHECK(t == NULL);
  free(json);
  ebm_net_free(img);
  ebm_dataset_free(toy);
}

/* Every method trains without error and keeps its energies finite; CD
 * starts its chains at the positives, short-run at noise. */
TEST(every_method_runs_steps_and_reports_stats) {
  ebm_dataset *toy = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:256", 0, 1, &toy));
  /* the MCMC methods (the first rows of the table); the others' tests are
   * their own files (test_train_flow.c, test_train_fce.c, ...) */
  for (int m = EBM_TRAIN_PCD; m <= EBM_TRAIN_CD; m++) {
    ebm_net *net = tt_mlp(8, 0, 16, 2);
    ebm_train_config c = tt_toy_config(16, 3, 5);
    c.method = (ebm_train_method)m;
    c.buffer_size = 64;
    ebm_trainer *t = NULL;
    REQUIRE_OK(ebm_trainer_new(net, toy, &c, &t));
    CHECK((ebm_trainer_replay(t) != NULL) == (m == EBM_TRAIN_PCD));
    ebm_train_stats s;
    for (int k = 0; k < 5; k++) REQUIRE_OK(ebm_trainer_step(t, &s));
    CHECK(s.step == 5 && ebm_trainer_step_count(t) == 5);
    CHECK(isfinite(s.loss) && isfinite(s.e_pos) && isfinite(s.e_neg) && s.grad_norm > 0);
    if (m > EBM_TRAIN_CD) { /* the claims below are the MCMC methods' (the others: tests/train/test_<method>.c) */
      ebm_trainer_free(t);
      ebm_net_free(net);
      continue;
    }
    CHECK_NEAR(s.loss, s.e_pos - s.e_neg + 0.0, 0.01 * 40 + 1); /* α = 0.01: the E² terms are small */
    CHECK(s.mcmc_accept == 1.0 && s.seconds >= 0);
    int64_t n = 0;
    const float *x = ebm_trainer_negatives(t, NULL, &n);
    REQUIRE(x && n == 16);
    if (m <= EBM_TRAIN_CD) { /* the MCMC methods: the contrastive loss, chains clamped to the range */
      CHECK_NEAR(s.loss, s.e_pos - s.e_neg + 0.0, 0.01 * 40 + 1); /* α = 0.01: the E² terms are small */
      CHECK(s.mcmc_accept == 1.0);
      for (int64_t i = 0; i < 2 * n; i++) CHECK(x[i] >= -4.0f && x[i] <= 4.0f);
    }
    for (int64_t i = 0; i < 2 * n; i++) CHECK(isfinite(x[i]));
    ebm_trainer_free(t);
    ebm_net_free(net);
  }
  ebm_dataset_free(toy);
}
