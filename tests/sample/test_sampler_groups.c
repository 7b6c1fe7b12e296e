/* LANGEVIN chains run group by group (EBM_CHAINS_GROUPED, sampler_groups.c)
 * give the bits of the step-by-step loop: the chains, every step's stats,
 * the last step (ebm_sampler_last_step) and the generator's counter, on
 * network energies (uva-cnn: its convs run as one grouped run; igebm-mnist:
 * ResBlocks with spectral norm), for batches that do not divide the group
 * size (EBM_ENERGY_FORK_ITEMS, 32), at 1 and 2 threads and on each kernel
 * path (the generic one has no forks: it runs step by step). */
#include "test.h"

#define G_STEPS 3

typedef struct {
  float *x, *last_x, *last_g, *e;
  ebm_sample_stats stats[G_STEPS];
  uint64_t counter;
} run_result;

static void result_free(run_result *r) {
  free(r->x);
  free(r->last_x);
  free(r->last_g);
  free(r->e);
}

/* A run of G_STEPS Langevin steps on n chains from a fixed start. */
static void run_chains(ebm_net *net, int64_t n, ebm_chain_schedule schedule, int threads, run_result *r) {
  REQUIRE_OK(ebm_threads_init(threads));
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en && en->fork);
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg.steps = G_STEPS;
  cfg.step_size = 10.0f;
  cfg.noise = 0.05f; /* large enough that the noise matters to the bits */
  ebm_sampler *s = NULL;
  REQUIRE_OK(ebm_sampler_new(en, &cfg, n, &s));
  ebm_sampler_set_schedule(s, schedule);
  const int64_t d = ebm_energy_item_size(en);
  r->x = malloc((size_t)(n * d) * sizeof(float));
  r->last_x = malloc((size_t)(n * d) * sizeof(float));
  r->last_g = malloc((size_t)(n * d) * sizeof(float));
  r->e = malloc((size_t)n * sizeof(float));
  REQUIRE(r->x && r->last_x && r->last_g && r->e);
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  ebm_rng_uniform(&rng, r->x, n * d, en->range_lo, en->range_hi);
  REQUIRE_OK(ebm_sampler_run(s, r->x, NULL, n, &rng, r->stats, r->e));
  /* grouped whenever asked on the direct conv paths; never on the generic one */
  const int direct = ebm_isa_active() != EBM_ISA_GENERIC;
  CHECK(ebm_sampler_ran_grouped(s) == (schedule == EBM_CHAINS_GROUPED && direct));
  ebm_last_step ls;
  REQUIRE_OK(ebm_sampler_last_step(s, &ls));
  REQUIRE(ls.n == n);
  memcpy(r->last_x, ls.x, (size_t)(n * d) * sizeof(float));
  memcpy(r->last_g, ls.grad, (size_t)(n * d) * sizeof(float));
  r->counter = rng.counter;
  ebm_sampler_free(s);
  ebm_energy_free(en);
}

static int same(const run_result *a, const run_result *b, int64_t n, int64_t d) {
  const size_t bytes = (size_t)(n * d) * sizeof(float);
  return memcmp(a->x, b->x, bytes) == 0 && memcmp(a->last_x, b->last_x, bytes) == 0 &&
         memcmp(a->last_g, b->last_g, bytes) == 0 && memcmp(a->e, b->e, (size_t)n * sizeof(float)) == 0 &&
         memcmp(a->stats, b->stats, sizeof a->stats) == 0 && a->counter == b->counter;
}

static void check_grouped_matches_stepwise(const char *arch, const int64_t *batches, int count) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new(arch, 70, &net));
  ebm_rng init;
  ebm_rng_init(&init, 11);
  REQUIRE_OK(ebm_net_init(net, &init));
  ebm_net_spectral_update(net, 1);
  const int64_t d = ebm_net_item_shape(net)[0] * ebm_net_item_shape(net)[1] * ebm_net_item_shape(net)[2];
  for (int b = 0; b < count; b++) {
    const int64_t n = batches[b];
    run_result ref = {0};
    run_chains(net, n, EBM_CHAINS_STEPWISE, 1, &ref);
    /* the chains moved: the noise and the gradient step both did something */
    CHECK(ref.stats[G_STEPS - 1].mean_energy != ref.stats[0].mean_energy);
    for (int threads = 1; threads <= 2; threads++)
      for (int grouped = threads == 1; grouped <= 1; grouped++) {
        run_result r = {0};
        run_chains(net, n, grouped ? EBM_CHAINS_GROUPED : EBM_CHAINS_STEPWISE, threads, &r);
        if (!same(&ref, &r, n, d))
          test_fail_at(__FILE__, __LINE__, "%s, %lld chains, %d threads, %s: not the bits of one thread step by step",
                       arch, (long long)n, threads, grouped ? "grouped" : "step by step");
        result_free(&r);
      }
    result_free(&ref);
  }
  ebm_net_free(net);
}

