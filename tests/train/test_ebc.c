/* The energy-based classifier and continual learning (src/train/
 * method_ebc.c, continual.c): the split tasks partition the classes, the
 * loss against hand values and its gradient against central differences
 * (the negative classes fixed), a tiny class-incremental run that beats
 * chance on every class at the end, bit-exact resume across a task
 * boundary, the labels a semi-supervised JEM run keeps (jem_data.c), and
 * the errors a user can meet. */
#include "nn/nn_testutil.h"
#include "test_util.h"
#include "train/continual.h"
#include "train/jem.h"
#include "train/train_internal.h"
#include "train/train_testutil.h"

/* 2-D points → 8 logits (the 8gaussians modes). */
static const char *const mlp8 =
    "{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 32},"
    "{\"type\": \"swish\"}, {\"type\": \"linear\", \"name\": \"net.2\", \"out\": 32},"
    "{\"type\": \"swish\"}, {\"type\": \"linear\", \"name\": \"net.4\", \"out\": 8}]}";

TEST(split_tasks_partition_the_classes) {
  /* split:5 of MNIST's 10 classes: 0 1 | 2 3 | 4 5 | 6 7 | 8 9 */
  CHECK_OK(continual_check_split(10, 5, "mnist"));
  int per_task[5] = {0};
  for (int c = 0; c < 10; c++) {
    const int k = continual_task_of_class(10, 5, c);
    REQUIRE(k >= 0 && k < 5);
    CHECK_EQ_INT(k, c / 2);
    per_task[k]++;
  }
  for (int k = 0; k < 5; k++) CHECK_EQ_INT(per_task[k], 2);
  CHECK_EQ_INT(continual_task_of_step(0, 100, 5), 0);
  CHECK_EQ_INT(continual_task_of_step(99, 100, 5), 0);
  CHECK_EQ_INT(continual_task_of_step(100, 100, 5), 1);
  CHECK_EQ_INT(continual_task_of_step(5000, 100, 5), 4); /* the last task keeps the rest */
  /* the data: every item in exactly one task, in its class's task, in order */
  ebm_dataset *ds = NULL, *split[4];
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:400", -4, 4, &ds));
  REQUIRE_OK(continual_split(ds, 4, split));
  int64_t next[4] = {0}, total = 0;
  for (int k = 0; k < 4; k++) total += split[k]->x->shape[0];
  CHECK_EQ_INT(total, 400);
  for (int64_t i = 0; i < 400; i++) {
    const int k = ds->labels[i] / 2;
    REQUIRE(next[k] < split[k]->x->shape[0]);
    CHECK_EQ_INT(split[k]->labels[next[k]], ds->labels[i]);
    CHECK(memcmp(split[k]->x->data + 2 * next[k], ds->x->data + 2 * i, 2 * sizeof(float)) == 0);
    next[k]++;
  }
  for (int k = 0; k < 4; k++) {
    CHECK_EQ_INT(next[k], split[k]->x->shape[0]);
    CHECK_CONTAINS(split[k]->spec, "task");
    ebm_dataset_free(split[k]);
  }
  CHECK_FAILS_WITH(continual_split(ds, 3, split), EBM_ERR_ARG, "the 8 classes of toy:8gaussians:train:400 do not divide into 3 tasks");
  CHECK_FAILS_WITH(continual_check_split(10, 0, "mnist"), EBM_ERR_ARG, "split:0");
  ebm_dataset_free(ds);
}

/* Two items, three logits, negatives the classes {0, 1}: the third logit
 * is no negative (no loss, no gradient). */
