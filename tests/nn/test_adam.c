/* Adam against updates computed by hand (in double) from the formulas in
 * src/nn/adam.c: plain steps, the A.12 clip active and inactive, global
 * norm clipping, a non-finite gradient. The network is linear 1 → 1, so
 * its two parameters (weight, bias) are set directly. */
#include "nn/nn_testutil.h"

static ebm_net *tiny_net(void) {
  ebm_net *net = nt_build("{\"input\":[1],\"layers\":[{\"type\":\"linear\",\"name\":\"l\",\"out\":1}]}", 1, 1);
  ebm_net_param(net, 0)->value->data[0] = 0.5f;
  ebm_net_param(net, 1)->value->data[0] = -0.25f;
  return net;
}

static void set_grads(ebm_net *net, float gw, float gb) {
  ebm_net_param(net, 0)->grad->data[0] = gw;
  ebm_net_param(net, 1)->grad->data[0] = gb;
}

/* One parameter's reference state. */
typedef struct { double theta, m, v; } ref_state;

static void ref_step(ref_state *s, double g, int t, double lr, double b1, double b2, double eps,
                     double clip_std, double floor) {
  double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
  if (clip_std > 0) {
    double bound = clip_std * sqrt(s->v / bc2) + floor;
    if (bound > 0) g = fmin(fmax(g, -bound), bound);
  }
  s->m = b1 * s->m + (1 - b1) * g;
  s->v = b2 * s->v + (1 - b2) * g * g;
  s->theta -= lr * (s->m / bc1) / (sqrt(s->v / bc2) + eps);
}

TEST(adam_plain_steps_match_the_hand_computed_update) {
  ebm_net *net = tiny_net();
  ebm_adam_config cfg = ebm_adam_defaults();
  cfg.lr = 0.1f, cfg.beta1 = 0.5f, cfg.beta2 = 0.9f, cfg.clip_std = 0;
  ebm_adam *opt = NULL;
  REQUIRE_OK(ebm_adam_new(net, &cfg, &opt));
  ref_state w = {0.5, 0, 0}, b = {-0.25, 0, 0};
  const float gw[3] = {0.3f, -1.2f, 0.05f}, gb[3] = {2.0f, 2.0f, -0.7f};
  for (int t = 1; t <= 3; t++) {
    set_grads(net, gw[t - 1], gb[t - 1]);
    double norm = 0;
    REQUIRE_OK(ebm_adam_step(opt, 0, &norm));
    CHECK_NEAR(norm, sqrt((double)gw[t - 1] * gw[t - 1] + (double)gb[t - 1] * gb[t - 1]), 1e-6);
    ref_step(&w, gw[t - 1], t, 0.1, 0.5, 0.9, 1e-8, 0, 0);
    ref_step(&b, gb[t - 1], t, 0.1, 0.5, 0.9, 1e-8, 0, 0);
    CHECK_NEAR(ebm_net_param(net, 0)->value->data[0], w.theta, 1e-6);
    CHECK_NEAR(ebm_net_param(net, 1)->value->data[0], b.theta, 1e-6);
  }
  CHECK_EQ_INT(ebm_adam_step_count(opt), 3);
  /* The lr argument overrides the configured one. */
  set_grads(net, 1.0f, 1.0f);
  REQUIRE_OK(ebm_adam_step(opt, 1e-3f, NULL));
  ref_step(&w, 1.0, 4, 1e-3, 0.5, 0.9, 1e-8, 0, 0);
  CHECK_NEAR(ebm_net_param(net, 0)->value->data[0], w.theta, 1e-6);
  ebm_adam_free(opt);
  ebm_net_free(net);
}

TEST(adam_a12_clip_limits_outliers_but_not_typical_grads) {
  ebm_net *net = tiny_net();
  ebm_adam_config cfg = ebm_adam_defaults(); /* IGEBM: β (0, 0.999), clip_std 3, floor 0.1 */
  cfg.lr = 0.01f;
  ebm_adam *opt = NULL;
  REQUIRE_OK(ebm_adam_new(net, &cfg, &opt));
  ref_state w = {0.5, 0, 0}, b = {-0.25, 0, 0};
  /* Step 1: v = 0, so the bound is the floor 0.1: the weight's 5.0 is
   * clipped (active), the bias's 0.05 is not (inactive). Step 2: the
   * bound is 3·sqrt(v̂) + 0.1 from step 1's v; 10.0 is clipped, 0.04 not. */
  const float gw[2] = {5.0f, 10.0f}, gb[2] = {0.05f, 0.04f};
  for (int t = 1; t <= 2; t++) {
    set_grads(net, gw[t - 1], gb[t - 1]);
    REQUIRE_OK(ebm_adam_step(opt, 0, NULL));
    ref_step(&w, gw[t - 1], t, 0.01, 0.0, 0.999, 1e-8, 3.0, 0.1);
    ref_step(&b, gb[t - 1], t, 0.01, 0.0, 0.999, 1e-8, 3.0, 0.1);
    CHECK_NEAR(ebm_net_param(net, 0)->value->data[0], w.theta, 1e-6);
    CHECK_NEAR(ebm_net_param(net, 1)->value->data[0], b.theta, 1e-6);
  }
  /* β1 = 0 (IGEBM): no momentum, so a zero gradient moves nothing. */
  float before = ebm_net_param(net, 0)->value->data[0];
  set_grads(net, 0.0f, 0.0f);
  REQUIRE_OK(ebm_adam_step(opt, 0, NULL));
  CHECK(ebm_net_param(net, 0)->value->data[0] == before);
  /* Without the clip the same gradients give another trajectory. */
  ebm_net *net2 = tiny_net();
  ebm_adam *opt2 = NULL;
  cfg.clip_std = 0;
  REQUIRE_OK(ebm_adam_new(net2, &cfg, &opt2));
  ref_state w2 = {0.5, 0, 0};
  for (int t = 1; t <= 2; t++) {
    set_grads(net2, gw[t - 1], gb[t - 1]);
    REQUIRE_OK(ebm_adam_step(opt2, 0, NULL));
    ref_step(&w2, gw[t - 1], t, 0.01, 0.0, 0.999, 1e-8, 0, 0);
  }
  CHECK_NEAR(ebm_net_param(net2, 0)->value->data[0], w2.theta, 1e-6);
  CHECK(fabs(w2.theta - w.theta) > 1e-4); /* the clip made a difference */
  ebm_adam_free(opt);
  ebm_adam_free(opt2);
  ebm_net_free(net);
  ebm_net_free(net2);
}