TEST(grouped_chains_match_step_by_step_uva_cnn) {
  const int64_t batches[] = {3, 7, 17, 37, 70};
  check_grouped_matches_stepwise("{\"preset\": \"uva-cnn\"}", batches, 5);
}

TEST(grouped_chains_match_step_by_step_igebm_mnist) {
  const int64_t batches[] = {7, 37};
  check_grouped_matches_stepwise("{\"preset\": \"igebm-mnist\", \"width\": 8}", batches, 2);
}

/* The grouped run leaves the network it forked as it found it for the next
 * pass: a parameter pass after it gives the bits it gives after the
 * step-by-step run. */
TEST(grouped_chains_leave_the_parameter_pass_unchanged) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new("{\"preset\": \"uva-cnn\"}", 64, &net));
  ebm_rng init;
  ebm_rng_init(&init, 11);
  REQUIRE_OK(ebm_net_init(net, &init));
  const int64_t n = 37, d = 28 * 28;
  const int np = ebm_net_param_count(net);
  float *grads[2] = {NULL, NULL};
  for (int grouped = 0; grouped <= 1; grouped++) {
    run_result r = {0};
    run_chains(net, n, grouped ? EBM_CHAINS_GROUPED : EBM_CHAINS_STEPWISE, 2, &r);
    float *de = malloc((size_t)n * sizeof(float)), *e = malloc((size_t)n * sizeof(float));
    REQUIRE(de && e);
    for (int64_t i = 0; i < n; i++) de[i] = 1.0f / (float)n;
    ebm_net_zero_grad(net);
    REQUIRE_OK(ebm_net_backward_params(net, r.x, NULL, n, de, e));
    int64_t total = 0;
    for (int p = 0; p < np; p++) total += ebm_tensor_numel(ebm_net_param(net, p)->grad);
    grads[grouped] = malloc((size_t)total * sizeof(float));
    REQUIRE(grads[grouped]);
    int64_t at = 0;
    for (int p = 0; p < np; p++) {
      const ebm_tensor *g = ebm_net_param(net, p)->grad;
      memcpy(grads[grouped] + at, g->data, (size_t)ebm_tensor_numel(g) * sizeof(float));
      at += ebm_tensor_numel(g);
    }
    CHECK(at == total);
    if (grouped) CHECK(memcmp(grads[0], grads[1], (size_t)total * sizeof(float)) == 0);
    free(de);
    free(e);
    result_free(&r);
  }
  (void)d;
  free(grads[0]);
  free(grads[1]);
  ebm_net_free(net);
}

/* A fork refuses a network whose passes mix the items (batch statistics). */
TEST(net_fork_refuses_batchnorm) {
  const char *arch = "{\"input\": [2, 4, 4], \"layers\": [{\"type\": \"batchnorm2d\", \"name\": \"bn\"}, "
                     "{\"type\": \"flatten\"}, {\"type\": \"linear\", \"name\": \"l\", \"out\": 1}]}";
  ebm_net *net = NULL, *fork = NULL;
  REQUIRE_OK(ebm_net_new(arch, 8, &net));
  CHECK(ebm_net_fork(net, 4, &fork) == EBM_ERR_ARG);
  CHECK(fork == NULL);
  CHECK(strstr(ebm_last_error(), "layer 'bn' (batchnorm2d) does not compute each item on its own") != NULL);
  ebm_net_free(net);
}

/* ... and, on the generic path, a conv (im2col + sgemm over groups of items
 * sized by the batch); on a direct path the same network forks, and a
 * sampler on the generic path falls back to step by step. */
TEST(net_fork_refuses_sgemm_convs) {
  const ebm_isa was = ebm_isa_active();
  ebm_net *net = NULL, *fork = NULL;
  REQUIRE_OK(ebm_net_new("{\"preset\": \"uva-cnn\"}", 8, &net));
  REQUIRE_OK(ebm_isa_select(EBM_ISA_GENERIC));
  CHECK(ebm_net_fork(net, 4, &fork) == EBM_ERR_ARG);
  CHECK(strstr(ebm_last_error(), "layer 'net.0' (conv2d) does not compute each item on its own") != NULL);
  CHECK(strstr(ebm_last_error(), "generic kernel path") != NULL);
  if (ebm_isa_supported(EBM_ISA_AVX2)) {
    REQUIRE_OK(ebm_isa_select(EBM_ISA_AVX2));
    CHECK(ebm_net_fork(net, 4, &fork) == EBM_OK);
    CHECK(fork != NULL);
    ebm_net_free(fork);
  }
  REQUIRE_OK(ebm_isa_select(was));
  ebm_net_free(net);
}

/* A sampler keeps its forks from run to run; they must follow the network's
 * parameters (the packed weights they hold during a run are dropped after
 * it): a grouped run after the parameters changed gives the step-by-step
 * bits of the new parameters. */
