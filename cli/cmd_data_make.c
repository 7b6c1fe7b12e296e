/* `ebm data make NAME`: synthetic data made by the tool, so tests and the
 * README run without downloads — textures, videos, voxel shapes, point
 * clouds, particle transitions (issue 15). Each generator is one row of
 * `makers`: its spec prefix and the library call behind it (ebm/texture.h,
 * ebm/data_volumes.h, ebm/points.h, ebm/plan.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VERB "data make"

typedef struct {
  const char *out;
  const char *size;
  const char *png;     /* a picture of the first items */
  const char *apng;    /* moving: the first videos as an animated PNG */
  const char *labels;  /* shapes3d: the labels .npy */
  const char *paths;   /* moving: npy:FILE, the items' paths (ebm_make_moving_along) */
  int channels;
  int64_t seed, n;
  int64_t points, steps; /* points:shapes: points per cloud; particle: transitions per trajectory */
} make_flags;

#define MOVING_FRAMES 16
#define MOVING_SIDE 64
#define MOVING_DEFAULT_N 200
#define SHAPES_SIDE 32
#define SHAPES_DEFAULT_N 300
#define PNG_ITEMS 8

static int check_n(const make_flags *f, int64_t dflt, int64_t item, int64_t *n) {
  *n = f->n ? f->n : dflt;
  if (*n < 1 || *n > ((int64_t)1 << 34) / item)
    return cli_usage_error(VERB, "--n must be in 1..%lld, got %lld", (long long)(((int64_t)1 << 34) / item),
                           (long long)*n);
  return 0;
}

/* texture:NAME → a PNG (ebm_texture_make). */
static int make_texture(const char *name, const make_flags *f) {
  int w = 64, h = 64, rc;
  if (f->size && (rc = cli_parse_size(VERB, "--size", f->size, 8192, &w, &h))) return rc;
  if (f->channels != 1 && f->channels != 3)
    return cli_usage_error(VERB, "--channels must be 1 or 3, got %d", f->channels);
  float *px = malloc((size_t)f->channels * (size_t)w * (size_t)h * sizeof *px);
  if (!px) return cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory"));
  ebm_status st = ebm_texture_make(name, f->channels, h, w, (uint64_t)f->seed, px);
  if (st == EBM_ERR_ARG) rc = cli_usage_error(VERB, "%s", ebm_last_error());
  else if (st || (st = ebm_image_write_row_png(f->out, 1, f->channels, &h, &w, (const float *const *)&px, 0)))
    rc = cli_runtime_error(st);
  else {
    printf("%s: texture %s, %dx%d, %d channel%s\n", f->out, name, w, h, f->channels,
           f->channels == 1 ? "" : "s");
    rc = CLI_EXIT_OK;
  }
  free(px);
  return rc;
}

/* --paths npy:FILE: float32 P×16×2 (or P×32, the same floats: what a
 * vector model samples) of (x, y) points on the canvas; *n is P unless
 * --n asks for fewer. The points themselves are checked by
 * ebm_make_moving_along. 0 or an exit code. */
static int load_paths(const make_flags *f, ebm_npy *a, int64_t *n) {
  if (strncmp(f->paths, "npy:", 4) != 0)
    return cli_usage_error(VERB, "--paths expects npy:FILE (float32 P x %d x 2), got '%s'", MOVING_FRAMES, f->paths);
  ebm_status st = ebm_npy_load(f->paths + 4, a);
  if (st) return cli_runtime_error(st);
  const int ok = a->dtype == EBM_DTYPE_F32 && a->shape[0] >= 1 &&
                 ((a->ndim == 3 && a->shape[1] == MOVING_FRAMES && a->shape[2] == 2) ||
                  (a->ndim == 2 && a->shape[1] == 2 * MOVING_FRAMES) ||
                  /* a path energy that convolves over time samples 1 x T x 2 images */
                  (a->ndim == 4 && a->shape[1] == 1 && a->shape[2] == MOVING_FRAMES && a->shape[3] == 2));
  char shape[64];
  if (!ok)
    return cli_usage_error(VERB, "--paths %s: holds %s %s; paths must be float32 P x %d x 2 (or P x %d, P x 1 x %d x 2): "
                           "(x, y) of the item's centre in each frame", f->paths, ebm_dtype_name(a->dtype),
                           ebm_shape_str(a->ndim, a->shape, shape, sizeof shape), MOVING_FRAMES, 2 * MOVING_FRAMES,
                           MOVING_FRAMES);
  if (f->n > a->shape[0])
    return cli_usage_error(VERB, "--n %lld: --paths %s holds only %lld paths", (long long)f->n, f->paths,
                           (long long)a->shape[0]);
  *n = f->n ? f->n : a->shape[0];
  return 0;
}

