/* Planning by Langevin dynamics on E_plan, the straight-line baseline, and
 * judging plans (ebm/plan.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm/plan.h"
#include "ebm/sample.h"

/* Tuned on the README's transition model at 10 steps (a sweep of λ, clip
 * and w): the transition terms couple neighbouring states stiffly, and a
 * step above λ ≈ 1e-3 makes the plan zigzag (the alternating mode grows),
 * so 10 steps cannot move a plan around an obstacle; 16 candidate chains
 * started bent by up to ±0.9 give the energy detours to choose from (a
 * sweep of K 8/16 and detour 0.6/0.9, README). */
ebm_plan_config ebm_plan_defaults(void) {
  ebm_plan_config c = {.steps = 10, .step_size = 0.001f, .noise = 0.005f, .grad_clip = 3.0f,
                       .goal_weight = 30.0f, .init_noise = 0.0f, .candidates = 16, .detour = 0.9f};
  return c;
}

void ebm_plan_straight(const float *start, const float *goal, int horizon, float *plan) {
  for (int t = 1; t <= horizon; t++) {
    const float f = (float)t / (float)horizon;
    plan[2 * (t - 1)] = start[0] + f * (goal[0] - start[0]);
    plan[2 * (t - 1) + 1] = start[1] + f * (goal[1] - start[1]);
  }
}

/* Chain j's start for one task: the straight line bent sideways (normal to
 * start→goal) by o_j·sin(π·t/T), plus init_noise, clamped to the world. */
static void candidate_start(const ebm_particle_world *w, const ebm_plan_config *cfg, const float *start,
                            const float *goal, int horizon, int j, ebm_rng *rng, float *plan) {
  ebm_plan_straight(start, goal, horizon, plan);
  const int half = cfg->candidates / 2 > 0 ? cfg->candidates / 2 : 1;
  const float side = j % 2 ? 1.0f : -1.0f, offset = side * cfg->detour * (float)((j + 1) / 2) / (float)half;
  const float dx = goal[0] - start[0], dy = goal[1] - start[1], len = hypotf(dx, dy);
  const float nx = len > 0 ? -dy / len : 0.0f, ny = len > 0 ? dx / len : 0.0f;
  for (int t = 1; t <= horizon; t++) {
    const float bend = offset * sinf(3.14159265f * (float)t / (float)horizon);
    plan[2 * (t - 1)] += bend * nx;
    plan[2 * (t - 1) + 1] += bend * ny;
  }
  for (int k = 0; k < 2 * horizon; k++) {
    if (cfg->init_noise > 0) plan[k] += cfg->init_noise * (float)ebm_rng_gauss(rng);
    plan[k] = fminf(fmaxf(plan[k], w->lo), w->hi);
  }
}

ebm_status ebm_plan_candidates(ebm_net *transition, const ebm_particle_world *w, const ebm_plan_config *cfg,
                               int horizon, const float *start, const float *goal, int64_t n, ebm_rng *rng,
                               float *x, float *e) {
  ebm_energy *en = NULL;
  ebm_sampler *s = NULL;
  const int64_t k = cfg->candidates > 1 ? cfg->candidates : 1, chains = n * k, item = 2 * (int64_t)horizon;
  int32_t *task = malloc((size_t)(chains > 0 ? chains : 1) * sizeof *task);
  ebm_status st = task ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld plans", (long long)chains);
  if (st || (st = ebm_plan_energy_new(transition, w, horizon, cfg->goal_weight, start, goal, n, &en)))
    goto done;
  ebm_sampler_config sc = ebm_sampler_defaults(EBM_SAMPLER_LANGEVIN);
  sc.steps = cfg->steps;
  sc.step_size = cfg->step_size;
  sc.noise = cfg->noise;
  sc.grad_clip = cfg->grad_clip;
  sc.clamp = 1; /* a plan never leaves the world's bounds */
  if ((st = ebm_sampler_new(en, &sc, chains, &s))) goto done;
  // chain c = i·k + j plans task i from candidate start j
  for (int64_t c = 0; c < chains; c++) {
    task[c] = (int32_t)(c / k);
    candidate_start(w, cfg, start + 2 * (c / k), goal + 2 * (c / k), horizon, (int)(c % k), rng, x + c * item);
  }
  ebm_cond cond = ebm_cond_labels(task);
  if ((st = ebm_sampler_run(s, x, &cond, chains, rng, NULL, NULL))) goto done;
  st = ebm_energy_eval(en, x, &cond, chains, e, NULL);
done:
  ebm_sampler_free(s);
  ebm_energy_free(en);
  free(task);
  return st;
}

/* Each task's candidate of lowest energy, into plans (n × horizon × 2). */
static void pick_lowest(const float *x, const float *e, int64_t n, int64_t k, int64_t item, float *plans) {
  for (int64_t i = 0; i < n; i++) {
    int64_t best = i * k;
    for (int64_t c = i * k + 1; c < (i + 1) * k; c++)
      if (e[c] < e[best]) best = c;
    memcpy(plans + i * item, x + best * item, (size_t)item * sizeof *x);
  }
}

/* Both ebm_plan_candidates' arrays for n tasks (NULL and an error when out of memory). */
static ebm_status candidate_arrays(const ebm_plan_config *cfg, int horizon, int64_t n, float **x, float **e) {
  const int64_t chains = n * (cfg->candidates > 1 ? cfg->candidates : 1);
  *x = malloc((size_t)(chains > 0 ? chains : 1) * 2 * (size_t)horizon * sizeof **x);
  *e = malloc((size_t)(chains > 0 ? chains : 1) * sizeof **e);
  if (*x && *e) return EBM_OK;
  free(*x), free(*e);
  *x = *e = NULL;
  return ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld plans", (long long)chains);
}

