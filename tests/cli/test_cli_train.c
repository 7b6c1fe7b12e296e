/* `ebm train`, `ebm eval nll`, `ebm show density`: the run directory, resume
 * through config.json, divergence and interruption, flag checks. */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "test_util.h"

/* A tiny, fast toy run: every flag that shapes it is explicit (a constant
 * learning rate: the toy recipe's cosine decay depends on --iters, which the
 * resume tests change). */
#define TOY_RUN "train --data toy:8gaussians:train:300 --arch mlp --width 16 --batch 16 --steps 3 " \
                "--sampler ula --step-size 0.1 --lr 1e-2 --lr-decay none --seed 3"

static int count_lines(const char *text) {
  int n = 0;
  for (; text && *text; text++) n += *text == '\n';
  return n;
}

static const char *ckpt_step(const char *run) {
  static char step[32];
  char path[600];
  ebm_safetensors *st = NULL;
  snprintf(path, sizeof path, "%s/ckpt/last.safetensors", run);
  REQUIRE_OK(ebm_safetensors_load(path, &st));
  const char *s = ebm_safetensors_meta(st, "step");
  snprintf(step, sizeof step, "%s", s ? s : "");
  ebm_safetensors_free(st);
  return step;
}

TEST(cli_train_writes_config_metrics_samples_and_checkpoints) {
  char run[512], path[600];
  snprintf(run, sizeof run, "%s", test_path("run"));
  cli_result r = run_cli(TOY_RUN " --iters 6 --save-every 2 --sample-every 3 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "trained pcd on toy:8gaussians:train:300: step 6 of 6");
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/config.json", run);
  char *cfg = test_read_text(path);
  CHECK_CONTAINS(cfg, "\"seed\":\t3");
  CHECK_CONTAINS(cfg, "\"version\":");
  CHECK_CONTAINS(cfg, "\"buffer\":\t2000"); /* the toy-2d recipe */
  CHECK_CONTAINS(cfg, "\"range\":\t\"-4,4\"");
  CHECK_CONTAINS(cfg, "\"arch_json\":");
  free(cfg);
  snprintf(path, sizeof path, "%s/metrics.jsonl", run);
  char *m = test_read_text(path);
  CHECK_EQ_INT(count_lines(m), 6);
  CHECK_CONTAINS(m, "{\"step\":6,\"loss\":");
  const char *keys[] = {"e_pos", "e_neg", "grad_norm", "\"lr\"", "mcmc_energy", "mcmc_grad_norm", "mcmc_accept", "seconds"};
  for (int i = 0; i < 8; i++) CHECK_CONTAINS(m, keys[i]);
  free(m);
  for (int step = 3; step <= 6; step += 3) {
    snprintf(path, sizeof path, "%s/samples/step_%06d.png", run, step);
    int w, h, c;
    uint8_t *px = NULL;
    CHECK_OK(ebm_png_read(path, &w, &h, &c, &px));
    free(px);
  }
  CHECK(strcmp(ckpt_step(run), "6") == 0);
  snprintf(path, sizeof path, "%s/ckpt/last.safetensors", run);
  ebm_net *net = NULL;
  CHECK_OK(ebm_net_load(path, 4, &net));
  ebm_net_free(net);
  /* training again into the same directory is refused */
  r = run_cli(TOY_RUN " --iters 6 --out %s", run);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "holds a checkpoint already");
  cli_result_free(&r);
}

/* Only --out, --resume and the new --iters are given on resume: every
 * other setting comes back from config.json, and the weights match a
 * straight run byte for byte, at 1 and 2 threads. */
