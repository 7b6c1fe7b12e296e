/* A training run in a directory (see ebm/train.h): builds or resumes the
 * network and trainer, loops over the steps, and writes metrics, sample
 * pictures and checkpoints. Nothing here is random by itself: every draw
 * happens in the trainer, whose state is saved, so N steps straight and
 * N/2 + resume + N/2 give identical weights. */
#define _DEFAULT_SOURCE /* flock */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ebm/grid_nll.h"
#include "train/run_budget.h"
#include "train/train_internal.h"

#define PATH_SIZE 4096
#define DENSITY_CELLS 200

const char *ebm_run_ckpt_path(const char *run_dir, char *buf, size_t size) {
  snprintf(buf, size, "%s/ckpt/last.safetensors", run_dir);
  return buf;
}

const char *ebm_run_state_path(const char *run_dir, char *buf, size_t size) {
  snprintf(buf, size, "%s/ckpt/last.state.safetensors", run_dir);
  return buf;
}

/* mkdir that accepts an existing directory; *created (may be NULL) says
 * whether this call made it. */
static ebm_status make_dir(const char *path, int *created) {
  struct stat sb;
  if (created) *created = 0;
  if (mkdir(path, 0777) == 0) {
    if (created) *created = 1;
    return EBM_OK;
  }
  int err = errno;
  if (err == EEXIST && stat(path, &sb) == 0) {
    if (S_ISDIR(sb.st_mode)) return EBM_OK;
    return ebm_set_error(EBM_ERR_IO, "%s: not a directory (a run directory is needed; give a new name)", path);
  }
  return ebm_set_error(EBM_ERR_IO, "%s: cannot create directory: %s", path, strerror(err));
}

#define LOCK_NAME ".lock"

/* Takes an exclusive flock on RUN/.lock (so two trainings cannot share a
 * run directory and interleave metrics) and writes our PID in it for the
 * message the second one gets. The lock lasts until *fd is closed, and
 * dies with the process. */
static ebm_status lock_run_dir(const char *run_dir, int *fd) {
  char path[PATH_SIZE];
  snprintf(path, sizeof path, "%s/" LOCK_NAME, run_dir);
  *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (*fd < 0) return ebm_set_error(EBM_ERR_IO, "%s: cannot create the lock file: %s", path, strerror(errno));
  if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char pid[32] = "";
    ssize_t r = pread(*fd, pid, sizeof pid - 1, 0);
    pid[r > 0 ? r : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    close(*fd);
    *fd = -1;
    if (err == EWOULDBLOCK)
      return ebm_set_error(EBM_ERR_IO, "%s: in use by another ebm train (pid %s); wait for it or stop it",
                           run_dir, pid[0] ? pid : "unknown");
    return ebm_set_error(EBM_ERR_IO, "%s: cannot lock: %s", path, strerror(err));
  }
  char text[32];
  int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
  if (ftruncate(*fd, 0) != 0 || pwrite(*fd, text, (size_t)len, 0) != len) {
    /* the PID is only for messages: the lock itself holds */
  }
  return EBM_OK;
}

/* 1 if `name` is a temp file of ebm_write_file_atomic ("X.tmp-XXXXXX"). */
static int is_temp_name(const char *name) {
  size_t len = strlen(name);
  return len > 11 && memcmp(name + len - 11, ".tmp-", 5) == 0;
}

/* Removes the temp files an interrupted save left in `dir` (a kill -9
 * during a save leaves a full state file each); safe under the run lock,
 * since no other writer can be working in the directory. */
static void remove_temp_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char path[PATH_SIZE];
  while ((e = readdir(d)) != NULL) {
    if (!is_temp_name(e->d_name)) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    (void)unlink(path);
  }
  closedir(d);
}

/* The entries of a directory other than ".", "..", the lock file and temp
 * files of interrupted saves: the first into `first` (for the message); 0
 * when it holds nothing else. */
