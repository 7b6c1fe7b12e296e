/* JEM (src/train/method_jem.c, jem_loss.c) and the classifier energy
 * (src/nn/logit_energy.c): E(x) = −logsumexp of the logits, E(x, y) =
 * −f(x)[y]; the loss against hand values and its parameter gradient against
 * central differences (negatives fixed); a tiny run that learns to classify,
 * bit-exact resume, hidden labels, and the errors a user can meet. */
#include "nn/nn_testutil.h"
#include "test_util.h"
#include "train/jem.h"
#include "train/train_internal.h"
#include "train/train_testutil.h"

/* 2-D points → 3 logits. */
static const char *const mlp3 =
    "{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 8},"
    "{\"type\": \"swish\"}, {\"type\": \"linear\", \"name\": \"net.2\", \"out\": 3}]}";
/* 2-D points → 8 logits (the 8gaussians modes). */
static const char *const mlp8 =
    "{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 32},"
    "{\"type\": \"swish\"}, {\"type\": \"linear\", \"name\": \"net.2\", \"out\": 32},"
    "{\"type\": \"swish\"}, {\"type\": \"linear\", \"name\": \"net.4\", \"out\": 8}]}";

static double logsumexp(const float *f, int k) {
  double m = f[0], s = 0;
  for (int c = 1; c < k; c++) m = fmax(m, f[c]);
  for (int c = 0; c < k; c++) s += exp(f[c] - m);
  return m + log(s);
}

TEST(classifier_energy_is_minus_logsumexp_of_the_logits_and_minus_the_labels_logit) {
  enum { N = 5, K = 3 };
  ebm_net *net = nt_build(mlp3, N, 11);
  CHECK(ebm_net_is_classifier(net));
  float *x = nt_inputs(net, N, 12), f[N * K], e[N], ey[N];
  int32_t y[N] = {0, 2, 1, 1, 0};
  REQUIRE_OK(ebm_net_forward(net, x, NULL, N, f));
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  CHECK_EQ_INT(en->num_classes, K);
  REQUIRE_OK(ebm_energy_eval(en, x, NULL, N, e, NULL));
  const ebm_cond cond = ebm_cond_labels(y);
  REQUIRE_OK(ebm_energy_eval(en, x, &cond, N, ey, NULL));
  for (int i = 0; i < N; i++) {
    CHECK_NEAR(e[i], -logsumexp(f + i * K, K), 1e-6);
    CHECK(ey[i] == -f[i * K + y[i]]);
    CHECK(e[i] < ey[i]); /* −logsumexp < −max ≤ −f[y] */
  }
  int32_t bad[N] = {0, 0, 3, 0, 0};
  const ebm_cond bad_cond = ebm_cond_labels(bad);
  CHECK_FAILS_WITH(ebm_energy_eval(en, x, &bad_cond, N, ey, NULL), EBM_ERR_ARG, "label 3 of item 2 is not in [0, 3)");
  ebm_energy_free(en);
  ebm_free(x);
  ebm_net_free(net);
}

/* dE/dx of both energies against a central difference along random
 * directions (the sum over items accumulated in double). */
TEST(classifier_energy_input_gradient_matches_fd) {
  enum { N = 4, D = 2 };
  ebm_net *net = nt_build(mlp3, N, 21);
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  float *x = nt_inputs(net, N, 22), *u = nt_inputs(net, N, 23), g[N * D], xp[N * D], xm[N * D], ep[N], em[N], e[N];
  int32_t y[N] = {2, 0, 1, 2};
  const ebm_cond cond = ebm_cond_labels(y);
  for (int labelled = 0; labelled < 2; labelled++) {
    const ebm_cond *c = labelled ? &cond : NULL;
    REQUIRE_OK(ebm_energy_eval(en, x, c, N, e, g));
    const float h = 1e-2f;
    for (int j = 0; j < N * D; j++) xp[j] = x[j] + h * u[j], xm[j] = x[j] - h * u[j];
    REQUIRE_OK(ebm_energy_eval(en, xp, c, N, ep, NULL));
    REQUIRE_OK(ebm_energy_eval(en, xm, c, N, em, NULL));
    double fd = 0, an = 0;
    for (int i = 0; i < N; i++) fd += ((double)ep[i] - em[i]) / (2.0 * h);
    for (int j = 0; j < N * D; j++) an += (double)g[j] * u[j];
    CHECK(fabs(an) > 1e-3);
    CHECK_NEAR(an, fd, 2e-3 * fabs(fd) + 1e-5);
  }
  ebm_energy_free(en);
  ebm_free(x);
  ebm_free(u);
  ebm_net_free(net);
}