TEST(ebc_loss_matches_hand_values) {
  const float f[6] = {1, 0, 2, 0, 3, 1};
  const int32_t y[2] = {0, 1};
  float d[6], work[8];
  int32_t yw[2];
  double e_pos = 0, e_neg = 0;
  int64_t correct = 0;
  const double loss = ebc_loss(f, y, 2, 3, 0, 2, 2, 0.0f, d, work, yw, &e_pos, &e_neg, &correct);
  /* item 0: log(e + 1) − 1; item 1: log(1 + e³) − 3 */
  const double l0 = log(exp(1.0) + 1) - 1, l1 = log(1 + exp(3.0)) - 3;
  CHECK_NEAR(loss, (l0 + l1) / 2, 1e-6);
  CHECK_NEAR(e_pos, -(1.0 + 3.0) / 2, 1e-7);
  CHECK_NEAR(e_neg, -(log(exp(1.0) + 1) + log(1 + exp(3.0))) / 2, 1e-6);
  CHECK_EQ_INT(correct, 2);
  const double s0 = exp(1.0) / (exp(1.0) + 1), s1 = exp(3.0) / (1 + exp(3.0));
  CHECK_NEAR(d[0], (s0 - 1) / 2, 1e-7);
  CHECK_NEAR(d[1], (1 - s0) / 2, 1e-7);
  CHECK(d[2] == 0 && d[5] == 0);
  CHECK_NEAR(d[4], (s1 - 1) / 2, 1e-7);
  /* the classes {1, 2} only: both labels in [1, 3) */
  const int32_t y12[2] = {2, 1};
  CHECK_NEAR(ebc_loss(f, y12, 2, 3, 1, 3, 3, 0.0f, d, work, yw, &e_pos, &e_neg, NULL),
             ((log(1 + exp(2.0)) - 2) + (log(exp(3.0) + exp(1.0)) - 3)) / 2, 1e-6);
  CHECK(d[0] == 0 && d[3] == 0);
  /* α = 0.5 over the 3 classes seen adds 0.5·mean of all six squared
   * logits, (1 + 0 + 4 + 0 + 9 + 1)/6, while the contrast stays {0, 1} */
  const double plain = ebc_loss(f, y, 2, 3, 0, 2, 3, 0.0f, d, work, yw, &e_pos, &e_neg, NULL);
  CHECK_NEAR(ebc_loss(f, y, 2, 3, 0, 2, 3, 0.5f, d, work, yw, &e_pos, &e_neg, NULL) - plain, 0.5 * 15.0 / 6, 1e-6);
  CHECK_NEAR(d[3], 1.0 / (1 + exp(3.0)) / 2, 1e-7); /* item 1, class 0: its softmax/2, f = 0 */
  CHECK_NEAR(d[4], (s1 - 1) / 2 + 2 * 0.5 * 3 / 6, 1e-6);
  CHECK_NEAR(d[5], 2 * 0.5 * 1 / 6.0, 1e-7); /* class 2: no contrast, only the regulariser */
}

typedef struct {
  ebm_net *net;
  const float *x;
  const int32_t *y;
  int64_t n;
  int lo, hi, seen;
  float alpha;
  float *logits, *d, *work;
  int32_t *yw;
} ebc_case;

static double ebc_case_loss(void *ctx) {
  ebc_case *c = ctx;
  double e_pos, e_neg;
  REQUIRE_OK(ebm_net_forward(c->net, c->x, NULL, c->n, c->logits));
  return ebc_loss(c->logits, c->y, c->n, 8, c->lo, c->hi, c->seen, c->alpha, c->d, c->work, c->yw, &e_pos, &e_neg, NULL);
}

/* dL/df per logit against central differences of the loss (in double),
 * and dL/dθ through a network along random directions (Richardson), for
 * the negatives of one task (classes 2, 3; classes 0–5 seen) and of all
 * eight, with the energy regulariser on. */
