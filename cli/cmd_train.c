/* `ebm train`: fits an energy by one of the registered estimators (--method;
 * src/train/methods.c) into a run directory, resumable bit-exactly. The
 * training settings are the library's settings table (ebm/train.h): every
 * row is a flag here, with its help line, and config.json records them
 * under the same names. Settings resolve in this order: the recipe
 * (--preset; the default "auto" picks the one that fits the data, or the
 * architecture preset's own: ebm_train_recipe_for_arch) or, on --resume, the run's config.json; then
 * the flags given, in table order. The few flags that are not settings of
 * the training (data, architecture, run directory, periods) are the verb's
 * own, below. */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

#define VERB "train"
#define MAX_ARCH_BYTES (1 << 20)

/* The verb's own flags (not training settings). */
typedef struct {
  const char *data, *arch, *preset, *out, *budget, *budget_clock, *init_from;
  int width, depth, resume, force, report, budget_total;
  double epochs;
  int64_t save_every, sample_every, log_every, sample_count;
} train_flags;

/* Verb flags a resume may not change, and flags that are not recorded. */
static const char *const identity_flags[] = {"data", "arch", "width", "depth", "init-from", NULL};
static const char *const transient_flags[] = {"resume", "out", "force", "report", "budget", "budget-clock",
                                              "budget-total", NULL};

static int in_list(const char *const *list, const char *name) {
  for (int i = 0; list[i]; i++)
    if (strcmp(list[i], name) == 0) return 1;
  return 0;
}

/* Every option of the verb: its own flags first (nverb), then one per
 * settings row (setting k is option nverb + k). A setting's option is a
 * string holding the default's text (or a flag, for booleans), so --help
 * shows the defaults; given[] says which were on the command line. */
typedef struct {
  train_flags f;
  cli_opt *opts;
  int nverb, nopts;
  unsigned char *given;
  const char **text;   /* per setting */
  int *flag;           /* per boolean setting */
  char **defaults;     /* per setting: the default's text (owned) */
  char *method_help;
  ebm_dist *dist;      /* under mpirun: this rank's place (ebm/dist.h); rank 0 talks */
  int generator_method; /* gebm, coop, latent-ebm: the data pick the networks not given */
  int arch_defaulted;  /* --arch was not given: f.arch is the data's preset */
  char energy_preset[EBM_TRAIN_TEXT_SIZE];
} train_cli;

/* --------------------------------------------------- flag values as text */

/* The shortest text that reads back as the same float. */
static void float_text(float v, char *buf, size_t size) {
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(buf, size, "%.*g", prec, (double)v);
    if ((float)strtod(buf, NULL) == v) return;
  }
}

static void opt_text(const cli_opt *o, char *buf, size_t size) {
  if (cli_opt_is_text(o->kind)) {
    snprintf(buf, size, "%s", *(const char **)o->dst ? *(const char **)o->dst : "");
    return;
  }
  switch (o->kind) {
    case OPT_INT: snprintf(buf, size, "%d", *(int *)o->dst); break;
    case OPT_INT64: snprintf(buf, size, "%lld", (long long)*(int64_t *)o->dst); break;
    case OPT_FLOAT: float_text(*(float *)o->dst, buf, size); break;
    case OPT_DOUBLE: snprintf(buf, size, "%.17g", *(double *)o->dst); break;
    case OPT_FLAG: snprintf(buf, size, "%d", *(int *)o->dst); break;
    default: break;
  }
}

/* Sets an option from a config.json value; 0, or 1 if the type is wrong. */
static int opt_from_json(const cli_opt *o, const cJSON *v) {
  if (cli_opt_is_text(o->kind)) {
    if (cJSON_IsNull(v)) *(const char **)o->dst = NULL;
    else if (cJSON_IsString(v)) *(const char **)o->dst = v->valuestring; /* lives with the cJSON tree */
    else return 1;
    return 0;
  }
  if (o->kind == OPT_FLAG) {
    if (!cJSON_IsBool(v)) return 1;
    *(int *)o->dst = cJSON_IsTrue(v);
    return 0;
  }
  if (o->kind == OPT_INT64 && cJSON_IsString(v)) { /* beyond 2^53, kept exact as text */
    char *end = NULL;
    long long x = strtoll(v->valuestring, &end, 10);
    if (end == v->valuestring || *end) return 1;
    *(int64_t *)o->dst = (int64_t)x;
    return 0;
  }
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return 1;
  const double d = v->valuedouble;
  /* a whole number the type holds: casting 1e20 to int is undefined behaviour */
  if ((o->kind == OPT_INT && !(d == floor(d) && d >= INT_MIN && d <= INT_MAX)) ||
      (o->kind == OPT_INT64 && !(d == floor(d) && fabs(d) < 9223372036854775808.0)))
    return 1;
  switch (o->kind) {
    case OPT_INT: *(int *)o->dst = (int)d; break;
    case OPT_INT64: *(int64_t *)o->dst = (int64_t)d; break;
    case OPT_FLOAT: *(float *)o->dst = (float)v->valuedouble; break;
    case OPT_DOUBLE: *(double *)o->dst = v->valuedouble; break;
    default: break;
  }
  return 0;
}

static cJSON *opt_to_json(const cli_opt *o) {
  char text[64];
  if (cli_opt_is_text(o->kind)) {
    const char *s = *(const char **)o->dst;
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
  }
  switch (o->kind) {
    case OPT_FLAG: return cJSON_CreateBool(*(int *)o->dst);
    case OPT_INT64: /* JSON numbers are doubles: larger integers go as text */
      opt_text(o, text, sizeof text);
      return *(int64_t *)o->dst >= -(1LL << 53) && *(int64_t *)o->dst <= (1LL << 53) ? cJSON_CreateRaw(text)
                                                                                : cJSON_CreateString(text);
    default: opt_text(o, text, sizeof text); return cJSON_CreateRaw(text);
  }
}

/* ------------------------------------------------------------ the options */