static int count_entries(const char *dir, char *first, size_t size) {
  DIR *d = opendir(dir);
  int n = 0;
  first[0] = '\0';
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, LOCK_NAME) ||
        is_temp_name(e->d_name))
      continue;
    if (!n++) snprintf(first, size, "%s", e->d_name);
  }
  closedir(d);
  return n;
}

/* Checks what the checkpoint will record before any work is done: a value
 * the checkpoint writer would refuse (invalid UTF-8 in a data path) must
 * not surface only at the first save, hours later. */
static ebm_status check_checkpoint_meta(const ebm_run_opts *o) {
  ebm_st_writer *w = ebm_st_writer_new();
  if (!w) return ebm_set_error(EBM_ERR_NOMEM, "out of memory");
  ebm_status st = EBM_OK;
  for (int i = 0; i < o->n_meta && st == EBM_OK; i++) st = ebm_st_writer_meta(w, o->meta_keys[i], o->meta_values[i]);
  ebm_st_writer_free(w);
  if (st) ebm_error_prefix(st, o->run_dir);
  return st;
}

/* A new run that failed before its first step leaves nothing behind in a
 * directory it created itself (a typo in a flag must not leave a folder
 * that then blocks the corrected command). */
static void abandon_new_run(const char *run_dir) {
  static const char *const files[] = {"config.json", "metrics.jsonl", LOCK_NAME};
  static const char *const dirs[] = {"ckpt", "samples"};
  char path[PATH_SIZE];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(path, sizeof path, "%s/%s", run_dir, files[i]);
    (void)unlink(path);
  }
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
    snprintf(path, sizeof path, "%s/%s", run_dir, dirs[i]);
    remove_temp_files(path);
    (void)rmdir(path);
  }
  (void)rmdir(run_dir);
}

static int file_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* On resume, drops metric lines past the resumed step (logged after the
 * last save by a run that then stopped), so the file reads as one run. */
static ebm_status trim_metrics(const char *path, int64_t step) {
  uint8_t *data = NULL;
  size_t size = 0;
  if (!file_exists(path)) return EBM_OK;
  ebm_status st = ebm_read_file(path, (size_t)1 << 34, &data, &size);
  if (st != EBM_OK) return st;
  size_t keep = 0;
  for (size_t pos = 0; pos < size;) {
    const char *line = (const char *)data + pos;
    const char *nl = memchr(line, '\n', size - pos);
    size_t len = nl ? (size_t)(nl - line) + 1 : size - pos;
    const char *key = strstr(line, "\"step\":");
    if (!nl || !key || key > line + len) break; /* a torn last line ends the file */
    if (strtoll(key + 7, NULL, 10) > step) break;
    keep = pos + len;
    pos += len;
  }
  if (keep < size) st = ebm_write_file_atomic(path, data, keep);
  free(data);
  return st;
}

/* A picture of the current negatives: an image grid, frame strips or
 * three views of volumes, projections of point clouds, or for 2-D data the
 * model's density with the negatives on top. */
