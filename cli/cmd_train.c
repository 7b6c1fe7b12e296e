/* `ebm train`: maximum-likelihood training with MCMC negatives (PCD with a
 * replay buffer, short-run MCMC, CD-k) into a run directory, resumable
 * bit-exactly. Settings resolve in this order: the recipe (--preset; the
 * default "auto" picks the one that fits the data: ebm_train_recipe_for_data)
 * for the flags not given, on --resume the run's config.json instead (for
 * flags not given), then the flags given. config.json records every flag
 * under its own name and the recipe, so a resumed run is the same run. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

#define VERB "train"
#define MAX_ARCH_BYTES (1 << 20)

typedef struct {
  const char *data, *arch, *preset, *method, *sampler, *range, *lr_decay, *out, *augment, *buffer_policy;
  int width, depth, conditional, resume, force, report;
  int64_t iters, batch, buffer, lr_step, seed, save_every, sample_every, log_every, sample_count;
  double epochs;
  int steps, leapfrog, spectral_iters;
  float step_size, noise, grad_clip, friction, reinit, alpha, pos_noise;
  float lr, beta1, beta2, weight_decay, clip_std, clip_floor, clip_norm, lr_gamma, lr_min, max_energy;
  float kl_weight, entropy_weight;
} train_flags;

/* Flags that fix the shape of a run: a resume may not change them. */
static const char *const identity_flags[] = {"data", "arch", "width", "depth", "conditional",
                                             "batch", "method", "buffer", "range", "buffer-policy", NULL};
/* Flags that are not settings of the run. */
static const char *const transient_flags[] = {"resume", "out", "force", "report", NULL};

static int in_list(const char *const *list, const char *name) {
  for (int i = 0; list[i]; i++)
    if (strcmp(list[i], name) == 0) return 1;
  return 0;
}

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
  switch (o->kind) {
    case OPT_INT: *(int *)o->dst = (int)v->valuedouble; break;
    case OPT_INT64: *(int64_t *)o->dst = (int64_t)v->valuedouble; break;
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

/* 1 if --name was on the command line. */
static int given(int argc, char **argv, const char *name) {
  size_t len = strlen(name);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, name, len) == 0 &&
        (argv[i][2 + len] == '\0' || argv[i][2 + len] == '='))
      return 1;
  return 0;
}

/* ------------------------------------------------ presets and config.json */

/* Writes the training settings of `c` into the flags not given. */
static void flags_from_config(const ebm_train_config *c, train_flags *f, int argc, char **argv) {
#define SET(flag, field, value) \
  if (!given(argc, argv, flag)) f->field = value
  SET("buffer", buffer, c->buffer_size);
  SET("steps", steps, c->sampler.steps);
  SET("step-size", step_size, c->sampler.step_size);
  SET("noise", noise, c->sampler.noise);
  SET("grad-clip", grad_clip, c->sampler.grad_clip);
  SET("reinit", reinit, c->reinit);
  SET("alpha", alpha, c->alpha);
  SET("pos-noise", pos_noise, c->pos_noise);
  SET("lr", lr, c->adam.lr);
  SET("beta1", beta1, c->adam.beta1);
  SET("beta2", beta2, c->adam.beta2);
  SET("clip-std", clip_std, c->adam.clip_std);
  SET("clip-floor", clip_floor, c->adam.clip_floor);
  SET("clip-norm", clip_norm, c->adam.clip_norm);
  SET("sampler", sampler, ebm_sampler_name(c->sampler.kind));
  SET("lr-decay", lr_decay, ebm_lr_decay_name(c->lr_decay));
#undef SET
  static char range[64];
  if (!given(argc, argv, "range")) {
    snprintf(range, sizeof range, "%g,%g", (double)c->range_lo, (double)c->range_hi);
    f->range = range;
  }
}

