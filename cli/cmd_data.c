/* `ebm data stats` and `ebm data show`: look at a data set before training
 * on it — numbers on stdout, or a PNG (an image grid, or for 2-D points a
 * histogram beside the toy's exact density). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The toy picture: square panels over [-4, 4]², histogram bins of 3 px. */
#define PANEL_PX 300
#define HIST_BINS 100
#define MARGIN_PX 10
#define TOY_DEFAULT_POINTS 20000
#define IMAGES_DEFAULT 64
#define IMAGES_MAX 10000
#define POINTS_MAX 10000000

/* Loads the spec; a bad spec (EBM_ERR_ARG) is a usage error, the rest
 * (missing files, bad contents) runtime errors. */
static int load(const char *verb, const char *spec, float lo, float hi, ebm_dataset **ds) {
  ebm_status st = ebm_dataset_load(spec, lo, hi, ds);
  if (st == EBM_ERR_ARG) return cli_usage_error(verb, "%s", ebm_last_error());
  if (st != EBM_OK) return cli_runtime_error(st);
  return 0;
}

/* ------------------------------------------------------------------ stats */

static int run_stats(int argc, char **argv) {
  const char *range = "0,1";
  cli_opt opts[] = {
      {"range", OPT_STRING, &range, "LO,HI", "map image bytes 0..255 to [LO,HI]"},
  };
  char *pos[1];
  int npos = 0;
  int rc = cli_parse("data stats", opts, CLI_NOPTS(opts), argc, argv, pos, 1, &npos);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (npos != 1) return cli_usage_error("data stats", "expected one data set spec");
  float lo, hi;
  if ((rc = cli_parse_range("data stats", range, &lo, &hi))) return rc;
  ebm_dataset *ds;
  if ((rc = load("data stats", pos[0], lo, hi, &ds))) return rc;

  const ebm_tensor *x = ds->x;
  int64_t n = x->shape[0], count = ebm_tensor_numel(x);
  double sum = 0, sum2 = 0, vmin = INFINITY, vmax = -INFINITY;
  for (int64_t i = 0; i < count; i++) {
    double v = x->data[i];
    sum += v;
    vmin = fmin(vmin, v);
    vmax = fmax(vmax, v);
  }
  double mean = sum / (double)count;
  for (int64_t i = 0; i < count; i++) sum2 += (x->data[i] - mean) * (x->data[i] - mean);
  char shape[64];
  printf("%-9s %s\n", "spec", ds->spec);
  printf("%-9s %lld\n", "items", (long long)n);
  printf("%-9s %s\n", "shape", ebm_shape_str(x->ndim - 1, x->shape + 1, shape, sizeof shape));
  printf("%-9s [%g, %g]\n", "range", (double)ds->range_lo, (double)ds->range_hi);
  printf("%-9s %.6g\n", "min", vmin);
  printf("%-9s %.6g\n", "max", vmax);
  printf("%-9s %.6g\n", "mean", mean);
  printf("%-9s %.6g\n", "std", sqrt(sum2 / (double)count));
  printf("%-9s %d\n", "classes", ds->num_classes);
  fflush(stdout);
  cli_warn_outside_range("data stats", ds->spec, x->data, count, ds->range_lo, ds->range_hi, "--range");
  if (ds->labels && ds->num_classes > 0) {
    int64_t *per = calloc((size_t)ds->num_classes, sizeof *per);
    if (!per) {
      ebm_dataset_free(ds);
      return cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory"));
    }
    for (int64_t i = 0; i < n; i++) per[ds->labels[i]]++;
    printf("\n%5s %9s %9s\n", "class", "count", "fraction");
    for (int c = 0; c < ds->num_classes; c++)
      printf("%5d %9lld %9.4f\n", c, (long long)per[c], (double)per[c] / (double)n);
    free(per);
  }
  ebm_dataset_free(ds);
  return CLI_EXIT_OK;
}