/* logits = x (identity weights): every term by hand (see the numbers). */
TEST(jem_loss_matches_hand_values_on_an_identity_classifier) {
  ebm_net *net = nt_build("{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"fc\", \"out\": 2}]}", 2, 1);
  ebm_param *wt = ebm_net_param(net, 0), *b = ebm_net_param(net, 1);
  const float eye[4] = {1, 0, 0, 1};
  memcpy(wt->value->data, eye, sizeof eye);
  memset(b->value->data, 0, 2 * sizeof(float));
  const float x_pos[4] = {1, 0, 0, 2}, x_neg[4] = {0, 0, 3, 1}, x_neg_y[2] = {2, 0};
  const int32_t y[2] = {0, -1}; /* the second item is unlabelled */
  jem_work w;
  REQUIRE_OK(jem_work_init(&w, 2, 2));
  jem_values v;
  const jem_weights weights = {1.0f, 1.0f, 0.5f, 0.0f, 0.0f};
  REQUIRE_OK(jem_loss(net, x_pos, y, x_neg, 2, x_neg_y, 2, weights, 0, &w, &v));
  /* CE = log(e + 1) − 1; E(x⁺) = −(log(e + 1) + log(1 + e²))/2; E(x⁻) =
   * −(log 2 + 3 + log(1 + e⁻²))/2; log p(x|y): 0.5·(E(x⁺, 0) − E(x⁻ʸ, 0)) =
   * 0.5·(−1 − (−2)) */
  CHECK_EQ_INT(v.labelled, 1);
  CHECK_EQ_INT(v.correct, 1);
  CHECK_NEAR(v.xent, 0.3132616875182228, 1e-6);
  CHECK_NEAR(v.e_pos, -1.7200948492805979, 1e-6);
  CHECK_NEAR(v.e_neg, -1.910037595801459, 1e-6);
  CHECK_NEAR(v.loss, 1.003204434039084, 1e-6);
  /* α 0.5 adds px·α·(mean E(x⁺)² + mean E(x⁻)²): E(x⁺) = −log(e + 1) and
   * −log(1 + e²), E(x⁻) = −log 2 and −(3 + log(1 + e⁻²)) */
  const jem_weights regularised = {1.0f, 1.0f, 0.5f, 0.5f, 0.0f};
  REQUIRE_OK(jem_loss(net, x_pos, y, x_neg, 2, x_neg_y, 2, regularised, 0, &w, &v));
  const double p0 = log(exp(1.0) + 1), p1 = log(1 + exp(2.0)), n0 = log(2.0), n1 = 3 + log(1 + exp(-2.0));
  const double reg = 0.5 * ((p0 * p0 + p1 * p1) / 2 + (n0 * n0 + n1 * n1) / 2);
  CHECK_NEAR(v.loss, 1.003204434039084 + reg, 1e-5);
  CHECK_NEAR(reg, 4.1266527, 1e-6); /* the term is not negligible here */
  /* α_y 0.25 adds pxy·α_y·(E(x⁺, 0)² + E(x⁻ʸ, 0)²) over the one labelled
   * item: 0.5·0.25·((−1)² + (−2)²) */
  const jem_weights conditional = {1.0f, 1.0f, 0.5f, 0.0f, 0.25f};
  REQUIRE_OK(jem_loss(net, x_pos, y, x_neg, 2, x_neg_y, 2, conditional, 0, &w, &v));
  CHECK_NEAR(v.loss, 1.003204434039084 + 0.5 * 0.25 * (1.0 + 4.0), 1e-6);
  /* --px-batch 1: the first negative alone, E(x⁻₀) = −log 2 (logits 0, 0) */
  REQUIRE_OK(jem_loss(net, x_pos, y, x_neg, 1, x_neg_y, 2, weights, 0, &w, &v));
  CHECK_NEAR(v.e_neg, -log(2.0), 1e-6);
  CHECK_NEAR(v.loss, 1.003204434039084 - 1.910037595801459 + log(2.0), 1e-5);
  CHECK(jem_loss(net, x_pos, y, x_neg, 3, x_neg_y, 2, weights, 0, &w, &v) == EBM_ERR_ARG); /* more negatives than items */
  jem_work_free(&w);
  ebm_net_free(net);
}