/* A recipe's settings for the flags not given. A --sampler other than the
 * recipe's takes that sampler's own step size, noise and clip (λ 10 means
 * nothing to ULA). */
static void apply_recipe(ebm_train_config *p, train_flags *f, int argc, char **argv) {
  int kind = given(argc, argv, "sampler") ? ebm_sampler_from_name(f->sampler) : -1;
  if (kind >= 0 && kind != (int)p->sampler.kind) {
    ebm_sampler_config sd = ebm_sampler_defaults((ebm_sampler_kind)kind);
    p->sampler.step_size = sd.step_size;
    p->sampler.noise = sd.noise;
    p->sampler.grad_clip = sd.grad_clip;
  }
  flags_from_config(p, f, argc, argv);
}

/* Loads RUN/config.json into every flag not given; refuses changes to the
 * flags that shape the run. *tree keeps the strings alive. */
static int apply_saved_config(const char *run_dir, const cli_opt *opts, int nopts, int argc, char **argv,
                              cJSON **tree) {
  char path[4096];
  uint8_t *text = NULL;
  size_t size = 0;
  snprintf(path, sizeof path, "%s/config.json", run_dir);
  ebm_status st = ebm_read_file(path, MAX_ARCH_BYTES * 4, &text, &size);
  if (st != EBM_OK) return cli_runtime_error(ebm_error_prefix(st, "--resume"));
  cJSON *root = cJSON_ParseWithLength((const char *)text, size);
  free(text);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return cli_runtime_error(ebm_set_error(EBM_ERR_FORMAT, "%s: not a JSON object", path));
  }
  int epochs_pair = given(argc, argv, "iters") || given(argc, argv, "epochs");
  for (int i = 0; i < nopts; i++) {
    const cli_opt *o = &opts[i];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, o->name);
    if (!v || in_list(transient_flags, o->name)) continue;
    if (given(argc, argv, o->name)) {
      char mine[512], saved[512];
      opt_text(o, mine, sizeof mine);
      cli_opt tmp = *o;
      union { const char *s; int i; int64_t l; float f; double d; } slot;
      tmp.dst = &slot;
      if (opt_from_json(&tmp, v)) continue;
      opt_text(&tmp, saved, sizeof saved);
      if (strcmp(mine, saved) == 0) continue;
      if (in_list(identity_flags, o->name)) {
        cJSON_Delete(root);
        return cli_usage_error(VERB, "--%s %s differs from the run's %s (%s); a resumed run keeps its "
                               "data, architecture and shapes", o->name, mine, saved, path);
      }
      fprintf(stderr, "ebm train: --%s %s replaces the run's %s\n", o->name, mine, saved);
      continue;
    }
    if (epochs_pair && (strcmp(o->name, "iters") == 0 || strcmp(o->name, "epochs") == 0)) continue;
    if (opt_from_json(o, v)) {
      cJSON_Delete(root);
      return cli_runtime_error(ebm_set_error(EBM_ERR_FORMAT, "%s: '%s' has the wrong type", path, o->name));
    }
  }
  *tree = root;
  return 0;
}

/* config.json: every flag under its name, plus the version, the resolved
 * step count and (new runs) the architecture. *text is malloc'd. */
static ebm_status config_text(const cli_opt *opts, int nopts, const char *arch_json, const cJSON *saved,
                              const ebm_train_config *cfg, const char *recipe, char **text) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "version", ebm_version());
  for (int i = 0; i < nopts; i++)
    if (!in_list(transient_flags, opts[i].name)) cJSON_AddItemToObject(root, opts[i].name, opt_to_json(&opts[i]));
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