static ebm_status write_samples(const ebm_trainer *t, const ebm_run_opts *o, const char *path) {
  int64_t n = 0;
  const int32_t *y = NULL;
  const float *x = t->method->samples ? t->method->samples(t, t->method_state, &n) : ebm_trainer_negatives(t, &y, &n);
  const int nd = t->ds->x->ndim - 1; /* the data's item shape (the network's, checked) */
  const int64_t *shape = t->ds->x->shape + 1;
  if (!x) return EBM_OK;
  if (n > o->sample_count && o->sample_count > 0) n = o->sample_count;
  if (t->net && ebm_net_volume_depth(t->net) > 0) {
    /* videos also as an animation: step_N.apng next to step_N.png's frame strip */
    char apng[4096];
    snprintf(apng, sizeof apng, "%.*sapng", (int)(strlen(path) - 3), path);
    const int64_t m = n < 8 ? n : 8;
    ebm_status st = ebm_png_write_volume_samples(path, t->net, x, m, t->cfg.range_lo, t->cfg.range_hi);
    return st ? st : ebm_apng_write_volume_samples(apng, t->net, x, m, t->cfg.range_lo, t->cfg.range_hi);
  }
  const int64_t points = t->net ? ebm_net_cloud_points(t->net) : 0;
  if (points > 0) return ebm_points_png(path, x, n < 8 ? n : 8, points, t->cfg.range_lo, t->cfg.range_hi);
  if (nd == 3 && (shape[0] == 1 || shape[0] == 3)) {
    int64_t grid_shape[4] = {n, shape[0], shape[1], shape[2]};
    ebm_tensor view = ebm_tensor_wrap((float *)x, 4, grid_shape);
    ebm_grid_opts g = ebm_grid_defaults();
    g.lo = t->cfg.range_lo;
    g.hi = t->cfg.range_hi;
    g.ncols = 8;
    g.scale = shape[1] <= 64 ? 2 : 1;
    return ebm_png_write_grid(path, &view, &g);
  }
  if (nd == 1 && shape[0] == 2 && t->energy && !t->energy->needs_sigma) { /* one density to draw */
    double extent = fmax(fabs((double)t->cfg.range_lo), fabs((double)t->cfg.range_hi));
    double *dens = malloc((size_t)DENSITY_CELLS * DENSITY_CELLS * sizeof *dens);
    if (!dens) return ebm_set_error(EBM_ERR_NOMEM, "%s: out of memory", path);
    ebm_status st = ebm_grid_density(t->energy, -1, extent, DENSITY_CELLS, dens);
    const double *panels[1] = {dens};
    if (st == EBM_OK) st = ebm_grid_png(path, DENSITY_CELLS, 1, panels, extent, x, n);
    free(dens);
    return st;
  }
  return EBM_OK; /* nothing sensible to draw */
}

/* A method with networks of its own saves one checkpoint of parts. */
/* The model checkpoint: the energy network, with the method's networks
 * as parts when it has some; a method with a model of its own
 * (TRAIN_OWN_MODEL: a flow) has no energy part. `max_meta` bounds what the
 * method's meta hook may add after the n keys. */
static ebm_status save_model(const ebm_trainer *t, const char *ckpt, int n, int max_meta, const char **keys,
                             const char **values) {
  enum { MAX_PARTS = 256 }; /* a Glow flow has up to 3 × 64 networks */
  const ebm_net *nets[MAX_PARTS] = {t->net};
  const char *names[MAX_PARTS] = {"energy"};
  const int first = t->net ? 1 : 0;
  int extra = t->method->parts ? t->method->parts(t->method_state, nets + first, names + first, MAX_PARTS - first) : 0;
  if (t->method->meta) n += t->method->meta(t->method_state, keys + n, values + n, max_meta - n);
  if (extra > 0) return ebm_net_save_parts(ckpt, first + extra, nets, names, n, keys, values);
  return ebm_net_save(t->net, ckpt, n, keys, values);
}