static void train_cli_free(train_cli *c) {
  for (int k = 0; c->defaults && k < c->nopts - c->nverb; k++) free(c->defaults[k]);
  free(c->defaults);
  free(c->opts);
  free(c->given);
  free(c->text);
  free(c->flag);
  free(c->method_help);
  ebm_dist_close(c->dist);
}

/* " (lr 0.001, beta1 0.9, clip-std 0)": the common settings whose default
 * the method sets otherwise (ebm_train_defaults_for), or "" when none. */
static void method_defaults_text(ebm_train_method m, char *buf, size_t size) {
  const ebm_train_config common = ebm_train_defaults(), mine = ebm_train_defaults_for(m);
  char a[EBM_TRAIN_TEXT_SIZE + 64], b[EBM_TRAIN_TEXT_SIZE + 64];
  size_t len = 0;
  buf[0] = '\0';
  for (int k = 0, n = ebm_train_setting_count(); k < n && len < size; k++) {
    const ebm_train_setting *s = ebm_train_setting_at(k);
    if (strcmp(s->name, "method") == 0) continue;
    ebm_train_setting_text(&common, s, a, sizeof a);
    ebm_train_setting_text(&mine, s, b, sizeof b);
    if (strcmp(a, b) != 0) len += (size_t)snprintf(buf + len, size - len, "%s%s %s", len ? ", " : " (", s->name, b);
  }
  if (len && len < size) snprintf(buf + len, size - len, ")");
}

static ebm_status train_cli_build(train_cli *c) {
  train_flags *f = &c->f;
  const ebm_train_config d = ebm_train_defaults();
  f->preset = "auto";
  f->depth = -1;
  f->save_every = 1000;
  f->sample_every = 500;
  f->log_every = 1;
  f->sample_count = 64;
  const cli_opt verb[] = {
      {"data", OPT_SPEC_IN, &f->data, "SPEC", "training data (fashion-mnist, mnist, npy:FILE, toy:NAME)"},
      {"arch", OPT_STRING, &f->arch, "ARCH", "mlp | uva-cnn | igebm-mnist | igebm-cifar | pointnet | dgcnn | video-convnet | video-st | voxelnet | jem-cnn, JSON or @FILE"},
      {"init-from", OPT_PATH_IN, &f->init_from, "CKPT", "start from this network checkpoint's weights and "
                                                         "architecture instead of --arch (fine-tuning: new optimiser, "
                                                         "buffer and step count)"},
      {"width", OPT_INT, &f->width, "W", "preset width (0: the preset's)"},
      {"depth", OPT_INT, &f->depth, "D", "mlp hidden layers (-1: the preset's)"},
      {"preset", OPT_STRING, &f->preset, "NAME", "recipe for the settings not given: auto (fits the data: toy-2d, "
                                                 "vectors or images = igebm; --arch pointnet, dgcnn, voxelnet or video-st: its own) | igebm (Du & Mordatch) | uva "
                                                 "(bench/torch_reference.py) | fresh (uva with short-run chains "
                                                 "from the data's Gaussian, lr 5e-4: best fresh samples measured)"},
      {"epochs", OPT_DOUBLE, &f->epochs, "E", "train this many passes over the data instead of --iters"},
      {"out", OPT_STRING, &f->out, "RUN_DIR", "the run directory (required)"},
      {"resume", OPT_FLAG, &f->resume, NULL, "continue RUN_DIR's run from its last checkpoint (bit-exact)"},
      {"force", OPT_FLAG, &f->force, NULL, "start a new run in a non-empty RUN_DIR that is not a run"},
      {"save-every", OPT_INT64, &f->save_every, "N", "checkpoint period in steps (0: only at the end)"},
      {"sample-every", OPT_INT64, &f->sample_every, "N", "samples/step_N.png period (0: never)"},
      {"sample-count", OPT_INT64, &f->sample_count, "N", "negatives drawn in a sample picture"},
      {"log-every", OPT_INT64, &f->log_every, "N", "metrics.jsonl period (0: never)"},
      {"report", OPT_FLAG, &f->report, NULL, "rewrite RUN_DIR/report.html (ebm report) every --sample-every steps"},
      {"budget", OPT_STRING, &f->budget, "TIME", "stop cleanly (saved, resumable) before this much time (wall time unless --budget-clock cpu): "
                                                 "90s, 10m, 1.5h; without --iters or --epochs the run's length "
                                                 "is fitted to it from the first steps' time"},
      {"budget-clock", OPT_STRING, &f->budget_clock, "CLOCK", "what --budget counts: wall (the default) or cpu, "
                                                              "this process's CPU time over all its threads (the "
                                                              "same work on a busy machine; 1 h of 2 cores = "
                                                              "--budget 2h --budget-clock cpu)"},
      {"budget-total", OPT_FLAG, &f->budget_total, NULL, "--budget is the whole run's, over every part "
                                                         "(resumes) so far (RUN_DIR/ckpt/last.clock.json), not this "
                                                         "call's: a run killed and resumed with the same command gets it once"},
  };
  const int nverb = CLI_NOPTS(verb), nset = ebm_train_setting_count();
  c->nverb = nverb;
  c->nopts = nverb + nset;
  c->opts = calloc((size_t)c->nopts, sizeof *c->opts);
  c->given = calloc((size_t)c->nopts, 1);
  c->text = calloc((size_t)nset, sizeof *c->text);
  c->flag = calloc((size_t)nset, sizeof *c->flag);
  c->defaults = calloc((size_t)nset, sizeof *c->defaults);
  size_t help_size = 64;
  char method_defaults[160];
  for (int m = 0; m < ebm_train_method_count(); m++)
    help_size += 48 + sizeof method_defaults + strlen(ebm_train_method_summary((ebm_train_method)m));
  c->method_help = malloc(help_size);
  if (!c->opts || !c->given || !c->text || !c->flag || !c->defaults || !c->method_help)
    return ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  /* one line per registered estimator, under the flag's help column */
  size_t len = (size_t)snprintf(c->method_help, help_size, "the estimator, one of:");
  for (int m = 0; m < ebm_train_method_count(); m++) {
    method_defaults_text((ebm_train_method)m, method_defaults, sizeof method_defaults);
    len += (size_t)snprintf(c->method_help + len, help_size - len, "\n%27s%-10s %s%s", "",
                            ebm_train_method_name((ebm_train_method)m), ebm_train_method_summary((ebm_train_method)m),
                            method_defaults);
  }
  memcpy(c->opts, verb, sizeof verb);
  for (int k = 0; k < nset; k++) {
    const ebm_train_setting *s = ebm_train_setting_at(k);
    char text[EBM_TRAIN_TEXT_SIZE + 64];
    ebm_train_setting_text(&d, s, text, sizeof text);
    if (!(c->defaults[k] = strdup(text))) return ebm_set_error(EBM_ERR_NOMEM, "out of memory");
    c->text[k] = c->defaults[k];
    cli_opt *o = &c->opts[nverb + k];
    o->name = s->name;
    o->kind = s->type == EBM_SETTING_BOOL ? OPT_FLAG : OPT_STRING;
    o->dst = s->type == EBM_SETTING_BOOL ? (void *)&c->flag[k] : (void *)&c->text[k];
    o->metavar = s->type == EBM_SETTING_BOOL ? NULL : s->metavar;
    o->help = strcmp(s->name, "method") == 0 ? c->method_help : s->help;
  }
  return EBM_OK;
}