/* moving:fashion-mnist → N×1×16×64×64 float32 .npy (ebm_make_moving),
 * one Fashion-MNIST item per video moving and bouncing. moving:npy:FILE
 * takes the items from FILE instead (M×1×H×W grey images in [0, 1], H and
 * W at most 64, e.g. an image model's samples): the same motion, other
 * items — a video made of an item and a path. */
static int make_moving(const char *source, const make_flags *f) {
  const int from_file = strncmp(source, "npy:", 4) == 0;
  if (!from_file && strcmp(source, "fashion-mnist") != 0 && strcmp(source, "mnist") != 0)
    return cli_usage_error(VERB, "moving: items come from fashion-mnist, mnist or npy:FILE, got '%s'", source);
  const int64_t item = (int64_t)MOVING_FRAMES * MOVING_SIDE * MOVING_SIDE;
  int64_t n;
  ebm_npy paths = {0};
  int rc = check_n(f, MOVING_DEFAULT_N, item, &n);
  if (!rc && f->paths) rc = load_paths(f, &paths, &n);
  if (rc) {
    ebm_npy_free(&paths);
    return rc;
  }
  char spec[4200];
  snprintf(spec, sizeof spec, from_file ? "%s" : "%s:train", source);
  ebm_dataset *ds = NULL;
  float *videos = NULL;
  ebm_status st = ebm_dataset_load(spec, 0.0f, 1.0f, &ds);
  if (st) {
    ebm_npy_free(&paths);
    return st == EBM_ERR_ARG && from_file ? cli_usage_error(VERB, "moving:%s", ebm_last_error()) : cli_runtime_error(st);
  }
  const ebm_tensor *x = ds->x;
  if (from_file && (x->ndim != 4 || x->shape[1] != 1 || x->shape[2] > MOVING_SIDE || x->shape[3] > MOVING_SIDE)) {
    char shape[64];
    ebm_shape_str(x->ndim - 1, x->shape + 1, shape, sizeof shape);
    rc = cli_usage_error(VERB, "moving:%s: items of shape %s; moving items must be 1xHxW grey images of at most "
                         "%dx%d", source, shape, MOVING_SIDE, MOVING_SIDE);
    ebm_dataset_free(ds);
    ebm_npy_free(&paths);
    return rc;
  }
  if (!(videos = malloc((size_t)(n * item) * sizeof *videos))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld videos", (long long)n);
    goto done;
  }
  int64_t shape[5] = {n, 1, MOVING_FRAMES, MOVING_SIDE, MOVING_SIDE};
  st = paths.data ? ebm_make_moving_along(x->data, x->shape[0], (int)x->shape[2], (int)x->shape[3], paths.data, n,
                                          MOVING_FRAMES, MOVING_SIDE, (uint64_t)f->seed, videos)
                  : ebm_make_moving(x->data, x->shape[0], (int)x->shape[2], (int)x->shape[3], n, MOVING_FRAMES,
                                    MOVING_SIDE, 1, (uint64_t)f->seed, videos);
  if (st == EBM_ERR_ARG && paths.data) {
    rc = cli_usage_error(VERB, "--paths %s: %s", f->paths, ebm_last_error());
    st = EBM_OK;
    goto done;
  }
  if (st || (st = ebm_npy_save(f->out, EBM_DTYPE_F32, 5, shape, videos))) goto done;
  if (f->png && (st = ebm_png_write_frames(f->png, videos, n < PNG_ITEMS ? n : PNG_ITEMS, 1, MOVING_FRAMES,
                                           MOVING_SIDE, MOVING_SIDE, 0.0f, 1.0f)))
    goto done;
  if (f->apng && (st = ebm_apng_write_videos(f->apng, videos, n < PNG_ITEMS ? n : PNG_ITEMS, 1, MOVING_FRAMES,
                                             MOVING_SIDE, MOVING_SIDE, 0.0f, 1.0f, EBM_APNG_FRAME_MS)))
    goto done;
  printf("%s: %lld videos of %d frames %dx%d (moving %s%s%s), shape [%lld,1,%d,%d,%d]\n", f->out, (long long)n,
         MOVING_FRAMES, MOVING_SIDE, MOVING_SIDE, source, paths.data ? " along " : "", paths.data ? f->paths : "",
         (long long)n, MOVING_FRAMES, MOVING_SIDE, MOVING_SIDE);
done:
  free(videos);
  ebm_dataset_free(ds);
  ebm_npy_free(&paths);
  return st ? cli_runtime_error(st) : rc;
}