TEST(cli_train_resume_reads_config_json_and_is_bit_exact) {
  for (int threads = 1; threads <= 2; threads++) {
    char a[512], b[512], fa[600], fb[600];
    snprintf(a, sizeof a, "%s/straight%d", test_tmpdir(), threads);
    snprintf(b, sizeof b, "%s/resumed%d", test_tmpdir(), threads);
    /* at 2 threads with improved CD: its flags come back from config.json too */
    const char *icd = threads == 2 ? " --kl-weight 0.5 --entropy-weight 0.2 --augment noise --buffer-policy reservoir" : "";
    cli_result r = run_cli(TOY_RUN "%s --threads %d --iters 8 --save-every 3 --out %s", icd, threads, a);
    CHECK_EQ_INT(r.code, 0);
    cli_result_free(&r);
    r = run_cli(TOY_RUN "%s --threads %d --iters 4 --save-every 3 --out %s", icd, threads, b);
    CHECK_EQ_INT(r.code, 0);
    cli_result_free(&r);
    r = run_cli("train --threads %d --out %s --resume --iters 8", threads, b);
    CHECK_EQ_INT(r.code, 0);
    CHECK_CONTAINS(r.out, "step 8 of 8");
    cli_result_free(&r);
    snprintf(fa, sizeof fa, "%s/ckpt/last.safetensors", a);
    snprintf(fb, sizeof fb, "%s/ckpt/last.safetensors", b);
    CHECK(test_same_file(fa, fb));
  }
  /* changing the shape of a run on resume is a usage error */
  char b[512];
  snprintf(b, sizeof b, "%s/resumed1", test_tmpdir());
  cli_result r = run_cli("train --out %s --resume --iters 9 --batch 32", b);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--batch 32 differs from the run's 16");
  cli_result_free(&r);
}

/* No recipe flags: the data pick the recipe, one line says which, and
 * config.json records it; an explicit preset or flag still wins. */
TEST(cli_train_picks_the_recipe_that_fits_the_data) {
  char run[512], path[600];
  snprintf(run, sizeof run, "%s", test_path("toy"));
  cli_result r = run_cli("train --data toy:8gaussians:train:300 --arch mlp --width 16 --batch 16 --iters 2 "
                         "--step-size 0.07 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "ebm train: recipe toy-2d for toy:8gaussians:train:300");
  CHECK_CONTAINS(r.err, "ula ε 0.07 x 30"); /* the line shows the settings as they run: the flag's step size */
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/config.json", run);
  char *cfg = test_read_text(path);
  const char *want[] = {"\"recipe\":\t\"toy-2d\"", "\"sampler\":\t\"ula\"", "\"step-size\":\t0.07",
                        "\"steps\":\t30", "\"alpha\":\t0.01", "\"lr\":\t0.003", "\"lr-decay\":\t\"cosine\"",
                        "\"buffer\":\t2000", "\"range\":\t\"-4,4\""};
  for (int i = 0; i < 9; i++) CHECK_CONTAINS(cfg, want[i]);
  free(cfg);
  /* --preset igebm: the image recipe on purpose */
  snprintf(run, sizeof run, "%s", test_path("igebm"));
  r = run_cli("train --data toy:8gaussians:train:300 --arch mlp --width 16 --batch 16 --steps 2 --iters 1 "
              "--preset igebm --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/config.json", run);
  cfg = test_read_text(path);
  CHECK_CONTAINS(cfg, "\"recipe\":\t\"igebm\"");
  CHECK_CONTAINS(cfg, "\"sampler\":\t\"langevin\"");
  CHECK_CONTAINS(cfg, "\"step-size\":\t10");
  free(cfg);
  /* vectors (3-D points in [10, 20]): the range comes from the data */
  float pts[60 * 3];
  for (int i = 0; i < 180; i++) pts[i] = 10.0f + (float)(i % 11);
  int64_t shape[2] = {60, 3};
  char npy[600];
  snprintf(npy, sizeof npy, "%s", test_path("pts.npy"));
  REQUIRE_OK(ebm_npy_save(npy, EBM_DTYPE_F32, 2, shape, pts));
  snprintf(run, sizeof run, "%s", test_path("vec"));
  r = run_cli("train --data npy:%s --arch mlp --width 8 --batch 8 --steps 2 --iters 1 --out %s", npy, run);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "recipe vectors");
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/config.json", run);
  cfg = test_read_text(path);
  CHECK_CONTAINS(cfg, "\"range\":\t\"9,21\"");
  CHECK_CONTAINS(cfg, "\"step-size\":\t0.075"); /* 0.05 × width 12 / 8 */
  free(cfg);
}

