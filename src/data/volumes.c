/* Synthetic volumes (ebm/data_volumes.h): moving items on a canvas and
 * voxel shapes. One ebm_rng stream per item (split by item index), so an
 * item does not depend on how many come before it. */
#include <math.h>
#include <string.h>

#include "ebm.h"

/* ------------------------------------------------------------ videos */

/* A coordinate moving with velocity v inside [0, span], reflected at both
 * ends: the position after t frames from p0. */
static double bounce(double p0, double v, int t, double span) {
  if (span <= 0) return 0;
  double p = fmod(p0 + v * t, 2 * span);
  if (p < 0) p += 2 * span;
  return p > span ? 2 * span - p : p;
}

/* One of the m items of `size` values, drawn from rng: both kinds of moving
 * video draw video v's item first from its own stream, so a video moved
 * along a given path holds the item the bouncing law would move. */
static const float *draw_item(const float *items, int64_t m, int64_t size, ebm_rng *rng) {
  return items + (int64_t)ebm_rng_below(rng, (uint32_t)(m > 0xffffffffLL ? 0xffffffffLL : m)) * size;
}

ebm_status ebm_make_moving(const float *items, int64_t m, int ih, int iw, int64_t n, int frames,
                           int side, int per_video, uint64_t seed, float *out) {
  if (m < 1 || ih < 1 || iw < 1 || ih > side || iw > side || frames < 1 || n < 0 || per_video < 1)
    return ebm_set_error(EBM_ERR_ARG, "moving items: need items (got %lld of %dx%d) no larger than the "
                         "%dx%d canvas, frames >= 1 (got %d), items per video >= 1 (got %d)",
                         (long long)m, iw, ih, side, side, frames, per_video);
  const int64_t plane = (int64_t)side * side;
  ebm_rng base;
  ebm_rng_init(&base, seed);
  memset(out, 0, (size_t)(n * frames * plane) * sizeof *out);
  for (int64_t v = 0; v < n; v++) {
    ebm_rng rng = ebm_rng_split(&base, (uint64_t)v);
    float *video = out + v * frames * plane;
    for (int k = 0; k < per_video; k++) {
      const float *item = draw_item(items, m, ih * iw, &rng);
      double spanx = side - iw, spany = side - ih;
      double x0 = spanx * ebm_rng_double(&rng), y0 = spany * ebm_rng_double(&rng);
      double speed = 1 + 2 * ebm_rng_double(&rng), angle = 2 * 3.14159265358979323846 * ebm_rng_double(&rng);
      double vx = speed * cos(angle), vy = speed * sin(angle);
      for (int t = 0; t < frames; t++) {
        int x = (int)lround(bounce(x0, vx, t, spanx)), y = (int)lround(bounce(y0, vy, t, spany));
        float *frame = video + t * plane;
        // item is (ih, iw) at (y, x) of the frame (side, side)
        for (int r = 0; r < ih; r++)
          for (int c = 0; c < iw; c++) {
            float *p = &frame[(int64_t)(y + r) * side + x + c];
            float val = item[r * iw + c];
            if (val > *p) *p = val;
          }
      }
    }
  }
  return EBM_OK;
}

/* The centre of brightness of one h×w frame over its positive values;
 * 0 when there are none. */
static int frame_centre(const float *f, int h, int w, double *x, double *y) {
  double mass = 0, sx = 0, sy = 0;
  for (int r = 0; r < h; r++)
    for (int c = 0; c < w; c++) {
      const double v = f[(int64_t)r * w + c];
      if (v > 0) mass += v, sx += v * c, sy += v * r;
    }
  if (!(mass > 0)) return 0;
  *x = sx / mass, *y = sy / mass;
  return 1;
}

ebm_status ebm_track_centres(const float *videos, int64_t n, int frames, int h, int w, float *paths) {
  if (n < 0 || frames < 1 || h < 1 || w < 1)
    return ebm_set_error(EBM_ERR_ARG, "track centres: need frames >= 1 (got %d) of at least 1x1 (got %dx%d)", frames,
                         w, h);
  const int64_t plane = (int64_t)h * w;
  for (int64_t v = 0; v < n; v++) {
    double x = (w - 1) / 2.0, y = (h - 1) / 2.0; /* an empty first frame: the canvas centre */
    for (int t = 0; t < frames; t++) {
      frame_centre(videos + (v * frames + t) * plane, h, w, &x, &y); /* empty: keeps the last point */
      paths[(v * frames + t) * 2] = (float)x;
      paths[(v * frames + t) * 2 + 1] = (float)y;
    }
  }
  return EBM_OK;
}

