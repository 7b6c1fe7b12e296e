/* `ebm data make NAME`: synthetic data sets the tool generates itself, as
 * .npy — point clouds on shapes and particle transitions (issue 15). Each
 * generator is one row of `makers`; the library does the work
 * (ebm/points.h, ebm/plan.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERB "data make"

typedef struct {
  const char *out, *labels, *png;
  int64_t n, points, steps, seed;
} make_flags;

static int make_points_shapes(const make_flags *f) {
  float *xyz = malloc((size_t)(f->n * f->points * 3) * sizeof *xyz);
  int32_t *labels = malloc((size_t)f->n * sizeof *labels);
  ebm_status st = xyz && labels ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld clouds", (long long)f->n);
  if (st == EBM_OK) {
    ebm_points_shapes((uint64_t)f->seed, f->n, f->points, xyz, labels);
    const int64_t shape[3] = {f->n, f->points, 3};
    st = ebm_npy_save(f->out, EBM_DTYPE_F32, 3, shape, xyz);
  }
  if (st == EBM_OK && f->labels) st = ebm_npy_save(f->labels, EBM_DTYPE_I32, 1, &f->n, labels);
  if (st == EBM_OK && f->png) st = ebm_points_png(f->png, xyz, f->n < 6 ? f->n : 6, f->points, -1.0f, 1.0f);
  if (st == EBM_OK)
    fprintf(stderr, "ebm data make: %s: %lld clouds of %lld points (spheres, boxes, tori in turn)\n", f->out,
            (long long)f->n, (long long)f->points);
  free(xyz);
  free(labels);
  return st ? cli_runtime_error(st) : CLI_EXIT_OK;
}

static int make_particle(const make_flags *f) {
  const ebm_particle_world w = ebm_particle_world_default();
  const int64_t rows = f->n * f->steps, show = f->n < 8 ? f->n : 8;
  float *tr = malloc((size_t)rows * 4 * sizeof *tr);
  float *start = malloc((size_t)show * 2 * sizeof *start), *end = malloc((size_t)show * 2 * sizeof *end);
  float *path = malloc((size_t)(show * f->steps) * 2 * sizeof *path);
  ebm_status st = tr && start && end && path ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld transitions", (long long)rows);
  if (st == EBM_OK) {
    ebm_particle_transitions(&w, (uint64_t)f->seed, f->n, f->steps, tr);
    const int64_t shape[2] = {rows, 4};
    st = ebm_npy_save(f->out, EBM_DTYPE_F32, 2, shape, tr);
  }
  if (st == EBM_OK && f->png) { /* the first trajectories, drawn as plans from their first state */
    for (int64_t i = 0; i < show; i++) {
      const float *first = tr + i * f->steps * 4, *last = first + (f->steps - 1) * 4;
      memcpy(start + 2 * i, first, 2 * sizeof(float));
      memcpy(end + 2 * i, last + 2, 2 * sizeof(float));
      for (int64_t t = 0; t < f->steps; t++) memcpy(path + (i * f->steps + t) * 2, first + t * 4 + 2, 2 * sizeof(float));
    }
    st = ebm_plan_png(f->png, &w, start, end, path, NULL, show, (int)f->steps);
  }
  if (st == EBM_OK)
    fprintf(stderr, "ebm data make: %s: %lld transitions (x, y, x', y') of %lld trajectories\n", f->out,
            (long long)rows, (long long)f->n);
  free(tr), free(start), free(end), free(path);
  return st ? cli_runtime_error(st) : CLI_EXIT_OK;
}

static const struct {
  const char *name;
  int64_t default_n;
  int (*make)(const make_flags *f);
} makers[] = {
    {"points:shapes", 600, make_points_shapes},
    {"particle", 1000, make_particle},
};

static int run_data_make(int argc, char **argv) {
  make_flags f = {.n = 0, .points = 128, .steps = 50, .seed = 1};
  cli_opt opts[] = {
      {"out", OPT_PATH_OUT, &f.out, "X.npy", "where to write the data (required)"},
      {"n", OPT_INT64, &f.n, "N", "items: clouds (600) or trajectories (1000)"},
      {"points", OPT_INT64, &f.points, "P", "points:shapes: points per cloud"},
      {"steps", OPT_INT64, &f.steps, "T", "particle: transitions per trajectory"},
      {"seed", OPT_INT64, &f.seed, "S", "the same seed writes the same bytes"},
      {"labels", OPT_PATH_OUT, &f.labels, "L.npy", "points:shapes: each cloud's shape (0 sphere, 1 box, 2 torus)"},
      {"png", OPT_PATH_OUT, &f.png, "FILE", "a picture of the first items"},
  };
  char *pos[1];
  int npos = 0;
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, pos, 1, &npos);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (npos != 1) return cli_usage_error(VERB, "expected one data set name (points:shapes, particle)");
  if (!f.out) return cli_usage_error(VERB, "--out X.npy is required");
  for (size_t k = 0; k < sizeof makers / sizeof makers[0]; k++) {
    if (strcmp(pos[0], makers[k].name) != 0) continue;
    if (f.n == 0) f.n = makers[k].default_n;
    if (f.n < 1 || f.n > 1000000) return cli_usage_error(VERB, "--n must be in 1..1000000, got %lld", (long long)f.n);
    if (f.points < 1 || f.points > 65536)
      return cli_usage_error(VERB, "--points must be in 1..65536, got %lld", (long long)f.points);
    if (f.steps < 1 || f.steps > 10000) return cli_usage_error(VERB, "--steps must be in 1..10000, got %lld", (long long)f.steps);
    if (f.n * f.points > 100000000 || f.n * f.steps > 100000000)
      return cli_usage_error(VERB, "--n %lld is too many for that size (at most 1e8 points or transitions)", (long long)f.n);
    if (f.labels && makers[k].make != make_points_shapes)
      return cli_usage_error(VERB, "--labels is only for points:shapes");
    return makers[k].make(&f);
  }
  return cli_usage_error(VERB, "unknown data set '%s' (points:shapes, particle)", pos[0]);
}

CLI_COMMAND(data_make, "data make", "NAME --out X.npy [--n N] [--seed S] [--png FILE]",
            "generate a synthetic data set (point clouds, particle transitions) as .npy",
            "points:shapes  clouds of P points (--points, 128) sampled uniformly on the surfaces of\n"
            "               spheres, boxes and tori (in turn) of random size and orientation in\n"
            "               [-1,1]^3: float32 (n, P, 3). Train with --arch pointnet --range -1,1.\n"
            "particle       a 2-D particle in [-1,1]^2 with bounded acceleration steering to random\n"
            "               goals around three disc obstacles: float32 (n*T, 4) rows (x, y, x', y')\n"
            "               of consecutive states, T = --steps per trajectory. Train with --arch mlp;\n"
            "               plan with `ebm plan`.\n"
            "The same --seed writes the same bytes; item i depends only on the seed and i.",
            run_data_make)