static ebm_status save_checkpoint(const ebm_trainer *t, const ebm_run_opts *o, const char *ckpt,
                                  const char *state, const ebm_run_clock *clock) {
  enum { MAX_META = 32 };
  const char *keys[MAX_META], *values[MAX_META];
  char step[32];
  int n = 0;
  snprintf(step, sizeof step, "%lld", (long long)t->step);
  keys[n] = "step";
  values[n++] = step;
  /* the sampler the model was trained with: `ebm sample --ckpt` starts from it */
  char sampler[EBM_SAMPLER_JSON_MAX];
  if (ebm_sampler_config_to_json(&t->cfg.sampler, sampler, sizeof sampler) == EBM_OK) {
    keys[n] = EBM_SAMPLER_META_KEY;
    values[n++] = sampler;
  }
  /* where its fresh chains started: `ebm sample --ckpt` starts there too */
  char start[EBM_CHAIN_START_TEXT_MAX];
  int told = -1;
  const char *per_class = t->class_starts ? EBM_CHAIN_START_PER_CLASS : "";
  if (t->cfg.chain_start == EBM_START_GAUSSIAN)
    told = snprintf(start, sizeof start, "%sgaussian:%s", per_class, t->ds->spec);
  if (t->cfg.chain_start == EBM_START_MIXTURE)
    told = snprintf(start, sizeof start, "%smixture:%d:%s", per_class, t->cfg.start_components, t->ds->spec);
  if (t->cfg.chain_start == EBM_START_ITEMS)
    told = snprintf(start, sizeof start, "%s%s", EBM_CHAIN_START_ITEMS, t->cfg.start_items);
  if (told >= 0 && told < (int)sizeof start) {
    keys[n] = EBM_CHAIN_START_META_KEY;
    values[n++] = start;
  }
  for (int i = 0; i < o->n_meta && n < MAX_META; i++) {
    keys[n] = o->meta_keys[i];
    values[n++] = o->meta_values[i];
  }
  /* The state first: it alone is what a resume reads. Every rank saves
   * its slices; rank 0 the rest, and then all learn how that went. */
  ebm_status st = ebm_trainer_save_state(t, state);
  if (st == EBM_OK && ebm_dist_rank(o->dist) == 0) st = save_model(t, ckpt, n, MAX_META, keys, values);
  /* the clock last: one that names another step than the state's is ignored */
  if (st == EBM_OK && ebm_dist_rank(o->dist) == 0) st = run_clock_write(o->run_dir, clock);
  return ebm_dist_agree(o->dist, st);
}

static void log_metrics(ebm_jsonl *j, const ebm_train_stats *s, double seconds, double run_cpu_seconds) {
  ebm_jsonl_begin(j);
  ebm_jsonl_int(j, "step", s->step);
  ebm_jsonl_num(j, "loss", s->loss);
  ebm_jsonl_num(j, "e_pos", s->e_pos);
  ebm_jsonl_num(j, "e_neg", s->e_neg);
  ebm_jsonl_num(j, "grad_norm", s->grad_norm);
  ebm_jsonl_num(j, "lr", s->lr);
  ebm_jsonl_num(j, "mcmc_energy", s->mcmc_energy);
  ebm_jsonl_num(j, "mcmc_grad_norm", s->mcmc_grad_norm);
  ebm_jsonl_num(j, "mcmc_accept", s->mcmc_accept);
  ebm_jsonl_num(j, "kl", s->kl);
  ebm_jsonl_num(j, "entropy", s->entropy);
  if (s->accuracy >= 0) ebm_jsonl_num(j, "accuracy", s->accuracy);
  if (s->tasks_scored > 0) ebm_jsonl_int(j, "task", s->task);
  for (int k = 0; k < s->tasks_scored; k++) {
    char key[32];
    snprintf(key, sizeof key, "accuracy_task%d", k);
    ebm_jsonl_num(j, key, s->task_accuracy[k]);
  }
  ebm_jsonl_num(j, "step_seconds", s->seconds);
  ebm_jsonl_num(j, "seconds", seconds);
  ebm_jsonl_num(j, "cpu_seconds", run_cpu_seconds);
}

/* Appends one line to RUN/events.jsonl ({"step", "event", "detail"}): what
 * happened to the run besides its steps (start, resume, divergence,
 * interruption), so a report can mark it on the time axis. The error being
 * reported is kept: a failed write here only loses the mark. */