TEST(adam_global_norm_clip_scales_like_clip_grad_norm) {
  ebm_net *net = tiny_net();
  ebm_adam_config cfg = ebm_adam_defaults();
  cfg.lr = 0.1f, cfg.beta1 = 0.9f, cfg.clip_std = 0, cfg.clip_norm = 1.0f;
  ebm_adam *opt = NULL;
  REQUIRE_OK(ebm_adam_new(net, &cfg, &opt));
  set_grads(net, 3.0f, 4.0f);
  double norm = 0;
  REQUIRE_OK(ebm_adam_step(opt, 0, &norm));
  CHECK_NEAR(norm, 5.0, 1e-6); /* reported before clipping */
  /* Adam is scale-invariant on the first step, so check step 2 with a
   * gradient below the limit, where the moments show the clipped g1. */
  ref_state w = {0.5, 0, 0}, b = {-0.25, 0, 0};
  double coef = 1.0 / (5.0 + 1e-6);
  ref_step(&w, 3.0 * coef, 1, 0.1, 0.9, 0.999, 1e-8, 0, 0);
  ref_step(&b, 4.0 * coef, 1, 0.1, 0.9, 0.999, 1e-8, 0, 0);
  set_grads(net, 0.3f, -0.4f);
  REQUIRE_OK(ebm_adam_step(opt, 0, &norm));
  ref_step(&w, 0.3, 2, 0.1, 0.9, 0.999, 1e-8, 0, 0);
  ref_step(&b, -0.4, 2, 0.1, 0.9, 0.999, 1e-8, 0, 0);
  CHECK_NEAR(ebm_net_param(net, 0)->value->data[0], w.theta, 1e-6);
  CHECK_NEAR(ebm_net_param(net, 1)->value->data[0], b.theta, 1e-6);
  ebm_adam_free(opt);
  ebm_net_free(net);
}

TEST(adam_refuses_non_finite_gradients_and_bad_config) {
  ebm_net *net = tiny_net();
  ebm_adam *opt = NULL;
  ebm_adam_config cfg = ebm_adam_defaults();
  cfg.beta2 = 1.0f;
  CHECK_FAILS_WITH(ebm_adam_new(net, &cfg, &opt), EBM_ERR_ARG, "betas in [0, 1)");
  REQUIRE_OK(ebm_adam_new(net, NULL, &opt));
  set_grads(net, NAN, 1.0f);
  CHECK_FAILS_WITH(ebm_adam_step(opt, 0, NULL), EBM_ERR_NUMERIC, "not finite");
  CHECK(ebm_net_param(net, 0)->value->data[0] == 0.5f && ebm_net_param(net, 1)->value->data[0] == -0.25f);
  CHECK_EQ_INT(ebm_adam_step_count(opt), 0);
  ebm_adam_free(opt);
  ebm_net_free(net);
}

TEST(adam_step_refreshes_spectrally_normalised_weights) {
  ebm_net *net = nt_build("{\"input\":[3],\"spectral_norm\":true,\"layers\":[{\"type\":\"linear\","
                          "\"name\":\"a\",\"out\":4},{\"type\":\"swish\"},{\"type\":\"linear\",\"name\":\"b\",\"out\":1}]}",
                          1, 3);
  ebm_adam *opt = NULL;
  REQUIRE_OK(ebm_adam_new(net, NULL, &opt));
  float x[3] = {0.1f, -0.2f, 0.3f}, e0, e1, e2;
  REQUIRE_OK(ebm_net_energy(net, x, NULL, 1, &e0));
  ebm_net_zero_grad(net);
  float de = 1.0f;
  REQUIRE_OK(ebm_net_backward_params(net, x, NULL, 1, &de, &e0));
  REQUIRE_OK(ebm_adam_step(opt, 0.05f, NULL));
  REQUIRE_OK(ebm_net_energy(net, x, NULL, 1, &e1));
  ebm_net_spectral_update(net, 0); /* already current: no change */
  REQUIRE_OK(ebm_net_energy(net, x, NULL, 1, &e2));
  CHECK(e1 == e2);
  CHECK(e1 < e0); /* a step down the gradient lowers the energy */
  ebm_adam_free(opt);
  ebm_net_free(net);
}
