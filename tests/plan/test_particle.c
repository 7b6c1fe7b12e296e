/* The particle world's data: deterministic for a seed, and no transition
 * leaves the bounds, enters an obstacle, crosses one or breaks the speed
 * limit; tasks are free and far enough apart. */
#include "test.h"

TEST(particle_transitions_are_deterministic_and_respect_the_world) {
  enum { NT = 40, T = 60 };
  const ebm_particle_world w = ebm_particle_world_default();
  float *a = malloc(sizeof(float) * NT * T * 4), *b = malloc(sizeof(float) * NT * T * 4);
  ebm_particle_transitions(&w, 9, NT, T, a);
  ebm_particle_transitions(&w, 9, NT, T, b);
  CHECK(memcmp(a, b, sizeof(float) * NT * T * 4) == 0);
  ebm_particle_transitions(&w, 9, 3, T, b); /* trajectory i depends on (seed, i) only */
  CHECK(memcmp(a, b, sizeof(float) * 3 * T * 4) == 0);
  ebm_particle_transitions(&w, 10, NT, T, b);
  CHECK(memcmp(a, b, sizeof(float) * NT * T * 4) != 0);
  int64_t moving = 0;
  for (int64_t r = 0; r < NT * T; r++) {
    const float *row = a + 4 * r;
    CHECK(ebm_particle_point_free(&w, row[0], row[1], 0) && ebm_particle_point_free(&w, row[2], row[3], 0));
    CHECK(ebm_particle_segment_free(&w, row, row + 2));
    const double step = hypot((double)row[2] - row[0], (double)row[3] - row[1]);
    CHECK(step <= w.max_speed + 1e-6);
    moving += step > 0.1 * w.max_speed;
    if (r % T != T - 1) CHECK(row[2] == row[4] && row[3] == row[5]); /* rows chain into a trajectory */
  }
  CHECK(moving > NT * T / 2); /* mostly cruising, not stopped */
  free(a), free(b);
}

TEST(particle_tasks_are_free_far_apart_and_deterministic) {
  enum { N = 50 };
  const ebm_particle_world w = ebm_particle_world_default();
  float s[2 * N], g[2 * N], s2[2 * N], g2[2 * N];
  ebm_particle_tasks(&w, 4, N, s, g);
  ebm_particle_tasks(&w, 4, N, s2, g2);
  CHECK(memcmp(s, s2, sizeof s) == 0 && memcmp(g, g2, sizeof g) == 0);
  for (int i = 0; i < N; i++) {
    CHECK(ebm_particle_point_free(&w, s[2 * i], s[2 * i + 1], 0.05f));
    CHECK(ebm_particle_point_free(&w, g[2 * i], g[2 * i + 1], 0.05f));
    CHECK(hypotf(g[2 * i] - s[2 * i], g[2 * i + 1] - s[2 * i + 1]) >= 0.8f);
  }
}

TEST(particle_segments_that_cross_an_obstacle_are_caught) {
  const ebm_particle_world w = ebm_particle_world_default();
  const float a[2] = {-0.9f, 0.0f}, b[2] = {0.9f, 0.0f}, c[2] = {-0.9f, -0.9f}, d[2] = {0.9f, -0.95f};
  CHECK(!ebm_particle_segment_free(&w, a, b)); /* through the centre disc, both ends outside */
  CHECK(ebm_particle_segment_free(&w, c, d));  /* along the bottom edge */
  CHECK(!ebm_particle_point_free(&w, 0.1f, 0.1f, 0));
  CHECK(!ebm_particle_point_free(&w, 1.01f, 0.0f, 0));
}