static double loss_at(ebm_net *net, const float *xp, const int32_t *y, const float *xn, int64_t n_neg,
                      const float *xny, int64_t n, jem_weights wt, jem_work *w) {
  jem_values v;
  REQUIRE_OK(jem_loss(net, xp, y, xn, n_neg, xny, n, wt, 0, w, &v));
  return v.loss;
}

/* dL/dθ of all three terms (labelled and unlabelled items) against
 * (L(θ + h·d) − L(θ − h·d)) / 2h along random directions d, and per
 * coordinate for the first parameters of every tensor; n_neg of the N
 * negatives enter log p(x) (--px-batch). */
static void check_jem_gradient(jem_weights wt, int64_t n_neg) {
  enum { N = 6 };
  ebm_net *net = nt_build(mlp3, N, 31);
  float *xp = nt_inputs(net, N, 32), *xn = nt_inputs(net, N, 33), *xny = nt_inputs(net, N, 34);
  const int32_t y[N] = {0, -1, 2, 1, -1, 2};
  jem_work w;
  REQUIRE_OK(jem_work_init(&w, N, 3));
  jem_values v;
  ebm_net_zero_grad(net);
  REQUIRE_OK(jem_loss(net, xp, y, xn, n_neg, xny, N, wt, 1, &w, &v));
  CHECK_EQ_INT(v.labelled, 4);
  const int np = ebm_net_param_count(net);
  ebm_rng rng;
  ebm_rng_init(&rng, 35);
  const double h = 1e-3;
  for (int trial = 0; trial < 3; trial++) {
    double an = 0;
    float *dirs[16];
    REQUIRE(np <= 16);
    for (int p = 0; p < np; p++) {
      ebm_param *pr = ebm_net_param(net, p);
      int64_t m = ebm_tensor_numel(pr->value);
      dirs[p] = malloc((size_t)m * sizeof(float));
      ebm_rng_normal(&rng, dirs[p], m, 0.0f, 1.0f);
      for (int64_t j = 0; j < m; j++) an += (double)pr->grad->data[j] * dirs[p][j];
    }
    double side[2];
    for (int s = 0; s < 2; s++) {
      for (int p = 0; p < np; p++) {
        ebm_param *pr = ebm_net_param(net, p);
        for (int64_t j = 0; j < ebm_tensor_numel(pr->value); j++) pr->value->data[j] += (float)((s ? -2 : 1) * h) * dirs[p][j];
      }
      side[s] = loss_at(net, xp, y, xn, n_neg, xny, N, wt, &w);
    }
    for (int p = 0; p < np; p++) { /* back to θ */
      ebm_param *pr = ebm_net_param(net, p);
      for (int64_t j = 0; j < ebm_tensor_numel(pr->value); j++) pr->value->data[j] += (float)h * dirs[p][j];
      free(dirs[p]);
    }
    const double fd = (side[0] - side[1]) / (2 * h);
    CHECK(fabs(an) > 1e-2);
    CHECK_NEAR(an, fd, 3e-3 * fabs(fd) + 1e-4);
  }
  for (int p = 0; p < np; p++) {
    ebm_param *pr = ebm_net_param(net, p);
    for (int64_t j = 0; j < 3 && j < ebm_tensor_numel(pr->value); j++) {
      const float keep = pr->value->data[j];
      pr->value->data[j] = keep + (float)h;
      double lp = loss_at(net, xp, y, xn, n_neg, xny, N, wt, &w);
      pr->value->data[j] = keep - (float)h;
      double lm = loss_at(net, xp, y, xn, n_neg, xny, N, wt, &w);
      pr->value->data[j] = keep;
      CHECK_NEAR(pr->grad->data[j], (lp - lm) / (2 * h), 3e-3 * fabs(pr->grad->data[j]) + 2e-4);
    }
  }
  jem_work_free(&w);
  ebm_free(xp);
  ebm_free(xn);
  ebm_free(xny);
  ebm_net_free(net);
}

