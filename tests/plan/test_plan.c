/* Planning (ebm/plan.h): E_plan is the sum of transition energies plus the
 * goal cost, its gradient matches finite differences, plans stay inside
 * the world's bounds, and plans are judged as specified. */
#include "test.h"

/* A random MLP on transitions (x, y, x', y'), built for `batch` rows. */
static ebm_net *transition_net(int64_t batch, uint64_t seed) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new("{\"input\":[4],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":8},"
                         "{\"type\":\"swish\"},{\"type\":\"linear\",\"name\":\"b\",\"out\":1}]}", batch, &net));
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  REQUIRE_OK(ebm_net_init(net, &rng));
  return net;
}

enum { T = 4, NT = 3 };
static const float starts[2 * NT] = {-0.8f, -0.8f, 0.7f, 0.2f, -0.6f, 0.9f};
static const float goals[2 * NT] = {0.8f, 0.8f, -0.7f, -0.2f, 0.6f, -0.9f};

TEST(plan_energy_is_the_sum_of_transition_energies_plus_the_goal_cost) {
  ebm_net *net = transition_net(2 * T, 1);
  const ebm_particle_world w = ebm_particle_world_default();
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_plan_energy_new(net, &w, T, 3.0f, starts, goals, NT, &en));
  CHECK_EQ_INT(en->item_shape[0], 2 * T);
  CHECK(en->range_lo == -1.0f && en->range_hi == 1.0f);
  float x[2][2 * T], e[2];
  ebm_rng rng;
  ebm_rng_init(&rng, 2);
  ebm_rng_uniform(&rng, &x[0][0], 4 * T, -1, 1);
  const int32_t task[2] = {2, 0}; /* chain 0 plans task 2, chain 1 task 0 */
  const ebm_cond cond = ebm_cond_labels(task);
  REQUIRE_OK(ebm_energy_eval(en, &x[0][0], &cond, 2, e, NULL));
  for (int i = 0; i < 2; i++) {
    const float *s0 = starts + 2 * task[i], *g = goals + 2 * task[i];
    float tr[T * 4], et[T];
    for (int t = 0; t < T; t++) {
      tr[4 * t] = t ? x[i][2 * t - 2] : s0[0], tr[4 * t + 1] = t ? x[i][2 * t - 1] : s0[1];
      tr[4 * t + 2] = x[i][2 * t], tr[4 * t + 3] = x[i][2 * t + 1];
    }
    REQUIRE_OK(ebm_net_energy(net, tr, NULL, T, et));
    double want = 3.0 * (pow(x[i][2 * T - 2] - g[0], 2) + pow(x[i][2 * T - 1] - g[1], 2));
    for (int t = 0; t < T; t++) want += et[t];
    CHECK_NEAR(e[i], want, 1e-5 * (1 + fabs(want)));
  }
  ebm_energy_free(en);
  ebm_net_free(net);
}

TEST(plan_energy_grad_matches_fd) {
  /* Plans of 4 states in passes of one plan (batch = horizon): chunking
   * and the shared states of consecutive transitions both checked. */
  ebm_net *net = transition_net(T, 3);
  const ebm_particle_world w = ebm_particle_world_default();
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_plan_energy_new(net, &w, T, 2.0f, starts, goals, NT, &en));
  float x[NT * 2 * T], g[NT * 2 * T], e[NT], xp[NT * 2 * T], ep[NT], em[NT];
  ebm_rng rng;
  ebm_rng_init(&rng, 4);
  ebm_rng_uniform(&rng, x, NT * 2 * T, -0.9f, 0.9f);
  const int32_t task[NT] = {0, 1, 2};
  const ebm_cond cond = ebm_cond_labels(task);
  REQUIRE_OK(ebm_energy_eval(en, x, &cond, NT, e, g));
  const float h = 1e-2f;
  for (int k = 0; k < NT * 2 * T; k++) {
    memcpy(xp, x, sizeof x);
    xp[k] = x[k] + h;
    REQUIRE_OK(ebm_energy_eval(en, xp, &cond, NT, ep, NULL));
    xp[k] = x[k] - h;
    REQUIRE_OK(ebm_energy_eval(en, xp, &cond, NT, em, NULL));
    const int i = k / (2 * T);
    const double fd = ((double)ep[i] - em[i]) / (2.0 * h);
    CHECK_NEAR(g[k], fd, 2e-3 * (1 + fabs(fd)));
  }
  ebm_energy_free(en);
  ebm_net_free(net);
}