ebm_status ebm_plan_run(ebm_net *transition, const ebm_particle_world *w, const ebm_plan_config *cfg,
                        int horizon, const float *start, const float *goal, int64_t n, ebm_rng *rng,
                        float *plans) {
  float *x = NULL, *e = NULL;
  ebm_status st = candidate_arrays(cfg, horizon, n, &x, &e);
  if (st == EBM_OK) st = ebm_plan_candidates(transition, w, cfg, horizon, start, goal, n, rng, x, e);
  if (st == EBM_OK) pick_lowest(x, e, n, cfg->candidates > 1 ? cfg->candidates : 1, 2 * (int64_t)horizon, plans);
  free(x);
  free(e);
  return st;
}

ebm_plan_outcome ebm_plan_judge(const ebm_particle_world *w, const float *start, const float *goal,
                                const float *plan, int horizon, float goal_tol) {
  ebm_plan_outcome o = {0};
  for (int t = 0; t < horizon; t++) {
    const float *a = t == 0 ? start : plan + 2 * (t - 1), *b = plan + 2 * t;
    const double step = hypot((double)b[0] - a[0], (double)b[1] - a[1]);
    o.length += step;
    o.longest_step = fmax(o.longest_step, step);
    o.collisions += !ebm_particle_segment_free(w, a, b);
  }
  const float *end = plan + 2 * (horizon - 1);
  o.goal_dist = hypot((double)end[0] - goal[0], (double)end[1] - goal[1]);
  o.success = o.goal_dist <= goal_tol && o.collisions == 0 && o.longest_step <= 1.25 * w->max_speed;
  return o;
}

void ebm_plan_score(const ebm_particle_world *w, const float *start, const float *goal,
                    const float *plans, int64_t n, int horizon, float goal_tol, ebm_plan_scores *out) {
  double length = 0;
  out->n = n;
  out->successes = out->collided = out->missed = out->too_fast = 0;
  out->covered = -1;
  for (int64_t i = 0; i < n; i++) {
    ebm_plan_outcome o = ebm_plan_judge(w, start + 2 * i, goal + 2 * i, plans + i * 2 * horizon, horizon, goal_tol);
    out->collided += o.collisions > 0;
    out->missed += o.goal_dist > goal_tol;
    out->too_fast += o.longest_step > 1.25 * w->max_speed;
    if (!o.success) continue;
    out->successes++;
    length += o.length;
  }
  out->success_rate = n > 0 ? (double)out->successes / (double)n : 0;
  out->mean_length = out->successes ? length / (double)out->successes : NAN;
}

ebm_status ebm_plan_evaluate(ebm_net *transition, const ebm_particle_world *w, const ebm_plan_config *cfg,
                             int horizon, int64_t n, uint64_t seed, float goal_tol, ebm_plan_scores *ebm,
                             ebm_plan_scores *line, float *start, float *goal, float *plans, float *straight) {
  const size_t plan_floats = (size_t)n * 2 * (size_t)horizon;
  float *s = start ? start : malloc((size_t)n * 2 * sizeof *s), *g = goal ? goal : malloc((size_t)n * 2 * sizeof *g);
  float *p = plans ? plans : malloc(plan_floats * sizeof *p), *l = straight ? straight : malloc(plan_floats * sizeof *l);
  float *cx = NULL, *ce = NULL;
  ebm_status st = EBM_OK;
  if (n < 1 || horizon < 1) {
    st = ebm_set_error(EBM_ERR_ARG, "planning needs at least one task and one step");
    goto done;
  }
  if (!s || !g || !p || !l) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld plans", (long long)n);
    goto done;
  }
  ebm_particle_tasks(w, seed, n, s, g);
  for (int64_t i = 0; i < n; i++) ebm_plan_straight(s + 2 * i, g + 2 * i, horizon, l + (size_t)i * 2 * horizon);
  ebm_rng rng; /* the Langevin noise: a stream apart from the tasks' */
  ebm_rng_init(&rng, seed ^ UINT64_C(0x9E3779B97F4A7C15));
  if ((st = candidate_arrays(cfg, horizon, n, &cx, &ce))) goto done;
  if ((st = ebm_plan_candidates(transition, w, cfg, horizon, s, g, n, &rng, cx, ce))) goto done;
  const int64_t k = cfg->candidates > 1 ? cfg->candidates : 1, item = 2 * (int64_t)horizon;
  pick_lowest(cx, ce, n, k, item, p);
  ebm_plan_score(w, s, g, p, n, horizon, goal_tol, ebm);
  ebm_plan_score(w, s, g, l, n, horizon, goal_tol, line);
  ebm->covered = 0;
  for (int64_t i = 0; i < n; i++) {
    int any = 0;
    for (int64_t c = i * k; c < (i + 1) * k && !any; c++)
      any = ebm_plan_judge(w, s + 2 * i, g + 2 * i, cx + c * item, horizon, goal_tol).success;
    ebm->covered += any;
  }
done:
  if (!start) free(s);
  if (!goal) free(g);
  if (!plans) free(p);
  if (!straight) free(l);
  free(cx);
  free(ce);
  return st;
}