static int setting_given(const train_cli *c, int k) { return c->given[c->nverb + k]; }

/* 1 when the setting `name` was on the command line. */
static int named_setting_given(const train_cli *c, const char *name) {
  for (int k = 0, n = ebm_train_setting_count(); k < n; k++)
    if (strcmp(ebm_train_setting_at(k)->name, name) == 0) return setting_given(c, k);
  return 0;
}

/* A setting's text as given on the command line. */
static const char *setting_arg(const train_cli *c, int k) {
  return ebm_train_setting_at(k)->type == EBM_SETTING_BOOL ? (c->flag[k] ? "true" : "false") : c->text[k];
}

/* ------------------------------------------------ presets and config.json */

/* Reads RUN/config.json into *tree, and the verb flags not given from it;
 * refuses changes to the flags that shape the run. */
static int load_saved(train_cli *c, cJSON **tree) {
  char path[4096];
  uint8_t *text = NULL;
  size_t size = 0;
  snprintf(path, sizeof path, "%s/config.json", c->f.out);
  ebm_status st = ebm_read_file(path, MAX_ARCH_BYTES * 4, &text, &size);
  if (st != EBM_OK) return cli_runtime_error(ebm_error_prefix(st, "--resume"));
  cJSON *root = cJSON_ParseWithLength((const char *)text, size);
  free(text);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return cli_runtime_error(ebm_set_error(EBM_ERR_FORMAT, "%s: not a JSON object", path));
  }
  *tree = root;
  for (int i = 0; i < c->nverb; i++) {
    const cli_opt *o = &c->opts[i];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, o->name);
    if (!v || in_list(transient_flags, o->name)) continue;
    if (c->given[i]) {
      char mine[512], saved[512];
      cli_opt tmp = *o;
      union { const char *s; int i; int64_t l; float f; double d; } slot;
      tmp.dst = &slot;
      if (opt_from_json(&tmp, v)) continue;
      opt_text(o, mine, sizeof mine);
      opt_text(&tmp, saved, sizeof saved);
      if (strcmp(mine, saved) != 0 && in_list(identity_flags, o->name))
        return cli_usage_error(VERB, "--%s %s differs from the run's %s (%s); a resumed run keeps its data, "
                               "architecture and shapes", o->name, mine, saved, path);
      continue;
    }
    if (opt_from_json(o, v))
      return cli_runtime_error(ebm_set_error(
          EBM_ERR_FORMAT, "%s: '%s' has the wrong type (or is a number out of its range)", path, o->name));
  }
  return 0;
}

/* The saved run's settings into *cfg (ebm_train_config_from_json: a key a
 * run of an older version did not record resumes as it was trained). */
static int settings_from_saved(const train_cli *c, const cJSON *saved, ebm_train_config *cfg) {
  char path[4096], *text = cJSON_PrintUnformatted(saved);
  if (!text) return cli_runtime_error(ebm_set_error(EBM_ERR_NOMEM, "out of memory"));
  snprintf(path, sizeof path, "%s/config.json", c->f.out);
  ebm_status st = ebm_train_config_from_json(text, path, cfg);
  cJSON_free(text);
  return st == EBM_OK ? 0 : cli_runtime_error(st);
}

/* The settings given on the command line, in table order, over *cfg. On a
 * resume (`resumed`), one that shapes the run may not change, another says
 * what it replaces. */
static int apply_given(const train_cli *c, ebm_train_config *cfg, int resumed) {
  char before[EBM_TRAIN_TEXT_SIZE + 64], after[EBM_TRAIN_TEXT_SIZE + 64];
  for (int k = 0, n = ebm_train_setting_count(); k < n; k++) {
    if (!setting_given(c, k)) continue;
    const ebm_train_setting *s = ebm_train_setting_at(k);
    const char *arg = setting_arg(c, k);
    float lo, hi;
    if (strcmp(s->name, "range") == 0 && cli_parse_range(VERB, arg, &lo, &hi)) return CLI_EXIT_USAGE;
    ebm_train_setting_text(cfg, s, before, sizeof before);
    if (ebm_train_config_set(cfg, s->name, arg) != EBM_OK) return cli_usage_error(VERB, "--%s", ebm_last_error());
    ebm_train_setting_text(cfg, s, after, sizeof after);
    if (!resumed || strcmp(before, after) == 0) continue;
    if (s->flags & EBM_SETTING_IDENTITY)
      return cli_usage_error(VERB, "--%s %s differs from the run's %s (%s/config.json); a resumed run keeps its "
                             "data, architecture and shapes", s->name, after, before, c->f.out);
    fprintf(stderr, "ebm train: --%s %s replaces the run's %s\n", s->name, after, before);
  }
  return 0;
}