static void log_event(const char *run_dir, int64_t step, const char *event, const char *detail) {
  char path[PATH_SIZE], keep[1024];
  ebm_jsonl *j = NULL;
  snprintf(keep, sizeof keep, "%s", ebm_last_error());
  snprintf(path, sizeof path, "%s/events.jsonl", run_dir);
  if (ebm_jsonl_open(path, 0, &j) == EBM_OK) {
    ebm_jsonl_int(j, "step", step);
    ebm_jsonl_str(j, "event", event);
    ebm_jsonl_str(j, "detail", detail);
    ebm_jsonl_end(j);
  }
  ebm_jsonl_close(j);
  if (keep[0]) ebm_set_error(EBM_ERR_IO, "%s", keep); /* restores the message only */
}

/* A fresh run's network from the checkpoint o->init_from (its weights,
 * its architecture), whose range must be the run's. */
static ebm_status open_init_from(const ebm_train_config *cfg, const ebm_run_opts *o, int own_model, ebm_net **net) {
  float lo, hi;
  if (own_model)
    return ebm_set_error(EBM_ERR_ARG, "init-from: method %s builds its own model; it starts from no network "
                         "checkpoint", ebm_train_method_name(cfg->method));
  ebm_status st = ebm_net_load(o->init_from, cfg->batch, net);
  if (st != EBM_OK) return ebm_error_prefix(st, "init-from");
  if (ebm_net_range(*net, &lo, &hi) && (lo != cfg->range_lo || hi != cfg->range_hi)) {
    st = ebm_set_error(EBM_ERR_ARG, "init-from: %s models the range [%g, %g] and the run's is [%g, %g] (give "
                       "--range %g,%g)", o->init_from, (double)lo, (double)hi, (double)cfg->range_lo,
                       (double)cfg->range_hi, (double)lo, (double)hi);
    ebm_net_free(*net);
    *net = NULL;
  }
  return st;
}

/* The network of a run: loaded from its checkpoint (resume), from
 * o->init_from, or new. */
static ebm_status open_net(const ebm_train_config *cfg, const ebm_run_opts *o, const char *ckpt,
                           ebm_net **net) {
  ebm_status st;
  /* A method with a model of its own builds it itself (a resume reads it
   * from the state file): no network here. */
  const int own_model = ebm_train_method_owns_model(cfg->method);
  *net = NULL;
  if (o->resume) {
    if (!file_exists(ckpt))
      return ebm_set_error(EBM_ERR_IO, "%s: nothing to resume (%s is missing)", o->run_dir, ckpt);
    return own_model ? EBM_OK : ebm_net_load(ckpt, cfg->batch, net);
  }
  if (file_exists(ckpt))
    return ebm_set_error(EBM_ERR_ARG, "%s: holds a checkpoint already; resume it (--resume) or train into "
                         "another directory", o->run_dir);
  if (o->init_from) return open_init_from(cfg, o, own_model, net);
  if (own_model) return EBM_OK;
  if (!o->arch_json) return ebm_set_error(EBM_ERR_ARG, "%s: no architecture for a new run", o->run_dir);
  if ((st = ebm_net_new(o->arch_json, cfg->batch, net)) != EBM_OK) return st;
  ebm_rng root, init;
  ebm_rng_init(&root, cfg->seed);
  init = ebm_rng_split(&root, 0); /* stream 0 initialises; the trainer uses 1 and 2 */
  if ((st = ebm_net_init(*net, &init)) != EBM_OK) {
    ebm_net_free(*net);
    *net = NULL;
  }
  return st;
}

/* What rank 0 writes when a run starts or resumes: metrics trimmed to the
 * resumed step, config.json, the event, and the metrics file opened (*jl). */
static ebm_status start_files(const ebm_run_opts *o, const char *metrics, int64_t step, ebm_jsonl **jl) {
  char path[PATH_SIZE];
  ebm_status st;
  if (o->resume && (st = trim_metrics(metrics, step)) != EBM_OK) return st;
  if (o->config_json) {
    snprintf(path, sizeof path, "%s/config.json", o->run_dir);
    if ((st = ebm_write_file_atomic(path, o->config_json, strlen(o->config_json))) != EBM_OK) return st;
  }
  log_event(o->run_dir, step, o->resume ? "resume" : "start", NULL);
  return o->log_every > 0 ? ebm_jsonl_open(metrics, !o->resume, jl) : EBM_OK;
}

