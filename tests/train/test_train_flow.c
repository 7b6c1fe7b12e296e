/* --method flow: the first step's loss is the hand-computed NLL under
 * N(0, I) (a new flow is the identity), a short run lowers the NLL and
 * writes a flow model that `ebm energy` / `ebm sample` / `ebm eval nll`
 * read exactly, resume is bit-exact, bad input gets one line. */
#include "test_util.h"
#include "train/train_testutil.h"

#define LOG_2PI 1.8378770664093453

static ebm_train_config flow_config(int64_t batch, int64_t iters) {
  ebm_train_config c = ebm_train_defaults();
  REQUIRE_OK(ebm_train_config_set(&c, "method", "flow"));
  REQUIRE_OK(ebm_train_config_set(&c, "flow", "couplings=4,hidden=16,depth=1"));
  REQUIRE_OK(ebm_train_config_set(&c, "range", "-4,4"));
  c.batch = batch;
  c.iters = iters;
  c.adam.lr = 5e-3f;
  c.adam.beta1 = 0.9f;
  c.adam.clip_std = 0;
  c.seed = 5;
  return c;
}

TEST(flow_method_first_loss_is_the_standard_normal_nll_of_the_batch) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:64", -4, 4, &ds));
  ebm_train_config c = flow_config(64, 1); /* one batch = the whole data, in the batcher's order */
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(NULL, ds, &c, &t));
  ebm_train_stats s;
  REQUIRE_OK(ebm_trainer_step(t, &s));
  double want = 0; /* −log N(x; 0, I) averaged: the order of the items does not matter */
  for (int64_t k = 0; k < 64 * 2; k++) want += 0.5 * (double)ds->x->data[k] * ds->x->data[k];
  want = want / 64 + LOG_2PI;
  CHECK_NEAR(s.loss, want, 1e-5 * want);
  CHECK(s.grad_norm > 0);
  ebm_trainer_free(t);
  /* a network is refused: the flow is the method's own model */
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new("{\"preset\": \"mlp\", \"in_dim\": 2, \"width\": 4, \"depth\": 1}", 64, &net));
  CHECK_FAILS_WITH(ebm_trainer_new(net, ds, &c, &t), EBM_ERR_ARG, "trains a model of its own");
  ebm_net_free(net);
  ebm_dataset_free(ds);
}