TEST(a_plan_never_leaves_the_state_bounds) {
  /* Huge steps and noise on a random energy: the clamp keeps every state
   * of every plan inside [-1, 1]², and some are pushed against the walls. */
  ebm_net *net = transition_net(8 * 30, 5);
  const ebm_particle_world w = ebm_particle_world_default();
  enum { N = 8, H = 30 };
  float s[2 * N], g[2 * N], plans[N * H * 2];
  ebm_particle_tasks(&w, 6, N, s, g);
  ebm_plan_config cfg = ebm_plan_defaults();
  cfg.step_size = 50.0f;
  cfg.noise = 0.7f;
  cfg.grad_clip = 0.0f;
  cfg.init_noise = 0.5f;
  ebm_rng rng;
  ebm_rng_init(&rng, 7);
  REQUIRE_OK(ebm_plan_run(net, &w, &cfg, H, s, g, N, &rng, plans));
  int at_wall = 0;
  for (int k = 0; k < N * H * 2; k++) {
    CHECK(plans[k] >= w.lo && plans[k] <= w.hi);
    at_wall += plans[k] == w.lo || plans[k] == w.hi;
  }
  CHECK(at_wall > 0);
  ebm_net_free(net);
}

/* With K candidates and no Langevin step the plan is, for every task, the
 * start among the straight line and the lines bent ±detour·sin(πt/T)
 * (normal to start→goal) whose E_plan is lowest; and bent starts are used
 * (a random energy prefers different ones for different tasks). */
TEST(plan_candidates_keep_the_lowest_energy_start) {
  ebm_net *net = transition_net(3 * NT * T, 8);
  const ebm_particle_world w = ebm_particle_world_default();
  ebm_plan_config cfg = ebm_plan_defaults();
  cfg.steps = 0, cfg.candidates = 3, cfg.detour = 0.3f, cfg.goal_weight = 0.5f;
  float plans[NT * 2 * T], cand[3][2 * T], e[3];
  ebm_rng rng;
  ebm_rng_init(&rng, 9);
  REQUIRE_OK(ebm_plan_run(net, &w, &cfg, T, starts, goals, NT, &rng, plans));
  ebm_energy *en = NULL;
  REQUIRE_OK(ebm_plan_energy_new(net, &w, T, cfg.goal_weight, starts, goals, NT, &en));
  int bent = 0;
  for (int i = 0; i < NT; i++) {
    const float *s0 = starts + 2 * i, *g = goals + 2 * i;
    const float dx = g[0] - s0[0], dy = g[1] - s0[1], len = hypotf(dx, dy);
    for (int j = 0; j < 3; j++) {
      const float off = j == 0 ? 0.0f : j == 1 ? 0.3f : -0.3f;
      ebm_plan_straight(s0, g, T, cand[j]);
      for (int t = 1; t <= T; t++) {
        const float b = off * sinf(3.14159265f * (float)t / (float)T);
        cand[j][2 * t - 2] = fminf(fmaxf(cand[j][2 * t - 2] - b * dy / len, -1.0f), 1.0f);
        cand[j][2 * t - 1] = fminf(fmaxf(cand[j][2 * t - 1] + b * dx / len, -1.0f), 1.0f);
      }
    }
    const int32_t task[3] = {i, i, i};
    const ebm_cond cond = ebm_cond_labels(task);
    REQUIRE_OK(ebm_energy_eval(en, &cand[0][0], &cond, 3, e, NULL));
    int best = 0;
    for (int j = 1; j < 3; j++)
      if (e[j] < e[best]) best = j;
    for (int k = 0; k < 2 * T; k++) CHECK_NEAR(plans[i * 2 * T + k], cand[best][k], 1e-6);
    bent += best != 0;
  }
  CHECK(bent > 0);
  ebm_energy_free(en);
  ebm_net_free(net);
}