TEST(ebc_loss_gradient_matches_fd_with_the_negatives_fixed) {
  enum { N = 5, K = 8 };
  ebm_net *net = nt_build(mlp8, N, 41);
  float *x = nt_inputs(net, N, 42), logits[N * K], d[N * K], work[2 * N * K], fp[N * K];
  int32_t yw[N];
  const int32_t y_task[N] = {2, 3, 3, 2, 2}, y_all[N] = {0, 7, 3, 5, 2};
  ebm_rng rng;
  ebm_rng_init(&rng, 43);
  for (int all = 0; all < 2; all++) {
    ebc_case c = {net, x, all ? y_all : y_task, N, all ? 0 : 2, all ? 8 : 4, all ? 8 : 6, 0.3f, logits, d, work, yw};
    ebc_case_loss(&c);
    memcpy(fp, logits, sizeof fp);
    float g[N * K];
    memcpy(g, d, sizeof g);
    for (int j = 0; j < N * K; j++) {
      const double h = 1e-2;
      double e_pos, e_neg, side[2];
      for (int s = 0; s < 2; s++) {
        fp[j] = logits[j] + (float)(s ? -h : h);
        side[s] = ebc_loss(fp, c.y, N, K, c.lo, c.hi, c.seen, c.alpha, d, work, yw, &e_pos, &e_neg, NULL);
      }
      fp[j] = logits[j];
      const double fd = (side[0] - side[1]) / (2 * h);
      CHECK_NEAR(g[j], fd, 1e-4 + 1e-3 * fabs(fd));
      if (!all && j % K >= 6) CHECK(g[j] == 0); /* neither contrasted nor seen */
    }
    ebm_net_zero_grad(net);
    ebc_case_loss(&c);
    REQUIRE_OK(ebm_net_backward(net, d, NULL, 1));
    double numeric = 0, analytic = 0;
    tt_directional_fd(net, ebc_case_loss, &c, &rng, &numeric, &analytic);
    CHECK(fabs(analytic) > 1e-3);
    CHECK_NEAR(analytic, numeric, 2e-3 * fabs(numeric) + 1e-5);
  }
  ebm_free(x);
  ebm_net_free(net);
}

/* The metrics.jsonl line of `step` (a heap copy), or NULL. */
static char *metrics_line(const char *metrics, int64_t step) {
  char key[48];
  snprintf(key, sizeof key, "{\"step\":%lld,", (long long)step);
  const char *at = strstr(metrics, key);
  if (!at) return NULL;
  const char *end = strchr(at, '\n');
  size_t len = end ? (size_t)(end - at) : strlen(at);
  char *line = malloc(len + 1);
  if (line) {
    memcpy(line, at, len);
    line[len] = '\0';
  }
  return line;
}

static ebm_train_config toy_ebc_config(int tasks, int64_t per_task, int64_t iters) {
  ebm_train_config c = ebm_train_defaults();
  REQUIRE_OK(ebm_train_config_set(&c, "method", "ebc"));
  c.batch = 32;
  c.iters = iters;
  c.range_lo = -4;
  c.range_hi = 4;
  c.adam.lr = 1e-2f;
  c.adam.beta1 = 0.9f;
  c.adam.clip_std = 0;
  c.jem.continual_tasks = tasks;
  c.jem.iters_per_task = per_task;
  c.seed = 7;
  return c;
}

/* Eight well-separated Gaussian clusters in 16 dimensions (means
 * N(0, I), σ 0.5; labels i mod 8), n items, as an npy spec. */
static void cluster_data(const char *name, int64_t n, uint64_t seed, char *spec, size_t size) {
  enum { D = 16, K = 8 };
  ebm_rng rng;
  ebm_rng_init(&rng, 100);
  float mu[K * D], *x = malloc((size_t)(n * D) * sizeof(float));
  int32_t *y = malloc((size_t)n * sizeof(int32_t));
  REQUIRE(x && y);
  ebm_rng_normal(&rng, mu, K * D, 0.0f, 1.0f); /* the same means for every set */
  ebm_rng_init(&rng, seed);
  ebm_rng_normal(&rng, x, n * D, 0.0f, 0.5f);
  for (int64_t i = 0; i < n; i++) {
    y[i] = (int32_t)(i % K);
    for (int d = 0; d < D; d++) x[i * D + d] += mu[y[i] * D + d];
  }
  char xp[512], yp[512];
  snprintf(xp, sizeof xp, "%s", test_path(name));
  snprintf(yp, sizeof yp, "%s.labels.npy", xp);
  int64_t shape[2] = {n, D};
  REQUIRE_OK(ebm_npy_save(xp, EBM_DTYPE_F32, 2, shape, x));
  REQUIRE_OK(ebm_npy_save(yp, EBM_DTYPE_I32, 1, &n, y));
  snprintf(spec, size, "npy:%s,%s", xp, yp);
  free(x);
  free(y);
}

static const char *const mlp16 =
    "{\"input\": [16], \"layers\": [{\"type\": \"linear\", \"name\": \"net.0\", \"out\": 64},"
    "{\"type\": \"relu\"}, {\"type\": \"linear\", \"name\": \"net.2\", \"out\": 64},"
    "{\"type\": \"relu\"}, {\"type\": \"linear\", \"name\": \"net.4\", \"out\": 8}]}";