/* paths:npy:VIDEOS → float32 N×32 (T = 16 frames): x0, y0, x1, y1, ... of
 * the centre of brightness of each frame of each video (ebm_track_centres),
 * the item's path, as vectors a vector model trains on; what `moving:...
 * --paths` takes back. */
static int make_paths(const char *source, const make_flags *f) {
  if (strncmp(source, "npy:", 4) != 0)
    return cli_usage_error(VERB, "paths: videos come from npy:FILE (N x 1 x T x H x W), got '%s'", source);
  ebm_npy a = {0};
  ebm_status st = ebm_npy_load(source + 4, &a);
  if (st) return cli_runtime_error(st);
  int rc = CLI_EXIT_OK;
  float *paths = NULL;
  char shape[64];
  if (a.dtype != EBM_DTYPE_F32 || a.ndim != 5 || a.shape[1] != 1 || a.shape[0] < 1) {
    rc = cli_usage_error(VERB, "paths:%s: holds %s %s; need float32 videos N x 1 x T x H x W", source,
                         ebm_dtype_name(a.dtype), ebm_shape_str(a.ndim, a.shape, shape, sizeof shape));
    goto done;
  }
  const int64_t n = f->n && f->n < a.shape[0] ? f->n : a.shape[0], frames = a.shape[2];
  if (!(paths = malloc((size_t)(n * frames * 2) * sizeof *paths))) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld paths", (long long)n);
    goto done;
  }
  const int64_t out_shape[2] = {n, frames * 2}; /* vectors x0, y0, x1, y1, ...: data for a vector model */
  if ((st = ebm_track_centres(a.data, n, (int)frames, (int)a.shape[3], (int)a.shape[4], paths)) ||
      (st = ebm_npy_save(f->out, EBM_DTYPE_F32, 2, out_shape, paths)))
    goto done;
  printf("%s: the paths of %lld videos (centre of brightness per frame, x0 y0 x1 y1 ...), shape [%lld,%lld]\n",
         f->out, (long long)n, (long long)n, (long long)(frames * 2));
done:
  free(paths);
  ebm_npy_free(&a);
  return st ? cli_runtime_error(st) : rc;
}

/* shapes3d → N×1×32×32×32 float32 occupancy .npy (ebm_make_shapes3d),
 * spheres, boxes and tori in turn; --labels writes their classes. */
