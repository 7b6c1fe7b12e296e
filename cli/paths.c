/* Two paths of one command that are the same file (issue 13, item 1):
 * `ebm energy --ckpt m.safetensors --out m.safetensors` must not destroy
 * the checkpoint. Paths are compared by what they name, not by spelling:
 * an existing file by device and inode (symlinks, `./`, hard links), a
 * file still to be made by its directory's device and inode plus its name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* What a path names; ok = 0 when neither it nor its directory exists. */
typedef struct {
  int ok, exists, special; /* special: a character device (/dev/null may take every output) */
  dev_t dev;
  ino_t ino;
  const char *name; /* for a file that does not exist yet: its last component */
  size_t name_len;
} file_identity;

static file_identity identify(const char *path) {
  file_identity id = {0};
  struct stat st;
  if (stat(path, &st) == 0) {
    id.ok = id.exists = 1;
    id.special = S_ISCHR(st.st_mode);
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    return id;
  }
  const char *slash = strrchr(path, '/');
  id.name = slash ? slash + 1 : path;
  id.name_len = strlen(id.name);
  size_t dir_len = slash ? (size_t)(slash - path) : 0;
  char *dir = malloc(dir_len + 2);
  if (!dir) return id;
  if (!slash) strcpy(dir, ".");
  else if (dir_len == 0) strcpy(dir, "/");
  else memcpy(dir, path, dir_len), dir[dir_len] = '\0';
  if (stat(dir, &st) == 0 && id.name_len > 0) {
    id.ok = 1;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
  }
  free(dir);
  return id;
}

static int same_file(const file_identity *a, const file_identity *b) {
  if (!a->ok || !b->ok || a->exists != b->exists || a->dev != b->dev || a->ino != b->ino) return 0;
  if (a->exists) return !a->special;
  return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

/* The file names in a data-set or array spec: "npy:X[,Y]" (after any
 * "data:", "flip:" or "invert:"), a plain path without a ':', or none
 * ("toy:…", "pattern:…", "fashion-mnist:test"). Copies into buf. */
static int spec_files(const char *spec, char *buf, size_t size, const char **files) {
  static const char *const wrappers[] = {"data:", "flip:", "invert:"};
  for (int again = 1; again;) {
    again = 0;
    for (size_t i = 0; i < sizeof wrappers / sizeof *wrappers; i++)
      if (strncmp(spec, wrappers[i], strlen(wrappers[i])) == 0) spec += strlen(wrappers[i]), again = 1;
  }
  if (strncmp(spec, "npy:", 4) != 0) {
    if (strchr(spec, ':')) return 0;
    files[0] = spec;
    return 1;
  }
  snprintf(buf, size, "%s", spec + 4);
  files[0] = buf;
  char *comma = strchr(buf, ',');
  if (!comma) return 1;
  *comma = '\0';
  files[1] = comma + 1;
  return 2;
}

/* The checkpoint an energy spec names (compose.h's grammar), or none. */
static int energy_spec_file(const char *spec, char *buf, size_t size, const char **files) {
  ebm_energy_spec s;
  int k = 0;
  if (ebm_energy_spec_parse(spec, EBM_SPEC_TERM, &s) == EBM_OK && s.kind == EBM_SOURCE_CKPT) {
    snprintf(buf, size, "%s", s.path);
    files[k++] = buf;
  }
  ebm_energy_spec_free(&s);
  return k; /* a spec that does not parse is refused later, by the verb */
}

/* Adds the files of one option (a spec may name two) to `all`. */
static int add_files(cli_path *all, int n, int max, char (*bufs)[1024], const char *flag, const char *value,
                     cli_opt_kind kind) {
  if (!value || !value[0]) return n;
  if (kind != OPT_SPEC_IN && kind != OPT_ENERGY_IN) {
    if (n < max) all[n++] = (cli_path){flag, value, kind};
    return n;
  }
  const char *files[2];
  int k = kind == OPT_ENERGY_IN ? energy_spec_file(value, bufs[n], sizeof bufs[n], files)
                                : spec_files(value, bufs[n], sizeof bufs[n], files);
  for (int j = 0; j < k && n < max; j++) all[n++] = (cli_path){flag, files[j], OPT_PATH_IN};
  return n;
}

int cli_check_paths(const char *verb, const cli_opt *opts, int nopts, const cli_path *extra, int nextra) {
  enum { MAX_PATHS = 64 };
  cli_path all[MAX_PATHS];
  static char spec_buf[MAX_PATHS][1024];
  int n = 0;
  for (int i = 0; i < nopts; i++)
    if (opts[i].kind == OPT_PATH_IN || opts[i].kind == OPT_PATH_OUT || opts[i].kind == OPT_SPEC_IN ||
        opts[i].kind == OPT_ENERGY_IN)
      n = add_files(all, n, MAX_PATHS, spec_buf, opts[i].name, *(const char **)opts[i].dst, opts[i].kind);
  for (int i = 0; i < nextra; i++) n = add_files(all, n, MAX_PATHS, spec_buf, extra[i].flag, extra[i].path, extra[i].kind);
  file_identity ids[MAX_PATHS];
  for (int i = 0; i < n; i++) ids[i] = identify(all[i].path);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      int out_i = all[i].kind == OPT_PATH_OUT, out_j = all[j].kind == OPT_PATH_OUT;
      if (!out_i && !out_j) continue; /* reading one file twice is fine */
      if (!same_file(&ids[i], &ids[j])) continue;
      /* `in` is the one that would be destroyed: the input, or of two outputs the first */
      const cli_path *in = out_i && !out_j ? &all[j] : &all[i], *out = in == &all[i] ? &all[j] : &all[i];
      if (strcmp(in->flag, out->flag) == 0)
        return cli_usage_error(verb, "--%s is given the same file twice ('%s' and '%s')", in->flag, in->path,
                               out->path);
      return cli_usage_error(verb, "--%s '%s' and --%s '%s' are the same file (writing --%s would overwrite "
                             "it); give another name", in->flag, in->path, out->flag, out->path, out->flag);
    }
  return cli_check_overwrites(verb, opts, nopts, extra, nextra);
}

const char *cli_run_checkpoint(const char *path) {
  enum { KEPT = 8 }; /* a command names a few checkpoints at most */
  static char kept[KEPT][4096];
  static int next;
  struct stat st;
  if (!path || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return path;
  char *buf = kept[next];
  const size_t len = strlen(path);
  const int slash = len > 0 && path[len - 1] == '/';
  if ((size_t)snprintf(buf, sizeof kept[0], "%s%sckpt/last.safetensors", path, slash ? "" : "/") >= sizeof kept[0] ||
      stat(buf, &st) != 0 || !S_ISREG(st.st_mode))
    return path; /* not a run: the reader says it is a directory */
  next = (next + 1) % KEPT;
  return buf;
}
