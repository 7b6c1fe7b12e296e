/* Data outside the range a model works in (issue 13, item 8): samplers
 * clamp to the range and image tools map it to pixels, so values beyond it
 * give wrong answers without a word. The verbs warn and name the fix. */
#include <math.h>

#include "cli.h"

int cli_warn_outside_range(const char *verb, const char *what, const float *x, int64_t n, float lo, float hi,
                           const char *flag) {
  float vmin = INFINITY, vmax = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    if (x[i] < vmin) vmin = x[i];
    if (x[i] > vmax) vmax = x[i];
  }
  if (n == 0 || (vmin >= lo && vmax <= hi)) return 0;
  fprintf(stderr, "ebm %s: warning: %s has values in [%g, %g], outside the range [%g, %g]", verb, what,
          (double)vmin, (double)vmax, (double)lo, (double)hi);
  if (flag) fprintf(stderr, "; pass %s %g,%g (or rescale the data)\n", flag, floor((double)vmin), ceil((double)vmax));
  else fprintf(stderr, "; rescale it to the model's range\n");
  return 1;
}