/* The run's time: what its earlier parts had used at the state's step
 * (ckpt/last.clock.json) and where this call's clocks started. */
typedef struct {
  ebm_run_clock before;
  double cpu0, wall0;
  char unknown[600]; /* why the earlier parts' time is unknown ("": it is known) */
} run_time;

static ebm_run_clock run_time_now(const run_time *rt, int64_t step) {
  ebm_run_clock c = rt->before;
  c.step = step;
  c.cpu_seconds += ebm_cpu_seconds() - rt->cpu0;
  c.wall_seconds += ebm_now_seconds() - rt->wall0;
  c.parts += 1;
  return c;
}

/* On resume, the earlier parts' time: the clock saved with the state, or
 * nothing (a run from before clocks, or a save cut between the state and
 * the clock) — then the clock counts from this step, and rt->unknown says
 * why (for events.jsonl). */
static void read_earlier_parts(const ebm_run_opts *o, int64_t step, run_time *rt) {
  ebm_run_clock c;
  const ebm_status st = ebm_run_clock_read(o->run_dir, &c);
  if (st == EBM_OK && c.step == step) {
    rt->before = c;
    return;
  }
  memset(&rt->before, 0, sizeof rt->before);
  rt->before.since_step = step;
  if (st == EBM_OK)
    snprintf(rt->unknown, sizeof rt->unknown, "the clock is of step %lld, the state of %lld: the time before this "
             "part is not counted", (long long)c.step, (long long)step);
  else
    snprintf(rt->unknown, sizeof rt->unknown, "%s: the time before this part is not counted", ebm_last_error());
}

/* A stop asked for (a signal) on any rank stops every rank after the same step. */
static int stop_asked(const ebm_run_opts *o) { return ebm_dist_any(o->dist, o->stop && *o->stop); }

/* Prepares RUN_DIR under its lock: refuses a folder that is not a run (or a
 * finished one) and clears temp files of interrupted saves. *lock_fd is
 * the lock; *created says whether this call made the folder. */
static ebm_status open_run_dir(const ebm_run_opts *o, const char *ckpt, int *lock_fd, int *created) {
  char dir[PATH_SIZE], first[256];
  ebm_status st;
  if ((st = make_dir(o->run_dir, created)) != EBM_OK) return st;
  /* before the lock, so that a wrong --out (a home folder) gets no .lock */
  if (!o->resume && !file_exists(ckpt) && !o->force && count_entries(o->run_dir, first, sizeof first) > 0)
    return ebm_set_error(EBM_ERR_ARG, "%s: not empty (it holds '%s') and not a run to resume; give a new "
                         "directory, or --force to train into it (config.json and metrics.jsonl are replaced)",
                         o->run_dir, first);
  if ((st = lock_run_dir(o->run_dir, lock_fd)) != EBM_OK) return st;
  snprintf(dir, sizeof dir, "%s/ckpt", o->run_dir);
  remove_temp_files(o->run_dir);
  remove_temp_files(dir);
  if ((st = make_dir(dir, NULL)) != EBM_OK) return st;
  if (o->sample_every > 0) {
    snprintf(dir, sizeof dir, "%s/samples", o->run_dir);
    if ((st = make_dir(dir, NULL)) != EBM_OK) return st;
    remove_temp_files(dir);
  }
  return EBM_OK;
}