/* Turns the flags into a training configuration; 0 or an exit code. */
static int make_config(const train_flags *f, const ebm_dataset *ds, ebm_train_config *c) {
  *c = ebm_train_defaults();
  int method = ebm_train_method_from_name(f->method);
  if (method < 0) return cli_usage_error(VERB, "--method must be pcd, short-run or cd, got '%s'", f->method);
  int kind = ebm_sampler_from_name(f->sampler);
  if (kind < 0) return cli_usage_error(VERB, "--sampler must be langevin, ula, mala, hmc or kinetic, got '%s'", f->sampler);
  int decay = ebm_lr_decay_from_name(f->lr_decay);
  if (decay < 0) return cli_usage_error(VERB, "--lr-decay must be none, step or cosine, got '%s'", f->lr_decay);
  int policy = ebm_replay_policy_from_name(f->buffer_policy);
  if (policy < 0)
    return cli_usage_error(VERB, "--buffer-policy must be random, reservoir or fifo, got '%s'", f->buffer_policy);
  if (ebm_augment_parse(f->augment, &c->augment) != EBM_OK ||
      ebm_augment_check(c->augment, ds->x->ndim - 1) != EBM_OK)
    return cli_usage_error(VERB, "--%s", ebm_last_error());
  c->buffer_policy = (ebm_replay_policy)policy;
  c->kl_weight = f->kl_weight;
  c->entropy_weight = f->entropy_weight;
  c->method = (ebm_train_method)method;
  c->batch = f->batch;
  c->sampler = ebm_sampler_defaults((ebm_sampler_kind)kind);
  c->sampler.steps = f->steps;
  c->sampler.step_size = f->step_size;
  c->sampler.noise = f->noise;
  c->sampler.grad_clip = f->grad_clip;
  c->sampler.leapfrog_steps = f->leapfrog;
  c->sampler.friction = f->friction;
  c->sampler.clamp = 1;
  c->buffer_size = f->buffer;
  c->reinit = f->reinit;
  c->alpha = f->alpha;
  c->pos_noise = f->pos_noise;
  c->adam.lr = f->lr;
  c->adam.beta1 = f->beta1;
  c->adam.beta2 = f->beta2;
  c->adam.weight_decay = f->weight_decay;
  c->adam.clip_std = f->clip_std;
  c->adam.clip_floor = f->clip_floor;
  c->adam.clip_norm = f->clip_norm;
  c->lr_decay = (ebm_lr_decay)decay;
  c->lr_gamma = f->lr_gamma;
  c->lr_step = f->lr_step;
  c->lr_min = f->lr_min;
  c->spectral_iters = f->spectral_iters;
  c->max_energy = f->max_energy;
  c->conditional = f->conditional;
  c->seed = (uint64_t)f->seed;
  int range_rc = cli_parse_range(VERB, f->range, &c->range_lo, &c->range_hi);
  if (range_rc) return range_rc;
  if (f->epochs > 0) {
    double it = ceil(f->epochs * (double)ds->x->shape[0] / (double)f->batch);
    if (it > 1e12) return cli_usage_error(VERB, "--epochs %g is too many", f->epochs);
    c->iters = (int64_t)it;
  } else {
    c->iters = f->iters;
  }
  const char *inject = getenv("EBM_TEST_INJECT_NAN_AT"); /* test hook: a NaN energy at this step */
  if (inject && *inject) c->inject_nan_at = strtoll(inject, NULL, 10);
  if (ebm_train_config_check(c) != EBM_OK) return config_usage_error(ebm_last_error());
  return 0;
}

