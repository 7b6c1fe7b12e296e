/* Drawing from the 2-D toys (definitions in include/ebm/data.h). Serial on
 * purpose: each point takes a few draws from the caller's ebm_rng, so the
 * points depend only on the seed. Points outside [-4, 4]² (less than 1e-9
 * of the mass) are redrawn whole, component included, so the result is the
 * toy conditioned on the box. */
#include <math.h>
#include <string.h>

#include "data/toys.h"

static const char *const toy_names[EBM_TOY_COUNT] = {"8gaussians", "2spirals", "checkerboard",
                                                     "rings",      "moons",    "pinwheel"};
static const int toy_components[EBM_TOY_COUNT] = {8, 2, 8, TOY_RINGS_COUNT, 2, TOY_PINWHEEL_ARMS};

const char *ebm_toy_name(ebm_toy toy) {
  return (int)toy >= 0 && toy < EBM_TOY_COUNT ? toy_names[toy] : "?";
}

int ebm_toy_from_name(const char *name) {
  for (int t = 0; t < EBM_TOY_COUNT; t++)
    if (name && strcmp(name, toy_names[t]) == 0) return t;
  return -1;
}

int ebm_toy_num_components(ebm_toy toy) {
  return (int)toy >= 0 && toy < EBM_TOY_COUNT ? toy_components[toy] : 0;
}

/* The ring radius law ∝ ρ·exp(−(ρ−r)²/2σ²) on ρ > 0, exactly, by rejection.
 * With ρ = r + σz the target is (r + σz)φ(z); the proposal
 * (r + σ|z|)φ(z) dominates it and is a mixture of N(0,1) (mass r) and
 * ±Rayleigh(1) (mass σ√(2/π)); accept with (r + σz)/(r + σ|z|). */
static double ring_radius(ebm_rng *rng, double r, double sigma) {
  double p_normal = r / (r + sigma * sqrt(2.0 / TOY_PI));
  for (;;) {
    double z;
    if (ebm_rng_double(rng) < p_normal) {
      z = ebm_rng_gauss(rng);
    } else {
      z = sqrt(-2.0 * log1p(-ebm_rng_double(rng)));
      if (ebm_rng_double(rng) < 0.5) z = -z;
    }
    double rho = r + sigma * z;
    if (rho > 0 && ebm_rng_double(rng) * (r + sigma * fabs(z)) < rho) return rho;
  }
}

/* One point and its label (possibly outside the box: the caller redraws). */
static void draw_one(ebm_toy toy, ebm_rng *rng, double xy[2], int32_t *label) {
  switch (toy) {
    case EBM_TOY_8GAUSSIANS: {
      int k = (int)ebm_rng_below(rng, 8);
      xy[0] = TOY_8G_RADIUS * cos(TOY_PI * k / 4.0) + TOY_8G_SIGMA * ebm_rng_gauss(rng);
      xy[1] = TOY_8G_RADIUS * sin(TOY_PI * k / 4.0) + TOY_8G_SIGMA * ebm_rng_gauss(rng);
      *label = k;
      break;
    }
    case EBM_TOY_2SPIRALS:
    case EBM_TOY_MOONS: {
      int arm = (int)ebm_rng_below(rng, 2);
      double sign = arm ? -1.0 : 1.0, cx, cy, sigma;
      if (toy == EBM_TOY_2SPIRALS) {
        double u = sqrt(ebm_rng_double(rng)), a = TOY_SPIRAL_TURNS * TOY_PI * u;
        cx = TOY_SPIRAL_RADIUS * u * cos(a);
        cy = TOY_SPIRAL_RADIUS * u * sin(a);
        sigma = TOY_SPIRAL_SIGMA;
      } else {
        double t = ebm_rng_double(rng);
        cx = TOY_MOONS_SCALE * (cos(TOY_PI * t) - 0.5);
        cy = TOY_MOONS_SCALE * (sin(TOY_PI * t) - 0.25);
        sigma = TOY_MOONS_SIGMA;
      }
      xy[0] = sign * cx + sigma * ebm_rng_gauss(rng);
      xy[1] = sign * cy + sigma * ebm_rng_gauss(rng);
      *label = arm;
      break;
    }
    case EBM_TOY_CHECKERBOARD: {
      /* Dark cell c: row j = c/2, column i = 2(c%2) + j%2, so i+j is even. */
      int c = (int)ebm_rng_below(rng, 8), j = c / 2, i = 2 * (c % 2) + j % 2;
      xy[0] = -4.0 + TOY_CHECKER_SIDE * (i + ebm_rng_double(rng));
      xy[1] = -4.0 + TOY_CHECKER_SIDE * (j + ebm_rng_double(rng));
      *label = c;
      break;
    }
    case EBM_TOY_RINGS: {
      /* Ring k+1 has weight (k+1)/Σ: pick by the cumulative sum. */
      double total = TOY_RINGS_COUNT * (TOY_RINGS_COUNT + 1) / 2.0;
      double u = ebm_rng_double(rng) * total, acc = 0;
      int k = 0;
      for (; k < TOY_RINGS_COUNT - 1; k++) {
        acc += k + 1;
        if (u < acc) break;
      }
      double rho = ring_radius(rng, TOY_RINGS_STEP * (k + 1), TOY_RINGS_SIGMA);
      double theta = 2.0 * TOY_PI * ebm_rng_double(rng);
      xy[0] = rho * cos(theta);
      xy[1] = rho * sin(theta);
      *label = k;
      break;
    }
    case EBM_TOY_PINWHEEL:
    default: {
      int k = (int)ebm_rng_below(rng, TOY_PINWHEEL_ARMS);
      double a = 2.0 * TOY_PI * k / TOY_PINWHEEL_ARMS;
      double u = TOY_PINWHEEL_R0 + TOY_PINWHEEL_SIGMA_R * ebm_rng_gauss(rng);
      double v = TOY_PINWHEEL_SIGMA_T * ebm_rng_gauss(rng);
      double zx = cos(a) * u - sin(a) * v, zy = sin(a) * u + cos(a) * v;
      double twist = TOY_PINWHEEL_OMEGA * hypot(zx, zy);
      xy[0] = cos(twist) * zx - sin(twist) * zy;
      xy[1] = sin(twist) * zx + cos(twist) * zy;
      *label = k;
      break;
    }
  }
}

/* In the box, and for checkerboard still on the dark cell after rounding to
 * float (a coordinate just below a cell edge may round onto it). */
static int accept_point(ebm_toy toy, const float p[2]) {
  if (!(fabsf(p[0]) <= (float)EBM_TOY_EXTENT && fabsf(p[1]) <= (float)EBM_TOY_EXTENT)) return 0;
  if (toy != EBM_TOY_CHECKERBOARD) return 1;
  int i = (int)floorf((p[0] + 4.0f) / 2.0f), j = (int)floorf((p[1] + 4.0f) / 2.0f);
  return i >= 0 && i < 4 && j >= 0 && j < 4 && (i + j) % 2 == 0;
}

void ebm_toy_sample(ebm_toy toy, ebm_rng *rng, int64_t n, float *xy, int32_t *labels) {
  if ((int)toy < 0 || toy >= EBM_TOY_COUNT) return;
  for (int64_t i = 0; i < n; i++) {
    double p[2];
    float f[2];
    int32_t label;
    do {
      draw_one(toy, rng, p, &label);
      f[0] = (float)p[0];
      f[1] = (float)p[1];
    } while (!accept_point(toy, f));
    xy[2 * i] = f[0];
    xy[2 * i + 1] = f[1];
    if (labels) labels[i] = label;
  }
}