TEST(cli_train_divergence_exits_1_naming_the_step_and_keeps_the_checkpoint) {
  char run[512];
  snprintf(run, sizeof run, "%s", test_path("run"));
  setenv("EBM_TEST_INJECT_NAN_AT", "3", 1);
  cli_result r = run_cli(TOY_RUN " --iters 10 --save-every 2 --out %s", run);
  unsetenv("EBM_TEST_INJECT_NAN_AT");
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "ebm: ");
  CHECK_CONTAINS(r.err, "run: diverged at step 3: e_neg is NaN");
  cli_result_free(&r);
  CHECK(strcmp(ckpt_step(run), "2") == 0);
}

/* SIGINT mid-run: the step finishes, both checkpoint files are written at
 * that step, exit status 130, and --resume continues from there. */
TEST(cli_train_sigint_saves_and_exits_130) {
  char run[512], metrics[600], err[600];
  snprintf(run, sizeof run, "%s", test_path("run"));
  snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", run);
  snprintf(err, sizeof err, "%s", test_path("stderr.txt"));
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 2) < 0) _exit(99);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1);
    execl(EBM_CLI_PATH, "ebm", "train", "--data", "toy:8gaussians:train:300", "--arch", "mlp", "--width", "16",
          "--batch", "16", "--steps", "3", "--iters", "100000000", "--save-every", "0", "--out", run, (char *)NULL);
    _exit(98);
  }
  /* wait until training is under way (a few metric lines), then interrupt */
  for (int tries = 0; tries < 3000; tries++) {
    char *m = test_read_text(metrics);
    int lines = count_lines(m);
    free(m);
    if (lines >= 3) break;
    struct timespec ms = {0, 10000000L};
    nanosleep(&ms, NULL);
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK_EQ_INT(WEXITSTATUS(status), 130);
  char *e = test_read_text(err);
  CHECK_CONTAINS(e, "interrupted at step");
  CHECK_CONTAINS(e, "continue with --resume");
  free(e);
  char *m = test_read_text(metrics);
  long steps = (long)count_lines(m);
  free(m);
  CHECK(strtol(ckpt_step(run), NULL, 10) == steps);
  cli_result r = run_cli("train --out %s --resume --iters %ld", run, steps + 2);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  CHECK(strtol(ckpt_step(run), NULL, 10) == steps + 2);
}