CLI_COMMAND(data_stats, "data stats", "SPEC [--range LO,HI]",
            "count, shape, value range, mean, std and class counts of a data set",
            "SPEC is one of: fashion-mnist[:train|:test], mnist[:train|:test] (after\n"
            "scripts/fetch-mnist), npy:PATH[,LABELS.npy], toy:NAME[:train|:test][:N].\n"
            "Toys: 8gaussians 2spirals checkerboard rings moons pinwheel.",
            run_stats)

/* ------------------------------------------------------------------- show */

/* A perceptual dark-to-bright map (five stops along matplotlib's inferno). */
static void colormap(double v, uint8_t rgb[3]) {
  static const double stops[5][3] = {
      {0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};
  v = v < 0 ? 0 : v > 1 ? 1 : v;
  double f = v * 4;
  int k = f >= 4 ? 3 : (int)f;
  double t = f - k;
  for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)lround(stops[k][c] + t * (stops[k + 1][c] - stops[k][c]));
}

/* Paints a PANEL_PX² panel at column x0 from `value` (PANEL_PX² values,
 * row 0 at the top = y 4) divided by vmax. */
static void paint_panel(uint8_t *img, int width, int x0, const double *value, double vmax) {
  for (int r = 0; r < PANEL_PX; r++)
    for (int c = 0; c < PANEL_PX; c++)
      colormap(value[r * PANEL_PX + c] / vmax, &img[3 * ((size_t)(MARGIN_PX + r) * width + x0 + c)]);
}

/* A histogram of the points (n×2) beside, for a toy, its exact density on
 * the same colour scale. */
static ebm_status write_points_png(const char *path, const float *xy, int64_t n, int toy) {
  const double cell = 2 * EBM_TOY_EXTENT / PANEL_PX, bin = 2 * EBM_TOY_EXTENT / HIST_BINS;
  int panels = toy >= 0 ? 2 : 1;
  int width = panels * PANEL_PX + (panels + 1) * MARGIN_PX, height = PANEL_PX + 2 * MARGIN_PX;
  ebm_status st = EBM_OK;
  double *hist = calloc((size_t)PANEL_PX * PANEL_PX, sizeof *hist);
  double *dens = calloc((size_t)PANEL_PX * PANEL_PX, sizeof *dens);
  double *grid = malloc((size_t)PANEL_PX * PANEL_PX * 2 * sizeof *grid);
  int64_t *counts = calloc((size_t)HIST_BINS * HIST_BINS, sizeof *counts);
  uint8_t *img = malloc((size_t)width * height * 3);
  if (!hist || !dens || !grid || !counts || !img) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing %s", path);
    goto done;
  }
  memset(img, 255, (size_t)width * height * 3);
  for (int64_t i = 0; i < n; i++) {
    int bx = (int)floor((xy[2 * i] + EBM_TOY_EXTENT) / bin), by = (int)floor((EBM_TOY_EXTENT - xy[2 * i + 1]) / bin);
    if (bx >= 0 && bx < HIST_BINS && by >= 0 && by < HIST_BINS) counts[by * HIST_BINS + bx]++;
  }
  /* Histogram as a density estimate: count / (n · bin area). */
  double vmax = 0;
  for (int r = 0; r < PANEL_PX; r++)
    for (int c = 0; c < PANEL_PX; c++) {
      int b = (r * HIST_BINS / PANEL_PX) * HIST_BINS + c * HIST_BINS / PANEL_PX;
      hist[r * PANEL_PX + c] = (double)counts[b] / ((double)n * bin * bin);
      vmax = fmax(vmax, hist[r * PANEL_PX + c]);
    }
  if (toy >= 0) {
    for (int r = 0; r < PANEL_PX; r++)
      for (int c = 0; c < PANEL_PX; c++) {
        grid[2 * (r * PANEL_PX + c)] = -EBM_TOY_EXTENT + (c + 0.5) * cell;
        grid[2 * (r * PANEL_PX + c) + 1] = EBM_TOY_EXTENT - (r + 0.5) * cell;
      }
    if ((st = ebm_toy_log_density((ebm_toy)toy, grid, (int64_t)PANEL_PX * PANEL_PX, dens))) goto done;
    vmax = 0;
    for (int i = 0; i < PANEL_PX * PANEL_PX; i++) {
      dens[i] = exp(dens[i]);
      vmax = fmax(vmax, dens[i]);
    }
    paint_panel(img, width, 2 * MARGIN_PX + PANEL_PX, dens, vmax);
  }
  paint_panel(img, width, MARGIN_PX, hist, vmax > 0 ? vmax : 1);
  st = ebm_png_write(path, width, height, 3, img);