TEST(plan_judge_scores_straight_lines_by_the_rules) {
  const ebm_particle_world w = ebm_particle_world_default();
  enum { H = 20 };
  float line[2 * H];
  /* Along the bottom edge: free, 1.8 long in steps of 0.09 — too fast. */
  const float s0[2] = {-0.9f, -0.9f}, g0[2] = {0.9f, -0.9f};
  ebm_plan_straight(s0, g0, H, line);
  CHECK(line[2 * H - 2] == g0[0] && line[2 * H - 1] == g0[1]);
  ebm_plan_outcome o = ebm_plan_judge(&w, s0, g0, line, H, 0.1f);
  CHECK_NEAR(o.length, 1.8, 1e-5);
  CHECK_EQ_INT(o.collisions, 0);
  CHECK_NEAR(o.longest_step, 0.09, 1e-6);
  CHECK_EQ_INT(o.success, 1); /* 0.09 ≤ 1.25 × 0.08 */
  /* Through the centre disc: collisions. */
  const float s1[2] = {-0.9f, 0.0f}, g1[2] = {0.9f, 0.0f};
  ebm_plan_straight(s1, g1, H, line);
  o = ebm_plan_judge(&w, s1, g1, line, H, 0.1f);
  CHECK(o.collisions > 0 && !o.success);
  /* Stopping short of the goal. */
  ebm_plan_straight(s0, (const float[]){0.6f, -0.9f}, H, line);
  o = ebm_plan_judge(&w, s0, g0, line, H, 0.1f);
  CHECK_NEAR(o.goal_dist, 0.3, 1e-6);
  CHECK(!o.success);
  ebm_plan_scores sc;
  float both[2 * 2 * H], ss[4] = {-0.9f, -0.9f, -0.9f, 0.0f}, gg[4] = {0.9f, -0.9f, 0.9f, 0.0f};
  ebm_plan_straight(ss, gg, H, both);
  ebm_plan_straight(ss + 2, gg + 2, H, both + 2 * H);
  ebm_plan_score(&w, ss, gg, both, 2, H, 0.1f, &sc);
  CHECK_EQ_INT(sc.successes, 1);
  CHECK_NEAR(sc.success_rate, 0.5, 0);
  CHECK_NEAR(sc.mean_length, 1.8, 1e-5);
}

TEST(plan_energy_refuses_bad_networks_and_horizons) {
  const ebm_particle_world w = ebm_particle_world_default();
  ebm_energy *en = NULL;
  ebm_net *net = transition_net(4, 8), *two = NULL;
  CHECK_FAILS_WITH(ebm_plan_energy_new(net, &w, 0, 1, starts, goals, 1, &en), EBM_ERR_ARG,
                   "horizon must be at least 1 step, got 0");
  CHECK_FAILS_WITH(ebm_plan_energy_new(net, &w, 5, 1, starts, goals, 1, &en), EBM_ERR_ARG,
                   "takes batches of 4, a plan needs 5");
  REQUIRE_OK(ebm_net_new("{\"input\":[2],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":1}]}", 4, &two));
  CHECK_FAILS_WITH(ebm_plan_energy_new(two, &w, 2, 1, starts, goals, 1, &en), EBM_ERR_ARG,
                   "4 values in, 1 out");
  CHECK(en == NULL);
  REQUIRE_OK(ebm_plan_energy_new(net, &w, 2, 1, starts, goals, 2, &en));
  float x[4] = {0}, e;
  const int32_t bad = 2;
  const ebm_cond cond = ebm_cond_labels(&bad);
  CHECK_FAILS_WITH(ebm_energy_eval(en, x, NULL, 1, &e, NULL), EBM_ERR_ARG, "needs its task (0..1) as its label");
  CHECK_FAILS_WITH(ebm_energy_eval(en, x, &cond, 1, &e, NULL), EBM_ERR_ARG, "chain 0 asks for task 2 of 2");
  ebm_energy_free(en);
  ebm_net_free(two);
  ebm_net_free(net);
}

/* ebm_plan_run is ebm_plan_candidates and the lowest energy per task, with
 * the same random draws: the chosen plans are the candidates' bytes. */