TEST(cli_train_rejects_bad_flags_naming_them) {
  const char *out = test_path("run");
  struct {
    const char *args, *needle;
  } cases[] = {
      {"--arch mlp --out %s", "--data SPEC is required"},
      {"--data toy:moons --arch mlp", "--out RUN_DIR is required"},
      {"--data toy:moons --out %s", "--arch is required"},
      {"--data toy:moons --arch mlp --batch 0 --out %s", "--batch must be in 1..65536"},
      {"--data toy:moons --arch mlp --method bogus --out %s", "--method must be pcd | short-run | cd"},
      {"--data toy:moons --arch mlp --range 1,0 --out %s", "range"},
      {"--data toy:moons --arch mlp --range x --out %s", "--range expects LO,HI"},
      {"--data toy:moons --arch mlp --lr-decay exp --out %s", "--lr-decay must be"},
      {"--data toy:moons --arch mlp --preset cifar --out %s", "unknown training preset 'cifar'"},
      {"--data toy:moons --arch mlp --steps -1 --out %s", "--steps must be >= 0"},
      {"--data toy:moons --arch mlp --reinit 2 --out %s", "reinit must be in [0, 1]"},
      {"--data toy:moons --arch mlp --lr nan --out %s", "--lr expects a finite number"},
      {"--data toy:moons --arch resnet9 --out %s", "unknown architecture preset 'resnet9'"},
      {"--data nope:x --arch mlp --out %s", "--data"},
      {"--data toy:moons --arch mlp --augment rotate --out %s", "--augment: unknown transform 'rotate'"},
      {"--data toy:moons --arch mlp --augment flip --out %s", "--augment: flip and shift need images"},
      {"--data toy:moons --arch mlp --data-augment shift --out %s", "--data-augment: flip and shift need images"},
      {"--data toy:moons --arch mlp --init-from x.safetensors --out %s", "--arch and --init-from both given"},
      {"--data toy:moons --arch mlp --buffer-policy lifo --out %s", "--buffer-policy must be random, reservoir or fifo"},
      {"--data toy:moons --arch mlp --kl-weight -1 --out %s", "kl-weight must be >= 0"},
      {"--data toy:moons --arch mlp --kl-weight 1 --sampler mala --out %s", "langevin or ula"},
      {"--data toy:moons --arch mlp --entropy-weight 1 --method cd --out %s", "needs method pcd"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char args[512];
    snprintf(args, sizeof args, cases[i].args, out);
    cli_result r = run_cli("train %s", args);
    if (r.code != 2) fprintf(stderr, "case %zu: exit %d: %s\n", i, r.code, r.err);
    CHECK_EQ_INT(r.code, 2);
    CHECK_CONTAINS(r.err, cases[i].needle);
    cli_result_free(&r);
  }
  cli_result r = run_cli("train --data toy:moons --arch uva-cnn --iters 1 --out %s", out);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "the network takes [1,28,28]");
  cli_result_free(&r);
  r = run_cli("train --data toy:moons --init-from %s --iters 1 --out %s", test_path("none.safetensors"), out);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "--init-from: ");
  CHECK_CONTAINS(r.err, "none.safetensors: cannot open");
  cli_result_free(&r);
  r = run_cli("train --out %s --resume", test_path("nothing"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "config.json");
  cli_result_free(&r);
}

TEST(cli_eval_nll_and_show_density_on_a_trained_toy) {
  char run[512], ckpt[600];
  snprintf(run, sizeof run, "%s", test_path("run"));
  snprintf(ckpt, sizeof ckpt, "%s/ckpt/last.safetensors", run);
  cli_result r = run_cli(TOY_RUN " --iters 4 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli("eval nll --ckpt %s --data toy:8gaussians:test:200 --cells 64", ckpt);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "(200 points): test NLL ");
  CHECK_CONTAINS(r.out, "true entropy 2.");
  CHECK_CONTAINS(r.out, "[64x64 grid on [-4, 4]^2]");
  double nll = strtod(strstr(r.out, "test NLL ") + 9, NULL);
  CHECK(nll > 2.0 && nll < 6.0); /* near-flat on the 64-area box: about log 64 = 4.16 */
  cli_result_free(&r);
  const char *png = test_path("d.png");
  r = run_cli("show density --ckpt %s --out %s --cells 100", ckpt, png);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.out, "true 8gaussians");
  cli_result_free(&r);
  int w, h, c;
  uint8_t *px = NULL;
  REQUIRE_OK(ebm_png_read(png, &w, &h, &c, &px));
  CHECK(w == 208 && h == 100 && c == 3);
  free(px);
  r = run_cli("show density --ckpt %s --out %s --cells 100 --toy none", ckpt, png);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  REQUIRE_OK(ebm_png_read(png, &w, &h, &c, &px));
  CHECK(w == 100);
  free(px);
  r = run_cli("show density --ckpt %s --out %s --toy spiral", ckpt, png);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--toy: unknown toy 'spiral'");
  cli_result_free(&r);
  r = run_cli("eval nll --ckpt %s --data toy:8gaussians:test --cells 1", ckpt);
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--cells must be in 2..8192");
  cli_result_free(&r);
  r = run_cli("eval nll --ckpt %s --data toy:8gaussians:test", test_path("missing.safetensors"));
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "missing.safetensors");
  cli_result_free(&r);
}

