/* `ebm plan`: plan a trajectory of the 2-D particle with a transition
 * energy, or benchmark planning against the straight line (ebm/plan.h). */
#include <math.h>
#include <stdlib.h>

#include "cli.h"

#define VERB "plan"
#define MAX_HORIZON 1000
#define MAX_TASKS 100000
#define PLANS_PER_PASS 128
#define CONTRAST_STEP 0.03f /* a transition at about half the top speed */

/* "x,y" inside the world and outside its obstacles, else a usage error. */
static int parse_xy(const char *flag, const char *text, const ebm_particle_world *w, float *xy) {
  char *end = NULL;
  double x = strtod(text, &end), y = NAN;
  if (end != text && *end == ',') {
    const char *second = end + 1;
    y = strtod(second, &end);
    if (end == second || *end) y = NAN;
  }
  if (!isfinite(x) || !isfinite(y))
    return cli_usage_error(VERB, "%s expects X,Y (two numbers), got '%s'", flag, text);
  xy[0] = (float)x, xy[1] = (float)y;
  if (!ebm_particle_point_free(w, xy[0], xy[1], 0))
    return cli_usage_error(VERB, "%s %s is outside [%g, %g]^2 or inside an obstacle", flag, text, (double)w->lo,
                           (double)w->hi);
  return 0;
}

static void print_scores(const char *who, const ebm_plan_scores *s) {
  printf("  %-13s success %3lld/%lld = %.2f  mean path length %.3f  (failed: %lld collided, %lld missed the goal, "
         "%lld too fast)\n", who, (long long)s->successes, (long long)s->n, s->success_rate, s->mean_length,
         (long long)s->collided, (long long)s->missed, (long long)s->too_fast);
}