TEST(grouped_chains_follow_parameter_changes) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new("{\"preset\": \"uva-cnn\"}", 40, &net));
  ebm_rng init;
  ebm_rng_init(&init, 11);
  REQUIRE_OK(ebm_net_init(net, &init));
  REQUIRE_OK(ebm_threads_init(2));
  const int64_t n = 40, d = 28 * 28;
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg.steps = 3;
  ebm_sampler *grouped = NULL, *stepwise = NULL;
  REQUIRE_OK(ebm_sampler_new(en, &cfg, n, &grouped));
  REQUIRE_OK(ebm_sampler_new(en, &cfg, n, &stepwise));
  ebm_sampler_set_schedule(grouped, EBM_CHAINS_GROUPED);
  ebm_sampler_set_schedule(stepwise, EBM_CHAINS_STEPWISE);
  float *a = malloc((size_t)(n * d) * sizeof(float)), *b = malloc((size_t)(n * d) * sizeof(float));
  REQUIRE(a && b);
  for (int round = 0; round < 2; round++) {
    ebm_rng ra, rb;
    ebm_rng_init(&ra, 3);
    ebm_rng_uniform(&ra, a, n * d, -1.0f, 1.0f);
    memcpy(b, a, (size_t)(n * d) * sizeof(float));
    rb = ra;
    REQUIRE_OK(ebm_sampler_run(grouped, a, NULL, n, &ra, NULL, NULL));
    REQUIRE_OK(ebm_sampler_run(stepwise, b, NULL, n, &rb, NULL, NULL));
    CHECK(ebm_sampler_ran_grouped(grouped) == (ebm_isa_active() != EBM_ISA_GENERIC));
    CHECK(memcmp(a, b, (size_t)(n * d) * sizeof(float)) == 0);
    /* new parameters for the next round: every conv weight scaled */
    for (int p = 0; p < ebm_net_param_count(net); p++) {
      ebm_tensor *v = ebm_net_param(net, p)->value;
      for (int64_t k = 0; k < ebm_tensor_numel(v); k++) v->data[k] *= 1.5f;
    }
  }
  free(a);
  free(b);
  ebm_sampler_free(grouped);
  ebm_sampler_free(stepwise);
  ebm_energy_free(en);
  ebm_net_free(net);
}

/* Class labels reach each group's chains as their own slice of the batch's
 * (ebm_cond_slice): a class-conditional network gives the same bits grouped
 * and step by step, and other labels give other chains. */
TEST(grouped_chains_take_their_labels) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new("{\"preset\": \"igebm-mnist\", \"width\": 8, \"classes\": 3}", 37, &net));
  ebm_rng init;
  ebm_rng_init(&init, 11);
  REQUIRE_OK(ebm_net_init(net, &init));
  /* the class tables start at gain 1, bias 0 for every class: make them differ */
  for (int p = 0; p < ebm_net_param_count(net); p++) {
    ebm_tensor *v = ebm_net_param(net, p)->value;
    for (int64_t k = 0; k < ebm_tensor_numel(v); k++) v->data[k] += 0.2f * sinf((float)(k + 7 * p));
  }
  ebm_net_spectral_update(net, 1);
  REQUIRE_OK(ebm_threads_init(2));
  const int64_t n = 37, d = 28 * 28;
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en && en->fork);
  ebm_sampler_config cfg = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  cfg.steps = 2;
  int32_t labels[37], shifted[37];
  for (int i = 0; i < 37; i++) labels[i] = i % 3, shifted[i] = (i + 1) % 3;
  float *x[3];
  for (int run = 0; run < 3; run++) {
    ebm_sampler *s = NULL;
    REQUIRE_OK(ebm_sampler_new(en, &cfg, n, &s));
    ebm_sampler_set_schedule(s, run == 0 ? EBM_CHAINS_STEPWISE : EBM_CHAINS_GROUPED);
    x[run] = malloc((size_t)(n * d) * sizeof(float));
    REQUIRE(x[run]);
    ebm_rng rng;
    ebm_rng_init(&rng, 4);
    ebm_rng_uniform(&rng, x[run], n * d, 0.0f, 1.0f);
    const ebm_cond cond = ebm_cond_labels(run == 2 ? shifted : labels);
    REQUIRE_OK(ebm_sampler_run(s, x[run], &cond, n, &rng, NULL, NULL));
    CHECK(ebm_sampler_ran_grouped(s) == (run > 0 && ebm_isa_active() != EBM_ISA_GENERIC));
    ebm_sampler_free(s);
  }
  CHECK(memcmp(x[0], x[1], (size_t)(n * d) * sizeof(float)) == 0);
  CHECK(memcmp(x[0] + 32 * d, x[2] + 32 * d, (size_t)(5 * d) * sizeof(float)) != 0); /* the last group too */
  for (int run = 0; run < 3; run++) free(x[run]);
  ebm_energy_free(en);
  ebm_net_free(net);
}