/* The tasks' accuracies at the end of a split:4 run of 10 steps per task
 * (40 in all), read from metrics.jsonl, which scores each task at its end
 * only. */
static void continual_run(const char *dir, ebm_train_config c, const ebm_dataset *ds, const char *eval,
                          double *per_task, double *mean) {
  snprintf(c.jem.eval_data, sizeof c.jem.eval_data, "%s", eval);
  c.jem.eval_items = 400;
  ebm_run_opts o = {.run_dir = dir, .arch_json = mlp16, .log_every = 1};
  REQUIRE_OK(ebm_train_run(ds, &c, &o, NULL));
  char path[600];
  snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
  char *metrics = test_read_text(path);
  REQUIRE(metrics);
  char *before = metrics_line(metrics, 9), *end1 = metrics_line(metrics, 10), *last = metrics_line(metrics, 40);
  REQUIRE(before && end1 && last);
  CHECK(strstr(before, "accuracy_task") == NULL);
  CHECK(strstr(end1, "\"task\":0") && strstr(end1, "\"accuracy_task0\":") && !strstr(end1, "accuracy_task1"));
  CHECK(strstr(last, "\"task\":3") != NULL);
  for (int k = 0; k < 4; k++) {
    char key[32];
    snprintf(key, sizeof key, "\"accuracy_task%d\":", k);
    const char *at = strstr(last, key);
    REQUIRE(at);
    per_task[k] = atof(at + strlen(key));
  }
  *mean = atof(strstr(last, "\"accuracy\":") + strlen("\"accuracy\":"));
  free(before);
  free(end1);
  free(last);
  free(metrics);
}

/* 8 clusters as 4 tasks of 2, 10 steps each: at the end the energy-based
 * classifier is well above chance (1/8) on every task (held-out, the
 * argmax over all 8 classes: measured 0.51 0.57 0.50 0.67); metrics.jsonl has
 * each task's accuracy at each task's end, and the checkpoint's own
 * class-incremental accuracy agrees with the last one. */
TEST(a_tiny_continual_run_beats_chance_on_every_task) {
  char train[1100], test[1100];
  cluster_data("train.npy", 1600, 1, train, sizeof train);
  cluster_data("test.npy", 400, 2, test, sizeof test);
  ebm_dataset *ds = NULL, *held_out = NULL;
  REQUIRE_OK(ebm_dataset_load(train, -4, 4, &ds));
  REQUIRE_OK(ebm_dataset_load(test, -4, 4, &held_out));
  double ours[4], ours_mean = 0;
  const char *dir = test_path("ebc");
  ebm_train_config c = toy_ebc_config(4, 10, 40);
  c.adam.lr = 3e-3f;
  continual_run(dir, c, ds, test, ours, &ours_mean);
  for (int k = 0; k < 4; k++) CHECK(ours[k] > 0.125 + 0.2);
  /* the checkpoint agrees */
  ebm_net *net = NULL;
  char path[600];
  REQUIRE_OK(ebm_net_load(ebm_run_ckpt_path(dir, path, sizeof path), 100, &net));
  float *logits = malloc(100 * 8 * sizeof(float));
  REQUIRE(logits);
  double per_task[4], mean = 0;
  REQUIRE_OK(ebc_task_accuracy(net, held_out, 400, logits, 2, 4, per_task, &mean));
  CHECK_NEAR(mean, ours_mean, 1e-9);
  for (int k = 0; k < 4; k++) CHECK_NEAR(per_task[k], ours[k], 1e-9);
  free(logits);
  ebm_net_free(net);
  ebm_dataset_free(held_out);
  ebm_dataset_free(ds);
}

/* Du & Mordatch's continual EBM (A.7) as --method jem: the energy of the
 * pair by maximum likelihood (--pxy with its regulariser, no softmax term),
 * SGLD negatives of the current task's labels only. */
