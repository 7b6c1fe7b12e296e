/* Shape classifiers on generated items (class_shares.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "class_shares.h"

#define CLASSIFIER_BATCH 256

ebm_status cli_classify_sets(const char *ckpt, int64_t item, const char *items_what, int classes,
                             const char *shape_names, const cli_class_set *sets, int nsets, ebm_class_shares *out) {
  ebm_net *net = NULL;
  ebm_energy *en = NULL;
  ebm_status st = ebm_model_energy_load(ckpt, CLASSIFIER_BATCH, &net, &en);
  if (st == EBM_OK && ebm_energy_item_size(en) != item)
    st = ebm_set_error(EBM_ERR_SHAPE, "%s: the classifier takes %lld floats per item, %s", ckpt,
                       (long long)ebm_energy_item_size(en), items_what);
  if (st == EBM_OK && classes > 0 && en->num_classes != classes)
    st = ebm_set_error(EBM_ERR_ARG, "%s has %d classes; a shape classifier here needs %d (%s)", ckpt,
                       en->num_classes, classes, shape_names);
  for (int k = 0; st == EBM_OK && k < nsets; k++) st = ebm_classify_shares(en, sets[k].x, sets[k].n, sets[k].asked, &out[k]);
  ebm_energy_free(en);
  ebm_net_free(net);
  return st;
}

void cli_print_class_shares(const char *who, const ebm_class_shares *c) {
  printf("  %-8s classified as", who);
  for (int k = 0; k < c->classes; k++) {
    if (c->classes == EBM_SHAPE_COUNT) printf(" %s %.3f", ebm_shape_name((ebm_shape_kind)k), c->share[k]);
    else printf(" class %d %.3f", k, c->share[k]);
  }
  printf("; mean p(top class) %.3f, p >= 0.9 for %.3f", c->confidence, c->sure);
  if (!isnan(c->on_asked)) printf("; on the asked class %.3f", c->on_asked);
  printf("\n");
}

int cli_parse_asked(const char *verb, const char *spec, int *y) {
  char *end = NULL;
  const long v = strcmp(spec, "cycle") == 0 ? -1 : strtol(spec, &end, 10);
  if (v == -1 ? strcmp(spec, "cycle") != 0 : (end == spec || *end || v < 0 || v >= EBM_SHAPE_COUNT))
    return cli_usage_error(verb, "--asked must be 'cycle' or a class 0..%d (sphere, box, torus), got '%s'",
                           EBM_SHAPE_COUNT - 1, spec);
  *y = (int)v;
  return 0;
}

void cli_fill_asked(int32_t *asked, int64_t n, int y) {
  for (int64_t i = 0; asked && i < n; i++) asked[i] = y < 0 ? (int32_t)(i % EBM_SHAPE_COUNT) : y;
}
