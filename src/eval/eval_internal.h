/* eval/eval_internal.h — helpers the files of src/eval share. Not public. */
#ifndef EBM_EVAL_INTERNAL_H
#define EBM_EVAL_INTERNAL_H

#include <stdint.h>

/* Φ⁻¹(p) for p in (0, 1), the standard normal quantile, to ~1e-15 relative
 * (Acklam's rational approximation and one Halley step); ±inf at 0 and 1. */
double eval_normal_quantile(double p);

#endif
