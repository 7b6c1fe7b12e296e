/* A recovery-likelihood model's schedule in its checkpoint (metadata
 * "recovery", written by `ebm train --method recovery`; a multi-level dsm
 * model's annealed Langevin schedule is the same text under
 * "annealed-langevin", with denoise=0|1), so `ebm sample`
 * and `ebm eval nll` need no flags, and the model's level-0 marginal
 * energy E(x, σ = s_1): the one `ebm eval nll` scores. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ebm.h"
#include "ebm/recovery_meta.h"
#include "sample/sampler_internal.h"

const char *ebm_recovery_config_format(const ebm_recovery_config *cfg, char *buf, size_t size) {
  int k = snprintf(buf, size, "levels=%d,sigma-min=%.9g,sigma-max=%.9g,steps=%d,step=%.9g", cfg->levels,
                   (double)cfg->sigma_min, (double)cfg->sigma_max, cfg->steps, (double)cfg->step);
  if (cfg->kind == EBM_LEVELS_ANNEALED && k > 0 && (size_t)k < size)
    snprintf(buf + k, size - (size_t)k, ",denoise=%d", cfg->denoise);
  return buf;
}

/* One "key=value" of the text form into *cfg. */
static ebm_status parse_pair(const char *key, const char *value, ebm_recovery_config *cfg) {
  char *end = NULL;
  const double v = strtod(value, &end);
  if (!value[0] || *end) return ebm_set_error(EBM_ERR_FORMAT, "recovery: %s expects a number, got '%s'", key, value);
  const int is_count = !strcmp(key, "levels") || !strcmp(key, "steps");
  if (is_count && !(v >= 0 && v <= 1e6 && v == floor(v))) /* a cast of anything else to int is undefined */
    return ebm_set_error(EBM_ERR_FORMAT, "recovery: %s expects a whole number in 0..1000000, got '%s'", key, value);
  if (!is_count && !isfinite(v)) return ebm_set_error(EBM_ERR_FORMAT, "recovery: %s is not finite: '%s'", key, value);
  if (!strcmp(key, "levels")) cfg->levels = (int)v;
  else if (!strcmp(key, "sigma-min")) cfg->sigma_min = (float)v;
  else if (!strcmp(key, "sigma-max")) cfg->sigma_max = (float)v;
  else if (!strcmp(key, "steps")) cfg->steps = (int)v;
  else if (!strcmp(key, "step")) cfg->step = (float)v;
  else if (!strcmp(key, "denoise") && (v == 0 || v == 1)) cfg->denoise = (int)v;
  else if (!strcmp(key, "denoise")) return ebm_set_error(EBM_ERR_FORMAT, "recovery: denoise is 0 or 1, got '%s'", value);
  else return ebm_set_error(EBM_ERR_FORMAT, "recovery: unknown key '%s'", key);
  return EBM_OK;
}

ebm_status ebm_recovery_config_parse(const char *text, ebm_recovery_config *cfg) {
  char buf[256];
  if (strlen(text) >= sizeof buf) return ebm_set_error(EBM_ERR_FORMAT, "recovery: schedule text too long");
  snprintf(buf, sizeof buf, "%s", text);
  ebm_recovery_config c = *cfg;
  char *save = NULL;
  for (char *pair = strtok_r(buf, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(pair, '=');
    if (!eq) return ebm_set_error(EBM_ERR_FORMAT, "recovery: '%s' is not key=value", pair);
    *eq = '\0';
    ebm_status st = parse_pair(pair, eq + 1, &c);
    if (st != EBM_OK) return st;
  }
  *cfg = c;
  return EBM_OK;
}

/* A schedule text over *out (an ebm_recovery_config), checked, its range kept. */
static ebm_status parse_schedule(const char *text, const char *path, void *out) {
  ebm_recovery_config *cfg = out, c = *cfg;
  ebm_status st = ebm_recovery_config_parse(text, &c);
  if (st == EBM_OK) st = ebm_recovery_config_check(&c);
  if (st != EBM_OK) return ebm_error_prefix(st, path);
  *cfg = c;
  return EBM_OK;
}

ebm_status ebm_recovery_config_from_checkpoint(const char *path, ebm_recovery_config *cfg, int *found) {
  ebm_recovery_config c = *cfg;
  c.kind = EBM_LEVELS_RECOVERY;
  ebm_status st = sample_checkpoint_meta(path, EBM_RECOVERY_META_KEY, parse_schedule, &c, found);
  if (st == EBM_OK && !*found) {
    c.kind = EBM_LEVELS_ANNEALED;
    c.denoise = 1;
    st = sample_checkpoint_meta(path, EBM_ANNEALED_META_KEY, parse_schedule, &c, found);
  }
  if (st == EBM_OK && *found) *cfg = c;
  return st;
}

/* ---------------------------------------------- the level-0 marginal */

typedef struct {
  const ebm_energy *inner;
  float *sigma;               /* [max_batch] all s_1 */
} level0;

static ebm_status level0_eval(void *self, const float *x, const ebm_cond *cond, int64_t n, float *e, float *grad) {
  level0 *l = self;
  ebm_cond c = {.labels = cond ? cond->labels : NULL, .sigma = l->sigma};
  return l->inner->eval(l->inner->self, x, &c, n, e, grad);
}

static void level0_destroy(void *self) {
  level0 *l = self;
  free(l->sigma);
  free(l);
}

ebm_status ebm_recovery_level0_energy(const ebm_energy *inner, const ebm_recovery_config *cfg, ebm_energy **out) {
  *out = NULL;
  if (!inner->needs_sigma) return ebm_set_error(EBM_ERR_ARG, "%s takes no noise level: it is its own level 0", inner->name);
  const int64_t batch = inner->max_batch > 0 ? inner->max_batch : 4096;
  level0 *l = calloc(1, sizeof *l);
  ebm_energy *en = l ? ebm_energy_alloc() : NULL;
  if (l) l->sigma = malloc((size_t)batch * sizeof *l->sigma);
  if (!l || !en || !l->sigma) {
    if (l) level0_destroy(l);
    free(en);
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  }
  l->inner = inner;
  const float s1 = ebm_recovery_sigma(cfg, 1);
  for (int64_t i = 0; i < batch; i++) l->sigma[i] = s1;
  ebm_energy_describe_like(en, inner);
  en->max_batch = batch;
  en->needs_sigma = 0;
  en->eval = level0_eval;
  en->destroy = level0_destroy;
  en->self = l;
  *out = en;
  return EBM_OK;
}