/* config.json: the verb's flags and every setting under its name, plus the
 * version, the recipe and (new runs) the architecture. *text is malloc'd. */
static ebm_status config_text(const train_cli *c, const char *arch_json, const cJSON *saved,
                              const ebm_train_config *cfg, const char *recipe, char **text) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "version", ebm_version());
  for (int i = 0; i < c->nverb; i++)
    if (!in_list(transient_flags, c->opts[i].name))
      cJSON_AddItemToObject(root, c->opts[i].name, opt_to_json(&c->opts[i]));
  char *settings = ebm_train_config_json(cfg);
  cJSON *s = settings ? cJSON_Parse(settings) : NULL;
  ebm_train_config_json_free(settings);
  for (cJSON *item = s ? s->child : NULL; item; item = item->next)
    cJSON_AddItemToObject(root, item->string, cJSON_Duplicate(item, 1));
  cJSON_Delete(s);
  cJSON_AddNumberToObject(root, "resolved_iters", (double)cfg->iters);
  const cJSON *kept_recipe = saved ? cJSON_GetObjectItemCaseSensitive(saved, "recipe") : NULL;
  if (recipe) cJSON_AddStringToObject(root, "recipe", recipe);
  else if (cJSON_IsString(kept_recipe)) cJSON_AddStringToObject(root, "recipe", kept_recipe->valuestring);
  const cJSON *kept = saved ? cJSON_GetObjectItemCaseSensitive(saved, "arch_json") : NULL;
  cJSON *arch = arch_json ? cJSON_Parse(arch_json) : kept ? cJSON_Duplicate(kept, 1) : NULL;
  if (arch) cJSON_AddItemToObject(root, "arch_json", arch);
  *text = cJSON_Print(root);
  cJSON_Delete(root);
  return *text ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory writing config.json");
}

/* ------------------------------------------------------- architecture */

/* The run's architecture JSON: a preset name (with --width/--depth and the
 * data's classes and vector size) or JSON text / @FILE, with its "range" set
 * to the training range. *json is malloc'd. */
static ebm_status resolve_arch(const train_flags *f, const ebm_dataset *ds, const ebm_train_config *cfg,
                               char **json) {
  char *text = NULL;
  ebm_net *probe = NULL;
  ebm_status st = EBM_OK;
  *json = NULL;
  if (f->arch[0] == '{') {
    text = strdup(f->arch);
  } else if (f->arch[0] == '@') {
    uint8_t *buf = NULL;
    size_t size = 0;
    if ((st = ebm_read_file(f->arch + 1, MAX_ARCH_BYTES, &buf, &size)) != EBM_OK) return st;
    text = malloc(size + 1);
    if (text) {
      memcpy(text, buf, size);
      text[size] = '\0';
    }
    free(buf);
  } else {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "preset", f->arch);
    if (cfg->conditional) cJSON_AddNumberToObject(c, "classes", ds->num_classes);
    if (strcmp(f->arch, "mlp") == 0) cJSON_AddNumberToObject(c, "in_dim", (double)ebm_tensor_row_size(ds->x));
    if ((strcmp(f->arch, "pointnet") == 0 || strcmp(f->arch, "dgcnn") == 0) && ds->x->ndim >= 3) /* clouds of P points: items [1,] P, 3 */
      cJSON_AddNumberToObject(c, "in_dim", (double)ds->x->shape[ds->x->ndim - 2]);
    if (f->width > 0) cJSON_AddNumberToObject(c, "width", f->width);
    if (f->depth >= 0) cJSON_AddNumberToObject(c, "depth", f->depth);
    text = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
  }
  if (!text) return ebm_set_error(EBM_ERR_NOMEM, "out of memory reading --arch");
  if ((st = ebm_net_new(text, 1, &probe)) != EBM_OK) {
    ebm_error_prefix(st, "--arch");
    goto done;
  }
  cJSON *root = cJSON_Parse(ebm_net_arch_json(probe));
  cJSON *range = cJSON_CreateArray();
  cJSON_AddItemToArray(range, cJSON_CreateNumber(cfg->range_lo));
  cJSON_AddItemToArray(range, cJSON_CreateNumber(cfg->range_hi));
  if (cJSON_GetObjectItemCaseSensitive(root, "range")) cJSON_ReplaceItemInObjectCaseSensitive(root, "range", range);
  else cJSON_AddItemToObject(root, "range", range);
  *json = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (!*json) st = ebm_set_error(EBM_ERR_NOMEM, "out of memory writing the architecture");
done:
  ebm_net_free(probe);
  free(text);
  return st;
}

/* --init-from: the checkpoint's architecture, for config.json (the
 * library loads the weights). *json is malloc'd. */
static ebm_status checkpoint_arch(const char *path, char **json) {
  ebm_net *probe = NULL;
  ebm_status st = ebm_net_load(path, 0, &probe);
  if (st != EBM_OK) return ebm_error_prefix(st, "--init-from");
  *json = strdup(ebm_net_arch_json(probe));
  ebm_net_free(probe);
  return *json ? EBM_OK : ebm_set_error(EBM_ERR_NOMEM, "out of memory reading %s", path);
}

/* --------------------------------------------------------------- running */

static volatile sig_atomic_t stop_requested;

/* The first SIGINT, SIGTERM or SIGHUP (terminal closed) finishes the step
 * and saves; a second stops at once without saving, which is safe: the
 * checkpoint on disk is the last complete save (writes are atomic), and the
 * temp file a cut save leaves is removed by the next start. Both say so on
 * stderr (write(2): the only output allowed in a handler). */
static void say(const char *text) {
  ssize_t r = write(STDERR_FILENO, text, strlen(text));
  (void)r;
}