done:
  free(hist);
  free(dens);
  free(grid);
  free(counts);
  free(img);
  return st;
}

/* n items as an image grid of `cols` columns (0: square): chosen at random
 * (without repetition), or the first n in file order when `first` (a grid
 * the user arranged, e.g. sources and their translations). */
static ebm_status write_images_png(const char *path, const ebm_dataset *ds, int64_t n, uint64_t seed, int first,
                                   int cols) {
  const ebm_tensor *x = ds->x;
  if (x->shape[1] != 1 && x->shape[1] != 3)
    return ebm_set_error(EBM_ERR_UNSUPPORTED, "%s: images have %lld channels; can show 1 (gray) or 3 (RGB)",
                         ds->spec, (long long)x->shape[1]);
  int64_t total = x->shape[0], item = ebm_tensor_row_size(x);
  int64_t *order = malloc((size_t)total * sizeof *order);
  ebm_tensor *grid = ebm_tensor_new4(n, x->shape[1], x->shape[2], x->shape[3]);
  ebm_status st = EBM_OK;
  if (!order || !grid) {
    st = ebm_set_error(EBM_ERR_NOMEM, "out of memory drawing %s", path);
    goto done;
  }
  ebm_rng rng;
  ebm_rng_init(&rng, seed);
  for (int64_t i = 0; i < total; i++) order[i] = i;
  if (!first) ebm_rng_shuffle(&rng, order, total);
  for (int64_t i = 0; i < n; i++)
    memcpy(grid->data + i * item, x->data + order[i] * item, (size_t)item * sizeof(float));
  ebm_grid_opts opts = ebm_grid_defaults();
  opts.lo = ds->range_lo;
  opts.hi = ds->range_hi;
  opts.scale = x->shape[2] <= 64 ? 2 : 1;
  opts.ncols = cols;
  st = ebm_png_write_grid(path, grid, &opts);
done:
  free(order);
  ebm_tensor_free(grid);
  return st;
}

/* The toy named by a "toy:NAME[:...]" spec, or -1. */
static int spec_toy(const char *spec) {
  if (strncmp(spec, "toy:", 4) != 0) return -1;
  char name[32];
  size_t len = strcspn(spec + 4, ":");
  if (len >= sizeof name) return -1;
  memcpy(name, spec + 4, len);
  name[len] = '\0';
  return ebm_toy_from_name(name);
}

