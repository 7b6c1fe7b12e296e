/* The 2-D particle world of ebm/plan.h: geometry, the transitions `ebm data
 * make particle` writes, and random start/goal tasks. */
#include <math.h>

#include "ebm/plan.h"

#define ARRIVED 0.05f    /* a goal this close is reached; the next is drawn */
#define AVOID_RANGE 0.2f /* obstacles closer than this push the particle */

ebm_particle_world ebm_particle_world_default(void) {
  ebm_particle_world w = {.lo = -1.0f, .hi = 1.0f, .max_accel = 0.02f, .max_speed = 0.08f, .nobstacles = 3};
  w.obstacles[0] = (ebm_obstacle){0.0f, 0.0f, 0.3f};
  w.obstacles[1] = (ebm_obstacle){-0.5f, 0.5f, 0.2f};
  w.obstacles[2] = (ebm_obstacle){0.5f, -0.5f, 0.2f};
  return w;
}

int ebm_particle_point_free(const ebm_particle_world *w, float x, float y, float margin) {
  if (!(x >= w->lo && x <= w->hi && y >= w->lo && y <= w->hi)) return 0;
  for (int k = 0; k < w->nobstacles; k++) {
    const ebm_obstacle *o = &w->obstacles[k];
    if (hypotf(x - o->x, y - o->y) < o->r + margin) return 0;
  }
  return 1;
}

int ebm_particle_segment_free(const ebm_particle_world *w, const float *a, const float *b) {
  const double dx = (double)b[0] - a[0], dy = (double)b[1] - a[1], len2 = dx * dx + dy * dy;
  for (int k = 0; k < w->nobstacles; k++) {
    const ebm_obstacle *o = &w->obstacles[k];
    /* The closest point of the segment to the centre. */
    double t = len2 > 0 ? (((double)o->x - a[0]) * dx + ((double)o->y - a[1]) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    if (hypot(a[0] + t * dx - o->x, a[1] + t * dy - o->y) < o->r) return 0;
  }
  return 1;
}

static float uniform(ebm_rng *rng, float lo, float hi) { return lo + (hi - lo) * (float)ebm_rng_double(rng); }

static void random_free_point(const ebm_particle_world *w, ebm_rng *rng, float margin, float *p) {
  do p[0] = uniform(rng, w->lo, w->hi), p[1] = uniform(rng, w->lo, w->hi);
  while (!ebm_particle_point_free(w, p[0], p[1], margin));
}

/* Scales (x, y) down to length at most `limit`. */
static void clip_norm(float *v, float limit) {
  const float len = hypotf(v[0], v[1]);
  if (len > limit) v[0] *= limit / len, v[1] *= limit / len;
}

/* The acceleration toward the velocity that heads for the goal at the
 * cruising speed (slowing down on arrival), bent around near obstacles: pushed outward and along the side
 * that faces the goal. */
static void controller(const ebm_particle_world *w, float cruise, const float *s, const float *v,
                       const float *goal, float *a) {
  float want[2] = {goal[0] - s[0], goal[1] - s[1]};
  const float dist = hypotf(want[0], want[1]);
  const float speed = cruise * (dist < 4 * cruise ? dist / (4 * cruise) : 1.0f);
  if (dist > 0) want[0] *= speed / dist, want[1] *= speed / dist;
  for (int k = 0; k < w->nobstacles; k++) {
    const ebm_obstacle *o = &w->obstacles[k];
    float n[2] = {s[0] - o->x, s[1] - o->y};
    const float d = hypotf(n[0], n[1]), gap = d - o->r;
    if (gap > AVOID_RANGE || d == 0) continue;
    n[0] /= d, n[1] /= d;
    float t[2] = {-n[1], n[0]};
    if (t[0] * (goal[0] - s[0]) + t[1] * (goal[1] - s[1]) < 0) t[0] = -t[0], t[1] = -t[1];
    const float push = w->max_speed * (1 - gap / AVOID_RANGE);
    want[0] += push * (n[0] + t[0]), want[1] += push * (n[1] + t[1]);
  }
  clip_norm(want, w->max_speed);
  a[0] = want[0] - v[0], a[1] = want[1] - v[1];
  clip_norm(a, w->max_accel);
}

void ebm_particle_transitions(const ebm_particle_world *w, uint64_t seed, int64_t ntraj,
                              int64_t steps, float *out) {
  ebm_rng base;
  ebm_rng_init(&base, seed);
  for (int64_t i = 0; i < ntraj; i++) {
    ebm_rng rng = ebm_rng_split(&base, (uint64_t)i);
    float s[2], goal[2], v[2] = {0, 0}, a[2];
    /* Each trajectory cruises at its own speed, so every step length up to
     * the limit is in the data (a plan's steps are as long as it needs). */
    const float cruise = uniform(&rng, 0.2f, 1.0f) * w->max_speed;
    random_free_point(w, &rng, 0.05f, s);
    random_free_point(w, &rng, 0.05f, goal);
    for (int64_t t = 0; t < steps; t++) {
      if (hypotf(goal[0] - s[0], goal[1] - s[1]) < ARRIVED) random_free_point(w, &rng, 0.05f, goal);
      controller(w, cruise, s, v, goal, a);
      v[0] += a[0], v[1] += a[1];
      clip_norm(v, w->max_speed);
      float next[2] = {s[0] + v[0], s[1] + v[1]};
      if (!ebm_particle_point_free(w, next[0], next[1], 0) || !ebm_particle_segment_free(w, s, next)) {
        next[0] = s[0], next[1] = s[1]; /* a stop, not a crash */
        v[0] = v[1] = 0;
      }
      float *row = out + (i * steps + t) * 4;
      row[0] = s[0], row[1] = s[1], row[2] = next[0], row[3] = next[1];
      s[0] = next[0], s[1] = next[1];
    }
  }
}

void ebm_particle_tasks(const ebm_particle_world *w, uint64_t seed, int64_t n, float *start,
                        float *goal) {
  ebm_rng base;
  ebm_rng_init(&base, seed);
  for (int64_t i = 0; i < n; i++) {
    ebm_rng rng = ebm_rng_split(&base, (uint64_t)i);
    do {
      random_free_point(w, &rng, 0.05f, start + 2 * i);
      random_free_point(w, &rng, 0.05f, goal + 2 * i);
    } while (hypotf(goal[2 * i] - start[2 * i], goal[2 * i + 1] - start[2 * i + 1]) < 0.8f);
  }
}