static int check_flags(const train_flags *f) {
  if (!f->out || !f->out[0]) return cli_usage_error(VERB, "--out RUN_DIR is required");
  if (!f->data) return cli_usage_error(VERB, "--data SPEC is required (%s)", ebm_dataset_spec_forms());
  if (!f->arch && !f->resume) return cli_usage_error(VERB, "--arch is required (mlp, uva-cnn, igebm-mnist, igebm-cifar, video-convnet, voxelnet, JSON or @FILE)");
  if (f->iters < 0) return cli_usage_error(VERB, "--iters must be >= 0, got %lld", (long long)f->iters);
  if (!(f->epochs >= 0)) return cli_usage_error(VERB, "--epochs must be >= 0, got %g", f->epochs);
  if (f->batch < 1 || f->batch > 65536) return cli_usage_error(VERB, "--batch must be in 1..65536, got %lld", (long long)f->batch);
  if (f->steps < 0) return cli_usage_error(VERB, "--steps must be >= 0, got %d", f->steps);
  if (f->buffer < 1) return cli_usage_error(VERB, "--buffer must be >= 1, got %lld", (long long)f->buffer);
  if (f->width < 0) return cli_usage_error(VERB, "--width must be >= 0 (0: the preset's), got %d", f->width);
  if (f->depth < -1) return cli_usage_error(VERB, "--depth must be >= 0 (-1: the preset's), got %d", f->depth);
  if (f->save_every < 0 || f->sample_every < 0 || f->log_every < 0)
    return cli_usage_error(VERB, "--save-every, --sample-every and --log-every must be >= 0");
  if (f->sample_count < 1) return cli_usage_error(VERB, "--sample-count must be >= 1, got %lld", (long long)f->sample_count);
  return 0;
}

