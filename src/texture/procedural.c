/* Procedural textures, so tests and the README have inputs without
 * downloads: a rotated checkerboard, wavy stripes, scattered soft discs.
 * Each is stationary (the same statistics everywhere), which is what a
 * texture model assumes, and a function of the seed only. */
#include <math.h>
#include <string.h>

#include "texture/texture_internal.h"

#define PI 3.14159265358979323846

/* The two colours every texture mixes (grey: their luminance). */
static const float colour_a[3] = {0.90f, 0.78f, 0.30f}, colour_b[3] = {0.12f, 0.22f, 0.50f};

/* A smooth 0→1 step over [−0.5, 0.5] px: anti-aliased edges. */
static double edge(double d) { return d < -0.5 ? 0 : d > 0.5 ? 1 : d + 0.5; }

/* Each texture draws a field v (h×w in [0, 1]: how much of colour b). */
static void checks(float *v, int h, int w, ebm_rng *rng) {
  const double half = 8, theta = 0.35 + 0.2 * ebm_rng_double(rng);
  const double ox = 2 * half * ebm_rng_double(rng), oy = 2 * half * ebm_rng_double(rng);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double u = x * cos(theta) + y * sin(theta) + ox, t = -x * sin(theta) + y * cos(theta) + oy;
      v[(int64_t)y * w + x] = (float)(((int64_t)floor(u / half) + (int64_t)floor(t / half)) & 1);
    }
}

static void stripes(float *v, int h, int w, ebm_rng *rng) {
  const double period = 10, wave = 24, amp = 3, phase = 2 * PI * ebm_rng_double(rng);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double u = x + amp * sin(2 * PI * y / wave + phase);
      v[(int64_t)y * w + x] = (float)(0.5 + 0.5 * sin(2 * PI * u / period));
    }
}

/* Discs of radius 3–6 px at uniform positions, about a quarter of the
 * area covered, drawn on a torus so the edges match. */
static void blobs(float *v, int h, int w, ebm_rng *rng) {
  const int64_t hw = (int64_t)h * w;
  memset(v, 0, (size_t)hw * sizeof *v);
  int count = (int)(0.25 * (double)hw / (PI * 4.5 * 4.5)) + 1;
  for (int i = 0; i < count; i++) {
    double cx = w * ebm_rng_double(rng), cy = h * ebm_rng_double(rng), r = 3 + 3 * ebm_rng_double(rng);
    for (int dy = -(int)r - 1; dy <= (int)r + 1; dy++)
      for (int dx = -(int)r - 1; dx <= (int)r + 1; dx++) {
        int x = ((int)floor(cx) + dx) % w, y = ((int)floor(cy) + dy) % h;
        if (x < 0) x += w;
        if (y < 0) y += h;
        double d = hypot(floor(cx) + dx + 0.5 - cx, floor(cy) + dy + 0.5 - cy);
        float cover = (float)(1 - edge(d - r));
        float *p = &v[(int64_t)y * w + x];
        if (cover > *p) *p = cover;
      }
  }
}

static const struct {
  const char *name;
  void (*draw)(float *v, int h, int w, ebm_rng *rng);
} textures[] = {{"checks", checks}, {"stripes", stripes}, {"blobs", blobs}};

const char *ebm_texture_names(void) { return "checks, stripes, blobs"; }

ebm_status ebm_texture_make(const char *name, int c, int h, int w, uint64_t seed, float *out) {
  if (c != 1 && c != 3)
    return ebm_set_error(EBM_ERR_ARG, "texture %s: 1 (grey) or 3 (RGB) channels, got %d", name, c);
  if (h < 1 || w < 1 || h > 8192 || w > 8192)
    return ebm_set_error(EBM_ERR_ARG, "texture %s: size %dx%d, each side must be in 1..8192", name, w, h);
  for (size_t i = 0; i < sizeof textures / sizeof textures[0]; i++)
    if (strcmp(textures[i].name, name) == 0) {
      ebm_rng rng;
      ebm_rng_init(&rng, seed);
      /* the field goes in the first plane, then becomes colours: pixel p
       * reads v[p] before writing any plane at p */
      const int64_t hw = (int64_t)h * w;
      textures[i].draw(out, h, w, &rng);
      for (int64_t p = 0; p < hw; p++) {
        float v = out[p];
        for (int ch = 0; ch < c; ch++) {
          float a = c == 3 ? colour_a[ch] : 0.299f * colour_a[0] + 0.587f * colour_a[1] + 0.114f * colour_a[2];
          float b = c == 3 ? colour_b[ch] : 0.299f * colour_b[0] + 0.587f * colour_b[1] + 0.114f * colour_b[2];
          out[ch * hw + p] = a + (b - a) * v;
        }
      }
      return EBM_OK;
    }
  return ebm_set_error(EBM_ERR_ARG, "unknown texture '%s' (known: %s)", name, ebm_texture_names());
}