TEST(jem_loss_gradient_matches_fd_with_the_negatives_fixed) { check_jem_gradient((jem_weights){1.0f, 0.7f, 0.3f, 0.0f, 0.0f}, 6); }

/* --px-batch: fewer negatives than items (the mean over those alone). */
TEST(jem_loss_gradient_with_fewer_negatives_matches_fd) {
  check_jem_gradient((jem_weights){1.0f, 0.7f, 0.3f, 0.5f, 0.0f}, 2);
}

/* The energy regulariser's gradient (2·px·α·E/n through logsumexp). */
TEST(jem_loss_gradient_with_the_energy_regulariser_matches_fd) {
  check_jem_gradient((jem_weights){0.8f, 0.7f, 0.3f, 0.6f, 0.0f}, 6);
}

/* The log p(x|y) term's regulariser (2·pxy·α_y·E(x, y)/m on the label's
 * logit, positives and negatives), alone and with the others. */
TEST(jem_loss_gradient_with_the_conditional_regulariser_matches_fd) {
  check_jem_gradient((jem_weights){0.0f, 0.0f, 1.0f, 0.0f, 0.7f}, 6);
  check_jem_gradient((jem_weights){0.8f, 0.7f, 0.3f, 0.6f, 0.4f}, 6);
}

/* The warm-up ramp: lr·(done + 1)/N for the first N steps, then the run's
 * schedule itself (here cosine over 100 steps); none with warmup 0. */
TEST(jem_learning_rate_warms_up_linearly_then_follows_the_schedule) {
  ebm_train_config c = ebm_train_defaults();
  c.adam.lr = 1e-3f;
  c.iters = 100;
  c.jem.warmup = 4;
  CHECK_NEAR(jem_lr(&c, 0), 0.25e-3, 1e-10);
  CHECK_NEAR(jem_lr(&c, 1), 0.5e-3, 1e-10);
  CHECK_NEAR(jem_lr(&c, 2), 0.75e-3, 1e-10);
  CHECK_NEAR(jem_lr(&c, 3), 1e-3, 1e-10);
  CHECK_NEAR(jem_lr(&c, 50), 1e-3, 1e-10);
  c.lr_decay = EBM_LR_COSINE;
  CHECK_NEAR(jem_lr(&c, 1), 0.5 * ebm_train_lr(&c, 1), 1e-10);
  CHECK_NEAR(jem_lr(&c, 50), 0.5e-3, 1e-9); /* half-way down the cosine */
  CHECK(jem_lr(&c, 50) == ebm_train_lr(&c, 50));
  c.jem.warmup = 0;
  CHECK(jem_lr(&c, 0) == ebm_train_lr(&c, 0));
  /* JEM's recipe by default: 1000 warm-up steps, α 0.1 */
  const ebm_train_config d = ebm_train_defaults();
  CHECK_EQ_INT(d.jem.warmup, 1000);
  CHECK_NEAR(d.jem.px_alpha, 0.1, 1e-7);
  CHECK_NEAR(jem_lr(&d, 0), d.adam.lr / 1000.0, 1e-12);
}

