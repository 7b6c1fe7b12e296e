/* ebm/plan.h — trajectories and planning with an energy on transitions
 * (issue 15 item 4; Du, Lin & Mordatch 2019, "Model Based Planning with
 * Energy Based Models"). Include <ebm.h>.
 *
 * The world is a 2-D particle in the square [lo, hi]² among circular
 * obstacles, moving with bounded acceleration and speed. A state is its
 * position (x, y); a transition (s_t, s_{t+1}) is 4 floats. An energy
 * E(s_t, s_{t+1}) is trained with `ebm train` on transitions the tool
 * generates (ebm_particle_transitions); a plan from a start to a goal is a
 * trajectory s_1..s_T drawn by Langevin dynamics on
 *     E_plan(s_1..s_T) = Σ_{t=0}^{T−1} E(s_t, s_{t+1}) + w·‖s_T − goal‖²
 * with s_0 = start fixed. E_plan is an ebm_energy, so the samplers of
 * ebm/sample.h run it, clamping every state to the world's bounds. */
#ifndef EBM_PLAN_H
#define EBM_PLAN_H

#include "ebm/core.h"
#include "ebm/energy.h"
#include "ebm/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EBM_PARTICLE_MAX_OBSTACLES 8

typedef struct {
  float x, y, r;
} ebm_obstacle;

typedef struct {
  float lo, hi;             /* state bounds, each coordinate */
  float max_accel;          /* |Δv| per step */
  float max_speed;          /* |v| = distance per step */
  int nobstacles;
  ebm_obstacle obstacles[EBM_PARTICLE_MAX_OBSTACLES];
} ebm_particle_world;

/* [-1, 1]², speed ≤ 0.08 and acceleration ≤ 0.02 per step, three discs:
 * r 0.3 at the centre, r 0.2 at (−0.5, 0.5) and at (0.5, −0.5). */
ebm_particle_world ebm_particle_world_default(void);

/* Whether (x, y) is inside the bounds and at least `margin` outside every
 * obstacle; whether the segment between two points misses every obstacle. */
int ebm_particle_point_free(const ebm_particle_world *w, float x, float y, float margin);
int ebm_particle_segment_free(const ebm_particle_world *w, const float *a, const float *b);

/* ntraj trajectories of `steps` transitions each, as ntraj·steps rows of
 * (x_t, y_t, x_{t+1}, y_{t+1}) in out. A trajectory starts at rest at a
 * random free point and steers toward random goals (a new one when it
 * arrives) at its own cruising speed (uniform in 0.2–1 × max_speed) with a
 * bounded-acceleration controller that swerves around
 * obstacles; a step that would enter an obstacle or leave the bounds stops
 * the particle instead, so no transition crosses one. Trajectory i depends
 * only on (seed, i). */
void ebm_particle_transitions(const ebm_particle_world *w, uint64_t seed, int64_t ntraj,
                              int64_t steps, float *out);

/* n start/goal pairs (2 floats each): free points (0.05 from obstacles) at
 * least 0.8 apart. Pair i depends only on (seed, i). */
void ebm_particle_tasks(const ebm_particle_world *w, uint64_t seed, int64_t n, float *start,
                        float *goal);

/* ------------------------------------------------------------ planning */

/* E_plan over plans of `horizon` states (items of 2·horizon floats) for
 * ntasks start/goal pairs (copied): chain i plans task cond->labels[i], so
 * num_classes = ntasks and the sampler's labels pick the task. The energy's
 * range is the world's bounds. `transition` is borrowed: a network on
 * 4-vectors with one output, built for a batch of at least `horizon`.
 * Bad shapes → EBM_ERR_ARG naming what. Free with ebm_energy_free. */
ebm_status ebm_plan_energy_new(ebm_net *transition, const ebm_particle_world *w, int horizon,
                               float goal_weight, const float *start, const float *goal,
                               int64_t ntasks, ebm_energy **out);

typedef struct {
  int steps;              /* Langevin steps (10, as in the paper) */
  float step_size;        /* λ of the IGEBM Langevin step */
  float noise;            /* σ */
  float grad_clip;        /* per-element clip of ∇E_plan; 0 = off */
  float goal_weight;      /* w */
  float init_noise;       /* std of the noise added to the straight-line start */
  int candidates;         /* chains per task; the one of lowest E_plan is kept */
  float detour;           /* candidate chains start bent sideways, up to ±detour mid-way */
} ebm_plan_config;