TEST(flow_method_lowers_the_test_nll_and_its_checkpoint_is_an_exact_energy) {
  const char *run = test_path("run");
  cli_result r = run_cli("train --data toy:8gaussians:train:512 --method flow --flow couplings=4,hidden=32,depth=1 "
                         "--batch 64 --iters 150 --lr 0.005 --sample-every 150 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  CHECK(strstr(r.out, "trained flow") != NULL);
  cli_result_free(&r);
  char ckpt[600], x[600], e[600], png[600];
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  snprintf(x, sizeof x, "%s", test_path("x.npy"));
  snprintf(e, sizeof e, "%s", test_path("e.npy"));
  snprintf(png, sizeof png, "%s/samples/step_000150.png", run);
  FILE *pic = fopen(png, "rb");
  CHECK(pic != NULL);
  if (pic) fclose(pic);
  /* the run's checkpoint: a flow model whose energy is −log q */
  ebm_net *net = NULL;
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_model_energy_load(ckpt, 64, &net, &en));
  CHECK(net == NULL);
  REQUIRE(ebm_energy_flow(en) != NULL);
  ebm_dataset *test = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:test:500", -4, 4, &test));
  double nll = 0, nll0 = 0;
  float ev[64];
  for (int64_t i = 0; i < 448; i += 64) {
    REQUIRE_OK(ebm_energy_eval(en, test->x->data + 2 * i, NULL, 64, ev, NULL));
    for (int k = 0; k < 64; k++) {
      nll += ev[k] / 448.0;
      const float *p = test->x->data + 2 * (i + k);
      nll0 += (0.5 * ((double)p[0] * p[0] + (double)p[1] * p[1]) + LOG_2PI) / 448.0;
    }
  }
  CHECK(nll < nll0 - 0.5); /* trained: far better than the N(0, I) it started as */
  /* exact samples from the verb, and their energies from `ebm energy` */
  r = run_cli("sample --ckpt %s --n 300 --seed 3 --out %s", ckpt, x);
  CHECK_EQ_INT(r.code, 0);
  CHECK(strstr(r.out, "300 exact samples") != NULL);
  cli_result_free(&r);
  r = run_cli("energy --ckpt %s --input %s --out %s", ckpt, x, e);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  /* the density picture reads the flow's exact −log q too */
  r = run_cli("show density --ckpt %s --out %s", ckpt, test_path("density.png"));
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "model density (left)");
  cli_result_free(&r);
  ebm_npy xs, es;
  test_load_f32(x, &xs);
  test_load_f32(e, &es);
  REQUIRE(xs.shape[0] == 300 && es.shape[0] == 300);
  float direct[64];
  REQUIRE_OK(ebm_energy_eval(en, xs.data, NULL, 64, direct, NULL));
  for (int k = 0; k < 64; k++) CHECK(direct[k] == ((float *)es.data)[k]);
  /* samples sit near the modes: their mean −log q is close to the data's */
  double es_mean = 0;
  for (int k = 0; k < 300; k++) es_mean += ((float *)es.data)[k] / 300.0;
  CHECK(fabs(es_mean - nll) < 0.5);
  ebm_npy_free(&xs);
  ebm_npy_free(&es);
  r = run_cli("eval nll --ckpt %s --data toy:8gaussians:test:500", ckpt);
  CHECK_EQ_INT(r.code, 0);
  CHECK(strstr(r.out, "test NLL") != NULL);
  cli_result_free(&r);
  r = run_cli("forward --ckpt %s --input %s --out %s", ckpt, x, e);
  CHECK_EQ_INT(r.code, 2);
  CHECK(strstr(r.err, "is a flow, not a network") != NULL);
  cli_result_free(&r);
  /* info describes the flow, eval ood scores its -log q, eval classify says
   * what it is; the library refuses it as a network rather than open its
   * first coupling */
  r = run_cli("info %s", ckpt);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "flow (exact density q(x); its energy is -log q), input 2, output 2");
  CHECK_CONTAINS(r.out, "coupling 1: s, t network of");
  cli_result_free(&r);
  r = run_cli("eval ood --ckpt %s --in toy:8gaussians:test:200 --n 200", ckpt);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "noise:uniform");
  cli_result_free(&r);
  r = run_cli("eval classify --ckpt %s --data toy:8gaussians:test:100", ckpt);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "is a flow (a density of x, no classes): eval classify needs a model of E(x, y)");
  CHECK_EQ_INT((int)(strchr(r.err, '\n') - r.err) + 1, (int)strlen(r.err)); /* one line */
  cli_result_free(&r);
  ebm_net *as_net = NULL;
  CHECK_FAILS_WITH(ebm_net_load(ckpt, 4, &as_net), EBM_ERR_ARG, "is a flow (ebm train --method flow), not a network");
  ebm_energy_free(en);
  ebm_dataset_free(test);
}

TEST(flow_method_resume_is_bit_exact) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:rings:train:200", -4, 4, &ds));
  ebm_train_config c = flow_config(16, 6);
  c.contrastive.flow_dequant = 0.01f; /* the noise draws are state too */
  char a[600], b[512], fb[600];
  tt_check_resume_bit_exact(ds, c, NULL, a, sizeof a);
  /* another seed, other weights (the comparison can fail) */
  snprintf(b, sizeof b, "%s", test_path("other"));
  c.seed = 6;
  int64_t done = 0;
  ebm_run_opts o = {.run_dir = b, .log_every = 1};
  REQUIRE_OK(ebm_train_run(ds, &c, &o, &done));
  CHECK(!test_same_file(a, ebm_run_ckpt_path(b, fb, sizeof fb)));
  ebm_dataset_free(ds);
}

