/* The method table: one row per estimator, in --method order. A new
 * estimator is one file (src/train/method_NAME.c defining a train_method)
 * plus one row here. The first three rows are ebm_train_method's enum. */
#include <string.h>

#include "train/train_internal.h"

extern const train_method train_method_pcd, train_method_short_run, train_method_cd;
extern const train_method train_method_nce;
extern const train_method train_method_dsm, train_method_ssm;
extern const train_method train_method_recovery;
extern const train_method train_method_flow, train_method_fce;
extern const train_method train_method_jem; /* method_jem.c */
extern const train_method train_method_gebm, train_method_coop, train_method_latent;
extern const train_method train_method_ebc; /* method_ebc.c */

static const train_method *const methods[] = {
    &train_method_pcd,
    &train_method_short_run,
    &train_method_cd,
    &train_method_nce,
    &train_method_dsm,
    &train_method_ssm,
    &train_method_recovery,
    &train_method_flow,
    &train_method_fce,
    &train_method_jem,
    &train_method_gebm,
    &train_method_coop,
    &train_method_latent,
    &train_method_ebc,
};

int train_method_count(void) { return (int)(sizeof methods / sizeof *methods); }

const train_method *train_method_at(int index) {
  return index >= 0 && index < train_method_count() ? methods[index] : NULL;
}

int ebm_train_method_count(void) { return train_method_count(); }

const char *ebm_train_method_name(ebm_train_method method) {
  const train_method *m = train_method_at((int)method);
  return m ? m->name : "?";
}

int ebm_train_method_owns_model(ebm_train_method method) {
  const train_method *m = train_method_at((int)method);
  return m && (m->needs & TRAIN_OWN_MODEL);
}

const char *ebm_train_method_summary(ebm_train_method method) {
  const train_method *m = train_method_at((int)method);
  return m ? m->summary : "";
}

int ebm_train_method_from_name(const char *name) {
  for (int i = 0; name && i < train_method_count(); i++)
    if (strcmp(name, methods[i]->name) == 0) return i;
  return -1;
}

const char *ebm_train_method_list(void) {
  static char list[512];
  if (!list[0])
    for (int i = 0; i < train_method_count(); i++) {
      size_t len = strlen(list);
      snprintf(list + len, sizeof list - len, "%s%s", i ? " | " : "", methods[i]->name);
    }
  return list;
}
