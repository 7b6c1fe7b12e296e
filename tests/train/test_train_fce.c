/* --method fce: the value V against a hand-computed number and its
 * derivatives against central differences, a short run that writes one
 * checkpoint of an energy and its flow, bit-exact resume, bad input. */
#include "test_util.h"
#include "train/train_testutil.h"
#include "train/train_flow.h"

/* V of the 2 + 2 items below at c, for the central differences. */
static double value_at(const float *ep, const float *lp, const float *en, const float *ln, double c) {
  float a[2], b[2], wa[2], wb[2];
  double dc;
  return train_fce_value(ep, lp, en, ln, 2, c, a, b, &dc, wa, wb);
}

TEST(fce_value_is_the_hand_value_and_its_derivatives_match_central_differences) {
  float ep[2] = {0.5f, -1.0f}, lp[2] = {-2.0f, -3.0f}, en[2] = {1.0f, 2.0f}, ln[2] = {-1.5f, -2.5f};
  float de_pos[2], de_neg[2], w_pos[2], w_neg[2];
  double dc = 0;
  const double c = 0.3;
  /* l⁺ = (1.2, 3.7), l⁻ = (0.2, 0.2): V = ½(log σ(1.2) + log σ(3.7)) + log σ(−0.2), by Python's math */
  const double v = train_fce_value(ep, lp, en, ln, 2, c, de_pos, de_neg, &dc, w_pos, w_neg);
  CHECK_NEAR(v, -0.941991526017497, 1e-6);
  const double h = 1e-3;
  double worst = 0;
  for (int i = 0; i < 2; i++) {
    float *arrays[4] = {ep, lp, en, ln};
    /* d(−V)/dE⁺, dV/dlog q⁺, d(−V)/dE⁻, and the pathwise part of the noise's weight, dV/dlog q⁻ */
    double h_noise[2], mean_h = 0;
    for (int k = 0; k < 2; k++) mean_h += (h_noise[k] = -log1p(exp(-(en[k] + c + ln[k])))) / 2;
    const double want[4] = {de_pos[i], w_pos[i], de_neg[i], w_neg[i] - (h_noise[i] - mean_h) / 2};
    const double sign[4] = {-1, 1, -1, 1};
    for (int a = 0; a < 4; a++) {
      const float keep = arrays[a][i], up = (float)(keep + h), down = (float)(keep - h);
      arrays[a][i] = up;
      double vp = value_at(ep, lp, en, ln, c);
      arrays[a][i] = down;
      double vm = value_at(ep, lp, en, ln, c);
      arrays[a][i] = keep;
      double fd = sign[a] * (vp - vm) / ((double)up - down); /* the steps the floats really took */
      worst = fmax(worst, fabs(fd - want[a]));
    }
  }
  double fd_c = -(value_at(ep, lp, en, ln, c + h) - value_at(ep, lp, en, ln, c - h)) / (2 * h);
  CHECK_NEAR(dc, fd_c, 1e-5);
  CHECK(worst < 1e-5);
}

static ebm_train_config fce_config(int64_t iters) {
  ebm_train_config c = ebm_train_defaults();
  REQUIRE_OK(ebm_train_config_set(&c, "method", "fce"));
  REQUIRE_OK(ebm_train_config_set(&c, "flow", "couplings=2,hidden=8,depth=1"));
  REQUIRE_OK(ebm_train_config_set(&c, "range", "-4,4"));
  c.batch = 16;
  c.iters = iters;
  c.adam.lr = 3e-3f;
  c.adam.beta1 = 0.9f;
  c.adam.clip_std = 0;
  c.seed = 9;
  return c;
}

TEST(fce_resume_is_bit_exact_and_the_checkpoint_holds_the_energy_and_its_flow) {
  const char *arch = "{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": 16, \"depth\": 2}";
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:200", -4, 4, &ds));
  ebm_train_config c = fce_config(6);
  char a[600], b[512], fb[600];
  tt_check_resume_bit_exact(ds, c, arch, a, sizeof a);
  /* one checkpoint: the energy is what the verbs see, the flow loads as a flow */
  ebm_net *net = NULL;
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_model_energy_load(a, 16, &net, &en));
  CHECK(net != NULL && ebm_energy_flow(en) == NULL);
  ebm_energy_free(en);
  ebm_net_free(net);
  ebm_flow *flow = NULL;
  REQUIRE_OK(ebm_flow_load(a, 16, &flow));
  CHECK_EQ_INT(ebm_flow_net_count(flow), 2);
  ebm_flow_free(flow);
  /* another seed, other weights (the comparison can fail) */
  snprintf(b, sizeof b, "%s", test_path("other"));
  c.seed = 10;
  int64_t done = 0;
  ebm_run_opts o = {.run_dir = b, .arch_json = arch, .log_every = 1};
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  CHECK(!test_same_file(a, ebm_run_ckpt_path(b, fb, sizeof fb)));
  ebm_dataset_free(ds);
}

TEST(fce_trains_the_energy_toward_the_data_and_refuses_bad_input) {
  const char *run = test_path("run");
  cli_result r = run_cli("train --data toy:8gaussians:train:512 --method fce --arch mlp --flow couplings=2,hidden=16,depth=1 "
                         "--batch 64 --iters 250 --seed 2 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  char ckpt[600];
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  r = run_cli("eval nll --ckpt %s --data toy:8gaussians:test:500", ckpt);
  CHECK_EQ_INT(r.code, 0);
  const char *at = strstr(r.out, "test NLL ");
  REQUIRE(at != NULL);
  /* the untrained mlp sits near the uniform density on the box, log 64 = 4.16 */
  CHECK(strtod(at + 9, NULL) < 3.6);
  cli_result_free(&r);
  r = run_cli("train --data toy:8gaussians:train:64 --method fce --out %s", test_path("no_arch"));
  CHECK_EQ_INT(r.code, 2);
  CHECK(strstr(r.err, "--arch is required") != NULL);
  cli_result_free(&r);
  r = run_cli("train --data toy:8gaussians:train:64 --method fce --arch mlp --flow mask=stripes --out %s",
              test_path("bad_flow"));
  CHECK_EQ_INT(r.code, 2);
  CHECK(strstr(r.err, "mask expects checkerboard or channel") != NULL);
  cli_result_free(&r);
}