static int run_train(int argc, char **argv) {
  ebm_train_config d = ebm_train_defaults();
  train_flags f = {0};
  f.preset = "auto";
  f.augment = "none";
  f.buffer_policy = "random";
  f.method = "pcd";
  f.sampler = "langevin";
  f.lr_decay = "none";
  f.depth = -1;
  f.iters = 1000;
  f.batch = d.batch;
  f.leapfrog = 10;
  f.friction = 1.0f;
  f.weight_decay = 0.0f;
  f.lr_gamma = d.lr_gamma;
  f.lr_min = d.lr_min;
  f.spectral_iters = d.spectral_iters;
  f.max_energy = d.max_energy;
  f.save_every = 1000;
  f.sample_every = 500;
  f.log_every = 1;
  f.sample_count = 64;
  flags_from_config(&d, &f, 0, NULL);
  cli_opt opts[] = {
      {"data", OPT_STRING, &f.data, "SPEC", "training data (fashion-mnist, mnist, npy:FILE, toy:NAME)"},
      {"arch", OPT_STRING, &f.arch, "ARCH", "mlp | uva-cnn | igebm-mnist | igebm-cifar, JSON text or @FILE"},
      {"width", OPT_INT, &f.width, "W", "preset width (0: the preset's)"},
      {"depth", OPT_INT, &f.depth, "D", "mlp hidden layers (-1: the preset's)"},
      {"conditional", OPT_FLAG, &f.conditional, NULL, "train E(x, y) with the data's labels (per-class buffers)"},
      {"preset", OPT_STRING, &f.preset, "NAME", "recipe for the flags not given: auto (fits the data: toy-2d, vectors "
                                                "or images = igebm) | igebm (Du & Mordatch) | uva (bench/torch_reference.py)"},
      {"method", OPT_STRING, &f.method, "M", "pcd (replay buffer) | short-run (chains from noise) | cd (chains from data)"},
      {"iters", OPT_INT64, &f.iters, "N", "training steps"},
      {"epochs", OPT_DOUBLE, &f.epochs, "E", "train this many passes over the data instead of --iters"},
      {"batch", OPT_INT64, &f.batch, "B", "positives (and negatives) per step"},
      {"sampler", OPT_STRING, &f.sampler, "NAME", "langevin | ula | mala | hmc | kinetic"},
      {"steps", OPT_INT, &f.steps, "K", "MCMC steps per training step"},
      {"step-size", OPT_FLOAT, &f.step_size, "L", "Langevin step size λ (ε for the other samplers)"},
      {"noise", OPT_FLOAT, &f.noise, "S", "Langevin noise σ"},
      {"grad-clip", OPT_FLOAT, &f.grad_clip, "C", "per-element clip of the Langevin gradient (0 = off)"},
      {"leapfrog", OPT_INT, &f.leapfrog, "L", "HMC leapfrog steps"},
      {"friction", OPT_FLOAT, &f.friction, "G", "kinetic Langevin friction"},
      {"buffer", OPT_INT64, &f.buffer, "N", "replay buffer capacity (pcd)"},
      {"reinit", OPT_FLOAT, &f.reinit, "P", "fraction of buffer draws replaced by fresh noise (pcd)"},
      {"alpha", OPT_FLOAT, &f.alpha, "A", "energy regulariser α·(E+² + E-²)"},
      {"pos-noise", OPT_FLOAT, &f.pos_noise, "S", "noise σ added to the positives"},
      {"buffer-policy", OPT_STRING, &f.buffer_policy, "P", "how chains return to the buffer: random (in place) | "
                                                          "reservoir | fifo (as new items)"},
      {"augment", OPT_STRING, &f.augment, "LIST", "transform chains restarted from the buffer: flip,shift,noise "
                                                 "(any of them) | none"},
      {"kl-weight", OPT_FLOAT, &f.kl_weight, "W", "improved CD: the KL term through the last Langevin step (0 = off)"},
      {"entropy-weight", OPT_FLOAT, &f.entropy_weight, "W", "improved CD: nearest-neighbour entropy of the chains "
                                                           "against the buffer (0 = off)"},
      {"range", OPT_STRING, &f.range, "LO,HI", "data range (clamps, noise); toy data: the toys' box -4,4"},
      {"lr", OPT_FLOAT, &f.lr, "LR", "Adam learning rate"},
      {"beta1", OPT_FLOAT, &f.beta1, "B1", "Adam β1"},
      {"beta2", OPT_FLOAT, &f.beta2, "B2", "Adam β2"},
      {"weight-decay", OPT_FLOAT, &f.weight_decay, "WD", "Adam L2 weight decay"},
      {"clip-std", OPT_FLOAT, &f.clip_std, "K", "A.12: clip gradients beyond K·sqrt(v) of Adam (0 = off)"},
      {"clip-floor", OPT_FLOAT, &f.clip_floor, "F", "added to the A.12 bound (as ebm_code_release)"},
      {"clip-norm", OPT_FLOAT, &f.clip_norm, "N", "global gradient-norm clip (0 = off)"},
      {"lr-decay", OPT_STRING, &f.lr_decay, "KIND", "none | step (× lr-gamma every lr-step) | cosine (to lr-min)"},
      {"lr-gamma", OPT_FLOAT, &f.lr_gamma, "G", "step decay factor"},
      {"lr-step", OPT_INT64, &f.lr_step, "N", "step decay period (0: iters/3)"},
      {"lr-min", OPT_FLOAT, &f.lr_min, "LR", "cosine decay floor"},
      {"spectral-iters", OPT_INT, &f.spectral_iters, "N", "spectral-norm power iterations per step"},
      {"max-energy", OPT_FLOAT, &f.max_energy, "E", "stop as diverged when |mean E| exceeds this"},
      {"seed", OPT_INT64, &f.seed, "S", "random seed"},
      {"out", OPT_STRING, &f.out, "RUN_DIR", "the run directory (required)"},
      {"resume", OPT_FLAG, &f.resume, NULL, "continue RUN_DIR's run from its last checkpoint (bit-exact)"},
      {"force", OPT_FLAG, &f.force, NULL, "start a new run in a non-empty RUN_DIR that is not a run"},
      {"save-every", OPT_INT64, &f.save_every, "N", "checkpoint period in steps (0: only at the end)"},
      {"sample-every", OPT_INT64, &f.sample_every, "N", "samples/step_N.png period (0: never)"},
      {"sample-count", OPT_INT64, &f.sample_count, "N", "negatives drawn in a sample picture"},
      {"log-every", OPT_INT64, &f.log_every, "N", "metrics.jsonl period (0: never)"},
      {"report", OPT_FLAG, &f.report, NULL, "rewrite RUN_DIR/report.html (ebm report) every --sample-every steps"},
  };
  const int nopts = CLI_NOPTS(opts);
  int rc = cli_parse(VERB, opts, nopts, argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  cJSON *saved = NULL;
  ebm_dataset *ds = NULL;
  char *arch = NULL, *config = NULL;
  if (f.resume && f.out && (rc = apply_saved_config(f.out, opts, nopts, argc, argv, &saved))) return rc;
  const int fresh = !f.resume || !saved, auto_recipe = fresh && strcmp(f.preset, "auto") == 0;
  const char *recipe = fresh ? f.preset : NULL;
  if (fresh && !auto_recipe) {
    ebm_train_config p;
    if (ebm_train_preset(f.preset, &p) != EBM_OK) return cli_usage_error(VERB, "--preset: %s, or auto", ebm_last_error());
    apply_recipe(&p, &f, argc, argv);
  }
  if (fresh && f.data && strncmp(f.data, "toy:", 4) == 0 && !given(argc, argv, "range")) f.range = "-4,4";
  if (given(argc, argv, "iters") && given(argc, argv, "epochs")) {
    rc = cli_usage_error(VERB, "--iters and --epochs both given; the run's length is one or the other");
    goto done;
  }
  if ((rc = check_flags(&f))) goto done;
  ebm_train_config cfg;
  float lo, hi; /* --range before the data, so that a bad range is blamed on --range */
  if ((rc = cli_parse_range(VERB, f.range, &lo, &hi))) goto done;
  ebm_status st = ebm_dataset_load(f.data, lo, hi, &ds);
  if (st == EBM_ERR_ARG) {
    rc = cli_usage_error(VERB, "--data: %s", ebm_last_error());
    goto done;
  }
  if (st != EBM_OK) {
    rc = cli_runtime_error(st);
    goto done;
  }
  if (auto_recipe) { /* the data decide: 2-D toys, vectors, images */
    ebm_train_config p = ebm_train_defaults();
    recipe = ebm_train_recipe_for_data(ds, &p);
    apply_recipe(&p, &f, argc, argv);
    fprintf(stderr, "ebm train: recipe %s for %s (%s; --preset igebm|uva or flags override)\n", recipe, f.data,
            strcmp(recipe, "images") == 0 ? "IGEBM: Langevin λ 10, σ 0.005, α 1, Adam 1e-4"
                                          : "ULA ε 0.05 x 30, α 0.01, Adam 3e-3 β1 0.9, cosine decay");
  }
  if ((rc = make_config(&f, ds, &cfg))) goto done;
  cli_warn_outside_range(VERB, f.data, ds->x->data, ebm_tensor_numel(ds->x), cfg.range_lo, cfg.range_hi, "--range");
  if (!f.resume && (st = resolve_arch(&f, ds, &cfg, &arch)) != EBM_OK) {
    rc = st == EBM_ERR_ARG ? cli_usage_error(VERB, "%s", ebm_last_error()) : cli_runtime_error(st);
    goto done;
  }

  char ckpt[4096];
  ebm_run_ckpt_path(f.out, ckpt, sizeof ckpt);
  if ((st = config_text(opts, nopts, arch, saved, &cfg, recipe, &config)) != EBM_OK) {
    rc = cli_runtime_error(st);
    goto done;
  }

  char seed_text[32];
  snprintf(seed_text, sizeof seed_text, "%lld", (long long)f.seed);
  const char *keys[] = {"version", "data", "method", "seed"};
  const char *values[] = {ebm_version(), f.data, f.method, seed_text};
  run_watch w = {0};
  ebm_run_opts o = {0};
  o.run_dir = f.out;
  o.arch_json = arch;
  o.resume = f.resume;
  o.force = f.force;
  o.save_every = f.save_every;
  o.sample_every = f.sample_every;
  o.log_every = f.log_every;
  o.sample_count = f.sample_count;
  o.meta_keys = keys;
  o.meta_values = values;
  o.n_meta = 4;
  o.config_json = config;
  o.stop = &stop_requested;
  o.on_step = on_step;
  o.ctx = &w;
  struct sigaction sa, old_int, old_term, old_hup;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGHUP, &sa, &old_hup);
  int64_t done_steps = 0;
  w.iters = cfg.iters;
  w.report_dir = f.report ? f.out : NULL;
  w.report_every = f.sample_every > 0 ? f.sample_every : cfg.iters > 0 ? cfg.iters : 1;
  const double t0 = ebm_now_seconds();
  st = ebm_train_run(ds, &cfg, &o, &done_steps);
  ebm_progress_finish(w.progress);
  if (f.report) { /* the final state, a divergence or an interruption included */
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", ebm_last_error());
    refresh_report(f.out);
    if (st != EBM_OK) ebm_set_error(st, "%s", keep);
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGHUP, &old_hup, NULL);
  const double secs = ebm_now_seconds() - t0;
  if (st == EBM_ERR_INTERRUPTED) {
    fprintf(stderr, "ebm: %s\n", ebm_last_error());
    rc = 128 + (int)stop_requested;
    goto done;
  }
  if (st != EBM_OK) {
    rc = cli_runtime_error(st);
    goto done;
  }
  printf("trained %s on %s: step %lld of %lld in %.1f s; ", ebm_train_method_name(cfg.method), f.data,
         (long long)done_steps, (long long)cfg.iters, secs);
  if (w.steps_run) printf("loss %.4g e_pos %.4g e_neg %.4g; ", w.last.loss, w.last.e_pos, w.last.e_neg);
  else printf("no steps run (untrained); "); /* no made-up zeros */
  printf("checkpoint %s\n", ckpt);
  rc = CLI_EXIT_OK;
done:
  free(arch);
  cJSON_free(config);
  ebm_dataset_free(ds);
  cJSON_Delete(saved);
  return rc;
}