static void on_signal(int sig) {
  const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "signal";
  if (stop_requested) {
    say("\nebm train: second ");
    say(name);
    say(": stopping now without saving; the last saved checkpoint is intact\n");
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  stop_requested = sig;
  say("\nebm train: ");
  say(name);
  say(": finishing this step, then saving (a second signal stops at once without saving)\n");
}

typedef struct {
  ebm_progress *progress;   /* this invocation's steps (made at the first one) */
  int64_t first, iters, steps_run;
  ebm_train_stats last;
  const char *report_dir;   /* --report: the run to rewrite report.html for */
  int64_t report_every;
} run_watch;

/* --report: a page that cannot be written costs one warning, not the run. */
static void refresh_report(const char *run_dir) {
  if (ebm_report_write(run_dir, NULL) != EBM_OK) fprintf(stderr, "ebm train: report: %s\n", ebm_last_error());
}

static void on_step(void *ctx, const ebm_train_stats *s) {
  run_watch *w = ctx;
  char metric[128];
  if (!w->progress) {
    w->first = s->step - 1;
    w->progress = ebm_progress_new(stderr, "train", w->iters - w->first);
  }
  if (s->iters != w->iters) { /* --budget fitted the run's length */
    w->iters = s->iters;
    ebm_progress_set_total(w->progress, w->iters - w->first);
  }
  w->last = *s;
  w->steps_run++;
  snprintf(metric, sizeof metric, "loss %.4g e+ %.4g e- %.4g", s->loss, s->e_pos, s->e_neg);
  ebm_progress_update(w->progress, s->step - w->first, metric);
  if (w->report_dir && (s->step % w->report_every == 0 || s->step == w->iters)) refresh_report(w->report_dir);
}

/* A message of ebm_train_config_check, which starts with the field ("lr
 * must be > 0, got -1", "step_size must be ..."), as a usage error naming
 * the flag: "--lr must be > 0, got -1". */
static int config_usage_error(const char *msg) {
  char flag[32];
  size_t len = strcspn(msg, " ");
  if (len >= sizeof flag) return cli_usage_error(VERB, "%s", msg);
  memcpy(flag, msg, len);
  flag[len] = '\0';
  for (char *p = flag; *p; p++)
    if (*p == '_') *p = '-';
  if (strcmp(flag, "leapfrog-steps") == 0) strcpy(flag, "leapfrog");
  return cli_usage_error(VERB, "--%s%s", flag, msg + len);
}

/* ------------------------------------------------------- the run's settings */

/* "90", "90s", "10m", "1.5h" → seconds (> 0); -1 if malformed. */
static double parse_duration(const char *text) {
  char *end = NULL;
  double v = strtod(text, &end);
  if (end == text || !isfinite(v) || !(v > 0)) return -1;
  double unit = !*end || strcmp(end, "s") == 0 ? 1 : strcmp(end, "m") == 0 ? 60 : strcmp(end, "h") == 0 ? 3600 : -1;
  return unit > 0 ? v * unit : -1;
}

static int check_flags(const train_flags *f) {
  if (!f->out || !f->out[0]) return cli_usage_error(VERB, "--out RUN_DIR is required");
  if (!f->data) return cli_usage_error(VERB, "--data SPEC is required (%s)", ebm_dataset_spec_forms());
  if (!(f->epochs >= 0)) return cli_usage_error(VERB, "--epochs must be >= 0, got %g", f->epochs);
  if (f->width < 0) return cli_usage_error(VERB, "--width must be >= 0 (0: the preset's), got %d", f->width);
  if (f->depth < -1) return cli_usage_error(VERB, "--depth must be >= 0 (-1: the preset's), got %d", f->depth);
  if (f->save_every < 0 || f->sample_every < 0 || f->log_every < 0)
    return cli_usage_error(VERB, "--save-every, --sample-every and --log-every must be >= 0");
  if (f->sample_count < 1) return cli_usage_error(VERB, "--sample-count must be >= 1, got %lld", (long long)f->sample_count);
  if (f->budget && parse_duration(f->budget) < 0)
    return cli_usage_error(VERB, "--budget expects a positive time such as 90s, 10m or 1.5h, got '%s'", f->budget);
  if (f->budget_clock && strcmp(f->budget_clock, "wall") != 0 && strcmp(f->budget_clock, "cpu") != 0)
    return cli_usage_error(VERB, "--budget-clock expects wall or cpu, got '%s'", f->budget_clock);
  if (f->budget_clock && !f->budget) return cli_usage_error(VERB, "--budget-clock needs a --budget to count");
  if (f->budget_total && !f->budget) return cli_usage_error(VERB, "--budget-total needs a --budget to count");
  return 0;
}

/* Bounds the CLI puts on top of ebm_train_config_check (memory for a batch). */
static int check_settings(const ebm_train_config *cfg) {
  if (cfg->batch < 1 || cfg->batch > 65536)
    return cli_usage_error(VERB, "--batch must be in 1..65536, got %lld", (long long)cfg->batch);
  if (cfg->sampler.steps < 0) return cli_usage_error(VERB, "--steps must be >= 0, got %d", cfg->sampler.steps);
  if (cfg->buffer_size < 1) return cli_usage_error(VERB, "--buffer must be >= 1, got %lld", (long long)cfg->buffer_size);
  if (cfg->iters < 0) return cli_usage_error(VERB, "--iters must be >= 0, got %lld", (long long)cfg->iters);
  return 0;
}

/* The index of a verb option or setting by name (they all exist). */
static int opt_index(const train_cli *c, const char *name) {
  for (int i = 0; i < c->nopts; i++)
    if (strcmp(c->opts[i].name, name) == 0) return i;
  return -1;
}

/* --epochs E sets the run's length from the data's size (unless --iters is given). */
static int apply_epochs(const train_cli *c, const ebm_dataset *ds, ebm_train_config *cfg) {
  const int iters_given = c->given[opt_index(c, "iters")];
  if (iters_given && c->given[opt_index(c, "epochs")])
    return cli_usage_error(VERB, "--iters and --epochs both given; the run's length is one or the other");
  if (c->f.epochs > 0 && !iters_given) {
    double it = ceil(c->f.epochs * (double)ds->x->shape[0] / (double)cfg->batch);
    if (it > 1e12) return cli_usage_error(VERB, "--epochs %g is too many", c->f.epochs);
    cfg->iters = (int64_t)it;
  }
  return 0;
}

/* The run's data and settings: the recipe (fresh run) or the saved run,
 * then the flags given (checked once before the data are loaded, so a bad
 * flag is named before a long load). *recipe: the recipe's name (NULL on
 * resume). */
static int resolve_run(const train_cli *c, const cJSON *saved, ebm_train_config *cfg, ebm_dataset **ds,
                       const char **recipe) {
  const train_flags *f = &c->f;
  const int auto_recipe = !saved && strcmp(f->preset, "auto") == 0;
  ebm_train_config probe;
  int rc;
  *recipe = saved ? NULL : f->preset;
  if (saved) {
    if ((rc = settings_from_saved(c, saved, cfg))) return rc;
  } else if (auto_recipe) {
    *cfg = ebm_train_defaults();
  } else if (ebm_train_preset(f->preset, cfg) != EBM_OK) {
    return cli_usage_error(VERB, "--preset: %s, or auto", ebm_last_error());
  }
  if ((rc = check_flags(f))) return rc;
  if (!saved && strncmp(f->data, "toy:", 4) == 0) (void)ebm_train_config_set(cfg, "range", "-4,4");
  probe = *cfg;
  if ((rc = apply_given(c, &probe, 0))) return rc;
  if (f->arch && !c->arch_defaulted && f->init_from && !f->resume)
    return cli_usage_error(VERB, "--arch and --init-from both given; the network comes from the checkpoint");
  if (!f->arch && !f->init_from && !f->resume && !ebm_train_method_owns_model(probe.method)) /* a flow needs none */
    return cli_usage_error(VERB, "--arch is required (mlp, uva-cnn, igebm-mnist, igebm-cifar, pointnet, video-convnet, video-st, voxelnet, JSON or @FILE)");
  ebm_status st = ebm_dataset_load(f->data, probe.range_lo, probe.range_hi, ds);
  if (st == EBM_ERR_ARG) return cli_usage_error(VERB, "--data: %s", ebm_last_error());
  if (st != EBM_OK) return cli_runtime_error(st);
  if (auto_recipe) { /* the data decide (2-D toys, vectors, images), or the preset (pointnet, voxelnet, video-st) */
    cfg->method = probe.method; /* the method may adjust the data's recipe */
    /* a generator method given no --arch: the data's preset energy brings its recipe (clouds: pointnet's,
     * voxel grids: voxelnet's, videos: video-st's), not the placeholder mlp */
    const int energy_by_data = c->generator_method && (c->arch_defaulted || !f->arch);
    *recipe = ebm_train_recipe_for_arch(*ds, energy_by_data ? ebm_train_generator_energy_recipe(*ds) : f->arch, cfg);
  }
  if ((rc = apply_given(c, cfg, saved != NULL)) || (rc = apply_epochs(c, *ds, cfg)) || (rc = check_settings(cfg)))
    return rc;
  if (auto_recipe && ebm_dist_rank(c->dist) == 0) { /* the settings as they run: the flags given are in them */
    char what[160];
    snprintf(what, sizeof what, "%s, %s ε %g x %d, α %g, Adam %g β1 %g%s", ebm_train_method_name(cfg->method),
             ebm_sampler_name(cfg->sampler.kind),
             (double)cfg->sampler.step_size, cfg->sampler.steps, (double)cfg->alpha, (double)cfg->adam.lr,
             (double)cfg->adam.beta1, cfg->lr_decay == EBM_LR_COSINE ? ", cosine decay" : "");
    fprintf(stderr, "ebm train: recipe %s for %s (%s, with the flags given; --preset igebm|uva|fresh|icd picks "
            "another)\n", *recipe, f->data, what);
  }
  if (!saved && !named_setting_given(c, "slices")) cfg->slices = ebm_dist_size(c->dist); /* one per rank */
  if (ebm_augment_check(cfg->augment, (*ds)->x->ndim - 1) != EBM_OK)
    return cli_usage_error(VERB, "--%s", ebm_last_error());
  if (ebm_augment_check(cfg->data_augment, (*ds)->x->ndim - 1) != EBM_OK)
    return cli_usage_error(VERB, "--data-%s", ebm_last_error());
  const char *inject = getenv("EBM_TEST_INJECT_NAN_AT"); /* test hook: a NaN energy at this step */
  if (inject && *inject) cfg->inject_nan_at = strtoll(inject, NULL, 10);
  if (ebm_train_config_check(cfg) != EBM_OK) return config_usage_error(ebm_last_error());
  cli_warn_outside_range(VERB, f->data, (*ds)->x->data, ebm_tensor_numel((*ds)->x), cfg->range_lo, cfg->range_hi,
                         "--range");
  return 0;
}

/* One line with the run's time over all its parts (ckpt/last.clock.json),
 * after a resume or a budget: what a budgeted run's record needs. */
static void print_run_clock(const char *run_dir, int64_t step) {
  ebm_run_clock clock;
  char since[96] = "";
  if (ebm_run_clock_read(run_dir, &clock) != EBM_OK || clock.step != step) return;
  if (clock.since_step)
    snprintf(since, sizeof since, " since step %lld (the time before it is not recorded)", (long long)clock.since_step);
  const long long steps = (long long)(clock.step - clock.since_step);
  fprintf(stderr, "ebm train: %s has trained %lld step%s%s in %.1f CPU-s (%.1f s wall) over %lld part%s\n", run_dir,
          steps, steps == 1 ? "" : "s", since, clock.cpu_seconds, clock.wall_seconds, (long long)clock.parts,
          clock.parts == 1 ? "" : "s");
}

/* Trains with the signal handlers in place; prints the summary line. */
static int train_and_report(const train_cli *c, const ebm_dataset *ds, const ebm_train_config *cfg,
                            const char *arch, const char *config) {
  const train_flags *f = &c->f;
  char seed_text[32], ckpt[4096];
  snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)cfg->seed);
  const char *keys[] = {"version", "data", "method", "seed"};
  const char *values[] = {ebm_version(), f->data, ebm_train_method_name(cfg->method), seed_text};
  run_watch w = {0};
  ebm_run_opts o = {.run_dir = f->out, .arch_json = arch, .resume = f->resume, .force = f->force,
                    .init_from = f->resume ? NULL : f->init_from,
                    .save_every = f->save_every, .sample_every = f->sample_every, .log_every = f->log_every,
                    .sample_count = f->sample_count, .meta_keys = keys, .meta_values = values, .n_meta = 4,
                    .config_json = config, .stop = &stop_requested, .ctx = &w, .dist = c->dist,
                    .budget_seconds = f->budget ? parse_duration(f->budget) : 0,
                    .budget_cpu = f->budget_clock && strcmp(f->budget_clock, "cpu") == 0,
                    .budget_of_run = f->budget_total,
                    /* no length asked for: the budget sets it */
                    .budget_fits_iters = f->budget && !f->resume && !c->given[opt_index(c, "iters")] &&
                                         !c->given[opt_index(c, "epochs")]};
  const int root = ebm_dist_rank(c->dist) == 0; /* the rank that talks */
  if (root) o.on_step = on_step;
  struct sigaction sa, old_int, old_term, old_hup;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGHUP, &sa, &old_hup);
  int64_t done_steps = 0;
  w.iters = cfg->iters;
  w.report_dir = f->report ? f->out : NULL;
  w.report_every = f->sample_every > 0 ? f->sample_every : cfg->iters > 0 ? cfg->iters : 1;
  const double t0 = ebm_now_seconds();
  ebm_status st = ebm_train_run(ds, cfg, &o, &done_steps);
  ebm_progress_finish(w.progress);
  if (f->report) { /* the final state, a divergence or an interruption included */
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", ebm_last_error());
    refresh_report(f->out);
    if (st != EBM_OK) ebm_set_error(st, "%s", keep);
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGHUP, &old_hup, NULL);
  if (st == EBM_ERR_INTERRUPTED) {
    if (root) fprintf(stderr, "ebm: %s\n", ebm_last_error());
    return 128 + (int)(stop_requested ? stop_requested : SIGINT); /* a rank the signal missed stops too */
  }
  if (st != EBM_OK && !root) { /* another rank speaks of its own failure, saying which rank it is */
    if (strncmp(ebm_last_error(), "rank ", 5) != 0)
      fprintf(stderr, "ebm: rank %d: %s\n", ebm_dist_rank(c->dist), ebm_last_error());
    return CLI_EXIT_RUNTIME;
  }
  if (st != EBM_OK) return cli_runtime_error(st);
  if (!root) return CLI_EXIT_OK;
  if (done_steps < w.iters)
    fprintf(stderr, "ebm train: the %s--budget %s%s ran out at step %lld of %lld; saved (continue with --resume)\n",
            f->budget_total ? "run's " : "", f->budget, o.budget_cpu ? " of CPU time" : "", (long long)done_steps,
            (long long)w.iters);
  else if (w.iters != cfg->iters)
    fprintf(stderr, "ebm train: --budget %s%s fitted the run to %lld steps after timing %d (config.json records it)\n",
            f->budget, o.budget_cpu ? " of CPU time" : "", (long long)w.iters, 1 + EBM_RUN_FIT_STEPS);
  if (f->resume || f->budget) print_run_clock(f->out, done_steps);
  printf("trained %s on %s: step %lld of %lld in %.1f s; ", ebm_train_method_name(cfg->method), f->data,
         (long long)done_steps, (long long)w.iters, ebm_now_seconds() - t0);
  if (w.steps_run) printf("loss %.4g e_pos %.4g e_neg %.4g; ", w.last.loss, w.last.e_pos, w.last.e_neg);
  else printf("no steps run (untrained); "); /* no made-up zeros */
  printf("checkpoint %s\n", ebm_run_ckpt_path(f->out, ckpt, sizeof ckpt));
  return CLI_EXIT_OK;
}