/* JEM's own Adam (lr 1e-3, β1 0.9, no A.12 clip) takes the place of the
 * IGEBM defaults where a run starts from the defaults — the "images"
 * recipe — while pcd keeps IGEBM's and a toy keeps the toys' own recipe. */
TEST(jem_images_recipe_uses_jems_adam_and_other_methods_keep_igebms) {
  ebm_dataset *images = NULL, *toy = NULL;
  REQUIRE_OK(ebm_dataset_load(test_labelled_images(8, 4), 0, 1, &images));
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:64", -4, 4, &toy));
  ebm_train_config jem = ebm_train_defaults(), pcd = ebm_train_defaults(), jem_toy = ebm_train_defaults();
  jem.method = jem_toy.method = (ebm_train_method)ebm_train_method_from_name("jem");
  jem.adam.lr = pcd.adam.lr = 0.5f; /* a recipe writes the optimiser over whatever was there */
  CHECK_EQ_STR(ebm_train_recipe_for_data(images, &jem), "images");
  CHECK_EQ_STR(ebm_train_recipe_for_data(images, &pcd), "images");
  CHECK_EQ_STR(ebm_train_recipe_for_data(toy, &jem_toy), "toy-2d");
  CHECK(jem.adam.lr == 1e-3f && jem.adam.beta1 == 0.9f && jem.adam.clip_std == 0.0f);
  CHECK(pcd.adam.lr == 1e-4f && pcd.adam.beta1 == 0.0f && pcd.adam.clip_std == 3.0f);
  CHECK(jem_toy.adam.lr == 3e-3f); /* the toys' recipe is the data's, for every method */
  CHECK(jem.sampler.steps == pcd.sampler.steps && jem.alpha == pcd.alpha); /* the rest is the data's */
  ebm_dataset_free(images);
  ebm_dataset_free(toy);
}

static ebm_train_config toy_jem_config(int64_t iters) {
  ebm_train_config c = ebm_train_defaults();
  c.method = (ebm_train_method)ebm_train_method_from_name("jem");
  c.batch = 32;
  c.iters = iters;
  c.range_lo = -4;
  c.range_hi = 4;
  c.buffer_size = 256;
  c.adam.lr = 1e-2f;
  c.adam.beta1 = 0.9f;
  c.adam.clip_std = 0;
  c.jem.sgld_steps = 5;
  c.jem.sgld_step = 0.05f;
  c.jem.sgld_noise = 0.01f;
  c.jem.warmup = 0;
  c.jem.px_alpha = 0;
  c.seed = 5;
  return c;
}

static ebm_run_opts run_opts(const char *dir, const char *arch, int resume) {
  ebm_run_opts o = {0};
  o.run_dir = dir;
  o.arch_json = arch;
  o.resume = resume;
  o.save_every = 2;
  o.log_every = 1;
  o.sample_count = 8;
  return o;
}

/* 8gaussians with its modes as labels: 150 JEM steps classify held-out
 * points far above chance (1/8), and metrics.jsonl reports it. */