static ebm_train_config toy_generative_continual_config(int tasks, int64_t per_task, int64_t iters) {
  ebm_train_config c = toy_ebc_config(tasks, per_task, iters);
  REQUIRE_OK(ebm_train_config_set(&c, "method", "jem"));
  c.jem.px_weight = 0;
  c.jem.pyx_weight = 0;
  c.jem.pxy_weight = 1;
  c.jem.pxy_alpha = 1;
  c.jem.warmup = 0;
  c.jem.sgld_steps = 10;
  c.jem.sgld_step = 0.5f;
  c.jem.sgld_noise = 0.1f;
  c.buffer_size = 256;
  return c;
}

/* The generative variant on the same clusters: every task well above chance
 * at the end (measured 0.94 0.73 0.55 1.00; ebc above: 0.51 0.57 0.50
 * 0.67), each task scored at its end (metrics.jsonl) by the schedule ebc
 * uses. */
TEST(a_tiny_generative_continual_jem_beats_chance_on_every_task) {
  char train[1100], test[1100];
  cluster_data("train.npy", 1600, 1, train, sizeof train);
  cluster_data("test.npy", 400, 2, test, sizeof test);
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load(train, -4, 4, &ds));
  double per_task[4], mean = 0;
  continual_run(test_path("jem"), toy_generative_continual_config(4, 10, 40), ds, test, per_task, &mean);
  for (int k = 0; k < 4; k++) CHECK(per_task[k] > 0.125 + 0.2);
  printf("    generative continual: %.3f %.3f %.3f %.3f (mean %.3f)\n", per_task[0], per_task[1], per_task[2],
         per_task[3], mean);
  ebm_dataset_free(ds);
}

/* 6 steps of 3-step tasks straight == 3 (the end of task 0), then a
 * resume that starts task 1, byte for byte. */
static void check_resume_across_a_task_boundary(ebm_train_config c) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:400", -4, 4, &ds));
  char ckpt[600];
  tt_check_resume_bit_exact(ds, c, mlp8, ckpt, sizeof ckpt);
  ebm_dataset_free(ds);
}

TEST(generative_continual_jem_resume_is_bit_exact_across_a_task_boundary) {
  check_resume_across_a_task_boundary(toy_generative_continual_config(4, 3, 6));
}

/* Mean of 4000 draws of the trainer's chain-start Gaussian, in 2-D. */
static void start_mean(const ebm_trainer *t, double mean[2]) {
  enum { N = 4000 };
  float *x = malloc(N * 2 * sizeof(float));
  REQUIRE(x);
  ebm_rng rng;
  ebm_rng_init(&rng, 5);
  REQUIRE_OK(ebm_chain_start_draw(t->start, &rng, N, 2, -4, 4, x));
  mean[0] = mean[1] = 0;
  for (int i = 0; i < N; i++) {
    mean[0] += x[2 * i] / N;
    mean[1] += x[2 * i + 1] / N;
  }
  free(x);
}

/* Mean of the items of classes [lo, hi). */
static void class_mean(const ebm_dataset *ds, int lo, int hi, double mean[2]) {
  int64_t count = 0;
  mean[0] = mean[1] = 0;
  for (int64_t i = 0; i < ds->x->shape[0]; i++)
    if (ds->labels[i] >= lo && ds->labels[i] < hi) {
      mean[0] += ds->x->data[2 * i];
      mean[1] += ds->x->data[2 * i + 1];
      count++;
    }
  mean[0] /= (double)count;
  mean[1] /= (double)count;
}

/* With --init gaussian a continual run's fresh chains start from a Gaussian
 * of the current task's items, never of tasks still to come: 8gaussians as
 * 4 tasks of 2 modes, whose means lie 1.6 from the origin (the whole
 * data's mean); draws of the start agree with task 0's mean, then after
 * the boundary with task 1's. A resume across it is bit-exact. */
TEST(generative_continual_chains_start_from_the_current_tasks_gaussian) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:2000", -4, 4, &ds));
  ebm_train_config c = toy_generative_continual_config(4, 2, 4);
  c.chain_start = EBM_START_GAUSSIAN;
  ebm_net *net = nt_build(mlp8, c.batch, 1);
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(net, ds, &c, &t));
  ebm_train_stats stats;
  for (int task = 0; task < 2; task++) {
    double want[2], got[2];
    if (task == 1)
      for (int i = 0; i < 3; i++) REQUIRE_OK(ebm_trainer_step(t, &stats)); /* steps 1, 2 (task 0), 3 (task 1) */
    class_mean(ds, 2 * task, 2 * task + 2, want);
    start_mean(t, got);
    CHECK(hypot(want[0], want[1]) > 1.0); /* far from the whole data's mean */
    CHECK_NEAR(got[0], want[0], 0.1);
    CHECK_NEAR(got[1], want[1], 0.1);
  }
  ebm_trainer_free(t);
  ebm_net_free(net);
  char ckpt[600];
  tt_check_resume_bit_exact(ds, c, mlp8, ckpt, sizeof ckpt);
  ebm_dataset_free(ds);
}