static int make_shapes3d(const char *arg, const make_flags *f) {
  (void)arg;
  const int64_t item = (int64_t)SHAPES_SIDE * SHAPES_SIDE * SHAPES_SIDE;
  int64_t n;
  int rc = check_n(f, SHAPES_DEFAULT_N, item, &n);
  if (rc) return rc;
  float *grids = malloc((size_t)(n * item) * sizeof *grids);
  int32_t *labels = malloc((size_t)n * sizeof *labels);
  ebm_status st = EBM_OK;
  int64_t shape[5] = {n, 1, SHAPES_SIDE, SHAPES_SIDE, SHAPES_SIDE};
  if (!grids || !labels) st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld grids", (long long)n);
  if (!st) st = ebm_make_shapes3d(n, SHAPES_SIDE, (uint64_t)f->seed, grids, labels);
  if (!st) st = ebm_npy_save(f->out, EBM_DTYPE_F32, 5, shape, grids);
  if (!st && f->labels) st = ebm_npy_save(f->labels, EBM_DTYPE_I32, 1, &n, labels);
  if (!st && f->png)
    st = ebm_png_write_voxels(f->png, grids, n < PNG_ITEMS ? n : PNG_ITEMS, SHAPES_SIDE, SHAPES_SIDE, SHAPES_SIDE);
  if (!st)
    printf("%s: %lld voxel grids %d^3 (sphere, box, torus in turn), shape [%lld,1,%d,%d,%d]\n", f->out,
           (long long)n, SHAPES_SIDE, (long long)n, SHAPES_SIDE, SHAPES_SIDE, SHAPES_SIDE);
  free(grids);
  free(labels);
  return st ? cli_runtime_error(st) : CLI_EXIT_OK;
}