ebm_status ebm_make_moving_along(const float *items, int64_t m, int ih, int iw, const float *paths, int64_t n,
                                 int frames, int side, uint64_t seed, float *out) {
  if (m < 1 || ih < 1 || iw < 1 || ih > side || iw > side || frames < 1 || n < 0)
    return ebm_set_error(EBM_ERR_ARG, "moving items along paths: need items (got %lld of %dx%d) no larger than the "
                         "%dx%d canvas, frames >= 1 (got %d)", (long long)m, iw, ih, side, side, frames);
  for (int64_t k = 0; k < n * frames; k++) {
    const float px = paths[2 * k], py = paths[2 * k + 1];
    if (!isfinite(px) || !isfinite(py) || px < 0 || py < 0 || px > side - 1 || py > side - 1)
      return ebm_set_error(EBM_ERR_ARG, "path of video %lld, frame %lld: point (%g, %g) is %s the %dx%d canvas "
                           "(x and y in [0, %d])", (long long)(k / frames), (long long)(k % frames), (double)px,
                           (double)py, isfinite(px) && isfinite(py) ? "off" : "not a number on", side, side, side - 1);
  }
  const int64_t plane = (int64_t)side * side;
  ebm_rng base;
  ebm_rng_init(&base, seed);
  memset(out, 0, (size_t)(n * frames * plane) * sizeof *out);
  for (int64_t v = 0; v < n; v++) {
    ebm_rng rng = ebm_rng_split(&base, (uint64_t)v);
    const float *item = draw_item(items, m, ih * iw, &rng);
    double cx = (iw - 1) / 2.0, cy = (ih - 1) / 2.0; /* a blank item: its box's centre */
    frame_centre(item, ih, iw, &cx, &cy);
    for (int t = 0; t < frames; t++) {
      const float *p = paths + (v * frames + t) * 2;
      const int x = (int)lround(p[0] - cx), y = (int)lround(p[1] - cy);
      float *frame = out + (v * frames + t) * plane;
      // item is (ih, iw) at (y, x) of the frame (side, side), cut at the edges
      for (int r = 0; r < ih; r++) {
        if (y + r < 0 || y + r >= side) continue;
        for (int c = 0; c < iw; c++)
          if (x + c >= 0 && x + c < side) frame[(int64_t)(y + r) * side + x + c] = item[r * iw + c];
      }
    }
  }
  return EBM_OK;
}

/* ------------------------------------------------------------ voxels */

static const char *const shape_names[] = {"sphere", "box", "torus"};

const char *ebm_shape3d_name(int label) { return label >= 0 && label < 3 ? shape_names[label] : "?"; }

/* Whether point p (voxel units, relative to the shape's centre) is inside. */
static int inside(int label, const double p[3], const double size[3], int axis) {
  switch (label) {
  case 0:
    return p[0] * p[0] + p[1] * p[1] + p[2] * p[2] <= size[0] * size[0];
  case 1:
    return fabs(p[0]) <= size[0] && fabs(p[1]) <= size[1] && fabs(p[2]) <= size[2];
  default: {
    /* a ring of radius size[0] around `axis`, tube radius size[1] */
    double a = p[axis], u = p[(axis + 1) % 3], w = p[(axis + 2) % 3];
    double ring = sqrt(u * u + w * w) - size[0];
    return ring * ring + a * a <= size[1] * size[1];
  }
  }
}

ebm_status ebm_make_shapes3d(int64_t n, int side, uint64_t seed, float *out, int32_t *labels) {
  if (side < 8 || side > 1024 || n < 0)
    return ebm_set_error(EBM_ERR_ARG, "shapes3d: side must be in 8..1024 (got %d), n >= 0", side);
  const int64_t vol = (int64_t)side * side * side;
  ebm_rng base;
  ebm_rng_init(&base, seed);
  for (int64_t i = 0; i < n; i++) {
    ebm_rng rng = ebm_rng_split(&base, (uint64_t)i);
    int label = (int)(i % 3);
    double size[3], centre[3], extent;
    int axis = (int)ebm_rng_below(&rng, 3);
    if (label == 0) {
      size[0] = side * (0.15 + 0.15 * ebm_rng_double(&rng));
      extent = size[0];
    } else if (label == 1) {
      extent = 0;
      for (int d = 0; d < 3; d++) {
        size[d] = side * (0.1 + 0.2 * ebm_rng_double(&rng));
        if (size[d] > extent) extent = size[d];
      }
    } else {
      size[0] = side * (0.18 + 0.1 * ebm_rng_double(&rng));
      size[1] = side * (0.06 + 0.05 * ebm_rng_double(&rng));
      extent = size[0] + size[1];
    }
    /* the centre keeps the whole shape inside the grid */
    for (int d = 0; d < 3; d++) {
      double lo = extent + 0.5, hi = side - extent - 0.5;
      centre[d] = hi > lo ? lo + (hi - lo) * ebm_rng_double(&rng) : side / 2.0;
    }
    float *grid = out + i * vol;
    // grid is (D, H, W) = (z, y, x)
    for (int z = 0; z < side; z++)
      for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
          double p[3] = {x + 0.5 - centre[0], y + 0.5 - centre[1], z + 0.5 - centre[2]};
          grid[((int64_t)z * side + y) * side + x] = inside(label, p, size, axis) ? 1.0f : 0.0f;
        }
    if (labels) labels[i] = label;
  }
  return EBM_OK;
}