TEST(a_tiny_jem_learns_to_classify_a_labelled_toy) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:2000", -4, 4, &ds));
  ebm_train_config c = toy_jem_config(150);
  snprintf(c.jem.eval_data, sizeof c.jem.eval_data, "toy:8gaussians:test:400");
  c.jem.eval_every = 50;
  const char *dir = test_path("jem_toy");
  ebm_run_opts o = run_opts(dir, mlp8, 0);
  o.save_every = 0;
  o.log_every = 50;
  REQUIRE_OK(ebm_train_run(ds, &c, &o, NULL));
  char path[600];
  snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
  char *metrics = test_read_text(path);
  REQUIRE(metrics);
  const char *last = strstr(metrics, "\"step\":150");
  REQUIRE(last);
  const char *acc = strstr(last, "\"accuracy\":");
  REQUIRE(acc);
  const double reported = atof(acc + strlen("\"accuracy\":"));
  CHECK(reported > 0.6);
  free(metrics);
  /* the checkpoint agrees: its argmax on the held-out points */
  ebm_net *net = NULL;
  ebm_dataset *test = NULL;
  REQUIRE_OK(ebm_net_load(ebm_run_ckpt_path(dir, path, sizeof path), 100, &net));
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:test:400", -4, 4, &test));
  float logits[100 * 8];
  double accuracy = 0;
  REQUIRE_OK(jem_accuracy(net, test, 400, logits, &accuracy));
  CHECK_NEAR(accuracy, reported, 1e-9);
  ebm_dataset_free(test);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}

/* 6 steps straight == 3, then resume to 6, byte for byte, with every term
 * on and half the labels hidden (pxy chains, the buffer, the batcher over
 * the masked view, Adam, the RNG). */
TEST(jem_resume_is_bit_exact) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:200", -4, 4, &ds));
  ebm_train_config c = toy_jem_config(6);
  c.jem.pxy_weight = 0.5f;
  c.jem.labels_fraction = 0.5f;
  c.jem.warmup = 5; /* the ramp is still on at the resume */
  c.jem.px_alpha = 0.1f;
  tt_check_resume_bit_exact(ds, c, mlp8, NULL, 0);
  ebm_dataset_free(ds);
}

/* The same with --px-batch: fewer log p(x) chains than items (the buffer
 * slots and the RNG draws of a step change with their number). */
TEST(jem_resume_with_fewer_negatives_is_bit_exact) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:200", -4, 4, &ds));
  ebm_train_config c = toy_jem_config(6);
  c.jem.px_batch = c.batch / 4;
  c.jem.px_alpha = 0.1f;
  tt_check_resume_bit_exact(ds, c, mlp8, NULL, 0);
  ebm_dataset_free(ds);
}

/* 40 items, labels i % 2 (20 per class), one batch = the whole epoch:
 * labels-fraction 0.25 keeps 5 of each class, the first ones in the data. */
TEST(labels_fraction_keeps_that_share_of_each_class) {
  ebm_dataset *ds = tt_labelled_line();
  REQUIRE(ds);
  ebm_net *net = nt_build("{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"fc\", \"out\": 2}]}", 40, 1);
  ebm_train_config c = toy_jem_config(1);
  c.batch = 40;
  c.pos_noise = 0;
  c.jem.labels_fraction = 0.25f;
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(net, ds, &c, &t));
  REQUIRE_OK(ebm_trainer_step(t, NULL));
  int kept[2] = {0, 0}, hidden = 0;
  for (int i = 0; i < 40; i++) {
    const int item = (int)lround(t->x_pos[2 * i] * 10.0f);
    if (t->y_data[i] < 0) {
      hidden++;
      continue;
    }
    CHECK_EQ_INT(t->y_data[i], item % 2);
    CHECK(item < 10); /* the first 5 of each class are items 0..9 */
    kept[t->y_data[i]]++;
  }
  CHECK_EQ_INT(kept[0], 5);
  CHECK_EQ_INT(kept[1], 5);
  CHECK_EQ_INT(hidden, 30);
  ebm_trainer_free(t);
  ebm_net_free(net);
  ebm_dataset_free(ds);
}

