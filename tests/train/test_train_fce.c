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

/* ------------------------------------------------ FCE from a trained flow */

/* The largest |a − b| over every parameter of the run's flow (the method's
 * parts) against the flow of checkpoint `path`. */
static double flow_distance(const ebm_trainer *t, const char *path) {
  const ebm_net *nets[16];
  const char *names[16];
  const int n = t->method->parts(t->method_state, nets, names, 16);
  ebm_flow *given = NULL;
  REQUIRE_OK(ebm_flow_load(path, 16, &given));
  REQUIRE(n == ebm_flow_net_count(given));
  double worst = 0;
  for (int l = 0; l < n; l++) {
    ebm_net *mine = (ebm_net *)nets[l], *theirs = ebm_flow_net(given, l);
    REQUIRE(ebm_net_param_count(mine) == ebm_net_param_count(theirs));
    for (int p = 0; p < ebm_net_param_count(mine); p++) {
      const ebm_tensor *a = ebm_net_param(mine, p)->value, *b = ebm_net_param(theirs, p)->value;
      REQUIRE(ebm_tensor_numel(a) == ebm_tensor_numel(b));
      for (int64_t k = 0; k < ebm_tensor_numel(a); k++) worst = fmax(worst, fabs((double)a->data[k] - b->data[k]));
    }
  }
  ebm_flow_free(given);
  return worst;
}

/* --noise-ckpt FLOW: at step 0 the run's flow is that checkpoint's, weight
 * for weight (a fresh FCE run's is not); after one step every weight is
 * within one Adam step (≤ lr) of it — Glow's data-dependent actnorm init,
 * which would move the actnorm weights by O(1), is not applied to a trained
 * flow — and c is within one Adam step of its start, mean(−E − log q) over
 * the first batch (here the whole data set, so its order does not matter). */
TEST(fce_from_a_trained_flow_starts_with_its_weights_and_c_at_chance) {
  enum { B = 16 };
  const char *path = test_path("trained_flow.safetensors");
  tt_save_random_flow(path, 2, 83);
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:16", -4, 4, &ds));
  ebm_train_config c = fce_config(4);
  REQUIRE_OK(ebm_train_config_set(&c, "flow", "couplings=2,hidden=8,depth=1,actnorm=1"));
  ebm_net *net = tt_mlp(8, 0, 16, 1);
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(net, ds, &c, &t));
  CHECK(flow_distance(t, path) > 0.1); /* a fresh flow: far from the checkpoint's */
  ebm_trainer_free(t);
  REQUIRE_OK(ebm_train_config_set(&c, "noise-ckpt", path));
  REQUIRE_OK(ebm_trainer_new(net, ds, &c, &t));
  CHECK(flow_distance(t, path) == 0.0);
  ebm_flow *flow = NULL;
  float e[B], lq[B];
  REQUIRE_OK(ebm_flow_load(path, B, &flow));
  REQUIRE_OK(ebm_flow_log_prob(flow, ds->x->data, B, lq));
  REQUIRE_OK(ebm_net_forward(net, ds->x->data, NULL, B, e));
  double c0 = 0;
  for (int i = 0; i < B; i++) c0 += (-(double)e[i] - lq[i]) / B;
  REQUIRE_OK(ebm_trainer_step(t, NULL));
  const double moved = flow_distance(t, path);
  CHECK(moved > 0 && moved <= 1.001 * c.adam.lr);
  const char *state = test_path("fce.state.safetensors");
  REQUIRE_OK(ebm_trainer_save_state(t, state));
  ebm_safetensors *st = NULL;
  float log_z = 0;
  REQUIRE_OK(ebm_safetensors_load(state, &st));
  REQUIRE_OK(ebm_safetensors_read_f32(st, "fce_log_z.log_z.bias", 1, (int64_t[]){1}, &log_z));
  ebm_safetensors_free(st);
  CHECK(fabs(c0) > 10 * c.adam.lr); /* so that a start at 0 fails */
  CHECK_NEAR(log_z, c0, 1.001 * c.adam.lr + 1e-5 * fabs(c0));
  ebm_flow_free(flow);
  ebm_trainer_free(t);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}