TEST(ebc_resume_is_bit_exact_across_a_task_boundary) { check_resume_across_a_task_boundary(toy_ebc_config(4, 3, 6)); }

/* A NaN at step 3 stops the run naming the step; the step-2 checkpoint stays. */
TEST(ebc_divergence_is_caught_and_keeps_the_last_checkpoint) {
  ebm_dataset *ds = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:200", -4, 4, &ds));
  ebm_train_config c = toy_ebc_config(2, 2, 6);
  c.inject_nan_at = 3;
  const char *dir = test_path("diverged");
  ebm_run_opts o = {.run_dir = dir, .arch_json = mlp8, .save_every = 2, .log_every = 1};
  CHECK_FAILS_WITH(ebm_train_run(ds, &c, &o, NULL), EBM_ERR_NUMERIC, "diverged at step 3: loss is NaN");
  char path[600];
  ebm_safetensors *st = NULL;
  REQUIRE_OK(ebm_safetensors_load(ebm_run_ckpt_path(dir, path, sizeof path), &st));
  CHECK_EQ_STR(ebm_safetensors_meta(st, "step"), "2");
  ebm_safetensors_free(st);
  ebm_dataset_free(ds);
}

TEST(ebc_refuses_a_split_that_does_not_divide_the_classes_and_data_without_labels) {
  ebm_dataset *toy = NULL, *unlabelled = NULL;
  REQUIRE_OK(ebm_dataset_load("toy:8gaussians:train:64", -4, 4, &toy));
  unlabelled = tt_unlabelled_points();
  REQUIRE(unlabelled != NULL);
  ebm_net *net = nt_build(mlp8, 32, 1);
  ebm_trainer *t = NULL;
  ebm_train_config c = toy_ebc_config(3, 10, 10);
  CHECK_FAILS_WITH(ebm_trainer_new(net, toy, &c, &t), EBM_ERR_ARG, "continual split:3: the 8 classes of");
  c = toy_ebc_config(4, 10, 10);
  CHECK_FAILS_WITH(ebm_trainer_new(net, unlabelled, &c, &t), EBM_ERR_ARG, "method ebc needs labels");
  c.jem.iters_per_task = 0;
  CHECK_FAILS_WITH(ebm_trainer_new(net, toy, &c, &t), EBM_ERR_ARG, "iters-per-task must be >= 1");
  CHECK(t == NULL);
  CHECK_FAILS_WITH(ebm_train_config_set(&c, "continual", "split:x"), EBM_ERR_ARG, "continual expects none or split:K");
  CHECK_FAILS_WITH(ebm_train_config_set(&c, "continual", "halves"), EBM_ERR_ARG, "continual expects none or split:K");
  CHECK_FAILS_WITH(ebm_train_config_set(&c, "ebc-negatives", "some"), EBM_ERR_ARG, "ebc-negatives must be task, seen or all");
  CHECK_OK(ebm_train_config_set(&c, "continual", "split:5"));
  CHECK_EQ_INT(c.jem.continual_tasks, 5);
  char text[64];
  ebm_train_setting_text(&c, ebm_train_setting_find("continual"), text, sizeof text);
  CHECK_EQ_STR(text, "split:5");
  /* jem learns continually (the generative variant) with every label, and
   * checks the schedule's settings as ebc does */
  CHECK_OK(ebm_train_config_set(&c, "method", "jem"));
  CHECK_FAILS_WITH(ebm_train_config_check(&c), EBM_ERR_ARG, "iters-per-task must be >= 1, got 0");
  c.jem.iters_per_task = 10;
  CHECK_OK(ebm_train_config_check(&c));
  c.jem.labelled = 5;
  CHECK_FAILS_WITH(ebm_train_config_check(&c), EBM_ERR_ARG, "continual learning uses every label");
  c.jem.labelled = 0;
  c.jem.pxy_alpha = -1;
  CHECK_FAILS_WITH(ebm_train_config_check(&c), EBM_ERR_ARG, "pxy-alpha must be >= 0");
  ebm_net_free(net);
  ebm_dataset_free(toy);
  ebm_dataset_free(unlabelled);
}