static int run_show(int argc, char **argv) {
  const char *out = NULL, *range = "0,1";
  int64_t n = 0, seed = 0;
  int first = 0, cols = 0;
  cli_opt opts[] = {
      {"out", OPT_PATH_OUT, &out, "FILE.png", "where to write the picture (required)"},
      {"first", OPT_FLAG, &first, NULL, "images: the first N in file order instead of N at random"},
      {"cols", OPT_INT, &cols, "C", "images: C per row (0: a square grid)"},
      {"n", OPT_INT64, &n, "N", "images to show (0: 64, or all when fewer), or points for 2-D data (0: 20000 fresh toy samples, or all points)"},
      {"seed", OPT_INT64, &seed, "S", "picks the images / draws the toy samples"},
      {"range", OPT_STRING, &range, "LO,HI", "map image bytes 0..255 to [LO,HI]"},
  };
  char *pos[1];
  int npos = 0;
  int rc = cli_parse("data show", opts, CLI_NOPTS(opts), argc, argv, pos, 1, &npos);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (npos != 1) return cli_usage_error("data show", "expected one data set spec");
  if (!out || !out[0]) return cli_usage_error("data show", "--out FILE.png is required");
  cli_path spec = {"data", pos[0], OPT_SPEC_IN};
  if ((rc = cli_check_paths("data show", opts, CLI_NOPTS(opts), &spec, 1))) return rc;
  if (n < 0) return cli_usage_error("data show", "--n must be at least 1 (or 0 for the default), got %lld", (long long)n);
  if (cols < 0 || cols > IMAGES_MAX)
    return cli_usage_error("data show", "--cols must be in 1..%d (or 0 for a square grid), got %d", IMAGES_MAX, cols);
  float lo, hi;
  if ((rc = cli_parse_range("data show", range, &lo, &hi))) return rc;
  ebm_dataset *ds;
  if ((rc = load("data show", pos[0], lo, hi, &ds))) return rc;

  ebm_status st = EBM_OK;
  const ebm_tensor *x = ds->x;
  int toy = spec_toy(ds->spec);
  if (x->ndim == 4) {
    if (n == 0) n = x->shape[0] < IMAGES_DEFAULT ? x->shape[0] : IMAGES_DEFAULT; /* a small set: all of it */
    if (n > IMAGES_MAX || n > x->shape[0]) {
      const int64_t have = x->shape[0]; /* read before ds (and x with it) is freed */
      ebm_dataset_free(ds);
      return cli_usage_error("data show", "--n %lld is more than the %lld images %s", (long long)n,
                             (long long)(have < IMAGES_MAX ? have : IMAGES_MAX),
                             have < IMAGES_MAX ? "in the data set" : "a grid may hold");
    }
    st = write_images_png(out, ds, n, (uint64_t)seed, first, cols);
    if (st == EBM_OK) printf("wrote %s: %lld images of %s\n", out, (long long)n, ds->spec);
  } else if (x->ndim == 2 && x->shape[1] == 2) {
    if (n > POINTS_MAX) {
      ebm_dataset_free(ds);
      return cli_usage_error("data show", "--n %lld is more than %d points", (long long)n, POINTS_MAX);
    }
    float *points = x->data;
    if (toy >= 0) {
      /* Fresh samples, so the histogram can be as fine as asked. */
      if (n == 0) n = TOY_DEFAULT_POINTS;
      points = malloc((size_t)n * 2 * sizeof *points);
      if (!points) st = ebm_set_error(EBM_ERR_NOMEM, "out of memory for %lld points", (long long)n);
      ebm_rng rng;
      ebm_rng_init(&rng, (uint64_t)seed);
      if (points) ebm_toy_sample((ebm_toy)toy, &rng, n, points, NULL);
    } else if (n == 0 || n > x->shape[0]) {
      n = x->shape[0];
    }
    if (st == EBM_OK) st = write_points_png(out, points, n, toy);
    if (points != x->data) free(points);
    if (st == EBM_OK)
      printf("wrote %s: histogram of %lld points%s\n", out, (long long)n,
             toy >= 0 ? " | exact density" : "");
  } else {
    char shape[64];
    st = ebm_set_error(EBM_ERR_UNSUPPORTED, "%s: items of shape %s: data show draws images (C×H×W) or 2-D points",
                       ds->spec, ebm_shape_str(x->ndim - 1, x->shape + 1, shape, sizeof shape));
  }
  ebm_dataset_free(ds);
  return st == EBM_OK ? CLI_EXIT_OK : cli_runtime_error(st);
}

CLI_COMMAND(data_show, "data show", "SPEC --out FILE.png [--n N] [--seed S] [--range LO,HI]",
            "draw a data set: an image grid, or a 2-D histogram beside the exact density",
            "Images: a grid of N items picked at random (--seed; --first: the first N in\n"
            "file order, --cols C per row, for a grid you arranged), in the --range they were\n"
            "loaded with. 2-D toys (toy:NAME): a histogram of N fresh samples (default\n"
            "20000) over [-4,4]^2 on the left and the toy's exact density p(x) on the\n"
            "right, on the same colour scale (dark = 0, bright = max p). Other 2-D data\n"
            "(npy N×2): the histogram alone. SPEC forms as for 'ebm data stats'.",
            run_show)