/* With Glow's layers the first step starts from the data: actnorm
 * standardises the first batch (the whole data here), the 1×1 convolution
 * is a rotation and the coupling the identity, so the first loss is
 * 1 + log 2π + Σ_c log σ_c (σ the data's population std per coordinate). */
TEST(flow_method_glow_first_loss_is_the_standardised_nll_and_resume_is_bit_exact) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:rings:train:64", -4, 4, &ds));
  ebm_train_config c = flow_config(64, 1);
  REQUIRE_OK(ebm_train_config_set(&c, "flow", "couplings=1,hidden=8,depth=1,actnorm=1,conv1x1=1"));
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(NULL, ds, &c, &t));
  ebm_train_stats s;
  REQUIRE_OK(ebm_trainer_step(t, &s));
  double want = 1 + LOG_2PI;
  for (int d = 0; d < 2; d++) {
    double sum = 0, sq = 0;
    for (int i = 0; i < 64; i++) sum += ds->x->data[2 * i + d];
    for (int i = 0; i < 64; i++) sq += pow(ds->x->data[2 * i + d] - sum / 64, 2);
    want += log(sqrt(sq / 64));
  }
  CHECK_NEAR(s.loss, want, 1e-4);
  ebm_trainer_free(t);
  REQUIRE_OK(ebm_train_config_set(&c, "flow", "couplings=2,hidden=8,depth=1,actnorm=1,conv1x1=1"));
  c.batch = 16;
  c.iters = 6;
  char a[600];
  tt_check_resume_bit_exact(ds, c, NULL, a, sizeof a);
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(a, &st));
  CHECK(ebm_safetensors_find(st, "actnorm_1.actnorm.logs") != NULL);
  CHECK(ebm_safetensors_find(st, "invconv_0.invconv.weight") != NULL);
  ebm_safetensors_free(st);
  ebm_dataset_free(ds);
}

TEST(flow_method_bad_settings_and_data_get_one_line) {
  const char *run = test_path("bad");
  cli_result r = run_cli("train --data toy:8gaussians:train:64 --method flow --flow couplings=x --out %s", run);
  CHECK_EQ_INT(r.code, 2);
  CHECK(strstr(r.err, "couplings expects an integer") != NULL);
  cli_result_free(&r);
  r = run_cli("train --data toy:8gaussians:train:64 --method flow --conditional --out %s", run);
  CHECK_EQ_INT(r.code, 2);
  CHECK(strstr(r.err, "unconditional models") != NULL);
  cli_result_free(&r);
  /* items of one value: a coupling needs two parts */
  int64_t shape[2] = {8, 1};
  float v[8] = {0};
  char npy[600], spec[700];
  snprintf(npy, sizeof npy, "%s", test_path("one.npy"));
  REQUIRE_OK(ebm_npy_save(npy, EBM_DTYPE_F32, 2, shape, v));
  snprintf(spec, sizeof spec, "npy:%s", npy);
  r = run_cli("train --data %s --method flow --batch 4 --iters 2 --out %s", spec, run);
  CHECK_EQ_INT(r.code, 1);
  CHECK(strstr(r.err, "vectors need at least 2 features") != NULL);
  cli_result_free(&r);
  /* a resume with another flow is refused: the flow is the run's identity */
  r = run_cli("train --data toy:8gaussians:train:64 --method flow --flow couplings=2,hidden=8 --batch 16 "
              "--iters 2 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("train --out %s --resume --iters 4 --flow couplings=3,hidden=8", run);
  CHECK_EQ_INT(r.code, 2);
  CHECK(strstr(r.err, "flow") != NULL);
  cli_result_free(&r);
}