/* `ebm train --method gebm|coop|latent-ebm --data D` needs no --arch or
 * --generator: until the data are loaded the energy is a placeholder mlp;
 * then the data pick both (ebm_train_generator_presets). */
static void default_arch(train_cli *c) {
  const int i = opt_index(c, "method");
  const char *method = i >= c->nverb && c->given[i] ? c->text[i - c->nverb] : "";
  c->generator_method = strcmp(method, "gebm") == 0 || strcmp(method, "coop") == 0 || strcmp(method, "latent-ebm") == 0;
  if (!c->f.arch && !c->f.resume && c->generator_method && strcmp(method, "latent-ebm") != 0) {
    c->f.arch = "mlp";
    c->arch_defaulted = 1;
  }
}

/* The data's networks for what was not given, and one line saying which
 * (2-D toys keep the mlp preset with --width / --depth). */
static int pick_generator_presets(train_cli *c, const ebm_dataset *ds, const ebm_train_config *cfg) {
  if (!c->generator_method || c->f.resume) return 0;
  const int generator_given = cfg->generator.arch[0] != '\0';
  if (generator_given && !c->arch_defaulted) return 0;
  char generator[EBM_TRAIN_TEXT_SIZE];
  if (ebm_train_generator_presets(ds, cfg, c->energy_preset, sizeof c->energy_preset, generator, sizeof generator) !=
      EBM_OK)
    return generator_given ? 0 : cli_usage_error(VERB, "%s", ebm_last_error()); /* vectors keep the mlp energy */
  const int image = ds->x->ndim - 1 == 3;
  if (c->arch_defaulted && image) c->f.arch = c->energy_preset;
  if (ebm_dist_rank(c->dist) != 0) return 0;
  fprintf(stderr, "ebm train: presets for %s:", c->f.data);
  if (c->arch_defaulted) fprintf(stderr, " energy %s%s", image ? c->energy_preset : "mlp", generator_given ? "" : ",");
  if (!generator_given) fprintf(stderr, " generator %s", generator);
  fprintf(stderr, " (--arch / --generator override)\n");
  return 0;
}

