/* An output must not destroy a file that is not a previous output of the
 * same kind. `ebm sample --out notes.txt` (a slip of the shell's history)
 * used to replace the notes with an array, `ebm energy --out m.safetensors`
 * a checkpoint with energies, and `ebm init --out m.safetensors` a trained
 * model with a fresh one. Re-running a command over its own earlier output
 * (an array over an array, a picture over a picture) stays as easy as
 * before; everything else is refused before any work, saying what the
 * file holds. Files are recognised by their first bytes, not their names;
 * JSON further by its content, because ebm reads JSON too: an architecture,
 * a run's config.json or its metrics/events JSON Lines under `--json` would
 * lose the run or the network, while a results object may be replaced. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"

typedef enum { KIND_ANY, KIND_NPY, KIND_PNG, KIND_SAFETENSORS, KIND_JSON, KIND_HTML, KIND_OTHER } file_kind;

static const char *kind_name(file_kind k) {
  static const char *const names[] = {"any", "a .npy array", "a PNG picture", "a safetensors checkpoint",
                                      "JSON", "an HTML page", "not a file ebm writes"};
  return names[k];
}

/* The kind a file name asks for by its extension; KIND_ANY when it has
 * none of ebm's ("FILE", "results.txt"). */
static file_kind kind_of_name(const char *name) {
  static const struct {
    const char *ext;
    file_kind kind;
  } exts[] = {{".npy", KIND_NPY},   {".png", KIND_PNG},   {".safetensors", KIND_SAFETENSORS},
              {".json", KIND_JSON}, {".jsonl", KIND_JSON}, {".html", KIND_HTML}, {".htm", KIND_HTML}};
  const char *dot = name ? strrchr(name, '.') : NULL;
  if (!dot || strchr(dot, '/')) return KIND_ANY;
  for (size_t i = 0; i < sizeof exts / sizeof *exts; i++)
    if (strcasecmp(dot, exts[i].ext) == 0) return exts[i].kind;
  return KIND_ANY;
}

/* What a file's first bytes say it is (its size > 0). */
static file_kind kind_of_bytes(const unsigned char *b, size_t n) {
  static const unsigned char npy[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n >= sizeof npy && memcmp(b, npy, sizeof npy) == 0) return KIND_NPY;
  if (n >= sizeof png && memcmp(b, png, sizeof png) == 0) return KIND_PNG;
  if (n >= 9 && b[8] == '{') { /* safetensors: a little-endian u64 header length, then the JSON header */
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--) len = len << 8 | b[i];
    if (len >= 2 && len < ((uint64_t)1 << 32)) return KIND_SAFETENSORS;
  }
  size_t i = 0;
  while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) i++;
  if (i < n && (b[i] == '{' || b[i] == '[')) return KIND_JSON;
  if (i + 1 < n && b[i] == '<' && (b[i + 1] == '!' || b[i + 1] == 'h' || b[i + 1] == 'H')) return KIND_HTML;
  return KIND_OTHER;
}

/* KIND_ANY when there is nothing to lose: no file, an empty one, or not a
 * regular file (/dev/null, a FIFO; the writer deals with those). */
static file_kind kind_on_disk(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return KIND_ANY;
  FILE *f = fopen(path, "rb");
  if (!f) return KIND_ANY; /* unreadable: the write itself will say what is wrong */
  unsigned char head[64];
  size_t n = fread(head, 1, sizeof head, f);
  fclose(f);
  return n ? kind_of_bytes(head, n) : KIND_ANY;
}

/* Why an existing JSON file must not be replaced by a results object, or
 * NULL when it is one (or cannot be told apart from one). ebm's results
 * objects are small and one value; what ebm reads back is an architecture
 * ("layers"), a run's config.json ("arch" and "method") or its JSON Lines
 * (several values, or one line so far: an object with "step"). */
static const char *json_not_replaceable(const char *path) {
  enum { LIMIT = 4 << 20 };
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc((size_t)LIMIT + 1);
  size_t n = buf ? fread(buf, 1, LIMIT + 1, f) : 0;
  fclose(f);
  if (!buf) return NULL;
  const char *why = NULL;
  if (n > LIMIT) {
    why = "a JSON document of more than 4 MiB, not a results object ebm writes";
  } else {
    buf[n] = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(buf, &end, 0);
    if (root && end) {
      while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
      if (*end || (cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "step"))) {
        why = "a run's metrics or events (JSON Lines)";
      } else if (cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "layers")) {
        why = "a network architecture";
      } else if (cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "arch") &&
                 cJSON_GetObjectItemCaseSensitive(root, "method")) {
        why = "a training run's configuration";
      }
    }
    cJSON_Delete(root);
  }
  free(buf);
  return why;
}

/* 1 when the verb's options hold a --force flag that was given. */
static int forced(const cli_opt *opts, int nopts) {
  for (int i = 0; i < nopts; i++)
    if (opts[i].kind == OPT_FLAG && strcmp(opts[i].name, "force") == 0) return *(const int *)opts[i].dst != 0;
  return 0;
}

static int check_one(const char *verb, const char *flag, const char *metavar, const char *path, int force) {
  if (!path || !path[0]) return 0;
  const file_kind there = kind_on_disk(path);
  if (there == KIND_ANY) return 0;
  file_kind want = kind_of_name(metavar);
  if (want == KIND_ANY) want = kind_of_name(path);
  if (there == KIND_OTHER)
    return cli_usage_error(verb, "--%s '%s' exists and is %s (.npy, PNG, safetensors, JSON or HTML); "
                           "refusing to overwrite it: remove it or give another name", flag, path, kind_name(there));
  if (want != KIND_ANY && want != there)
    return cli_usage_error(verb, "--%s '%s' exists and holds %s; writing %s there would destroy it: give another "
                           "name", flag, path, kind_name(there), kind_name(want));
  const char *why = there == KIND_JSON ? json_not_replaceable(path) : NULL;
  if (why)
    return cli_usage_error(verb, "--%s '%s' exists and holds %s; writing results there would destroy it: give "
                           "another name", flag, path, why);
  if (there == KIND_SAFETENSORS && !force)
    return cli_usage_error(verb, "--%s '%s' holds a checkpoint already; pass --force to replace it, or give "
                           "another name", flag, path);
  return 0;
}

int cli_check_overwrites(const char *verb, const cli_opt *opts, int nopts, const cli_path *extra, int nextra) {
  const int force = forced(opts, nopts);
  int rc = 0;
  for (int i = 0; i < nopts && !rc; i++)
    if (opts[i].kind == OPT_PATH_OUT)
      rc = check_one(verb, opts[i].name, opts[i].metavar, *(const char *const *)opts[i].dst, force);
  for (int i = 0; i < nextra && !rc; i++)
    if (extra[i].kind == OPT_PATH_OUT) rc = check_one(verb, extra[i].flag, NULL, extra[i].path, force);
  return rc;
}