static int run_plan(int argc, char **argv) {
  const char *ckpt = NULL, *start_text = NULL, *goal_text = NULL, *out = NULL, *png = NULL;
  int horizon = 30;
  int64_t eval = 0, seed = 1;
  double goal_tol = 0.1;
  ebm_plan_config cfg = ebm_plan_defaults();
  cli_opt opts[] = {
      {"ckpt", OPT_PATH_IN, &ckpt, "CKPT", "an energy on transitions (x, y, x', y') (required)"},
      {"start", OPT_STRING, &start_text, "X,Y", "where the particle starts"},
      {"goal", OPT_STRING, &goal_text, "X,Y", "where it should end"},
      {"eval", OPT_INT64, &eval, "N", "instead: N random start/goal pairs, EBM vs straight line"},
      {"horizon", OPT_INT, &horizon, "T", "states in a plan"},
      {"steps", OPT_INT, &cfg.steps, "K", "Langevin steps"},
      {"step-size", OPT_FLOAT, &cfg.step_size, "L", "Langevin step size λ"},
      {"noise", OPT_FLOAT, &cfg.noise, "S", "Langevin noise σ"},
      {"grad-clip", OPT_FLOAT, &cfg.grad_clip, "C", "per-element clip of the gradient (0: off)"},
      {"goal-weight", OPT_FLOAT, &cfg.goal_weight, "W", "weight of ||s_T - goal||^2"},
      {"init-noise", OPT_FLOAT, &cfg.init_noise, "S", "noise added to the straight line the chains start from"},
      {"candidates", OPT_INT, &cfg.candidates, "K", "chains per task, the lowest-energy plan kept"},
      {"detour", OPT_FLOAT, &cfg.detour, "D", "candidate chains start bent sideways by up to D mid-way"},
      {"goal-tol", OPT_DOUBLE, &goal_tol, "D", "a plan succeeds ending this close to the goal"},
      {"seed", OPT_INT64, &seed, "S", "random stream (tasks and Langevin noise)"},
      {"out", OPT_PATH_OUT, &out, "P.npy", "the plans, (T, 2) or (N, T, 2)"},
      {"png", OPT_PATH_OUT, &png, "FILE", "a picture of the plans (at most 16)"},
  };
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  const ebm_particle_world w = ebm_particle_world_default();
  float start[2], goal[2];
  if (!ckpt) return cli_usage_error(VERB, "--ckpt CKPT is required");
  if (horizon < 1 || horizon > MAX_HORIZON)
    return cli_usage_error(VERB, "--horizon must be in 1..%d, got %d", MAX_HORIZON, horizon);
  if (cfg.steps < 0 || cfg.steps > 100000) return cli_usage_error(VERB, "--steps must be in 0..100000, got %d", cfg.steps);
  if (!(goal_tol > 0)) return cli_usage_error(VERB, "--goal-tol must be > 0, got %g", goal_tol);
  if (cfg.candidates < 1 || cfg.candidates > 256)
    return cli_usage_error(VERB, "--candidates must be in 1..256, got %d", cfg.candidates);
  if (!(cfg.detour >= 0) || cfg.detour > 4) return cli_usage_error(VERB, "--detour must be in [0, 4], got %g", cfg.detour);
  if (!(cfg.goal_weight >= 0) || !(cfg.init_noise >= 0))
    return cli_usage_error(VERB, "--goal-weight and --init-noise must be >= 0");
  if (eval < 0 || eval > MAX_TASKS) return cli_usage_error(VERB, "--eval must be in 1..%d, got %lld", MAX_TASKS, (long long)eval);
  if (!eval && (!start_text || !goal_text)) return cli_usage_error(VERB, "give --start X,Y and --goal X,Y, or --eval N");
  if (eval && (start_text || goal_text)) return cli_usage_error(VERB, "--eval draws its own starts and goals: drop --start/--goal");
  if (!eval && ((rc = parse_xy("--start", start_text, &w, start)) || (rc = parse_xy("--goal", goal_text, &w, goal))))
    return rc;

  const int64_t n = eval ? eval : 1;
  ebm_net *net = NULL;
  float *s = malloc((size_t)n * 2 * sizeof *s), *g = malloc((size_t)n * 2 * sizeof *g);
  float *plans = malloc((size_t)n * 2 * (size_t)horizon * sizeof *plans);
  float *line = malloc((size_t)n * 2 * (size_t)horizon * sizeof *line);
  ebm_status st = s && g && plans && line ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld plans", (long long)n);
  if (st == EBM_OK) st = ebm_net_load(ckpt, (int64_t)horizon * (n < PLANS_PER_PASS ? n : PLANS_PER_PASS), &net);
  ebm_plan_scores se, sl;
  if (st == EBM_OK && eval) {
    st = ebm_plan_evaluate(net, &w, &cfg, horizon, n, (uint64_t)seed, (float)goal_tol, &se, &sl, s, g, plans, line);
  } else if (st == EBM_OK) {
    ebm_rng rng;
    ebm_rng_init(&rng, (uint64_t)seed);
    s[0] = start[0], s[1] = start[1], g[0] = goal[0], g[1] = goal[1];
    ebm_plan_straight(s, g, horizon, line);
    if ((st = ebm_plan_run(net, &w, &cfg, horizon, s, g, 1, &rng, plans)) == EBM_OK) {
      ebm_plan_score(&w, s, g, plans, 1, horizon, (float)goal_tol, &se);
      ebm_plan_score(&w, s, g, line, 1, horizon, (float)goal_tol, &sl);
    }
  }
  if (st != EBM_OK) st = ebm_error_prefix(st, ckpt);
  if (st == EBM_OK && out) {
    const int64_t shape[3] = {n, horizon, 2};
    st = eval ? ebm_npy_save(out, EBM_DTYPE_F32, 3, shape, plans) : ebm_npy_save(out, EBM_DTYPE_F32, 2, shape + 1, plans);
  }
  if (st == EBM_OK && png) st = ebm_plan_png(png, &w, s, g, plans, line, n, horizon);
  if (st != EBM_OK) {
    rc = cli_runtime_error(st);
  } else {
    printf("%lld plan%s, horizon %d, %d Langevin steps, goal within %g, %d candidates per task (detour %g):\n",
           (long long)n, n > 1 ? "s" : "", horizon, cfg.steps, goal_tol, cfg.candidates, (double)cfg.detour);
    print_scores("EBM", &se);
    print_scores("straight line", &sl);
    rc = CLI_EXIT_OK;
    double inside, around;
    if (eval && cfg.candidates > 1)
      printf("  candidates    a success among the %d in %lld/%lld tasks (what choosing by the energy could score)\n",
             cfg.candidates, (long long)se.covered, (long long)n);
    if (eval && ebm_plan_obstacle_contrast(net, &w, CONTRAST_STEP, &inside, &around) == EBM_OK)
      printf("  energy        transitions (s, s + (%g, 0)) inside the obstacles %.2f nats above those 0.1-0.3 from "
             "their edges\n", (double)CONTRAST_STEP, inside - around);
  }
  ebm_net_free(net);
  free(s), free(g), free(plans), free(line);
  return rc;
}

CLI_COMMAND(plan, "plan", "--ckpt CKPT (--start X,Y --goal X,Y | --eval N) [--horizon T] [--steps K]",
            "plan a particle trajectory by Langevin on a transition energy",
            "Samples a plan s_1..s_T by Langevin dynamics on sum_t E(s_t, s_t+1) + W*||s_T - goal||^2\n"
            "(s_0 = start), from --candidates starts per task (the straight line and lines bent\n"
            "sideways), the plan of lowest energy kept; every state clamped to the world [-1,1]^2.\n"
            "CKPT is an energy on transitions (x, y, x', y'), e.g. `ebm train --data npy:P.npy --arch\n"
            "mlp --iters 30000` on `ebm data make particle --out P.npy` (at 6000 steps it has learned\n"
            "the obstacles too weakly to rank the candidates). A plan succeeds when it ends within\n"
            "--goal-tol of the goal, no segment touches an obstacle and no step is longer than 1.25x\n"
            "the world's top speed (0.08). --eval N scores N random start/goal pairs (at least 0.8\n"
            "apart) against the straight line from start to goal: success rate, and the mean path\n"
            "length of the successful plans.",
            run_plan)