static int make_points_shapes(const make_flags *f, int aligned) {
  float *xyz = malloc((size_t)(f->n * f->points * 3) * sizeof *xyz);
  int32_t *labels = malloc((size_t)f->n * sizeof *labels);
  ebm_status st = xyz && labels ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld clouds", (long long)f->n);
  if (st == EBM_OK) {
    (aligned ? ebm_points_shapes_aligned : ebm_points_shapes)((uint64_t)f->seed, f->n, f->points, xyz, labels);
    const int64_t shape[3] = {f->n, f->points, 3};
    st = ebm_npy_save(f->out, EBM_DTYPE_F32, 3, shape, xyz);
  }
  if (st == EBM_OK && f->labels) st = ebm_npy_save(f->labels, EBM_DTYPE_I32, 1, &f->n, labels);
  if (st == EBM_OK && f->png) st = ebm_points_png(f->png, xyz, f->n < 6 ? f->n : 6, f->points, -1.0f, 1.0f);
  if (st == EBM_OK)
    fprintf(stderr, "ebm data make: %s: %lld clouds of %lld points (spheres, boxes, tori in turn%s)\n", f->out,
            (long long)f->n, (long long)f->points, aligned ? ", axis-aligned" : "");
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

/* points:shapes[-aligned] and particle: their sizes checked, then made. */
static int make_points_data(const char *arg, const make_flags *given) {
  make_flags g = *given;
  make_flags *f = &g;
  const int particle = strcmp(arg, "particle") == 0;
  if (f->n == 0) f->n = particle ? 1000 : 600;
  if (f->n < 1 || f->n > 1000000) return cli_usage_error(VERB, "--n must be in 1..1000000, got %lld", (long long)f->n);
  if (f->points < 1 || f->points > 65536)
    return cli_usage_error(VERB, "--points must be in 1..65536, got %lld", (long long)f->points);
  if (f->steps < 1 || f->steps > 10000) return cli_usage_error(VERB, "--steps must be in 1..10000, got %lld", (long long)f->steps);
  if (f->n * f->points > 100000000 || f->n * f->steps > 100000000)
    return cli_usage_error(VERB, "--n %lld is too many for that size (at most 1e8 points or transitions)", (long long)f->n);
  if (f->labels && particle) return cli_usage_error(VERB, "--labels is only for points:shapes[-aligned] and shapes3d");
  return particle ? make_particle(f) : make_points_shapes(f, strcmp(arg, "points:shapes-aligned") == 0);
}

static const struct {
  const char *prefix;  /* "texture:" takes a name after it */
  int (*make)(const char *arg, const make_flags *f);
} makers[] = {
    {"texture:", make_texture},
    {"moving:", make_moving},
    {"paths:", make_paths},
    {"shapes3d", make_shapes3d},
    {"points:shapes", make_points_data},
    {"points:shapes-aligned", make_points_data},
    {"particle", make_points_data},
};

static int run_data_make(int argc, char **argv) {
  make_flags f = {NULL, NULL, NULL, NULL, NULL, NULL, 3, 1, 0, 128, 50};
  cli_opt opts[] = {
      {"out", OPT_PATH_OUT, &f.out, "FILE", "where to write (required)"},
      {"size", OPT_STRING, &f.size, "WxH", "texture: image size (default 64x64)"},
      {"channels", OPT_INT, &f.channels, "C", "texture: 1 (grey) or 3 (RGB)"},
      {"n", OPT_INT64, &f.n, "N", "items of a data set (default: moving 200, shapes3d 300)"},
      {"png", OPT_PATH_OUT, &f.png, "P.png", "also draw the first 8 items (frame strips, three-view projections)"},
      {"apng", OPT_PATH_OUT, &f.apng, "A.png", "moving: also write the first 8 videos as an animated PNG (one row)"},
      {"labels", OPT_PATH_OUT, &f.labels, "L.npy", "shapes3d: write the classes (0 sphere, 1 box, 2 torus)"},
      {"paths", OPT_SPEC_IN, &f.paths, "npy:P.npy", "moving: move video i's item along path i of P (float32 P x 32 or P x 16 x 2, "
       "x, y of its centre per frame, as paths:npy: writes them) instead of the random bouncing one"},
      {"points", OPT_INT64, &f.points, "P", "points:shapes: points per cloud"},
      {"steps", OPT_INT64, &f.steps, "T", "particle: transitions per trajectory"},
      {"seed", OPT_INT64, &f.seed, "S", "random seed (the same seed gives the same bytes)"},
  };
  char *pos[1];
  int npos = 0;
  int rc = cli_parse(VERB, opts, CLI_NOPTS(opts), argc, argv, pos, 1, &npos);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (npos != 1 || !f.out) return cli_usage_error(VERB, "expected one generator and --out FILE");
  for (size_t i = 0; i < sizeof makers / sizeof makers[0]; i++) {
    size_t len = strlen(makers[i].prefix);
    int takes_arg = makers[i].prefix[len - 1] == ':';
    if (takes_arg ? strncmp(pos[0], makers[i].prefix, len) == 0 : strcmp(pos[0], makers[i].prefix) == 0)
      return makers[i].make(pos[0] + (takes_arg ? len : 0), &f);
  }
  return cli_usage_error(VERB, "unknown generator '%s' (known: texture:NAME, moving:fashion-mnist, "
                         "moving:npy:FILE, paths:npy:FILE, shapes3d, points:shapes, points:shapes-aligned, particle)",
                         pos[0]);
}

CLI_COMMAND(data_make, VERB, "NAME --out FILE [options]",
            "make a synthetic data set or picture (textures, videos, voxel shapes, point clouds, particles)",
            "NAME is one of:\n"
            "  texture:NAME           a PNG texture: checks, stripes or blobs (--size WxH, --channels)\n"
            "  moving:fashion-mnist   videos N x 1 x 16 x 64 x 64 (.npy): a Fashion-MNIST item\n"
            "                         moving across the canvas, bouncing off its edges\n"
            "  moving:npy:FILE        the same motion for the items of FILE (M x 1 x H x W grey\n"
            "                         images in [0, 1], H, W <= 64; one drawn at random per video);\n"
            "                         with --paths npy:P.npy, video i follows path i of P (its\n"
            "                         item's centre on the path's point in every frame)\n"
            "  paths:npy:FILE         the paths of FILE's videos: float32 N x 32 (x0 y0 x1 y1 ...),\n"
            "                         the centre of brightness of each of 16 frames, in pixels\n"
            "  shapes3d               voxel grids N x 1 x 32 x 32 x 32 (.npy): spheres, boxes, tori\n"
            "  points:shapes          clouds of P points (--points, 128) on the surfaces of spheres,\n"
            "                         boxes and tori of random size and orientation in [-1,1]^3:\n"
            "                         float32 (n, P, 3); train with --arch pointnet\n"
            "  points:shapes-aligned  the same clouds without the rotation (box faces on the axes,\n"
            "                         tori around z)\n"
            "  particle               a 2-D particle among three disc obstacles: float32 (n*T, 4)\n"
            "                         rows (x, y, x', y'), T = --steps; plan with `ebm plan`\n"
            "The same --seed gives the same bytes.",
            run_data_make)