/* 40 items of 2 classes (20 each): labelled 3 keeps exactly 3 labels of
 * each class, their own; the same seed keeps the same items, another seed
 * others; a class with fewer items than asked is refused. */
TEST(labelled_keeps_exactly_n_per_class_for_a_seed) {
  int32_t labels[40], kept[40], again[40], other[40];
  for (int i = 0; i < 40; i++) labels[i] = i % 2;
  ebm_rng a, b, c;
  ebm_rng_init(&a, 1);
  ebm_rng_init(&b, 1);
  ebm_rng_init(&c, 2);
  REQUIRE_OK(jem_keep_labels(labels, 40, 2, 1.0, 3, &a, "d", kept));
  REQUIRE_OK(jem_keep_labels(labels, 40, 2, 1.0, 3, &b, "d", again));
  REQUIRE_OK(jem_keep_labels(labels, 40, 2, 1.0, 3, &c, "d", other));
  int per_class[2] = {0, 0}, first_ten = 0;
  for (int i = 0; i < 40; i++) {
    if (kept[i] >= 0) {
      CHECK_EQ_INT(kept[i], labels[i]);
      per_class[kept[i]]++;
      first_ten += i < 10;
    }
    CHECK_EQ_INT(again[i], kept[i]);
  }
  CHECK_EQ_INT(per_class[0], 3);
  CHECK_EQ_INT(per_class[1], 3);
  CHECK(memcmp(kept, other, sizeof kept) != 0);
  CHECK(first_ten < 6); /* drawn, not the first items of the data */
  CHECK_FAILS_WITH(jem_keep_labels(labels, 40, 2, 1.0, 21, &a, "npy:x", kept), EBM_ERR_ARG,
                   "labelled 21: class 0 of npy:x has only 20 items");
  /* the fraction form keeps the first share, as before */
  REQUIRE_OK(jem_keep_labels(labels, 40, 2, 0.25, 0, &a, "d", kept));
  for (int i = 0; i < 40; i++) CHECK_EQ_INT(kept[i], i < 10 ? labels[i] : -1);
}

/* The trainer's batches under --labelled 4: 4 labels per class. */
TEST(jem_labelled_trains_on_n_labels_per_class) {
  ebm_dataset *ds = tt_labelled_line();
  REQUIRE(ds);
  ebm_net *net = nt_build("{\"input\": [2], \"layers\": [{\"type\": \"linear\", \"name\": \"fc\", \"out\": 2}]}", 40, 1);
  ebm_train_config c = ebm_train_defaults();
  REQUIRE_OK(ebm_train_config_set(&c, "method", "jem"));
  c.batch = 40;
  c.iters = 1;
  c.range_lo = -4;
  c.range_hi = 4;
  c.buffer_size = 80;
  c.pos_noise = 0;
  c.jem.sgld_steps = 1;
  c.jem.labelled = 4;
  ebm_trainer *t = NULL;
  REQUIRE_OK(ebm_trainer_new(net, ds, &c, &t));
  REQUIRE_OK(ebm_trainer_step(t, NULL));
  int kept[2] = {0, 0};
  for (int i = 0; i < 40; i++)
    if (t->y_data[i] >= 0) {
      CHECK_EQ_INT(t->y_data[i], (int)lround(t->x_pos[2 * i] * 10.0f) % 2);
      kept[t->y_data[i]]++;
    }
  CHECK_EQ_INT(kept[0], 4);
  CHECK_EQ_INT(kept[1], 4);
  ebm_trainer_free(t);
  c.jem.labels_fraction = 0.5f;
  CHECK_FAILS_WITH(ebm_trainer_new(net, ds, &c, &t), EBM_ERR_ARG, "labelled (per class) or labels-fraction, not both");
  ebm_net_free(net);
  ebm_dataset_free(ds);
}