static int run_train(int argc, char **argv) {
  train_cli c = {0};
  cJSON *saved = NULL;
  ebm_dataset *ds = NULL;
  char *arch = NULL, *config = NULL;
  const char *recipe = NULL;
  ebm_train_config cfg;
  ebm_status st;
  int rc = train_cli_build(&c) != EBM_OK ? cli_runtime_error(EBM_ERR_NOMEM) : 0;
  if (!rc && (rc = cli_parse_given(VERB, c.opts, c.nopts, argc, argv, NULL, 0, NULL, c.given)) < 0) {
    rc = CLI_EXIT_OK; /* --help */
    goto done;
  }
  if (!rc && ebm_dist_open(&c.dist) != EBM_OK) rc = cli_runtime_error(EBM_ERR_UNSUPPORTED);
  if (!rc && c.f.resume && c.f.out) rc = load_saved(&c, &saved);
  if (!rc) default_arch(&c);
  if (rc || (rc = resolve_run(&c, saved, &cfg, &ds, &recipe)) || (rc = pick_generator_presets(&c, ds, &cfg)))
    goto done;
  if (!c.f.resume && c.f.init_from) st = checkpoint_arch(c.f.init_from, &arch);
  else if (!c.f.resume && c.f.arch) st = resolve_arch(&c.f, ds, &cfg, &arch);
  else st = EBM_OK;
  if (st != EBM_OK) {
    rc = st == EBM_ERR_ARG ? cli_usage_error(VERB, "%s", ebm_last_error()) : cli_runtime_error(st);
    goto done;
  }
  if ((st = config_text(&c, arch, saved, &cfg, recipe, &config)) != EBM_OK) {
    rc = cli_runtime_error(st);
    goto done;
  }
  rc = train_and_report(&c, ds, &cfg, arch, config);
done:
  free(arch);
  cJSON_free(config);
  ebm_dataset_free(ds);
  cJSON_Delete(saved);
  train_cli_free(&c);
  return rc;
}