/* A flow trained by `--method flow` for 4 steps on ds into test_path(dir);
 * its checkpoint path into ckpt. */
static void train_flow_run(const ebm_dataset *ds, const char *dir, char *ckpt, size_t size) {
  ebm_train_config c = fce_config(4);
  REQUIRE_OK(ebm_train_config_set(&c, "method", "flow"));
  ebm_run_opts o = {.run_dir = test_path(dir), .log_every = 1};
  int64_t done = 0;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  ebm_run_ckpt_path(o.run_dir, ckpt, size);
}

/* FCE started from a `--method flow` run's checkpoint resumes bit-exactly,
 * and `ebm train`'s config.json records which flow it started from; the
 * flow run's checkpoint records the range it was fitted on. */
TEST(fce_from_a_trained_flow_resumes_bit_exactly_and_records_it) {
  const char *arch = "{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": 16, \"depth\": 2}";
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:200", -4, 4, &ds));
  char flow_ckpt[600];
  train_flow_run(ds, "flow_run", flow_ckpt, sizeof flow_ckpt);
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(flow_ckpt, &st));
  CHECK_EQ_STR(ebm_safetensors_meta(st, TRAIN_FLOW_RANGE_META_KEY), "-4,4");
  ebm_safetensors_free(st);
  ebm_train_config c = fce_config(6);
  REQUIRE_OK(ebm_train_config_set(&c, "noise-ckpt", flow_ckpt));
  tt_check_resume_bit_exact(ds, c, arch, NULL, 0);
  /* `ebm train` writes it into config.json */
  const char *run = test_path("cli_run");
  cli_result r = run_cli("train --data toy:8gaussians:train:200 --method fce --arch mlp --flow couplings=2,hidden=8,depth=1 "
                         "--noise-ckpt %s --iters 2 --out %s", flow_ckpt, run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  char config[700], want[800];
  snprintf(config, sizeof config, "%s/config.json", run);
  char *text = test_read_text(config);
  REQUIRE(text != NULL);
  snprintf(want, sizeof want, "\"noise-ckpt\":\t\"%s\"", flow_ckpt);
  CHECK_CONTAINS(text, want);
  free(text);
  ebm_dataset_free(ds);
}

/* A trained flow that does not fit the run is refused in one line naming
 * the file: other layers than --flow, another range than the run's. */
TEST(fce_refuses_a_trained_flow_with_other_layers_or_another_range) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:64", -4, 4, &ds));
  char flow_ckpt[600];
  train_flow_run(ds, "flow_run", flow_ckpt, sizeof flow_ckpt);
  cli_result r = run_cli("train --data toy:8gaussians:train:64 --method fce --arch mlp --flow couplings=3,hidden=8,depth=1 "
                         "--noise-ckpt %s --iters 2 --out %s", flow_ckpt, test_path("other_layers"));
  CHECK_EQ_INT(r.code, 1);
  char want[1200];
  snprintf(want, sizeof want, "%s: the flow has layers couplings=2,hidden=8,depth=1,mask=checkerboard,clamp=3, the "
           "run's --flow is couplings=3,hidden=8,depth=1,mask=checkerboard,clamp=3\n", flow_ckpt);
  CHECK_CONTAINS(r.err, want);
  CHECK(strstr(r.err, want)[strlen(want)] == '\0'); /* the last line */
  cli_result_free(&r);
  ebm_train_config c = fce_config(2);
  REQUIRE_OK(ebm_train_config_set(&c, "noise-ckpt", flow_ckpt));
  REQUIRE_OK(ebm_train_config_set(&c, "range", "-1,1"));
  ebm_net *net = tt_mlp(8, 0, 16, 1);
  ebm_trainer *t = NULL;
  CHECK(ebm_trainer_new(net, ds, &c, &t) == EBM_ERR_ARG);
  snprintf(want, sizeof want, "%s: the flow was fitted to data in the range -4,4, this run's range is -1,1", flow_ckpt);
  CHECK_EQ_STR(ebm_last_error(), want);
  CHECK(t == NULL);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}