ebm_status ebm_train_run(const ebm_dataset *ds, const ebm_train_config *cfg, const ebm_run_opts *o,
                         int64_t *final_step) {
  char ckpt[PATH_SIZE], state[PATH_SIZE], metrics[PATH_SIZE], png[PATH_SIZE];
  ebm_net *net = NULL;
  ebm_trainer *t = NULL;
  ebm_jsonl *jl = NULL;
  ebm_status st = EBM_OK;
  int interrupted = 0, out_of_time = 0, lock_fd = -1, created = 0, stepped = 0;
  int64_t budget_steps = 0;
  int64_t saved_step = -1;
  run_time rt = {.cpu0 = ebm_cpu_seconds(), .wall0 = ebm_now_seconds()};
  int fit_length = 0;
  double fit_t0 = 0;
  const int root = ebm_dist_rank(o->dist) == 0; /* writes the run directory */
  if (final_step) *final_step = 0;
  if (!o->run_dir || !o->run_dir[0]) return ebm_set_error(EBM_ERR_ARG, "no run directory given");
  if (strlen(o->run_dir) > PATH_SIZE - 64) return ebm_set_error(EBM_ERR_ARG, "%s: path too long", o->run_dir);
  if ((st = ebm_train_config_check(cfg)) != EBM_OK) return st;
  if ((st = check_checkpoint_meta(o)) != EBM_OK) return st;
  ebm_run_ckpt_path(o->run_dir, ckpt, sizeof ckpt);
  ebm_run_state_path(o->run_dir, state, sizeof state);
  snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", o->run_dir);
  /* every rank learns at once when one failed (here, the others would
   * wait for it in the first collective) */
  st = root ? open_run_dir(o, ckpt, &lock_fd, &created) : EBM_OK;
  if ((st = ebm_dist_agree(o->dist, st)) != EBM_OK) goto fail;
  st = open_net(cfg, o, ckpt, &net);
  if (st == EBM_OK) st = ebm_trainer_new_dist(net, ds, cfg, o->dist, &t);
  if (st == EBM_OK && o->resume) st = ebm_trainer_restore(t, state);
  if ((st = ebm_dist_agree(o->dist, st)) != EBM_OK) goto fail;
  if (o->resume) {
    if (t->step >= cfg->iters) {
      st = ebm_set_error(EBM_ERR_ARG, "%s: already at step %lld, and --iters is %lld: nothing to do (give a "
                         "larger --iters to train on)", o->run_dir, (long long)t->step, (long long)cfg->iters);
      goto fail;
    }
    saved_step = t->step;
    read_earlier_parts(o, t->step, &rt);
  }
  /* the budget's clock, which also times the steps the length is fitted from;
   * it counts this call from its start, and a run's budget its earlier parts too */
  double (*const budget_clock)(void) = o->budget_cpu ? ebm_cpu_seconds : ebm_now_seconds;
  const double budget_t0 = o->budget_cpu ? rt.cpu0 : rt.wall0;
  const double spent_before = !o->budget_of_run ? 0 : o->budget_cpu ? rt.before.cpu_seconds : rt.before.wall_seconds;
  if (o->budget_seconds > 0 && spent_before >= o->budget_seconds)
    st = ebm_set_error(EBM_ERR_ARG, "%s: the run has used %.4g of its budget of %.4g %sseconds over %lld parts (ckpt/"
                       "last.clock.json): nothing to do (give a larger --budget)", o->run_dir, spent_before,
                       o->budget_seconds, o->budget_cpu ? "CPU-" : "", (long long)rt.before.parts);
  if ((st = ebm_dist_agree(o->dist, st)) != EBM_OK) goto fail; /* the ranks read one clock; agree all the same */
  if (root) st = start_files(o, metrics, t->step, &jl);
  if (root && rt.unknown[0]) log_event(o->run_dir, t->step, "clock", rt.unknown);
  if ((st = ebm_dist_agree(o->dist, st)) != EBM_OK) goto fail;

  const double t0 = ebm_now_seconds();
  fit_length = o->budget_seconds > 0 && o->budget_fits_iters && !o->resume;
  while (t->step < t->cfg.iters) {
    if (stop_asked(o)) {
      interrupted = 1;
      break;
    }
    ebm_train_stats s;
    stepped = 1;
    if ((st = ebm_trainer_step(t, &s)) != EBM_OK) {
      /* Divergence: the checkpoint on disk is the last good one; keep it. */
      if (root) log_event(o->run_dir, t->step + 1, "diverged", ebm_last_error());
      ebm_error_prefix(st, o->run_dir);
      goto fail;
    }
    const int64_t k = t->step;
    if (fit_length && k == 1) fit_t0 = budget_clock(); /* the first step's time includes warm-up */
    if (fit_length && k == 1 + EBM_RUN_FIT_STEPS) {
      const double now = budget_clock();
      fit_length = 0;
      s.iters = t->cfg.iters = run_fitted_iters(o->dist, o->budget_seconds, now - budget_t0, (now - fit_t0) / EBM_RUN_FIT_STEPS, k);
      if (root) {
        char detail[96];
        snprintf(detail, sizeof detail, "iters %lld (%.4g %ss per step)", (long long)t->cfg.iters,
                 (now - fit_t0) / EBM_RUN_FIT_STEPS, o->budget_cpu ? "CPU-" : "");
        log_event(o->run_dir, k, "budget-iters", detail);
        st = run_record_iters(o->run_dir, o->config_json, t->cfg.iters);
      }
      if ((st = ebm_dist_agree(o->dist, st)) != EBM_OK) goto fail;
    }
    if (jl && (k % o->log_every == 0 || k == t->cfg.iters)) {
      log_metrics(jl, &s, ebm_now_seconds() - t0, run_time_now(&rt, k).cpu_seconds);
      st = ebm_jsonl_end(jl);
    }
    if (st == EBM_OK && root && o->sample_every > 0 && (k % o->sample_every == 0 || k == t->cfg.iters)) {
      snprintf(png, sizeof png, "%s/samples/step_%06lld.png", o->run_dir, (long long)k);
      st = write_samples(t, o, png);
    }
    if ((st = ebm_dist_agree(o->dist, st)) != EBM_OK) goto fail;
    if (o->save_every > 0 && k % o->save_every == 0 && k < t->cfg.iters) {
      const ebm_run_clock now = run_time_now(&rt, k);
      if ((st = save_checkpoint(t, o, ckpt, state, &now)) != EBM_OK) goto fail;
      saved_step = k;
    }
    if (o->on_step) o->on_step(o->ctx, &s);
    if (t->step < t->cfg.iters && stop_asked(o)) {
      interrupted = 1;
      break;
    }
    /* every rank stops when one's clock says so */
    if (o->budget_seconds > 0 && t->step < t->cfg.iters &&
        ebm_dist_any(o->dist, run_out_of_budget(o->budget_seconds, spent_before, budget_clock() - budget_t0, ++budget_steps))) {
      out_of_time = 1;
      break;
    }
  }
  const ebm_run_clock end = run_time_now(&rt, t->step);
  if (saved_step != t->step && (st = save_checkpoint(t, o, ckpt, state, &end)) != EBM_OK) goto fail;
  if (final_step) *final_step = t->step;
  if (interrupted && root) log_event(o->run_dir, t->step, "interrupted", NULL);
  if (out_of_time && root) log_event(o->run_dir, t->step, "budget", NULL);
  if (interrupted)
    st = ebm_set_error(EBM_ERR_INTERRUPTED, "%s: interrupted at step %lld of %lld; saved, continue with --resume",
                       o->run_dir, (long long)t->step, (long long)t->cfg.iters);
fail:
  if (final_step && t) *final_step = t->step;
  ebm_jsonl_close(jl);
  ebm_trainer_free(t);
  ebm_net_free(net);
  if (root && st != EBM_OK && st != EBM_ERR_INTERRUPTED && created && !stepped) abandon_new_run(o->run_dir);
  if (lock_fd >= 0) close(lock_fd);
  return st;
}
