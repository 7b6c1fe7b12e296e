/* Energies that wrap another (a fixed label, a range map, a temperature, the
 * recovery likelihood's level 0, the texture's reference term) describe the
 * inner energy's items but offer none of its behaviour: a fork, hold or draw
 * of the inner energy, called with the wrapper's own struct, would read the
 * wrong memory. The first test samples through such a wrapper as a sampler
 * does (grouped chains at 2 threads, which fork the energy when it offers a
 * fork): it crashes when the wrapper passes the network's fork on. */
#include "test.h"
#include "nn/nn_testutil.h"
#include "ebm/recovery_meta.h"
#include "eval/eval_internal.h"

#define W_CHAINS 70 /* three groups of EBM_ENERGY_FORK_ITEMS */
#define W_STEPS 3

static void sample(ebm_energy *en, const int32_t *labels, ebm_chain_schedule schedule, float *x, float *e) {
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg.steps = W_STEPS;
  cfg.step_size = 10.0f;
  cfg.noise = 0.05f;
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, &cfg, W_CHAINS, &s));
  ebm_sampler_set_schedule(s, schedule);
  const int64_t d = ebm_energy_item_size(en);
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  ebm_rng_uniform(&rng, x, W_CHAINS * d, -1.0f, 1.0f);
  REQUIRE_OK(ebm_sampler_run(s, x, &(ebm_cond){.labels = labels}, W_CHAINS, &rng, NULL, e));
  ebm_sampler_free(s);
}

TEST(a_label_energy_of_a_network_samples_like_the_network_given_that_label) {
  REQUIRE_OK(ebm_threads_init(2));
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new("{\"preset\":\"igebm-mnist\",\"width\":4,\"classes\":3}", W_CHAINS, &net));
  ebm_rng init;
  ebm_rng_init(&init, 11);
  REQUIRE_OK(ebm_net_init(net, &init));
  ebm_energy *cond = ebm_net_as_energy(net), *one = NULL;
  REQUIRE(cond);
  REQUIRE_OK(ebm_label_energy_new(cond, 1, &one));
  CHECK(one->fork == NULL && one->hold == NULL && one->draw == NULL);
  CHECK_EQ_INT(one->num_classes, 0);
  CHECK_EQ_INT((int)ebm_energy_item_size(one), 784);
  const int64_t d = 784;
  float *xa = malloc((size_t)(W_CHAINS * d) * sizeof *xa), *xb = malloc((size_t)(W_CHAINS * d) * sizeof *xb);
  float ea[W_CHAINS], eb[W_CHAINS];
  int32_t labels[W_CHAINS];
  REQUIRE(xa && xb);
  for (int i = 0; i < W_CHAINS; i++) labels[i] = 1;
  sample(one, NULL, EBM_CHAINS_GROUPED, xa, ea); /* asks for groups: the wrapper has no fork to give them */
  sample(cond, labels, EBM_CHAINS_STEPWISE, xb, eb);
  CHECK(memcmp(xa, xb, (size_t)(W_CHAINS * d) * sizeof *xa) == 0);
  CHECK(memcmp(ea, eb, sizeof ea) == 0);
  free(xa);
  free(xb);
  ebm_energy_free(one);
  ebm_energy_free(cond);
  ebm_net_free(net);
  REQUIRE_OK(ebm_threads_init(1));
}

TEST(wrapper_energies_describe_the_inner_energy_and_offer_none_of_its_hooks) {
  /* a noise-conditioned network, so that it has a level 0 too */
  ebm_net *net = nt_build_file("examples/arch/noise-conditioned-uva-cnn.json", 8, 3);
  REQUIRE(net);
  ebm_energy *inner = ebm_net_as_energy(net), *w[3] = {NULL, NULL, NULL};
  REQUIRE(inner && inner->fork && inner->hold);
  REQUIRE_OK(ebm_range_energy_new(inner, 0.0f, 1.0f, &w[0]));
  REQUIRE_OK(eval_scaled_energy_new(inner, 2.0, &w[1]));
  ebm_recovery_config rc = {.levels = 1, .sigma_min = 0.3f, .sigma_max = 0.3f, .steps = 2, .step = 0.1f,
                            .range_lo = -1, .range_hi = 1};
  REQUIRE_OK(ebm_recovery_level0_energy(inner, &rc, &w[2]));
  for (int k = 0; k < 3; k++) {
    CHECK(w[k]->fork == NULL && w[k]->hold == NULL && w[k]->draw == NULL);
    CHECK(w[k]->self != inner->self);
    CHECK_EQ_INT(w[k]->item_ndim, inner->item_ndim);
    CHECK(memcmp(w[k]->item_shape, inner->item_shape, sizeof inner->item_shape) == 0);
  }
  CHECK(w[1]->range_lo == inner->range_lo && w[1]->range_hi == inner->range_hi); /* only the range map changes it */
  CHECK(w[0]->range_lo == 0.0f && w[0]->range_hi == 1.0f);
  for (int k = 0; k < 3; k++) ebm_energy_free(w[k]);
  ebm_energy_free(inner);
  ebm_net_free(net);
}
