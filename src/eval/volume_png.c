/* Pictures of volumes (ebm/data_volumes.h): frame strips of videos and
 * three-view projections of voxel grids, laid out by ebm_png_write_grid. */
#include <stdlib.h>
#include <string.h>

#include "ebm.h"

ebm_status ebm_png_write_frames(const char *path, const float *videos, int64_t n, int c, int t, int h,
                                int w, float lo, float hi) {
  if (n < 1 || t < 1 || (c != 1 && c != 3))
    return ebm_set_error(EBM_ERR_ARG, "%s: a frame strip needs videos (got %lld) of 1 or 3 channels "
                         "(got %d) and frames (got %d)", path, (long long)n, c, t);
  ebm_tensor *frames = ebm_tensor_new4(n * t, c, h, w);
  if (!frames) return ebm_error_prefix(EBM_ERR_NOMEM, path);
  const int64_t plane = (int64_t)h * w;
  // videos are (n, c, t, h, w); frames are (n·t, c, h, w)
  for (int64_t v = 0; v < n; v++)
    for (int ch = 0; ch < c; ch++)
      for (int f = 0; f < t; f++)
        memcpy(frames->data + ((v * t + f) * c + ch) * plane, videos + ((v * c + ch) * t + f) * plane,
               (size_t)plane * sizeof(float));
  ebm_grid_opts o = ebm_grid_defaults();
  o.lo = lo, o.hi = hi, o.ncols = t;
  ebm_status st = ebm_png_write_grid(path, frames, &o);
  ebm_tensor_free(frames);
  return st;
}

ebm_status ebm_apng_write_videos(const char *path, const float *videos, int64_t n, int c, int t, int h,
                                 int w, float lo, float hi, int delay_ms) {
  if (n < 1 || t < 1 || (c != 1 && c != 3))
    return ebm_set_error(EBM_ERR_ARG, "%s: an animation needs videos (got %lld) of 1 or 3 channels "
                         "(got %d) and frames (got %d)", path, (long long)n, c, t);
  ebm_grid_opts o = ebm_grid_defaults();
  o.lo = lo, o.hi = hi, o.ncols = n < 8 ? (int)n : 8;
  o.scale = h <= 64 ? 2 : 1;
  const int64_t plane = (int64_t)h * w, shape[4] = {n, c, h, w};
  uint8_t *pixels = NULL;
  int gw = 0, gh = 0;
  ebm_status st = EBM_OK;
  for (int f = 0; f < t && !st; f++) {
    // frame f of every video: (n, c, h, w) with the strides of (n, c, t, h, w)
    ebm_tensor view = ebm_tensor_wrap((float *)videos + f * plane, 4, shape);
    view.stride[0] = (int64_t)c * t * plane, view.stride[1] = t * plane;
    uint8_t *frame;
    if ((st = ebm_grid_render(path, &view, &o, &frame, &gw, &gh))) break;
    const size_t bytes = (size_t)gw * (size_t)gh * (size_t)c;
    uint8_t *grown = f == 0 ? malloc(bytes * (size_t)t) : pixels;
    if (!grown) st = ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory for %d frames", path, t);
    else memcpy((pixels = grown) + bytes * (size_t)f, frame, bytes);
    free(frame);
  }
  if (!st) st = ebm_apng_write(path, gw, gh, c, t, pixels, delay_ms);
  free(pixels);
  return st;
}

/* One projection: the mean of g (d×h×w) along `axis` (0 = d, 1 = h,
 * 2 = w) into img (side×side, top-left), scaled by its largest value. */
static void project(const float *g, int d, int h, int w, int axis, int side, float *img) {
  const int dims[3] = {d, h, w};
  const int a = axis == 0 ? 1 : 0, b = axis == 2 ? 1 : 2; /* the two kept axes, rows then columns */
  float top = 0;
  memset(img, 0, (size_t)side * side * sizeof *img);
  for (int i = 0; i < dims[a]; i++)
    for (int j = 0; j < dims[b]; j++) {
      double s = 0;
      for (int k = 0; k < dims[axis]; k++) {
        int idx[3];
        idx[a] = i, idx[b] = j, idx[axis] = k;
        s += g[((int64_t)idx[0] * h + idx[1]) * w + idx[2]];
      }
      float v = (float)(s / dims[axis]);
      img[(int64_t)i * side + j] = v;
      if (v > top) top = v;
    }
  if (top > 0)
    for (int64_t i = 0; i < (int64_t)side * side; i++) img[i] /= top;
}

ebm_status ebm_png_write_voxels(const char *path, const float *grids, int64_t n, int d, int h, int w) {
  if (n < 1 || d < 1 || h < 1 || w < 1)
    return ebm_set_error(EBM_ERR_ARG, "%s: a voxel picture needs grids (got %lld) of a positive size",
                         path, (long long)n);
  int side = d > h ? d : h;
  if (w > side) side = w;
  ebm_tensor *views = ebm_tensor_new4(3 * n, 1, side, side);
  if (!views) return ebm_error_prefix(EBM_ERR_NOMEM, path);
  const int64_t vol = (int64_t)d * h * w, plane = (int64_t)side * side;
  for (int64_t i = 0; i < n; i++)
    for (int axis = 0; axis < 3; axis++)
      project(grids + i * vol, d, h, w, axis, side, views->data + (3 * i + axis) * plane);
  ebm_grid_opts o = ebm_grid_defaults();
  o.ncols = 3;
  o.scale = side < 64 ? 2 : 1;
  ebm_status st = ebm_png_write_grid(path, views, &o);
  ebm_tensor_free(views);
  return st;
}

/* The volume items of net: C×D×H×W; 1 when they are voxel grids (C = 1,
 * D = H = W), 0 for videos, −1 (error set) when net takes no volumes. */
static int volume_layout(const char *path, const ebm_net *net, int *c, int *d, int *h, int *w) {
  const int64_t depth = ebm_net_volume_depth(net), *shape = ebm_net_item_shape(net);
  if (depth < 1) {
    ebm_set_error(EBM_ERR_ARG, "%s: the network does not take volumes", path);
    return -1;
  }
  *c = (int)(shape[0] / depth), *d = (int)depth, *h = (int)shape[1], *w = (int)shape[2];
  return *c == 1 && *d == *h && *h == *w;
}

ebm_status ebm_png_write_volume_samples(const char *path, const ebm_net *net, const float *x, int64_t n,
                                        float lo, float hi) {
  int c, d, h, w, voxels = volume_layout(path, net, &c, &d, &h, &w);
  if (voxels < 0) return EBM_ERR_ARG;
  if (voxels) return ebm_png_write_voxels(path, x, n, d, h, w);
  return ebm_png_write_frames(path, x, n, c, d, h, w, lo, hi);
}

ebm_status ebm_apng_write_volume_samples(const char *path, const ebm_net *net, const float *x, int64_t n,
                                         float lo, float hi) {
  int c, d, h, w, voxels = volume_layout(path, net, &c, &d, &h, &w);
  if (voxels < 0) return EBM_ERR_ARG;
  if (voxels) return EBM_OK;
  return ebm_apng_write_videos(path, x, n, c, d, h, w, lo, hi, EBM_APNG_FRAME_MS);
}