CLI_COMMAND(train, "train", "--data SPEC --arch ARCH --out RUN_DIR [--method pcd|short-run|cd] [--iters N | --epochs E] [options]",
            "train an energy model with MCMC negatives",
            "Trains E(x) (or E(x, y) with --conditional) by maximum likelihood: each step pushes the energy\n"
            "down on a data batch and up on negatives drawn by K MCMC steps (pcd: persistent chains from a\n"
            "replay buffer, 5% fresh noise; short-run: chains from noise; cd: chains from the data). The\n"
            "defaults fit the data (--preset auto, one line says which): 2-D toys and vectors get ULA with\n"
            "ε 0.05, α 0.01 and Adam 3e-3 with cosine decay; images the IGEBM recipe (Du & Mordatch A.11),\n"
            "whose values the defaults below show; --preset igebm or uva (the PyTorch reference\n"
            "bench/torch_reference.py) choose one. Improved contrastive divergence (Du, Li, Tenenbaum,\n"
            "Mordatch 2021): --kl-weight,\n"
            "--entropy-weight, --augment and --buffer-policy reservoir. RUN_DIR receives config.json,\n"
            "metrics.jsonl, samples/ and ckpt/last.safetensors (+ last.state.safetensors); --resume\n"
            "continues bit-exactly. A run that diverges (NaN, or |E| > --max-energy) stops with exit 1 and\n"
            "keeps its last good checkpoint; Ctrl-C (SIGINT), SIGTERM or SIGHUP finishes the step, saves\n"
            "and exits with 130 (143, 129); a second signal stops at once without saving (the last saved\n"
            "checkpoint stays whole). RUN_DIR is locked while a run trains; a new run refuses a non-empty\n"
            "folder that is not a run unless --force. --report keeps RUN_DIR/report.html current (ebm report).",
            run_train)