ebm_plan_config ebm_plan_defaults(void);

/* The straight line from start to goal in `horizon` equal steps (s_1..s_T). */
void ebm_plan_straight(const float *start, const float *goal, int horizon, float *plan);

/* Plans for n start/goal pairs into plans (n × horizon × 2). Each task
 * runs cfg->candidates chains: chain 0 starts on the straight line, chain
 * j on the line bent sideways by o_j·sin(π·t/T) (o_j = ±detour·⌈j/2⌉/⌈(K−1)/2⌉,
 * alternating sides), each plus init_noise; then cfg->steps Langevin steps
 * on E_plan, and the chain of lowest E_plan is the task's plan — the
 * energy alone chooses (more chains with the best kept). Every state stays
 * in the world's bounds. */
ebm_status ebm_plan_run(ebm_net *transition, const ebm_particle_world *w, const ebm_plan_config *cfg,
                        int horizon, const float *start, const float *goal, int64_t n, ebm_rng *rng,
                        float *plans);

/* What ebm_plan_run chooses from: every task's cfg->candidates chains
 * after their Langevin steps (chains: n × K × horizon × 2, task-major) and
 * each one's E_plan (energies: n × K). ebm_plan_run is this and the lowest
 * energy per task, with the same random draws. */
ebm_status ebm_plan_candidates(ebm_net *transition, const ebm_particle_world *w, const ebm_plan_config *cfg,
                               int horizon, const float *start, const float *goal, int64_t n, ebm_rng *rng,
                               float *chains, float *energies);

/* How one plan did: it succeeds when it ends within `goal_tol` of the goal,
 * no segment (start included) touches an obstacle, and no step is longer
 * than 1.25 × the world's max_speed. */
typedef struct {
  int success;
  double length;          /* Σ of segment lengths, start to s_T */
  double goal_dist;       /* ‖s_T − goal‖ */
  int collisions;         /* segments that hit an obstacle */
  double longest_step;
} ebm_plan_outcome;

ebm_plan_outcome ebm_plan_judge(const ebm_particle_world *w, const float *start, const float *goal,
                                const float *plan, int horizon, float goal_tol);

/* Success rate and mean path length (over the successful plans; NaN when
 * none) of n plans. */
typedef struct {
  int64_t n, successes;
  double success_rate, mean_length;
  int64_t collided, missed, too_fast; /* plans failing each rule (a plan may fail several) */
  /* Tasks where at least one candidate chain succeeded: what choosing by
   * the energy could at best have scored (ebm_plan_evaluate; -1 when not
   * known, as from ebm_plan_score). */
  int64_t covered;
} ebm_plan_scores;

void ebm_plan_score(const ebm_particle_world *w, const float *start, const float *goal,
                    const float *plans, int64_t n, int horizon, float goal_tol, ebm_plan_scores *out);

/* The benchmark of `ebm plan --eval N`: N tasks from ebm_particle_tasks
 * (seed), planned by ebm_plan_run and by the straight line, both scored
 * with goal_tol. plans / straight (may be NULL; N × horizon × 2) and
 * start / goal (may be NULL; N × 2) receive what was scored. */
ebm_status ebm_plan_evaluate(ebm_net *transition, const ebm_particle_world *w, const ebm_plan_config *cfg,
                             int horizon, int64_t n, uint64_t seed, float goal_tol, ebm_plan_scores *ebm,
                             ebm_plan_scores *line, float *start, float *goal, float *plans, float *straight);

/* How strongly a transition energy marks the obstacles: the mean energy
 * of the transitions (s, s + (step, 0)) from the points s of a 101 × 101
 * grid over the bounds that lie inside an obstacle (*inside), and from the
 * free points 0.1 to 0.3 beyond the nearest obstacle's edge (*around).
 * inside − around is in nats; near 0, the energy cannot tell a plan
 * through an obstacle from one around it. */
ebm_status ebm_plan_obstacle_contrast(ebm_net *transition, const ebm_particle_world *w, float step,
                                      double *inside, double *around);

/* A picture of the world (bounds, obstacles) with n plans (n × horizon × 2)
 * drawn from their starts (green) to their goals (red); straight (may be
 * NULL) drawn thin and grey beneath. At most 16 plans are drawn. */
ebm_status ebm_plan_png(const char *path, const ebm_particle_world *w, const float *start,
                        const float *goal, const float *plans, const float *straight, int64_t n,
                        int horizon);

#ifdef __cplusplus
}
#endif
#endif
