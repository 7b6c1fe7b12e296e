/* Plot axis ticks (core/axis_ticks.h). */
#include "core/axis_ticks.h"

#include <math.h>

double axis_nice_step(double span, int target) {
  double raw = span / target, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
  return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
}

int axis_ticks(double lo, double hi, double step, double *out) {
  if (!(step > 0.0) || !isfinite(step) || !isfinite(lo) || !isfinite(hi)) return 0;
  const double first = ceil(lo / step) * step;
  int n = 0;
  for (; n < AXIS_MAX_TICKS; n++) {
    const double v = first + n * step;
    if (!(v <= hi + step * 1e-9) || (n > 0 && !(v > out[n - 1]))) break;
    out[n] = v;
  }
  return n;
}