TEST(plan_run_picks_from_the_candidates_with_the_same_draws) {
  ebm_net *net = transition_net(4 * NT * T, 11);
  const ebm_particle_world w = ebm_particle_world_default();
  ebm_plan_config cfg = ebm_plan_defaults();
  cfg.candidates = 4, cfg.init_noise = 0.05f; /* draws before the chains too */
  float plans[NT * 2 * T], chains[NT * 4 * 2 * T], e[NT * 4];
  ebm_rng a, b;
  ebm_rng_init(&a, 12);
  ebm_rng_init(&b, 12);
  REQUIRE_OK(ebm_plan_run(net, &w, &cfg, T, starts, goals, NT, &a, plans));
  REQUIRE_OK(ebm_plan_candidates(net, &w, &cfg, T, starts, goals, NT, &b, chains, e));
  for (int i = 0; i < NT; i++) {
    int best = 4 * i;
    for (int c = 4 * i + 1; c < 4 * i + 4; c++)
      if (e[c] < e[best]) best = c;
    CHECK(memcmp(plans + i * 2 * T, chains + best * 2 * T, 2 * T * sizeof(float)) == 0);
  }
  ebm_net_free(net);
}

/* --eval's "candidates" line: the tasks where some candidate succeeded,
 * at least the tasks the chosen plan succeeded in; with one candidate,
 * exactly those. */
TEST(plan_evaluate_counts_the_tasks_some_candidate_solves) {
  enum { H = 30, N = 20 };
  ebm_net *net = transition_net(H * N, 13);
  const ebm_particle_world w = ebm_particle_world_default();
  ebm_plan_config cfg = ebm_plan_defaults();
  ebm_plan_scores se, sl;
  REQUIRE_OK(ebm_plan_evaluate(net, &w, &cfg, H, N, 5, 0.1f, &se, &sl, NULL, NULL, NULL, NULL));
  CHECK(se.covered >= se.successes && se.covered <= N);
  CHECK(se.covered > se.successes); /* a random energy chooses badly among 16 */
  CHECK_EQ_INT(sl.covered, -1);
  cfg.candidates = 1;
  REQUIRE_OK(ebm_plan_evaluate(net, &w, &cfg, H, N, 5, 0.1f, &se, &sl, NULL, NULL, NULL, NULL));
  CHECK_EQ_INT(se.covered, se.successes);
  ebm_net_free(net);
}

/* The obstacle contrast of E = a·x + b·y + c (a linear network): the means
 * over the grid points the header names, computed here by brute force. */
TEST(plan_obstacle_contrast_averages_inside_and_around_the_obstacles) {
  ebm_net *net = NULL;
  REQUIRE_OK(ebm_net_new("{\"input\":[4],\"layers\":[{\"type\":\"linear\",\"name\":\"a\",\"out\":1}]}", 1000, &net));
  const float wts[4] = {0.7f, -1.3f, 0.25f, 0.0f}, bias = 0.5f;
  memcpy(ebm_net_param(net, 0)->value->data, wts, sizeof wts);
  ebm_net_param(net, 1)->value->data[0] = bias;
  const ebm_particle_world w = ebm_particle_world_default();
  double inside, around, want[2] = {0, 0};
  int64_t count[2] = {0, 0};
  for (int i = 0; i < 101; i++)
    for (int j = 0; j < 101; j++) {
      const double x = -1 + 2.0 * j / 100, y = -1 + 2.0 * i / 100;
      double d = 1e9;
      for (int k = 0; k < w.nobstacles; k++)
        d = fmin(d, hypot(x - w.obstacles[k].x, y - w.obstacles[k].y) - w.obstacles[k].r);
      const int where = d < 0 ? 1 : d >= 0.1 && d <= 0.3 && x + 0.03 <= 1 ? 0 : -1;
      if (where < 0) continue;
      want[where] += wts[0] * x + wts[1] * y + wts[2] * (x + 0.03) + wts[3] * y + bias;
      count[where]++;
    }
  REQUIRE_OK(ebm_plan_obstacle_contrast(net, &w, 0.03f, &inside, &around));
  CHECK(count[0] > 500 && count[1] > 500);
  CHECK_NEAR(inside, want[1] / count[1], 1e-4);
  CHECK_NEAR(around, want[0] / count[0], 1e-4);
  ebm_net_free(net);
}
