/* Generated items through a shape classifier, for `ebm eval points` and
 * `ebm eval voxels`: loading the classifier with its checks, and the one
 * line of class shares each prints per set (ebm_classify_shares). */
#ifndef EBM_CLI_CLASS_SHARES_H
#define EBM_CLI_CLASS_SHARES_H

#include "cli.h"

/* One set of items to classify: n items, and the class each was asked
 * for (NULL: none). */
typedef struct {
  const float *x;
  int64_t n;
  const int32_t *asked;
} cli_class_set;

/* Loads the classifier at ckpt and classifies every set into out[k]. The
 * classifier must take `item` floats per item, else EBM_ERR_SHAPE reading
 * "CKPT: the classifier takes F floats per item, <items_what>"; with
 * classes > 0 it must have exactly that many classes (shape_names says
 * which), else EBM_ERR_ARG. */
ebm_status cli_classify_sets(const char *ckpt, int64_t item, const char *items_what, int classes,
                             const char *shape_names, const cli_class_set *sets, int nsets, ebm_class_shares *out);

/* "  WHO      classified as sphere 0.333 box 0.333 torus 0.333; mean p(top
 * class) 0.997, p >= 0.9 for 0.997" (a K ≠ 3 classifier: "class 0 …"),
 * and "; on the asked class 0.500" when the set was asked for classes. */
void cli_print_class_shares(const char *who, const ebm_class_shares *c);

/* --asked of `ebm eval voxels` and `ebm eval points`: "cycle" (sample i
 * asked for class i mod 3, what `ebm sample` gives a conditional model
 * without --class: *y = -1) or one class Y of the three shapes for all.
 * 0 or a usage error's exit code (verb names the command). */
int cli_parse_asked(const char *verb, const char *spec, int *y);
/* asked[i] for n samples from cli_parse_asked's y (NULL asked: nothing). */
void cli_fill_asked(int32_t *asked, int64_t n, int y);

#endif