TEST(jem_refuses_data_without_labels_other_classes_and_energy_networks) {
  ebm_dataset *toy = NULL, *unlabelled = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:64", -4, 4, &toy));
  unlabelled = tt_unlabelled_points();
  REQUIRE(unlabelled != NULL);
  ebm_train_config c = toy_jem_config(1);
  ebm_trainer *t = NULL;
  ebm_net *k8 = nt_build(mlp8, 32, 1), *k3 = nt_build(mlp3, 32, 1);
  ebm_net *energy = nt_build("{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"fc\", \"out\": 1}]}", 32, 1);
  CHECK_FAILS_WITH(ebm_trainer_new(k8, unlabelled, &c, &t), EBM_ERR_ARG, "method jem needs labels");
  CHECK_FAILS_WITH(ebm_trainer_new(k3, toy, &c, &t), EBM_ERR_ARG, "has 8 classes, and the network gives 3 logits");
  CHECK_FAILS_WITH(ebm_trainer_new(energy, toy, &c, &t), EBM_ERR_ARG, "must end in K > 1 logits");
  snprintf(c.jem.eval_data, sizeof c.jem.eval_data, "npy:%s", test_path("points.npy")); /* the unlabelled points */
  CHECK_FAILS_WITH(ebm_trainer_new(k8, toy, &c, &t), EBM_ERR_ARG, "eval-data");
  c.jem.eval_data[0] = '\0';
  c.conditional = 1;
  CHECK_FAILS_WITH(ebm_trainer_new(k8, toy, &c, &t), EBM_ERR_ARG, "leave conditional off");
  c.conditional = 0;
  c.jem.labels_fraction = 1.5f;
  CHECK_FAILS_WITH(ebm_trainer_new(k8, toy, &c, &t), EBM_ERR_ARG, "labels-fraction must be in [0, 1]");
  c.jem.labels_fraction = 1;
  c.jem.warmup = -1;
  CHECK_FAILS_WITH(ebm_trainer_new(k8, toy, &c, &t), EBM_ERR_ARG, "warmup must be >= 0, got -1");
  c.jem.warmup = 0;
  c.jem.px_alpha = -0.5f;
  CHECK_FAILS_WITH(ebm_trainer_new(k8, toy, &c, &t), EBM_ERR_ARG, "px-alpha must be >= 0, got -0.5");
  c.jem.px_alpha = 0;
  c.jem.px_batch = c.batch + 1;
  CHECK_FAILS_WITH(ebm_trainer_new(k8, toy, &c, &t), EBM_ERR_ARG, "px-batch must be in [0, batch");
  CHECK(t == NULL);
  ebm_net_free(k8);
  ebm_net_free(k3);
  ebm_net_free(energy);
  ebm_dataset_free(toy);
  ebm_dataset_free(unlabelled);
}

/* A NaN at step 3 stops the run naming the step; the step-2 checkpoint stays. */
TEST(jem_divergence_is_caught_and_keeps_the_last_checkpoint) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:200", -4, 4, &ds));
  ebm_train_config c = toy_jem_config(6);
  c.inject_nan_at = 3;
  const char *dir = test_path("diverged");
  ebm_run_opts o = run_opts(dir, mlp8, 0);
  CHECK_FAILS_WITH(ebm_train_run(ds, &c, &o, NULL), EBM_ERR_NUMERIC, "diverged at step 3: e_neg is NaN");
  char path[600];
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(ebm_run_ckpt_path(dir, path, sizeof path), &st));
  const char *step = ebm_safetensors_meta(st, "step");
  CHECK_EQ_STR(step, "2");
  ebm_safetensors_free(st);
  ebm_dataset_free(ds);
}

TEST(jem_cnn_preset_is_a_ten_class_classifier) {
  char *json = NULL;
  REQUIRE_OK(ebm_arch_preset("jem-cnn", 0, 0, &json));
  ebm_net *net = nt_build(json, 2, 3);
  CHECK(ebm_net_is_classifier(net));
  CHECK_EQ_INT(ebm_net_out_size(net), 10);
  CHECK_EQ_INT(ebm_net_num_classes(net), 0);
  float *x = nt_inputs(net, 2, 4), f[20];
  CHECK_OK(ebm_net_forward(net, x, NULL, 2, f));
  for (int j = 0; j < 20; j++) CHECK(isfinite(f[j]));
  ebm_free(x);
  ebm_net_free(net);
  free(json);
  CHECK_FAILS_WITH(ebm_arch_preset("jem-cnn", 10, 0, &json), EBM_ERR_ARG, "takes no \"classes\"");
}