CLI_COMMAND(train, "train", "--data SPEC (--arch ARCH | --method flow) --out RUN_DIR [--method M] [--iters N | --epochs E] [options]",
            "train an energy model with MCMC negatives",
            "Trains E(x) (or E(x, y) with --conditional) by maximum likelihood: each step pushes the energy\n"
            "down on a data batch and up on negatives drawn by K MCMC steps (pcd: persistent chains from a\n"
            "replay buffer, 5% fresh noise; short-run: chains from noise; cd: chains from the data). The\n"
            "defaults fit the data (--preset auto, one line says which): 2-D toys and vectors get ULA with\n"
            "ε 0.05, α 0.01 and Adam 3e-3 (nce 1e-2) with cosine decay; images the IGEBM recipe (Du &\n"
            "Mordatch A.11), whose values the defaults below show, but for the few a method sets itself (in\n"
            "brackets after its line under --method: jem's Adam); --preset igebm or uva (the PyTorch reference\n"
            "bench/torch_reference.py) choose one; --preset fresh is uva's with short-run chains from a\n"
            "Gaussian fitted to the data and lr 5e-4, the recipe measured best for fresh samples. Improved contrastive divergence (Du, Li, Tenenbaum,\n"
            "Mordatch 2021): --kl-weight,\n"
            "--entropy-weight, --augment and --buffer-policy reservoir; --preset icd is uva's with lr 5e-4,\n"
            "--kl-weight 1 --entropy-weight 0.3 --augment flip,shift,noise (the ablation's best, README). RUN_DIR receives config.json,\n"
            "metrics.jsonl, samples/ and ckpt/last.safetensors (+ last.state.safetensors); --resume\n"
            "continues bit-exactly. A run that diverges (NaN, or |E| > --max-energy) stops with exit 1 and\n"
            "keeps its last good checkpoint; Ctrl-C (SIGINT), SIGTERM or SIGHUP finishes the step, saves\n"
            "and exits with 130 (143, 129); a second signal stops at once without saving (the last saved\n"
            "checkpoint stays whole). RUN_DIR is locked while a run trains; a new run refuses a non-empty\n"
            "folder that is not a run unless --force. --report keeps RUN_DIR/report.html current (ebm report).\n"
            "Data-parallel: `mpirun -np N ebm train ...` (a build with MPI: ebm version) gives each rank its\n"
            "share of --slices fixed batch slices (default: one per rank) and sums the gradients in slice\n"
            "order, so the checkpoint is the same bytes as one process with the same --slices; rank 0\n"
            "writes RUN_DIR, which must be shared by the ranks; --resume needs the same --slices.\n"

            "--method flow fits a normalising flow (--flow couplings=8,hidden=64,...) by exact maximum\n"
            "likelihood instead (no --arch); ebm sample / energy / eval nll use its checkpoint exactly.\n"
            "--method gebm|coop|latent-ebm need no --arch or --generator: 2-D points get the mlp energy and\n"
            "mlp-generator, C×H×W images uva-cnn and conv-generator on the data's shape and range, 1×32³\n"
            "voxel grids (a 5-D .npy) voxelnet and voxel-generator, 1×16×64×64 videos video-st and\n"
            "video-generator, 1×P×3 point clouds (an (n, P, 3) .npy) pointnet and point-generator (one\n"
            "line says which), each with its energy preset's recipe (pointnet's, voxelnet's λ 100, ...).\n"
            "For clouds, --arch dgcnn (edge convolutions over each point's k nearest neighbours) and\n"
            "--generator '{\"preset\":\"point-folding-generator\",\"shape\":[1,P,3]}' (one shared map of z and\n"
            "a fixed 2-D grid point: a folded surface) are the neighbourhood-aware alternatives; on either\n"
            "generator \"rotate\":true ends in point_rotate (z sets the orientation: the draft times the\n"
            "Gram-Schmidt rotation of two predicted vectors), and the folding generator's \"template\":\n"
            "\"sphere\" or \"torus\" folds a closed surface instead of the square.",
            run_train)