/* JSON numbers are doubles: a 64-bit seed survives config.json as text. */
TEST(cli_train_keeps_a_64_bit_seed_exactly_across_resume) {
  char run[512], path[600];
  snprintf(run, sizeof run, "%s", test_path("run"));
  cli_result r = run_cli("train --data toy:moons:train:100 --arch mlp --width 8 --batch 8 --steps 1 --iters 1 "
                         "--seed 9007199254740993 --out %s", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/config.json", run);
  char *cfg = test_read_text(path);
  CHECK_CONTAINS(cfg, "\"seed\":\t\"9007199254740993\"");
  free(cfg);
  r = run_cli("train --out %s --resume --iters 2", run);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  ebm_safetensors *st = NULL;
  snprintf(path, sizeof path, "%s/ckpt/last.safetensors", run);
  REQUIRE_OK(ebm_safetensors_load(path, &st));
  CHECK(strcmp(ebm_safetensors_meta(st, "seed"), "9007199254740993") == 0);
  CHECK(strcmp(ebm_safetensors_meta(st, "step"), "2") == 0);
  ebm_safetensors_free(st);
}

/* --budget stops cleanly before the time runs out: saved at the step it
 * reached, and a resume to the full length gives the same weights as one
 * uninterrupted run (the budget changes when the run stops, not what it
 * computes). No assertion on time: a budget far below one step's time
 * stops after the first step. */
TEST(cli_train_budget_stops_saved_and_resumes_bit_exactly) {
  char a[512], b[512], pa[600], pb[600];
  snprintf(a, sizeof a, "%s", test_path("budget"));
  snprintf(b, sizeof b, "%s", test_path("straight"));
  cli_result r = run_cli(TOY_RUN " --iters 4 --budget 0.000001s --out %s", a);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "the --budget 0.000001s ran out at step 1 of 4; saved (continue with --resume)");
  cli_result_free(&r);
  snprintf(pa, sizeof pa, "%s/events.jsonl", a);
  char *events = test_read_text(pa);
  CHECK_CONTAINS(events, "\"event\":\"budget\"");
  free(events);
  r = run_cli("train --out %s --resume", a);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  r = run_cli(TOY_RUN " --iters 4 --out %s", b);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  snprintf(pa, sizeof pa, "%s/ckpt/last.safetensors", a);
  snprintf(pb, sizeof pb, "%s/ckpt/last.safetensors", b);
  ebm_net *na = NULL, *nb = NULL;
  REQUIRE_OK(ebm_net_load(pa, 1, &na));
  REQUIRE_OK(ebm_net_load(pb, 1, &nb));
  for (int i = 0; i < ebm_net_param_count(na); i++) {
    const ebm_tensor *x = ebm_net_param(na, i)->value, *y = ebm_net_param(nb, i)->value;
    CHECK(memcmp(x->data, y->data, (size_t)ebm_tensor_numel(x) * sizeof(float)) == 0);
  }
  ebm_net_free(na);
  ebm_net_free(nb);
  r = run_cli(TOY_RUN " --budget 10y --out %s", test_path("bad"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--budget expects a positive time such as 90s, 10m or 1.5h, got '10y'");
  cli_result_free(&r);
}

/* --budget-clock cpu counts the process's CPU time: the run stops and
 * saves as with wall time (a budget far below one step stops after the
 * first), the message says which clock ran out, a fitted length times its
 * steps in CPU-seconds, and the flag is not recorded (a resume may count
 * either clock). Bad values and a clock without a budget are refused. */
TEST(cli_train_budget_of_cpu_time_stops_saved_and_fits_the_length) {
  char a[512], path[600];
  snprintf(a, sizeof a, "%s", test_path("cpu"));
  cli_result r = run_cli(TOY_RUN " --iters 4 --budget 0.000001s --budget-clock cpu --out %s", a);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "the --budget 0.000001s of CPU time ran out at step 1 of 4; saved (continue with --resume)");
  cli_result_free(&r);
  CHECK_EQ_INT(strtoll(ckpt_step(a), NULL, 10), 1);
  snprintf(path, sizeof path, "%s/config.json", a);
  char *cfg_text = test_read_text(path);
  CHECK(strstr(cfg_text, "budget") == NULL);
  free(cfg_text);
  r = run_cli("train --out %s --resume --budget 1h --budget-clock wall", a);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  CHECK_EQ_INT(strtoll(ckpt_step(a), NULL, 10), 4);

  snprintf(a, sizeof a, "%s", test_path("cpu-fitted"));
  r = run_cli(TOY_RUN " --budget 0.3s --budget-clock cpu --sample-every 0 --out %s", a);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/events.jsonl", a);
  char *events = test_read_text(path);
  CHECK_CONTAINS(events, "\"event\":\"budget-iters\",\"detail\":\"iters ");
  CHECK_CONTAINS(events, "CPU-s per step)");
  free(events);

  r = run_cli(TOY_RUN " --budget 1m --budget-clock gpu --out %s", test_path("bad"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--budget-clock expects wall or cpu, got 'gpu'");
  cli_result_free(&r);
  r = run_cli(TOY_RUN " --budget-clock cpu --out %s", test_path("bad"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--budget-clock needs a --budget to count");
  cli_result_free(&r);
}

/* Occurrences of `needle` in `text`. */
static int count_of(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
  return n;
}

/* --budget with no --iters fits the run's length to the budget after the
 * first steps: config.json records the fitted length (so --resume goes on
 * to it), events.jsonl says so, and the run ends at it — or, on a machine
 * that slowed down, the budget stops it short with the usual message. A
 * resume never refits. No assertion on how many steps fit. */
TEST(cli_train_budget_without_iters_fits_the_length) {
  char a[512], path[600];
  snprintf(a, sizeof a, "%s", test_path("fitted"));
  cli_result r = run_cli(TOY_RUN " --budget 0.3s --sample-every 0 --out %s", a);
  CHECK_EQ_INT(r.code, 0);
  snprintf(path, sizeof path, "%s/config.json", a);
  char *cfg_text = test_read_text(path);
  cJSON *cfg = cJSON_Parse(cfg_text);
  REQUIRE(cfg != NULL);
  const long long fitted = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(cfg, "iters"));
  cJSON_Delete(cfg);
  free(cfg_text);
  CHECK(fitted >= 1 + EBM_RUN_FIT_STEPS + 1);
  const long long done = strtoll(ckpt_step(a), NULL, 10);
  CHECK(done >= 1 + EBM_RUN_FIT_STEPS && done <= fitted);
  char want[160];
  if (done == fitted)
    snprintf(want, sizeof want, "--budget 0.3s fitted the run to %lld steps", fitted);
  else
    snprintf(want, sizeof want, "the --budget 0.3s ran out at step %lld of %lld", done, fitted);
  CHECK_CONTAINS(r.err, want);
  snprintf(want, sizeof want, "step %lld of %lld", done, fitted);
  CHECK_CONTAINS(r.out, want);
  cli_result_free(&r);
  snprintf(path, sizeof path, "%s/events.jsonl", a);
  char *events = test_read_text(path);
  CHECK_CONTAINS(events, "\"event\":\"budget-iters\",\"detail\":\"iters ");
  free(events);
  /* a resume with a budget keeps the recorded length (here one it extends) */
  r = run_cli("train --out %s --resume --iters %lld --budget 1h", a, fitted + 3);
  CHECK_EQ_INT(r.code, 0);
  cli_result_free(&r);
  CHECK_EQ_INT(strtoll(ckpt_step(a), NULL, 10), fitted + 3);
  events = test_read_text(path);
  CHECK_EQ_INT(count_of(events, "budget-iters"), 1);
  free(events);
}

/* The CPU-seconds of every metrics line, in order; returns how many. */
static int metrics_cpu_seconds(const char *run, double *cpu, int max) {
  char path[600];
  snprintf(path, sizeof path, "%s/metrics.jsonl", run);
  char *text = test_read_text(path);
  int n = 0;
  for (const char *p = text; n < max && (p = strstr(p, "\"cpu_seconds\":")) != NULL; p++)
    cpu[n++] = strtod(p + 14, NULL);
  free(text);
  return n;
}

/* ckpt/last.clock.json keeps the run's time over all its parts, and
 * --budget-total makes --budget the run's: a resume with the same command
 * gets only what is left, and one whose budget is spent changes nothing.
 * No assertion on time: budgets of an hour or a microsecond. */
TEST(cli_train_budget_total_counts_every_part_of_the_run) {
  char a[512], path[600];
  snprintf(a, sizeof a, "%s", test_path("total"));
  cli_result r = run_cli(TOY_RUN " --iters 6 --save-every 2 --out %s", a);
  CHECK_EQ_INT(r.code, 0);
  CHECK(strstr(r.err, "has trained") == NULL); /* said after a resume or a budget only */
  cli_result_free(&r);
  ebm_run_clock first, c;
  REQUIRE_OK(ebm_run_clock_read(a, &first));
  CHECK_EQ_INT(first.step, 6);
  CHECK_EQ_INT(first.parts, 1);
  CHECK_EQ_INT(first.since_step, 0);
  CHECK(first.cpu_seconds > 0 && first.wall_seconds > 0);

  r = run_cli("train --out %s --resume --iters 10 --budget 1h --budget-total", a);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "has trained 10 steps in ");
  CHECK_CONTAINS(r.err, "over 2 parts");
  cli_result_free(&r);
  REQUIRE_OK(ebm_run_clock_read(a, &c));
  CHECK_EQ_INT(c.step, 10);
  CHECK_EQ_INT(c.parts, 2);
  CHECK(c.cpu_seconds >= first.cpu_seconds && c.wall_seconds > first.wall_seconds);
  double cpu[64];
  const int n = metrics_cpu_seconds(a, cpu, 64);
  CHECK_EQ_INT(n, 10); /* one line a step, both parts */
  for (int i = 1; i < n; i++) CHECK(cpu[i] >= cpu[i - 1]);

  /* spent: refused before anything is touched */
  snprintf(path, sizeof path, "%s/metrics.jsonl", a);
  char *before = test_read_text(path);
  r = run_cli("train --out %s --resume --iters 20 --budget 0.000001s --budget-total", a);
  CHECK_EQ_INT(r.code, 1);
  CHECK_CONTAINS(r.err, "the run has used ");
  CHECK_CONTAINS(r.err, "over 2 parts (ckpt/last.clock.json): nothing to do (give a larger --budget)");
  cli_result_free(&r);
  char *after = test_read_text(path);
  CHECK(strcmp(before, after) == 0);
  free(before);
  free(after);
  CHECK(strcmp(ckpt_step(a), "10") == 0);
  /* the same budget of this call alone: one step */
  r = run_cli("train --out %s --resume --iters 20 --budget 0.000001s", a);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "the --budget 0.000001s ran out at step 11 of 20");
  cli_result_free(&r);

  /* a lost clock: this part counts from its step, and says so */
  snprintf(path, sizeof path, "%s/ckpt/last.clock.json", a);
  REQUIRE(remove(path) == 0);
  r = run_cli("train --out %s --resume --iters 12", a);
  CHECK_EQ_INT(r.code, 0);
  CHECK_CONTAINS(r.err, "has trained 1 step since step 11 (the time before it is not recorded)");
  cli_result_free(&r);
  REQUIRE_OK(ebm_run_clock_read(a, &c));
  CHECK_EQ_INT(c.since_step, 11);
  CHECK_EQ_INT(c.parts, 1);
  snprintf(path, sizeof path, "%s/events.jsonl", a);
  char *events = test_read_text(path);
  CHECK_CONTAINS(events, "\"event\":\"clock\",\"detail\":\"");
  CHECK_CONTAINS(events, "last.clock.json: cannot open");
  free(events);

  r = run_cli(TOY_RUN " --budget-total --out %s", test_path("bad"));
  CHECK_EQ_INT(r.code, 2);
  CHECK_CONTAINS(r.err, "--budget-total needs a --budget to count");
  cli_result_free(&r);
}
