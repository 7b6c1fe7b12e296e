/* The L∞ PGD attack (src/eval/attack.c): iterates never leave the ε-ball
 * or the data range, a point near the decision boundary is flipped and one
 * far from it is not, ε = 0 is the clean accuracy, and purification runs. */
#include "nn/nn_testutil.h"

static const char *const identity2 = "{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"fc\", \"out\": 2}]}";

/* logits = x: the class is the larger coordinate. */
static ebm_net *identity_classifier(void) {
  ebm_net *net = nt_build(identity2, 4, 1);
  const float eye[4] = {1, 0, 0, 1};
  memcpy(ebm_net_param(net, 0)->value->data, eye, sizeof eye);
  memset(ebm_net_param(net, 1)->value->data, 0, 2 * sizeof(float));
  return net;
}

TEST(pgd_never_leaves_the_eps_ball_or_the_data_range) {
  enum { N = 64 };
  ebm_net *net = nt_build("{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 8},"
                          "{\"type\": \"swish\"}, {\"type\": \"linear\", \"name\": \"net.2\", \"out\": 3}]}", 16, 7);
  float x[N * 2], adv[N * 2];
  int32_t y[N];
  ebm_rng rng;
  ebm_rng_init(&rng, 8);
  ebm_rng_uniform(&rng, x, N * 2, 0.0f, 1.0f);
  x[0] = 0.0f, x[1] = 1.0f, x[2] = 1.0f, x[3] = 0.0f; /* corners: the range binds */
  for (int i = 0; i < N; i++) y[i] = i % 3;
  ebm_attack_config c = ebm_attack_defaults();
  c.eps = 0.2f;
  c.steps = 15;
  c.step_size = 0.3f; /* larger than ε: every step would leave the ball unprojected */
  double acc = 0;
  REQUIRE_OK(ebm_attack_accuracy(net, x, y, N, &c, &rng, adv, &acc));
  int inside = 1, moved = 0;
  for (int j = 0; j < N * 2; j++) {
    inside &= fabsf(adv[j] - x[j]) <= c.eps * (1 + 1e-6f) && adv[j] >= 0.0f && adv[j] <= 1.0f;
    moved |= fabsf(adv[j] - x[j]) > 0.1f;
  }
  CHECK(inside);
  CHECK(moved);
  ebm_net_free(net);
}

TEST(pgd_flips_a_point_near_the_boundary_and_not_one_far_from_it) {
  ebm_net *net = identity_classifier();
  const float x[4] = {0.6f, 0.4f, 0.9f, 0.1f};
  const int32_t y[2] = {0, 0};
  ebm_rng rng;
  ebm_rng_init(&rng, 1);
  ebm_attack_config c = ebm_attack_defaults();
  double acc = 0;
  c.eps = 0;
  REQUIRE_OK(ebm_attack_accuracy(net, x, y, 2, &c, &rng, NULL, &acc));
  CHECK_NEAR(acc, 1.0, 0);
  c.eps = 0.15f; /* (0.6, 0.4) → (0.45, 0.55): flipped; (0.9, 0.1) → (0.75, 0.25): not */
  float adv[4];
  REQUIRE_OK(ebm_attack_accuracy(net, x, y, 2, &c, &rng, adv, &acc));
  CHECK_NEAR(acc, 0.5, 0);
  CHECK_NEAR(adv[0], 0.45, 1e-6);
  CHECK_NEAR(adv[1], 0.55, 1e-6);
  c.purify_steps = 3; /* Langevin on −logsumexp x from the attacked points: runs, stays finite */
  REQUIRE_OK(ebm_attack_accuracy(net, x, y, 2, &c, &rng, NULL, &acc));
  CHECK(acc >= 0 && acc <= 1);
  const int32_t bad[2] = {0, 2};
  CHECK_FAILS_WITH(ebm_attack_accuracy(net, x, bad, 2, &c, &rng, NULL, &acc), EBM_ERR_ARG, "label 2 of item 1");
  ebm_net_free(net);
}

TEST(attack_project_clamps_to_the_ball_and_the_range) {
  const float x[3] = {0.05f, 0.5f, 0.98f};
  float a[3] = {-1.0f, 0.59f, 2.0f};
  ebm_attack_project(x, a, 3, 0.1f, 0.0f, 1.0f);
  CHECK(a[0] == 0.0f);            /* x − ε = −0.05 < lo */
  CHECK(a[1] == 0.59f);           /* inside */
  CHECK(a[2] == 1.0f);            /* x + ε = 1.08 > hi */
}