/* ebm_ood_scores on a classifier: −E = logsumexp f, max p(y|x) = the top
 * softmax probability of the logits; a model without classes has none. */
TEST(ood_scores_of_a_classifier_are_logsumexp_and_the_top_softmax) {
  enum { N = 4, K = 3 };
  ebm_net *net = nt_build(mlp3, N, 41);
  ebm_energy *en = ebm_net_as_energy(net);
  REQUIRE(en);
  float *x = nt_inputs(net, N, 42), f[N * K];
  double neg_e[N], neg_g[N], top[N];
  REQUIRE_OK(ebm_ood_scores(en, x, N, neg_e, neg_g, top));
  REQUIRE_OK(ebm_net_forward(net, x, NULL, N, f));
  for (int i = 0; i < N; i++) {
    const double lse = logsumexp(f + i * K, K);
    double best = f[i * K];
    for (int c = 1; c < K; c++) best = fmax(best, f[i * K + c]);
    CHECK_NEAR(neg_e[i], lse, 1e-5);
    CHECK_NEAR(top[i], exp(best - lse), 1e-6);
    CHECK(neg_g[i] < 0);
  }
  ebm_net *plain = nt_build("{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"fc\", \"out\": 1}]}", N, 1);
  ebm_energy *pe = ebm_net_as_energy(plain);
  REQUIRE(pe);
  CHECK_FAILS_WITH(ebm_ood_scores(pe, x, N, neg_e, NULL, top), EBM_ERR_ARG, "max p(y|x) score needs");
  ebm_energy_free(pe);
  ebm_net_free(plain);
  ebm_energy_free(en);
  ebm_free(x);
  ebm_net_free(net);
}

/* The reliability diagram is a PNG of the right size; bad bins are refused
 * with ebm_calibration's message. Its bins match ebm_calibration's ECE. */
TEST(reliability_diagram_is_written_and_its_bins_give_the_ece) {
  enum { N = 6, K = 2, BINS = 4 };
  const float logits[N * K] = {2, 0, 0, 1, 3, 0, 0.1f, 0, 0, 4, 1, 0};
  const int32_t y[N] = {0, 0, 0, 1, 1, 0};
  double conf[BINS], hits[BINS], ece = 0, acc = 0, e = 0;
  int64_t count[BINS], correct = 0;
  REQUIRE_OK(ebm_calibration_bins(logits, y, N, K, BINS, conf, hits, count, &correct));
  REQUIRE_OK(ebm_calibration(logits, y, N, K, BINS, &acc, &ece));
  int64_t total = 0;
  for (int b = 0; b < BINS; b++) total += count[b], e += fabs(hits[b] - conf[b]) / N;
  CHECK_EQ_INT(total, N);
  CHECK_EQ_INT(correct, 4); /* items 1 (argmax 1, label 0) and 4 (argmax 0, label 1) are wrong */
  CHECK_NEAR(acc, 4.0 / 6.0, 1e-12);
  CHECK_NEAR(e, ece, 1e-12);
  CHECK_EQ_INT(count[0] + count[1], 0); /* two classes: confidence ≥ 1/2 */
  const char *png = test_path("rel.png");
  REQUIRE_OK(ebm_reliability_png(png, logits, y, N, K, BINS));
  int w = 0, h = 0, ch = 0;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(png, &w, &h, &ch, &px));
  CHECK_EQ_INT(w, 400);
  CHECK_EQ_INT(h, 400);
  CHECK_EQ_INT(ch, 3);
  free(px);
  CHECK_FAILS_WITH(ebm_reliability_png(png, logits, y, N, K, 0), EBM_ERR_ARG, "need >= 1");
}
